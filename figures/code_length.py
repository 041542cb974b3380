"""Figure: channel-simulation code length minus KL, against KL, with the one-shot bounds.

For a 1-D Gaussian target q against proposal p = N(0, 1) with KL(q || p) = I bits, the
mean ideal code length of rdptheory.rcc's index code (truncated PFR, Zipf log-bucket model,
chunk budget B = I) and the real stream bytes per message, minus I, against the overhead
terms of the bounds (THEORY.md §5): log2(I + 1) + 5 [LEG18] and log2(I + 3.4) + 1 [Li25].
"""

# %%
from __future__ import annotations

from pathlib import Path

import numpy as np

from rdptheory.experiments import style
from rdptheory.proofs_check.channel_simulation_cost import measure_code_length
from rdptheory.rcc import leg18_bound_bits, li25_bound_bits

NAME = "code_length"
TITLE = "Channel-simulation code length over KL, with the [LEG18] and [Li25] bounds"


# %%
def compute(kls: np.ndarray, trials: int) -> list[tuple[float, float, float, float]]:
    """Rows (KL bits, mean ideal bits, standard error, real bits per message)."""
    return [(float(kl), *measure_code_length(float(kl), trials)) for kl in kls]


# %%
def main(out_dir: Path | str, *, quick: bool = False) -> style.FigureOutput:
    """Measure, write ``code_length.csv``, then the PNG and PDF."""
    out_dir = Path(out_dir)
    kls = np.array([1.0, 4.0]) if quick else np.array([0.5, 1, 2, 3, 4, 6, 8, 10, 12, 14])
    rows = compute(kls, 8 if quick else 120)
    csv_path = style.write_csv(out_dir / f"{NAME}.csv", ("kl_bits", "mean_ideal_bits", "se_bits",
                                                   "real_bits_per_message"), rows)
    a = np.array(rows)
    grid = np.linspace(0.3, a[:, 0].max() * 1.05, 100)
    with style.paper_style() as plt:
        fig, ax = plt.subplots(figsize=(style.WIDTH_1COL, 2.5))
        ax.plot(grid, leg18_bound_bits(grid) - grid, color=style.COLORS[1], label="[LEG18] bound")
        ax.plot(grid, li25_bound_bits(grid) - grid, color=style.COLORS[2], label="[Li25] bound")
        ax.errorbar(a[:, 0], a[:, 1] - a[:, 0], yerr=2 * a[:, 2], fmt="o", color=style.COLORS[0],
                    ms=4, capsize=1.5, label="measured, ideal code (±2 s.e.)")
        ax.plot(a[:, 0], a[:, 3] - a[:, 0], "s", mfc="none", color=style.COLORS[0], ms=4,
                label="measured, real bytes")
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set(xlabel="KL$(q\\|p)$ = $I$ (bits)", ylabel="mean code length $-$ $I$ (bits)")
        ax.set_ylim(top=float(np.max(leg18_bound_bits(grid) - grid)) + 4.5)
        ax.legend(loc="upper left", ncol=2, fontsize=6.3)
        return style.finish(fig, out_dir, NAME, TITLE, csv_path)


if __name__ == "__main__":  # pragma: no cover
    style.run_script(main)
