"""High-precision spot checks of the vector and AWGN functions against mpmath (THEORY.md §2-§3).

The references are computed at 40 significant digits by an independent route and compared
at rtol 1e-12:

- reverse water-filling: the level θ from the sorted spectrum, in mpmath arithmetic;
- R(D, P) and D(R, P) with both constraints active: the KKT system in the original
  variables (ŝ_i, c_i) of THEORY.md §2, not the solver's (γ, a, ε) parameterisation.
  Stationarity of −½log(1 − c²) + μ(λ + ŝ² − 2c√λ ŝ) + ν(√λ − ŝ)² gives
  ŝ = √λ (a c + 1 − a) with a = μ/(μ + ν), and c/(1 − c²) = 2μλ(a c + 1 − a), a cubic in c
  with exactly one root in (0, 1) (a bracketed mpmath root); the multipliers (μ, ν)
  solve the two active constraints by mpmath's multidimensional Newton;
- D(P) under AWGN [FMM21] and the score-scaled operating point: their closed forms.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from rdptheory.gaussian import (
    dp_awgn,
    drp_vector,
    drp_vector_solution,
    rate_distortion_vector,
    rdp_vector,
    rdp_vector_solution,
    score_scaled_gap,
    score_scaled_point,
    water_filling,
)

RTOL = 1e-12
DPS = 40
SPECTRA = {"inverse-square": [1.0, 0.25, 1.0 / 9.0, 0.0625], "spread": [4.0, 1.0, 0.5, 0.01]}


def _rel(got: float, ref: mp.mpf) -> float:
    return float(abs(mp.mpf(got) - ref) / abs(ref))


def mp_water_level(D: float, lam: list[float]) -> mp.mpf:
    """θ with Σ min(θ, λ_i) = D: the k smallest λ are under water, the rest at θ."""
    lam_sorted = sorted(mp.mpf(x) for x in lam)
    D, n, below = mp.mpf(D), len(lam_sorted), mp.mpf(0)
    for k, lam_k in enumerate(lam_sorted):
        theta = (D - below) / (n - k)
        if theta <= lam_k:
            return theta
        below += lam_k
    return lam_sorted[-1]


def mp_component(lam: mp.mpf, mu: mp.mpf, nu: mp.mpf) -> tuple[mp.mpf, mp.mpf, mp.mpf, mp.mpf]:
    """(R_i, D_i, P_i, c_i) at the multipliers: the root c ∈ (0, 1) of the stationarity cubic."""
    a, k = mu / (mu + nu), 2 * mu * lam
    # c = k(ac + 1 − a)(1 − c²): g(0) = −k(1 − a) < 0 < g(1) = 1, one root in (0, 1)
    c = mp.findroot(lambda x: x - k * (a * x + 1 - a) * (1 - x**2), (mp.mpf(0), mp.mpf(1)),
                    solver="anderson")  # fmt: skip
    sigma = mp.sqrt(lam)
    s_hat = sigma * (a * c + 1 - a)
    return (-mp.log(1 - c**2) / 2, lam + s_hat**2 - 2 * c * sigma * s_hat,
            (sigma - s_hat) ** 2, c)  # fmt: skip


def mp_totals(lam: list[float], mu: mp.mpf, nu: mp.mpf) -> tuple[mp.mpf, mp.mpf, mp.mpf]:
    parts = [mp_component(mp.mpf(x), mu, nu) for x in lam]
    return tuple(mp.fsum(p[j] for p in parts) for j in range(3))  # type: ignore[return-value]


def mp_solve_both_active(kind: str, target: float, P: float, lam: list[float],
                         mu0: float, nu0: float) -> tuple[mp.mpf, mp.mpf, mp.mpf]:
    """(R, D, P) totals at the KKT point with the ``kind`` ("D" or "R") and P constraints."""
    idx = {"R": 0, "D": 1}[kind]

    def equations(log_mu, log_nu):
        tot = mp_totals(lam, mp.exp(log_mu), mp.exp(log_nu))
        return [mp.log(tot[idx] / target), mp.log(tot[2] / P)]

    log_mu, log_nu = mp.findroot(equations, (mp.log(mu0), mp.log(nu0)), tol=mp.mpf(10) ** -35)
    return mp_totals(lam, mp.exp(log_mu), mp.exp(log_nu))


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize("dfrac", [0.05, 0.4, 0.9])
def test_water_filling_against_mpmath(name: str, dfrac: float) -> None:
    lam = SPECTRA[name]
    D = dfrac * sum(lam)
    with mp.workdps(DPS):
        theta = mp_water_level(D, lam)
        ref = mp.fsum(mp.log(mp.mpf(x) / theta) / 2 for x in lam if x > theta)
        assert _rel(water_filling(D, lam).level, theta) <= RTOL
        assert _rel(rate_distortion_vector(D, lam, unit="nats"), ref) <= RTOL


def p_water_filling(D: float, lam: list[float]) -> float:
    """W₂² of the water-filling solution: P below it makes both constraints active."""
    theta = water_filling(D, lam).level
    return float(sum((np.sqrt(x) - np.sqrt(max(x - theta, 0.0))) ** 2 for x in lam))


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize(("dfrac", "pfrac"), [(0.1, 0.5), (0.4, 0.05), (0.8, 0.9), (1.3, 0.2)])
def test_rdp_vector_both_active_against_mpmath(name: str, dfrac: float, pfrac: float) -> None:
    lam = SPECTRA[name]
    L = sum(lam)
    D = dfrac * L
    # D > L: the zero-rate boundary P0 = (√L − √(D − L))² takes the place of the threshold
    P = pfrac * (p_water_filling(D, lam) if D < L else (np.sqrt(L) - np.sqrt(D - L)) ** 2)
    sol = rdp_vector_solution(D, P, lam)
    assert sol.regime == "both_active"
    with mp.workdps(DPS):
        R_ref, D_ref, P_ref = mp_solve_both_active("D", D, P, lam, sol.mu, sol.nu)
        assert _rel(D, D_ref) < 1e-30 and _rel(P, P_ref) < 1e-30  # the reference is on target
        assert _rel(rdp_vector(D, P, lam, unit="nats"), R_ref) <= RTOL


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize(("bits", "pfrac"), [(0.5, 0.01), (2.0, 0.001), (6.0, 1e-4)])
def test_drp_vector_both_active_against_mpmath(name: str, bits: float, pfrac: float) -> None:
    lam = SPECTRA[name]
    R, P = bits * float(np.log(2.0)), pfrac * sum(lam)
    sol = drp_vector_solution(R, P, lam, unit="nats")
    assert sol.regime == "both_active"
    with mp.workdps(DPS):
        _, D_ref, _ = mp_solve_both_active("R", R, P, lam, sol.mu, sol.nu)
        assert _rel(drp_vector(bits, P, lam), D_ref) <= RTOL


@pytest.mark.parametrize("name", sorted(SPECTRA))
def test_perfect_perception_against_mpmath(name: str) -> None:
    """P = 0: ŝ_i = √λ_i and c_i/(1 − c_i²) = 2μλ_i, μ from Σ D_i = D (1-D root)."""
    lam = SPECTRA[name]
    D = 0.3 * sum(lam)
    sol = rdp_vector_solution(D, 0.0, lam)
    assert sol.regime == "perfect_perception"
    with mp.workdps(DPS):
        def parts(mu):
            c = [(mp.sqrt(1 + 16 * (mu * x) ** 2) - 1) / (4 * mu * x) for x in lam]
            return c, mp.fsum(2 * x * (1 - ci) for x, ci in zip(lam, c))

        log_mu = mp.findroot(lambda t: mp.log(parts(mp.exp(t))[1] / D), mp.log(sol.mu))
        c, _ = parts(mp.exp(log_mu))
        ref = mp.fsum(-mp.log(1 - ci**2) / 2 for ci in c)
        assert _rel(rdp_vector(D, 0.0, lam, unit="nats"), ref) <= RTOL


def mp_awgn(lam: list[float], t2: float) -> tuple[list[mp.mpf], mp.mpf, mp.mpf]:
    """(c_i, D*, W₂²(p_X, p_X*)) of THEORY.md §3."""
    c = [mp.sqrt(mp.mpf(x) / (x + mp.mpf(t2))) for x in lam]
    mmse = mp.fsum(mp.mpf(x) * t2 / (x + mp.mpf(t2)) for x in lam)
    w2sq = mp.fsum(x * (1 - ci) ** 2 for x, ci in zip(lam, c))
    return c, mmse, w2sq


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize("t2", [1e-8, 0.01, 0.5, 20.0])  # 1e-8: 1 − c_i ~ 1e-8, no cancellation
@pytest.mark.parametrize("pfrac", [0.0, 0.3])
def test_dp_awgn_against_mpmath(name: str, t2: float, pfrac: float) -> None:
    lam = SPECTRA[name]
    with mp.workdps(DPS):
        c, mmse, w2sq = mp_awgn(lam, t2)
        P = pfrac * float(w2sq)
        alpha = 1 - mp.sqrt(P) / mp.sqrt(w2sq)
        ref = dp_awgn(P, lam, t2)
        assert _rel(ref.mmse, mmse) <= RTOL and _rel(ref.perception_value_mmse, w2sq) <= RTOL
        assert _rel(ref.mse, mmse + (mp.sqrt(w2sq) - mp.sqrt(P)) ** 2) <= RTOL
        for got, ci in zip(ref.gain, c):
            assert _rel(got, (1 - alpha) * ci**2 + alpha * ci) <= RTOL


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize("t2", [1e-8, 0.01, 0.5, 20.0])
@pytest.mark.parametrize("rho", [0.5, 1.0, 1.37, 2.0])
def test_score_scaled_point_against_mpmath(name: str, t2: float, rho: float) -> None:
    lam = SPECTRA[name]
    pt = score_scaled_point(lam, t2, rho)
    with mp.workdps(DPS):
        c, _, _ = mp_awgn(lam, t2)
        a = [ci**rho for ci in c]
        rate = mp.fsum(mp.log(1 + mp.mpf(x) / t2) / 2 for x in lam)
        mse = mp.fsum(x - 2 * ai * x + ai**2 * (x + mp.mpf(t2)) for x, ai in zip(lam, a))
        w2sq = mp.fsum(x * (1 - ci ** (rho - 1)) ** 2 for x, ci in zip(lam, c))
        assert _rel(pt.rate_nats, rate) <= RTOL and _rel(pt.mse, mse) <= RTOL
        if rho != 1.0:  # W₂² = 0 exactly at ρ = 1
            assert _rel(pt.perception_value, w2sq) <= 1e-11  # 1 − c^(ρ−1) loses a digit near ρ = 1
        else:
            assert pt.perception_value == 0.0


@pytest.mark.parametrize("rho", [1.2, 1.8])
def test_score_scaled_gap_against_mpmath(rho: float) -> None:
    """Non-white ΔR = R_scheme − R(D, P), with R(D, P) from the mpmath KKT solve."""
    lam, t2 = SPECTRA["inverse-square"], 0.05
    pt = score_scaled_point(lam, t2, rho)
    sol = rdp_vector_solution(pt.mse, pt.perception_value, lam)
    assert sol.regime == "both_active"
    with mp.workdps(DPS):
        r_opt, _, _ = mp_solve_both_active("D", pt.mse, pt.perception_value, lam, sol.mu, sol.nu)
        ref = mp.mpf(pt.rate_nats) - r_opt
        assert ref > 0
        # ΔR is a difference of O(1) rates: compare at 1e-12 relative to the rate
        got = score_scaled_gap(lam, t2, rho, unit="nats")
        assert abs(mp.mpf(got) - ref) <= RTOL * pt.rate_nats
