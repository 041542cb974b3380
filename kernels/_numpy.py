"""The ``numpy`` backend: readable float64 reference (the source of truth, STYLE.md §9)."""

from __future__ import annotations

import numpy as np

from ._api import NORMALS, SAMPLES, SELECT, SelectProblem
from ._philox import exponentials_block, normals_block

BLOCK_CANDIDATE_DIMS = 1 << 20  # candidates x dims scored per numpy block (bounds memory)


@NORMALS.register("numpy")
def normals_numpy(seed: int, stream: int, chunk: int, n: np.ndarray, dims: int) -> np.ndarray:
    """float32 (len(n), dims) normals by the reference Philox + Box-Muller."""
    return normals_block(seed, stream, chunk, n, dims)


def log_weight(z: np.ndarray, mu_q, sigma_q, mu_p, sigma_p) -> np.ndarray:
    """log q/p (z) for diagonal Gaussians, summed over the last axis (THEORY.md §5), nats."""
    terms = (
        -((z - mu_q) ** 2) / (2.0 * sigma_q**2)
        + (z - mu_p) ** 2 / (2.0 * sigma_p**2)
        - np.log(sigma_q)
        + np.log(sigma_p)
    )
    return terms.sum(axis=-1)


def _select_chunk(problem: SelectProblem, c: int) -> tuple[int, float]:
    """Selected (index, log-weight) of chunk ``c``: argmin_n log T_n - log w_n."""
    lo, hi = problem.chunk_starts[c], problem.chunk_starts[c + 1]
    dims, n_cand = int(hi - lo), 1 << int(problem.log2_candidates[c])
    chunk = problem.chunk_offset + c
    block = max(1, BLOCK_CANDIDATE_DIMS // dims)
    sl = slice(lo, hi)
    best, best_n, best_lw, t_carry = np.inf, 0, 0.0, 0.0
    for start in range(0, n_cand, block):
        n = np.arange(start, min(start + block, n_cand), dtype=np.int64)
        eps = normals_block(problem.seed, problem.stream, chunk, n, dims)
        z = problem.mu_p[sl] + problem.sigma_p[sl] * eps.astype(np.float64)
        lw = log_weight(z, problem.mu_q[sl], problem.sigma_q[sl], problem.mu_p[sl],
                        problem.sigma_p[sl])  # fmt: skip
        e = exponentials_block(problem.encoder_seed, problem.stream, chunk, n)
        if problem.algorithm == "orc":
            e = e / (n_cand - n)  # Renyi: E_k / (N - k + 1) with k = n + 1
        t = np.cumsum(np.concatenate([[t_carry], e]))[1:]  # left-to-right float64 sum
        t_carry = t[-1]
        score = np.log(t) - lw
        i = int(np.argmin(score))
        if score[i] < best:  # strict: ties keep the earliest candidate
            best, best_n, best_lw = score[i], start + i, lw[i]
    return best_n, float(best_lw)


@SELECT.register("numpy")
def select_numpy(problem: SelectProblem) -> tuple[np.ndarray, np.ndarray]:
    """Reference PFR/ORC selection, one chunk at a time, float64 scoring."""
    out = [_select_chunk(problem, c) for c in range(problem.n_chunks)]
    return np.array([o[0] for o in out], np.int64), np.array([o[1] for o in out], np.float64)


@SAMPLES.register("numpy")
def samples_numpy(mu_p, sigma_p, starts, indices, seed, stream, chunk_offset) -> np.ndarray:
    """Reference decoder: mu_p + sigma_p * eps of the selected candidate of every chunk."""
    out = np.empty_like(mu_p)
    for c, k in enumerate(indices):
        sl = slice(starts[c], starts[c + 1])
        dims = int(starts[c + 1] - starts[c])
        eps = normals_block(seed, stream, chunk_offset + c, np.array([k]), dims)
        out[sl] = mu_p[sl] + sigma_p[sl] * eps[0].astype(np.float64)
    return out
