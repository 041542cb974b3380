"""Diffusers models behind the image-model interface, loaded offline from local directories.

- :class:`PixelDiffusionModel`: a ``UNet2DModel`` with a DDPM/DDIM scheduler (ε-, v- or
  x₀-prediction), or with EDM preconditioning [KAAL22] described by
  ``rdptheory_preconditioning.json`` next to the weights (the shipped model,
  :mod:`rdptheory.models`); the code space is the image in ``[-1, 1]``.
- :class:`LatentDiffusionModel`: Stable-Diffusion layout (``vae/`` = ``AutoencoderKL``,
  ``unet/`` = ``UNet2DConditionModel``, ``scheduler/``), conditioned on the empty prompt; the
  code space is ``scaling_factor · E[latent]`` of the VAE encoder.

The network's prediction at a VP state ``z = √ᾱ·y`` becomes ``x̂₀`` through
:func:`rdptheory.diffusion.scores.x0_from_prediction` (THEORY.md §4). A noise level between the
scheduler's discrete ones is served by the fractional timestep that interpolates
``log(ᾱ/(1 − ᾱ))`` of the training table linearly (time embeddings accept real timesteps).

The empty-prompt embedding of a latent model is read from ``empty_prompt_embeds.npy`` in the
model directory (shape ``(1, tokens, cross_attention_dim)``; compute it once with the model's own
text encoder). Nothing is ever downloaded: a hub id without local files fails at once.

Determinism (the encoder and the decoder must compute identical model outputs): every network
call runs under :func:`~rdptheory.models._torch_common.fixed_torch_threads`: no grad,
``torch.use_deterministic_algorithms(True)``, float32 on the CPU, one intra-op thread for
every op except an allow-list of kernels whose results do not depend on the thread count
(3×3 convolutions that torch sends to oneDNN, ``group_norm``, nearest ``interpolate``, the
flash-attention kernel of ``scaled_dot_product_attention`` without mask or dropout), which
use :func:`~rdptheory.models._torch_common.model_threads` threads (the caller's torch thread
count by default, ``RDPTHEORY_MODEL_THREADS`` to set it). GEMM (linear layers, the attention
projections, attention written with ``bmm``/``baddbmm``), 1×1 convolutions and element-wise
ops stay on one thread, so a user's model with attention is
covered too. On one machine and one torch build the outputs are bitwise identical for any
thread count (tested for 1, 2 and 3 threads, the shipped UNet and random models with
attention) and whatever thread settings the calling processes use. Across CPUs or torch
builds the float32 kernels (oneDNN/MKL paths chosen per instruction set) may round
differently; bitwise equality is not promised there.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from rdptheory.diffusion.scores import x0_from_prediction
from rdptheory.models._torch_common import (
    EMPTY_PROMPT_FILE,
    concurrent_calls,
    fixed_torch_threads,
    local_dir,
    module_fingerprint,
    pad_to_multiple,
)
from rdptheory.models.protocol import (
    denoiser_score,
    network_input,
)

_PREDICTIONS = {"epsilon": "eps", "v_prediction": "v", "sample": "x0"}
#: How :class:`PixelDiffusionModel` builds its ``UNet2DModel`` (see there).
IMPLEMENTATIONS = ("diffusers", "torch")


def _load_unet(directory: pathlib.Path, implementation: str) -> Any:
    """The ``UNet2DModel`` of a folder (eval mode), by diffusers or by the torch-only copy."""
    if implementation == "torch":
        from rdptheory.models.unet2d_torch import load_unet2d

        return load_unet2d(directory)
    from diffusers import UNet2DModel

    return UNet2DModel.from_pretrained(directory, local_files_only=True,
                                       low_cpu_mem_usage=False).eval()


def _load_scheduler(directory: pathlib.Path) -> Any:
    from diffusers import DDPMScheduler

    sub = "scheduler" if (directory / "scheduler").is_dir() else None
    return DDPMScheduler.from_pretrained(directory, subfolder=sub, local_files_only=True)


class _DiffusersBase:
    """Shared timestep mapping and ε/v/x₀ → x̂₀ conversion."""

    def _init_schedule(self, scheduler: Any) -> None:
        pred = scheduler.config.prediction_type
        if pred not in _PREDICTIONS:
            raise ValueError(f"prediction_type must be one of {tuple(_PREDICTIONS)}, got {pred}")
        self.parameterization = _PREDICTIONS[pred]
        ab = scheduler.alphas_cumprod.double().numpy()
        self._log_snr = np.log(ab / (1.0 - ab))  # decreasing in the timestep

    def timestep(self, noise_var: np.ndarray) -> np.ndarray:
        """Fractional training timestep with ᾱ = 1/(1 + t²) (log-SNR interpolation, clamped)."""
        log_snr = -np.log(np.maximum(noise_var, 1e-20))
        steps = np.arange(self._log_snr.size, dtype=np.float64)
        return np.interp(-log_snr, -self._log_snr, steps)

    def _predict(self, z: Any, t: Any) -> Any:
        raise NotImplementedError

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """Network estimate of ``E[X | X + tN = y]`` in code space, ``y`` (B, C, H, W)."""

        arr, t2, back = network_input(y, noise_var, "a diffusers model")
        return back(self._x0(arr, t2))

    def _x0(self, arr: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """``x̂₀`` (float64 numpy) under :func:`fixed_torch_threads`."""
        with fixed_torch_threads():
            return self._x0_torch(arr, t2)

    def _x0_torch(self, arr: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """``x̂₀`` from the VP prediction at ``z = y/√(1 + t²)``, in the caller's torch settings."""
        import torch

        v = t2[:, None, None, None]
        z = arr / np.sqrt(1.0 + v)
        pred = self._predict(torch.from_numpy(z).float(),
                             torch.from_numpy(self.timestep(t2)).float()).double().numpy()
        return x0_from_prediction(z, pred, v, cast(Any, self.parameterization), "vp")

    def score(self, y: Any, noise_var: Any) -> Any:
        """``(x̂₀ − y)/t²`` (THEORY.md §4; :func:`~rdptheory.models.protocol.denoiser_score`)."""
        return denoiser_score(self, y, noise_var)


