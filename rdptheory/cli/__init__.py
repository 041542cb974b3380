"""The ``rdptheory`` console script.

Each sub-command lives in its own module under :mod:`rdptheory.cli` and exposes
``register(subparsers)``, which adds one or more parsers whose ``func`` default takes the
parsed ``argparse.Namespace`` and returns an exit code. Modules are imported lazily only
to build the parser, so a command that needs torch does not slow the others down.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules contributing sub-commands (each has ``register(subparsers)``).
COMMAND_MODULES: tuple[str, ...] = (
    "rdptheory.cli._theory",
    "rdptheory.cli._verify",
    "rdptheory.cli._figures",
    "rdptheory.cli._report",
    "rdptheory.cli._images",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    from rdptheory import __version__

    parser = argparse.ArgumentParser(
        prog="rdptheory",
        description="Rate-distortion-perception theory and diffusion compression toolkit.",
    )
    parser.add_argument("--version", action="version", version=f"rdptheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the chosen sub-command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"rdptheory {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
