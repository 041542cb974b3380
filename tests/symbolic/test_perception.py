"""Perception measures and floors (rdptheory.symbolic.perception) against rdptheory.gaussian."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.gaussian import min_reconstruction_std
from rdptheory.symbolic import perception_floor, perception_measure
from rdptheory.testing import PERCEPTIONS, variances

TOL = 1e-12


def _direct_measure(measure, s, s_hat):
    """THEORY.md §0/§1 formulas, written independently of the derivation."""
    u = np.log(s**2 / s_hat**2)
    if measure == "w2sq":
        return (s - s_hat) ** 2
    if measure == "kl_forward":
        return 0.5 * (np.expm1(u) - u)
    return 0.5 * (np.expm1(-u) + u)


@pytest.mark.parametrize("measure", PERCEPTIONS)
def test_measure_matches_closed_form(measure):
    rng = np.random.default_rng(1)
    s, s_hat = rng.uniform(0.1, 3.0, (2, 200))
    got = perception_measure(measure).lambdify()(s**2, s_hat)
    np.testing.assert_allclose(got, _direct_measure(measure, s, s_hat), rtol=TOL, atol=1e-14)


@pytest.mark.parametrize("measure", PERCEPTIONS)
def test_floor_matches_gaussian_module(measure):
    rng = np.random.default_rng(2)
    P = np.exp(rng.uniform(np.log(1e-3), np.log(5.0), 300))
    var = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), 300))
    got = perception_floor(measure).lambdify()(P, var)
    want = min_reconstruction_std(P, var, perception=measure)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=0.0)


@given(measure=st.sampled_from(PERCEPTIONS), var=variances(), P=st.floats(1e-3, 10.0))
def test_floor_attains_budget(measure, var, P):
    """measure(s, s_lo(P)) = P wherever the floor is positive, and s_lo < s."""
    s = np.sqrt(var)
    s_lo = perception_floor(measure).lambdify()(P, s**2)
    if measure == "w2sq" and P >= var:
        assert s_lo == 0.0
        return
    assert 0.0 < s_lo < s
    got = float(perception_measure(measure).lambdify()(s**2, s_lo))
    assert abs(got - P) <= 1e-10 * max(1.0, P)


@pytest.mark.parametrize("measure", ["kl_forward", "kl_reverse"])
def test_floor_high_precision(measure):
    """At 50 digits the Lambert W floor solves e^u - 1 - u = 2P exactly (u = ±log(s²/s_lo²))."""
    f = perception_floor(measure).lambdify("mpmath")
    with mpmath.workdps(50):
        for P in ("1e-8", "0.01", "0.3", "4"):
            Pm = mpmath.mpf(P)
            u = 2 * mpmath.log(1 / f(Pm, mpmath.mpf(1)))
            u = u if measure == "kl_forward" else -u
            assert abs(mpmath.expm1(u) - u - 2 * Pm) < mpmath.mpf("1e-45")


def test_floor_at_zero_perception_is_source_std():
    for measure in PERCEPTIONS:
        f = perception_floor(measure)
        assert float(f.lambdify()(0.0, 1.7**2)) == pytest.approx(1.7, rel=1e-15)
        assert sp.simplify(f.expr.subs(sp.Symbol("P", positive=True), 0)) == f.symbol("s")


def test_kl_floors_use_the_right_lambert_branches():
    fwd, rev = perception_floor("kl_forward"), perception_floor("kl_reverse")
    assert fwd.step("branch of the floor") == -1
    assert rev.step("branch of the floor") == 0
    (w_fwd,) = fwd.expr.atoms(sp.LambertW)
    (w_rev,) = rev.expr.atoms(sp.LambertW)
    assert w_fwd.args[1:] == (-1,) and len(w_rev.args) == 1
    assert fwd.step("measure(root) - P on every branch") == 0
    assert "W" in fwd.latex and "e^{- 2 P - 1}" in fwd.latex


def test_rejects_unknown_measure():
    with pytest.raises(ValueError, match="perception"):
        perception_floor("tv")
    with pytest.raises(ValueError, match="perception"):
        perception_measure("kl")
