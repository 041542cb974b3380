"""numba kernels: fused Philox + Box-Muller + scoring loop, parallel over chunks.

Same layout and transforms as :mod:`rdptheory.kernels._philox` (the reference). ``log``,
``sin`` and ``cos`` are branch-free float64 ports of fdlibm (``e_log.c``, ``k_sin.c``,
``k_cos.c``) so that LLVM vectorises the candidate loop (no libm calls); they are accurate to
~1 ulp of float64 and are rounded to float32 exactly where the reference rounds, so the normals
equal the reference's bit-for-bit except with probability ~1e-8 per value (then by 1 ulp).
Imported lazily (this module imports numba).

The selection scores a block of candidates in three short vectorised passes per 4 dims
(Philox words to float32 Box-Muller inputs, Box-Muller in place, the score), the operations of
:func:`box_muller` in the same order, so its normals are bit-identical to :func:`normals`'
(the decoder's); one fused loop body (~500 vector instructions and a long dependency chain per
4 candidates) left the out-of-order core waiting: ``benchmarks/rcc_kernel.py`` measures both.

Compiled code is cached on disk where numba can write (next to this file, or the user cache
folder); where neither is writable (a read-only install and ``$HOME``), :data:`CACHE` falls back
to a private temporary folder for this process, and to no caching if even that fails, instead
of numba's ``cannot cache function`` error.
"""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile

import numpy as np
from numba import njit, prange, types
from numba.core import config as _numba_config
from numba.extending import intrinsic


def _probe() -> int:  # numba picks cache locators per source file: probe with one of ours
    return 0


def _can_cache() -> bool:
    try:
        njit(cache=True)(_probe)
    except RuntimeError:  # "cannot cache function ...: no locator available for file ..."
        return False
    return True


def _cache_setting() -> bool:
    """Whether the kernels below cache on disk; sets a private cache folder if needed."""
    if _can_cache():
        return True
    try:  # a fresh 0700 folder (never a guessable shared one: the cache holds pickled code)
        folder = tempfile.mkdtemp(prefix="rdptheory-numba-cache-")
    except OSError:
        return False
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    old = _numba_config.CACHE_DIR  # type: ignore[attr-defined]
    _numba_config.CACHE_DIR = folder  # type: ignore[attr-defined]
    if _can_cache():
        return True
    _numba_config.CACHE_DIR = old  # type: ignore[attr-defined]
    return False


#: ``cache=`` for every kernel of this module (see the module docstring).
CACHE: bool = _cache_setting()

U64 = np.uint64
M0, M1 = U64(0xD2511F53), U64(0xCD9E8D57)
W0, W1 = U64(0x9E3779B9), U64(0xBB67AE85)
MASK32, SH32, SH31 = U64(0xFFFFFFFF), U64(32), U64(31)
F32_SCALE = np.float32(4.6566127342e-10)
F32_MIN_U = np.float32(1.0e-7)
F32_TWO_PI = np.float32(6.283185307179586)
F32_M2 = np.float32(-2.0)
# fdlibm e_log.c
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
LG1, LG2, LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
LG4, LG5 = 2.222219843214978396e-01, 1.818357216161805012e-01
LG6, LG7 = 1.531383769920937332e-01, 1.479819860511658591e-01
# fdlibm k_sin.c / k_cos.c, and pi/2 split in two (rem_pio2.c pio2_1, pio2_1t)
S1, S2, S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
S4, S5, S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
C1, C2, C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
C4, C5, C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
PIO2_1, PIO2_1T, INV_PIO2 = 1.57079632673412561417e00, 6.07710050650619224932e-11, 2 / np.pi
ORC, PFR = 1, 0


