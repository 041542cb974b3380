"""Image models for the diffusion codec: one protocol, the patch-GMM prior, adapters, training.

- :mod:`rdptheory.models.protocol`: :class:`ImageModel` (what the image codec needs) and the
  helpers every adapter shares;
- :mod:`rdptheory.models.prior`: the embedded patch prior (:class:`PatchGMM`, a
  :class:`rdptheory.diffusion.GMMModel` with a patch geometry) and its file format;
  :mod:`rdptheory.models.fit_prior` refits it (``python -m rdptheory.models.fit_prior``);
- adapters, independent of each other: :mod:`~rdptheory.models.patch_gmm` (tiled, exact score;
  the verification model), :mod:`~rdptheory.models.gmm_shifted` (16 shifted tilings),
  :mod:`~rdptheory.models.diffusers_models` (local diffusers pixel/latent folders),
  :mod:`~rdptheory.models.flow_models` (SD3/Flux-style flow matching);
- the shipped trained UNet: :mod:`rdptheory.models.unet` (architecture, EDM preconditioning
  [KAAL22]), :mod:`rdptheory.models.data` (training photographs, held-out strips),
  :mod:`rdptheory.models.train` (``python -m rdptheory.models.train``),
  :mod:`rdptheory.experiments.model_measure` (its held-out figures); :func:`load_default` loads
  its weights (``weights/``, see ``weights/MODEL_CARD.md``) through the same diffusers adapter
  a user's own model uses, with the network built by :mod:`~rdptheory.models.unet2d_torch`
  (diffusers' ``UNet2DModel`` forward in plain torch, bitwise the same outputs) so that
  loading it does not import diffusers. Evaluated on overlapping windows of its 64² training
  crop (:mod:`rdptheory.models.tiled`) it is the **default image model** (:func:`default_model`,
  :data:`DEFAULT_SPEC`) of the library, the CLI and the report, and needs the ``images`` and
  ``torch`` extras; the torch-free alternative is ``load_model("gmm-shift")`` (or the tiled
  exact-score ``load_model("patch-gmm")``, the default before issue 11).

:func:`load_model` picks a model from a CLI-style spec. torch and diffusers are imported only
by the adapters that need them, when they are loaded; :class:`ImageModel` and the patch-GMM
names (:class:`PatchGMM`, :class:`PatchGMMImageModel`, :func:`load_prior`, :func:`save_prior`)
are imported on first use, so ``import rdptheory.models`` (and the CLI that reads
:data:`DEFAULT_SPEC`) stays light.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pathlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdptheory.models.patch_gmm import PatchGMMImageModel
    from rdptheory.models.prior import PatchGMM, load_prior, save_prior
    from rdptheory.models.protocol import ImageModel

#: Label of the shipped model (the name in its fingerprint).
DEFAULT_MODEL_NAME = "unet-s"
#: The :func:`load_model` spec of the default image model (the CLI's ``--model`` default).
DEFAULT_SPEC = "unet"
#: The :func:`load_model` specs of the models shipped with the package (a decoder that meets
#: a file of another model names the one among these that made it).
SHIPPED_SPECS = ("unet", "unet-whole", "gmm-shift", "patch-gmm", "unet-shaped")
#: What to run to get the default model's dependencies.
INSTALL_HINT = "pip install 'rdptheory[images,torch]'"

#: Lazily imported names (see :func:`__getattr__`).
_LAZY = {
    "ImageModel": "rdptheory.models.protocol",
    "PatchGMMImageModel": "rdptheory.models.patch_gmm",
    "PatchGMM": "rdptheory.models.prior",
    "load_prior": "rdptheory.models.prior",
    "save_prior": "rdptheory.models.prior",
}


def __getattr__(name: str) -> Any:
    """The protocol and patch-GMM names, imported on first access (they pull in scipy, numba)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _missing_default_dependencies() -> list[str]:
    """The modules the shipped UNet needs that are not installed (empty when it can load):
    torch and safetensors (its network is built without diffusers,
    :mod:`rdptheory.models.unet2d_torch`)."""
    return [m for m in ("torch", "safetensors") if importlib.util.find_spec(m) is None]


def default_model_path() -> pathlib.Path:
    """The folder of the shipped weights (diffusers layout plus the preconditioning JSON)."""
    return pathlib.Path(__file__).resolve().parent / "weights"


def load_default() -> ImageModel:
    """The shipped UNet as an image model (loaded once per process): the network of
    :func:`shipped_network` evaluated on overlapping windows of its 64² training crop
    (:class:`rdptheory.models.tiled.TiledModel`, window 64, stride 48; 0.6–1.0 dB better
    denoising than the whole image at once on unseen 256² photographs, the same on 64²).

    Raises ``ImportError`` (naming the install command and the torch-free alternative) when
    torch or safetensors is missing, ``FileNotFoundError`` when the package was installed without
    its weights.
    """
    _check_default_dependencies()
    return _load_tiled()


def _check_default_dependencies() -> None:
    missing = _missing_default_dependencies()
    if missing:
        raise ImportError(
            f"the default image model (the shipped UNet) needs {' and '.join(missing)}: "
            f"{INSTALL_HINT}; or use the torch-free patch prior: "
            f"load_model('gmm-shift') (CLI: --model gmm-shift)")


@functools.lru_cache(maxsize=1)
def _load_tiled() -> ImageModel:
    from rdptheory.models.tiled import TiledModel

    return TiledModel(shipped_network(), name=DEFAULT_MODEL_NAME)


