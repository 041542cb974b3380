"""The shipped UNet: it loads through the diffusers adapter, denoises held-out photographs, runs
through the codec, and gives bitwise-identical outputs whatever the caller's thread settings;
the default model is that network on windows of its training crop (models.tiled)."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from rdptheory.data import bundled_image  # noqa: E402
from rdptheory.images import compress_with_report, decompress  # noqa: E402
from rdptheory.images.codec import CodecConfig  # noqa: E402
from rdptheory.models import (  # noqa: E402
    DEFAULT_MODEL_NAME,
    ImageModel,
    default_model_path,
    load_default,
    load_model,
    shipped_network,
)
from rdptheory.models._torch_common import (  # noqa: E402
    THREADS_ENV,
    fixed_torch_threads,
    model_threads,
)
from rdptheory.models.data import split_holdout  # noqa: E402
from rdptheory.models.diffusers_models import PixelDiffusionModel  # noqa: E402
from rdptheory.models.tiled import TiledModel  # noqa: E402
from rdptheory.models.train import psnr_8bit  # noqa: E402
from rdptheory.models.unet import load_preconditioning  # noqa: E402

CONFIG = CodecConfig(backend="numpy", n_levels=4, t_max=3.0, t_min=0.5)


@pytest.fixture(scope="module")
def model():
    """The network itself (whole-image evaluation)."""
    return shipped_network()


@pytest.fixture(scope="module")
def default():
    """The default image model: the network on 64² windows."""
    return load_default()


@pytest.fixture(scope="module")
def holdout():
    """A 32×32 crop of astronaut's held-out strip (never trained on), model space (1,3,32,32)."""
    strip = split_holdout(bundled_image("astronaut")).holdout
    return strip[None, :, 200:232, 20:52].astype(np.float64)


def test_shipped_weights_load_through_the_adapter(model):
    d = default_model_path()
    assert isinstance(model, PixelDiffusionModel) and isinstance(model, ImageModel)
    assert model.name == f"{DEFAULT_MODEL_NAME}-whole" and model.parameterization == "edm"
    assert load_model("unet-whole") is model
    pre = load_preconditioning(d)
    assert pre is not None and pre.sigma_data == 0.5
    assert pre.sigma_min <= 0.05 and pre.sigma_max >= 5.0  # the codec's default ladder
    assert (d / "diffusion_pytorch_model.safetensors").stat().st_size <= 10 * 2**20
    assert len(model.fingerprint()) == 32
    card = (d / "MODEL_CARD.md").read_text()
    assert model.fingerprint().hex()[:16] in card
    assert load_default().fingerprint().hex()[:16] in card
    assert sum(p.numel() for p in model.unet.parameters()) == pytest.approx(1.06e6, rel=0.02)


def test_fingerprint_does_not_depend_on_where_the_model_lies(model, tmp_path):
    # diffusers records the load path in config["_name_or_path"]; a file encoded with the
    # shipped model must decode with a copy of it installed anywhere else.
    import shutil

    copy = tmp_path / "elsewhere"
    shutil.copytree(default_model_path(), copy)
    assert PixelDiffusionModel(copy).fingerprint() == model.fingerprint()


def test_small_sigma_is_close_to_identity(model, holdout):
    # c_skip → 1 and c_out ≈ σ as σ → 0: |D(y) − y| ≤ σ·|F| + σ²/σ_d²·|y|
    out = model.denoise(holdout, 1e-6)
    assert np.abs(out - holdout).max() < 5e-3


def test_denoiser_beats_the_noisy_input_on_a_held_out_crop(model, holdout):
    rng = np.random.default_rng(2024)
    for t in (0.1, 0.4):
        y = holdout + t * rng.standard_normal(holdout.shape)
        gain = psnr_8bit(model.denoise(y, t * t), holdout) - psnr_8bit(y, holdout)
        # measured gains are ~+7 dB (t=0.1) and ~+11 dB (t=0.4); a net that ignored its input
        # or had the σ convention wrong would lose here
        assert gain[0] > 3.0, (t, gain)


