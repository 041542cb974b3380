"""Index models conditioned on what the decoder knows: a chunk's expected KL and spread.

The codec's index code (:mod:`rdptheory.rcc._index_coding`) codes a chunk's bucket
b = bit_length(K) under one static Zipf law fitted to full chunks. This module derives the
bucket law of PFR from the Poisson-process picture instead [LEG18]: the winning score
U = min_n T_n / w_n is Exp(1) and independent of the winner Z ~ q, and T_K ~ K, so

.. math:: K \\approx U\\,2^{i(Z)},\\qquad i(Z) = \\log_2\\frac{q(Z)}{p(Z)}
          \\sim \\mathcal N(\\mu, s^2)\\ \\text{(approximately)},

with mu the chunk's expected KL and s^2 the variance of i(Z) over the decoder's view of the
target: the within-target spread (:func:`rdptheory.rcc.truncation.spread_bits`) plus the
scatter of the chunk's actual KL. Both are known to the decoder (the proxy layout's expected
KL per coordinate and the standard deviations), so the model needs no side information. The
buckets then have

.. math:: P(b) = G(2^b) - G(2^{b-1}),\\ b \\ge 1,\\qquad P(0) = G(1),\\qquad
          G(v) = \\mathbb E_i\\big[1 - e^{-v\\,2^{-i}}\\big],

truncated to the candidates drawn (buckets above ``n_ref`` share an escape mass). Derived
here; not in the papers. Measured against the Zipf law in benchmarks/codec_overhead.py: it is
an ideal code length only (not wired into the bitstream format).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_int, check_nonnegative, check_positive

from ._index_coding import MAX_INDEX_BITS, bucket_of, with_escape_tail

__all__ = [
    "chunk_spread_bits",
    "spread_bucket_probabilities",
    "spread_index_bits",
    "truncated_bucket_probabilities",
]

#: Gauss-Hermite nodes for the expectation over i.
_NODES = 48
#: Grid points over the chunk's actual KL in :func:`truncated_bucket_probabilities`.
_KL_GRID = 801
#: Escape mass of the buckets above n_ref (as the Zipf model of truncated PFR).
ESCAPE_MASS = 2.0**-12


def chunk_spread_bits(within_bits: npt.ArrayLike, kl_scatter_bits: npt.ArrayLike) -> np.ndarray:
    """Total spread s of i(Z) seen by the decoder: within-target spread and KL scatter.

    .. math:: s = \\sqrt{\\sigma_{\\rm within}^2 + \\sigma_{\\rm KL}^2}

    (the law of total variance over the target mean).
    """
    w = check_nonnegative(within_bits, "within_bits")
    k = check_nonnegative(kl_scatter_bits, "kl_scatter_bits")
    return np.sqrt(np.asarray(w, float) ** 2 + np.asarray(k, float) ** 2)


def spread_bucket_probabilities(mean_bits: float, spread: float, reference_bits: int) -> np.ndarray:
    """P(b) for b = 0..MAX_INDEX_BITS of a PFR index with i ~ N(mean_bits, spread^2).

    .. math:: G(v) = \\sum_k \\omega_k\\big(1 - \\exp(-v\\,2^{-(\\mu + s x_k)})\\big)

    (Gauss-Hermite nodes x_k, weights omega_k). Buckets 0..``reference_bits`` carry
    1 - ESCAPE_MASS in proportion to G's increments (the mass the truncation cuts off is
    renormalised), the buckets above share ESCAPE_MASS geometrically (ratio 1/2).

    Parameters
    ----------
    mean_bits : float >= 0, mu (the chunk's expected KL, bits)
    spread : float > 0, s (bits)
    reference_bits : int in [1, MAX_INDEX_BITS], the largest bucket of the main law

    Returns
    -------
    float64 array of MAX_INDEX_BITS + 1 probabilities summing to 1
    """
    mu = float(check_nonnegative(mean_bits, "mean_bits"))
    s = float(check_positive(spread, "spread"))
    n_ref = check_int(reference_bits, "reference_bits", low=1, high=MAX_INDEX_BITS)
    x, w = np.polynomial.hermite_e.hermegauss(_NODES)
    w = w / w.sum()
    edges = np.concatenate([[0.0], 2.0 ** np.arange(0, n_ref + 1, dtype=float)])
    # G at v = 0, 1, 2, ..., 2^n_ref: -expm1(-v 2^-i) averaged over the nodes
    g = (w[None, :] * -np.expm1(-edges[:, None] * 2.0 ** -(mu + s * x[None, :]))).sum(axis=1)
    main = np.maximum(np.diff(g), 1e-300)  # clamp round-off: every bucket stays codable
    return with_escape_tail(main, ESCAPE_MASS)


def spread_index_bits(indices: npt.ArrayLike, mean_bits: npt.ArrayLike, spread: npt.ArrayLike,
                      reference_bits: int) -> np.ndarray:
    """Ideal code length (bits) of each index under :func:`spread_bucket_probabilities`.

    .. math:: \\ell(n) = -\\log_2 P(b(n) \\mid \\mu_c, s_c) + \\max(b(n) - 1, 0)

    (bucket, then its offset in raw bits, as the Zipf code). One (mu_c, s_c) per index.
    """
    idx = np.asarray(indices, dtype=np.int64)
    if idx.ndim != 1 or (idx < 0).any():
        raise ValueError("indices must be a 1-D array of non-negative integers")
    mu = np.broadcast_to(np.asarray(mean_bits, float), idx.shape)
    s = np.broadcast_to(np.asarray(spread, float), idx.shape)
    b = bucket_of(idx)
    out = np.empty(idx.size)
    cache: dict[tuple[float, float], np.ndarray] = {}
    for c in range(idx.size):
        key = (round(float(mu[c]), 6), round(float(s[c]), 6))
        if key not in cache:
            cache[key] = spread_bucket_probabilities(key[0], key[1], reference_bits)
        out[c] = -math.log2(cache[key][b[c]]) + max(int(b[c]) - 1, 0)
    return out


def truncated_bucket_probabilities(mean_bits: float, within_bits: float, scatter_bits: float,
                                   padding: int) -> np.ndarray:
    """P(b) for b = 0..MAX_INDEX_BITS of a *truncated* PFR index, N = 2^(KL_c + padding).

    The chunk's actual KL is KL_c = mu + xi (xi ~ N(0, scatter^2), the decoder does not know
    it) and i = KL_c + zeta (zeta ~ N(0, within^2)), so with W = zeta + log2 U the untruncated
    index V = 2^(KL_c + W) passes N iff W >= padding, independently of KL_c. Then

    .. math::

        P(b) = \\mathbb E\\big[P(V \\in [2^{b-1}, 2^b),\\ W < \\mathrm{pad})\\big]
        + P(W \\ge \\mathrm{pad})\\,\\mathbb E\\Big[\\frac{|[2^{b-1}, 2^b) \\cap [0, N)|}{N}\\Big]

    (a truncated chunk's index taken as uniform on [0, N)), expectations over xi and zeta by
    Gauss-Hermite quadrature (zeta) and a fine grid (xi); b = 0 is V < 1 (resp. the index 0).
    Derived here; the uniform law of a truncated chunk's index is our approximation. Escape mass as
    :func:`spread_bucket_probabilities` above bucket ceil(mu + 4 scatter) + padding.

    Parameters
    ----------
    mean_bits : float >= 0, mu (the chunk's expected KL, bits)
    within_bits, scatter_bits : floats >= 0 (bits), not both 0
    padding : int in [0, MAX_INDEX_BITS]

    Returns
    -------
    float64 array of MAX_INDEX_BITS + 1 probabilities summing to 1
    """
    mu = float(check_nonnegative(mean_bits, "mean_bits"))
    sw = float(check_nonnegative(within_bits, "within_bits"))
    sk = float(check_nonnegative(scatter_bits, "scatter_bits"))
    pad = check_int(padding, "padding", low=0, high=MAX_INDEX_BITS)
    x, w = np.polynomial.hermite_e.hermegauss(_NODES)
    w = w / w.sum()
    zeta = sw * x  # zeta nodes
    # KL_c on a fine grid (the truncated share has kinks in KL_c, which quadrature resolves
    # badly): +-8 s.d., Gaussian weights
    g = np.linspace(-8.0, 8.0, _KL_GRID)
    wk = np.exp(-0.5 * g * g)
    wk /= wk.sum()
    kl = mu + sk * g
    b = np.arange(MAX_INDEX_BITS + 1, dtype=float)
    lo = np.where(b == 0, 0.0, 2.0 ** (b - 1))  # bucket b = [lo, hi)
    hi = np.where(b == 0, 1.0, 2.0**b)
    # untruncated: U in [lo, hi) 2^-(KL + zeta) and U < 2^(pad - zeta)
    scale = 2.0 ** -(kl[:, None] + zeta[None, :])  # (xi, zeta)
    cap = 2.0 ** (pad - zeta)[None, :, None]
    a = np.minimum(lo[None, None, :] * scale[..., None], cap)
    c = np.minimum(hi[None, None, :] * scale[..., None], cap)
    main = np.exp(-a) - np.exp(-c)  # (xi, zeta, b)
    main = np.einsum("i,j,ijb->b", wk, w, main)
    p_trunc = float(np.sum(w * np.exp(-(2.0 ** (pad - zeta)))))
    n_cand = 2.0 ** (kl + pad)  # (xi,)
    share = (np.clip(np.minimum(hi[None, :], n_cand[:, None]) - lo[None, :], 0.0, None)
             / n_cand[:, None])  # fmt: skip
    p = main + p_trunc * (wk @ share)
    top = min(math.ceil(mu + 4.0 * sk) + pad, MAX_INDEX_BITS)
    p = np.maximum(p, 1e-300)  # clamp round-off: every bucket stays codable
    n_escape = MAX_INDEX_BITS - top
    out = np.zeros(MAX_INDEX_BITS + 1)
    out[: top + 1] = p[: top + 1] / p[: top + 1].sum() * (1.0 - (ESCAPE_MASS if n_escape else 0.0))
    if n_escape:
        tail = 0.5 ** np.arange(1, n_escape + 1)
        out[top + 1 :] = ESCAPE_MASS * tail / tail.sum()
    return out
