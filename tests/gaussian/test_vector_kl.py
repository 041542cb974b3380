"""Vector Gaussian R(D, P) with reverse-KL perception (rdp_vector_solution(perception=...))."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from rdptheory.gaussian import covariance_spectrum, rdp, rdp_vector, rdp_vector_solution

# (D/s², P) in every regime of the scalar problem (THEORY.md §1, kl_reverse)
SCALAR_POINTS = [(0.5, 0.01), (0.3, 0.2), (1.5, 0.05), (0.9, 1e-6), (1.5, 5.0), (0.5, 0.0)]


@pytest.mark.parametrize(("d", "P"), SCALAR_POINTS)
def test_n1_equals_scalar(d: float, P: float) -> None:
    var = 2.5
    sol = rdp_vector_solution(d * var, P, [var], perception="kl_reverse")
    want = rdp(d * var, P, var, perception="kl_reverse", unit="nats")
    assert sol.rate_nats == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert sol.perception == "kl_reverse" and sol.kkt_residual < 1e-11
    assert abs(sol.dual_gap_nats) <= 1e-13 * max(sol.rate_nats, 1.0)


@pytest.mark.parametrize(("d", "P"), SCALAR_POINTS[:4])
def test_white_equals_n_times_scalar(d: float, P: float) -> None:
    n, var = 5, 0.7
    sol = rdp_vector_solution(n * d * var, n * P, np.full(n, var), perception="kl_reverse")
    want = n * rdp(d * var, P, var, perception="kl_reverse", unit="nats")
    assert sol.rate_nats == pytest.approx(want, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(sol.component_rate_nats, want / n, rtol=1e-11)


def _brute_force(D: float, P: float, lam: np.ndarray) -> float:
    """min Σ −½log(1 − c²) over (c_i, u_i) by SLSQP from several starts (no KKT used)."""
    n = lam.size

    def parts(x: np.ndarray) -> tuple[float, float, float]:
        c, u = x[:n], x[n:]
        rate = float(np.sum(-0.5 * np.log1p(-(c**2))))
        dist = float(np.sum(lam * (1 + u**2 - 2 * c * u)))
        kl = float(np.sum(0.5 * (u**2 - 1 - np.log(u**2))))
        return rate, dist, kl

    cons = [{"type": "ineq", "fun": lambda x: D - parts(x)[1]},
            {"type": "ineq", "fun": lambda x: P - parts(x)[2]}]  # fmt: skip
    best = np.inf
    rng = np.random.default_rng(0)
    for _ in range(6):
        x0 = np.concatenate([rng.uniform(0.3, 0.95, n), rng.uniform(0.6, 1.0, n)])
        res = minimize(lambda x: parts(x)[0], x0, constraints=cons, method="SLSQP",
                       bounds=[(0.0, 0.999999)] * n + [(1e-3, 1.5)] * n,
                       options={"ftol": 1e-14, "maxiter": 1000})  # fmt: skip
        if res.success and parts(res.x)[1] <= D * (1 + 1e-9) and parts(res.x)[2] <= P + 1e-9:
            best = min(best, res.fun)
    return best


@pytest.mark.parametrize(("lam", "D", "P"), [([1.0, 0.3], 0.5, 0.05), ([2.0, 0.5, 0.1], 1.0, 0.2)])
def test_against_brute_force_minimisation(lam: list, D: float, P: float) -> None:
    lam_a = np.array(lam)
    sol = rdp_vector_solution(D, P, lam_a, perception="kl_reverse")
    brute = _brute_force(D, P, lam_a)
    assert sol.regime == "both_active"
    assert sol.rate_nats <= brute + 1e-9  # the certified optimum is never beaten
    assert sol.rate_nats == pytest.approx(brute, rel=1e-6)


def test_zero_variance_components_and_singular_covariance() -> None:
    full = rdp_vector_solution(0.6, 0.05, [1.0, 0.0, 0.25], perception="kl_reverse")
    ranged = rdp_vector_solution(0.6, 0.05, [1.0, 0.25], perception="kl_reverse")
    assert full.rate_nats == ranged.rate_nats
    assert full.component_mse[1] == 0.0 and full.gain[1] == 0.0 and np.isinf(full.noise_var[1])
    v = np.array([1.0, 2.0, 2.0])
    spec = covariance_spectrum(np.outer(v, v))  # rank 1: variances (9, 0, 0)
    assert spec.variances.tolist() == pytest.approx([9.0, 0.0, 0.0], abs=0.0, rel=1e-14)
    sol = rdp_vector_solution(1.0, 0.1, spec.variances, perception="kl_reverse")
    assert sol.rate_nats == pytest.approx(
        rdp(1.0, 0.1, 9.0, perception="kl_reverse", unit="nats"), rel=1e-12
    )
    w2 = rdp_vector_solution(1.0, 0.1, spec.variances)  # W₂² too
    assert w2.rate_nats == pytest.approx(rdp(1.0, 0.1, 9.0, unit="nats"), rel=1e-12)


def test_rdp_vector_perception_keyword_and_kl_forward_message() -> None:
    lam = [1.0, 0.25]
    got = rdp_vector([0.4, 0.8], 0.05, lam, perception="kl_reverse", unit="nats")
    want = [rdp_vector_solution(d, 0.05, lam, perception="kl_reverse").rate_nats
            for d in (0.4, 0.8)]  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=1e-15)
    with pytest.raises(ValueError, match="kl_forward' is not available for vector sources"):
        rdp_vector(0.5, 0.1, lam, perception="kl_forward")
    with pytest.raises(ValueError, match="at least one positive variance"):
        rdp_vector(0.5, 0.1, [0.0, 0.0])
