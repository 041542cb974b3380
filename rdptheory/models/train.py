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

Optimisation: AdamW (lr 1e-3, linear warm-up, cosine decay to 2% of the peak), gradient
clipping at 1, an EMA of the weights (decay ``min(0.998, (1 + k)/(10 + k))`` at step ``k``,
the usual warm-up so that the random initialisation leaves the average quickly) which is what
is saved. SIGTERM/SIGINT write a checkpoint before exiting. Every batch is a pure
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
from typing import Any

import numpy as np

from rdptheory.models.data import (
    holdout_crops,
    random_batch,
    split_holdout,
    training_photographs,
)
from rdptheory.models.unet import (
    UNET_S_CONFIG,
    EDMPreconditioning,
    build_unet,
    edm_denoiser,
    edm_loss_weight,
    save_preconditioning,
)

#: Noise levels (model-space std) of the validation table.
VALIDATION_LEVELS: tuple[float, ...] = (0.04, 0.1, 0.2, 0.4, 0.8, 1.6)
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


class Trainer:
    """Model, EMA, optimiser and step counter of one run (CPU or CUDA)."""

    def __init__(self, cfg: TrainConfig, parts: list[np.ndarray], device: str = "cpu") -> None:
        import copy

        import torch

        self.cfg, self.parts, self.device = cfg, parts, torch.device(device)
        torch.manual_seed(cfg.seed)
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
        x = torch.from_numpy(random_batch(self.parts, cfg.batch, cfg.crop, cfg.seed, self.step))
        sigma_np, n_np = noise_draw(cfg, self.step, tuple(x.shape))
        x = x.to(self.device)
        sigma = torch.from_numpy(sigma_np).to(self.device)
        y = x + sigma.reshape(-1, 1, 1, 1) * torch.from_numpy(n_np).to(self.device)
        for g in self.opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(self.step - self.start_step, progress, cfg.warmup)
        self.model.train()
        d = self.model(y, sigma)
        w = edm_loss_weight(sigma, cfg.sigma_data)
        loss = (w * ((d - x) ** 2).mean(dim=(1, 2, 3))).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.opt.step()
        decay = min(cfg.ema_decay, (1.0 + self.step) / (10.0 + self.step))
        with torch.no_grad():
            for pe, pm in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                pe.lerp_(pm, 1.0 - decay)
        self.step += 1
        return float(loss.detach())

    def state_dict(self) -> dict[str, Any]:
        """Everything ``--resume`` needs (weights, EMA, optimiser, step, elapsed, config)."""
        return {"step": self.step, "start_step": self.start_step, "elapsed": self.elapsed,
                "model": self.model.state_dict(), "ema": self.ema.state_dict(),
                "opt": self.opt.state_dict(), "cfg": dataclasses.asdict(self.cfg)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the config must match; keys a checkpoint written before
        they existed lacks take their defaults)."""
        defaults = dataclasses.asdict(TrainConfig())
        saved = {**{k: v for k, v in defaults.items() if k not in ("unet",)}, **state["cfg"]}
        if _jsonable(saved) != _jsonable(dataclasses.asdict(self.cfg)):
            raise ValueError("checkpoint was written with another configuration")
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

    ``init_from``: a ``state.pt`` of another run to fine-tune from (ignored when ``resume``
    finds a checkpoint in ``out``, so a stopped fine-tune resumes as itself).
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
                    help="state.pt of another run to fine-tune from (weights, EMA, optimiser)")
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
                          sigma_focus=focus, focus_weight=a.focus_weight if focus else 0.0)
    except ValueError as exc:
        ap.error(str(exc))
    run(cfg, pathlib.Path(a.out), steps=a.steps, minutes=a.minutes, resume=a.resume,
        extra_images=a.extra_images, checkpoint_minutes=a.checkpoint_minutes, device=a.device,
        progress_bar=not a.no_progress, init_from=a.init_from)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
