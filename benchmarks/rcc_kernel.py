"""numba RCC candidate search, before/after in one process: a git revision's kernel vs this tree's.

Loads ``kernels/_numba_kernels.py`` as of ``--baseline`` (default: the commit before the split
scoring passes) into a private module and times both kernels' ``select_chunks`` alternately in
the same process, asserting identical indices and log-weights every time:

* kernel rows: one chunk shape per row (padded dims x 2^log2n candidates, the shapes of a 256²
  encode: 216-2812 dims, 2^10 candidates), DiffC equal-variance scores; candidate-dimensions
  per CPU second of the process (``time.process_time``: all its threads) and wall seconds;
* ``--exhaustive``: every input of the two transforms that changed code (``log64``/``cos_sin64``
  through the float32 Box-Muller rounding, for all 2^31 folded Philox words; the arrivals'
  ``exponential``, for all 2^32 words), baseline vs new: the mismatch counts;
* encode rows (unless ``--no-encode``): the 256² centre crop of china.jpg at 0.5 bpp with the
  default model through ``compress_with_report``, once with each kernel patched in
  (``rdptheory.kernels._numba_kernels.select_chunks``): encode wall/CPU seconds, the
  ``select_chunks`` CPU seconds summed over the steps, and the two bitstreams (asserted equal).

Timing numbers are "loaded" on a shared machine: compare baseline and new only within one run.
Usage: ``python benchmarks/rcc_kernel.py [--threads 1] [--repeats 3] [--no-encode]
[--exhaustive] [--out benchmarks/results/rcc_kernel.json]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
from types import ModuleType

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # numba's OpenMP workers: no spinning

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNEL_PATH = "kernels/_numba_kernels.py"
#: The kernel before the split scoring passes (one fused Philox + Box-Muller + score loop).
BASELINE_REV = "6d06990cce667fa277edcce3b7f0aa15503be722"
#: (padded dims per chunk, log2 candidates, chunks): the 256² encode's first, middle and last
#: steps (2812, 544 and 216 dims at a median 2^10 candidates).
KERNEL_SHAPES = [(2812, 10, 24), (544, 10, 120), (216, 10, 300)]


def load_baseline(rev: str) -> ModuleType:
    """The numba kernel module as of git revision ``rev``, imported from a private folder."""
    src = subprocess.run(["git", "show", f"{rev}:{KERNEL_PATH}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    folder = pathlib.Path(tempfile.mkdtemp(prefix="rcc-kernel-baseline-"))
    path = folder / "rcc_kernel_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("rcc_kernel_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def kernel_args(dims: int, log2n: int, n_chunks: int, seed: int = 0) -> tuple:
    """``select_chunks`` arguments: equal-variance (a = 0) DiffC-like scores, padded chunks."""
    rng = np.random.default_rng(seed)
    d = dims * n_chunks
    b = rng.normal(scale=np.sqrt(2 * log2n / dims), size=d)
    pstarts = np.arange(0, d + 1, dims, dtype=np.int64)
    const = -0.5 * np.add.reduceat(b * b, pstarts[:-1])
    key = np.array([0x12345678, 0x9ABCDEF], np.uint64)
    ekey = np.array([0x0BADF00D, 0xDEADBEEF], np.uint64)
    log2 = np.full(n_chunks, log2n, np.int64)
    return np.zeros(d), b, pstarts, const, log2, key, ekey, 1000, 3, 0


def _timed(f, *args):
    """(result, wall seconds, CPU seconds of this process)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = f(*args)
    return out, time.perf_counter() - w0, time.process_time() - c0


def kernel_row(base: ModuleType, new: ModuleType, dims: int, log2n: int, n_chunks: int,
               repeats: int) -> dict:
    """Best-of-``repeats`` times of both kernels on one shape, run alternately."""
    args = kernel_args(dims, log2n, n_chunks)
    small = kernel_args(dims, 2, 1)
    base.select_chunks(*small), new.select_chunks(*small)  # compile / load the caches
    best = {"baseline": (np.inf, np.inf), "new": (np.inf, np.inf)}
    outs = {}
    for _ in range(repeats):
        for name, mod in (("baseline", base), ("new", new)):
            outs[name], wall, cpu = _timed(mod.select_chunks, *args)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    identical = all(np.array_equal(outs["baseline"][i], outs["new"][i]) for i in range(2))
    assert identical, f"indices or log-weights differ for shape {(dims, log2n, n_chunks)}"
    cand_dims = n_chunks * 2**log2n * dims
    row = {"dims": dims, "log2n": log2n, "n_chunks": n_chunks, "candidate_dims": cand_dims,
           "identical": identical}  # fmt: skip
    for name, (wall, cpu) in best.items():
        row |= {f"{name}_wall_s": wall, f"{name}_cpu_s": cpu,
                f"{name}_cand_dims_per_cpu_s": cand_dims / max(cpu, 1e-9)}  # fmt: skip
    row["speedup_cpu"] = best["baseline"][1] / max(best["new"][1], 1e-9)
    return row


