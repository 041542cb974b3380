"""rdptheory.rcc.truncation: the information density's spread and the padding derived from it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rdptheory.rcc._select import log_weight_bound
from rdptheory.rcc.truncation import (
    expected_information_variance_nats,
    information_variance_nats,
    spread_bits,
    spread_padding,
)


def _log_ratio(z, mu_q, sigma_q, mu_p, sigma_p):
    """log q(z)/p(z) of two 1-D Gaussians (nats)."""
    return (-(z - mu_q) ** 2 / (2 * sigma_q**2) + (z - mu_p) ** 2 / (2 * sigma_p**2)
            + math.log(sigma_p / sigma_q))  # fmt: skip


def _hermite(f, mean, var, nodes=8):
    """E f(M), M ~ N(mean, var), by Gauss-Hermite quadrature (exact for polynomials of
    degree < 2 nodes)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return float(np.sum(w * f(mean + math.sqrt(var) * x)) / math.sqrt(2 * math.pi))


@pytest.mark.parametrize("mu_q,sigma_q,mu_p,sigma_p", [
    (0.7, 0.5, 0.0, 1.2), (-2.0, 1.0, 0.5, 1.0), (0.3, 2.0, 0.0, 0.7), (1.5, 0.05, 1.4, 0.3),
])  # fmt: skip
def test_variance_is_the_variance_of_the_log_ratio(mu_q, sigma_q, mu_p, sigma_p):
    """Closed form against Gauss-Hermite moments of the quadratic log-ratio (exact, 1e-10)."""
    def moment(k):
        return _hermite(lambda z: _log_ratio(z, mu_q, sigma_q, mu_p, sigma_p) ** k,
                        mu_q, sigma_q**2, nodes=12)  # fmt: skip

    var = moment(2) - moment(1) ** 2
    got = float(information_variance_nats(mu_q, sigma_q, mu_p, sigma_p))
    assert got == pytest.approx(var, rel=1e-9, abs=1e-12)


def test_variance_monte_carlo():
    """And against 400k draws (fixed seed; 5 standard errors of a sample variance)."""
    mu_q, sigma_q, mu_p, sigma_p = 0.9, 0.6, -0.2, 1.1
    z = mu_q + sigma_q * np.random.default_rng(3).standard_normal(400_000)
    v = np.var(_log_ratio(z, mu_q, sigma_q, mu_p, sigma_p))
    got = float(information_variance_nats(mu_q, sigma_q, mu_p, sigma_p))
    assert abs(v - got) < 5 * got * math.sqrt(2 / z.size) * 2


@pytest.mark.parametrize("sigma_q,sigma_p", [(0.5, 1.2), (1 / math.sqrt(3), 2 / math.sqrt(3)),
                                             (0.3, 0.31), (1.0, 1.0)])
def test_expected_variance_averages_over_the_target_mean(sigma_q, sigma_p):
    """E over mu_q ~ N(mu_p, sigma_p^2 - sigma_q^2) of the exact variance (quadrature, 1e-12)."""
    gap = sigma_p**2 - sigma_q**2
    mean = _hermite(lambda m: information_variance_nats(m, sigma_q, 0.4, sigma_p), 0.4, gap)
    got = float(expected_information_variance_nats(sigma_q, sigma_p))
    assert got == pytest.approx(mean, rel=1e-12, abs=1e-14)


def test_one_shot_closed_form():
    """White source at 1 bit/dim: t^2 = 1/3, v = 2 (3/8)^2 + (3/4)(1/4) = 15/32 nats^2."""
    v = expected_information_variance_nats(math.sqrt(1 / 3), math.sqrt(4 / 3))
    assert float(v) == pytest.approx(15 / 32, rel=1e-14)
    # a 13-bit chunk of coordinates of 1 bit each: sqrt(13 v) nats
    assert spread_bits(math.sqrt(1 / 3), math.sqrt(4 / 3), 13) == pytest.approx(
        math.sqrt(13 * 15 / 32) / math.log(2), rel=1e-12)


def test_bound_minus_kl_is_half_a_nat_on_average():
    """The docstring's claim: E[sup log q/p - KL] = 1/2 nat per coordinate (quadrature)."""
    for sigma_q, sigma_p in [(0.5, 1.2), (0.3, 0.31), (0.9, 3.0)]:
        def gap(m, sq=sigma_q, sp=sigma_p):
            bound = log_weight_bound(m, sq, 0.0, sp)
            kl = math.log(sp / sq) + (sq**2 + m**2) / (2 * sp**2) - 0.5
            return bound - kl

        assert _hermite(gap, 0.0, sigma_p**2 - sigma_q**2) == pytest.approx(0.5, rel=1e-12)


def test_spread_bits_weighs_coordinates_by_their_kl():
    """Mixing coordinates: the pooled variance per nat of KL, and zero-KL coordinates are inert."""
    sq = np.array([0.5, 0.8, 1.0])
    sp = np.array([1.0, 1.0, 1.0])
    v = expected_information_variance_nats(sq, sp)
    kl = np.log(sp / sq)
    want = math.sqrt(10 * math.log(2) * v.sum() / kl.sum()) / math.log(2)
    assert spread_bits(sq, sp, 10) == pytest.approx(want, rel=1e-12)
    assert spread_bits(sq[:2], sp[:2], 10) == pytest.approx(want, rel=1e-12)
    assert spread_bits(1.0, 1.0, 10) == 0.0


@pytest.mark.parametrize("rate,want", [(0.5, 6), (1.0, 6), (2.0, 4), (4.0, 3)])
def test_spread_padding_of_the_one_shot_codec(rate, want):
    """ceil(1.5 sigma_B) clipped to [2, 6] at B = 13 (sigma_B = 4.50, 3.56, 2.60, 1.84 bits)."""
    t2 = 1.0 / (2.0 ** (2 * rate) - 1.0)
    assert spread_padding(math.sqrt(t2), math.sqrt(1 + t2), 13.0) == want


def test_spread_padding_bounds():
    assert spread_padding(1.0, 1.0, 13.0) == 2  # no KL: the floor
    assert spread_padding(0.5, 1.0, 13.0, multiple=0.1, low=0) == 1
    assert spread_padding(0.5, 1.0, 13.0, multiple=10.0, high=5) == 5


@pytest.mark.parametrize("call", [
    lambda: expected_information_variance_nats(2.0, 1.0),
    lambda: expected_information_variance_nats(-1.0, 1.0),
    lambda: information_variance_nats(0.0, 0.0, 0.0, 1.0),
    lambda: spread_bits(0.5, 1.0, 0.0),
    lambda: spread_padding(0.5, 1.0, 13.0, multiple=0.0),
    lambda: spread_padding(0.5, 1.0, 13.0, low=5, high=4),
    lambda: spread_padding(0.5, 1.0, 13.0, high=7),
])  # fmt: skip
def test_invalid_inputs(call):
    with pytest.raises(ValueError):
        call()
