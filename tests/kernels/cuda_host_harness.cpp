// Host emulation of kernels/_cupy.py's CUDA source (tests/kernels/test_cupy_source.py):
// one std::thread per CUDA thread, a std::barrier for __syncthreads, statics for __shared__.
// Reads a selection problem on stdin and prints "index log_weight" per chunk.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <barrier>
#include <thread>
#include <vector>
#define __device__
#define __forceinline__ inline
#define __global__
#define __shared__ static
using std::log; using std::cos; using std::sin;
static inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
struct D { long long x; };
D blockIdx, blockDim; thread_local D threadIdx;
std::barrier<>* bar;
static inline void __syncthreads() { bar->arrive_and_wait(); }
#include "rcc_body.cu"
int main() {
    // stdin: C P, a[P], b[P], pstarts[C+1], const[C], log2n[C],
    //        k0 k1 ek0 ek1 chunk_offset stream stream_enc orc
    long long C, P; scanf("%lld %lld", &C, &P);
    std::vector<double> a(P), b(P), cc(C); std::vector<long long> ps(C + 1), l2(C), idx(C); std::vector<double> lw(C);
    for (auto& x : a) scanf("%lf", &x); for (auto& x : b) scanf("%lf", &x);
    for (auto& x : ps) scanf("%lld", &x); for (auto& x : cc) scanf("%lf", &x); for (auto& x : l2) scanf("%lld", &x);
    unsigned int k0, k1, ek0, ek1, st, se; long long off; int orc;
    scanf("%u %u %u %u %lld %u %u %d", &k0, &k1, &ek0, &ek1, &off, &st, &se, &orc);
    std::barrier<> b256(256); bar = &b256; blockDim.x = 256;
    for (blockIdx.x = 0; blockIdx.x < C; ++blockIdx.x) {
        std::vector<std::thread> th;
        for (int t = 0; t < 256; ++t) th.emplace_back([&, t] { threadIdx.x = t;
            rcc_select(a.data(), b.data(), ps.data(), cc.data(), l2.data(), idx.data(), lw.data(), k0, k1, ek0, ek1, off, st, se, orc); });
        for (auto& x : th) x.join();
    }
    for (long long c = 0; c < C; ++c) printf("%lld %.17g\n", idx[c], lw[c]);
}
