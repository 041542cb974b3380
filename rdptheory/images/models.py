"""Image models behind one interface: the embedded patch-GMM prior (exact score) and adapters.

Every image model satisfies the TEAM.md diffusion model protocol on its *coding space* —
``denoise(y, noise_var)`` returns ``E[X | X + tN = y]`` (or the network's estimate of it) and
``score(y, noise_var) = (denoise(y) − y)/noise_var`` for ``y`` of shape ``(B, C, H, W)`` in VE
coordinates — and adds what the image codec needs:

- ``to_code_space(x)`` / ``from_code_space(z)``: image in ``[-1, 1]`` ``(B, 3, H, W)`` ↔ the
  space the diffusion runs in (identity for pixel models, the VAE for latent models);
- ``code_shape(height, width)``: the shape of that space for an image size;
- ``fingerprint()``: 32 bytes identifying configuration and weights (written into bitstreams);
- ``name``: a short label.

:class:`PatchGMMImageModel` tiles the image into non-overlapping ``p × p`` patches and treats
them as independent draws of the patch mixture; tiles cut by the image border use the exact
marginal of the mixture on their visible pixels, so the image density is exact for any size.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rdptheory._validation import check_nonnegative
from rdptheory.diffusion.scores import score_from_x0
from rdptheory.images.prior import (
    PatchGMM,
    gmm_posterior_mean,
    load_prior,
    marginal_tile_prior,
)

_BLOCK = 2048  # patches per GMM evaluation (bounds the (K, N, d) temporaries)


@runtime_checkable
class ImageModel(Protocol):
    """What the image codec needs from a model (see the module docstring)."""

    name: str

    def denoise(self, y: Any, noise_var: Any) -> Any: ...

    def score(self, y: Any, noise_var: Any) -> Any: ...

    def to_code_space(self, x: np.ndarray) -> np.ndarray: ...

    def from_code_space(self, z: np.ndarray) -> np.ndarray: ...

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]: ...

    def fingerprint(self) -> bytes: ...


def as_numpy(y: Any) -> tuple[np.ndarray, Any]:
    """``y`` as float64 numpy plus a function that converts results back to ``y``'s kind."""
    if type(y).__module__.startswith("torch"):
        import torch

        dtype, device = y.dtype, y.device
        return (y.detach().cpu().double().numpy(),
                lambda a: torch.as_tensor(a, dtype=dtype, device=device))
    return np.asarray(y, dtype=np.float64), lambda a: a


def batch_noise_var(noise_var: Any, batch: int) -> np.ndarray:
    """A scalar or per-batch noise variance as a validated ``(batch,)`` float64 array."""
    if type(noise_var).__module__.startswith("torch"):
        noise_var = noise_var.detach().cpu().double().numpy()
    t2 = check_nonnegative(noise_var, "noise_var")
    if t2.ndim > 1 or (t2.ndim == 1 and t2.shape[0] not in (1, batch)):
        raise ValueError(f"noise_var must be a scalar or have shape ({batch},), got {t2.shape}")
    return np.broadcast_to(t2.reshape(-1) if t2.ndim else t2, (batch,)).astype(np.float64)


