r"""The scheme "transmit Y = X + tN, decode with the score-scaled PF-ODE": its operating point
and the proof that, for a scalar source, it lies on R(D, P) and on D(P) for every 1 <= ρ <= 2.

The operating point is assembled from the other derivations: the map of
:func:`~rdptheory.symbolic.pf_ode_map`, second moments by :func:`~rdptheory.symbolic.awgn.
expect_quadratic`, W₂² by :func:`~rdptheory.symbolic.perception_measure`, the rate
:math:`I(X;Y) = h(Y) - h(tN)` by integrating Gaussian entropies.

**Method of the optimality proof: symbolic simplification, in general** (not sampled). Write
:math:`c=\sqrt{\lambda/(\lambda+t^2)}\in(0,1)` and :math:`w = 1-c^{\rho-1}`, so
:math:`t^2=\lambda(1-c^2)/c^2` and :math:`c^{a\rho+b} = (1-w)^a c^{a+b}`; every quantity
becomes rational in (λ, c, w) apart from :math:`\sqrt\lambda`, and each identity reduces to 0
by ``cancel``. ρ ∈ [1, 2] is exactly :math:`0 \le w \le 1-c`, the both-active regime.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from rdptheory.symbolic._core import (
    D,
    Derivation,
    P,
    Step,
    _deprecated,
    lam,
    prove_equal,
    prove_zero,
    rho,
    s,
    s_hat,
    s_lo,
    t,
    y,
)
from rdptheory.symbolic.awgn import dp_awgn_scalar, expect_quadratic, noise, source
from rdptheory.symbolic.perception import perception_measure
from rdptheory.symbolic.pf_ode import pf_ode_map
from rdptheory.symbolic.rdp import rdp_w2sq_kkt

__all__ = [
    "SchemePointDerivation",
    "SchemeOptimality",
    "gaussian_entropy",
    "score_scaled_point_scalar",
    "scheme_optimality",
]

_x = sp.Symbol("x", real=True)
_var = sp.Symbol("v", positive=True)
#: c = sqrt(lambda/(lambda+t²)) and w = 1 - c^(rho-1), the proof's coordinates
c_mmse = sp.Symbol("c", positive=True)
w = sp.Symbol("w", nonnegative=True)


@functools.cache
def gaussian_entropy() -> Derivation:
    r"""Differential entropy of :math:`N(0, v)`, by integrating :math:`-p\log p`, in nats.

    .. math:: h = \tfrac12\log(2\pi e v)

    Returns
    -------
    Derivation
        ``expr`` in (v,).
    """
    pdf = sp.exp(-(_x**2) / (2 * _var)) / sp.sqrt(2 * sp.pi * _var)
    integrand = sp.expand(-sp.expand_log(sp.log(pdf), force=True) * pdf)
    expr = sp.simplify(sp.integrate(integrand, (_x, -sp.oo, sp.oo)))
    return Derivation(
        "gaussian_entropy", expr, (_var,), ("v > 0",), "[Cover & Thomas]", False, "h", unit="nats"
    )


@dataclass(frozen=True)
class SchemePointDerivation:
    """(rate_nats, mse, perception_value) of the scheme for a scalar source.

    Field names follow :class:`rdptheory.gaussian.ScoreScaledPoint`; Derivations in the
    symbols (lambda, t, rho), lambdified arguments (variance, noise_var, rho).
    ``rate_nats`` is :math:`I(X;Y)` in nats (ideal channel simulation, before coding
    overhead); ``perception_value`` is W₂².
    """

    rate_nats: Derivation
    mse: Derivation
    perception_value: Derivation

    @property
    def rate(self) -> Derivation:
        """Deprecated alias of ``rate_nats`` (renamed in 0.2.0)."""
        return _deprecated(self, "rate", "rate_nats")

    @property
    def w2sq(self) -> Derivation:
        """Deprecated alias of ``perception_value`` (renamed in 0.2.0)."""
        return _deprecated(self, "w2sq", "perception_value")


def _point(name: str, expr: sp.Expr, lhs: str, *steps: Step, unit: str = "") -> Derivation:
    return Derivation(
        name,
        expr,
        (lam, t, rho),
        ("lambda > 0", "t > 0 (noise_var = t**2)", "rho >= 0"),
        "[WBZ26] scheme; operating point derived (THEORY.md §3)",
        True,
        lhs,
        steps,
        unit=unit,
    )


@functools.cache
def score_scaled_point_scalar() -> SchemePointDerivation:
    r"""Operating point of AWGN transmission + score-scaled PF-ODE decoding, scalar source.

    .. math::

        R = \tfrac12\log\Bigl(1+\frac{\lambda}{t^2}\Bigr),\quad
        D = \lambda - 2a\lambda + a^2(\lambda+t^2),\quad
        W_2^2 = \lambda\bigl(1-c^{\rho-1}\bigr)^2,\quad a = c^\rho

    with :math:`c=\sqrt{\lambda/(\lambda+t^2)}`. Derived (THEORY.md §3), not stated in [WBZ26].

    Returns
    -------
    SchemePointDerivation
    """
    h = gaussian_entropy().expr
    rate = sp.expand_log(h.subs(_var, lam + t**2) - h.subs(_var, t**2), force=True)
    rate_proof = prove_equal(sp.exp(2 * rate), 1 + lam / t**2, "I(X;Y) = log(1 + lambda/t²)/2")
    gain = pf_ode_map("ve").expr / y
    mse = expect_quadratic((source - gain * (source + t * noise)) ** 2)
    w2sq = perception_measure("w2sq").expr.subs(
        {s: sp.sqrt(lam), s_hat: gain * sp.sqrt(lam + t**2)}
    )
    c = sp.sqrt(lam / (lam + t**2))
    w2sq_closed = lam * (1 - c ** (rho - 1)) ** 2
    w2sq_proof = prove_equal(_in_cw(w2sq), _in_cw(w2sq_closed), "W2² = lambda (1 - c^(rho-1))²")
    return SchemePointDerivation(
        _point(
            "scheme_rate", sp.log(1 + lam / t**2) / 2, "R", Step("h(Y) - h(tN)", rate), rate_proof,
            unit="nats",
        ),
        _point("scheme_mse", mse, "D"),
        _point("scheme_w2sq", w2sq_closed, "W_2^2", Step("from the map", w2sq), w2sq_proof),
    )


def _in_cw(expr: sp.Expr) -> sp.Expr:
    """Rewrite in (lambda, c, w): t² = lambda(1-c²)/c², c^(a rho + b) = (1-w)^a c^(a+b)."""
    expr = expr.subs(t, sp.sqrt(lam) * sp.sqrt(1 - c_mmse**2) / c_mmse)
    expr = expr.replace(
        lambda p: p.is_Pow and not p.exp.is_Integer, lambda p: sp.Pow(sp.factor(p.base), p.exp)
    )
    expr = sp.powdenest(sp.expand_power_base(expr, force=True), force=True)

    def split(p: sp.Pow) -> sp.Expr:
        a = p.exp.coeff(rho)
        return (1 - w) ** a * c_mmse ** (a + sp.expand(p.exp - a * rho))

    expr = expr.replace(lambda p: p.is_Pow and p.base == c_mmse and p.exp.has(rho), split)
    # sqrt(lambda w²) = sqrt(lambda) w needs w >= 0, i.e. rho >= 1 (declared on the symbol)
    return sp.factor(expr)


@dataclass(frozen=True)
class SchemeOptimality:
    """Proof that the scheme's scalar points lie on R(D, P) (w2sq) and D(P) for 1 <= rho <= 2.

    ``rdp_gap`` = R_scheme - R(D_scheme, P_scheme) and ``dp_gap`` = D_scheme - D(P_scheme),
    both in (lambda, t, rho), both proved identically 0 there; ``method`` says how;
    ``conditions`` records the factorised regime conditions in (lambda, c, w).
    """

    rdp_gap: Derivation
    dp_gap: Derivation
    method: str
    conditions: tuple[Step, ...]


@functools.cache
def scheme_optimality() -> SchemeOptimality:
    r"""Every scalar operating point of the scheme with 1 <= ρ <= 2 is optimal.

    .. math::

        R_{scheme} = R(D_{scheme}, W^2_{2,scheme}),\qquad D_{scheme} = D(W^2_{2,scheme})

    against [ZQCK21] Thm 2 (the both-active branch of :func:`rdp_w2sq_kkt`) and [FMM21]'s
    D(P) (:func:`dp_awgn_scalar`). Derived (THEORY.md §3): proved by simplification in the
    coordinates (λ, c, w) of the module docstring, for all λ > 0, t > 0, 1 <= ρ <= 2.
    Also recorded in ``conditions``: the regime inequalities, and that along 1 <= ρ <= 2 the
    MSE falls and W₂² rises (signs of dD/dw and dW₂²/dw; w increases with ρ).

    Returns
    -------
    SchemeOptimality

    Examples
    --------
    >>> scheme_optimality().method
    'symbolic simplification in (lambda, c, w), general for 1 <= rho <= 2'
    """
    point = score_scaled_point_scalar()
    d_sch, p_sch, r_sch = point.mse.expr, point.perception_value.expr, point.rate_nats.expr
    at_point = {D: d_sch, s: sp.sqrt(lam), s_lo: sp.sqrt(lam) - sp.sqrt(p_sch)}
    core = rdp_w2sq_kkt().expr
    rdp_proof = prove_zero(
        _in_cw(sp.exp(2 * core).subs(at_point)) - _in_cw(sp.exp(2 * r_sch)), "R_scheme = R(D, P)"
    )
    dp_branch = dp_awgn_scalar().dp.expr.args[0][0]  # the active branch, P < W2²(X*)
    dp_proof = prove_zero(_in_cw(dp_branch.subs(P, p_sch) - d_sch), "D_scheme = D(P)")
    d_cw, slo_cw = _in_cw(d_sch), sp.sqrt(lam) * (1 - w)
    conditions = (
        Step("s_lo² - (lambda - D) (>= 0: perception binds)", sp.factor(slo_cw**2 - lam + d_cw)),
        Step("lambda + s_lo² - D (> 0: positive rate)", sp.factor(lam + slo_cw**2 - d_cw)),
        Step("W2²(X*) - P (>= 0: D(P) active branch)", sp.factor(lam * ((1 - c_mmse) ** 2 - w**2))),
        Step("w in terms of rho", sp.Eq(w, 1 - c_mmse ** (rho - 1))),
        # w increases with rho (c < 1): MSE falls and W2² rises along 1 <= rho <= 2
        Step("dD/dw (<= 0 for w <= 1 - c)", sp.factor(sp.diff(d_cw, w))),
        Step("dW2²/dw (>= 0)", sp.factor(sp.diff(_in_cw(p_sch), w))),
    )
    method = "symbolic simplification in (lambda, c, w), general for 1 <= rho <= 2"
    rdp_gap = _point(
        "scheme_rdp_gap",
        r_sch - core.subs(at_point),
        r"R - R(D, P)",
        Step("exp(2 R(D,P)) - exp(2 R) in (lambda, c, w)", rdp_proof),
        *conditions,
    )
    dp_gap = _point(
        "scheme_dp_gap",
        d_sch - dp_branch.subs(P, p_sch),
        r"D - D(P)",
        Step("D(P) - D in (lambda, c, w)", dp_proof),
        *conditions,
    )
    return SchemeOptimality(rdp_gap, dp_gap, method, conditions)
