"""The image codec with the embedded prior: round trips, rate accounting, rate/ρ behaviour,
prefix decoding and clean failures on bad files.

Every call names the tiled exact-score patch GMM (``load_model("patch-gmm")``): these tests
check the codec against exact values, which that model gives without torch. The default model
(the shipped UNet) is tested in ``tests/models/test_shipped.py``.
"""

import numpy as np
import pytest

from rdptheory.data import bundled_image
from rdptheory.images import _format
from rdptheory.images.codec import (
    CodecConfig,
    _replay,
    compress,
    compress_with_report,
    decompress,
    truncate,
)
from rdptheory.kernels import available_backends
from rdptheory.metrics import psnr
from rdptheory.models import PatchGMMImageModel, load_model

CONFIG = CodecConfig(backend="numpy", n_levels=16)
RHOS = (1.0, 1.5, 2.0)


def gmm() -> PatchGMMImageModel:
    """The tiled exact-score patch GMM (cached by ``load_model``)."""
    model = load_model("patch-gmm")
    assert isinstance(model, PatchGMMImageModel)
    return model


@pytest.fixture(scope="module")
def image():
    # 13x18: neither side a multiple of the 8x8 patch, so border tiles are exercised
    return bundled_image("china").pixels[150:163, 250:268]


@pytest.fixture(scope="module")
def coded(image):
    return compress_with_report(image, model=gmm(), noise_var=0.003, seed=3, config=CONFIG)


@pytest.mark.parametrize("backend", [  # triton runs interpreted on CPU here: ~1 min
    pytest.param(b, marks=pytest.mark.slow) if b == "triton" else b for b in available_backends()])
def test_decoder_state_is_the_encoders_bit_for_bit(coded, backend):
    """The replayed chain on every backend equals the state the (numpy) encoder sent."""
    stream = _format.unpack_stream(coded.data)
    y = _replay(stream, gmm(), stream.header.n_steps, backend)
    assert y.dtype == coded.state.dtype == np.float64
    np.testing.assert_array_equal(y, coded.state)


def test_decoded_image_is_the_pf_ode_of_the_encoders_state(image, coded):
    from rdptheory.data import from_model_space
    from rdptheory.diffusion import decode

    model = gmm()
    from rdptheory.images.codec import ISOTROPIC_ODE_STEPS, ISOTROPIC_SOLVER

    x_hat = decode(model, coded.state, coded.noise_var, 1.0, schedule="vp",
                   solver=ISOTROPIC_SOLVER, steps=ISOTROPIC_ODE_STEPS)  # decompress's default
    want = from_model_space(np.asarray(model.from_code_space(x_hat))[0][:, :13, :18])
    got = decompress(coded.data, model=gmm(), rho=1.0, backend="numpy")
    assert got.shape == image.shape and got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)


def test_truncated_file_is_the_file_the_encoder_writes_when_it_stops_there(image, coded):
    t = CONFIG.t_max * (CONFIG.t_min / CONFIG.t_max) ** (np.arange(16) / 15)
    early = compress_with_report(image, model=gmm(), noise_var=float(t[4] ** 2) * (1 - 1e-9),
                                 seed=3, config=CONFIG)
    assert early.n_steps == 5
    assert truncate(coded.data, 5) == early.data
    stream = _format.unpack_stream(coded.data)
    np.testing.assert_array_equal(_replay(stream, gmm(), 5, "numpy"), early.state)


def test_bpp_is_the_file_size(image, coded):
    assert coded.bpp == 8 * len(coded.data) / (image.shape[0] * image.shape[1])
    assert coded.n_steps == len(coded.kl_bits) == _format.unpack_stream(coded.data).header.n_steps


def test_target_bpp_is_respected(image):
    r = compress_with_report(image, model=gmm(), bpp=12.0, seed=1, config=CONFIG)
    assert r.bpp <= 12.0 and r.n_steps >= 2
    assert r.data == compress(image, model=gmm(), bpp=12.0, seed=1, config=CONFIG)


def test_psnr_rises_with_rate_at_every_rho(image, coded):
    steps = (3, 7, coded.n_steps)
    sizes = [len(truncate(coded.data, k)) for k in steps]
    assert sizes == sorted(sizes) and sizes[-1] == len(coded.data)
    for rho in RHOS:
        p = [psnr(image, decompress(coded.data, model=gmm(), rho=rho, max_steps=k,
                                    backend="numpy"))
             for k in steps]
        assert p[0] < p[1] < p[2], (rho, p)


def test_rho_changes_the_reconstruction(coded):
    a = decompress(coded.data, model=gmm(), rho=1.0, max_steps=6, backend="numpy")
    b = decompress(coded.data, model=gmm(), rho=2.0, max_steps=6, backend="numpy")
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0


def test_prefix_decoding_equals_truncated_file(coded):
    short = truncate(coded.data, 5)
    assert len(short) < len(coded.data)
    assert np.array_equal(decompress(short, model=gmm(), rho=1.5, backend="numpy"),
                          decompress(coded.data, model=gmm(), rho=1.5, max_steps=5,
                                     backend="numpy"))


def test_bad_files_fail_cleanly(coded, random_gmm):
    data = coded.data
    bad = {
        "truncated": data[:-3],
        "very short": data[:7],
        "corrupted": data[:30] + bytes([data[30] ^ 0x10]) + data[31:],
        "foreign": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "empty": b"",
    }
    for blob in bad.values():
        with pytest.raises(ValueError, match="image stream"):
            decompress(blob, model=gmm(), backend="numpy")
    other = PatchGMMImageModel(random_gmm(patch=2))
    with pytest.raises(ValueError, match="another model"):
        decompress(data, model=other, backend="numpy")
    with pytest.raises(TypeError, match="bytes"):
        decompress("not bytes")


def test_bad_arguments(image):
    with pytest.raises(ValueError, match="exactly one"):
        compress(image, model=gmm(), config=CONFIG)
    with pytest.raises(ValueError, match="exactly one"):
        compress(image, model=gmm(), bpp=1.0, noise_var=0.1, config=CONFIG)
    with pytest.raises(ValueError, match="uint8"):
        compress(image.astype(float), model=gmm(), bpp=1.0, config=CONFIG)
    with pytest.raises(ValueError, match="bpp"):
        compress(image, model=gmm(), bpp=-1.0, config=CONFIG)
    with pytest.raises(ValueError, match="t_min"):
        CodecConfig(t_max=0.1, t_min=0.2)
    with pytest.raises(ValueError, match="max_chunk_bits"):
        CodecConfig(max_chunk_bits=30.0)
    with pytest.raises(ValueError, match="algorithm"):
        CodecConfig(algorithm="pfr_es")
    assert CodecConfig(max_chunk_bits=8.1).max_chunk_bits == float(np.float32(8.1))
    with pytest.raises(TypeError, match="ImageModel"):
        compress(image, model=object(), bpp=1.0)
