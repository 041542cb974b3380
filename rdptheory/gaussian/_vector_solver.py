"""Numerical core of the vector R(D, P) / D(R, P) problems (THEORY.md §2); private.

Derived (THEORY.md §2), not stated in the paper. Per component i (σ_i = √λ_i) the optimal
channel is jointly Gaussian with correlation c_i and reconstruction std ŝ_i = σ_i u_i. With
multipliers μ (for D) and ν (for P) write γ = 2μ and a = μ/(μ + ν) ∈ [0, 1]. Stationarity of
the per-component Lagrangian −½log(1 − c²) + μ(λ + ŝ² − 2cσŝ) + ν(σ − ŝ)² gives, with
ε = 1 − c (THEORY.md's c = 1 − z(1 + ν/μ), z = 1 − u = aε):

    h(ε) = γλ·ε(2 − ε)(1 − aε) + ε − 1 = 0,          u = 1 − aε,
    D_i = λ ε (2 − a(2 − a) ε),   P_i = λ a² ε²,   R_i = −½ log(ε(2 − ε)).

h is concave on [0, 1] with h(0) = −1 < 0 ≤ h(1) = γλ(1 − a), so for a < 1 it has exactly
one root in (0, 1) and Newton's method started from 0 converges to it monotonically (the
tangent of a concave function lies above it); near ε = 1, where the terms of h cancel, the
root is polished in c = 1 − ε. a = 1 is water-filling and a = 0 is P = 0 (closed forms).

For fixed a, D_tot is decreasing and R_tot increasing in γ: a safeguarded Newton on
log D_tot (or log R_tot) in log γ solves the constraint. The outer unknown a ∈ (0, a_hi) is
found by Brent's method on log P_tot = log P in log a; every root is a KKT point, hence
optimal (the problem is convex in (ŝ², cσŝ)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

_EPS_TOL = 4e-16
_MAX_NEWTON = 200
_LOG_GAMMA_MAX = 700.0
_MAX_LOG_STEP = 4.0


class Family(NamedTuple):
    """Per-component solution at the multipliers (γ, a); all arrays (n,)."""

    gamma: float
    a: float
    eps: np.ndarray
    c: np.ndarray  # 1 − ε, carried separately: accurate where ε is close to 1
    deps_dlog_gamma: np.ndarray


def solve_eps(kappa: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """(ε, c = 1 − ε) at the root ε ∈ (0, 1] of h(ε) = κ ε(2 − ε)(1 − aε) + ε − 1 (κ = γλ)."""
    if a >= 1.0:
        # water-filling: (1 − ε)(κ ε(2 − ε) − 1) = 0; 1 − c² = 1/κ on active components
        inv = 1.0 / np.maximum(kappa, 1.0)
        eps = np.where(kappa > 1.0, inv / (1.0 + np.sqrt(1.0 - inv)), 1.0)
        return eps, np.sqrt(np.maximum(kappa - 1.0, 0.0) / kappa)
    if a <= 0.0:
        # P = 0: c/(1 − c²) = κ, i.e. κε² − (2κ + 1)ε + 1 = 0; rationalised roots
        root = np.hypot(2.0 * kappa, 1.0)  # √(4κ² + 1) without overflow at huge κ
        return 2.0 / (2.0 * kappa + 1.0 + root), 2.0 * kappa / (1.0 + root)
    eps = _newton_eps(kappa, a)
    c = 1.0 - eps
    # Near ε = 1 the terms of h are O(1) but cancel to O(c³); polish c there in the
    # well-conditioned form H(c) = h(1 − c) = κδ + (κa − 1)c − κδc² − κac³, δ = 1 − a.
    near_one = np.flatnonzero(eps > 0.5)
    if near_one.size:
        c[near_one] = _newton_c(kappa[near_one], a, c[near_one])
        eps[near_one] = 1.0 - c[near_one]
    return eps, c


def _newton_eps(kappa: np.ndarray, a: float) -> np.ndarray:
    """Newton on h from ε = 0 (monotone from the left: h is concave on [0, 1], h(0) = −1)."""
    eps = 1.0 / (1.0 + 2.0 * kappa)  # first Newton step from ε = 0
    todo = np.arange(eps.size)
    for _ in range(_MAX_NEWTON):
        e, k = eps[todo], kappa[todo]
        h = k * e * (2.0 - e) * (1.0 - a * e) + e - 1.0
        step = h / _dh(e, k, a)
        e = np.minimum(e - step, 1.0)
        eps[todo] = e
        # stop on a tiny step or a backward-stable residual (the terms of h are <= 1)
        todo = todo[(np.abs(step) > _EPS_TOL * e) & (np.abs(h) > 1e-15)]
        if todo.size == 0:
            break
    return eps


def _newton_c(kappa: np.ndarray, a: float, c: np.ndarray) -> np.ndarray:
    """Newton on H(c) (concave, decreasing at its root) from near the root."""
    delta = 1.0 - a
    todo = np.arange(c.size)
    for _ in range(_MAX_NEWTON):
        x, k = c[todo], kappa[todo]
        H = k * delta + (k * a - 1.0) * x - k * delta * x**2 - k * a * x**3
        dH = (k * a - 1.0) - 2.0 * k * delta * x - 3.0 * k * a * x**2
        step = np.where(dH < 0, H / np.where(dH < 0, dH, -1.0), 0.0)
        x = np.clip(x - step, 0.0, 1.0)
        c[todo] = x
        todo = todo[(np.abs(step) > _EPS_TOL * x) & (H != 0)]
        if todo.size == 0:
            break
    return c


def _dh(eps: np.ndarray, kappa: np.ndarray, a: float | np.ndarray) -> np.ndarray:
    """h'(ε) = κ(2 − 2(1 + 2a)ε + 3aε²) + 1 (> 0 at the root)."""
    return kappa * (2.0 - 2.0 * (1.0 + 2.0 * a) * eps + 3.0 * a * eps**2) + 1.0


