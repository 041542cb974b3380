"""pfr_select / candidate_samples / candidate_normals: definition, cross-backend agreement,
statistics, large offsets and validation."""

import os

import numpy as np
import pytest
from scipy import stats

from rdptheory.kernels import (
    available_backends,
    candidate_normals,
    candidate_samples,
    pfr_select,
)
from rdptheory.kernels._philox import exponentials_block

ALPHA = 0.01  # significance level of every statistical test in this file (fixed seeds)
FAST = [b for b in ("numba", "torch") if b in available_backends()]
TRITON = "triton" in available_backends() and os.environ.get("TRITON_INTERPRET") == "1"


def _problem(d=40, seed=0, equal_var=False):
    """A diagonal-Gaussian target/proposal pair (general or DiffC equal-variance case)."""
    rng = np.random.default_rng(seed)
    mu_p = rng.normal(size=d)
    sigma_p = rng.uniform(0.5, 1.5, d)
    mu_q = mu_p + 0.3 * sigma_p * rng.normal(size=d)
    sigma_q = sigma_p if equal_var else sigma_p * rng.uniform(0.7, 1.0, d)
    return mu_q, sigma_q, mu_p, sigma_p


def _brute_force(mu_q, sigma_q, mu_p, sigma_p, lo, hi, bits, seed, eseed, chunk, algorithm):
    """The selection written out from the definition (THEORY.md §5), one chunk."""
    n_cand = 2**bits
    n = np.arange(n_cand)
    z = mu_p[lo:hi] + sigma_p[lo:hi] * candidate_normals(seed, 0, chunk, n, hi - lo)
    log_q = stats.norm.logpdf(z, mu_q[lo:hi], sigma_q[lo:hi]).sum(axis=1)
    log_p = stats.norm.logpdf(z, mu_p[lo:hi], sigma_p[lo:hi]).sum(axis=1)
    e = exponentials_block(eseed, 0, chunk, n)
    t = np.cumsum(e if algorithm == "pfr" else e / (n_cand - n))
    score = np.log(t) - (log_q - log_p)
    k = int(np.argmin(score))
    return k, (log_q - log_p)[k]


@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
@pytest.mark.parametrize("equal_var", [False, True])
def test_reference_matches_definition(algorithm, equal_var):
    mu_q, sigma_q, mu_p, sigma_p = _problem(equal_var=equal_var)
    starts, bits = [0, 1, 9, 40], [3, 7, 10]
    res = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, seed=5, encoder_seed=6,
                     algorithm=algorithm, backend="numpy")  # fmt: skip
    for c in range(3):
        k, lw = _brute_force(mu_q, sigma_q, mu_p, sigma_p, starts[c], starts[c + 1], bits[c],
                             5, 6, c, algorithm)  # fmt: skip
        assert res.indices[c] == k
        assert res.log_weights[c] == pytest.approx(lw, rel=1e-12, abs=1e-12)


def test_equal_variance_log_weight_is_the_diffc_form():
    """sigma_q = sigma_p: log w = (z - mu_p) . dmu / sigma^2 - |dmu|^2 / (2 sigma^2)."""
    mu_q, sigma_q, mu_p, sigma_p = _problem(d=12, equal_var=True)
    res = pfr_select(mu_q, sigma_q, mu_p, sigma_p, [0, 12], [6], seed=1, encoder_seed=2,
                     backend="numpy")  # fmt: skip
    z = candidate_samples(mu_p, sigma_p, [0, 12], res.indices, seed=1, backend="numpy")
    dmu = mu_q - mu_p
    expected = np.sum((z - mu_p) * dmu / sigma_p**2 - dmu**2 / (2 * sigma_p**2))
    assert res.log_weights[0] == pytest.approx(expected, rel=1e-12)


CASES = [  # (chunk_starts, log2_candidates): chunk sizes 1..64 dims, 1..2^12 candidates
    ([0, 1, 9, 40], [0, 5, 12]),
    ([0, 3, 7, 24, 88], [8, 1, 9, 10]),
]


