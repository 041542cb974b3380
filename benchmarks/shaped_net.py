"""The shaped-noise UNet (issue 15 item 3): denoising under shaped noise, and the codec with it.

    .venv/bin/python benchmarks/shaped_net.py [--weights DIR] [--size 64]
        [--images china flower] [--bpp 1.2] [--ode-steps 12] [--targets 0.2 0.3 ...]
        [--skip-codec | --skip-denoise] [--runs ...] [--rhos 1 2] [--save-recs DIR]
        [--out benchmarks/results/shaped_net.json]
    .venv/bin/python benchmarks/shaped_net.py --merge A.json B.json ... [--reuse OLD.json]
        --out benchmarks/results/shaped_net_128.json

Two measurements, both with the weights in ``--weights`` (default the shipped
``rdptheory/models/weights_shaped``):

1. **Denoising under shaped noise** (the card's table). Held-out strips of the training
   photographs (18 crops 64×64, :func:`rdptheory.models.data.holdout_crops`) and the unseen
   china/flower (scikit-learn) 64×64 centre crops; per water level ``θ = t²`` the net's own
   family (perception ladder, P = 0, on its table λ: ``family.snr(θ)``), one noise draw
   (seed 1234) ``w = √snr x^B + ε``; PSNR (8-bit, peak 255) of: the per-coefficient linear
   MMSE (Wiener, the table's μ, λ), the tiled patch GMM's exact shaped posterior mean
   (:meth:`rdptheory.images.shaped.ShapedGMM.posterior_scaled`, the shipped prior, the same
   observation) and the net.
2. **The codec** (real bytes through :func:`rdptheory.images.compress_with_report`, every
   prefix a :func:`rdptheory.images.truncate` file, rate = ``8·len(file)/(H·W)``): the
   isotropic chain with the shipped UNet S (``load_model("unet")``, default ``CodecConfig``)
   against the shaped chain with the shaped net (``CodecConfig(noise="shaped")``: perception
   ladder, P = 0, block DCT), one encode per crop to ``--bpp``, the prefixes nearest
   ``--targets`` (default :data:`TARGETS`) decoded at ρ = 1 and ρ = 2 (the ODE's MMSE end)
   with ``--ode-steps`` Heun steps. BD-rate (PCHIP, percent, negative = fewer bits, over the
   overlapping PSNR range) of shaped vs isotropic and of each against Pillow JPEG
   (``optimize=True``) and WebP (``method=6``), 16-quality sweeps on the same crop in the same
   run. Each row also records the prefix's chain KL and the file's bits per KL bit.
   With ``--save-recs`` the ρ = 1 decodes are kept (npz per crop) and the **patch Fréchet
   distance** (:func:`frechet_table`: 8×8 patches as ``benchmarks/image_vs_classical.py``,
   4×4 as ``benchmarks/shaped_codec.py``, pooled over the crops, originals vs decodes) of each
   net at the prefixes nearest the targets is computed, with WebP and JPEG at the target rates.
   ``--merge`` pools the JSONs of processes run per image and per net (``--runs``) with their
   decodes; rows byte-identical to a ``--reuse`` JSON's take the ρ = 2 PSNR a ``--rhos 1`` run
   skipped from it.

Measured figures: ``benchmarks/results/shaped_net.json`` (64², RDPI 5) and the card
``rdptheory/models/weights_shaped/MODEL_CARD.md``. RDPI 6 (stratified layout of shaped
steps), 128² china/flower, ``--bpp 1.1 --ode-steps 8 --targets 0.25 0.5 1.0``
(``benchmarks/results/shaped_net_128.json``), BD-rate %, mean of the two crops:

=======================  ===========  ===========
                         ρ = 1        ρ = 2
=======================  ===========  ===========
shaped vs isotropic      −12.9        −35.7
isotropic vs JPEG        +4.3         +53.0
shaped vs JPEG           −7.1         +1.8
isotropic vs WebP        +79.6        +147.9
shaped vs WebP           +62.3        +81.1
=======================  ===========  ===========

(china / flower shaped vs isotropic at ρ = 1: −15.5 / −10.2; three prefixes per curve.)

Realism at ρ = 1 (rerun 2026-12-07 00:00 UTC, one process per crop and net, ``--rhos 1
--save-recs``, merged with ``--reuse`` of the first run: all 12 rows byte-identical to it,
same PSNR, so its ρ = 2 figures are kept). Patch Fréchet distance ×10³, originals vs ρ = 1
decodes, patches of both crops pooled (8×8: 512 patches of dimension 192; 4×4: 2048 of 48),
mean bpp of the two crops in brackets; WebP / JPEG at the highest quality not above the target
(at 0.25 both sit at their lowest setting, above the target: WebP 0.27 / 0.30 bpp, JPEG
0.29 / 0.28 on china / flower):

======  ====================  ====================  ====================
target  isotropic UNet S      shaped net            WebP, JPEG
======  ====================  ====================  ====================
0.25    (0.255) 4.86 / 3.82   (0.242) 4.23 / 3.01   3.06 / 2.07, 4.01 / 2.04
0.5     (0.518) 2.70 / 1.98   (0.465) 2.75 / 1.83   1.94 / 1.22, 2.99 / 1.45
1       (0.987) 1.32 / 0.84   (1.013) 1.34 / 0.77   0.91 / 0.53, 1.75 / 0.87
======  ====================  ====================  ====================

(8×8 / 4×4.) Paired bootstrap of shaped − isotropic at those rows (200 resamplings of the
patch locations, seed 0), 8×8: −0.63 ± 0.15, +0.05 ± 0.11, +0.02 ± 0.04; 4×4: −0.81 ± 0.11,
−0.16 ± 0.08, −0.07 ± 0.03 (×10³, ± one bootstrap SD). At equal rate (the other net's curve
interpolated in log-log at the isotropic rows' rates, no extrapolation), shaped / isotropic:
8×8 0.84, 0.92, 1.04; 4×4 0.76, 0.82, 0.94. So the shaped net is at least as realistic as
UNet S at 0.25 and 0.5 bpp with both patch sizes and at 1 bpp with 4×4 patches; at 1 bpp with
8×8 patches it is 4 % worse (about one bootstrap SD: not resolved by two crops).

Two more unseen crops (chosen before any result: ``china@-100,-200`` and ``flower@100,200``,
same settings; the latter is a smooth out-of-focus region where JPEG reaches 35-46 dB):
shaped vs isotropic BD-rate at ρ = 1 −9.7 and −68.0 %. Pooled over the four crops
(``results/shaped_net_128_4crops.json``) shaped / isotropic at equal rate: 8×8 0.62, 0.68,
0.89; 4×4 0.52, 0.55, 0.74 (bootstrap differences −1.35 ± 0.09, −0.56 ± 0.06, −0.09 ± 0.02 and
−1.47 ± 0.07, −0.69 ± 0.04, −0.14 ± 0.02, ×10³). Without the smooth crop (three crops,
``results/shaped_net_128_3crops.json``): 8×8 0.81, 0.90, 1.03; 4×4 0.72, 0.78, 0.92 (1 bpp 8×8
difference +0.02 ± 0.03). The decodes lie in the ``--save-recs`` folders named in the
settings (scratch, not in the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shaped_codec import bd_pct  # noqa: E402  (the shaped benchmarks' one BD helper)

LEVELS = (0.04, 0.1, 0.2, 0.4, 0.8, 1.6)
TARGETS = (0.2, 0.3, 0.5, 0.75, 1.05)
RUNS = ("unet/isotropic", "shaped-unet/shaped")


def _blocks(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images -> (N, d, H/8, W/8) block-DCT coefficients."""
    import torch

    from rdptheory.models.shaped_noise import block_dct_basis
    from rdptheory.models.unet import image_to_blocks

    b = torch.from_numpy(block_dct_basis())
    return image_to_blocks(torch.from_numpy(np.asarray(x, np.float64)), b, 8).numpy()


