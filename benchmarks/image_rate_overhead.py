"""Where the image codec's file bits go: container, per-step side information, indices, KL.

    .venv/bin/python benchmarks/image_rate_overhead.py [--model unet] [--bpp 0.25 0.5 1.0]
        [--images china flower] [--configs '[{}, {"max_chunk_bits": 10.0}]'] [--decode]
        [--noise-var 0.389] [--out benchmarks/results/image_rate_overhead.json]
    .venv/bin/python benchmarks/image_rate_overhead.py --rcc-step 256 1600

Each file (:func:`rdptheory.images.codec.compress_with_report`) is split into: the container
and header (everything but the payload), the step side information (each step's chunk count,
its ideal code length under the stream's count code), the candidate indices (ideal code
length under the steps' Zipf law), the range coder's termination and word padding (the
rest), next to the chain's KL sum (the ideal DiffC rate of the chain sent, for this model).
``rcc_s`` is the time spent in :func:`rdptheory.rcc.encode_step` (instrumented), ``enc_s`` the
whole encode. ``--noise-var`` stops every file at the same last level instead of a rate (so
two ladders compare at an equal decoded quality distribution); ``--decode`` adds the ρ = 1
PSNR (12 Heun steps).

Measured 2026-12-06 (``benchmarks/results/image_rate_overhead.json``; shipped UNet, china /
flower 128x128 centre crops, seed 0, B = 8, padding 2; ladder 5 -> 0.05 in 32 levels, the
count code before commit cc78969; load 2-17, seconds are not speed figures). Bits per file,
china at 0.25 / 0.5 / 1 bpp::

    file           4096    7360    15616
    container       352     352      352    (44 B: 8.6 / 4.8 / 2.3 % of the file)
    side info       108     141      188    (chunk counts of 12 / 15 / 19 steps)
    indices        3616    6863    15058    (426 / 803 / 1727 chunks)
    coder            20       4       18
    chain KL       3346    6356    13738    (indices - KL: +8.1 / +8.0 / +9.6 %)
    step-0 KL       485     485      485    (y_0 against the i.i.d. N(0, t_0^2 + v))

(flower alike: 3808 / 8160 / 14240 bits, indices +8.2 / +7.3 / +7.7 % over KL.) The
candidate indices cost 0.63-0.76 bits per chunk over the chunks' KL; the best static bucket
law fitted in-sample on 4 files (5027 chunks) would save only 0.067 bits per chunk (1.8 % of
that), an escape mass of 2^-5 instead of 2^-3 0.031 bits per chunk: not changed. What was
changed, each measured here:

- the header (commit 7a180d0 and after): a ladder-preset/layout byte and a 4-byte model
  fingerprint make the container+header of a default file 26 B (208 bits) instead of 44 B
  (``benchmarks/image_header_bytes.py``: -19 B per 128x128 file, -1.0..-4.2 %);
- the ladder: t_max 5 -> 10 in 37 levels (same per-level ratio): at the same last level
  (t = 0.625) china 7368 -> 6952 bits, flower 6792 -> 6408 (-5.6 / -5.7 %): step 0 costs
  ~|x|^2 / (2 t_0^2), 485 / 632 bits at t_0 = 5, 108 / 143 at 10.5, and the model's steps
  from 10 to 5 carry that for ~200 bits (t_max 19 in 41 levels: 7432 / 6632, the UNet is
  out of its training range above 10; t_max 2: step 0 alone exceeds 0.25 bpp);
- the chunk counts sent as differences from a prediction (commit cc78969): side information
  141 / 188 / 149 / 185 -> 67 / 85 / 65 / 79 bits (china / flower at 0.5 / 1 bpp).

Not kept: B = 10 (-4.7 / -4.8 / -5.9 % of the file on china, but PSNR at the same last level
-0.07 / -0.13 / -0.21 dB on that one image and ~4x the RCC work: 2^(B + padding) candidates
per coordinate and step; RCC is ~70 % of the encode time at B = 8); 48 levels 5 -> 0.05
(+0.1 dB on average, mixed sign per image, for 1.5x the model calls).

RCC time of one step at 256x256 (``--rcc-step 256 1600``: a synthetic 1600-bit step over
d = 196608 coordinates, sigma 0.3, PFR, numba, one thread, load ~3.5; the work is
~d 2^(B + padding) once chunks reach B; two runs): B = 8 / padding 2: 1.4-1.7 s; B = 9:
2.5-3.3 s; B = 10: 8.7-10.3 s; B = 8 / padding 1: 0.7-0.9 s. A 0.5 bpp file at 256^2
(~33 kbit, ~20 full steps) spends ~30 s in RCC at B = 8 -- more than the issue's 15 s encode
target on its own.

Padding at the same last level (t = 0.707, new ladder, ``--noise-var 0.389 --decode``,
load ~3): padding 1 halves the RCC time (7.5 -> 3.7 s per 128^2 file) for -1.6 / -4.1 % file
bits and 0.00 / -0.25 dB at ρ = 1 (china / flower); B = 9 with padding 1 (the same work as
B = 8, padding 2): -2.7 / -5.3 % bits, -0.15 / -0.25 dB. Two images, one seed: the PSNR
differences are within a sample's scatter (~0.1-0.2 dB) but all of one sign; not changed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def decompose(data: bytes, kl_bits: tuple[float, ...]) -> dict:
    """The file's bits by part (module docstring), from the file alone plus the step KLs."""
    from rdptheory import rcc
    from rdptheory.images import _format as imf
    from rdptheory.rcc import _format as rf

    s = imf.unpack_stream(data)
    h = s.header
    idx = rcc.read_steps(s.payload, h.n_steps, h.code_dims, h.max_chunk_bits)
    law = rf.step_index_model(rf.check_model_params(h.max_chunk_bits, 2))
    side, counts = 0.0, []
    for i in idx:
        side += count_bits(i.size, counts)
        counts.append(i.size)
    index = float(sum(law.index_bits(i).sum() for i in idx))
    return {"file": 8 * len(data), "container": 8 * (len(data) - len(s.payload)),
            "payload": 8 * len(s.payload), "side": side, "index": index,
            "coder": 8 * len(s.payload) - side - index, "kl": float(sum(kl_bits)),
            "kl_step0": float(kl_bits[0]), "chunks": int(sum(counts)), "steps": h.n_steps}


