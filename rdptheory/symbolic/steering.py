r"""Choosing the score scale ρ for a scalar source, derived with sympy (THEORY.md §3).

With :math:`c=\sqrt{\lambda/(\lambda+t^2)}` and :math:`w = 1-c^{\rho-1}` (the coordinates of
:mod:`rdptheory.symbolic.scheme`), the scheme's MSE and W₂² are polynomials in w, so each
steering rule is a polynomial equation in w, solved by ``sympy.solve``, and mapped back by
:math:`\rho = 1 + \log(1-w)/\log c`. ρ ∈ [1, 2] is w ∈ [0, 1-c].
"""

from __future__ import annotations

import functools

import sympy as sp

from rdptheory.symbolic._core import Derivation, DerivationError, P, Step, lam, prove_equal, t
from rdptheory.symbolic.scheme import _in_cw, c_mmse, score_scaled_point_scalar, w

__all__ = ["rho_for_perception_scalar", "rho_for_tradeoff_scalar", "rho_for_alpha_scalar"]

#: weight on W2² in the trade-off D + weight * W2²
weight = sp.Symbol("omega", nonnegative=True)
alpha = sp.Symbol("alpha", nonnegative=True)

_C_OF_T = sp.sqrt(lam / (lam + t**2))


def _rho_of(w_value: sp.Expr) -> sp.Expr:
    """rho from w = 1 - c^(rho-1), with c = sqrt(lambda/(lambda + t²))."""
    return (1 + sp.log(1 - w_value) / sp.log(c_mmse)).subs(c_mmse, _C_OF_T)


def _record(name: str, expr: sp.Expr, symbols: tuple, w_sol: sp.Expr, *steps: Step) -> Derivation:
    return Derivation(
        name,
        expr,
        symbols,
        ("lambda > 0", "t > 0 (noise_var = t**2)", "result in [1, 2]"),
        "THEORY.md §3 (derived); steering of [WBZ26]'s decoder",
        True,
        r"\rho",
        (Step("w", w_sol), *steps),
    )


def _nonneg_root(roots: list, what: str) -> sp.Expr:
    keep = [
        r
        for r in roots
        if r.subs(
            {
                c_mmse: sp.Rational(1, 2),
                lam: 1,
                P: sp.Rational(1, 9),
                weight: 1,
                alpha: sp.Rational(1, 2),
            }
        )
        >= 0
    ]
    if len(keep) != 1:
        raise DerivationError(f"expected one root w >= 0 for {what}, got {roots}")
    return keep[0]


@functools.cache
def rho_for_perception_scalar() -> Derivation:
    r"""The ρ whose decoder output has :math:`W_2^2(p_X,p_{\hat X}) = P` (scalar source).

    .. math:: \rho = 1 + \frac{\log\bigl(1-\sqrt{P/\lambda}\bigr)}{\log c}

    For :math:`P \le W_2^2(p_X, p_{X^*}) = \lambda(1-c)^2`. Derived (THEORY.md §3).

    Returns
    -------
    Derivation
        ``expr`` in (P, lambda, t).
    """
    w2sq = _in_cw(score_scaled_point_scalar().perception_value.expr)
    w_sol = _nonneg_root(sp.solve(sp.Eq(w2sq, P), w), "W2² = P")
    return _record("rho_for_perception_scalar", _rho_of(w_sol), (P, lam, t), w_sol)


@functools.cache
def rho_for_tradeoff_scalar() -> Derivation:
    r"""The ρ minimising :math:`D(\rho) + \omega\,W_2^2(\rho)` (scalar source).

    .. math:: \rho^\star = 1 + \frac{\log\frac{c+\omega}{1+\omega}}{\log c}

    Stationarity in w (equivalent to stationarity in ρ, since dw/dρ = -c^{ρ-1} log c ≠ 0);
    the objective is a convex quadratic in w (step ``"d2/dw2"``), so this is the minimiser.
    ω = 0 gives ρ = 2 (MMSE), ω → ∞ gives ρ → 1. Derived (THEORY.md §3).

    Returns
    -------
    Derivation
        ``expr`` in (omega, lambda, t).
    """
    point = score_scaled_point_scalar()
    objective = _in_cw(point.mse.expr) + weight * _in_cw(point.perception_value.expr)
    w_sol = _nonneg_root(sp.solve(sp.diff(objective, w), w), "dJ/dw = 0")
    curvature = sp.factor(sp.diff(objective, w, 2))
    at_zero = prove_equal(_rho_of(w_sol).subs(weight, 0), 2, "omega = 0 gives rho = 2")
    return _record(
        "rho_for_tradeoff_scalar",
        _rho_of(w_sol),
        (weight, lam, t),
        w_sol,
        Step("d2/dw2", curvature),
        at_zero,
    )


@functools.cache
def rho_for_alpha_scalar() -> Derivation:
    r"""The ρ whose gain :math:`c^\rho` equals [FMM21]'s single-α gain :math:`(1-α)c^2 + αc`.

    .. math:: \rho = 1 + \frac{\log\bigl((1-\alpha)c + \alpha\bigr)}{\log c}

    For a scalar (or per eigen-direction) source every α ∈ [0, 1] is reached by some
    ρ ∈ [1, 2]; this is why one ρ_i per direction recovers D(P) exactly. Derived
    (THEORY.md §3).

    Returns
    -------
    Derivation
        ``expr`` in (alpha, lambda, t).
    """
    a_rho = (1 - w) * c_mmse  # c^rho = c^(rho-1) c in (c, w)
    single_alpha = (1 - alpha) * c_mmse**2 + alpha * c_mmse
    w_sol = _nonneg_root(sp.solve(sp.Eq(a_rho, single_alpha), w), "c^rho = single-alpha gain")
    return _record("rho_for_alpha_scalar", _rho_of(w_sol), (alpha, lam, t), w_sol)
