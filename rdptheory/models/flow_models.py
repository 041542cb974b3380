r"""Flow-matching latent models (Stable Diffusion 3 / Flux layout) behind the image-model interface.

A rectified-flow model [LGL23, EKB24] is trained on the straight interpolation

.. math:: x_s = (1 - s)\,x_0 + s\,ε, \qquad ε \sim N(0, I), \quad s \in [0, 1],

and predicts the velocity :math:`v_θ(x_s, s) ≈ E[ε - x_0 \mid x_s]` (diffusers'
``FlowMatchEulerDiscreteScheduler`` steps :math:`x_{s'} = x_s + (s' - s)\,v`). We need the VE
denoiser ``denoise(y, t²) = E[X | X + tN = y]`` of the codec (THEORY.md §4).

**VE mapping (our derivation).** Dividing the interpolation by :math:`1 - s`,

.. math:: y = \frac{x_s}{1 - s} = x_0 + \frac{s}{1 - s}\,ε,

so the flow state at ``s`` *is* the VE observation with noise std :math:`t = s/(1 - s)`;
conversely :math:`s = t/(1 + t)` and :math:`x_s = y/(1 + t) = (1 - s)\,y`. Since the map
:math:`x_s ↔ y` is a bijection at fixed ``s``, :math:`E[x_0 \mid y] = E[x_0 \mid x_s]`.

**Velocity → denoiser → score (our derivation).** Taking :math:`E[\,\cdot \mid x_s]` of
:math:`x_s = (1 - s)x_0 + sε` and of :math:`v = ε - x_0`:

.. math::

    x_s - s\,E[v \mid x_s] = (1 - s)\,\hat x_0 + s\,\hat ε - s\,\hat ε + s\,\hat x_0
    = \hat x_0, \qquad
    \hat x_0 = x_s - s\,\hat v, \qquad
    ∇_y \log p_t(y) = \frac{\hat x_0 - y}{t^2}

(Tweedie in VE coordinates). Check on Gaussian data :math:`x_0 \sim N(0, σ_d^2 I)`: the exact
velocity is :math:`E[v \mid x_s] = (x_s - m)/s` with
:math:`m = \frac{(1-s)σ_d^2}{(1-s)^2σ_d^2 + s^2}\,x_s`, and :math:`x_s - s\hat v = m`
:math:`= \frac{σ_d^2}{σ_d^2 + t^2}\,y`, the VE posterior mean (the test uses exactly this).

The network is conditioned on ``s`` itself: SD3's transformer takes the timestep
``s · num_train_timesteps`` (the pipeline passes ``scheduler.timesteps``), Flux's takes ``s``
(its pipeline divides by 1000). The scheduler's ``shift`` only moves the *sampling* grid
:math:`s(u)`, not what the network is conditioned on, so it plays no role here.

Code space: :math:`z = (E[\text{latent} \mid x] - \text{shift\_factor})·\text{scaling\_factor}`
of the ``AutoencoderKL`` (the diffusers convention for SD3 and Flux), padded so the latent is a
multiple of the transformer's patch size (Flux packs 2×2 latent patches into tokens).

Local layout (nothing is downloaded; a hub id fails at once with instructions)::

    DIR/transformer/   SD3Transformer2DModel or FluxTransformer2DModel (save_pretrained)
    DIR/vae/           AutoencoderKL
    DIR/scheduler/     FlowMatchEulerDiscreteScheduler (num_train_timesteps)
    DIR/empty_prompt_embeds.npy          (1, tokens, joint_attention_dim)
    DIR/empty_pooled_prompt_embeds.npy   (1, pooled_projection_dim)

The two embeddings are the model's own text encoders applied to the empty prompt (SD3: the
concatenated CLIP-L/CLIP-G/T5 ``prompt_embeds`` and ``pooled_prompt_embeds`` of
``pipe.encode_prompt("")``; Flux: the T5 ``prompt_embeds`` and the CLIP pooled output), saved
once with ``numpy.save``. Determinism follows :mod:`rdptheory.models.diffusers_models`
(float32, deterministic algorithms; GEMM and attention on one thread, only the
thread-count-independent kernels on :func:`~rdptheory.models._torch_common.model_threads`).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from rdptheory.models._torch_common import (
    EMPTY_PROMPT_FILE,
    fixed_torch_threads,
    local_dir,
    module_fingerprint,
    pad_to_multiple,
)
from rdptheory.models.protocol import (
    batch_noise_var,
    denoiser_score,
    network_input,
)

#: Pooled empty-prompt embedding file (``(1, pooled_projection_dim)``).
EMPTY_POOLED_FILE = "empty_pooled_prompt_embeds.npy"


def flow_time(noise_var: np.ndarray) -> np.ndarray:
    """Flow time ``s = t/(1 + t)`` of the VE noise variance ``t²`` (module docstring)."""
    t = np.sqrt(np.asarray(noise_var, dtype=np.float64))
    return t / (1.0 + t)


def x0_from_velocity(y: np.ndarray, velocity: np.ndarray, noise_var: np.ndarray) -> np.ndarray:
    """``x̂₀ = x_s − s·v̂`` with ``x_s = y/(1 + t)``, ``s = t/(1 + t)`` (our derivation).

    ``y`` and ``velocity`` are (B, ...) arrays, ``noise_var`` the (B,) VE variances ``t²``.
    """
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(velocity, dtype=np.float64)
    if v.shape != y.shape:
        raise ValueError(f"velocity shape {v.shape} differs from y shape {y.shape}")
    t2 = batch_noise_var(noise_var, y.shape[0])
    shape = (-1,) + (1,) * (y.ndim - 1)
    t = np.sqrt(t2).reshape(shape)
    s = t / (1.0 + t)
    return y / (1.0 + t) - s * v


def _is_flux(transformer: Any) -> bool:
    return type(transformer).__name__.startswith("Flux")


def pack_latents(z: Any) -> Any:
    """Flux tokens: (B, C, H, W) → (B, H/2·W/2, 4C), 2×2 patches row-major (diffusers layout)."""
    b, c, h, w = z.shape
    z = z.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return z.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(tokens: Any, channels: int, height: int, width: int) -> Any:
    """Inverse of :func:`pack_latents`."""
    b = tokens.shape[0]
    z = tokens.reshape(b, height // 2, width // 2, channels, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return z.reshape(b, channels, height, width)


def _flux_image_ids(height: int, width: int) -> Any:
    import torch

    ids = torch.zeros(height // 2, width // 2, 3)
    ids[..., 1] = torch.arange(height // 2)[:, None]
    ids[..., 2] = torch.arange(width // 2)[None, :]
    return ids.reshape(-1, 3)


class FlowMatchingModel:
    """A velocity-predicting transformer (+ optional VAE) as an :class:`ImageModel`.

    Parameters
    ----------
    transformer : torch module. ``FluxTransformer2DModel`` is called with packed tokens;
        anything else with the SD3 signature ``(hidden_states, encoder_hidden_states,
        pooled_projections, timestep, return_dict=False)`` returning ``(v,)``.
    vae : ``AutoencoderKL`` or None (None: the code space is the image in ``[-1, 1]``).
    prompt_embeds, pooled_embeds : arrays (1, tokens, D) and (1, P): the empty prompt.
    num_train_timesteps : the scheduler's timestep scale (SD3 is conditioned on ``1000·s``).
    guidance : Flux-dev guidance value (used only if the transformer embeds guidance).
    name : label.
    """

    def __init__(self, transformer: Any, vae: Any = None, *, prompt_embeds: Any,
                 pooled_embeds: Any, num_train_timesteps: int = 1000, guidance: float = 1.0,
                 name: str = "flow-matching") -> None:
        import torch

        if not isinstance(transformer, torch.nn.Module):
            raise TypeError(f"transformer must be a torch module, got {type(transformer)}")
        if vae is not None and not isinstance(vae, torch.nn.Module):
            raise TypeError(f"vae must be a torch module or None, got {type(vae)}")
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        if int(num_train_timesteps) < 1:
            raise ValueError(f"num_train_timesteps must be >= 1, got {num_train_timesteps}")
        if not np.isfinite(guidance):
            raise ValueError(f"guidance must be finite, got {guidance}")
        pe, pp = np.asarray(prompt_embeds, np.float32), np.asarray(pooled_embeds, np.float32)
        if pe.ndim != 3 or pe.shape[0] != 1:
            raise ValueError(f"prompt_embeds must have shape (1, tokens, D), got {pe.shape}")
        if pp.ndim != 2 or pp.shape[0] != 1:
            raise ValueError(f"pooled_embeds must have shape (1, P), got {pp.shape}")
        self.transformer: Any = transformer.eval()
        self.vae: Any = None if vae is None else vae.eval()
        self.prompt_embeds = torch.from_numpy(pe)
        self.pooled_embeds = torch.from_numpy(pp)
        self.num_train_timesteps = int(num_train_timesteps)
        self.guidance = float(guidance)
        self.name = name
        self.flux = _is_flux(transformer)
        cfg = getattr(transformer, "config", {})
        self.patch = 2 if self.flux else int(_cfg(cfg, "patch_size", 1))
        if self.flux:
            self.channels = int(_cfg(cfg, "in_channels", 4)) // 4
        else:
            self.channels = int(_cfg(cfg, "in_channels", 3))
        if vae is None:
            self.factor, self.scaling, self.shift = 1, 1.0, 0.0
        else:
            vc: Any = vae.config
            self.factor = 2 ** (len(vc.block_out_channels) - 1)
            self.scaling = float(vc.scaling_factor)
            self.shift = float(vc.shift_factor) if vc.get("shift_factor") is not None else 0.0
        extra = json.dumps({"T": self.num_train_timesteps, "g": self.guidance,
                            "scale": self.scaling, "shift": self.shift}).encode()
        self._fp = _fingerprint((transformer, vae), b"FlowMatchingModel/1" + extra
                                + pe.tobytes() + pp.tobytes())

    # ---- the network -------------------------------------------------------------------
    def velocity(self, x_s: Any, s: Any) -> Any:
        """The network's velocity at flow states ``x_s`` (B, C, H, W) and times ``s`` (B,)."""
        b = x_s.shape[0]
        cond = self.prompt_embeds.expand(b, -1, -1)
        pooled = self.pooled_embeds.expand(b, -1)
        if not self.flux:
            out = self.transformer(hidden_states=x_s, encoder_hidden_states=cond,
                                   pooled_projections=pooled,
                                   timestep=s * self.num_train_timesteps, return_dict=False)
            return out[0]
        import torch

        _, c, h, w = x_s.shape
        guidance = None
        if self.transformer.config.guidance_embeds:
            guidance = torch.full((b,), self.guidance)
        out = self.transformer(hidden_states=pack_latents(x_s), encoder_hidden_states=cond,
                               pooled_projections=pooled, timestep=s,
                               img_ids=_flux_image_ids(h, w), txt_ids=torch.zeros(cond.shape[1], 3),
                               guidance=guidance, return_dict=False)[0]
        return unpack_latents(out, c, h, w)

    # ---- ImageModel --------------------------------------------------------------------
    def denoise(self, y: Any, noise_var: Any) -> Any:
        """``E[X | X + tN = y]`` estimated as ``x_s − s·v_θ(x_s, s)`` (module docstring)."""
        import torch

        arr, t2, back = network_input(y, noise_var, "a flow-matching model")
        s = flow_time(t2)
        x_s = arr / (1.0 + np.sqrt(t2))[:, None, None, None]
        with fixed_torch_threads():
            v = self.velocity(torch.from_numpy(x_s).float(), torch.from_numpy(s).float())
        return back(x0_from_velocity(arr, v.double().numpy(), t2))

    def score(self, y: Any, noise_var: Any) -> Any:
        """``(x̂₀ − y)/t²`` (THEORY.md §4; :func:`~rdptheory.models.protocol.denoiser_score`)."""
        return denoiser_score(self, y, noise_var)

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """``(E[latent | x] − shift)·scaling`` (or the padded image without a VAE)."""
        import torch

        x = pad_to_multiple(np.asarray(x, dtype=np.float64), self.factor * self.patch)
        if self.vae is None:
            return x
        with fixed_torch_threads():
            lat = self.vae.encode(torch.from_numpy(x).float()).latent_dist.mean
        return (lat.double().numpy() - self.shift) * self.scaling

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """VAE decoder image in ``[-1, 1]`` of ``z/scaling + shift`` (padded; codec crops)."""
        import torch

        z = np.asarray(z, dtype=np.float64)
        if self.vae is None:
            return z
        with fixed_torch_threads():
            x = self.vae.decode(torch.from_numpy(z / self.scaling + self.shift).float()).sample
        return x.double().numpy()

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(C, ⌈H/(f·p)⌉·p, ⌈W/(f·p)⌉·p)``: VAE factor ``f``, transformer patch ``p``."""
        f, p = self.factor, self.patch
        return (self.channels, -(-int(height) // (f * p)) * p, -(-int(width) // (f * p)) * p)

    def fingerprint(self) -> bytes:
        """SHA-256 of transformer and VAE (configs, weights), timestep scale, embeddings."""
        return self._fp


def _cfg(cfg: Any, key: str, default: Any) -> Any:
    try:
        value = cfg[key] if isinstance(cfg, dict) else getattr(cfg, key)
    except (KeyError, AttributeError):
        return default
    return default if value is None else value


def _fingerprint(modules: tuple[Any, ...], extra: bytes) -> bytes:
    """SHA-256 over ``extra`` and each module's class, config and tensors (location-free: see
    :func:`rdptheory.models._torch_common.module_fingerprint`)."""
    return module_fingerprint(*modules, extra=extra)


def _load_embedding(directory: pathlib.Path, filename: str, shape: tuple[int | None, ...],
                    what: str) -> np.ndarray:
    f = directory / filename
    if not f.is_file():
        raise FileNotFoundError(
            f"{directory} has no {filename}: save the {what} of the empty prompt "
            f"(shape {tuple('N' if s is None else s for s in shape)}) there with numpy.save")
    e = np.load(f)
    if e.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, e.shape)):
        raise ValueError(f"{f} must have shape {tuple('N' if s is None else s for s in shape)}"
                         f", got {e.shape}")
    return e


def is_flow_directory(path: str | pathlib.Path) -> bool:
    """Whether ``path`` is a local folder in the flow-matching layout (has ``transformer/``)."""
    return (pathlib.Path(path) / "transformer").is_dir()


def load_flow_model(directory: str | pathlib.Path, *, guidance: float = 1.0) -> FlowMatchingModel:
    """A :class:`FlowMatchingModel` from a local SD3/Flux-style folder (module docstring)."""
    import diffusers

    d = local_dir(directory)
    if not is_flow_directory(d):
        raise FileNotFoundError(f"{d} has no transformer/ folder (SD3/Flux layout expected)")
    cfg_file = d / "transformer" / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"{cfg_file} is missing")
    cls_name = json.loads(cfg_file.read_text()).get("_class_name", "SD3Transformer2DModel")
    if cls_name not in ("SD3Transformer2DModel", "FluxTransformer2DModel"):
        raise ValueError(f"transformer class {cls_name!r} is not supported (SD3Transformer2DModel"
                         " or FluxTransformer2DModel)")
    transformer = getattr(diffusers, cls_name).from_pretrained(
        d, subfolder="transformer", local_files_only=True, low_cpu_mem_usage=False)
    vae = None
    if (d / "vae").is_dir():
        vae = diffusers.AutoencoderKL.from_pretrained(d, subfolder="vae", local_files_only=True,
                                                  low_cpu_mem_usage=False)
    steps = 1000
    if (d / "scheduler").is_dir():
        sched = diffusers.FlowMatchEulerDiscreteScheduler.from_pretrained(
            d, subfolder="scheduler", local_files_only=True)
        steps = int(sched.config.num_train_timesteps)
    tc = transformer.config
    pe = _load_embedding(d, EMPTY_PROMPT_FILE, (1, None, int(tc.joint_attention_dim)),
                         "text embedding")
    pp = _load_embedding(d, EMPTY_POOLED_FILE, (1, int(tc.pooled_projection_dim)),
                         "pooled text embedding")
    return FlowMatchingModel(transformer, vae, prompt_embeds=pe, pooled_embeds=pp,
                             num_train_timesteps=steps, guidance=guidance,
                             name=f"flow:{d.name}")
