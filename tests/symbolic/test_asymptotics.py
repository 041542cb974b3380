"""Branch-point expansions of the KL perception floors (rdptheory.symbolic.asymptotics).

Independent truth: the exact floors of rdptheory.gaussian.min_reconstruction_std (bracketed
Newton, checked against mpmath's lambertw in tests/gaussian).  The truncation error must
shrink as P^((order+1)/2): one decade of P moves it by (order+1)/2 decades.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from rdptheory.gaussian import min_reconstruction_std
from rdptheory.symbolic import Derivation
from rdptheory.symbolic.asymptotics import branch_point_series, perception_floor_series


def _numeric(d: Derivation):
    return sp.lambdify(d.symbols, d.expr, "numpy")


def test_branch_point_coefficients():
    z = sp.Symbol("z", real=True)
    d = branch_point_series(5)
    assert isinstance(d, Derivation) and d.derived
    expected = z - z**2 / 6 + z**3 / 36 - z**4 / 270 + z**5 / 4320
    assert sp.expand(d.expr.subs(d.symbols[0], z) - expected) == 0
    assert d.step("residual through z^6") == 0


def test_series_solves_equation_numerically():
    f = _numeric(branch_point_series(5))  # residual O(z^7): relative 2 z^5
    for zz in (0.01, -0.01, 0.02):
        y = f(zz)
        assert np.expm1(y) - y == pytest.approx(zz**2 / 2, rel=1e-7)


def test_leading_terms():
    P, s = sp.symbols("P s", positive=True)
    fwd = perception_floor_series("kl_forward", 4)
    rev = perception_floor_series("kl_reverse", 4)
    sym = {x.name: x for x in fwd.symbols}
    rt = sp.sqrt(sym["P"])
    want_f = sym["s"] * (1 - rt + sp.Rational(5, 6) * rt**2 - sp.Rational(11, 18) * rt**3
                         + sp.Rational(437, 1080) * rt**4)
    want_r = sym["s"] * (1 - rt + sp.Rational(1, 6) * rt**2 + sp.Rational(1, 18) * rt**3
                         + sp.Rational(13, 1080) * rt**4)
    assert sp.expand(fwd.expr - want_f) == 0
    assert sp.expand(rev.expr - want_r) == 0


@pytest.mark.parametrize("measure", ["kl_forward", "kl_reverse"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_truncation_error_has_the_predicted_order(measure, order):
    f = _numeric(perception_floor_series(measure, order))
    Ps = np.array([1e-3, 1e-4, 1e-5])
    exact = np.array([min_reconstruction_std(p, 4.0, perception=measure) for p in Ps])
    rel = np.abs(f(Ps, 2.0) / exact - 1.0)  # s = 2: the series scales with s
    slopes = np.diff(np.log10(rel)) / np.diff(np.log10(Ps))
    assert np.allclose(slopes, (order + 1) / 2, atol=0.05), slopes
    assert rel[-1] < 10 * 1e-5 ** ((order + 1) / 2)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (9, ValueError), (2.0, TypeError),
                                       (True, TypeError)])
def test_validation(bad, exc):
    with pytest.raises(exc):
        branch_point_series(bad)
    with pytest.raises((ValueError, TypeError)):
        perception_floor_series("kl_forward", bad)
    with pytest.raises(ValueError, match="measure"):
        perception_floor_series("w2sq", 2)
