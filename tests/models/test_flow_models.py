"""Flow-matching adapter: the velocity→score conversion against a Gaussian closed form, tiny
random SD3/Flux transformers saved and loaded offline, and a codec round trip."""

import numpy as np
import pytest
import torch

from rdptheory.data import bundled_image
from rdptheory.images.codec import CodecConfig, compress_with_report, decompress
from rdptheory.models import ImageModel, load_model
from rdptheory.models.flow_models import (
    EMPTY_POOLED_FILE,
    FlowMatchingModel,
    flow_time,
    load_flow_model,
    pack_latents,
    unpack_latents,
)

diffusers = pytest.importorskip("diffusers")
CONFIG = CodecConfig(backend="numpy", n_levels=4, t_max=3.0, t_min=1.0)


class GaussianVelocity(torch.nn.Module):
    """The exact rectified-flow velocity E[ε − x₀ | x_s] for data x₀ ~ N(0, sd² I).

    x_s = (1−s)x₀ + sε is Gaussian with variance (1−s)²sd² + s², so
    m = E[x₀|x_s] = (1−s)sd²/((1−s)²sd² + s²)·x_s and E[v|x_s] = (x_s − m)/s (float64 inside).
    """

    def __init__(self, sd, timesteps=1000):
        super().__init__()
        self.sd, self.timesteps = sd, timesteps
        self.config = {"in_channels": 3, "patch_size": 1}

    def forward(self, hidden_states, encoder_hidden_states, pooled_projections, timestep,
                return_dict=False):
        x = hidden_states.double()
        s = (timestep.double() / self.timesteps)[:, None, None, None]
        m = (1 - s) * self.sd**2 / ((1 - s) ** 2 * self.sd**2 + s**2) * x
        return ((x - m) / s,)


def _gaussian_model(sd):
    return FlowMatchingModel(GaussianVelocity(sd), None, prompt_embeds=np.zeros((1, 1, 4)),
                             pooled_embeds=np.zeros((1, 4)), name="gauss")


@pytest.mark.parametrize("sd", [0.5, 1.0, 2.0])
def test_denoise_equals_gaussian_posterior_mean(sd):
    m = _gaussian_model(sd)
    assert isinstance(m, ImageModel)
    rng = np.random.default_rng(0)
    y = rng.normal(size=(4, 3, 5, 6)) * 2
    t2 = np.array([0.01, 0.3, 1.0, 25.0])
    truth = sd**2 / (sd**2 + t2)[:, None, None, None] * y  # VE posterior mean, N(0, sd²) data
    np.testing.assert_allclose(m.denoise(y, t2), truth, atol=1e-6, rtol=0)
    np.testing.assert_allclose(m.score(y, t2), (truth - y) / t2[:, None, None, None],
                               atol=1e-6 / 0.01, rtol=0)
    # torch in, torch out
    out = m.denoise(torch.from_numpy(y), torch.from_numpy(t2))
    assert isinstance(out, torch.Tensor)


def test_flow_time_and_validation():
    np.testing.assert_allclose(flow_time(np.array([0.0, 1.0, 9.0])), [0.0, 0.5, 0.75])
    m = _gaussian_model(1.0)
    with pytest.raises(ValueError, match="noise_var"):
        m.denoise(np.zeros((1, 3, 2, 2)), 0.0)
    with pytest.raises(ValueError, match="shape"):
        m.denoise(np.zeros((3, 2, 2)), 1.0)
    with pytest.raises(ValueError, match="prompt_embeds"):
        FlowMatchingModel(GaussianVelocity(1.0), prompt_embeds=np.zeros((2, 4)),
                          pooled_embeds=np.zeros((1, 4)))
    with pytest.raises(TypeError, match="transformer"):
        FlowMatchingModel(object(), prompt_embeds=np.zeros((1, 1, 4)),
                          pooled_embeds=np.zeros((1, 4)))


def test_pack_unpack_roundtrip():
    z = torch.randn(2, 4, 6, 8)
    assert pack_latents(z).shape == (2, 12, 16)
    assert torch.equal(unpack_latents(pack_latents(z), 4, 6, 8), z)


def _vae():
    torch.manual_seed(1)
    vae = diffusers.AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=4, sample_size=16,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16),
        scaling_factor=1.5, shift_factor=0.06)
    return vae


def _quiet(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("proj_out"):
                p.mul_(0.01)
    return module


def _save(d, transformer, joint, pooled):
    transformer.save_pretrained(d / "transformer")
    _vae().save_pretrained(d / "vae")
    diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0).save_pretrained(d / "scheduler")
    rng = np.random.default_rng(0)
    np.save(d / "empty_prompt_embeds.npy", rng.normal(size=(1, 3, joint)).astype(np.float32))
    np.save(d / EMPTY_POOLED_FILE, rng.normal(size=(1, pooled)).astype(np.float32))
    return d


