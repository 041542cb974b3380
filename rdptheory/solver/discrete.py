r"""Certified R(D, P) of a discrete source (THEORY.md §6).

The problem, for a source law p on n letters, m reconstruction letters, a distortion matrix
d (n × m) and a perception measure φ between p and the output law q = pW:

.. math::

    R(D, P) = \min_{W} I(p, W) \quad \text{s.t.} \quad
    \sum_{x, \hat x} p(x) W(\hat x|x) d(x, \hat x) \le D, \qquad \varphi(p, q) \le P .

It is convex in W.  **Dual bound (derived for this project).**  Split q off as its own
variable with the constraint q = pW (multiplier λ ∈ ℝᵐ), put β ≥ 0 on the distortion and
ν ≥ 0 on the perception constraint.  Minimising the Lagrangian over W uses Csiszár's dual of
the rate-distortion Lagrangian (:math:`\min_W I + \langle \pi, c\rangle = \max\{\sum_x p(x)
u(x) : \sum_x p(x) e^{u(x) - c(x, \hat x)} \le 1\ \forall \hat x\}`, c = βd + λ), and
minimising over q gives −φ*_ν(λ), the conjugate of νφ over the simplex.  φ*_ν is increasing
in λ, so the best λ for a given u is the tight one,
:math:`\lambda(\hat x) = \ell(\hat x) = \log \sum_x p(x) e^{u(x) - \beta d(x, \hat x)}`.
Weak duality then gives, for **every** u ∈ ℝⁿ, β ≥ 0, ν ≥ 0,

.. math::

    R(D, P) \;\ge\; L(u, \beta, \nu) = \sum_x p(x) u(x) - \beta D - \nu P
    - \varphi^*_\nu\big(\ell_{u, \beta}\big),

a smooth concave function (after smoothing the max-type conjugates, see
:mod:`rdptheory.solver._measures`).  The solver maximises L with L-BFGS-B (u scaled by √p,
β and ν in logs).  **Primal.**  At the maximiser the channel
:math:`W(\hat x|x) \propto q(\hat x)\, e^{-\beta d(x, \hat x) - \ell(\hat x)}` (q the
conjugate's maximiser) has rows summing to 1 and output law q; away from it the rows are
renormalised.  That channel is mixed with an anchor channel (the identity when the alphabets
coincide, else the nearest-letter map) by the smallest weight that makes it exactly feasible,
and its rate, distortion and perception are recomputed exactly from W: an upper bound.  The
gap ``upper − lower`` is the certificate; it is ≥ 0 up to rounding (~1e-15) by weak duality.

Method choice (measured while building it): Blahut–Arimoto with the perception term
linearised by a multiplier needs an outer 2-D search over (β, ν) to hit a given (D, P); the
dual above reaches the target (D, P) directly.  On a 301-point Gaussian grid (forward KL,
D = 1, P = 0.5) L-BFGS-B needed 14 000 iterations on raw u and ~40 with u scaled by √p; a
damped Newton polish with the exact Hessian (n ≤ 1500) then takes the gap from ~1e-6 to
~1e-12.  Blahut–Arimoto is still used where it is exact and cheap: without perception its
channel and Blahut's bound are two more candidates.  Max-type conjugates (TV, W₁, W₂², none)
are smoothed with temperatures 1e-2, 1e-4, … down to ``tol / (4 log m)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from rdptheory._validation import as_float_array, check_choice
from rdptheory.solver import _measures as M
from rdptheory.solver._measures import logsumexp

_BFGS_MAX_DIM = 400
_NEWTON_MAX_DIM = 1500
#: Constraint slack allowed for rounding (absolute; relative to max(1, D) for D).
FEAS_TOL = 1e-12

Measure = Literal["none", "tv", "kl_forward", "kl_reverse", "w1", "w2sq"]
MEASURES: tuple[str, ...] = ("none", "tv", "kl_forward", "kl_reverse", "w1", "w2sq")

__all__ = ["MEASURES", "Measure", "RDPSolution", "rdp_discrete", "channel_metrics",
           "dual_bound"]


@dataclass(frozen=True)
class RDPSolution:
    """A certified solution of the discrete R(D, P) program (all rates in nats).

    Attributes
    ----------
    channel : ndarray, shape (n, m)
        The primal feasible test channel W(x̂|x) (rows sum to 1).
    rate_nats : float
        I(p, W) of ``channel``, computed exactly from it: an upper bound on R(D, P).
    distortion : float
        E d(X, X̂) of ``channel`` (≤ the requested D).
    perception_value : float
        φ(p_X, p_X̂) of ``channel`` in the chosen measure (≤ the requested P).
    lower_bound_nats : float
        The dual value L(u, β, ν) (a rigorous lower bound, up to rounding).
    gap_nats : float
        ``rate_nats − lower_bound_nats`` (≥ 0): the certificate.
    tol : float
        The requested gap tolerance; ``certified`` says whether it was met.
    beta, nu : float
        Multipliers of the distortion and perception constraints.
    perception : str
        The perception measure's name (``"none"`` when P = ∞); the package-wide convention
        (CHANGELOG): ``perception`` names the measure, ``perception_value`` is the number.
    D, P : float
        The requested constraint levels.
    iterations : int
        Optimiser iterations used.
    seconds : float
        Wall time of the solve.
    """

    channel: np.ndarray = field(repr=False)
    rate_nats: float
    distortion: float
    perception_value: float
    lower_bound_nats: float
    gap_nats: float
    tol: float
    beta: float
    nu: float
    perception: str
    D: float
    P: float
    iterations: int
    seconds: float

    @property
    def certified(self) -> bool:
        """True when ``gap_nats <= tol``."""
        return self.gap_nats <= self.tol

    @property
    def rate_bits(self) -> float:
        """The upper bound ``rate_nats`` in bits."""
        return self.rate_nats / math.log(2.0)


# --------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class _Problem:
    p: np.ndarray
    d: np.ndarray
    D: float
    P: float
    measure: str
    cost: np.ndarray | None  # OT cost for tv/w1/w2sq
    src_points: np.ndarray | None
    rec_points: np.ndarray | None

    @property
    def n(self) -> int:
        return self.p.size

    @property
    def m(self) -> int:
        return self.d.shape[1]


def _perception_value(pb: _Problem, q: np.ndarray) -> float:
    """Exact φ(p, q) of the problem's measure."""
    if pb.measure == "none":
        return 0.0
    if pb.measure == "tv":
        return M.tv(pb.p, q)
    if pb.measure == "kl_forward":
        return M.kl(pb.p, q)
    if pb.measure == "kl_reverse":
        return M.kl(q, pb.p)
    assert pb.src_points is not None and pb.rec_points is not None
    if pb.measure == "w1":
        return M.w1_line(pb.src_points, pb.p, pb.rec_points, q)
    return M.w2sq_line(pb.src_points, pb.p, pb.rec_points, q)


