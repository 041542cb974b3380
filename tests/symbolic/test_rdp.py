"""Scalar R(D, P) / D(R, P) derived by KKT (rdptheory.symbolic.rdp) against rdptheory.gaussian."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given

from rdptheory import symbolic
from rdptheory.gaussian import drp
from rdptheory.testing import PERCEPTIONS, rates, scalar_operating_points
from rdptheory.testing import gaussian_channel_rdp as rdp  # the closed form of THEORY.md §1

TOL = 1e-12


def _close(got, want):
    """|got - want| <= 1e-12 max(1, |want|): the brief's 1e-12, relative above 1 nat."""
    got, want = np.asarray(got), np.asarray(want)
    assert np.all(np.abs(got - want) <= TOL * np.maximum(1.0, np.abs(want))), (got, want)


@given(point=scalar_operating_points())
def test_rdp_matches_gaussian_module(point):
    f = symbolic.rdp_scalar(point.perception).lambdify()
    got = f(point.D, point.P, point.variance)
    want = rdp(point.D, point.P, point.variance, perception=point.perception, unit="nats")
    _close(got, want)


@pytest.mark.parametrize("perception", PERCEPTIONS)
def test_rdp_random_grid(perception):
    rng = np.random.default_rng(3)
    var = np.exp(rng.uniform(-3, 3, 500))
    D = var * rng.uniform(0.01, 2.5, 500)
    P = var * rng.uniform(0.0, 1.2, 500) if perception == "w2sq" else rng.uniform(0, 2, 500)
    got = symbolic.rdp_scalar(perception).lambdify()(D, P, var)
    _close(got, rdp(D, P, var, perception=perception, unit="nats"))


@given(point=scalar_operating_points())
def test_drp_matches_gaussian_module(point):
    R = rdp(point.D, point.P, point.variance, perception=point.perception, unit="nats")
    got = symbolic.drp_scalar(point.perception).lambdify()(R, point.P, point.variance)
    want = drp(R, point.P, point.variance, perception=point.perception, unit="nats")
    assert got == pytest.approx(want, rel=TOL, abs=TOL * point.variance)


@given(point=scalar_operating_points(regime="both_active"), R_bits=rates(6.0))
def test_rdp_of_drp_is_identity(point, R_bits):
    s = np.sqrt(point.variance)
    R = R_bits * np.log(2.0)
    D = symbolic.drp_scalar(point.perception).lambdify()(R, point.P, s**2)
    back = symbolic.rdp_scalar(point.perception).lambdify()(D, point.P, s**2)
    assert back == pytest.approx(R, rel=1e-9, abs=1e-9)


def test_zero_perception_formula():
    rng = np.random.default_rng(4)
    var = np.exp(rng.uniform(-3, 3, 200))
    D = var * rng.uniform(0.01, 2.5, 200)
    got = symbolic.rdp_zero_perception().lambdify()(D, var)
    _close(got, rdp(D, 0.0, var, unit="nats"))
    for perception in PERCEPTIONS:  # every measure reduces to it at P = 0
        _close(symbolic.rdp_scalar(perception).lambdify()(D, 0.0, var), got)


def test_kkt_steps():
    """Multipliers and regime boundaries of the derivation are the THEORY.md §1 ones."""
    kkt = symbolic.rdp_w2sq_kkt()
    s, s_lo, D = kkt.symbol("s"), kkt.symbol("s_lo"), kkt.symbol("D")
    assert kkt.step("D where nu = 0") == s**2 - s_lo**2
    assert kkt.step("D where mu = 0") == s**2 + s_lo**2
    assert kkt.step("D where s_hat = s_lo (perception inactive)") == s**2 - s_lo**2
    assert kkt.step("R (perception inactive)") == sp.log(s**2 / D) / 2
    c_opt = kkt.step("c (both active)")
    assert sp.simplify(c_opt - (s**2 + s_lo**2 - D) / (2 * s * s_lo)) == 0
    # nu >= 0 inside the both-active band, for a sample point: s=1, s_lo=1/2, D=1
    nu = kkt.step("nu (both active)").subs({s: 1, s_lo: sp.Rational(1, 2), D: 1})
    assert nu > 0


def test_kkt_core_is_the_theory_formula():
    kkt = symbolic.rdp_w2sq_kkt()
    s, s_lo, D = (kkt.symbol(n) for n in ("s", "s_lo", "D"))
    derived = kkt.step("R (both active, as derived)")
    for vals in ({s: 2, s_lo: 1, D: 4}, {s: 3, s_lo: sp.Rational(1, 3), D: 9}):
        assert sp.simplify(sp.exp(2 * derived.subs(vals)) - sp.exp(2 * kkt.expr.subs(vals))) == 0
    assert kkt.derived and "[ZQCK21]" in kkt.citation


def test_core_regimes_exact_values():
    core = symbolic.rdp_core()
    assert core.subs(D=3, s=1, s_lo=1) == 0  # D >= s² + s_lo²
    assert core.subs(D=sp.Rational(1, 4), s=1, s_lo=sp.Rational(1, 2)) == sp.log(4) / 2


def test_latex_and_symbols():
    d = symbolic.rdp_w2sq_scalar()
    assert d.symbol_names == ("D", "P", "s")
    assert r"\sqrt{P}" in d.latex and r"\log" in d.latex and "cases" in d.latex
    assert d.equation.startswith("R(D, P) = ")
    assert "s_{lo}" in symbolic.rdp_w2sq_kkt().latex
    assert r"\log" in symbolic.rdp_zero_perception().latex


def test_rejects_unknown_perception():
    with pytest.raises(ValueError, match="perception"):
        symbolic.rdp_scalar("w2")
    with pytest.raises(ValueError, match="perception"):
        symbolic.drp_scalar("w2")


HP_POINTS = [
    (0.3, 0.01, 1.0),
    (0.9, 0.05, 1.0),
    (1.5, 0.1, 2.0),
    (0.2, 1e-6, 1.0),
    (3.9, 1e-3, 2.0),
]


@pytest.mark.parametrize("perception", PERCEPTIONS)
def test_high_precision_spot_checks(perception):
    """The derived formula at 40 digits (mpmath) vs the float closed form, to 1e-13."""
    import mpmath

    f = symbolic.rdp_scalar(perception).lambdify("mpmath")
    with mpmath.workdps(40):
        for D, P, var in HP_POINTS:
            exact = f(mpmath.mpf(D), mpmath.mpf(P), mpmath.mpf(var))
            got = rdp(D, P, var, perception=perception, unit="nats")
            assert abs(got - exact) <= 1e-13 * max(1.0, abs(exact)), (D, P, var)