def test_codec_round_trip_with_the_trained_model(model):
    image = bundled_image("coffee").pixels[300:316, 200:216]
    r = compress_with_report(image, model=model, noise_var=0.25, seed=11, config=CONFIG)
    assert r.n_steps == 4
    a = decompress(r.data, model=model, rho=1.0, ode_steps=3, backend="numpy")
    assert a.shape == image.shape
    assert np.array_equal(a, decompress(r.data, model=model, rho=1.0, ode_steps=3,
                                        backend="numpy"))
    with pytest.raises(ValueError, match="another model"):
        decompress(r.data, model=load_model("gmm"))


_CHILD = r"""
import json, sys
import numpy as np, torch
torch.set_num_threads(2)
from rdptheory.images import decompress
from rdptheory.models import load_default, shipped_network
from rdptheory.models._torch_common import model_threads
m = shipped_network()
assert torch.get_num_threads() == 2 and model_threads() == 2  # the model really uses 2
y = np.load(sys.argv[1])
np.save(sys.argv[2], m.denoise(y, 0.3))
assert torch.get_num_threads() == 2  # the adapter restores the caller's setting
data = open(sys.argv[3], "rb").read()
np.save(sys.argv[4], decompress(data, model=m, rho=1.0, ode_steps=3, backend="numpy"))
data = open(sys.argv[5], "rb").read()
np.save(sys.argv[6], decompress(data, model=load_default(), rho=1.0, ode_steps=3,
                                backend="numpy"))
"""


def test_encoder_one_thread_decoder_two_threads_agree_bitwise(model, default, tmp_path):
    torch.set_num_threads(1)
    image = bundled_image("chelsea").pixels[100:116, 120:136]
    r = compress_with_report(image, model=model, noise_var=0.25, seed=3, config=CONFIG)
    # the default model at 100x132: 2 x 3 windows of 64² per call, in batches of 4 + 2 that
    # run concurrently on the decoder's 2 threads
    big = bundled_image("chelsea").pixels[60:160, 100:232]
    rt = compress_with_report(big, model=default, noise_var=0.25, seed=3, config=CONFIG)
    assert default.windows(100, 132) == ((0, 36), (0, 34, 68))
    # batch 2 at 24x40: every 3x3 convolution goes to oneDNN and runs on 2 threads there
    y = np.random.default_rng(5).normal(size=(2, 3, 24, 40))
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "s.bin").write_bytes(r.data)
    (tmp_path / "t.bin").write_bytes(rt.data)
    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    env.pop(THREADS_ENV, None)
    subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "y.npy"),
                    str(tmp_path / "d.npy"), str(tmp_path / "s.bin"), str(tmp_path / "x.npy"),
                    str(tmp_path / "t.bin"), str(tmp_path / "xt.npy")],
                   check=True, env=env, timeout=300)
    assert np.load(tmp_path / "d.npy").tobytes() == model.denoise(y, 0.3).tobytes()
    here = decompress(r.data, model=model, rho=1.0, ode_steps=3, backend="numpy")
    assert np.array_equal(np.load(tmp_path / "x.npy"), here)
    here = decompress(rt.data, model=default, rho=1.0, ode_steps=3, backend="numpy")
    assert np.array_equal(np.load(tmp_path / "xt.npy"), here)


class _ThreadProbe(torch.overrides.TorchFunctionMode):
    """Records the torch thread count each conv2d / linear / silu call actually runs with.

    Entered *outside* the adapter's own call context, so it sees each call after the
    adapter's thread policy has set the count for it."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("conv2d", "linear", "silu", "scaled_dot_product_attention"):
            kernel = tuple(args[1].shape[2:]) if name == "conv2d" else ()
            self.seen.append((name, kernel, args[0].numel(), torch.get_num_threads()))
        return func(*args, **(kwargs or {}))


def _naive_edm(model, y, sigma, threads):
    """The shipped network with ``threads`` torch threads for every op (no thread policy)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return model._edm(torch.from_numpy(y).float(),
                              torch.full((y.shape[0],), sigma)).double().numpy()
    finally:
        torch.set_num_threads(old)


