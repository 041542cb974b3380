"""rdptheory.symbolic: the Gaussian results of THEORY.md §1–§3 derived with sympy.

Each public function returns a :class:`Derivation` (or a small record of them): the sympy
expression, its argument symbols, assumptions, citation tag, LaTeX, intermediate steps and a
``lambdify()`` for numeric use. Derivations are cached; every identity they claim is proved by
reducing a difference to exactly zero, and a failed proof raises :class:`DerivationError`.
"""

from rdptheory.symbolic._core import Derivation, DerivationError, Step
from rdptheory.symbolic.perception import perception_floor, perception_measure
from rdptheory.symbolic.rdp import (
    drp_scalar,
    rdp_core,
    rdp_scalar,
    rdp_w2sq_kkt,
    rdp_w2sq_scalar,
    rdp_zero_perception,
)

__all__ = [
    "Derivation",
    "DerivationError",
    "Step",
    "perception_measure",
    "perception_floor",
    "rdp_core",
    "rdp_w2sq_kkt",
    "rdp_scalar",
    "rdp_w2sq_scalar",
    "rdp_zero_perception",
    "drp_scalar",
]
