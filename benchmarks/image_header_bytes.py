"""The RDPI v5 header before and after the layout byte and the 4-byte fingerprint (issue 11).

    .venv/bin/python benchmarks/image_header_bytes.py
        [--rows benchmarks/results/image_vs_classical.json] [--encode]
        [--out benchmarks/results/image_header_bytes.json]

The previous v5 header (commit f2dd19a) held: model fingerprint 8 B, varints H, W, code
dimension, seed, f32 t_max and t_min, varint levels, varint steps, f32 chunk budget B, the
recipe byte. The current one (:mod:`rdptheory.images._format`) holds a 4-byte fingerprint and
one layout byte that names the default ladder (preset 0) and an implied code dimension 3·H·W
instead of 13 + 2..4 bytes of fields.

A file's payload for a given step count does not depend on its header, so each file of the
classical comparison (``--rows``: model, image, size, steps, bpp, PSNR per target rate) is
rebuilt exactly: its bytes minus the old header plus the header the current packer writes
for the same fields. The BD-rates vs the classical codecs are then recomputed on the same
reconstructions (same PSNR; :func:`image_vs_classical.bd_table`). ``--encode`` also
re-encodes the crops with each model at the rows' target rates with the current format: the
file bytes and step counts (the encoder stops at the budget, so a smaller header could let
one more step in).

Measured 2026-12-06 (``benchmarks/results/image_header_bytes.json``; rows of the committed
``image_vs_classical.json``: shipped UNet and gmm-shift, china / flower 128², 0.25 / 0.5 /
1 bpp, ladder preset 0): every file is 19 bytes (152 bits) smaller, 45 -> 26 bytes of
container and header; UNet 489 / 881 / 1929 -> 470 / 862 / 1910 bytes on china and 453 /
1009 / 1773 -> 434 / 990 / 1754 on flower (-3.9 / -2.2 / -1.0 % and -4.2 / -1.9 / -1.1 %;
gmm-shift alike, -1.1..-4.2 %).
BD-rate vs JPEG (``optimize=True``) at ρ = 1: UNet +2.07 -> +0.02 %, gmm-shift -0.28 ->
-2.38 %; vs WebP +82.31 -> +79.99 %, +72.86 -> +70.51 %; at ρ = 2 vs JPEG +56.71 -> +54.49 %,
+33.84 -> +31.62 %. Fresh UNet encodes at the same targets (``--encode``): the same step
counts (17 / 20 / 24 and 17 / 21 / 24), so the same 19 bytes fewer (``--encode --models
unet``, 9.7-16.6 s per encode, loaded machine).
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: The default ladder's fields in the previous layout: t_max, t_min, B (f32) and levels (1 B).
OLD_LADDER_BYTES = 4 + 4 + 4 + 1
#: The previous layout's fingerprint bytes.
OLD_FINGERPRINT_BYTES = 8


def _varint_len(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def old_header_bytes(height: int, width: int, code_dims: int, seed: int, n_steps: int,
                     recipe_bytes: int = 1) -> int:
    """Bytes of the previous v5 header (default ladder: 37 levels, one varint byte)."""
    return (OLD_FINGERPRINT_BYTES + _varint_len(height) + _varint_len(width)
            + _varint_len(code_dims) + _varint_len(seed) + OLD_LADDER_BYTES
            + _varint_len(n_steps) + recipe_bytes)


def new_header_bytes(height: int, width: int, code_dims: int, seed: int, n_steps: int) -> int:
    """Bytes of the current header for an isotropic file on the default ladder."""
    from rdptheory.images import _format
    from rdptheory.images.codec import CodecConfig

    c = CodecConfig()
    head = _format.StreamHeader(bytes(_format.FINGERPRINT_BYTES), height, width, code_dims,
                                seed, c.t_max, c.t_min, c.n_levels, n_steps, c.max_chunk_bits)
    return len(_format._header_bytes(head))


def header_saving(size: int, steps: int, seed: int = 0) -> int:
    """Bytes one ``size²`` pixel-space file on the default ladder saves (header length varint
    and CRCs unchanged: both headers are under 128 bytes)."""
    dims = 3 * size * size
    return (old_header_bytes(size, size, dims, seed, steps)
            - new_header_bytes(size, size, dims, seed, steps))


def rebuild(report: dict) -> tuple[list[dict], list[dict]]:
    """(per-file rows: bytes before and after; the comparison's rows at the new sizes)."""
    from rdptheory.images.codec import CodecConfig

    s, c = report["settings"], CodecConfig()
    if (s["t_max"], s["n_levels"], s["max_chunk_bits"]) != (c.t_max, c.n_levels,
                                                           c.max_chunk_bits):
        raise ValueError("the rows were not made on the default ladder (preset 0)")
    size = s["size"]
    files, rows = {}, copy.deepcopy(report["rows"])
    for r in rows:
        before = round(r["bpp"] * size * size / 8)
        after = before - header_saving(size, r["steps"])
        files[(r["model"], r["image"], r["target_bpp"])] = {
            "model": r["model"], "image": r["image"], "target_bpp": r["target_bpp"],
            "steps": r["steps"], "bytes_before": before, "bytes_after": after,
            "change_percent": round(100.0 * (after - before) / before, 2)}
        r["bpp"] = 8 * after / (size * size)
    return list(files.values()), rows


def bd_change(report: dict, rows: list[dict]) -> dict:
    """BD-rate (mean over images) per model, ρ and baseline: before and after."""
    from image_vs_classical import bd_table

    rhos = report["settings"]["rho"]
    before = bd_table(report["rows"], report["baseline_sweeps"], rhos)
    after = bd_table(rows, report["baseline_sweeps"], rhos)
    return {m: {rho: {c: {"before": before[m][rho][c]["mean"], "after": after[m][rho][c]["mean"]}
                      for c in before[m][rho]} for rho in before[m]} for m in before}


def encode(report: dict) -> list[dict]:
    """Fresh encodes with the current format at the rows' targets (bytes and steps)."""
    from image_vs_classical import load_crops

    from rdptheory.images.codec import compress_with_report
    from rdptheory.models import load_model

    s = report["settings"]
    out = []
    for spec in s["models"]:
        model = load_model(spec)
        for name, px in load_crops(s["size"], tuple(s["images"])).items():
            for bpp in s["bpp"]:
                t0 = time.perf_counter()
                res = compress_with_report(px, model=model, bpp=bpp)
                out.append({"model": spec, "image": name, "target_bpp": bpp,
                            "bytes": len(res.data), "steps": res.n_steps,
                            "encode_s": round(time.perf_counter() - t0, 1)})
                print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=str(HERE / "results" / "image_vs_classical.json"))
    ap.add_argument("--encode", action="store_true")
    ap.add_argument("--models", nargs="+", default=None,
                    help="with --encode: the models to re-encode (default: the rows' models)")
    ap.add_argument("--out", default=str(HERE / "results" / "image_header_bytes.json"))
    args = ap.parse_args()
    report = json.loads(pathlib.Path(args.rows).read_text())
    files, rows = rebuild(report)
    result = {"rows_from": pathlib.Path(args.rows).name, "files": files,
              "bd_rate_percent": bd_change(report, rows)}
    for f in files:
        print(f)
    print(json.dumps(result["bd_rate_percent"], indent=1))
    if args.encode:
        if args.models:
            report = {**report, "settings": {**report["settings"], "models": args.models}}
        result["encode"] = encode(report)
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
