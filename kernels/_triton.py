"""The ``triton`` backend: launchers for :mod:`._triton_kernels` (STYLE.md §9).

Each launcher validates nothing (the public functions did), allocates outputs, builds the grid
(one program per chunk for selection: many chunks per launch, no per-chunk host sync) and
launches. Available on CUDA, or on the CPU under ``TRITON_INTERPRET=1`` (tests; slow).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from ._api import NORMALS, SAMPLES, SELECT, SelectProblem, cuda_available
from ._numba import padded_coefficients


def _available() -> bool:
    if importlib.util.find_spec("triton") is None or importlib.util.find_spec("torch") is None:
        return False
    return cuda_available() or os.environ.get("TRITON_INTERPRET") == "1"


def _blocks() -> tuple[int, int]:
    """(BLOCK_N, BLOCK_Q): big tiles on a GPU, tiny ones for the CPU interpreter."""
    return (128, 16) if cuda_available() else (256, 16)


def _signed64(seed: int) -> int:
    """A 64-bit seed as the int64 with the same bits (Triton scalars are signed)."""
    return seed - 2**64 if seed >= 2**63 else seed


def _tensor(x: np.ndarray):
    import torch

    return torch.as_tensor(np.ascontiguousarray(x), device="cuda" if cuda_available() else "cpu")


@SELECT.register("triton", available=_available)
def select_triton(
    problem: SelectProblem, blocks: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fused PFR/ORC selection: one Triton launch for every chunk (tiles ``blocks``)."""
    import torch

    from . import _triton_kernels

    a, b, pstarts = padded_coefficients(problem)
    const = problem.chunk_constants(problem.quadratic_coefficients()[2])
    idx = _tensor(np.zeros(problem.n_chunks, np.int64))
    lw = _tensor(np.zeros(problem.n_chunks, np.float64))
    block_n, block_q = blocks or _blocks()
    _triton_kernels.rcc_select_kernel[(problem.n_chunks,)](
        _tensor(a), _tensor(b), _tensor(pstarts), _tensor(const),
        _tensor(problem.log2_candidates), idx, lw,
        _signed64(problem.seed), _signed64(problem.encoder_seed), problem.chunk_offset,
        problem.stream, ORC=problem.algorithm == "orc", BLOCK_N=block_n, BLOCK_Q=block_q,
    )  # fmt: skip
    if idx.is_cuda:
        torch.cuda.synchronize()
    return idx.cpu().numpy(), lw.cpu().numpy()


@NORMALS.register("triton", available=_available)
def normals_triton(seed: int, stream: int, chunk: int, n: np.ndarray, dims: int) -> np.ndarray:
    """float32 (len(n), dims) candidate normals (Triton)."""
    from . import _triton_kernels

    n_words = (dims + 3) // 4
    out = _tensor(np.zeros((n.size, 4 * n_words), np.float32))
    block_n, block_q = _blocks()
    grid = ((n.size + block_n - 1) // block_n,)
    _triton_kernels.normals_kernel[grid](
        out, _tensor(n.astype(np.int64)), n.size, n_words, _signed64(seed), chunk, stream,
        BLOCK_N=block_n, BLOCK_Q=block_q,
    )  # fmt: skip
    return np.ascontiguousarray(out.cpu().numpy()[:, :dims])


@SAMPLES.register("triton", available=_available)
def samples_triton(mu_p, sigma_p, starts, indices, seed, stream, chunk_offset) -> np.ndarray:
    """mu_p + sigma_p * eps of the selected candidates (one small launch per chunk)."""
    eps = [
        normals_triton(seed, stream, chunk_offset + c, np.array([k]), int(starts[c + 1] - lo))[0]
        for c, (k, lo) in enumerate(zip(indices, starts[:-1]))
    ]
    return mu_p + sigma_p * np.concatenate(eps).astype(np.float64)
