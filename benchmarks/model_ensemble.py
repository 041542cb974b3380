"""Stacked denoisers (:mod:`rdptheory.models.ensemble`): denoising PSNR per noise level, cost
per call, and the end-to-end codec gain at equal rate.

    .venv/bin/python benchmarks/model_ensemble.py denoise [--out PATH]
    .venv/bin/python benchmarks/model_ensemble.py codec [--specs unet unet+gmm] [--bpp 0.25 0.5 1]
        [--images china flower] [--jobs 2] [--ode-steps 12]

Each part writes its own key (``"denoise"``, ``"codec"``) of the results JSON and keeps the
other's; a codec run keeps the rows of the specs it did not run (the rates of one machine
state: rerun ``unet`` with any spec compared to it).

``denoise``: scikit-learn's china and flower, 128×128 centre crops (unseen: no model was fitted
on them) and the 16 held-out crops (64×64) the shipped blend table was fitted on, one noise draw
per level (``y = x + tN``, seeded). The UNet S is evaluated under each of the 8 dihedral
transforms and the shifted patch GMM under the 4 rotations, once each; the self-ensembles
(identity, flip, 4 rotations, all 8) are averages of those outputs, the blends convex
combinations with weights fitted per level on the held-out crops
(:func:`rdptheory.models.ensemble.fit_convex_weights`) or, for the shipped spec ``unet+gmm``,
the shipped table's weights interpolated in ln t (what the model computes; one direct call of
the spec at t = 0.1 checks this). PSNR is over the pooled MSE of the crops (model space
[-1, 1], peak-to-peak 2). Seconds per call: wall and CPU of one process, at 128² and 256²
(median of 3 calls for the members, one call for the ensembles), on this loaded 2-core machine.

``codec``: china and flower 128² at the target rates, ρ = 1 (``compress_with_report`` +
``decompress``, 12 Heun steps, the default ladder), for each spec, one process per (spec,
image); the decodes replay the chain through ``MemoModel`` (the replay's model calls are the
encoder's, remembered). The gain at equal rate is the spec's PSNR interpolated (linear in
log₂ bpp) at the UNet's own rates, minus the UNet's PSNR.

Measured 2026-12-06 (``results/model_ensemble.json``; loaded 2-core machine, load 6-12).
Denoising PSNR (dB) on the unseen china + flower crops, gain over the UNet S in brackets, with
``gmm-shift`` = the photograph prior (K = 16, since commit 76b094b) and both tables refitted
for it (key ``denoise``)::

    t      UNet S   UNet x4 (rot)  UNet x8        gmm-shift x4   unet-x4+gmm    unet+gmm
    0.01   45.97    46.06 (+0.08)  46.06 (+0.09)  46.88 (+0.91)  46.80 (+0.83)  46.82 (+0.85)
    0.05   34.62    34.75 (+0.12)  34.76 (+0.14)  34.73 (+0.10)  34.89 (+0.27)  34.90 (+0.28)
    0.1    30.42    30.57 (+0.15)  30.58 (+0.16)  30.35 (-0.07)  30.63 (+0.21)  30.65 (+0.23)
    0.2    26.27    26.51 (+0.24)  26.53 (+0.26)  26.44 (+0.18)  26.60 (+0.34)  26.63 (+0.36)
    0.4    22.26    22.46 (+0.20)  22.46 (+0.19)  22.94 (+0.67)  22.92 (+0.65)  22.91 (+0.65)
    0.8    19.29    19.41 (+0.13)  19.42 (+0.13)  19.83 (+0.55)  19.71 (+0.43)  19.70 (+0.41)
    1.6    17.52    17.70 (+0.17)  17.71 (+0.19)  17.45 (-0.07)  17.73 (+0.21)  17.74 (+0.21)
    3.2    16.40    16.54 (+0.14)  16.54 (+0.14)  14.66 (-1.75)  16.55 (+0.15)  16.55 (+0.15)

Held-out crops (what the tables were fitted on): unet-x4+gmm +0.25..+0.80 dB over the UNet at
every level, +0.04..+0.14 dB over the better of its two members for t <= 0.8. CPU seconds per call
(one process), 128² / 256²: UNet 0.24 / 1.30, gmm-shift (K = 16) 0.35 / 1.17, unet-x4 0.81 /
4.5, unet-x8 1.44 / 10.0, unet-x4+gmm 1.0 / 6.4, unet+gmm 2.6 / 18.0 (one call each for the
ensembles: ±20 % at this load). The spec called directly equals the combination of the
per-transform outputs exactly (max |diff| 0 at t = 0.1).

With the K = 8 patch prior then shipped as ``gmm-shift`` (now ``gmm-shift-skimage``) and the
tables fitted for it (key ``denoise_k8_prior``)::

    t      UNet S   UNet x4 (rot)  UNet x8        gmm-shift x4   unet-x4+gmm    unet+gmm
    0.01   45.97    46.06 (+0.08)  46.06 (+0.09)  46.74 (+0.76)  46.62 (+0.65)  46.63 (+0.66)
    0.05   34.62    34.75 (+0.12)  34.76 (+0.14)  34.35 (-0.27)  34.77 (+0.15)  34.80 (+0.17)
    0.1    30.42    30.57 (+0.15)  30.58 (+0.16)  29.93 (-0.49)  30.55 (+0.13)  30.58 (+0.15)
    0.2    26.27    26.51 (+0.24)  26.53 (+0.26)  26.05 (-0.22)  26.47 (+0.21)  26.50 (+0.23)
    0.4    22.26    22.46 (+0.20)  22.46 (+0.19)  22.68 (+0.42)  22.72 (+0.46)  22.74 (+0.48)
    0.8    19.29    19.41 (+0.13)  19.42 (+0.13)  19.79 (+0.50)  19.67 (+0.38)  19.66 (+0.37)
    1.6    17.52    17.70 (+0.17)  17.71 (+0.19)  17.59 (+0.07)  17.70 (+0.18)  17.71 (+0.19)
    3.2    16.40    16.54 (+0.14)  16.54 (+0.14)  14.87 (-1.54)  16.54 (+0.14)  16.54 (+0.14)

The 4 rotations give all but 0.01-0.02 dB of the 8 transforms (both priors), at half the
cost: the reason for the ``unet-x4+gmm`` spec. CPU per call with the K = 8 prior, 128² / 256²:
gmm-shift 0.17 / 0.65, unet+gmm 2.4 / 11.5.

Codec, same K = 8 prior (runs stopped by the coordinator to leave the official end-to-end
comparison to ``image_vs_classical.py``; rows kept under ``codec_k8_prior``), ρ = 1,
bpp / PSNR dB: flower 0.25 target: UNet 0.212 / 18.83, unet+gmm 0.204 / 19.01, unet-x4+gmm
0.206 / 19.11; china 0.25: UNet 0.229 / 18.49, unet+gmm 0.231 / 18.87, unet-x4+gmm 0.228 /
18.78; flower 0.5: UNet 0.483 / 20.93, unet-x4+gmm 0.450 / 21.26; china 0.5: UNet 0.421 /
20.02, unet-x4+gmm 0.415 / 20.42. Encode / decode CPU per crop at 0.25 bpp: UNet 11 / 5 s,
unet-x4+gmm 26-28 / 25 s, unet+gmm 45-47 / 52-57 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "results" / "model_ensemble.json"
T_EVAL = (0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
SEED = 1206
UNET_SETS = ("identity", "flip", "rot4", "x8")
GMM_SETS = ("identity", "rot4")


def _psnr(est: np.ndarray, x: np.ndarray) -> float:
    """PSNR (dB) of model-space images (peak-to-peak 2) over the pooled MSE."""
    return float(10.0 * np.log10(4.0 / np.mean((est - x) ** 2)))


def eval_sets() -> dict[str, np.ndarray]:
    """The unseen china/flower 128² crops and the held-out fitting crops, model space."""
    from rdptheory.data import bundled_image, center_crop, to_model_space
    from rdptheory.models.data import holdout_crops, split_holdout, training_photographs
    from rdptheory.models.ensemble import FIT_CROP, FIT_PER_IMAGE

    unseen = np.stack([to_model_space(center_crop(bundled_image(n).pixels, 128))
                       for n in ("china", "flower")]).astype(np.float64)
    held = holdout_crops([split_holdout(p) for p in training_photographs()], size=FIT_CROP,
                         per_image=FIT_PER_IMAGE).astype(np.float64)
    return {"unseen": unseen, "heldout": held}


def transformed_outputs(model: Any, y: np.ndarray, t2: float,
                        transforms: tuple) -> dict[tuple, np.ndarray]:
    """``g⁻¹ D(g y)`` for every transform, one image at a time (the codec's batch of 1)."""
    from rdptheory.models.ensemble import apply_transform, invert_transform

    out = {}
    for g in transforms:
        out[g] = np.concatenate([invert_transform(np.asarray(model.denoise(
            apply_transform(y[i:i + 1], g), t2), dtype=np.float64), g)
            for i in range(y.shape[0])])
    return out


def denoise_part() -> dict:
    from rdptheory.models import load_model
    from rdptheory.models.ensemble import (
        DIHEDRAL,
        SHIPPED_BLENDS,
        TRANSFORM_SETS,
        blend_table_path,
        fit_convex_weights,
        read_blend_file,
    )

    unet, gmm = load_model("unet"), load_model("gmm-shift")
    tables = {spec: read_blend_file(blend_table_path(spec))[1] for spec in SHIPPED_BLENDS}
    sets = eval_sets()
    rows = []
    for i, t in enumerate(T_EVAL):
        c0, w0 = time.process_time(), time.perf_counter()
        ests: dict[str, dict[str, np.ndarray]] = {}
        xs, ys = {}, {}
        for j, (name, x) in enumerate(sets.items()):
            rng = np.random.default_rng(np.random.SeedSequence([SEED, i, j]))
            y = x + t * rng.standard_normal(x.shape)
            xs[name], ys[name] = x, y
            u = transformed_outputs(unet, y, t * t, DIHEDRAL)
            g = transformed_outputs(gmm, y, t * t, TRANSFORM_SETS["rot4"])
            e = {f"unet-{s}": sum(u[tr] for tr in TRANSFORM_SETS[s]) / len(TRANSFORM_SETS[s])
                 for s in UNET_SETS}
            e.update({f"gmm-{s}": sum(g[tr] for tr in TRANSFORM_SETS[s]) / len(TRANSFORM_SETS[s])
                      for s in GMM_SETS})
            ests[name] = e
        row: dict[str, Any] = {"t": t, "psnr": {}, "weights": {}}
        for name in sets:
            row["psnr"][name] = {k: _psnr(v, xs[name]) for k, v in ests[name].items()}
            row["psnr"][name]["noisy"] = _psnr(ys[name], xs[name])
        for us in UNET_SETS:
            for gs in GMM_SETS:
                key = f"unet-{us}+gmm-{gs}"
                w = fit_convex_weights(np.stack([ests["heldout"][f"unet-{us}"],
                                                 ests["heldout"][f"gmm-{gs}"]]), xs["heldout"])
                row["weights"][key] = w.tolist()
                for name in sets:
                    blend = w[0] * ests[name][f"unet-{us}"] + w[1] * ests[name][f"gmm-{gs}"]
                    row["psnr"][name][key] = _psnr(blend, xs[name])
        for spec, table in tables.items():
            ws = table.weights_at([t * t])[0]
            ku, kg = (f"{m}-{tr}" for m, tr in zip(("unet", "gmm"), SHIPPED_BLENDS[spec][2]))
            row["weights"][f"shipped {spec}"] = ws.tolist()
            for name in sets:
                blend = ws[0] * ests[name][ku] + ws[1] * ests[name][kg]
                row["psnr"][name][f"shipped {spec}"] = _psnr(blend, xs[name])
            if t == 0.1:  # the spec itself against the combination above
                model = load_model(spec)
                direct = np.concatenate([model.denoise(ys["unseen"][k:k + 1], t * t)
                                         for k in range(2)])
                want = ws[0] * ests["unseen"][ku] + ws[1] * ests["unseen"][kg]
                row[f"spec_check_max_abs_diff {spec}"] = float(np.abs(direct - want).max())
        row["wall_s"], row["cpu_s"] = time.perf_counter() - w0, time.process_time() - c0
        rows.append(row)
        print(f"t={t:g} " + " ".join(f"{k}={v:.2f}" for k, v in row["psnr"]["unseen"].items()),
              flush=True)
    return {"levels": rows, "timing": timing(),
            "members": {m.name: m.fingerprint().hex() for m in (unet, gmm)},
            "tables_fitted_for":
            {spec: read_blend_file(blend_table_path(spec))[0] for spec in SHIPPED_BLENDS}}


def timing() -> dict:
    """Seconds per denoise call (wall, CPU) at 128² and 256² on a noisy china crop."""
    from rdptheory.data import bundled_image, center_crop, to_model_space
    from rdptheory.models import load_model

    out: dict[str, dict] = {}
    for size in (128, 256):
        x = to_model_space(center_crop(bundled_image("china").pixels, size))[None]
        y = x + 0.2 * np.random.default_rng(0).standard_normal(x.shape)
        for spec in ("unet", "gmm-shift", "unet-x4", "unet-x8", "unet-x4+gmm", "unet+gmm"):
            model = load_model(spec)
            reps = 3 if spec in ("unet", "gmm-shift") else 1
            walls, cpus = [], []
            model.denoise(y[..., :32, :32], 0.04)  # warm-up
            for _ in range(reps):
                w0, c0 = time.perf_counter(), time.process_time()
                model.denoise(y, 0.04)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
            out.setdefault(spec, {})[str(size)] = {"wall_s": float(np.median(walls)),
                                                   "cpu_s": float(np.median(cpus))}
            print(f"{spec} {size}: {out[spec][str(size)]}", flush=True)
    return out


def _codec_job(args: tuple) -> list[dict]:
    spec, name, bpps, ode_steps = args
    from rdptheory import metrics
    from rdptheory.data import bundled_image, center_crop
    from rdptheory.experiments.image_report import MemoModel
    from rdptheory.images.codec import compress_with_report, decompress
    from rdptheory.models import load_model

    base = load_model(spec)
    px = center_crop(bundled_image(name).pixels, 128)
    rows = []
    for bpp in bpps:
        model = MemoModel(base, max_bytes=1 << 30)
        c0 = time.process_time()
        res = compress_with_report(px, model=model, bpp=bpp)
        enc_cpu = time.process_time() - c0
        w0, c0 = time.perf_counter(), time.process_time()
        out = decompress(res.data, model=model, rho=1.0, ode_steps=ode_steps)
        rows.append({"spec": spec, "image": name, "target_bpp": bpp, "bpp": res.bpp,
                     "steps": res.n_steps, "psnr": metrics.psnr(px, out),
                     "encode_s": res.seconds, "encode_cpu_s": enc_cpu,
                     "decode_s": time.perf_counter() - w0,
                     "decode_cpu_s": time.process_time() - c0})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def equal_rate_gain(rows: list[dict], spec: str, ref: str = "unet") -> dict:
    """Per image: the spec's PSNR (linear in log₂ bpp) at the reference's rates, minus the
    reference's PSNR (dB); None outside the spec's rate range."""
    out: dict[str, list] = {}
    for name in sorted({r["image"] for r in rows}):
        a = sorted((r["bpp"], r["psnr"]) for r in rows if r["spec"] == spec and
                   r["image"] == name)
        b = sorted((r["bpp"], r["psnr"]) for r in rows if r["spec"] == ref and
                   r["image"] == name)
        la = np.log2([p for p, _ in a])
        gains = []
        for bpp, ps in b:
            lb = np.log2(bpp)
            gains.append(None if not la[0] <= lb <= la[-1] else
                         float(np.interp(lb, la, [q for _, q in a]) - ps))
        out[name] = gains
    return out


def codec_part(specs: list[str], bpps: list[float], images: list[str], jobs: int,
               ode_steps: int) -> dict:
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(s, n, tuple(bpps), ode_steps) for s in specs for n in images]
    w0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        rows = [r for part in pool.map(_codec_job, tasks) for r in part]
    return {"rows": rows, "rho": 1.0, "ode_steps": ode_steps, "wall_s": time.perf_counter() - w0,
            "gain_db_at_unet_rates": {s: equal_rate_gain(rows, s) for s in specs
                                      if s != "unet"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=("denoise", "codec"))
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    parser.add_argument("--specs", nargs="+", default=["unet", "unet+gmm"])
    parser.add_argument("--bpp", nargs="+", type=float, default=[0.25, 0.5, 1.0])
    parser.add_argument("--images", nargs="+", default=["china", "flower"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--ode-steps", type=int, default=12)
    args = parser.parse_args()
    w0 = time.perf_counter()
    result = denoise_part() if args.part == "denoise" else codec_part(
        args.specs, args.bpp, args.images, args.jobs, args.ode_steps)
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                         "load_avg": os.getloadavg(), "wall_s": time.perf_counter() - w0}
    doc = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.part == "codec" and "codec" in doc:  # keep the rows of other specs
        rows = [r for r in doc["codec"]["rows"] if r["spec"] not in args.specs] + result["rows"]
        result["rows"] = rows
        result["gain_db_at_unet_rates"] = {s: equal_rate_gain(rows, s) for s in
                                           sorted({r["spec"] for r in rows}) if s != "unet"}
    doc[args.part] = result
    args.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
