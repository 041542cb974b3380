"""Reverse water-filling (THEORY.md §2): exact level, reductions, optimality, validation."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.gaussian import vector
from rdptheory.gaussian.vector import (
    covariance_spectrum,
    rate_distortion_vector,
    water_filling,
)

LN2 = np.log(2.0)

variances_st = st.lists(st.floats(1e-3, 1e3, allow_nan=False), min_size=1, max_size=12).map(
    np.array
)


def test_doctests() -> None:
    assert doctest.testmod(vector).failed == 0


def _level_by_bisection(D: float, lam: np.ndarray) -> float:
    lo, hi = 0.0, float(lam.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(mid, lam).sum() < D else (lo, mid)
    return 0.5 * (lo + hi)


@given(variances_st, st.floats(0.01, 0.99))
def test_level_matches_bisection_and_sums_to_D(lam: np.ndarray, frac: float) -> None:
    D = frac * lam.sum()
    wf = water_filling(D, lam)
    assert wf.level == pytest.approx(_level_by_bisection(D, lam), rel=1e-12)
    assert wf.component_mse.sum() == pytest.approx(D, rel=1e-12)
    assert np.all(wf.component_mse <= lam)
    expected = 0.5 * np.sum(np.log(lam / np.minimum(wf.level, lam)))
    assert wf.rate_nats == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(variances_st, st.floats(0.01, 0.99), st.integers(0, 2**31 - 1))
def test_water_filling_beats_random_allocations(lam: np.ndarray, frac: float, seed: int) -> None:
    """Any feasible allocation D_i <= λ_i with Σ D_i = D has at least the water-filling rate."""
    D = frac * lam.sum()
    rng = np.random.default_rng(seed)
    best = water_filling(D, lam).rate_nats
    for _ in range(20):
        w = rng.dirichlet(np.ones(lam.size))
        alloc = np.minimum(w * D, lam)
        slack = D - alloc.sum()  # redistribute clipped mass to components with room
        room = lam - alloc
        alloc = alloc + room * slack / room.sum()
        assert alloc.sum() == pytest.approx(D, rel=1e-9)
        assert 0.5 * np.sum(np.log(lam / alloc)) >= best - 1e-12


@given(st.floats(1e-3, 1e3), st.floats(0.001, 2.0))
def test_n1_equals_scalar(lam: float, frac: float) -> None:
    D = frac * lam
    expected = max(0.0, 0.5 * np.log2(lam / D))
    assert rate_distortion_vector(D, [lam]) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(st.floats(1e-3, 1e3), st.floats(0.001, 2.0), st.integers(1, 50))
def test_white_is_n_times_scalar(lam: float, frac: float, n: int) -> None:
    D = frac * lam * n
    scalar = max(0.0, 0.5 * np.log(lam / (D / n)))
    got = rate_distortion_vector(D, np.full(n, lam), unit="nats")
    assert got == pytest.approx(n * scalar, rel=1e-12, abs=1e-14)


@given(variances_st)
def test_monotone_convex_and_zero_beyond_total_power(lam: np.ndarray) -> None:
    L = lam.sum()
    D = np.linspace(0.02, 1.2, 60) * L
    R = rate_distortion_vector(D, lam)
    assert np.all(R >= 0)
    assert np.all(np.diff(R) <= 1e-12)
    assert np.all(np.diff(R, 2) >= -1e-9 * max(1.0, float(np.abs(R).max())))
    assert np.all(R[D >= L] == 0)


def test_vectorised_over_D_and_units() -> None:
    lam = np.array([4.0, 1.0, 0.25])
    D = np.array([[0.3, 1.5], [5.25, 9.0]])
    wf = water_filling(D, lam)
    assert wf.component_mse.shape == (2, 2, 3)
    assert np.asarray(wf.level).shape == (2, 2)
    bits = rate_distortion_vector(D, lam)
    nats = rate_distortion_vector(D, lam, unit="nats")
    np.testing.assert_allclose(bits * LN2, nats, rtol=1e-14)
    assert bits[1, 0] == 0.0 and wf.level[1, 1] == 4.0


def test_known_value() -> None:
    # θ = 0.625: ½log2(4/0.625) + ½log2(1/0.625) = ½log2(10.24)
    assert rate_distortion_vector(1.5, [4.0, 1.0, 0.25]) == pytest.approx(
        0.5 * np.log2(10.24), rel=1e-14
    )


def test_covariance_spectrum_reconstructs() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 5))
    cov = A @ A.T + 0.1 * np.eye(5)
    spec = covariance_spectrum(cov)
    assert np.all(np.diff(spec.variances) <= 0)
    np.testing.assert_allclose(
        spec.basis @ np.diag(spec.variances) @ spec.basis.T, cov, rtol=1e-12, atol=1e-12
    )
    # rate is invariant: water-filling on the spectrum equals the eigenvalues' R(D)
    assert rate_distortion_vector(1.0, spec.variances) == pytest.approx(
        rate_distortion_vector(1.0, np.linalg.eigvalsh(cov)), rel=1e-12
    )


@pytest.mark.parametrize(
    ("D", "variances", "match"),
    [
        (0.0, [1.0], "D must be > 0"),
        (-1.0, [1.0], "D must be > 0"),
        (float("nan"), [1.0], "D must not contain NaN"),
        (1.0, [1.0, -1.0], "variances must be > 0"),
        (1.0, [], "variances must be a non-empty 1-D"),
        (1.0, [[1.0, 2.0]], "variances must be a non-empty 1-D"),
        (1.0, [1.0, float("nan")], "variances must not contain NaN"),
    ],
)
def test_validation(D: float, variances: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        water_filling(D, variances)
    with pytest.raises(ValueError, match=match):
        rate_distortion_vector(D, variances)


def test_validation_unit_and_covariance() -> None:
    with pytest.raises(ValueError, match="unit"):
        rate_distortion_vector(1.0, [1.0], unit="dits")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cov"):
        covariance_spectrum([[1.0, 2.0], [2.0, 1.0]])
