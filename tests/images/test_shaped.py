"""Shaped noise for the patch GMM (issue 15): exact posterior, ladders, I-MMSE rates."""

import numpy as np
import pytest
from scipy.fft import dctn

from rdptheory.diffusion.models import GMMModel
from rdptheory.gaussian import score_scaled_gap, water_filling
from rdptheory.images.shaped import (
    ShapedGMM,
    block_dct_basis,
    eigen_basis,
    gaussian_rate_nats,
    ladder_rate_nats,
    shaped_ladder,
    shaped_snr,
    theory_gap,
    water_filling_ladder,
    water_filling_snr,
)
from rdptheory.testing import random_mixture, random_orthonormal


def test_isotropic_noise_reduces_to_gmm_model():
    w, mu, covs = random_mixture()
    y = np.random.default_rng(2).normal(size=(40, 6)) * 2.0
    ref = GMMModel(w, mu, covs)
    for basis in (np.eye(6), random_orthonormal(6)):
        sg = ShapedGMM(w, mu, covs, basis)
        for t2 in (1e-3, 0.3, 7.0):
            np.testing.assert_allclose(sg.posterior_mean(y, t2), ref.denoise(y, t2),
                                       rtol=0, atol=1e-12)


def test_single_gaussian_is_the_wiener_filter():
    _, mu, covs = random_mixture(k=1, seed=3)
    basis = random_orthonormal(6, seed=4)
    t2 = np.array([0.01, 0.1, 0.5, 2.0, 10.0, 0.03])
    sigma_n = basis @ np.diag(t2) @ basis.T
    y = np.random.default_rng(5).normal(size=(30, 6))
    wiener = mu[0] + (covs[0] @ np.linalg.solve(covs[0] + sigma_n, (y - mu[0]).T)).T
    got = ShapedGMM([1.0], mu, covs, basis).posterior_mean(y, t2)
    np.testing.assert_allclose(got, wiener, rtol=0, atol=1e-12)


def test_posterior_mean_against_brute_force_quadrature():
    """d = 2, two components, noise anisotropic in a rotated basis: a 2-D grid integral."""
    w = np.array([0.35, 0.65])
    mu = np.array([[-1.0, 0.5], [1.2, -0.3]])
    covs = np.array([[[0.6, 0.25], [0.25, 0.3]], [[0.2, -0.1], [-0.1, 0.5]]])
    basis = random_orthonormal(2, seed=7)
    t2 = np.array([0.05, 0.8])
    sigma_n = basis @ np.diag(t2) @ basis.T
    g = np.linspace(-6, 6, 1201)
    xx = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)

    def logn(z, m, c):
        r = z - m
        return -0.5 * (np.einsum("ni,ij,nj->n", r, np.linalg.inv(c), r)
                       + np.log(np.linalg.det(2 * np.pi * c)))

    prior = sum(wk * np.exp(logn(xx, mk, ck)) for wk, mk, ck in zip(w, mu, covs))
    sg = ShapedGMM(w, mu, covs, basis)
    for y in ([0.3, -0.2], [-1.5, 1.0], [2.0, 0.4]):
        post = prior * np.exp(logn(xx, np.asarray(y), sigma_n))
        brute = (xx * post[:, None]).sum(0) / post.sum()
        np.testing.assert_allclose(sg.posterior_mean(np.array([y]), t2)[0], brute, atol=1e-8)


def test_zero_snr_coefficients_carry_nothing():
    """snr = 0 everywhere gives the prior mean; responsibilities are the weights."""
    w, mu, covs = random_mixture(seed=8)
    sg = ShapedGMM(w, mu, covs, random_orthonormal(6, seed=9))
    wobs = np.random.default_rng(0).normal(size=(5, 6))
    mean_b, resp = sg.posterior_scaled(wobs, np.zeros(6))
    np.testing.assert_allclose(sg.from_basis(mean_b), np.tile(w @ mu, (5, 1)), atol=1e-12)
    np.testing.assert_allclose(resp, np.tile(w, (5, 1)), atol=1e-12)


def test_block_dct_basis_is_scipy_dctn():
    b = block_dct_basis(4, 3)
    np.testing.assert_allclose(b.T @ b, np.eye(48), atol=1e-13)
    x = np.random.default_rng(0).normal(size=(3, 4, 4))
    np.testing.assert_allclose(x.ravel() @ b, dctn(x, norm="ortho").ravel(), atol=1e-13)


