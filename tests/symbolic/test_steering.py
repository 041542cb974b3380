"""Closed-form rho steering (rdptheory.symbolic.steering) vs rdptheory.diffusion / gaussian."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.gaussian.awgn import dp_awgn, score_scaled_point
from rdptheory.symbolic import (
    rho_for_alpha_scalar,
    rho_for_perception_scalar,
    rho_for_tradeoff_scalar,
)
from rdptheory.testing import noise_levels, rhos, variances


@given(var=variances(), noise_var=noise_levels(), rho=rhos(1.0, 2.0))
def test_rho_for_perception_inverts_the_scheme(var, noise_var, rho):
    P = score_scaled_point([var], noise_var, rho).perception_value
    got = rho_for_perception_scalar().lambdify()(P, var, noise_var)
    assert got == pytest.approx(rho, rel=1e-6, abs=1e-6)


@given(var=variances(1e-2, 1e2), noise_var=noise_levels(1e-2, 1e2), frac=st.floats(0.01, 0.99))
def test_single_alpha_and_single_rho_coincide(var, noise_var, frac):
    """Scalar source: [FMM21]'s alpha at P and the rho for P give the same gain."""
    ref = dp_awgn(0.0, [var], noise_var)
    P = frac * ref.perception_value_mmse
    alpha = dp_awgn(P, [var], noise_var).alpha
    rho_a = rho_for_alpha_scalar().lambdify()(alpha, var, noise_var)
    rho_p = rho_for_perception_scalar().lambdify()(P, var, noise_var)
    assert rho_a == pytest.approx(rho_p, rel=1e-9)


def test_matches_diffusion_steering():
    steering = pytest.importorskip("rdptheory.diffusion.steering")
    rng = np.random.default_rng(9)
    for var, noise_var, omega in rng.uniform(0.1, 3.0, (20, 3)):
        P = 0.5 * dp_awgn(0.0, [var], noise_var).perception_value_mmse
        got_p = rho_for_perception_scalar().lambdify()(P, var, noise_var)
        assert got_p == pytest.approx(steering.rho_for_perception(P, [var], noise_var), rel=1e-9)
        got_t = rho_for_tradeoff_scalar().lambdify()(omega, var, noise_var)
        assert got_t == pytest.approx(steering.rho_for_tradeoff(omega, [var], noise_var), rel=1e-8)


def test_tradeoff_endpoints_and_minimality():
    d = rho_for_tradeoff_scalar()
    f = d.lambdify()
    assert f(0.0, 1.3, 0.36) == pytest.approx(2.0, rel=1e-14)
    assert f(1e9, 1.3, 0.36) == pytest.approx(1.0, abs=1e-8)
    assert d.step("d2/dw2").is_positive
    # brute force over a rho grid
    var, noise_var, omega = 1.3, 0.36, 0.8
    grid = np.linspace(0.5, 2.5, 20001)
    pts = score_scaled_point([var], noise_var, grid)
    best = grid[np.argmin(pts.mse + omega * pts.perception_value)]
    assert f(omega, var, noise_var) == pytest.approx(best, abs=2e-4)
