"""models.tiled: window placement, the Hann taper, and the tiled denoiser against independent
computations with analytic stand-in models (no torch)."""

import hashlib
import math

import numpy as np
import pytest

from rdptheory.models.protocol import PixelSpaceModel
from rdptheory.models.tiled import TiledModel, taper, tile_starts


class Shrink(PixelSpaceModel):
    """Pointwise Gaussian posterior mean ``y λ/(λ + t²)``: tiling must not change it."""

    name = "shrink"
    channels = 3

    def __init__(self, lam=0.3):
        self.lam, self.calls = lam, []

    def denoise(self, y, noise_var):
        t2 = np.broadcast_to(np.asarray(noise_var, dtype=np.float64).reshape(-1), (len(y),))
        self.calls.append(y.shape)
        return y * (self.lam / (self.lam + t2))[:, None, None, None]

    def fingerprint(self):
        return hashlib.sha256(b"shrink").digest()


class WindowMean(Shrink):
    """Replaces every pixel by its window's per-channel mean plus t² (depends on the window)."""

    name = "mean"

    def denoise(self, y, noise_var):
        t2 = np.broadcast_to(np.asarray(noise_var, dtype=np.float64).reshape(-1), (len(y),))
        self.calls.append(y.shape)
        return np.broadcast_to(y.mean(axis=(2, 3), keepdims=True)
                               + t2[:, None, None, None], y.shape).copy()

    def fingerprint(self):
        return hashlib.sha256(b"mean").digest()


@pytest.mark.parametrize("length, window, stride, want", [
    (64, 64, 48, (0,)), (40, 64, 48, (0,)), (65, 64, 48, (0, 1)), (112, 64, 48, (0, 48)),
    (128, 64, 48, (0, 32, 64)), (256, 64, 48, (0, 48, 96, 144, 192)),
    (256, 64, 64, (0, 64, 128, 192)), (100, 10, 1, tuple(range(91))),
])
def test_tile_starts_closed_forms(length, window, stride, want):
    assert tile_starts(length, window, stride) == want


@pytest.mark.parametrize("length", [97, 130, 257, 511, 1000])
@pytest.mark.parametrize("window, stride", [(64, 48), (64, 32), (48, 48), (96, 40)])
def test_tile_starts_cover_the_axis_with_gaps_at_most_the_stride(length, window, stride):
    s = tile_starts(length, window, stride)
    assert s[0] == 0 and s[-1] == length - window
    assert len(s) == math.ceil((length - window) / stride) + 1  # the fewest that can cover
    assert all(0 < b - a <= stride for a, b in zip(s, s[1:]))


@pytest.mark.parametrize("args, match", [
    ((0, 64, 48), "^length must be a positive integer, got 0$"),
    ((64, 0, 1), "^window must be a positive integer"),
    ((64, 64, 0), "^stride must be a positive integer"),
    ((64, 32, 48), r"stride \(48\) must not exceed the window \(32\): the windows would leave "
                   "gaps$"),
    ((64.0, 64, 48), "^length must"), ((64, True, 1), "^window must"),
])
def test_tile_starts_validates(args, match):
    with pytest.raises(ValueError, match=match):
        tile_starts(*args)


def test_taper_is_the_hann_window_without_its_zeros():
    w = taper(64)
    i = np.arange(64)
    assert np.allclose(w, np.sin(np.pi * (i + 1) / 65) ** 2, rtol=0, atol=1e-15)
    assert w.min() > 0 and np.allclose(w, w[::-1], rtol=0, atol=1e-15)
    assert taper(1).tolist() == [1.0] and taper(2).tolist() == pytest.approx([0.75, 0.75])
    for bad in (0, True, 2.0):
        with pytest.raises(ValueError, match="^window must be a positive integer"):
            taper(bad)


def test_a_pointwise_model_is_unchanged_by_tiling():
    inner = Shrink()
    y = np.random.default_rng(0).normal(size=(2, 3, 100, 130))
    t2 = np.array([0.04, 0.5])
    out = TiledModel(inner, 64, 48).denoise(y, t2)
    assert np.allclose(out, inner.denoise(y, t2), rtol=0, atol=1e-14)


def test_tiled_denoiser_matches_the_weighted_window_average_computed_by_hand():
    inner = WindowMean()
    model = TiledModel(inner, 32, 24)
    y = np.random.default_rng(1).normal(size=(2, 3, 40, 75))
    t2 = np.array([0.1, 0.7])
    out = model.denoise(y, t2)
    rows, cols = (0, 8), (0, 21, 43)  # ceil(8/24)+1 = 2 and ceil(43/24)+1 = 3, evenly spaced
    assert model.windows(40, 75) == (rows, cols)
    hann = np.sin(np.pi * np.arange(1, 33) / 33) ** 2
    want = np.zeros_like(y)
    for b in range(2):
        for p in range(40):
            for q in range(75):
                num = np.zeros(3)
                den = 0.0
                for r in rows:
                    for c in cols:
                        if r <= p < r + 32 and c <= q < c + 32:
                            w = hann[p - r] * hann[q - c]
                            num += w * (y[b, :, r:r + 32, c:c + 32].mean(axis=(1, 2)) + t2[b])
                            den += w
                want[b, :, p, q] = num / den
    assert np.allclose(out, want, rtol=0, atol=1e-12)


