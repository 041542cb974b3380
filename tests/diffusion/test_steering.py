"""Steering helpers and D(P)-optimal decoders (rdptheory/diffusion/steering.py)."""

import doctest

import numpy as np
import pytest

from rdptheory.diffusion import GaussianModel, GMMModel, decode, steering
from rdptheory.gaussian.awgn import dp_awgn, score_scaled_point

LAM = 1.0 / np.arange(1, 9) ** 2
T2 = 0.05


def test_doctests():
    assert doctest.testmod(steering).failed == 0


@pytest.mark.parametrize("frac", [1e-6, 0.1, 0.5, 0.9, 0.999])
def test_rho_for_perception_meets_target(frac):
    P = frac * score_scaled_point(LAM, T2, 2.0).perception_value
    rho = steering.rho_for_perception(P, LAM, T2)
    assert 1.0 < rho < 2.0
    assert score_scaled_point(LAM, T2, rho).perception_value == pytest.approx(P, rel=1e-10)


def test_rho_for_perception_scalar_closed_form_and_ends():
    lam, t2, P = 2.0, 0.7, 0.02
    c = np.sqrt(lam / (lam + t2))
    expect = 1.0 + np.log(1.0 - np.sqrt(P / lam)) / np.log(c)
    assert steering.rho_for_perception(P, [lam], t2) == pytest.approx(expect, rel=1e-12)
    assert steering.rho_for_perception(0.0, LAM, T2) == 1.0
    assert steering.rho_for_perception(10.0, LAM, T2) == 2.0


def test_rho_for_tradeoff_minimises_objective():
    rhos = np.linspace(1.0, 2.0, 200001)
    prev = 2.0
    for weight in (0.01, 0.3, 1.0, 5.0, 100.0):
        p = score_scaled_point(LAM, T2, rhos)
        best = rhos[np.argmin(p.mse + weight * p.perception_value)]
        rho = steering.rho_for_tradeoff(weight, LAM, T2)
        assert rho == pytest.approx(best, abs=2e-4)
        q = score_scaled_point(LAM, T2, rho)
        best_value = (p.mse + weight * p.perception_value).min()
        assert q.mse + weight * q.perception_value <= best_value + 1e-15
        assert rho < prev
        prev = rho
    assert steering.rho_for_tradeoff(0.0, LAM, T2) == 2.0
    assert steering.rho_for_tradeoff(1e6, LAM, T2) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("frac", [0.0, 0.2, 0.7, 1.0, 2.0])
def test_per_direction_rho_is_dp_optimal(frac):
    w_mmse = dp_awgn(0.0, LAM, T2).perception_value_mmse
    P = frac * w_mmse
    rho = steering.per_direction_rho(P, LAM, T2)
    assert ((rho >= 1 - 1e-12) & (rho <= 2 + 1e-12)).all()
    c = np.sqrt(LAM / (LAM + T2))
    a = c**rho
    mse = np.sum(LAM * (1 - a) ** 2 + a**2 * T2)
    w2sq = np.sum(LAM * (1 - a / c) ** 2)
    dp = dp_awgn(P, LAM, T2)
    np.testing.assert_allclose(a, dp.gain, rtol=1e-12)
    assert mse == pytest.approx(dp.mse, rel=1e-12)
    assert w2sq == pytest.approx(min(P, w_mmse), rel=1e-9, abs=1e-15)


def test_single_alpha_equals_per_direction_rho_decoder_full_cov():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    cov = A @ A.T / 4 + 0.1 * np.eye(4)
    m = GaussianModel(np.ones(4), cov)
    y = m.sample(50, 1) + np.sqrt(0.4) * rng.standard_normal((50, 4))
    P = 0.3 * dp_awgn(0.0, m.eigenvalues, 0.4).perception_value_mmse
    alpha = dp_awgn(P, m.eigenvalues, 0.4).alpha
    np.testing.assert_allclose(
        steering.single_alpha_decode(m, y, 0.4, alpha), steering.optimal_decode(m, y, 0.4, P),
        rtol=1e-11, atol=1e-12
    )
    # the same construction through the numerical ODE
    ode = steering.single_alpha_decode(m, y, 0.4, alpha, solver="adaptive")
    np.testing.assert_allclose(ode, steering.optimal_decode(m, y, 0.4, P), rtol=1e-8, atol=1e-9)


def test_single_rho_loss():
    white = steering.single_rho_loss(0.01, np.ones(5), 0.3)
    assert abs(white.excess_mse) < 1e-13
    loss = steering.single_rho_loss(0.3 * dp_awgn(0.0, LAM, T2).perception_value_mmse, LAM, T2)
    assert loss.excess_mse > 0 and 0 < loss.loss_db < 0.02
    assert steering.single_rho_loss(0.0, LAM, T2).excess_mse == pytest.approx(0.0, abs=1e-13)


def test_optimal_decode_scalar_model():
    m = GaussianModel(0.0, 2.0)
    y = np.array([1.0, -0.5])
    rho = steering.per_direction_rho(0.01, [2.0], 0.5)[0]
    np.testing.assert_allclose(steering.optimal_decode(m, y, 0.5, 0.01), (2 / 2.5) ** (rho / 2) * y)


def test_validation_errors():
    with pytest.raises(ValueError, match="P"):
        steering.rho_for_perception(-1.0, LAM, T2)
    with pytest.raises(ValueError, match="variances"):
        steering.rho_for_perception(0.1, [1.0, -1.0], T2)
    with pytest.raises(ValueError, match="noise_var"):
        steering.rho_for_tradeoff(1.0, LAM, 0.0)
    with pytest.raises(ValueError, match="lam"):
        steering.rho_for_tradeoff(np.ones(2), LAM, T2)
    with pytest.raises(ValueError, match="alpha"):
        steering.single_alpha_decode(GaussianModel(0.0, 1.0), np.zeros(2), 1.0, 1.5)
    with pytest.raises(TypeError, match="GaussianModel"):
        steering.optimal_decode(GMMModel([1.0], [0.0], [1.0]), np.zeros(2), 1.0, 0.1)
    with pytest.raises(TypeError, match="model"):
        decode(None, np.zeros(2), 1.0, 1.0)
