"""One paper style for every figure (rcParams, palette, CSV writing, PNG+PDF saving) and what
every figure script shares (:func:`finish`, :func:`run_script`)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Okabe-Ito colour-blind-safe palette.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: Single- and double-column widths (inches) of a two-column paper.
WIDTH_1COL, WIDTH_2COL = 3.4, 7.0

_RC = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "legend.frameon": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "figure.dpi": 100,
    "mathtext.fontset": "cm",
}


@dataclass(frozen=True)
class FigureOutput:
    """The files one figure script wrote."""

    name: str
    title: str
    csv: Path
    png: Path
    pdf: Path


@contextmanager
def paper_style():
    """Context manager applying the shared rcParams (Agg backend, no global side effects)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with plt.rc_context(_RC):
        yield plt


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write the figure's numbers (one header line, then rows; floats with 10 significant
    digits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([f"{v:.10g}" if isinstance(v, float) else v for v in row])
    return path


def save(fig, out_dir: Path, name: str, title: str, csv_path: Path) -> FigureOutput:
    """Save ``fig`` as ``name``.png (200 dpi) and ``name``.pdf in ``out_dir``; close it."""
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{name}.png", out_dir / f"{name}.pdf"
    fig.savefig(png, dpi=200)
    fig.savefig(pdf)
    plt.close(fig)
    return FigureOutput(name, title, csv_path, png, pdf)


def panel_label(ax, label: str) -> None:
    """Bold (a)/(b) label in the top-left corner, outside the axes."""
    ax.text(-0.14, 1.04, f"({label})", transform=ax.transAxes, fontweight="bold", va="bottom")


def finish(fig, out_dir: Path, name: str, title: str, csv_path: Path, *,
           panels: Sequence | None = None, tight: bool = True, **tight_kw) -> FigureOutput:
    """The end of every figure script: label ``panels`` (a), (b), … in order, lay the figure out
    (``fig.tight_layout(**tight_kw)`` unless ``tight=False``) and :func:`save` it."""
    for k, ax in enumerate(panels if panels is not None else ()):
        panel_label(ax, "abcdefgh"[k])
    if tight:
        fig.tight_layout(**tight_kw)
    return save(fig, Path(out_dir), name, title, csv_path)


def run_script(main: Callable[..., FigureOutput], argv: Sequence[str] | None = None) -> None:
    """The command line of every figure script: ``python figures/NAME.py [--out DIR]
    [--quick]`` runs ``main(DIR, quick=...)`` (default ``figures_out``) and prints its files."""
    import argparse

    ap = argparse.ArgumentParser(description=(main.__module__ or "figure").rsplit(".", 1)[-1])
    ap.add_argument("--out", type=Path, default=Path("figures_out"),
                    help="output folder (default: figures_out)")
    ap.add_argument("--quick", action="store_true", help="coarse grids (seconds)")
    args = ap.parse_args(argv)
    print(main(args.out, quick=args.quick))
