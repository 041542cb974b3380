"""Conventions shared by the scalar, vector and AWGN closed forms (private).

One place for: the return convention (0-d result -> Python ``float``), broadcasting with a
message that names the arguments, the scalar-only check of the ``*_solution`` functions,
and the vocabulary of regimes (THEORY.md §1-§2) used by records, the CLI and
:mod:`rdptheory.testing`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar, get_args

import numpy as np
import numpy.typing as npt

from rdptheory import _validation as _v
from rdptheory._units import Unit, nats_to, to_nats
from rdptheory._validation import fmt

#: A Python float for 0-d results, a float64 ndarray otherwise (scalar in, float out).
FloatOrArray = float | np.ndarray

#: The cases of R(D, P) (THEORY.md §1-§2).  ``"perception_inactive"``: R(D, P) = R(D)
#: (for a vector source this is plain reverse water-filling); ``"both_active"``: the
#: distortion and perception constraints both bind; ``"perfect_perception"``: P = 0 with
#: positive rate; ``"zero_rate"``: R = 0.
Regime = Literal["zero_rate", "perception_inactive", "both_active", "perfect_perception"]
REGIMES: tuple[Regime, ...] = get_args(Regime)


def as_output(x: np.ndarray | float) -> FloatOrArray:
    """Python float for a 0-d result, float64 ndarray otherwise (module convention)."""
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def broadcast_named(**named: np.ndarray) -> list[np.ndarray]:
    """Broadcast validated float arrays; on mismatch raise ``ValueError`` naming them.

    >>> broadcast_named(D=np.ones(2), P=np.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: D, P must broadcast together, got shapes D (2,), P (3,)
    """
    try:
        return [np.asarray(a, dtype=float) for a in np.broadcast_arrays(*named.values())]
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in named.items())
        raise ValueError(
            f"{', '.join(named)} must broadcast together, got shapes {shapes}"
        ) from None


def check_scalar(x: np.ndarray, name: str, vectorised: str) -> float:
    """``float(x)`` for a 0-d array; else ``ValueError`` pointing at the vectorised function."""
    if x.ndim != 0:
        raise ValueError(
            f"{name} must be a scalar (0-d), got shape {x.shape}; use {vectorised} for arrays"
        )
    return float(x)


def convert_rate(rate: FloatOrArray, unit_from: Unit, unit_to: Unit) -> FloatOrArray:
    """A rate given in ``unit_from`` expressed in ``unit_to`` (for the records' properties)."""
    return as_output(nats_to(to_nats(rate, unit_from), unit_to))


#: Supported magnitudes of every finite, non-zero D, P, R, variance and noise variance.
#: Inside it no intermediate quantity (ratios, their squares, Lagrange multipliers) leaves
#: float64; the formulas are scale-invariant (R(D, P) depends on D/s², P/s² for W₂²), so a
#: problem outside it is rescaled, not lost.  0 and inf are allowed where documented.
MAGNITUDE_RANGE: tuple[float, float] = (1e-100, 1e100)


def check_magnitude(
    a: np.ndarray, name: str, *, rate: bool = False, lower: bool = True
) -> np.ndarray:
    """``a`` if every finite non-zero entry lies in :data:`MAGNITUDE_RANGE`, else ``ValueError``.

    ``lower=False`` checks only the upper end (budgets P and R: tiny values are harmless).

    >>> check_magnitude(np.array([0.0, 1.0, np.inf]), "P").tolist()
    [0.0, 1.0, inf]
    >>> check_magnitude(np.array(5e-324), "D")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: D = 5e-324 is outside the supported range [1e-100, 1e+100]; rescale ...
    """
    lo, hi = MAGNITUDE_RANGE
    mag = np.abs(a)
    bad = np.isfinite(mag) & (mag != 0.0) & (((mag < lo) & lower) | (mag > hi))
    if bad.any():
        hint = (
            "the distortion at such a rate is below float64 resolution"
            if rate
            else "rescale D, P and the variances together (the results are scale-invariant)"
        )
        raise ValueError(
            f"{name} = {fmt(a[bad].ravel()[0])} is outside the supported range "
            f"[{lo:g}, {hi:g}]; {hint}"
        )
    return a


def check_positive(x: npt.ArrayLike, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """:func:`rdptheory._validation.check_positive` within :data:`MAGNITUDE_RANGE`."""
    return check_magnitude(_v.check_positive(x, name, allow_inf=allow_inf), name)


def check_nonnegative(
    x: npt.ArrayLike, name: str, *, allow_inf: bool = False, rate: bool = False
) -> np.ndarray:
    """:func:`rdptheory._validation.check_nonnegative`, at most ``MAGNITUDE_RANGE[1]``.

    Used for budgets (P, R, ρ) and nothing else, where values near 0 are harmless.
    """
    a = _v.check_nonnegative(x, name, allow_inf=allow_inf)
    return check_magnitude(a, name, rate=rate, lower=False)


def check_variances(variances: npt.ArrayLike, name: str = "variances") -> np.ndarray:
    """:func:`rdptheory._validation.check_variances` within :data:`MAGNITUDE_RANGE`."""
    return check_magnitude(_v.check_variances(variances, name), name)


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _contains_nan(out: object, skip: tuple[str, ...]) -> str | None:
    """Name of the first float field of ``out`` (a record or an array) holding NaN."""
    fields = out._asdict() if hasattr(out, "_asdict") else {"result": out}
    for field, value in fields.items():
        if field in skip or isinstance(value, str):
            continue
        a = np.asarray(value)
        if a.dtype.kind == "f" and np.isnan(a).any():
            return str(field)
    return None


def guarded(*, nan_fields: tuple[str, ...] = ()) -> Callable[[Callable[_P, _T]], Callable[_P, _T]]:
    """Evaluate a public closed form without leaking floating-point warnings.

    The body runs under ``np.errstate(all="ignore")`` (limits such as ``log(0) = -inf`` are
    intended); if it nevertheless produces NaN (outside ``nan_fields``, which a record
    documents) or fails arithmetically, the caller gets a one-line ``ValueError`` instead of
    a wrong number or a ``ZeroDivisionError``.
    """

    def decorate(func: Callable[_P, _T]) -> Callable[_P, _T]:
        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            try:
                with np.errstate(all="ignore"):
                    out = func(*args, **kwargs)
            except (ZeroDivisionError, OverflowError, FloatingPointError) as exc:
                raise ValueError(
                    f"{func.__name__}: the inputs leave the float64 range of this formula "
                    f"({exc}); rescale the problem"
                ) from None
            field = _contains_nan(out, nan_fields)
            if field is not None:
                raise ValueError(
                    f"{func.__name__}: the inputs leave the float64 range of this formula "
                    f"(NaN in {field}); rescale the problem"
                )
            return out

        return wrapper

    return decorate


def deprecated_field(new: str, old: str) -> property:
    """A read-only alias ``old`` of the record field ``new`` that warns (renamed in 0.2.0).

    The records share one vocabulary (CHANGELOG.md): ``mse`` for the total MSE,
    ``perception`` for the measure's name, ``perception_value`` for its value,
    ``rate_nats`` (+ ``rate_bits``), ``component_*`` for per-component arrays and
    ``gain`` for the linear decoder's gains.
    """

    def get(self: object) -> object:
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated; use .{new} (see CHANGELOG.md)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of ``{new}`` (renamed in 0.2.0).")


def deprecate_fields(record: type, **renamed: str) -> None:
    """Attach :func:`deprecated_field` aliases ``old=new`` to a NamedTuple class."""
    for old, new in renamed.items():
        setattr(record, old, deprecated_field(new, old))
