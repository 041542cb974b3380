"""Training photographs of the shipped model, their held-out strips, and seeded crop batches.

Training set: scikit-image's astronaut, coffee, chelsea, rocket and stereo_motorcycle (left
view), matplotlib's ``grace_hopper.jpg``, and every image in an extra folder (by default
``../shared/data/train`` beside the repository: two DIV2K photographs). The right
:data:`HOLDOUT_FRACTION` of every photograph is never trained on: it is the validation set.
scikit-learn's china and flower (and every other evaluation image) are never used here.

Batches are a pure function of ``(seed, step)`` (NumPy ``SeedSequence([seed, step])``), so a
resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import pathlib
from typing import NamedTuple

import numpy as np

from rdptheory.data import NamedImage, bundled_image, load_folder, to_model_space

#: Fraction of each photograph's width (the right strip) held out for validation.
HOLDOUT_FRACTION = 0.15
#: scikit-image photographs used for training (names of :func:`bundled_image`).
SKIMAGE_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")


def default_extra_dir() -> pathlib.Path | None:
    """``../shared/data/train`` beside the repository, when it exists."""
    root = pathlib.Path(__file__).resolve().parents[2]
    d = root.parent / "shared" / "data" / "train"
    return d if d.is_dir() else None


def grace_hopper() -> NamedImage:
    """matplotlib's sample photograph ``grace_hopper.jpg`` as 8-bit RGB."""
    import matplotlib.cbook
    from PIL import Image

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(path) as im:
        return NamedImage("grace_hopper", np.asarray(im.convert("RGB"), dtype=np.uint8))


def training_photographs(extra_dir: str | pathlib.Path | None = None) -> list[NamedImage]:
    """The training photographs (whole; split them with :func:`split_holdout`).

    ``extra_dir``: a folder of further images (default :func:`default_extra_dir`, skipped
    when absent); pass ``""`` to use none.
    """
    images = [bundled_image(n) for n in SKIMAGE_PHOTOS] + [grace_hopper()]
    if extra_dir is None:
        extra_dir = default_extra_dir()
    if extra_dir:
        images += load_folder(extra_dir)
    return images


class Split(NamedTuple):
    """One photograph in model space (float32 ``(3, H, W)``): training part and held-out strip."""

    name: str
    train: np.ndarray
    holdout: np.ndarray


def split_holdout(image: NamedImage, fraction: float = HOLDOUT_FRACTION) -> Split:
    """Cut the right ``fraction`` of the width off as the held-out strip."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    x = to_model_space(image.pixels).astype(np.float32)
    cut = int(round(x.shape[2] * (1.0 - fraction)))
    return Split(image.name, np.ascontiguousarray(x[:, :, :cut]),
                 np.ascontiguousarray(x[:, :, cut:]))


def _scale_probabilities(scales: tuple[int, ...], weights: tuple[float, ...],
                         part: np.ndarray, size: int) -> tuple[list[int], np.ndarray]:
    """The factors of ``scales`` whose ``(k·size)²`` crop fits ``part``, and their weights
    renormalised to sum to 1."""
    fit = [i for i, k in enumerate(scales) if part.shape[1] >= k * size
           and part.shape[2] >= k * size]
    w = np.array([weights[i] for i in fit], dtype=np.float64)
    if not fit or not w.sum() > 0:
        raise ValueError(f"a part of shape {part.shape[1:]} holds no factor of {scales} with "
                         f"positive weight at size {size}")
    return [scales[i] for i in fit], w / w.sum()


def block_mean(crop: np.ndarray, k: int) -> np.ndarray:
    """Mean over non-overlapping ``k × k`` blocks of a ``(C, k·s, k·s)`` crop: ``(C, s, s)``.

    .. math::

        y_{c,i,j} = \\frac{1}{k^2} \\sum_{a=0}^{k-1} \\sum_{b=0}^{k-1} x_{c,\\,ki+a,\\,kj+b}
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    c, h, w = crop.shape
    if h % k or w % k:
        raise ValueError(f"crop sides {h}x{w} must be multiples of k = {k}")
    if k == 1:
        return crop
    return crop.reshape(c, h // k, k, w // k, k).mean(axis=(2, 4), dtype=np.float64).astype(
        crop.dtype)


