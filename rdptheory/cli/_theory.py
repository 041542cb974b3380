"""``rdptheory rd | rdp | drp``: evaluate the scalar Gaussian closed forms from the shell.

Examples::

    rdptheory rdp --distortion 0.5 --perception 0.01 --variance 1 --measure w2sq
    rdptheory drp --rate 1 --perception 0 --variance 1 --measure kl_reverse --json
    rdptheory rd --distortion 0.25 --variance 1 --unit nats

Each flag takes one number or a comma-separated list; lists broadcast against each other
(numpy rules) and print one line per point; ``rdp`` also names the regime of THEORY.md §1
and, for ``kl_forward`` (whose value is the Gaussian-channel upper bound), the rigorous
lower bound.
``--json`` prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, replace

from rdptheory._units import UNITS
from rdptheory._validation import PERCEPTIONS


@dataclass(frozen=True)
class _Row:
    """One evaluated point, as printed."""

    distortion: float
    perception: float | None
    variance: float
    rate: float
    regime: str | None = None
    rate_lower_bound: float | None = None  # kl_forward only: rdp_kl_forward_lower_bound


def _numbers(text: str) -> list[float]:
    """``"0.1,0.2"`` -> ``[0.1, 0.2]`` (argparse type: errors become usage errors)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        msg = f"expected a number or comma-separated numbers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _add_common(p: argparse.ArgumentParser, *, perception: bool) -> None:
    p.add_argument("--variance", type=_numbers, required=True, help="source variance s² > 0")
    if perception:
        p.add_argument("--perception", type=_numbers, required=True,
                       help="perception budget P >= 0 (w2sq: squared W2; KL: nats)")
        p.add_argument("--measure", choices=PERCEPTIONS, default="w2sq",
                       help="perception measure (default: w2sq)")
    p.add_argument("--unit", choices=UNITS, default="bits", help="rate unit (default: bits)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``rd``, ``rdp`` and ``drp`` sub-commands."""
    p = subparsers.add_parser("rd", help="R(D) of a scalar Gaussian source",
                              description="Rate-distortion function R(D) = max(0, ½ log(s²/D)).")
    p.add_argument("--distortion", type=_numbers, required=True, help="MSE D > 0")
    _add_common(p, perception=False)
    p.set_defaults(func=_run_rd)

    p = subparsers.add_parser("rdp", help="R(D, P) of a scalar Gaussian source",
                              description="Rate-distortion-perception function R(D, P) "
                              "(THEORY.md §1; kl_forward: Gaussian-channel upper bound).")
    p.add_argument("--distortion", type=_numbers, required=True, help="MSE D > 0")
    _add_common(p, perception=True)
    p.set_defaults(func=_run_rdp)

    p = subparsers.add_parser("drp", help="D(R, P) of a scalar Gaussian source",
                              description="Distortion-rate-perception function D(R, P).")
    p.add_argument("--rate", type=_numbers, required=True, help="rate R >= 0 (in --unit)")
    _add_common(p, perception=True)
    p.set_defaults(func=_run_drp)


def _rows(D, P, var, rate, regime=None) -> list[_Row]:
    import numpy as np

    D, var, rate = np.broadcast_arrays(D, var, rate)
    P = np.broadcast_to(np.nan if P is None else P, D.shape)
    regime = np.broadcast_to(np.asarray("" if regime is None else regime), D.shape)
    return [
        _Row(float(d), None if np.isnan(p) else float(p), float(v), float(r), str(g) or None)
        for d, p, v, r, g in zip(D.ravel(), P.ravel(), var.ravel(), rate.ravel(), regime.ravel())
    ]


def _emit(command: str, args: argparse.Namespace, rows: list[_Row]) -> int:
    measure = getattr(args, "measure", None)
    if args.json:
        doc = {"command": command, "unit": args.unit, "measure": measure,
               "points": [asdict(row) for row in rows]}
        print(json.dumps(doc))
        return 0
    for row in rows:
        parts = [f"variance={row.variance:g}", f"D={row.distortion:.12g}"]
        if row.perception is not None:
            parts.append(f"P={row.perception:g} ({measure})")
        parts.append(f"R={row.rate:.12g} {args.unit}")
        if row.regime is not None:
            parts.append(f"[{row.regime}]")
        if row.rate_lower_bound is not None:
            parts.append(f"(Gaussian-channel upper bound; R >= {row.rate_lower_bound:.12g})")
        print("  ".join(parts))
    return 0


def _run_rd(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import rate_distortion

    D, var = np.array(args.distortion), np.array(args.variance)
    rate = rate_distortion(D, var, unit=args.unit)
    return _emit("rd", args, _rows(D, None, var, rate))


def _run_rdp(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import rdp, rdp_kl_forward_lower_bound, test_channel

    D, P, var = np.array(args.distortion), np.array(args.perception), np.array(args.variance)
    rate = rdp(D, P, var, perception=args.measure, unit=args.unit)
    regime = test_channel(D, P, var, perception=args.measure).regime
    rows = _rows(*np.broadcast_arrays(D, P, var, rate), regime)
    if args.measure == "kl_forward":
        lower = np.broadcast_to(rdp_kl_forward_lower_bound(D, P, var, unit=args.unit), rate.shape)
        rows = [replace(row, rate_lower_bound=float(lb)) for row, lb in zip(rows, lower.ravel())]
    return _emit("rdp", args, rows)


def _run_drp(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import drp

    R, P, var = np.array(args.rate), np.array(args.perception), np.array(args.variance)
    D = drp(R, P, var, perception=args.measure, unit=args.unit)
    D, P, var, R = np.broadcast_arrays(D, P, var, R)
    return _emit("drp", args, _rows(D, P, var, R))
