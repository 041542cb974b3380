"""The shaped-noise network as a shaped-chain model (rdptheory.images.shaped_net), with a tiny
random network: shapes and layout, determinism, the isotropic limit against the plain UNet
adapter, the dead-coefficient semantics, decode_ode and a bit-exact chain round trip."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from rdptheory.codec import progressive  # noqa: E402
from rdptheory.data import bundled_image  # noqa: E402
from rdptheory.images.shaped_chain import (  # noqa: E402
    T_DEAD2,
    SentStepCoder,
    ShapingRecipe,
    chain_levels,
    decode_ode,
    from_patches,
    ladder_snr,
    to_patches,
)
from rdptheory.images.shaped_net import ShapedNet, ShapedNetChainModel  # noqa: E402
from rdptheory.models.data import split_holdout  # noqa: E402
from rdptheory.models.shaped_noise import (  # noqa: E402
    SHAPING_FILE,
    ShapedFamily,
    block_dct_basis,
    dct_statistics,
)
from rdptheory.models.unet import (  # noqa: E402
    EDMPreconditioning,
    build_unet,
    save_preconditioning,
)

TINY = {"sample_size": 16, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
        "block_out_channels": (8, 16), "down_block_types": ("DownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "UpBlock2D"), "norm_num_groups": 4}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("shaped_net")
    torch.manual_seed(0)
    unet = build_unet(TINY)
    with torch.no_grad():  # a non-trivial function: random weights everywhere
        for p in unet.parameters():
            p.add_(0.05 * torch.randn_like(p))
    unet.save_pretrained(d, safe_serialization=True)
    save_preconditioning(d, EDMPreconditioning())
    part = split_holdout(bundled_image("coffee")).train[:, :128, :128]
    ShapedFamily(*dct_statistics([part], 8)).save(d)
    return d


@pytest.fixture(scope="module")
def net(folder):
    return ShapedNet(folder)


@pytest.fixture(scope="module")
def image():
    return split_holdout(bundled_image("astronaut")).train[:, 200:216, 200:224].astype(float)


def test_shapes_layout_and_table(net, folder, image):
    cm = net.for_image(16, 24)
    assert (cm.n_patches, cm.dim, cm.blocks) == (6, 192, (2, 3))
    xb = to_patches(image, 8) @ block_dct_basis()
    y = cm.denoise(xb, 0.04)
    assert y.shape == (6, 192) and y.dtype == np.float64 and np.isfinite(y).all()
    # the state's row order is shaped_chain.to_patches': the estimate maps back to an image
    img = from_patches(y @ block_dct_basis().T, 3, 16, 24, 8)
    assert img.shape == (3, 16, 24)
    np.testing.assert_allclose(cm.prior_var, net.variances + net.family.means**2, rtol=1e-15)
    assert len(net.fingerprint()) == 32 and net.fingerprint() == ShapedNet(folder).fingerprint()


def test_deterministic_whatever_the_callers_threads(net, image):
    cm = net.for_image(16, 24)
    xb = to_patches(image, 8) @ block_dct_basis()
    lv = chain_levels(ladder_snr(ShapingRecipe("perception", n_levels=8), net.variances))[4]
    y = xb + np.sqrt(np.minimum(lv, 1.0)) * np.random.default_rng(0).standard_normal(xb.shape)
    a = cm.denoise(y, lv)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        b = cm.denoise(y, lv)
    finally:
        torch.set_num_threads(old)
    assert a.tobytes() == b.tobytes()
    assert torch.get_num_threads() == old


def test_isotropic_limit_is_the_plain_unet_adapter(net, folder, image):
    """With the same weights, isotropic t² and an image, the shaped model's estimate is the
    plain EDM adapter's (PixelDiffusionModel) in the block-DCT basis (float32 tolerance)."""
    from rdptheory.models.diffusers_models import PixelDiffusionModel

    plain = PixelDiffusionModel(folder)
    cm = net.for_image(16, 24)
    rng = np.random.default_rng(1)
    for t in (0.05, 0.5, 3.0):
        y_img = image + t * rng.standard_normal(image.shape)
        ref = plain.denoise(y_img[None], t * t)[0]
        got = cm.denoise(to_patches(y_img, 8) @ block_dct_basis(), t * t)
        img = from_patches(got @ block_dct_basis().T, 3, 16, 24, 8)
        np.testing.assert_allclose(img, ref, rtol=0, atol=3e-5 * max(1.0, t))


def test_dead_coefficients_carry_no_information(net, image):
    """At the dead level a coefficient's observation is ~x + 1000 n: moving it by 1 (0.001 of
    its noise) barely changes the estimate; its posterior variance is the Gaussian one."""
    cm = net.for_image(16, 24)
    xb = to_patches(image, 8) @ block_dct_basis()
    lad = ladder_snr(ShapingRecipe("perception", n_levels=8), net.variances)
    lv = chain_levels(lad)[0]
    dead = lv > 0.5 * T_DEAD2
    assert 0 < dead.sum() < 192
    y = xb + np.sqrt(lv) * np.random.default_rng(2).standard_normal(xb.shape)
    moved = y.copy()
    moved[:, dead] += 1.0
    assert np.abs(cm.denoise(moved, lv) - cm.denoise(y, lv)).max() < 1e-2
    v = cm.posterior_var(y, lv)
    lam = net.variances
    np.testing.assert_allclose(v[dead], (lam * lv / (lam + lv))[dead], rtol=1e-15)
    assert not v[~dead].any()


