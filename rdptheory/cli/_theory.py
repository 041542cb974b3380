"""Evaluate the Gaussian closed forms (THEORY.md §1-§3) from the shell.

Scalar source (§1)::

    rdptheory rdp --distortion 0.5 -P 0.01 --variance 1 --perception w2sq
    rdptheory drp --rate 1 -P 0 --variance 1 --perception kl_reverse --json
    rdptheory rd --distortion 0.25 --variance 1 --unit nats

Diagonal source N(0, diag(λ)), W₂² perception (§2), and AWGN / score-scaled decoding (§3)::

    rdptheory rdp-vector --distortion 0.5 -P 0.01 --variances 1,0.25,0.04
    rdptheory drp-vector --rate 2 -P 0 --variances 1,0.25,0.04
    rdptheory dp-awgn -P 0,0.01 --variances 1,0.25 --noise-var 0.5
    rdptheory score-scaled --variances 1,0.25 --noise-var 0.5 --rho 1,1.5,2

As in the library, ``--perception`` names the measure (``w2sq``, ``kl_forward``,
``kl_reverse``) and ``-P``/``--perception-budget`` is the number P.  Each point flag takes one
number or a comma-separated list; lists broadcast against each
other (numpy rules) and print one line per point (``--variances`` is the spectrum, not a
list of points).  ``rdp`` also names the regime of THEORY.md §1 and, for ``kl_forward``
(whose value is the true R, from the certified solver's table), the rigorous lower bound;
``rdp-vector`` and ``drp-vector`` report the regime and the solver's certificate (KKT
residual, dual gap); ``score-scaled`` reports the scheme's rate gap to R(D, P).  ``--json``
prints one JSON object instead, with the record field names of :mod:`rdptheory.gaussian` (``mse``,
``perception_value``, ``gain``; rates as ``rate_bits`` or ``rate_nats`` after ``--unit``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rdptheory._units import UNITS
from rdptheory._validation import PERCEPTIONS

if TYPE_CHECKING:
    import numpy as np


class _Printable(Protocol):
    """A row of output: a frozen dataclass that can also describe itself in one line."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def text(self, args: argparse.Namespace) -> str: ...


@dataclass(frozen=True)
class _Row:
    """One evaluated scalar point (``rd``, ``rdp``, ``drp``)."""

    mse: float
    P: float | None
    variance: float
    rate: float
    regime: str | None = None
    rate_lower_bound: float | None = None  # kl_forward only: rdp_kl_forward_lower_bound

    def text(self, args: argparse.Namespace) -> str:
        parts = [f"variance={self.variance:g}", f"D={self.mse:.12g}"]
        if self.P is not None:
            parts.append(f"P={self.P:g} ({args.perception})")
        parts.append(f"R={self.rate:.12g} {args.unit}")
        if self.regime is not None:
            parts.append(f"[{self.regime}]")
        if self.rate_lower_bound is not None:
            parts.append(f"(true R, solver table; R >= {self.rate_lower_bound:.12g})")
        return "  ".join(parts)


@dataclass(frozen=True)
class _VectorRow:
    """One solved point of the vector R(D, P) / D(R, P) program, with its certificate."""

    mse: float
    P: float
    rate: float
    regime: str
    kkt_residual: float
    dual_gap_nats: float

    def text(self, args: argparse.Namespace) -> str:
        return (f"D={self.mse:.12g}  P={self.P:g} (w2sq)  "
                f"R={self.rate:.12g} {args.unit}  [{self.regime}]  "
                f"kkt={self.kkt_residual:.1e}  dual_gap={self.dual_gap_nats:.1e} nats")


@dataclass(frozen=True)
class _DPRow:
    """D(P) under AWGN [FMM21] at one perception budget, with the optimal gains."""

    P: float
    mse: float
    alpha: float
    perception_value: float
    gain: list[float]

    def text(self, args: argparse.Namespace) -> str:
        gains = ",".join(f"{g:.6g}" for g in self.gain)
        return (f"P={self.P:g} (w2sq)  D={self.mse:.12g}  alpha={self.alpha:.12g}  "
                f"W2sq={self.perception_value:.12g}  gains={gains}")


