"""Vector Gaussian R(D, P) with reverse-KL perception, KL(p_X̂ ‖ p_X) ≤ P (private).

Our derivation (not stated in [SSK24], whose setting we could not check against; THEORY.md
§2 style). Source X ~ N(0, diag(λ)), λ_i > 0 (zero-variance components are dropped by the
caller: X_i ≡ 0 forces X̂_i ≡ 0 for a finite KL).

**Reduction to per-component Gaussian channels.** For any channel, replace the joint law of
X̂ by the product of its marginals, each realised by a per-component channel p(x̂_i | x_i):
the rate does not increase (I(X; X̂) ≥ Σ I(X_i; X̂_i) for independent X_i), the MSE is
unchanged, and since p_X is a product,
KL(q ‖ ⊗p_i) = Σ KL(q_i ‖ p_i) + (Σ h(q_i) − h(q)) ≥ Σ KL(q_i ‖ p_i). Per component, a
jointly Gaussian (X_i, X̂_i) is optimal (THEORY.md §1: at fixed second moments the Gaussian
minimises the rate bound and, maximising h(X̂_i), the reverse KL). With correlation c_i and
X̂_i's std ŝ_i = u_i √λ_i:

    R_i = −½ log(1 − c_i²),   D_i = λ_i (1 + u_i² − 2 c_i u_i),   P_i = ½ (u_i² − 1 − log u_i²).

The problem is convex in (u_i², c_i u_i) (R as for W₂², P_i convex in u_i²).

**KKT.** With multipliers μ (for D) and ν (for P), κ_i = 2μλ_i, stationarity of
R_i + μ D_i + ν P_i in c_i and u_i gives

    c_i / (1 − c_i²) = κ_i u_i,          κ_i (u_i − c_i) = ν (1 − u_i²) / u_i.

The first gives c_i = 2x/(1 + √(1 + 4x²)), x = κ_i u_i (and 1 − c_i² = c_i/x exactly);
the second is then a root in u_i ∈ (0, 1) (f(0+) = −∞, f(1) = κ_i(1 − c_i) > 0), found by
bracketed Newton. With μ > 0 every component carries rate (c_i = 0 would need u_i = 0, an
infinite KL). D_tot falls as μ grows (from 2L at μ → 0 to 0) and P_tot falls as ν grows
(to 0 at ν → ∞): μ(ν) and then ν are found by Brent's method in log space. Regimes:

- R = 0 iff D ≥ 2L, or D > L and P ≥ Σ ½(u_i² − 1 − log u_i²) with u_i² = 1/(1 + 2ηλ_i),
  Σ λ_i/(1 + 2ηλ_i) = D − L (the most realistic independent reconstruction);
- water-filling (perception inactive) iff every λ_i > θ and
  P ≥ Σ ½(−θ/λ_i − log(1 − θ/λ_i)) (a component under water has ŝ_i = 0: infinite KL);
- P = 0 forces ŝ_i = σ_i, the same problem as for W₂² (perfect perception);
- otherwise both constraints bind.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

from rdptheory.gaussian._lambert import expm1mx

_MAX_NEWTON = 200


class KLComponents(NamedTuple):
    """Per-component solution at (μ, ν): u = ŝ/σ, c, 1 − c², and R_i, D_i, P_i."""

    u: np.ndarray
    c: np.ndarray
    one_minus_c2: np.ndarray
    rates_nats: np.ndarray
    mse: np.ndarray
    perception: np.ndarray


def correlation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(c, 1 − c²) with c/(1 − c²) = x >= 0, both without cancellation."""
    c = 2.0 * x / (1.0 + np.sqrt(1.0 + 4.0 * x * x))
    with np.errstate(divide="ignore", invalid="ignore"):
        omc = np.where(x > 0, c / np.where(x > 0, x, 1.0), 1.0)
    return c, omc


def kl_reverse_perception(u: np.ndarray) -> np.ndarray:
    """½(u² − 1 − log u²) = KL(N(0, u²σ²) ‖ N(0, σ²)), accurate near u = 1."""
    return 0.5 * expm1mx(2.0 * np.log(u))


def _f(u: np.ndarray, kappa: np.ndarray, nu: float) -> tuple[np.ndarray, np.ndarray]:
    """f(u) = κ(u − c(κu)) − ν(1 − u²)/u and f'(u) (c' = (1 − c²)²/(1 + c²))."""
    c, omc = correlation(kappa * u)
    f = kappa * (u - c) - nu * (1.0 - u * u) / u
    df = kappa * (1.0 - kappa * omc * omc / (1.0 + c * c)) + nu * (1.0 / (u * u) + 1.0)
    return f, df