def _bitcast(src, dst, doc: str):
    """An intrinsic reinterpreting a ``src`` value's 64 bits as ``dst`` (C's memcpy)."""
    def typer(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    typer.__name__ = typer.__qualname__ = f"_as_{dst}"
    typer.__doc__ = doc
    return intrinsic(typer)


_as_int64 = _bitcast(types.float64, types.int64,
                     "Reinterpret a float64's bits as int64 (fdlibm's GET_HIGH_WORD).")
_as_float64 = _bitcast(types.int64, types.float64, "Reinterpret an int64's bits as float64.")


@njit(inline="always", cache=CACHE, error_model="numpy")
def log64(x):
    """Natural log of a positive normal float64 (fdlibm ``__ieee754_log``, branch-free)."""
    bits = _as_int64(x)
    hx = bits >> 32
    k = (hx >> 20) - 1023
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000  # normalise the mantissa into [sqrt(2)/2, sqrt(2))
    xm = _as_float64(((hx | (i ^ 0x3FF00000)) << 32) | (bits & 0xFFFFFFFF))
    dk = float(np.int32(k + (i >> 20)))  # |.| <= 1025: int32 -> float64 is vcvtdq2pd (AVX2
    # has no packed int64 -> float64 conversion: an int64 here is converted lane by lane)
    f = xm - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    with_h = dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f)
    without_h = dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f)
    use_h = ((hx - 0x6147A) | (0x6B851 - hx)) > 0
    return with_h if use_h else without_h


@njit(inline="always", cache=CACHE, error_model="numpy")
def cos_sin64(theta):
    """(cos, sin) of 0 <= theta < 2 pi + 1 (quadrant reduction, fdlibm kernels)."""
    k = np.int64(np.int32(theta * INV_PIO2 + 0.5))  # 0 <= . < 5: packed vcvttpd2dq, not scalar
    x = (theta - k * PIO2_1) - k * PIO2_1T
    z = x * x
    sn = x + z * x * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))))
    r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))))
    cs = 1.0 - (0.5 * z - z * r)
    # quadrant q = k mod 4: (cos, sin) = (cs, sn), (-sn, cs), (-cs, -sn), (sn, -cs); written
    # as one-level selects, which LLVM if-converts (nested ternaries stay branches)
    swap = (k & 1) == 1
    c_abs = sn if swap else cs
    s_abs = cs if swap else sn
    c_out = -c_abs if ((k + 1) & 2) != 0 else c_abs
    s_out = -s_abs if (k & 2) != 0 else s_abs
    return c_out, s_out


@njit(inline="always", cache=CACHE, error_model="numpy")
def _round(c0, c1, c2, c3, k0, k1):
    """One Philox4x32 round; returns the new counter words and the bumped key."""
    p0 = c0 * M0
    p1 = c2 * M1
    return (
        (p1 >> SH32) ^ c1 ^ k0,
        p1 & MASK32,
        (p0 >> SH32) ^ c3 ^ k1,
        p0 & MASK32,
        (k0 + W0) & MASK32,
        (k1 + W1) & MASK32,
    )


@njit(inline="always", cache=CACHE, error_model="numpy")
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 on uint64 lanes holding 32-bit words, unrolled by hand: LLVM vectorises
    only innermost loops, so a 10-trip round loop here would keep the candidate loop scalar."""
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, k0, k1 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3, _, _ = _round(c0, c1, c2, c3, k0, k1)
    return c0, c1, c2, c3


@njit(inline="always", cache=CACHE, error_model="numpy")
def uniform(x):
    """Triton's uint_to_uniform_float (float32)."""
    v = x ^ ((x >> SH31) * MASK32)  # int32 x < 0 -> ~x
    return np.float32(np.int32(v)) * F32_SCALE


@njit(inline="always", cache=CACHE, error_model="numpy")
def radius(u0):
    """Box-Muller radius float32(sqrt(-2 float32(log u0))) of a float32 u0 >= 1e-7."""
    # sqrt of a float32 in float64, rounded once, is the correctly rounded float32 sqrt; it is
    # also llvm.sqrt.f64 (vectorisable) where numba's float32 sqrt calls libm's sqrtf
    return np.float32(math.sqrt(np.float64(F32_M2 * np.float32(log64(np.float64(u0))))))


@njit(inline="always", cache=CACHE, error_model="numpy")
def cos_sin32(theta):
    """(cos, sin) of a float32 0 <= theta < 2 pi + 1, each rounded once to float32."""
    c, s = cos_sin64(np.float64(theta))
    return np.float32(c), np.float32(s)


@njit(inline="always", cache=CACHE, error_model="numpy")
def polar_inputs(x0, x1):
    """Box-Muller's float32 inputs of two words: (max(1e-7, U(x0)), 2 pi U(x1))."""
    return max(F32_MIN_U, uniform(x0)), F32_TWO_PI * uniform(x1)