def check_scales(scales: tuple[int, ...], scale_weights: tuple[float, ...] | None,
                 ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Validated ``(scales, weights)`` of :func:`random_batch` (weights default to equal)."""
    ks = tuple(scales)
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1
                     for k in ks) or len(set(ks)) != len(ks):
        raise ValueError(f"scales must be distinct positive ints, got {scales!r}")
    ws = tuple(float(w) for w in scale_weights) if scale_weights is not None else (
        1.0,) * len(ks)
    if len(ws) != len(ks) or any(not np.isfinite(w) or w < 0 for w in ws) or not sum(ws) > 0:
        raise ValueError(f"scale_weights must be {len(ks)} finite weights >= 0 with a positive "
                         f"sum, got {scale_weights!r}")
    return tuple(int(k) for k in ks), ws


def random_batch(parts: list[np.ndarray], batch: int, size: int, seed: int,
                 step: int, *, scales: tuple[int, ...] = (1,),
                 scale_weights: tuple[float, ...] | None = None,
                 permute_colors: bool = False) -> np.ndarray:
    """``batch`` random ``size × size`` crops, flipped and rotated, for training step ``step``.

    Each crop picks a photograph uniformly, a uniform position, a horizontal flip with
    probability 1/2 and a rotation by a uniform multiple of 90°. Returns float32
    ``(batch, 3, size, size)``; a pure function of its arguments.

    Scale augmentation (``scales`` other than ``(1,)``): after the photograph, each crop picks a
    factor ``k`` among those of ``scales`` whose ``(k·size)²`` crop fits the photograph (with
    ``scale_weights``, default equal, renormalised over those), takes a uniform ``(k·size)²``
    crop and averages it over ``k × k`` blocks (:func:`block_mean`): the photograph as if shot
    at ``1/k`` of its resolution. ``permute_colors``: last, a uniform permutation of the three
    channels. With the defaults the random draws, hence the batches, are those of the plain
    crops.
    """
    if batch < 1 or size < 1:
        raise ValueError(f"batch and size must be >= 1, got {batch}, {size}")
    ks, ws = check_scales(scales, scale_weights)
    kmin = min(k for k, w in zip(ks, ws, strict=True) if w > 0)
    if not parts or any(p.ndim != 3 or p.shape[1] < kmin * size or p.shape[2] < kmin * size
                        for p in parts):
        raise ValueError(f"every part must be (C, H, W) of at least {kmin * size}x"
                         f"{kmin * size}")
    choices = [_scale_probabilities(ks, ws, p, size) for p in parts] if len(ks) > 1 else None
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(step)]))
    out = np.empty((batch, 3, size, size), dtype=np.float32)
    for i in range(batch):
        j = int(rng.integers(len(parts)))
        p = parts[j]
        k = ks[0]
        if choices is not None:
            factors, prob = choices[j]
            k = factors[int(rng.choice(len(factors), p=prob))]
        s = k * size
        r = int(rng.integers(p.shape[1] - s + 1))
        c = int(rng.integers(p.shape[2] - s + 1))
        crop = block_mean(p[:, r:r + s, c:c + s], k)
        if rng.integers(2):
            crop = crop[:, :, ::-1]
        crop = np.rot90(crop, k=int(rng.integers(4)), axes=(1, 2))
        if permute_colors:
            crop = crop[rng.permutation(3)]
        out[i] = crop
    return out


def holdout_crops(splits: list[Split], size: int = 64, per_image: int = 2) -> np.ndarray:
    """Fixed validation crops: ``per_image`` crops, evenly spaced down each held-out strip.

    The crop is ``size × size`` (``size`` capped by the strip's width), horizontally centred in
    the strip; returns float32 ``(N, 3, s, s)`` with ``s`` the smallest such side.
    """
    s = min([size] + [sp.holdout.shape[2] for sp in splits] + [sp.holdout.shape[1]
                                                              for sp in splits])
    crops = []
    for sp in splits:
        h, w = sp.holdout.shape[1:]
        c = (w - s) // 2
        for k in range(per_image):
            r = (h - s) * (k + 1) // (per_image + 1)
            crops.append(sp.holdout[:, r:r + s, c:c + s])
    return np.stack(crops).astype(np.float32)
