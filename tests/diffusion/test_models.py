"""Analytic models and the prediction adapter (rdptheory/diffusion/models.py)."""

import numpy as np
import pytest
from scipy import stats

from rdptheory.diffusion import DiffusionModel, GaussianModel, GMMModel, PredictionModel, scores

torch = pytest.importorskip("torch")

ALPHA = 1e-3
COV = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.2], [0.1, -0.2, 0.5]])
MEAN = np.array([0.5, -1.0, 2.0])


def _gmm_2d():
    covs = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.2, -0.05], [-0.05, 0.3]], [[0.5, 0], [0, 0.5]]])
    return GMMModel([0.2, 0.5, 0.3], [[0.0, 0.0], [3.0, 1.0], [-2.0, 2.0]], covs)


def test_protocol():
    assert isinstance(GaussianModel(0.0, 1.0), DiffusionModel)
    assert isinstance(_gmm_2d(), DiffusionModel)


@pytest.mark.parametrize("v", [0.0, 0.3, 7.0])
def test_gaussian_full_matches_matrix_formula(v):
    m = GaussianModel(MEAN, COV)
    y = np.random.default_rng(0).standard_normal((6, 3))
    inv = np.linalg.inv(COV + v * np.eye(3))
    np.testing.assert_allclose(m.score(y, v), -(y - MEAN) @ inv.T, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(m.denoise(y, v), MEAN + (y - MEAN) @ (COV @ inv).T, rtol=1e-12)
    rho = 1.4
    w, U = np.linalg.eigh(COV)
    A = U @ np.diag((w / (w + v)) ** (rho / 2)) @ U.T
    np.testing.assert_allclose(m.exact_decode(y, v, rho), MEAN + (y - MEAN) @ A.T, rtol=1e-12)


def test_gaussian_diagonal_fast_path_equals_full():
    lam = np.array([3.0, 1.0, 0.25])
    full, diag = GaussianModel(0.0, np.diag(lam)), GaussianModel(np.zeros(3), lam)
    y = np.random.default_rng(1).standard_normal((4, 3))
    for f in ("score", "denoise"):
        np.testing.assert_allclose(getattr(full, f)(y, 0.7), getattr(diag, f)(y, 0.7), rtol=1e-13)
    np.testing.assert_allclose(
        full.exact_decode(y, 0.7, 1.3), diag.exact_decode(y, 0.7, 1.3), rtol=1e-13
    )


def test_covariance_property():
    np.testing.assert_allclose(GaussianModel(MEAN, COV).covariance, COV, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(GaussianModel(np.zeros(3), 2.0).covariance, 2.0 * np.eye(3))
    np.testing.assert_array_equal(GaussianModel(0.0, 2.0).covariance, [[2.0]])


def test_scalar_model_and_per_batch_levels():
    m = GaussianModel(1.0, 2.0)
    y = np.array([0.0, 1.0, 4.0])
    v = np.array([0.5, 1.0, 2.0])
    assert m.event_shape == ()
    np.testing.assert_allclose(m.denoise(y, v), 1.0 + 2.0 / (2.0 + v) * (y - 1.0), rtol=1e-15)
    np.testing.assert_allclose(m.score(y, v), -(y - 1.0) / (2.0 + v), rtol=1e-15)


def test_gaussian_sample_moments():
    x = GaussianModel(MEAN, COV).sample(20000, seed=3)
    assert x.shape == (20000, 3)
    np.testing.assert_allclose(x.mean(0), MEAN, atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), COV, atol=0.06)
    proj = (x - MEAN) @ np.array([1.0, 0.0, 0.0]) / np.sqrt(2.0)
    assert stats.kstest(proj, "norm").pvalue > ALPHA


def test_gmm_score_is_gradient_of_log_prob():
    m = _gmm_2d()
    y = np.random.default_rng(2).standard_normal((5, 2)) * 2
    h = 1e-6
    for v in (0.0, 0.4):
        fd = np.stack(
            [(m.log_prob(y + h * e, v) - m.log_prob(y - h * e, v)) / (2 * h) for e in np.eye(2)], -1
        )
        np.testing.assert_allclose(m.score(y, v), fd, rtol=1e-6, atol=1e-7)


def test_gmm_posterior_mean_by_quadrature():
    m = GMMModel([0.3, 0.7], [-2.0, 1.5], [0.2, 0.5])
    v = 0.8
    xs = np.linspace(-12, 12, 200001)
    px = 0.3 * stats.norm.pdf(xs, -2, np.sqrt(0.2)) + 0.7 * stats.norm.pdf(xs, 1.5, np.sqrt(0.5))
    for y in (-1.0, 0.3, 2.5):
        w = px * stats.norm.pdf(y, xs, np.sqrt(v))
        assert m.posterior_mean(np.array([y]), v)[0] == pytest.approx(
            np.trapezoid(xs * w, xs) / np.trapezoid(w, xs), rel=1e-9
        )
        assert np.exp(m.log_prob(np.array([y]), v)[0]) == pytest.approx(
            np.trapezoid(w, xs), rel=1e-9
        )
    assert m.denoise(np.array([0.3]), v) - 0.3 == pytest.approx(v * m.score(np.array([0.3]), v))


def test_gmm_single_component_equals_gaussian():
    g = GaussianModel(MEAN, COV)
    m = GMMModel([1.0], MEAN[None], COV[None])
    y = np.random.default_rng(4).standard_normal((7, 3))
    np.testing.assert_allclose(m.score(y, 0.5), g.score(y, 0.5), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.denoise(y, 0.5), g.denoise(y, 0.5), rtol=1e-12, atol=1e-14)


def test_gmm_log_space_is_stable_far_from_modes():
    m = GMMModel([0.5, 0.5], [-1.0, 1.0], [1e-4, 1e-4])
    y = np.array([-300.0, 0.0, 250.0])
    s = m.score(y, 1e-3)
    assert np.isfinite(s).all()
    assert m.denoise(y, 1e-3)[0] == pytest.approx(-1.0 + 1e-4 / (1.1e-3) * (-299.0), rel=1e-12)


def test_gmm_sampling_law():
    m = GMMModel([0.3, 0.7], [-2.0, 1.5], [0.2, 0.5])
    x = m.sample(5000, seed=5)
    cdf = lambda t: (
        0.3 * stats.norm.cdf(t, -2, np.sqrt(0.2)) + 0.7 * stats.norm.cdf(t, 1.5, np.sqrt(0.5))
    )
    assert stats.kstest(x, cdf).pvalue > ALPHA
    assert np.array_equal(x, m.sample(5000, seed=5))


@pytest.mark.parametrize("make", [lambda: GaussianModel(MEAN, COV), _gmm_2d])
def test_torch_matches_numpy(make):
    m = make()
    d = len(m.event_shape) and m.event_shape[0]
    y = np.random.default_rng(6).standard_normal((8, d))
    for f in ("score", "denoise"):
        out = getattr(m, f)(torch.tensor(y), 0.3)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), getattr(m, f)(y, 0.3), rtol=1e-12, atol=1e-14)
    out32 = m.denoise(torch.tensor(y, dtype=torch.float32), 0.3)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), m.denoise(y, 0.3), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("param", scores.PARAMETERIZATIONS)
