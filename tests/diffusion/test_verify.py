"""Verification harness (rdptheory/diffusion/verify.py): MC against closed forms, GMM checks."""

import numpy as np
import pytest

from rdptheory.diffusion import GaussianModel, GMMModel
from rdptheory.diffusion.verify import (
    MCEstimate,
    bures_w2sq,
    convergence_study,
    dp_curve_mc,
    gaussian_mc,
    gmm_mmse_gap,
    mean_estimate,
    mse_difference,
    steps_for_tolerance,
    tradeoff_1d,
    traverse_rho,
    w2sq_samples,
)
from rdptheory.gaussian.awgn import score_scaled_point

ALPHA = 1e-3  # every interval below is a (1 − ALPHA) interval; seeds are fixed
LEVEL = 1 - ALPHA
COV = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.2], [0.1, -0.2, 0.5]])
MODELS = {
    "scalar": GaussianModel(0.3, 1.7),
    "diagonal": GaussianModel(np.zeros(3), [4.0, 1.0, 0.1]),
    "full": GaussianModel([0.5, -1.0, 2.0], COV),
}
BIMODAL = GMMModel([0.5, 0.5], [-3.0, 3.0], [0.1, 0.1])


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("rho", [1.25, 1.5, 2.0])
def test_gaussian_mc_agrees_with_closed_forms(name, rho):
    c = gaussian_mc(MODELS[name], 0.8, rho, 20000, seed=11, level=LEVEL, steps=32)
    assert c.mse.contains(c.mse_theory), c
    assert c.w2sq.contains(c.w2sq_theory), c


@pytest.mark.parametrize("name", list(MODELS))
def test_gaussian_mc_rho1_has_perfect_perception(name):
    c = gaussian_mc(MODELS[name], 0.8, 1.0, 20000, seed=12, level=LEVEL, steps=32)
    assert c.w2sq_theory == 0.0
    d = MODELS[name].dim
    # plug-in Bures estimate of a zero distance is O(d/n); 20·d/n is far above its spread
    assert c.w2sq.mean < 20 * d / 20000
    assert c.mse.contains(c.mse_theory)


def test_mean_estimate_interval():
    e = mean_estimate(np.arange(10.0), level=0.95)
    half = 1.959963984540054 * np.std(np.arange(10.0), ddof=1) / np.sqrt(10)
    assert e.mean == 4.5 and e.ci_high - e.mean == pytest.approx(half, rel=1e-12)
    assert isinstance(e, MCEstimate) and e.contains(4.5) and not e.contains(9.0)


def test_bures_matches_scalar_and_commuting_formulas():
    assert bures_w2sq(1.0, 4.0, 0.0, 1.0) == pytest.approx(1.0 + (2 - 1) ** 2, rel=1e-14)
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0, 7.0])
    expect = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert bures_w2sq(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(expect)
    assert bures_w2sq(np.zeros(3), COV, np.zeros(3), COV) == pytest.approx(0.0, abs=1e-12)


def test_sorted_w2_is_exact_ot():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 200, 1))
    w = np.full(200, 1 / 200)
    exact = ot.emd2(w, w, ot.dist(a, b))
    sorted_est = w2sq_samples(a, b, batch=100)
    halves = [
        ot.emd2(w[:100] * 2, w[:100] * 2, ot.dist(a[i : i + 100], b[i : i + 100])) for i in (0, 100)
    ]
    assert sorted_est.mean == pytest.approx(np.mean(halves), rel=1e-12)
    assert exact > 0


def test_gmm_rho2_is_not_the_posterior_mean():
    """The Gaussian lemma (ρ = 2 ⇒ MMSE) fails for a bimodal mixture: excess MSE > 0."""
    gap = gmm_mmse_gap(BIMODAL, 4.0, 4000, seed=3, level=LEVEL, steps=64)
    assert gap.excess.ci_low > 0.1, gap
    assert gap.mse.mean > gap.mmse.mean


def test_gaussian_rho2_is_the_posterior_mean():
    gap = gmm_mmse_gap(MODELS["full"], 0.8, 2000, seed=4, solver="adaptive")
    assert abs(gap.excess.mean) < 1e-8


def test_tradeoff_1d_matches_closed_forms_for_a_gaussian():
    g = GMMModel([1.0], [0.4], [2.0])
    rhos = [1.0, 1.5, 2.0]
    tr = tradeoff_1d(g, 0.5, rhos, nodes=2000, solver="adaptive")
    p = score_scaled_point([2.0], 0.5, rhos)
    np.testing.assert_allclose(tr.mse, p.mse, rtol=1e-10)
    np.testing.assert_allclose(tr.w2sq, p.perception_value, rtol=1e-8, atol=1e-15)
    assert tr.mmse == pytest.approx(2.0 * 0.5 / 2.5, rel=1e-12)