@njit(inline="always", cache=CACHE, error_model="numpy")
def box_muller(x0, x1):
    """Two float32 normals from two words (reference transcendental rounding)."""
    u0, theta = polar_inputs(x0, x1)
    r = radius(u0)
    c, s = cos_sin32(theta)
    return r * c, r * s


@njit(inline="always", cache=CACHE, error_model="numpy")
def exponential(x):
    """Exp(1) variate -log((x + 1/2) 2^-32) in float64 of a 32-bit word x."""
    # via uint32: AVX2 converts uint32 lanes to float64 packed, uint64 lanes one by one
    return -log64((np.float64(np.uint32(x)) + 0.5) * 2.3283064365386963e-10)


@njit(cache=CACHE, error_model="numpy")
def _box_muller_inputs(u, th, q, n0, m, k0, k1, chunk, stream):
    """Word pairs (0, 1) and (2, 3) of philox((q, n0 + i, chunk, stream)), i < m, as
    :func:`box_muller`'s float32 inputs (:func:`polar_inputs`): (u[i], th[i]) of words 0, 1
    and (u[m + i], th[m + i]) of words 2, 3."""
    u_lo, u_hi, th_lo, th_hi = u[:m], u[m:], th[:m], th[m:]
    for i in range(m):
        w0, w1, w2, w3 = philox(U64(q), U64(n0 + i), chunk, stream, k0, k1)
        u_lo[i], th_lo[i] = polar_inputs(w0, w1)
        u_hi[i], th_hi[i] = polar_inputs(w2, w3)


@njit(cache=CACHE, error_model="numpy")
def _polar_to_normals(u, th, n):
    """In place, k < n: (u[k], th[k]) <- (r cos theta, r sin theta), r = :func:`radius` (u[k])."""
    for k in range(n):
        r = radius(u[k])
        c, s = cos_sin32(th[k])
        u[k], th[k] = r * c, r * s


@njit(cache=CACHE, error_model="numpy")
def _accumulate(acc, e, f, m, a, b, j):
    """acc[i] += sum_l a_{j+l} eps_l^2 + b_{j+l} eps_l, eps = (e[i], f[i], e[m+i], f[m+i])."""
    a0, a1, a2, a3 = a[j], a[j + 1], a[j + 2], a[j + 3]
    b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
    e_lo, e_hi, f_lo, f_hi = e[:m], e[m:], f[:m], f[m:]
    for i in range(m):
        f0, f1 = np.float64(e_lo[i]), np.float64(f_lo[i])
        f2, f3 = np.float64(e_hi[i]), np.float64(f_hi[i])
        acc[i] += (
            (a0 * f0 + b0) * f0
            + (a1 * f1 + b1) * f1
            + ((a2 * f2 + b2) * f2 + (a3 * f3 + b3) * f3)
        )