@dataclass(frozen=True)
class _SchemeRow:
    """The score-scaled scheme's operating point at one ρ and its gap to R(D, P)."""

    rho: float
    rate: float
    mse: float
    perception_value: float
    rate_gap: float

    def text(self, args: argparse.Namespace) -> str:
        return (f"rho={self.rho:g}  R={self.rate:.12g} {args.unit}  D={self.mse:.12g}  "
                f"W2sq={self.perception_value:.12g}  R-R(D,P)={self.rate_gap:.6g} {args.unit}")


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


def _flag(p: argparse.ArgumentParser, name: str, help: str) -> None:
    if name == "P":  # the perception budget; --perception is the measure's name
        p.add_argument("-P", "--perception-budget", dest="P", type=_numbers, required=True,
                       help=help)
        return
    p.add_argument(f"--{name}", type=_numbers, required=True, help=help)


def _add_output(p: argparse.ArgumentParser, *, unit: bool = True) -> None:
    if unit:
        p.add_argument("--unit", choices=UNITS, default="bits", help="rate unit (default: bits)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


_D_HELP = "total MSE D > 0"
_P_HELP = "perception budget P >= 0 (w2sq: squared W2; KL: nats)"
_R_HELP = "rate R >= 0 (in --unit)"
_LAM_HELP = "source variances λ_i > 0 (the spectrum, comma-separated)"
_T2_HELP = "AWGN variance t² > 0: one value, or one per component"


def _add_scalar(p: argparse.ArgumentParser, *, perception: bool) -> None:
    _flag(p, "variance", "source variance s² > 0")
    if perception:
        _flag(p, "P", _P_HELP)
        p.add_argument("--perception", choices=PERCEPTIONS, default="w2sq",
                       help="perception measure (default: w2sq)")
    _add_output(p)


def _parser(subparsers: argparse._SubParsersAction, name: str, help: str, description: str,
            func: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=help, description=description)
    p.set_defaults(func=func)
    return p


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the sub-commands ``rd``, ``rdp``, ``drp`` (scalar) and the vector/AWGN ones."""
    p = _parser(subparsers, "rd", "R(D) of a scalar Gaussian source",
                "Rate-distortion function R(D) = max(0, ½ log(s²/D)).", _run_rd)
    _flag(p, "distortion", "MSE D > 0")
    _add_scalar(p, perception=False)
    p = _parser(subparsers, "rdp", "R(D, P) of a scalar Gaussian source",
                "Rate-distortion-perception function R(D, P) "
                "(THEORY.md §1; kl_forward: the true R, certified solver table, §6).", _run_rdp)
    _flag(p, "distortion", "MSE D > 0")
    _add_scalar(p, perception=True)
    p = _parser(subparsers, "drp", "D(R, P) of a scalar Gaussian source",
                "Distortion-rate-perception function D(R, P).", _run_drp)
    _flag(p, "rate", _R_HELP)
    _add_scalar(p, perception=True)
    _register_vector(subparsers)


def _register_vector(subparsers: argparse._SubParsersAction) -> None:
    """The diagonal-source (THEORY.md §2) and AWGN (§3) sub-commands."""
    p = _parser(subparsers, "rdp-vector", "R(D, P) of N(0, diag(λ)), W2² perception",
                "Vector R(D, P) by the convex program of THEORY.md §2, with its certificate.",
                _run_rdp_vector)
    for name, text in (("distortion", _D_HELP), ("P", _P_HELP), ("variances", _LAM_HELP)):
        _flag(p, name, text)
    _add_output(p)
    p = _parser(subparsers, "drp-vector", "D(R, P) of N(0, diag(λ)), W2² perception",
                "Vector D(R, P) (THEORY.md §2), with its certificate.", _run_drp_vector)
    for name, text in (("rate", _R_HELP), ("P", _P_HELP), ("variances", _LAM_HELP)):
        _flag(p, name, text)
    _add_output(p)
    p = _parser(subparsers, "dp-awgn", "D(P) of estimating X from Y = X + tN [FMM21]",
                "Distortion-perception function under AWGN and its optimal gains "
                "(THEORY.md §3).", _run_dp_awgn)
    for name, text in (("P", _P_HELP), ("variances", _LAM_HELP), ("noise-var", _T2_HELP)):
        _flag(p, name, text)
    _add_output(p, unit=False)
    p = _parser(subparsers, "score-scaled", "(R, D, W2²) of AWGN + score-scaled PF-ODE",
                "Operating point of transmitting Y = X + tN and decoding with the PF-ODE whose "
                "score is scaled by rho, and its rate gap to R(D, P) (THEORY.md §3).",
                _run_score_scaled)
    for name, text in (("variances", _LAM_HELP), ("noise-var", _T2_HELP),
                       ("rho", "score scale rho >= 0 (1: PF-ODE, 2: MMSE end)")):
        _flag(p, name, text)
    _add_output(p)


def _emit(command: str, args: argparse.Namespace, rows: Sequence[_Printable],
          **meta: Any) -> int:
    """Print ``rows`` as text lines, or (``--json``) one object with ``meta`` and the points."""
    if args.json:
        unit = getattr(args, "unit", None)
        points = [_unit_keys(asdict(row), unit) for row in rows]
        doc = {"command": command, **meta, "points": points}
        print(json.dumps(doc))
    else:
        for row in rows:
            print(row.text(args))
    return 0


def _unit_keys(point: dict[str, Any], unit: str | None) -> dict[str, Any]:
    """Rate keys carry their unit (``rate`` -> ``rate_bits``), as the records' fields do."""
    if unit is None:
        return point
    return {(f"{k}_{unit}" if k.startswith("rate") else k): v for k, v in point.items()}


def _scalar_rows(D: np.ndarray, P: np.ndarray | None, var: np.ndarray, rate: np.ndarray,
                 regime: np.ndarray | None = None) -> list[_Row]:
    import numpy as np

    D, var, rate = np.broadcast_arrays(D, var, rate)
    P_ = np.broadcast_to(np.nan if P is None else P, D.shape)
    names = np.broadcast_to(np.asarray("" if regime is None else regime), D.shape)
    return [
        _Row(float(d), None if np.isnan(p) else float(p), float(v), float(r), str(g) or None)
        for d, p, v, r, g in zip(D.ravel(), P_.ravel(), var.ravel(), rate.ravel(), names.ravel())
    ]


def _scalar_meta(args: argparse.Namespace) -> dict[str, Any]:
    return {"unit": args.unit, "perception": getattr(args, "perception", None)}


def _run_rd(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import rate_distortion

    D, var = np.array(args.distortion), np.array(args.variance)
    rate = np.asarray(rate_distortion(D, var, unit=args.unit))
    return _emit("rd", args, _scalar_rows(D, None, var, rate), **_scalar_meta(args))


def _run_rdp(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import rdp, rdp_kl_forward_lower_bound, test_channel

    D, P, var = np.array(args.distortion), np.array(args.P), np.array(args.variance)
    rate = np.asarray(rdp(D, P, var, perception=args.perception, unit=args.unit))
    regime = np.asarray(test_channel(D, P, var, perception=args.perception).regime)
    D, P, var, rate = np.broadcast_arrays(D, P, var, rate)
    rows = _scalar_rows(D, P, var, rate, regime)
    if args.perception == "kl_forward":
        lower = np.broadcast_to(rdp_kl_forward_lower_bound(D, P, var, unit=args.unit), rate.shape)
        rows = [replace(row, rate_lower_bound=float(lb)) for row, lb in zip(rows, lower.ravel())]
    return _emit("rdp", args, rows, **_scalar_meta(args))


def _run_drp(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import drp

    R, P, var = np.array(args.rate), np.array(args.P), np.array(args.variance)
    D = np.asarray(drp(R, P, var, perception=args.perception, unit=args.unit))
    D, P, var, R = np.broadcast_arrays(D, P, var, R)
    return _emit("drp", args, _scalar_rows(D, P, var, R), **_scalar_meta(args))


def _vector_rows(solve: Any, x: tuple[str, list[float]], P: list[float], lam: list[float],
                 unit: str) -> list[_VectorRow]:
    """Solve at every broadcast pair ``(x, P)``; ``x`` is ("D", D) or ("R", R)."""
    import numpy as np

    from rdptheory.gaussian._common import broadcast_named

    xs, ps = broadcast_named(**{x[0]: np.array(x[1])}, P=np.array(P))
    rows = []
    for a, p in zip(xs.ravel(), ps.ravel()):
        sol = solve(float(a), float(p), lam)
        rate = sol.rate_bits if unit == "bits" else sol.rate_nats
        rows.append(_VectorRow(sol.mse, float(p), rate, sol.regime, sol.kkt_residual,
                               sol.dual_gap_nats))
    return rows


def _run_rdp_vector(args: argparse.Namespace) -> int:
    from rdptheory.gaussian import rdp_vector_solution

    rows = _vector_rows(rdp_vector_solution, ("D", args.distortion), args.P,
                        args.variances, args.unit)
    return _emit("rdp-vector", args, rows, unit=args.unit, variances=args.variances)


def _run_drp_vector(args: argparse.Namespace) -> int:
    from functools import partial

    from rdptheory.gaussian import drp_vector_solution

    solve = partial(drp_vector_solution, unit=args.unit)
    rows = _vector_rows(solve, ("R", args.rate), args.P, args.variances, args.unit)
    return _emit("drp-vector", args, rows, unit=args.unit, variances=args.variances)


def _noise_var(args: argparse.Namespace) -> float | list[float]:
    """One value is isotropic noise; several are one per component."""
    return args.noise_var[0] if len(args.noise_var) == 1 else args.noise_var


def _run_dp_awgn(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import dp_awgn

    res = dp_awgn(np.array(args.P), args.variances, _noise_var(args))
    rows = [
        _DPRow(float(p), float(d), float(a), float(w), g.tolist())
        for p, d, a, w, g in zip(args.P, np.atleast_1d(res.mse), np.atleast_1d(res.alpha),
                                 np.atleast_1d(res.perception_value), res.gain)
    ]
    if not args.json:
        print(f"MMSE D*={res.mmse:.12g}  W2sq(p_X, p_X*)={res.perception_value_mmse:.12g}")
    return _emit("dp-awgn", args, rows, variances=args.variances, noise_var=_noise_var(args),
                 mmse=res.mmse, perception_value_mmse=res.perception_value_mmse)


def _run_score_scaled(args: argparse.Namespace) -> int:
    import numpy as np

    from rdptheory.gaussian import score_scaled_gap, score_scaled_point

    rho, t2 = np.array(args.rho), _noise_var(args)
    pt = score_scaled_point(args.variances, t2, rho)
    rate = pt.rate_bits if args.unit == "bits" else pt.rate_nats
    gap = score_scaled_gap(args.variances, t2, rho, unit=args.unit)
    rows = [
        _SchemeRow(float(r), rate, float(d), float(w), float(g))
        for r, d, w, g in zip(rho, np.atleast_1d(pt.mse), np.atleast_1d(pt.perception_value),
                              np.atleast_1d(gap))
    ]
    return _emit("score-scaled", args, rows, unit=args.unit, variances=args.variances,
                 noise_var=t2)
