"""Image models for the diffusion codec: one protocol, the patch-GMM prior, adapters, training.

- :mod:`rdptheory.models.protocol`: :class:`ImageModel` (what the image codec needs) and the
  helpers every adapter shares;
- :mod:`rdptheory.models.prior`: the embedded patch prior (:class:`PatchGMM`, a
  :class:`rdptheory.diffusion.GMMModel` with a patch geometry) and its file format;
  :mod:`rdptheory.models.fit_prior` refits it (``python -m rdptheory.models.fit_prior``);
- adapters, independent of each other: :mod:`~rdptheory.models.patch_gmm` (tiled, exact score;
  the default), :mod:`~rdptheory.models.gmm_shifted` (16 shifted tilings),
  :mod:`~rdptheory.models.diffusers_models` (local diffusers pixel/latent folders),
  :mod:`~rdptheory.models.flow_models` (SD3/Flux-style flow matching);
- the shipped trained UNet: :mod:`rdptheory.models.unet` (architecture, EDM preconditioning
  [KAAL22]), :mod:`rdptheory.models.data` (training photographs, held-out strips),
  :mod:`rdptheory.models.train` (``python -m rdptheory.models.train``),
  :mod:`rdptheory.experiments.model_measure` (its held-out figures); :func:`load_default` loads
  its weights (``weights/``, see ``weights/MODEL_CARD.md``) through the same diffusers adapter
  a user's own model uses.

:func:`load_model` picks a model from a CLI-style spec. torch and diffusers are imported only
by the adapters that need them, when they are loaded.
"""

from __future__ import annotations

import functools
import pathlib

from rdptheory.models.patch_gmm import PatchGMMImageModel
from rdptheory.models.prior import PatchGMM, load_prior, save_prior
from rdptheory.models.protocol import ImageModel

#: Label of the shipped model (``--model unet``).
DEFAULT_MODEL_NAME = "unet-s"


def default_model_path() -> pathlib.Path:
    """The folder of the shipped weights (diffusers layout plus the preconditioning JSON)."""
    return pathlib.Path(__file__).resolve().parent / "weights"


@functools.lru_cache(maxsize=1)
def load_default() -> ImageModel:
    """The shipped UNet as an image model (loaded once per process).

    Raises ``FileNotFoundError`` when the package was installed without its weights.
    """
    from rdptheory.models.diffusers_models import PixelDiffusionModel

    d = default_model_path()
    if not (d / "config.json").is_file():
        raise FileNotFoundError(f"the shipped model's weights are missing from {d}")
    return PixelDiffusionModel(d, name=DEFAULT_MODEL_NAME)


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
    :mod:`rdptheory.models.gmm_shifted`);
    ``"unet"``: the shipped trained UNet (:func:`rdptheory.models.load_default`, needs torch and
    diffusers); a ``.npz`` path: a patch prior written by
    :func:`rdptheory.models.prior.save_prior`; a directory: a diffusers model (latent if it
    has ``vae/``, else pixel; see :mod:`rdptheory.models.diffusers_models`). Anything else,
    such as a hub id, raises ``FileNotFoundError`` saying how to supply local weights.
    """
    if spec is None:
        return default_model()
    if not isinstance(spec, str):
        raise TypeError(f"model must be a string spec, got {type(spec).__name__}")
    if spec in ("patch-gmm", "gmm"):
        return _patch_gmm_model()
    if spec in ("gmm-shift", "patch-gmm-shift"):  # no block grid (16 shifted tilings)
        from rdptheory.models.gmm_shifted import shifted_model

        return shifted_model()
    if spec == "unet":
        return load_default()
    if spec.endswith(".npz") and pathlib.Path(spec).is_file():
        return PatchGMMImageModel(load_prior(spec))
    from rdptheory.models.flow_models import is_flow_directory, load_flow_model

    if is_flow_directory(spec):  # SD3/Flux layout (transformer/)
        return load_flow_model(spec)
    from rdptheory.models.diffusers_models import load_diffusers_model

    return load_diffusers_model(spec)


__all__ = [
    "DEFAULT_MODEL_NAME",
    "ImageModel",
    "PatchGMM",
    "PatchGMMImageModel",
    "default_model",
    "default_model_path",
    "load_default",
    "load_model",
    "load_prior",
    "save_prior",
]
