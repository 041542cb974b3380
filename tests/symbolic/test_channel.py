"""Forward test channel derived with sympy (rdptheory.symbolic.channel) vs rdptheory.gaussian."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdptheory.gaussian import test_channel
from rdptheory.symbolic import test_channel_scalar as channel_scalar
from rdptheory.testing import PERCEPTIONS, scalar_operating_points

POSITIVE_RATE = st.sampled_from(["perception_inactive", "both_active", "perfect_perception"])


@settings(max_examples=30)  # three cold derivations dominate; 30 points cover the regimes
@given(point=POSITIVE_RATE.flatmap(lambda r: scalar_operating_points(regime=r)))
def test_matches_gaussian_test_channel(point):
    ch = channel_scalar(point.perception)
    args = (point.D, point.P, point.variance)
    ref = test_channel(point.D, point.P, point.variance, perception=point.perception)
    assert ch.gain.lambdify()(*args) == pytest.approx(ref.gain, rel=1e-12)
    # noise_var -> inf at the zero-rate boundary, where it is ill-conditioned (a point 2e-6
    # from the boundary leaves ~1e-10 relative accuracy in float64 for both sides); compare the
    # well-conditioned squared correlation s^2 / (s^2 + t^2) of the forward channel instead.
    t2_sym = ch.noise_var.lambdify()(*args)
    snr = point.variance / (point.variance + t2_sym)
    assert snr == pytest.approx(point.variance / (point.variance + ref.noise_var), rel=1e-9)


@pytest.mark.parametrize("perception", PERCEPTIONS)
def test_channel_meets_distortion(perception):
    ch = channel_scalar(perception)
    assert [s.label for s in ch.gain.steps] == ["MSE = D (inactive)", "MSE = D (both active)"]
    rng = np.random.default_rng(8)
    s = np.sqrt(np.exp(rng.uniform(-2, 2, 100)))
    D, P = s**2 * rng.uniform(0.05, 0.95, 100), s**2 * rng.uniform(0.0, 0.5, 100)
    a, t2 = ch.gain.lambdify()(D, P, s**2), ch.noise_var.lambdify()(D, P, s**2)
    np.testing.assert_allclose(s**2 * (1 - a) ** 2 + a**2 * t2, D, rtol=1e-11)