def count_bits(count: int, history: list[int]) -> float:
    """Ideal bits of a step's chunk count under the stream's count code."""
    from rdptheory.rcc import _format as rf

    pred = rf.predicted_count(history, rf.MAX_DIMS)
    if pred is None:
        return math.log2(rf.STEP_COUNT_BUCKETS) + count.bit_length() - 1
    u = 2 * (count - pred) if count >= pred else 2 * (pred - count) - 1
    b = u.bit_length()
    return -math.log2(rf.STEP_DELTA_LAW[b]) + max(b - 1, 0)


def time_rcc_step(side: int, kl_bits: float) -> None:
    """Seconds of one :func:`rdptheory.rcc.encode_step` of ``kl_bits`` bits over a
    ``side x side x 3`` state (sigma 0.3, ±delta offsets) per (B, padding)."""
    from rdptheory import rcc

    d = 3 * side * side
    rng = np.random.default_rng(0)
    mu_p = rng.normal(size=d)
    mu_q = mu_p + 0.3 * math.sqrt(2 * kl_bits * math.log(2) / d) * rng.choice([-1, 1], size=d)
    rcc.encode_step(mu_q[:300], 0.3, mu_p[:300], 0.3, seed=1, stream=3, max_chunk_bits=8.0,
                    padding=2, algorithm="pfr", backend="numba")  # JIT
    for b, pad in [(8, 2), (9, 2), (10, 2), (8, 1), (8, 2)]:
        t0 = time.perf_counter()
        code = rcc.encode_step(mu_q, 0.3, mu_p, 0.3, seed=1, stream=3, max_chunk_bits=b,
                               padding=pad, algorithm="pfr", backend="numba")
        print(json.dumps({"side": side, "dims": d, "kl_bits": round(code.kl_bits, 1), "B": b,
                          "padding": pad, "chunks": int(code.indices.size),
                          "rcc_s": round(time.perf_counter() - t0, 2)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="unet")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--bpp", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--noise-var", type=float, default=None)
    ap.add_argument("--images", nargs="+", default=["china", "flower"])
    ap.add_argument("--configs", default="[{}]", help="JSON list of CodecConfig overrides")
    ap.add_argument("--decode", action="store_true")
    ap.add_argument("--out", type=pathlib.Path, default=None)
    ap.add_argument("--rcc-step", nargs=2, type=float, default=None, metavar=("SIDE", "KL"),
                    help="only time one synthetic RCC step of KL bits at SIDE x SIDE x 3")
    args = ap.parse_args()
    if args.rcc_step:
        return time_rcc_step(int(args.rcc_step[0]), args.rcc_step[1])
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from image_vs_classical import load_crops

    from rdptheory import metrics, rcc
    from rdptheory.codec import progressive
    from rdptheory.images import codec as ic
    from rdptheory.models import load_model

    timer = {"rcc": 0.0}
    encode_step = rcc.encode_step

    def timed(*a, **k):
        t0 = time.perf_counter()
        out = encode_step(*a, **k)
        timer["rcc"] += time.perf_counter() - t0
        return out

    progressive.rcc.encode_step = timed  # the step coder's module attribute
    model = load_model(args.model)
    ic.compress_with_report(np.zeros((16, 16, 3), np.uint8), model=model, noise_var=1.0,
                            config=ic.CodecConfig(backend="numba"))  # warm-up
    rows = []
    targets = [{"noise_var": args.noise_var}] if args.noise_var else \
        [{"bpp": b} for b in args.bpp]
    for cfg in json.loads(args.configs):
        config = ic.CodecConfig(backend="numba", **cfg)
        for name, px in load_crops(args.size, tuple(args.images)).items():
            for target in targets:
                timer["rcc"] = 0.0
                res = ic.compress_with_report(px, model=model, config=config, **target)
                row = {"config": cfg, "image": name, **target, "bpp_file": res.bpp,
                       "t_last": math.sqrt(res.noise_var), "enc_s": res.seconds,
                       "rcc_s": timer["rcc"], **decompose(res.data, res.kl_bits)}
                if args.decode:
                    out = ic.decompress(res.data, model=model, rho=1.0, ode_steps=12,
                                        backend="numba")
                    row["psnr_rho1"] = metrics.psnr(px, out)
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"model": args.model, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
