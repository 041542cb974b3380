"""Figure: R(D, P) from the certified numerical solver (THEORY.md §6).

(a) Binary source (Bernoulli(0.3), Hamming distortion, TV perception): the [BM19] closed form
(lines) and certified solver points (markers; each with a primal channel and a dual bound).
(b) Gaussian source, forward-KL perception P = 0.5 nats: the Gaussian-channel upper bound,
the rigorous lower bound and the true R (the solver's table behind
``rdp(..., perception="kl_forward")``), with directly solved certified points.
(c) How far the Gaussian channel is above the truth, (R_Gauss − R)/R, over D for several P.
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.experiments import style
from rdptheory.gaussian import rdp, rdp_kl_forward_lower_bound, rdp_kl_forward_upper_bound
from rdptheory.solver import rdp_discrete
from rdptheory.solver.closed_forms import bernoulli_tv_rdp
from rdptheory.solver.tabulate import kl_forward_rdp_point

NAME = "solver_rdp"
TITLE = "Certified numerical R(D, P): binary source with TV, Gaussian with forward KL"
P_BIN = 0.3
TV_BUDGETS = (0.0, 0.05, 0.15, 0.3)
KL_P = 0.5
KL_BUDGETS = (0.1, 0.5, 2.0)


# %%
def compute(quick: bool) -> list[tuple]:
    """Rows (panel, series, P, D, R_nats, gap_nats); gap NaN for curves."""
    rows: list[tuple] = []
    nan = float("nan")
    D = np.linspace(0.005, 0.45, 120)
    for P in TV_BUDGETS:
        rows += [("a", "closed form", P, float(d), bernoulli_tv_rdp(P_BIN, d, P), nan) for d in D]
    d_pts = (0.05, 0.2) if quick else (0.02, 0.08, 0.15, 0.25, 0.35)
    for P in TV_BUDGETS[:2] if quick else TV_BUDGETS:
        for d in d_pts:
            sol = rdp_discrete([1 - P_BIN, P_BIN], [[0, 1], [1, 0]], d, P, perception="tv",
                               tol=1e-7)
            rows.append(("a", "solver", P, d, sol.rate_nats, sol.gap_nats))
    Dg = np.linspace(0.6, 1.6, 25 if quick else 150)
    upper = rdp_kl_forward_upper_bound(Dg, KL_P, 1.0, unit="nats")
    lower = rdp_kl_forward_lower_bound(Dg, KL_P, 1.0, unit="nats")
    truth = rdp(Dg, KL_P, 1.0, perception="kl_forward", unit="nats")
    for name, vals in (("Gaussian channel", upper), ("lower bound", lower), ("true", truth)):
        rows += [("b", name, KL_P, float(d), float(r), nan) for d, r in zip(Dg, vals)]
    for d in (0.9, 1.1) if quick else (0.7, 0.9, 1.0, 1.1, 1.25):
        sol = kl_forward_rdp_point(d, KL_P, n=61 if quick else 121)
        rows.append(("b", "solver", KL_P, d, sol.rate_nats, sol.gap_nats))
    for P in KL_BUDGETS:
        Dc = np.linspace(0.3, 1.6, 25 if quick else 200)
        t = np.asarray(rdp(Dc, P, 1.0, perception="kl_forward", unit="nats"))
        u = np.asarray(rdp_kl_forward_upper_bound(Dc, P, 1.0, unit="nats"))
        rows += [("c", "excess", P, float(d), float(x), nan)
                 for d, x in zip(Dc, np.where(t > 1e-3, u / np.maximum(t, 1e-300) - 1, nan))]
    return rows


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Compute, write ``solver_rdp.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    rows = compute(quick)
    csv_path = style.write_csv(out_dir / f"{NAME}.csv",
                         ("panel", "series", "P", "D", "value", "gap_nats"), rows)

    def pick(panel: str, series: str, P: float | None = None):
        sel = [r for r in rows if r[0] == panel and r[1] == series and (P is None or r[2] == P)]
        return np.array([r[3] for r in sel]), np.array([r[4] for r in sel])

    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 3, figsize=(style.WIDTH_2COL, 2.4))
        ax = axes[0]
        for k, P in enumerate(TV_BUDGETS):
            x, y = pick("a", "closed form", P)
            ax.plot(x, y, color=style.COLORS[k], label=f"TV $\\leq$ {P:g}")
            xs, ys = pick("a", "solver", P)
            if xs.size:
                ax.plot(xs, ys, "o", color=style.COLORS[k], mfc="none", ms=4)
        ax.plot([], [], "ko", mfc="none", ms=4, label="certified solver")
        ax.set(xlabel="Hamming distortion $D$", ylabel="$R(D,P)$ [nats]",
               title="Bernoulli(0.3), TV", xlim=(0, 0.45), ylim=(0, None))
        ax.legend(loc="upper right")
        ax = axes[1]
        styles = {"Gaussian channel": (style.COLORS[1], "--", 1.4),
                  "true": (style.COLORS[0], "-", 2.2), "lower bound": (style.COLORS[6], ":", 1.2)}
        for name, (c, ls, lw) in styles.items():
            x, y = pick("b", name)
            ax.plot(x, y, ls, color=c, lw=lw,
                    label=name if name != "true" else "true $R$ (table)")
        xs, ys = pick("b", "solver")
        ax.plot(xs, ys, "ko", mfc="none", ms=4, label="certified solver")
        ax.set(xlabel="MSE $D$ ($s^2=1$)", ylabel="$R(D,P)$ [nats]",
               title=f"Gaussian, KL $\\leq$ {KL_P:g}", ylim=(0, None))
        ax.legend(loc="upper right")
        ax = axes[2]
        for k, P in enumerate(KL_BUDGETS):
            x, y = pick("c", "excess", P)
            ax.plot(x, 100 * y, color=style.COLORS[k], label=f"$P$ = {P:g} nats")
        ax.set(xlabel="MSE $D$ ($s^2=1$)", ylabel=r"$R_{\mathrm{Gauss}}/R - 1$ [%]",
               title="Gaussian channel's excess", yscale="log")
        ax.legend(loc="upper left")
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes, w_pad=1.0)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