@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
@pytest.mark.parametrize("case", CASES)
def test_fast_backends_select_identical_indices(backend, algorithm, case):
    starts, bits = case
    mu_q, sigma_q, mu_p, sigma_p = _problem(d=starts[-1], seed=len(bits))
    kw = dict(seed=2**64 - 3, encoder_seed=77, stream=3, chunk_offset=2**20, algorithm=algorithm)
    ref = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, backend="numpy", **kw)
    got = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, backend=backend, **kw)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.log_weights, ref.log_weights, rtol=1e-12, atol=1e-12)
    z_ref = candidate_samples(mu_p, sigma_p, starts, ref.indices, seed=kw["seed"], stream=3,
                              chunk_offset=2**20, backend="numpy")  # fmt: skip
    z = candidate_samples(mu_p, sigma_p, starts, ref.indices, seed=kw["seed"], stream=3,
                          chunk_offset=2**20, backend=backend)  # fmt: skip
    np.testing.assert_array_equal(z, z_ref)


@pytest.mark.skipif(not TRITON, reason="triton interpreter not available")
@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
def test_triton_interpreter_selects_identical_indices(algorithm):
    starts, bits = [0, 1, 6, 13], [2, 9, 4]  # tiny: the interpreter is slow
    mu_q, sigma_q, mu_p, sigma_p = _problem(d=13, seed=3)
    kw = dict(seed=2**63 + 9, encoder_seed=2**40, stream=2**31 - 1, algorithm=algorithm)
    ref = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, backend="numpy", **kw)
    got = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, backend="triton", **kw)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.log_weights, ref.log_weights, rtol=1e-12, atol=1e-12)
    z = candidate_samples(mu_p, sigma_p, starts, ref.indices, seed=kw["seed"],
                          stream=kw["stream"], backend="triton")  # fmt: skip
    z_ref = candidate_samples(mu_p, sigma_p, starts, ref.indices, seed=kw["seed"],
                              stream=kw["stream"], backend="numpy")  # fmt: skip
    np.testing.assert_allclose(z, z_ref, rtol=0, atol=1e-6)


