"""Image codec speed and rate: encode/decode seconds and bpp per model and RCC backend.

    .venv/bin/python benchmarks/image_codec.py [--size 256] [--bpp 0.25 0.5 1.0]
        [--backends numba numpy torch] [--models gmm gmm-shift unet] [--rhos 1 2]
        [--out benchmarks/results/image_codec.json]

A ``size × size`` centre crop of scikit-learn's china.jpg (unseen by every model) is compressed
with each model (``--models``: specs of :func:`rdptheory.models.load_model`; default
the tiled patch GMM ``gmm``, the shift-averaged one ``gmm-shift`` and the shipped trained
UNet ``unet``) at each target rate and decoded at each ρ. A model that cannot be loaded here
(the UNet needs torch and diffusers and its weights) gets a row saying it was skipped and why.
Encoding is dominated by the RCC candidate search, ~2^(max_chunk_bits + padding) candidate
draws per coordinate and step; decoding regenerates one candidate per chunk and integrates the
PF-ODE. The first call of a JIT backend (numba) includes compilation; it is timed separately.

Measured 2026-11-25 on the project's shared 2-core CPU box (load ~8 from other jobs, so read
the seconds as upper bounds; defaults: ladder 5 → 0.05 in 32 levels, B = 8, padding 2, 24
Heun steps). Every backend produces the same file and the same reconstruction::

    size  backend  bpp     steps  encode s  decode s  PSNR ρ=1  PSNR ρ=2
    256   numba    0.2218  11     33.0      7.9       17.75     17.45
    256   numba    0.4513  15     44.9      7.6       20.12     19.33
    256   numba    0.8956  19     53.5      6.7       22.82     22.15
     64   numba    0.2441   7      0.93     0.46     15.21     15.28
     64   numba    0.4395  12      1.87     0.52     17.83     17.32
     64   numba    0.8770  17      2.92     0.63     21.23     20.56
     64   numpy    0.2441   7      8.7      0.31     15.21     15.28
     64   numpy    0.4395  12     16.9      0.39     17.83     17.32
     64   numpy    0.8770  17     25.4      0.49     21.23     20.56
     64   torch    0.2441   7    130.2      0.89     15.21     15.28
     64   torch    0.4395  12    300.0      0.52     17.83     17.32
     64   torch    0.8770  17    204.3      0.50     21.23     20.56

(torch on CPU is the slow path of the kernels; its timings are the noisiest, the box's load
changed during the run.)

256×256 at ~0.5 bpp, both models (``--size 256 --bpp 0.5 --models gmm unet --rhos 1``,
defaults otherwise: 24 Heun steps; measured 2026-12-06 on the shared 2-core box at load 6-8,
code of commit e595094, the shipped fine-tuned UNet; ``benchmarks/results/image_codec_256.json``)::

    model  bpp     steps  encode s  decode s  PSNR ρ=1  blockiness
    gmm    0.4424  15     73.1      17.2      20.12     3.39
    unet   0.4897  15     88.8      119.4     20.01     0.97

The issue's targets (encode ≤ 15 s, decode ≤ 10 s for the trained model on 2 unloaded
cores) are not met on this box: the UNet's decode is 48 network calls of the 256×256 image
(24 Heun steps) plus the chain replay, on one torch thread (``MODEL_THREADS``). At load 15-20
the same run took 229 s / 304 s (UNet) and 204 s / 34 s (GMM).

``--report-time`` times the report's image section (quick settings, as ``make report``) with
the default model and its codec figures with each ``--models`` entry substituted for the
default (``benchmarks/results/image_report_time.json``, load ~6): whole section 193 s with
the GMM; codec figures 22 s with the GMM, 79 s with the shipped UNet (an ad hoc run of the
same code at load 10-15: 382 s, 60 s, 202 s). The UNet as the report's model would add
~60-140 s to a report already measured at 705 s (README), over its ~8 min budget.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TRITON_INTERPRET", "1")

from rdptheory.data import bundled_image, center_crop  # noqa: E402
from rdptheory.images import CodecConfig, compress_with_report, decompress  # noqa: E402
from rdptheory.metrics import (
    blockiness,  # noqa: E402
    psnr,  # noqa: E402
)
from rdptheory.models import load_model  # noqa: E402


def run(size: int, bpps: list[float], backends: list[str], ode_steps: int,
        models: list[str] = ("gmm",), rhos: list[float] = (1.0, 2.0)) -> list[dict]:
    pixels = center_crop(bundled_image("china").pixels, size)
    rows: list[dict] = []
    for spec in models:
        try:
            model = load_model(spec)
        except (ImportError, FileNotFoundError, ValueError) as exc:
            rows.append({"model": spec, "skipped": f"{type(exc).__name__}: {exc}"})
            print(f"model={spec} SKIPPED ({rows[-1]['skipped']})", flush=True)
            continue
        for backend in backends:
            rows += _run_model(spec, model, pixels, size, bpps, backend, ode_steps, rhos)
    return rows


def _run_model(spec, model, pixels, size, bpps, backend, ode_steps, rhos) -> list[dict]:
    config = CodecConfig(backend=backend)
    t0 = time.perf_counter()  # warm-up: JIT compilation, model load and caches
    compress_with_report(pixels[:16, :16], model=model, noise_var=1.0, config=config)
    warm = time.perf_counter() - t0
    rows = []
    for bpp in bpps:
        res = compress_with_report(pixels, model=model, bpp=bpp, config=config)
        row = {"model": spec, "backend": backend, "size": size, "target_bpp": bpp,
               "bpp": res.bpp, "steps": res.n_steps, "kl_bits": float(sum(res.kl_bits)),
               "encode_s": res.seconds, "warmup_s": warm}
        for rho in rhos:
            t0 = time.perf_counter()
            out = decompress(res.data, model=model, rho=rho, ode_steps=ode_steps,
                             backend=backend)
            row[f"decode_s_rho{rho:g}"] = time.perf_counter() - t0
            row[f"psnr_rho{rho:g}"] = psnr(pixels, out)
            row[f"blockiness_rho{rho:g}"] = blockiness(out)
        rows.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in row.items()), flush=True)
    return rows


def report_times(models: list[str]) -> dict:
    """Seconds of the report's image section (quick settings, as ``make report``) with the
    default model, and of its codec figures (the part that uses the default model) with each
    of ``models`` substituted for the default."""
    import tempfile

    import rdptheory.experiments.image_report as ir

    out: dict = {"models": {}}
    default = ir.default_model
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        ir.report_section(pathlib.Path(d) / "section", quick=True)
        out["section_default_s"] = time.perf_counter() - t0
        try:
            for spec in models:
                model = load_model(spec)
                ir.default_model = lambda m=model: m  # type: ignore[assignment]
                with ir._one_blas_thread():
                    t0 = time.perf_counter()
                    ir._codec_figures(pathlib.Path(d) / spec, ir._QUICK,
                                      CodecConfig(backend="auto"))
                    out["models"][spec] = {"codec_figures_s": time.perf_counter() - t0,
                                           "name": model.name}
                print(spec, out["models"][spec], flush=True)
        finally:
            ir.default_model = default
    out["load_1min"] = os.getloadavg()[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bpp", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--backends", nargs="+", default=["numba"])
    ap.add_argument("--models", nargs="+", default=["gmm", "gmm-shift", "unet"])
    ap.add_argument("--rhos", type=float, nargs="+", default=[1.0, 2.0])
    ap.add_argument("--ode-steps", type=int, default=24)
    ap.add_argument("--out", type=pathlib.Path, default=None)
    ap.add_argument("--report-time", action="store_true",
                    help="time the report's image section instead (codec figures per model)")
    args = ap.parse_args()
    if args.report_time:
        res = report_times(args.models)
        print(json.dumps(res, indent=1))
        if args.out:
            args.out.write_text(json.dumps(res, indent=2))
        return
    rows = run(args.size, args.bpp, args.backends, args.ode_steps, args.models, args.rhos)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                        "cpu_count": os.cpu_count(), "rows": rows}, indent=2))
    r0 = args.rhos[0]
    print(f"{'model':>10} {'backend':>8} {'bpp':>7} {'steps':>5} {'enc s':>8} "
          f"{'dec s ρ=' + format(r0, 'g'):>9} " + " ".join(f"{'PSNR ρ=' + format(r, 'g'):>9}"
                                                          for r in args.rhos))
    for r in rows:
        if "skipped" in r:
            print(f"{r['model']:>10} skipped: {r['skipped']}")
            continue
        print(f"{r['model']:>10} {r['backend']:>8} {r['bpp']:7.4f} {r['steps']:5d} "
              f"{r['encode_s']:8.2f} {r[f'decode_s_rho{r0:g}']:9.2f} "
              + " ".join(f"{r[f'psnr_rho{q:g}']:9.2f}" for q in args.rhos))


if __name__ == "__main__":
    main()
