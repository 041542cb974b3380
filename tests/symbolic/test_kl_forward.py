"""The rigorous kl_forward floor (rdptheory.symbolic.kl_forward) vs rdptheory.gaussian."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from rdptheory.gaussian import kl_forward_min_second_moment, rdp_kl_forward_lower_bound
from rdptheory.symbolic import (
    kl_forward_floor,
    kl_forward_min_second_moment_mp,
    perception_floor,
    rdp_core,
)


def test_theory_example_mu_one():
    """THEORY.md §1: s = 1, P = 0.11137 gives E_q X² = 0.5251 (mu = 1)."""
    f = kl_forward_floor()
    with mpmath.workdps(30):
        assert float(f.kl.lambdify("mpmath")(mpmath.mpf(1))) == pytest.approx(0.11137, abs=1e-5)
        m = float(f.second_moment.lambdify("mpmath")(mpmath.mpf(1), mpmath.mpf(1)))
    assert m == pytest.approx(0.5251, abs=1e-4)
    assert f.second_moment.lambdify()(1.0, 1.0) == pytest.approx(m, rel=1e-14)


@pytest.mark.parametrize(("P", "variance"), [(1e-4, 1.0), (0.11137, 2.0), (1.0, 0.5)])
def test_matches_gaussian_module(P, variance):
    got = kl_forward_min_second_moment_mp(P, variance)
    assert got == pytest.approx(kl_forward_min_second_moment(P, variance), rel=1e-12)
    gaussian_floor = float(perception_floor("kl_forward").lambdify()(P, variance))
    assert got < gaussian_floor**2  # the Gaussian floor is not optimal for kl_forward


def test_lower_bound_rate():
    """Core formula with s_lo² = m(P) reproduces gaussian.rdp_kl_forward_lower_bound."""
    P, var, D = 0.11137, 1.0, 1.2
    m = kl_forward_min_second_moment_mp(P, var)
    got = rdp_core().lambdify()(D, 1.0, np.sqrt(m))
    assert got == pytest.approx(rdp_kl_forward_lower_bound(D, P, var, unit="nats"), rel=1e-10)


def test_density_and_derivation_steps():
    f = kl_forward_floor()
    x, mu = f.density.symbols
    q = f.density.lambdify("mpmath")
    with mpmath.workdps(20):
        total = mpmath.quad(lambda v: q(v, mpmath.mpf(2)), [-mpmath.inf, 0, mpmath.inf])
    assert abs(total - 1) < 1e-15
    stationary = f.density.step("stationary q (eta p / (x² + kappa))")
    p, eta, kappa = sp.symbols("p eta kappa", positive=True)
    assert sp.simplify(stationary - eta * p / (kappa + x**2)) == 0
    # the slope is the derivative of the KL curve (finite differences at 25 digits)
    kl, slope = f.kl.lambdify("mpmath"), f.kl_slope.lambdify("mpmath")
    with mpmath.workdps(25):
        h = mpmath.mpf("1e-8")
        fd = (kl(mpmath.mpf(1) + h) - kl(mpmath.mpf(1) - h)) / (2 * h)
        assert abs(fd - slope(mpmath.mpf(1))) < 1e-12


def test_validation():
    with pytest.raises(ValueError, match="P must be > 0"):
        kl_forward_min_second_moment_mp(0.0, 1.0)
    with pytest.raises(ValueError, match="variance"):
        kl_forward_min_second_moment_mp(0.1, -1.0)
    with pytest.raises(ValueError, match="scalars"):
        kl_forward_min_second_moment_mp([0.1, 0.2], 1.0)
