"""rdptheory.metrics: Bures W2 against scipy's sqrtm and closed forms; fits; validation."""

import doctest

import numpy as np
import pytest
from scipy.linalg import sqrtm

import rdptheory.images
import rdptheory.metrics
import rdptheory.metrics.image
import rdptheory.metrics.w2
from rdptheory.metrics import bures_w2sq, gaussian_fit_w2sq, psd_sqrt


def _random_cov(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.1 * np.eye(d)


@pytest.mark.parametrize("module", [rdptheory.metrics, rdptheory.metrics.w2,
                                    rdptheory.metrics.image, rdptheory.images])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_psd_sqrt_squares_back_and_clamps():
    rng = np.random.default_rng(0)
    c = _random_cov(rng, 5)
    r = psd_sqrt(c)
    np.testing.assert_allclose(r @ r, c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r, r.T, atol=0)
    assert np.all(np.linalg.eigvalsh(r) > 0)
    np.testing.assert_array_equal(psd_sqrt(np.diag([4.0, -1e-18])), np.diag([2.0, 0.0]))
    with pytest.raises(ValueError, match="square"):
        psd_sqrt(np.ones((2, 3)))


def test_bures_matches_sqrtm_for_non_commuting_covariances():
    rng = np.random.default_rng(1)
    c1, c2 = _random_cov(rng, 4), _random_cov(rng, 4)
    m1, m2 = rng.standard_normal((2, 4))
    r2 = np.real(sqrtm(c2))
    want = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * np.real(sqrtm(r2 @ c1 @ r2)))
    assert bures_w2sq(m1, c1, m2, c2) == pytest.approx(want, rel=1e-10)
    assert bures_w2sq(m1, c1, m2, c2) == pytest.approx(bures_w2sq(m2, c2, m1, c1), rel=1e-10)
    assert bures_w2sq(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_fit_is_bures_of_the_sample_moments():
    rng = np.random.default_rng(2)
    s = rng.standard_normal((50, 3)) @ np.diag([1.0, 2.0, 0.5]) + 1.0
    cov = _random_cov(rng, 3)
    want = bures_w2sq(s.mean(0), np.cov(s.T), np.zeros(3), cov)
    assert gaussian_fit_w2sq(s, np.zeros(3), cov) == want
    one_d = rng.standard_normal(40)
    assert gaussian_fit_w2sq(one_d, 0.0, 1.0) == pytest.approx(
        one_d.mean() ** 2 + (one_d.std(ddof=1) - 1.0) ** 2, rel=1e-12)


def test_source_w2sq_is_the_fit_in_the_eigenbasis():
    from rdptheory.metrics import source_w2sq

    rng = np.random.default_rng(3)
    cov = _random_cov(rng, 3)
    lam, u = np.linalg.eigh(cov)
    x_hat = rng.standard_normal((30, 3))
    assert source_w2sq(x_hat, lam, u) == pytest.approx(
        gaussian_fit_w2sq(x_hat, np.zeros(3), cov), rel=1e-10)


@pytest.mark.parametrize(("args", "match"), [
    ((np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)), "first"),
    ((np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)), "dimensions"),
    ((np.zeros(2), np.eye(2), [np.nan, 0.0], np.eye(2)), "NaN"),
])
def test_bures_validation(args, match):
    with pytest.raises(ValueError, match=match):
        bures_w2sq(*args)


def test_fit_validation():
    with pytest.raises(ValueError, match="samples"):
        gaussian_fit_w2sq(np.zeros((1, 2)), np.zeros(2), np.eye(2))
    with pytest.raises(TypeError):
        gaussian_fit_w2sq("x", 0.0, 1.0)  # type: ignore[arg-type]
