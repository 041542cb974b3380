"""Layouts derived from a decoder-known KL proxy (``layout_kl_bits``): round trips, fallback."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdptheory import rcc
from rdptheory.rcc._chunking import chunk_kl_bits, proxy_layout


def _uniform_case(d=256, kl_per_dim=0.25, seed=0):
    """A DiffC-like step whose expected KL is ``kl_per_dim`` bits in every coordinate."""
    rng = np.random.default_rng(seed)
    mu_p, s = rng.normal(size=d), np.full(d, 0.5)
    shift = np.sqrt(2.0 * kl_per_dim * np.log(2.0)) * rng.normal(size=d)
    return mu_p + shift * s, s, mu_p, s


def test_proxy_layout_is_equal_chunks_for_a_scalar():
    assert proxy_layout(0.25, 100, 8.0).sizes == (32, 32, 32, 4)
    assert proxy_layout(np.full(100, 0.25), 100, 8.0) == proxy_layout(0.25, 100, 8.0)
    with pytest.raises(ValueError, match="one entry per coordinate"):
        proxy_layout(np.ones(3), 100, 8.0)
    with pytest.raises(ValueError, match="layout_kl_bits"):
        proxy_layout(-1.0, 100, 8.0)


def test_round_trips_with_a_proxy():
    mu_q, s_q, mu_p, s_p = _uniform_case()
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=2, max_chunk_bits=8, layout_kl_bits=0.25)
    assert msg.external_layout and msg.chunk_sizes == (32,) * 8 and msg.side_bits == 1.0
    headerless = {"header": False, "max_chunk_bits": 8}
    for data, kw in ((msg, {}), (msg.to_bytes(), {}), (msg.to_bytes(header=False), headerless)):
        z = rcc.decode(data, mu_p, s_p, seed=2, layout_kl_bits=0.25, **kw)
        np.testing.assert_array_equal(z, msg.sample)
    with pytest.raises(ValueError, match="chunk_sizes"):  # the proxy is needed to decode
        rcc.decode(msg.to_bytes(), mu_p, s_p, seed=2)
    with pytest.raises(ValueError, match="layout_kl_bits"):  # a different proxy's layout
        rcc.decode(msg, mu_p, s_p, seed=2, layout_kl_bits=0.5)
    with pytest.raises(ValueError, match="not both"):
        rcc.encode(mu_q, s_q, mu_p, s_p, seed=2, layout_kl_bits=0.25, chunk_sizes=(256,))


def test_proxy_falls_back_to_a_sent_layout():
    # a proxy of 0 puts all 256 coordinates (64 bits of KL) in one chunk: more than 24 bits,
    # so the encoder sends its own layout, and the decoder with the same proxy reads it
    mu_q, s_q, mu_p, s_p = _uniform_case()
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=3, max_chunk_bits=8, layout_kl_bits=0.0)
    own = rcc.encode(mu_q, s_q, mu_p, s_p, seed=3, max_chunk_bits=8)
    assert not msg.external_layout and msg.to_bytes() == own.to_bytes()
    z = rcc.decode(msg.to_bytes(), mu_p, s_p, seed=3, layout_kl_bits=0.0)
    np.testing.assert_array_equal(z, msg.sample)


def test_stream_with_a_proxy():
    w = rcc.RCCStreamWriter(max_chunk_bits=8)
    cases = [_uniform_case(seed=k) for k in range(3)]
    msgs = [rcc.encode(*c, seed=4, stream=k, max_chunk_bits=8, layout_kl_bits=0.25)
            for k, c in enumerate(cases)]  # fmt: skip
    for m in msgs:
        w.write(m)
    r = rcc.RCCStreamReader(w.to_bytes())
    for k, (c, m) in enumerate(zip(cases, msgs)):
        z = r.read(c[2], c[3], seed=4, stream=k, layout_kl_bits=np.full((16, 16), 0.25))
        np.testing.assert_array_equal(z, m.sample)


def test_proxy_saves_layout_bits():
    # measured (d = 4096, rcc package docstring): 49% -> 8% overhead at B = 8
    mu_q, s_q, mu_p, s_p = _uniform_case(d=4096, seed=5)
    sent = rcc.encode(mu_q, s_q, mu_p, s_p, seed=5, max_chunk_bits=8, chunk_layout="sent")
    proxy = rcc.encode(mu_q, s_q, mu_p, s_p, seed=5, max_chunk_bits=8, layout_kl_bits=0.25)
    assert proxy.external_layout and proxy.n_chunks < sent.n_chunks
    assert proxy.body_bits < 0.8 * sent.body_bits, (proxy.body_bits, sent.body_bits)
    # without a proxy the encoder's own choice is the diffc layout, cheaper than sent sizes
    auto = rcc.encode(mu_q, s_q, mu_p, s_p, seed=5, max_chunk_bits=8)
    assert auto.permuted_layout and auto.body_bits < 0.9 * sent.body_bits


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 40),
    st.floats(0.0, 3.0),
    st.floats(1.0, 10.0),
    st.integers(0, 2**32),
)
def test_round_trip_property_with_any_proxy(d, proxy, budget, seed):
    # any proxy decodes: its own layout when it fits, else the sent fallback
    mu_q, s_q, mu_p, s_p = _uniform_case(d=d, kl_per_dim=1.0, seed=seed)
    msg = rcc.encode(mu_q, s_q, mu_p, s_p, seed=seed, max_chunk_bits=budget, backend="numpy",
                     layout_kl_bits=proxy)  # fmt: skip
    expected = proxy_layout(proxy, d, np.float32(budget))
    kl = rcc.diagonal_gaussian_kl(mu_q, s_q, mu_p, s_p)
    fits = chunk_kl_bits(kl, expected).max() <= rcc.MAX_CHUNK_BITS
    assert msg.external_layout == fits and (msg.chunk_sizes == expected.sizes or not fits)
    assert max(msg.chunk_kl_bits) <= rcc.MAX_CHUNK_BITS
    z = rcc.decode(msg.to_bytes(), mu_p, s_p, seed=seed, backend="numpy", layout_kl_bits=proxy)
    np.testing.assert_array_equal(z, msg.sample)


def test_proxy_validation():
    mu_q, s_q, mu_p, s_p = _uniform_case(d=8)
    for bad, exc in ((np.nan, ValueError), (-0.5, ValueError), (np.ones(3), ValueError),
                     ("x", TypeError)):  # fmt: skip
        with pytest.raises(exc, match="layout_kl_bits"):
            rcc.encode(mu_q, s_q, mu_p, s_p, seed=1, layout_kl_bits=bad)


def _table_cases(seed, d=4096):
    """The targets of the rcc package docstring's layout table, with their proxies."""
    rng = np.random.default_rng(seed)
    for k in (0.25, 1.0):
        mu_p, s = rng.normal(size=d), np.full(d, 0.5)
        shift = np.sqrt(2 * k * np.log(2)) * rng.normal(size=d) * s
        yield (mu_p + shift, s, mu_p, s), k
    for t2 in (1.0, 0.1):
        lam = rng.uniform(0.2, 2, d)
        x = rng.normal(size=d) * np.sqrt(lam)
        yield (x, np.sqrt(t2), np.zeros(d), np.sqrt(lam + t2)), 0.5 * np.log2(1 + lam / t2)


