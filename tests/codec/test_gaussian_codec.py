"""GaussianCodec: bit-exact round trips, rate = file size, rho at decode time, bad bytes."""

import doctest

import numpy as np
import pytest

import rdptheory.codec
from rdptheory.codec import GaussianCodec, record_boundaries
from rdptheory.diffusion import GaussianModel
from rdptheory.experiments.operating_point import (
    measure_operating_point,
    score_scaled_gains,
    theory_point,
)
from rdptheory.gaussian import dp_awgn, rate_distortion_vector, rdp_vector
from rdptheory.kernels import available_backends

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


def _decoded_states(codec, data, n_records):
    """What the decoder reconstructs from each prefix of records (1 .. n_records)."""
    return [codec.decode_observation(data, steps=j + 1)[0] for j in range(n_records)]


def test_deterministic_bytes(x, one_shot):
    _, data = one_shot
    assert GaussianCodec(LAM, 0.5, seed=11).compress(x) == data
    assert GaussianCodec(LAM, 0.5, seed=12).compress(x) != data


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize(("mode", "layout", "algorithm"), [
    ("one-shot", "proxy", "pfr"), ("one-shot", "sent", "orc"), ("progressive", "proxy", "pfr"),
    ("progressive", "sent", "pfr"), ("progressive", "proxy", "orc")])
def test_decoder_reproduces_the_encoders_state(x, backend, mode, layout, algorithm):
    """The decoder's y after every record equals the encoder's own sample, bit for bit, with
    the encoder on numpy and the decoder on each backend (a stream is backend-independent)."""
    kw = {"seed": 11, "mode": mode, "steps": 3, "layout": layout, "algorithm": algorithm}
    result = GaussianCodec(LAM, 0.5, backend="numpy", **kw).compress_with_state(x)
    assert result.data == GaussianCodec(LAM, 0.5, backend="numpy", **kw).compress(x)
    decoder = GaussianCodec(LAM, 0.5, backend=backend, **kw)
    decoded = _decoded_states(decoder, result.data, len(result.states))
    assert len(result.states) == (4 if mode == "progressive" else 1)
    for got, sent in zip(decoded, result.states, strict=True):
        assert got.dtype == sent.dtype == np.float64
        np.testing.assert_array_equal(got, sent)
    assert not np.array_equal(result.states[-1], np.zeros_like(x))
    c = LAM / (LAM + 0.5)
    np.testing.assert_array_equal(decoder.decompress(result.data, rho=2.0),
                                  c * result.states[-1])


def test_encoder_state_on_another_backend_decodes_on_numpy(x):
    backend = next((b for b in available_backends() if b != "numpy"), "numpy")
    result = GaussianCodec(LAM, 0.5, seed=4, backend=backend).compress_with_state(x)
    y, _ = GaussianCodec(LAM, 0.5, seed=4, backend="numpy").decode_observation(result.data)
    np.testing.assert_array_equal(y, result.states[-1])


def test_switched_off_directions_decode_to_zero_as_sent(x):
    codec = GaussianCodec(LAM, [0.5, np.inf, 0.2], seed=6)
    result = codec.compress_with_state(x)
    assert np.all(result.states[-1][:, 1] == 0.0)
    np.testing.assert_array_equal(codec.decode_observation(result.data)[0], result.states[-1])


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
    result = codec.compress_with_state(x)
    data = result.data
    y_eig, _ = codec.decode_observation(data)
    np.testing.assert_array_equal(y_eig, result.states[-1])
    y = y_eig @ codec.eigenvectors.T
    expected = GaussianModel(np.zeros(3), cov).exact_decode(y, 0.3, 1.4)
    np.testing.assert_allclose(codec.decompress(data, rho=1.4), expected, rtol=1e-10, atol=1e-12)


def test_dp_optimal_decoder_uses_fmm21_gains(one_shot):
    codec, data = one_shot
    y, _ = codec.decode_observation(data)
    gains = dp_awgn(0.05, LAM, 0.5).gain
    np.testing.assert_allclose(codec.decompress_dp_optimal(data, 0.05), gains * y, rtol=1e-13)


def test_progressive_prefixes(x, progressive):
    codec, data = progressive
    states = codec.compress_with_state(x).states
    bounds = record_boundaries(data)
    for j, b in enumerate(bounds[1:]):  # a byte prefix ending at record j decodes to state j
        np.testing.assert_array_equal(codec.decode_observation(data[:b])[0], states[j])
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


def test_sent_layout_is_in_the_fingerprint(x):
    sent = GaussianCodec(LAM, 0.5, seed=3, layout="sent")
    with pytest.raises(ValueError, match="codec with"):
        sent.decompress(GaussianCodec(LAM, 0.5, seed=3).compress(x))
    with pytest.raises(ValueError, match="layout"):
        GaussianCodec(LAM, 0.5, layout="zip")  # type: ignore[arg-type]


def test_orc_algorithm_is_in_the_fingerprint(x):
    orc = GaussianCodec(LAM, 0.5, seed=11, algorithm="orc")
    data = orc.compress(x)
    with pytest.raises(ValueError, match="noise levels or seed"):
        GaussianCodec(LAM, 0.5, seed=11).decompress(data)
    with pytest.raises(ValueError, match="algorithm"):
        GaussianCodec(LAM, 0.5, algorithm="pfr_es")


def test_candidate_headroom_is_encoder_only(x):
    capped = GaussianCodec(LAM, 0.5, seed=11, candidate_headroom=0)
    assert capped._candidate_cap() == 13 + 4 + 0
    result = capped.compress_with_state(x)  # the decoder needs no cap: any headroom decodes
    y = GaussianCodec(LAM, 0.5, seed=11, candidate_headroom=None).decode_observation(
        result.data)[0]
    np.testing.assert_array_equal(y, result.states[-1])
    with pytest.raises(ValueError, match="candidate_headroom"):
        GaussianCodec(LAM, 0.5, candidate_headroom=-1)
