"""encode/decode: exact round trips, cross-backend decoding, determinism, input validation."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdptheory import kernels, rcc
from rdptheory.rcc import _format as fmt
from rdptheory.rcc.coding import CHUNK_OVERHEAD_BITS

BACKENDS = [b for b in ("numba", "torch", "triton") if b in kernels.available_backends()]


def _diffc_case(d=12, seed=0):
    """sigma_q = sigma_p (a DiffC step): q = N(mu_p + delta, s^2), p = N(mu_p, s^2)."""
    rng = np.random.default_rng(seed)
    mu_p, s = rng.normal(size=d), rng.uniform(0.3, 1.0, d)
    return mu_p + rng.normal(scale=3.0, size=d) * s, s, mu_p, s


def _oneshot_case(d=12, seed=1, t2=0.05):
    """q(y|x) = N(x, t^2) against the marginal p(y) = N(0, lambda + t^2)."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.2, 2.0, d)
    x = rng.normal(size=d) * np.sqrt(lam)
    return x, np.sqrt(t2), np.zeros(d), np.sqrt(lam + t2)


CASES = {"diffc": _diffc_case(), "oneshot": _oneshot_case()}


@pytest.mark.parametrize(
    "case, algorithm",
    # pfr_es needs a bounded density ratio: not the DiffC case (test_early_stop_rejects_...)
    [("diffc", "pfr"), ("diffc", "orc"), ("oneshot", "pfr"), ("oneshot", "orc"),
     ("oneshot", "pfr_es")],
)  # fmt: skip
def test_round_trip_exact_numpy(case, algorithm):
    mu_q, s_q, mu_p, s_p = CASES[case]
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=5, algorithm=algorithm, max_chunk_bits=8,
                     backend="numpy", stream=3)  # fmt: skip
    assert msg.n_chunks >= 2 and msg.kl_bits > 8
    for data in (msg, msg.to_bytes()):
        z = rcc.decode(data, mu_p, s_p, seed=5, backend="numpy", stream=3)
        np.testing.assert_array_equal(z, msg.sample)
    z = rcc.decode(msg.to_bytes(header=False), mu_p, s_p, seed=5, backend="numpy", stream=3,
                   header=False, max_chunk_bits=8, algorithm=algorithm)  # fmt: skip
    np.testing.assert_array_equal(z, msg.sample)
    # the selected candidate's log-weight is the one reported
    lw = (-((z - mu_q) ** 2) / (2 * s_q**2) + (z - mu_p) ** 2 / (2 * s_p**2)
          + np.log(s_p / np.broadcast_to(s_q, z.shape)))  # fmt: skip
    order = msg.coordinate_order(seed=5, stream=3)
    np.testing.assert_allclose(np.add.reduceat(lw[order], msg.chunk_starts[:-1]), msg.log_weights,
                               rtol=1e-9, atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_backend(backend):
    d = 6 if backend == "triton" else 24
    mu_q, s_q, mu_p, s_p = _oneshot_case(d)
    ref = rcc.encode(mu_q, s_q, mu_p, s_p, seed=9, max_chunk_bits=6, backend="numpy")
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=9, max_chunk_bits=6, backend=backend)
    assert msg.indices == ref.indices and msg.to_bytes() == ref.to_bytes()
    np.testing.assert_allclose(msg.sample, ref.sample, rtol=0, atol=1e-6)
    z = rcc.decode(ref.to_bytes(), mu_p, s_p, seed=9, backend=backend)
    np.testing.assert_allclose(z, ref.sample, rtol=0, atol=1e-6)


def test_early_stop_matches_truncated_pfr():
    # Same candidates and arrival times: exact PFR's index equals truncated PFR's whenever
    # it is below N_c (then it is the argmin over the first N_c too).
    mu_q, s_q, mu_p, s_p = _oneshot_case(40, seed=4, t2=0.3)
    es = rcc.encode(mu_q, s_q, mu_p, s_p, seed=2, algorithm="pfr_es", max_chunk_bits=5,
                    backend="numpy")  # fmt: skip
    tr = rcc.encode(mu_q, s_q, mu_p, s_p, seed=2, algorithm="pfr", max_chunk_bits=5,
                    backend="numpy")  # fmt: skip
    assert es.chunk_sizes == tr.chunk_sizes
    inside = [k_es < 2**b for k_es, b in zip(es.indices, tr.candidate_bits)]
    assert sum(inside) >= 0.7 * len(inside)
    for ok, k_es, k_tr in zip(inside, es.indices, tr.indices):
        assert k_es == k_tr if ok else k_tr < k_es


