r"""The score-scaled probability-flow ODE on a Gaussian source, solved with ``sympy.dsolve``.

Forward SDE :math:`dX = f\,d\tau + g\,dW`; the decoder integrates
:math:`dX = [f - \tfrac12\rho g^2\nabla\log p_\tau(X)]\,d\tau` from the received noise level
down to 0 ([SSDK21], score scaled by ρ as in [WBZ26], THEORY.md §3). For
:math:`X\sim N(0,\lambda)` the marginal is Gaussian, its variance solves the moment ODE
:math:`dv/d\tau = 2(\partial f/\partial x)v + g^2`, and the score is :math:`-x/v`.

- VE: f = 0, g² = dσ²/dτ. Dividing by dσ/dτ removes the schedule; solve in σ.
- VP: f = -βx/2, g² = β, :math:`d\bar\alpha/d\tau = -\beta\bar\alpha`. Dividing by
  dᾱ/dτ removes β; solve in ᾱ, start at :math:`z = \sqrt{\bar\alpha_T}\,y` with
  :math:`t^2 = (1-\bar\alpha_T)/\bar\alpha_T`, end at ᾱ = 1 where x = z.

Both give :math:`\hat X = (\lambda/(\lambda+t^2))^{\rho/2}\,Y` (derived, THEORY.md §3).
"""

from __future__ import annotations

import functools
from typing import Literal

import sympy as sp

from rdptheory._validation import check_choice
from rdptheory.symbolic._core import (
    Derivation,
    DerivationError,
    Step,
    alpha_bar,
    lam,
    prove_equal,
    prove_zero,
    rho,
    sigma,
    t,
    tau,
    y,
)
from rdptheory.symbolic.awgn import dp_awgn_scalar

__all__ = ["pf_ode_map", "PARAMETERISATIONS"]

Parameterisation = Literal["ve", "vp"]
PARAMETERISATIONS: tuple[str, ...] = ("ve", "vp")

_CANONICAL = y * (lam / (lam + t**2)) ** (rho / 2)
_x = sp.Function("x")
_v = sp.Function("v")
_beta = sp.Symbol("beta", positive=True)
_alpha_bar_T = sp.Symbol("alphabar_T", positive=True)


def _check_map(result: sp.Expr, what: str) -> Step:
    """Prove ``result == _CANONICAL`` by comparing logarithms (all factors positive)."""
    prove_zero(sp.expand_log(sp.log(result / _CANONICAL), force=True), what)
    return Step(what, sp.Eq(result, _CANONICAL, evaluate=False))


def _ve() -> tuple[Step, ...]:
    """VE: variance ODE, schedule-free ODE in sigma, dsolve from sigma = t down to 0."""
    sig_tau = sp.Function("sigma")(tau)
    g2 = sp.diff(sig_tau**2, tau)
    var = sp.dsolve(sp.Eq(_v(sigma).diff(sigma), 2 * sigma), _v(sigma), ics={_v(0): lam}).rhs
    drift_tau = -rho / 2 * g2 * (-_x(sigma) / var.subs(sigma, sig_tau))
    drift_sigma = sp.simplify((drift_tau / sp.diff(sig_tau, tau)).subs(sig_tau, sigma))
    if drift_sigma.has(sp.Derivative):
        raise DerivationError(f"VE drift still depends on the schedule: {drift_sigma}")
    ode = sp.Eq(_x(sigma).diff(sigma), drift_sigma)
    solution = sp.dsolve(ode, _x(sigma), ics={_x(t): y}).rhs
    return (
        Step("marginal variance v(sigma)", var),
        Step("ODE in sigma", ode),
        Step("solution x(sigma)", solution),
        _check_map(solution.subs(sigma, 0), "x(0) = (lambda/(lambda+t²))^(rho/2) y"),
    )


def _vp_ode(var: sp.Expr) -> sp.Eq:
    """dz/dalphabar, from dz/dtau = -beta z/2 + rho beta z/(2v) and dalphabar/dtau = -beta ab."""
    z = _x(alpha_bar)
    drift_tau = -_beta / 2 * z - rho / 2 * _beta * (-z / var)
    drift = sp.cancel(drift_tau / (-_beta * alpha_bar))
    if drift.has(_beta):
        raise DerivationError(f"VP drift still depends on beta: {drift}")
    return sp.Eq(z.diff(alpha_bar), drift)


