"""DiffC-style step coding: shared layout, side information + index range coding, splits."""

import numpy as np

from rdptheory.images import _steps


def test_layout_is_a_deterministic_permutation_split_evenly():
    perm, starts = _steps.layout(seed=3, stream=5, dims=101, n=7)
    assert sorted(perm.tolist()) == list(range(101))
    assert np.array_equal(perm, _steps.layout(3, 5, 101, 7)[0])
    assert not np.array_equal(perm, _steps.layout(3, 6, 101, 7)[0])
    sizes = np.diff(starts)
    assert starts[0] == 0 and starts[-1] == 101 and sizes.max() - sizes.min() <= 1


def test_symbols_round_trip():
    rng = np.random.default_rng(0)
    dims, b = 500, 8.0
    steps = []
    for kl_q, split in [(0, 0), (3, 0), (40, 1), (900, 0), (2000, 2)]:
        n = _steps.n_chunks(kl_q, split, dims, b)
        idx = rng.integers(0, 2 ** rng.integers(0, 27, size=n))
        steps.append((kl_q, split, idx))
    got = _steps.decode_symbols(_steps.encode_symbols(steps), len(steps), dims, b)
    for (k, s, i), (k2, s2, i2) in zip(steps, got):
        assert (k, s) == (k2, s2) and np.array_equal(i, i2)
    assert len(_steps.decode_symbols(_steps.encode_symbols(steps), 2, dims, b)) == 2


def test_step_sample_round_trip_with_concentrated_kl_needs_a_split():
    rng = np.random.default_rng(1)
    mu_p = rng.normal(size=(2, 60))
    mu_q = mu_p.copy()
    mu_q[0, :5] += 0.9  # 14.6 bits each > B + 8 = 12: only singletons are small enough
    code = _steps.encode_step(mu_q, 0.2, mu_p, 0.2, seed=9, stream=4, max_chunk_bits=4.0,
                              padding=2, algorithm="pfr", backend="numpy")
    assert code.split > 0
    z = _steps.decode_step(code.kl_q, code.split, code.indices, mu_p, 0.2, seed=9, stream=4,
                           max_chunk_bits=4.0, backend="numpy")
    assert np.array_equal(z, code.sample) and z.shape == mu_p.shape
