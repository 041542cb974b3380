"""The ``cupy`` backend: CUDA RawKernels with the same Philox and transforms (CUDA only).

One thread block per chunk for selection (many chunks per launch, no per-chunk host sync):
each of the ``BLOCK`` threads scores one candidate of the current block in float64, the
block scans the arrival increments in shared memory and reduces to the running argmin (ties
to the smallest index). Box-Muller rounds ``log``/``cos``/``sin`` from double precision and
uses ``__fsqrt_rn``/``__fmul_rn``, as the reference does. cupy is imported lazily.
"""

from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np

from ._api import NORMALS, SAMPLES, SELECT, SelectProblem
from ._numba import padded_coefficients
from ._philox import ENCODER_STREAM_BIT, seed_key

BLOCK = 256

CUDA_SOURCE = r"""
#define BLOCK 256
__device__ __forceinline__ void philox(unsigned int c[4], unsigned int k0, unsigned int k1) {
    #pragma unroll
    for (int r = 0; r < 10; ++r) {
        unsigned int hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
        c[0] = hi1 ^ c[1] ^ k0; c[1] = lo1; c[2] = hi0 ^ c[3] ^ k1; c[3] = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
}
__device__ __forceinline__ float uniform(unsigned int x) {
    int i = (int)x;
    i = i < 0 ? ~i : i;
    return __fmul_rn((float)i, 4.6566127342e-10f);
}
__device__ __forceinline__ void box_muller(unsigned int x0, unsigned int x1, float* n0, float* n1) {
    float u0 = fmaxf(1.0e-7f, uniform(x0));
    float th = __fmul_rn(6.283185307179586f, uniform(x1));
    float r = __fsqrt_rn(__fmul_rn(-2.0f, (float)log((double)u0)));
    *n0 = __fmul_rn(r, (float)cos((double)th));
    *n1 = __fmul_rn(r, (float)sin((double)th));
}
__device__ __forceinline__ void normals4(unsigned int q, unsigned int n, unsigned int chunk,
                                         unsigned int stream, unsigned int k0, unsigned int k1,
                                         float e[4]) {
    unsigned int c[4] = {q, n, chunk, stream};
    philox(c, k0, k1);
    box_muller(c[0], c[1], &e[0], &e[1]);
    box_muller(c[2], c[3], &e[2], &e[3]);
}
__device__ __forceinline__ double arrival(long long n, unsigned int chunk, unsigned int stream_enc,
                                          unsigned int k0, unsigned int k1) {
    unsigned int c[4] = {(unsigned int)(n >> 2), chunk, 0u, stream_enc};
    philox(c, k0, k1);
    return -log(((double)c[n & 3] + 0.5) * 2.3283064365386963e-10);
}
extern "C" __global__ void rcc_select(
        const double* a, const double* b, const long long* pstarts, const double* cconst,
        const long long* log2n, long long* idx_out, double* lw_out, unsigned int k0,
        unsigned int k1, unsigned int ek0, unsigned int ek1, long long chunk_offset,
        unsigned int stream, unsigned int stream_enc, int orc) {
    __shared__ double s_t[BLOCK], s_score[BLOCK], s_lw[BLOCK];
    __shared__ long long s_n[BLOCK];
    const long long c = blockIdx.x, tid = threadIdx.x;
    const long long p0 = pstarts[c], n_words = (pstarts[c + 1] - p0) / 4;
    const long long n_cand = 1LL << log2n[c];
    const unsigned int chunk = (unsigned int)(chunk_offset + c);
    double best = INFINITY, best_lw = 0.0, carry = 0.0;
    long long best_n = 0;
    for (long long n0 = 0; n0 < n_cand; n0 += BLOCK) {
        const long long n = n0 + tid;
        const bool valid = n < n_cand;
        double lw = cconst[c];
        for (long long q = 0; valid && q < n_words; ++q) {
            float e[4];
            normals4((unsigned int)q, (unsigned int)n, chunk, stream, k0, k1, e);
            for (int l = 0; l < 4; ++l) lw += (a[p0 + 4 * q + l] * e[l] + b[p0 + 4 * q + l]) * e[l];
        }
        double inc = valid ? arrival(n, chunk, stream_enc, ek0, ek1) : 0.0;
        if (orc && valid) inc /= (double)(n_cand - n);  // Renyi: E_k / (N - k + 1)
        s_t[tid] = inc;
        __syncthreads();
        for (int off = 1; off < BLOCK; off <<= 1) {  // Hillis-Steele inclusive scan
            double v = tid >= off ? s_t[tid - off] : 0.0;
            __syncthreads();
            s_t[tid] += v;
            __syncthreads();
        }
        const double t = carry + s_t[tid];
        s_score[tid] = valid ? log(t) - lw : INFINITY;
        s_lw[tid] = lw;
        s_n[tid] = n;
        __syncthreads();
        for (int half = BLOCK / 2; half > 0; half >>= 1) {  // argmin, ties to smaller n
            if (tid < half) {
                double o = s_score[tid + half];
                if (o < s_score[tid] || (o == s_score[tid] && s_n[tid + half] < s_n[tid])) {
                    s_score[tid] = o; s_n[tid] = s_n[tid + half]; s_lw[tid] = s_lw[tid + half];
                }
            }
            __syncthreads();
        }
        if (s_score[0] < best) { best = s_score[0]; best_n = s_n[0]; best_lw = s_lw[0]; }
        carry += s_t[BLOCK - 1];
        __syncthreads();
    }
    if (tid == 0) { idx_out[c] = best_n; lw_out[c] = best_lw; }
}
extern "C" __global__ void normals(float* out, const long long* n, long long count,
                                   long long n_words, unsigned int k0, unsigned int k1,
                                   unsigned int chunk, unsigned int stream) {
    const long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= count * n_words) return;
    const long long i = g / n_words, q = g % n_words;
    float e[4];
    normals4((unsigned int)q, (unsigned int)n[i], chunk, stream, k0, k1, e);
    for (int l = 0; l < 4; ++l) out[i * 4 * n_words + 4 * q + l] = e[l];
}
extern "C" __global__ void samples(const double* mu, const double* sd, const long long* starts,
                                   const long long* idx, double* out, unsigned int k0,
                                   unsigned int k1, long long chunk_offset, unsigned int stream) {
    const long long c = blockIdx.x, lo = starts[c], dims = starts[c + 1] - lo;
    for (long long q = threadIdx.x; 4 * q < dims; q += blockDim.x) {
        float e[4];
        normals4((unsigned int)q, (unsigned int)idx[c], (unsigned int)(chunk_offset + c), stream,
                 k0, k1, e);
        for (int l = 0; l < 4 && 4 * q + l < dims; ++l)
            out[lo + 4 * q + l] = mu[lo + 4 * q + l] + sd[lo + 4 * q + l] * (double)e[l];
    }
}
"""


