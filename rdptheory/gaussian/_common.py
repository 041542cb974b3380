"""Conventions shared by the scalar, vector and AWGN closed forms (private).

One place for: the return convention (0-d result -> Python ``float``), broadcasting with a
message that names the arguments, the scalar-only check of the ``*_solution`` functions,
and the vocabulary of regimes (THEORY.md §1-§2) used by records, the CLI and
:mod:`rdptheory.testing`.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from rdptheory._units import Unit, nats_to, to_nats

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
