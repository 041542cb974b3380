"""The Gaussian KL perception floors: the Lambert W roots, computed by bracketed Newton.

For zero-mean Gaussians with variances s² and ŝ², with ``v = log(ŝ²/s²)``,

.. math::

    \\mathrm{KL}(N(0,ŝ^2)\\,\\|\\,N(0,s^2)) = \\tfrac12 E(v), \\qquad
    \\mathrm{KL}(N(0,s^2)\\,\\|\\,N(0,ŝ^2)) = \\tfrac12 E(-v), \\qquad E(u) = e^u - 1 - u .

The floor ``ŝ ≥ s_lo(P)`` of THEORY.md §1 is the root ``v ≤ 0`` of ``E(±v) = 2P``; in
closed form ``e^{v} = -W_0(-e^{-1-2P})`` (``kl_reverse``) and
``e^{-v} = -W_{-1}(-e^{-1-2P})`` (``kl_forward``).  Near ``P = 0`` the argument of W sits at
the branch point ``-1/e`` and W is ill-conditioned (an O(eps) error in the argument gives an
O(sqrt(eps)) error in W), so W is not evaluated at all: the root of ``E(u) = 2P`` is found by
a safeguarded (bracketed) Newton iteration on ``phi(u) = sign(u)·sqrt(2 E(u))``, which is
smooth, increasing and has slope 1 at 0, with ``E`` evaluated without cancellation, started
from the branch-point series (small P) or the asymptotic fixed points (large P).  The tests
check the result against mpmath's ``lambertw`` at 50+ digits.  Private module.
"""

from __future__ import annotations

import math

import numpy as np

# 1/k! for k = 2..19: Taylor coefficients of E(u) = e^u - 1 - u.
_E_COEFFS = np.array([1.0 / math.factorial(k) for k in range(19, 1, -1)])
_SERIES_RADIUS = 0.5
_EPS = np.finfo(float).eps
_FIXED_POINT_FROM = 0.5  # P above which the fixed-point start replaces the series


def expm1mx(u: np.ndarray) -> np.ndarray:
    """``e^u - 1 - u`` to full relative precision (Taylor series for ``|u| < 0.5``).

    >>> float(expm1mx(np.array(1e-9)))  # doctest: +ELLIPSIS
    5.000000001...e-19
    """
    u = np.asarray(u, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        return _expm1mx_from(u, np.expm1(u))


def _expm1mx_from(u: np.ndarray, em1: np.ndarray) -> np.ndarray:
    """``e^u - 1 - u`` given ``em1 = expm1(u)``; outside |u| < 0.5, em1 - u loses < 2 digits."""
    out = np.asarray(em1 - u)
    small = np.abs(u) < _SERIES_RADIUS
    if small.any():
        us = u[small]
        out[small] = np.polyval(_E_COEFFS, us) * us * us  # Horner on u² Σ u^(k-2)/k!
    return out


def _newton_step(u: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f, f/f')`` for ``f(u) = phi(u) - target``, ``phi = sign(u) sqrt(2 E(u))``.

    phi is increasing with ``phi(u) = u + u²/6 + O(u³)`` and ``phi' = expm1(u)/phi`` (limit 1
    at u = 0), so Newton on phi is well conditioned where Newton on E is not.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        em1 = np.expm1(u)
        phi = np.sign(u) * np.sqrt(2.0 * _expm1mx_from(u, em1))
        slope = np.where(phi == 0.0, 1.0, em1 / phi)
        f = phi - target
        return f, f / slope


def _initial_guess(P: np.ndarray, branch: int) -> np.ndarray:
    """Start for the root of ``E(u) = 2P`` on branch ``u ≥ 0`` (-1) or ``u ≤ 0`` (0).

    Small P: the inverse series of phi; large P: the fixed points ``u = log(1 + 2P + u)``
    (u ≥ 0) and ``u = -1 - 2P + e^u`` (u ≤ 0), two steps each.  Both are what Lambert W
    reduces to on either side; W itself is not evaluated (slow, and ill-conditioned at the
    branch point).  Newton then converges in 2-4 steps.
    """
    big = P > _FIXED_POINT_FROM
    z = (1.0 if branch == -1 else -1.0) * 2.0 * np.sqrt(np.where(big, 0.0, P))
    guess = z * (1.0 - z / 6.0 + z * z / 72.0)  # phi = u + u²/6 + u³/72 + ..., error O(z⁴)
    if big.any():
        Pb = P[big]
        if branch == -1:
            u = np.log1p(2.0 * Pb)
            u = np.log1p(2.0 * Pb + np.log1p(2.0 * Pb + u))
        else:
            u = -1.0 - 2.0 * Pb
            u = -1.0 - 2.0 * Pb + np.exp(-1.0 - 2.0 * Pb + np.exp(u))
        guess[big] = u
    return guess


def _bracket(P: np.ndarray, branch: int) -> tuple[np.ndarray, np.ndarray]:
    """Brackets from ``u²/2 ≤ E(u)`` (u ≥ 0), ``E(u) ≤ u²/2`` and ``E(u) > -1-u`` (u ≤ 0)."""
    if branch == -1:
        return np.log1p(2.0 * P), 2.0 * np.sqrt(P)
    return -1.0 - 2.0 * P, -2.0 * np.sqrt(P)


def solve_expm1mx(P: np.ndarray, branch: int, *, max_iter: int = 200) -> np.ndarray:
    """The root ``u`` of ``e^u - 1 - u = 2P`` with ``u ≥ 0`` (branch -1) or ``u ≤ 0`` (branch 0).

    ``P`` must be finite and ≥ 0 (callers validate).  Safeguarded Newton: a step leaving the
    current bracket is replaced by bisection, so it converges for every ``P``; only the
    entries not yet converged are iterated.

    >>> round(float(solve_expm1mx(np.array(0.5), -1)), 14)  # e^u = 2 + u
    1.14619322062058
    """
    P = np.asarray(P, dtype=float)
    shape = P.shape
    P = P.ravel()
    target = (1.0 if branch == -1 else -1.0) * 2.0 * np.sqrt(P)
    lo, hi = _bracket(P, branch)
    u = np.clip(_initial_guess(P, branch), lo, hi)
    active = np.arange(P.size)
    for _ in range(max_iter):
        ua, ta, la, ha = u[active], target[active], lo[active], hi[active]
        f, step = _newton_step(ua, ta)
        la = np.where(f <= 0.0, ua, la)
        ha = np.where(f >= 0.0, ua, ha)
        u_new = ua - step
        outside = ~((u_new >= la) & (u_new <= ha))  # also catches NaN
        u_new = np.where(outside, 0.5 * (la + ha), u_new)
        # a few ulps: Newton then only dithers between neighbouring floats
        done = (np.abs(u_new - ua) <= 8.0 * _EPS * np.abs(u_new)) | (f == 0.0)
        u[active], lo[active], hi[active] = u_new, la, ha
        active = active[~done]
        if active.size == 0:
            break
    return u.reshape(shape)


def gaussian_kl_floor_log_ratio(P: np.ndarray, perception: str) -> np.ndarray:
    """``v = log(s_lo²/s²) ≤ 0``, the Gaussian floor for ``"kl_forward"``/``"kl_reverse"``.

    ``P = inf`` gives ``-inf`` (``s_lo = 0``).
    """
    P = np.asarray(P, dtype=float)
    finite = np.isfinite(P)
    Pf = np.where(finite, P, 0.0)
    if perception == "kl_reverse":
        v = solve_expm1mx(Pf, 0)
    else:
        v = -solve_expm1mx(Pf, -1)
    return np.where(finite, v, -np.inf)
