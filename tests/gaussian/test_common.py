"""Conventions shared by the scalar, vector and AWGN records (rdptheory.gaussian._common)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import rdptheory.gaussian._common as common_module
from rdptheory import testing
from rdptheory.gaussian import (
    dp_awgn,
    drp_vector_solution,
    rdp,
    rdp_vector_solution,
    score_scaled_loss,
    score_scaled_point,
    shaped_noise_point,
    test_channel,
    water_filling,
)
from rdptheory.gaussian._common import REGIMES


def test_doctests() -> None:
    result = doctest.testmod(common_module)
    assert result.attempted > 0 and result.failed == 0


def test_one_regime_vocabulary() -> None:
    assert testing.REGIMES == REGIMES
    assert set(REGIMES) == {"zero_rate", "perception_inactive", "both_active",
                            "perfect_perception"}  # fmt: skip
    # the same names from the scalar channel, the vector solver (n = 1) and the strategies
    points = [(3.0, 0.1), (0.25, 1.0), (0.5, 0.01), (0.5, 0.0)]
    scalar = [test_channel(D, P, 1.0).regime for D, P in points]
    vector = [rdp_vector_solution(D, P, [1.0]).regime for D, P in points]
    assert scalar == vector == list(REGIMES)


def test_rates_carry_units() -> None:
    ln2 = math.log(2.0)
    ch = test_channel(0.5, 0.01, 1.0)
    assert ch.rate_bits == pytest.approx(ch.rate_nats / ln2, rel=1e-15)
    sol = rdp_vector_solution(0.5, 0.01, [1.0])
    assert sol.rate_bits == pytest.approx(rdp(0.5, 0.01, 1.0), rel=1e-12)
    assert drp_vector_solution(1.0, 0.0, [1.0]).rate_bits == pytest.approx(1.0, rel=1e-14)
    wf = water_filling(1.0, [1.0, 1.0])
    assert wf.rate_bits == pytest.approx(1.0, rel=1e-15)
    pt = score_scaled_point([1.0], 1.0, 2.0)
    assert pt.rate_bits == pytest.approx(0.5, rel=1e-15)
    assert pt.rate_nats == pytest.approx(0.5 * ln2, rel=1e-15)
    sp = shaped_noise_point(0.5, 0.01, [1.0])
    assert sp.rate_bits == pytest.approx(rdp(0.5, 0.01, 1.0), rel=1e-10)
    loss = score_scaled_loss([1.0, 0.25], 0.5, 1.5)
    assert loss.rate_bits == pytest.approx(loss.rate_nats / ln2, rel=1e-15)


def test_scalar_in_float_out_everywhere() -> None:
    assert isinstance(test_channel(0.5, 0.01, 1.0).gain, float)
    assert isinstance(water_filling(1.0, [1.0, 2.0]).level, float)
    assert isinstance(dp_awgn(0.1, [1.0, 2.0], 0.5).mse, float)
    assert isinstance(score_scaled_point([1.0, 2.0], 0.5, 1.5).perception_value, float)
    assert isinstance(score_scaled_loss([1.0, 2.0], 0.5, 1.5).total_loss_db, float)
    assert isinstance(dp_awgn([0.1, 0.2], [1.0], 0.5).mse, np.ndarray)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rdp([0.5, 0.6], [0.1, 0.2, 0.3], 1.0),
         "D, P, variance must broadcast together, got shapes D (2,), P (3,), variance ()"),
        (lambda: rdp_vector_solution([1.0, 2.0], 0.1, [1.0]),
         "D must be a scalar (0-d), got shape (2,); use rdp_vector for arrays"),
        (lambda: drp_vector_solution(1.0, [0.1, 0.2], [1.0]),
         "P must be a scalar (0-d), got shape (2,); use drp_vector for arrays"),
    ],
)  # fmt: skip
def test_uniform_messages(call, message: str) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message
