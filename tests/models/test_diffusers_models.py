"""Diffusers adapters: tiny random models saved with save_pretrained, loaded back offline,
checked against the ε/v conversions and round-tripped through the codec."""

import numpy as np
import pytest
import torch

from rdptheory.data import bundled_image
from rdptheory.images.codec import CodecConfig, compress_with_report, decompress
from rdptheory.models import ImageModel, load_model
from rdptheory.models.diffusers_models import (
    EMPTY_PROMPT_FILE,
    LatentDiffusionModel,
    PixelDiffusionModel,
)

diffusers = pytest.importorskip("diffusers")
CONFIG = CodecConfig(backend="numpy", n_levels=4, t_max=3.0, t_min=1.0)


def _tiny_unet(**kw):
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(
        sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
        block_out_channels=(8, 16), down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=4, **kw)
    return _quiet(unet)


def _quiet(unet):
    """Scale the output layer down: a random network's x0 then stays near y (cheap steps)."""
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.01)
        unet.conv_out.bias.mul_(0.01)
    return unet


@pytest.fixture(scope="module", params=["epsilon", "v_prediction"])
def pixel_dir(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"pixel_{request.param}")
    pipe = diffusers.DDPMPipeline(unet=_tiny_unet(), scheduler=diffusers.DDPMScheduler(
        num_train_timesteps=100, prediction_type=request.param))
    pipe.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def latent_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("latent")
    torch.manual_seed(1)
    vae = diffusers.AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=4, sample_size=16,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16))
    unet = diffusers.UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(8, 16), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
        norm_num_groups=4, attention_head_dim=4)
    vae.save_pretrained(d / "vae")
    _quiet(unet).save_pretrained(d / "unet")
    diffusers.DDIMScheduler(num_train_timesteps=100).save_pretrained(d / "scheduler")
    np.save(d / EMPTY_PROMPT_FILE, np.random.default_rng(0).normal(size=(1, 3, 16)))
    return d


@pytest.fixture(scope="module")
def image():
    return bundled_image("coffee").pixels[100:116, 200:219]  # 16x19: W not a multiple of 2


def test_pixel_denoise_matches_the_prediction_conversion(pixel_dir):
    m = load_model(str(pixel_dir))
    assert isinstance(m, PixelDiffusionModel) and isinstance(m, ImageModel)
    y = np.random.default_rng(0).normal(size=(2, 3, 16, 16))
    t2 = np.array([0.5, 2.0])
    ab = 1.0 / (1.0 + t2)
    z = y * np.sqrt(ab)[:, None, None, None]
    with torch.no_grad():
        pred = m.unet(torch.from_numpy(z).float(),
                      torch.from_numpy(m.timestep(t2)).float()).sample.double().numpy()
    a, s = np.sqrt(ab)[:, None, None, None], np.sqrt(1 - ab)[:, None, None, None]
    x0 = (z - s * pred) / a if m.parameterization == "eps" else a * z - s * pred
    np.testing.assert_allclose(m.denoise(y, t2), x0, rtol=1e-6, atol=1e-6)


def test_timestep_hits_the_training_table(pixel_dir):
    m = load_model(str(pixel_dir))
    sched = diffusers.DDPMScheduler.from_pretrained(pixel_dir, subfolder="scheduler")
    table = sched.alphas_cumprod.double().numpy()
    t2 = (1 - table[[0, 37, 99]]) / table[[0, 37, 99]]
    np.testing.assert_allclose(m.timestep(t2), [0, 37, 99], atol=1e-9)


def test_pixel_codec_round_trip(pixel_dir, image):
    _round_trip(load_model(str(pixel_dir)), image)


def test_latent_codec_round_trip(latent_dir, image):
    m = load_model(str(latent_dir))
    assert isinstance(m, LatentDiffusionModel) and m.code_shape(16, 19) == (4, 8, 10)
    _round_trip(m, image)


def _round_trip(m, image):
    r = compress_with_report(image, model=m, noise_var=1.0, seed=5, config=CONFIG)
    assert r.n_steps == 4
    assert r.bpp == 8 * len(r.data) / (16 * 19)
    a = decompress(r.data, model=m, rho=1.0, ode_steps=4, backend="numpy")
    b = decompress(r.data, model=m, rho=2.0, ode_steps=4, backend="numpy")
    assert a.shape == image.shape and not np.array_equal(a, b)
    assert np.array_equal(a, decompress(r.data, model=m, rho=1.0, ode_steps=4,
                                        backend="numpy"))
    other = load_model("patch-gmm")
    with pytest.raises(ValueError, match="another model"):
        decompress(r.data, model=other)


def test_fingerprint_tracks_weights(pixel_dir, tmp_path):
    m = PixelDiffusionModel(pixel_dir)
    unet = _tiny_unet()
    with torch.no_grad():
        next(unet.parameters()).add_(1e-3)
    diffusers.DDPMPipeline(unet=unet, scheduler=diffusers.DDPMScheduler.from_pretrained(
        pixel_dir, subfolder="scheduler")).save_pretrained(tmp_path)
    assert PixelDiffusionModel(tmp_path).fingerprint() != m.fingerprint()