def _images(blocks: np.ndarray) -> np.ndarray:
    import torch

    from rdptheory.models.shaped_noise import block_dct_basis
    from rdptheory.models.unet import blocks_to_image

    b = torch.from_numpy(block_dct_basis())
    return blocks_to_image(torch.from_numpy(blocks), b, 8, 3).numpy()


def denoising_table(net, crops: np.ndarray, seed: int = 1234) -> dict:
    """PSNR of Wiener / tiled GMM (exact shaped posterior) / net per level (module docstring)."""
    from rdptheory.images.shaped_chain import shaped_model
    from rdptheory.models.prior import load_prior
    from rdptheory.models.train import psnr_8bit, wiener_blocks

    gmm_b, _ = shaped_model(load_prior())
    x = np.asarray(crops, dtype=np.float64)
    xb = _blocks(x)
    n, d, h, w = xb.shape
    rng = np.random.default_rng(seed)
    out: dict = {"t": [], "wiener": [], "gmm": [], "net": [], "sent": []}
    for t in LEVELS:
        snr = net.family.snr(t * t)
        wb = np.sqrt(snr)[:, None, None] * xb + rng.standard_normal(xb.shape)
        rows = wb.transpose(0, 2, 3, 1).reshape(-1, d)
        g = gmm_b.posterior_scaled(rows, snr)[0].reshape(n, h, w, d).transpose(0, 3, 1, 2)
        est = {"wiener": wiener_blocks(wb, snr, net.family), "gmm": g,
               "net": np.concatenate([net.denoise_blocks(wb[i:i + 6], snr)
                                      for i in range(0, n, 6)])}
        out["t"].append(t)
        out["sent"].append(int((snr > 0).sum()))
        for k, v in est.items():
            out[k].append(float(psnr_8bit(_images(v), x).mean()))
        print(f"t={t}: sent {out['sent'][-1]:3d}  " + "  ".join(
            f"{k} {out[k][-1]:.2f}" for k in est), flush=True)
    return out


