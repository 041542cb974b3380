"""The scheme's operating point and its optimality proof (rdptheory.symbolic.scheme)."""

import pytest
import sympy as sp
from hypothesis import given

from rdptheory.gaussian import awgn as gaussian_awgn
from rdptheory.gaussian import rdp
from rdptheory.gaussian.awgn import dp_awgn, score_scaled_point
from rdptheory.symbolic import (
    gaussian_entropy,
    rdp_w2sq_scalar,
    scheme_optimality,
    score_scaled_point_scalar,
)
from rdptheory.testing import noise_levels, rhos, variances

TOL = 1e-12


@given(var=variances(), noise_var=noise_levels(), rho=rhos(0.0, 3.0))
def test_point_matches_gaussian_module(var, noise_var, rho):
    p = score_scaled_point_scalar()
    ref = score_scaled_point([var], noise_var, rho)
    assert p.rate_nats.lambdify()(var, noise_var, rho) == pytest.approx(ref.rate_nats, rel=TOL)
    assert p.mse.lambdify()(var, noise_var, rho) == pytest.approx(ref.mse, rel=1e-9, abs=TOL * var)
    w2sq = p.perception_value.lambdify()(var, noise_var, rho)
    assert w2sq == pytest.approx(ref.perception_value, rel=1e-9, abs=TOL * var)


@given(var=variances(), noise_var=noise_levels(), rho=rhos(1.0, 2.0))
def test_points_lie_on_rdp_and_dp(var, noise_var, rho):
    p = score_scaled_point_scalar()
    fs = (p.rate_nats, p.mse, p.perception_value)
    R, D, P = (f.lambdify()(var, noise_var, rho) for f in fs)
    assert rdp_w2sq_scalar().lambdify()(D, P, var) == pytest.approx(R, rel=1e-9)
    assert rdp(D, P, var, unit="nats") == pytest.approx(R, rel=1e-9)
    assert dp_awgn(P, [var], noise_var).mse == pytest.approx(D, rel=1e-9)
    opt = scheme_optimality()
    assert abs(opt.rdp_gap.lambdify()(var, noise_var, rho)) < 1e-9 * max(1.0, R)
    assert abs(opt.dp_gap.lambdify()(var, noise_var, rho)) < 1e-9 * var


@given(var=variances(), noise_var=noise_levels(), rho=rhos(1.0, 2.0))
def test_gap_agrees_with_gaussian_module(var, noise_var, rho):
    gap = getattr(gaussian_awgn, "score_scaled_gap", None)
    if gap is None:  # G2's score_scaled_gap has not landed yet
        pytest.skip("rdptheory.gaussian.awgn.score_scaled_gap not available")
    got = scheme_optimality().rdp_gap.lambdify()(var, noise_var, rho)
    assert got == pytest.approx(gap([var], noise_var, rho, unit="nats"), abs=1e-9)


@pytest.mark.parametrize("rho", [0.5, 2.5])
def test_points_outside_rho_range_are_off_the_curve(rho):
    """The proof's range is sharp: rho < 1 or rho > 2 is strictly suboptimal."""
    p, var, noise_var = score_scaled_point_scalar(), 1.0, 0.64
    fs = (p.rate_nats, p.mse, p.perception_value)
    R, D, P = (f.lambdify()(var, noise_var, rho) for f in fs)
    assert R - rdp(D, P, var, unit="nats") > 1e-3


RATIONAL_POINTS = [
    (k, m, num, lam)
    for k, m in ((1, 1), (1, 2), (2, 3), (1, 4), (3, 4))
    for num, lam in ((1, 1), (3, 2), (7, 5))
]


@pytest.mark.parametrize(("k", "m", "num", "lam"), RATIONAL_POINTS)
def test_exact_rational_points(k, m, num, lam):
    """Exact arithmetic: c = (num/10)^m, rho = 1 + k/m in (1, 2], lambda = lam²."""
    c = sp.Rational(num, 10) ** m
    vals = {
        "lambda": lam**2,
        "t": sp.sqrt(lam**2 * (1 - c**2) / c**2),
        "rho": 1 + sp.Rational(k, m),
    }
    p = score_scaled_point_scalar()
    D, P = sp.radsimp(p.mse.subs(**vals)), sp.radsimp(p.perception_value.subs(**vals))
    assert D.is_Rational and P.is_Rational
    R_curve = rdp_w2sq_scalar().subs(D=D, P=P, s=lam)
    assert sp.exp(2 * R_curve) == sp.exp(2 * p.rate_nats.subs(**vals)) == 1 / (1 - c**2)


def test_proof_metadata():
    opt = scheme_optimality()
    assert "simplification" in opt.method and "general" in opt.method
    assert opt.rdp_gap.step("exp(2 R(D,P)) - exp(2 R) in (lambda, c, w)") == 0
    assert opt.dp_gap.step("D(P) - D in (lambda, c, w)") == 0
    labels = [c.label for c in opt.conditions]
    assert any("perception binds" in x for x in labels)
    lam, c, w = (sp.Symbol(n, positive=True) for n in ("lambda", "c", "w"))
    steps = {s.label: s.expr.subs({sp.Symbol("w", nonnegative=True): w}) for s in opt.conditions}
    assert sp.expand(steps["dD/dw (<= 0 for w <= 1 - c)"] - 2 * lam * (c + w - 1)) == 0
    assert sp.expand(steps["dW2²/dw (>= 0)"] - 2 * lam * w) == 0


def test_entropy_and_latex():
    h = gaussian_entropy()
    v = h.symbol("v")
    assert sp.simplify(h.expr - sp.log(2 * sp.pi * sp.E * v) / 2) == 0
    p = score_scaled_point_scalar()
    assert r"\rho" in p.perception_value.latex and r"\log" in p.rate_nats.latex
