"""The chain's step distributions: VE form = DDPM posterior, KL formula, ladder."""

import numpy as np
import pytest

from rdptheory.images import _chain


def test_ve_step_is_the_ddpm_posterior_scaled():
    rng = np.random.default_rng(0)
    x, y_t = rng.normal(size=5), rng.normal(size=5) * 2
    t, s = 1.3, 0.6
    ab_t, ab_s = 1 / (1 + t**2), 1 / (1 + s**2)
    a_ts = ab_t / ab_s
    z_t = np.sqrt(ab_t) * y_t
    mean_vp = (np.sqrt(ab_s) * (1 - a_ts) * x + np.sqrt(a_ts) * (1 - ab_s) * z_t) / (1 - ab_t)
    var_vp = (1 - ab_s) * (1 - a_ts) / (1 - ab_t)
    step = _chain.reverse_step(x, np.zeros(5), y_t, t, s)
    np.testing.assert_allclose(np.sqrt(ab_s) * step.mu_q, mean_vp, rtol=1e-12)
    assert ab_s * step.sigma_q**2 == pytest.approx(var_vp, rel=1e-12)


def test_step_kl_equal_variance_and_prior_step():
    rng = np.random.default_rng(1)
    x, x0, y = rng.normal(size=(3, 7))
    step = _chain.reverse_step(x, x0, y, 2.0, 1.0)
    r = 0.25
    assert _chain.step_kl_nats(step) == pytest.approx(
        (1 - r) * np.sum((x - x0) ** 2) / (2 * 1.0**2), rel=1e-12)
    mu_p, sigma_p = _chain.prior_step(x0, y, 2.0, 1.0)
    assert np.array_equal(mu_p, step.mu_p) and sigma_p == step.sigma_p


def test_first_step_kl_closed_form():
    x = np.array([0.5, -0.5])
    step = _chain.first_step(x, 3.0)
    v_q, v_p = 9.0, 10.0
    ref = np.sum(0.5 * np.log(v_p / v_q) + (v_q + x**2) / (2 * v_p) - 0.5)
    assert _chain.step_kl_nats(step) == pytest.approx(ref, rel=1e-12)


def test_ladder():
    t = _chain.noise_ladder(5.0, 0.05, 11)
    assert t[0] == 5.0 and t[-1] == pytest.approx(0.05) and np.all(np.diff(t) < 0)
    np.testing.assert_allclose(t[1:] / t[:-1], 0.01 ** 0.1, rtol=1e-12)
    with pytest.raises(ValueError, match="t_min"):
        _chain.noise_ladder(1.0, 2.0, 4)
    with pytest.raises(ValueError, match="n_levels"):
        _chain.noise_ladder(2.0, 1.0, 1)
