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
    with pytest.raises(ValueError, match="code 1 already registered"):
        rcc.register_layout(rcc.LayoutStrategy("other", 1, "x"))
    new = rcc.LayoutStrategy("test-only", 9, "nothing")
    try:
        assert rcc.register_layout(new) is new
        assert rcc.LAYOUTS["test-only"] is new and layouts.layout_by_code(9) is new
    finally:
        del rcc.LAYOUTS["test-only"]


def test_steps_round_trip():
    rng = np.random.default_rng(0)
    dims, b = 500, 8.0
    counts = [1, 3, 40, 113, 500]
    steps = [rng.integers(0, 2 ** rng.integers(0, 27, size=n)) for n in counts]
    payload = rcc.write_steps(steps, b)
    got = rcc.read_steps(payload, len(steps), dims, b)
    assert [g.size for g in got] == counts
    for i, i2 in zip(steps, got, strict=True):
        assert np.array_equal(i, i2)
    assert len(rcc.read_steps(payload, 2, dims, b)) == 2
    assert len(rcc.read_steps(payload, 5, [3, 3, 40, 113, 500], b)) == 5  # dims per step
    with pytest.raises(ValueError, match="113 chunks for 112"):
        rcc.read_steps(payload, 5, [3, 3, 40, 112, 500], b)


def test_step_code_length_is_the_count_and_the_zipf_law():
    """A step costs log2(24) + floor(log2 C) bits for its count, then the steps' Zipf law
    (B, padding 2, heavy tail) per index: the ideal length within the coder's termination."""
    from rdptheory.rcc import _format
    from rdptheory.rcc._index_coding import IndexModel

    rng = np.random.default_rng(8)
    idx = rng.integers(0, 2**10, size=300)
    law = IndexModel(6.0, 2, exact_tail=True)
    ideal = np.log2(24) + 8 + law.index_bits(idx).sum()
    enc = _format.new_encoder()
    _format.write_step(enc, idx, rcc.stream.check_model_params(6.0, 5))  # padding ignored
    assert ideal <= 32 * enc.get_compressed().size <= ideal + 64
    assert _format.step_index_model(rcc.stream.check_model_params(6.0, 5)) == law


def test_writer_writes_messages_and_steps_in_one_stream():
    """One writer: a message (write) then a step (add) decode in order from one container."""
    rng = np.random.default_rng(3)
    mu_p = rng.normal(size=30)
    w = rcc.RCCStreamWriter(8.0)
    msg = rcc.encode(mu_p + 0.4, 0.5, mu_p, 1.0, seed=1, max_chunk_bits=8.0, backend="numpy")
    step = rcc.encode_step(mu_p + 0.3, 0.5, mu_p, 0.7, seed=1, stream=1, max_chunk_bits=8.0,
                           padding=2, algorithm="pfr", backend="numpy")
    w.write(msg)
    w.add(step.indices)
    r = rcc.RCCStreamReader(w.to_bytes())
    assert np.array_equal(r.read(mu_p, 1.0, seed=1, backend="numpy"), msg.sample)
    idx = r.read_step(30)
    assert np.array_equal(idx, step.indices) and r.remaining == 0
    z = rcc.decode_step(idx, mu_p, 0.7, seed=1, stream=1, backend="numpy")
    assert np.array_equal(z, step.sample)
    with pytest.raises(ValueError, match="only 2"):
        r.read_step(30)
    assert rcc.StepStreamWriter is rcc.RCCStreamWriter


def test_incremental_writer_equals_one_pass():
    rng = np.random.default_rng(2)
    steps = [rng.integers(0, 200, size=n) for n in (4, 7, 10)]
    w = rcc.StepStreamWriter(8.0)
    for s in steps:
        trial = w.copy()
        trial.add(s)
        w = trial
    assert w.payload() == rcc.write_steps(steps, 8.0) and w.num_messages == 3