class PixelDiffusionModel(_DiffusersBase):
    """A pixel-space ``UNet2DModel`` + DDPM/DDIM scheduler from a local directory.

    ``directory`` is a saved ``DDPMPipeline``/``DDIMPipeline`` (``unet/``, ``scheduler/``) or a
    bare UNet directory holding ``config.json``, the weights and ``scheduler_config.json``.
    A directory (or its ``unet/``) holding ``rdptheory_preconditioning.json`` is an EDM
    model instead (no scheduler): ``denoise`` is ``D_θ(y; t)`` of
    :mod:`rdptheory.models.unet` [KAAL22], evaluated directly in VE coordinates.
    ``name`` overrides the label (default ``diffusers-pixel:<folder name>``).
    ``implementation``: ``"diffusers"`` (default) builds the network with diffusers'
    ``UNet2DModel.from_pretrained``; ``"torch"`` with
    :func:`rdptheory.models.unet2d_torch.load_unet2d`, the same forward pass in plain torch
    (bitwise the same outputs and fingerprint, tested) without importing diffusers, ~4 s of
    CPU less start-up; it supports the plain configs only (``ValueError`` otherwise; the
    shipped model uses it) and still needs diffusers for a scheduler (non-EDM) model.
    """

    def __init__(self, directory: str | pathlib.Path, name: str | None = None,
                 implementation: str = "diffusers") -> None:
        from rdptheory.models.unet import edm_denoiser, load_preconditioning

        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got "
                             f"{implementation!r}")
        d = local_dir(directory)
        sub = "unet" if (d / "unet").is_dir() else None
        self.unet = _load_unet(d / sub if sub else d, implementation)
        pre = load_preconditioning(d / sub if sub else d)
        self.preconditioning = pre
        if pre is None:
            self._init_schedule(_load_scheduler(d))
            extra = self._log_snr.tobytes()
        else:
            self.parameterization = "edm"
            self._edm = edm_denoiser(self.unet, pre).eval()
            extra = json.dumps(pre.to_json(), sort_keys=True).encode()
        self.channels = int(self.unet.config.in_channels)
        self.factor = 2 ** (len(self.unet.config.block_out_channels) - 1)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        self.name = name or f"diffusers-pixel:{d.name}"
        self._fp = module_fingerprint(self.unet, extra=extra)

    def _x0_torch(self, arr: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """``x̂₀``: the EDM denoiser at ``σ = t`` or, for a scheduler model, the VP path."""
        if self.preconditioning is None:
            return super()._x0_torch(arr, t2)
        import torch

        return self._edm(torch.from_numpy(arr).float(),
                         torch.from_numpy(np.sqrt(t2)).float()).double().numpy()

    def denoise_batches(self, batches: Sequence[tuple[Any, Any]]) -> list[Any]:
        """``[denoise(y, noise_var) for y, noise_var in batches]`` with the batches run
        concurrently on :func:`~rdptheory.models._torch_common.model_threads` worker threads,
        each op on one thread (:func:`~rdptheory.models._torch_common.concurrent_calls`): the
        same bits as one by one, for any thread count. Used by
        :class:`rdptheory.models.tiled.TiledModel` for its windows."""
        items = [network_input(y, nv, "a diffusers model") for y, nv in batches]
        outs = concurrent_calls(lambda item: self._x0_torch(item[0], item[1]), items)
        return [back(out) for (_, _, back), out in zip(items, outs)]

    def _predict(self, z: Any, t: Any) -> Any:
        return self.unet(z, t).sample

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """The image in ``[-1, 1]``, reflect-padded to a multiple of the UNet's downsampling."""
        return pad_to_multiple(np.asarray(x, dtype=np.float64), self.factor)

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """Identity (padded size; the codec crops)."""
        return np.asarray(z, dtype=np.float64)

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(channels, ⌈H/f⌉·f, ⌈W/f⌉·f)`` for the UNet's downsampling factor ``f``."""
        f = self.factor
        return (self.channels, -(-int(height) // f) * f, -(-int(width) // f) * f)

    def fingerprint(self) -> bytes:
        """SHA-256 of the UNet (config and weights) and the scheduler's ᾱ table (or the EDM
        preconditioning record)."""
        return self._fp


class LatentDiffusionModel(_DiffusersBase):
    """Stable-Diffusion-style latent model (``vae/``, ``unet/``, ``scheduler/``), empty prompt.

    Images are reflect-padded to a multiple of the VAE's downsampling factor before encoding;
    the codec crops the decoded image back to its size.
    """

    def __init__(self, directory: str | pathlib.Path) -> None:
        from diffusers import AutoencoderKL, UNet2DConditionModel

        d = local_dir(directory)
        self.vae = AutoencoderKL.from_pretrained(d, subfolder="vae", local_files_only=True,
                                                 low_cpu_mem_usage=False).eval()
        self.unet = UNet2DConditionModel.from_pretrained(d, subfolder="unet",
                                                         local_files_only=True,
                                                         low_cpu_mem_usage=False).eval()
        self._init_schedule(_load_scheduler(d))
        self.prompt_embeds = _empty_prompt(d, int(self.unet.config.cross_attention_dim))
        self.factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.scaling = float(self.vae.config.scaling_factor)
        self.name = f"diffusers-latent:{d.name}"
        self._fp = module_fingerprint(self.vae, self.unet, extra=self._log_snr.tobytes()
                                       + self.prompt_embeds.numpy().tobytes())

    def _predict(self, z: Any, t: Any) -> Any:
        cond = self.prompt_embeds.expand(z.shape[0], -1, -1)
        return self.unet(z, t, encoder_hidden_states=cond).sample

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """``scaling_factor · E[latent | x]`` of the VAE (deterministic), (B, C', H/f, W/f)."""
        import torch

        x = pad_to_multiple(np.asarray(x, dtype=np.float64), self.factor)
        with fixed_torch_threads():
            lat = self.vae.encode(torch.from_numpy(x).float()).latent_dist.mean
        return lat.double().numpy() * self.scaling

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """VAE decoder image in ``[-1, 1]`` (padded size; the codec crops)."""
        import torch

        with fixed_torch_threads():
            x = self.vae.decode(torch.from_numpy(np.asarray(z) / self.scaling).float()).sample
        return x.double().numpy()

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(latent_channels, ⌈H/f⌉, ⌈W/f⌉)`` for the VAE factor ``f``."""
        c = int(self.vae.config.latent_channels)
        return (c, -(-int(height) // self.factor), -(-int(width) // self.factor))

    def fingerprint(self) -> bytes:
        """SHA-256 of VAE and UNet (configs, weights), ᾱ table and prompt embedding."""
        return self._fp


def _empty_prompt(directory: pathlib.Path, dim: int) -> Any:
    import torch

    f = directory / EMPTY_PROMPT_FILE
    if not f.is_file():
        raise FileNotFoundError(
            f"{directory} has no {EMPTY_PROMPT_FILE}: save the empty-prompt text embedding "
            "(text_encoder(tokenizer('')) last hidden state, shape (1, tokens, "
            f"{dim})) there with numpy.save")
    e = np.load(f)
    if e.ndim != 3 or e.shape[0] != 1 or e.shape[2] != dim:
        raise ValueError(f"{f} must have shape (1, tokens, {dim}), got {e.shape}")
    return torch.from_numpy(e).float()


def load_diffusers_model(directory: str | pathlib.Path) -> PixelDiffusionModel | \
        LatentDiffusionModel:
    """A latent model if ``directory`` has ``vae/``, else a pixel model."""
    d = local_dir(directory)
    return LatentDiffusionModel(d) if (d / "vae").is_dir() else PixelDiffusionModel(d)
