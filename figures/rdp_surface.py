"""Figure: the scalar rate-distortion-perception surface R(D, P) for each perception measure.

Contours of R(D, P) (bits) over total MSE D and perception budget P for X ~ N(0, 1), with the
three measures of THEORY.md §1 (w2sq: [ZQCK21] Thm 2; kl_reverse: the core formula with the
Lambert-W floor s_lo(P); kl_forward: the true R(D, P), the rigorous lower bound plus the
certified solver's tabulated excess, THEORY.md §6 — the Gaussian-channel formula is only an
upper bound there). The dashed line is the boundary where the perception constraint becomes
inactive (R(D, P) = R(D) to its left).
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.experiments import style
from rdptheory.gaussian import min_reconstruction_std, rdp

NAME = "rdp_surface"
TITLE = "Scalar R(D, P) for the three perception measures"
MEASURES = (("w2sq", r"$W_2^2$"), ("kl_forward", r"KL$(p_X\|p_{\hat X})$"),
            ("kl_reverse", r"KL$(p_{\hat X}\|p_X)$"))
P_MAX = {"w2sq": 0.6, "kl_forward": 0.5, "kl_reverse": 0.5}


# %%
def compute(n: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(D grid, P grid, R[P, D] in bits) per measure, s = 1."""
    D = np.linspace(0.02, 2.0, n)
    out = {}
    for m, _ in MEASURES:
        P = np.linspace(0.0, P_MAX[m], n)
        out[m] = (D, P, rdp(D[None, :], P[:, None], 1.0, perception=m))
    return out


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Compute, write ``rdp_surface.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    data = compute(25 if quick else 160)
    rows = [(m, float(d), float(p), float(r)) for m, (D, P, R) in data.items()
            for i, p in enumerate(P) for d, r in zip(D, R[i])]
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", ("perception", "D", "P", "R_bits"), rows)
    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 3, figsize=(style.WIDTH_2COL, 2.35), sharey=False)
        levels = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0]
        for k, (ax, (m, label)) in enumerate(zip(axes, MEASURES)):
            D, P, R = data[m]
            cs = ax.contour(D, P, R, levels=levels, colors="#08306b", linewidths=0.9)
            ax.clabel(cs, fmt="%g", fontsize=6.5, inline_spacing=1)
            s_lo = np.asarray(min_reconstruction_std(P, 1.0, perception=m))
            ax.plot(1.0 - s_lo**2, P, "k--", lw=0.9,
                    label="perception inactive to the left ($R=R(D)$)" if k == 0 else None)
            ax.set(xlabel="distortion $D$ (MSE)", title=f"$P$ = {label}",
                   xlim=(0, 1.6), ylim=(0, P_MAX[m]))
            ax.set_ylabel(f"perception $P$ ({'MSE units' if m == 'w2sq' else 'nats'})")
        axes[0].plot([], [], color="#08306b", lw=0.9,
                     label=r"contours of $R(D,P)$ [bits], $X\sim\mathcal{N}(0,1)$")
        fig.legend(loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.07))
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes, w_pad=1.2)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
