"""The rigorous ``kl_forward`` floor: min E_q[X²] s.t. KL(p_X ‖ q) ≤ P, p_X = N(0, s²).

Derived (THEORY.md §1), not stated in the paper.  Stationarity of the Lagrangian gives
``q ∝ p_X/(x² + μ)``.  With ``Y = X/s ~ N(0, 1)``, ``m = μ/s²`` and ``b = sqrt(m/2)``:

.. math::

    A(b) = E\\Big[\\frac{1}{1 + Y^2/m}\\Big] = \\sqrt{\\pi}\\, b\\, \\mathrm{erfcx}(b), \\qquad
    \\mathrm{KL}(b) = E[\\log(1 + Y^2/m)] + \\log A(b), \\qquad
    \\frac{E_q[X^2]}{s^2} = m\\,\\frac{1 - A(b)}{A(b)} .

KL decreases from +inf (b → 0) to 0 (b → inf); the floor solves KL(b) = P by a bracketed
root in ``log b``, with the 1-D integral ``E[log1p(Y²/m)]`` by adaptive quadrature.
Private module: :func:`rdptheory.gaussian.kl_forward_min_second_moment` is the public face.

It also holds the *true* forward-KL R(D, P) (THEORY.md §1, §6): the rigorous lower bound
plus the excess tabulated by the certified solver (:mod:`rdptheory.solver.tabulate`), used by
``rdp(..., perception="kl_forward")``; the Gaussian-channel upper bound is
:func:`rdptheory.gaussian.rdp_kl_forward_upper_bound`, beside the lower bound in
:mod:`rdptheory.gaussian.scalar`.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
from scipy.integrate import IntegrationWarning, quad
from scipy.optimize import brentq
from scipy.special import erfcx

from rdptheory.gaussian._kl_forward_table import read_table
from rdptheory.gaussian._lambert import gaussian_kl_floor_log_ratio

_SQRT_PI = math.sqrt(math.pi)
_ASYMPTOTIC_FROM = 8.0


def _one_minus_a(b: float) -> float:
    """``1 - sqrt(pi) b erfcx(b)``; asymptotic series for large b avoids cancellation."""
    if b < _ASYMPTOTIC_FROM:
        return 1.0 - _SQRT_PI * b * float(erfcx(b))
    # 1 - sqrt(pi) b erfcx(b) ~ sum_k (-1)^(k+1) (2k-1)!! / (2b²)^k; 20 terms reach
    # 39!!/128^20 ~ 2e-19 relative at b = 8.
    x = 1.0 / (2.0 * b * b)
    total, term = 0.0, 1.0
    for k in range(1, 21):
        term *= (2 * k - 1) * x
        total += term if k % 2 else -term
    return total


def _log_a(b: float) -> float:
    """``log A(b)``, through ``log1p(-(1 - A))`` where A is near 1."""
    if b < 1.0:
        return math.log(_SQRT_PI * b * float(erfcx(b)))
    return math.log1p(-_one_minus_a(b))


def _mean_log1p(b: float) -> float:
    """``E[log(1 + Y²/(2b²))]`` for Y ~ N(0, 1), by quadrature on the half-line."""
    m = 2.0 * b * b
    f = lambda y: math.exp(-0.5 * y * y) * math.log1p(y * y / m)
    split = min(math.sqrt(m), 8.0)
    with warnings.catch_warnings():  # tiny b: the tail's extrapolation table gives up at ~1e-15
        warnings.simplefilter("ignore", IntegrationWarning)
        head = quad(f, 0.0, split, epsabs=0.0, epsrel=1e-13, limit=200)[0]
        tail = quad(f, split, np.inf, epsabs=0.0, epsrel=1e-13, limit=200)[0]
    return 2.0 * (head + tail) / math.sqrt(2.0 * math.pi)


def kl_of_b(b: float) -> float:
    """KL(p ‖ q_b) in nats for ``q_b ∝ p/(1 + Y²/(2b²))``."""
    return _mean_log1p(b) + _log_a(b)


def _ratio_of_b(b: float) -> float:
    """``E_q[X²]/s² = m (1 - A)/A`` with ``m = 2b²``."""
    if b < 1.0:
        return 2.0 * b * b * (1.0 / (_SQRT_PI * b * float(erfcx(b))) - 1.0)
    one_minus_a = _one_minus_a(b)
    return 2.0 * b * b * one_minus_a / (1.0 - one_minus_a)


# KL(b) = C - log b + O(b) as b -> 0, C = -gamma - 2 log 2 + log(pi)/2 (E log Y² = -gamma - log 2).
_SMALL_B_CONST = -np.euler_gamma - 2.0 * math.log(2.0) + 0.5 * math.log(math.pi)
_LARGE_P = 40.0


@lru_cache(maxsize=4096)
def min_second_moment_ratio(P: float) -> float:
    """``min E_q[X²]/s²`` subject to ``KL(N(0, s²) ‖ q) ≤ P`` (independent of s)."""
    if P == 0.0:
        return 1.0
    if math.isinf(P):
        return 0.0
    if P > _LARGE_P:  # b < e^-40: KL = C - log b to O(b); E_q[X²]/s² = 2b/sqrt(pi) (1 + O(b))
        return math.exp(math.log(2.0) + _SMALL_B_CONST - P - 0.5 * math.log(math.pi))
    g = lambda t: kl_of_b(math.exp(t)) - P
    # KL ~ 1/m² for large b (m = 2b²) and ~ -log b for small b: start there, then widen.
    lo = min(-P - 2.0, -1.0)
    hi = max(0.25 * math.log(1.0 / (4.0 * P)) + 1.0, 1.0)
    while g(lo) < 0.0:
        lo -= 2.0
    while g(hi) > 0.0:
        hi += 2.0
    t = brentq(g, lo, hi, xtol=1e-15, rtol=4.0 * np.finfo(float).eps, maxiter=200)
    return _ratio_of_b(math.exp(t))


# --------------------------------------------------------------------------- the true R(D, P)
# The true forward-KL R(D, P) of a unit Gaussian (THEORY.md §1, §6): exact outside
# 1 - s_G² < d < 1 + m(P); inside, R_lo + e(t, P) with the excess e tabulated by the certified
# solver (rdptheory.solver.tabulate, data in kl_forward_excess.json), clipped to [R_lo, R_Gauss].


@lru_cache(maxsize=1)
def _excess_spline():
    """Cubic spline of the tabulated excess in (log P, t)."""
    from scipy.interpolate import RectBivariateSpline

    tab = read_table()
    return (RectBivariateSpline(np.log(tab.p_grid), np.array(tab.t_grid), tab.excess,
                                kx=3, ky=3),
            math.log(tab.p_grid[0]), math.log(tab.p_grid[-1]))


def kl_forward_excess_nats(d: np.ndarray, P: np.ndarray, m: np.ndarray, s_g2: np.ndarray
                           ) -> np.ndarray:
    """Tabulated ``R − R_lo`` (nats, ≥ 0) at ``d = D/s²``, given ``m(P)`` and ``s_G²(P)``.

    ``t = (d − 1 + s_G²)/(s_G² + m)``; zero outside 0 < t < 1 (exact there); P outside the
    table is clamped to its range (the caller's clip to [R_lo, R_Gauss] bounds the error).
    """
    spline, lo, hi = _excess_spline()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (d - 1.0 + s_g2) / (s_g2 + m)
        logp = np.clip(np.log(np.where(P > 0, P, 1.0)), lo, hi)
    inside = (t > 0.0) & (t < 1.0) & (P > 0) & np.isfinite(P)
    out = np.zeros(np.broadcast(d, P).shape)
    if inside.any():
        tb, lb = np.broadcast_to(t, out.shape)[inside], np.broadcast_to(logp, out.shape)[inside]
        out[inside] = np.maximum(spline.ev(lb, tb), 0.0)
    return out


def _core_unit_nats(d: np.ndarray, lo2: np.ndarray) -> np.ndarray:
    """THEORY.md §1 core formula (derived) for a unit source with floor ``s_lo² = lo2``."""
    lo = np.sqrt(lo2)
    gap = (1.0 - lo2) / (1.0 + lo)  # 1 - lo without cancellation
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = (1.0 + lo2 - d) / (2.0 * lo)
        omc = (d - gap**2) * ((2.0 - gap) ** 2 - d) / (4.0 * lo2)
        r_both = np.where(c * c < 0.5, -0.5 * np.log1p(-c * c), -0.5 * np.log(omc))
        r_free = -0.5 * np.log(d)
    return np.where(d >= 1.0 + lo2, 0.0, np.where(lo2 <= 1.0 - d, r_free, r_both))


#: Above this many distinct P per call, m(P) comes from a spline (each exact value is a
#: ~10 ms quadrature root; 10⁶ random P would take hours).
_EXACT_M_MAX = 64
_M_SPLINE_RANGE = (1e-6, 5.0)


@lru_cache(maxsize=1)
def _m_spline():
    """Cubic spline of log m against log P on 161 nodes (built once, ~2-3 s).

    Relative error against the exact root, measured at the node midpoints: median 1e-9,
    largest 1e-5 (near P = 5).  Used only for calls with more than 64 distinct P.
    """
    from scipy.interpolate import CubicSpline

    x = np.linspace(math.log(_M_SPLINE_RANGE[0]), math.log(_M_SPLINE_RANGE[1]), 161)
    y = np.log([min_second_moment_ratio(float(math.exp(v))) for v in x])
    return CubicSpline(x, y)


def _second_moment_ratio(uniq: np.ndarray) -> np.ndarray:
    """``m(P)`` for sorted distinct P: exact for few values, else the spline inside its range."""
    if uniq.size <= _EXACT_M_MAX:
        return np.array([min_second_moment_ratio(float(p)) for p in uniq])
    lo, hi = _M_SPLINE_RANGE
    inside = (uniq > lo) & (uniq < hi)
    out = np.empty(uniq.size)
    with np.errstate(divide="ignore"):
        out[inside] = np.exp(_m_spline()(np.log(uniq[inside])))
    out[~inside] = [min_second_moment_ratio(float(p)) for p in uniq[~inside]]
    return out


def _floors(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s_G²(P), m(P))`` for a unit source: the Gaussian floor and ``min E_q X²``."""
    uniq, inverse = np.unique(P.ravel(), return_inverse=True)
    s_g2 = np.exp(gaussian_kl_floor_log_ratio(uniq, "kl_forward"))
    m = np.minimum(_second_moment_ratio(uniq), s_g2)
    return s_g2[inverse].reshape(P.shape), np.asarray(m)[inverse].reshape(P.shape)


def kl_forward_true_nats(d: np.ndarray, P: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The true forward-KL R(D, P) in nats for a unit source at ``d = D/s²``.

    ``upper`` is the Gaussian-channel value at the same points (the caller's closed form).
    Exact outside ``1 − s_G² < d < 1 + m(P)``: ``upper`` (= R(D)) below, 0 above; inside,
    ``R_lo + e`` with the solver's tabulated excess e, clipped to ``[R_lo, upper]``.
    """
    d, P, upper = np.broadcast_arrays(np.asarray(d, float), np.asarray(P, float),
                                      np.asarray(upper, float))
    s_g2, m = _floors(P)
    with np.errstate(invalid="ignore"):
        inside = (d > 1.0 - s_g2) & (d < 1.0 + m) & (P > 0) & np.isfinite(P)
    out = np.where(d >= 1.0 + m, 0.0, upper)
    if inside.any():
        di, Pi, mi, si = d[inside], P[inside], m[inside], s_g2[inside]
        lower = _core_unit_nats(di, mi)
        value = lower + kl_forward_excess_nats(di, Pi, mi, si)
        out[inside] = np.clip(value, lower, np.maximum(lower, upper[inside]))
    return out