def _conjugate(pb: _Problem, lam: np.ndarray, nu: float, T: float, hess: bool = False
               ) -> M.Conjugate:
    if pb.measure == "none":
        return M.conj_max(lam, T, hess)
    if pb.P == 0.0:
        return M.conj_equal(lam, pb.p)
    if pb.measure == "kl_forward":
        return M.conj_kl_forward(lam, nu, pb.p, hess)
    if pb.measure == "kl_reverse":
        return M.conj_kl_reverse(lam, nu, pb.p, hess)
    assert pb.cost is not None
    return M.conj_ot(lam, nu, pb.p, pb.cost, T, hess)


def _has_nu(pb: _Problem) -> bool:
    return pb.measure != "none" and pb.P > 0.0


# --------------------------------------------------------------------------- dual
def _dual(pb: _Problem, u: np.ndarray, beta: float, nu: float, T: float):
    """``(L, ∂L/∂u, ∂L/∂β, ∂L/∂ν, ℓ, conjugate)`` at (u, β, ν)."""
    logp = np.log(pb.p)
    Z = (logp + u)[:, None] - beta * pb.d
    ell = logsumexp(Z, axis=0)
    cj = _conjugate(pb, ell, nu, T)
    value = float(pb.p @ u) - beta * pb.D - (nu * pb.P if _has_nu(pb) else 0.0) - cj.value
    A = np.exp(Z - ell[None, :]) * cj.q[None, :]  # the coupling π(x, x̂)
    g_u = pb.p - A.sum(axis=1)
    g_beta = -pb.D + float(np.sum(A * pb.d))
    g_nu = (-pb.P - cj.d_nu) if _has_nu(pb) else 0.0
    return value, g_u, g_beta, g_nu, ell, cj