def test_decode_ode_runs_on_the_net(net, image):
    cm = net.for_image(16, 24)
    xb = to_patches(image, 8) @ block_dct_basis()
    lv = chain_levels(ladder_snr(ShapingRecipe("perception", n_levels=8), net.variances))[-1]
    y = xb + np.sqrt(lv) * np.random.default_rng(3).standard_normal(xb.shape)
    mmse = decode_ode(cm, y, lv, None)
    np.testing.assert_array_equal(mmse, cm.denoise(y, lv))
    out = decode_ode(cm, y, lv, 1.0, steps=3)
    assert out.shape == xb.shape and np.isfinite(out).all()
    assert not np.array_equal(out, mmse)


def test_chain_round_trip_is_bit_exact(net, image):
    """Through the package's progressive codec with the shaped chain's step coder: every prefix
    decodes to the encoder's state bit for bit."""
    cm = net.for_image(16, 24)
    xb = to_patches(image, 8) @ block_dct_basis()
    lv = chain_levels(ladder_snr(ShapingRecipe("perception", n_levels=12), net.variances))[:3]
    kw = {"seed": 5, "max_chunk_bits": 8.0, "backend": "numpy", "variances": net.variances}
    coder = SentStepCoder(lv, cm.n_patches, **kw)
    res = progressive.encode_chain(xb, cm, lv, coder)
    n = len(res.symbols)  # the coder may stop early (a random network predicts badly)
    assert n >= 2
    syms = coder.read(coder.payload, n)
    for k in (1, n):
        dec = SentStepCoder(lv, cm.n_patches, **kw)
        got = progressive.decode_chain(syms[:k], cm, lv, dec, xb.shape)
        np.testing.assert_array_equal(got, res.states[k - 1])


def test_validation(net, folder, tmp_path):
    with pytest.raises(ValueError, match="multiples of 8"):
        net.for_image(12, 16)
    with pytest.raises(TypeError, match="ShapedNet"):
        ShapedNetChainModel(object(), 8, 8)
    cm = net.for_image(8, 8)
    with pytest.raises(ValueError, match="shape"):
        cm.denoise(np.zeros((2, 192)), 1.0)
    with pytest.raises(ValueError, match="t2"):
        cm.denoise(np.zeros((1, 192)), np.ones(5))
    with pytest.raises(ValueError, match="t2"):
        cm.denoise(np.zeros((1, 192)), 0.0)
    with pytest.raises(ValueError, match="finite"):
        cm.denoise(np.full((1, 192), np.nan), 1.0)
    with pytest.raises(ValueError, match="snr"):
        net.denoise_blocks(np.zeros((1, 192, 1, 1)), np.zeros(3))
    with pytest.raises(FileNotFoundError):
        ShapedNet(tmp_path / "none")
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(folder, bare)
    (bare / SHAPING_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="shaped-noise"):
        ShapedNet(bare)


def test_image_model_and_codec_round_trip(net, folder):
    """As an ImageModel: isotropic denoise = the plain EDM adapter (same function, padded), and
    a shaped file made by the one image codec decodes to the encoder's state (MMSE decode of
    the same state, image identical)."""
    from rdptheory.images import CodecConfig, compress_with_report, decompress
    from rdptheory.images.noise import shaped_chain_for
    from rdptheory.models.diffusers_models import PixelDiffusionModel
    from rdptheory.models.protocol import ImageModel

    assert isinstance(net, ImageModel)
    y = np.random.default_rng(4).normal(size=(1, 3, 16, 16))
    np.testing.assert_allclose(net.denoise(y, 0.25), PixelDiffusionModel(folder).denoise(
        y, 0.25), rtol=0, atol=3e-5)
    assert net.denoise(y[:, :, :13, :11], 0.25).shape == (1, 3, 13, 11)
    assert net.code_shape(13, 20) == (3, 13, 20)
    img = (bundled_image("chelsea").pixels[100:113, 100:120]).copy()  # 13x20: padded tiles
    cfg = CodecConfig(noise="shaped", n_levels=12)
    chain = shaped_chain_for(net, cfg.recipe, 13, 20)
    assert chain.state_shape == (6, 192)
    res = compress_with_report(img, model=net, noise_var=float(chain.water_levels[1]),
                               seed=3, config=cfg)
    assert res.n_steps == 2
    a = decompress(res.data, model=net, rho=2.0)
    b = decompress(res.data, model=net, rho=2.0)
    assert a.shape == img.shape and a.dtype == np.uint8 and np.array_equal(a, b)