@njit(cache=CACHE, error_model="numpy")
def _score_block(acc, u, th, a, b, n0, m, k0, k1, chunk, stream):
    """acc[i] += sum_j a_j eps_j^2 + b_j eps_j for candidates n0 + i, i < m; u, th: float32
    work arrays of >= 2m. Per group of 4 dims, three short passes over the block (Philox words,
    Box-Muller, score) instead of one fused loop: the fused body (~500 vector instructions
    and a ~200-cycle dependency chain per 4 candidates) left the out-of-order core waiting on
    latency; the arithmetic and its order are unchanged, so the bits are too."""
    for q in range(a.size // 4):
        _box_muller_inputs(u, th, q, n0, m, k0, k1, chunk, stream)
        _polar_to_normals(u, th, 2 * m)
        _accumulate(acc, u, th, m, a, b, 4 * q)


@njit(cache=CACHE, error_model="numpy")
def _arrivals(out, n0, m, k0, k1, chunk, stream_enc):
    """out[i] = E_{n0+i}, i < m, from the encoder counters (n // 4, chunk, 0, stream | 2^31);
    n0 is a multiple of 4."""
    for g in range(m // 4):  # four lanes written out: a loop over a tuple's lanes is a switch
        w0, w1, w2, w3 = philox(U64((n0 >> 2) + g), chunk, U64(0), stream_enc, k0, k1)
        out[4 * g], out[4 * g + 1] = exponential(w0), exponential(w1)
        out[4 * g + 2], out[4 * g + 3] = exponential(w2), exponential(w3)
    g = m // 4
    if m % 4:  # N = 1 or 2 candidates: the first lanes of one word
        w = philox(U64((n0 >> 2) + g), chunk, U64(0), stream_enc, k0, k1)
        for lane in range(m % 4):
            out[4 * g + lane] = exponential(w[lane])


BLOCK = 1024  # candidates per scoring block (acc and E stay in L1)


@njit(cache=CACHE, error_model="numpy")
def _select_chunk(a, b, const, log2n, key, ekey, chunk, stream, algorithm):
    """(index, log-weight) of one chunk: argmin_n log T_n - log w_n, ties to the earliest."""
    n_cand = np.int64(1) << log2n
    acc, e = np.empty(BLOCK), np.empty(BLOCK)
    u, th = np.empty(2 * BLOCK, np.float32), np.empty(2 * BLOCK, np.float32)
    best, best_n, best_lw, t = np.inf, np.int64(0), 0.0, 0.0
    senc = U64(stream) | U64(1 << 31)
    for n0 in range(0, n_cand, BLOCK):
        m = min(BLOCK, n_cand - n0)
        acc[:m] = const
        _score_block(acc, u, th, a, b, n0, m, key[0], key[1], U64(chunk), U64(stream))
        _arrivals(e, n0, m, ekey[0], ekey[1], U64(chunk), senc)
        if algorithm == ORC:
            for i in range(m):
                e[i] = e[i] / np.float64(n_cand - (n0 + i))  # Renyi: E_k / (N - k + 1)
        lt_lo = np.log(t + e[0])  # T is increasing: a lower bound of log T in this block
        for i in range(m):
            t += e[i]
            if lt_lo - acc[i] < best:  # else score_i >= best: skip the log
                score = np.log(t) - acc[i]
                if score < best:
                    best, best_n, best_lw = score, n0 + i, acc[i]
    return best_n, best_lw


@njit(parallel=True, cache=CACHE, error_model="numpy")
def select_chunks(a, b, pstarts, const, log2n, key, ekey, chunk_offset, stream, algorithm):
    """Fused selection over every chunk (prange); a, b padded to 4 dims per chunk."""
    n_chunks = log2n.size
    idx = np.empty(n_chunks, np.int64)
    lw = np.empty(n_chunks, np.float64)
    for c in prange(n_chunks):
        lo, hi = pstarts[c], pstarts[c + 1]
        idx[c], lw[c] = _select_chunk(
            a[lo:hi], b[lo:hi], const[c], log2n[c], key, ekey, chunk_offset + c, stream,
            algorithm,
        )  # fmt: skip
    return idx, lw


@njit(cache=CACHE, error_model="numpy")
def _normals_into(out, n, q_words, key, chunk, stream):
    """out[4q + l] = lane l of randn4x(philox((q, n, chunk, stream))), q < q_words."""
    for q in range(q_words):
        w0, w1, w2, w3 = philox(U64(q), U64(n), U64(chunk), U64(stream), key[0], key[1])
        out[4 * q], out[4 * q + 1] = box_muller(w0, w1)
        out[4 * q + 2], out[4 * q + 3] = box_muller(w2, w3)


@njit(parallel=True, cache=CACHE, error_model="numpy")
def normals(n, dims, key, chunk, stream):
    """float32 (len(n), dims) candidate normals."""
    q_words = (dims + 3) // 4
    out = np.empty((n.size, 4 * q_words), np.float32)
    for i in prange(n.size):
        _normals_into(out[i], n[i], q_words, key, chunk, stream)
    return out[:, :dims]


@njit(parallel=True, cache=CACHE, error_model="numpy")
def samples(mu, sd, starts, idx, key, chunk_offset, stream):
    """mu + sd * eps(selected candidate) for every chunk (float64)."""
    out = np.empty_like(mu)
    for c in prange(idx.size):
        lo, hi = starts[c], starts[c + 1]
        eps = np.empty(4 * ((hi - lo + 3) // 4), np.float32)
        _normals_into(eps, idx[c], eps.size // 4, key, chunk_offset + c, stream)
        for j in range(hi - lo):
            out[lo + j] = mu[lo + j] + sd[lo + j] * np.float64(eps[j])
    return out