def family(lam: np.ndarray, gamma: float, a: float) -> Family:
    """ε_i and dε_i/d log γ = −(1 − ε_i)/h'(ε_i) (implicit differentiation of h = 0)."""
    kappa = gamma * lam
    eps, c = solve_eps(kappa, a)
    # h'(ε) = −H'(c); use the c-form near ε = 1 where it is well conditioned
    dh_c = -((kappa * a - 1.0) - 2.0 * kappa * (1.0 - a) * c - 3.0 * kappa * a * c**2)
    dh = np.where(eps > 0.5, dh_c, _dh(eps, kappa, a))
    safe = (c > 0.0) & (dh > 0.0)  # inactive components (ε = 1) do not move
    deps = np.where(safe, -c / np.where(safe, dh, 1.0), 0.0)
    return Family(gamma, a, eps, c, deps)


def distortions(lam: np.ndarray, eps: np.ndarray, a: float | np.ndarray) -> np.ndarray:
    """D_i = λ ε (2 − a(2 − a) ε)."""
    return lam * eps * (2.0 - a * (2.0 - a) * eps)


def perceptions(lam: np.ndarray, eps: np.ndarray, a: float) -> np.ndarray:
    """P_i = λ a² ε² = (σ_i − ŝ_i)²."""
    return lam * (a * eps) ** 2


def rates_nats(eps: np.ndarray, c: np.ndarray) -> np.ndarray:
    """R_i = −½ log(1 − c_i²) = −½ log(ε(2 − ε)), via log1p(−c²) where c is small."""
    high = -0.5 * np.log(np.minimum(eps * (2.0 - eps), 1.0))  # clamp round-off at ε = 1
    return np.where(eps > 0.5, -0.5 * np.log1p(-(np.minimum(c, 0.5) ** 2)), high)


def stationarity(lam: np.ndarray, fam: Family) -> np.ndarray:
    """h(ε_i) (the terms of h are <= 1 at the root, so this is a backward error)."""
    kappa, a, eps, c = fam.gamma * lam, fam.a, fam.eps, fam.c
    h_eps = kappa * eps * (2.0 - eps) * (1.0 - a * eps) + eps - 1.0
    h_c = kappa * (1.0 - a) + (kappa * a - 1.0) * c - kappa * (1.0 - a) * c**2 - kappa * a * c**3
    return np.where(eps > 0.5, h_c, h_eps)