def dual_bound(
    p: npt.ArrayLike, d: npt.ArrayLike, D: float, P: float, u: npt.ArrayLike, beta: float,
    nu: float, *, perception: Measure = "none", source_points: npt.ArrayLike | None = None,
    reconstruction_points: npt.ArrayLike | None = None,
) -> float:
    """The dual lower bound L(u, β, ν) on R(D, P) (nats) for *any* u, β ≥ 0, ν ≥ 0.

    .. math::

        L = \\sum_x p(x) u(x) - \\beta D - \\nu P - \\varphi^*_\\nu(\\ell), \\qquad
        \\ell(\\hat x) = \\log \\sum_x p(x) e^{u(x) - \\beta d(x, \\hat x)}

    Derived (module docstring).  Exposed so that a bound can be re-checked independently of
    the optimiser that produced (u, β, ν).
    """
    pb = _make_problem(p, d, D, P, perception, source_points, reconstruction_points)
    u = as_float_array(u, "u")
    if u.shape != pb.p.shape:
        raise ValueError(f"u must have shape {pb.p.shape}, got {u.shape}")
    beta = _check_scalar(beta, "beta", low=0.0)
    nu = _check_scalar(nu, "nu", low=0.0)
    return _dual(pb, u, beta, nu, 0.0)[0]


def _newton(pb: _Problem, u: np.ndarray, beta: float, nu: float, T: float,
            max_iter: int = 40) -> tuple[np.ndarray, float, float, int]:
    """Damped Newton ascent on L(u, β, ν) with the exact Hessian (dense, n + 2 unknowns).

    Polishes the L-BFGS point to the precision the primal read-out needs.  Hessian
    (derived): with a = ∂ℓ/∂u (columns sum to 1), e_j = Σ_i a_ij d_ij, J = ∂ℓ/∂(u, β),
    ∇²L = −[Jᵀ ∇²φ* J + Σ_j q_j ∇²ℓ_j] in (u, β), −Jᵀ ∂q/∂ν across, −∂²φ*/∂ν² in ν.
    """
    n, has_nu = pb.n, _has_nu(pb)
    logp = np.log(pb.p)

    def value(u_: np.ndarray, b_: float, n_: float) -> float:
        return _dual(pb, u_, b_, n_, T)[0]

    done = stalled = 0
    for _ in range(max_iter):
        done += 1
        Z = (logp + u)[:, None] - beta * pb.d
        ell = logsumexp(Z, axis=0)
        a = np.exp(Z - ell[None, :])
        cj = _conjugate(pb, ell, nu, T, hess=True)
        assert cj.hess is not None
        Hll, hln, hnn = cj.hess
        q = cj.q
        e = np.sum(a * pb.d, axis=0)
        g = np.concatenate([pb.p - a @ q, [-pb.D + float(q @ e)],
                            [-pb.P - cj.d_nu] if has_nu else []])
        J = np.concatenate([a.T, -e[:, None]], axis=1)  # m × (n + 1)
        aq = a * q[None, :]
        S = np.zeros((n + 1, n + 1))
        S[:n, :n] = np.diag(aq.sum(axis=1)) - aq @ a.T
        s_ub = -np.sum(aq * pb.d, axis=1) + aq @ e
        S[:n, n] = S[n, :n] = s_ub
        S[n, n] = float(q @ (np.sum(a * pb.d**2, axis=0) - e**2))
        Hphi = J.T @ Hll @ J + S
        if has_nu:
            k = n + 2
            Hfull = np.zeros((k, k))
            Hfull[: n + 1, : n + 1] = Hphi
            cross = J.T @ hln
            Hfull[: n + 1, n + 1] = Hfull[n + 1, : n + 1] = cross
            Hfull[n + 1, n + 1] = hnn
        else:
            Hfull = Hphi
        reg = 1e-13 * max(float(np.max(np.abs(np.diag(Hfull)))), 1e-300)
        try:
            step = np.linalg.solve(Hfull + reg * np.eye(Hfull.shape[0]), g)
        except np.linalg.LinAlgError:
            break
        decrement = float(g @ step)  # ≈ 2 × (max L − L): the Newton decrement
        if not np.isfinite(decrement) or decrement < 1e-24:
            break
        f0 = value(u, beta, nu)
        t = 1.0
        while t > 1e-12:
            u1, b1 = u + t * step[:n], beta + t * step[n]
            n1 = nu + t * step[n + 1] if has_nu else 0.0
            if b1 > 0 and (n1 > 0 or not has_nu):
                f1 = value(u1, b1, n1)
                if f1 >= f0 + 1e-4 * t * decrement or (t < 1e-3 and f1 >= f0):
                    break
            t *= 0.5
        else:
            break
        u, beta, nu = u1, b1, n1
        stalled = stalled + 1 if f1 - f0 <= 1e-13 else 0
        if stalled >= 3:
            break  # the bound no longer moves at the 1e-13 level
    return u, beta, nu, done


