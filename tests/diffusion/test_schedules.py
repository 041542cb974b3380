"""Schedules: conversions, grids, discrete DDPM levels (rdptheory/diffusion/schedules.py)."""

import doctest

import numpy as np
import pytest

from rdptheory.diffusion import schedules


def test_doctests():
    assert doctest.testmod(schedules).failed == 0


def test_alpha_bar_round_trip():
    ab = np.linspace(1e-4, 1.0, 101)
    np.testing.assert_allclose(
        schedules.alpha_bar_from_noise_var(schedules.noise_var_from_alpha_bar(ab)), ab, rtol=1e-14
    )


@pytest.mark.parametrize("sched", [schedules.VPLinear(), schedules.VPCosine()])
def test_time_round_trip(sched):
    t = np.linspace(0.0, 0.95, 50)
    np.testing.assert_allclose(sched.time_at(sched.noise_var_at(t)), t, rtol=1e-11, atol=1e-13)


def test_vp_linear_matches_integral_of_beta():
    s = schedules.VPLinear(0.1, 20.0)
    t = 0.3
    log_ab = -(0.1 * t + 0.5 * 19.9 * t**2)
    assert s.noise_var_at(t) == pytest.approx(np.exp(-log_ab) - 1.0, rel=1e-14)


@pytest.mark.parametrize("sched", [schedules.VPLinear(), schedules.VPCosine(),
                                   schedules.VEUniform(), schedules.Karras()])
@pytest.mark.parametrize("steps", [1, 2, 17])
def test_grids_decrease_from_level_to_zero(sched, steps):
    g = sched.noise_vars(2.5, steps)
    assert g.shape == (steps + 1,)
    assert g[0] == 2.5 and g[-1] == 0.0
    assert (np.diff(g) < 0).all()


def test_karras_levels():
    g = schedules.Karras(sigma_min=0.002, exponent=7.0).noise_vars(4.0, 5)
    s = np.sqrt(g[:-1])
    ramp = np.linspace(0, 1, 5)
    expect = (2.0 ** (1 / 7) + ramp * (0.002 ** (1 / 7) - 2.0 ** (1 / 7))) ** 7
    np.testing.assert_allclose(s, expect, rtol=1e-13)


def test_ddpm_linear_alphas_cumprod():
    ab = schedules.ddpm_alphas_cumprod(1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    assert ab[0] == pytest.approx(1 - 1e-4, rel=1e-15)
    assert ab[-1] == pytest.approx(np.prod(1 - betas), rel=1e-12)
    assert (np.diff(ab) < 0).all()
    cos = schedules.ddpm_alphas_cumprod(1000, beta_schedule="cosine")
    assert (np.diff(cos) < 0).all() and cos[-1] < 1e-4


def test_discrete_schedule_grid():
    sched = schedules.DiscreteSchedule.from_alphas_cumprod(schedules.ddpm_alphas_cumprod(1000))
    v0 = float(sched.levels[499])
    g = sched.noise_vars(v0, 10)
    assert g.shape == (11,) and g[0] == v0 and g[-1] == 0.0
    assert np.isin(g[:-1], sched.levels).all()
    assert g[-2] == sched.levels[0]
    with pytest.raises(ValueError, match="not one of the model's levels"):
        sched.noise_vars(v0 * 1.01, 10)
    with pytest.raises(ValueError, match="steps"):
        sched.noise_vars(v0, 501)


def test_validation():
    with pytest.raises(ValueError, match="schedule"):
        schedules.get_schedule("nope")
    with pytest.raises(ValueError, match="noise_var"):
        schedules.VPLinear().noise_vars(-1.0, 4)
    with pytest.raises(ValueError, match="steps"):
        schedules.VPLinear().noise_vars(1.0, 0)
    with pytest.raises(TypeError, match="steps"):
        schedules.VEUniform().noise_vars(1.0, 2.5)
    with pytest.raises(ValueError, match="alpha_bar"):
        schedules.noise_var_from_alpha_bar(1.5)
    with pytest.raises(ValueError, match="beta_max"):
        schedules.VPLinear(beta_min=1.0, beta_max=0.5)
