"""Triton kernels: fused candidate generation, scoring and running best (one program per chunk).

Philox is ``triton.language.random.philox`` (so the integers are Triton's own, bit-exact with
``tl.randint4x``); the uniform map is Triton's ``uint_to_uniform_float``; Box-Muller evaluates
``log``/``cos``/``sin`` in float64 and rounds to float32 and uses ``sqrt_rn``, as the reference
does. Scores accumulate in float64 (log-weights over thousands of dims must not lose the ~1e-7
gaps that decide the argmin). All offsets are int64. Imported lazily (this module imports triton).
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _box_muller(x0, x1):
    """Two float32 normals from two uint32 words (the reference transform)."""
    u0 = tl.maximum(1.0e-7, tl.random.uint_to_uniform_float(x0))
    theta = 6.283185307179586 * tl.random.uint_to_uniform_float(x1)
    r = tl.sqrt_rn(-2.0 * tl.log(u0.to(tl.float64)).to(tl.float32))
    cos_t = tl.cos(theta.to(tl.float64)).to(tl.float32)
    sin_t = tl.sin(theta.to(tl.float64)).to(tl.float32)
    return r * cos_t, r * sin_t


@triton.jit
def _normals4(seed, q, n, chunk, stream):
    """randn4x of philox((q, n, chunk, stream)); q, n broadcastable uint32 blocks."""
    zero = (q * 0 + n * 0).to(tl.uint32)
    c0 = q.to(tl.uint32) + zero
    c1 = n.to(tl.uint32) + zero
    w0, w1, w2, w3 = tl.random.philox(seed, c0, c1, zero + chunk, zero + stream)
    e0, e1 = _box_muller(w0, w1)
    e2, e3 = _box_muller(w2, w3)
    return e0, e1, e2, e3


@triton.jit
def _arrivals(encoder_seed, n, chunk, stream_enc):
    """Exp(1) increments E_n from the encoder counters (n // 4, chunk, 0, stream | 2^31)."""
    zero = (n * 0).to(tl.uint32)
    w0, w1, w2, w3 = tl.random.philox(
        encoder_seed, (n >> 2).to(tl.uint32), zero + chunk, zero, zero + stream_enc
    )
    lane = n & 3
    w = tl.where(lane == 0, w0, tl.where(lane == 1, w1, tl.where(lane == 2, w2, w3)))
    return -tl.log((w.to(tl.float64) + 0.5) * 2.3283064365386963e-10)


@triton.jit
def _lane_term(a_ptr, b_ptr, offs, mask, e):
    """(a_j eps_j + b_j) eps_j in float64 for one lane; masked words contribute 0."""
    a = tl.load(a_ptr + offs, mask=mask, other=0.0)
    b = tl.load(b_ptr + offs, mask=mask, other=0.0)
    e = e.to(tl.float64)
    return (a[None, :] * e + b[None, :]) * e


@triton.jit
def _block_log_weights(a_ptr, b_ptr, pstart, n_words, const, seed, n, chunk, stream,
                       BLOCK_N: tl.constexpr, BLOCK_Q: tl.constexpr):  # fmt: skip
    """log w for a block of candidates n: const + sum_j (a_j eps_j + b_j) eps_j (float64)."""
    acc = tl.zeros((BLOCK_N,), tl.float64) + const
    for q0 in range(0, n_words, BLOCK_Q):
        q = q0 + tl.arange(0, BLOCK_Q).to(tl.int64)
        qmask = q < n_words
        e0, e1, e2, e3 = _normals4(seed, q[None, :], n[:, None], chunk, stream)
        base = pstart + 4 * q
        part = _lane_term(a_ptr, b_ptr, base, qmask, e0)
        part += _lane_term(a_ptr, b_ptr, base + 1, qmask, e1)
        part += _lane_term(a_ptr, b_ptr, base + 2, qmask, e2)
        part += _lane_term(a_ptr, b_ptr, base + 3, qmask, e3)
        acc += tl.sum(part, axis=1)
    return acc


@triton.jit(do_not_specialize=["seed", "encoder_seed", "chunk_offset", "stream"])
def rcc_select_kernel(a_ptr, b_ptr, pstarts_ptr, const_ptr, log2n_ptr, idx_ptr, lw_ptr,
                      seed, encoder_seed, chunk_offset, stream, ORC: tl.constexpr,
                      BLOCK_N: tl.constexpr, BLOCK_Q: tl.constexpr):  # fmt: skip
    """One program per chunk: running argmin of log T_n - log w_n over candidate blocks."""
    pid = tl.program_id(0).to(tl.int64)
    pstart = tl.load(pstarts_ptr + pid)
    n_words = (tl.load(pstarts_ptr + pid + 1) - pstart) // 4
    const = tl.load(const_ptr + pid)
    n_cand = tl.full((), 1, tl.int64) << tl.load(log2n_ptr + pid)
    chunk = (chunk_offset + pid).to(tl.uint32)
    stream_enc = (stream.to(tl.int64) | 0x80000000).to(tl.uint32)
    best = tl.full((), float("inf"), tl.float64)
    best_n = tl.full((), 0, tl.int64)
    best_lw = tl.full((), 0.0, tl.float64)
    t_carry = tl.full((), 0.0, tl.float64)
    for n0 in range(0, n_cand, BLOCK_N):
        n = n0 + tl.arange(0, BLOCK_N).to(tl.int64)
        nmask = n < n_cand
        lw = _block_log_weights(a_ptr, b_ptr, pstart, n_words, const, seed, n, chunk,
                                stream.to(tl.uint32), BLOCK_N, BLOCK_Q)  # fmt: skip
        e = tl.where(nmask, _arrivals(encoder_seed, n, chunk, stream_enc), 0.0)
        if ORC:
            e = e / tl.where(nmask, n_cand - n, 1).to(tl.float64)  # Renyi: E_k / (N - k + 1)
        t = t_carry + tl.cumsum(e, axis=0)
        t_carry = tl.max(t, axis=0)  # T is non-decreasing; masked tail adds 0
        score = tl.where(nmask, tl.log(t) - lw, float("inf"))
        blk_best = tl.min(score, axis=0)
        blk_arg = tl.argmin(score, axis=0)
        better = blk_best < best
        best_lw = tl.where(better, tl.sum(tl.where(n == n0 + blk_arg, lw, 0.0), axis=0), best_lw)
        best_n = tl.where(better, n0 + blk_arg, best_n)
        best = tl.where(better, blk_best, best)
    tl.store(idx_ptr + pid, best_n)
    tl.store(lw_ptr + pid, best_lw)


@triton.jit(do_not_specialize=["n_count", "n_words", "seed", "chunk", "stream"])
def normals_kernel(out_ptr, n_ptr, n_count, n_words, seed, chunk, stream,
                   BLOCK_N: tl.constexpr, BLOCK_Q: tl.constexpr):  # fmt: skip
    """out[i, 4q + l] = lane l of randn4x(philox((q, n[i], chunk, stream))); out (n, 4 n_words)."""
    i = tl.program_id(0).to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N).to(tl.int64)
    imask = i < n_count
    n = tl.load(n_ptr + i, mask=imask, other=0)
    for q0 in range(0, n_words, BLOCK_Q):
        q = q0 + tl.arange(0, BLOCK_Q).to(tl.int64)
        mask = imask[:, None] & (q < n_words)[None, :]
        e0, e1, e2, e3 = _normals4(seed, q[None, :], n[:, None], chunk.to(tl.uint32),
                                   stream.to(tl.uint32))  # fmt: skip
        base = out_ptr + i[:, None] * (4 * n_words) + 4 * q[None, :]
        tl.store(base, e0, mask=mask)
        tl.store(base + 1, e1, mask=mask)
        tl.store(base + 2, e2, mask=mask)
        tl.store(base + 3, e3, mask=mask)
