"""Paired denoising PSNR of two image models on a grid of unseen crops, over several noise draws.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/unet_crop_grid.py \
        --candidate DIR [--baseline unet] [--levels 0.2 0.4 0.8] [--seeds 8] \
        [--out benchmarks/results/unet_crop_grid_s3.json]

``rdptheory.experiments.model_measure`` scores a model on four 128×128 crops of scikit-learn's
china and flower with one noise draw per level. This check widens that: 16 crops of 128×128
(a 2 × 4 grid over each photograph, corners included: rows ``linspace(0, H - 128, 2)``,
columns ``linspace(0, W - 128, 4)``), ``--seeds`` noise draws per level (``y = x + t N``, ``N``
from ``default_rng([99, seed, round(100 t)])``, the same draw for both models), PSNR of each
model's posterior mean after rounding to 8 bits (:func:`rdptheory.models.train.psnr_8bit`).
Reported per level: both models' mean PSNR, the mean paired difference (candidate − baseline)
and its standard error over the crops (each crop's difference averaged over the draws), the
means per photograph, and the draw-to-draw standard deviation of the mean difference.

Measured 2026-12-07 (MODEL_CARD.md "Stage 3": the scale-augmented fine-tune, step 7284, against
the shipped UNet S, step 5295; ``results/unet_crop_grid_s3.json``): candidate − shipped
−0.02 ± 0.06 / −0.13 ± 0.09 / −0.15 ± 0.08 dB at t = 0.2 / 0.4 / 0.8 (china −0.01 / −0.10 /
−0.20, flower −0.02 / −0.15 / −0.11), where the four standard crops gave +0.13 / +0.11 /
−0.04 dB: the stage-3 gain does not hold beyond those crops.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np


def grid_crops(size: int = 128) -> np.ndarray:
    """16 crops ``size²`` of china and flower (2 × 4 grid each), float64 ``(16, 3, s, s)``."""
    from rdptheory.data import bundled_image, to_model_space

    crops = []
    for name in ("china", "flower"):
        x = to_model_space(bundled_image(name).pixels)
        h, w = x.shape[1:]
        for r in np.linspace(0, h - size, 2).astype(int):
            for c in np.linspace(0, w - size, 4).astype(int):
                crops.append(x[:, r:r + size, c:c + size])
    return np.stack(crops).astype(np.float64)


def paired_psnr(models: dict[str, object], crops: np.ndarray, t: float, seeds: int,
                batch: int = 4) -> dict[str, np.ndarray]:
    """PSNR per (seed, crop) of each model's denoised crops at noise std ``t``."""
    from rdptheory.models.train import psnr_8bit

    out = {k: np.zeros((seeds, len(crops))) for k in models}
    for s in range(seeds):
        n = np.random.default_rng([99, s, int(round(100 * t))]).standard_normal(crops.shape)
        y = crops + t * n
        for k, m in models.items():
            out[k][s] = np.concatenate([
                psnr_8bit(m.denoise(y[i:i + batch], t * t), crops[i:i + batch])  # type: ignore[attr-defined]  # noqa: E501
                for i in range(0, len(crops), batch)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidate", required=True, help="model spec or folder")
    ap.add_argument("--baseline", default="unet")
    ap.add_argument("--levels", type=float, nargs="+", default=[0.2, 0.4, 0.8])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--out", type=pathlib.Path, default=None)
    a = ap.parse_args()
    if a.seeds < 2:
        ap.error("--seeds must be >= 2")
    from rdptheory.models import load_model

    models = {"baseline": load_model(a.baseline), "candidate": load_model(a.candidate)}
    crops = grid_crops()
    half = len(crops) // 2
    rows = []
    for t in a.levels:
        p = paired_psnr(models, crops, t, a.seeds)
        d = p["candidate"] - p["baseline"]
        per_crop = d.mean(axis=0)
        row = {"t": t, "baseline": float(p["baseline"].mean()),
               "candidate": float(p["candidate"].mean()), "diff": float(per_crop.mean()),
               "diff_se": float(per_crop.std(ddof=1) / np.sqrt(len(per_crop))),
               "diff_china": float(per_crop[:half].mean()),
               "diff_flower": float(per_crop[half:].mean()),
               "draw_sd": float(d.mean(axis=1).std(ddof=1))}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.out is not None:
        a.out.write_text(json.dumps({"baseline": a.baseline, "candidate": a.candidate,
                                     "crops": "16 x 128^2, 2 x 4 grid over china and flower",
                                     "seeds": a.seeds, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