def test_early_stop_rejects_unbounded_ratio():
    mu_q, s_q, mu_p, s_p = _diffc_case(4)
    with pytest.raises(ValueError, match="pfr_es"):
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=0, algorithm="pfr_es", backend="numpy")
    # sigma_q = sigma_p with mu_q = mu_p is bounded (ratio 1): allowed
    msg = rcc.encode(mu_p, s_p, mu_p, s_p, seed=0, algorithm="pfr_es", backend="numpy")
    assert msg.kl_bits == 0.0 and msg.indices == (0,)


def test_determinism_and_streams():
    mu_q, s_q, mu_p, s_p = _oneshot_case(16)
    a = rcc.encode(mu_q, s_q, mu_p, s_p, seed=123, backend="numpy").to_bytes()
    b = rcc.encode(mu_q, s_q, mu_p, s_p, seed=123, backend="numpy").to_bytes()
    assert a == b
    # low KL per chunk, so the arrival times (encoder seed) matter as well as the candidates
    mu_q, s_q, mu_p, s_p = _oneshot_case(16, t2=0.5)
    other = [
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=123, backend="numpy", max_chunk_bits=4,
                   chunk_layout="sent", **kw).sample
        for kw in ({"stream": 1}, {"encoder_seed": 77}, {})
    ]
    assert not np.array_equal(other[0], other[2]) and not np.array_equal(other[1], other[2])
    assert rcc.derive_encoder_seed(123) != 123


def test_golden_md5():
    mu_p = np.linspace(-1.0, 1.0, 8)
    msg = rcc.encode(mu_p + 0.8, 0.4, mu_p, 1.0, seed=20261125, stream=7, max_chunk_bits=10,
                     backend="numpy")  # fmt: skip
    data = msg.to_bytes()
    assert hashlib.md5(data).hexdigest() == GOLDEN_MD5, (data.hex(), msg)


# RCC format version 2 (rdptheory._container layout); version 1 was 9dc248a5e45343c0515208fd137a03c7
GOLDEN_MD5 = "d36f7c87b000dbca5d843601db95c290"


def test_shapes_and_broadcasting():
    mu_p = np.zeros((2, 3))
    msg = rcc.encode(np.full((2, 3), 0.5), 0.7, mu_p, 1.0, seed=1, backend="numpy")
    assert msg.sample.shape == (2, 3) and msg.dims == 6
    z = rcc.decode(msg.to_bytes(), mu_p, np.ones((1, 3)), seed=1, backend="numpy")
    np.testing.assert_array_equal(z, msg.sample)
    z0 = rcc.decode(rcc.encode(0.3, 0.5, 0.0, 1.0, seed=1, backend="numpy"), 0.0, 1.0, seed=1,
                    backend="numpy")  # fmt: skip
    assert z0.shape == ()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sigma_q": 0.0}, "sigma_q"),
        ({"sigma_q": -1.0}, "sigma_q"),
        ({"sigma_p": np.array([1.0, 0.0, 1.0])}, "sigma_p"),
        ({"mu_q": np.array([0.0, np.nan, 0.0])}, "mu_q"),
        ({"mu_p": np.array([0.0, np.inf, 0.0])}, "mu_p"),
        ({"mu_q": np.zeros(4)}, "shape"),
        ({"sigma_q": np.ones(2)}, "broadcast"),
        ({"max_chunk_bits": 24.5}, "max_chunk_bits"),
        ({"max_chunk_bits": 0.0}, "max_chunk_bits"),
        ({"max_chunk_bits": float("nan")}, "max_chunk_bits"),
        ({"padding": -1}, "padding"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"stream": 2**31}, "stream"),
        ({"algorithm": "greedy"}, "algorithm"),
        ({"backend": "fortran"}, "backend"),
        ({"mu_q": np.array([0.0, 40.0, 0.0]), "sigma_q": 1e-9}, "KL"),
        ({"mu_p": np.zeros(0), "mu_q": np.zeros(0)}, "mu_p"),
    ],
)
def test_encode_rejects_bad_inputs(kwargs, match):
    args = {"mu_q": np.zeros(3), "sigma_q": 0.5, "mu_p": np.zeros(3), "sigma_p": 1.0, "seed": 0,
            "backend": "numpy"}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        rcc.encode(args.pop("mu_q"), args.pop("sigma_q"), args.pop("mu_p"), args.pop("sigma_p"),
                   **args)  # fmt: skip