def _model_dir(tmp_path_factory, name, transformer_class, **config):
    """A tiny seeded flow-matching folder: transformer (output layer scaled down), VAE,
    scheduler and prompt embeddings (joint dim 16, pooled dim 8)."""
    torch.manual_seed(0)
    transformer = _quiet(transformer_class(**config))
    return _save(tmp_path_factory.mktemp(name), transformer, 16, 8)


@pytest.fixture(scope="module")
def sd3_dir(tmp_path_factory):
    return _model_dir(tmp_path_factory, "sd3", diffusers.SD3Transformer2DModel, sample_size=8,
                      patch_size=2, in_channels=4, out_channels=4, num_layers=1,
                      attention_head_dim=8, num_attention_heads=2, joint_attention_dim=16,
                      caption_projection_dim=16, pooled_projection_dim=8, pos_embed_max_size=16)


@pytest.fixture(scope="module")
def flux_dir(tmp_path_factory):
    return _model_dir(tmp_path_factory, "flux", diffusers.FluxTransformer2DModel, patch_size=1,
                      in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=8,
                      num_attention_heads=2, joint_attention_dim=16, pooled_projection_dim=8,
                      guidance_embeds=True, axes_dims_rope=(2, 2, 4))


@pytest.fixture(scope="module")
def image():
    return bundled_image("coffee").pixels[100:116, 200:216]


def test_sd3_loads_offline_and_converts_the_velocity(sd3_dir):
    m = load_model(str(sd3_dir))
    assert isinstance(m, FlowMatchingModel) and isinstance(m, ImageModel)
    assert m.code_shape(16, 16) == (4, 8, 8) and m.code_shape(17, 16) == (4, 10, 8)
    y = np.random.default_rng(1).normal(size=(2, 4, 8, 8))
    t2 = np.array([0.25, 4.0])
    t = np.sqrt(t2)
    s = t / (1 + t)
    x_s = y / (1 + t)[:, None, None, None]
    with torch.no_grad():
        v = m.transformer(hidden_states=torch.from_numpy(x_s).float(),
                          encoder_hidden_states=m.prompt_embeds.expand(2, -1, -1),
                          pooled_projections=m.pooled_embeds.expand(2, -1),
                          timestep=torch.from_numpy(s * 1000).float(),
                          return_dict=False)[0].double().numpy()
    np.testing.assert_allclose(m.denoise(y, t2), x_s - s[:, None, None, None] * v, atol=1e-5)
    assert m.fingerprint() == load_model(str(sd3_dir)).fingerprint()
    assert m.shift == pytest.approx(0.06) and m.scaling == 1.5


def test_missing_pooled_embedding_and_hub_id(sd3_dir, tmp_path):
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(sd3_dir, d)
    (d / EMPTY_POOLED_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="pooled"):
        load_flow_model(d)
    with pytest.raises(FileNotFoundError, match="local"):
        load_model("stabilityai/stable-diffusion-3-medium-diffusers")


@pytest.mark.parametrize("which", ["sd3", "flux"])
def test_codec_round_trip(which, sd3_dir, flux_dir, image):
    m = load_model(str(sd3_dir if which == "sd3" else flux_dir))
    res = compress_with_report(image, model=m, bpp=8.0, config=CONFIG)
    out = decompress(res.data, model=m, rho=1.0, ode_steps=2, backend="numpy")
    assert out.shape == image.shape and out.dtype == np.uint8
    # decoding is deterministic (float32 under fixed threads and deterministic algorithms)
    again = decompress(res.data, model=m, rho=1.0, ode_steps=2, backend="numpy")
    assert np.array_equal(out, again)


@pytest.mark.parametrize("which", ["sd3", "flux"])
def test_denoise_and_vae_are_bitwise_equal_for_one_and_three_threads(which, sd3_dir, flux_dir,
                                                                      monkeypatch):
    from rdptheory.models._torch_common import THREADS_ENV

    m = load_model(str(sd3_dir if which == "sd3" else flux_dir))
    x = np.random.default_rng(3).uniform(-1, 1, size=(2, 3, 48, 32))
    res = {}
    for k in ("1", "3"):
        monkeypatch.setenv(THREADS_ENV, k)
        z = m.to_code_space(x)
        res[k] = (z, m.denoise(z, np.array([0.25, 4.0])), m.from_code_space(z))
    for a, b in zip(res["1"], res["3"]):
        assert a.tobytes() == b.tobytes()
