"""rdptheory.figures: one thin script per figure, data (CSV) first, then PNG and PDF.

Every module has ``main(out_dir, *, quick=False) -> FigureOutput`` and runs as a script.
:func:`make_all` runs them all (``rdptheory figures --out DIR``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from rdptheory.experiments.style import FigureOutput, paper_style

#: The figure modules, in report order.
FIGURES: tuple[str, ...] = (
    "rdp_surface",
    "dp_curves",
    "measured_rdp",
    "code_length",
    "nonwhite_gap",
    "gmm_mmse_gap",
    "nonwhite_gap_images",
    "solver_rdp",
)


def make_all(
    out_dir: Path | str, *, quick: bool = False, only: Sequence[str] | None = None,
    progress: bool | None = False,
) -> list[FigureOutput]:
    """Run every figure script (or those in ``only``) into ``out_dir``; return their outputs."""
    from rdptheory._progress import progress as bar

    names = FIGURES if only is None else tuple(only)
    for n in names:
        if n not in FIGURES:
            raise ValueError(f"figure must be one of {', '.join(FIGURES)}, got {n!r}")
    return [importlib.import_module(f"rdptheory.figures.{n}").main(out_dir, quick=quick)
            for n in bar(names, desc="figures", enabled=progress)]


__all__ = ["FIGURES", "FigureOutput", "make_all", "paper_style"]
