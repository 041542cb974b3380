"""Classical image codecs through Pillow, measured like ours: the real encoded bytes.

Each codec maps an 8-bit RGB image and one quality setting to ``(bpp, reconstruction)``,
with ``bpp = 8·len(encoded bytes)/(H·W)`` — every byte of the file counts, headers and
tables included, as in our own rate. :func:`at_bpp` bisects the quality setting to the
highest quality whose file fits a target rate, so the baselines run on the same crops at the
same rates as our codec.

========== ==================================================== ===================
name       Pillow call                                          quality setting
========== ==================================================== ===================
jpeg       ``save(format="JPEG", quality=q, optimize=True)``    q in 1..95 (int)
webp       ``save(format="WEBP", quality=q, method=6)``         q in 0..100 (int)
avif       ``save(format="AVIF", quality=q, speed=6)``          q in 0..100 (int)
jpeg2000   ``save(format="JPEG2000", quality_mode="rates",``    q in [1, 400] (float),
           ``quality_layers=[r], irreversible=True)``           ratio r = 400 / q
========== ==================================================== ===================

JPEG uses 4:2:0 chroma subsampling (Pillow's default), WebP lossy mode, AVIF Pillow's default
(4:2:0, libavif's encoder), JPEG 2000 the 9/7 wavelet with one quality layer. AVIF and
JPEG 2000 are offered only where this Pillow was built with them (:func:`available`);
:func:`unavailable` says why a codec is missing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_positive

#: The codecs this module knows, in the order they are reported.
CODECS: tuple[str, ...] = ("jpeg", "webp", "avif", "jpeg2000")
_FEATURE = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "jpeg2000": "jpg_2000"}


@dataclass(frozen=True)
class Coded:
    """One encoded image: its codec, quality setting, file size and reconstruction."""

    codec: str
    quality: float
    n_bytes: int
    bpp: float
    reconstruction: np.ndarray


def _check_image(image: npt.ArrayLike) -> np.ndarray:
    u = np.asarray(image)
    if u.dtype != np.uint8 or u.ndim != 3 or u.shape[2] != 3:
        raise ValueError(f"image must be a uint8 array of shape (H, W, 3), got {u.dtype} "
                         f"{u.shape}")
    return np.ascontiguousarray(u)


def unavailable(codec: str) -> str | None:
    """Why ``codec`` cannot run with this Pillow, or ``None`` if it can."""
    import PIL
    from PIL import features

    if codec not in CODECS:
        raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
    if not features.check(_FEATURE[codec]):
        return (f"Pillow {PIL.__version__} was built without {codec} support "
                f"(PIL.features.check({_FEATURE[codec]!r}) is False)")
    return None


def available() -> tuple[str, ...]:
    """The codecs of :data:`CODECS` this Pillow supports."""
    return tuple(c for c in CODECS if unavailable(c) is None)


def _save_kwargs(codec: str, quality: float) -> dict:
    if codec == "jpeg":
        return {"format": "JPEG", "quality": int(quality), "optimize": True}
    if codec == "webp":
        return {"format": "WEBP", "quality": int(quality), "method": 6}
    if codec == "avif":
        return {"format": "AVIF", "quality": int(quality), "speed": 6}
    return {"format": "JPEG2000", "quality_mode": "rates", "quality_layers": [float(quality)],
            "irreversible": True}


def _quality_range(codec: str) -> tuple[float, float]:
    """Lowest and highest setting, ordered so that a higher value means a larger file."""
    return {"jpeg": (1, 95), "webp": (0, 100), "avif": (0, 100)}.get(codec, (1.0, 400.0))


def encode(image: npt.ArrayLike, codec: str, quality: float) -> Coded:
    """Encode and decode ``image`` with one codec at one quality setting (module table).

    Parameters
    ----------
    image : uint8 (H, W, 3).
    codec : one of :func:`available`.
    quality : the codec's setting (module table); for ``jpeg2000`` the *rate-raising*
        parameter is ``quality`` as well: the compression ratio is ``r = 400 / quality`` so that
        every codec's file grows with ``quality``, ``quality`` in [1, 400].

    Returns
    -------
    :class:`Coded`; ``bpp`` from the real encoded byte length.
    """
    from PIL import Image

    u = _check_image(image)
    why = unavailable(codec)
    if why is not None:
        raise ValueError(why)
    lo, hi = _quality_range(codec)
    if not lo <= quality <= hi:
        raise ValueError(f"{codec} quality must lie in [{lo:g}, {hi:g}], got {quality}")
    setting = 400.0 / quality if codec == "jpeg2000" else quality
    buf = io.BytesIO()
    Image.fromarray(u, mode="RGB").save(buf, **_save_kwargs(codec, setting))
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        rec = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if rec.shape != u.shape:
        raise RuntimeError(f"{codec} decoded shape {rec.shape}, expected {u.shape}")
    return Coded(codec, float(quality), len(data), 8.0 * len(data) / (u.shape[0] * u.shape[1]),
                 rec)


def at_bpp(image: npt.ArrayLike, codec: str, bpp: float, *, tol: float = 0.01) -> Coded:
    """The highest-quality file of ``codec`` whose rate does not exceed ``bpp``.

    Bisection over the quality setting (file size grows with quality; for the integer
    settings it is exact: the result's quality + 1 would exceed ``bpp``; for ``jpeg2000`` it
    stops when the bracket is narrower than ``tol`` in quality). If even the lowest setting
    exceeds ``bpp`` the lowest setting is returned (its ``bpp`` is above the target; the
    container's fixed headers set a floor).

    Parameters: ``image`` uint8 (H, W, 3); ``codec`` one of :func:`available`; ``bpp`` > 0.
    Returns a :class:`Coded`.
    """
    target = float(check_positive(bpp, "bpp"))
    lo, hi = _quality_range(codec)
    best = encode(image, codec, lo)
    if best.bpp > target:
        return best
    top = encode(image, codec, hi)
    if top.bpp <= target:
        return top
    integer = codec != "jpeg2000"
    while (hi - lo > 1) if integer else (hi - lo > tol):
        mid = (lo + hi) // 2 if integer else 0.5 * (lo + hi)
        c = encode(image, codec, mid)
        if c.bpp <= target:
            lo, best = mid, c
        else:
            hi = mid
    return best


def quality_sweep(image: npt.ArrayLike, codec: str, n: int = 12) -> list[Coded]:
    """``n`` settings spread over the codec's useful range (for full RD curves)."""
    lo, hi = _quality_range(codec)
    if codec == "jpeg2000":
        qs: list[float] = list(np.geomspace(2.0, 200.0, n))
    else:
        qs = sorted({int(round(q)) for q in np.linspace(lo, min(hi, 95), n)})
    return [encode(image, codec, q) for q in qs]