def test_wiener_skip_net_starts_at_the_wiener_filter(folder, tmp_path, image):
    """A 'wiener' skip folder with conv_out zeroed (how a fine-tune starts) is exactly the
    table's per-coefficient linear MMSE, through the chain model as well."""
    import shutil

    from diffusers import UNet2DModel

    from rdptheory.models.train import wiener_blocks

    d = tmp_path / "wiener"
    shutil.copytree(folder, d)
    fam = ShapedFamily.load(d)
    ShapedFamily(fam.means, fam.variances, skip="wiener").save(d)
    unet = UNet2DModel.from_pretrained(d)
    with torch.no_grad():
        unet.conv_out.weight.zero_()
        unet.conv_out.bias.zero_()
    unet.save_pretrained(d, safe_serialization=True)
    net = ShapedNet(d)
    cm = net.for_image(16, 24)
    xb = to_patches(image, 8) @ block_dct_basis()
    lv = chain_levels(ladder_snr(ShapingRecipe("perception", n_levels=8), net.variances))[5]
    y = xb + np.sqrt(lv) * np.random.default_rng(6).standard_normal(xb.shape)
    w = (y / np.sqrt(lv)).reshape(2, 3, 192).transpose(2, 0, 1)[None]
    ref = wiener_blocks(w, 1 / lv, net.family)[0].transpose(1, 2, 0).reshape(6, 192)
    np.testing.assert_allclose(cm.denoise(y, lv), ref, rtol=1e-5, atol=1e-5)


SHIPPED_FINGERPRINT = "7cfb74d1a49a48bef9b53b16c157f1ec1f231b2264170f7f820ed36feae2fce2"


def test_shipped_weights_load_and_beat_the_wiener_filter():
    """The shipped folder (MODEL_CARD.md there): fingerprint pinned; on an unseen 64x64 crop
    under the perception ladder's noise (θ = 0.04, fixed seed) the net's MSE is below the
    table's per-coefficient linear MMSE (the card: +0.6 to +2.1 dB)."""
    from rdptheory.data import center_crop, to_model_space
    from rdptheory.images.shaped_net import shipped_shaped_dir
    from rdptheory.models.train import wiener_blocks
    from rdptheory.models.unet import image_to_blocks

    if not (shipped_shaped_dir() / "diffusion_pytorch_model.safetensors").is_file():
        pytest.skip("installed without the shaped weights")
    net = ShapedNet()
    assert net.fingerprint().hex() == SHIPPED_FINGERPRINT
    assert (net.family.skip, net.family.ladder, net.family.perception) == ("wiener",
                                                                           "perception", 0.0)
    x = to_model_space(center_crop(bundled_image("china").pixels, 64))[None]
    xb = image_to_blocks(torch.from_numpy(x), torch.from_numpy(block_dct_basis()), 8).numpy()
    snr = net.family.snr(0.04)
    w = np.sqrt(snr)[:, None, None] * xb + np.random.default_rng(0).standard_normal(xb.shape)
    mse_net = ((net.denoise_blocks(w, snr) - xb) ** 2).mean()
    mse_lin = ((wiener_blocks(w, snr, net.family) - xb) ** 2).mean()
    assert mse_net < 0.9 * mse_lin, (mse_net, mse_lin)


def test_load_model_unet_shaped_codes_shaped_noise_through_the_codec():
    """``load_model("unet-shaped")`` is the shipped net (pinned fingerprint, loaded once); a
    shaped file it writes through the one image codec replays to the encoder's state bit for
    bit, every prefix equals an encode stopped there, and the CLI spec needs no other hook."""
    from rdptheory.images import CodecConfig, _format, compress_with_report, truncate
    from rdptheory.images.codec import _replay
    from rdptheory.images.noise import PatchDCTChain, shaped_chain_for
    from rdptheory.images.shaped_net import shipped_shaped_dir
    from rdptheory.models import load_model

    if not (shipped_shaped_dir() / "diffusion_pytorch_model.safetensors").is_file():
        pytest.skip("installed without the shaped weights")
    net = load_model("unet-shaped")
    assert isinstance(net, ShapedNet) and load_model("unet-shaped") is net
    assert net.fingerprint().hex() == SHIPPED_FINGERPRINT
    cfg = CodecConfig(noise="shaped", n_levels=12)
    chain = shaped_chain_for(net, cfg.recipe, 16, 16)
    assert isinstance(chain, PatchDCTChain) and chain.state_shape == (4, 192)
    img = bundled_image("china").pixels[200:216, 300:316].copy()
    res = compress_with_report(img, model=net, noise_var=float(chain.water_levels[3]), seed=2,
                               config=cfg)
    assert res.n_steps == 4
    stream = _format.unpack_stream(res.data)
    assert np.array_equal(_replay(stream, net, 4, "numpy"), res.state)
    early = compress_with_report(img, model=net, noise_var=float(chain.water_levels[1]),
                                 seed=2, config=cfg)
    assert truncate(res.data, 2) == early.data
