"""Shaped noise through the one image codec (issue 15 item 4): CodecConfig, RDPI v5, dispatch.

The truths: the decoder's replayed state equals the encoder's own state bit for bit; a prefix
re-packed by ``truncate`` is byte for byte the file of an encode stopped at that step; the
header recipe round-trips; every refusal is a ValueError/TypeError naming its cause.
"""

from __future__ import annotations

import numpy as np
import pytest

from rdptheory.data import bundled_image
from rdptheory.images import _format, noise
from rdptheory.images.codec import (
    CodecConfig,
    _replay,
    compress,
    compress_with_report,
    decompress,
    truncate,
)
from rdptheory.images.shaped_chain import ShapingRecipe
from rdptheory.models import PatchGMMImageModel, load_model

#: 12x10 crop: not whole 8x8 tiles (the shaped state pads to 16x16 = 4 tiles).
H, W = 12, 10
SHAPED = CodecConfig(noise="shaped", n_levels=8, t_min=0.2)
MSE = CodecConfig(noise="shaped", ladder="mse", n_levels=8, t_min=0.2)
ISO = CodecConfig(n_levels=8, t_min=0.2)


def gmm() -> PatchGMMImageModel:
    return load_model("patch-gmm")  # type: ignore[return-value]


def crop() -> np.ndarray:
    return np.ascontiguousarray(bundled_image("china").pixels[140:140 + H, 240:240 + W])


_CACHE: dict = {}


def encoded(config: CodecConfig):
    """One encode per config for the module (the slow part)."""
    key = repr(config)
    if key not in _CACHE:
        _CACHE[key] = compress_with_report(crop(), model=gmm(), noise_var=0.04, seed=5,
                                           config=config)
    return _CACHE[key]


class Delegate:
    """An image model that is the tiled GMM in everything (fingerprint included) but its
    class: not registered, no ``shaped_chain`` unless given one."""

    def __init__(self, with_chain: bool = False) -> None:
        self.inner = gmm()
        self.name = "delegate"
        if with_chain:
            self.shaped_chain = lambda recipe, h, w: noise.PatchDCTChain.for_gmm(self.inner.prior,
                                                                         recipe, h, w)

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

    def denoise(self, y, t2):
        return self.inner.denoise(y, t2)

    def score(self, y, t2):
        return self.inner.score(y, t2)

    def to_code_space(self, x):
        return self.inner.to_code_space(x)

    def from_code_space(self, z):
        return self.inner.from_code_space(z)

    def code_shape(self, h, w):
        return self.inner.code_shape(h, w)

    def fingerprint(self):
        return self.inner.fingerprint()


# ---------------------------------------------------------------------------- CodecConfig


def test_config_defaults_and_recipe():
    assert (ISO.noise, ISO.ladder, ISO.basis, ISO.perception, ISO.recipe) == (
        "isotropic", None, None, None, None)
    assert (SHAPED.ladder, SHAPED.basis, SHAPED.perception) == ("perception", "dct", 0.0)
    assert SHAPED.recipe == ShapingRecipe("perception", "dct", 10.0, 0.2, 8, 0.0)
    assert MSE.recipe == ShapingRecipe("mse", "dct", 10.0, 0.2, 8, 0.0)
    p = CodecConfig(noise="shaped", perception=0.1)
    assert p.perception == float(np.float32(0.1)) != 0.1  # what the file stores


def test_cli_ladder_defaults_are_the_codecs():
    from rdptheory.cli import _images
    from rdptheory.images import _format as fmt

    cfg = CodecConfig()
    assert (_images.DEFAULT_LEVELS, _images.DEFAULT_T_MAX) == (cfg.n_levels, cfg.t_max) == (
        25, 10.0)
    assert _images.SHAPED_DEFAULT_LEVELS == CodecConfig(noise="shaped").n_levels == 37
    assert _images.MAX_LEVELS == fmt.MAX_LEVELS
    with pytest.raises(ValueError, match="n_levels"):
        CodecConfig(n_levels=fmt.MAX_LEVELS + 1)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(noise="white"), "noise"),
    (dict(ladder="mse"), "ladder is a shaped-noise setting"),
    (dict(basis="dct"), "basis is a shaped-noise setting"),
    (dict(perception=0.0), "perception is a shaped-noise setting"),
    (dict(noise="shaped", ladder="isotropic"), "ladder"),
    (dict(noise="shaped", basis="eigen"), "basis"),
    (dict(noise="shaped", ladder="mse", perception=0.5), "the mse ladder has no perception"),
    (dict(noise="shaped", perception=-1.0), "perception")])
