"""Vector R(D, P) stationarity (rdptheory.symbolic.vector) checked on rdp_vector_solution."""

import numpy as np
import sympy as sp
from hypothesis import given

from rdptheory.gaussian.vector import rdp_vector_solution
from rdptheory.symbolic import rdp_w2sq_vector_stationarity
from rdptheory.testing import vector_operating_points


@given(point=vector_operating_points(regime="both_active"))
def test_numeric_solution_satisfies_derived_kkt(point):
    """G2's convex solver output meets the sympy-derived stationarity conditions."""
    d = rdp_w2sq_vector_stationarity()
    sol = rdp_vector_solution(point.D, point.P, point.variances)
    lam = point.variances
    c_kkt = d.lambdify()(sol.recon_std, lam, sol.mu, sol.nu)
    np.testing.assert_allclose(c_kkt, sol.correlation, rtol=1e-7, atol=1e-9)
    mu_expr = sp.lambdify(
        (d.symbol("shat"), d.symbol("lambda"), sp.Symbol("c", real=True)), d.step("mu")
    )
    np.testing.assert_allclose(mu_expr(sol.recon_std, lam, sol.correlation), sol.mu, rtol=1e-6)


def test_form_in_z():
    d = rdp_w2sq_vector_stationarity()
    z, mu, nu = sp.Symbol("z", real=True), d.symbol("mu"), d.symbol("nu")
    assert d.step("c_i in z_i") == 1 - z * (1 + nu / mu)
    assert d.expr.subs(nu, 0) == d.symbol("shat") / sp.sqrt(d.symbol("lambda"))  # water-filling
    assert r"\nu" in d.latex and r"\mu" in d.latex
