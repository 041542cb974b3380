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
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
from scipy.integrate import IntegrationWarning, quad
from scipy.optimize import brentq
from scipy.special import erfcx

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
