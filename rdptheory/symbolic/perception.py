r"""Perception measures between N(0, s²) and N(0, ŝ²), and their floors ŝ ≥ s_lo(P), derived.

Each measure is computed from its definition by sympy integration, then ``measure = P`` is
solved for ŝ with ``sympy.solve``. The Kullback–Leibler equations give Lambert W; ``solve``
returns the principal branch only, so the derivation writes its root in
:math:`v = -W_k(-e^{-1-2P}) > 0`, which on *every* real branch satisfies
:math:`P = (v - 1 - \log v)/2`, proves that the root solves the equation for all v (hence on
both branches k = 0, -1), and keeps the branch whose root lies below s (THEORY.md §1).
"""

from __future__ import annotations

import functools

import sympy as sp

from rdptheory._validation import Perception, check_perception
from rdptheory.symbolic._core import (
    Derivation,
    DerivationError,
    P,
    Step,
    prove_equal,
    prove_zero,
    s,
    s_hat,
)

__all__ = ["perception_measure", "perception_floor"]

_x = sp.Symbol("x", real=True)
_z = sp.Symbol("z", real=True)
_LAMBERT_ARG = -sp.exp(-1 - 2 * P)


def _normal_pdf(var: sp.Expr, x: sp.Symbol = _x) -> sp.Expr:
    return sp.exp(-(x**2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)


def _kl(var_p: sp.Expr, var_q: sp.Expr) -> sp.Expr:
    """KL(N(0, var_p) || N(0, var_q)) by integrating p log(p/q) over the real line."""
    log_ratio = sp.expand_log(sp.log(_normal_pdf(var_p) / _normal_pdf(var_q)), force=True)
    log_ratio = sp.expand(log_ratio)
    # conds="none": the integral converges for every var_p, var_q > 0 (Gaussian tails)
    return sp.integrate(log_ratio * _normal_pdf(var_p), (_x, -sp.oo, sp.oo), conds="none")


def _w2sq(std_p: sp.Expr, std_q: sp.Expr) -> sp.Expr:
    """W2² of two centred 1-D Gaussians: the monotone (quantile) coupling X̂ = (ŝ/s) X."""
    return sp.integrate(((std_p - std_q) * _z) ** 2 * _normal_pdf(1, _z), (_z, -sp.oo, sp.oo))


_CITATIONS = {
    "w2sq": "[Gel90] (1-D monotone coupling)",
    "kl_forward": "KL(p_X || p_Xhat), THEORY.md §0",
    "kl_reverse": "KL(p_Xhat || p_X), THEORY.md §0",
}


_LHS = {
    "w2sq": r"W_2^2(p_X, p_{\hat X})",
    "kl_forward": r"KL(p_X \| p_{\hat X})",
    "kl_reverse": r"KL(p_{\hat X} \| p_X)",
}


@functools.cache
def perception_measure(measure: Perception) -> Derivation:
    r"""The perception measure between :math:`N(0,s^2)` and :math:`N(0,\hat s^2)`.

    .. math::

        W_2^2 = (s-\hat s)^2,\qquad
        KL(p_X\|p_{\hat X}) = \tfrac12\bigl(e^{u}-1-u\bigr),\qquad
        KL(p_{\hat X}\|p_X) = \tfrac12\bigl(e^{-u}-1+u\bigr),\qquad u=\log\tfrac{s^2}{\hat s^2}

    Integrated from the definitions (nats for the KLs).

    Parameters
    ----------
    measure : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    Derivation
        ``expr`` in (s, shat).
    """
    measure = check_perception(measure)
    if measure == "w2sq":
        expr = _w2sq(s, s_hat)
    elif measure == "kl_forward":
        expr = _kl(s**2, s_hat**2)
    else:
        expr = _kl(s_hat**2, s**2)
    return Derivation(
        measure,
        expr,
        (s, s_hat),
        ("zero-mean Gaussians",),
        _CITATIONS[measure],
        False,
        _LHS[measure],
    )


#: v = -W_k(x) for x = -exp(-1-2P) in (-1/e, 0): every real branch has v > 0 and
#: -v e^{-v} = x, i.e. P = (v - 1 - log v)/2. Substituting this P turns the Lambert-W
#: identities into algebra in v, valid on every branch at once.
_v = sp.Symbol("v", positive=True)
_P_OF_V = (_v - 1 - sp.log(_v)) / 2


def _kl_floor(measure: Perception) -> tuple[sp.Expr, tuple[Step, ...]]:
    """Solve KL = P for s_hat, over both real Lambert W branches; keep the root below s."""
    kl = perception_measure(measure).expr
    roots = [r for r in sp.solve(sp.Eq(kl, P), s_hat) if not r.could_extract_minus_sign()]
    if len(roots) != 1 or not roots[0].has(sp.LambertW):
        raise DerivationError(f"unexpected roots of {measure} = P: {roots}")
    w0 = sp.LambertW(_LAMBERT_ARG)
    # the same root with W_k(x) -> -v (any branch), P -> P(v): an algebraic function of v
    root_v = sp.simplify(roots[0].subs(w0, -_v).subs(P, _P_OF_V))
    residual = sp.expand_log(kl.subs(s_hat, root_v), force=True) - _P_OF_V
    steps = (
        Step("root from sympy.solve (principal branch)", roots[0]),
        Step("root in v = -W_k(x), any branch", root_v),
        Step("measure(root) - P on every branch", prove_zero(residual, f"{measure} root")),
    )
    candidates = {k: root_v.subs(_v, -sp.LambertW(_LAMBERT_ARG, k)) for k in (0, -1)}
    # the floor is the root below s; decide the branch numerically at P = 1/2
    below = [k for k, r in candidates.items() if (r / s).subs(P, sp.Rational(1, 2)).evalf() < 1]
    if len(below) != 1:
        raise DerivationError(f"expected one root below s, got branches {below}")
    return candidates[below[0]], (*steps, Step("branch of the floor", below[0]))


#: THEORY.md §1 forms, typed in only to be compared with the derived floors.
_THEORY_FLOORS = {
    "kl_reverse": s * sp.sqrt(-sp.LambertW(_LAMBERT_ARG)),
    "kl_forward": s / sp.sqrt(-sp.LambertW(_LAMBERT_ARG, -1)),
}


@functools.cache
def perception_floor(measure: Perception) -> Derivation:
    r"""The floor :math:`s_{lo}(P)`: the perception constraint on a Gaussian reconstruction.

    .. math::

        s_{lo}^{w2sq} = \max(s-\sqrt P, 0),\quad
        s_{lo}^{kl\_reverse} = s\sqrt{-W_0(-e^{-1-2P})},\quad
        s_{lo}^{kl\_forward} = \frac{s}{\sqrt{-W_{-1}(-e^{-1-2P})}}

    Derived (THEORY.md §1), not stated in a paper: ``measure(s, shat) <= P`` with
    :math:`\hat s \le s` iff :math:`\hat s \ge s_{lo}(P)`. Near P = 0 the Lambert W forms are
    ill-conditioned (branch point at -1/e); evaluate there with ``lambdify("mpmath")``.

    Parameters
    ----------
    measure : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    Derivation
        ``expr`` in (P, s); P in the measure's unit (squared std units for w2sq, nats for KL).

    Examples
    --------
    >>> perception_floor("w2sq").expr
    Max(0, -sqrt(P) + s)
    >>> perception_floor("kl_forward").expr
    s/sqrt(-LambertW(-exp(-2*P - 1), -1))
    """
    measure = check_perception(measure)
    if measure == "w2sq":
        roots = sp.solve(sp.Eq(perception_measure("w2sq").expr, P), s_hat)
        low = [r for r in roots if (s - r).is_positive]
        if len(low) != 1:
            raise DerivationError(f"unexpected roots of w2sq = P: {roots}")
        expr = sp.Max(low[0], 0)  # for P >= s**2 every s_hat in [0, s] satisfies the constraint
        steps: tuple[Step, ...] = (Step("roots", tuple(roots)),)
    else:
        expr, steps = _kl_floor(measure)
        steps += (prove_equal(expr, _THEORY_FLOORS[measure], "matches THEORY.md §1"),)
    return Derivation(
        f"perception_floor_{measure}",
        expr,
        (P, s),
        ("P >= 0", "s > 0"),
        "THEORY.md §1 (derived)",
        True,
        "s_{lo}(P)",
        steps,
    )
