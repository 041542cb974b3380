"""Images for fitting and evaluation: bundled photographs, folders of PNG/JPEG, CIFAR-10.

Every loader returns :class:`NamedImage` records holding ``uint8`` arrays of shape
``(H, W, 3)``. :func:`to_model_space` maps them to the models' coordinates, float64
``(3, H, W)`` in ``[-1, 1]`` (the diffusers convention, shared by every image model here).

>>> import numpy as np
>>> u = np.array([[[0, 128, 255]]], dtype=np.uint8)
>>> to_model_space(u).ravel().round(6).tolist()
[-1.0, 0.003922, 1.0]
>>> from_model_space(to_model_space(u)).tolist() == u.tolist()
True
"""

from __future__ import annotations

import pathlib
import pickle
from typing import NamedTuple

import numpy as np

#: Colour photographs bundled with scikit-image: the prior's training set.
TRAIN_IMAGES: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")
#: Photographs bundled with scikit-learn, never used for fitting: the unseen test set.
UNSEEN_IMAGES: tuple[str, ...] = ("china", "flower")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class NamedImage(NamedTuple):
    """An 8-bit RGB image, shape ``(H, W, 3)``, with a name."""

    name: str
    pixels: np.ndarray


def to_model_space(pixels: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, 3)`` → float64 ``(3, H, W)`` in ``[-1, 1]`` (``x = u/127.5 − 1``)."""
    u = np.asarray(pixels)
    if u.ndim != 3 or u.shape[2] != 3:
        raise ValueError(f"pixels must have shape (H, W, 3), got {u.shape}")
    return u.transpose(2, 0, 1).astype(np.float64) / 127.5 - 1.0


def from_model_space(x: np.ndarray) -> np.ndarray:
    """float ``(3, H, W)`` in model space → ``uint8 (H, W, 3)`` (clipped, rounded)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (C, H, W), got {x.shape}")
    u = np.clip(np.rint((x + 1.0) * 127.5), 0, 255)
    return u.astype(np.uint8).transpose(1, 2, 0)


def _rgb(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.shape[2] == 4:
        a = a[:, :, :3]
    if a.dtype != np.uint8:
        raise ValueError(f"expected 8-bit images, got dtype {a.dtype}")
    return np.ascontiguousarray(a)


def bundled_image(name: str) -> NamedImage:
    """One bundled photograph by name (see ``TRAIN_IMAGES`` and ``UNSEEN_IMAGES``)."""
    if name in UNSEEN_IMAGES:
        from sklearn.datasets import load_sample_image

        return NamedImage(name, _rgb(load_sample_image(f"{name}.jpg")))
    if name == "motorcycle":
        import skimage.data

        return NamedImage(name, _rgb(skimage.data.stereo_motorcycle()[0]))
    if name in TRAIN_IMAGES:
        import skimage.data

        return NamedImage(name, _rgb(getattr(skimage.data, name)()))
    raise ValueError(f"name must be one of {TRAIN_IMAGES + UNSEEN_IMAGES}, got {name!r}")


def load_image(path: str | pathlib.Path) -> NamedImage:
    """Read a PNG/JPEG (any PIL-readable file) as 8-bit RGB."""
    from PIL import Image

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {path}")
    with Image.open(path) as im:
        return NamedImage(path.stem, _rgb(np.asarray(im.convert("RGB"))))


def load_folder(directory: str | pathlib.Path) -> list[NamedImage]:
    """Every PNG/JPEG/BMP/TIFF in ``directory`` (e.g. Kodak, DIV2K), sorted by file name."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no image directory at {directory}")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"directory {directory} holds no {'/'.join(_IMAGE_SUFFIXES)} files")
    return [load_image(p) for p in files]


def load_cifar10(path: str | pathlib.Path, *, limit: int | None = None) -> list[NamedImage]:
    """CIFAR-10 'python version' batch file(s): a ``data_batch_*``/``test_batch`` file or folder."""
    path = pathlib.Path(path)
    files = sorted(path.glob("*_batch*")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise FileNotFoundError(f"no CIFAR-10 batch files at {path}")
    out: list[NamedImage] = []
    for f in files:
        with open(f, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        out += [NamedImage(f"{f.name}_{i}", d.transpose(1, 2, 0)) for i, d in enumerate(data)]
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def center_crop(pixels: np.ndarray, size: int) -> np.ndarray:
    """The central ``size × size`` crop (the whole side where the image is smaller)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    h, w = pixels.shape[:2]
    top, left = max((h - size) // 2, 0), max((w - size) // 2, 0)
    return np.ascontiguousarray(pixels[top:top + size, left:left + size])
