"""Figure: bits per pixel wasted by isotropic noise on photographs, patch GMM (issue 15).

Unseen photographs (china, flower, immunohistochemistry, hubble_deep_field; 128² crops,
8×8×3 patches), the shipped patch GMM with its exact posterior, rates by the I-MMSE integral
(rdptheory.images.shaped.gap_study). (a) gap = isotropic − shaped rate at equal MSE (MMSE
decoding), measured, for shaping in the prior's eigenbasis, in the block DCT and per mixture
component (each patch shaped by its own component's eigenbasis), with the Gaussian closed
forms for the mixture's overall covariance (MSE matched, and perception matched at rho = 1).
(b) the per-component Gaussian closed forms (MSE matched) against the isotropic rate.
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.experiments import style
from rdptheory.images.shaped import gap_study, photo_patches
from rdptheory.models.prior import load_prior

NAME = "nonwhite_gap_images"
TITLE = "Bits per pixel wasted by isotropic noise on photographs (patch GMM)"
BPP = (0.25, 0.5, 1.0, 2.0)


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Compute (quick: 64 patches, 8 levels, two rates), write the CSV, then PNG and PDF."""
    out_dir = Path(out_dir)
    gmm = load_prior()
    x, _ = photo_patches(128)
    if quick:
        x = x[:: x.shape[0] // 64]
    bpps = (0.25, 1.0) if quick else BPP
    study = gap_study(gmm, x, bpps, levels=8 if quick else 48, min_group=8 if quick else 16)
    header = ("bpp", "model", "basis", "patches", "bpp_iso", "bpp_shaped", "gap_bpp", "mse",
              "theory_gap_bpp", "theory_gap_rho1_bpp")
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", header,
                         [tuple(r[h] for h in header) for r in study.rows])

    def series(model: str, basis: str, field: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [r for r in study.rows if r["model"] == model and r["basis"] == basis]
        return (np.array([r["bpp"] for r in rows], dtype=float),
                np.array([r[field] for r in rows], dtype=float))

    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_2COL, 2.7))
        ax = axes[0]
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.plot(*series("gmm", "eigen", "gap_bpp"), "o-", color=style.COLORS[0],
                label="measured, eigenbasis of the prior")
        ax.plot(*series("gmm", "dct", "gap_bpp"), "s-", color=style.COLORS[1],
                label="measured, block DCT")
        b, g = series("adaptive", "eigen", "gap_bpp")
        if b.size:
            ax.plot(b, g, "^-", color=style.COLORS[2], label="measured, per-component basis")
        ax.plot(*series("gmm", "eigen", "theory_gap_bpp"), "--", color="k", lw=1.0,
                label="Gaussian fit, MSE matched")
        ax.plot(*series("gmm", "eigen", "theory_gap_rho1_bpp"), ":", color="k", lw=1.2,
                label=r"Gaussian fit, $\rho$=1 (perception matched)")
        ax.set(xscale="log", xlabel="isotropic rate (bits per pixel)",
               ylabel="isotropic $-$ shaped (bits per pixel)",
               title="rate wasted by isotropic noise, equal MSE")
        ax.set_xticks(bpps, [f"{v:g}" for v in bpps])
        ax.set_xticks([], minor=True)
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.9 * (hi - lo), hi)  # room for the legend below the curves
        ax.legend(fontsize=6.2, loc="lower left")
        ax = axes[1]
        comps = sorted({r["model"] for r in study.rows if str(r["model"]).startswith("k")})
        for j, k in enumerate(comps):
            ax.plot(*series(k, "eigen", "theory_gap_bpp"), "-" if j < 6 else "-.",
                    color=style.COLORS[j % 6], label=f"component {k[1:]}")
        ax.plot(*series("gmm", "eigen", "theory_gap_bpp"), "k--", lw=1.0, label="overall fit")
        ax.set(xscale="log", xlabel="isotropic rate (bits per pixel)",
               ylabel="$R_{iso} - R(D)$ (bits per pixel)",
               title="Gaussian closed forms per mixture component")
        ax.set_xticks(bpps, [f"{v:g}" for v in bpps])
        ax.set_xticks([], minor=True)
        ax.legend(fontsize=6.2, ncol=2)
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
