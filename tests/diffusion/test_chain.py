"""The shared VE chain: posterior = DDPM posterior, reverse kernels, KL, ladders, rates."""

import numpy as np
import pytest

from rdptheory.diffusion import chain


def test_ve_step_is_the_ddpm_posterior_scaled():
    rng = np.random.default_rng(0)
    x, y_t = rng.normal(size=5), rng.normal(size=5) * 2
    t, s = 1.3, 0.6
    ab_t, ab_s = 1 / (1 + t**2), 1 / (1 + s**2)
    a_ts = ab_t / ab_s
    z_t = np.sqrt(ab_t) * y_t
    mean_vp = (np.sqrt(ab_s) * (1 - a_ts) * x + np.sqrt(a_ts) * (1 - ab_s) * z_t) / (1 - ab_t)
    var_vp = (1 - ab_s) * (1 - a_ts) / (1 - ab_t)
    mu_q, sigma_q = chain.forward_posterior(x, y_t, s**2, t**2)
    np.testing.assert_allclose(np.sqrt(ab_s) * mu_q, mean_vp, rtol=1e-12)
    assert np.ndim(sigma_q) == 0
    assert ab_s * sigma_q**2 == pytest.approx(var_vp, rel=1e-12)


def _conditional(cov: np.ndarray, y_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian conditioning of the first block on the second, per direction (2x2 covs)."""
    mean = cov[..., 0, 1] / cov[..., 1, 1] * y_t
    return mean, np.sqrt(cov[..., 0, 0] - cov[..., 0, 1] ** 2 / cov[..., 1, 1])


def test_gaussian_reverse_kernel_is_the_exact_conditional():
    lam = np.array([2.0, 0.5, 0.1])
    s2, t2 = np.array([0.3, 0.2, 0.05]), np.array([1.1, 0.9, 0.4])
    y_t = np.array([[0.7, -1.2, 0.3], [2.0, 0.1, -0.4]])
    # joint of (y_s, y_t) = (x + s n1, x + s n1 + sqrt(t2 - s2) n2), x ~ N(0, lam)
    cov = np.stack([np.stack([lam + s2, lam + s2], -1), np.stack([lam + s2, lam + t2], -1)], -2)
    want_mean, want_sd = _conditional(cov, y_t)
    mean, sd = chain.gaussian_reverse_kernel(y_t, lam, s2, t2)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-12)
    np.testing.assert_allclose(sd, np.broadcast_to(want_sd, y_t.shape), rtol=1e-12)
    # ... and the general reverse step with the Gaussian posterior (mean, variance) of x
    x0_hat, v = lam / (lam + t2) * y_t, lam * t2 / (lam + t2)
    mean2, sd2 = chain.reverse_step(x0_hat, y_t, s2, t2, x0_var=v)
    np.testing.assert_allclose(mean2, mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sd2, sd, rtol=1e-12)


def test_plug_in_step_kl_and_first_step_kl():
    rng = np.random.default_rng(1)
    x, x0, y = rng.normal(size=(3, 7))
    mu_q, sd = chain.forward_posterior(x, y, 1.0, 4.0)
    mu_p, sd_p = chain.reverse_step(x0, y, 1.0, 4.0)
    assert sd == sd_p == pytest.approx(np.sqrt(0.75), rel=1e-15)
    np.testing.assert_allclose(mu_p, 0.75 * x0 + 0.25 * y, rtol=1e-14)
    kl = chain.step_kl_nats(chain.StepGaussians(mu_q, sd, mu_p, sd_p))
    assert kl == pytest.approx(0.75 * np.sum((x - x0) ** 2) / 2.0, rel=1e-12)
    xs = np.array([0.5, -0.5])
    first = chain.first_step(xs, 9.0)
    v_q, v_p = 9.0, 10.0
    ref = np.sum(0.5 * np.log(v_p / v_q) + (v_q + xs**2) / (2 * v_p) - 0.5)
    assert chain.step_kl_nats(first) == pytest.approx(ref, rel=1e-12)
    shaped = chain.first_step(np.zeros((2, 2)), np.array([1.0, 4.0]), np.array([3.0, 12.0]))
    assert np.array_equal(shaped.sigma_p, [[2.0, 4.0], [2.0, 4.0]])
    assert chain.step_kl_nats(shaped) == pytest.approx(2 * (np.log(2.0) + 0.125 - 0.5) * 2,
                                                       rel=1e-12)


def test_expected_step_kls_telescope_to_the_mutual_information():
    lam = np.array([1.5, 0.4])
    grid = chain.geometric_grid(np.array([0.2, 0.2]), lam, 5)
    # E KL(q || p_exact) for one step = I(X; Y_s) - I(X; Y_t); sum over the chain + top
    total = chain.mutual_information_nats(lam, grid[-1])
    for k in range(5):
        total += (chain.mutual_information_nats(lam, grid[k])
                  - chain.mutual_information_nats(lam, grid[k + 1]))
    assert total == pytest.approx(chain.mutual_information_nats(lam, grid[0]), rel=1e-12)
    assert chain.mutual_information_nats(lam, grid[-1]) <= 2 * chain.TOP_INFO_NATS + 1e-12
    assert np.max(0.5 * np.log1p(lam / grid[-1])) == pytest.approx(chain.TOP_INFO_NATS,
                                                                  rel=1e-12)
    ratios = grid[1:] / grid[:-1]
    np.testing.assert_allclose(ratios, ratios[0, 0], rtol=1e-12)


def test_noise_var_for_rate_inverts_the_information():
    lam = np.array([1.0, 0.3, 0.05])
    t2 = chain.noise_var_for_rate(lam, 1.7)
    assert chain.mutual_information_nats(lam, np.full(3, t2)) == pytest.approx(1.7, rel=1e-12)
    assert chain.mutual_information_nats(lam, np.array([np.inf, 1.0, np.inf])) == \
        pytest.approx(0.5 * np.log(1.3), rel=1e-14)


def test_ladder_and_validation():
    t = chain.noise_ladder(5.0, 0.05, 11)
    assert t[0] == 5.0 and t[-1] == pytest.approx(0.05) and np.all(np.diff(t) < 0)
    np.testing.assert_allclose(t[1:] / t[:-1], 0.01 ** 0.1, rtol=1e-12)
    with pytest.raises(ValueError, match="t_min"):
        chain.noise_ladder(1.0, 2.0, 4)
    with pytest.raises(ValueError, match="n_levels"):
        chain.noise_ladder(2.0, 1.0, 1)
    with pytest.raises(ValueError, match="steps"):
        chain.geometric_grid(np.ones(2), np.ones(2), 0)
    with pytest.raises(ValueError, match="noise_var"):
        chain.geometric_grid(np.array([-1.0]), np.ones(1), 2)
