"""The numba selection kernel's split scoring passes: bit-identity with the per-element
Box-Muller path, and the fused selection against the numpy reference on many shapes."""

import numpy as np
import pytest

from rdptheory.kernels import available_backends, pfr_select

if "numba" not in available_backends():
    pytest.skip("numba not installed", allow_module_level=True)

from rdptheory.kernels import _numba_kernels as K  # noqa: E402


def _expected_acc(acc0, a, b, n0, m, key, chunk, stream):
    """acc0 + sum_j (a_j eps_j + b_j) eps_j in the kernel's summation order, eps from
    :func:`_numba_kernels.normals` (one Box-Muller pair per element, the decoder's path)."""
    eps = K.normals(np.arange(n0, n0 + m, dtype=np.int64), a.size, key, chunk, stream)
    f = eps.astype(np.float64)
    acc = acc0.copy()
    for j in range(0, a.size, 4):
        t = [(a[j + i] * f[:, j + i] + b[j + i]) * f[:, j + i] for i in range(4)]
        acc = acc + ((t[0] + t[1]) + (t[2] + t[3]))
    return acc


@pytest.mark.parametrize("case", range(12))
def test_score_block_is_bit_identical_to_per_element_box_muller(case):
    rng = np.random.default_rng(100 + case)
    m = [1, 3, 4, 5, 7, 64, 1000, 1024][case % 8]
    dims = 4 * int(rng.integers(1, 9))
    n0 = int(rng.integers(0, 2**20)) if case % 3 else 2**32 - m  # top of the counter range
    key = rng.integers(0, 2**32, 2, dtype=np.uint64)
    chunk, stream = np.uint64(rng.integers(0, 2**32)), np.uint64(rng.integers(0, 2**31))
    a, b, acc0 = rng.normal(size=dims), rng.normal(size=dims), rng.normal(size=m)
    if case % 4 == 0:
        a[:] = 0.0  # the DiffC equal-variance case: linear score
    acc = acc0.copy()
    u, th = np.empty(2 * m, np.float32), np.empty(2 * m, np.float32)
    K._score_block(acc, u, th, a, b, n0, m, key[0], key[1], chunk, stream)
    np.testing.assert_array_equal(acc, _expected_acc(acc0, a, b, n0, m, key, chunk, stream))


def test_box_muller_inputs_and_the_polar_pass():
    """u = max(1e-7, U) of words 0 and 2, theta = 2 pi U of words 1 and 3, lane by lane; then
    the in-place Box-Muller pass at the ends of its domain."""
    from rdptheory.kernels import philox4x32_10
    from rdptheory.kernels._philox import uint_to_uniform_float

    m, n0, q = 300, 17, 5
    key = np.array([0x12345678, 0x9ABCDEF0], np.uint64)
    u, th = np.empty(2 * m, np.float32), np.empty(2 * m, np.float32)
    K._box_muller_inputs(u, th, q, n0, m, key[0], key[1], np.uint64(3), np.uint64(4))
    n = np.arange(n0, n0 + m)
    counters = np.stack([np.full(m, q), n, np.full(m, 3), np.full(m, 4)], axis=1)
    unif = uint_to_uniform_float(philox4x32_10(counters, key))
    two_pi = np.float32(6.283185307179586)
    np.testing.assert_array_equal(u, np.maximum(np.float32(1e-7), unif[:, [0, 2]].T.ravel()))
    np.testing.assert_array_equal(th, two_pi * unif[:, [1, 3]].T.ravel())
    # the Box-Muller pass at the ends of its domain (u = 1e-7 is the clamp), against numpy
    from rdptheory.kernels._philox import box_muller

    uu = np.array([1e-7, 2e-7, 0.5, 1 - 2**-24], np.float32)
    tt = two_pi * np.array([0.0, 0.25, 0.5, 1 - 2**-24], np.float32)
    n_cos, n_sin = box_muller(uu, tt / two_pi)
    K._polar_to_normals(uu, tt, 4)
    np.testing.assert_array_max_ulp(uu, n_cos, maxulp=1)
    np.testing.assert_array_max_ulp(tt, n_sin, maxulp=1)
    assert uu[0] == np.float32(np.sqrt(-2 * np.log(1e-7)))

@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numba_selection_equals_reference_on_many_shapes(algorithm, seed):
    """Chunk widths 1..70, log2 N = 1..12 (several 1024-candidate blocks), both algorithms."""
    rng = np.random.default_rng(seed)
    n_chunks = 4
    widths = rng.integers(1, 71, n_chunks)
    bits = np.array([1 + (4 * seed + c) % 12 for c in range(n_chunks)])  # 1..12 over the seeds
    starts = np.concatenate([[0], np.cumsum(widths)])
    d = int(starts[-1])
    mu_p, sigma_p = rng.normal(size=d), rng.uniform(0.5, 1.5, d)
    mu_q = mu_p + 0.3 * sigma_p * rng.normal(size=d)
    sigma_q = sigma_p if seed == 0 else sigma_p * rng.uniform(0.7, 1.0, d)
    kw = dict(seed=int(rng.integers(0, 2**63)), encoder_seed=int(rng.integers(0, 2**63)),
              stream=int(rng.integers(0, 2**31)), chunk_offset=int(rng.integers(0, 2**31)),
              algorithm=algorithm)  # fmt: skip
    ref = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, backend="numpy", **kw)
    got = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, backend="numba", **kw)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.log_weights, ref.log_weights, rtol=1e-12, atol=1e-12)
