"""rdptheory.solver.rdp_discrete: closed forms, certificates, validation.

Independent truths: R(D) = h(p) − h(D) for the binary source with Hamming distortion
(Cover & Thomas Thm 10.3.1), the [BM19] three-regime closed form for the binary source with
TV perception (:func:`rdptheory.solver.bernoulli_tv_rdp`, re-derived in its docstring), and
½ log(s²/D) / the THEORY.md §1 closed forms for the Gaussian.  Every solve asserts its
certificate (gap ≤ requested tol).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rdptheory.gaussian import rdp
from rdptheory.solver import (
    bernoulli_tv_rdp,
    channel_metrics,
    dual_bound,
    gaussian_grid,
    rdp_discrete,
    rdp_gaussian_grid,
)

HAMMING = [[0.0, 1.0], [1.0, 0.0]]


def h(t: float) -> float:
    """Binary entropy in nats."""
    return 0.0 if t in (0.0, 1.0) else -t * math.log(t) - (1 - t) * math.log(1 - t)


@pytest.mark.parametrize("D", [0.02, 0.1, 0.25])
def test_binary_rate_distortion_closed_form(D):
    tol = 1e-9
    sol = rdp_discrete([0.7, 0.3], HAMMING, D, tol=tol)
    truth = h(0.3) - h(D)
    assert sol.certified and 0 <= sol.gap_nats <= tol
    assert sol.rate_nats == pytest.approx(truth, abs=1e-9)
    assert sol.lower_bound_nats <= truth + 1e-12
    assert sol.distortion <= D + 1e-12  # FEAS_TOL: rounding slack
    assert np.allclose(sol.channel.sum(axis=1), 1.0, atol=1e-14)


@pytest.mark.parametrize(
    "D, P, regime",
    [(0.05, 0.1, "inactive"), (0.2, 0.02, "both"), (0.3, 0.1, "both"), (0.1, 0.0, "both"),
     (0.4, 0.1, "zero"), (0.15, 0.35, "P>=p")],
)
def test_binary_tv_against_bm19(D, P, regime):
    p, tol = 0.3, 1e-8
    truth = bernoulli_tv_rdp(p, D, P)
    assert (truth == 0.0) == (regime == "zero")
    sol = rdp_discrete([1 - p, p], HAMMING, D, P, perception="tv", tol=tol)
    assert sol.certified, sol.gap_nats
    assert sol.lower_bound_nats - 1e-12 <= truth <= sol.rate_nats + 1e-11
    assert sol.rate_nats == pytest.approx(truth, abs=tol)
    assert sol.perception_value <= P + 2e-12 and sol.distortion <= D + 2e-12  # FEAS_TOL slack


def test_binary_tv_closed_form_regimes_meet():
    """The three pieces of the closed form join continuously (no transcription slip)."""
    p, P = 0.3, 0.05
    d1 = P / (1 - 2 * (p - P))
    d3 = 2 * p * (1 - p) - (1 - 2 * p) * P
    for d in (d1, d3):
        assert bernoulli_tv_rdp(p, d - 1e-9, P) == pytest.approx(
            bernoulli_tv_rdp(p, d + 1e-9, P), abs=1e-7)


def test_gaussian_rate_distortion_on_grid():
    """No perception: the grid answer is ½ log(s²/D) (measured error ~1e-11 at n = 61)."""
    sol = rdp_gaussian_grid(0.5, math.inf, 2.0, perception="none", n=61, tol=1e-7)
    assert sol.certified
    assert sol.rate_nats == pytest.approx(0.5 * math.log(2.0 / 0.5), abs=1e-8)


def test_gaussian_kl_reverse_on_grid():
    """kl_reverse: jointly Gaussian channels are optimal (THEORY.md §1); grid error ~1e-10."""
    sol = rdp_gaussian_grid(0.8, 0.1, 1.0, perception="kl_reverse", n=61, tol=1e-7)
    assert sol.certified
    ref = rdp(0.8, 0.1, 1.0, perception="kl_reverse", unit="nats")
    assert sol.rate_nats == pytest.approx(ref, abs=1e-7)


def test_gaussian_w2sq_on_grid():
    """w2sq against [ZQCK21] Thm 2.  The discrete W₂² carries an O(h²) staircase error:
    measured +2.3e-3 at n = 81 and +5.6e-4 at n = 161 (h = 0.2, 0.1) at D = 0.8, P = 0.05."""
    ref = rdp(0.8, 0.05, 1.0, perception="w2sq", unit="nats")
    sol = rdp_gaussian_grid(0.8, 0.05, 1.0, perception="w2sq", n=81, tol=1e-6)
    assert sol.certified
    assert 0.0 < sol.rate_nats - ref < 4e-3


@pytest.mark.slow
def test_gaussian_w2sq_second_order_convergence():
    ref = rdp(0.8, 0.05, 1.0, perception="w2sq", unit="nats")
    errs = [rdp_gaussian_grid(0.8, 0.05, 1.0, perception="w2sq", n=n, tol=1e-7).rate_nats - ref
            for n in (81, 161)]
    assert 3.0 < errs[0] / errs[1] < 5.0  # h halves: second order


def test_w1_and_points():
    """W₁ on the line: a 3-letter source; the certificate holds and P = ∞ gives R(D)."""
    x = np.array([-1.0, 0.0, 1.0])
    p = np.array([0.25, 0.5, 0.25])
    d = (x[:, None] - x[None, :]) ** 2
    free = rdp_discrete(p, d, 0.3, tol=1e-8)
    tight = rdp_discrete(p, d, 0.3, 0.01, perception="w1", source_points=x,
                         reconstruction_points=x, tol=1e-7)
    assert free.certified and tight.certified
    assert tight.rate_nats >= free.rate_nats - 1e-9  # a constraint can only raise R
    assert tight.perception_value <= 0.01 + 1e-12


def test_certificate_detects_suboptimal_and_wrong_multipliers():
    p, D = np.array([0.7, 0.3]), 0.1
    sol = rdp_discrete(p, HAMMING, D, tol=1e-9)
    # a feasible but suboptimal channel (mixed with the identity) has a much larger gap
    worse = 0.8 * sol.channel + 0.2 * np.eye(2)
    rate, dist = channel_metrics(p, worse, HAMMING)
    assert dist <= D and rate - sol.lower_bound_nats > 1e-3
    # the dual bound at perturbed multipliers is lower (so the gap it certifies is larger)
    x = np.log(sol.channel @ np.ones(2))  # any u: the bound holds for all
    good = dual_bound(p, HAMMING, D, math.inf, -np.log(np.exp(-sol.beta * np.array(HAMMING))
                                                        @ (p @ sol.channel)), sol.beta, 0.0)
    bad = dual_bound(p, HAMMING, D, math.inf, x, 0.5 * sol.beta, 0.0)
    assert good == pytest.approx(sol.lower_bound_nats, abs=1e-9)
    assert bad < good - 1e-3
    truth = h(0.3) - h(D)
    for lb in (good, bad):
        assert lb <= truth + 1e-12  # weak duality, whatever the multipliers


def test_returned_channel_is_feasible_when_perception_binds():
    """KL(p‖q) binds here (the R(D) channel has KL ≈ 0.0096 > P); the returned channel meets
    both constraints up to the documented 1e-12 rounding slack, and the bound is certified."""
    free = rdp_discrete([0.6, 0.4], HAMMING, 0.2, tol=1e-9)
    sol = rdp_discrete([0.6, 0.4], HAMMING, 0.2, 0.005, perception="kl_forward", tol=1e-8)
    assert sol.certified and sol.nu > 0
    assert sol.distortion <= 0.2 + 2e-12 and sol.perception_value <= 0.005 + 2e-12
    assert sol.rate_nats > free.rate_nats + 1e-4  # the constraint costs rate


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: rdp_discrete([0.5, 0.6], HAMMING, 0.1), ValueError, "probability vector"),
        (lambda: rdp_discrete([0.5, 0.5], [[0, 1]], 0.1), ValueError, "shape"),
        (lambda: rdp_discrete([0.5, 0.5], HAMMING, -0.1), ValueError, "D must be >= 0"),
        (lambda: rdp_discrete([0.5, 0.5], [[1, 1], [1, 1]], 0.5), ValueError, "below"),
        (lambda: rdp_discrete([0.5, 0.5], HAMMING, 0.1, 0.1, perception="w3"), ValueError,
         "perception"),
        (lambda: rdp_discrete([0.5, 0.5], HAMMING, 0.1, 0.1, perception="w1"), ValueError,
         "source_points"),
        (lambda: rdp_discrete([0.5, 0.5], [[0, 1, 1], [1, 0, 1]], 0.1, 0.1, perception="tv"),
         ValueError, "square"),
        (lambda: rdp_discrete([0.5, 0.5], HAMMING, True), TypeError, "D"),
        (lambda: rdp_discrete([0.5, 0.5], HAMMING, "0.1"), TypeError, "D"),
        (lambda: rdp_discrete([0.5, 0.5], HAMMING, 0.1, tol=0.0), ValueError, "tol"),
        (lambda: rdp_discrete([1.0, 0.0], HAMMING, 0.1), ValueError, "p must be > 0"),
        (lambda: rdp_discrete([0.5, 0.5], [[0, -1], [1, 0]], 0.1), ValueError, ">= 0"),
        (lambda: gaussian_grid(1.0, 2), ValueError, "n must be >= 3"),
        (lambda: gaussian_grid(-1.0, 5), ValueError, "variance"),
    ],
)
def test_validation(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bernoulli_closed_form_symmetry_and_validation():
    """p and 1 − p give the same R (relabel 0 ↔ 1); the regimes above are checked at p = 0.3."""
    for p in (0.1, 0.3, 0.5):
        for D in np.linspace(0.01, 0.6, 25):
            for P in (0.0, 0.02, 0.1, 0.6):
                assert bernoulli_tv_rdp(1 - p, D, P) == pytest.approx(bernoulli_tv_rdp(p, D, P),
                                                                      abs=1e-15)
    with pytest.raises(ValueError, match="p must be"):
        bernoulli_tv_rdp(1.5, 0.1, 0.1)


def test_grid_stretch_keeps_the_variance():
    x, p = gaussian_grid(2.0, 121, 7.0, stretch=2.5)
    assert abs(float(p @ x**2) - 2.0) < 1e-9 and abs(float(p @ x)) < 1e-15
    with pytest.raises(ValueError, match="stretch"):
        gaussian_grid(1.0, 11, 7.0, stretch=-1.0)
