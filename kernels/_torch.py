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


def normals_grid(key: tuple[int, int], stream: int, chunks, n, dims: int):
    """float32 (len(chunks), len(n), dims) normals for int64 tensors of chunk ids and indices."""
    import torch

    q = torch.arange((dims + 3) // 4, dtype=torch.int64, device=n.device)
    zero = torch.zeros((chunks.numel(), n.numel(), q.numel()), dtype=torch.int64, device=n.device)
    w = philox_torch(
        [zero + q, zero + n[None, :, None], zero + chunks[:, None, None], zero + stream], *key
    )
    n0, n1 = _box_muller(w[0], w[1])
    n2, n3 = _box_muller(w[2], w[3])
    eps = torch.stack([n0, n1, n2, n3], dim=-1)  # (chunks, n, words, 4)
    return eps.reshape(chunks.numel(), n.numel(), -1)[..., :dims]


def normals_torch(key: tuple[int, int], stream: int, chunk: int, n, dims: int):
    """float32 (len(n), dims) normals of one chunk for an int64 tensor of candidates ``n``."""
    import torch

    chunks = torch.tensor([chunk], dtype=torch.int64, device=n.device)
    return normals_grid(key, stream, chunks, n, dims)[0]


def _exponentials(key: tuple[int, int], stream: int, chunks, n):
    """float64 (len(chunks), len(n)) Exp(1) increments for candidate indices ``n``."""
    import torch

    zero = torch.zeros((chunks.numel(), n.numel()), dtype=torch.int64, device=n.device)
    w = philox_torch(
        [zero + (n >> 2), zero + chunks[:, None], zero, zero + (stream | ENCODER_STREAM_BIT)], *key
    )
    words = torch.stack(w, dim=-1).gather(2, (zero + (n & 3))[..., None])[..., 0]
    return -torch.log((words.double() + 0.5) * 2.0**-32)


def _select_group(problem: SelectProblem, coef, cs: np.ndarray, device):
    """Selection for chunks ``cs`` of equal width and candidate count, batched (float64)."""
    import torch

    lo, width = problem.chunk_starts[cs], int(np.diff(problem.chunk_starts)[cs[0]])
    cols = lo[:, None] + np.arange(width)  # (G, width) dims of every chunk
    a, b = (torch.as_tensor(x[cols], device=device) for x in coef[:2])
    const = torch.as_tensor(coef[2][cols].sum(axis=1), device=device)
    chunks = torch.as_tensor(problem.chunk_offset + cs, dtype=torch.int64, device=device)
    n_cand = 1 << int(problem.log2_candidates[cs[0]])
    block = max(1, min(n_cand, BLOCK_CANDIDATE_DIMS // (len(cs) * width)))
    best = torch.full((len(cs),), float("inf"), dtype=torch.float64, device=device)
    best_n = torch.zeros(len(cs), dtype=torch.int64, device=device)
    best_lw = torch.zeros(len(cs), dtype=torch.float64, device=device)
    t_carry = torch.zeros((len(cs), 1), dtype=torch.float64, device=device)
    for start in range(0, n_cand, block):
        n = torch.arange(start, min(start + block, n_cand), dtype=torch.int64, device=device)
        eps = normals_grid(seed_key(problem.seed), problem.stream, chunks, n, width).double()
        lw = ((a[:, None, :] * eps + b[:, None, :]) * eps).sum(dim=2) + const[:, None]
        e = _exponentials(seed_key(problem.encoder_seed), problem.stream, chunks, n)
        if problem.algorithm == "orc":
            e = e / (n_cand - n).double()  # Renyi: E_k / (N - k + 1)
        t = torch.cumsum(torch.cat([t_carry, e], dim=1), dim=1)[:, 1:]  # left-to-right sums
        t_carry = t[:, -1:]
        score = torch.log(t) - lw
        arg = torch.argmin(score, dim=1)  # first minimum: ties keep the earliest candidate
        val = score.gather(1, arg[:, None])[:, 0]
        better = val < best
        best = torch.where(better, val, best)
        best_n = torch.where(better, start + arg, best_n)
        best_lw = torch.where(better, lw.gather(1, arg[:, None])[:, 0], best_lw)
    return best_n.cpu().numpy(), best_lw.cpu().numpy()


def _groups(problem: SelectProblem) -> list[np.ndarray]:
    """Chunks of equal (width, candidate bits), split so one block holds ~2^20 candidate-dims."""
    widths = np.diff(problem.chunk_starts)
    keys = widths * 64 + problem.log2_candidates
    out = []
    for key in np.unique(keys):
        cs = np.flatnonzero(keys == key)
        per = max(1, BLOCK_CANDIDATE_DIMS // (int(widths[cs[0]]) * 256))
        out += [cs[i : i + per] for i in range(0, cs.size, per)]
    return out


@SELECT.register("torch", available=_available)
def select_torch(problem: SelectProblem) -> tuple[np.ndarray, np.ndarray]:
    """PFR/ORC selection with torch, batched over chunks of equal shape (CUDA when available)."""
    coef = problem.quadratic_coefficients()
    idx = np.zeros(problem.n_chunks, np.int64)
    lw = np.zeros(problem.n_chunks, np.float64)
    for cs in _groups(problem):
        idx[cs], lw[cs] = _select_group(problem, coef, cs, _device())
    return idx, lw


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