def test_tradeoff_1d_bimodal():
    """1-D facts for any source: ρ = 1 attains D(0) exactly (the monotone map is unique), and
    every ρ lies on or above [FMM21]'s D(P); ρ = 2 does not reach the MMSE."""
    tr = tradeoff_1d(BIMODAL, 2.0, [1.0, 2.0], nodes=800, steps=96)
    assert tr.w2sq[0] < 1e-6
    assert tr.mse[0] == pytest.approx(tr.dp_bound(0.0), rel=2e-4)
    assert (tr.mse >= tr.dp_bound(tr.w2sq) - 1e-6).all()
    assert tr.mse[1] - tr.mmse > 0.1
    # and, at this noise level, ρ = 2 is worse than ρ = 1 in MSE as well as in W₂²
    assert tr.mse[1] > tr.mse[0] and tr.w2sq[1] > tr.w2sq[0]


def test_mse_difference_paired_matches_quadrature():
    """At t² = 4 the bimodal source has D(ρ=2) > D(ρ=1): larger ρ is worse in MSE too."""
    diff = mse_difference(BIMODAL, 4.0, 2.0, 1.0, 4000, seed=8, level=LEVEL, steps=48)
    quad = tradeoff_1d(BIMODAL, 4.0, [1.0, 2.0], nodes=400, steps=48)
    assert diff.ci_low > 0 and diff.contains(quad.mse[1] - quad.mse[0]), (diff, quad.mse)


def test_traverse_rho_agrees_with_quadrature():
    tr = traverse_rho(BIMODAL, 1.0, [1.0, 2.0], 2000, seed=5, batch=1000, level=LEVEL, steps=32)
    assert tr.rhos.tolist() == [1.0, 2.0] and len(tr.mse) == 2 and len(tr.w2sq) == 2
    quad = tradeoff_1d(BIMODAL, 1.0, [1.0, 2.0], nodes=400, steps=32)
    for e, exact in zip(tr.mse, quad.mse):
        assert e.contains(exact), (e, exact)
    assert tr.mmse.contains(quad.mmse)
    # ρ = 1 reproduces the source law: its W₂² sits at the estimator's own null level
    assert tr.w2sq[0].ci_low <= tr.w2sq_null.ci_high


def test_dp_curve_mc_scalar_mixture():
    curve = dp_curve_mc(BIMODAL, 2.0, 8000, seed=6, alphas=[0.0, 0.5, 1.0], batch=2000, level=LEVEL)
    assert curve.mse[0].mean == curve.mmse.mean
    # along the geodesic D(α) = D* + α²·E(X* − T(X*))² (X − X* is orthogonal to functions of Y)
    cost = curve.mse[2].mean - curve.mmse.mean
    for a, e in zip(curve.alphas, curve.mse):
        assert e.mean == pytest.approx(curve.mmse.mean + a**2 * cost, rel=0.02)
    exact = tradeoff_1d(BIMODAL, 2.0, [], nodes=400).w2sq_mmse
    assert curve.w2sq_mmse.contains(exact) and cost > 0
    assert curve.bound(0.0) == pytest.approx(curve.mmse.mean + curve.w2sq_mmse.mean)


def test_dp_curve_mc_2d_mixture_runs_exact_ot():
    m = GMMModel([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.5]], [[0.3, 0.2], [0.2, 0.4]])
    curve = dp_curve_mc(m, 1.0, 600, seed=7, alphas=[0.0, 1.0], batch=300)
    assert curve.mse[1].mean > curve.mse[0].mean
    assert np.isfinite([e.mean for e in curve.w2sq]).all()


@pytest.mark.parametrize("solver,order", [("heun", 2.0), ("euler", 1.0)])
def test_convergence_order(solver, order):
    conv = convergence_study(MODELS["full"], 1.0, 1.5, [32, 64, 128], n=16, solver=solver)
    assert conv.order == pytest.approx(order, abs=0.1)
    assert (np.diff(conv.errors) < 0).all()


def test_steps_for_tolerance_is_minimal():
    m, tol = MODELS["diagonal"], 1e-4
    n = steps_for_tolerance(m, 1.0, 1.5, tol, n=8)
    err = lambda k: convergence_study(m, 1.0, 1.5, [k], n=8).errors[0]
    assert err(n) <= tol < err(n - 1)