def _crop(name: str, size: int) -> np.ndarray:
    """``size²`` crop of a bundled image: ``"china"`` the centre crop, ``"china@dy,dx"`` the
    crop moved ``dy`` rows and ``dx`` columns from the centre (must stay inside the image)."""
    from rdptheory.data import bundled_image, center_crop

    base, _, off = name.partition("@")
    px = bundled_image(base).pixels
    if not off:
        return center_crop(px, size)
    dy, dx = (int(v) for v in off.split(","))
    h, w = px.shape[:2]
    top, left = (h - size) // 2 + dy, (w - size) // 2 + dx
    if not (0 <= top <= h - size and 0 <= left <= w - size):
        raise ValueError(f"crop {name!r} of side {size} leaves the {h}x{w} image")
    return np.ascontiguousarray(px[top:top + size, left:left + size])


def run_codec(name: str, size: int, bpp: float, ode_steps: int, seed: int, net,
              runs: tuple[str, ...] = RUNS, reuse: dict | None = None,
              targets: tuple[float, ...] = TARGETS, rhos: tuple[float, ...] = (1.0, 2.0)
              ) -> dict:
    from rdptheory.images import CodecConfig, compress_with_report, decompress, truncate
    from rdptheory.metrics.image import psnr
    from rdptheory.models import load_model

    img = _crop(name, size)
    out: dict = {"image": name, "size": size, "runs": {}, "_original": img, "_recs": {}}
    for key in RUNS:
        if key not in runs:
            if reuse is not None and key in reuse.get("runs", {}):
                out["runs"][key] = reuse["runs"][key]
            continue
        model, cfg = ((load_model("unet"), CodecConfig()) if key == "unet/isotropic"
                      else (net, CodecConfig(noise="shaped")))
        res = compress_with_report(img, model=model, bpp=bpp, seed=seed, config=cfg)
        files = {k: (res.data if k == res.n_steps else truncate(res.data, k))
                 for k in range(1, res.n_steps + 1)}
        rates = {k: 8 * len(v) / size**2 for k, v in files.items()}
        pick = sorted({min(rates, key=lambda k: abs(rates[k] - t)) for t in targets})
        rows = []
        for k in pick:
            row = {"steps": k, "bpp": rates[k], "bytes": len(files[k])}
            t0 = time.perf_counter()
            for rho in rhos:
                rec = decompress(files[k], model=model, rho=rho, ode_steps=ode_steps)
                row[f"psnr_rho{rho:g}"] = psnr(img, rec)
                if rho == 1.0:
                    out["_recs"][(key, k)] = rec
            row["decode_seconds"] = time.perf_counter() - t0
            rows.append(row)
        for r in rows:  # the chain KL of each decoded prefix and its payload/KL
            kl = float(sum(res.kl_bits[:r["steps"]]))
            r["kl_bits"], r["bits_per_kl"] = kl, 8 * r["bytes"] / kl
        out["runs"][key] = {"encode_seconds": res.seconds, "n_steps": res.n_steps,
                            "kl_bits": float(sum(res.kl_bits)), "bytes": len(res.data),
                            "rows": rows}
        print(f"{name} {key:20s} {res.n_steps:2d} steps, encode {res.seconds:.0f} s: " +
              ", ".join(f"{r['bpp']:.3f}/" + "/".join(f"{r[f'psnr_rho{h:g}']:.2f}" for h in rhos)
                        for r in rows), flush=True)
    return out