def test_model_calls_use_several_threads_only_for_the_allow_listed_ops(model, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    y = np.random.default_rng(8).normal(size=(1, 3, 40, 56))
    with _ThreadProbe() as probe:
        model.denoise(y, 0.3)
    assert torch.get_num_threads() == 1  # restored (conftest pins one thread)
    big3x3 = {t for n, k, size, t in probe.seen if n == "conv2d" and k == (3, 3) and size > 20480}
    attention = {t for n, *_, t in probe.seen if n == "scaled_dot_product_attention"}
    others = {t for n, k, size, t in probe.seen
              if not (n == "conv2d" and k == (3, 3)) and n != "scaled_dot_product_attention"}
    small3x3 = {t for n, k, size, t in probe.seen if n == "conv2d" and k == (3, 3)
                and size <= 20480}
    # oneDNN's direct convolutions and the flash-attention kernel get the model's threads;
    # 1x1 convolutions, linear layers (GEMM), silu and batch-1 small convolutions one.
    assert big3x3 == {3} and attention == {3}
    assert others == {1} and small3x3 <= {1}
    assert {n for n, *_ in probe.seen} >= {"conv2d", "linear", "silu"}


@pytest.mark.parametrize("shape", [(1, 3, 40, 56), (1, 3, 72, 24)])
def test_denoise_is_bitwise_equal_for_one_two_three_threads(model, shape, monkeypatch):
    # Odd (non-power-of-two) sizes; y in code space (multiples of the UNet's factor).
    y = np.random.default_rng(shape[2]).normal(size=shape) * 0.7
    outs = {}
    for k in (1, 2, 3):
        monkeypatch.setenv(THREADS_ENV, str(k))
        outs[k] = model.denoise(y, np.array([0.09]))
    assert outs[2].tobytes() == outs[1].tobytes() and outs[3].tobytes() == outs[1].tobytes()
    # The policy leaves one-thread results as they were (files encoded before decode the same),
    naive1 = _naive_edm(model, y, 0.3, 1)
    assert outs[1].tobytes() == naive1.tobytes()
    # and this check has teeth: without it (every op on 2 / 3 threads) the bits move.
    assert not np.array_equal(_naive_edm(model, y, 0.3, 2), naive1)
    assert not np.array_equal(_naive_edm(model, y, 0.3, 3), naive1)


def test_default_model_is_bitwise_equal_for_one_two_three_threads(default, model, monkeypatch):
    # 120x100 code: 3 x 2 windows, batches of 4 + 2 spread over the threads (denoise_batches)
    y = np.random.default_rng(12).normal(size=(1, 3, 120, 100)) * 0.6
    outs = {}
    for k in (1, 2, 3):
        monkeypatch.setenv(THREADS_ENV, str(k))
        outs[k] = default.denoise(y, np.array([0.2]))
    assert outs[2].tobytes() == outs[1].tobytes() and outs[3].tobytes() == outs[1].tobytes()
    # and the concurrent batches are the network's own one-by-one results
    monkeypatch.setenv(THREADS_ENV, "2")
    tiles = np.stack([y[0, :, r:r + 64, q:q + 64] for r in (0, 28, 56) for q in (0, 36)])
    batches = [(tiles[:4], np.full(4, 0.2)), (tiles[4:], np.full(2, 0.2))]
    together = model.denoise_batches(batches)
    monkeypatch.setenv(THREADS_ENV, "1")
    for (tb, nv), got in zip(batches, together):
        assert got.tobytes() == model.denoise(tb, nv).tobytes()


def test_shaped_net_is_bitwise_equal_for_one_and_three_threads(monkeypatch):
    net = load_model("unet-shaped")
    w = np.random.default_rng(4).normal(size=(1, net.dim, 12, 10))
    snr = np.geomspace(0.5, 50.0, net.dim)
    monkeypatch.setenv(THREADS_ENV, "1")
    one = net.denoise_blocks(w, snr)
    monkeypatch.setenv(THREADS_ENV, "3")
    assert net.denoise_blocks(w, snr).tobytes() == one.tobytes()


def test_model_threads_resolution(monkeypatch):
    from rdptheory.models import _torch_common as tc

    monkeypatch.delenv(THREADS_ENV, raising=False)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert model_threads() == 2  # the caller's torch setting (MODEL_THREADS = None)
        monkeypatch.setattr(tc, "MAX_MODEL_THREADS", 1)
        assert model_threads() == 1  # capped
        monkeypatch.setattr(tc, "MODEL_THREADS", 3)
        assert model_threads() == 3
        monkeypatch.setenv(THREADS_ENV, "4")
        assert model_threads() == 4 and model_threads(2) == 2  # env over constant, arg first
    finally:
        torch.set_num_threads(old)
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match="positive integer"):
            model_threads()
    monkeypatch.delenv(THREADS_ENV)
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="positive integer"):
            model_threads(bad)
    with pytest.raises(ValueError, match="positive integer"), fixed_torch_threads(0):
        pass