def test_water_filling_ladder_is_monotone_and_hits_the_rate():
    lam = 1.0 / np.arange(1, 21) ** 2
    rates = np.linspace(0.05, 8.0, 40)
    snr = water_filling_ladder(rates, lam)
    assert (np.diff(snr, axis=0) >= 0).all()
    np.testing.assert_allclose(gaussian_rate_nats(lam, snr), rates, rtol=0, atol=1e-10)
    for r, s in zip(rates, snr):
        d_i = lam / (1.0 + lam * s)  # per-coefficient MMSE of the shaped channel
        wf = water_filling(d_i.sum(), lam)
        np.testing.assert_allclose(d_i, wf.component_mse, rtol=0, atol=1e-10)
        assert abs(float(wf.rate_nats) - r) < 1e-10
    np.testing.assert_allclose(shaped_snr(rates[7], lam, np.inf), snr[7], atol=1e-12)


def test_perception_ladder_hits_the_rate_and_is_monotone():
    lam = 1.0 / np.arange(1, 9) ** 2
    rates = np.linspace(0.2, 4.0, 12)
    snr = np.array([shaped_snr(r, lam, 0.0) for r in rates])
    np.testing.assert_allclose(gaussian_rate_nats(lam, snr), rates, atol=1e-8)
    assert (np.diff(snr, axis=0) >= -1e-9).all()


def test_immse_integral_of_a_gaussian_source():
    """The harmonic rule is exact for Gaussian coefficients, even on a coarse ladder."""
    lam = np.array([4.0, 1.0, 0.3, 0.05, 0.01])
    for u in (np.geomspace(1.0 / lam.max() * (1 + 1e-9), 400.0, 600),
              np.array([0.3, 1.0, 7.0, 50.0, 400.0])):
        snr = shaped_ladder(u, lam)
        e = lam / (1.0 + lam * snr)  # exact per-coefficient MMSE
        np.testing.assert_allclose(ladder_rate_nats(e, snr), gaussian_rate_nats(lam, snr),
                                   rtol=1e-12, atol=1e-13)
    # a plain trapezoid on the coarse ladder would be far off: the test can fail
    trap = 0.25 * ((e[1:] + e[:-1]) * np.diff(snr, axis=0)).sum()
    assert trap > gaussian_rate_nats(lam, snr[-1]) * 1.05


def test_immse_integral_monte_carlo_single_gaussian():
    """Measured errors of the exact posterior along an isotropic ladder, 4000 samples:
    the rate is within 3 % of ½ Σ log(1 + λ snr) (MC std ≈ 0.5 %; fixed seed)."""
    lam = np.array([2.0, 0.5, 0.1, 0.02])
    sg = ShapedGMM([1.0], np.zeros((1, 4)), np.diag(lam)[None], np.eye(4))
    x = np.random.default_rng(0).normal(size=(4000, 4)) * np.sqrt(lam)
    snr = np.concatenate(([0.0], np.geomspace(1e-3, 300.0, 80)))[:, None] * np.ones(4)
    led = sg.ladder_errors(x, snr, draws=1, seed=1)
    exact = gaussian_rate_nats(lam, snr[-1])
    assert abs(led.rate_nats()[-1] / exact - 1.0) < 0.03


def test_theory_gap_white_source_and_eigenbasis():
    cov = np.diag([1.0, 1.0, 1.0])
    th = theory_gap(cov, 1.0)
    assert abs(th.rate_nats - th.rate_mse_matched_nats) < 1e-10
    assert abs(th.rate_nats - th.rate_rho1_nats) < 1e-8
    lam = np.array([3.0, 1.0, 0.2, 0.05])
    q = random_orthonormal(4, seed=11)
    cov = q @ np.diag(lam) @ q.T
    th = theory_gap(cov, 2.0, eigen_basis(cov))  # water-filling in the eigenbasis = R(D)
    assert abs(th.rate_dct_nats - th.rate_mse_matched_nats) < 1e-8
    from rdptheory.diffusion.chain import noise_var_for_rate

    t2 = noise_var_for_rate(lam, 2.0)
    assert abs(th.rate_nats - th.rate_rho1_nats
               - score_scaled_gap(lam, t2, 1.0, unit="nats")) < 1e-8


def test_validation():
    w, mu, covs = random_mixture()
    with pytest.raises(ValueError, match="orthonormal"):
        ShapedGMM(w, mu, covs, 2 * np.eye(6))
    with pytest.raises(ValueError, match="shape"):
        ShapedGMM(w, mu[:, :5], covs, np.eye(6))
    sg = ShapedGMM(w, mu, covs, np.eye(6))
    with pytest.raises(ValueError, match="noise_var"):
        sg.posterior_mean(np.zeros((2, 6)), -1.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        sg.ladder_errors(np.zeros((2, 6)), np.array([[1.0] * 6, [0.5] * 6]))
    with pytest.raises(ValueError, match="non-decreasing"):
        ladder_rate_nats(np.ones((2, 3)), np.array([[1.0] * 3, [0.0] * 3]))
    with pytest.raises(ValueError, match="variances"):
        water_filling_snr(1.0, [[1.0]])
