"""Perception measures between discrete laws and their convex conjugates (private).

For a measure φ(q) = φ(p_X, q) and a multiplier ν ≥ 0 the solver needs the conjugate over
the probability simplex,

.. math::

    \\varphi^*_\\nu(\\lambda) = \\sup_{q \\in \\Delta} \\; \\lambda \\cdot q - \\nu\\, \\varphi(q),

its maximiser q (the gradient in λ) and its derivative in ν (``-φ(q)``, envelope theorem).
Derived for this project (closed forms of standard conjugates):

- ``kl_reverse`` (KL(q‖p)): Gibbs' variational principle, ``ν log Σ p e^{λ/ν}``.
- ``kl_forward`` (KL(p‖q)): ``min_{τ > max λ} τ − ν + ν log ν − ν Σ p log(τ − λ)``; *every*
  admissible τ gives an upper bound on φ*, so the bound stays rigorous whatever the accuracy
  of the 1-D Newton solve for τ.
- an optimal-transport cost (``tv`` is OT with cost 1[x ≠ y], ``w1`` with |x − y|, ``w2sq``
  with (x − y)²): ``Σ_x p(x) max_y (λ(y) − ν c(x, y))`` (sup over q and the coupling at once).
- no constraint (P = ∞, ν = 0): ``max λ``; exact matching (P = 0): ``λ · p``.

The max-type conjugates are smoothed for the optimiser by a soft-max at temperature T, which
is an *upper* bound on the max (so a lower bound computed with it is still valid) within
``T log m``; the final certificate uses the exact max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def logsumexp(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``log Σ exp(a)`` along ``axis`` (max-shifted; ``-inf`` entries allowed).

    Plain numpy: scipy's version costs ~1 ms per call in array-API dispatch here.
    """
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def softmax(a: np.ndarray) -> np.ndarray:
    """``exp(a − logsumexp(a))`` for a 1-D array."""
    e = np.exp(a - np.max(a))
    return e / e.sum()


# --------------------------------------------------------------------------- exact measures
def kl(a: np.ndarray, b: np.ndarray) -> float:
    """KL(a‖b) in nats (``0 log 0 = 0``; ``inf`` where b = 0 < a)."""
    pos = a > 0
    if np.any(b[pos] <= 0):
        return float("inf")
    return float(np.sum(a[pos] * (np.log(a[pos]) - np.log(b[pos]))))