def solve_u(kappa: np.ndarray, nu: float) -> np.ndarray:
    """The root u ∈ (0, 1) of f per component (bracketed Newton, bisection fallback)."""
    lo, hi = np.zeros_like(kappa), np.ones_like(kappa)
    u = np.full_like(kappa, 0.5)
    for _ in range(_MAX_NEWTON):
        f, df = _f(u, kappa, nu)
        lo, hi = np.where(f < 0, u, lo), np.where(f > 0, u, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = u - f / df
        ok = np.isfinite(newton) & (newton > lo) & (newton < hi)
        new = np.where(ok, newton, 0.5 * (lo + hi))
        if np.all((np.abs(new - u) <= 4e-16 * new) | (f == 0)):
            return new
        u = new
    return u


def components(lam: np.ndarray, mu: float, nu: float) -> KLComponents:
    """The per-component optimum at the multipliers (μ, ν), ν > 0."""
    kappa = 2.0 * mu * lam
    u = solve_u(kappa, nu)
    c, omc = correlation(kappa * u)
    rates = -0.5 * np.log(omc)
    # D_i = λ((1 − u)² + 2u(1 − c)), 1 − c = (1 − c²)/(1 + c): no cancellation near c = 1
    mse = lam * ((1.0 - u) ** 2 + 2.0 * u * omc / (1.0 + c))
    return KLComponents(u, c, omc, rates, mse, kl_reverse_perception(u))


def stationarity(lam: np.ndarray, mu: float, nu: float, comp: KLComponents) -> np.ndarray:
    """Relative residuals of both stationarity conditions, per component (max of the two)."""
    kappa = 2.0 * mu * lam
    u, c = comp.u, comp.c
    r1 = (c - kappa * u * comp.one_minus_c2) / np.maximum(c, kappa * u * comp.one_minus_c2)
    lhs, rhs = kappa * u * (u - c), nu * (1.0 - u * u)
    r2 = (lhs - rhs) / np.maximum(np.maximum(np.abs(lhs), np.abs(rhs)), 1e-300)
    return np.maximum(np.abs(r1), np.abs(r2))


def _log_root(g, x0: float) -> float:  # type: ignore[no-untyped-def]
    """Root of a decreasing g(x) in x = log(multiplier): bracket by doubling steps, then Brent."""
    lo = hi = x0
    g_lo = g_hi = g(x0)
    step = 1.0
    while g_lo < 0:
        lo, step = lo - step, 2.0 * step
        g_lo = g(lo)
        if step > 4096:
            raise FloatingPointError("multiplier bracket not found")
    step = 1.0
    while g_hi > 0:
        hi, step = hi + step, 2.0 * step
        g_hi = g(hi)
        if step > 4096:
            raise FloatingPointError("multiplier bracket not found")
    if g_lo == 0:
        return lo
    if g_hi == 0:
        return hi
    return float(brentq(g, lo, hi, xtol=1e-15, rtol=8.9e-16, maxiter=500))


def mu_for_distortion(D: float, lam: np.ndarray, nu: float, x0: float) -> float:
    """log μ with D_tot(μ, ν) = D (D_tot decreases in μ)."""
    return _log_root(lambda x: float(np.log(components(lam, np.exp(x), nu).mse.sum() / D)), x0)


def solve_both_active(D: float, P: float, lam: np.ndarray, mu0: float) -> tuple[float, float]:
    """(μ, ν) with D_tot = D and P_tot = P (both constraints bind)."""
    warm = [float(np.log(mu0))]

    def g(y: float) -> float:  # log P_tot(ν) − log P at ν = e^y, μ solving D_tot = D
        warm[0] = mu_for_distortion(D, lam, float(np.exp(y)), warm[0])
        p_tot = components(lam, float(np.exp(warm[0])), float(np.exp(y))).perception.sum()
        return float(np.log(p_tot / P))

    y = _log_root(g, float(np.log(mu0)))
    nu = float(np.exp(y))
    return float(np.exp(mu_for_distortion(D, lam, nu, warm[0]))), nu


def zero_rate_perception(D: float, lam: np.ndarray) -> tuple[float, np.ndarray]:
    """(smallest P_tot at rate 0, its u) for L < D < 2L: u_i² = 1/(1 + 2ηλ_i)."""
    L = float(lam.sum())

    def excess(x: float) -> float:
        return float(np.log(np.sum(lam / (1.0 + 2.0 * np.exp(x) * lam)) / (D - L)))

    eta = float(np.exp(_log_root(excess, 0.0)))
    u = 1.0 / np.sqrt(1.0 + 2.0 * eta * lam)
    return float(kl_reverse_perception(u).sum()), u


def water_filling_perception(theta: float, lam: np.ndarray) -> float:
    """Σ ½(−θ/λ_i − log(1 − θ/λ_i)) (inf if a component is under water, λ_i <= θ)."""
    r = theta / lam
    if np.any(r >= 1.0):
        return float("inf")
    return float(np.sum(0.5 * (-r - np.log1p(-r))))
