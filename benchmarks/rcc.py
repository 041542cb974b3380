"""RCC kernel throughput: candidate-dimensions per second for every available backend.

For chunk sizes of 8/12/16 bits (2^bits candidates) and chunk dimensions 8-256, times
``rdptheory.kernels.pfr_select`` (generate the shared candidates, score log q/p, keep the PFR
running best) and prints each throughput with its ratio to the CPU "RNG floor": numpy's
``default_rng().standard_normal`` drawing the same number of normals (float64, single thread,
in blocks of 2^20 into a preallocated buffer), measured in the same run just before.

Then a DiffC-sized workload (SD1.5 at 512^2: ~3,500 chunks of 2^16 candidates covering a
16,384-dim latent over ~100 steps, ~10^11 candidate-dimensions): a 1/100 slice (35 chunks of
468 dims) is timed on the CPU and extrapolated.

GPU backends (triton, cupy) run only when CUDA is present; the triton interpreter is never
benchmarked. Usage: ``python benchmarks/rcc.py [--quick] [--csv out.csv] [--threads N]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from dataclasses import asdict, dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the floor and torch stay single-threaded
# numba's OpenMP workers otherwise spin after each parallel region and starve torch/numpy
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from rdptheory.kernels import available_backends, pfr_select  # noqa: E402

DIFFC_CHUNKS, DIFFC_BITS, DIFFC_CHUNK_DIMS = 3500, 16, 468  # 3500 * 2^16 * 468 = 1.07e11
FLOOR_BLOCK = 1 << 20


@dataclass(frozen=True)
class Row:
    """One measurement: throughput in candidate-dimensions per second and its floor ratio."""

    workload: str
    backend: str
    bits: int
    chunk_dims: int
    n_chunks: int
    candidate_dims: int
    seconds: float
    cand_dims_per_s: float
    floor_normals_per_s: float
    ratio_to_floor: float


def rng_floor_seconds(n_normals: int, repeats: int) -> float:
    """Best time for numpy's default_rng().standard_normal to draw ``n_normals`` normals."""
    rng = np.random.default_rng(0)
    buf = np.empty(min(n_normals, FLOOR_BLOCK))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        left = n_normals
        while left > 0:
            m = min(left, buf.size)
            rng.standard_normal(out=buf[:m])
            left -= m
        best = min(best, time.perf_counter() - t0)
    return best


def problem(bits: int, dims: int, n_chunks: int, seed: int = 0):
    """A DiffC-like equal-variance target, ~1 bit of KL per dim, in ``n_chunks`` chunks."""
    rng = np.random.default_rng(seed)
    d = dims * n_chunks
    mu_p, sigma = rng.normal(size=d), np.full(d, 0.5)
    mu_q = mu_p + sigma * rng.normal(scale=min(1.0, np.sqrt(2 * bits / dims)), size=d)
    starts = np.arange(0, d + 1, dims)
    return (mu_q, sigma, mu_p, sigma, starts, np.full(n_chunks, bits))


def time_select(backend: str, args, repeats: int) -> float:
    """Best wall time of ``pfr_select`` over ``repeats`` runs (after a tiny warm-up call)."""
    small = problem(2, 8, 2)
    pfr_select(*small, seed=1, encoder_seed=2, backend=backend)  # JIT compile / CUDA init
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        pfr_select(*args, seed=1 + r, encoder_seed=2, backend=backend)
        best = min(best, time.perf_counter() - t0)
    return best


def measure(workload, backend, bits, dims, n_chunks, repeats, scale=1.0) -> Row:
    """Time one configuration; ``scale`` extrapolates a slice to the full workload."""
    args = problem(bits, dims, n_chunks)
    cand_dims = n_chunks * 2**bits * dims
    floor = rng_floor_seconds(cand_dims, repeats)
    seconds = time_select(backend, args, repeats)
    return Row(workload, backend, bits, dims, n_chunks, int(cand_dims * scale), seconds * scale,
               cand_dims / seconds, cand_dims / floor, floor / seconds)  # fmt: skip


def backends(threads: int | None) -> list[str]:
    """Benchmarked backends: CPU ones always, GPU ones only on CUDA (never the interpreter)."""
    from rdptheory.kernels._api import cuda_available

    names = [b for b in ("numba", "torch", "numpy") if b in available_backends()]
    if cuda_available():
        names += [b for b in ("triton", "cupy") if b in available_backends()]
    if threads is not None and "numba" in names:
        import numba

        numba.set_num_threads(threads)
    return names


