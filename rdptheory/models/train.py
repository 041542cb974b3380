"""Train the shipped denoiser: ``python -m rdptheory.models.train --out DIR --minutes M``.

Denoising score matching in x₀ form with the EDM weighting [KAAL22]: for a batch of crops ``x``,

.. math::

    \\mathcal L(θ) = \\mathbb E_{σ, x, n}\\, λ(σ)\\, \\lVert D_θ(x + σ n; σ) - x \\rVert^2 / d,
    \\qquad λ(σ) = \\frac{σ^2 + σ_d^2}{(σ σ_d)^2},

(:func:`rdptheory.models.unet.edm_loss_weight`), ``ln σ`` uniform on ``[ln σ_min, ln σ_max]``
= ``[ln 0.01, ln 10]``. Why log-uniform over this range (our choice): the codec's noise ladder
is geometric from ``t_max = 5`` to ``t_min = 0.05`` (uniform in ``ln t``, every level one
encoder step) and the decoder's PF-ODE continues below ``t_min``, so every octave of σ the
codec visits gets equal training weight, with a margin of 2× above and 5× below the ladder;
[KAAL22]'s log-normal (mean −1.2, std 1.2) puts under 3% of its mass above σ = 2 and would
leave the ladder's first steps untrained.

Optional focused noise (``--sigma-focus LO HI --focus-weight W``, our choice for fine-tuning):
``ln σ`` is drawn from the mixture

.. math::

    p(\\ln σ) = W\\, \\mathcal U[\\ln σ_{lo}, \\ln σ_{hi}] + (1 - W)\\,
    \\mathcal U[\\ln σ_{min}, \\ln σ_{max}],

so that most samples fall where the codec's denoising quality matters (its mid-ladder levels,
where the full-range model lost 0.2-0.9 dB to the patch GMM) while the rest keep the whole
range trained. Without ``--sigma-focus`` the draw is exactly the log-uniform one above (same
random stream, so old runs stay reproducible).

Fine-tuning (``--init-from STATE``): weights, EMA and optimiser moments are taken from another
run's ``state.pt`` (its configuration may differ); the step counter continues from there (so
the batches are new ones), the warm-up and the cosine restart at that step (``--steps`` then
counts the steps of this run) and the wall-time budget starts at zero.

Scale augmentation (``--scales K... [--scale-weights W...]``, our choice against the
generalisation gap of nine photographs): each crop is taken at a factor ``k`` of the crop side
and block-averaged back to it (:func:`rdptheory.models.data.random_batch`), the photograph as
if shot at ``1/k`` of its resolution; ``--permute-colors`` also permutes the RGB channels.
Without them the batches are the plain crops' (same random stream).

Shaped noise (``--noise shaped``, issue 15 item 3): the pairs carry noise that is
independent per 8×8×3 block-DCT coefficient, with SNRs from the shaped chain's family
(:mod:`rdptheory.models.shaped_noise`: a per-coefficient table measured on the training parts
of the photographs and the recipe ``--shaped-ladder``/``--perception``), drawn by
:func:`shaped_noise_draw` (isotropic, ladder-level and decoder ODE-path states in the
proportions ``--shaped-mix``). The network is ``ShapedEDMDenoiser`` of
:mod:`rdptheory.models.unet` on the scaled observation ``w = √snr x^B + ε``, conditioned on the
equivalent isotropic σ; its skip (``--shaped-skip``) is EDM's (loss weight
:func:`~rdptheory.models.unet.shaped_loss_weight`) or the table's per-coefficient linear MMSE
("wiener": MSE normalised per sample by the Gaussian MMSE; a fine-tune from isotropic
weights zeroes the last convolution so that it starts at the Wiener filter). ``--init-from``
a model folder (e.g. ``rdptheory/models/weights``) starts from those weights. The folder
written gains ``rdptheory_shaping.json`` (the family); load it with
:class:`rdptheory.images.shaped_net.ShapedNet`.

Optimisation: AdamW (lr 1e-3, linear warm-up, cosine decay to 2% of the peak), gradient
clipping at 1, an EMA of the weights (decay ``min(0.998, (1 + k)/(10 + k))`` at step ``k``
of this run, counted from a fine-tune's first step: the usual warm-up so that the random
or previous weights leave the average quickly) which is what is saved. SIGTERM/SIGINT
write a checkpoint before exiting. Every batch is a pure
function of ``(seed, step)`` and the state checkpoint holds model, EMA, optimiser and step, so
``--resume`` continues bit for bit as the uninterrupted run in ``--steps`` mode (in
``--minutes`` mode the cosine runs over wall time, so the learning rates depend on speed).

Outputs in ``--out``: ``state.pt`` (resume checkpoint), ``model/`` (diffusers
``UNet2DModel.save_pretrained`` of the EMA weights, safetensors, plus
``rdptheory_preconditioning.json`` and ``training.json``: step, the step a fine-tune
started from, step wall time, configuration), ``log.jsonl`` (one record per checkpoint with the
held-out denoising PSNR per noise level).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rdptheory.models.data import (
    check_scales,
    holdout_crops,
    random_batch,
    split_holdout,
    training_photographs,
)
from rdptheory.models.shaped_noise import (
    DEAD_VARIANCE,
    FAMILY_LADDERS,
    SKIPS,
    ShapedFamily,
    block_dct_basis,
    dct_statistics,
    equivalent_sigma,
)
from rdptheory.models.unet import (
    UNET_S_CONFIG,
    EDMPreconditioning,
    blocks_to_image,
    build_unet,
    edm_denoiser,
    edm_loss_weight,
    image_to_blocks,
    save_preconditioning,
    shaped_denoiser,
    shaped_loss_weight,
)

#: Noise levels (model-space std) of the validation table.
VALIDATION_LEVELS: tuple[float, ...] = (0.04, 0.1, 0.2, 0.4, 0.8, 1.6)
#: Noise kinds of ``--noise`` (module docstring).
NOISES: tuple[str, ...] = ("isotropic", "shaped")
#: Smallest ODE-path scale τ of the shaped sampler's "path" states, and their variance floor.
PATH_TAU_MIN = 1e-10
STATE_FILE = "state.pt"
MODEL_DIR = "model"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters (see the module docstring); ``unet`` is the ``UNet2DModel`` config."""

    batch: int = 16
    crop: int = 64
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.01
    ema_decay: float = 0.998
    grad_clip: float = 1.0
    sigma_data: float = 0.5
    sigma_min: float = 0.01
    sigma_max: float = 10.0
    seed: int = 0
    sigma_focus: tuple[float, float] | None = None
    focus_weight: float = 0.0
    noise: str = "isotropic"
    shaped_ladder: str = "perception"
    shaped_perception: float = 0.0
    shaped_mix: tuple[float, float] = (0.15, 0.25)
    shaped_skip: str = "edm"
    scales: tuple[int, ...] = (1,)
    scale_weights: tuple[float, ...] | None = None
    permute_colors: bool = False
    unet: dict[str, Any] = field(default_factory=lambda: dict(UNET_S_CONFIG))

    def __post_init__(self) -> None:
        for name in ("batch", "crop", "warmup", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name in (
                    "warmup", "seed") else 1):
                raise ValueError(f"{name} must be a {'non-negative' if name in ('warmup', 'seed') else 'positive'} int, got {v!r}")  # noqa: E501
        for name in ("lr", "grad_clip", "sigma_data", "sigma_min", "sigma_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {self.ema_decay}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not self.sigma_min < self.sigma_max:
            raise ValueError(f"sigma_min must be < sigma_max, got {self.sigma_min}, "
                             f"{self.sigma_max}")
        if not 0.0 <= self.focus_weight <= 1.0:
            raise ValueError(f"focus_weight must lie in [0, 1], got {self.focus_weight}")
        if self.sigma_focus is not None:
            if len(self.sigma_focus) != 2 or not (
                    self.sigma_min <= self.sigma_focus[0] < self.sigma_focus[1]
                    <= self.sigma_max):
                raise ValueError(f"sigma_focus must be (lo, hi) with sigma_min <= lo < hi <= "
                                 f"sigma_max, got {self.sigma_focus!r}")
            object.__setattr__(self, "sigma_focus", (float(self.sigma_focus[0]),
                                                     float(self.sigma_focus[1])))
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
        if self.shaped_ladder not in FAMILY_LADDERS:
            raise ValueError(f"shaped_ladder must be one of {FAMILY_LADDERS}, got "
                             f"{self.shaped_ladder!r}")
        if not (math.isfinite(self.shaped_perception) and self.shaped_perception >= 0):
            raise ValueError(f"shaped_perception must be finite and >= 0, got "
                             f"{self.shaped_perception!r}")
        if self.shaped_skip not in SKIPS:
            raise ValueError(f"shaped_skip must be one of {SKIPS}, got {self.shaped_skip!r}")
        mix = tuple(float(v) for v in self.shaped_mix)
        if len(mix) != 2 or min(mix) < 0 or sum(mix) > 1:
            raise ValueError(f"shaped_mix must be (isotropic, path) weights >= 0 summing to <= 1,"
                             f" got {self.shaped_mix!r}")
        object.__setattr__(self, "shaped_mix", mix)
        ks, ws = check_scales(self.scales, self.scale_weights)
        object.__setattr__(self, "scales", ks)
        object.__setattr__(self, "scale_weights", None if self.scale_weights is None else ws)
        if not isinstance(self.permute_colors, bool):
            raise TypeError(f"permute_colors must be a bool, got {self.permute_colors!r}")

    @property
    def preconditioning(self) -> EDMPreconditioning:
        """The EDM constants of this run."""
        return EDMPreconditioning(self.sigma_data, self.sigma_min, self.sigma_max)


def lr_factor(step: int, progress: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps times a cosine from 1 to 0.02 over ``progress``."""
    w = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    p = min(max(progress, 0.0), 1.0)
    return w * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * p)))


def noise_draw(cfg: TrainConfig, step: int, shape: tuple[int, ...]) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """σ (``(B,)``) and standard normal noise for ``step``; pure in (seed, step).

    ``ln σ`` is uniform on ``[ln σ_min, ln σ_max]``, or with ``cfg.sigma_focus`` the mixture of
    the module docstring (each sample from the focus range with probability ``focus_weight``).
    """
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, int(step), 1]))
    lo, hi = math.log(cfg.sigma_min), math.log(cfg.sigma_max)
    log_sigma = rng.uniform(lo, hi, size=shape[0])
    if cfg.sigma_focus is not None:
        flo, fhi = math.log(cfg.sigma_focus[0]), math.log(cfg.sigma_focus[1])
        focus = rng.uniform(flo, fhi, size=shape[0])
        pick = rng.uniform(size=shape[0]) < cfg.focus_weight
        log_sigma = np.where(pick, focus, log_sigma)
    sigma = np.exp(log_sigma).astype(np.float32)
    return sigma, rng.standard_normal(shape, dtype=np.float32)


class ShapedDraw(NamedTuple):
    """One batch of shaped noise (:func:`shaped_noise_draw`)."""

    snr: np.ndarray  #: (B, d) float64, per-coefficient SNR (0 = not sent)
    sigma: np.ndarray  #: (B,) float64, the conditioning σ_eq
    eps: np.ndarray  #: (B, d, h, w) float32 standard normal, the noise of w = √snr x^B + ε
    kind: np.ndarray  #: (B,) int: 0 isotropic, 1 ladder level, 2 ODE-path state
    theta: np.ndarray  #: (B,) float64, the water level t² drawn
    tau: np.ndarray  #: (B,) float64, the ODE-path scale (used by kind 2 only)


def shaped_noise_draw(cfg: TrainConfig, family: ShapedFamily, step: int, batch: int,
                      blocks: tuple[int, int]) -> ShapedDraw:
    """Noise levels and noise for step ``step`` of ``--noise shaped``; pure in (seed, step).

    Each sample is, independently (weights ``cfg.shaped_mix = (w_iso, w_path)``):

    - isotropic (w_iso): ``snr_i = 1/t²`` for every coefficient;
    - a ladder level (1 − w_iso − w_path): ``snr = family.snr(t²)`` (the codec's shaped
      ladder at water level θ = t²);
    - an ODE-path state (w_path): the ladder level's variances ``1/snr_i`` (``DEAD_VARIANCE``
      where not sent) times ``τ``, floored at ``σ_min²``, as the shaped decoder's probability
      flow visits them; ``ln τ`` uniform on ``[ln PATH_TAU_MIN, 0]``;

    with ``ln t`` uniform on ``[ln σ_min, ln σ_max]`` (with ``cfg.sigma_focus``: from the
    mixture of :func:`noise_draw`, the same for every kind). ``sigma`` is
    :func:`~rdptheory.models.shaped_noise.equivalent_sigma` clipped to ``[σ_min, σ_max]``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, int(step), 2]))
    u = rng.uniform(size=batch)
    log_t = rng.uniform(math.log(cfg.sigma_min), math.log(cfg.sigma_max), size=batch)
    log_tau = rng.uniform(math.log(PATH_TAU_MIN), 0.0, size=batch)
    if cfg.sigma_focus is not None:
        flo, fhi = math.log(cfg.sigma_focus[0]), math.log(cfg.sigma_focus[1])
        focus = rng.uniform(flo, fhi, size=batch)
        log_t = np.where(rng.uniform(size=batch) < cfg.focus_weight, focus, log_t)
    eps = rng.standard_normal((batch, family.dim, *blocks), dtype=np.float32)
    w_iso, w_path = cfg.shaped_mix
    kind = np.where(u < w_iso, 0, np.where(u < w_iso + w_path, 2, 1))
    snr = np.empty((batch, family.dim))
    floor = cfg.sigma_min**2
    for b in range(batch):
        t2 = math.exp(2.0 * log_t[b])
        if kind[b] == 0:
            snr[b] = 1.0 / t2
            continue
        level = family.snr(t2)
        if kind[b] == 2:
            var = np.where(level > 0, 1.0 / np.where(level > 0, level, 1.0), DEAD_VARIANCE)
            level = 1.0 / np.maximum(var * math.exp(log_tau[b]), floor)
        snr[b] = level
    sigma = equivalent_sigma(snr, family.variances, low=cfg.sigma_min, high=cfg.sigma_max)
    return ShapedDraw(snr, sigma, eps, kind, np.array([math.exp(2.0 * v) for v in log_t]),
                      np.array([math.exp(v) for v in log_tau]))