def test_prediction_model_wraps_exact_predictor(param):
    g = GaussianModel(MEAN, COV)
    coords = scores.NATIVE_COORDS[param]

    def predict(state, v):
        y = scores.from_coords(state, v, coords)
        return scores.prediction_from_x0(state, g.denoise(y, v), v, param, coords)

    pm = PredictionModel(predict, param)
    y = np.random.default_rng(7).standard_normal((5, 3))
    np.testing.assert_allclose(pm.denoise(y, 0.6), g.denoise(y, 0.6), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(pm.score(y, 0.6), g.score(y, 0.6), rtol=1e-11, atol=1e-12)


def test_validation_errors():
    with pytest.raises(ValueError, match="cov"):
        GaussianModel(np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="cov"):
        GaussianModel(np.zeros(2), [1.0, -1.0])
    with pytest.raises(ValueError, match="mean"):
        GaussianModel(np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="weights"):
        GMMModel([0.5, 0.6], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="covs"):
        GMMModel([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], np.ones((2, 3)))
    m = GaussianModel(MEAN, COV)
    with pytest.raises(ValueError, match="noise_var"):
        m.score(np.zeros((2, 3)), -0.1)
    with pytest.raises(ValueError, match="noise_var"):
        m.score(np.zeros((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="y must have shape"):
        m.score(np.zeros((2, 4)), 0.1)
    with pytest.raises(ValueError, match="rho"):
        m.exact_decode(np.zeros((2, 3)), 0.1, -1.0)
    with pytest.raises(TypeError, match="predict"):
        PredictionModel(3, "eps")
    with pytest.raises(ValueError, match="parameterization"):
        PredictionModel(lambda s, v: s, "noise")


def test_in_eigenbasis_rotates_the_source():
    m = GaussianModel(MEAN, COV)
    e = m.in_eigenbasis()
    assert e is m.in_eigenbasis() and e.eigenvectors is None
    U = m.eigenvectors
    y = np.random.default_rng(3).standard_normal((5, 3))
    np.testing.assert_allclose(e.score(y @ U, 0.6), m.score(y, 0.6) @ U, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(e.covariance, np.diag(np.linalg.eigvalsh(COV)), atol=1e-15)
    diag = GaussianModel(np.zeros(3), [1.0, 2.0, 3.0])
    assert diag.in_eigenbasis() is diag


def test_eigenbasis_round_trip_numpy_and_torch():
    m = GaussianModel(MEAN, COV)
    y = np.random.default_rng(4).standard_normal((5, 3))
    w = m.to_eigenbasis(y)
    np.testing.assert_allclose(w, y @ m.eigenvectors, rtol=1e-14)
    np.testing.assert_allclose(m.from_eigenbasis(w), y, rtol=1e-13, atol=1e-14)
    wt = m.to_eigenbasis(torch.tensor(y))
    assert isinstance(wt, torch.Tensor)
    np.testing.assert_allclose(wt.numpy(), w, rtol=1e-14)
    diag = GaussianModel(np.zeros(3), [1.0, 2.0, 3.0])
    assert diag.to_eigenbasis(y) is y and diag.from_eigenbasis(y) is y