def _optimise(pb: _Problem, z0: np.ndarray, T: float, gtol: float, maxiter: int):
    """L-BFGS-B on −L over z = (u·√p, log β[, log ν])."""
    sp = np.sqrt(pb.p)
    n = pb.n
    has_nu = _has_nu(pb)

    def f(z: np.ndarray):
        u = z[:n] / sp
        beta = math.exp(z[n])
        nu = math.exp(z[n + 1]) if has_nu else 0.0
        val, g_u, g_b, g_n, _, _ = _dual(pb, u, beta, nu, T)
        g = np.empty_like(z)
        g[:n] = g_u / sp
        g[n] = g_b * beta
        if has_nu:
            g[n + 1] = g_n * nu
        return -val, -g

    if z0.size <= _BFGS_MAX_DIM:  # dense BFGS: robust at small smoothing temperatures
        res = minimize(f, z0, jac=True, method="BFGS",
                       options={"maxiter": maxiter, "gtol": gtol})
    else:
        res = minimize(f, z0, jac=True, method="L-BFGS-B",
                       options={"maxiter": maxiter, "maxfun": 2 * maxiter, "ftol": 1e-16,
                                "gtol": gtol, "maxcor": 30, "maxls": 50})
    return res.x, int(res.nit)


# --------------------------------------------------------------------------- primal
def channel_metrics(
    p: npt.ArrayLike, channel: npt.ArrayLike, d: npt.ArrayLike
) -> tuple[float, float]:
    """``(I(p, W) in nats, E d)`` of a channel, computed exactly from it.

    >>> channel_metrics([0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])
    (0.6931471805599453, 0.0)
    """
    p = as_float_array(p, "p")
    W = as_float_array(channel, "channel")
    d = as_float_array(d, "d")
    return _rate(p, W), float(np.sum(p[:, None] * W * d))


def _rate(p: np.ndarray, W: np.ndarray) -> float:
    q = p @ W
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(W > 0, W * (np.log(W) - np.log(q)[None, :]), 0.0)
    return max(float(p @ terms.sum(axis=1)), 0.0)


def _anchor(pb: _Problem) -> np.ndarray:
    """The identity channel when the alphabets coincide, else the nearest-letter map."""
    W = np.zeros((pb.n, pb.m))
    W[np.arange(pb.n), np.argmin(pb.d, axis=1)] = 1.0
    return W


