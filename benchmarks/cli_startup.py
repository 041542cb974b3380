"""What a user of the CLI waits for beyond the codec: start-up of fresh ``rdptheory`` processes.

For each source tree (``--tree LABEL=PATH``, default this repository as ``after``; a baseline is
another checkout, e.g. ``git worktree add /tmp/old <commit>``), every row runs in a **fresh
subprocess** with ``PYTHONPATH=PATH`` (the tree's ``rdptheory`` is asserted to be the one
imported) and the same interpreter, alternating the trees within each repeat:

* ``startup``: ``import rdptheory.cli, rdptheory.images.codec``, then
  ``load_model("unet")`` (the default model), then one model call on a 16×16 input; the
  child reports the seconds of each part, the parent the process's wall and CPU seconds
  (``getrusage`` of the child: user + sys, all threads);
* ``compress``: ``python -m rdptheory compress CROP.png OUT.rdp --bpp B`` on the ``--size``²
  centre crop of scikit-learn's china.jpg (unseen by every model); the codec's own seconds are
  read from the command's output and ``overhead_s = wall − codec``;
* ``decompress``: ``python -m rdptheory decompress OUT.rdp OUT.png`` (defaults: ρ = 1, exp2 4);
* ``decode_in_process``: in one child, the model loaded, ``decompress`` of the same file twice:
  the first call's extra seconds are the warm-up (numba kernel load, first oneDNN calls).

The trees' bitstreams and decoded pixels are compared (``files_equal``, ``pixels_equal``, and
each tree decoding the other's file to the same pixels): a start-up change must not change a
bit. Timing numbers on a shared machine are "loaded": compare trees only within one run.
Usage: ``python benchmarks/cli_startup.py --tree before=/tmp/old [--tree after=.]
[--threads 2] [--repeats 2] [--size 256] [--bpp 0.5] [--note TEXT]
[--out benchmarks/results/cli_startup.json]``.

Recorded run (``benchmarks/results/cli_startup.json``, 2026-12-07, 1 thread, a shared 2-core
box at load 2-4, medians of 2 alternated repeats; ``before`` = commit 789ef65, ``after`` =
789ef65 plus this change's two commits and nothing else): start-up (imports, default model
loaded, one call) 7.4 -> 2.4 s CPU; ``compress`` wall minus the codec's own seconds 8.0 ->
2.7 s; ``decompress`` 22.5 -> 17.5 s CPU; decode inside the codec unchanged (13.4 / 13.8 s
CPU, the same 13 model calls); identical files and pixels, each tree decodes the other's
file to the same pixels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

_STARTUP = r"""
import json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
import rdptheory
assert rdptheory.__file__.startswith(sys.argv[1]), rdptheory.__file__
import rdptheory.cli, rdptheory.images.codec
t1 = time.perf_counter()
import numpy as np
from rdptheory.models import load_model
m = load_model("unet")
t2 = time.perf_counter()
m.denoise(np.zeros((1, 3, 16, 16)), 0.5)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_model_s": t2 - t1, "first_call_s": t3 - t2,
                  "child_cpu_s": time.process_time() - c0,
                  "diffusers_imported": "diffusers" in sys.modules,
                  "dynamo_imported": "torch._dynamo" in sys.modules}))
"""

_DECODE = r"""
import json, sys, time
import rdptheory
assert rdptheory.__file__.startswith(sys.argv[1]), rdptheory.__file__
from rdptheory.images.codec import decompress
from rdptheory.models import load_model
m = load_model("unet")
data = open(sys.argv[2], "rb").read()
out = {}
for k in ("first", "second"):
    t = time.perf_counter(); c = time.process_time()
    decompress(data, model=m)
    out[k + "_s"], out[k + "_cpu_s"] = time.perf_counter() - t, time.process_time() - c
print(json.dumps(out))
"""


def _child_env(tree: pathlib.Path, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        env[name] = str(threads)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.pop("RDPTHEORY_MODEL_THREADS", None)
    return env


def timed_run(args: list[str], tree: pathlib.Path, threads: int) -> dict:
    """Run ``python ARGS`` in ``tree`` (fresh process): wall, CPU (user+sys), stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=tree, env=_child_env(tree, threads),
                          capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed in {tree}: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "stdout": proc.stdout}


def _pixels_md5(png: pathlib.Path) -> str:
    import numpy as np
    from PIL import Image

    return hashlib.md5(np.asarray(Image.open(png)).tobytes()).hexdigest()


