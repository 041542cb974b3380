"""Figure: distortion-perception curves D(R, P) at several rates, with the score-scaled decoder.

Lines: D(R, P) / D(R) (THEORY.md §1 inverse, ``w2sq``) against P / W2^2(p_X, p_X*) (the
perception of the rho = 2 MMSE end), for a scalar source (a) and the non-white
spectrum lambda_i = i^-2, d = 16 (b; THEORY.md §2, convex program). Markers: the operating
points (W2^2, MSE) of "transmit Y = X + tN at the same rate, decode with rho in [1, 2]"
(THEORY.md §3): on the curve for the scalar source, above it for the non-white one.
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.codec import noise_var_for_rate
from rdptheory.experiments import style
from rdptheory.gaussian import drp, drp_vector, score_scaled_point

NAME = "dp_curves"
TITLE = "D-P curves at fixed rate, with the score-scaled decoder's points (rho in [1, 2])"
RATES_SCALAR = (0.25, 0.5, 1.0, 2.0)  # bits
RATES_VECTOR = (2.0, 4.0, 8.0, 16.0)  # bits per 16-dim sample
LAM = 1.0 / np.arange(1, 17) ** 2


# %%
def compute(n_p: int, n_rho: int) -> list[tuple]:
    """Rows (panel, rate, kind, rho, P, P / W2^2 at rho=2, D, D / D(R)): curves (rho NaN) and
    the scheme's points; D(R) = D(R, P) at an inactive perception budget."""
    rows = []
    rhos = np.linspace(1.0, 2.0, n_rho)
    for panel, rates, lam in (("scalar", RATES_SCALAR, np.array([1.0])),
                              ("i^-2", RATES_VECTOR, LAM)):
        for R in rates:
            t2 = noise_var_for_rate(lam, R)
            pts = score_scaled_point(lam, t2, rhos)
            p_ref = float(pts.perception_value[-1])  # W2^2 of the MMSE end (rho = 2)
            d_of = lambda P, R=R, lam=lam: float(drp(R, P, 1.0) if lam.size == 1
                                                 else drp_vector(R, P, lam))
            d_r = d_of(4.0 * lam.sum())  # perception inactive: D(R)
            for P in np.linspace(0.0, 1.2 * p_ref, n_p):
                D = d_of(P)
                rows.append((panel, R, "D(R,P)", np.nan, float(P), P / p_ref, D, D / d_r))
            rows += [(panel, R, "score-scaled", float(r), float(p), float(p) / p_ref, float(d),
                      float(d) / d_r) for r, p, d in zip(rhos, pts.perception_value, pts.mse)]
    return rows


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Compute, write ``dp_curves.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    rows = compute(12 if quick else 80, 5 if quick else 11)
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", ("panel", "rate_bits", "kind", "rho",
                               "P_w2sq", "P_over_P_mmse", "D_mse", "D_over_DR"), rows)
    arr = np.array([(r[1], r[3], r[5], r[7]) for r in rows])
    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_2COL, 3.0))
        for ax, panel, rates in zip(axes, ("scalar", "i^-2"), (RATES_SCALAR, RATES_VECTOR)):
            mask = np.array([r[0] == panel for r in rows])
            for j, R in enumerate(rates):
                sel = mask & (arr[:, 0] == R)
                curve, pts = sel & np.isnan(arr[:, 1]), sel & ~np.isnan(arr[:, 1])
                ax.plot(arr[curve, 2], arr[curve, 3], color=style.COLORS[j],
                        label=f"$R$ = {R:g} bits")
                sc = ax.scatter(arr[pts, 2], arr[pts, 3], c=arr[pts, 1], cmap="viridis", vmin=1,
                                vmax=2, s=16, zorder=3, edgecolors=style.COLORS[j], linewidths=0.9)
            ax.set(xlabel=r"perception $P\,/\,W_2^2(p_X, p_{X^*})$",
                   ylabel=r"distortion $D\,/\,D(R)$")
            ax.set_title(r"scalar, $\lambda = 1$" if panel == "scalar"
                         else r"non-white, $\lambda_i = i^{-2}$, $d = 16$")
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=6.8,
                      handlelength=1.4, columnspacing=1.0, title="lines: $D(R,P)$",
                      title_fontsize=6.8)
        cb = fig.colorbar(sc, ax=axes, shrink=0.85, pad=0.015)
        cb.set_label("markers: scheme at the same $R$\n" r"(colour: score scale $\rho$)")
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes, tight=False)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
