"""The image-model protocol: what the image codec needs from a model, and shared helpers.

Every image model satisfies the TEAM.md diffusion model protocol on its *coding space* —
``denoise(y, noise_var)`` returns ``E[X | X + tN = y]`` (or the network's estimate of it) and
``score(y, noise_var) = (denoise(y) − y)/noise_var`` for ``y`` of shape ``(B, C, H, W)`` in VE
coordinates — and adds what the image codec needs:

- ``to_code_space(x)`` / ``from_code_space(z)``: image in ``[-1, 1]`` ``(B, 3, H, W)`` ↔ the
  space the diffusion runs in (identity for pixel models, the VAE for latent models);
- ``code_shape(height, width)``: the shape of that space for an image size;
- ``fingerprint()``: 32 bytes identifying configuration and weights (written into bitstreams);
- ``name``: a short label.

The adapters (:mod:`~rdptheory.models.patch_gmm`, :mod:`~rdptheory.models.gmm_shifted`,
:mod:`~rdptheory.models.diffusers_models`, :mod:`~rdptheory.models.flow_models`) import this
module, never each other; :func:`rdptheory.models.load_model` picks one from a CLI-style spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rdptheory._validation import check_nonnegative
from rdptheory.diffusion.scores import score_from_x0

if TYPE_CHECKING:
    from rdptheory.models.prior import PatchGMM


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


def denoiser_score(model: Any, y: Any, noise_var: Any) -> Any:
    """Tweedie's score ``(D(y, t²) − y)/t²`` of ``model.denoise`` (THEORY.md §4), in ``y``'s kind.

    ``noise_var`` (scalar or (B,)) must be > 0; every image model's ``score`` is this.
    """
    arr, back = as_numpy(y)
    t2 = batch_noise_var(noise_var, arr.shape[0] if arr.ndim else 1)
    if (t2 <= 0).any():
        raise ValueError("noise_var must be > 0 for the score")
    den, _ = as_numpy(model.denoise(arr, t2))
    return back(score_from_x0(arr, den, t2[:, None, None, None]))


def network_input(y: Any, noise_var: Any, what: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(y as float64 numpy (B, C, H, W), noise_var as (B,) > 0, back-converter)`` for a
    network adapter's ``denoise``; ``what`` names the model in the error messages."""
    arr, back = as_numpy(y)
    if arr.ndim != 4:
        raise ValueError(f"y must have shape (B, C, H, W), got {arr.shape}")
    t2 = batch_noise_var(noise_var, arr.shape[0])
    if (t2 <= 0).any():
        raise ValueError(f"noise_var must be > 0 for {what}")
    return arr, t2, back


class PixelSpaceModel:
    """What every pixel-space model shares: the code space is the image itself (``channels``
    colour planes) and the score is Tweedie's ``(D(y, t²) − y)/t²`` of the model's own
    ``denoise`` (THEORY.md §4). Subclasses define ``channels``, ``denoise`` and ``fingerprint``.
    """

    channels: int

    def denoise(self, y: Any, noise_var: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, y: Any, noise_var: Any) -> Any:
        """Score ``∇ log p_t(y) = (D(y, t²) − y)/t²``; ``noise_var > 0``."""
        return denoiser_score(self, y, noise_var)

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """Identity: the model lives in pixel space ``[-1, 1]``."""
        return np.asarray(x, dtype=np.float64)

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """Identity (pixel-space model)."""
        return np.asarray(z, dtype=np.float64)

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(channels, height, width)``: the code space is the image itself."""
        return (self.channels, int(height), int(width))


class PixelPriorModel(PixelSpaceModel):
    """What every pixel-space patch-prior model shares: the code space is the image itself and
    the score is Tweedie's ``(D(y, t²) − y)/t²`` of the model's own ``denoise`` (THEORY.md §4).

    Subclasses define ``prior`` (a :class:`PatchGMM`), ``denoise`` and ``fingerprint``.
    """

    prior: PatchGMM

    @property
    def channels(self) -> int:  # type: ignore[override]
        """Colour channels of the prior's patches."""
        return self.prior.channels
