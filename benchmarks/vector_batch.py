"""Benchmark the batched vector R(D, P) / D(R, P) against the per-point solver.

``rdptheory.gaussian.rdp_vector`` / ``drp_vector`` solve all (D, P) points of a call
together (regimes in closed form, one lockstep Newton iteration over the both-active
points; :mod:`rdptheory.gaussian._vector_batch`). Before, they looped over
``rdp_vector_solution``'s per-point solver (Brent on the multiplier ratio around a Newton
on γ). This script times both in the same run, for λ_i = i⁻² at n = 100, on (D, P) points
drawn over every regime (D/L ∈ (0.01, 1.8), √(P/L) ∈ (0, 0.6), 1/8 of them at P = 0):

- the batch over ``--points`` points (default 10⁵; the issue's target: ≤ 10 s);
- the per-point solver over ``--old-points`` of them (default 200; a full 10⁵ run takes
  minutes), extrapolated linearly, and the largest relative difference between the two.

Measured 2026-12-06 on the 2-core development machine while it ran a training job and other
test suites (load average ~14), OMP_NUM_THREADS=1, n = 100, 10⁵ points: rdp_vector batch
101 s (1.0 ms/point) against 4.8 ms/point for the loop (~480 s extrapolated), drp_vector batch
17 s against 4.9 ms/point; max relative difference 1.8e-14 / 1.6e-14. The issue's target
(≤ 10 s for 10⁵ R(D, P) points) is **not** reached on that loaded machine; the both-active
points (~60 % here) dominate: ~5.5 lockstep Newton steps, each a warm-started cubic root
per component.

Re-measured the same day with the machine nearly idle (load average ~1.3: one other
single-threaded job), OMP_NUM_THREADS=1, n = 100, 10⁵ points: rdp_vector batch **5.8 s**
(0.058 ms/point) against 0.39 ms/point for the loop (39 s per 10⁵, 100 points timed);
drp_vector batch 1.2 s against 0.37 ms/point; max relative difference 1.8e-14 / 1.6e-14.
The target (≤ 10 s) is met on an unloaded machine.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/vector_batch.py [--points 100000] [--old-points 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def operating_points(n_points: int, lam: np.ndarray, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(D, P, R) over every regime of THEORY.md §2 (R: the rate of each (D, P), in nats)."""
    rng = np.random.default_rng(seed)
    L = lam.sum()
    D = L * rng.uniform(0.01, 1.8, n_points)
    P = L * rng.uniform(0.0, 0.6, n_points) ** 2
    P[: n_points // 8] = 0.0
    R = rng.uniform(0.0, 2.0, n_points) * lam.size
    return D, P, R


def run(n_points: int, old_points: int, n: int = 100) -> list[tuple[str, int, float, float]]:
    """Rows (what, points, seconds, max relative difference batch vs per-point)."""
    from rdptheory.gaussian import vector as V

    lam = 1.0 / np.arange(1, n + 1) ** 2.0
    D, P, R = operating_points(n_points, lam)
    rows = []
    for name, batch, single, x in (
        ("rdp_vector", V._rdp_batch, lambda a, p: V._solve_rdp(a, p, lam).rate_nats, D),
        ("drp_vector", V._drp_batch, lambda a, p: V._solve_drp(a, p, lam).mse, R),
    ):
        t0 = time.perf_counter()
        new = batch(x, P, lam)
        t_new = time.perf_counter() - t0
        t0 = time.perf_counter()
        old = np.array([single(float(a), float(p)) for a, p in zip(x[:old_points], P)])
        t_old = time.perf_counter() - t0
        diff = np.abs(new[:old_points] - old) / np.maximum(np.abs(old), 1e-300)
        rows.append((f"{name} batch (n={n})", n_points, t_new, float(diff.max())))
        rows.append((f"{name} per-point loop (n={n})", old_points, t_old, float("nan")))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--old-points", type=int, default=200)
    parser.add_argument("--n", type=int, default=100, help="components (λ_i = i^-2)")
    args = parser.parse_args(argv)
    print(f"{'':36s} {'points':>8s} {'seconds':>9s} {'ms/point':>9s} {'per 1e5 (s)':>11s}"
          f" {'max rel diff':>12s}")  # fmt: skip
    for name, points, seconds, diff in run(args.points, args.old_points, args.n):
        per = 1e3 * seconds / points
        print(f"{name:36s} {points:8d} {seconds:9.2f} {per:9.4f} {per * 100:11.1f} {diff:12.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