def test_step_reader_refuses_chunks_the_payload_cannot_hold():
    payload = rcc.write_steps([np.zeros(10**6, np.int64)], 8.0)
    n_words = len(payload) // 4
    per_chunk = rcc.stream.min_chunk_bits(8.0)
    # honest: 10**6 chunks of index 0 cost more than the bound per chunk
    assert 8 * len(payload) + rcc.stream.CODER_SLACK_BITS >= 10**6 * per_chunk
    assert len(rcc.read_steps(payload, 1, dims=10**6, max_chunk_bits=8.0)[0]) == 10**6
    cut = payload[: 4 * (n_words // 3)]
    with pytest.raises(ValueError, match="corrupted RCC step stream: step 0 declares"):
        rcc.read_steps(cut, 1, dims=10**6, max_chunk_bits=8.0)
    with pytest.raises(ValueError, match="whole 32-bit words"):
        rcc.read_steps(b"abc", 1, dims=10, max_chunk_bits=8.0)
    with pytest.raises(ValueError, match="do not fit"):
        rcc.read_steps(b"", 25, dims=10, max_chunk_bits=8.0)  # 25 x 2.63 bits > 64


def test_step_sample_round_trip_with_concentrated_kl_needs_a_split():
    rng = np.random.default_rng(1)
    mu_p = rng.normal(size=(2, 60))
    mu_q = mu_p.copy()
    mu_q[0, :5] += 0.9  # 14.6 bits each > B + 8 = 12: only singletons are small enough
    code = rcc.encode_step(mu_q, 0.2, mu_p, 0.2, seed=9, stream=4, max_chunk_bits=4.0,
                           padding=2, algorithm="pfr", backend="numpy")
    assert code.split > 0 and code.n_chunks == len(code.indices)
    assert code.n_chunks == rcc.layouts.diffc_count(code.kl_q, code.split, 120, 4.0)
    z = rcc.decode_step(code.indices, mu_p, 0.2, seed=9, stream=4, backend="numpy")
    assert np.array_equal(z, code.sample) and z.shape == mu_p.shape
    # the count is part of the layout: one index fewer is another (wrong) layout
    z2 = rcc.decode_step(code.indices[:-1], mu_p, 0.2, seed=9, stream=4, backend="numpy")
    assert not np.array_equal(z2, code.sample)
    with pytest.raises(ValueError, match="121 chunks for 120"):
        rcc.decode_step(np.zeros(121, np.int64), mu_p, 0.2, seed=9, stream=4, backend="numpy")
    with pytest.raises(ValueError, match="0 chunks"):
        rcc.decode_step(np.zeros(0, np.int64), mu_p, 0.2, seed=9, stream=4, backend="numpy")


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
    z = rcc.decode_step(code.indices, mu_p, sigma_p, seed=11, stream=3, backend=backend)
    assert np.array_equal(z, code.sample)
    # the sample is a candidate of the proposal: (z - mu_p) / sigma_p is the shared normal,
    # so decoding with a different sigma_p moves every coordinate by that ratio
    z2 = rcc.decode_step(code.indices, mu_p, 2 * sigma_p, seed=11, stream=3, backend=backend)
    assert np.allclose(z2 - mu_p, 2 * (z - mu_p), rtol=1e-12, atol=1e-14)


def test_step_sigmas_are_validated():
    mu = np.zeros((2, 5))
    kw = dict(seed=0, stream=0, max_chunk_bits=8.0, padding=2, algorithm="pfr", backend="numpy")
    with pytest.raises(ValueError, match="sigma_q of shape"):
        rcc.encode_step(mu, np.ones(3), mu, 1.0, **kw)
    with pytest.raises(ValueError, match="sigma_p must be positive"):
        rcc.encode_step(mu, 1.0, mu, np.array([1.0, 0, 1, 1, 1]), **kw)
    with pytest.raises(ValueError, match="sigma_p must be positive"):
        rcc.decode_step(np.zeros(1, np.int64), mu, -1.0, seed=0, stream=0, backend="numpy")


def test_diffc_permutation_is_the_documented_philox_sort_and_counts_follow_the_formula():
    from rdptheory.kernels import philox4x32_10

    seed, stream, d = (5 << 32) + 17, 3, 40
    j = np.arange(d, dtype=np.uint64)
    counter = np.stack([j, np.zeros_like(j), np.full_like(j, stream),
                        np.full_like(j, 0x5045524D)], axis=-1)
    words = philox4x32_10(counter, np.array([17, 5], dtype=np.uint64))
    key = [(int(a) << 32) | int(b) for a, b in words[:, :2]]
    assert layouts.diffc_permutation(seed, stream, d).tolist() == sorted(range(d),
                                                                         key=key.__getitem__)
    with pytest.raises(ValueError, match="dims"):
        layouts.diffc_permutation(seed, stream, 0)
    # C = clip(ceil(kl_q / B) 2^e, 1, d)
    assert layouts.diffc_count(17, 1, 100, 8.0) == 6
    assert layouts.diffc_count(16, 0, 100, 8.0) == 2
    assert layouts.diffc_count(0, 0, 100, 8.0) == 1
    assert layouts.diffc_count(0, 2, 100, 8.0) == 4
    assert layouts.diffc_count(1000, 3, 50, 8.0) == 50
    assert layouts.equal_starts(10, 4).tolist() == [0, 2, 5, 8, 10]  # round(c d / n)
    assert layouts.equal_sizes(10, 4) == (2, 3, 3, 2)


def test_diffc_split_takes_the_first_split_whose_chunks_fit():
    """e = min{e : max_c KL_c(e) <= B + 8 or C(e) = d}: checked against a brute force."""
    rng = np.random.default_rng(12)
    for trial in range(20):
        d = int(rng.integers(2, 80))
        kl = rng.exponential(rng.uniform(0.1, 6.0), size=d)
        kl_q, b, seed, stream = int(np.ceil(kl.sum())), float(rng.uniform(1, 10)), trial, 2
        lay = layouts.diffc_split(kl, kl_q, b, seed, stream)
        perm = layouts.diffc_permutation(seed, stream, d)
        for e in range(layouts.MAX_SPLIT + 1):
            n = layouts.diffc_count(kl_q, e, d, b)
            ckl = np.add.reduceat(kl[perm], layouts.equal_starts(d, n)[:-1])
            if ckl.max() <= b + layouts.SLACK_BITS or n == d:
                break
        assert (lay.split, lay.n_chunks) == (e, n)
        assert np.array_equal(lay.perm, perm) and np.allclose(lay.chunk_kl, ckl, rtol=0,
                                                               atol=1e-12)
        assert np.array_equal(lay.starts, layouts.equal_starts(d, n))


def test_step_reader_validates_dims_and_reports_garbage():
    w = rcc.RCCStreamWriter(8.0)
    w.add(np.array([5]))
    w.add(np.array([1, 2]))
    data = w.to_bytes()
    r = rcc.RCCStreamReader(data)
    with pytest.raises(ValueError, match="dims"):
        r.read_step(0)
    with pytest.raises(ValueError, match="dims"):
        r.read_step(2**24)
    assert r.read_step(1).tolist() == [5] and r.remaining == 1  # one chunk of one coordinate
    with pytest.raises(ValueError, match="corrupted RCC step: 2 chunks for 1"):
        r.read_step(1)
    with pytest.raises(ValueError, match="n_steps"):
        rcc.read_steps(w.payload(), -1, 4, 8.0)
    from rdptheory.rcc import _format

    garbage = rcc.RCCStreamReader(_format.pack_stream(w.model, 4, b"G\x0b"))
    # three one-chunk steps, then a count difference below 1 (a predicted count, step 3)
    assert [garbage.read_step(1000).size for _ in range(3)] == [1, 1, 1]
    with pytest.raises(ValueError, match="^corrupted RCC step: -3 chunks for 1000 coordinates$"):
        garbage.read_step(1000)
    with pytest.raises(ValueError, match="dims must be >= 1"):
        rcc.read_steps(w.payload(), 1, 0, 8.0)
    with pytest.raises(ValueError, match="dims gives 1 dimensions for 2 steps"):
        rcc.read_steps(w.payload(), 2, [4], 8.0)


def test_min_chunk_bits_is_the_most_probable_buckets_code_length():
    from rdptheory.rcc._index_coding import IndexModel

    for b in (0.5, 8.0, 13.0, 24.0):
        p_max = IndexModel(float(np.float32(b)), 2, exact_tail=True).bucket_probabilities().max()
        assert rcc.stream.min_chunk_bits(b) == pytest.approx(-np.log2(p_max), rel=1e-12)
        assert 0 < rcc.stream.min_chunk_bits(b) < 8
    # the cheaper of a whole count (log2 24) and a count difference (its likeliest bucket)
    law = rcc._format.STEP_DELTA_LAW
    assert rcc.stream.MIN_STEP_BITS == pytest.approx(-np.log2(law.max()), rel=1e-15)
    assert rcc.stream.MIN_STEP_BITS < np.log2(24)


def test_step_reader_budget_is_cumulative_and_edges():
    big = [np.zeros(20000, np.int64)] * 3
    payload = rcc.write_steps(big, 8.0)
    assert [s.size for s in rcc.read_steps(payload, 3, 20000, 8.0)] == [20000] * 3
    cut = payload[: 4 * (len(payload) // 8)]  # half the words: each step alone would fit
    assert 20000 * rcc.stream.min_chunk_bits(8.0) < 8 * len(cut)
    with pytest.raises(ValueError, match="step 1 declares 20000 chunks"):
        rcc.read_steps(cut, 3, 20000, 8.0)
    assert rcc.read_steps(payload, 0, 20000, 8.0) == []
    one = rcc.write_steps([np.array([7])], 8.0)
    assert rcc.read_steps(one, 1, 1, 8.0)[0].tolist() == [7]
    assert rcc.read_steps(one, 1, [1], 8.0)[0].tolist() == [7]
    for bad in ([0], [2**24]):
        with pytest.raises(ValueError, match="dims must be"):
            rcc.read_steps(one, 1, bad, 8.0)
    with pytest.raises(ValueError, match="dims must be"):
        rcc.read_steps(one, 1, 2**24, 8.0)
    with pytest.raises(ValueError, match="a step needs between 1 and 16777215 chunks, got 0"):
        rcc.write_steps([np.zeros(0, np.int64)], 8.0)


# ------------------------------------------------------------------ predicted chunk counts


def test_predicted_count_is_the_geometric_extrapolation():
    from rdptheory.rcc._format import MAX_DIMS, predicted_count

    assert predicted_count([], 100) is None and predicted_count([61], 100) is None
    assert predicted_count([61, 8], 100) == 8  # step 2: step 1's count (step 0 is no reference)
    assert predicted_count([61, 8, 10], 100) == 13  # round(100 / 8) = round(12.5) = 13
    assert predicted_count([61, 8, 10, 13], 100) == 17  # round(16.9)
    assert predicted_count([1, 100, 10], 5) == 1  # round(0.1) = 0, clipped to 1
    assert predicted_count([1, 2, 10], 40) == 40  # round(50) clipped to dims
    assert predicted_count([1, 2, MAX_DIMS], MAX_DIMS) == MAX_DIMS


@pytest.mark.parametrize("counts", [[61, 8, 10, 13, 17, 20, 26, 33, 42], [3, 1, 1, 900, 1, 2, 700],
                                    [1, 1, 1, 1], [5, 9, 2, 1, 400, 399, 1]])
def test_steps_with_predicted_counts_round_trip(counts):
    rng = np.random.default_rng(len(counts))
    steps = [rng.integers(0, 2**9, size=c) for c in counts]
    payload = rcc.write_steps(steps, 8.0)
    got = rcc.read_steps(payload, len(steps), 1000, 8.0)
    assert [g.tolist() for g in got] == [s.tolist() for s in steps]
    w = rcc.RCCStreamWriter(8.0)
    for s in steps:
        w.add(s)
    r = rcc.RCCStreamReader(w.to_bytes())
    assert [r.read_step(1000).tolist() for _ in steps] == [s.tolist() for s in steps]


def test_a_predicted_count_costs_its_difference_bucket():
    """Step k >= 2 sends zz(C - Ĉ): its bucket under STEP_DELTA_LAW, then bit_length - 1 raw
    bits (ideal length within the coder's termination, against a stream without the step)."""
    from rdptheory.rcc import _format

    model = rcc.stream.check_model_params(8.0, 2)
    idx = np.zeros(1, np.int64)
    law = _format.STEP_DELTA_LAW
    for count, cost in [(13, -np.log2(law[0])),  # Ĉ = 13: u = 0
                        (12, -np.log2(law[1])),  # u = 1
                        (20, -np.log2(law[4]) + 3),  # D = 7: u = 14, bucket 4
                        (1, -np.log2(law[5]) + 4)]:  # D = -12: u = 23, bucket 5
        bits = []
        for steps in ([8, 10], [8, 10, count]):
            enc = _format.new_encoder()
            for k, c in enumerate(steps):
                _format.write_step(enc, np.zeros(c, np.int64), model, steps[:k])
            for _ in range(200):  # push the steps far from the termination
                _format.write_step(enc, idx, model)
            bits.append(32 * enc.get_compressed().size)
        extra = cost + model_bits(count)
        assert extra - 64 <= bits[1] - bits[0] <= extra + 64


def model_bits(count):
    """Ideal bits of ``count`` zero indices under the steps' Zipf law at B = 8."""
    from rdptheory.rcc import _format

    law = _format.step_index_model(rcc.stream.check_model_params(8.0, 2))
    return float(law.index_bits(np.zeros(count, np.int64)).sum())


def test_a_difference_outside_the_dimension_is_corrupt():
    from rdptheory.rcc import _format

    model = rcc.stream.check_model_params(8.0, 2)
    enc = _format.new_encoder()
    for k, c in enumerate([4, 4, 9]):  # the third count 9 is predicted 4
        _format.write_step(enc, np.zeros(c, np.int64), model, [4, 4, 9][:k])
    payload = enc.get_compressed().astype("<u4").tobytes()
    assert [s.size for s in rcc.read_steps(payload, 3, 9, 8.0)] == [4, 4, 9]
    with pytest.raises(ValueError, match=r"step 2 .*: corrupted RCC step: 9 chunks for 8 "
                                         r"coordinates|corrupted RCC step: 9 chunks for 8"):
        rcc.read_steps(payload, 3, 8, 8.0)


def test_a_copied_writer_keeps_the_counts_it_predicts_from():
    w = rcc.RCCStreamWriter(8.0)
    for c in (7, 3, 5):
        w.add(np.ones(c, np.int64))
    trial = w.copy()
    trial.add(np.ones(8, np.int64))
    w.add(np.ones(8, np.int64))
    assert trial.payload() == w.payload()
    assert [s.size for s in rcc.read_steps(w.payload(), 4, 10, 8.0)] == [7, 3, 5, 8]