@pytest.mark.skipif(not TRITON, reason="triton interpreter not available")
@pytest.mark.parametrize("blocks", [(16, 4), (128, 16)])  # interpreter-sized and GPU tiles
def test_triton_tile_sizes_do_not_change_the_selection(blocks):
    from rdptheory.kernels._triton import select_triton
    from rdptheory.kernels.select import _select_problem

    mu_q, sigma_q, mu_p, sigma_p = _problem(d=30, seed=8)
    args = (mu_q, sigma_q, mu_p, sigma_p, [0, 5, 30], [8, 3])
    ref = pfr_select(*args, seed=4, encoder_seed=5, backend="numpy", algorithm="orc")
    got = select_triton(_select_problem(*args, 4, 5, 0, 0, "orc"), blocks=blocks)
    np.testing.assert_array_equal(got[0], ref.indices)
    np.testing.assert_allclose(got[1], ref.log_weights, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", FAST + (["triton"] if TRITON else []))
def test_normals_agree_across_backends(backend):
    n = np.array([0, 1, 7, 2**24 - 1, 2**24, 2**32 - 1])
    ref = candidate_normals(2**64 - 1, 2**31 - 1, 2**32 - 1, n, 23)
    got = candidate_normals(2**64 - 1, 2**31 - 1, 2**32 - 1, n, 23, backend=backend)
    assert got.dtype == np.float32 and got.shape == (6, 23)
    np.testing.assert_array_max_ulp(got, ref, maxulp=1)


def test_normals_are_the_documented_layout():
    """eps(seed, s, c, n, j) = lane j % 4 of randn4x(philox((j // 4, n, c, s), key(seed)))."""
    from rdptheory.kernels import philox4x32_10
    from rdptheory.kernels._philox import randn4x, seed_key

    seed, s, c, n, j = 0xDEADBEEF_0BADF00D, 9, 2**32 - 2, 2**32 - 1, 4 * (2**20) + 3
    words = philox4x32_10(np.array([j // 4, n, c, s], np.uint64), np.array(seed_key(seed)))
    eps = candidate_normals(seed, s, c, [n], j + 1)
    assert eps[0, j] == randn4x(words)[j % 4]
    assert seed_key(seed) == (0x0BADF00D, 0xDEADBEEF)


@pytest.mark.parametrize("backend", FAST)
def test_large_offsets_no_overflow(backend):
    """DiffC's int32 overflow: 2^16 candidates x 32768 dims. Every index stays 64-bit here."""
    d, k = 40_000, 2**16 - 1
    mu, sd = np.zeros(d), np.ones(d)
    starts = [0, 3, d]
    z = candidate_samples(mu, sd, starts, [2**32 - 1, k], seed=3, backend=backend)
    ref = candidate_normals(3, 0, 1, [k], d - 3)[0]
    np.testing.assert_array_equal(z[3:], ref.astype(np.float64))
    assert np.isfinite(z).all() and abs(z[3:].std() - 1) < 0.02


def test_streams_and_chunks_are_independent_counters():
    base = candidate_normals(1, 0, 0, np.arange(4), 8)
    for args in [(2, 0, 0), (1, 1, 0), (1, 0, 1)]:
        assert not np.array_equal(candidate_normals(*args, np.arange(4), 8), base)
    # encoder arrival times (word 3 top bit) never coincide with candidate counters
    assert not np.allclose(exponentials_block(1, 0, 0, np.arange(8)),
                           exponentials_block(1, 1, 0, np.arange(8)))  # fmt: skip


def test_numpy_backend_never_imports_torch_numba_or_triton():
    import subprocess
    import sys

    code = (
        "import sys, rdptheory.kernels as K; "
        "K.pfr_select([0.], [1.], [0.], [1.], [0, 1], [2], seed=1, encoder_seed=2, "
        "backend='numpy'); print(sorted({'torch', 'numba', 'triton'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


if "numba" in FAST:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25)
    @given(
        widths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
        bits=st.integers(0, 7),
        seed=st.integers(0, 2**64 - 1),
        stream=st.integers(0, 2**31 - 1),
        algorithm=st.sampled_from(["pfr", "orc"]),
        equal_var=st.booleans(),
    )
    def test_numba_equals_reference_property(widths, bits, seed, stream, algorithm, equal_var):
        starts = np.concatenate([[0], np.cumsum(widths)])
        mu_q, sigma_q, mu_p, sigma_p = _problem(d=int(starts[-1]), seed=seed % 1000,
                                                equal_var=equal_var)  # fmt: skip
        kw = dict(seed=seed, encoder_seed=seed ^ 0xABCDEF, stream=stream, algorithm=algorithm)
        bits_c = np.full(len(widths), bits)
        ref = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits_c, backend="numpy", **kw)
        got = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits_c, backend="numba", **kw)
        np.testing.assert_array_equal(got.indices, ref.indices)
        assert np.all((0 <= got.indices) & (got.indices < 2**bits))


def test_encoder_arrivals_are_the_documented_layout():
    """E_n = -log((x + 1/2) 2^-32), x = lane n % 4 of philox((n // 4, chunk, 0, stream | 2^31))."""
    from rdptheory.kernels import philox4x32_10
    from rdptheory.kernels._philox import seed_key

    eseed, s, c = 2**64 - 2, 2**31 - 1, 2**32 - 1
    n = np.array([0, 5, 2**32 - 1])
    counters = np.stack([n // 4, 0 * n + c, 0 * n, 0 * n + (s | 2**31)], axis=-1)
    words = philox4x32_10(counters, np.array(seed_key(eseed)))
    x = words[np.arange(3), n % 4].astype(np.float64)
    np.testing.assert_array_equal(exponentials_block(eseed, s, c, n), -np.log((x + 0.5) / 2**32))


def test_auto_backend_is_triton_on_cuda_else_numba():
    from rdptheory.kernels._api import SELECT, cuda_available, resolve_backend

    expected = "triton" if cuda_available() else ("numba" if "numba" in FAST else "numpy")
    assert resolve_backend(SELECT, "auto") == expected
