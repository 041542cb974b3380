"""Boundary validation shared by every public function (STYLE.md §10).

Public functions call these once; inner helpers trust their inputs. Each raises a
``ValueError``/``TypeError`` whose message names the argument and the valid range.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
import numpy.typing as npt

Perception = Literal["w2sq", "kl_forward", "kl_reverse"]
PERCEPTIONS: tuple[str, ...] = ("w2sq", "kl_forward", "kl_reverse")


def _describe(x: object) -> str:
    """The type of ``x`` for an error message (the dtype for arrays, never a numpy repr)."""
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype}"
    if isinstance(x, np.generic):
        return f"a numpy {x.dtype}"
    return type(x).__name__


def fmt(value: object) -> str:
    """A number for an error message: ``0.0``, never ``np.float64(0.0)``."""
    try:
        return repr(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(value)


def as_float_array(x: npt.ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float64 array: real numbers and real (int/float) arrays only.

    ``bool``, ``str``/``bytes``, complex numbers, ``None`` and object arrays raise
    ``TypeError`` (strict types: ``rdp(True, ...)`` or ``rdp("0.5", ...)`` is a bug in the
    caller, not an input); NaN raises ``ValueError``.

    >>> as_float_array([1, 2.5], "x").tolist()
    [1.0, 2.5]
    >>> as_float_array(True, "D")
    Traceback (most recent call last):
    ...
    TypeError: D must be a real number or an array of real numbers, got bool
    """
    bad = f"{name} must be a real number or an array of real numbers, got {_describe(x)}"
    if isinstance(x, (bool, np.bool_, str, bytes)) or x is None:
        raise TypeError(bad)
    if isinstance(x, numbers.Real) and not isinstance(x, np.generic):
        try:  # Python ints beyond float64 range, Fraction, Decimal: one conversion
            a = np.asarray(float(x), dtype=np.float64)
        except OverflowError:
            raise ValueError(f"{name} = {x} is beyond the float64 range") from None
    else:
        try:
            raw = np.asarray(x)
        except (TypeError, ValueError) as exc:  # ragged nested sequences
            raise TypeError(bad) from exc
        if raw.dtype.kind not in "iuf":
            plain = not isinstance(x, (np.ndarray, list, tuple))
            kind = "bool" if raw.dtype.kind == "b" else _describe(x if plain else raw)
            raise TypeError(
                f"{name} must be a real number or an array of real numbers, got {kind}"
            )
        a = raw.astype(np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name} must not contain NaN")
    return a


def _check_lower_bound(x: npt.ArrayLike, name: str, allow_inf: bool, strict: bool) -> np.ndarray:
    """Float array with every entry > 0 (``strict``) or >= 0, finite unless ``allow_inf``."""
    a = as_float_array(x, name)
    if not allow_inf and not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite, got {fmt(a[~np.isfinite(a)].ravel()[0])}")
    if ((a <= 0) if strict else (a < 0)).any():
        raise ValueError(f"{name} must be {'>' if strict else '>='} 0, got {fmt(a.min())}")
    return a


def check_positive(x: npt.ArrayLike, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """Float array with every entry > 0 (and finite unless ``allow_inf``)."""
    return _check_lower_bound(x, name, allow_inf, strict=True)


def check_nonnegative(x: npt.ArrayLike, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """Float array with every entry >= 0 (and finite unless ``allow_inf``)."""
    return _check_lower_bound(x, name, allow_inf, strict=False)


def check_rho(rho: npt.ArrayLike, name: str = "rho") -> np.ndarray:
    """The score scale rho of the PF-ODE decoder: finite and >= 0 (THEORY.md §0)."""
    return check_nonnegative(rho, name)


def check_perception(perception: object) -> Perception:
    """Return the perception measure name if valid (THEORY.md §0)."""
    if perception not in PERCEPTIONS:
        raise ValueError(
            f"perception must be one of {', '.join(map(repr, PERCEPTIONS))}, got {perception!r}"
        )
    return perception  # type: ignore[return-value]


def check_variances(variances: npt.ArrayLike, name: str = "variances") -> np.ndarray:
    """A 1-D array of positive, finite component variances (a diagonal source)."""
    a = check_positive(variances, name)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    return a


def check_covariance(
    cov: npt.ArrayLike, name: str = "cov", *, tol: float = 1e-10, allow_singular: bool = False
) -> np.ndarray:
    """A symmetric positive-definite (d, d) matrix (semi-definite with ``allow_singular``)."""
    a = as_float_array(cov, name)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    scale = max(float(np.abs(a).max()), 1.0)
    if not np.allclose(a, a.T, rtol=0.0, atol=tol * scale):
        raise ValueError(f"{name} must be symmetric")
    low = np.linalg.eigvalsh(0.5 * (a + a.T)).min()
    if allow_singular and low < -tol * scale:
        raise ValueError(f"{name} must be positive semi-definite")
    if not allow_singular and low <= 0:
        raise ValueError(f"{name} must be positive definite")
    return 0.5 * (a + a.T)


def check_int(x: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (bools rejected) within [low, high]."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    v = int(x)
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}")
    return v


def check_choice(x: object, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if x not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {x!r}")
    return x  # type: ignore[return-value]