class PixelPriorModel:
    """What every pixel-space patch-prior model shares: the code space is the image itself and
    the score is Tweedie's ``(D(y, t²) − y)/t²`` of the model's own ``denoise`` (THEORY.md §4).

    Subclasses define ``prior`` (a :class:`PatchGMM`), ``denoise`` and ``fingerprint``.
    """

    prior: PatchGMM

    def denoise(self, y: Any, noise_var: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, y: Any, noise_var: Any) -> Any:
        """Score ``∇ log p_t(y) = (D(y, t²) − y)/t²``; ``noise_var > 0``."""
        arr, back = as_numpy(y)
        t2 = batch_noise_var(noise_var, arr.shape[0] if arr.ndim else 1)
        if (t2 <= 0).any():
            raise ValueError("noise_var must be > 0 for the score")
        den, _ = as_numpy(self.denoise(arr, t2))
        return back(score_from_x0(arr, den, t2[:, None, None, None]))

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """Identity: the prior lives in pixel space ``[-1, 1]``."""
        return np.asarray(x, dtype=np.float64)

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """Identity (pixel-space model)."""
        return np.asarray(z, dtype=np.float64)

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(channels, height, width)``: the code space is the image itself."""
        return (self.prior.channels, int(height), int(width))


class PatchGMMImageModel(PixelPriorModel):
    """Exact-score image model: independent non-overlapping tiles of a patch GMM [ZW11].

    .. math::

        p(x) = \\prod_{\\text{tiles } τ} p_{\\mathrm{GMM}}(x_τ), \\qquad
        E[X \\mid y] \\text{ tile by tile (prior module formula)},

    with border tiles scored by the mixture's exact marginal (THEORY.md §4).

    Parameters
    ----------
    prior : PatchGMM, default the shipped ``data/patch_gmm.npz``.
    """

    def __init__(self, prior: PatchGMM | None = None) -> None:
        self.prior = load_prior() if prior is None else prior
        if not isinstance(self.prior, PatchGMM):
            raise TypeError(f"prior must be a PatchGMM, got {type(prior).__name__}")
        self.name = f"patch-gmm-{self.prior.patch}x{self.prior.patch}-k{self.prior.n_components}"
        self._tile_prior = functools.lru_cache(maxsize=8)(self._make_tile_prior)

    def _make_tile_prior(self, height: int, width: int) -> PatchGMM:
        p = self.prior.patch
        return self.prior if (height, width) == (p, p) else marginal_tile_prior(
            self.prior, height, width)

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """Exact posterior mean ``E[X | X + tN = y]`` of images ``y`` (B, C, H, W)."""
        arr, back = as_numpy(y)
        if arr.ndim != 4 or arr.shape[1] != self.prior.channels:
            raise ValueError(f"y must have shape (B, {self.prior.channels}, H, W), got {arr.shape}")
        t2 = batch_noise_var(noise_var, arr.shape[0])
        out = np.empty_like(arr)
        for rows, cols in _tile_regions(arr.shape[2], arr.shape[3], self.prior.patch):
            out[:, :, rows, cols] = self._denoise_region(arr[:, :, rows, cols], t2)
        return back(out)

    def _denoise_region(self, region: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """Posterior mean of a region tiled exactly by equal tiles (the region's tile size)."""
        b, c, h, w = region.shape
        p = self.prior.patch
        th, tw = min(h, p), min(w, p)
        nr, nc = h // th, w // tw
        tiles = region.reshape(b, c, nr, th, nc, tw).transpose(0, 2, 4, 1, 3, 5)
        flat = tiles.reshape(b * nr * nc, c * th * tw)
        t2_rows = np.repeat(t2, nr * nc)
        gmm = self._tile_prior(th, tw)
        den = np.concatenate([gmm_posterior_mean(gmm, flat[i:i + _BLOCK], t2_rows[i:i + _BLOCK])
                              for i in range(0, flat.shape[0], _BLOCK)])
        den = den.reshape(b, nr, nc, c, th, tw).transpose(0, 3, 1, 4, 2, 5)
        return den.reshape(b, c, h, w)

    def fingerprint(self) -> bytes:
        """SHA-256 over the model kind and the prior's parameters."""
        return hashlib.sha256(b"PatchGMMImageModel/1" + self.prior.fingerprint()).digest()


def _tile_regions(height: int, width: int, patch: int) -> list[tuple[slice, slice]]:
    """Up to four regions, each tiled by equal tiles: interior, right strip, bottom, corner."""
    hf, wf = height - height % patch, width - width % patch
    row_parts = [slice(0, hf)] * (hf > 0) + [slice(hf, height)] * (hf < height)
    col_parts = [slice(0, wf)] * (wf > 0) + [slice(wf, width)] * (wf < width)
    return [(r, c) for r in row_parts for c in col_parts]


@functools.lru_cache(maxsize=1)
def _patch_gmm_model() -> PatchGMMImageModel:
    return PatchGMMImageModel()


def default_model() -> PatchGMMImageModel:
    """The default image model: the shipped patch-GMM model (loaded once per process).

    The trained UNet (``load_model("unet")``) is not the default: see
    ``rdptheory/models/weights/MODEL_CARD.md`` for its measured figures against this prior.
    """
    return _patch_gmm_model()


def load_model(spec: str | None = None) -> ImageModel:
    """An image model from a CLI-style spec.

    ``None``: :func:`default_model`; ``"patch-gmm"`` or ``"gmm"``: the embedded patch prior;
    ``"gmm-shift"``: the same prior averaged over 16 shifted tilings (no block grid,
    :mod:`rdptheory.images.gmm_shifted`);
    ``"unet"``: the shipped trained UNet (:func:`rdptheory.models.load_default`, needs torch and
    diffusers); a ``.npz`` path: a patch prior written by
    :func:`rdptheory.images.prior.save_prior`; a directory: a diffusers model (latent if it
    has ``vae/``, else pixel; see :mod:`rdptheory.images.diffusers_models`). Anything else,
    such as a hub id, raises ``FileNotFoundError`` saying how to supply local weights.
    """
    import pathlib

    if spec is None:
        return default_model()
    if not isinstance(spec, str):
        raise TypeError(f"model must be a string spec, got {type(spec).__name__}")
    if spec in ("patch-gmm", "gmm"):
        return _patch_gmm_model()
    if spec in ("gmm-shift", "patch-gmm-shift"):  # no block grid (16 shifted tilings)
        from rdptheory.images.gmm_shifted import shifted_model

        return shifted_model()
    if spec == "unet":
        from rdptheory.models import load_default

        model: ImageModel = load_default()
        return model
    if spec.endswith(".npz") and pathlib.Path(spec).is_file():
        return PatchGMMImageModel(load_prior(spec))
    from rdptheory.images.flow_models import is_flow_directory, load_flow_model

    if is_flow_directory(spec):  # SD3/Flux layout (transformer/)
        return load_flow_model(spec)
    from rdptheory.images.diffusers_models import load_diffusers_model

    return load_diffusers_model(spec)
