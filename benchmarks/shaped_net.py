"""The shaped-noise UNet (issue 15 item 3): denoising under shaped noise, and the codec with it.

    .venv/bin/python benchmarks/shaped_net.py [--weights DIR] [--size 64]
        [--images china flower] [--bpp 1.2] [--ode-steps 12] [--targets 0.2 0.3 ...]
        [--skip-codec | --skip-denoise] [--out benchmarks/results/shaped_net.json]

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


def run_codec(name: str, size: int, bpp: float, ode_steps: int, seed: int, net,
              runs: tuple[str, ...] = RUNS, reuse: dict | None = None,
              targets: tuple[float, ...] = TARGETS) -> dict:
    from rdptheory.data import bundled_image, center_crop
    from rdptheory.images import CodecConfig, compress_with_report, decompress, truncate
    from rdptheory.metrics.image import psnr
    from rdptheory.models import load_model

    img = center_crop(bundled_image(name).pixels, size)
    out: dict = {"image": name, "size": size, "runs": {}, "_original": img}
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
            for rho in (1.0, 2.0):
                rec = decompress(files[k], model=model, rho=rho, ode_steps=ode_steps)
                row[f"psnr_rho{rho:g}"] = psnr(img, rec)
            row["decode_seconds"] = time.perf_counter() - t0
            rows.append(row)
        for r in rows:  # the chain KL of each decoded prefix and its payload/KL
            kl = float(sum(res.kl_bits[:r["steps"]]))
            r["kl_bits"], r["bits_per_kl"] = kl, 8 * r["bytes"] / kl
        out["runs"][key] = {"encode_seconds": res.seconds, "n_steps": res.n_steps,
                            "kl_bits": float(sum(res.kl_bits)), "bytes": len(res.data),
                            "rows": rows}
        print(f"{name} {key:20s} {res.n_steps:2d} steps, encode {res.seconds:.0f} s: " +
              ", ".join(f"{r['bpp']:.3f}/{r['psnr_rho1']:.2f}/{r['psnr_rho2']:.2f}"
                        for r in rows), flush=True)
    return out


def _bd(ref: list, test: list) -> float | str:
    from rdptheory.metrics.image import bd_rate

    try:
        return float(bd_rate([p[0] for p in ref], [p[1] for p in ref], [p[0] for p in test],
                             [p[1] for p in test]))
    except ValueError as exc:
        return f"n/a: {exc}"


def summarise(crops: list[dict]) -> dict:
    from rdptheory.experiments.baselines import quality_sweep
    from rdptheory.metrics.image import psnr

    summary: dict = {}
    for c in crops:
        classical = {codec: [(s.bpp, psnr(c["_original"], s.reconstruction))
                             for s in quality_sweep(c["_original"], codec, n=16)]
                     for codec in ("jpeg", "webp")}
        for rho in ("rho1", "rho2"):
            curves = {k: [(r["bpp"], r[f"psnr_{rho}"]) for r in v["rows"]]
                      for k, v in c["runs"].items()}
            for k, cur in curves.items():
                for codec, ref in classical.items():
                    summary.setdefault(f"bd_rate_vs_{codec}_{rho}", {}).setdefault(k, {})[
                        c["image"]] = _bd(ref, cur)
            if len(curves) == 2:
                summary.setdefault(f"bd_rate_shaped_vs_isotropic_{rho}", {})[c["image"]] = _bd(
                    curves["unet/isotropic"], curves["shaped-unet/shaped"])
    for table, per in summary.items():
        groups = per.values() if table.startswith(("bd_rate_vs_jpeg", "bd_rate_vs_webp")) else [
            per]
        for g in groups:
            vals = [v for v in g.values() if isinstance(v, float)]
            g["mean"] = float(np.mean(vals)) if len(vals) == len(crops) else None
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--images", nargs="+", default=["china", "flower"])
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
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/shaped_net.json"))
    args = ap.parse_args(argv)
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
                           tuple(args.runs), old.get(n), tuple(args.targets))
                 for n in args.images]
        result["codec_summary"] = summarise(crops)
        result["codec"] = [{k: v for k, v in c.items() if not k.startswith("_")}
                           for c in crops]
        print(json.dumps(result["codec_summary"], indent=1, default=float))
    result["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
