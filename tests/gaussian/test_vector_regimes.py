"""Vector R(D, P) against G1's scalar closed forms and rdptheory.testing strategies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory.gaussian import drp, drp_vector, rdp, rdp_vector, rdp_vector_solution
from rdptheory.testing import (
    diagonal_spectra,
    scalar_operating_points,
    variances,
    vector_operating_points,
)


@given(vector_operating_points())
def test_regime_classification(pt) -> None:
    sol = rdp_vector_solution(pt.D, pt.P, pt.variances)
    assert sol.regime == pt.regime
    assert (sol.rate_nats == 0.0) == (pt.regime == "zero_rate")
    # 1e-11: both-active points with D just below L + (√L − √P)² have rates ~1e-9 nats and
    # relative residuals up to ~2e-12 (measured at λ = (0.01, 100))
    assert sol.kkt_residual < 1e-11


@given(scalar_operating_points(perception="w2sq"))
def test_n1_equals_scalar_rdp(pt) -> None:
    ours = rdp_vector(pt.D, pt.P, [pt.variance])
    assert ours == pytest.approx(rdp(pt.D, pt.P, pt.variance), rel=1e-12, abs=1e-13)


@given(scalar_operating_points(perception="w2sq"), st.integers(2, 50))
def test_white_equals_n_times_scalar_rdp(pt, n: int) -> None:
    ours = rdp_vector(n * pt.D, n * pt.P, np.full(n, pt.variance))
    assert ours == pytest.approx(n * rdp(pt.D, pt.P, pt.variance), rel=1e-12, abs=1e-12)


@given(variances(), st.floats(0.0, 6.0), st.floats(0.0, 1.5), st.integers(1, 20))
def test_drp_white_equals_scalar_drp(s2: float, bits: float, pfrac: float, n: int) -> None:
    P = pfrac * s2
    ours = drp_vector(n * bits, n * P, np.full(n, s2))
    assert ours == pytest.approx(n * drp(bits, P, s2), rel=1e-11)


@given(diagonal_spectra(white=False, min_size=2), st.floats(0.02, 0.98))
def test_non_white_both_active_strictly_above_water_filling(lam: np.ndarray, g: float) -> None:
    from rdptheory.gaussian import rate_distortion_vector, water_filling

    D = 0.5 * lam.sum()
    theta = water_filling(D, lam).level
    p_wf = np.sum((np.sqrt(lam) - np.sqrt(np.maximum(lam - theta, 0))) ** 2)
    assert rdp_vector(D, g * p_wf, lam) > rate_distortion_vector(D, lam)