def grid_rows(names: list[str], quick: bool) -> list[Row]:
    """The bits x chunk-dims grid; total candidate-dims per configuration kept ~constant."""
    target = 2**22 if quick else 2**26
    rows = []
    for bits in (8, 12, 16):
        for dims in (8, 32, 256) if quick else (8, 16, 32, 64, 128, 256):
            for name in names:
                budget = target // 16 if name in ("numpy", "torch") else target  # slow refs
                n_chunks = max(1, budget // (2**bits * dims))
                rows.append(measure("grid", name, bits, dims, n_chunks, 1 if quick else 3))
                print(format_row(rows[-1]), flush=True)
    return rows


def diffc_rows(names: list[str], quick: bool) -> list[Row]:
    """The DiffC-sized workload, a 1/100 slice (1/1000 in --quick), extrapolated."""
    frac = 1000 if quick else 100
    n_chunks = DIFFC_CHUNKS // frac
    rows = []
    for name in (n for n in names if n not in ("numpy", "torch")):
        rows.append(measure(f"diffc/{frac}", name, DIFFC_BITS, DIFFC_CHUNK_DIMS, n_chunks, 1,
                            scale=DIFFC_CHUNKS / n_chunks))  # fmt: skip
        print(format_row(rows[-1]), flush=True)
    return rows


def layout_rows(n_messages: int) -> list[tuple[str, float, float]]:
    """Bits per message in one stream of the issue-10 target, per layout strategy.

    Target: d = 64, DiffC step with 40 bits of expected KL (mu_q - mu_p ~ N(0, 2 k ln2),
    k = 40/64), B = 14, padding 2, numba. Measured 2026-12-06 over 100 messages: sent sizes
    57.3 bits (index 41.9 + layout 15.3 ideal), the encoder's choice ("auto") 47.7.
    """
    from rdptheory import rcc

    rows = []
    for lay in ("sent", "diffc", "auto"):
        rng = np.random.default_rng(0)
        w, kl = rcc.RCCStreamWriter(), 0.0
        for s in range(n_messages):
            delta = rng.normal(0.0, np.sqrt(2 * 40.0 / 64 * np.log(2)), 64)
            m = rcc.encode(delta, 1.0, np.zeros(64), 1.0, seed=1, stream=s, backend="numba",
                           chunk_layout=lay)
            w.write(m)
            kl += m.kl_bits
        rows.append((lay, kl / n_messages, 8 * len(w.body()) / n_messages))
        print(f"layout {lay:>6}: mean KL {rows[-1][1]:.2f} bits, {rows[-1][2]:.2f} bits/message "
              f"in a stream of {n_messages}", flush=True)
    return rows


def format_row(r: Row) -> str:
    return (f"{r.workload:>10} {r.backend:>7} {r.bits:>4} {r.chunk_dims:>5} {r.n_chunks:>6} "
            f"{r.candidate_dims:>10.3g} {r.seconds:>10.3g} {r.cand_dims_per_s / 1e6:>10.1f} "
            f"{r.floor_normals_per_s / 1e6:>10.1f} {r.ratio_to_floor:>6.2f}")  # fmt: skip


HEADER = (
    f"{'workload':>10} {'backend':>7} {'bits':>4} {'dims':>5} {'chunks':>6} "
    f"{'cand-dims':>10} {'seconds':>10} {'Mcd/s':>10} {'floor M/s':>10} {'ratio':>6}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--csv", help="also write the rows to this CSV file")
    parser.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    parser.add_argument("--no-diffc", action="store_true", help="skip the DiffC workload")
    parser.add_argument("--layouts-only", action="store_true",
                        help="only the bits per message of each chunk-layout strategy")
    args = parser.parse_args(argv)
    names = backends(args.threads)
    import numba

    print(f"backends: {names}; numba threads: {numba.get_num_threads()}; cpu count: "
          f"{os.cpu_count()}; floor = numpy default_rng().standard_normal (1 thread)")  # fmt: skip
    layout_rows(20 if args.quick else 100)
    if args.layouts_only:
        return 0
    print(HEADER)
    rows = grid_rows(names, args.quick)
    if not args.no_diffc:
        rows += diffc_rows(names, args.quick)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
