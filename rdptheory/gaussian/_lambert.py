"""The Gaussian KL perception floors: Lambert W, polished by a bracketed Newton root.

For zero-mean Gaussians with variances s² and ŝ², with ``v = log(ŝ²/s²)``,

.. math::

    \\mathrm{KL}(N(0,ŝ^2)\\,\\|\\,N(0,s^2)) = \\tfrac12 E(v), \\qquad
    \\mathrm{KL}(N(0,s^2)\\,\\|\\,N(0,ŝ^2)) = \\tfrac12 E(-v), \\qquad E(u) = e^u - 1 - u .

The floor ``ŝ ≥ s_lo(P)`` of THEORY.md §1 is the root ``v ≤ 0`` of ``E(±v) = 2P``; in
closed form ``e^{v} = -W_0(-e^{-1-2P})`` (``kl_reverse``) and
``e^{-v} = -W_{-1}(-e^{-1-2P})`` (``kl_forward``).  Near ``P = 0`` the argument of W sits at
the branch point ``-1/e`` and W is ill-conditioned (an O(eps) error in the argument gives an
O(sqrt(eps)) error in W), so W only supplies a starting point: the root is polished by a
safeguarded Newton iteration on ``phi(u) = sign(u)·sqrt(2 E(u))``, which is smooth, increasing
and has slope 1 at 0, with ``E`` evaluated without cancellation.  Private module.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import lambertw

# 1/k! for k = 2..19: Taylor coefficients of E(u) = e^u - 1 - u.
_E_COEFFS = np.array([1.0 / math.factorial(k) for k in range(19, 1, -1)])
_SERIES_RADIUS = 0.5
_EPS = np.finfo(float).eps
_SERIES_Z = 0.1  # |z| = 2 sqrt(P) below which the series start is used
_LARGE_P = 50.0


def expm1mx(u: np.ndarray) -> np.ndarray:
    """``e^u - 1 - u`` to full relative precision (Taylor series for ``|u| < 0.5``).

    >>> float(expm1mx(np.array(1e-9)))  # doctest: +ELLIPSIS
    5.000000001...e-19
    """
    u = np.asarray(u, dtype=float)
    small = np.abs(u) < _SERIES_RADIUS
    # Horner on u^2 * sum_k u^(k-2)/k!; outside the disc expm1(u) - u loses < 2 digits.
    series = np.polyval(_E_COEFFS, np.where(small, u, 0.0)) * u * u
    with np.errstate(over="ignore", invalid="ignore"):
        direct = np.expm1(u) - u
    return np.where(small, series, direct)


def _phi(u: np.ndarray) -> np.ndarray:
    """``sign(u) sqrt(2 E(u))``: increasing, ``phi(u) = u + u²/6 + O(u³)``."""
    return np.sign(u) * np.sqrt(2.0 * expm1mx(u))


def _phi_slope(u: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``phi'(u) = expm1(u)/phi(u)``, with its limit 1 at ``u = 0``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.expm1(u) / phi
    return np.where(phi == 0.0, 1.0, slope)


def _initial_guess(P: np.ndarray, branch: int) -> np.ndarray:
    """Root of ``E(u) = 2P`` on branch ``u ≥ 0`` (-1) or ``u ≤ 0`` (0): Lambert W or series."""
    z = (1.0 if branch == -1 else -1.0) * 2.0 * np.sqrt(P)
    with np.errstate(all="ignore"):
        # Inverse series of phi near 0 (phi = u + u²/6 + u³/72 + ...); error O(z⁴).
        guess = z - z**2 / 6.0 + z**3 / 72.0
        # Large P, where exp(-1-2P) underflows: u = log(1 + 2P + u) (u ≥ 0) converges
        # fast by fixed point; u = -1 - 2P + e^u (u ≤ 0) is exact to rounding.
        big = P > _LARGE_P
        if branch == -1:
            u_big = np.log1p(2.0 * P)
            for _ in range(3):
                u_big = np.log1p(2.0 * P + u_big)
        else:
            u_big = -1.0 - 2.0 * P + np.exp(-1.0 - 2.0 * P)
        guess = np.where(big, u_big, guess)
        # Lambert W in between (slow and ill-conditioned near the branch point, so not there).
        mid = ~big & (np.abs(z) >= _SERIES_Z)
        if mid.any():
            w = lambertw(-np.exp(-1.0 - 2.0 * P[mid]), k=branch).real
            guess[mid] = np.log(-w)
    return guess


def _bracket(P: np.ndarray, branch: int) -> tuple[np.ndarray, np.ndarray]:
    """Brackets from ``u²/2 ≤ E(u)`` (u ≥ 0), ``E(u) ≤ u²/2`` and ``E(u) > -1-u`` (u ≤ 0)."""
    if branch == -1:
        return np.log1p(2.0 * P), 2.0 * np.sqrt(P)
    return -1.0 - 2.0 * P, -2.0 * np.sqrt(P)


def solve_expm1mx(P: np.ndarray, branch: int, *, max_iter: int = 200) -> np.ndarray:
    """The root ``u`` of ``e^u - 1 - u = 2P`` with ``u ≥ 0`` (branch -1) or ``u ≤ 0`` (branch 0).

    ``P`` must be finite and ≥ 0 (callers validate).  Safeguarded Newton: a step leaving the
    current bracket is replaced by bisection, so it converges for every ``P``.

    >>> float(solve_expm1mx(np.array(0.5), -1))  # e^u = 2 + u
    1.1461932206205825
    """
    P = np.asarray(P, dtype=float)
    target = (1.0 if branch == -1 else -1.0) * 2.0 * np.sqrt(P)
    lo, hi = _bracket(P, branch)
    u = np.clip(_initial_guess(P, branch), lo, hi)
    for _ in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore"):
            phi = _phi(u)
        f = phi - target
        lo = np.where(f <= 0.0, u, lo)
        hi = np.where(f >= 0.0, u, hi)
        step = f / _phi_slope(u, phi)
        u_new = u - step
        outside = ~((u_new >= lo) & (u_new <= hi)) | ~np.isfinite(u_new)
        u_new = np.where(outside, 0.5 * (lo + hi), u_new)
        # a few ulps: Newton then only dithers between neighbouring floats
        done = (np.abs(u_new - u) <= 8.0 * _EPS * np.abs(u_new)) | (f == 0.0)
        u = u_new
        if done.all():
            break
    return u


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
