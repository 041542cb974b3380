"""Layered dithered quantisation (rdptheory.rcc.dithered): exactness, rate, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

from rdptheory.rcc.dithered import (
    COARSE_LIMIT,
    decode_ldq,
    encode_ldq,
    layer_randomness,
)

ALPHA = 1e-3  # KS tests: fixed seeds, so a failure is a deterministic regression


def _one_shot(rate_bits: float, d: int, seed: int):
    """x ~ N(0, 1)^d and the one-shot pair q = N(x, t^2), p = N(0, 1 + t^2) at I = rate."""
    t2 = 1.0 / (2.0 ** (2 * rate_bits) - 1.0)
    x = np.random.default_rng(seed).standard_normal(d)
    return x, np.sqrt(t2), np.zeros(d), np.sqrt(1.0 + t2)


@pytest.mark.parametrize("mu", [0.0, 0.37, -2.9, 40.0])
def test_sample_is_exactly_gaussian_whatever_the_mean(mu):
    """(y - mu_q)/sigma_q ~ N(0, 1) for a fixed mu_q, even far outside the prior (KS)."""
    d = 4000
    msg = encode_ldq(np.full(d, mu), 0.5, np.zeros(d), 1.0, seed=11, stream=3)
    z = (msg.sample - mu) / 0.5
    assert stats.kstest(z, "norm").pvalue > ALPHA


def test_sample_is_independent_of_the_mean():
    """Two-sample KS between the residuals at two means on a fine grid of positions."""
    d = 4000
    a = encode_ldq(np.full(d, 0.1), 0.3, np.zeros(d), 1.2, seed=5).sample - 0.1
    b = encode_ldq(np.full(d, 1.234), 0.3, np.zeros(d), 1.2, seed=6).sample - 1.234
    assert stats.ks_2samp(a, b).pvalue > ALPHA


def test_layer_randomness_is_chi3_and_uniform():
    chi, u = layer_randomness(7, 0, 20000)
    assert stats.kstest(chi, stats.chi(3).cdf).pvalue > ALPHA
    assert stats.kstest(u, "uniform").pvalue > ALPHA
    chi2, u2 = layer_randomness(7, 1, 20000)
    assert not np.array_equal(u, u2)  # streams are independent
    assert np.array_equal(layer_randomness(7, 0, 5)[1], u[:5])  # a prefix of the same counters


def test_decoder_regenerates_the_encoders_sample_bit_for_bit():
    x, sq, mp, sp = _one_shot(1.0, 1000, 0)
    msg = encode_ldq(x, sq, mp, sp, seed=2026, stream=4)
    y = decode_ldq(msg.body(), mp, sp, sq, seed=2026, stream=4)
    assert np.array_equal(y, msg.sample)
    assert np.array_equal(decode_ldq(msg, mp, sp, sq, seed=2026, stream=4), y)
    again = encode_ldq(x, sq, mp, sp, seed=2026, stream=4)
    assert again.body() == msg.body()
    assert encode_ldq(x, sq, mp, sp, seed=2027, stream=4).body() != msg.body()


def _ideal_bits(x, sq, mp, sp, seed, stream=0):
    """-sum log2 P(M_j) under the model written out independently (scipy ndtr)."""
    chi, u = layer_randomness(seed, stream, x.size)
    step = 2.0 * sq * chi
    m = np.floor((x - mp) / step + u + 0.5)
    sx = np.sqrt(sp**2 - sq**2)
    p = ndtr((m - u + 0.5) * step / sx) - ndtr((m - u - 0.5) * step / sx)
    return float(-np.log2(p).sum())


@pytest.mark.parametrize("rate", [0.5, 1.0, 2.0])
def test_body_is_within_a_word_of_the_ideal_code_length(rate):
    x, sq, mp, sp = _one_shot(rate, 4096, 1)
    msg = encode_ldq(x, sq, mp, sp, seed=3)
    ideal = _ideal_bits(x, sq, mp, sp, 3)
    assert ideal - 1 <= msg.body_bits <= ideal + 32 + 1e-3 * x.size


def test_rate_matches_the_layered_quantiser_theory_at_one_bit():
    """E_A[H(M | A, U)] by quadrature over A ~ t chi_3 and U (an independent computation)."""
    t = np.sqrt(1.0 / 3.0)
    widths = 2 * t * stats.chi(3).ppf((np.arange(64) + 0.5) / 64)
    u = (np.arange(16) + 0.5) / 16
    k = np.arange(-200, 201)[:, None, None]
    lo = widths[None, :, None] * (k - u[None, None, :] - 0.5)
    p = ndtr(lo + widths[None, :, None]) - ndtr(lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=0).mean()
    x, sq, mp, sp = _one_shot(1.0, 16384, 2)
    measured = encode_ldq(x, sq, mp, sp, seed=9).body_bits / x.size
    assert h == pytest.approx(1.506, abs=0.01)  # I(X; Y) = 1 bit plus the 0.51-bit leak
    assert measured == pytest.approx(h, abs=0.03)


def test_escapes_and_fine_bits_round_trip():
    """A mean far outside the prior (escape) and a wide prior (sent low bits) decode."""
    d = 600
    mu_q = np.where(np.arange(d) % 3 == 0, 5e4, np.linspace(-3e3, 3e3, d))
    sq, sp = np.full(d, 0.05), np.full(d, 300.0)
    msg = encode_ldq(mu_q, sq, np.zeros(d), sp, seed=1)
    chi, _ = layer_randomness(1, 0, d)
    assert (np.abs(msg.symbols) >> 0).max() > COARSE_LIMIT
    y = decode_ldq(msg.body(), np.zeros(d), sp, sq, seed=1)
    assert np.array_equal(y, msg.sample)
    assert np.all(np.abs(y - mu_q) <= 2 * sq * chi * 0.5 + 1e-9)  # |noise| <= Delta / 2


def test_shapes_and_broadcasting():
    mu_q = np.arange(6.0).reshape(2, 3) / 10
    msg = encode_ldq(mu_q, 0.2, np.zeros((2, 3)), np.full(3, 1.0), seed=0)
    assert msg.sample.shape == (2, 3) and msg.dims == 6
    y = decode_ldq(msg.body(), np.zeros((2, 3)), 1.0, 0.2, seed=0)
    assert np.array_equal(y, msg.sample)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sigma_q=1.0, sigma_p=1.0), "sigma_q < sigma_p"),
        (dict(sigma_q=-0.1), "sigma_q < sigma_p"),
        (dict(mu_q=np.array([np.nan, 0.0])), "finite"),
        (dict(mu_q=np.zeros(3)), "shape"),
        (dict(mu_q=np.array([1e9, 0.0])), "mu_q - mu_p"),
        (dict(sigma_p=np.ones(3)), "broadcast"),
    ],
)
def test_invalid_inputs(kwargs, match):
    args = dict(mu_q=np.zeros(2), sigma_q=0.5, mu_p=np.zeros(2), sigma_p=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        encode_ldq(args["mu_q"], args["sigma_q"], args["mu_p"], args["sigma_p"], seed=0)


def test_invalid_seed_and_corrupt_bodies():
    x, sq, mp, sp = _one_shot(1.0, 64, 3)
    with pytest.raises(ValueError, match="seed"):
        encode_ldq(x, sq, mp, sp, seed=-1)
    with pytest.raises(TypeError, match="bytes"):
        decode_ldq("abc", mp, sp, sq, seed=0)  # type: ignore[arg-type]
    body = encode_ldq(x, sq, mp, sp, seed=0).body()
    with pytest.raises(ValueError, match="corrupt"):
        decode_ldq(body + b"\x01\x02\x03\x04", mp, sp, sq, seed=0)
    with pytest.raises(ValueError, match="corrupt"):
        decode_ldq(body[: len(body) // 2], mp, sp, sq, seed=0)


def test_codec_ldq_round_trip_and_exact_noise():
    """GaussianCodec(algorithm="ldq"): both modes decode to the encoder's state; Y - X has
    exactly the noise level of the last record (chi^2 test of sum (y - x)^2 / t^2)."""
    from rdptheory.codec import GaussianCodec

    x = np.random.default_rng(4).standard_normal((16, 64))
    for mode in ("one-shot", "progressive"):
        codec = GaussianCodec.for_rate(np.linspace(0.5, 2.0, 64), 64.0, mode=mode,
                                       algorithm="ldq", steps=3, seed=8)
        res = codec.compress_with_state(x)
        assert res.data == codec.compress(x)
        y, t2 = codec.decode_observation(res.data)
        assert np.array_equal(y, res.states[-1])
        stat = float(np.sum((y - x) ** 2 / t2))
        assert stats.chi2(x.size).sf(stat) > ALPHA and stats.chi2(x.size).cdf(stat) > ALPHA
    with pytest.raises(ValueError, match="algorithm"):
        GaussianCodec(np.ones(4), 0.5, algorithm="dq")


def test_doctests():
    import doctest

    import rdptheory.rcc.dithered as mod

    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_codec_hybrid_splits_directions_and_round_trips():
    """algorithm="hybrid": ldq on directions with >= 2.6 expected bits, PFR on the rest; the
    decoder reproduces the encoder's state, and a corrupted length prefix is refused."""
    from rdptheory.codec import GaussianCodec
    from rdptheory.codec._hybrid import LDQ_MIN_BITS, expected_bits, ldq_directions

    lam = 2.0 ** np.linspace(3, -3, 24)
    t2 = np.full(24, 0.05)
    hi = ldq_directions(expected_bits(lam, t2, None))
    assert hi.any() and (~hi).any()
    assert np.array_equal(hi, 0.5 * np.log2(1 + lam / t2) >= LDQ_MIN_BITS)
    x = np.random.default_rng(5).standard_normal((6, 24)) * np.sqrt(lam)
    for mode in ("one-shot", "progressive"):
        codec = GaussianCodec(lam, t2, mode=mode, steps=2, algorithm="hybrid",
                              max_chunk_bits=6.0, seed=3)
        res = codec.compress_with_state(x)
        y, level = codec.decode_observation(res.data)
        assert np.array_equal(y, res.states[-1])
        np.testing.assert_allclose(level, t2)
    one = GaussianCodec(lam, t2, algorithm="hybrid", max_chunk_bits=6.0, seed=3)
    data = bytearray(one.compress(x))
    ldq_only = GaussianCodec(lam, t2, algorithm="ldq", seed=3).compress(x)
    assert data != ldq_only
    from rdptheory.codec import _container

    header, pos = _container.unpack_header(bytes(data))
    record = _container.unpack_records(bytes(data), pos, header.n_records)[0]
    from rdptheory.codec._hybrid import decode_split

    with pytest.raises(ValueError, match="hybrid"):
        decode_split(b"\x7f" + record[1:], np.zeros((6, 24)), np.ones((6, 24)),
                     np.full((6, 24), 0.5), hi, seed=3, stream=0, pfr=None, pfr_layout=None)


@pytest.mark.parametrize("algorithm", ["ldq", "hybrid"])
def test_codec_bytes_identical_across_backends(algorithm):
    """ldq draws its layers from the numpy Philox reference whatever the backend, and the
    hybrid's PFR part selects the same indices on every backend: identical files."""
    from rdptheory.codec import GaussianCodec

    lam = 2.0 ** np.linspace(3, -3, 16)
    x = np.random.default_rng(6).standard_normal((3, 16)) * np.sqrt(lam)
    files = {GaussianCodec(lam, np.full(16, 0.05), algorithm=algorithm, max_chunk_bits=6.0,
                           backend=b, seed=1).compress(x) for b in ("numpy", "numba")}
    assert len(files) == 1
