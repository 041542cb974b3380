"""Figure: measured (real bits) vs theoretical rate-distortion-perception of the Gaussian codec.

A white Gaussian source (d components) is compressed by :class:`rdptheory.codec.GaussianCodec`
(one-shot RCC, real bytes) at several noise levels; each file is decoded at rho = 1, 1.5, 2.
(a) MSE per component against the rate: lines are the ideal scheme (THEORY.md §3; for a white
source these points lie exactly on R(D, P)), filled markers the measured points at the real
file size (8 x bytes / samples), hollow markers the same decodes at the ideal rate I(X; Y);
the horizontal distance is the channel-simulation overhead. The prefixes of a progressive
(DiffC-style) file of 1 bit per component are shown as a trajectory (the same file, source rows
and seed as the report's traversal, so the report encodes it once; it ended at the top rate,
1.5 bits, before 2026-12-07). (b) W2^2 per component, measured (Bures fit) vs theory.
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.codec import GaussianCodec, noise_var_for_rate, record_boundaries
from rdptheory.experiments import style
from rdptheory.experiments.operating_point import measure_operating_point, score_scaled_gains
from rdptheory.experiments.traversal import encode
from rdptheory.gaussian import score_scaled_point

NAME = "measured_rdp"
TITLE = "Measured (real bits) vs theoretical operating points of the Gaussian codec"
RHOS = (1.0, 1.5, 2.0)
SEED = 2026
#: Bits per component of the progressive file (the traversal's progressive file at d = 8).
PROGRESSIVE_RATE = 1.0
#: (d, n, one-shot rates in bits per component, progressive steps) by ``quick``.
SETTINGS = {False: (8, 400, (0.25, 0.5, 1.0, 1.5), 5), True: (4, 24, (0.5, 1.0), 3)}


# %%
def measure(d: int, n: int, rates: tuple[float, ...], steps: int) -> list[tuple]:
    """Rows (mode, step, rate_bits/dim target, rho, real bits/dim, info bits/dim, mse/dim,
    mse_se/dim, w2sq/dim, theory mse/dim, theory w2sq/dim)."""
    lam = np.ones(d)
    x = np.random.default_rng(SEED).standard_normal((n, d))
    rows = []
    for r in rates:
        codec = GaussianCodec.for_rate(lam, r * d, seed=SEED)
        data, _ = encode(codec, x)
        rows += [_row("one-shot", -1, r, rho, codec, x, data, None) for rho in RHOS]
    prog = GaussianCodec.for_rate(lam, PROGRESSIVE_RATE * d, seed=SEED, mode="progressive",
                                  steps=steps)
    data, _ = encode(prog, x)
    for k, end in enumerate(record_boundaries(data)[1:], start=1):
        rows.append(_row("progressive", k, PROGRESSIVE_RATE, 2.0, prog, x, data[:end], k))
    return rows


def _row(mode, step, r, rho, codec, x, data, steps) -> tuple:
    y, t2 = codec.decode_observation(data, steps=steps)
    x_hat = codec.decompress(data, rho=rho, steps=steps)
    op = measure_operating_point(codec, x, x_hat, data, score_scaled_gains(codec, rho, t2), t2)
    d = op.d
    return (mode, step, r, rho, op.rate_bits / d, op.info_bits / d, op.mse / d, op.mse_se / d,
            op.w2sq_diag / d, op.theory_mse / d, op.theory_w2sq / d)


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Encode, write ``measured_rdp.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    d, n, rates, steps = SETTINGS[bool(quick)]
    rows = measure(d, n, rates, steps)
    header = ("mode", "step", "target_bits_per_dim", "rho", "real_bits_per_dim",
              "info_bits_per_dim", "mse_per_dim", "mse_se_per_dim", "w2sq_per_dim",
              "theory_mse_per_dim", "theory_w2sq_per_dim")
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", header, rows)
    real_max = max(r[4] for r in rows)
    grid = np.linspace(0.1, max(real_max, max(rates)) * 1.05, 60)
    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_2COL, 2.8))
        for j, rho in enumerate(RHOS):
            th = [score_scaled_point(np.ones(1), noise_var_for_rate([1.0], g), rho) for g in grid]
            axes[0].plot(grid, [p.mse for p in th], color=style.COLORS[j],
                         label=rf"theory $\rho$={rho:g}")
            axes[1].plot(grid, [p.perception_value for p in th], color=style.COLORS[j])
            pts = np.array([r[4:] for r in rows if r[0] == "one-shot" and r[3] == rho])
            axes[0].errorbar(pts[:, 0], pts[:, 2], yerr=2 * pts[:, 3], fmt="o",
                             color=style.COLORS[j], ms=4, capsize=1.5,
                             label=rf"measured, real bits, $\rho$={rho:g}")
            axes[0].plot(pts[:, 1], pts[:, 2], "o", mfc="none", color=style.COLORS[j], ms=4)
            axes[1].plot(pts[:, 0], pts[:, 4], "o", color=style.COLORS[j], ms=4)
            axes[1].plot(pts[:, 1], pts[:, 4], "o", mfc="none", color=style.COLORS[j], ms=4)
        prog = np.array([r[4:] for r in rows if r[0] == "progressive"])
        axes[0].plot(prog[:, 0], prog[:, 2], "s--", color=style.COLORS[3], ms=3.5, lw=0.9,
                     label=rf"progressive prefixes ({PROGRESSIVE_RATE:g} bit), $\rho$=2")
        axes[0].plot([], [], "o", mfc="none", color="gray", label="same, at ideal rate $I(X;Y)$")
        axes[0].set(xlabel="rate (bits per component)", ylabel="MSE per component",
                    yscale="log", title=f"white Gaussian, $d$={d}, $n$={n}")
        axes[1].set(xlabel="rate (bits per component)",
                    ylabel=r"$W_2^2(p_X, p_{\hat X})$ per component",
                    title="perception (diagonal Gaussian fit of $\\hat X$)")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4,
                   bbox_to_anchor=(0.5, -0.16), fontsize=6.8)
        for ax in axes:
            ax.set_xlim(0, max(prog[:, 0].max(), max(rates)) * 1.05)
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
