"""High-precision spot checks of the scalar closed forms against mpmath (THEORY.md §1).

The references are evaluated with 50+ significant digits (mpmath's ``lambertw``), from the
same float64 inputs, and compared at rtol 1e-12.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.gaussian import (
    drp,
    kl_forward_min_second_moment,
    min_reconstruction_std,
    test_channel,
)
from rdptheory.testing import gaussian_channel_rdp as rdp  # the closed form of THEORY.md §1
from rdptheory.testing import perceptions, rates, scalar_operating_points, variances

RTOL = 1e-12


def _dps(P: float) -> int:
    """Digits so that the Lambert W argument resolves its distance to -1/e (~2P/e)."""
    return 50 + (int(-math.log10(P)) if 0 < P < 1 else 0)


def mp_floor(P: float, var: float, measure: str) -> mp.mpf:
    """s_lo of THEORY.md §1 with Lambert W at high precision."""
    s = mp.sqrt(mp.mpf(var))
    P = mp.mpf(P)
    if measure == "w2sq":
        return max(s - mp.sqrt(P), mp.mpf(0))
    if P == 0:
        return s
    arg = -mp.exp(-1 - 2 * P)
    if measure == "kl_reverse":
        return s * mp.sqrt(-mp.re(mp.lambertw(arg, 0)))
    return s / mp.sqrt(-mp.re(mp.lambertw(arg, -1)))


def mp_rdp_nats(D: float, P: float, var: float, measure: str) -> mp.mpf:
    with mp.workdps(_dps(P)):
        D, s2 = mp.mpf(D), mp.mpf(var)
        s, lo = mp.sqrt(s2), mp_floor(P, var, measure)
        if D >= s2 + lo**2:
            return mp.mpf(0)
        if lo**2 <= s2 - D:
            return mp.log(s2 / D) / 2
        return mp.log(4 * s2 * lo**2 / ((D - (s - lo) ** 2) * ((s + lo) ** 2 - D))) / 2


def mp_drp(R_bits: float, P: float, var: float, measure: str) -> mp.mpf:
    with mp.workdps(_dps(P)):
        R = mp.mpf(R_bits) * mp.log(2)
        s = mp.sqrt(mp.mpf(var))
        c = mp.sqrt(1 - mp.exp(-2 * R))
        s_hat = max(s * c, mp_floor(P, var, measure))
        return s**2 + s_hat**2 - 2 * c * s * s_hat


@given(scalar_operating_points())
def test_rdp_against_mpmath(pt):
    got = rdp(pt.D, pt.P, pt.variance, perception=pt.perception, unit="nats")
    ref = float(mp_rdp_nats(pt.D, pt.P, pt.variance, pt.perception))
    assert got == pytest.approx(ref, rel=RTOL, abs=1e-15)


@given(rates(), st.floats(0.0, 3.0), variances(), perceptions())
def test_drp_against_mpmath(r_bits, P, var, measure):
    got = drp(r_bits, P, var, perception=measure)
    assert got == pytest.approx(float(mp_drp(r_bits, P, var, measure)), rel=RTOL)


@pytest.mark.parametrize("measure", ["kl_forward", "kl_reverse"])
@pytest.mark.parametrize("P", [1e-300, 1e-100, 1e-30, 1e-16, 1e-12, 1e-8, 1e-4, 0.01, 0.11137,
                               0.5, 1.0, 3.0, 10.0, 50.0, 300.0])
def test_kl_floors_against_lambertw(measure, P):
    with mp.workdps(_dps(P) + 300 * (P < 1e-30)):
        ref = float(mp_floor(P, 2.5, measure))
    assert min_reconstruction_std(P, 2.5, perception=measure) == pytest.approx(ref, rel=RTOL)


@given(scalar_operating_points())
def test_test_channel_against_mpmath(pt):
    ch = test_channel(pt.D, pt.P, pt.variance, perception=pt.perception)
    if ch.rate_nats == 0.0:
        return
    with mp.workdps(_dps(pt.P)):
        R = mp_rdp_nats(pt.D, pt.P, pt.variance, pt.perception)
        one_minus_c2 = mp.exp(-2 * R)
        c = mp.sqrt(1 - one_minus_c2)
        s2 = mp.mpf(pt.variance)
        lo = mp_floor(pt.P, pt.variance, pt.perception)
        s_hat = mp.sqrt(s2 - pt.D) if lo**2 <= s2 - pt.D else lo
        gain = float(c * s_hat / mp.sqrt(s2))
        noise_var = float(s2 * one_minus_c2 / c**2)
    # relative conditioning of c near the zero-rate edge is ~1/c², as for R itself
    rel = RTOL / min(1.0, float(c) ** 2)
    assert ch.gain == pytest.approx(gain, rel=rel)
    assert ch.noise_var == pytest.approx(noise_var, rel=rel)


def _mp_kl_forward_ratio(P: float) -> mp.mpf:
    """min E_q[X²]/s², q ∝ p/(1 + Y²/m): solve KL(m) = P with mpmath quadrature."""
    phi = lambda y: mp.exp(-y * y / 2) / mp.sqrt(2 * mp.pi)

    def kl_and_ratio(m):
        a = 2 * mp.quad(lambda y: phi(y) / (1 + y * y / m), [0, mp.sqrt(m), mp.inf])
        lg = 2 * mp.quad(lambda y: phi(y) * mp.log1p(y * y / m), [0, mp.sqrt(m), mp.inf])
        return lg + mp.log(a), m * (1 - a) / a

    log_m = mp.findroot(lambda t: kl_and_ratio(mp.exp(t))[0] - P, mp.log(1 / math.sqrt(P)))
    return kl_and_ratio(mp.exp(log_m))[1]


@pytest.mark.parametrize("P", [0.11137, *(pytest.param(P, marks=pytest.mark.slow)
                                           for P in (1e-4, 1.0, 8.0))])  # ~1-3 s each
def test_kl_forward_min_second_moment_against_mpmath(P):
    with mp.workdps(25):
        ref = float(_mp_kl_forward_ratio(P))
    assert kl_forward_min_second_moment(P, 1.0) == pytest.approx(ref, rel=1e-11)


def test_exact_grid_against_mpmath():
    D = np.array([1e-6, 0.05, 0.4, 0.9, 1.3, 1.9, 2.4])
    for measure in ("w2sq", "kl_forward", "kl_reverse"):
        for P in (0.0, 1e-10, 0.02, 0.4, 2.0):
            got = rdp(D, P, 1.7, perception=measure, unit="nats")
            ref = [float(mp_rdp_nats(d, P, 1.7, measure)) for d in D]
            np.testing.assert_allclose(got, ref, rtol=RTOL, atol=1e-15)


def test_expm1mx_full_relative_precision():
    from rdptheory.gaussian._lambert import expm1mx

    u = np.array([-700.0, -30.0, -1.0, -0.5000001, -0.4999999, -1e-3, -1e-9, -1e-200, 0.0,
                  1e-200, 1e-9, 1e-3, 0.4999999, 0.5000001, 1.0, 30.0, 700.0])
    got = expm1mx(u)
    with mp.workdps(60):
        ref = [float(mp.expm1(mp.mpf(x)) - mp.mpf(x)) for x in u]
    np.testing.assert_allclose(got, ref, rtol=4e-16, atol=0)
