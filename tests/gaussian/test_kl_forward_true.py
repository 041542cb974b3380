"""The true forward-KL Gaussian R(D, P): rdp(..., perception="kl_forward") (solver table).

Independent truths: the rigorous lower bound and the Gaussian-channel upper bound (closed
forms, THEORY.md §1), the exact regions where they meet, and direct certified solves of the
discretised source (rdptheory.solver) at points off the table's nodes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rdptheory import gaussian
from rdptheory.solver.tabulate import kl_forward_rdp_point

#: Measured by ``python -m rdptheory.solver.tabulate --check`` (table vs direct solve at
#: points off the nodes; discretisation error of the n = 121 grid included).
TABLE_ACCURACY_NATS = 1e-5

ISSUE_POINTS = [((1.0, 0.5), 0.0414), ((0.9, 0.5), 0.0739), ((1.1, 0.5), 0.0190),
                ((1.0, 2.0), 0.0184)]


def _nats(f, D, P, var=1.0):
    if f is gaussian.rdp:
        return gaussian.rdp(D, P, var, perception="kl_forward", unit="nats")
    return f(D, P, var, unit="nats")


@pytest.mark.parametrize("point, gaussian_channel", ISSUE_POINTS)
def test_issue_points_certified(point, gaussian_channel):
    D, P = point
    upper = _nats(gaussian.rdp_kl_forward_upper_bound, D, P)
    lower = _nats(gaussian.rdp_kl_forward_lower_bound, D, P)
    value = _nats(gaussian.rdp, D, P)
    assert upper == pytest.approx(gaussian_channel, abs=5e-5)  # the issue's numbers
    assert lower <= value <= upper
    sol = kl_forward_rdp_point(D, P)
    assert sol.gap_nats <= 1e-7  # certified: channel rate − dual bound
    assert value == pytest.approx(sol.rate_nats, abs=TABLE_ACCURACY_NATS)
    assert 0.13 < upper / sol.rate_nats - 1 < 2.7  # "14% to 260% above the value"


def test_exact_where_the_bounds_meet():
    P = np.array([0.05, 0.5, 2.0])
    s_g2 = gaussian.min_reconstruction_std(P, 1.0, perception="kl_forward") ** 2
    m = gaussian.kl_forward_min_second_moment(P, 1.0)
    for k in range(3):
        below = (1.0 - s_g2[k]) * np.array([0.3, 0.9, 0.999])
        np.testing.assert_allclose(
            gaussian.rdp(below, P[k], 1.0, perception="kl_forward", unit="nats"),
            gaussian.rate_distortion(below, 1.0, unit="nats"), rtol=1e-14)
        above = (1.0 + m[k]) * np.array([1.0, 1.001, 1.5])
        assert np.all(gaussian.rdp(above, P[k], 1.0, perception="kl_forward") == 0.0)


def test_between_the_bounds_everywhere():
    rng = np.random.default_rng(13)
    D = rng.uniform(0.2, 2.0, 400)
    P = rng.choice(np.exp(rng.uniform(math.log(1e-3), math.log(5.0), 40)), 400)
    value = gaussian.rdp(D, P, 1.0, perception="kl_forward", unit="nats")
    # rounding only: the lower bound is evaluated by a second implementation of the core formula
    lower = gaussian.rdp_kl_forward_lower_bound(D, P, 1.0, unit="nats")
    upper = gaussian.rdp_kl_forward_upper_bound(D, P, 1.0, unit="nats")
    assert np.all(value >= lower * (1 - 1e-13))
    assert np.all(value <= upper * (1 + 1e-13))


def test_many_distinct_budgets_use_the_m_spline():
    """> 64 distinct P: min E_q X² from a spline (median 1e-9, max 1e-5 relative)."""
    rng = np.random.default_rng(5)
    D = rng.uniform(0.2, 2.0, 300)
    P = np.exp(rng.uniform(math.log(1e-3), math.log(4.0), 300))
    fast = gaussian.rdp(D, P, 1.0, perception="kl_forward", unit="nats")
    exact = np.array([gaussian.rdp(d, p, 1.0, perception="kl_forward", unit="nats")
                      for d, p in zip(D[:40], P[:40])])
    np.testing.assert_allclose(fast[:40], exact, rtol=1e-4, atol=1e-7)


def test_scale_invariance():
    D, P = np.array([0.3, 0.9, 1.05, 1.4]), 0.7
    base = gaussian.rdp(D, P, 1.0, perception="kl_forward")
    for var in (1e-3, 2.5, 1e4):
        np.testing.assert_allclose(gaussian.rdp(D * var, P, var, perception="kl_forward"), base,
                                   rtol=1e-12, atol=1e-15)


def test_nonincreasing_in_distortion():
    for P in (0.02, 0.3, 1.2, 2.2):
        D = np.linspace(0.3, 1.8, 600)
        r = gaussian.rdp(D, P, 1.0, perception="kl_forward", unit="nats")
        assert np.all(np.diff(r) <= 1e-9)


def test_upper_bound_validation():
    with pytest.raises(ValueError, match="P"):
        gaussian.rdp_kl_forward_upper_bound(1.0, -0.1, 1.0)
    with pytest.raises(ValueError, match="variance"):
        gaussian.rdp_kl_forward_upper_bound(1.0, 0.1, 0.0)
    with pytest.raises(TypeError):
        gaussian.rdp_kl_forward_upper_bound("1.0", 0.1, 1.0)