def tree_rows(label: str, tree: pathlib.Path, crop: pathlib.Path, work: pathlib.Path,
              bpp: float, threads: int, repeat: int) -> list[dict]:
    """The four rows of one tree (module docstring)."""
    base = {"tree": label, "path": str(tree), "repeat": repeat, "threads": threads}
    rows = []
    r = timed_run(["-c", _STARTUP, str(tree)], tree, threads)
    rows.append(base | {"row": "startup", "wall_s": r["wall_s"], "cpu_s": r["cpu_s"]}
                | json.loads(r["stdout"].strip().splitlines()[-1]))
    stream, png = work / f"{label}.rdp", work / f"{label}.png"
    r = timed_run(["-m", "rdptheory", "compress", str(crop), str(stream), "--bpp", str(bpp),
                   "--force"], tree, threads)
    codec = float(re.search(r"([0-9.]+) s\s*$", r["stdout"].strip()).group(1))
    rows.append(base | {"row": "compress", "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                        "codec_s": codec, "overhead_s": r["wall_s"] - codec,
                        "bytes": stream.stat().st_size,
                        "file_md5": hashlib.md5(stream.read_bytes()).hexdigest()})
    r = timed_run(["-m", "rdptheory", "decompress", str(stream), str(png), "--force"], tree,
                  threads)
    rows.append(base | {"row": "decompress", "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                        "pixels_md5": _pixels_md5(png)})
    r = timed_run(["-c", _DECODE, str(tree), str(stream)], tree, threads)
    dec = json.loads(r["stdout"].strip().splitlines()[-1])
    rows.append(base | {"row": "decode_in_process", **dec,
                        "warm_up_s": dec["first_s"] - dec["second_s"]})
    for row in rows:
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                          for k, v in row.items()}), flush=True)
    return rows


def cross_decode(trees: dict[str, pathlib.Path], work: pathlib.Path, threads: int) -> dict:
    """Each tree decodes every other tree's file: the pixels' md5 per (decoder, file)."""
    out = {}
    for dec_label, tree in trees.items():
        for file_label in trees:
            if file_label == dec_label:
                continue
            png = work / f"{dec_label}_decodes_{file_label}.png"
            timed_run(["-m", "rdptheory", "decompress", str(work / f"{file_label}.rdp"),
                       str(png), "--force"], tree, threads)
            out[f"{dec_label} decodes {file_label}"] = _pixels_md5(png)
    return out


def _git(tree: pathlib.Path) -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _summary(rows: list[dict]) -> dict:
    """Per tree and row, the median of each timing field over the repeats."""
    import statistics

    out: dict = {}
    for row in rows:
        entry = out.setdefault(row["tree"], {}).setdefault(row["row"], {})
        for k, v in row.items():
            if k.endswith("_s") and isinstance(v, float):
                entry.setdefault(k, []).append(v)
    return {t: {r: {k: round(statistics.median(v), 3) for k, v in d.items()}
                for r, d in rs.items()} for t, rs in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH",
                    help="a source tree to time (repeatable; default after=this repository)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bpp", type=float, default=0.5)
    ap.add_argument("--out", default=None, help="JSON file for the rows")
    ap.add_argument("--note", default="", help="free text stored in the JSON (e.g. what a "
                    "tree holds beyond its commit)")
    args = ap.parse_args(argv)
    trees = {"after": ROOT} if not args.tree else {}
    for spec in args.tree:
        label, _, path = spec.partition("=")
        if not label or not path or not pathlib.Path(path).is_dir():
            ap.error(f"--tree must be LABEL=DIRECTORY, got {spec!r}")
        trees[label] = pathlib.Path(path).resolve()
    from PIL import Image

    from rdptheory.data import bundled_image, center_crop

    work = pathlib.Path(tempfile.mkdtemp(prefix="cli-startup-"))
    crop = work / f"china{args.size}.png"
    Image.fromarray(center_crop(bundled_image("china").pixels, args.size)).save(crop)
    small = work / "warm.png"  # untimed: fills each tree's numba cache and the file cache
    Image.fromarray(center_crop(bundled_image("china").pixels, 16)).save(small)
    for tree in trees.values():
        timed_run(["-m", "rdptheory", "compress", str(small), str(work / "warm.rdp"),
                   "--bpp", "1", "--force"], tree, args.threads)
    rows: list[dict] = []
    for repeat in range(args.repeats):
        order = list(trees.items())
        for label, tree in (order if repeat % 2 == 0 else order[::-1]):
            rows += tree_rows(label, tree, crop, work, args.bpp, args.threads, repeat)
    last = {r["tree"]: r for r in rows if r["row"] == "compress"}
    dec = {r["tree"]: r["pixels_md5"] for r in rows if r["row"] == "decompress"}
    cross = cross_decode(trees, work, args.threads) if len(trees) > 1 else {}
    checks = {"files_equal": len({r["file_md5"] for r in last.values()}) == 1,
              "pixels_equal": len(set(dec.values()) | set(cross.values())) == 1,
              "cross_decode_md5": cross}
    print(json.dumps(checks), flush=True)
    result = {"benchmark": "cli_startup", "note": args.note,
              "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "image": f"china {args.size}x{args.size} centre crop", "bpp": args.bpp,
              "threads": args.threads, "repeats": args.repeats,
              "trees": {k: {"path": str(v), "commit": _git(v)} for k, v in trees.items()},
              "python": platform.python_version(), "machine": platform.machine(),
              "cpus": os.cpu_count(), "load_1min_end": os.getloadavg()[0],
              "summary_median": _summary(rows), "checks": checks, "rows": rows}
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0 if checks["files_equal"] and checks["pixels_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
