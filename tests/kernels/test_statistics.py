"""Selected candidates follow the target q (KS tests, fixed seeds, stated ALPHA).

Many independent chunks in one call: chunk c is an independent trial (its own counters), so
one fused call gives thousands of samples.
"""

import numpy as np
import pytest
from scipy import stats

from rdptheory.kernels import available_backends, candidate_samples, pfr_select

ALPHA = 0.01
BACKEND = "numba" if "numba" in available_backends() else "numpy"


def _trials(mu_q, sigma_q, mu_p, sigma_p, dims, n_trials, bits, algorithm, seed):
    """(n_trials, dims) decoded samples, one chunk of ``dims`` dims per trial."""
    tile = lambda x: np.tile(np.asarray(x, float), n_trials)
    starts = np.arange(0, dims * n_trials + 1, dims)
    args = (tile(mu_q), tile(sigma_q), tile(mu_p), tile(sigma_p))
    res = pfr_select(*args, starts, np.full(n_trials, bits), seed=seed, encoder_seed=seed + 1,
                     algorithm=algorithm, backend=BACKEND)  # fmt: skip
    z = candidate_samples(args[2], args[3], starts, res.indices, seed=seed, backend=BACKEND)
    return z.reshape(n_trials, dims), res


@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
def test_one_dimensional_target_law(algorithm):
    """q = N(0.7, 0.6^2) from p = N(0, 1) (KL = 0.44 nats) with 2^8 candidates."""
    z, _ = _trials([0.7], [0.6], [0.0], [1.0], 1, 3000, 8, algorithm, seed=101)
    assert stats.kstest(z[:, 0], stats.norm(0.7, 0.6).cdf).pvalue > ALPHA
    assert stats.kstest(z[:, 0], stats.norm(0.0, 1.0).cdf).pvalue < ALPHA  # the test has power


@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
def test_multi_dimensional_target_law_per_coordinate(algorithm):
    """3-dim general diagonal case (KL ~ 1.6 nats) with 2^10 candidates; Bonferroni over dims."""
    mu_q, sigma_q = [0.5, -0.8, 0.2], [0.7, 0.5, 1.1]
    mu_p, sigma_p = [0.0, -0.3, 0.1], [1.0, 0.9, 1.3]
    z, _ = _trials(mu_q, sigma_q, mu_p, sigma_p, 3, 1500, 10, algorithm, seed=202)
    for j in range(3):
        assert stats.kstest(z[:, j], stats.norm(mu_q[j], sigma_q[j]).cdf).pvalue > ALPHA / 3


def test_log_weight_of_selection_matches_kl_on_average():
    """E[log w(Z_K)] -> KL(q || p) for exact selection: 0.44 nats here; 3000 trials."""
    _, res = _trials([0.7], [0.6], [0.0], [1.0], 1, 3000, 8, "pfr", seed=303)
    kl = np.log(1 / 0.6) + (0.6**2 + 0.7**2) / 2 - 0.5
    se = res.log_weights.std() / np.sqrt(res.log_weights.size)
    assert abs(res.log_weights.mean() - kl) < stats.norm.isf(ALPHA / 2) * se
