"""Information units: everything is computed in nats and converted once, here.

Public functions return bits unless ``unit="nats"`` (THEORY.md §0).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

Unit = Literal["bits", "nats"]
UNITS: tuple[str, ...] = ("bits", "nats")

#: nats per bit, derived rather than typed in.
NATS_PER_BIT: float = math.log(2.0)


def check_unit(unit: object) -> Unit:
    """Return ``unit`` if it is ``"bits"`` or ``"nats"``, else raise ``ValueError``."""
    if unit not in UNITS:
        raise ValueError(f"unit must be 'bits' or 'nats', got {unit!r}")
    return unit  # type: ignore[return-value]


def nats_to(value_nats: npt.ArrayLike, unit: Unit) -> np.ndarray:
    """Convert an information quantity from nats to ``unit``.

    >>> float(nats_to(np.log(2.0), "bits"))
    1.0
    """
    unit = check_unit(unit)
    v = np.asarray(value_nats, dtype=float)
    return v / NATS_PER_BIT if unit == "bits" else v


def to_nats(value: npt.ArrayLike, unit: Unit) -> np.ndarray:
    """Convert an information quantity given in ``unit`` to nats.

    >>> float(to_nats(1.0, "bits")) == float(np.log(2.0))
    True
    """
    unit = check_unit(unit)
    v = np.asarray(value, dtype=float)
    return v * NATS_PER_BIT if unit == "bits" else v