def _total_and_slope(kind: str, lam: np.ndarray, fam: Family) -> tuple[float, float]:
    """(F, dF/d log γ) for F = D_tot (kind "D") or R_tot (kind "R")."""
    eps, a = fam.eps, fam.a
    if kind == "D":
        value = distortions(lam, eps, a)
        slope = lam * (2.0 - 2.0 * a * (2.0 - a) * eps) * fam.deps_dlog_gamma
    else:
        value = rates_nats(eps, fam.c)
        dr = -fam.c / (eps * (2.0 - eps))
        slope = dr * fam.deps_dlog_gamma
    return float(np.sum(value)), float(np.sum(slope))


def solve_gamma(kind: str, target: float, lam: np.ndarray, a: float, x0: float) -> Family:
    """γ such that D_tot(γ, a) = target (kind "D") or R_tot(γ, a) = target (kind "R").

    Safeguarded Newton on log F(x) = log target, x = log γ, from the warm start ``x0``:
    steps are capped (the cap doubling while the root is not bracketed), and a step leaving
    the bracket is replaced by bisection.
    """
    sign = -1.0 if kind == "D" else 1.0  # sign·(F − target) is increasing in x
    lo, hi = -_LOG_GAMMA_MAX, _LOG_GAMMA_MAX
    x = min(max(x0, lo), hi)
    fam = family(lam, float(np.exp(x)), a)
    max_step = _MAX_LOG_STEP
    for _ in range(_MAX_NEWTON):
        value, slope = _total_and_slope(kind, lam, fam)
        if value <= 0.0:  # R_tot underflowed: γ far too small
            fx, dfx = -np.inf, 0.0
        else:  # Newton on log F: near-linear in log γ at both low and high rates
            fx, dfx = sign * float(np.log(value / target)), sign * slope / value
        if fx == 0.0:
            return fam
        lo, hi = (x, hi) if fx < 0 else (lo, x)
        step = -fx / dfx if dfx > 0 else (max_step if fx < 0 else -max_step)
        if abs(step) >= max_step:  # far from the root: doubling steps until bracketed
            step, max_step = float(np.copysign(max_step, step)), 2.0 * max_step
        x_new = x + step
        tol = 2e-15 * max(1.0, abs(x))
        if abs(x_new - x) <= tol:  # converged (before safeguarding)
            return fam if x_new == x else family(lam, float(np.exp(x_new)), a)
        if not lo < x_new < hi:
            x_new = 0.5 * (lo + hi)
            if hi - lo <= tol:  # bracket at rounding level (F is only accurate to ~1e-16)
                return fam
        x = x_new
        fam = family(lam, float(np.exp(x)), a)
    raise FloatingPointError(
        f"multiplier search did not converge (target {kind} = {target}); the target is "
        "outside float64 range (e.g. more than ~500 bits per component)"
    )


def solve_outer(
    kind: str, target: float, P: float, lam: np.ndarray, a_hi: float, p_hi: float, gamma0: float
) -> Family:
    """Brent's method on y = log a: log P_tot(γ(a), a) = log P (both constraints active).

    P_tot = a² Σλε² is close to a power of a, so log P_tot is nearly linear in log a and
    the bracket [½ log(P/L), log a_hi] is valid (P_tot <= a² L). The caller guarantees
    p_hi = P_tot(a_hi) > P > 0 (regime checks); a_hi is not evaluated through the inner
    solver (it may be the γ → 0 limit).
    """
    x_warm = [float(np.log(gamma0))]
    found: list[Family] = []
    y_lo, y_hi = 0.5 * float(np.log(P / lam.sum())), float(np.log(a_hi))

    def g(y: float) -> float:
        if y >= y_hi:
            return float(np.log(p_hi / P))
        a = float(np.exp(y))
        fam = solve_gamma(kind, target, lam, a, x_warm[0])
        x_warm[0] = float(np.log(fam.gamma))
        found.append(fam)
        return float(np.log(np.sum(perceptions(lam, fam.eps, a)) / P))

    y_star = brentq(g, y_lo, y_hi, xtol=1e-15, rtol=8.9e-16, maxiter=500)
    if not found or found[-1].a != float(np.exp(y_star)):
        g(min(y_star, np.nextafter(y_hi, -np.inf)))
    return found[-1]
