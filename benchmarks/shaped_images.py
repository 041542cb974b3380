"""Shaped vs isotropic noise in the real RCC chain of the tiled patch GMM (issue 15 item 2).

    .venv/bin/python benchmarks/shaped_images.py [--size 64] [--images china flower]
        [--levels 32] [--ode-steps 16] [--out benchmarks/results/shaped_images.json]

Unseen crops (scikit-learn china and flower, central ``size²``) are coded by the package's
progressive codec (:func:`rdptheory.codec.progressive.encode_chain`, one RCC step stream) with
the shaped chain model of :mod:`rdptheory.images.shaped_chain` (block DCT 8×8×3, exact shaped
GMM posterior) with three ladders on the same water levels
θ_l = t_l² (t from 5 to 0.05, ``--levels``): ``isotropic`` (snr = 1/t², the codec's chain),
``mse`` (reverse water-filling on the model's DCT variances) and ``perception`` (the D(R, P = 0)
forward channel at the same Gaussian rates). One encoding per crop and ladder runs to the end
of the ladder; every prefix is a lower-rate file (progressive). Rate = real bytes: the RCC
payload plus the RDPI container of the image codec (header with the ladder, CRCs) plus 6
bytes for the shaping recipe (ladder and basis ids, P) that a shaped header adds.

Decoders at every prefix: the posterior mean (MMSE end), the score-scaled ODE with ρ = 1
(probability flow; equal to the per-direction rule at P = 0); at the prefixes nearest
0.25/0.5/1/2 bpp also a middle perception target P = ½ W₂²(MMSE) (Gaussian prediction on the
DCT variances): per-direction ρ_i (:func:`rdptheory.gaussian.per_direction_rho`, the Gaussian
codec's rule) vs the single ρ with the same predicted W₂².

Reported: PSNR curves, BD-rate (PCHIP) of each ladder and decoder vs JPEG (Pillow,
``optimize=True``) per crop and mean, patch Fréchet distance (4×4 patches pooled over the
crops; 64² crops have too few 8×8 patches for a 192-d Fréchet) at the points nearest each
target rate, and the chain's KL vs payload. ``--merge a.json b.json`` pools runs made one image
at a time (each writes its reconstructions to a ``.npz`` beside its JSON).

Measured 2026-12-06 (``benchmarks/results/shaped_images.json``; china and flower run as
separate processes on the shared 2-core box at load 15-18, then ``--merge``d; 64² crops, 32
levels, 16 ODE steps, seed 1). ``+sent``: :class:`~rdptheory.images.shaped_chain.SentStepCoder`
(RCC over the sent coefficients only); without it DiffC's split also spans the unsent ones.
BD-rate (PCHIP, percent, negative = fewer bits) of the shaped chain against the isotropic
chain with the same decoder, china / flower / mean, in file bytes and in the chain's KL
(ideal channel simulation, no RCC overhead, no header)::

    ladder/decoder          file bytes               KL only
    perception+sent/MMSE    −3.6 / −18.0 / −10.8     −15.1 / −28.3 / −21.7
    perception+sent/ρ=1     −0.4 / −12.6 / −6.5      −9.6 / −23.0 / −16.3
    mse+sent/MMSE           −6.4 / −22.6 / −14.5     −17.1 / −38.9 / −28.0
    mse+sent/ρ=1            +5.0 / −6.3 / −0.6       +2.8 / −20.7 / −8.9
    perception/MMSE         +0.6 / −7.5 / −3.4       −17.9 / −28.9 / −23.4
    perception/ρ=1          +4.2 / −1.9 / +1.2       −12.9 / −24.1 / −18.5
    mse/MMSE                +4.8 / −7.3 / −1.3       −10.7 / −38.1 / −24.4
    mse/ρ=1                 +24.5 / +7.5 / +16.0     +18.5 / −24.7 / −3.1

Against JPEG (each curve over its own PSNR overlap with JPEG's, so rows whose ranges differ
are not comparable: the mse ladder stops at ~20 dB): isotropic +6.5 % (MMSE) / +0.1 % (ρ = 1),
perception+sent −1.7 % / −2.2 %. Where the bytes go (china, step 18): isotropic KL 0.69 bpp,
payload 0.95, file 1.03; perception+sent KL 0.30, payload 0.40, file 0.49 (the container is
~45 bytes = 0.09 bpp on a 64² crop). Shaped payloads are 1.3-1.6× their KL, the isotropic
one 1.2-1.4×: the shaped steps' KL is concentrated on few coefficients, which DiffC's equal
split codes badly (rcc package docstring: heavy-tailed per-coordinate KL). The mse ladder
stops early (china after 21 steps at ~0.9 bpp, flower after 30-31): a coefficient the GMM is
confidently wrong about gets a step of > 24 bits of KL (``rcc.StepTooLarge``; e.g. a DCT
coefficient 8 prior standard deviations out). Patch Fréchet (4×4, pooled) at ρ = 1 near
0.25/0.5/1/2 bpp: isotropic .0054/.0030/.0016/.0008, perception+sent .0059/.0033/.0019/.0011
(at 0.25/0.48/0.95/1.85 bpp): 10-35 % worse realism. Per-direction ρ_i vs one ρ at the middle
target P = ½ W₂²(MMSE): the single ρ is as good or better everywhere (e.g. perception+sent at
1 bpp: 20.48 dB / FD .0040 per direction, 20.54 dB / .0038 single): on the GMM the
per-direction rule adds nothing.
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

TARGETS = (0.25, 0.5, 1.0, 2.0)
RECIPE_BYTES = 6


def _file_bytes(payload_len: int, h: int, w: int, n_steps: int, levels: int) -> int:
    """Bytes of the RDPI container around a payload of ``payload_len`` bytes."""
    from rdptheory.images import _format

    head = _format.StreamHeader(b"\0" * _format.FINGERPRINT_BYTES, h, w, 3 * h * w, 1, 5.0,
                                0.05, levels, n_steps, 8.0)
    return len(_format.pack_stream(_format.ImageStream(head, b"\0" * payload_len)))


def _single_rho(lam: np.ndarray, t2: np.ndarray, target: float) -> float:
    """The one ρ whose Gaussian-predicted W₂² equals ``target``."""
    from scipy.optimize import brentq

    from rdptheory.gaussian import score_scaled_point

    def f(r: float) -> float:
        return float(score_scaled_point(lam, t2, r).perception_value) - target

    return float(brentq(f, 1.0, 2.0, xtol=1e-10))


def run_crop(name: str, size: int, levels: int, ode_steps: int, seed: int,
             ladders: tuple[str, ...] = ("isotropic", "mse", "perception"),
             coder_kind: str = "all") -> dict:
    from rdptheory import rcc
    from rdptheory.codec import progressive
    from rdptheory.data import bundled_image, center_crop, from_model_space, to_model_space
    from rdptheory.gaussian import per_direction_rho, score_scaled_point
    from rdptheory.images import shaped_chain as sc
    from rdptheory.metrics.image import psnr
    from rdptheory.models.prior import load_prior

    gmm = load_prior()
    model, lam = sc.shaped_model(gmm)
    cm = sc.ShapedChainModel(model)
    img = center_crop(bundled_image(name).pixels, size)
    xb = model.to_basis(sc.to_patches(to_model_space(img), gmm.patch))

    def image_of(x: np.ndarray) -> np.ndarray:
        return from_model_space(sc.from_patches(model.from_basis(x), 3, size, size, gmm.patch))

    out: dict = {"image": name, "size": size, "ladders": {}}
    for kind in ladders:
        lv = sc.chain_levels(sc.ladder_snr(sc.ShapingRecipe(kind, n_levels=levels), lam))
        coder = (progressive.DiffCStepCoder(seed=seed, max_chunk_bits=8.0) if coder_kind == "all"
                 else sc.SentStepCoder(lv, xb.shape[0], seed=seed, max_chunk_bits=8.0))
        t0 = time.perf_counter()
        res = progressive.encode_chain(xb, cm, lv, coder)
        secs = time.perf_counter() - t0
        n = len(res.symbols)
        stop = "ladder" if n == len(lv) else "chunk"
        extra = RECIPE_BYTES if kind != "isotropic" else 0
        sizes = [len(rcc.write_steps(res.symbols[: k + 1], 8.0)) for k in range(n)]
        bpps = [8 * (_file_bytes(b, size, size, k + 1, levels) + extra) / size**2
                for k, b in enumerate(sizes)]
        near = {int(np.argmin(np.abs(np.array(bpps) - t))) for t in TARGETS}
        rows = []
        for k in range(n):
            y, t2 = res.states[k], lv[k]
            row = {"steps": k + 1, "bpp": bpps[k],
                   "kl_bpp": sum(coder.kl_bits[: k + 1]) / size**2,
                   "payload_bpp": 8 * sizes[k] / size**2,
                   "sent": int((t2 < 0.5 * sc.T_DEAD2).sum())}
            rec = {"mmse": image_of(sc.decode_ode(model, y, t2, None))}
            if 0.1 <= bpps[k] <= 3.0:
                rec["rho1"] = image_of(sc.decode_ode(model, y, t2, 1.0, steps=ode_steps))
            if k in near:
                p_mid = 0.5 * float(score_scaled_point(lam, t2, 2.0).perception_value)
                rho_i = np.asarray(per_direction_rho(p_mid, lam, t2), dtype=float).ravel()
                rho_1 = _single_rho(lam, t2, p_mid)
                row.update(p_mid=p_mid, rho_single=rho_1, rho_i_min=float(rho_i.min()),
                           rho_i_max=float(rho_i.max()))
                rec["mid_per_direction"] = image_of(sc.decode_ode(model, y, t2, rho_i,
                                                                  steps=ode_steps))
                rec["mid_single"] = image_of(sc.decode_ode(model, y, t2, rho_1,
                                                           steps=ode_steps))
            for dec, im in rec.items():
                row[f"psnr_{dec}"] = psnr(img, im)
            row["_recs"] = rec
            rows.append(row)
        key = kind if coder_kind == "all" or kind == "isotropic" else f"{kind}+sent"
        out["ladders"][key] = {"encode_seconds": secs, "stop": stop, "rows": rows}
        print(f"{name} {kind:10s} {n:3d} steps ({stop}), {secs:.0f} s: " + ", ".join(
            f"{r['bpp']:.2f}/{r['psnr_mmse']:.2f}" for r in rows), flush=True)
    out["_original"] = img
    return out


def summarise(crops: list[dict]) -> dict:
    from rdptheory.experiments.baselines import quality_sweep
    from rdptheory.metrics.image import bd_rate, image_patches, psnr
    from rdptheory.metrics.w2 import frechet_distance

    summary: dict = {"bd_rate_vs_jpeg": {}, "frechet": {}, "jpeg": {}}
    for c in crops:
        sweep = quality_sweep(c["_original"], "jpeg", n=16)
        jr = [s.bpp for s in sweep]
        jp = [psnr(c["_original"], s.reconstruction) for s in sweep]
        summary["jpeg"][c["image"]] = list(zip(jr, jp, strict=True))  # (bpp, PSNR) sweep
        for kind, lad in c["ladders"].items():
            for dec in ("mmse", "rho1"):
                pts = [(r["bpp"], r[f"psnr_{dec}"]) for r in lad["rows"] if f"psnr_{dec}" in r]
                pts = [p for p in pts if 0.1 <= p[0] <= 3.0]
                try:
                    bd = bd_rate(jr, jp, [p[0] for p in pts], [p[1] for p in pts])
                except ValueError as exc:
                    bd = f"n/a: {exc}"
                summary["bd_rate_vs_jpeg"].setdefault(f"{kind}/{dec}", {})[c["image"]] = bd
    # shaped vs isotropic directly, same decoder: in file bits ("bpp") and in the chain's KL
    # ("kl_bpp", the ideal channel-simulation rate, no RCC overhead, no header)
    for c in crops:
        kinds = [k for k in c["ladders"] if k != "isotropic"]
        for kind in kinds if "isotropic" in c["ladders"] else []:
            for dec in ("mmse", "rho1"):
                for rate, table in (("bpp", "bd_rate_vs_isotropic"),
                                    ("kl_bpp", "bd_rate_vs_isotropic_kl")):
                    curves = []
                    for k in ("isotropic", kind):
                        pts = [(r[rate], r[f"psnr_{dec}"]) for r in c["ladders"][k]["rows"]
                               if f"psnr_{dec}" in r and 0.1 <= r["bpp"] <= 3.0]
                        curves.append(([p[0] for p in pts], [p[1] for p in pts]))
                    lo = max(min(curves[0][1]), min(curves[1][1]))
                    hi = min(max(curves[0][1]), max(curves[1][1]))
                    try:
                        bd = bd_rate(*curves[0], *curves[1])
                    except ValueError as exc:
                        bd = f"n/a: {exc}"
                    key = f"{kind}/{dec}"
                    summary.setdefault(table, {}).setdefault(key, {})[c["image"]] = bd
                    summary.setdefault("psnr_overlap_vs_isotropic", {}).setdefault(key, {})[
                        c["image"]] = [float(lo), float(hi)]
    for table in ("bd_rate_vs_jpeg", "bd_rate_vs_isotropic", "bd_rate_vs_isotropic_kl"):
        for per in summary.setdefault(table, {}).values():
            vals = [v for v in per.values() if isinstance(v, float)]
            per["mean"] = float(np.mean(vals)) if len(vals) == len(crops) else None
    for kind in crops[0]["ladders"]:
        for t in TARGETS:
            for dec in ("mmse", "rho1", "mid_per_direction", "mid_single"):
                origs, recs, bpps, ps = [], [], [], []
                for c in crops:
                    rows = [r for r in c["ladders"][kind]["rows"] if dec in r["_recs"]]
                    if not rows:
                        continue
                    r = min(rows, key=lambda r: abs(r["bpp"] - t))
                    origs.append(c["_original"])
                    recs.append(r["_recs"][dec])
                    bpps.append(r["bpp"])
                    ps.append(r[f"psnr_{dec}"])
                if len(recs) == len(crops):
                    fd = frechet_distance(image_patches(origs, 4), image_patches(recs, 4))
                    summary["frechet"].setdefault(kind, {}).setdefault(str(t), {})[dec] = {
                        "bpp": float(np.mean(bpps)), "psnr": float(np.mean(ps)),
                        "frechet_4x4": float(fd)}
    return summary


def _save(crops: list[dict], path: Path) -> None:
    """Reconstructions and originals beside the JSON (``.npz``), for a later ``--merge``."""
    arrays = {}
    for c in crops:
        arrays[f"{c['image']}/original"] = c["_original"]
        for kind, lad in c["ladders"].items():
            for r in lad["rows"]:
                for dec, im in r["_recs"].items():
                    arrays[f"{c['image']}/{kind}/{r['steps']}/{dec}"] = im
    np.savez_compressed(path.with_suffix(".npz"), **arrays)


def _load(path: Path) -> list[dict]:
    crops = json.loads(path.read_text())["crops"]
    arrays = np.load(path.with_suffix(".npz"))
    for c in crops:
        c["_original"] = arrays[f"{c['image']}/original"]
        for kind, lad in c["ladders"].items():
            for r in lad["rows"]:
                prefix = f"{c['image']}/{kind}/{r['steps']}/"
                r["_recs"] = {k[len(prefix):]: arrays[k] for k in arrays.files
                              if k.startswith(prefix)}
    return crops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--images", nargs="+", default=["china", "flower"])
    ap.add_argument("--levels", type=int, default=32)
    ap.add_argument("--ode-steps", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ladders", nargs="+", default=["isotropic", "mse", "perception"],
                    choices=["isotropic", "mse", "perception"])
    ap.add_argument("--coder", choices=["all", "sent"], default="all",
                    help="all: DiffC step coder over every coefficient (unsent ones at the dead "
                         "level); sent: only the sent coefficients (SentStepCoder; ladder "
                         "keys get '+sent')")
    ap.add_argument("--merge", type=Path, nargs="+", default=None,
                    help="JSON files of earlier runs (one image each, with their .npz): "
                         "pool them into one summary instead of coding")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/shaped_images.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.merge:  # one crop per image; ladders of later files are added
        by_name: dict[str, dict] = {}
        for p in args.merge:
            for c in _load(p):
                if c["image"] in by_name:
                    by_name[c["image"]]["ladders"].update(c["ladders"])
                else:
                    by_name[c["image"]] = c
        crops = list(by_name.values())
    else:
        crops = [run_crop(n, args.size, args.levels, args.ode_steps, args.seed,
                          tuple(args.ladders), args.coder) for n in args.images]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _save(crops, args.out)
    args.out.write_text(json.dumps({"crops": [  # the rows now, the summary below
        {**c, "_original": None, "ladders": {k: {**lad, "rows": [
            {f: v for f, v in r.items() if f != "_recs"} for r in lad["rows"]]}
            for k, lad in c["ladders"].items()}} for c in crops]}, default=float))
    summary = summarise(crops)
    for table in ("bd_rate_vs_jpeg", "bd_rate_vs_isotropic", "bd_rate_vs_isotropic_kl"):
        for key, per in summary[table].items():
            print(f"{table} {key:22s} " + "  ".join(
                f"{k}={v:+.1f}%" if isinstance(v, float) else f"{k}={v}"
                for k, v in per.items()))
    for kind, per_t in summary["frechet"].items():
        for t, per_dec in per_t.items():
            print(f"{kind:10s} {t:>4s} bpp " + "  ".join(
                f"{d}: {v['bpp']:.2f} bpp {v['psnr']:.2f} dB FD {v['frechet_4x4']:.4f}"
                for d, v in per_dec.items()))
    for c in crops:
        c.pop("_original")
        for lad in c["ladders"].values():
            for r in lad["rows"]:
                r.pop("_recs")
    args.out.write_text(json.dumps({"args": {k: (str(v) if isinstance(v, Path) else
                                                 [str(x) for x in v] if k == "merge" and v
                                                 else v)
                                             for k, v in vars(args).items()},
                                    "seconds": time.perf_counter() - t0, "crops": crops,
                                    "summary": summary}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