def summarise(crops: list[dict]) -> dict:
    from rdptheory.experiments.baselines import quality_sweep
    from rdptheory.metrics.image import psnr

    summary: dict = {}
    for c in crops:
        classical = {codec: [(s.bpp, psnr(c["_original"], s.reconstruction))
                             for s in quality_sweep(c["_original"], codec, n=16)]
                     for codec in ("jpeg", "webp")}
        for rho in ("rho1", "rho2"):
            if any(f"psnr_{rho}" not in r for v in c["runs"].values() for r in v["rows"]):
                continue
            curves = {k: [(r["bpp"], r[f"psnr_{rho}"]) for r in v["rows"]]
                      for k, v in c["runs"].items()}
            for k, cur in curves.items():
                for codec, ref in classical.items():
                    summary.setdefault(f"bd_rate_vs_{codec}_{rho}", {}).setdefault(k, {})[
                        c["image"]] = bd_pct(ref, cur)
            if len(curves) == 2:
                summary.setdefault(f"bd_rate_shaped_vs_isotropic_{rho}", {})[c["image"]] = bd_pct(
                    curves["unet/isotropic"], curves["shaped-unet/shaped"])
    for table, per in summary.items():
        groups = per.values() if table.startswith(("bd_rate_vs_jpeg", "bd_rate_vs_webp")) else [
            per]
        for g in groups:
            vals = [v for v in g.values() if isinstance(v, float)]
            g["mean"] = float(np.mean(vals)) if len(vals) == len(crops) else None
    return summary


