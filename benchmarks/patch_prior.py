"""Patch priors for ``gmm-shift``: code length, unseen denoising PSNR and seconds per call.

    .venv/bin/python benchmarks/patch_prior.py PRIOR.npz [PRIOR.npz ...] [--unet]
        [--out benchmarks/results/patch_prior.json]

For the shipped prior (``rdptheory/models/priors/patch_gmm.npz``) and every prior file given:

- exact code length in bits per 8-bit dimension (:func:`rdptheory.models.fit_prior.bits_per_dim`,
  uniform dequantisation) on 10 000 random patches of the training photographs' held-out
  right 15 % strips and 10 000 of scikit-learn's china and flower
  (:func:`rdptheory.models.fit_prior.photo_patch_split`, seed 0; the shipped prior saw neither
  strip set's exact pixels but did see the left 85 % of its five photographs' strips: its
  held-out figure is not strictly held out);
- denoising PSNR (peak 255, after rounding to 8 bits) of the 16-shift averaged posterior mean
  (:class:`rdptheory.models.gmm_shifted.ShiftedPatchGMMImageModel`) on the four unseen 128×128
  crops of china and flower (:func:`rdptheory.experiments.model_measure.unseen_crops`: centre
  and upper-left quarter of each), one noise draw per level (seed 1234, the same draws for
  every model) at t = 0.05 … 1.6; reported per crop, as the mean of the two centre crops and
  of all four; ``--unet`` adds the shipped UNet S on the same draws;
- seconds per ``denoise`` call on one 128×128 and one 256×256 image (median of 3, wall and
  process CPU, after a warm-up call; loaded 2-core machine, compare only within one run).

Candidate files other than the shipped two are rebuilt by ``python -m
rdptheory.models.fit_prior --components K --dc joint --out FILE`` (seed 0, deterministic).
Measured 2026-12-06 23:30 UTC (``results/patch_prior.json``; load ~10 on 2 cores)::

    prior              held unseen  PSNR t=0.05  0.1   0.2   0.4   0.8   1.6  gain CPU s 128²/256²
    patch_gmm (K=8)    3.810 3.782     36.41 32.29 28.22 24.45 21.15 18.68  0     0.22/0.75
    K=16 separate (1)  3.623 3.560     36.96 32.86 28.80 24.95 21.38 18.74 +0.49  0.41/1.31
    K=16 joint         3.579 3.596     36.88 32.82 28.61 24.66 21.20 18.74 +0.33  0.33/1.15
    K=32 joint         3.575 3.607     36.74 32.80 28.70 24.79 21.25 18.75 +0.35  0.48/1.73
    UNet S                 -     -     36.27 31.94 27.32 23.01 20.08 18.64 -0.78  0.22/1.34

(1) = ``priors/patch_gmm_photos.npz``, shipped as ``gmm-shift``; K=16/K=32: the photograph
fits (bits/dim: held-out strips, china/flower patches). PSNR: mean of the four crops;
gain: mean PSNR gain over ``patch_gmm`` at t ≤ 0.8 (the two centre crops alone: +0.36, +0.45,
+0.43, +0.00 dB). The two K = 16 models cost the same per call (the 0.41 vs 0.33 s is load).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
from typing import Any

import numpy as np

from rdptheory.experiments.model_measure import unseen_crops
from rdptheory.models.fit_prior import bits_per_dim, photo_patch_split
from rdptheory.models.gmm_shifted import ShiftedPatchGMMImageModel
from rdptheory.models.prior import DEFAULT_PRIOR_PATH, load_prior, prior_metadata
from rdptheory.models.train import psnr_8bit

LEVELS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
NOISE_SEED = 1234


def noisy_inputs(crops: np.ndarray) -> list[np.ndarray]:
    """One fixed noise draw per level (the same for every model)."""
    rng = np.random.default_rng(NOISE_SEED)
    return [crops + t * rng.standard_normal(crops.shape) for t in LEVELS]


def psnr_rows(denoise: Any, crops: np.ndarray, noisy: list[np.ndarray]) -> dict[str, Any]:
    """Per-crop PSNR per level, and the centre-crop (0, 2) and all-crop means."""
    per = [psnr_8bit(np.asarray(denoise(y, t * t), dtype=np.float64), crops).tolist()
           for t, y in zip(LEVELS, noisy)]
    return {"per_crop": per, "centre": [float(np.mean([p[0], p[2]])) for p in per],
            "all4": [float(np.mean(p)) for p in per]}


def seconds_per_call(denoise: Any, size: int, repeats: int = 3) -> dict[str, float]:
    """Median wall and process-CPU seconds of one call on a (1, 3, size, size) input."""
    y = np.random.default_rng(0).uniform(-1, 1, (1, 3, size, size))
    denoise(y, 0.01)
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        denoise(y, 0.01)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": float(np.median(wall)), "cpu_s": float(np.median(cpu))}


def main(argv: list[str] | None = None) -> int:
    """Measure the shipped prior, the given prior files and optionally UNet S."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("priors", nargs="*", type=pathlib.Path)
    ap.add_argument("--unet", action="store_true")
    ap.add_argument("--out", type=pathlib.Path,
                    default=pathlib.Path(__file__).parent / "results" / "patch_prior.json")
    args = ap.parse_args(argv)
    crops = unseen_crops(128)
    noisy = noisy_inputs(crops)
    rows: dict[str, Any] = {}
    noisy_psnr = [float(psnr_8bit(y, crops).mean()) for y in noisy]
    splits: dict[int, Any] = {}
    for path in [DEFAULT_PRIOR_PATH, *args.priors]:
        prior = load_prior(path)
        if prior.patch not in splits:
            splits[prior.patch] = photo_patch_split(prior.patch, 1, 10000, seed=0)
        split = splits[prior.patch]
        model = ShiftedPatchGMMImageModel(prior)
        row = {"file": path.name, "patch": prior.patch, "K": prior.n_components,
               "metadata": prior_metadata(path),
               "heldout_bpd": bits_per_dim(prior, split.heldout),
               "unseen_bpd": bits_per_dim(prior, split.unseen),
               "psnr": psnr_rows(model.denoise, crops, noisy),
               "call_128": seconds_per_call(model.denoise, 128),
               "call_256": seconds_per_call(model.denoise, 256)}
        rows[path.stem] = row
        print(path.stem, f"K={row['K']} held {row['heldout_bpd']:.4f} unseen "
              f"{row['unseen_bpd']:.4f} psnr all4 "
              + " ".join(f"{v:.2f}" for v in row["psnr"]["all4"]) + " centre "
              + " ".join(f"{v:.2f}" for v in row["psnr"]["centre"])
              + f" call128 {row['call_128']['wall_s']:.2f}s call256 "
              f"{row['call_256']['wall_s']:.2f}s", flush=True)
    if args.unet:
        from rdptheory.models import load_model

        unet = load_model("unet")
        rows["unet_s"] = {"psnr": psnr_rows(unet.denoise, crops, noisy),
                          "call_128": seconds_per_call(unet.denoise, 128),
                          "call_256": seconds_per_call(unet.denoise, 256)}
        print("unet_s psnr all4 " + " ".join(f"{v:.2f}" for v in rows["unet_s"]["psnr"]["all4"])
              + " centre " + " ".join(f"{v:.2f}" for v in rows["unet_s"]["psnr"]["centre"]),
              flush=True)
    base = rows[DEFAULT_PRIOR_PATH.stem]["psnr"]
    low = [i for i, t in enumerate(LEVELS) if t <= 0.8]
    for row in rows.values():  # mean PSNR gain over the shipped prior at t <= 0.8
        row["gain_vs_shipped_db_t_le_0.8"] = {
            key: float(np.mean([row["psnr"][key][i] - base[key][i] for i in low]))
            for key in ("all4", "centre")}
    result = {"levels": list(LEVELS), "noise_seed": NOISE_SEED, "noisy_psnr_all4": noisy_psnr,
              "crops": "china, flower 128x128: centre and upper-left quarter (model_measure)",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "models": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