def shipped_network() -> ImageModel:
    """The shipped UNet evaluated on the whole image at once (spec ``"unet-whole"``; loaded
    once per process): the network inside :func:`load_default`. Files written by the default
    model before it was tiled (0.x releases up to 2026-12-07) decode with this one.

    Raises ``ImportError``/``FileNotFoundError`` as :func:`load_default`.
    """
    _check_default_dependencies()
    return _load_shipped()


@functools.lru_cache(maxsize=1)
def _load_shipped() -> ImageModel:
    from rdptheory.models.diffusers_models import PixelDiffusionModel

    d = default_model_path()
    if not (d / "config.json").is_file():
        raise FileNotFoundError(f"the shipped model's weights are missing from {d}")
    # the torch-only UNet2DModel (bitwise diffusers' outputs and fingerprint, tested): the CLI
    # and the library then never import diffusers for the default model (~4 s of CPU)
    return PixelDiffusionModel(d, name=f"{DEFAULT_MODEL_NAME}-whole", implementation="torch")


@functools.lru_cache(maxsize=1)
def _patch_gmm_model() -> PatchGMMImageModel:
    from rdptheory.models.patch_gmm import PatchGMMImageModel

    return PatchGMMImageModel()


@functools.lru_cache(maxsize=1)
def _shaped_unet() -> ImageModel:
    from rdptheory.models.shaped_unet import ShapedNet

    return ShapedNet()


def default_model() -> ImageModel:
    """The default image model: the shipped trained UNet (:func:`load_default`, loaded once).

    What :func:`rdptheory.images.compress` and :func:`rdptheory.images.decompress` use when
    ``model`` is ``None``, and what ``load_model(None)`` / ``load_model(DEFAULT_SPEC)`` return.
    Its figures against the patch prior are in ``rdptheory/models/weights/MODEL_CARD.md``.

    Raises
    ------
    ImportError
        When torch or safetensors is missing; the message names the install command
        (``pip install 'rdptheory[images,torch]'``) and the torch-free alternative,
        ``load_model("gmm-shift")`` (no block grid) or ``load_model("patch-gmm")`` (tiled,
        exact score: the default before issue 11; files it wrote decode only with it).
    FileNotFoundError
        When the package was installed without its weights.
    """
    return load_default()


def load_model(spec: str | None = None) -> ImageModel:
    """An image model from a CLI-style spec.

    ``None`` or ``"unet"`` (:data:`DEFAULT_SPEC`): :func:`default_model`, the shipped trained
    UNet on windows of its training size (needs torch); ``"unet-whole"``: the same network on
    the whole image (:func:`shipped_network`; files written by the default before
    2026-12-07); ``"patch-gmm"`` or ``"gmm"``: the embedded patch prior
    (tiled, exact score);
    ``"gmm-shift"``: a patch prior averaged over 16 shifted tilings (no block grid,
    :mod:`rdptheory.models.gmm_shifted`), with the photograph prior (K = 16, fitted on the
    UNet's training photographs); ``"gmm-shift-skimage"``: the same with the embedded prior
    (the ``gmm-shift`` of earlier releases);
    ``"unet-x8"`` / ``"unet-x4"``: the UNet averaged over the 8 dihedral transforms / the 4
    rotations; ``"unet+gmm"`` / ``"unet-x4+gmm"``: those blended per noise level with
    ``"gmm-shift"`` (:mod:`rdptheory.models.ensemble`; torch);
    ``"unet-shaped"``: the shipped shaped-noise UNet
    (:class:`rdptheory.models.shaped_unet.ShapedNet`, ``weights_shaped``; torch), which also
    codes ``noise="shaped"`` (CLI ``--noise shaped``);
    a ``.npz`` path: a patch prior written by
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
    if spec in ("gmm-shift", "patch-gmm-shift", "gmm-shift-skimage"):  # 16 shifted tilings
        from rdptheory.models.gmm_shifted import shifted_model

        return shifted_model("skimage" if spec == "gmm-shift-skimage" else "photos")
    if spec == "unet":
        return load_default()
    if spec == "unet-whole":  # the network on the whole image (files before the tiling)
        return shipped_network()
    if spec == "unet-shaped":  # the shaped-noise UNet (issue 15; torch)
        return _shaped_unet()
    if spec in ("unet-x8", "unet-x4", "unet+gmm", "unet-x4+gmm"):  # models.ensemble
        from rdptheory.models.ensemble import load_ensemble

        return load_ensemble(spec)
    if spec.endswith(".npz") and pathlib.Path(spec).is_file():
        from rdptheory.models.patch_gmm import PatchGMMImageModel
        from rdptheory.models.prior import load_prior

        return PatchGMMImageModel(load_prior(spec))
    from rdptheory.models.flow_models import is_flow_directory, load_flow_model

    if is_flow_directory(spec):  # SD3/Flux layout (transformer/)
        return load_flow_model(spec)
    from rdptheory.models.diffusers_models import load_diffusers_model

    return load_diffusers_model(spec)


__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_SPEC",
    "INSTALL_HINT",
    "SHIPPED_SPECS",
    "ImageModel",
    "PatchGMM",
    "PatchGMMImageModel",
    "default_model",
    "default_model_path",
    "load_default",
    "load_model",
    "load_prior",
    "save_prior",
    "shipped_network",
]
