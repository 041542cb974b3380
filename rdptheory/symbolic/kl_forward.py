r"""The rigorous ``kl_forward`` floor: min E_q[X²] subject to KL(p_X ‖ q) <= P, derived.

THEORY.md §1: jointly Gaussian channels are only an upper bound for ``kl_forward``; the
lower bound replaces the Gaussian floor by :math:`m(P)=\min E_q[X^2]` over *all* densities q
with :math:`KL(p_X\|q)\le P`. The problem is convex in q (linear objective, convex
constraint), so the pointwise Lagrangian's stationary point is the minimiser:

.. math::

    \frac{\partial}{\partial q}\Bigl[x^2 q + \eta\,p\log\frac pq + \kappa q\Bigr] = 0
    \;\Rightarrow\; q^\star(x) = \frac{p_X(x)}{Z(\mu)\,(x^2+\mu)},\qquad \mu = \kappa > 0 .

For :math:`s = 1` sympy integrates :math:`Z(\mu)=\sqrt{\pi/(2\mu)}\,e^{\mu/2}
\operatorname{erfc}(\sqrt{\mu/2})`; then :math:`E_{q^\star}X^2 = 1/Z-\mu` and
:math:`KL(p_X\|q^\star)=\log Z + E_p\log(X^2+\mu)` (the last a 1-D integral, left
unevaluated and computed by quadrature). Both scale with s as s² and 1 (substitute x = s u).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sympy as sp

from rdptheory._validation import check_positive
from rdptheory.symbolic._core import Derivation, DerivationError, Step, prove_equal, s

__all__ = ["KLForwardFloor", "kl_forward_floor", "kl_forward_min_second_moment_mp"]

_x = sp.Symbol("x", real=True)
#: the normalisation multiplier over eta, q* ∝ p/(x² + mu_q); distinct from the KKT mu
mu_q = sp.Symbol("mu_q", positive=True)
_P_STD = sp.exp(-(_x**2) / 2) / sp.sqrt(2 * sp.pi)


@dataclass(frozen=True)
class KLForwardFloor:
    """Parametric (in mu) solution of min E_q[X²] s.t. KL(p_X || q) <= P, for N(0, s²).

    ``second_moment``: symbols (mu, s), lambdified arguments (mu, variance); ``kl`` and its
    closed-form derivative ``kl_slope``: args (mu,), nats (scale-free); ``density``: q*(x)
    for s = 1, args (x, mu).
    """

    density: Derivation
    second_moment: Derivation
    kl: Derivation
    kl_slope: Derivation


def _stationary_density() -> tuple[sp.Expr, Step]:
    """Solve the pointwise Lagrangian's derivative in q for q (unnormalised)."""
    q, p, eta, kappa = sp.symbols("q p eta kappa", positive=True)
    pointwise = _x**2 * q + eta * p * sp.log(p / q) + kappa * q
    sols = sp.solve(sp.diff(pointwise, q), q)
    if len(sols) != 1:
        raise DerivationError(f"unexpected stationary points {sols}")
    return sols[0], Step("stationary q (eta p / (x² + kappa))", sols[0])


def _record(name: str, expr: sp.Expr, symbols: tuple, lhs: str, *steps: Step) -> Derivation:
    return Derivation(
        name,
        expr,
        symbols,
        ("mu > 0 parameterises P in (0, inf)", "s > 0"),
        "THEORY.md §1 (derived): rigorous kl_forward lower bound",
        True,
        lhs,
        steps,
    )


