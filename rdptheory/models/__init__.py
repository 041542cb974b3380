"""Trained image models for the diffusion codec: the shipped pixel-space denoiser and its training.

- :mod:`rdptheory.models.unet`: the architecture ("UNet S", a diffusers ``UNet2DModel``) and
  the EDM preconditioning [KAAL22];
- :mod:`rdptheory.models.data`: the training photographs, held-out strips and seeded crops;
- :mod:`rdptheory.models.train`: ``python -m rdptheory.models.train`` (seeded, resumable);
- :func:`load_default`: the shipped weights (``weights/``, see ``weights/MODEL_CARD.md``)
  through the same diffusers adapter a user's own model uses
  (:class:`rdptheory.images.diffusers_models.PixelDiffusionModel`).

Imports torch and diffusers lazily (only :func:`load_default` needs them).
"""

from __future__ import annotations

import functools
import pathlib
from typing import Any

#: Label of the shipped model (``--model unet``).
DEFAULT_MODEL_NAME = "unet-s"


def default_model_path() -> pathlib.Path:
    """The folder of the shipped weights (diffusers layout plus the preconditioning JSON)."""
    return pathlib.Path(__file__).resolve().parent / "weights"


@functools.lru_cache(maxsize=1)
def load_default() -> Any:
    """The shipped UNet as an image model (loaded once per process).

    Raises ``FileNotFoundError`` when the package was installed without its weights.
    """
    from rdptheory.images.diffusers_models import PixelDiffusionModel

    d = default_model_path()
    if not (d / "config.json").is_file():
        raise FileNotFoundError(f"the shipped model's weights are missing from {d}")
    return PixelDiffusionModel(d, name=DEFAULT_MODEL_NAME)


__all__ = ["DEFAULT_MODEL_NAME", "default_model_path", "load_default"]