def psnr_8bit(estimate: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """PSNR (peak 255) per image of ``estimate`` rounded to 8 bits against ``clean``, both (N, C, H, W) in [-1, 1]."""  # noqa: E501
    to8 = lambda a: np.clip(np.rint((np.asarray(a, np.float64) + 1.0) * 127.5), 0, 255)  # noqa: E731
    mse = ((to8(estimate) - to8(clean)) ** 2).mean(axis=(1, 2, 3))
    return 10.0 * np.log10(255.0**2 / np.maximum(mse, 1e-12))


def denoising_psnr(denoise: Any, crops: np.ndarray, levels: tuple[float, ...] = VALIDATION_LEVELS,
                   seed: int = 1234) -> dict[str, list[float]]:
    """Mean PSNR of the noisy input and of ``denoise(y, t)`` per noise std ``t``.

    ``denoise`` maps float64 ``(N, C, H, W)`` and a float ``t`` to the estimate of ``x``;
    one fixed noise draw per level (``seed``). Returns ``{"t", "noisy", "model"}`` lists.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(crops, dtype=np.float64)
    out: dict[str, list[float]] = {"t": [], "noisy": [], "model": []}
    for t in levels:
        y = x + t * rng.standard_normal(x.shape)
        out["t"].append(float(t))
        out["noisy"].append(float(psnr_8bit(y, x).mean()))
        out["model"].append(float(psnr_8bit(denoise(y, t), x).mean()))
    return out


def wiener_blocks(w: np.ndarray, snr: np.ndarray, family: ShapedFamily) -> np.ndarray:
    """Per-coefficient linear MMSE estimate of ``x^B`` from ``w = √snr x^B + ε`` (baseline).

    ``μ_i + λ_i √snr_i (w_i − √snr_i μ_i)/(1 + λ_i snr_i)`` with the family's table (exact for
    independent Gaussian coefficients); ``w`` (N, d, h, w), ``snr`` (d,).
    """
    lam, mu = family.variances[:, None, None], family.means[:, None, None]
    s = np.asarray(snr, dtype=np.float64)[:, None, None]
    return mu + lam * np.sqrt(s) * (w - np.sqrt(s) * mu) / (1.0 + lam * s)


def shaped_denoising_psnr(denoise: Any, crops: np.ndarray, family: ShapedFamily,
                          levels: tuple[float, ...] = VALIDATION_LEVELS,
                          seed: int = 1234) -> dict[str, list[float]]:
    """Mean PSNR under shaped noise at water levels ``θ = t²`` for ``t`` in ``levels``.

    ``denoise(w, snr)`` maps the scaled observation (float64 ``(N, d, h, w)``, block-DCT
    layout of :func:`rdptheory.models.unet.image_to_blocks`) and the SNR vector ``(d,)`` to
    the estimate of ``x^B``; one fixed noise draw per level (``seed``). Returns lists
    ``{"t", "wiener", "model"}`` (``wiener``: :func:`wiener_blocks`, the per-coefficient
    linear baseline; the noisy image itself has infinite error on unsent coefficients).
    """
    import torch

    x = np.asarray(crops, dtype=np.float64)
    basis = torch.from_numpy(block_dct_basis(family.patch, family.channels))
    xb = image_to_blocks(torch.from_numpy(x), basis, family.patch).numpy()

    def to_image(blocks: np.ndarray) -> np.ndarray:
        return blocks_to_image(torch.from_numpy(blocks), basis, family.patch,
                               family.channels).numpy()

    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"t": [], "wiener": [], "model": []}
    for t in levels:
        snr = family.snr(t * t)
        w = np.sqrt(snr)[:, None, None] * xb + rng.standard_normal(xb.shape)
        out["t"].append(float(t))
        out["wiener"].append(float(psnr_8bit(to_image(wiener_blocks(w, snr, family)), x).mean()))
        out["model"].append(float(psnr_8bit(to_image(denoise(w, snr)), x).mean()))
    return out


class Trainer:
    """Model, EMA, optimiser and step counter of one run (CPU or CUDA)."""

    def __init__(self, cfg: TrainConfig, parts: list[np.ndarray], device: str = "cpu",
                 family: ShapedFamily | None = None) -> None:
        import copy

        import torch

        self.cfg, self.parts, self.device = cfg, parts, torch.device(device)
        torch.manual_seed(cfg.seed)
        self.family: ShapedFamily | None = None
        if cfg.noise == "shaped":
            self.family = family if family is not None else shaped_family(cfg, parts)
            if cfg.crop % self.family.patch:
                raise ValueError(f"crop must be a multiple of the patch {self.family.patch}")
            fam = self.family
            self.model = shaped_denoiser(
                build_unet(cfg.unet), block_dct_basis(fam.patch, fam.channels), fam.patch,
                fam.channels, cfg.preconditioning, fam.skip, fam.means,
                fam.variances).to(self.device)
        else:
            self.model = edm_denoiser(build_unet(cfg.unet), cfg.preconditioning).to(self.device)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        self.step = 0
        self.start_step = 0
        self.elapsed = 0.0

    def train_step(self, progress: float) -> float:
        """One optimiser step on batch ``self.step``; returns the loss."""
        import torch

        cfg = self.cfg
        x = torch.from_numpy(random_batch(self.parts, cfg.batch, cfg.crop, cfg.seed, self.step,
                                          scales=cfg.scales, scale_weights=cfg.scale_weights,
                                          permute_colors=cfg.permute_colors))
        for g in self.opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(self.step - self.start_step, progress, cfg.warmup)
        self.model.train()
        if self.family is not None:
            loss = self._shaped_loss(x.to(self.device))
        else:
            sigma_np, n_np = noise_draw(cfg, self.step, tuple(x.shape))
            x = x.to(self.device)
            sigma = torch.from_numpy(sigma_np).to(self.device)
            y = x + sigma.reshape(-1, 1, 1, 1) * torch.from_numpy(n_np).to(self.device)
            d = self.model(y, sigma)
            w = edm_loss_weight(sigma, cfg.sigma_data)
            loss = (w * ((d - x) ** 2).mean(dim=(1, 2, 3))).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.opt.step()
        k = self.step - self.start_step  # the warm-up restarts with a fine-tune
        decay = min(cfg.ema_decay, (1.0 + k) / (10.0 + k))
        with torch.no_grad():
            for pe, pm in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                pe.lerp_(pm, 1.0 - decay)
        self.step += 1
        return float(loss.detach())

    def _shaped_loss(self, x: Any) -> Any:
        """The per-coefficient EDM-weighted x0 loss under a :func:`shaped_noise_draw` batch."""
        import torch

        fam, p = self.family, self.model.patch
        assert fam is not None
        xb = image_to_blocks(x, self.model.basis, p)
        draw = shaped_noise_draw(self.cfg, fam, self.step, x.shape[0], tuple(xb.shape[2:]))
        snr = torch.from_numpy(draw.snr).float().to(self.device)
        sigma = torch.from_numpy(draw.sigma).float().to(self.device)
        w = torch.sqrt(snr)[:, :, None, None] * xb + torch.from_numpy(draw.eps).to(self.device)
        d = self.model(w, snr, sigma)
        if fam.skip == "wiener":  # MSE, normalised per sample by the Gaussian MMSE
            lam = self.model.variances
            weight = (1.0 / (lam / (1.0 + lam * snr)).mean(dim=1))[:, None, None, None]
        else:
            weight = shaped_loss_weight(snr, self.cfg.sigma_data)[:, :, None, None]
        return (weight * (d - xb) ** 2).mean()

    def state_dict(self) -> dict[str, Any]:
        """Everything ``--resume`` needs (weights, EMA, optimiser, step, elapsed, config)."""
        state = {"step": self.step, "start_step": self.start_step, "elapsed": self.elapsed,
                 "model": self.model.state_dict(), "ema": self.ema.state_dict(),
                 "opt": self.opt.state_dict(), "cfg": dataclasses.asdict(self.cfg)}
        if self.family is not None:
            state["family"] = self.family.to_json()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the config must match; keys a checkpoint written before
        they existed lacks take their defaults)."""
        defaults = dataclasses.asdict(TrainConfig())
        saved = {**{k: v for k, v in defaults.items() if k not in ("unet",)}, **state["cfg"]}
        if _jsonable(saved) != _jsonable(dataclasses.asdict(self.cfg)):
            raise ValueError("checkpoint was written with another configuration")
        if self.family is not None and "family" in state:
            if ShapedFamily.from_json(state["family"]).to_json() != self.family.to_json():
                raise ValueError("checkpoint was written with another shaped-noise table")
        self._load_weights(state)
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.start_step = int(state.get("start_step", 0))

    def init_from(self, state: dict[str, Any]) -> None:
        """Fine-tune start: weights, EMA and optimiser moments of another run's checkpoint.

        The architecture must match; the step counter continues at the checkpoint's step
        (which becomes ``start_step``: warm-up and cosine restart there) and the wall-time
        counter restarts at zero.
        """
        if _jsonable(state["cfg"]["unet"]) != _jsonable(self.cfg.unet):
            raise ValueError("init checkpoint has another UNet architecture")
        self._load_weights(state)
        self.step = self.start_step = int(state["step"])
        self.elapsed = 0.0

    def init_weights(self, directory: str | pathlib.Path) -> None:
        """Fine-tune start from a shipped diffusers folder (weights only: fresh optimiser).

        Model and EMA take the folder's ``UNet2DModel`` weights (same architecture and
        preconditioning required); the step counter continues at the folder's
        ``training.json`` step (0 if absent), so the batches are new ones, and warm-up,
        cosine and wall-time budget start there. This is how a shaped-noise network starts
        from the isotropic one: at isotropic noise the two compute the same function.
        """
        from diffusers import UNet2DModel

        from rdptheory.models.unet import load_preconditioning

        folder = pathlib.Path(directory)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a model folder")
        pre = load_preconditioning(folder)
        if pre is not None and pre != self.cfg.preconditioning:
            raise ValueError(f"{folder} has another preconditioning: {pre}")
        unet = UNet2DModel.from_pretrained(folder)
        mine = self.model.unet.config
        for key in ("block_out_channels", "layers_per_block", "down_block_types",
                    "up_block_types", "in_channels", "out_channels"):
            if tuple(np.atleast_1d(unet.config[key])) != tuple(np.atleast_1d(mine[key])):
                raise ValueError(f"{folder} has another UNet architecture ({key})")
        self.model.unet.load_state_dict(unet.state_dict())
        self.ema.unet.load_state_dict(unet.state_dict())
        if self.family is not None and self.family.skip == "wiener":
            import torch

            with torch.no_grad():  # F = 0: the fine-tune starts at the Wiener filter
                for m in (self.model, self.ema):
                    m.unet.conv_out.weight.zero_()
                    m.unet.conv_out.bias.zero_()
        info = folder / "training.json"
        step = int(json.loads(info.read_text())["step"]) if info.is_file() else 0
        self.step = self.start_step = step
        self.elapsed = 0.0

    def _load_weights(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])

    def ema_denoise(self, y: np.ndarray, t: float, batch: int = 8) -> np.ndarray:
        """The EMA model's ``E[x | y]`` for float64 ``(N, C, H, W)`` at noise std ``t``."""
        import torch

        outs = []
        with torch.no_grad():
            for i in range(0, y.shape[0], batch):
                yb = torch.from_numpy(np.ascontiguousarray(y[i:i + batch])).float()
                sb = torch.full((yb.shape[0],), float(t))
                outs.append(self.ema(yb.to(self.device), sb.to(self.device)).double().cpu()
                            .numpy())
        return np.concatenate(outs)


    def ema_shaped_denoise(self, w: np.ndarray, snr: np.ndarray, batch: int = 8) -> np.ndarray:
        """The EMA model's ``E[x^B | w]`` for float64 ``(N, d, h, w)`` at SNR vector ``(d,)``."""
        import torch

        assert self.family is not None
        s = np.asarray(snr, dtype=np.float64)
        sig = float(equivalent_sigma(s, self.family.variances, low=self.cfg.sigma_min,
                                     high=self.cfg.sigma_max))
        outs = []
        with torch.no_grad():
            for i in range(0, w.shape[0], batch):
                wb = torch.from_numpy(np.ascontiguousarray(w[i:i + batch])).float()
                n = wb.shape[0]
                sb = torch.from_numpy(s).float().expand(n, -1).contiguous()
                outs.append(self.ema(wb.to(self.device), sb.to(self.device),
                                     torch.full((n,), sig).to(self.device)).double().cpu()
                            .numpy())
        return np.concatenate(outs)