def test_type_errors():
    with pytest.raises(TypeError):
        rcc.encode(["a"], 1.0, [0.0], 1.0, seed=0)
    with pytest.raises(TypeError):
        rcc.encode([0.0], 1.0, [0.0], 1.0, seed=1.5)
    with pytest.raises(TypeError):
        rcc.decode(12345, [0.0], 1.0, seed=0)


def test_decode_rejects_mismatch_and_damage():
    msg = rcc.encode(np.full(5, 0.4), 0.5, np.zeros(5), 1.0, seed=3, backend="numpy")
    data = msg.to_bytes()
    with pytest.raises(ValueError, match="dims"):
        rcc.decode(data, np.zeros(4), 1.0, seed=3)
    with pytest.raises(ValueError, match="dims"):
        rcc.decode(msg, np.zeros(4), 1.0, seed=3)
    with pytest.raises(ValueError):
        rcc.decode(data[:-1], np.zeros(5), 1.0, seed=3)
    with pytest.raises(ValueError, match="sigma_p"):
        rcc.decode(data, np.zeros(5), -1.0, seed=3)


def test_report_fields():
    mu_q, s_q, mu_p, s_p = _oneshot_case(30)
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=4, backend="numpy")
    rep = msg.report()
    kl = rcc.diagonal_gaussian_kl(mu_q, s_q, mu_p, s_p)
    assert abs(rep.kl_bits - kl.sum()) < 1e-9
    assert rep.num_bits == msg.num_bits > rep.body_bits
    assert rep.leg18_bound_bits == pytest.approx(
        sum(rcc.leg18_bound_bits(np.array(msg.chunk_kl_bits)))
    )
    assert msg.candidate_dims == sum(2**b * s for b, s in zip(msg.candidate_bits,
                                                              msg.chunk_sizes))  # fmt: skip
    parsed = rcc.RCCMessage.from_bytes(msg.to_bytes())
    assert np.isnan(parsed.kl_bits) and np.isnan(parsed.report().leg18_bound_bits)


def test_external_layout_round_trip_and_errors():
    mu_q, s_q, mu_p, s_p = _oneshot_case(20)
    sizes = (5, 5, 5, 5)
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=8, backend="numpy", chunk_sizes=sizes)
    assert msg.external_layout and msg.chunk_sizes == sizes and msg.side_bits == 1.0
    for data, kw in ((msg.to_bytes(), {}), (msg.to_bytes(header=False), {"header": False})):
        z = rcc.decode(data, mu_p, s_p, seed=8, backend="numpy", chunk_sizes=sizes, **kw)
        np.testing.assert_array_equal(z, msg.sample)
        with pytest.raises(ValueError, match="chunk_sizes"):
            rcc.decode(data, mu_p, s_p, seed=8, backend="numpy", **kw)
    with pytest.raises(ValueError, match="chunk_sizes"):
        rcc.decode(msg, mu_p, s_p, seed=8, chunk_sizes=(10, 10))
    # a transmitted layout must agree with a chunk_sizes the decoder passes
    own = rcc.encode(mu_q, s_q, mu_p, s_p, seed=8, backend="numpy")
    with pytest.raises(ValueError, match="differ"):
        rcc.decode(own.to_bytes(), mu_p, s_p, seed=8, chunk_sizes=(20,))
    with pytest.raises(ValueError, match="sum"):
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=8, chunk_sizes=(5, 5))
    with pytest.raises(ValueError, match=">= 1"):
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=8, chunk_sizes=(0, 20))
    with pytest.raises(TypeError):
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=8, chunk_sizes=(5.0, 15.0))
    with pytest.raises(ValueError, match="24"):
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=8, chunk_sizes=(20,))


