"""The patch-GMM prior: exact log-density, posterior mean = Tweedie, marginals, file round trip."""


import numpy as np
import pytest
from scipy.stats import multivariate_normal

from rdptheory.models.prior import (
    DEFAULT_PRIOR_PATH,
    PatchGMM,
    gmm_log_density,
    gmm_posterior_mean,
    load_prior,
    marginal_tile_prior,
    prior_metadata,
    save_prior,
)


@pytest.mark.parametrize("t2", [0.0, 0.3])
def test_log_density_matches_scipy_mixture(random_gmm, t2):
    g = random_gmm()
    y = np.random.default_rng(1).normal(size=(5, g.dim))
    ref = np.log(sum(w * multivariate_normal(m, c + t2 * np.eye(g.dim)).pdf(y)
                     for w, m, c in zip(g.weights, g.means, g.covariances())))
    np.testing.assert_allclose(gmm_log_density(g, y, t2), ref, rtol=1e-12)


def test_posterior_mean_is_tweedie(random_gmm):
    # E[X|y] = y + t² ∇ log p_t(y): check against a central finite difference of log p_t.
    g, t2, h = random_gmm(), 0.4, 1e-5
    y = np.random.default_rng(2).normal(size=(3, g.dim))
    grad = np.stack([(gmm_log_density(g, y + h * e, t2) - gmm_log_density(g, y - h * e, t2))
                     / (2 * h) for e in np.eye(g.dim)], axis=1)
    np.testing.assert_allclose(gmm_posterior_mean(g, y, t2), y + t2 * grad, atol=1e-7)


def test_posterior_mean_at_zero_noise_is_identity(random_gmm):
    g = random_gmm()
    y = np.random.default_rng(3).normal(size=(4, g.dim))
    np.testing.assert_allclose(gmm_posterior_mean(g, y, 0.0), y, atol=1e-12)


def test_marginal_tile_prior_is_the_marginal_density(random_gmm):
    g = random_gmm(patch=3, channels=2, k=2)
    m = marginal_tile_prior(g, 2, 1)
    idx = [c * 9 + i * 3 + 0 for c in range(2) for i in range(2)]
    y = np.random.default_rng(4).normal(size=(3, 4))
    cov = g.covariances()
    ref = np.log(sum(w * multivariate_normal(mu[idx], c[np.ix_(idx, idx)]).pdf(y)
                     for w, mu, c in zip(g.weights, g.means, cov)))
    np.testing.assert_allclose(gmm_log_density(m, y, 0.0), ref, rtol=1e-12)


def test_save_load_round_trip_to_float32(random_gmm, tmp_path):
    g = random_gmm()
    save_prior(g, tmp_path / "p.npz", note="x")
    h = load_prior(tmp_path / "p.npz")
    np.testing.assert_allclose(h.covariances(), g.covariances(), rtol=1e-5, atol=1e-6)
    assert prior_metadata(tmp_path / "p.npz") == {"note": "x"}
    assert h.fingerprint() != g.fingerprint()  # float32 storage changes the parameters


def test_bad_arguments(random_gmm):
    g = random_gmm()
    with pytest.raises(ValueError, match="noise_var"):
        gmm_posterior_mean(g, np.zeros((1, g.dim)), -1.0)
    with pytest.raises(ValueError, match="shape"):
        gmm_posterior_mean(g, np.zeros((1, g.dim + 1)), 1.0)
    with pytest.raises(ValueError, match="weights"):
        PatchGMM(np.array([0.5, 0.6]), g.means[:2], g.eigvals[:2], g.eigvecs[:2], patch=2)
    with pytest.raises(FileNotFoundError, match="fit_prior"):
        load_prior("/nonexistent/prior.npz")


def test_shipped_prior_is_small_and_documented():
    assert DEFAULT_PRIOR_PATH.stat().st_size < 2_000_000
    g = load_prior()
    meta = prior_metadata()
    assert g.channels == 3 and float(meta["heldout_bpd"]) < float(meta["unseen_bpd"])


def test_agrees_with_the_diffusion_packages_gmm_model(random_gmm):
    from rdptheory.diffusion import GMMModel

    g = random_gmm(patch=2, channels=2, k=4, seed=5)
    ref = GMMModel(g.weights, g.means, g.covariances())
    y = np.random.default_rng(6).normal(size=(6, g.dim))
    for t2 in (0.01, 0.5, 4.0):
        np.testing.assert_allclose(gmm_posterior_mean(g, y, t2), ref.denoise(y, t2),
                                   rtol=1e-10, atol=1e-12)


def test_fingerprint_does_not_depend_on_blas_threads():
    # The eigendecomposition of the stored covariances runs on one BLAS thread: a process with
    # the library's default thread count gets the same parameters and fingerprint as this one
    # (tests/conftest.py pins one thread). Before, the two differed and files were refused.
    import os
    import subprocess
    import sys

    from rdptheory.models.prior import PHOTO_PRIOR_PATH

    code = ("from rdptheory.models.prior import load_prior, PHOTO_PRIOR_PATH, DEFAULT_PRIOR_PATH;"
            "print(load_prior(DEFAULT_PRIOR_PATH).fingerprint().hex(),"
            " load_prior(PHOTO_PRIOR_PATH).fingerprint().hex())")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    here = [load_prior(p).fingerprint().hex() for p in (DEFAULT_PRIOR_PATH, PHOTO_PRIOR_PATH)]
    assert out == here
