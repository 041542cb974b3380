"""Figure: the non-white gap to R(D, P): isotropic vs shaped noise, single rho vs optimal decoding.

Source lambda_i = i^-2, d = 16 (THEORY.md §3). At each ideal rate R = I(X; Y) with isotropic
noise t^2: (a) the rate gap R - R(D, P) (bits per sample) at the scheme's own (D, P) for one
rho (1, 1.5, 2), for the same noise with [FMM21]'s D(P)-optimal single-alpha decoder at the
rho = 1.5 perception level, and for noise shaped per eigen-direction with per-direction rho_i
(rdptheory.gaussian.shaped_noise_point; gap 0 to rounding). (b) the MSE loss at rho = 1.5 split
into the decoder part (single rho vs single alpha) and the noise part (isotropic vs shaped),
in dB (rdptheory.gaussian.score_scaled_loss).
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.codec import noise_var_for_rate
from rdptheory.experiments import style
from rdptheory.gaussian import (
    dp_awgn,
    rdp_vector,
    score_scaled_gap,
    score_scaled_loss,
    score_scaled_point,
    shaped_noise_point,
)

NAME = "nonwhite_gap"
TITLE = "Non-white gap to R(D,P): isotropic vs shaped noise, single rho vs optimal decoding"
LAM = 1.0 / np.arange(1, 17) ** 2


# %%
def compute(rates_per_dim: np.ndarray) -> list[tuple]:
    """Rows (bits/dim, gap rho=1, 1.5, 2, gap single-alpha, gap shaped, decoder dB, noise dB)."""
    rows = []
    for r in rates_per_dim:
        R = float(r) * LAM.size
        t2 = noise_var_for_rate(LAM, R)
        gaps = [float(score_scaled_gap(LAM, t2, rho)) for rho in (1.0, 1.5, 2.0)]
        pt = score_scaled_point(LAM, t2, 1.5)
        d_alpha = float(dp_awgn(pt.perception_value, LAM, t2).mse)
        gap_alpha = R - float(rdp_vector(d_alpha, pt.perception_value, LAM))
        shaped = shaped_noise_point(pt.mse, pt.perception_value, LAM)
        gap_shaped = shaped.rate_bits - float(rdp_vector(shaped.mse, shaped.perception_value, LAM))
        loss = score_scaled_loss(LAM, t2, 1.5)
        rows.append((float(r), *gaps, gap_alpha, gap_shaped, float(loss.decoder_loss_db),
                     float(loss.noise_loss_db)))
    return rows


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Compute, write ``nonwhite_gap.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    rates = np.geomspace(0.05, 3.0, 6 if quick else 40)
    rows = compute(rates)
    header = ("bits_per_dim", "gap_rho1", "gap_rho1.5", "gap_rho2", "gap_single_alpha",
              "gap_shaped", "decoder_loss_db", "noise_loss_db")
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", header, rows)
    a = np.array(rows)
    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(style.WIDTH_2COL, 2.6))
        ax = axes[0]
        for j, rho in enumerate((1.0, 1.5, 2.0)):
            ax.plot(a[:, 0], a[:, 1 + j], color=style.COLORS[j],
                    label=rf"isotropic $t$, $\rho$={rho:g}")
        ax.plot(a[:, 0], a[:, 4], "--", color=style.COLORS[1],
                label=r"isotropic $t$, single-$\alpha$ [FMM21]")
        ax.plot(a[:, 0], a[:, 5], ":", color="k", lw=1.6,
                label=r"shaped $t_i$, per-direction $\rho_i$")
        ax.set(xscale="log", xlabel="rate $I(X;Y)$ (bits per component)",
               ylabel=r"$R - R(D,P)$ (bits per sample)",
               title=r"rate gap, $\lambda_i=i^{-2}$, $d$=16")
        ax.legend(fontsize=6.5)
        ax = axes[1]
        ax.plot(a[:, 0], a[:, 6], color=style.COLORS[3],
                label=r"decoder: single $\rho$=1.5 vs single $\alpha$")
        ax.plot(a[:, 0], a[:, 7], color=style.COLORS[4], label="noise: isotropic vs shaped")
        ax.plot(a[:, 0], a[:, 6] + a[:, 7], "k--", lw=1.0, label="total")
        ax.set(xscale="log", xlabel="rate $I(X;Y)$ (bits per component)",
               ylabel="MSE loss (dB)", title=r"MSE loss at $\rho$=1.5 and equal $(R, P)$")
        ax.legend(fontsize=6.5)
        return style.finish(fig, out_dir, NAME, TITLE, csv_path, panels=axes)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
