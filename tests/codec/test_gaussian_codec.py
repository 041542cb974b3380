"""GaussianCodec: bit-exact round trips, rate = file size, rho at decode time, bad bytes."""

import doctest

import numpy as np
import pytest

import rdptheory.codec
from rdptheory.codec import (
    GaussianCodec,
    measure_operating_point,
    record_boundaries,
    score_scaled_gains,
    theory_point,
)
from rdptheory.diffusion import GaussianModel
from rdptheory.gaussian import dp_awgn, rate_distortion_vector, rdp_vector

LAM = np.array([1.0, 0.5, 0.25])


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).standard_normal((6, 3)) * np.sqrt(LAM)


@pytest.fixture(scope="module")
def one_shot(x):
    codec = GaussianCodec(LAM, 0.5, seed=11)
    return codec, codec.compress(x)


@pytest.fixture(scope="module")
def progressive(x):
    codec = GaussianCodec(LAM, 0.5, seed=11, mode="progressive", steps=3)
    return codec, codec.compress(x)


def test_doctests():
    assert doctest.testmod(rdptheory.codec).failed == 0


def test_deterministic_bytes_and_decode(x, one_shot):
    codec, data = one_shot
    assert GaussianCodec(LAM, 0.5, seed=11).compress(x) == data
    assert GaussianCodec(LAM, 0.5, seed=12).compress(x) != data
    a, b = codec.decompress(data, rho=1.3), codec.decompress(data, rho=1.3)
    assert np.array_equal(a, b) and a.shape == x.shape


def test_rho_is_chosen_at_decode_time(one_shot):
    codec, data = one_shot
    y, t2 = codec.decode_observation(data)
    c2 = LAM / (LAM + 0.5)
    np.testing.assert_allclose(codec.decompress(data, rho=2.0), c2 * y, rtol=1e-13)
    np.testing.assert_allclose(codec.decompress(data, rho=1.0), np.sqrt(c2) * y, rtol=1e-13)
    np.testing.assert_allclose(codec.decompress(data, rho=[1.0, 2.0, 0.0]),
                               np.array([c2[0] ** 0.5, c2[1], 1.0]) * y, rtol=1e-13)
    assert np.array_equal(t2, np.full(3, 0.5))


def test_rate_is_file_size(x, one_shot):
    codec, data = one_shot
    op = measure_operating_point(codec, x, codec.decompress(data), data,
                                 score_scaled_gains(codec, 1.0))
    assert op.rate_bits == 8 * len(data) / 6 and op.file_bytes == len(data)
    assert op.info_bits == pytest.approx(codec.info_bits(), rel=1e-12)
    assert op.theory_w2sq == pytest.approx(0.0, abs=1e-12)
    assert op.rd_bits_measured == pytest.approx(float(rate_distortion_vector(op.mse, LAM)))


def test_full_covariance_uses_eigenbasis():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + 0.1 * np.eye(3)
    codec = GaussianCodec(cov, 0.3, seed=2)
    x = rng.multivariate_normal(np.zeros(3), cov, size=4)
    data = codec.compress(x)
    y_eig, _ = codec.decode_observation(data)
    y = y_eig @ codec.eigenvectors.T
    expected = GaussianModel(np.zeros(3), cov).exact_decode(y, 0.3, 1.4)
    np.testing.assert_allclose(codec.decompress(data, rho=1.4), expected, rtol=1e-10, atol=1e-12)


def test_dp_optimal_decoder_uses_fmm21_gains(one_shot):
    codec, data = one_shot
    y, _ = codec.decode_observation(data)
    gains = dp_awgn(0.05, LAM, 0.5).gains
    np.testing.assert_allclose(codec.decompress_dp_optimal(data, 0.05), gains * y, rtol=1e-13)


def test_progressive_prefixes(x, progressive):
    codec, data = progressive
    bounds = record_boundaries(data)
    assert len(bounds) == 5 and bounds[-1] == len(data)
    levels = [codec.decode_observation(data[:b])[1][0] for b in bounds[1:]]
    assert np.all(np.diff(levels) < 0) and levels[-1] == pytest.approx(0.5)
    np.testing.assert_array_equal(codec.decompress(data[: bounds[2]], rho=2.0),
                                  codec.decompress(data, rho=2.0, steps=2))
    with pytest.raises(ValueError, match="truncated"):
        codec.decompress(data[: bounds[2] + 1])


@pytest.mark.parametrize("cut", [0, 10, 21, 23, -1])
def test_truncated_one_shot_rejected(one_shot, cut):
    codec, data = one_shot
    with pytest.raises(ValueError):
        codec.decompress(data[:cut])


