r"""Distortion-perception under AWGN [FMM21], scalar case, derived with sympy.

Observe :math:`Y = X + tN` with :math:`X\sim N(0,\lambda)`, :math:`N\sim N(0,1)` independent,
and estimate with a linear gain :math:`\hat X = aY`. Second moments are taken by expanding the
quadratic in (X, N) (:func:`expect_quadratic`), the MMSE gain by stationarity, the W₂² of the
estimate from :func:`rdptheory.symbolic.perception_measure`, and the constrained optimum from
the binding constraint; every claimed identity is proved (THEORY.md §3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from rdptheory.symbolic._core import (
    Derivation,
    DerivationError,
    P,
    Step,
    _deprecated,
    lam,
    nu,
    prove_equal,
    s,
    s_hat,
    t,
)
from rdptheory.symbolic.perception import perception_measure

__all__ = ["DPAWGNDerivation", "expect_quadratic", "dp_awgn_scalar", "gain", "source", "noise"]

#: the linear estimator's gain, X_hat = gain * Y
gain = sp.Symbol("a", real=True)
#: source and standard-normal noise as random symbols (for :func:`expect_quadratic`)
source = sp.Symbol("X", real=True)
noise = sp.Symbol("N", real=True)

_MOMENTS = {(2, 0): lam, (0, 2): sp.Integer(1), (1, 1): 0, (1, 0): 0, (0, 1): 0, (0, 0): 1}


def expect_quadratic(expr: sp.Expr) -> sp.Expr:
    r"""E[expr] for a polynomial of degree <= 2 in (X, N), X ~ N(0, λ) independent of N ~ N(0, 1).

    .. math:: E[X^2]=\lambda,\quad E[N^2]=1,\quad E[X]=E[N]=E[XN]=0

    Parameters
    ----------
    expr : sympy.Expr
        Polynomial in ``source`` and ``noise`` of total degree at most 2.

    Returns
    -------
    sympy.Expr
    """
    poly = sp.Poly(sp.expand(expr), source, noise)
    if poly.total_degree() > 2:
        raise ValueError(f"expr must have degree <= 2 in (X, N), got {poly.total_degree()}")
    return sp.expand(sum(coef * _MOMENTS[mon] for mon, coef in poly.terms()))


@dataclass(frozen=True)
class DPAWGNDerivation:
    """The scalar D(P) of [FMM21] and its ingredients; each a :class:`Derivation`.

    Field names follow :class:`rdptheory.gaussian.DPAWGN` (the perception value is W₂²).
    ``mmse_gain``, ``mmse``, ``perception_value_mmse``: symbols (lambda, t), lambdified
    arguments (variance, noise_var). ``dp``, ``optimal_gain``, ``alpha``: (P, lambda, t).
    ``mse_of_gain``, ``perception_value_of_gain``: (a, lambda, t).
    """

    mse_of_gain: Derivation
    perception_value_of_gain: Derivation
    mmse_gain: Derivation
    mmse: Derivation
    perception_value_mmse: Derivation
    dp: Derivation
    optimal_gain: Derivation
    alpha: Derivation

    @property
    def w2sq_of_gain(self) -> Derivation:
        """Deprecated alias of ``perception_value_of_gain`` (renamed in 0.2.0)."""
        return _deprecated(self, "w2sq_of_gain", "perception_value_of_gain")

    @property
    def w2sq_mmse(self) -> Derivation:
        """Deprecated alias of ``perception_value_mmse`` (renamed in 0.2.0)."""
        return _deprecated(self, "w2sq_mmse", "perception_value_mmse")


def _record(name: str, expr: sp.Expr, symbols: tuple, lhs: str, *steps: Step) -> Derivation:
    return Derivation(
        name,
        expr,
        symbols,
        ("lambda > 0", "t > 0 (noise_var = t**2)", "P >= 0"),
        "[FMM21] Thm 4, scalar case; derived with sympy (THEORY.md §3)",
        True,
        lhs,
        steps,
    )


def _binding_gain(mse: sp.Expr, w2sq: sp.Expr) -> tuple[sp.Expr, Step]:
    """Gain where W2²(a) = P binds below the source std (a sqrt(lambda+t²) <= sqrt(lambda)),
    and the KKT multiplier of that constraint (mse'(a) + nu W2²'(a) = 0)."""
    roots = sp.solve(sp.Eq(w2sq, P), gain)
    low = [r for r in roots if sp.simplify(r * sp.sqrt(lam + t**2) - sp.sqrt(lam)).is_nonpositive]
    if len(low) != 1:
        raise DerivationError(f"expected one binding gain below the OT gain, got {roots}")
    multiplier = sp.factor(-sp.diff(mse, gain) / sp.diff(w2sq, gain)).subs(gain, low[0])
    return low[0], Step("nu (W2² constraint binding)", sp.Eq(nu, sp.simplify(multiplier)))


@functools.cache
def dp_awgn_scalar() -> DPAWGNDerivation:
    r"""D(P) of estimating a scalar Gaussian from its AWGN observation [FMM21].

    .. math::

        a^* = \frac{\lambda}{\lambda+t^2},\quad D^* = \frac{\lambda t^2}{\lambda+t^2},\quad
        W_2^{*2} = \lambda(1-c)^2,\quad D(P) = D^* + \bigl((W_2^* - \sqrt P)_+\bigr)^2,\quad
        \alpha = \Bigl(1-\frac{\sqrt P}{W_2^*}\Bigr)_+

    with :math:`c=\sqrt{\lambda/(\lambda+t^2)}`: minimise :math:`E(X-aY)^2` subject to
    :math:`W_2^2(p_X, p_{aY}) \le P`; the optimal gain is the single-α interpolation
    :math:`a = (1-\alpha)c^2 + \alpha c` between the MMSE gain and the transport gain.
    Thm 4 of Freirich, Michaeli & Meir (NeurIPS 2021); this scalar derivation is ours.

    Returns
    -------
    DPAWGNDerivation
        Derivations in lambda (source variance), t (noise std) and P (W₂², squared units).

    Examples
    --------
    >>> d = dp_awgn_scalar()
    >>> d.mmse.expr
    lambda*t**2/(lambda + t**2)
    >>> round(d.dp.lambdify()(0.0, 1.0, 1.0), 12)  # 2 - sqrt(2): D(0) at lambda = t² = 1
    0.585786437627
    """
    mse = expect_quadratic((source - gain * (source + t * noise)) ** 2)
    w2sq = perception_measure("w2sq").expr.subs(
        {s: sp.sqrt(lam), s_hat: gain * sp.sqrt(lam + t**2)}
    )
    a_mmse = sp.solve(sp.diff(mse, gain), gain)[0]
    c_mmse = sp.sqrt(lam / (lam + t**2))
    d_star = sp.factor(mse.subs(gain, a_mmse))
    w2sq_star = w2sq.subs(gain, a_mmse)
    w2sq_proof = prove_equal(w2sq_star, lam * (1 - c_mmse) ** 2, "W2²(X*) = lambda (1-c)²")
    a_bind, kkt = _binding_gain(mse, w2sq)
    w2_star = sp.sqrt(lam) * (1 - c_mmse)
    dp_proof = prove_equal(mse.subs(gain, a_bind), d_star + (w2_star - sp.sqrt(P)) ** 2, "D(P)")
    alpha_sym = sp.Symbol("alpha", real=True)
    alpha = sp.solve(sp.Eq((1 - alpha_sym) * c_mmse**2 + alpha_sym * c_mmse, a_bind), alpha_sym)[0]
    alpha_proof = prove_equal(alpha, 1 - sp.sqrt(P) / w2_star, "alpha = 1 - sqrt(P)/W2*")
    active = P < lam * (1 - c_mmse) ** 2
    args3 = (P, lam, t)
    return DPAWGNDerivation(
        _record("mse_of_gain", mse, (gain, lam, t), r"E(X - aY)^2"),
        _record("w2sq_of_gain", w2sq, (gain, lam, t), r"W_2^2(p_X, p_{aY})"),
        _record("mmse_gain", a_mmse, (lam, t), r"a^*"),
        _record("mmse", d_star, (lam, t), r"D^*"),
        _record("w2sq_mmse", lam * (1 - c_mmse) ** 2, (lam, t), r"W_2^2(p_X, p_{X^*})", w2sq_proof),
        _record(
            "dp_awgn_scalar",
            sp.Piecewise((d_star + (w2_star - sp.sqrt(P)) ** 2, active), (d_star, True)),
            args3,
            r"D(P)",
            kkt,
            dp_proof,
        ),
        _record("optimal_gain", sp.Piecewise((a_bind, active), (a_mmse, True)), args3, r"a(P)"),
        _record(
            "alpha",
            sp.Piecewise((1 - sp.sqrt(P) / w2_star, active), (0, True)),
            args3,
            r"\alpha(P)",
            alpha_proof,
        ),
    )
