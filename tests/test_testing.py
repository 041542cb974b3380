"""rdptheory.testing: the strategies generate what they promise."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory._validation import check_covariance
from rdptheory.gaussian import min_reconstruction_std, rate_distortion, rdp, rdp_vector_solution
from rdptheory.gaussian.vector import water_filling
from rdptheory.testing import (
    MARGIN,
    PERCEPTIONS,
    REGIMES,
    covariances,
    diagonal_spectra,
    gaussian_channel_rdp,
    invalid_numbers,
    invalid_perceptions,
    noise_levels,
    perceptions,
    rates,
    rhos,
    scalar_operating_points,
    variances,
    vector_operating_points,
    wrong_types,
)


@given(variances(), noise_levels(), rates(), rhos(), rhos(0.0, 3.0), perceptions())
def test_scalar_strategies_ranges(var, t2, r, rho, rho_wide, measure):
    assert 1e-3 <= var <= 1e3 and 1e-3 <= t2 <= 1e3
    assert 0.0 <= r <= 8.0
    assert 1.0 <= rho <= 2.0 and 0.0 <= rho_wide <= 3.0
    assert measure in PERCEPTIONS


def test_rhos_rejects_bad_range():
    with pytest.raises(ValueError, match="min_value <= max_value"):
        rhos(2.0, 1.0)


@pytest.mark.parametrize("bounds", [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0), (1.0, math.inf)])
def test_log_uniform_strategies_reject_bad_ranges(bounds):
    for strategy in (variances, noise_levels):
        with pytest.raises(ValueError, match="0 < min_value <= max_value < inf"):
            strategy(*bounds)


@given(st.data())
def test_non_white_needs_two_components(data):
    with pytest.raises(ValueError, match="max_size must be >= 2 for a non-white spectrum"):
        data.draw(diagonal_spectra(max_size=1, white=False))


@given(diagonal_spectra(white=True))
def test_white_spectra(lam):
    assert lam.ndim == 1 and 1 <= lam.size <= 8
    assert np.all(lam == lam[0]) and lam[0] > 0


@given(diagonal_spectra(white=False, max_size=5))
def test_non_white_spectra(lam):
    assert 2 <= lam.size <= 5
    assert lam.min() > 0 and lam.max() >= 1.01 * lam.min()


@given(covariances())
def test_covariances_are_spd(cov):
    checked = check_covariance(cov)
    assert np.linalg.eigvalsh(checked).min() > 0
    np.testing.assert_array_equal(cov, cov.T)


@given(scalar_operating_points())
def test_scalar_points_are_in_their_regime(pt):
    assert pt.regime in REGIMES and pt.perception in PERCEPTIONS
    assert pt.D > 0 and pt.P >= 0 and pt.variance > 0
    var = pt.variance
    lo2 = min_reconstruction_std(pt.P, var, perception=pt.perception) ** 2
    r = rdp(pt.D, pt.P, var, perception=pt.perception)
    if pt.regime == "zero_rate":
        assert pt.D >= (var + lo2) * (1 + 0.5 * MARGIN) and r == 0.0
    elif pt.regime == "perception_inactive":
        assert pt.D <= (var - lo2) * (1 - 0.5 * MARGIN)
        assert r == pytest.approx(rate_distortion(pt.D, var), rel=1e-12)
    elif pt.regime == "both_active":
        assert var - lo2 + 0.5 * MARGIN * var <= pt.D <= var + lo2 - 0.5 * MARGIN * var
        assert r > rate_distortion(pt.D, var)
    else:
        assert pt.P == 0.0 and pt.D < 2 * var


@given(st.sampled_from(REGIMES), perceptions(), st.floats(0.5, 2.0), st.data())
def test_scalar_points_honour_fixed_arguments(regime, measure, var, data):
    pt = data.draw(scalar_operating_points(regime=regime, perception=measure, variance=var))
    assert (pt.regime, pt.perception, pt.variance) == (regime, measure, var)


@given(st.data())
def test_unknown_regime_rejected(data):
    with pytest.raises(ValueError, match="regime must be one of"):
        data.draw(scalar_operating_points(regime="both"))
    with pytest.raises(ValueError, match="regime must be one of"):
        data.draw(vector_operating_points(regime="both"))


@given(vector_operating_points())
def test_vector_points_are_in_their_regime(pt):
    lam, L = pt.variances, float(pt.variances.sum())
    zero_rate_from = L + max(math.sqrt(L) - math.sqrt(pt.P), 0.0) ** 2
    if pt.regime == "zero_rate":
        assert pt.D >= zero_rate_from * (1 + 0.5 * MARGIN)
        return
    if pt.regime == "perfect_perception":
        assert pt.P == 0.0 and pt.D < 2 * L
        return
    if pt.regime == "both_active" and pt.D > L:  # the D > L part of the regime
        assert 0.0 < pt.P < L and pt.D < zero_rate_from
        return
    assert pt.D < L
    theta = float(water_filling(pt.D, lam).level)
    p_wf = float(np.sum((np.sqrt(lam) - np.sqrt(np.maximum(lam - theta, 0.0))) ** 2))
    if pt.regime == "perception_inactive":
        assert pt.P >= p_wf * (1 + 0.5 * MARGIN)
    else:
        assert 0.0 < pt.P < p_wf


@given(vector_operating_points())
def test_vector_regimes_agree_with_the_convex_solver(pt):
    # independent check: the regime reported by the §2 solver (G2's rdp_vector_solution)
    sol = rdp_vector_solution(pt.D, pt.P, pt.variances)
    assert sol.regime == pt.regime


@given(vector_operating_points(regime="water_filling"))
def test_water_filling_alias(pt):
    assert pt.regime == "perception_inactive"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_import_rdptheory_does_not_import_hypothesis():
    proc = _run("import sys, rdptheory, rdptheory.gaussian; "
                "print('hypothesis' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_clear_import_error_without_hypothesis():
    proc = _run("import sys; sys.modules['hypothesis'] = None; import rdptheory.testing")
    assert proc.returncode != 0
    assert "rdptheory.testing needs the 'hypothesis' package" in proc.stderr


def test_doctests():
    import doctest

    import rdptheory.testing as testing_module

    result = doctest.testmod(testing_module)
    assert result.attempted > 0 and result.failed == 0


@given(invalid_numbers("positive", allow_inf=True), invalid_numbers("positive"))
def test_invalid_positive_numbers_are_rejected(D, variance):
    # D = inf is allowed by rdp (zero rate): allow_inf=True never draws it
    with pytest.raises(ValueError):
        rdp(D, 0.1, 1.0)
    with pytest.raises(ValueError):
        rdp(0.5, 0.1, variance)


@given(invalid_numbers("nonnegative", allow_inf=True))
def test_invalid_nonnegative_numbers_are_rejected(value):
    with pytest.raises(ValueError):
        rdp(0.5, value, 1.0)


@given(invalid_numbers("finite"))
def test_invalid_finite_numbers_are_rejected(value):
    with pytest.raises(ValueError):
        rdp_vector_solution(0.5, 0.1, value)  # variances must be finite


@given(wrong_types())
def test_wrong_types_raise_type_error(value):
    with pytest.raises(TypeError):
        rdp(value, 0.1, 1.0)


@given(invalid_perceptions())
def test_invalid_perceptions_raise_value_error(name):
    with pytest.raises(ValueError, match="perception must be one of"):
        rdp(0.5, 0.1, 1.0, perception=name)


@given(st.data())
def test_invalid_numbers_rejects_unknown_kind(data):
    with pytest.raises(ValueError, match="kind must be one of"):
        data.draw(invalid_numbers("negative"))


@given(vector_operating_points("both_active"))
def test_both_active_also_draws_distortion_above_total_variance(pt):
    # the D > L part of the regime (γ → 0 end of the KKT family) is drawn too
    L = float(pt.variances.sum())
    if pt.D > L:
        assert 0.0 < pt.P < L and pt.D < L + (math.sqrt(L) - math.sqrt(pt.P)) ** 2
    assert rdp_vector_solution(pt.D, pt.P, pt.variances).regime == "both_active"


def test_both_active_reaches_both_sides_of_total_variance():
    from hypothesis import find

    above = find(vector_operating_points("both_active"), lambda pt: pt.D > pt.variances.sum())
    below = find(vector_operating_points("both_active"), lambda pt: pt.D < pt.variances.sum())
    assert above.regime == below.regime == "both_active"


def test_gaussian_channel_rdp_is_rdp_except_for_kl_forward():
    D, P = np.array([0.3, 0.9, 1.2]), 0.5
    for measure in ("w2sq", "kl_reverse"):
        np.testing.assert_array_equal(gaussian_channel_rdp(D, P, 1.0, perception=measure),
                                      rdp(D, P, 1.0, perception=measure))
    # kl_forward: Thm-1-style core formula with the Gaussian floor s_lo² = 1/(-W_-1(-e^{-1-2P}))
    # (THEORY.md §1), above the true R; at (1, 0.5, 1) it is 0.0414 nats (the value)
    upper = gaussian_channel_rdp(1.0, 0.5, 1.0, perception="kl_forward", unit="nats")
    assert upper == pytest.approx(0.0414, abs=5e-5)
    assert upper > rdp(1.0, 0.5, 1.0, perception="kl_forward", unit="nats")
    with pytest.raises(ValueError):
        gaussian_channel_rdp(1.0, 0.5, 1.0, perception="tv")