def _repair(pb: _Problem, W: np.ndarray) -> np.ndarray:
    """Mix W with the anchor by the smallest weight (bisection) that makes it feasible."""
    A = _anchor(pb)
    q, qa = pb.p @ W, pb.p @ A
    dw, da = float(np.sum(pb.p[:, None] * W * pb.d)), float(np.sum(pb.p[:, None] * A * pb.d))

    def feasible(e: float) -> bool:
        dist = (1 - e) * dw + e * da
        return (dist <= pb.D + FEAS_TOL * max(1.0, pb.D)
                and _perception_value(pb, (1 - e) * q + e * qa) <= pb.P + FEAS_TOL)

    if feasible(0.0):
        return W
    if not feasible(1.0):
        raise ValueError(
            "the problem looks infeasible: even the anchor channel (identity / nearest letter) "
            f"violates D = {pb.D!r} or P = {pb.P!r}")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if feasible(mid) else (mid, hi)
    return (1 - hi) * W + hi * A


def _primal_candidates(pb: _Problem, u: np.ndarray, beta: float, nu: float, T: float,
                       at: _Problem | None = None) -> list[np.ndarray]:
    """Feasible channels read off the dual point (the caller keeps the lowest rate).

    The dual's channel ``W ∝ q e^{-βd-ℓ}`` with its rows renormalised, the same moved onto
    the output law q by Sinkhorn scaling, the independent channel ``W(·|x) = q`` (rate 0),
    and (no perception) Blahut–Arimoto run to its fixed
    point at the dual's β; each is then made feasible by :func:`_repair`.  ``at`` is the
    (tightened) problem the dual point was computed for.
    """
    ell = logsumexp((np.log(pb.p) + u)[:, None] - beta * pb.d, axis=0)
    q = _conjugate(at or pb, ell, nu, T).q
    with np.errstate(divide="ignore"):
        logq = np.log(q)
        logW = logq[None, :] - beta * pb.d - ell[None, :]
    direct = np.exp(logW - logsumexp(logW, axis=1)[:, None])
    cands = [direct, _sinkhorn_channel(pb.p, logW, logq), _zero_rate_channel(pb, T)]
    if pb.measure == "none":
        cands.append(_blahut_arimoto(pb, beta, pb.p @ direct))
    out = []
    for W in cands:
        try:
            out.append(_repair(pb, W))
        except ValueError:
            continue
    return out


def _zero_rate_channel(pb: _Problem, T: float) -> np.ndarray:
    """The best independent channel ``W(·|x) = q``: least ``Σ q d̄`` with ``φ(p, q) ≤ P``.

    d̄(x̂) = Σ_x p(x) d(x, x̂).  The minimiser is the conjugate's maximiser at λ = −κ d̄
    (ν = 1), with κ ≥ 0 raised by bisection (in log κ) until φ(q) reaches P.  Rate 0: it is
    the optimal channel wherever R(D, P) = 0, where the dual's channel degenerates (β* → 0).
    """
    dbar = pb.p @ pb.d
    if pb.measure == "none" or pb.P == 0.0:
        q = _conjugate(pb, -dbar / max(T, 1e-12), 1.0, T).q if pb.measure == "none" else pb.p
        return np.broadcast_to(q, pb.d.shape).copy()
    scale = max(float(np.ptp(dbar)), 1e-300)

    def q_of(logk: float) -> np.ndarray:
        return _conjugate(pb, -math.exp(logk) * dbar / scale, 1.0, T).q

    lo, hi = -30.0, 30.0
    if _perception_value(pb, q_of(hi)) <= pb.P:
        lo = hi
    else:
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _perception_value(pb, q_of(mid)) <= pb.P else (lo, mid)
    q = q_of(lo)
    return np.broadcast_to(q / q.sum(), pb.d.shape).copy()


def _blahut_arimoto(pb: _Problem, beta: float, r: np.ndarray, iters: int = 5000
                    ) -> np.ndarray:
    """Blahut–Arimoto at slope β from the output law r [Cover & Thomas §10.8].

    Linear domain with each row of ``e^{−βd}`` shifted by its row minimum (no underflow of a
    whole row): two matrix-vector products per iteration.
    """
    bd = beta * pb.d
    K = np.exp(-(bd - bd.min(axis=1, keepdims=True)))
    r = np.maximum(r, 1e-300)
    r = r / r.sum()
    for k in range(iters):
        r_new = r * (K.T @ (pb.p / (K @ r)))
        if k % 16 == 0 and np.max(np.abs(r_new - r)) < 1e-16:
            r = r_new
            break
        r = r_new
    W = K * r[None, :]
    return W / W.sum(axis=1, keepdims=True)


