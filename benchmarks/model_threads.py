"""Seconds per model call with 1 and 2 model threads, and the bitwise check between them.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/model_threads.py \
        [--models unet unet-x4+gmm] [--sizes 128 256] [--threads 1 2] [--calls 3] [--quick] \
        [--out benchmarks/results/model_threads.json]

Every torch model call runs under :func:`rdptheory.models._torch_common.fixed_torch_threads`:
one intra-op thread for everything except the allow-listed ops (3×3 convolutions that torch
sends to oneDNN, ``group_norm``, nearest ``interpolate``), which get the model's thread count
(``RDPTHEORY_MODEL_THREADS``, set here per row). For each model, size and thread count this
script times ``model.denoise`` on a seeded (1, 3, S, S) state at t² = 0.09 (one warm-up call,
then ``--calls`` timed calls; wall and process CPU seconds, all threads, per call) and checks
that the output's bytes equal the 1-thread output's. A ``naive`` row per size times the
network with every op on the same number of torch threads and no policy (the speed an
unpinned call would have; its output is *not* bitwise equal to the 1-thread output) for the
plain UNet.

Load matters on the shared 2-core box: the 1-minute load average before and after each row is
recorded. Under load, GNU OpenMP's spinning workers (``OMP_WAIT_POLICY`` unset) make any
multi-threaded torch call slower than one thread (measured at load ~11: the plain 2-thread
UNet at 128² took 4.3 s wall against 0.74 s with 1 thread; with ``OMP_WAIT_POLICY=PASSIVE``
0.90 s); compare rows of one run only, and read CPU seconds next to wall seconds.

Measured 2026-12-07 02:15 UTC on the shared 2-core box (AMD EPYC, AVX2, torch 2.13.0+cpu),
load average 7-12 during the run (other engineers' jobs), default command; seconds per call,
wall (process CPU, all threads); "=" means bitwise equal to the 1-thread row::

    model         size  1 thread          2 threads (policy)      2 threads, no policy
    unet          128²  1.09 (0.22)       4.18 (1.10)   =         8.55 (2.12)  differs
    unet          256²  9.26 (1.42)       7.64 (2.49)   =         9.43 (2.96)  differs
    unet-x4+gmm   128²  4.80 (1.24)       16.49 (5.95)  =
    unet-x4+gmm   256²  32.11 (7.06)      44.51 (12.50) =

At that load a second thread mostly spins (the extra CPU seconds are GNU OpenMP waiting),
for the policy and for plain torch alike; the speed-up needs a free core. The same script
with ``OMP_WAIT_POLICY=PASSIVE`` (unet only, load 11-15, the policy without attention on the
allow-list) spent no extra CPU: 128² 0.32 / 0.36 CPU-s, 256² 1.51 / 1.40 CPU-s for 1 / 2
threads. On one thread the allow-listed ops are 81 % (128²) and 84 % (256²) of UNet S's CPU
time, so two free cores can give at most ~1.7× per call. On an idle machine the coordinator
measured one UNet S call at 256² at 1.10 s with 1 thread, 0.62 s with every op on 2 threads;
rerun this script on an idle machine for the policy's figure.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rdptheory.models import load_model  # noqa: E402
from rdptheory.models._torch_common import THREADS_ENV  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "model_threads.json"


def _load() -> float:
    return float(os.getloadavg()[0])


def time_calls(fn, calls: int) -> tuple[float, float, np.ndarray]:
    """(mean wall s, mean process CPU s, last output) per call after one warm-up call."""
    out = fn()
    wall, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.mean(wall)), float(np.mean(cpu)), out


def thread_rows(spec, size, threads, calls, make_call, *, policy: bool) -> list[dict]:
    """One row per thread count: seconds per call of ``make_call(k)()`` and whether its
    output has the bytes of the first thread count's."""
    rows, ref = [], None
    for k in threads:
        call = make_call(k)
        load0 = _load()
        wall, cpu, out = time_calls(call, calls)
        ref = out if ref is None else ref
        row = {"model": spec, "size": size, "threads": k, "policy": policy,
               "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
               "bitwise_equal_to_first": bool(out.tobytes() == ref.tobytes()),
               "load_before": load0, "load_after": _load()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _naive_unet_call(model, y: np.ndarray, threads: int):
    """The shipped UNet's EDM denoiser with every op on ``threads`` torch threads."""
    import torch

    x = torch.from_numpy(y).float()
    sigma = torch.full((y.shape[0],), 0.3)

    def call() -> np.ndarray:
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.no_grad():
                return model._edm(x, sigma).double().numpy()
        finally:
            torch.set_num_threads(old)
    return call


def run(models: list[str], sizes: list[int], threads: list[int], calls: int) -> dict:
    import torch

    rows = []
    for spec in models:
        model = load_model(spec)
        for size in sizes:
            y = np.random.default_rng(size).normal(size=(1, 3, size, size)) * 0.6
            def policy_call(k, m=model, v=y):
                os.environ[THREADS_ENV] = str(k)
                return lambda: m.denoise(v, np.array([0.09]))

            rows += thread_rows(spec, size, threads, calls, policy_call, policy=True)
            if spec == "unet":
                rows += thread_rows(spec, size, threads, calls,
                                    lambda k, m=model, v=y: _naive_unet_call(m, v, k),
                                    policy=False)
    os.environ.pop(THREADS_ENV, None)
    return {
        "what": "seconds per model.denoise call (1, 3, S, S) at t^2 = 0.09, mean of the timed "
                "calls after one warm-up; policy=true: rdptheory's thread policy with "
                "RDPTHEORY_MODEL_THREADS = threads; policy=false: every torch op on that many "
                "threads (plain UNet only); bitwise_equal_to_first: output bytes equal to the "
                "first thread count's row of the same model, size and policy",
        "command": " ".join(["python", "benchmarks/model_threads.py", *sys.argv[1:]]),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "torch": torch.__version__,
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                    "cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["unet", "unet-x4+gmm"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[128, 256])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="unet at 64 px, one timed call")
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    a = ap.parse_args(argv)
    if a.quick:
        a.models, a.sizes, a.calls = ["unet"], [64], 1
    if a.calls < 1 or any(k < 1 for k in a.threads) or any(s < 8 for s in a.sizes):
        ap.error("--calls and --threads must be >= 1, --sizes >= 8")
    result = run(a.models, a.sizes, a.threads, a.calls)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