def test_stream_with_mixed_layouts_and_proposals():
    # a diffusion-like chain: each message's proposal depends on the previous sample
    rng = np.random.default_rng(6)
    target = rng.normal(size=10)
    w = rcc.RCCStreamWriter(max_chunk_bits=6)
    mu_p, samples = np.zeros(10), []
    for step in range(4):
        sizes = (5, 5) if step % 2 else None
        msg = rcc.encode(0.5 * (target + mu_p), 0.6, mu_p, 1.0, seed=4, stream=step,
                         max_chunk_bits=6, backend="numpy", chunk_sizes=sizes)  # fmt: skip
        w.write(msg)
        samples.append(msg.sample)
        mu_p = 0.5 * msg.sample
    r, mu_p = rcc.RCCStreamReader(w.to_bytes()), np.zeros(10)
    for step in range(4):
        z = r.read(mu_p, 1.0, seed=4, stream=step, backend="numpy",
                   chunk_sizes=(5, 5) if step % 2 else None)  # fmt: skip
        np.testing.assert_array_equal(z, samples[step])
        mu_p = 0.5 * z
    assert r.remaining == 0


@settings(max_examples=40)
@given(
    st.integers(1, 6).flatmap(
        lambda d: st.tuples(
            st.lists(st.floats(-1.5, 1.5), min_size=d, max_size=d),
            st.lists(st.floats(0.3, 1.5), min_size=d, max_size=d),
            st.lists(st.floats(-3.0, 3.0), min_size=d, max_size=d),
            st.lists(st.floats(0.2, 3.0), min_size=d, max_size=d),
        )
    ),
    st.floats(1.0, 8.0),
    st.sampled_from(["pfr", "orc"]),
    st.integers(0, 2**64 - 1),
)
def test_round_trip_property(arrays, budget, algorithm, seed):
    shift, ratio, mu_p, s_p = (np.array(a) for a in arrays)
    mu_q, s_q = mu_p + shift * s_p, ratio * s_p
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=seed, algorithm=algorithm, max_chunk_bits=budget,
                     backend="numpy", stream=seed % 2**31)  # fmt: skip
    z = rcc.decode(msg.to_bytes(), mu_p, s_p, seed=seed, backend="numpy", stream=seed % 2**31)
    np.testing.assert_array_equal(z, msg.sample)
    assert all(k < 2**b for k, b in zip(msg.indices, msg.candidate_bits))
    for kl_c, size in zip(msg.chunk_kl_bits, msg.chunk_sizes):
        if msg.permuted_layout:  # diffc: equal chunks of <= B + 8 bits (or singletons)
            assert kl_c <= np.float32(budget) + 8.0 + 1e-6 or msg.n_chunks == msg.dims
        else:  # greedy fill; a coarser size grid (g > 1) may overshoot B by at most B/8
            assert kl_c <= 1.125 * np.float32(budget) + 1e-6 or size == 1


def test_layout_granularity_saves_side_information():
    # many coordinates of small KL: a coarser size grid costs fewer layout bits in total
    rng = np.random.default_rng(7)
    mu_p, s = rng.normal(size=600), np.full(600, 0.5)
    mu_q = mu_p + rng.normal(scale=0.8, size=600) * s
    msg = rcc.encode(mu_q, s, mu_p, s, seed=3, backend="numpy", max_chunk_bits=10,
                     chunk_layout="sent")
    assert msg.size_granularity_log2 > 0
    kl = rcc.diagonal_gaussian_kl(mu_q, s, mu_p, s)
    fine = rcc.partition_chunks(kl, 10.0)
    fine_bits = fmt.layout_bits(600, fmt.Content(fine.sizes, fmt.best_std_level(fine.sizes, 600),
                                                 (), False, 0))  # fmt: skip
    assert msg.side_bits + CHUNK_OVERHEAD_BITS * msg.n_chunks < fine_bits + fine.n_chunks
    z = rcc.decode(msg.to_bytes(), mu_p, s, seed=3, backend="numpy")
    np.testing.assert_array_equal(z, msg.sample)
