"""Benchmark: score-scaled PF-ODE decoding (64 Heun steps) vs one closed-form map evaluation.

Analytic Gaussian sources, CPU, numpy (float64) and torch (float64 and float32):
  - 10^6 scalar samples,
  - 10^4 samples of dimension 256 (diagonal covariance, and a full covariance through its
    eigendecomposition).
Prints wall time of ``decode(model, y, noise_var, rho, solver="heun", steps=64)`` (127 score
evaluations on the default VP schedule), of ``model.exact_decode(y, noise_var, rho)`` (the
vectorised closed form (λ/(λ+t²))^{ρ/2}·Y) in the same run, their ratio, and the max abs
difference. Best of ``--repeats``.

``--grids`` instead prints the step grid study: the fewest Heun steps reaching 1e-6 relative
error against the exact map (:func:`rdptheory.diffusion.verify.steps_for_tolerance`, the
3-d full-covariance source of the tests, ρ = 1.5) for each schedule's grid at several received
levels. It is why the default stays "vp" (uniform in the VP time t): near v = 0 that grid is
nearly uniform in the noise variance, which suits a source whose smallest eigenvalue is not
tiny, while EDM/Karras and log-σ spacings spend their steps below it.

    .venv/bin/python benchmarks/decoder.py [--threads 1] [--repeats 3] [--quick] [--grids]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _cases(quick: bool) -> list[tuple[str, Any, np.ndarray]]:
    from rdptheory.diffusion import GaussianModel

    rng = np.random.default_rng(0)
    n_scalar, n_vec = (10**5, 10**3) if quick else (10**6, 10**4)
    lam = 1.0 / np.arange(1, 257) ** 1.0
    A = rng.standard_normal((256, 256))
    q, _ = np.linalg.qr(A)
    full = (q * lam) @ q.T
    return [
        (f"scalar n={n_scalar}", GaussianModel(0.0, 1.0), rng.standard_normal(n_scalar)),
        (
            f"d=256 diag n={n_vec}",
            GaussianModel(np.zeros(256), lam),
            rng.standard_normal((n_vec, 256)),
        ),
        (
            f"d=256 full n={n_vec}",
            GaussianModel(np.zeros(256), full),
            rng.standard_normal((n_vec, 256)),
        ),
    ]


def grid_study(noise_vars: tuple[float, ...] = (0.1, 1.0, 10.0), tol: float = 1e-6) -> None:
    """Print the fewest Heun steps reaching ``tol`` for each schedule's grid and level."""
    from rdptheory.diffusion import GaussianModel, Karras, VPLinear
    from rdptheory.diffusion.verify import steps_for_tolerance

    cov = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.2], [0.1, -0.2, 0.5]])
    sources = [
        ("full 3-d (test source)", GaussianModel([0.5, -1.0, 2.0], cov)),
        ("d=256, lambda_i = 1/i", GaussianModel(np.zeros(256), 1.0 / np.arange(1, 257))),
    ]
    grids: list[tuple[str, Any]] = [
        ("vp (uniform t, default)", "vp"),
        ("vp-cosine (uniform t)", "vp-cosine"),
        ("ve (uniform sigma)", "ve"),
        ("edm (Karras, VE ODE)", "edm"),
        ("Karras grid, VP ODE", Karras(kind="vp")),
        ("VP grid, VE ODE", VPLinear(kind="ve")),
    ]
    for source, model in sources:
        print(f"Heun steps for {tol:g} relative error, {source}, rho=1.5")
        print(f"{'grid':26s}" + "".join(f"{f'noise_var={v:g}':>16s}" for v in noise_vars))
        for name, sched in grids:
            counts = [steps_for_tolerance(model, v, 1.5, tol, schedule=sched) for v in noise_vars]
            print(f"{name:26s}" + "".join(f"{c:16d}" for c in counts))


def timing_table(*, steps: int, repeats: int, quick: bool, threads: int) -> None:
    """Print ODE-decode and closed-form times, their ratio and max |difference| per case."""
    import torch

    from rdptheory.diffusion import decode

    torch.set_num_threads(threads)
    noise_var, rho = 0.5, 1.5
    print(
        f"threads={threads} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}), "
        f"torch {torch.__version__}, steps={steps} Heun on 'vp'"
    )
    print(
        f"{'case':24s} {'backend':14s} {'ode [s]':>9s} {'closed [s]':>11s} {'ratio':>8s} "
        f"{'max|err|':>9s}"
    )
    for name, model, y_np in _cases(quick):
        for backend, y in (
            ("numpy f64", y_np),
            ("torch f64", torch.tensor(y_np)),
            ("torch f32", torch.tensor(y_np, dtype=torch.float32)),
        ):
            t_ode, x_ode = _best(
                lambda y=y, model=model: decode(model, y, noise_var, rho, steps=steps), repeats
            )
            # the closed form is ~100x cheaper: best of more repeats to beat scheduler noise
            t_cf, x_cf = _best(
                lambda y=y, model=model: model.exact_decode(y, noise_var, rho), 10 * repeats
            )
            err = float(np.abs(np.asarray(x_ode, float) - np.asarray(x_cf, float)).max())
            print(
                f"{name:24s} {backend:14s} {t_ode:9.4f} {t_cf:11.5f} {t_ode / t_cf:8.1f} {err:9.2e}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="10x fewer samples")
    ap.add_argument("--grids", action="store_true", help="step-grid study instead of timings")
    args = ap.parse_args()
    if args.grids:
        grid_study()
    else:
        timing_table(steps=args.steps, repeats=args.repeats, quick=args.quick, threads=args.threads)


if __name__ == "__main__":
    main()