def shaped_family(cfg: TrainConfig, parts: list[np.ndarray]) -> ShapedFamily:
    """The family of ``cfg`` with the table measured on the training parts (8×8 block DCT)."""
    means, variances = dct_statistics(list(parts), 8)
    return ShapedFamily(means, variances, cfg.shaped_ladder, cfg.shaped_perception,
                        skip=cfg.shaped_skip)


def _jsonable(d: Any) -> Any:
    return json.loads(json.dumps(d, default=list))


def save_checkpoint(trainer: Trainer, out: pathlib.Path) -> None:
    """Atomically write ``state.pt`` and the EMA model folder ``model/`` into ``out``."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (STATE_FILE + ".tmp")
    torch.save(trainer.state_dict(), tmp)
    os.replace(tmp, out / STATE_FILE)
    export_model(trainer, out / MODEL_DIR)


def export_model(trainer: Trainer, directory: pathlib.Path) -> None:
    """The EMA UNet as a diffusers folder (safetensors) plus the preconditioning JSON."""
    tmp = directory.with_name(directory.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    unet = trainer.ema.unet
    unet.save_pretrained(tmp, safe_serialization=True)
    save_preconditioning(tmp, trainer.cfg.preconditioning)
    if trainer.family is not None:
        trainer.family.save(tmp)
    (tmp / "training.json").write_text(json.dumps(
        {"step": trainer.step, "start_step": trainer.start_step,
         "elapsed_s": round(trainer.elapsed, 1),
         "config": _jsonable(dataclasses.asdict(trainer.cfg))}, indent=2) + "\n")
    if directory.exists():
        import shutil

        shutil.rmtree(directory)
    os.replace(tmp, directory)


def run(cfg: TrainConfig, out: pathlib.Path, *, steps: int | None, minutes: float | None,
        resume: bool, extra_images: str | None, checkpoint_minutes: float = 5.0,
        device: str | None = None, progress_bar: bool = True,
        init_from: str | pathlib.Path | None = None) -> Trainer:
    """Train until ``steps`` or ``minutes`` (at least one given); see the module docstring.

    ``init_from``: a ``state.pt`` of another run to fine-tune from, or a model folder
    (diffusers weights, e.g. the shipped ``rdptheory/models/weights``: :meth:`Trainer.
    init_weights`); ignored when ``resume`` finds a checkpoint in ``out``, so a stopped
    fine-tune resumes as itself.
    """
    import torch

    if steps is None and minutes is None:
        raise ValueError("give steps or minutes")
    if steps is not None and steps < 1 or minutes is not None and minutes <= 0:
        raise ValueError(f"steps and minutes must be positive, got {steps}, {minutes}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return _run(cfg, out, steps, minutes, resume, extra_images, checkpoint_minutes, device,
                    progress_bar, init_from)
    finally:
        torch.use_deterministic_algorithms(old_det)


def _run(cfg: TrainConfig, out: pathlib.Path, steps: int | None, minutes: float | None,
         resume: bool, extra_images: str | None, checkpoint_minutes: float, device: str,
         progress_bar: bool, init_from: str | pathlib.Path | None) -> Trainer:
    import torch
    from tqdm import tqdm

    splits = [split_holdout(im) for im in training_photographs(extra_images)]
    trainer = Trainer(cfg, [s.train for s in splits], device)
    val = holdout_crops(splits)
    if resume and (out / STATE_FILE).is_file():
        trainer.load_state_dict(torch.load(out / STATE_FILE, weights_only=False))
        print(f"resumed at step {trainer.step} ({trainer.elapsed / 60:.1f} min)", flush=True)
    elif init_from is not None and pathlib.Path(init_from).is_dir():
        trainer.init_weights(init_from)
        print(f"fine-tuning from the weights in {init_from} at step {trainer.step}", flush=True)
    elif init_from is not None:
        trainer.init_from(torch.load(init_from, weights_only=False))
        print(f"fine-tuning from {init_from} at step {trainer.step}", flush=True)
    budget = None if minutes is None else 60.0 * minutes
    bar = tqdm(total=steps, initial=trainer.step - trainer.start_step,
               disable=not progress_bar, mininterval=20, file=sys.stderr, dynamic_ncols=False,
               ncols=100)
    last_ckpt, losses = time.monotonic(), list[float]()
    log = (out / "log.jsonl")
    out.mkdir(parents=True, exist_ok=True)

    def checkpoint() -> None:
        save_checkpoint(trainer, out)
        if trainer.family is not None:
            val_psnr = shaped_denoising_psnr(trainer.ema_shaped_denoise, val, trainer.family)
        else:
            val_psnr = denoising_psnr(trainer.ema_denoise, val)
        rec = {"step": trainer.step, "elapsed_min": round(trainer.elapsed / 60, 2),
               "loss": float(np.mean(losses)) if losses else None, "val": val_psnr}
        with open(log, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        table = " ".join(f"t={t}:{p:.2f}" for t, p in zip(val_psnr["t"], val_psnr["model"],
                                                           strict=True))
        loss = rec["loss"] if rec["loss"] is not None else float("nan")
        print(f"\ncheckpoint step {trainer.step}  {trainer.elapsed / 60:.1f} min  "
              f"loss {loss:.4f}  held-out PSNR {table}", flush=True)
        losses.clear()

    stop: list[int] = []
    old_handlers = {sig: signal.signal(sig, lambda signum, frame: stop.append(signum))
                    for sig in (signal.SIGTERM, signal.SIGINT)}
    while not stop:
        done = trainer.step - trainer.start_step
        if steps is not None and done >= steps:
            break
        if budget is not None and trainer.elapsed >= budget:
            break
        progress = done / steps if steps is not None else trainer.elapsed / budget  # type: ignore[operator]  # noqa: E501
        t0 = time.monotonic()
        losses.append(trainer.train_step(progress))
        trainer.elapsed += time.monotonic() - t0
        bar.update(1)
        if len(losses) % 25 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-25:]):.4f}",
                            min=f"{trainer.elapsed / 60:.1f}", refresh=False)
        if time.monotonic() - last_ckpt >= 60.0 * checkpoint_minutes:
            checkpoint()
            last_ckpt = time.monotonic()
    bar.close()
    for sig, handler in old_handlers.items():
        signal.signal(sig, handler)
    checkpoint()
    if stop:
        print(f"stopped by signal {stop[0]} at step {trainer.step}", flush=True)
    return trainer


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``python -m rdptheory.models.train --help``)."""
    ap = argparse.ArgumentParser(prog="python -m rdptheory.models.train",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (checkpoints, model/)")
    ap.add_argument("--minutes", type=float, default=None, help="wall-time budget")
    ap.add_argument("--steps", type=int, default=None, help="number of optimiser steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    ap.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    ap.add_argument("--sigma-focus", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="draw ln sigma from U[ln LO, ln HI] with probability --focus-weight "
                         "(else from the full range); default: full range only")
    ap.add_argument("--focus-weight", type=float, default=0.75)
    ap.add_argument("--init-from", default=None,
                    help="state.pt of another run to fine-tune from (weights, EMA, optimiser), "
                         "or a model folder (weights only)")
    ap.add_argument("--noise", choices=NOISES, default="isotropic",
                    help="noise of the training pairs: isotropic (default) or shaped (block-DCT "
                         "shaped family, see the module docstring)")
    ap.add_argument("--shaped-ladder", choices=FAMILY_LADDERS, default="perception")
    ap.add_argument("--perception", type=float, default=0.0,
                    help="W2^2 budget P of the perception ladder (--noise shaped)")
    ap.add_argument("--shaped-skip", choices=SKIPS, default="edm",
                    help="skip connection of the shaped net: edm (the isotropic EDM form) or "
                         "wiener (per-coefficient linear MMSE; fine-tunes start there)")
    ap.add_argument("--shaped-mix", type=float, nargs=2, default=(0.15, 0.25),
                    metavar=("ISO", "PATH"),
                    help="fractions of isotropic and ODE-path samples (--noise shaped)")
    ap.add_argument("--scales", type=int, nargs="+", default=[1], metavar="K",
                    help="scale augmentation: crop K*crop pixels and block-average by K, K "
                         "drawn per crop among those the photograph holds (default: 1, none)")
    ap.add_argument("--scale-weights", type=float, nargs="+", default=None, metavar="W",
                    help="weights of --scales (default: equal)")
    ap.add_argument("--permute-colors", action="store_true",
                    help="permute the RGB channels of every crop uniformly")
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--extra-images", default=None,
                    help="folder of further training images (default ../shared/data/train)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    if a.steps is None and a.minutes is None:
        ap.error("give --steps or --minutes")
    if a.threads < 1:
        ap.error("--threads must be >= 1")
    import torch

    torch.set_num_threads(a.threads)
    focus = tuple(a.sigma_focus) if a.sigma_focus is not None else None
    try:
        cfg = TrainConfig(batch=a.batch, lr=a.lr, seed=a.seed, warmup=a.warmup,
                          sigma_focus=focus, focus_weight=a.focus_weight if focus else 0.0,
                          noise=a.noise, shaped_ladder=a.shaped_ladder,
                          shaped_perception=a.perception, shaped_mix=tuple(a.shaped_mix),
                          shaped_skip=a.shaped_skip, scales=tuple(a.scales),
                          scale_weights=None if a.scale_weights is None
                          else tuple(a.scale_weights), permute_colors=a.permute_colors)
    except ValueError as exc:
        ap.error(str(exc))
    run(cfg, pathlib.Path(a.out), steps=a.steps, minutes=a.minutes, resume=a.resume,
        extra_images=a.extra_images, checkpoint_minutes=a.checkpoint_minutes, device=a.device,
        progress_bar=not a.no_progress, init_from=a.init_from)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
