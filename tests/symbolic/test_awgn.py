"""[FMM21] D(P) under AWGN, derived (rdptheory.symbolic.awgn), against rdptheory.gaussian."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.gaussian.awgn import dp_awgn
from rdptheory.symbolic import dp_awgn_scalar, expect_quadratic
from rdptheory.symbolic.awgn import noise, source
from rdptheory.testing import noise_levels, variances

TOL = 1e-12


@given(var=variances(), noise_var=noise_levels(), frac=st.floats(0.0, 1.5))
def test_matches_gaussian_dp_awgn(var, noise_var, frac):
    d = dp_awgn_scalar()
    P = frac * float(d.perception_value_mmse.lambdify()(var, noise_var))
    ref = dp_awgn(P, [var], noise_var)
    assert d.dp.lambdify()(P, var, noise_var) == pytest.approx(ref.mse, rel=TOL)
    assert d.optimal_gain.lambdify()(P, var, noise_var) == pytest.approx(ref.gain[0], rel=TOL)
    assert d.alpha.lambdify()(P, var, noise_var) == pytest.approx(ref.alpha, rel=1e-9, abs=1e-12)
    assert d.mmse.lambdify()(var, noise_var) == pytest.approx(ref.mmse, rel=TOL)
    w_mmse = d.perception_value_mmse.lambdify()(var, noise_var)
    assert w_mmse == pytest.approx(ref.perception_value_mmse, rel=1e-10)


def test_optimal_gain_meets_constraint_and_beats_feasible_gains():
    """The derived gain is feasible, binding, and no feasible gain on a grid has lower MSE."""
    d = dp_awgn_scalar()
    lam, t, P = 2.0, 0.7, 0.01
    a = d.optimal_gain.lambdify()(P, lam, t**2)
    assert d.perception_value_of_gain.lambdify()(a, lam, t**2) == pytest.approx(P, rel=1e-12)
    grid = np.linspace(0.0, 1.5, 30001)
    feasible = d.perception_value_of_gain.lambdify()(grid, lam, t**2) <= P
    best = d.mse_of_gain.lambdify()(grid[feasible], lam, t**2).min()
    assert d.dp.lambdify()(P, lam, t**2) <= best + 1e-12
    assert best - d.dp.lambdify()(P, lam, t**2) < 1e-6


def test_single_alpha_interpolation():
    """a(P) = (1 - alpha) c² + alpha c, exactly, at a rational point."""
    d = dp_awgn_scalar()
    vals = {"P": sp.Rational(1, 100), "lambda": 4, "t": sp.sqrt(5)}
    alpha, a = d.alpha.subs(**vals), d.optimal_gain.subs(**vals)
    c = sp.Rational(2, 3)
    assert sp.simplify((1 - alpha) * c**2 + alpha * c - a) == 0
    assert d.mmse.subs(**{"lambda": 4, "t": sp.sqrt(5)}) == sp.Rational(20, 9)


def test_steps_and_latex():
    d = dp_awgn_scalar()
    assert d.dp.step("D(P)").lhs.free_symbols >= {d.dp.symbol("P")}
    assert d.mmse_gain.expr == d.mmse_gain.symbol("lambda") / (
        d.mmse_gain.symbol("lambda") + d.mmse_gain.symbol("t") ** 2
    )
    assert r"\lambda" in d.dp.latex and "t^{2}" in d.dp.latex and r"\sqrt{P}" in d.dp.latex
    assert "[FMM21]" in d.dp.citation


def test_expect_quadratic():
    lam = sp.Symbol("lambda", positive=True)
    assert expect_quadratic((source + 3 * noise) ** 2) == lam + 9
    assert expect_quadratic(source * noise + 2) == 2
    with pytest.raises(ValueError, match="degree"):
        expect_quadratic(source**3)
