"""Property tests of the scalar Gaussian R(D, P) (THEORY.md §1), driven by rdptheory.testing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rdptheory.gaussian import (
    drp,
    kl_forward_min_second_moment,
    min_reconstruction_std,
    rate_distortion,
    rdp_kl_forward_lower_bound,
    test_channel,
)
from rdptheory.testing import (
    OperatingPoint,
    perceptions,
    rates,
    scalar_operating_points,
    variances,
)
from rdptheory.testing import gaussian_channel_rdp as rdp  # the closed form of THEORY.md §1

MEASURES = ("w2sq", "kl_forward", "kl_reverse")
TOL = 1e-12  # relative tolerance of closed-form identities


def _rdp(pt: OperatingPoint, D=None, P=None, **kw):
    return rdp(pt.D if D is None else D, pt.P if P is None else P, pt.variance,
               perception=pt.perception, **kw)


def _perception_of_std(s2: float, s_hat2: float, measure: str) -> float:
    """Perception between N(0, s2) and N(0, s_hat2), straight from the definitions."""
    if measure == "w2sq":
        return (math.sqrt(s2) - math.sqrt(s_hat2)) ** 2
    ratio = s_hat2 / s2 if measure == "kl_reverse" else s2 / s_hat2
    return 0.5 * (ratio - 1.0 - math.log(ratio))


@given(scalar_operating_points())
def test_rate_nonnegative_and_finite(pt):
    r = _rdp(pt)
    assert 0.0 <= r < math.inf
    assert (r == 0.0) == (pt.regime == "zero_rate")


@given(scalar_operating_points(), st.floats(1e-6, 3.0))
def test_nonincreasing_in_distortion(pt, k):
    assert _rdp(pt, D=pt.D * (1 + k)) <= _rdp(pt) * (1 + TOL)


@given(scalar_operating_points(), st.floats(1e-6, 3.0))
def test_nonincreasing_in_perception(pt, k):
    P2 = pt.P * (1 + k) if pt.P > 0 else k
    assert _rdp(pt, P=P2) <= _rdp(pt) * (1 + TOL)


@given(scalar_operating_points(), st.floats(0.05, 0.95), st.floats(1e-3, 1.0))
def test_convex_in_distortion(pt, w, k):
    D1, D2 = pt.D, pt.D * (1 + 2 * k)
    mid = _rdp(pt, D=w * D1 + (1 - w) * D2)
    chord = w * _rdp(pt, D=D1) + (1 - w) * _rdp(pt, D=D2)
    assert mid <= chord + TOL * (1 + abs(chord))


@given(scalar_operating_points(regime="perception_inactive"))
def test_inactive_perception_gives_rate_distortion(pt):
    assert _rdp(pt) == pytest.approx(rate_distortion(pt.D, pt.variance), rel=TOL)


@given(scalar_operating_points(regime="both_active"))
def test_active_perception_costs_rate(pt):
    assert _rdp(pt) > rate_distortion(pt.D, pt.variance)


@given(scalar_operating_points(regime="perfect_perception"), st.sampled_from(MEASURES))
def test_perfect_perception_formula_for_all_measures(pt, measure):
    # -½ log(1 - (1 - D/2s²)²), with 1 - x² = (1 - x)(1 + x) to avoid cancellation
    y = pt.D / (2.0 * pt.variance)
    expected = -0.5 * math.log(y * (2.0 - y))
    got = rdp(pt.D, 0.0, pt.variance, perception=measure, unit="nats")
    assert got == pytest.approx(expected, rel=TOL)


@given(scalar_operating_points(), st.floats(1e-3, 1e3))
def test_scale_invariance(pt, k):
    # R depends on (D/s², P/s²) for w2sq and on (D/s², P) for the KL measures.
    P2 = pt.P * k if pt.perception == "w2sq" else pt.P
    r2 = rdp(pt.D * k, P2, pt.variance * k, perception=pt.perception)
    assert r2 == pytest.approx(_rdp(pt), rel=1e-10, abs=1e-13)


@given(scalar_operating_points(), st.sampled_from(["bits", "nats"]))
def test_drp_inverts_rdp(pt, unit):
    assume(pt.regime != "zero_rate")
    r = _rdp(pt, unit=unit)
    d = drp(r, pt.P, pt.variance, perception=pt.perception, unit=unit)
    # dD/dR is finite away from R = 0; the strategy keeps R away from 0 except near the
    # zero-rate boundary, where the relative error grows like eps / R.
    assert d == pytest.approx(pt.D, rel=1e-9 + 1e-15 / r)


@given(rates(), st.floats(0.0, 3.0), variances(), perceptions())
def test_rdp_inverts_drp(r_bits, P, var, measure):
    assume(r_bits > 1e-3)
    d = drp(r_bits, P, var, perception=measure)
    assert rdp(d, P, var, perception=measure) == pytest.approx(r_bits, rel=1e-10)


@given(scalar_operating_points())
def test_test_channel_realises_its_point(pt):
    ch = test_channel(pt.D, pt.P, pt.variance, perception=pt.perception)
    assert ch.regime == pt.regime
    s2 = pt.variance
    if pt.regime == "zero_rate":
        assert ch.gain == 0.0 and ch.noise_var == math.inf and ch.rate_nats == 0.0
        s_hat2 = ch.recon_std**2
        assert s2 + s_hat2 <= pt.D * (1 + TOL)
    else:
        a, t2 = ch.gain, ch.noise_var
        s_hat2 = a * a * (s2 + t2)  # Var(a(X + tN))
        distortion = s2 - 2 * a * s2 + s_hat2  # E(X - a(X + tN))²
        assert distortion == pytest.approx(pt.D, rel=1e-10)
        assert ch.mse == pytest.approx(pt.D, rel=1e-11)
        assert 0.5 * math.log1p(s2 / t2) == pytest.approx(_rdp(pt, unit="nats"), rel=1e-10)
    perception = _perception_of_std(s2, s_hat2, pt.perception)
    # rounding of ŝ² = a²(s² + t²) alone gives perception ~ eps² (w2sq: eps²·s²)
    assert perception <= pt.P * (1 + 1e-9) + 1e-24 * max(s2, 1.0)
    if pt.regime in ("both_active", "perfect_perception"):
        assert perception == pytest.approx(pt.P, rel=1e-8, abs=1e-13 * s2)
    assert ch.rate_bits == pytest.approx(_rdp(pt), rel=1e-11, abs=1e-15)


@given(variances(), st.floats(0.01, 0.99), perceptions(), st.sampled_from([1e-9, 1e-6, 1e-3]))
def test_continuity_at_regime_boundaries(var, r, measure, eps):
    s_lo = r * math.sqrt(var)
    P = float(
        {"w2sq": (math.sqrt(var) - s_lo) ** 2,
         "kl_reverse": 0.5 * (r * r - 1 - math.log(r * r)),
         "kl_forward": 0.5 * (1 / (r * r) - 1 + math.log(r * r))}[measure]
    )
    lo2 = min_reconstruction_std(P, var, perception=measure) ** 2
    for boundary in (var - lo2, var + lo2):  # inactive|both, both|zero-rate
        below = rdp(boundary * (1 - eps), P, var, perception=measure, unit="nats")
        above = rdp(boundary * (1 + eps), P, var, perception=measure, unit="nats")
        # |dR/dD| <= 1/(2 D_min) on the segment; at the zero-rate edge R ~ (ΔD)² is smaller.
        assert 0.0 <= below - above <= 2 * eps * boundary / (boundary * (1 - eps)) + 1e-12


@given(scalar_operating_points(perception="kl_forward"))
def test_kl_forward_lower_bound_below_upper_bound(pt):
    lower = rdp_kl_forward_lower_bound(pt.D, pt.P, pt.variance)
    assert 0.0 <= lower <= _rdp(pt) * (1 + TOL)
    floor2 = min_reconstruction_std(pt.P, pt.variance, perception="kl_forward") ** 2
    assert kl_forward_min_second_moment(pt.P, pt.variance) <= floor2 * (1 + 4e-16)


@given(st.floats(1e-4, 20.0))
def test_kl_forward_min_second_moment_is_strictly_smaller(P):
    gauss = min_reconstruction_std(P, 1.0, perception="kl_forward") ** 2
    assert kl_forward_min_second_moment(P, 1.0) < gauss


@given(st.floats(0.0, 10.0), st.floats(1e-6, 1.0), perceptions())
def test_floor_monotone_in_perception(P, k, measure):
    a = min_reconstruction_std(P, 1.0, perception=measure)
    b = min_reconstruction_std(P + k, 1.0, perception=measure)
    assert 0.0 <= b < a <= 1.0 or (measure == "w2sq" and a == b == 0.0)


def test_vectorised_equals_elementwise():
    D = np.array([0.1, 0.5, 1.2, 1.9, 2.5])
    P = np.array([0.0, 0.01, 0.2, 1.0, 5.0])[:, None]
    for measure in MEASURES:
        grid = rdp(D, P, 1.3, perception=measure)
        loop = [[rdp(d, p, 1.3, perception=measure) for d in D] for p in P[:, 0]]
        np.testing.assert_array_equal(grid, np.array(loop))


@given(scalar_operating_points())
def test_no_gaussian_reconstruction_beats_the_formula(pt):
    # Brute force over zero-mean Gaussian reconstructions N(0, ŝ²), ŝ on a fine grid (both
    # sides of s, perception evaluated from its definition): for each ŝ the best correlation
    # is c = max(0, (s² + ŝ² - D)/(2sŝ)) and the rate -½ log(1 - c²).  The formula must be
    # <= every feasible grid point and within grid resolution of the best one.
    s2, s = pt.variance, math.sqrt(pt.variance)
    s_hat = s * np.linspace(1e-4, 3.0, 30001)
    ratio = s_hat**2 / s2
    perception = {
        "w2sq": (s - s_hat) ** 2,
        "kl_reverse": 0.5 * (ratio - 1 - np.log(ratio)),
        "kl_forward": 0.5 * (1 / ratio - 1 + np.log(ratio)),
    }[pt.perception]
    c = np.maximum(0.0, (s2 + s_hat**2 - pt.D) / (2 * s * s_hat))
    feasible = (perception <= pt.P) & (c < 1.0)
    formula = _rdp(pt, unit="nats")
    if not feasible.any():  # only the floor itself is feasible (P = 0): nothing to compare
        assert pt.P == 0.0
        return
    grid = -0.5 * np.log1p(-c[feasible] ** 2)
    assert grid.min() >= formula * (1 - 1e-12) - 1e-15
    assert grid.min() <= formula + 2e-3 * (1 + formula)