def test_config_refuses_bad_noise_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CodecConfig(**kwargs)


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("config", [SHAPED, MSE], ids=["perception", "mse"])
def test_shaped_file_decodes_to_the_encoders_state(config):
    res = encoded(config)
    stream = _format.unpack_stream(res.data)
    h = stream.header
    assert (h.ladder, h.basis, h.perception) == (config.ladder, "dct", 0.0)
    assert h.code_dims == 4 * 192 == res.state.size  # 16x16 padded: 4 tiles of 8x8x3
    assert res.state.shape == (4, 192) and res.n_steps >= 3
    assert res.bpp == 8 * len(res.data) / (H * W)
    y = _replay(stream, gmm(), h.n_steps, "auto")
    assert np.array_equal(y, res.state)
    out = decompress(res.data, model=gmm(), rho=1.0)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8


def test_isotropic_files_spend_one_recipe_byte():
    res = encoded(ISO)
    h = _format.unpack_stream(res.data).header
    assert (h.ladder, h.basis, h.shaped, h.code_dims) == ("isotropic", "none", False, 3 * H * W)
    # the recipe is the last header byte: 0
    assert _format._header_bytes(h)[-1] == 0


def test_shaped_prefix_is_the_file_of_a_shorter_encode():
    res = encoded(SHAPED)
    chain = noise.shaped_chain_for(gmm(), SHAPED.recipe, H, W)
    k = res.n_steps - 2
    short = compress_with_report(crop(), model=gmm(), noise_var=chain.water_levels[k - 1],
                                 seed=5, config=SHAPED)
    assert short.n_steps == k
    assert truncate(res.data, k) == short.data
    stream = _format.unpack_stream(res.data)
    assert np.array_equal(_replay(stream, gmm(), k, "auto"), short.state)
    assert short.noise_var == chain.water_levels[k - 1]
    # decoding the prefix of the long file = decoding the short file
    assert np.array_equal(decompress(res.data, model=gmm(), max_steps=k),
                          decompress(short.data, model=gmm()))


def test_bpp_budget_is_met_with_shaped_noise():
    res = compress_with_report(crop(), model=gmm(), bpp=4.0, seed=5, config=SHAPED)
    assert res.bpp <= 4.0 and res.bpp == 8 * len(res.data) / (H * W)
    assert res.n_steps < len(noise.shaped_chain_for(gmm(), SHAPED.recipe, H, W).levels)
    assert res.data == truncate(encoded(SHAPED).data, res.n_steps)  # the budget stops a prefix


# ---------------------------------------------------------------------------- decoding options


