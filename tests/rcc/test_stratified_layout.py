"""Stratified step layouts (RDPI 6 shaped steps): snake dealing by a decoder-known KL proxy,
the count rule, and steps coded on it (encoder state == decoder state bit for bit)."""

import numpy as np
import pytest

from rdptheory import kernels, rcc
from rdptheory.rcc import layouts
from rdptheory.rcc.coding import _step_bucket_bits


def test_snake_chunks_by_hand():
    assert layouts.snake_chunks(7, 3).tolist() == [0, 1, 2, 2, 1, 0, 0]
    assert layouts.snake_chunks(4, 1).tolist() == [0, 0, 0, 0]
    assert layouts.snake_chunks(4, 4).tolist() == [0, 1, 2, 3]
    sizes = np.bincount(layouts.snake_chunks(103, 10))
    assert sizes.sum() == 103 and sizes.max() - sizes.min() <= 1
    with pytest.raises(ValueError):
        layouts.snake_chunks(3, 4)


def test_order_is_by_decreasing_proxy_with_ties_in_the_shared_permutation_order():
    proxy = np.array([1.0, 5.0, 1.0, 3.0, 1.0, 5.0, 0.0])
    order = layouts.stratified_order(proxy, seed=4, stream=2)
    assert proxy[order].tolist() == sorted(proxy.tolist(), reverse=True)
    rank = np.argsort(layouts.diffc_permutation(4, 2, proxy.size))  # position in the perm
    for value in (5.0, 1.0):
        tied = order[proxy[order] == value]
        assert np.all(np.diff(rank[tied]) > 0)
    with pytest.raises(ValueError, match="finite"):
        layouts.stratified_order(np.array([1.0, np.nan]), 0, 0)


def test_layout_deals_the_sorted_coordinates_in_snake_order():
    order = np.array([4, 0, 3, 1, 2, 6, 5])
    perm, starts = layouts.stratified_layout(order, 3)
    # positions 0..6 go to chunks 0 1 2 2 1 0 0
    assert starts.tolist() == [0, 3, 5, 7]
    assert perm.tolist() == [4, 6, 5, 0, 2, 3, 1]


def test_split_spreads_heavy_coordinates_and_needs_far_fewer_chunks_than_doubling():
    """Ten 9-bit coordinates among 990 light ones, B = 8: DiffC's random equal split doubles
    until every coordinate is its own chunk; the stratified split with the exact KL as proxy
    puts one heavy coordinate per chunk and stops at the first count that fits B + 8."""
    kl = np.r_[np.full(10, 9.0), np.full(990, 0.05)]
    kl_q = int(np.ceil(kl.sum()))
    s = layouts.stratified_split(kl, kl, kl_q, 8.0, seed=1, stream=2)
    d = layouts.diffc_split(kl, kl_q, 8.0, seed=1, stream=2)
    assert d.n_chunks == 1000
    assert s.n_chunks < 20 and s.split == 0
    assert s.chunk_kl.max() <= 16.0 and np.isclose(s.chunk_kl.sum(), kl.sum())
    # the count before it in the growth sequence does not fit
    prev = s.n_chunks - max(1, int(s.n_chunks * layouts.STRATIFIED_GROWTH))
    order = layouts.stratified_order(kl, 1, 2)
    if prev >= layouts.diffc_count(kl_q, 0, kl.size, 8.0):
        ck = np.bincount(layouts.snake_chunks(kl.size, prev), kl[order])
        assert ck.max() > 16.0
    assert sorted(s.perm.tolist()) == list(range(kl.size))
    assert np.array_equal(np.add.reduceat(kl[s.perm], s.starts[:-1]), s.chunk_kl)


def test_one_coordinate_above_the_slack_does_not_force_one_chunk_per_coordinate():
    kl = np.r_[18.0, np.full(400, 0.1)]
    s = layouts.stratified_split(kl, kl, int(np.ceil(kl.sum())), 8.0, seed=0, stream=0)
    assert s.n_chunks < 40 and s.chunk_kl.max() <= 18.0 + layouts.SLACK_BITS / 2


def test_bucket_bits_pick_the_cheapest_fitting_candidate():
    rng = np.random.default_rng(5)
    kl = rng.exponential(0.2, 3000) * (rng.random(3000) < 0.2) * 10
    proxy = kl + rng.exponential(0.5, kl.size)  # a noisy proxy
    kl_q = int(np.ceil(kl.sum()))
    bb = _step_bucket_bits(8.0)
    plain = layouts.stratified_split(kl, proxy, kl_q, 8.0, 3, 1)
    best = layouts.stratified_split(kl, proxy, kl_q, 8.0, 3, 1, bb)

    def cost(ck):
        return bb[np.minimum(np.floor(ck).astype(int) + 1, bb.size - 1)].sum()

    assert best.n_chunks <= plain.n_chunks
    assert cost(best.chunk_kl) <= cost(plain.chunk_kl) + 1e-9
    assert best.chunk_kl.max() <= rcc.MAX_CHUNK_BITS


def _step(dims=600, seed=0):
    rng = np.random.default_rng(seed)
    mu_p = rng.normal(size=dims)
    shift = rng.normal(size=dims) * np.where(rng.random(dims) < 0.03, 1.0, 0.1)
    return mu_p + shift, mu_p, np.abs(shift) + rng.exponential(0.1, dims)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_steps_on_the_stratified_layout_decode_to_the_encoders_sample(backend):
    if backend not in kernels.available_backends():
        pytest.skip(f"backend {backend} is not available here")
    mu_q, mu_p, proxy = _step()
    sig = np.full(mu_p.size, 0.7)
    code = rcc.encode_step(mu_q, sig, mu_p, sig, seed=9, stream=3, max_chunk_bits=8.0,
                           padding=2, algorithm="pfr", backend=backend, layout_proxy=proxy)
    got = rcc.decode_step(code.indices, mu_p, sig, seed=9, stream=3, backend=backend,
                          layout_proxy=proxy)
    assert np.array_equal(got, code.sample)
    # the layout depends on the proxy: another proxy gives another sample
    other = rcc.decode_step(code.indices, mu_p, sig, seed=9, stream=3, backend=backend,
                            layout_proxy=proxy[::-1].copy())
    assert not np.array_equal(other, code.sample)
    # the stream carries it like any step
    payload = rcc.write_steps([code.indices], 8.0)
    assert np.array_equal(rcc.read_steps(payload, 1, mu_p.size, 8.0)[0], code.indices)


def test_without_a_proxy_a_step_is_the_diffc_step():
    mu_q, mu_p, _ = _step(seed=1)
    kw = {"seed": 2, "stream": 1, "max_chunk_bits": 8.0, "padding": 2, "algorithm": "pfr",
          "backend": "numpy"}
    a = rcc.encode_step(mu_q, 0.7, mu_p, 0.7, **kw)
    b = rcc.encode_step(mu_q, 0.7, mu_p, 0.7, layout_proxy=None, **kw)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.sample, b.sample)


def test_proxy_validation():
    mu_q, mu_p, proxy = _step(dims=50)
    kw = {"seed": 2, "stream": 1, "max_chunk_bits": 8.0, "padding": 2, "algorithm": "pfr",
          "backend": "numpy"}
    with pytest.raises(ValueError, match="one entry per coordinate"):
        rcc.encode_step(mu_q, 0.5, mu_p, 0.5, layout_proxy=proxy[:-1], **kw)
    with pytest.raises(ValueError, match="finite"):
        rcc.decode_step([0], mu_p, 0.5, seed=2, stream=1, backend="numpy",
                        layout_proxy=np.full(50, np.inf))
