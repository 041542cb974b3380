"""Batched vector R(D, P) / D(R, P) (rdp_vector, drp_vector) against the per-point solver."""

from __future__ import annotations

import numpy as np
import pytest

from rdptheory.gaussian import REGIMES, drp_vector, rdp_vector, rdp_vector_solution
from rdptheory.gaussian import vector as V


def _points(rng: np.random.Generator, lam: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """(D, P) over every regime: D up to 1.8 L (zero rate, D > L both active), P = 0 too."""
    L = lam.sum()
    D = L * rng.uniform(0.01, 1.8, size)
    P = L * rng.uniform(0.0, 0.6, size) ** 2
    P[: size // 8] = 0.0
    P[size // 8 : size // 4] = np.inf
    return D, P


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (3, 1), (6, 2), (40, 3)])
def test_batch_rdp_equals_per_point(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(-3.0, 2.0, n))
    D, P = _points(rng, lam, 64 if n < 40 else 24)
    batch = rdp_vector(D, P, lam, unit="nats")
    sols = [V._solve_rdp(d, p, lam) for d, p in zip(D, P)]
    np.testing.assert_allclose(batch, [s.rate_nats for s in sols], rtol=1e-12, atol=1e-14)
    regimes = {s.regime for s in sols}
    assert regimes == set(REGIMES)  # every regime of THEORY.md §2 is exercised


@pytest.mark.parametrize(("n", "seed"), [(1, 4), (4, 5), (40, 6)])
def test_batch_drp_equals_per_point(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(-3.0, 2.0, n))
    size = 64 if n < 40 else 24
    R = rng.uniform(0.0, 1.5, size) * n
    R[:5] = 0.0
    P = lam.sum() * rng.uniform(0.0, 0.5, size) ** 2
    P[5:15] = 0.0
    batch = drp_vector(R, P, lam, unit="nats")
    single = np.array([V._solve_drp(r, p, lam).mse for r, p in zip(R, P)])
    np.testing.assert_allclose(batch, single, rtol=1e-12, atol=0.0)


def test_batch_keeps_shape_and_matches_the_certified_solution() -> None:
    lam = 1.0 / np.arange(1, 11) ** 2
    D = np.linspace(0.2, 1.2, 6).reshape(2, 3)
    rates = rdp_vector(D, 0.05, lam)
    assert rates.shape == (2, 3)
    for d, r in zip(D.ravel(), rates.ravel()):
        sol = rdp_vector_solution(d, 0.05, lam)
        assert r == pytest.approx(sol.rate_bits, rel=1e-12) and sol.kkt_residual < 1e-12


def test_batch_just_above_total_variance_falls_back_or_converges() -> None:
    # D slightly above L = Σλ (both active, a near a_hi): once declared converged too early
    from rdptheory.gaussian import rdp, score_scaled_gap, score_scaled_point

    p = score_scaled_point([0.01], 10.0, 1.75)
    want = rdp(p.mse, p.perception_value, 0.01, unit="nats")
    assert rdp_vector(p.mse, p.perception_value, [0.01], unit="nats") == pytest.approx(
        want, rel=1e-12
    )
    assert abs(score_scaled_gap([0.01], 10.0, 1.75)) < 1e-12