def test_hub_id_without_local_files_fails_at_once(tmp_path):
    with pytest.raises(FileNotFoundError, match="huggingface-cli download"):
        load_model("google/ddpm-cifar10-32")
    (tmp_path / "vae").mkdir()
    with pytest.raises((FileNotFoundError, OSError)):
        LatentDiffusionModel(tmp_path)


@pytest.fixture(scope="module")
def edm_dir(tmp_path_factory):
    from rdptheory.models.unet import EDMPreconditioning, save_preconditioning

    d = tmp_path_factory.mktemp("edm")
    _tiny_unet().save_pretrained(d)
    save_preconditioning(d, EDMPreconditioning(sigma_data=0.5, sigma_min=0.02, sigma_max=20.0))
    return d


def test_edm_denoise_is_the_karras_preconditioned_network(edm_dir):
    m = load_model(str(edm_dir))
    assert isinstance(m, PixelDiffusionModel) and m.parameterization == "edm"
    y = np.random.default_rng(3).normal(size=(2, 3, 16, 16))
    s = np.array([0.1, 3.0])
    # [KAAL22] Table 1 in VE coordinates, computed here in float64 around the raw network
    sd2 = 0.25
    c_skip, c_out = sd2 / (s**2 + sd2), 0.5 * s / np.sqrt(s**2 + sd2)
    c_in = 1 / np.sqrt(s**2 + sd2)
    c_noise = 1000 * (np.log(s) - np.log(0.02)) / (np.log(20.0) - np.log(0.02))
    b = (slice(None), None, None, None)
    with torch.no_grad():
        f = m.unet(torch.from_numpy(c_in[b] * y).float(),
                   torch.from_numpy(c_noise).float()).sample.double().numpy()
    np.testing.assert_allclose(m.denoise(y, s**2), c_skip[b] * y + c_out[b] * f,
                               rtol=0, atol=2e-6)
    np.testing.assert_allclose(m.score(y, s**2), (m.denoise(y, s**2) - y) / (s**2)[b])


def test_edm_fingerprint_covers_the_preconditioning(edm_dir, tmp_path):
    from rdptheory.models.unet import EDMPreconditioning, save_preconditioning

    _tiny_unet().save_pretrained(tmp_path)
    save_preconditioning(tmp_path, EDMPreconditioning(sigma_data=0.6, sigma_min=0.02,
                                                      sigma_max=20.0))
    assert PixelDiffusionModel(tmp_path).fingerprint() != PixelDiffusionModel(
        edm_dir).fingerprint()


def test_model_calls_restore_the_callers_torch_settings(edm_dir):
    m = PixelDiffusionModel(edm_dir, name="tiny-edm")
    assert m.name == "tiny-edm"
    old, old_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(False)
    try:
        m.denoise(np.zeros((1, 3, 8, 8)), 0.5)
        assert torch.get_num_threads() == 2
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.set_num_threads(old)
        torch.use_deterministic_algorithms(old_det)


# ---- thread counts: a user's model with attention gives the same bits on 1, 2 or 3 threads ----


@pytest.fixture(scope="module")
def attention_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("attention")
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(
        sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
        block_out_channels=(16, 32), down_block_types=("AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "AttnUpBlock2D"), norm_num_groups=4,
        attention_head_dim=8)
    diffusers.DDPMPipeline(unet=unet, scheduler=diffusers.DDPMScheduler(
        num_train_timesteps=100)).save_pretrained(d)
    return d


def _naive_unet(m, z, t, threads):
    """The network with ``threads`` torch threads for every op (no thread policy)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return m.unet(z, t).sample
    finally:
        torch.set_num_threads(old)


def test_attention_model_is_bitwise_equal_for_one_two_three_threads(attention_dir, monkeypatch):
    from rdptheory.models._torch_common import THREADS_ENV

    m = PixelDiffusionModel(attention_dir)
    y = np.random.default_rng(0).normal(size=(1, 3, 40, 56))
    outs = {}
    for k in (1, 2, 3):
        monkeypatch.setenv(THREADS_ENV, str(k))
        outs[k] = m.denoise(y, 0.3)
    assert outs[2].tobytes() == outs[1].tobytes() and outs[3].tobytes() == outs[1].tobytes()
    # Positive control: with every op on several threads (GEMM in the attention projections,
    # 1x1 convolutions) the network's output does move, so the check above can fail.
    z = torch.from_numpy(y / np.sqrt(1.3)).float()
    t = torch.from_numpy(m.timestep(np.array([0.3]))).float()
    one = _naive_unet(m, z, t, 1)
    assert not torch.equal(_naive_unet(m, z, t, 2), one)
    assert not torch.equal(_naive_unet(m, z, t, 3), one)


def test_latent_model_is_bitwise_equal_for_one_and_three_threads(latent_dir, monkeypatch):
    from rdptheory.models._torch_common import THREADS_ENV

    m = LatentDiffusionModel(latent_dir)
    x = np.random.default_rng(1).uniform(-1, 1, size=(1, 3, 48, 40))
    res = {}
    for k in ("1", "3"):
        monkeypatch.setenv(THREADS_ENV, k)
        z = m.to_code_space(x)
        res[k] = (z, m.denoise(z, 0.5), m.from_code_space(z))
    for a, b in zip(res["1"], res["3"]):
        assert a.tobytes() == b.tobytes()