@functools.cache
def kl_forward_floor() -> KLForwardFloor:
    r"""The minimiser :math:`q^\star\propto p_X/(x^2+\mu)` and its (E X², KL) curve in μ.

    .. math::

        m(\mu) = s^2\Bigl(\frac{1}{Z(\mu)} - \mu\Bigr),\qquad
        KL(\mu) = \log Z(\mu) + E_{p}\log(X^2+\mu),\qquad
        Z(\mu) = \sqrt{\tfrac{\pi}{2\mu}}\,e^{\mu/2}\operatorname{erfc}\sqrt{\mu/2}

    Derived (THEORY.md §1), not stated in a paper; μ = 1 gives P = 0.11137, m = 0.5251 s²
    (THEORY.md's example). Evaluate ``kl`` with ``lambdify("mpmath")`` (quadrature).

    Returns
    -------
    KLForwardFloor
    """
    q_raw, stationary = _stationary_density()
    z = sp.integrate(_P_STD / (_x**2 + mu_q), (_x, -sp.oo, sp.oo), conds="none")
    # x²/(x² + mu) = 1 - mu/(x² + mu), integrated term by term
    fraction = sp.apart(_x**2 / (_x**2 + mu_q), _x)
    raw_moment = sp.Add(*(sp.integrate(_P_STD * term, (_x, -sp.oo, sp.oo), conds="none")
                          for term in sp.Add.make_args(fraction)))  # fmt: skip
    moment_proof = prove_equal(raw_moment / z, 1 / z - mu_q, "E_q X² = 1/Z - mu")
    density = _P_STD / (z * (_x**2 + mu_q))
    kl = sp.log(z) + sp.Integral(_P_STD * sp.log(_x**2 + mu_q), (_x, -sp.oo, sp.oo))
    # d/dmu E_p log(X² + mu) = E_p 1/(X² + mu) = Z: the slope is closed-form
    slope = sp.simplify(sp.diff(sp.log(z), mu_q) + z)
    return KLForwardFloor(
        _record("kl_forward_floor_density", density, (_x, mu_q), r"q^\star(x)", stationary,
                Step("Z(mu)", z)),
        _record("kl_forward_floor_second_moment", s**2 * (1 / z - mu_q), (mu_q, s),
                r"\min E_q X^2", moment_proof),
        _record("kl_forward_floor_kl", kl, (mu_q,), r"KL(p_X \| q^\star)"),
        _record("kl_forward_floor_kl_slope", slope, (mu_q,), r"\frac{d\,KL}{d\mu}"),
    )  # fmt: skip


def kl_forward_min_second_moment_mp(
    P: npt.ArrayLike, variance: npt.ArrayLike, *, dps: int = 30
) -> float:
    r"""m(P) = min E_q[X²] s.t. KL(N(0, s²) ‖ q) <= P, by root-finding μ (high precision).

    .. math:: KL(\mu) = P,\qquad m = s^2\,(1/Z(\mu) - \mu)

    Newton in log μ on the curve of :func:`kl_forward_floor` (closed-form slope), with mpmath
    at ``dps`` digits; ~1 s per call. Derived (THEORY.md §1), not stated in a paper.

    Parameters
    ----------
    P : float, > 0, nats.
    variance : float, > 0, the source variance s².
    dps : int, mpmath working precision in decimal digits.

    Returns
    -------
    float
        m(P), in units of ``variance``.
    """
    import mpmath

    if np.ndim(P) or np.ndim(variance):
        raise ValueError("P and variance must be scalars (float)")
    p_val, var = float(check_positive(P, "P")), float(check_positive(variance, "variance"))
    floor = kl_forward_floor()
    kl, slope = floor.kl.lambdify("mpmath"), floor.kl_slope.lambdify("mpmath")
    with mpmath.workdps(dps):
        log_mu = _solve_log_mu(kl, slope, mpmath.mpf(p_val), mpmath.mpf(10) ** (5 - dps))
        moment = floor.second_moment.lambdify("mpmath")
        return float(moment(mpmath.exp(log_mu), mpmath.mpf(var)))  # (mu, variance)


def _solve_log_mu(kl, slope, target, tol):  # type: ignore[no-untyped-def]
    """KL(e^u) = target by Newton in u = log mu, safeguarded by bisection on [-60, 30].

    KL decreases in mu (slope < 0), from inf at mu -> 0 to 0 at mu -> inf.
    """
    import mpmath

    lo, hi, u = mpmath.mpf(-60), mpmath.mpf(30), mpmath.mpf(0)
    for _ in range(200):
        g = kl(mpmath.exp(u)) - target
        if abs(g) <= tol * max(1, target):
            return u
        lo, hi = (u, hi) if g > 0 else (lo, u)
        step = g / (mpmath.exp(u) * slope(mpmath.exp(u)))
        u = u - step if lo < u - step < hi else (lo + hi) / 2
    raise DerivationError(f"no mu with KL = {target} in mu in [e^-60, e^30]")