def _vp() -> tuple[Step, ...]:
    """VP: variance, beta-free ODE in alphabar, dsolve, rescale, and a check for any lambda."""
    v_ode = sp.Eq(
        _v(alpha_bar).diff(alpha_bar),
        sp.cancel((-_beta * _v(alpha_bar) + _beta) / (-_beta * alpha_bar)),
    )
    var = sp.dsolve(v_ode, _v(alpha_bar), ics={_v(1): lam}).rhs
    ode = _vp_ode(var)
    # dsolve's logs take lambda - 1 > 0; solve there, then verify the real form for any lambda
    kappa = sp.Symbol("kappa", positive=True)
    ode_k = ode.subs(lam, 1 + kappa)
    start = {_x(_alpha_bar_T): sp.sqrt(_alpha_bar_T) * y}
    raw = sp.dsolve(ode_k, _x(alpha_bar), ics=start).rhs
    v_t = var.subs(alpha_bar, _alpha_bar_T)
    candidate = y * sp.sqrt(alpha_bar) * (_alpha_bar_T * var / (alpha_bar * v_t)) ** (rho / 2)
    prove_zero(sp.expand_log(sp.log(raw / candidate.subs(lam, 1 + kappa)), force=True), "dsolve")
    residual = sp.checkodesol(ode, sp.Eq(_x(alpha_bar), candidate))
    if residual[0] is not True:
        raise DerivationError(f"VP solution fails the ODE: {residual}")
    at_t = sp.solve(sp.Eq(t**2, (1 - _alpha_bar_T) / _alpha_bar_T), _alpha_bar_T)[0]
    x_hat = candidate.subs(alpha_bar, 1).subs(_alpha_bar_T, at_t) / sp.sqrt(1)
    return (
        Step("marginal variance v(alphabar)", var),
        Step("ODE in alphabar", ode),
        Step("solution z(alphabar)", candidate),
        Step("alphabar_T", sp.Eq(_alpha_bar_T, at_t)),
        _check_map(x_hat, "x(0) = z(1) = (lambda/(lambda+t²))^(rho/2) y"),
        _vp_any_schedule(candidate),
    )


def _vp_any_schedule(candidate: sp.Expr) -> Step:
    """The VP solution satisfies the tau-ODE for an arbitrary schedule beta(tau)."""
    u = sp.Symbol("u", nonnegative=True)
    beta_tau = sp.Function("beta")
    ab_tau = sp.exp(-sp.Integral(beta_tau(u), (u, 0, tau)))
    z = candidate.subs(alpha_bar, ab_tau)
    var = 1 + (lam - 1) * ab_tau
    residual = sp.diff(z, tau) - (-beta_tau(tau) / 2 * z + rho * beta_tau(tau) / 2 * z / var)
    return Step("residual for any beta(tau)", prove_zero(sp.simplify(residual / z), "VP any beta"))


@functools.cache
def pf_ode_map(parameterisation: Parameterisation = "ve") -> Derivation:
    r"""End point of the score-scaled PF-ODE for a scalar Gaussian source.

    .. math::

        \hat X = \Bigl(\frac{\lambda}{\lambda+t^2}\Bigr)^{\rho/2} Y

    Solved with ``dsolve`` in the VE (f = 0, g² = dσ²/dτ) or VP (f = -βx/2, g² = β) time
    parameterisation; both give this map for every schedule. The steps also prove that
    ρ = 1 preserves the variance (:math:`\hat X \sim N(0, \lambda)`) and that ρ = 2 gives the
    MMSE gain λ/(λ+t²). Derived (THEORY.md §3), not stated in [WBZ26]; PF-ODE of [SSDK21].

    Parameters
    ----------
    parameterisation : {"ve", "vp"}

    Returns
    -------
    Derivation
        ``expr`` in (y, lambda, t, rho): y the received Y = X + tN (noise_var = t²).

    Examples
    --------
    >>> pf_ode_map("vp").expr
    y*(lambda/(lambda + t**2))**(rho/2)
    >>> pf_ode_map("ve").expr == pf_ode_map("vp").expr
    True
    """
    name = check_choice(parameterisation, "parameterisation", PARAMETERISATIONS)
    steps = _ve() if name == "ve" else _vp()
    gain = _CANONICAL / y
    var_rho1 = (gain**2 * (lam + t**2)).subs(rho, 1)
    steps += (
        prove_equal(var_rho1, lam, "Var(X_hat) at rho = 1 equals lambda"),
        prove_equal(gain.subs(rho, 2), dp_awgn_scalar().mmse_gain.expr, "rho = 2: MMSE gain"),
    )
    return Derivation(
        f"pf_ode_map_{name}",
        _CANONICAL,
        (y, lam, t, rho),
        ("lambda > 0", "t > 0 (noise_var = t**2)", "rho >= 0"),
        "[SSDK21] PF-ODE, score scaled by rho [WBZ26]; derived (THEORY.md §3)",
        True,
        r"\hat X",
        steps,
    )