def _sinkhorn_channel(p: np.ndarray, logK: np.ndarray, logq: np.ndarray,
                      iters: int = 300) -> np.ndarray:
    """Channel whose coupling diag(a)·e^{logK}·diag(b) has row law p and column law ≈ q.

    Sinkhorn scaling in the log domain, ending on the rows (so W is exactly stochastic);
    it moves the dual's channel onto the output law the conjugate asks for.
    """
    logp = np.log(p)
    logK = np.where(np.isfinite(logq)[None, :], logK, -np.inf)
    g = np.zeros(logq.size)
    for _ in range(iters):
        f = logp - logsumexp(logK + g[None, :], axis=1)
        col = logsumexp(logK + f[:, None], axis=0)
        with np.errstate(invalid="ignore"):
            g_new = np.where(np.isfinite(logq), logq - col, -np.inf)
            err = np.nanmax(np.abs(np.exp(col + g) - np.exp(logq)))
        g = g_new
        if err < 1e-15:  # absolute, on a probability vector
            break
    logW = logK + g[None, :]
    logW -= logsumexp(logW, axis=1)[:, None]
    return np.exp(logW)


# --------------------------------------------------------------------------- validation
def _check_scalar(x: object, name: str, *, low: float, allow_inf: bool = False) -> float:
    a = as_float_array(x, name)  # type: ignore[arg-type]
    if a.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    v = float(a)
    if not allow_inf and not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    if v < low:
        raise ValueError(f"{name} must be >= {low}, got {v!r}")
    return v


def _make_problem(p, d, D, P, perception, source_points, reconstruction_points) -> _Problem:
    measure = check_choice(perception, "perception", MEASURES)
    p = as_float_array(p, "p")
    if p.ndim != 1 or p.size < 1:
        raise ValueError(f"p must be a 1-D probability vector, got shape {p.shape}")
    if (p < 0).any() or not np.isfinite(p).all() or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError("p must be a probability vector (entries >= 0 summing to 1)")
    d = as_float_array(d, "d")
    if d.ndim != 2 or d.shape[0] != p.size or d.shape[1] < 1:
        raise ValueError(f"d must have shape (n, m) with n = len(p) = {p.size}, got {d.shape}")
    if not np.isfinite(d).all() or (d < 0).any():
        raise ValueError("d must be finite and >= 0")
    D = _check_scalar(D, "D", low=0.0, allow_inf=True)
    P = _check_scalar(P, "P", low=0.0, allow_inf=True)
    if math.isinf(P):
        measure = "none"
    if (p == 0).any():
        raise ValueError("p must be > 0 everywhere (drop letters of probability 0)")
    p = p / p.sum()
    src = rec = cost = None
    if measure in ("tv", "kl_forward", "kl_reverse"):
        if d.shape[1] != p.size:
            raise ValueError(f"perception={measure!r} compares q with p on one alphabet: d must "
                             f"be square, got {d.shape}")
        if measure == "tv":
            cost = 1.0 - np.eye(p.size)
    elif measure in ("w1", "w2sq"):
        if source_points is None or reconstruction_points is None:
            raise ValueError(f"perception={measure!r} needs source_points and "
                             "reconstruction_points (the letters' positions on the line)")
        src = as_float_array(source_points, "source_points")
        rec = as_float_array(reconstruction_points, "reconstruction_points")
        if src.shape != p.shape or rec.shape != (d.shape[1],):
            raise ValueError("source_points must have shape (n,) and reconstruction_points "
                             f"shape (m,); got {src.shape}, {rec.shape}")
        if not (np.isfinite(src).all() and np.isfinite(rec).all()):
            raise ValueError("source_points and reconstruction_points must be finite")
        diff = src[:, None] - rec[None, :]
        cost = np.abs(diff) if measure == "w1" else diff**2
    if P == 0.0 and measure in ("w1", "w2sq"):
        assert src is not None and rec is not None
        if d.shape[1] != p.size or not np.array_equal(src, rec):
            raise ValueError("P = 0 with a Wasserstein measure needs reconstruction_points "
                             "equal to source_points")
    d_min = float(p @ d.min(axis=1))
    if D < d_min:
        raise ValueError(f"D = {D!r} is below the smallest achievable distortion {d_min!r}")
    return _Problem(p, d, D, P, measure, cost, src, rec)