def save_recs(crop: dict, folder: Path) -> Path:
    """Write a crop's original and its ρ = 1 decodes to ``folder/<image>_<size>.npz``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{crop['image']}_{crop['size']}.npz"
    arrays = {"original": crop["_original"]}
    arrays.update({f"{key.replace('/', '__')}@{steps}": rec
                   for (key, steps), rec in crop["_recs"].items()})
    np.savez_compressed(path, **arrays)
    return path


def load_recs(crop: dict, folder: Path) -> dict:
    """``crop`` (a results-JSON codec entry) with ``_original`` / ``_recs`` (:func:`save_recs`)."""
    with np.load(folder / f"{crop['image']}_{crop['size']}.npz") as z:
        recs = {(k.split("@")[0].replace("__", "/"), int(k.split("@")[1])): z[k]
                for k in z.files if k != "original"}
        return {**crop, "_original": z["original"], "_recs": recs}


def frechet_table(crops: list[dict], targets: tuple[float, ...],
                  patches: tuple[int, ...] = (8, 4),
                  classical: tuple[str, ...] = ("webp", "jpeg")
                  ) -> dict:
    """Patch Fréchet distance of the ρ = 1 decodes, pooled over the crops, per run and target.

    For each run and target the row nearest the target on each crop; the patches of all crops
    pooled (:func:`rdptheory.metrics.image.image_patches`, ``8×8`` as
    ``benchmarks/image_vs_classical.py`` and ``4×4`` as ``benchmarks/shaped_codec.py``) and
    :func:`rdptheory.metrics.w2.frechet_distance` of the originals' patches to the decodes'.
    Each ``classical`` codec at the target rate (:func:`rdptheory.experiments.baselines.at_bpp`,
    the highest quality not above it) on each crop is scored the same way.
    """
    from rdptheory.experiments.baselines import at_bpp
    from rdptheory.metrics.image import image_patches, psnr
    from rdptheory.metrics.w2 import frechet_distance

    origs = [c["_original"] for c in crops]
    ref = {p: image_patches(origs, p) for p in patches}
    out: dict = {"images": [c["image"] for c in crops], "patches": list(patches)}
    for t in targets:
        entry: dict = {}
        for key in RUNS:
            if not all(key in c["runs"] for c in crops):
                continue
            rows = [min(c["runs"][key]["rows"], key=lambda r: abs(r["bpp"] - t)) for c in crops]
            recs = [c["_recs"][(key, r["steps"])] for c, r in zip(crops, rows, strict=True)]
            entry[key] = {"bpp": [r["bpp"] for r in rows],
                          "mean_bpp": float(np.mean([r["bpp"] for r in rows])),
                          "mean_psnr": float(np.mean([r["psnr_rho1"] for r in rows]))}
            entry[key].update({f"frechet_{p}x{p}": frechet_distance(
                ref[p], image_patches(recs, p)) for p in patches})
        for codec in classical:
            coded = [at_bpp(o, codec, t) for o in origs]
            recs = [cd.reconstruction for cd in coded]
            entry[codec] = {"bpp": [cd.bpp for cd in coded],
                            "mean_bpp": float(np.mean([cd.bpp for cd in coded])),
                            "mean_psnr": float(np.mean([psnr(o, r) for o, r in
                                                        zip(origs, recs, strict=True)]))}
            entry[codec].update({f"frechet_{p}x{p}": frechet_distance(
                ref[p], image_patches(recs, p)) for p in patches})
        if all(k in entry for k in RUNS):
            entry["shaped_minus_isotropic"] = {f"{p}x{p}": _paired_bootstrap(
                ref[p], *[image_patches([c["_recs"][(k, min(
                    c["runs"][k]["rows"], key=lambda r: abs(r["bpp"] - t))["steps"])]
                    for c in crops], p) for k in RUNS]) for p in patches}
        out[f"{t:g}"] = entry
    if all(all(k in out[f"{t:g}"] for k in RUNS) for t in targets) and len(targets) >= 2:
        out["at_equal_rate"] = at_equal_rate(out, targets, patches)
    return out


def _paired_bootstrap(orig: np.ndarray, iso: np.ndarray, shaped: np.ndarray, n: int = 200,
                      seed: int = 0) -> dict:
    """Fréchet(shaped) − Fréchet(isotropic) and its bootstrap spread: ``n`` resamplings (seed
    ``seed``) of the patch locations, the same locations for the originals and both decodes."""
    from rdptheory.metrics.w2 import frechet_distance

    rng = np.random.default_rng(seed)
    diff = frechet_distance(orig, shaped) - frechet_distance(orig, iso)
    boot = []
    for _ in range(n):
        i = rng.integers(0, len(orig), len(orig))
        boot.append(frechet_distance(orig[i], shaped[i]) - frechet_distance(orig[i], iso[i]))
    b = np.asarray(boot)
    return {"diff": float(diff), "boot_sd": float(b.std(ddof=1)),
            "boot_frac_positive": float((b > 0).mean()), "n_boot": n, "seed": seed}


def _loglog(points: list[tuple[float, float]], bpp: float) -> tuple[float, bool]:
    """Linear interpolation in (log bpp, log value) through ``points`` (bpp, value) at ``bpp``;
    beyond the ends the nearest two points are extended (second item True)."""
    pts = sorted(points)
    lr, lv = np.log([q[0] for q in pts]), np.log([q[1] for q in pts])
    x = np.log(bpp)
    j = int(np.clip(np.searchsorted(lr, x), 1, len(lr) - 1))
    w = (x - lr[j - 1]) / (lr[j] - lr[j - 1])
    return float(np.exp((1 - w) * lv[j - 1] + w * lv[j])), bool(x < lr[0] or x > lr[-1])


def at_equal_rate(table: dict, targets: tuple[float, ...], patches: tuple[int, ...]) -> dict:
    """Both nets' Fréchet distances at one rate per target: the other net's curve (its rows at
    the targets' mean rates) interpolated linearly in (log bpp, log Fréchet) at this net's mean
    rate (:func:`_loglog`; ``extrapolated`` where the rate lies outside the other's rows).
    ``shaped_over_isotropic`` < 1: the shaped decodes are closer to the originals' patch
    statistics at that rate."""
    iso, shp = RUNS
    out: dict = {}
    for t in targets:
        out[f"{t:g}"] = {}
        for at, other, label in ((shp, iso, "at_shaped_rate"), (iso, shp, "at_isotropic_rate")):
            e = table[f"{t:g}"][at]
            row: dict = {"bpp": e["mean_bpp"]}
            for p in patches:
                k = f"frechet_{p}x{p}"
                f_other, ext = _loglog([(table[f"{u:g}"][other]["mean_bpp"],
                                         table[f"{u:g}"][other][k]) for u in targets],
                                       e["mean_bpp"])
                f_s, f_i = (e[k], f_other) if at == shp else (f_other, e[k])
                row["extrapolated"] = ext
                row[f"{p}x{p}"] = {"shaped": f_s, "isotropic": f_i,
                                   "shaped_over_isotropic": f_s / f_i}
            out[f"{t:g}"][label] = row
    return out


def _fill_from(crop: dict, old: dict | None) -> list[str]:
    """Copy the ``psnr_rho*`` entries a row lacks from ``old``'s row of the same run and prefix
    when the two files are the same (equal bytes, steps and ρ = 1 PSNR to 1e-9 dB: the same
    deterministic encode, so its other decodes are the same too). Returns what was copied."""
    copied = []
    for key, run in crop["runs"].items():
        prev = {} if old is None else {r["steps"]: r for r in old["runs"].get(key, {})
                                       .get("rows", [])}
        for r in run["rows"]:
            o = prev.get(r["steps"])
            if o is None or o["bytes"] != r["bytes"] or abs(
                    o["psnr_rho1"] - r["psnr_rho1"]) > 1e-9:
                continue
            for k, v in o.items():
                if k.startswith("psnr_rho") and k not in r:
                    r[k] = v
                    r[f"{k}_from_reuse"] = True
                    copied.append(f"{crop['image']} {key} {r['steps']} {k}")
    return copied


def merge(paths: list[Path], out: Path, reuse: Path | None = None) -> dict:
    """Pool per-process results JSONs (same settings but the images / runs) and their decodes.

    Each JSON's decodes are read from its own ``--save-recs`` folder; runs of the same image
    are joined. Rows identical to ``reuse``'s (:func:`_fill_from`) take the decodes this run
    skipped (``--rhos``) from it. BD-rates are recomputed (:func:`summarise`, the classical
    sweeps are deterministic) and the pooled patch Fréchet table is made (:func:`frechet_table`).
    """
    runs = [json.loads(p.read_text()) for p in paths]
    by_image: dict = {}
    for run in runs:
        for c in run["codec"]:
            c = load_recs(c, Path(run["settings"]["save_recs"]))
            if c["image"] in by_image:
                by_image[c["image"]]["runs"].update(c["runs"])
                by_image[c["image"]]["_recs"].update(c["_recs"])
            else:
                by_image[c["image"]] = c
    crops = list(by_image.values())
    old = {} if reuse is None else {c["image"]: c for c in
                                    json.loads(reuse.read_text()).get("codec", [])}
    copied = [x for c in crops for x in _fill_from(c, old.get(c["image"]))]
    targets = tuple(runs[0]["settings"]["targets"])
    settings = dict(runs[0]["settings"], images=[c["image"] for c in crops],
                    runs=[k for k in RUNS if all(k in c["runs"] for c in crops)],
                    merged=[str(p) for p in paths], reuse=None if reuse is None else str(reuse),
                    save_recs=[run["settings"]["save_recs"] for run in runs], out=str(out),
                    copied_from_reuse=copied)
    result: dict = {"settings": settings, "fingerprint": runs[0]["fingerprint"],
                    "codec_summary": summarise(crops),
                    "frechet_rho1": frechet_table(crops, targets),
                    "codec": [{k: v for k, v in c.items() if not k.startswith("_")}
                              for c in crops],
                    "seconds": float(sum(run["seconds"] for run in runs))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--images", nargs="+", default=["china", "flower"],
                    help='bundled images, centre crops; "name@dy,dx" moves the crop')
    ap.add_argument("--bpp", type=float, default=1.2, help="encode budget (prefixes below)")
    ap.add_argument("--ode-steps", type=int, default=12)
    ap.add_argument("--targets", type=float, nargs="+", default=list(TARGETS),
                    help="rates (bpp) whose nearest prefixes are decoded")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-codec", action="store_true", help="denoising table only")
    ap.add_argument("--skip-denoise", action="store_true", help="codec only")
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS,
                    help="codec runs made now (the others come from --reuse)")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a previous results JSON whose codec rows fill the runs not made now "
                         "(same images, size, seed and budget)")
    ap.add_argument("--save-recs", type=Path, default=None,
                    help="folder for each crop's original and rho=1 decodes (npz)")
    ap.add_argument("--merge", type=Path, nargs="+", default=None,
                    help="per-process results JSONs (made with --save-recs) to pool, with "
                         "--reuse: the JSON whose identical rows fill skipped decodes; "
                         "writes --out and runs nothing else")
    ap.add_argument("--rhos", type=float, nargs="+", default=[1.0, 2.0],
                    help="decode rhos (1 is needed for the BD and Frechet tables)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/shaped_net.json"))
    args = ap.parse_args(argv)
    if args.merge is not None:
        merged = merge(args.merge, args.out, args.reuse)
        print(json.dumps({k: merged[k] for k in ("codec_summary", "frechet_rho1")}, indent=1,
                         default=float))
        return 0
    import torch

    from rdptheory.data import bundled_image, center_crop, to_model_space
    from rdptheory.images.shaped_net import ShapedNet
    from rdptheory.models.data import holdout_crops, split_holdout, training_photographs

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    net = ShapedNet(args.weights)
    result: dict = {"settings": {k: str(v) if isinstance(v, Path) else v
                                 for k, v in vars(args).items()},
                    "fingerprint": net.fingerprint().hex()}
    if not args.skip_denoise:
        held = holdout_crops([split_holdout(im) for im in training_photographs(None)])
        unseen = np.stack([to_model_space(center_crop(bundled_image(n).pixels, 64))
                           for n in ("china", "flower")])
        result["denoising"] = {"held_out": denoising_table(net, held),
                               "unseen": denoising_table(net, unseen)}
    if not args.skip_codec:
        old = {} if args.reuse is None else {
            c["image"]: c for c in json.loads(args.reuse.read_text()).get("codec", [])}
        crops = [run_codec(n, args.size, args.bpp, args.ode_steps, args.seed, net,
                           tuple(args.runs), old.get(n), tuple(args.targets),
                           tuple(args.rhos))
                 for n in args.images]
        if args.save_recs is not None:
            for c in crops:
                save_recs(c, args.save_recs)
        result["codec_summary"] = summarise(crops)
        if args.save_recs is not None:
            result["frechet_rho1"] = frechet_table(crops, tuple(args.targets))
        result["codec"] = [{k: v for k, v in c.items() if not k.startswith("_")}
                           for c in crops]
        print(json.dumps(result["codec_summary"], indent=1, default=float))
    result["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
