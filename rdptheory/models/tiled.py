r"""An image model evaluated on overlapping windows of the size its network was trained on.

A convolutional denoiser trained on ``s × s`` crops is a function of the *whole* crop: zero
padding tells every layer where the border is, and the shipped UNet's 3 levels and mid-block
attention see all of a 64² crop. Run on a larger image, the interior lies farther from any
border than in any training crop, and the estimate gets worse, not better. Measured with the
shipped UNet (``benchmarks/tiled_model.py``; unseen 256² centre crops of china and flower,
denoising PSNR after rounding to 8 bits, one noise draw, seed 1234): the whole image gives
27.22 / 22.93 / 19.70 dB at t = 0.2 / 0.4 / 0.8; the same network on 64² windows with stride
48 gives 27.84 / 23.86 / 20.72 dB (+0.62 / +0.93 / +1.02; on four 128² crops +0.99 / +1.10 /
+0.87). Normalising each 64² block with its own group-norm statistics but keeping the
convolutions' context across blocks is 0.1–1.1 dB *worse* than the whole image, so the gain
comes from the window's border, not its statistics. On 64² inputs the two are the same
function (one window). End to end (``benchmarks/image_vs_classical.py``, four unseen 128²
photographs) the BD-rate against JPEG at the best ρ goes from +20.8 % to −15.2 %.

The tiled denoiser (the window average of MultiDiffusion [BYLD23], here for one denoising call):

.. math::

    D_{\text{tiled}}(y)_p = \frac{\sum_k w_k(p)\, D\big(y|_{W_k}\big)_p}{\sum_k w_k(p)},

over windows :math:`W_k` of ``window × window`` code-space pixels whose top-left corners are
evenly spaced (:func:`tile_starts`) so that consecutive windows overlap by at least
``window − stride``; :math:`w_k` is a separable Hann taper (:func:`taper`), positive everywhere
so that every pixel has a weight. The overlap matters: abutting windows (stride = window) leave
seams that raise the 8-pixel-grid blockiness of denoised 128² crops from ~0.9 to 1.1-2.1
(``benchmarks/tiled_model.py``). An image no larger than the window is one window: the model
itself, bit for bit. The score is Tweedie's ``(D − y)/t²`` of the tiled denoiser
(:func:`~rdptheory.models.protocol.denoiser_score`), as for any network.

Reference: [BYLD23] Bar-Tal, Yariv, Lipman, Dekel, MultiDiffusion: fusing diffusion paths for
controlled image generation, ICML 2023.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from rdptheory.models.protocol import ImageModel, as_numpy, batch_noise_var, denoiser_score

#: The shipped UNet's training crop (``weights/training.json``) and the default stride: 5
#: windows per side of a 256² image (1.56× its pixels; stride 32 gains ≤ 0.06 dB more at
#: ~2× the cost, ``benchmarks/tiled_model.py``).
DEFAULT_WINDOW, DEFAULT_STRIDE = 64, 48
#: Windows per network call. It bounds the activations of large images and sets how evenly the
#: calls spread over threads: a model with ``denoise_batches`` (the diffusers adapter) runs the
#: calls concurrently, one thread each. For the shipped UNet at 256² on 2 threads (25 windows):
#: 0.60 s per denoise with 4 (7 calls), 0.71 s with 8 (8 + 8 + 8 + 1 do not split evenly), 0.58 s
#: for the whole image. float32 kernels may round differently for another batch size, so it is
#: part of the fingerprint; the split depends only on the image size, so encoder and decoder make
#: the same calls.
DEFAULT_MAX_BATCH = 4


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def tile_starts(length: int, window: int, stride: int) -> tuple[int, ...]:
    """Top-left coordinates of the windows along one axis of ``length`` pixels.

    ``n = ⌈(length − window)/stride⌉ + 1`` windows, the first at 0 and the last flush with the
    end, evenly spaced in between (rounded down); one window at 0 when ``length ≤ window``.
    """
    window, stride = _positive_int(window, "window"), _positive_int(stride, "stride")
    length = _positive_int(length, "length")
    if stride > window:
        raise ValueError(f"stride ({stride}) must not exceed the window ({window}): the windows "
                         "would leave gaps")
    if length <= window:
        return (0,)
    n = math.ceil((length - window) / stride) + 1
    return tuple((i * (length - window)) // (n - 1) for i in range(n))


def taper(window: int) -> np.ndarray:
    """The separable window weight: ``hann(window + 2)`` without its two zero ends, ``(window,)``
    float64, positive, symmetric, peak at the centre."""
    return np.hanning(_positive_int(window, "window") + 2)[1:-1]


class TiledModel:
    """``model`` evaluated on overlapping ``window × window`` windows (module formula).

    Parameters
    ----------
    model : ImageModel whose ``denoise`` is to be tiled (its code space, score convention and
        code shape are kept).
    window : window side in code-space pixels (the network's training crop); the wrapped model
        must accept ``window × window`` inputs (the shipped UNet needs multiples of 4).
    stride : largest distance between neighbouring windows, ``1 ≤ stride ≤ window``.
    max_batch : windows per call of ``model.denoise`` (in the fingerprint: float32 networks
        can round differently for another batch size). When ``model`` has
        ``denoise_batches(list of (y, noise_var))`` (:class:`~rdptheory.models.diffusers_models.
        PixelDiffusionModel`), the calls go through it, concurrently; else one by one.
    name : label (default ``"{model.name}-tiled{window}s{stride}"``).
    """

    def __init__(self, model: ImageModel, window: int = DEFAULT_WINDOW,
                 stride: int = DEFAULT_STRIDE, *, max_batch: int = DEFAULT_MAX_BATCH,
                 name: str | None = None) -> None:
        if not isinstance(model, ImageModel):
            raise TypeError(f"model must be an ImageModel, got {type(model).__name__}")
        tile_starts(window, window, stride)  # validates window and stride
        _positive_int(max_batch, "max_batch")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        self.model = model
        self.window, self.stride, self.max_batch = int(window), int(stride), int(max_batch)
        self.name = name or f"{model.name}-tiled{self.window}s{self.stride}"
        self._fp = hashlib.sha256(
            b"TiledModel/1" + model.fingerprint()
            + np.asarray([self.window, self.stride, self.max_batch], dtype="<i8").tobytes()
        ).digest()

    def windows(self, height: int, width: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The window rows and columns (:func:`tile_starts`) for a ``height × width`` code."""
        return (tile_starts(height, self.window, self.stride),
                tile_starts(width, self.window, self.stride))

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """The tiled denoiser (module formula) of ``y`` ``(B, C, H, W)`` at ``noise_var``."""
        arr, back = as_numpy(y)
        if arr.ndim != 4:
            raise ValueError(f"y must have shape (B, C, H, W), got {arr.shape}")
        b, c, height, width = arr.shape
        t2 = batch_noise_var(noise_var, b)
        rows, cols = self.windows(height, width)
        if len(rows) == len(cols) == 1:  # one window: the model itself
            return back(self.model.denoise(arr, t2))
        wh, ww = min(self.window, height), min(self.window, width)
        starts = [(r, q) for r in rows for q in cols]
        tiles = np.stack([arr[:, :, r:r + wh, q:q + ww] for r, q in starts], axis=1)
        tiles = tiles.reshape(b * len(starts), c, wh, ww)  # image-major: image i's windows
        tile_t2 = np.repeat(t2, len(starts))
        batches = [(tiles[i:i + self.max_batch], tile_t2[i:i + self.max_batch])
                   for i in range(0, len(tiles), self.max_batch)]
        run = getattr(self.model, "denoise_batches", None)  # concurrent, where a model can
        outs = run(batches) if callable(run) else [self.model.denoise(*bt) for bt in batches]
        est = np.concatenate([as_numpy(o)[0] for o in outs]).reshape(b, len(starts), c, wh, ww)
        weight = np.outer(taper(wh), taper(ww))
        num = np.zeros_like(arr)
        den = np.zeros((height, width))
        for k, (r, q) in enumerate(starts):
            num[:, :, r:r + wh, q:q + ww] += weight * est[:, k]
            den[r:r + wh, q:q + ww] += weight
        return back(num / den)

    def score(self, y: Any, noise_var: Any) -> Any:
        """``(D_tiled(y, t²) − y)/t²`` (:func:`~rdptheory.models.protocol.denoiser_score`)."""
        return denoiser_score(self, y, noise_var)

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """The wrapped model's code space."""
        return self.model.to_code_space(x)

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """The wrapped model's decoder of its code space."""
        return self.model.from_code_space(z)

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """The wrapped model's code shape."""
        return self.model.code_shape(height, width)

    def fingerprint(self) -> bytes:
        """SHA-256 over ``b"TiledModel/1"``, the wrapped model's fingerprint, window, stride and
        windows per call."""
        return self._fp
