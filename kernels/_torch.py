"""The ``torch`` backend: the reference layout vectorised with torch (CPU or CUDA).

int64 tensors hold the 32-bit Philox words; a 32 x 32-bit product wraps mod 2**64 and its high
word is ``(p >> 32) & 0xFFFFFFFF`` (the arithmetic shift's sign bits are masked off). torch is
imported lazily; the device is CUDA when available, else CPU.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ._api import NORMALS, SAMPLES, SELECT, SelectProblem
from ._philox import (
    BOX_MULLER_MIN_U,
    ENCODER_STREAM_BIT,
    MASK32,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_ROUNDS,
    PHILOX_W0,
    PHILOX_W1,
    TWO_PI,
    UNIFORM_SCALE,
    seed_key,
)

BLOCK_CANDIDATE_DIMS = 1 << 20


def _available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def philox_torch(c: list, k0: int, k1: int) -> list:
    """Ten Philox4x32 rounds on int64 tensors holding 32-bit words."""
    c0, c1, c2, c3 = c
    for _ in range(PHILOX_ROUNDS):
        p0, p1 = c0 * PHILOX_M0, c2 * PHILOX_M1  # wraps mod 2**64; low 64 bits exact
        c0, c1, c2, c3 = (
            ((p1 >> 32) & MASK32) ^ c1 ^ k0,
            p1 & MASK32,
            ((p0 >> 32) & MASK32) ^ c3 ^ k1,
            p0 & MASK32,
        )
        k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    return [c0, c1, c2, c3]


def _uniform(x):
    import torch

    v = torch.where(x >= 2**31, x ^ MASK32, x)  # int32 x < 0 -> ~x
    return v.to(torch.float32) * float(UNIFORM_SCALE)


def _box_muller(x0, x1):
    import torch

    u0 = torch.clamp(_uniform(x0), min=float(BOX_MULLER_MIN_U))
    theta = _uniform(x1) * float(TWO_PI)
    # torch's float32 CPU sqrt is not correctly rounded; sqrt in float64 then rounding is
    r = torch.sqrt((-2.0 * torch.log(u0.double()).float()).double()).float()
    return r * torch.cos(theta.double()).float(), r * torch.sin(theta.double()).float()


def normals_torch(key: tuple[int, int], stream: int, chunk: int, n, dims: int):
    """float32 (len(n), dims) normals for an int64 tensor of candidate indices ``n``."""
    import torch

    q = torch.arange((dims + 3) // 4, dtype=torch.int64, device=n.device)
    c1, c0 = torch.meshgrid(n, q, indexing="ij")
    zero = torch.zeros_like(c0)
    w = philox_torch([c0, c1, zero + chunk, zero + stream], *key)
    n0, n1 = _box_muller(w[0], w[1])
    n2, n3 = _box_muller(w[2], w[3])
    return torch.stack([n0, n1, n2, n3], dim=-1).reshape(n.numel(), -1)[:, :dims]


def _exponentials(key: tuple[int, int], stream: int, chunk: int, n):
    """float64 Exp(1) increments for an int64 tensor of candidate indices ``n``."""
    import torch

    zero = torch.zeros_like(n)
    w = philox_torch([n >> 2, zero + chunk, zero, zero + (stream | ENCODER_STREAM_BIT)], *key)
    words = torch.stack(w, dim=-1).gather(1, (n & 3)[:, None])[:, 0]
    return -torch.log((words.double() + 0.5) * 2.0**-32)


def _select_chunk(problem: SelectProblem, coef, c: int, device) -> tuple[int, float]:
    """argmin_n log T_n - log w_n for one chunk, in candidate blocks (float64 scoring)."""
    import torch

    lo, hi = int(problem.chunk_starts[c]), int(problem.chunk_starts[c + 1])
    a, b = (torch.as_tensor(x[lo:hi], device=device) for x in coef[:2])
    const = float(coef[2][lo:hi].sum())
    n_cand, chunk = 1 << int(problem.log2_candidates[c]), problem.chunk_offset + c
    block = max(1, BLOCK_CANDIDATE_DIMS // (hi - lo))
    best, best_n, best_lw = float("inf"), 0, 0.0
    t_carry = torch.zeros(1, dtype=torch.float64, device=device)
    for start in range(0, n_cand, block):
        n = torch.arange(start, min(start + block, n_cand), dtype=torch.int64, device=device)
        eps = normals_torch(seed_key(problem.seed), problem.stream, chunk, n, hi - lo).double()
        lw = ((a * eps + b) * eps).sum(dim=1) + const
        e = _exponentials(seed_key(problem.encoder_seed), problem.stream, chunk, n)
        if problem.algorithm == "orc":
            e = e / (n_cand - n).double()  # Renyi: E_k / (N - k + 1)
        t = torch.cumsum(torch.cat([t_carry, e]), dim=0)[1:]
        t_carry = t[-1:]
        score = torch.log(t) - lw
        i = int(torch.argmin(score))
        if float(score[i]) < best:
            best, best_n, best_lw = float(score[i]), start + i, float(lw[i])
    return best_n, best_lw


@SELECT.register("torch", available=_available)
def select_torch(problem: SelectProblem) -> tuple[np.ndarray, np.ndarray]:
    """PFR/ORC selection with torch, one chunk at a time (CUDA when available)."""
    coef = problem.quadratic_coefficients()
    out = [_select_chunk(problem, coef, c, _device()) for c in range(problem.n_chunks)]
    return np.array([o[0] for o in out], np.int64), np.array([o[1] for o in out], np.float64)


@NORMALS.register("torch", available=_available)
def normals_torch_backend(seed: int, stream: int, chunk: int, n: np.ndarray, dims: int):
    """float32 (len(n), dims) candidate normals (torch)."""
    import torch

    idx = torch.as_tensor(n, dtype=torch.int64, device=_device())
    return normals_torch(seed_key(seed), stream, chunk, idx, dims).cpu().numpy()


@SAMPLES.register("torch", available=_available)
def samples_torch(mu_p, sigma_p, starts, indices, seed, stream, chunk_offset) -> np.ndarray:
    """mu_p + sigma_p * eps of the selected candidates (torch)."""
    import torch

    eps = [
        normals_torch(
            seed_key(seed), stream, chunk_offset + c,
            torch.tensor([int(k)], dtype=torch.int64, device=_device()),
            int(starts[c + 1] - starts[c]),
        )[0].cpu().numpy()
        for c, k in enumerate(indices)
    ]  # fmt: skip
    return mu_p + sigma_p * np.concatenate(eps).astype(np.float64)