def test_an_image_within_one_window_is_the_model_itself_bit_for_bit():
    inner = WindowMean()
    y = np.random.default_rng(2).normal(size=(1, 3, 48, 64))
    assert TiledModel(inner, 64, 48).denoise(y, 0.3).tobytes() == inner.denoise(y, 0.3).tobytes()
    # one axis within the window, the other tiled: windows span the whole short axis
    inner.calls.clear()
    TiledModel(inner, 64, 48).denoise(np.zeros((1, 3, 48, 112)), 0.3)
    assert inner.calls == [(2, 3, 48, 64)]


def test_windows_are_batched_by_max_batch_with_the_same_result():
    y = np.random.default_rng(3).normal(size=(2, 3, 130, 130))  # 3 x 3 windows per image
    one = WindowMean()
    split = WindowMean()
    a = TiledModel(one, 64, 48, max_batch=18).denoise(y, [0.2, 0.3])
    b = TiledModel(split, 64, 48, max_batch=4).denoise(y, [0.2, 0.3])
    assert one.calls == [(18, 3, 64, 64)]
    assert split.calls == [(4, 3, 64, 64)] * 4 + [(2, 3, 64, 64)]
    assert a.tobytes() == b.tobytes()


def test_score_is_tweedie_of_the_tiled_denoiser():
    model = TiledModel(WindowMean(), 16, 8)
    y = np.random.default_rng(4).normal(size=(1, 3, 30, 20))
    assert np.allclose(model.score(y, 0.25), (model.denoise(y, 0.25) - y) / 0.25,
                       rtol=0, atol=1e-12)


def test_torch_input_comes_back_as_torch():
    torch = pytest.importorskip("torch")
    model = TiledModel(Shrink(), 16, 8)
    y = torch.randn(1, 3, 24, 24, dtype=torch.float32)
    out = model.denoise(y, 0.5)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert torch.allclose(out, y * (0.3 / 0.8), atol=1e-6)


def test_fingerprint_names_the_model_window_stride_and_batch():
    inner = Shrink()
    fp = TiledModel(inner, 64, 48).fingerprint()
    assert len(fp) == 32 and fp == TiledModel(Shrink(), 64, 48, max_batch=4).fingerprint()
    want = hashlib.sha256(b"TiledModel/1" + inner.fingerprint()
                          + np.array([64, 48, 4], "<i8").tobytes()).digest()
    assert fp == want
    others = {TiledModel(inner, 64, 32).fingerprint(), TiledModel(inner, 48, 48).fingerprint(),
              TiledModel(inner, 64, 48, max_batch=3).fingerprint(),
              TiledModel(WindowMean(), 64, 48).fingerprint(), inner.fingerprint()}
    assert fp not in others and len(others) == 5


def test_code_space_is_the_wrapped_models():
    model = TiledModel(Shrink(), 64, 48, name="t")
    assert model.name == "t" and TiledModel(Shrink()).name == "shrink-tiled64s48"
    assert model.code_shape(30, 50) == (3, 30, 50)
    x = np.random.default_rng(6).normal(size=(1, 3, 4, 4))
    assert np.array_equal(model.to_code_space(x), x)
    assert np.array_equal(model.from_code_space(x), x)


@pytest.mark.parametrize("kwargs, err, match", [
    ({"model": object()}, TypeError, "^model must be an ImageModel, got object$"),
    ({"window": 0}, ValueError, "^window must"),
    ({"stride": 65}, ValueError, "must not exceed"),
    ({"max_batch": 0}, ValueError, "^max_batch must be a positive integer, got 0$"),
    ({"max_batch": True}, ValueError, "^max_batch must"),
    ({"max_batch": 2.0}, ValueError, "^max_batch must"),
    ({"name": 3}, TypeError, "^name must be a string, got int$"),
])
def test_constructor_validates(kwargs, err, match):
    args = {"model": Shrink(), **kwargs}
    with pytest.raises(err, match=match):
        TiledModel(**args)


def test_smallest_settings_are_accepted():
    inner = WindowMean()
    y = np.random.default_rng(7).normal(size=(1, 3, 3, 2))
    model = TiledModel(inner, 1, 1, max_batch=1)  # every pixel its own window
    assert model.windows(3, 2) == ((0, 1, 2), (0, 1))
    assert np.allclose(model.denoise(y, 0.5), y + 0.5, rtol=0, atol=1e-15)
    assert inner.calls == [(1, 3, 1, 1)] * 6


def test_denoise_validates_shapes():
    model = TiledModel(Shrink(), 16, 8)
    with pytest.raises(ValueError, match="B, C, H, W"):
        model.denoise(np.zeros((3, 8, 8)), 0.1)
    with pytest.raises(ValueError, match="noise_var"):
        model.denoise(np.zeros((2, 3, 8, 8)), [0.1, 0.2, 0.3])
