"""Operational point of the codec vs theory (statistical, fixed seeds, stated ALPHA)."""

import numpy as np
import pytest
from scipy import stats

from rdptheory.codec import GaussianCodec
from rdptheory.experiments.operating_point import measure_operating_point, score_scaled_gains
from rdptheory.metrics import source_w2sq

ALPHA = 1e-4  # two-sided z-test level per assertion
#: Documented bias allowance of truncated PFR (2^(ceil KL + 4) candidates per chunk of a
#: proxy layout with B = 10 bits): relative excess MSE, measured ~0-4% in our runs.
PFR_BIAS = 0.05


def test_bures_exact_for_gaussian_samples():
    rng = np.random.default_rng(0)
    lam = np.array([2.0, 0.5])
    x_hat = rng.standard_normal((200_000, 2)) * np.sqrt([1.0, 0.5])
    expected = (np.sqrt(2.0) - 1.0) ** 2
    assert source_w2sq(x_hat, lam) == pytest.approx(expected, abs=5e-3)
    with pytest.raises(ValueError, match="x_hat"):
        source_w2sq(np.zeros((1, 2)), lam)


def test_one_shot_white_operating_point_matches_theory():
    d, n = 4, 300
    lam = np.ones(d)
    x = np.random.default_rng(7).standard_normal((n, d))
    codec = GaussianCodec.for_rate(lam, 1.0 * d, seed=4)
    data = codec.compress(x)
    z = stats.norm.ppf(1 - ALPHA / 2)
    for rho in (1.0, 2.0):
        op = measure_operating_point(codec, x, codec.decompress(data, rho=rho), data,
                                     score_scaled_gains(codec, rho))
        assert abs(op.mse - op.theory_mse) <= z * op.mse_se + PFR_BIAS * op.theory_mse
        assert op.rdp_bits == pytest.approx(op.info_bits, rel=1e-9)  # white: on R(D, P)
        assert op.rate_bits >= op.info_bits * 0.9  # real bits cannot beat the information much
        assert op.rate_bits <= 2.0 * op.info_bits


@pytest.mark.slow
def test_d256_white_overhead_is_reported_size():
    d, n = 256, 8
    x = np.random.default_rng(1).standard_normal((n, d))
    codec = GaussianCodec.for_rate(np.ones(d), 1.0 * d, seed=4)
    data = codec.compress(x)
    op = measure_operating_point(codec, x, codec.decompress(data), data,
                                 score_scaled_gains(codec, 1.0))
    assert 0.0 < op.overhead < 0.8


def test_diagonal_w2sq_matches_bures_for_diagonal_samples():
    from rdptheory.metrics import diagonal_w2sq

    rng = np.random.default_rng(2)
    lam = np.array([2.0, 0.5, 1.0])
    x_hat = rng.standard_normal((100_000, 3)) * np.sqrt([1.0, 0.5, 1.5])
    expected = (np.sqrt(2.0) - 1.0) ** 2 + (1.0 - np.sqrt(1.5)) ** 2
    assert diagonal_w2sq(x_hat, lam) == pytest.approx(expected, abs=3e-3)
    assert diagonal_w2sq(x_hat, lam) == pytest.approx(source_w2sq(x_hat, lam), abs=3e-3)
