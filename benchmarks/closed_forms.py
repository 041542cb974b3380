"""Benchmark the Gaussian closed forms (THEORY.md §1-§3).

Times
  * a vectorised evaluation of 10⁶ scalar R(D, P) points, for each perception measure
    (``rdptheory.gaussian.rdp``), plus the inverse ``drp`` for ``"w2sq"``;
  * reverse water-filling ``rate_distortion_vector`` for 10⁶ values of D at n = 100;
  * the vector solver ``rdp_vector_solution`` (and ``drp_vector_solution``) at
    n = 10, 100, 10⁴ for λ_i = i⁻² in several regimes, with the certificate it reports.

Usage::

    python benchmarks/closed_forms.py            # full sizes
    python benchmarks/closed_forms.py --quick    # 10⁴ scalar points, n up to 10³

Timings are wall-clock, best of ``--repeat`` runs, single thread (set OMP_NUM_THREADS=1
for comparable numbers on a shared machine).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Best wall-clock time (s) of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def scalar_rows(n_points: int, repeat: int) -> list[tuple[str, int, float]]:
    """(name, points, seconds) for the vectorised scalar closed forms."""
    from rdptheory.gaussian import drp, rdp

    rng = np.random.default_rng(0)
    D = rng.uniform(0.01, 2.0, n_points)
    P = rng.uniform(0.0, 1.0, n_points)
    rows = []
    for measure in ("w2sq", "kl_reverse", "kl_forward"):
        seconds = best_time(lambda m=measure: rdp(D, P, 1.0, perception=m), repeat)
        rows.append((f"rdp scalar, perception={measure}", n_points, seconds))
    R = rng.uniform(0.0, 4.0, n_points)
    rows.append(
        ("drp scalar, perception=w2sq", n_points, best_time(lambda: drp(R, P, 1.0), repeat))
    )
    return rows


def water_filling_row(n_points: int, repeat: int) -> tuple[str, int, float]:
    """Vectorised reverse water-filling over many D at n = 100."""
    from rdptheory.gaussian import rate_distortion_vector

    lam = 1.0 / np.arange(1, 101) ** 2.0
    D = np.linspace(0.001, 1.0, n_points) * lam.sum()
    seconds = best_time(lambda: rate_distortion_vector(D, lam), repeat)
    return ("rate_distortion_vector, n=100", n_points, seconds)


CASES = {  # (D/L, P/L): regime for λ_i = i^-2
    "both active": (0.1, 0.01),
    "both active, P tiny": (0.5, 1e-9),
    "both active, D > L": (1.2, 0.05),
    "P = 0": (0.3, 0.0),
    "water-filling": (0.01, 1.0),
}


def vector_rows(sizes: list[int], repeat: int) -> list[tuple[int, str, float, float, float]]:
    """(n, case, ms per rdp_vector_solution, max(kkt, |gap|/R), ms per drp_vector_solution)."""
    from rdptheory.gaussian import drp_vector_solution, rdp_vector_solution

    rows = []
    for n in sizes:
        lam = 1.0 / np.arange(1, n + 1) ** 2.0
        L = float(lam.sum())
        for case, (dfrac, pfrac) in CASES.items():
            D, P = dfrac * L, pfrac * L
            sol = rdp_vector_solution(D, P, lam)
            cert = max(sol.kkt_residual, abs(sol.dual_gap_nats) / max(sol.rate_nats, 1e-300))
            ms = 1e3 * best_time(lambda D=D, P=P, lam=lam: rdp_vector_solution(D, P, lam), repeat)
            R = sol.rate_nats
            ms_inv = 1e3 * best_time(
                lambda R=R, P=P, lam=lam: drp_vector_solution(R, P, lam, unit="nats"), repeat
            )
            rows.append((n, case, ms, cert, ms_inv))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    n_points = 10_000 if args.quick else 1_000_000
    sizes = [10, 100, 1000] if args.quick else [10, 100, 10_000]

    print(f"{'vectorised closed form':42s} {'points':>9s} {'total ms':>10s} {'ns/point':>9s}")
    for name, points, seconds in [*scalar_rows(n_points, args.repeat),
                                  water_filling_row(n_points, args.repeat)]:  # fmt: skip
        print(f"{name:42s} {points:9d} {1e3 * seconds:10.1f} {1e9 * seconds / points:9.1f}")
    print()
    print(f"{'rdp_vector (λ_i = i^-2)':30s} {'n':>6s} {'ms/solve':>9s} {'certificate':>12s}"
          f" {'drp ms':>8s}")  # fmt: skip
    for n, case, ms, cert, ms_inv in vector_rows(sizes, args.repeat):
        print(f"{case:30s} {n:6d} {ms:9.2f} {cert:12.1e} {ms_inv:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