# ---- issue 11: the shipped UNet is the default image model ---------------------------------
#: The 4 fingerprint bytes the default model (the shipped weights on 64² windows, stride 48)
#: writes into every ``.rdpi`` header (MODEL_CARD.md), and those of the whole-image network.
SHIPPED_FILE_FINGERPRINT = bytes.fromhex("c90a08ba")
WHOLE_FILE_FINGERPRINT = bytes.fromhex("a7c2749d")


def test_the_default_model_is_the_shipped_unet_on_windows(model, default):
    from rdptheory.models import DEFAULT_SPEC, default_model

    assert DEFAULT_SPEC == "unet"
    assert default_model() is default and load_model(None) is default
    assert load_model(DEFAULT_SPEC) is default and default.name == DEFAULT_MODEL_NAME
    assert isinstance(default, TiledModel) and default.model is model
    assert (default.window, default.stride) == (64, 48)
    file_fp = [hashlib.sha256(m.fingerprint()).digest()[:4] for m in (default, model)]
    assert file_fp == [SHIPPED_FILE_FINGERPRINT, WHOLE_FILE_FINGERPRINT]
    assert load_model("patch-gmm") is not default  # the exact-score GMM stays available by name


def test_the_default_is_the_network_on_a_training_size_crop_and_tiles_larger_ones(model,
                                                                                 default):
    rng = np.random.default_rng(31)
    y = rng.normal(size=(2, 3, 64, 64)) * 0.5
    assert default.denoise(y, 0.2).tobytes() == model.denoise(y, 0.2).tobytes()
    # 64x112: windows at columns 0 and 48, overlapping on 48..63; columns 0..47 are the first
    # window's estimate alone, 64..111 the second's
    y = rng.normal(size=(1, 3, 64, 112)) * 0.5
    out = default.denoise(y, 0.2)
    # the windows go through the network as one batch (float32 results can depend on it)
    left, right = model.denoise(np.concatenate([y[..., :64], y[..., 48:]]), 0.2)[:, None]
    assert np.allclose(out[..., :48], left[..., :48], rtol=0, atol=1e-12)
    assert np.allclose(out[..., 64:], right[..., 16:], rtol=0, atol=1e-12)
    assert not np.allclose(out, model.denoise(y, 0.2), atol=1e-3)  # not the whole-image net


def test_default_compress_decompress_round_trips_with_the_unet_fingerprint(default):
    """compress/decompress with no model: the file carries the UNet's fingerprint and decodes to
    what the explicitly named UNet decodes; the tiled GMM refuses it."""
    from rdptheory.images import _format
    from rdptheory.images.codec import compress

    image = bundled_image("flower").pixels[200:232, 300:332]  # 32×32
    data = compress(image, noise_var=0.25, seed=7, config=CONFIG)
    assert data == compress(image, model=default, noise_var=0.25, seed=7, config=CONFIG)
    assert _format.unpack_stream(data).header.fingerprint == SHIPPED_FILE_FINGERPRINT
    out = decompress(data, rho=1.0, ode_steps=3, backend="numpy")
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out, decompress(data, model=default, rho=1.0, ode_steps=3,
                                          backend="numpy"))
    assert np.abs(out.astype(int) - image.astype(int)).mean() < 40  # a decode, not noise
    with pytest.raises(ValueError, match="another model"):
        decompress(data, model=load_model("patch-gmm"), backend="numpy")
    with pytest.raises(ValueError, match="another model"):  # the network on the whole image
        decompress(data, model=load_model("unet-whole"), backend="numpy")
    # a file of the previous default (the whole-image network): the error names the model
    old = compress(image, model=load_model("unet-whole"), noise_var=0.25, seed=7,
                   config=CONFIG)
    assert _format.unpack_stream(old).header.fingerprint == WHOLE_FILE_FINGERPRINT
    hint = r"made with the shipped model 'unet-whole' \(load_model\('unet-whole'\), CLI "
    with pytest.raises(ValueError, match=hint + r"--model unet-whole\)$"):
        decompress(old, backend="numpy")
