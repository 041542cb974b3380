"""Figure: the rho = 2 endpoint is not the MMSE estimator for a Gaussian mixture.

Source: 1-D bimodal GMM 0.5 N(-2, 0.25) + 0.5 N(2, 0.25) with its exact score
(rdptheory.diffusion.GMMModel). Y = X + tN is decoded with the score-scaled PF-ODE
(rdptheory.diffusion.decode, VP schedule, Heun). (a) Excess MSE of the rho = 2 output over the
exact MMSE E[X | Y] (the model's posterior mean) against t^2, with 95% Monte Carlo intervals
(THEORY.md §3, last paragraph). (b) MSE against rho at three noise levels, with the exact
MMSE (dashed): for a Gaussian source rho = 2 attains it; for this mixture it does not.
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.diffusion import GMMModel, decode
from rdptheory.experiments import style

NAME = "gmm_mmse_gap"
TITLE = "GMM: the rho = 2 end of the PF-ODE vs the exact MMSE"
SEED = 5
MODEL = GMMModel(np.array([0.5, 0.5]), np.array([[-2.0], [2.0]]),
                 np.array([[[0.25]], [[0.25]]]))


# %%
def mse_curve(noise_var: float, rhos: np.ndarray, n: int, steps: int) -> tuple:
    """(MSE per rho, its s.e., MMSE, excess of rho=2 over MMSE and its s.e.) on fixed draws."""
    x = MODEL.sample(n, seed=SEED)
    y = x + np.sqrt(noise_var) * np.random.default_rng(SEED + 1).standard_normal(x.shape)
    err_mmse = np.sum((MODEL.posterior_mean(y, noise_var) - x) ** 2, axis=1)
    out, se = [], []
    for rho in rhos:
        err = np.sum((decode(MODEL, y, noise_var, float(rho), steps=steps) - x) ** 2, axis=1)
        out.append(err.mean())
        se.append(err.std(ddof=1) / np.sqrt(n))
    err2 = np.sum((decode(MODEL, y, noise_var, 2.0, steps=steps) - x) ** 2, axis=1) - err_mmse
    return (np.array(out), np.array(se), float(err_mmse.mean()), float(err2.mean()),
            float(err2.std(ddof=1) / np.sqrt(n)))


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Compute, write ``gmm_mmse_gap.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    n, steps = (200, 16) if quick else (1500, 48)
    levels = np.geomspace(0.02, 10.0, 4 if quick else 9)
    rhos = np.linspace(0.5, 3.0, 6 if quick else 16)
    rows, curves = [], {}
    for t2 in levels:
        mse, se, mmse, ex, ex_se = mse_curve(float(t2), rhos, n, steps)
        curves[float(t2)] = (mse, se, mmse)
        rows += [(float(t2), float(r), float(m), float(s), mmse, ex, ex_se)
                 for r, m, s in zip(rhos, mse, se)]
    header = ("noise_var", "rho", "mse", "mse_se", "mmse", "excess_rho2", "excess_rho2_se")
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", header, rows)
    a = np.array(rows)
    first = a[np.isclose(a[:, 1], rhos[0])]
    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_2COL, 2.6))
        axes[0].errorbar(first[:, 0], first[:, 5], yerr=1.96 * first[:, 6], fmt="o-",
                         color=style.COLORS[0], ms=3.5, capsize=1.5,
                         label=r"MSE($\rho$=2 ODE) $-$ MMSE (95% CI)")
        axes[0].axhline(0.0, color="k", lw=0.6)
        axes[0].set(xscale="log", xlabel="noise level $t^2$", ylabel="excess MSE",
                    title="bimodal GMM, exact score")
        axes[0].legend(loc="upper left")
        picks = [levels[len(levels) // 4], levels[len(levels) // 2], levels[-2]]
        for j, t2 in enumerate(picks):
            mse, se, mmse = curves[float(t2)]
            axes[1].plot(rhos, mse, color=style.COLORS[j], label=f"$t^2$={t2:.2g}")
            axes[1].fill_between(rhos, mse - 1.96 * se, mse + 1.96 * se, color=style.COLORS[j],
                                 alpha=0.2, lw=0)
            axes[1].axhline(mmse, color=style.COLORS[j], ls="--", lw=0.9)
        axes[1].axvline(2.0, color="gray", lw=0.6)
        axes[1].set(xlabel=r"score scale $\rho$", ylabel="MSE", yscale="log",
                    title="MSE vs $\\rho$ (dashed: exact MMSE)")
        axes[1].legend(loc="center right")
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
