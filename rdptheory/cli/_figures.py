"""``rdptheory figures --out DIR``: regenerate every figure (CSV, PNG, PDF)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``figures`` sub-command."""
    p = subparsers.add_parser(
        "figures",
        help="regenerate the paper figures (CSV + PNG + PDF) into a directory",
        description="Run every script of rdptheory.figures: numbers first (CSV), then PNG and PDF.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="figure names to run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Make the figures and list the files written."""
    from pathlib import Path

    from rdptheory.figures import make_all

    for fig in make_all(Path(args.out), quick=args.quick, only=args.only, progress=None):
        print(f"{fig.name:14s} {fig.png}  {fig.pdf}  {fig.csv}")
    return 0