# --------------------------------------------------------------------------- public solver
def rdp_discrete(
    p: npt.ArrayLike,
    d: npt.ArrayLike,
    D: float,
    P: float = math.inf,
    *,
    perception: Measure = "none",
    source_points: npt.ArrayLike | None = None,
    reconstruction_points: npt.ArrayLike | None = None,
    tol: float = 1e-7,
    max_iter: int = 20000,
) -> RDPSolution:
    """Certified R(D, P) of a discrete source (nats), with its channel and dual bound.

    Parameters
    ----------
    p : array_like, shape (n,)
        Source law, entries > 0 summing to 1.
    d : array_like, shape (n, m)
        Distortion matrix d(x, x̂) ≥ 0.
    D : float
        Distortion budget, ≥ the smallest achievable ``Σ_x p(x) min_x̂ d(x, x̂)``.
    P : float
        Perception budget ≥ 0 (``inf``: no perception constraint).
    perception : {"none", "tv", "kl_forward", "kl_reverse", "w1", "w2sq"}
        ``tv`` = ½‖p − q‖₁, ``kl_forward`` = KL(p‖q), ``kl_reverse`` = KL(q‖p) (these three
        need a square ``d``: one alphabet); ``w1``/``w2sq`` are W₁ and W₂² on the line and
        need ``source_points`` and ``reconstruction_points``.
    source_points, reconstruction_points : array_like, optional
        Positions of the letters on the line (Wasserstein measures only).
    tol : float
        Requested gap (nats), > 0.  The result says whether it was met (``certified``).
    max_iter : int
        Optimiser iteration budget per smoothing stage.

    Returns
    -------
    RDPSolution
        Frozen record: feasible channel, its exact rate/distortion/perception, the dual lower
        bound and the gap.

    Examples
    --------
    Binary source, Hamming distortion: R(D) = h(p) − h(D) (Cover & Thomas Thm 10.3.1).

    >>> sol = rdp_discrete([0.7, 0.3], [[0, 1], [1, 0]], 0.1, tol=1e-10)
    >>> h = lambda t: -t * math.log(t) - (1 - t) * math.log(1 - t)
    >>> abs(sol.rate_nats - (h(0.3) - h(0.1))) < 1e-9, sol.certified
    (True, True)
    """
    t0 = time.perf_counter()
    pb = _make_problem(p, d, D, P, perception, source_points, reconstruction_points)
    tol = _check_scalar(tol, "tol", low=0.0)
    if tol == 0.0:
        raise ValueError("tol must be > 0")
    if not isinstance(max_iter, int) or isinstance(max_iter, bool) or max_iter < 1:
        raise TypeError(f"max_iter must be a positive int, got {max_iter!r}")
    has_nu = _has_nu(pb)
    scale = float(np.sum(pb.p[:, None] * pb.d.mean(axis=1, keepdims=True)))
    beta0 = 1.0 / max(pb.D, 1e-3 * scale, 1e-12) if math.isfinite(pb.D) else 1e-20
    z = np.concatenate([np.zeros(pb.n), [math.log(max(beta0, 1e-25))],
                        [0.0] if has_nu else []])
    smooth = pb.measure in ("none", "tv", "w1", "w2sq") and not (pb.P == 0.0)
    T_final = tol / (4.0 * math.log(max(pb.m, 2))) if smooth else 0.0
    temps = []
    if smooth:
        T = 1e-2
        while T > T_final:
            temps.append(T)
            T *= 1e-2
        temps.append(T_final)
    else:
        temps = [0.0]
    iters = 0
    lower, W, beta, nu = -math.inf, None, 0.0, 0.0
    upper = math.inf
    newton = pb.n <= _NEWTON_MAX_DIM
    for T in temps:
        z, it = _optimise(pb, z, T, gtol=1e-12, maxiter=min(max_iter, 100) if newton else max_iter)
        iters += it
        u_k = z[: pb.n] / np.sqrt(pb.p)
        beta_k = math.exp(z[pb.n])
        nu_k = math.exp(z[pb.n + 1]) if has_nu else 0.0
        if newton:
            u_k, beta_k, nu_k, it = _newton(pb, u_k, beta_k, nu_k, T)
            iters += it
            z = np.concatenate([u_k * np.sqrt(pb.p), [math.log(beta_k)],
                                [math.log(nu_k)] if has_nu else []])
        lower_k = _dual(pb, u_k, beta_k, nu_k, 0.0)[0]
        if lower_k > lower:
            lower, beta, nu = lower_k, beta_k, nu_k
        for W_k in _primal_candidates(pb, u_k, beta_k, nu_k, T):
            r_k = _rate(pb.p, W_k)
            if r_k < upper:
                upper, W = r_k, W_k
        if pb.measure == "none" and W is not None:
            # Blahut's bound: the dual at u = −log Σ_x̂ r(x̂) e^{−βd} with r the BA output law
            with np.errstate(divide="ignore"):
                logr = np.log(pb.p @ W)
            u_ba = -logsumexp(logr[None, :] - beta_k * pb.d, axis=1)
            lower_ba = _dual(pb, u_ba, beta_k, 0.0, 0.0)[0]
            if lower_ba > lower:
                lower, beta = lower_ba, beta_k
        if upper - lower <= tol:
            break
    # The dual's channel violates D and P by about the optimiser's accuracy, and mixing it
    # with the anchor costs up to H(p) per unit of weight.  Aim instead at slightly tighter
    # targets: the channel read off there is feasible for (D, P) at a cost ≈ β δ_D + ν δ_P.
    shrink = 1e-9
    for _ in range(4):
        if upper - lower <= tol or not (math.isfinite(pb.D) and pb.D > 0):
            break
        tight = replace(pb, D=pb.D * (1.0 - shrink),
                        P=pb.P * (1.0 - shrink) if math.isfinite(pb.P) else pb.P)
        zt, it = _optimise(tight, z, temps[-1], gtol=1e-12,
                           maxiter=min(max_iter, 100) if newton else max_iter)
        iters += it
        u_t = zt[: pb.n] / np.sqrt(pb.p)
        beta_t, nu_t = math.exp(zt[pb.n]), (math.exp(zt[pb.n + 1]) if has_nu else 0.0)
        if newton:
            u_t, beta_t, nu_t, it = _newton(tight, u_t, beta_t, nu_t, temps[-1])
            iters += it
        for W_k in _primal_candidates(pb, u_t, beta_t, nu_t, temps[-1], tight):
            r_k = _rate(pb.p, W_k)
            if r_k < upper:
                upper, W = r_k, W_k
        shrink *= 30.0
    assert W is not None
    if has_nu and upper - lower > tol and nu <= 1e-6 * max(beta, 1.0):
        # ν* = 0: the perception constraint is slack and the smoothed conjugates degenerate.
        # Solve R(D); if its channel meets P, R(D, P) = R(D) and R(D)'s dual bound is a valid
        # lower bound on R(D, P) ≥ R(D).
        free = rdp_discrete(pb.p, pb.d, pb.D, math.inf, tol=tol, max_iter=max_iter)
        perc = _perception_value(pb, pb.p @ free.channel)
        if perc <= pb.P + FEAS_TOL:
            return replace(free, perception_value=perc, perception=pb.measure, P=pb.P,
                           iterations=free.iterations + iters,
                           seconds=time.perf_counter() - t0)
    rate = _rate(pb.p, W)
    dist = float(np.sum(pb.p[:, None] * W * pb.d))
    perc = _perception_value(pb, pb.p @ W)
    return RDPSolution(
        channel=W, rate_nats=rate, distortion=dist, perception_value=perc,
        lower_bound_nats=float(lower), gap_nats=float(rate - lower), tol=tol, beta=float(beta),
        nu=float(nu), perception=pb.measure, D=pb.D, P=pb.P, iterations=iters,
        seconds=time.perf_counter() - t0)
