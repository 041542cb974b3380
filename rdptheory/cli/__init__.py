"""The ``rdptheory`` console script.

Each sub-command lives in its own module under :mod:`rdptheory.cli` and exposes
``register(subparsers)``, which adds one or more parsers whose ``func`` default takes the
parsed ``argparse.Namespace`` and returns an exit code. Modules are imported lazily only
to build the parser, so a command that needs torch does not slow the others down.

Errors reach the user as one line on stderr, ``rdptheory COMMAND: error: …``: exit status 2
for bad arguments and for expected failures (``ValueError``, ``TypeError``, ``OSError`` and
Pillow's errors, ``MemoryError``), 130 on Ctrl-C, 1 with a hint for anything else (a bug; set
``RDPTHEORY_DEBUG=1`` to see its traceback). Warnings are printed as one line each.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pickle
import re
import sys
import warnings
import zlib
from collections.abc import Sequence

#: Exit status of a usage error or an expected failure (argparse's convention).
EXIT_USAGE = 2
#: Exit status of an unexpected exception (a bug).
EXIT_BUG = 1
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130

#: Modules contributing sub-commands (each has ``register(subparsers)``).
COMMAND_MODULES: tuple[str, ...] = (
    "rdptheory.cli._theory",
    "rdptheory.cli._verify",
    "rdptheory.cli._figures",
    "rdptheory.cli._report",
    "rdptheory.cli._images",
    "rdptheory.cli._dataset",
)


_NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|complex|bool_?|str_)\d*\(([^()]*)\)")


def one_line(text: object) -> str:
    """``text`` on one line, numpy scalar reprs (``np.float64(0.5)``) shown as plain values."""
    return _NUMPY_REPR.sub(r"\1", " ".join(str(text).split()))


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (the usage is in ``--help``)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see "
                              f"'{self.prog} --help')\n")


def add_output_dir_arguments(p: argparse.ArgumentParser, *, quick_help: str,
                             force_help: str) -> None:
    """``--out DIR`` (required), ``--quick`` and ``--force``: the options of a command that
    fills an output folder (``figures``, ``report``); ``_io.check_output_dir`` checks them."""
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--force", action="store_true", help=force_help)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    from rdptheory import __version__

    parser = _Parser(
        prog="rdptheory",
        description="Rate-distortion-perception theory and diffusion compression toolkit.",
    )
    parser.add_argument("--version", action="version", version=f"rdptheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean bad input or environment, not a bug."""
    errors: list[type[BaseException]] = [ValueError, TypeError, OSError, MemoryError, EOFError,
                                         OverflowError, zlib.error, pickle.UnpicklingError]
    if "PIL.Image" in sys.modules:
        from PIL import Image

        errors.append(Image.DecompressionBombError)
    return tuple(errors)


def _describe(exc: BaseException) -> str:
    """A one-line message for an expected failure."""
    if isinstance(exc, MemoryError):
        return ("out of memory; use a smaller image or a lower --max-pixels"
                + (f" ({one_line(exc)})" if str(exc) else ""))
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return one_line(exc) or type(exc).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"rdptheory: warning: {one_line(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the chosen sub-command (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    prog = f"rdptheory {args.command}"
    debug = bool(os.environ.get("RDPTHEORY_DEBUG"))
    with warnings.catch_warnings():
        if not debug:
            warnings.showwarning = _show_warning
        try:
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            if debug:
                raise
            print(f"{prog}: interrupted; no output was left half-written", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:
            if debug:
                raise
            if isinstance(exc, _expected_errors()):
                print(f"{prog}: error: {_describe(exc)}", file=sys.stderr)
                return EXIT_USAGE
            print(f"{prog}: internal error: {type(exc).__name__}: {one_line(exc)} (a bug; rerun "
                  "with RDPTHEORY_DEBUG=1 for the traceback and report it)", file=sys.stderr)
            return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