def exhaustive_check(base: ModuleType, new: ModuleType) -> dict:
    """Mismatch counts of the baseline's and this tree's transforms over all their inputs."""
    from numba import njit

    old_log, old_cs, old_exp = base.log64, base.cos_sin64, base.exponential
    radius, cos_sin32, new_exp = new.radius, new.cos_sin32, new.exponential
    scale, min_u, two_pi, m2 = new.F32_SCALE, new.F32_MIN_U, new.F32_TWO_PI, new.F32_M2

    @njit(error_model="numpy")
    def box_muller_mismatches(lo, hi):  # v: the folded word, int32(v) >= 0 (uniform())
        bad_r, bad_cs = 0, 0
        for v in range(lo, hi):
            u = np.float32(np.int32(v)) * scale
            u0 = max(min_u, u)
            r = np.float32(np.sqrt(np.float64(m2 * np.float32(old_log(np.float64(u0))))))
            bad_r += r != radius(u0)
            c, s = old_cs(np.float64(two_pi * u))
            c32, s32 = cos_sin32(two_pi * u)
            bad_cs += (np.float32(c) != c32) or (np.float32(s) != s32)
        return bad_r, bad_cs

    @njit(error_model="numpy")
    def exponential_mismatches(lo, hi):
        bad = 0
        for x in range(lo, hi):
            bad += old_exp(np.uint64(x)) != new_exp(np.uint64(x))
        return bad

    t0 = time.perf_counter()
    bad_r, bad_cs = box_muller_mismatches(0, 2**31)
    bad_e = exponential_mismatches(0, 2**32)
    return {"box_muller_words": 2**31, "radius_mismatches": int(bad_r),
            "cos_sin_mismatches": int(bad_cs), "exponential_words": 2**32,
            "exponential_mismatches": int(bad_e), "seconds": time.perf_counter() - t0}


def encode_rows(base: ModuleType, rounds: int) -> list[dict]:
    """The 256² china encode at 0.5 bpp (default model) with ``base``'s kernel and this tree's
    (``rdptheory.kernels._numba_kernels``), alternately."""
    from rdptheory.data import bundled_image, center_crop
    from rdptheory.images import compress_with_report
    from rdptheory.kernels import _numba_kernels
    from rdptheory.models import load_model

    current = _numba_kernels.select_chunks
    model = load_model("unet")
    px = center_crop(bundled_image("china").pixels, 256)
    spent: list[float] = []

    def patched(kernel):
        def select_chunks(*args):
            out, _, cpu = _timed(kernel, *args)
            spent.append(cpu)
            return out

        return select_chunks

    rows, data = [], {}
    try:
        kernels = {"baseline": base.select_chunks, "new": current}  # before any patching
        for name in ["baseline", "new"] * rounds:
            _numba_kernels.select_chunks = patched(kernels[name])
            compress_with_report(px[:16, :16], model=model, noise_var=1.0)  # warm-up
            spent.clear()
            res, wall, cpu = _timed(lambda: compress_with_report(px, model=model, bpp=0.5))
            data.setdefault(name, res.data)
            assert res.data == data["baseline"], "the two kernels wrote different bitstreams"
            rows.append({"kernel": name, "encode_s": wall, "encode_cpu_s": cpu,
                         "select_calls": len(spent), "select_cpu_s": sum(spent),
                         "bytes": len(res.data), "bpp": res.bpp,
                         "identical_bitstream": res.data == data["baseline"]})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    finally:
        _numba_kernels.select_chunks = current
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the baseline")
    parser.add_argument("--threads", type=int, default=1, help="numba threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="kernel rows: best of N")
    parser.add_argument("--rounds", type=int, default=1, help="encode rows: rounds of the pair")
    parser.add_argument("--no-encode", action="store_true", help="skip the 256² encode rows")
    parser.add_argument("--exhaustive", action="store_true",
                        help="compare the changed transforms on all their inputs (~2 min)")
    parser.add_argument("--out", help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    import numba

    from rdptheory.kernels import _numba_kernels as new

    numba.set_num_threads(args.threads)
    base = load_baseline(args.baseline)
    kernel = []
    for shape in KERNEL_SHAPES:
        kernel.append(kernel_row(base, new, *shape, repeats=args.repeats))
        r = kernel[-1]
        print(f"dims {r['dims']:>5} 2^{r['log2n']} x {r['n_chunks']:>4} chunks: "
              f"baseline {r['baseline_cand_dims_per_cpu_s'] / 1e6:7.1f} M cand-dims/CPU s, "
              f"new {r['new_cand_dims_per_cpu_s'] / 1e6:7.1f}, x{r['speedup_cpu']:.2f}",
              flush=True)  # fmt: skip
    exhaustive = exhaustive_check(base, new) if args.exhaustive else None
    if exhaustive is not None:
        print(json.dumps(exhaustive), flush=True)
        assert exhaustive["radius_mismatches"] == exhaustive["cos_sin_mismatches"] == 0
        assert exhaustive["exponential_mismatches"] == 0
    encode = [] if args.no_encode else encode_rows(base, args.rounds)
    result = {"command": " ".join(["benchmarks/rcc_kernel.py", *(argv or sys.argv[1:])]),
              "baseline_rev": args.baseline, "numba_threads": numba.get_num_threads(),
              "threading_layer": numba.threading_layer(), "machine": platform.machine(),
              "processor": platform.processor(), "cpu_count": os.cpu_count(),
              "load_1min": os.getloadavg()[0], "kernel_rows": kernel, "exhaustive": exhaustive,
              "encode_rows": encode}
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
