"""``rdptheory figures --out DIR``: regenerate every figure (CSV, PNG, PDF)."""

from __future__ import annotations

import argparse

from rdptheory.cli import add_output_dir_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``figures`` sub-command."""
    p = subparsers.add_parser(
        "figures",
        help="regenerate the paper figures (CSV + PNG + PDF) into a directory",
        description="Run every script of rdptheory.figures: numbers first (CSV), then PNG and PDF.",
    )
    add_output_dir_arguments(
        p, quick_help="tiny sizes (smoke run)",
        force_help="write into DIR even if it already holds files (overwriting them)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="figure names to run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Make the figures and list the files written."""
    from pathlib import Path

    from rdptheory._io import check_output_dir, staged_files

    out = check_output_dir(args.out, force=args.force)  # before the heavy imports
    from rdptheory.figures import make_all

    with staged_files(out) as stage:  # each file appears whole or not at all
        figs = make_all(stage, quick=args.quick, only=args.only, progress=None)
    for fig in figs:
        png, pdf, csv = (out / Path(p).resolve().relative_to(stage.resolve())
                         for p in (fig.png, fig.pdf, fig.csv))
        print(f"{fig.name:14s} {png}  {pdf}  {csv}")
    return 0
