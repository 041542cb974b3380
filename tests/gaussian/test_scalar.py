"""Scalar Gaussian R(D), R(D, P), D(R, P), floors and test channels (THEORY.md §1).

Exact values and edge cases; the property-based checks live in test_scalar_properties.py and
the mpmath spot checks in test_scalar_mpmath.py.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import rdptheory.gaussian._kl_forward as kl_forward_module
import rdptheory.gaussian._lambert as lambert_module
import rdptheory.gaussian.scalar as scalar_module
from rdptheory import gaussian

MEASURES = ("w2sq", "kl_forward", "kl_reverse")
LN2 = math.log(2.0)


@pytest.mark.parametrize("module", [scalar_module, lambert_module, kl_forward_module])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert module is kl_forward_module or result.attempted > 0


def test_rate_distortion_exact():
    assert gaussian.rate_distortion(0.25, 1.0) == 1.0
    assert gaussian.rate_distortion(0.5, 2.0, unit="nats") == pytest.approx(0.5 * math.log(4.0),
                                                                            rel=1e-15)
    assert gaussian.rate_distortion(3.0, 2.0) == 0.0
    assert gaussian.rate_distortion(np.inf, 2.0) == 0.0


@pytest.mark.parametrize("measure", MEASURES)
def test_p_zero_formula(measure):
    D = np.array([0.01, 0.3, 1.0, 1.7, 1.999, 2.0, 3.0])
    s2 = 1.0
    expected = np.where(D < 2 * s2, -0.5 * np.log1p(-((1 - D / (2 * s2)) ** 2)), 0.0)
    np.testing.assert_allclose(gaussian.rdp(D, 0.0, s2, perception=measure, unit="nats"), expected,
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("measure", MEASURES)
def test_inactive_equals_rd(measure):
    D = np.linspace(0.05, 1.65, 19)
    # same expression in both: bit-identical
    np.testing.assert_array_equal(gaussian.rdp(D, np.inf, 1.7, perception=measure),
                                  gaussian.rate_distortion(D, 1.7))


def test_w2sq_matches_zqck21_theorem2():
    # [ZQCK21] Thm 2, w2sq: both constraints active when sqrt(P) <= s - sqrt(|s² - D|).
    s, P, D = 1.0, 0.04, 0.8
    expected = 0.5 * math.log(
        s**2 * (s - math.sqrt(P)) ** 2
        / (s**2 * (s - math.sqrt(P)) ** 2 - ((s**2 + (s - math.sqrt(P)) ** 2 - D) / 2) ** 2)
    )
    assert gaussian.rdp(D, P, s**2, unit="nats") == pytest.approx(expected, rel=1e-13)


def test_floor_values():
    assert gaussian.min_reconstruction_std(0.25, 1.0) == 0.5
    assert gaussian.min_reconstruction_std(4.0, 1.0) == 0.0
    assert gaussian.min_reconstruction_std(0.0, 4.0, perception="kl_reverse") == 2.0
    assert gaussian.min_reconstruction_std(0.0, 4.0, perception="kl_forward") == 2.0
    for measure in ("kl_forward", "kl_reverse"):
        assert gaussian.min_reconstruction_std(np.inf, 1.0, perception=measure) == 0.0
    # e^u - 1 - u = 2P at the floor (u = log(s_lo²/s²) for kl_reverse, -that for kl_forward).
    for P in (1e-9, 0.3, 7.0):
        u = 2 * math.log(gaussian.min_reconstruction_std(P, 1.0, perception="kl_reverse"))
        assert math.expm1(u) - u == pytest.approx(2 * P, rel=1e-9)
        u = -2 * math.log(gaussian.min_reconstruction_std(P, 1.0, perception="kl_forward"))
        assert math.expm1(u) - u == pytest.approx(2 * P, rel=1e-9)


def test_kl_forward_lower_bound_theory_example():
    # THEORY.md §1: s = 1, P = 0.11137: E_q[X²] = 0.5251 vs Gaussian 0.5484; at D = 1.53 the
    # lower bound is 0 while the Gaussian formula gives about 1e-4 bits.
    assert gaussian.kl_forward_min_second_moment(0.11137, 1.0) == pytest.approx(0.5251, abs=5e-5)
    gauss = gaussian.min_reconstruction_std(0.11137, 1.0, perception="kl_forward") ** 2
    assert gauss == pytest.approx(0.5484, abs=5e-5)
    assert gaussian.rdp_kl_forward_lower_bound(1.53, 0.11137, 1.0) == 0.0
    upper = gaussian.rdp_kl_forward_upper_bound(1.53, 0.11137, 1.0)
    assert 0.9e-4 < upper < 1.3e-4
    # the true value: D = 1.53 >= s² + min E_q X² = 1.5251, so an independent X̂ ~ q* is enough
    assert gaussian.rdp(1.53, 0.11137, 1.0, perception="kl_forward") == 0.0


def test_kl_forward_min_second_moment_scales_with_variance():
    P = np.array([0.01, 0.5, 3.0])
    np.testing.assert_allclose(
        gaussian.kl_forward_min_second_moment(P, 7.5),
        7.5 * gaussian.kl_forward_min_second_moment(P, 1.0),
        rtol=1e-14,
    )


def test_drp_exact():
    # w2sq, P = 0: D = 2 s² (1 - sqrt(1 - 2^{-2R}))
    R = np.array([0.1, 1.0, 3.0])
    np.testing.assert_allclose(gaussian.drp(R, 0.0, 2.0), 4.0 * (1 - np.sqrt(1 - 2.0 ** (-2 * R))),
                               rtol=1e-13)
    assert gaussian.drp(0.0, 0.0, 1.0) == 2.0
    assert gaussian.drp(np.inf, 0.0, 1.0) == 0.0
    assert gaussian.drp(1.0, np.inf, 1.0) == 0.25


def test_test_channel_record():
    ch = gaussian.test_channel(0.4, 0.05, 1.0, perception="kl_reverse")
    assert isinstance(ch, gaussian.TestChannel)
    assert ch.perception == "kl_reverse"
    assert isinstance(ch.gain, float)
    assert ch.rate_bits == pytest.approx(gaussian.rdp(0.4, 0.05, 1.0, perception="kl_reverse"),
                                         rel=1e-13)
    with pytest.raises(AttributeError):
        ch.gain = 1.0  # frozen


def test_test_channel_zero_rate():
    ch = gaussian.test_channel(3.0, 0.1, 1.0)
    assert ch.gain == 0.0 and ch.noise_var == math.inf and ch.rate_nats == 0.0
    assert ch.recon_std == 1.0 and ch.mse == 2.0 and ch.perception_value == 0.0


def test_return_types():
    assert isinstance(gaussian.rdp(0.5, 0.1, 1.0), float)
    assert isinstance(gaussian.rdp(np.float64(0.5), 0.1, 1.0), float)
    out = gaussian.rdp([0.5, 0.6], 0.1, 1.0)
    assert isinstance(out, np.ndarray) and out.shape == (2,)
    out = gaussian.rdp(np.array([[0.5], [0.6]]), np.array([0.0, 0.1, 0.2]), 1.0)
    assert out.shape == (2, 3)
    ch = gaussian.test_channel([0.8, 0.6, 2.5], [0.1, 0.0, 0.1], 1.0)
    assert ch.gain.shape == (3,)
    assert ch.regime.tolist() == ["both_active", "perfect_perception", "zero_rate"]
    assert gaussian.test_channel(0.1, 1.0, 1.0).regime == "perception_inactive"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gaussian.rdp(0.5, 0.1, -1.0), "variance must be > 0"),
        (lambda: gaussian.rdp(0.5, 0.1, np.nan), "variance must not contain NaN"),
        (lambda: gaussian.rdp(0.5, 0.1, np.inf), "variance must be finite"),
        (lambda: gaussian.rdp(0.0, 0.1, 1.0), "D must be > 0"),
        (lambda: gaussian.rdp(-1.0, 0.1, 1.0), "D must be > 0"),
        (lambda: gaussian.rdp(0.5, -0.1, 1.0), "P must be >= 0"),
        (lambda: gaussian.rdp(0.5, 0.1, 1.0, perception="kl"), "perception must be one of"),
        (lambda: gaussian.rdp(0.5, 0.1, 1.0, unit="dits"), "unit must be"),
        (lambda: gaussian.rdp([0.5, 0.6], [0.1, 0.2, 0.3], 1.0), "D, P, variance must broadcast"),
        (lambda: gaussian.drp(-0.1, 0.1, 1.0), "R must be >= 0"),
        (lambda: gaussian.drp(0.1, 0.1, 0.0), "variance must be > 0"),
        (lambda: gaussian.rate_distortion(0.0, 1.0), "D must be > 0"),
        (lambda: gaussian.rate_distortion([0.1, 0.2], [1.0, 2.0, 3.0]),
         "D, variance must broadcast"),
        (lambda: gaussian.min_reconstruction_std(-1.0, 1.0), "P must be >= 0"),
        (lambda: gaussian.min_reconstruction_std(1.0, 1.0, perception="w2"), "perception must be"),
        (lambda: gaussian.test_channel(0.5, np.nan, 1.0), "P must not contain NaN"),
        (lambda: gaussian.rdp_kl_forward_lower_bound(0.5, -1.0, 1.0), "P must be >= 0"),
        (lambda: gaussian.kl_forward_min_second_moment(0.1, -2.0), "variance must be > 0"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_is_type_error():
    with pytest.raises(TypeError, match="D must be a real number"):
        gaussian.rdp("a lot", 0.1, 1.0)


ALPHA = 1e-6  # two-sided false-alarm probability of each Monte-Carlo z-test
Z_CRIT = 4.891638475698591  # scipy.stats.norm.isf(ALPHA / 2)


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("D, P", [(0.3, 0.02), (0.8, 0.05), (0.2, 5.0)])
def test_test_channel_by_sampling(measure, D, P):
    # Simulate X̂ = a (X + t N) with a fixed seed: the empirical MSE and second moment of X̂
    # match D and ŝ² (Gaussian fourth moments: sd of a mean of squares is v·sqrt(2/n)).
    var, n = 1.7, 200_000
    ch = gaussian.test_channel(D, P, var, perception=measure)
    rng = np.random.default_rng(20261124)
    x = rng.standard_normal(n) * math.sqrt(var)
    x_hat = ch.gain * (x + math.sqrt(ch.noise_var) * rng.standard_normal(n))
    for sample, expected in (((x - x_hat) ** 2, D), (x_hat**2, ch.recon_std**2)):
        z = (sample.mean() - expected) / (expected * math.sqrt(2.0 / n))
        assert abs(z) < Z_CRIT


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_extreme_variances_scale_exactly(measure, scale):
    # Computed on a unit-variance source internally: nothing over- or underflows.
    D = np.array([0.1, 0.8, 1.5, 2.5])
    P = 0.01
    P_scaled = P * scale if measure == "w2sq" else P
    np.testing.assert_allclose(
        gaussian.rdp(D * scale, P_scaled, scale, perception=measure),
        gaussian.rdp(D, P, 1.0, perception=measure),
        rtol=1e-14, atol=0,
    )
    np.testing.assert_allclose(
        gaussian.drp(1.0, P_scaled, scale, perception=measure) / scale,
        gaussian.drp(1.0, P, 1.0, perception=measure),
        rtol=1e-14,
    )
    ch = gaussian.test_channel(D * scale, P_scaled, scale, perception=measure)
    ref = gaussian.test_channel(D, P, 1.0, perception=measure)
    np.testing.assert_allclose(ch.gain, ref.gain, rtol=1e-14)
    np.testing.assert_allclose(ch.mse / scale, ref.mse, rtol=1e-14)
    np.testing.assert_allclose(ch.noise_var / scale, ref.noise_var, rtol=1e-14)
