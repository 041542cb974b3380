"""The ``numba`` backend: fused CPU loop parallel over chunks (the fast path without a GPU).

Registration is light; :mod:`._numba_kernels` (which imports numba and JIT-compiles, cached on
disk) loads on first use.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ._api import NORMALS, SAMPLES, SELECT, SelectProblem
from ._philox import seed_key


def _available() -> bool:
    return importlib.util.find_spec("numba") is not None


def _kernels():
    from . import _numba_kernels

    return _numba_kernels


def padded_coefficients(problem: SelectProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b) with every chunk zero-padded to a multiple of 4 dims, and the padded starts."""
    a, b, _ = problem.quadratic_coefficients()
    widths = np.diff(problem.chunk_starts)
    padded = 4 * ((widths + 3) // 4)
    pstarts = np.concatenate([[0], np.cumsum(padded)]).astype(np.int64)
    a_pad, b_pad = np.zeros(pstarts[-1]), np.zeros(pstarts[-1])
    # padded position of every real dim: its chunk's padded start + local index
    chunk_of = np.repeat(np.arange(widths.size), widths)
    pos = pstarts[chunk_of] + np.arange(a.size) - problem.chunk_starts[chunk_of]
    a_pad[pos], b_pad[pos] = a, b
    return a_pad, b_pad, pstarts


@SELECT.register("numba", available=_available)
def select_numba(problem: SelectProblem) -> tuple[np.ndarray, np.ndarray]:
    """Fused PFR/ORC selection (numba, prange over chunks)."""
    a, b, pstarts = padded_coefficients(problem)
    const = problem.chunk_constants(problem.quadratic_coefficients()[2])
    key = np.array(seed_key(problem.seed), np.uint64)
    ekey = np.array(seed_key(problem.encoder_seed), np.uint64)
    algorithm = 1 if problem.algorithm == "orc" else 0
    return _kernels().select_chunks(
        a, b, pstarts, const, problem.log2_candidates, key, ekey,
        problem.chunk_offset, problem.stream, algorithm,
    )  # fmt: skip


@NORMALS.register("numba", available=_available)
def normals_numba(seed: int, stream: int, chunk: int, n: np.ndarray, dims: int) -> np.ndarray:
    """float32 (len(n), dims) candidate normals (numba)."""
    key = np.array(seed_key(seed), np.uint64)
    return np.ascontiguousarray(_kernels().normals(n, dims, key, chunk, stream))


@SAMPLES.register("numba", available=_available)
def samples_numba(mu_p, sigma_p, starts, indices, seed, stream, chunk_offset) -> np.ndarray:
    """mu_p + sigma_p * eps of the selected candidates (numba)."""
    key = np.array(seed_key(seed), np.uint64)
    return _kernels().samples(mu_p, sigma_p, starts, indices, key, chunk_offset, stream)