def test_corrupted_bytes_rejected(one_shot):
    codec, data = one_shot
    for pos in (0, 5, 20, len(data) // 2, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        with pytest.raises(ValueError):
            codec.decompress(bytes(bad))
    with pytest.raises(ValueError, match="trailing"):
        codec.decompress(data + b"\x00")
    with pytest.raises(TypeError):
        codec.decompress("not bytes")  # type: ignore[arg-type]


def test_wrong_codec_rejected(one_shot):
    _, data = one_shot
    for other in (GaussianCodec(LAM, 0.5, seed=12), GaussianCodec(LAM, 0.4, seed=11),
                  GaussianCodec(LAM * 2, 0.5, seed=11)):
        with pytest.raises(ValueError, match="codec with"):
            other.decompress(data)


def test_for_rate_solves_noise_level():
    codec = GaussianCodec.for_rate(LAM, 2.5)
    assert codec.info_bits() == pytest.approx(2.5, rel=1e-12)
    assert np.all(codec.noise_var == codec.noise_var[0])


def test_shaped_codec_lands_on_rdp():
    lam = 1.0 / np.arange(1, 9) ** 2
    D, P = 0.4, 0.05
    codec = GaussianCodec.shaped(lam, D, P)
    gains = score_scaled_gains(codec, codec.test_channel_rho)
    mse, w2sq = theory_point(codec, gains)
    assert mse == pytest.approx(D, rel=1e-9) and w2sq <= P * (1 + 1e-9)
    assert codec.info_bits() == pytest.approx(float(rdp_vector(D, P, lam)), rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"variances": [-1.0], "noise_var": 1.0}, "variances"),
     ({"variances": [1.0], "noise_var": 0.0}, "noise_var"),
     ({"variances": [1.0, 2.0], "noise_var": [1.0]}, "noise_var"),
     ({"variances": [1.0], "noise_var": 1.0, "mode": "zip"}, "mode"),
     ({"variances": [1.0], "noise_var": 1.0, "seed": -1}, "seed"),
     ({"variances": [[1.0, 2.0], [0.0, 1.0]], "noise_var": 1.0}, "symmetric")],
)
def test_invalid_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianCodec(**kwargs)


def test_invalid_inputs(one_shot):
    codec, data = one_shot
    with pytest.raises(ValueError, match="shape"):
        codec.compress(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        codec.compress(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="rho"):
        codec.decompress(data, rho=-1.0)
    with pytest.raises(ValueError, match="rho"):
        codec.decompress(data, rho=[1.0, 2.0])


def test_numerical_pf_ode_matches_exact_map(one_shot):
    codec, data = one_shot
    exact = codec.decompress(data, rho=1.5)
    ode = codec.decompress(data, rho=1.5, ode_steps=64)
    np.testing.assert_allclose(ode, exact, rtol=2e-4, atol=1e-6)  # Heun, 64 VP steps
    with pytest.raises(ValueError, match="ode_steps"):
        codec.decompress(data, ode_steps=0)
    shaped = GaussianCodec(LAM, [0.5, 0.3, 0.2], seed=1)
    with pytest.raises(ValueError, match="isotropic"):
        shaped.decompress(shaped.compress(np.zeros((1, 3))), ode_steps=8)


def test_sent_and_proxy_layouts_both_round_trip(x):
    for layout in ("sent", "proxy"):
        for mode in ("one-shot", "progressive"):
            codec = GaussianCodec(LAM, 0.5, seed=3, layout=layout, mode=mode, steps=2)
            data = codec.compress(x)
            np.testing.assert_array_equal(codec.decompress(data), codec.decompress(data))
    sent = GaussianCodec(LAM, 0.5, seed=3, layout="sent")
    with pytest.raises(ValueError, match="codec with"):
        sent.decompress(GaussianCodec(LAM, 0.5, seed=3).compress(x))
    with pytest.raises(ValueError, match="layout"):
        GaussianCodec(LAM, 0.5, layout="zip")  # type: ignore[arg-type]


def test_orc_round_trip_and_algorithm_in_fingerprint(x):
    orc = GaussianCodec(LAM, 0.5, seed=11, algorithm="orc")
    data = orc.compress(x)
    y, _ = orc.decode_observation(data)
    assert np.array_equal(y, GaussianCodec(LAM, 0.5, seed=11, algorithm="orc")
                          .decode_observation(data)[0])
    with pytest.raises(ValueError, match="noise levels or seed"):
        GaussianCodec(LAM, 0.5, seed=11).decompress(data)
    with pytest.raises(ValueError, match="algorithm"):
        GaussianCodec(LAM, 0.5, algorithm="pfr_es")


def test_candidate_headroom_is_encoder_only(x):
    capped = GaussianCodec(LAM, 0.5, seed=11, candidate_headroom=0)
    assert capped._candidate_cap() == 13 + 4 + 0
    data = capped.compress(x)  # the decoder needs no cap: any headroom decodes it
    y = GaussianCodec(LAM, 0.5, seed=11, candidate_headroom=None).decode_observation(data)[0]
    assert np.array_equal(y, capped.decode_observation(data)[0])
    with pytest.raises(ValueError, match="candidate_headroom"):
        GaussianCodec(LAM, 0.5, candidate_headroom=-1)