def tv(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation ``½ Σ |a − b|``."""
    return 0.5 * float(np.abs(a - b).sum())


def _merged_cdfs(xa: np.ndarray, a: np.ndarray, xb: np.ndarray, b: np.ndarray):
    """Sorted union of the supports and both CDFs on it (right-continuous steps)."""
    pts = np.union1d(xa, xb)
    fa = np.cumsum(np.bincount(np.searchsorted(pts, xa), weights=a, minlength=pts.size))
    fb = np.cumsum(np.bincount(np.searchsorted(pts, xb), weights=b, minlength=pts.size))
    return pts, fa, fb


def w1_line(xa: np.ndarray, a: np.ndarray, xb: np.ndarray, b: np.ndarray) -> float:
    """W₁ of two discrete laws on the line, ``∫ |F_a − F_b|`` (exact)."""
    pts, fa, fb = _merged_cdfs(xa, a, xb, b)
    return float(np.sum(np.abs(fa[:-1] - fb[:-1]) * np.diff(pts)))


def w2sq_line(xa: np.ndarray, a: np.ndarray, xb: np.ndarray, b: np.ndarray) -> float:
    """W₂² of two discrete laws on the line, ``∫₀¹ (F_a⁻¹ − F_b⁻¹)²`` (exact, monotone coupling)."""
    oa, ob = np.argsort(xa, kind="stable"), np.argsort(xb, kind="stable")
    xa, a, xb, b = xa[oa], a[oa], xb[ob], b[ob]
    ca, cb = np.cumsum(a), np.cumsum(b)
    ca[-1] = cb[-1] = 1.0
    levels = np.union1d(ca, cb)
    widths = np.diff(np.concatenate([[0.0], levels]))
    mids = levels - 0.5 * widths
    ia = np.minimum(np.searchsorted(ca, mids), xa.size - 1)
    ib = np.minimum(np.searchsorted(cb, mids), xb.size - 1)
    return float(np.sum(widths * (xa[ia] - xb[ib]) ** 2))


# --------------------------------------------------------------------------- conjugates
@dataclass(frozen=True)
class Conjugate:
    """Value of φ*_ν(λ), its maximiser q (= ∂/∂λ) and ∂/∂ν (= −φ(q)).

    ``hess`` (when asked for) is ``(∂²/∂λ², ∂²/∂λ∂ν, ∂²/∂ν²)``, for the Newton polish.
    """

    value: float
    q: np.ndarray
    d_nu: float
    hess: tuple[np.ndarray, np.ndarray, float] | None = None


def conj_max(lam: np.ndarray, T: float, hess: bool = False) -> Conjugate:
    """``max λ`` (no perception constraint); soft-max at temperature T > 0."""
    if T == 0.0:
        q = np.zeros_like(lam)
        q[int(np.argmax(lam))] = 1.0
        return Conjugate(float(lam.max()), q, 0.0)
    q = softmax(lam / T)
    value = float(T * logsumexp(lam / T))
    if not hess:
        return Conjugate(value, q, 0.0)
    H = (np.diag(q) - np.outer(q, q)) / T
    return Conjugate(value, q, 0.0, (H, np.zeros_like(q), 0.0))


def conj_equal(lam: np.ndarray, target: np.ndarray) -> Conjugate:
    """``λ · p`` (P = 0: q must equal the target)."""
    m = lam.size
    return Conjugate(float(lam @ target), target.copy(), 0.0,
                     (np.zeros((m, m)), np.zeros(m), 0.0))


def conj_kl_reverse(lam: np.ndarray, nu: float, target: np.ndarray, hess: bool = False
                    ) -> Conjugate:
    """``ν log Σ p e^{λ/ν}``; q = the tilted law, ∂/∂ν = −KL(q‖p)."""
    pos = target > 0
    z = lam[pos] / nu + np.log(target[pos])
    lse = float(logsumexp(z))
    q = np.zeros_like(lam)
    q[pos] = np.exp(z - lse)
    value = nu * lse
    d_nu = lse - float(q[pos] @ lam[pos]) / nu
    if not hess:
        return Conjugate(value, q, d_nu)
    mean = float(q @ lam)
    H = (np.diag(q) - np.outer(q, q)) / nu
    dq_nu = -(q / nu**2) * (lam - mean)
    h_nn = float(q @ (lam - mean) ** 2) / nu**3
    return Conjugate(value, q, d_nu, (H, dq_nu, h_nn))


def conj_kl_forward(lam: np.ndarray, nu: float, target: np.ndarray, hess: bool = False
                    ) -> Conjugate:
    """``min_τ τ − ν + ν log ν − ν Σ p log(τ − λ)`` (target > 0 everywhere); q = νp/(τ − λ)."""
    lmax = float(lam.max())
    gap = lmax - lam  # >= 0
    # Root s = τ − max λ > 0 of g(s) = ν Σ p/(s + gap) − 1: decreasing, +∞ at 0+, and
    # g(ν) ≤ ν Σ p/ν − 1 = 0, so [0, ν] brackets it.  Safeguarded Newton.
    lo, hi = 0.0, nu
    s = nu * float(target[int(np.argmax(lam))]) if nu > 0 else 0.0
    s = min(max(s, 1e-300), hi)
    for _ in range(200):
        w = target / (s + gap)
        g = nu * w.sum() - 1.0
        if g > 0:
            lo = s
        else:
            hi = s
        dg = -nu * float(np.sum(w / (s + gap)))
        s_new = s - g / dg
        if not (lo < s_new < hi):
            s_new = 0.5 * (lo + hi)
        if abs(s_new - s) <= 1e-15 * s or hi - lo <= 1e-16 * hi:
            s = s_new
            break
        s = s_new
    t_minus = s + gap
    q = nu * target / t_minus
    value = lmax + s - nu + nu * np.log(nu) - nu * float(target @ np.log(t_minus))
    d_nu = -kl(target, q / q.sum())
    if not hess:
        return Conjugate(float(value), q, d_nu)
    w = q * q / (nu * target)
    sw = float(w.sum())
    H = np.diag(w) - np.outer(w, w) / sw
    dq_nu = q / nu - w / (nu * sw)
    h_nn = 1.0 / nu - 1.0 / (nu * nu * sw)
    return Conjugate(float(value), q, d_nu, (H, dq_nu, h_nn))


def conj_ot(lam: np.ndarray, nu: float, target: np.ndarray, cost: np.ndarray, T: float,
            hess: bool = False) -> Conjugate:
    """``Σ_x p(x) max_y (λ(y) − ν c(x, y))``, soft-max at temperature T (T = 0: exact)."""
    z = lam[None, :] - nu * cost  # rows: source letters x
    if T == 0.0:
        j = np.argmax(z, axis=1)
        rows = np.arange(cost.shape[0])
        q = np.bincount(j, weights=target, minlength=lam.size)
        return Conjugate(float(target @ z[rows, j]), q, -float(target @ cost[rows, j]))
    lse = logsumexp(z / T, axis=1)
    k = np.exp(z / T - lse[:, None])  # row-stochastic coupling
    q = target @ k
    value = float(T * (target @ lse))
    kc = np.sum(k * cost, axis=1)  # E_k c per row
    if not hess:
        return Conjugate(value, q, -float(target @ kc))
    pk = target[:, None] * k
    H = (np.diag(q) - k.T @ pk) / T
    dq_nu = -(np.sum(pk * cost, axis=0) - pk.T @ kc) / T
    h_nn = float(target @ (np.sum(k * cost**2, axis=1) - kc**2)) / T
    return Conjugate(value, q, -float(target @ kc), (H, dq_nu, h_nn))
