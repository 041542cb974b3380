"""Shaped vs isotropic noise through the real image codec API (issue 15 item 4).

    .venv/bin/python benchmarks/shaped_codec.py [--size 128] [--images china flower]
        [--bpp 1.4] [--ladders perception] [--ode-steps 24]
        [--out benchmarks/results/shaped_codec.json]

Unlike ``benchmarks/shaped_images.py`` (which drives the progressive codec directly and adds
the recipe bytes by hand), every number here comes from the files the package writes: one
:func:`rdptheory.images.compress_with_report` per crop and noise (tiled patch GMM, the default
``CodecConfig`` ladder, ``--bpp`` budget, seed 1), every prefix made with
:func:`rdptheory.images.truncate` and decoded with :func:`rdptheory.images.decompress` at
ρ = 1 (and, for shaped files at the prefixes nearest 0.25/0.5/1 bpp, with the per-direction
ρ_i at ρ = 1.5 against the single ρ = 1.5). Rate = ``8·len(file)/(H·W)``, the whole RDPI
file (header with the shaping recipe, CRCs). Reported: PSNR per prefix, BD-rate (PCHIP,
percent, negative = fewer bits) of each shaped ladder against the isotropic chain at the same
ρ, over the prefixes between 0.2 and 1.2 bpp, per crop and mean; BD-rate of each against JPEG
(Pillow ``optimize=True``); the 4×4 patch Fréchet distance at the prefix nearest 0.25/0.5/1
bpp. ``--combine`` pools runs made one image at a time. ``--targets`` decodes only the
prefixes nearest the given rates; ``--reuse`` takes the isotropic rows of an earlier results
JSON (isotropic files are byte for byte those of RDPI v5 apart from the version byte, checked
on the goldens), so only the shaped chain is re-measured after a change of its layout. Rows
carry the prefix's chain KL and the file's bits per KL bit (``bits_per_kl``).

Measured figures: see the module's results JSON and CHANGELOG.md (issue 15 item 4).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

TARGETS = (0.25, 0.5, 1.0)
LO, HI = 0.2, 1.2


def run_crop(name: str, size: int, bpp: float, ladders: list[str], ode_steps: int,
             seed: int, targets: list[float] | None = None, reuse: dict | None = None) -> dict:
    from rdptheory.data import bundled_image, center_crop
    from rdptheory.images import CodecConfig, compress_with_report, decompress, truncate
    from rdptheory.metrics.image import psnr
    from rdptheory.models import load_model

    model = load_model("patch-gmm")
    img = center_crop(bundled_image(name).pixels, size)
    out: dict = {"image": name, "size": size, "noises": {}, "_original": img, "_recs": {}}
    for kind in ["isotropic", *ladders]:
        if reuse is not None and kind in reuse["noises"]:  # rows of an earlier run, same files
            out["noises"][kind] = reuse["noises"][kind]
            continue
        cfg = (CodecConfig() if kind == "isotropic"
               else CodecConfig(noise="shaped", ladder=kind))
        res = compress_with_report(img, model=model, bpp=bpp, seed=seed, config=cfg)
        out["config"] = {"t_max": cfg.t_max, "t_min": cfg.t_min, "n_levels": cfg.n_levels}
        rows = []
        rates = {k: 8 * len(res.data if k == res.n_steps else truncate(res.data, k)) / size**2
                 for k in range(1, res.n_steps + 1)}
        chosen = (None if targets is None else
                  {min(rates, key=lambda k: abs(rates[k] - t)) for t in targets})
        for k in range(1, res.n_steps + 1):
            data = res.data if k == res.n_steps else truncate(res.data, k)
            rate = 8 * len(data) / size**2
            if rate > HI * 1.25:
                break
            if rate < 0.6 * LO or (chosen is not None and k not in chosen):
                continue  # below every figure's range, or not a chosen prefix: not decoded
            t0 = time.perf_counter()
            rec = decompress(data, model=model, rho=1.0, ode_steps=ode_steps)
            row = {"steps": k, "bpp": rate, "bytes": len(data), "psnr_rho1": psnr(img, rec),
                   "decode_seconds": time.perf_counter() - t0}
            out["_recs"][(kind, k)] = rec
            rows.append(row)
        near = {min(rows, key=lambda r: abs(r["bpp"] - t))["steps"] for t in TARGETS}
        for row in rows if kind != "isotropic" else []:
            if row["steps"] in near:
                k = row["steps"]
                data = res.data if k == res.n_steps else truncate(res.data, k)
                single = decompress(data, model=model, rho=1.5, ode_steps=ode_steps)
                per = decompress(data, model=model, rho=1.5, ode_steps=ode_steps,
                                 per_direction=True)
                row.update(psnr_rho15_single=psnr(img, single),
                           psnr_rho15_per_direction=psnr(img, per))
        for row in rows:  # chain KL of the prefix and the file's bits per KL bit
            row["kl_bits"] = float(sum(res.kl_bits[:row["steps"]]))
            row["bits_per_kl"] = 8 * row["bytes"] / row["kl_bits"]
        out["noises"][kind] = {"encode_seconds": res.seconds, "n_steps": res.n_steps,
                               "kl_bits": sum(res.kl_bits), "rows": rows}
        print(f"{name} {kind:10s} {res.n_steps:2d} steps, encode {res.seconds:.0f} s: " +
              ", ".join(f"{r['bpp']:.3f}/{r['psnr_rho1']:.2f}" for r in rows), flush=True)
    return out


def bd_pct(ref: list[tuple[float, float]], test: list[tuple[float, float]]) -> float | str:
    """BD-rate (%) of ``test`` vs ``ref`` ((bpp, PSNR) points), or why it is undefined."""
    from rdptheory.metrics.image import bd_rate

    try:
        return float(bd_rate([p[0] for p in ref], [p[1] for p in ref], [p[0] for p in test],
                             [p[1] for p in test]))
    except ValueError as exc:
        return f"n/a: {exc}"


def summarise(crops: list[dict]) -> dict:
    from rdptheory.experiments.baselines import quality_sweep
    from rdptheory.metrics.image import image_patches, psnr
    from rdptheory.metrics.w2 import frechet_distance

    def curve(c: dict, kind: str, key: str = "psnr_rho1") -> list[tuple[float, float]]:
        return [(r["bpp"], r[key]) for r in c["noises"][kind]["rows"]
                if LO <= r["bpp"] <= HI and key in r]

    summary: dict = {"bd_rate_vs_isotropic_rho1": {}, "bd_rate_vs_jpeg_rho1": {},
                     "per_direction_rho15_vs_single": {}, "frechet_4x4_rho1": {}}
    for c in crops:
        sweep = quality_sweep(c["_original"], "jpeg", n=16)
        jpeg = [(s.bpp, psnr(c["_original"], s.reconstruction)) for s in sweep]
        for kind in c["noises"]:
            summary["bd_rate_vs_jpeg_rho1"].setdefault(kind, {})[c["image"]] = bd_pct(
                jpeg, curve(c, kind))
            if kind != "isotropic":
                summary["bd_rate_vs_isotropic_rho1"].setdefault(kind, {})[c["image"]] = bd_pct(
                    curve(c, "isotropic"), curve(c, kind))
                summary["per_direction_rho15_vs_single"].setdefault(kind, {})[c["image"]] = [
                    (r["bpp"], r["psnr_rho15_single"], r["psnr_rho15_per_direction"])
                    for r in c["noises"][kind]["rows"] if "psnr_rho15_single" in r]
    for table in ("bd_rate_vs_isotropic_rho1", "bd_rate_vs_jpeg_rho1"):
        for per in summary[table].values():
            vals = [v for v in per.values() if isinstance(v, float)]
            per["mean"] = float(np.mean(vals)) if len(vals) == len(crops) else None
    for kind in crops[0]["noises"]:
        if any((kind, r["steps"]) not in c["_recs"] for c in crops
               for r in c["noises"][kind]["rows"]):
            continue  # rows reused from an earlier run: no reconstructions here
        for t in TARGETS:
            origs, recs, rates = [], [], []
            for c in crops:
                r = min(c["noises"][kind]["rows"], key=lambda r: abs(r["bpp"] - t))
                origs.append(c["_original"])
                recs.append(c["_recs"][(kind, r["steps"])])
                rates.append(r["bpp"])
            fd = frechet_distance(image_patches(origs, 4), image_patches(recs, 4))
            summary["frechet_4x4_rho1"].setdefault(kind, {})[str(t)] = {
                "bpp": float(np.mean(rates)), "frechet": float(fd)}
    return summary


def _combine(paths: list[Path], out: Path, note: str = "") -> int:
    runs = [json.loads(p.read_text()) for p in paths]
    merged: dict = {"runs": [str(p) for p in paths], "note": note,
                    "settings": [run["settings"] for run in runs], "summary": {}}
    for table in ("bd_rate_vs_isotropic_rho1", "bd_rate_vs_jpeg_rho1",
                  "per_direction_rho15_vs_single", "frechet_4x4_rho1"):
        for run in runs:
            for kind, per in run["summary"][table].items():
                dest = merged["summary"].setdefault(table, {}).setdefault(kind, {})
                dest.update({k: v for k, v in per.items() if k != "mean"}
                            if table != "frechet_4x4_rho1" else {run["crops"][0]["image"]: per})
        if table.startswith("bd_rate"):
            for per in merged["summary"][table].values():
                vals = [v for v in per.values() if isinstance(v, float)]
                per["mean"] = float(np.mean(vals)) if len(vals) == len(runs) else None
    merged["crops"] = [c for run in runs for c in run["crops"]]
    out.write_text(json.dumps(merged, indent=1, default=float))
    print(json.dumps(merged["summary"], indent=1, default=float))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--images", nargs="+", default=["china", "flower"])
    ap.add_argument("--bpp", type=float, default=1.4, help="encode budget (prefixes below)")
    ap.add_argument("--ladders", nargs="+", default=["perception"], choices=["mse", "perception"])
    ap.add_argument("--ode-steps", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/shaped_codec.json"))
    ap.add_argument("--combine", type=Path, nargs="+", default=None,
                    help="JSON files of runs made one image at a time: write their BD-rate "
                         "tables side by side with the mean over the images (no coding)")
    ap.add_argument("--note", default="", help="--combine: a note stored with the pooled runs")
    ap.add_argument("--targets", type=float, nargs="+", default=None,
                    help="decode only the prefixes nearest these rates (default: every prefix)")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a results JSON (one run or --combine) whose isotropic rows are taken "
                         "as they are (same images, size, seed, budget; isotropic bytes do not "
                         "depend on the shaped layout)")
    args = ap.parse_args(argv)
    if args.combine:
        return _combine(args.combine, args.out, args.note)
    t0 = time.perf_counter()
    old = {} if args.reuse is None else {c["image"]: {"noises": {
        "isotropic": c["noises"]["isotropic"]}} for c in json.loads(args.reuse.read_text())[
        "crops"]}
    crops = [run_crop(n, args.size, args.bpp, args.ladders, args.ode_steps, args.seed,
                      args.targets, old.get(n)) for n in args.images]
    summary = summarise(crops)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "summary": summary,
        "crops": [{k: v for k, v in c.items() if not k.startswith("_")} for c in crops],
        "seconds": time.perf_counter() - t0}, indent=1, default=float))
    print(json.dumps(summary, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