def _available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    import cupy

    return bool(cupy.cuda.is_available())


@cache
def _kernel(name: str):
    import cupy

    return cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",)).get_function(name)


def _u32(*words: int) -> tuple:
    return tuple(np.uint32(w) for w in words)


@SELECT.register("cupy", available=_available)
def select_cupy(problem: SelectProblem) -> tuple[np.ndarray, np.ndarray]:
    """Fused PFR/ORC selection: one launch, one thread block per chunk."""
    import cupy

    a, b, pstarts = padded_coefficients(problem)
    const = problem.chunk_constants(problem.quadratic_coefficients()[2])
    idx = cupy.zeros(problem.n_chunks, cupy.int64)
    lw = cupy.zeros(problem.n_chunks, cupy.float64)
    args = (cupy.asarray(a), cupy.asarray(b), cupy.asarray(pstarts), cupy.asarray(const),
            cupy.asarray(problem.log2_candidates), idx, lw,
            *_u32(*seed_key(problem.seed), *seed_key(problem.encoder_seed)),
            np.int64(problem.chunk_offset),
            *_u32(problem.stream, problem.stream | ENCODER_STREAM_BIT),
            np.int32(problem.algorithm == "orc"))  # fmt: skip
    _kernel("rcc_select")((problem.n_chunks,), (BLOCK,), args)
    return cupy.asnumpy(idx), cupy.asnumpy(lw)


@NORMALS.register("cupy", available=_available)
def normals_cupy(seed: int, stream: int, chunk: int, n: np.ndarray, dims: int) -> np.ndarray:
    """float32 (len(n), dims) candidate normals (CUDA)."""
    import cupy

    n_words = (dims + 3) // 4
    out = cupy.zeros((n.size, 4 * n_words), cupy.float32)
    total = n.size * n_words
    args = (out, cupy.asarray(n.astype(np.int64)), np.int64(n.size), np.int64(n_words),
            *_u32(*seed_key(seed), chunk, stream))  # fmt: skip
    _kernel("normals")(((total + BLOCK - 1) // BLOCK,), (BLOCK,), args)
    return cupy.asnumpy(out)[:, :dims]


@SAMPLES.register("cupy", available=_available)
def samples_cupy(mu_p, sigma_p, starts, indices, seed, stream, chunk_offset) -> np.ndarray:
    """mu_p + sigma_p * eps of the selected candidates (one block per chunk)."""
    import cupy

    out = cupy.zeros(mu_p.size, cupy.float64)
    args = (cupy.asarray(mu_p), cupy.asarray(sigma_p), cupy.asarray(starts),
            cupy.asarray(indices), out, *_u32(*seed_key(seed)), np.int64(chunk_offset),
            np.uint32(stream))  # fmt: skip
    _kernel("samples")((indices.size,), (BLOCK,), args)
    return cupy.asnumpy(out)
