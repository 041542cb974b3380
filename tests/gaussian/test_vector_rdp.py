"""Vector R(D, P) / D(R, P) with W₂² perception (THEORY.md §2): regimes, reductions,
certificates, an independent convex solver, and the forward test channel."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from rdptheory.gaussian import vector

# Tests whose every example runs ~30 vector solves get a third of the profile's examples
# (20 by default, 333 under HYPOTHESIS_PROFILE=thorough).
fewer_examples = settings(max_examples=max(20, settings().max_examples // 3))

variances_st = st.lists(st.floats(1e-2, 1e2), min_size=1, max_size=10).map(np.array)
frac_st = st.floats(0.005, 2.2)
pfrac_st = st.one_of(st.just(0.0), st.floats(1e-8, 1.2))


def scalar_rdp_nats(D: float, P: float, s2: float) -> float:
    """THEORY.md §1 closed form (w2sq), an independent reference for n = 1."""
    s = np.sqrt(s2)
    s_lo = max(s - np.sqrt(P), 0.0)
    if D >= s2 + s_lo**2:
        return 0.0
    if s_lo**2 <= s2 - D:
        return 0.5 * np.log(s2 / D)
    return 0.5 * np.log(4 * s2 * s_lo**2 / ((D - (s - s_lo) ** 2) * ((s + s_lo) ** 2 - D)))


def gap_tolerance(sol, D: float, P: float) -> float:
    """1e-10 relative to R, floored at rounding level of the Lagrangian terms μD + νP
    (relative-to-R is ill-conditioned as R → 0 at the zero-rate boundary)."""
    nu_p = sol.nu * P if np.isfinite(sol.nu) else 0.0
    return 1e-10 * sol.rate_nats + 1e-14 * (sol.mu * D + nu_p)


@given(st.floats(1e-3, 1e3), frac_st, pfrac_st)
def test_n1_equals_scalar(s2: float, frac: float, pfrac: float) -> None:
    D, P = frac * s2, pfrac * s2
    sol = vector.rdp_vector_solution(D, P, [s2])
    assert sol.rate_nats == pytest.approx(scalar_rdp_nats(D, P, s2), rel=1e-12, abs=1e-13)


@pytest.mark.parametrize(("s2", "D", "P"), [(1.0, 0.5, 0.01), (2.0, 1.5, 0.2), (0.7, 1.1, 0.0)])
def test_n1_mpmath_spot_check(s2: float, D: float, P: float) -> None:
    mp.mp.dps = 40
    s = mp.sqrt(s2)
    s_lo = s - mp.sqrt(P)
    ref = mp.log(4 * s2 * s_lo**2 / ((D - (s - s_lo) ** 2) * ((s + s_lo) ** 2 - D))) / 2
    got = vector.rdp_vector(D, P, [s2], unit="nats")
    assert abs(got - float(ref)) <= 1e-12 * float(ref)


@given(st.floats(1e-2, 1e2), frac_st, pfrac_st, st.integers(2, 64))
def test_white_is_n_times_scalar(s2: float, frac: float, pfrac: float, n: int) -> None:
    D, P = frac * s2, pfrac * s2
    got = vector.rdp_vector(n * D, n * P, np.full(n, s2), unit="nats")
    assert got == pytest.approx(n * scalar_rdp_nats(D, P, s2), rel=1e-12, abs=1e-12)


@given(st.floats(1e-2, 1e2), st.floats(0.01, 1.99), st.integers(1, 32))
def test_perfect_perception_closed_form(s2: float, frac: float, n: int) -> None:
    """P = 0: R = −½ log(1 − (1 − D/(2s²))²) per component (THEORY.md §1)."""
    sol = vector.rdp_vector_solution(n * frac * s2, 0.0, np.full(n, s2))
    assert sol.regime == "perfect_perception"
    expected = -0.5 * np.log1p(-((1 - frac / 2) ** 2))
    assert sol.rate_nats == pytest.approx(n * expected, rel=1e-12)
    assert sol.perception_value == 0.0 and np.all(sol.recon_std == np.sqrt(s2))


@given(variances_st, frac_st, pfrac_st)
def test_certificate_and_solution_consistency(lam: np.ndarray, frac: float, pfrac: float):
    L = lam.sum()
    D, P = frac * L, pfrac * L
    sol = vector.rdp_vector_solution(D, P, lam)
    assert sol.kkt_residual < 1e-12
    assert abs(sol.dual_gap_nats) <= gap_tolerance(sol, D, P)
    assert sol.mse <= D * (1 + 1e-12) and sol.perception_value <= P * (1 + 1e-12) + 1e-300
    if sol.regime == "both_active":
        assert sol.mse == pytest.approx(D, rel=1e-12)
        assert sol.perception_value == pytest.approx(P, rel=1e-12)
        assert np.all(sol.component_rate_nats > 0) and sol.mu > 0 and 0 < sol.nu < np.inf
    np.testing.assert_allclose(sol.component_rate_nats.sum(), sol.rate_nats, rtol=1e-14)
    assert np.all(sol.correlation >= 0) and np.all(sol.correlation <= 1)


@given(variances_st, frac_st, pfrac_st)
def test_forward_test_channel_realises_solution(lam: np.ndarray, frac: float, pfrac: float):
    """X̂ = gain·(X + √t²·N): MSE, recon std, W₂² and I(X; X̂) per component."""
    L = lam.sum()
    sol = vector.rdp_vector_solution(frac * L, pfrac * L, lam)
    live = sol.correlation > 0
    g, t2, lam_l = sol.gain[live], sol.noise_var[live], lam[live]
    mse_l = lam_l * (1 - g) ** 2 + g**2 * t2
    np.testing.assert_allclose(mse_l, sol.component_mse[live], rtol=1e-9)
    np.testing.assert_allclose(g * np.sqrt(lam_l + t2), sol.recon_std[live], rtol=1e-12)
    rate_l = 0.5 * np.log1p(lam_l / t2)
    np.testing.assert_allclose(rate_l, sol.component_rate_nats[live], rtol=1e-10)
    # dead components: X̂ independent of X with the reported std
    assert np.all(sol.gain[~live] == 0) and np.all(np.isinf(sol.noise_var[~live]))
    np.testing.assert_allclose(
        lam[~live] + sol.recon_std[~live] ** 2, sol.component_mse[~live], rtol=1e-12
    )
    np.testing.assert_allclose(
        (np.sqrt(lam) - sol.recon_std) ** 2,
        sol.component_perception_value,
        rtol=1e-9,
        atol=1e-15 * L,
    )


@given(variances_st, st.floats(0.01, 0.95))
def test_regime_boundaries(lam: np.ndarray, frac: float) -> None:
    L = lam.sum()
    D = frac * L
    # water-filling threshold: P_wf = Σ(√λ − √(λ − θ)₊)²
    theta = vector.water_filling(D, lam).level
    p_wf = np.sum((np.sqrt(lam) - np.sqrt(np.maximum(lam - theta, 0))) ** 2)
    r_d = vector.rate_distortion_vector(D, lam, unit="nats")
    at = vector.rdp_vector_solution(D, p_wf * (1 + 1e-9), lam)
    assert at.regime == "perception_inactive" and at.rate_nats == pytest.approx(r_d, rel=1e-12)
    below = vector.rdp_vector_solution(D, p_wf * 0.9, lam)
    assert below.regime == "both_active" and below.rate_nats > r_d
    # zero-rate threshold in P for D > L: D = L + (√L − √P)²
    D2 = L * (1 + frac)
    P0 = (np.sqrt(L) - np.sqrt(D2 - L)) ** 2
    assert vector.rdp_vector_solution(D2, P0 * (1 + 1e-9), lam).regime == "zero_rate"
    inside = vector.rdp_vector_solution(D2, P0 * (1 - 1e-3), lam)
    assert inside.regime == "both_active" and inside.rate_nats > 0


@fewer_examples
@given(variances_st, pfrac_st)
def test_monotone_and_convex_in_D(lam: np.ndarray, pfrac: float) -> None:
    L = lam.sum()
    D = np.linspace(0.05, 2.1, 30) * L
    R = vector.rdp_vector(D, pfrac * L, lam)
    assert np.all(R >= 0)
    assert np.all(np.diff(R) <= 1e-12)
    assert np.all(np.diff(R, 2) >= -1e-9)


@fewer_examples
@given(variances_st, st.floats(0.05, 1.5))
def test_monotone_and_convex_in_P(lam: np.ndarray, frac: float) -> None:
    L = lam.sum()
    P = np.linspace(0.0, 1.1, 30) * L
    R = vector.rdp_vector(frac * L, P, lam)
    assert np.all(np.diff(R) <= 1e-12)
    assert np.all(np.diff(R, 2) >= -1e-9)
    assert np.all(R >= vector.rate_distortion_vector(frac * L, lam) - 1e-12)


def _slsqp_rdp(D: float, P: float, lam: np.ndarray) -> float:
    """Independent reference: SLSQP on (c_i, u_i) with ŝ_i = √λ_i u_i, from several starts."""
    n = lam.size

    def rate(z):
        return np.sum(-0.5 * np.log1p(-(np.clip(z[:n], 0, 1 - 1e-15) ** 2)))

    def dist(z):
        c, u = z[:n], z[n:]
        return D - np.sum(lam * (1 + u**2 - 2 * c * u))

    def perc(z):
        return P - np.sum(lam * (1 - z[n:]) ** 2)

    best = np.inf
    for c0 in (0.5, 0.9, 0.99):
        res = minimize(
            rate, np.r_[np.full(n, c0), np.full(n, 0.9)], method="SLSQP",
            bounds=[(0, 1 - 1e-12)] * n + [(0, 1)] * n,
            constraints=[{"type": "ineq", "fun": dist}, {"type": "ineq", "fun": perc}],
            options={"ftol": 1e-15, "maxiter": 1000},
        )  # fmt: skip
        if res.success and dist(res.x) > -1e-9 and perc(res.x) > -1e-9:
            best = min(best, res.fun)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_matches_independent_convex_solver(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    lam = rng.uniform(0.05, 3.0, n)
    L = lam.sum()
    D, P = rng.uniform(0.05, 0.8) * L, rng.uniform(0.001, 0.2) * L
    ours = vector.rdp_vector(D, P, lam, unit="nats")
    ref = _slsqp_rdp(D, P, lam)
    assert ours <= ref + 1e-9  # never worse than a generic solver
    assert ours == pytest.approx(ref, rel=1e-5, abs=1e-7)


@given(variances_st, frac_st, pfrac_st, st.integers(0, 2**31 - 1))
def test_random_feasible_points_never_beat_optimum(lam, frac, pfrac, seed) -> None:
    L = lam.sum()
    D, P = frac * L, pfrac * L
    opt = vector.rdp_vector(D, P, lam, unit="nats")
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1, (200, lam.size))
    u = rng.uniform(0, 1.5, (200, lam.size))
    d = np.sum(lam * (1 + u**2 - 2 * c * u), axis=1)
    p = np.sum(lam * (1 - u) ** 2, axis=1)
    rates = np.sum(-0.5 * np.log1p(-(c**2)), axis=1)
    ok = (d <= D) & (p <= P)
    assert np.all(rates[ok] >= opt - 1e-12)


@given(variances_st, st.floats(0.01, 2.0), pfrac_st)
def test_drp_inverts_rdp(lam: np.ndarray, frac: float, pfrac: float) -> None:
    L = lam.sum()
    D, P = frac * L, pfrac * L
    R = vector.rdp_vector(D, P, lam)
    if R > 1e-9:  # on the strictly decreasing part
        assert vector.drp_vector(R, P, lam) == pytest.approx(D, rel=1e-10)


@given(variances_st, st.floats(0.0, 8.0), pfrac_st)
def test_rdp_inverts_drp(lam: np.ndarray, R: float, pfrac: float) -> None:
    P = pfrac * lam.sum()
    sol = vector.drp_vector_solution(R, P, lam)
    assert sol.kkt_residual < 1e-12
    if R > 0:
        assert vector.rdp_vector(sol.mse, P, lam) == pytest.approx(R, rel=1e-10, abs=1e-12)
    else:
        L = lam.sum()
        assert sol.mse == pytest.approx(L + max(np.sqrt(L) - np.sqrt(P), 0) ** 2)


@pytest.mark.parametrize("lam", [[1.0], [1.0, 1.0, 0.5], [2.0, 1.0]])
@pytest.mark.parametrize("R", [5e-324, 1e-300, 1e-17])
def test_drp_at_a_rate_below_the_water_level_resolution(lam: list[float], R: float) -> None:
    """R so small that the water level θ rounds to λ_max (found by hypothesis: R = 5e-324
    raised an internal reduction error): the R → 0⁺ limit, D = L at P = L; a subnormal R is 0."""
    lam_ = np.asarray(lam)
    L = float(lam_.sum())
    sol = vector.drp_vector_solution(R, L, lam_)
    assert sol.regime == ("zero_rate" if R < np.finfo(np.float64).tiny else "perception_inactive")
    assert sol.kkt_residual < 1e-12
    assert sol.mse == pytest.approx(L, rel=1e-12)


@pytest.mark.parametrize(("dfrac", "pfrac"), [(0.1, 0.01), (0.5, 1e-9), (0.01, 1e-3), (1.2, 0.05)])
def test_large_n_certificate(dfrac: float, pfrac: float) -> None:
    lam = 1.0 / np.arange(1, 10_001) ** 2.0
    L = lam.sum()
    sol = vector.rdp_vector_solution(dfrac * L, pfrac * L, lam)
    assert sol.regime == "both_active"
    assert sol.kkt_residual < 1e-12 and abs(sol.dual_gap_nats) < 1e-10 * sol.rate_nats
    d = vector.drp_vector_solution(sol.rate_nats, pfrac * L, lam, unit="nats")
    assert d.mse == pytest.approx(dfrac * L, rel=1e-10)


def test_broadcasting_and_units() -> None:
    lam = np.array([1.0, 0.25, 0.04])
    D = np.array([[0.2], [0.6]])
    P = np.array([0.0, 0.01, np.inf])
    R = vector.rdp_vector(D, P, lam)
    assert R.shape == (2, 3)
    np.testing.assert_allclose(R[:, 2], vector.rate_distortion_vector(D[:, 0], lam), rtol=1e-14)
    np.testing.assert_allclose(vector.rdp_vector(D, P, lam, unit="nats"), R * np.log(2), rtol=1e-14)
    np.testing.assert_allclose(vector.drp_vector(R, P, lam), np.broadcast_to(D, R.shape),
                               rtol=1e-10)
    assert isinstance(vector.rdp_vector(0.2, 0.01, lam), float)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: vector.rdp_vector(0.0, 0.1, [1.0]), "D must be > 0"),
        (lambda: vector.rdp_vector(1.0, -0.1, [1.0]), "P must be >= 0"),
        (lambda: vector.rdp_vector(float("nan"), 0.1, [1.0]), "D must not contain NaN"),
        (lambda: vector.rdp_vector(1.0, 0.1, [1.0, -2.0]), "variances must be >= 0"),
        (lambda: vector.rdp_vector([1.0, 2.0], [0.1, 0.2, 0.3], [1.0]), "D, P must broadcast"),
        (lambda: vector.drp_vector(-1.0, 0.1, [1.0]), "R must be >= 0"),
        (lambda: vector.drp_vector(np.inf, 0.1, [1.0]), "R must be finite"),
        (lambda: vector.rdp_vector_solution([1.0, 2.0], 0.1, [1.0]), "D must be a scalar"),
        (lambda: vector.drp_vector_solution(1.0, [0.1, 0.2], [1.0]), "P must be a scalar"),
        (lambda: vector.rdp_vector(1.0, 0.1, [1.0], unit="bit"), "unit"),
    ],
)
def test_validation(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_stress_extreme_spectra_and_budgets(seed: int) -> None:
    """n up to 10⁴, λ spread over 12 decades, D/L over 8 decades, P/L down to 1e-20."""
    rng = np.random.default_rng(seed)
    for trial in range(100):
        n = int(rng.choice([1, 2, 5, 50, 1000, 10_000]))
        lam = 10 ** rng.uniform(-6, 6, n) if trial % 2 else 10 ** rng.uniform(-1, 1, n)
        L = lam.sum()
        D = L * 10 ** rng.uniform(-8, 0.35)
        P = L * (10 ** rng.uniform(-20, 0.2) if trial % 3 else 0.0)
        sol = vector.rdp_vector_solution(D, P, lam)
        assert sol.kkt_residual < 1e-10
        assert abs(sol.dual_gap_nats) <= gap_tolerance(sol, D, P)
        R = n * 10 ** rng.uniform(-12, 1.3)
        inv = vector.drp_vector_solution(R, P, lam, unit="nats")
        assert inv.kkt_residual < 1e-10
        assert inv.rate_nats == pytest.approx(R, rel=1e-10)


@pytest.mark.parametrize("rel", [1e-15, 1e-12, 1e-8, 1e-4])
@pytest.mark.parametrize("seed", range(3))
def test_certificate_next_to_regime_boundaries(rel: float, seed: int) -> None:
    """Just inside the water-filling, zero-rate and D = L boundaries."""
    rng = np.random.default_rng(seed)
    lam = 10 ** rng.uniform(-3, 3, int(rng.choice([1, 3, 20])))
    L = lam.sum()
    D = L * rng.uniform(0.01, 0.99)
    theta = vector.water_filling(D, lam).level
    p_wf = np.sum((np.sqrt(lam) - np.sqrt(np.maximum(lam - theta, 0))) ** 2)
    D2 = L * (1 + rng.uniform(0.01, 0.99))
    P2 = L * rng.uniform(0, 0.9) * (1 - np.sqrt(D2 / L - 1)) ** 2
    d0 = L + (np.sqrt(L) - np.sqrt(P2)) ** 2
    for d, p in [
        (D, p_wf * (1 - rel)),
        (d0 * (1 - rel), P2),
        (L * (1 - rel), P2),
        (L * (1 + rel), P2),
    ]:
        sol = vector.rdp_vector_solution(d, p, lam)
        assert sol.regime == "both_active"
        assert sol.kkt_residual < 1e-12
        assert abs(sol.dual_gap_nats) <= gap_tolerance(sol, d, p)
