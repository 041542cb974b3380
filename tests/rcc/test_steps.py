"""DiffC steps in the RCC engine: shared permutation layout, step stream, splits, limits."""

import numpy as np
import pytest

from rdptheory import rcc
from rdptheory.rcc import layouts


def test_layout_is_a_deterministic_permutation_split_evenly():
    perm = layouts.diffc_permutation(seed=3, stream=5, dims=101)
    starts = layouts.equal_starts(101, 7)
    assert sorted(perm.tolist()) == list(range(101))
    assert np.array_equal(perm, layouts.diffc_permutation(3, 5, 101))
    assert not np.array_equal(perm, layouts.diffc_permutation(3, 6, 101))
    sizes = np.diff(starts)
    assert starts[0] == 0 and starts[-1] == 101 and sizes.max() - sizes.min() <= 1


def test_registry_codes_are_unique_and_refuse_duplicates():
    assert [s.code for s in rcc.LAYOUTS.values()] == [0, 1, 2]
    assert layouts.layout_by_code(2).name == "diffc"
    with pytest.raises(ValueError, match="already registered"):
        rcc.register_layout(rcc.LayoutStrategy("diffc", 9, "x"))
    with pytest.raises(ValueError, match="unknown"):
        layouts.layout_by_code(7)


def test_steps_round_trip():
    rng = np.random.default_rng(0)
    dims, b = 500, 8.0
    steps = []
    for kl_q, split in [(0, 0), (3, 0), (40, 1), (900, 0), (2000, 2)]:
        n = layouts.diffc_count(kl_q, split, dims, b)
        idx = rng.integers(0, 2 ** rng.integers(0, 27, size=n))
        steps.append((kl_q, split, idx))
    payload = rcc.write_steps(steps, b)
    got = rcc.read_steps(payload, len(steps), dims, b)
    for (k, s, i), (k2, s2, i2) in zip(steps, got, strict=True):
        assert (k, s) == (k2, s2) and np.array_equal(i, i2)
    assert len(rcc.read_steps(payload, 2, dims, b)) == 2


def test_incremental_writer_equals_one_pass():
    rng = np.random.default_rng(2)
    steps = [(k, 0, rng.integers(0, 200, size=layouts.diffc_count(k, 0, 300, 8.0)))
             for k in (30, 50, 80)]
    w = rcc.StepStreamWriter(8.0)
    for s in steps:
        trial = w.copy()
        trial.add(*s)
        w = trial
    assert w.payload() == rcc.write_steps(steps, 8.0)


def test_step_reader_refuses_chunks_the_payload_cannot_hold():
    payload = rcc.write_steps([(10**6, 0, np.zeros(10**6 // 8 + 1, np.int64)[:1])], 8.0)
    with pytest.raises(ValueError, match="corrupted RCC step stream"):
        rcc.read_steps(payload, 1, dims=10**6, max_chunk_bits=8.0)
    with pytest.raises(ValueError, match="whole 32-bit words"):
        rcc.read_steps(b"abc", 1, dims=10, max_chunk_bits=8.0)


def test_step_sample_round_trip_with_concentrated_kl_needs_a_split():
    rng = np.random.default_rng(1)
    mu_p = rng.normal(size=(2, 60))
    mu_q = mu_p.copy()
    mu_q[0, :5] += 0.9  # 14.6 bits each > B + 8 = 12: only singletons are small enough
    code = rcc.encode_step(mu_q, 0.2, mu_p, 0.2, seed=9, stream=4, max_chunk_bits=4.0,
                           padding=2, algorithm="pfr", backend="numpy")
    assert code.split > 0
    z = rcc.decode_step(code.kl_q, code.split, code.indices, mu_p, 0.2, seed=9, stream=4,
                        max_chunk_bits=4.0, backend="numpy")
    assert np.array_equal(z, code.sample) and z.shape == mu_p.shape
    with pytest.raises(ValueError, match="index count"):
        rcc.decode_step(code.kl_q, code.split, code.indices[:-1], mu_p, 0.2, seed=9,
                        stream=4, max_chunk_bits=4.0, backend="numpy")


def test_scalar_sigma_and_its_broadcast_array_give_the_same_step():
    rng = np.random.default_rng(5)
    mu_p = rng.normal(size=(3, 40))
    mu_q = mu_p + 0.3 * rng.normal(size=mu_p.shape)
    kw = dict(seed=2, stream=1, max_chunk_bits=6.0, padding=2, algorithm="pfr", backend="numpy")
    a = rcc.encode_step(mu_q, 0.25, mu_p, 0.4, **kw)
    b = rcc.encode_step(mu_q, np.full(mu_p.shape, 0.25), mu_p, np.full((1, 40), 0.4), **kw)
    assert (a.kl_q, a.split) == (b.kl_q, b.split)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.sample, b.sample)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_per_coordinate_sigmas_round_trip_and_cost_the_closed_form_kl(backend):
    rng = np.random.default_rng(7)
    shape = (4, 25)
    sigma_p = rng.uniform(0.2, 2.0, size=shape)
    sigma_q = sigma_p * rng.uniform(0.3, 0.9, size=shape)
    mu_p = rng.normal(size=shape)
    mu_q = mu_p + 0.5 * sigma_p * rng.normal(size=shape)
    code = rcc.encode_step(mu_q, sigma_q, mu_p, sigma_p, seed=11, stream=3, max_chunk_bits=8.0,
                           padding=2, algorithm="pfr", backend=backend)
    kl_nats = (np.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2)
               - 0.5)
    assert code.kl_bits == pytest.approx(kl_nats.sum() / np.log(2), rel=1e-12)
    assert code.kl_q == int(np.ceil(code.kl_bits))
    z = rcc.decode_step(code.kl_q, code.split, code.indices, mu_p, sigma_p, seed=11, stream=3,
                        max_chunk_bits=8.0, backend=backend)
    assert np.array_equal(z, code.sample)
    # the sample is a candidate of the proposal: (z - mu_p) / sigma_p is the shared normal,
    # so decoding with a different sigma_p moves every coordinate by that ratio
    z2 = rcc.decode_step(code.kl_q, code.split, code.indices, mu_p, 2 * sigma_p, seed=11,
                         stream=3, max_chunk_bits=8.0, backend=backend)
    assert np.allclose(z2 - mu_p, 2 * (z - mu_p), rtol=1e-12, atol=1e-14)


def test_step_sigmas_are_validated():
    mu = np.zeros((2, 5))
    kw = dict(seed=0, stream=0, max_chunk_bits=8.0, padding=2, algorithm="pfr", backend="numpy")
    with pytest.raises(ValueError, match="sigma_q of shape"):
        rcc.encode_step(mu, np.ones(3), mu, 1.0, **kw)
    with pytest.raises(ValueError, match="sigma_p must be positive"):
        rcc.encode_step(mu, 1.0, mu, np.array([1.0, 0, 1, 1, 1]), **kw)
    with pytest.raises(ValueError, match="sigma_p must be positive"):
        rcc.decode_step(0, 0, np.zeros(1, np.int64), mu, -1.0, seed=0, stream=0,
                        max_chunk_bits=8.0, backend="numpy")
