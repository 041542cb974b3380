"""Payload over chain KL of shaped files: DiffC's random equal split (RDPI 5) vs the stratified
layout (RDPI 6), through the real image codec.

    .venv/bin/python benchmarks/shaped_layout.py [--bpp 1.0] [--size 128]
        [--runs net:china net:flower gmm:china gmm:flower]
        [--out benchmarks/results/shaped_layout.json]

One :func:`rdptheory.images.compress_with_report` per run and layout (``net``: the shipped
shaped-noise UNet, ``load_model("unet-shaped")``; ``gmm``: the tiled patch GMM;
``CodecConfig(noise="shaped")``, seed 1, ``--bpp`` budget), with
:class:`rdptheory.images.shaped_chain.SentStepCoder` forced to ``layout="diffc"`` (how RDPI 5
files coded their steps) or ``"stratified"`` (RDPI 6). Recorded per run: steps, file bytes,
chain KL (bits), file bits per KL bit, every prefix's size (:func:`rdptheory.images.truncate`)
and every step's KL, so prefixes of equal step count can be compared.

Measured (2026-12-06, shared 2-core box, ``benchmarks/results/shaped_layout.json``; gmm:china
not run), 128² centre crops, 1 bpp budget (net = shaped net, gmm = tiled patch GMM):

============  ==========  =====  =====  =======  =========
run           layout      steps  bytes  KL bits  bits / KL
============  ==========  =====  =====  =======  =========
net:china     diffc       20     823    4799     1.372
net:china     stratified  24     1975   12884    1.226
net:flower    diffc       24     1975   12476    1.266
net:flower    stratified  24     1791   12506    1.146
gmm:flower    diffc       23     1927   12085    1.276
gmm:flower    stratified  24     2027   13915    1.165
============  ==========  =====  =====  =======  =========

The DiffC china file stops at 0.40 bpp: its step 20 doubles the chunk count five times (5504
chunks for 1372 bits of KL), which the budget refuses; at 20 steps the stratified prefix is
723 bytes (1.226 bits per KL bit) against 823. Flower at the same 24 steps and KL: 9.3 % fewer
bytes; the GMM's flower prefix of 23 steps is 1695 bytes (1.166) against 1927 (1.276).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def run(spec: str, layout: str, bpp: float, size: int) -> dict:
    """One encode of ``spec`` ("net:china", ...) with the step layout forced to ``layout``."""
    from rdptheory.data import bundled_image, center_crop
    from rdptheory.images import CodecConfig, compress_with_report, truncate
    from rdptheory.images import shaped_chain as sc
    from rdptheory.models import load_model

    which, name = spec.split(":")
    model = load_model("unet-shaped" if which == "net" else "patch-gmm")
    img = center_crop(bundled_image(name).pixels, size)
    orig = sc.SentStepCoder.__init__

    def forced(self, *a, **kw):
        kw["layout"] = layout
        orig(self, *a, **kw)

    sc.SentStepCoder.__init__ = forced  # type: ignore[method-assign]
    try:
        t0 = time.process_time()
        r = compress_with_report(img, model=model, bpp=bpp, seed=1,
                                 config=CodecConfig(noise="shaped"))
        cpu = time.process_time() - t0
    finally:
        sc.SentStepCoder.__init__ = orig  # type: ignore[method-assign]
    kl = float(sum(r.kl_bits))
    return {"model": which, "image": name, "layout": layout, "bytes": len(r.data),
            "bpp": r.bpp, "steps": r.n_steps, "kl_bits": kl, "bits_per_kl": 8 * len(r.data) / kl,
            "cpu_s": cpu, "step_kl": list(r.kl_bits),
            "prefix_bytes": [len(truncate(r.data, k)) for k in range(1, r.n_steps + 1)]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bpp", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--runs", nargs="+",
                    default=["net:china", "net:flower", "gmm:china", "gmm:flower"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/shaped_layout.json"))
    args = ap.parse_args(argv)
    rows = []
    for spec in args.runs:
        for layout in ("diffc", "stratified"):
            rows.append(run(spec, layout, args.bpp, args.size))
            r = rows[-1]
            print(f"{spec} {layout:10s} {r['steps']:2d} steps {r['bytes']:5d} B "
                  f"KL {r['kl_bits']:.0f} bits/KL {r['bits_per_kl']:.3f}", flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"settings": {k: str(v) for k, v in
                                                         vars(args).items()}, "runs": rows},
                                           indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
