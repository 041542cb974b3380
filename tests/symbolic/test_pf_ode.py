"""The score-scaled PF-ODE map derived with dsolve (rdptheory.symbolic.pf_ode)."""

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

from rdptheory.symbolic import PARAMETERISATIONS, dp_awgn_scalar, pf_ode_map

TOL = 1e-12


def test_ve_and_vp_give_the_same_map():
    ve, vp = pf_ode_map("ve"), pf_ode_map("vp")
    assert sp.simplify(ve.expr - vp.expr) == 0
    rng = np.random.default_rng(5)
    y, lam, t, rho = rng.normal(size=100), *rng.uniform(0.05, 3.0, (3, 100))
    np.testing.assert_allclose(
        ve.lambdify()(y, lam, t**2, rho), vp.lambdify()(y, lam, t**2, rho), rtol=TOL
    )


def test_map_closed_form_numeric():
    rng = np.random.default_rng(6)
    y, lam, t, rho = rng.normal(size=100), *rng.uniform(0.05, 3.0, (3, 100))
    want = (lam / (lam + t**2)) ** (rho / 2) * y
    np.testing.assert_allclose(pf_ode_map("ve").lambdify()(y, lam, t**2, rho), want, rtol=TOL)


@pytest.mark.parametrize("lam", [0.3, 1.0, 4.0])
def test_vp_ode_integrated_numerically(lam):
    """Integrate the VP ODE in tau with a linear beta schedule (scipy) and compare."""
    beta0, beta1, T, rho, y = 0.1, 20.0, 0.4, 1.5, 0.8
    beta = lambda tau: beta0 + (beta1 - beta0) * tau
    abar = lambda tau: np.exp(-(beta0 * tau + 0.5 * (beta1 - beta0) * tau**2))
    var = lambda tau: abar(tau) * lam + 1 - abar(tau)
    rhs = lambda tau, z: -0.5 * beta(tau) * z + 0.5 * rho * beta(tau) * z / var(tau)
    t = np.sqrt((1 - abar(T)) / abar(T))
    sol = solve_ivp(rhs, (T, 0.0), [np.sqrt(abar(T)) * y], rtol=1e-12, atol=1e-14)
    assert sol.y[0, -1] == pytest.approx(pf_ode_map("vp").lambdify()(y, lam, t**2, rho), rel=1e-9)


def test_rho_endpoints():
    d = pf_ode_map("ve")
    assert d.step("Var(X_hat) at rho = 1 equals lambda").lhs == d.symbol("lambda")
    rng = np.random.default_rng(7)
    lam, t = rng.uniform(0.1, 3.0, (2, 50))
    gain1 = d.lambdify()(1.0, lam, t**2, 1.0)
    np.testing.assert_allclose(gain1**2 * (lam + t**2), lam, rtol=TOL)  # Var = lambda
    gain2 = d.lambdify()(1.0, lam, t**2, 2.0)
    np.testing.assert_allclose(gain2, dp_awgn_scalar().mmse_gain.lambdify()(lam, t**2), rtol=TOL)


def test_steps_record_the_odes():
    vp = pf_ode_map("vp")
    assert vp.step("residual for any beta(tau)") == 0
    lam = vp.symbol("lambda")
    abar = sp.Symbol("alphabar", positive=True)
    assert sp.expand(vp.step("marginal variance v(alphabar)") - (1 + (lam - 1) * abar)) == 0
    ve = pf_ode_map("ve")
    assert ve.step("marginal variance v(sigma)") == lam + sp.Symbol("sigma", nonnegative=True) ** 2
    assert isinstance(ve.step("ODE in sigma"), sp.Eq)


def test_latex_and_validation():
    d = pf_ode_map("vp")
    assert r"\rho" in d.latex and r"\lambda" in d.latex and "t^{2}" in d.latex
    assert d.equation.startswith(r"\hat X = ")
    assert PARAMETERISATIONS == ("ve", "vp")
    with pytest.raises(ValueError, match="parameterisation"):
        pf_ode_map("edm")


@pytest.mark.parametrize("schedule", ["ve", "vp"])
def test_numeric_decoder_follows_the_derived_map(schedule):
    """rdptheory.diffusion.decode (adaptive float64 solver) lands on the dsolve map."""
    diffusion = pytest.importorskip("rdptheory.diffusion")
    lam, noise_var, rho = 1.7, 0.6, 1.4
    y = np.array([-1.3, 0.2, 2.1])
    model = diffusion.GaussianModel(0.0, lam)
    got = diffusion.decode(model, y, noise_var, rho, schedule=schedule, solver="adaptive")
    want = pf_ode_map(schedule).lambdify()(y, lam, noise_var, rho)
    np.testing.assert_allclose(got, want, rtol=1e-8)