def test_per_direction_rho():
    data = encoded(SHAPED).data
    one = decompress(data, model=gmm(), rho=1.0)
    assert np.array_equal(one, decompress(data, model=gmm(), rho=1.0, per_direction=True))
    chain = noise.shaped_chain_for(gmm(), SHAPED.recipe, H, W)
    n = _format.unpack_stream(data).header.n_steps
    rho_i = chain.per_direction_rho(1.5, n)
    assert rho_i.shape == (192,) and (rho_i >= 1.0).all() and (rho_i <= 2.0).all()
    assert rho_i.min() < 1.5 < rho_i.max()  # spread, not the single rho
    np.testing.assert_allclose(chain.per_direction_rho(2.0, n), 2.0, atol=1e-9)
    with pytest.raises(ValueError, match=r"per-direction rho needs rho in \[1, 2\]"):
        decompress(data, model=gmm(), rho=0.5, per_direction=True)
    with pytest.raises(ValueError, match="per-direction rho applies to shaped-noise files"):
        decompress(encoded(ISO).data, model=gmm(), per_direction=True)
    with pytest.raises(TypeError, match="per_direction"):
        decompress(data, model=gmm(), per_direction="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="solver='euler' applies to isotropic files"):
        decompress(data, model=gmm(), solver="euler")


# ---------------------------------------------------------------------------- dispatch


def test_a_model_that_cannot_code_shaped_noise_is_refused():
    with pytest.raises(ValueError, match="cannot code shaped noise"):
        compress(crop(), model=load_model("gmm-shift"), noise_var=0.5, config=SHAPED)
    with pytest.raises(ValueError, match="model delegate cannot code shaped noise"):
        decompress(encoded(SHAPED).data, model=Delegate())  # same fingerprint, no adapter
    with pytest.raises(ValueError, match="made with another model"):
        decompress(encoded(SHAPED).data, model=load_model("gmm-shift"))


def test_a_model_with_its_own_shaped_chain_plugs_in():
    model = Delegate(with_chain=True)
    assert isinstance(model, noise.ShapedNoiseModel)
    res = compress_with_report(crop(), model=model, noise_var=0.04, seed=5, config=SHAPED)
    assert res.data == encoded(SHAPED).data  # same chain, same fingerprint: same bytes
    assert np.array_equal(decompress(res.data, model=model),
                          decompress(res.data, model=gmm()))


def test_register_shaped_checks_its_arguments():
    with pytest.raises(TypeError, match="cls must be a class"):
        noise.register_shaped("PatchGMMImageModel", lambda *a: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="factory must be callable"):
        noise.register_shaped(PatchGMMImageModel, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="recipe must be a ShapingRecipe"):
        noise.shaped_chain_for(gmm(), "mse", H, W)  # type: ignore[arg-type]


def test_patch_dct_chain_geometry():
    chain = noise.PatchDCTChain.for_gmm(gmm().prior, SHAPED.recipe, H, W)
    x = np.random.default_rng(0).normal(size=(1, 3, H, W))
    back = chain.from_state(chain.to_state(x))
    assert back.shape == (1, 3, 16, 16)
    np.testing.assert_allclose(back[:, :, :H, :W], x, atol=1e-12)  # orthonormal basis
    np.testing.assert_allclose(back[:, :, H:, :W], np.repeat(x[:, :, -1:, :], 4, axis=2),
                               atol=1e-12)  # edge padding
    dims = chain.coded_dims()
    assert len(dims) == len(chain.levels) == len(chain.water_levels)
    assert all(d % 4 == 0 and 4 <= d <= 4 * 192 for d in dims)
    assert np.all(np.diff(chain.water_levels) < 0)
    with pytest.raises(ValueError, match="x must have shape"):
        chain.to_state(x[:, :, :8])


# ---------------------------------------------------------------------------- crafted headers


def _recrafted(data: bytes, **fields) -> bytes:
    stream = _format.unpack_stream(data)
    h = _format.StreamHeader(**{**stream.header.__dict__, **fields})
    return _format.pack_stream(_format.ImageStream(h, stream.payload))


def test_crafted_shaped_headers_are_refused_before_decoding():
    data = encoded(SHAPED).data
    # a 2048x2048 image over a ~40-byte payload: the chain's first-step KL floor refuses it
    big = _recrafted(data, height=2048, width=2048, code_dims=256 * 256 * 192)
    with pytest.raises(ValueError, match="needs at least .* payload bytes"):
        decompress(big, model=gmm())
    with pytest.raises(ValueError, match="code dimensions, the model expects 768"):
        decompress(_recrafted(data, code_dims=769), model=gmm())
    with pytest.raises(ValueError, match="more than max_pixels"):
        decompress(data, model=gmm(), max_pixels=H * W - 1)
    with pytest.raises(ValueError, match="code dimensions for"):
        truncate(_recrafted(data, code_dims=16 * (H + 16) * (W + 16) + 1), 1)
    # the recipe is part of what the decoder rebuilds: another ladder is another chain
    other = _recrafted(data, ladder="mse", perception=0.0)
    assert _format.unpack_stream(other).header.ladder == "mse"
    try:
        y = _replay(_format.unpack_stream(other), gmm(), 1, "auto")
    except ValueError as exc:
        assert "corrupted" in str(exc)
    else:
        assert not np.array_equal(y, encoded(SHAPED).state)


def test_water_levels_map_each_step_to_its_ladder_level():
    """mse ladder from t_max = 20 (θ = 400 above every λ_i: the first levels send nothing and
    are dropped): step j's best coefficient has snr = 1/θ_j − 1/λ_max exactly."""
    recipe = ShapingRecipe("mse", "dct", 20.0, 0.2, 12)
    chain = noise.PatchDCTChain.for_gmm(gmm().prior, recipe, 8, 8)
    lam_max = chain.variances.max()
    t2 = np.geomspace(20.0, 0.2, 12) ** 2
    np.testing.assert_allclose(chain.water_levels, t2[t2 < lam_max], rtol=1e-6)
    assert len(chain.water_levels) == len(chain.levels) < 12
    best = np.array([lv.min() for lv in chain.levels])
    np.testing.assert_allclose(best, 1.0 / (1.0 / chain.water_levels - 1.0 / lam_max),
                               rtol=1e-5)


def test_default_ode_steps_per_noise():
    from rdptheory.images import codec

    assert (codec.ISOTROPIC_SOLVER, codec.ISOTROPIC_ODE_STEPS, codec.SHAPED_ODE_STEPS) == (
        "exp2", 4, 24)
    iso, shaped = encoded(ISO).data, encoded(SHAPED).data
    assert np.array_equal(decompress(iso, model=gmm()), decompress(iso, model=gmm(),
                                                                   solver="exp2", ode_steps=4))
    assert not np.array_equal(decompress(iso, model=gmm()), decompress(iso, model=gmm(),
                                                                       solver="heun"))
    assert not np.array_equal(decompress(iso, model=gmm(), rho=1.5),
                              decompress(iso, model=gmm(), rho=1.5, ode_steps=2))
    assert np.array_equal(decompress(shaped, model=gmm()), decompress(shaped, model=gmm(),
                                                                      ode_steps=24))
    exp2 = decompress(iso, model=gmm(), solver="exp2", ode_steps=4)  # the one-call solver
    assert exp2.shape == (H, W, 3)
