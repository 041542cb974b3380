"""Per-coordinate KL and the greedy contiguous chunk partition (rdptheory.rcc._chunking)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory import rcc
from rdptheory.rcc._chunking import (
    ChunkLayout,
    candidate_bits,
    chunk_kl_bits,
    diagonal_gaussian_kl_nats,
    partition_chunks,
)


def _kl_direct(mu_q, s_q, mu_p, s_p):
    return np.log(s_p / s_q) + (s_q**2 + (mu_q - mu_p) ** 2) / (2 * s_p**2) - 0.5


def test_kl_matches_closed_form():
    rng = np.random.default_rng(0)
    mu_q, mu_p = rng.normal(size=50), rng.normal(size=50)
    s_q, s_p = rng.uniform(0.1, 2, 50), rng.uniform(0.1, 2, 50)
    np.testing.assert_allclose(
        diagonal_gaussian_kl_nats(mu_q, s_q, mu_p, s_p), _kl_direct(mu_q, s_q, mu_p, s_p),
        rtol=1e-12, atol=1e-15,
    )  # fmt: skip


def test_kl_diffc_case_and_units():
    # sigma_q = sigma_p: KL = delta^2 / (2 sigma^2) exactly
    kl = rcc.diagonal_gaussian_kl([0.3, -1.2], 0.5, [0.0, 0.0], 0.5, unit="nats")
    np.testing.assert_allclose(kl, np.array([0.3, 1.2]) ** 2 / (2 * 0.25), rtol=1e-14)
    bits = rcc.diagonal_gaussian_kl([0.3, -1.2], 0.5, [0.0, 0.0], 0.5)
    np.testing.assert_allclose(bits, kl / np.log(2), rtol=1e-14)
    # one-shot Gaussian channel q = N(x, t^2), p = N(0, lam + t^2)
    x, t2, lam = 0.7, 0.1, 1.0
    got = rcc.diagonal_gaussian_kl(x, np.sqrt(t2), 0.0, np.sqrt(lam + t2), unit="nats")
    want = 0.5 * np.log((lam + t2) / t2) + (t2 + x**2) / (2 * (lam + t2)) - 0.5
    assert abs(float(got) - want) < 1e-13


@given(
    st.lists(st.floats(0.0, 30.0), min_size=1, max_size=60),
    st.floats(0.5, 24.0),
)
def test_partition_properties(kl_list, budget):
    kl = np.array(kl_list)
    layout = partition_chunks(kl, budget)
    assert layout.dims == kl.size and min(layout.sizes) >= 1  # never an empty chunk
    ckl = chunk_kl_bits(kl, layout)
    starts = layout.starts
    for c in range(layout.n_chunks):
        # within budget unless a singleton; maximal: the next coordinate would overflow
        assert ckl[c] <= budget + 1e-9 or layout.sizes[c] == 1
        if starts[c + 1] < kl.size:
            assert ckl[c] + kl[starts[c + 1]] > budget - 1e-9
    assert partition_chunks(kl, budget) == layout  # deterministic


def test_partition_example_and_candidate_bits():
    kl = np.array([3.0, 4.0, 8.0, 20.0, 1.0, 1.0])
    layout = partition_chunks(kl, 14.0)
    assert layout.sizes == (2, 1, 1, 2)  # 3+4 then +8 > 14; 8; 20 alone; 1+1
    np.testing.assert_array_equal(candidate_bits(chunk_kl_bits(kl, layout), 2), [9, 10, 22, 4])
    np.testing.assert_array_equal(layout.starts, [0, 2, 3, 4, 6])


def test_layout_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        ChunkLayout((2, 0, 1))
    with pytest.raises(ValueError):
        ChunkLayout(())


def test_layout_cost_matches_its_formula():
    from rdptheory.rcc import _format as fmt
    from rdptheory.rcc._index_coding import IndexModel
    from rdptheory.rcc.coding import CHUNK_OVERHEAD_BITS, layout_cost_bits

    kl, budget = np.array([4.0, 4.0, 4.0, 4.0, 1.0]), 8.0
    s = IndexModel(budget, 0).exponent
    for sizes in ((2, 2, 1), (1, 1, 1, 1, 1)):
        layout = ChunkLayout(sizes)
        level = fmt.best_std_level(sizes, 5, 0)
        side = fmt.layout_bits(5, fmt.Content(sizes, level, (), False, 0))
        underfill = budget - chunk_kl_bits(kl, layout)
        want = side + len(sizes) * CHUNK_OVERHEAD_BITS + (1 - s) * underfill.sum()
        assert abs(layout_cost_bits(kl, layout, 0, budget) - want) < 1e-12
