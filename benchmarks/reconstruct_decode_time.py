"""Full decode CPU seconds of one 128² file (replay + reconstruction, no memo), one process.

    .venv/bin/python benchmarks/reconstruct_decode_time.py \
        [--out benchmarks/results/reconstruct_decode_time.json]

china 128² centre crop at 0.5 bpp on the official ladder of ``image_vs_classical.py`` (preset
0: t 10 -> 0.05 in 37 levels, B = 8, padding 2; 8 Heun steps): the UNet S file decoded with
UNet S (ρ = 1.1), with ``unet-x4+gmm`` (``decompress(..., reconstruction_model=...)``, ρ = 1.2
and the posterior mean), and the ``unet-x4+gmm`` file decoded with its own model (ρ = 1.2).
Unlike ``image_vs_classical.py`` (whose decodes take the replay's model calls from a memo) the
times here are a real decoder's.

Measured 2026-12-07 (code 58d346e, 2 cores at load 10-18, so CPU seconds of this process;
wall was 8-10x more): UNet S file 0.421 bpp (20 steps), encode 17.1 CPU-s; decode UNet S ρ = 1.1
9.8 CPU-s (20.08 dB), with unet-x4+gmm ρ = 1.2 26.9 CPU-s (20.51 dB), its posterior mean 5.1
CPU-s (19.97 dB). unet-x4+gmm file 0.499 bpp (21 steps), encode 34.6, decode ρ = 1.2 43.9 CPU-s
(21.32 dB).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from image_vs_classical import load_crops  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path,
                    default=pathlib.Path("benchmarks/results/reconstruct_decode_time.json"))
    args = ap.parse_args()
    from rdptheory import metrics
    from rdptheory.images.codec import CodecConfig, compress_with_report, decompress
    from rdptheory.models import load_model

    unet, x4g = load_model("unet"), load_model("unet-x4+gmm")
    cfg = CodecConfig(t_max=10.0, t_min=0.05, n_levels=37, max_chunk_bits=8.0, padding=2,
                      backend="numba")
    compress_with_report(np.zeros((16, 16, 3), np.uint8), model=unet, noise_var=1.0,
                         config=cfg)  # warm-up: JIT, model caches
    rows = []
    px = load_crops(128, ("china",))["china"]
    for chain_name, chain in (("unet", unet), ("unet-x4+gmm", x4g)):
        c0 = time.process_time()
        res = compress_with_report(px, model=chain, bpp=0.5, config=cfg)
        enc = time.process_time() - c0
        decs = ([("unet", None, 1.1), ("unet-x4+gmm", x4g, 1.2), ("unet-x4+gmm", x4g, None)]
                if chain_name == "unet" else [("unet-x4+gmm", None, 1.2)])
        for rname, recon, rho in decs:
            kw = ({"estimator": "posterior-mean"} if rho is None else
                  {"rho": rho, "ode_steps": 8})
            t0, c0 = time.perf_counter(), time.process_time()
            out = decompress(res.data, model=chain, backend="numba", reconstruction_model=recon,
                             **kw)
            rows.append({"image": "china", "target_bpp": 0.5, "bpp": res.bpp,
                         "steps": res.n_steps, "chain": chain_name, "reconstruction": rname,
                         "decode": "mean" if rho is None else f"rho={rho:g}",
                         "psnr": metrics.psnr(px, out), "encode_cpu_s": enc,
                         "decode_cpu_s": time.process_time() - c0,
                         "decode_wall_s": time.perf_counter() - t0,
                         "load": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