@pytest.mark.slow
def test_layout_table():
    # reproduces the B = 8 columns of the table in the rdptheory.rcc docstring (mean of 3 seeds)
    body, kl = np.zeros((2, 4)), np.zeros(4)
    for seed in range(3):
        for i, (args, proxy) in enumerate(_table_cases(seed)):
            # the table's "sent" column is the contiguous sent-sizes layout (chunk_layout="auto",
            # the default since the layouts registry, may pick the cheaper diffc layout)
            for j, kw in enumerate(({"chunk_layout": "sent"}, {"layout_kl_bits": proxy})):
                m = rcc.encode(*args, seed=seed, max_chunk_bits=8, **kw)
                body[j, i] += m.body_bits
            kl[i] += m.kl_bits
    overhead = body / kl - 1.0
    np.testing.assert_allclose(overhead[0], [0.491, 0.714, 0.607, 0.630], atol=0.002)
    np.testing.assert_allclose(overhead[1], [0.081, 0.536, 0.233, 0.321], atol=0.002)


def test_candidate_cap_keeps_the_proxy_layout_and_decodes():
    """max_candidate_bits: a proxy chunk with > 24 bits of actual KL keeps the proxy layout
    (no layout sent), every chunk draws <= 2**cap candidates, and decode needs no cap."""
    d = 16
    mu_q, s, mu_p = np.full(d, 3.0), np.ones(d), np.zeros(d)  # 6.49 bits per coordinate
    kw = dict(seed=5, max_chunk_bits=8.0, padding=2, layout_kl_bits=1.0, backend="numpy")
    msg = rcc.encode(mu_q, s, mu_p, s, max_candidate_bits=9, **kw)
    assert msg.external_layout and msg.chunk_sizes == (8, 8)
    assert max(msg.chunk_kl_bits) > 24.0 and max(msg.candidate_bits) == 9
    assert max(msg.indices) < 2**9
    z = rcc.decode(msg.to_bytes(), mu_p, s, seed=5, backend="numpy", layout_kl_bits=1.0)
    np.testing.assert_array_equal(z, msg.sample)
    with pytest.raises(ValueError, match="chunk"):  # without the cap: 52-bit chunks refused
        rcc.encode(mu_q, s, mu_p, s, chunk_sizes=(8, 8), seed=5, backend="numpy")
    fallback = rcc.encode(mu_q, s, mu_p, s, **kw)  # without the cap: the layout is sent
    assert not fallback.external_layout


@pytest.mark.parametrize("bad, match", [(31, "max_candidate_bits"), (0, "max_candidate_bits"),
                                        (2.5, "max_candidate_bits")])
def test_candidate_cap_validation(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rcc.encode([0.1], 1.0, [0.0], 1.0, seed=0, max_candidate_bits=bad, backend="numpy")
    with pytest.raises(ValueError, match="pfr_es"):
        rcc.encode([0.1], 0.5, [0.0], 1.0, seed=0, algorithm="pfr_es", max_candidate_bits=8,
                   backend="numpy")
