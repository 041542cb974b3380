"""Selection rules behind one interface: truncated PFR and ORC (fused kernels), early-stopped PFR.

``pfr`` and ``orc`` go to :func:`rdptheory.kernels.pfr_select` (many chunks per call, any
backend). ``pfr_es`` is exact PFR with early stopping when the density ratio is bounded
(sigma_q < sigma_p, or sigma_q = sigma_p with mu_q = mu_p, coordinate-wise): it scores the same
shared candidates and the same encoder arrival times as the kernels, block by block, and stops
as soon as no later candidate can win, so its index equals truncated PFR's whenever that index
is below N_c.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rdptheory import kernels
from rdptheory.kernels._philox import exponentials_block

from ._index_coding import MAX_INDEX_BITS

#: pfr_es scores at most 2**(log2 N_c + ES_EXTRA_BITS) candidates (then it truncates).
ES_EXTRA_BITS = 10
ES_BLOCK_CANDIDATE_DIMS = 1 << 16


class Selection(NamedTuple):
    """Per-chunk selected index, its log-weight (nats) and candidates scored."""

    indices: np.ndarray
    log_weights: np.ndarray
    scored: np.ndarray


def log_weight_bound(mu_q, sigma_q, mu_p, sigma_p) -> np.ndarray:
    """Per-coordinate sup_z log q/p(z) (nats); +inf where the ratio is unbounded.

    .. math::

        \\sup_z \\log\\frac{q(z)}{p(z)} = \\frac{(\\mu_q-\\mu_p)^2}{2(\\sigma_p^2-\\sigma_q^2)}
        + \\log\\frac{\\sigma_p}{\\sigma_q}\\quad(\\sigma_q < \\sigma_p)

    Derived (THEORY.md §5): the log-ratio is a concave quadratic in z iff sigma_q < sigma_p.
    """
    var_gap = sigma_p**2 - sigma_q**2
    delta = mu_q - mu_p
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(var_gap > 0, 0.5 * delta**2 / var_gap + np.log(sigma_p / sigma_q), np.inf)
    return np.where((var_gap == 0) & (delta == 0), 0.0, bound)


def select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, *, seed, encoder_seed, stream,
           algorithm, backend) -> Selection:  # fmt: skip
    """Dispatch to the selection rule ``algorithm`` (inputs validated by the caller)."""
    if algorithm == "pfr_es":
        return _select_early_stop(mu_q, sigma_q, mu_p, sigma_p, starts, bits, seed=seed,
                                  encoder_seed=encoder_seed, stream=stream)  # fmt: skip
    res = kernels.pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, seed=seed,
                             encoder_seed=encoder_seed, stream=stream, algorithm=algorithm,
                             backend=backend)  # fmt: skip
    return Selection(res.indices, res.log_weights, np.left_shift(1, bits).astype(np.int64))


def _select_early_stop(mu_q, sigma_q, mu_p, sigma_p, starts, bits, *, seed, encoder_seed,
                       stream) -> Selection:  # fmt: skip
    """Exact PFR, K = argmin_n log T_n - log w_n, stopped once log T_n - log w_max > best."""
    bound = log_weight_bound(mu_q, sigma_q, mu_p, sigma_p)
    out = [
        _early_stop_chunk(
            tuple(a[lo:hi] for a in (mu_q, sigma_q, mu_p, sigma_p)),
            float(bound[lo:hi].sum()), c, int(bits[c]), seed, encoder_seed, stream,
        )
        for c, (lo, hi) in enumerate(zip(starts[:-1], starts[1:]))
    ]  # fmt: skip
    return Selection(*(np.array(column) for column in zip(*out)))


class _Pick(NamedTuple):
    """One chunk's selected index, its log-weight (nats) and the candidates scored."""

    selected: int
    log_weight: float
    scored: int


def _early_stop_chunk(params, lw_max, chunk, n_bits, seed, encoder_seed, stream) -> _Pick:
    """One chunk of :func:`_select_early_stop`.

    .. math:: \\text{stop once}\\ \\log T_n - \\log \\bar w > \\min_{m \\le n}
              (\\log T_m - \\log w_m),\\quad \\bar w = \\sup_z q(z)/p(z)

    (T_n increase with n, so no later candidate can win; derived, THEORY.md §5).
    """
    mu_q, sigma_q, mu_p, sigma_p = params
    dims = mu_q.size
    cap = 1 << min(MAX_INDEX_BITS, n_bits + ES_EXTRA_BITS)
    # first block ~ N_c, then doubling up to ~ES_BLOCK_CANDIDATE_DIMS candidate-dims
    block, max_block = 1 << n_bits, max(1, ES_BLOCK_CANDIDATE_DIMS // dims)
    best, best_n, best_lw, t_carry, start = np.inf, 0, 0.0, 0.0, 0
    while start < cap:
        n = np.arange(start, min(start + block, cap), dtype=np.int64)
        eps = kernels.candidate_normals(seed, stream, chunk, n, dims).astype(np.float64)
        z = mu_p + sigma_p * eps
        lw = (-((z - mu_q) ** 2) / (2.0 * sigma_q**2) + (z - mu_p) ** 2 / (2.0 * sigma_p**2)
              - np.log(sigma_q) + np.log(sigma_p)).sum(axis=-1)  # fmt: skip
        t = np.cumsum(np.concatenate([[t_carry], exponentials_block(encoder_seed, stream,
                                                                    chunk, n)]))[1:]  # fmt: skip
        t_carry = t[-1]
        score = np.log(t) - lw
        i = int(np.argmin(score))
        if score[i] < best:  # strict: ties keep the earliest candidate (as the kernels)
            best, best_n, best_lw = score[i], start + i, lw[i]
        start, block = int(n[-1]) + 1, min(2 * block, max_block)
        if np.log(t_carry) - lw_max > best:  # no later candidate can score below best
            break
    return _Pick(best_n, float(best_lw), start)