def test_validation_errors():
    with pytest.raises(TypeError, match="GaussianModel"):
        gaussian_mc(BIMODAL, 1.0, 1.0, 10, 0)
    with pytest.raises(TypeError, match="1-D GMMModel"):
        tradeoff_1d(MODELS["full"], 1.0, [1.0])
    with pytest.raises(ValueError, match="alphas"):
        dp_curve_mc(BIMODAL, 1.0, 100, 0, alphas=[1.5])
    with pytest.raises(ValueError, match="batches"):
        w2sq_samples(np.zeros((10, 1)), np.zeros((10, 1)), batch=8)
    with pytest.raises(ValueError, match="noise_var"):
        traverse_rho(BIMODAL, -1.0, [1.0], 100, 0)
    with pytest.raises(ValueError, match="rhos"):
        traverse_rho(BIMODAL, 1.0, [-1.0], 100, 0)


# ----------------------------------------------------------------------------- slow checks


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["vp", "ve", "vp-cosine", "edm"])
def test_heun_order_two_on_every_schedule(schedule):
    conv = convergence_study(MODELS["full"], 1.0, 1.5, [64, 128, 256, 512], schedule=schedule)
    assert conv.order == pytest.approx(2.0, abs=0.1), conv


@pytest.mark.slow
def test_steps_for_1e6_on_default_vp():
    """Reported number: Heun steps for 1e-6 relative error, default VP, v = 1, ρ = 1.5."""
    m = MODELS["full"]
    n = steps_for_tolerance(m, 1.0, 1.5, 1e-6)
    assert 250 <= n <= 400
    assert convergence_study(m, 1.0, 1.5, [n]).errors[0] <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("rho", [1.0, 1.25, 1.5, 1.75, 2.0])
def test_large_mc_full_covariance(rho):
    c = gaussian_mc(MODELS["full"], 0.8, rho, 200_000, seed=21, level=LEVEL, steps=64)
    assert c.mse.contains(c.mse_theory), c
    if rho > 1:
        assert c.w2sq.contains(c.w2sq_theory), c


@pytest.mark.slow
def test_2d_gmm_rho1_law_and_rho2_gap():
    from scipy import stats

    from rdptheory.diffusion import decode
    from rdptheory.diffusion.verify import observe

    m = GMMModel([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], [[[0.3, 0.1], [0.1, 0.2]], np.eye(2) * 0.4])
    x, y = observe(m, 1.5, 6000, seed=31)
    x_hat = decode(m, y, 1.5, 1.0, steps=96)
    ref = m.sample(6000, seed=32)
    for direction in ([1.0, 0.0], [0.0, 1.0], [0.6, 0.8]):  # Bonferroni over 3 projections
        assert stats.ks_2samp(x_hat @ direction, ref @ direction).pvalue > ALPHA / 3
    gap = gmm_mmse_gap(m, 1.5, 6000, seed=33, level=LEVEL, steps=96)
    assert gap.excess.ci_low > 0


@pytest.mark.slow
def test_2d_gmm_mse_has_an_interior_minimum_in_rho():
    """Finding (reported): D(1.5) < D(1) and D(1.5) < D(2) at t² = 1 (paired, 99.9 %)."""
    m = GMMModel(
        [0.5, 0.5],
        [[-2.0, 0.0], [2.0, 0.0]],
        [[[0.3, 0.1], [0.1, 0.2]], [[0.2, -0.05], [-0.05, 0.3]]],
    )
    assert mse_difference(m, 1.0, 2.0, 1.5, 20000, 9, level=LEVEL, steps=128).ci_low > 0
    assert mse_difference(m, 1.0, 1.5, 1.0, 20000, 9, level=LEVEL, steps=128).ci_high < 0


@pytest.mark.slow
def test_bimodal_mse_is_not_monotone_in_rho():
    """Finding (reported): for N(±3, 0.1) halves, MSE over ρ ∈ [1, 2] decreases at small
    noise, has an interior minimum at t² = 1, and increases at t² = 4."""
    rhos = np.array([1.0, 1.25, 1.5, 1.75, 1.9, 2.0])
    low = tradeoff_1d(BIMODAL, 0.5, rhos, nodes=600, steps=128).mse
    mid = tradeoff_1d(BIMODAL, 1.0, rhos, nodes=600, steps=128).mse
    high = tradeoff_1d(BIMODAL, 4.0, rhos, nodes=600, steps=128).mse
    assert (np.diff(low) < 0).all()
    assert 0 < np.argmin(mid) < len(rhos) - 1 and mid[-1] - mid.min() > 5e-4
    assert (np.diff(high) > 0).all()
