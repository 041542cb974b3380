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
import threading
import warnings
from typing import Any, NamedTuple

import numpy as np

from rdptheory._limits import DEFAULT_MAX_PIXELS

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
    if not np.isfinite(x).all():  # NaN/inf would cast to arbitrary bytes: never write that
        raise ValueError(f"x holds {int(np.size(x) - np.isfinite(x).sum())} non-finite values "
                         "(NaN or inf); the decoder diverged: try a smaller rho")
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


_PIL_LOCK = threading.Lock()


def _open_checked(path: pathlib.Path, max_pixels: int) -> Any:
    """``Image.open`` (lazy: header only) with our pixel limit in place of Pillow's bomb check."""
    from PIL import Image

    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # the size is checked just below, from the header
        try:
            im = Image.open(path)
        except Image.DecompressionBombError as exc:  # a plugin that checks on its own
            raise ValueError(f"image {path} exceeds the pixel limit of {max_pixels} pixels "
                             f"({exc}); pass a larger --max-pixels / max_pixels only if "
                             "the machine has the memory") from None
        finally:
            Image.MAX_IMAGE_PIXELS = old
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ValueError(f"image {path} is {w}x{h} = {w * h} pixels, above the pixel limit of "
                         f"{max_pixels}; crop or downscale it, or pass a larger --max-pixels / "
                         "max_pixels if the machine has the memory")
    return im


def _scale_to_8bit(a: np.ndarray, full_scale: int) -> np.ndarray:
    """Integers in ``[0, full_scale]`` → uint8, ``round(255 v / full_scale)`` (half up)."""
    a = a.astype(np.int64)
    return ((a * 255 + full_scale // 2) // full_scale).astype(np.uint8)


def _cmyk_to_rgb(a: np.ndarray) -> np.ndarray:
    """Uncalibrated CMYK → RGB, ``R = round((255 − C)(255 − K) / 255)`` and likewise G, B."""
    a = a.astype(np.int64)
    k = 255 - a[..., 3:4]
    return ((((255 - a[..., :3]) * k) + 127) // 255).astype(np.uint8)


def _pixels(im: Any, path: pathlib.Path) -> np.ndarray:
    """Decode an opened PIL image to uint8 ``(H, W, 3)`` by the rules of :func:`load_image`."""
    mode = im.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode.startswith("I;16"):
        return _rgb(_scale_to_8bit(np.asarray(im), 65535))
    if mode == "I":
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"image {path} is 32-bit integer with values in "
                             f"[{int(a.min())}, {int(a.max())}], outside the 16-bit range "
                             "[0, 65535]; convert it to an 8- or 16-bit image first")
        return _rgb(_scale_to_8bit(a, 65535))
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"image {path} is floating point with NaN or inf values; "
                             "convert it to an 8-bit image first")
        return _rgb(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if mode == "1":
        return _rgb(np.asarray(im.convert("L")))
    if mode == "CMYK":
        return _cmyk_to_rgb(np.asarray(im))
    if mode in ("RGBA", "LA", "RGBa", "La"):
        warnings.warn(f"image {path} has an alpha channel; it is dropped (the codec codes the "
                      "colour channels only)", UserWarning, stacklevel=3)
        im = im.convert("RGBA" if mode.startswith("RGB") else "LA")
        a = np.asarray(im)
        return _rgb(a[..., :3] if mode.startswith("RGB") else a[..., 0])
    if mode == "L":
        return _rgb(np.asarray(im))
    if mode == "RGB":
        return _rgb(np.asarray(im))
    try:
        return _rgb(np.asarray(im.convert("RGB")))
    except (ValueError, OSError) as exc:
        raise ValueError(f"image {path} has the unsupported mode {mode!r} ({exc}); convert it "
                         "to RGB first") from None


def load_image(path: str | pathlib.Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> NamedImage:
    """Read a PNG/JPEG (any PIL-readable file) as 8-bit RGB, refusing images over ``max_pixels``.

    The size is checked from the file header, before any pixel is decoded, so a small file
    declaring a huge image (a decompression bomb) costs neither memory nor time.

    Conversions (``v`` a pixel value):

    * 16-bit greyscale (Pillow modes ``I;16``, ``I;16B``, ``I;16L``, and ``I`` with values in
      ``[0, 65535]``): ``round(255 v / 65535)``, replicated to three channels;
    * ``F`` (32-bit float, Pillow's 0–255 scale as made by ``convert("F")``):
      ``clip(round(v), 0, 255)``; NaN or inf is refused;
    * ``L`` and ``1`` (bilevel, 0/255): replicated to three channels;
    * ``P`` (palette): looked up in the palette;
    * ``RGBA``, ``LA``, palette with transparency: the alpha channel is dropped with a
      ``UserWarning`` (the colour under transparent pixels is kept as stored);
    * ``CMYK``: uncalibrated, ``R = round((255 − C)(255 − K)/255)`` and likewise G, B;
    * anything else Pillow can convert (``YCbCr``, ``HSV``): Pillow's ``convert("RGB")``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        when ``path`` is missing or a directory.
    ValueError
        when the file is not a readable image, is truncated, or exceeds ``max_pixels``.
    """
    from PIL import UnidentifiedImageError

    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or \
            max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}")
    path = pathlib.Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {path}")
    try:
        im = _open_checked(path, int(max_pixels))
    except UnidentifiedImageError:
        size = path.stat().st_size
        what = "is empty" if size == 0 else "is not an image Pillow can read"
        raise ValueError(f"{path} {what}; give a PNG, JPEG, BMP or TIFF file") from None
    try:
        with im:
            return NamedImage(path.stem, _pixels(im, path))
    except (OSError, SyntaxError, EOFError) as exc:  # truncated or corrupt pixel data
        raise ValueError(f"{path} is truncated or corrupt ({exc}); check the file") from None


def load_folder(directory: str | pathlib.Path, *,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> list[NamedImage]:
    """Every PNG/JPEG/BMP/TIFF in ``directory`` (e.g. Kodak, DIV2K), sorted by file name.

    Each file goes through :func:`load_image` (same conversions, same ``max_pixels`` limit).
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no image directory at {directory}")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"directory {directory} holds no {'/'.join(_IMAGE_SUFFIXES)} files")
    return [load_image(p, max_pixels=max_pixels) for p in files]


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
