"""The log-bucket Zipf index code (rdptheory.rcc._index_coding) against brute force."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.rcc import _format as fmt
from rdptheory.rcc._index_coding import (
    MAX_INDEX_BITS,
    IndexModel,
    bucket_of,
    join_pieces,
    split_pieces,
)


def test_bucket_of_is_bit_length():
    edge = [0, 1, 2, 3, 4, 7, 8, 2**20 - 1, 2**20, 2**29 + 5, 2**30 - 1]
    edge += [2**k + e for k in range(1, 30) for e in (-1, 0, 1)]
    got = bucket_of(np.array(edge))
    np.testing.assert_array_equal(got, [int(n).bit_length() for n in edge])


@given(st.lists(st.integers(0, 2**30 - 1), min_size=1, max_size=40))
def test_pieces_round_trip(values):
    v = np.array(values, dtype=np.int64)
    widths = bucket_of(v)  # any width >= bit_length works
    sym, sizes = split_pieces(v, widths)
    assert (sizes >= 2).all() and (sizes <= 4096).all() and (sym < sizes).all()
    np.testing.assert_array_equal(join_pieces(sym, widths), v)


def test_bucket_probabilities_match_brute_force_zipf():
    model = IndexModel(6.0, 2)  # n_ref = 8, s = 0.8 + 0.7/6
    p = model.bucket_probabilities()
    assert p.shape == (MAX_INDEX_BITS + 1,) and abs(p.sum() - 1.0) < 1e-12
    k = np.arange(1, 2**8 + 1, dtype=np.float64)
    zipf = k**-model.exponent
    zipf /= zipf.sum()
    b = bucket_of(np.arange(2**8))
    want = np.bincount(b, weights=zipf) * (1 - 2.0**-12)  # escape mass above n_ref
    np.testing.assert_allclose(p[:9], want, rtol=1e-12)
    tail = 0.5 ** np.arange(1, 23)  # geometric escape tail over buckets 9..30
    np.testing.assert_allclose(p[9:], 2.0**-12 * tail / tail.sum(), rtol=1e-12)
    exact = IndexModel(6.0, 2, exact_tail=True).bucket_probabilities()
    np.testing.assert_allclose(exact[9:].sum(), 2.0**-3, rtol=1e-12)


def test_ideal_bits_match_range_coder_bytes():
    # Over many indices the range coder's output length equals the ideal length + O(32 bits)
    model = IndexModel(10.0, 2)
    rng = np.random.default_rng(3)
    idx = np.minimum(np.exp(rng.uniform(0, 12 * np.log(2), 3000)).astype(np.int64), 2**12 - 1)
    enc = fmt.new_encoder()
    fmt.write_content(enc, 3000, fmt.Content((1,) * 3000, 0, tuple(idx.tolist())), model)
    actual = 8 * len(fmt.encoder_bytes(enc))
    ideal = model.index_bits(idx).sum() + np.log2((3000).bit_length()) + 11
    assert ideal - 1 <= actual <= ideal + 64, (actual, ideal)
    got = fmt.read_content(fmt.new_decoder(fmt.encoder_bytes(enc)), 3000, model)
    assert got.indices == tuple(idx.tolist())


def test_bucket_probabilities_are_computed_not_cached():
    """The brute-force comparison must reach _power_sum (encoder and decoder share the model,
    so a round trip cannot see a wrong one): clear the cache first."""
    from rdptheory.rcc._index_coding import _bucket_probabilities

    _bucket_probabilities.cache_clear()
    test_bucket_probabilities_match_brute_force_zipf()
    assert _bucket_probabilities.cache_info().misses >= 2


@pytest.mark.parametrize("s", [0.8 + 0.7 / 14, 1.0, 1.7])
@pytest.mark.parametrize(("lo", "hi"), [(2**12 + 1, 2**13 + 1), (2**14 + 1, 2**15 + 1),
                                        (3, 4099), (5000, 5001)])
def test_power_sum_matches_the_direct_sum(s, lo, hi):
    """Both branches (direct sum, Euler-Maclaurin above 4096 terms) against math.fsum."""
    from rdptheory.rcc._index_coding import _power_sum

    want = math.fsum(float(k) ** -s for k in range(lo, hi))
    assert _power_sum(s, lo, hi) == pytest.approx(want, rel=1e-13)


def test_bucket_probabilities_above_the_direct_sum_limit_match_brute_force():
    from rdptheory.rcc._index_coding import _bucket_probabilities

    _bucket_probabilities.cache_clear()
    model = IndexModel(13.0, 2)  # n_ref = 15: buckets 14, 15 use Euler-Maclaurin
    p = model.bucket_probabilities()
    k = np.arange(1, 2**15 + 1, dtype=np.float64)
    zipf = k**-model.exponent
    zipf /= zipf.sum()
    want = np.bincount(bucket_of(np.arange(2**15)), weights=zipf) * (1 - 2.0**-12)
    np.testing.assert_allclose(p[:16], want, rtol=1e-12)
