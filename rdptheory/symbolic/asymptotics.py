r"""Asymptotic expansions of the Lambert-W perception floors near P = 0 (THEORY.md §1).

The KL floors :math:`s_{lo}^{kl\_reverse} = s\sqrt{-W_0(-e^{-1-2P})}` and
:math:`s_{lo}^{kl\_forward} = s/\sqrt{-W_{-1}(-e^{-1-2P})}` sit at the branch point of
Lambert W when P → 0, where ``sympy.series`` raises ``NotImplementedError``.  The derivation
(ours) substitutes :math:`y = \log(-W_k(-e^{-1-2P}))`: from :math:`W e^W = -e^{-1-2P}` with
:math:`W = -e^{y}`,

.. math::

    e^{y} - 1 - y = 2P,

with y ≥ 0 on :math:`W_{-1}` and y ≤ 0 on :math:`W_0`.  The left side is
:math:`\tfrac{y^2}{2}(1 + O(y))`, so y is analytic in :math:`z = \pm 2\sqrt P`; matching
powers of z in :math:`e^{y(z)} - 1 - y(z) = z^2/2` gives

.. math::

    y = z - \frac{z^2}{6} + \frac{z^3}{36} - \frac{z^4}{270} + \frac{z^5}{4320} - \dots

and then :math:`s_{lo}/s = e^{-y(2\sqrt P)/2}` (forward) and :math:`e^{y(-2\sqrt P)/2}`
(reverse), expanded in :math:`\sqrt P`.  The expansions are series in :math:`\sqrt P`, not
in P: the floors have a square-root branch point at P = 0.
"""

from __future__ import annotations

import functools
from typing import Literal

import sympy as sp

from rdptheory._validation import check_choice, check_int
from rdptheory.symbolic._core import Derivation, DerivationError, P, Step, prove_zero, s

__all__ = ["branch_point_series", "perception_floor_series"]

_z = sp.Symbol("z", real=True)
_y = sp.Symbol("y", real=True)


def branch_point_series(order: int = 5) -> Derivation:
    r"""The root y(z) of :math:`e^y - 1 - y = z^2/2` with y ~ z, to :math:`O(z^{order+1})`.

    Derived by matching coefficients (module docstring); the proof step checks that the
    truncated series leaves a residual of order :math:`z^{order+2}`.

    Parameters
    ----------
    order : int
        Highest power of z kept, 1 ≤ order ≤ 8 (sympy's series cost grows fast: order 5
        takes seconds, order 8 minutes).

    Returns
    -------
    Derivation
        ``expr`` a polynomial in ``z``.

    >>> branch_point_series(3).expr
    z**3/36 - z**2/6 + z
    """
    return _branch_point_series(check_int(order, "order", low=1, high=8))


@functools.cache
def _branch_point_series(order: int) -> Derivation:
    coeffs = sp.symbols(f"a1:{order + 1}")
    y = sum(coeffs[k] * _z ** (k + 1) for k in range(order))
    residual = sp.series(sp.exp(y) - 1 - y - _z**2 / 2, _z, 0, order + 2).removeO()
    sol: dict[sp.Symbol, sp.Expr] = {coeffs[0]: sp.Integer(1)}  # z² term: a1² = 1, branch y ~ z
    for k in range(3, order + 2):
        eq = sp.expand(residual.coeff(_z, k).subs(sol))
        (a,) = eq.free_symbols  # the z^k coefficient is linear in a_{k-1} alone
        (root,) = sp.solve(eq, a)
        sol[a] = root
    series = sp.expand(y.subs(sol))
    check = sp.series(sp.exp(series) - 1 - series - _z**2 / 2, _z, 0, order + 2).removeO()
    steps = (
        Step("equation", sp.Eq(sp.exp(_y) - 1 - _y, _z**2 / 2)),
        Step("coefficients", dict(sol)),
        Step(f"residual through z^{order + 1}", prove_zero(check, "branch-point series")),
    )
    return Derivation(
        f"branch_point_series_{order}", series, (_z,),
        ("|z| small (radius of convergence 2*sqrt(pi), the nearest complex root)",),
        "THEORY.md §1 (derived)", True, "y(z)", steps,
    )


def perception_floor_series(
    measure: Literal["kl_forward", "kl_reverse"], order: int = 4
) -> Derivation:
    r"""Expansion of the KL perception floor :math:`s_{lo}(P)` near P = 0 in powers of √P.

    .. math::

        \frac{s_{lo}^{kl\_forward}}{s} = 1 - \sqrt P + \frac{5P}{6} - \frac{11 P^{3/2}}{18}
        + \frac{437 P^2}{1080} - \dots, \qquad
        \frac{s_{lo}^{kl\_reverse}}{s} = 1 - \sqrt P + \frac{P}{6} + \frac{P^{3/2}}{18}
        + \frac{13 P^2}{1080} + \dots

    Derived (module docstring): the floors are :math:`e^{\mp y/2}` with y the branch-point
    series of :func:`branch_point_series` at :math:`z = \pm 2\sqrt P`.  The truncation error
    is :math:`O(P^{(order+1)/2})`; the tests check that order numerically against the exact
    floors of :func:`rdptheory.gaussian.min_reconstruction_std`.

    Parameters
    ----------
    measure : {"kl_forward", "kl_reverse"}
    order : int
        Highest power of √P kept, 1 ≤ order ≤ 7.

    Returns
    -------
    Derivation
        ``expr`` in (P, s): s times a polynomial in √P.

    >>> perception_floor_series("kl_forward", 2).expr
    s*(-sqrt(P) + 5*P/6 + 1)
    """
    name = check_choice(measure, "measure", ("kl_forward", "kl_reverse"))
    return _perception_floor_series(name, check_int(order, "order", low=1, high=7))


@functools.cache
def _perception_floor_series(measure: str, order: int) -> Derivation:
    rho = sp.Symbol("rho", positive=True)  # sqrt(P)
    y = _branch_point_series(order + 1).expr
    if measure == "kl_forward":
        ratio = sp.exp(-y.subs(_z, 2 * rho) / 2)  # s_lo/s = (−W_{−1})^{−1/2} = e^{−y/2}
    else:
        ratio = sp.exp(y.subs(_z, -2 * rho) / 2)  # s_lo/s = (−W_0)^{1/2} = e^{y/2}
    poly = sp.series(ratio, rho, 0, order + 1).removeO()
    if poly.coeff(rho, 0) != 1 or poly.coeff(rho, 1) != -1:
        raise DerivationError(f"unexpected leading terms of the {measure} floor: {poly}")
    expr = s * sp.expand(poly).subs(rho, sp.sqrt(P))
    steps = (
        Step("y = log(-W_k(-exp(-1-2P))) solves", sp.Eq(sp.exp(_y) - 1 - _y, 2 * P)),
        Step("branch", -1 if measure == "kl_forward" else 0),
        Step("z", 2 * sp.sqrt(P) if measure == "kl_forward" else -2 * sp.sqrt(P)),
        Step("s_lo/s in rho = sqrt(P)", poly),
    )
    return Derivation(
        f"perception_floor_series_{measure}_{order}", sp.factor_terms(expr), (P, s),
        (f"P -> 0; error O(P^({order + 1}/2))", "s > 0"),
        "THEORY.md §1 (derived)", True, "s_{lo}(P)", steps,
    )
