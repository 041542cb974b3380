"""Fitting the patch prior: EM against known mixtures and scipy densities, the DC-separated
mixture as an exact product, the photograph patch split."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from rdptheory.models.fit_prior import (
    PatchSplit,
    dc_basis,
    em_gmm,
    fit_photo_prior,
    mixture_log_likelihood,
    photo_patch_split,
)
from rdptheory.models.prior import gmm_log_density


def _sample(weights, means, covs, n, seed):
    rng = np.random.default_rng(seed)
    label = rng.choice(len(weights), size=n, p=weights)
    out = np.empty((n, means.shape[1]))
    for k in range(len(weights)):
        sel = label == k
        out[sel] = rng.multivariate_normal(means[k], covs[k], size=int(sel.sum()))
    return out


def _truth():
    w = np.array([0.3, 0.7])
    mu = np.array([[2.0, 0.0, -1.0], [-1.0, 1.0, 0.5]])
    covs = np.array([np.diag([0.2, 0.5, 0.1]), [[0.4, 0.1, 0.0], [0.1, 0.3, 0.05],
                                                [0.0, 0.05, 0.2]]])
    return w, mu, covs


def _scipy_mixture_ll(x, w, mu, covs):
    dens = sum(wk * multivariate_normal(m, c).pdf(x) for wk, m, c in zip(w, mu, covs))
    return np.log(dens)


def test_mixture_log_likelihood_matches_scipy():
    w, mu, covs = _truth()
    x = np.random.default_rng(3).normal(size=(50, 3))
    np.testing.assert_allclose(mixture_log_likelihood(x, w, mu, covs),
                               _scipy_mixture_ll(x, w, mu, covs), rtol=1e-12, atol=1e-12)


def test_em_recovers_a_known_mixture_and_stops_on_the_heldout_likelihood():
    w, mu, covs = _truth()
    train, held = _sample(w, mu, covs, 20000, 0), _sample(w, mu, covs, 5000, 1)
    fit = em_gmm(train, 2, heldout=held, seed=0, max_iter=200)
    order = np.argsort(fit.weights)  # component 0 of the truth has the smaller weight
    # 20 000 draws: standard errors ~ sqrt(w(1-w)/n) = 3e-3 (weights), ~5e-3 (means); 5 sigma
    np.testing.assert_allclose(fit.weights[order], w, atol=0.02)
    np.testing.assert_allclose(fit.means[order], mu, atol=0.03)
    np.testing.assert_allclose(fit.covariances[order], covs, atol=0.03)
    lls = [s.train_ll for s in fit.history]
    assert np.all(np.diff(lls) > -1e-9)  # EM never lowers the training likelihood
    best = max(s.heldout_ll for s in fit.history)
    assert len(fit.history) < 200  # stopped on the held-out criterion
    np.testing.assert_allclose(mixture_log_likelihood(held, fit.weights, fit.means,
                                                      fit.covariances).mean() / 3, best,
                               rtol=1e-12)
    # the fitted mixture is within sampling error of the truth on held-out data
    truth = _scipy_mixture_ll(held, w, mu, covs).mean() / 3
    assert abs(best - truth) < 0.01


def test_em_is_seeded():
    w, mu, covs = _truth()
    train, held = _sample(w, mu, covs, 2000, 0), _sample(w, mu, covs, 500, 1)
    a = em_gmm(train, 3, heldout=held, seed=4, max_iter=5)
    b = em_gmm(train, 3, heldout=held, seed=4, max_iter=5)
    np.testing.assert_array_equal(a.means, b.means)
    np.testing.assert_array_equal(a.covariances, b.covariances)


def test_dc_basis_is_orthonormal_and_measures_channel_means():
    dc, q = dc_basis(3, 2)
    basis = np.hstack([dc, q])
    np.testing.assert_allclose(basis.T @ basis, np.eye(18), atol=1e-12)
    x = np.random.default_rng(0).normal(size=(5, 18))
    means = x.reshape(5, 2, 9).mean(axis=2)
    np.testing.assert_allclose(x @ dc, 3.0 * means, atol=1e-12)  # 1/p · sum = p · mean


def test_separate_dc_prior_is_the_product_of_its_parts():
    """log p(x) of the assembled PatchGMM = log N(Dᵀx; m, S) + log GMM_ac(Qᵀx), computed from
    parameters re-estimated here independently (the same EM on Qᵀx, the DC moments)."""
    rng = np.random.default_rng(0)
    patch, n = 2, 3000
    w, mu, covs = _truth()
    ac = _sample(w, mu, covs, n + 500, 2)  # 3 latent dims mapped into the 12-dim patch
    mix = rng.normal(size=(3, 12)) * 0.3
    x = ac @ mix + 0.05 * rng.normal(size=(n + 500, 12))
    split = PatchSplit(x[:n], x[n:], x[n:])
    gmm, hist = fit_photo_prior(split, patch=patch, n_components=2, dc="separate", seed=0,
                                max_iter=30)
    dcb, q = dc_basis(patch)
    fit = em_gmm(x[:n] @ q, 2, heldout=x[n:] @ q, seed=0, max_iter=30)
    dct = x[:n] @ dcb
    want = (mixture_log_likelihood(x[n:] @ q, fit.weights, fit.means, fit.covariances)
            + multivariate_normal(dct.mean(axis=0), np.cov(dct, rowvar=False)).logpdf(
                x[n:] @ dcb))
    np.testing.assert_allclose(gmm_log_density(gmm, x[n:], 0.0), want, rtol=1e-9, atol=1e-9)
    assert len(hist) == len(fit.history)


def test_photo_patch_split_is_dequantised_training_data():
    s = photo_patch_split(4, 80, 40, seed=0)
    assert s.train.shape == (80, 48) and s.heldout.shape == (40, 48) and s.unseen.shape == (40, 48)
    for part in s:
        u = (part + 1.0) * 127.5  # = pixel + v - 1/2, v in [0, 1)
        frac = u - np.floor(u + 0.5)
        assert np.all((frac >= -0.5) & (frac < 0.5)) and 0.25 < frac.std() < 0.33  # U: 0.289
        assert u.min() >= -0.5 and u.max() < 255.5
    again = photo_patch_split(4, 80, 40, seed=0)
    np.testing.assert_array_equal(again.train, s.train)


def test_bad_arguments():
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="n_components"):
        em_gmm(x, 0, heldout=x)
    with pytest.raises(ValueError, match="at least"):
        em_gmm(x, 11, heldout=x)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        em_gmm(x, 2, heldout=np.zeros((4, 2)))
    with pytest.raises(TypeError, match="max_iter"):
        em_gmm(x, 2, heldout=x, max_iter=1.5)
    with pytest.raises(ValueError, match="dc"):
        fit_photo_prior(PatchSplit(x, x, x), patch=1, n_components=1, dc="mean")
    with pytest.raises(ValueError, match="patch"):
        photo_patch_split(0, 10, 10)


def test_shipped_photo_prior_matches_its_stated_metadata():
    """The shipped photograph prior: normalised weights, the geometry and K its metadata
    states, and held-out / unseen bits per dimension recomputed here with the Cholesky
    log-likelihood of this module (not the eigendecomposition path that wrote them)."""
    from rdptheory.models.prior import PHOTO_PRIOR_PATH, load_prior, prior_metadata

    g, meta = load_prior(PHOTO_PRIOR_PATH), prior_metadata(PHOTO_PRIOR_PATH)
    assert PHOTO_PRIOR_PATH.stat().st_size < 5_000_000
    assert g.patch == 8 and g.channels == 3 and g.n_components == int(meta["components"])
    assert abs(g.weights.sum() - 1.0) < 1e-12 and np.all(g.eigvals > 0)
    assert "china" not in meta["data"] and "flower" not in meta["data"]
    split = photo_patch_split(8, 1, int(meta["test_patches"]), seed=int(meta["seed"]))
    covs = g.covariances()
    for part, key in ((split.heldout, "heldout_bpd"), (split.unseen, "unseen_bpd")):
        nats = -mixture_log_likelihood(part, g.weights, g.means, covs).mean() / g.dim
        assert abs((nats + np.log(127.5)) / np.log(2.0) - float(meta[key])) < 1e-4
    # fitted on more and more varied photographs: a shorter code than the five-photo prior
    assert float(meta["unseen_bpd"]) < float(prior_metadata()["unseen_bpd"])


def test_shifted_model_loads_each_shipped_prior():
    from rdptheory.models.gmm_shifted import shifted_model
    from rdptheory.models.prior import PHOTO_PRIOR_PATH, load_prior

    photos = shifted_model("photos")
    assert photos.prior.fingerprint() == load_prior(PHOTO_PRIOR_PATH).fingerprint()
    assert shifted_model("photos") is photos and len(photos.shifts) == 16
    assert shifted_model() is photos  # the default since the photograph prior shipped
    assert shifted_model("skimage").fingerprint() != photos.fingerprint()
    with pytest.raises(ValueError, match="prior"):
        shifted_model("jpeg")


def test_cli_fits_and_writes_a_photo_prior_with_its_scores(tmp_path, capsys):
    from rdptheory.models.fit_prior import bits_per_dim, main
    from rdptheory.models.prior import load_prior, prior_metadata

    out = tmp_path / "p.npz"
    assert main(["--patch", "2", "--components", "2", "--train-patches", "400",
                 "--test-patches", "60", "--max-iter", "3", "--out", str(out)]) == 0
    g, meta = load_prior(out), prior_metadata(out)
    assert g.patch == 2 and g.n_components == 2 and meta["dc"] == "separate"
    assert int(meta["em_iterations"]) <= 3 and meta["train_patches"] == "400"
    split = photo_patch_split(2, 1, 60, seed=0)
    assert float(meta["heldout_bpd"]) == pytest.approx(bits_per_dim(g, split.heldout), abs=5e-5)
    assert float(meta["unseen_bpd"]) == pytest.approx(bits_per_dim(g, split.unseen), abs=5e-5)
    assert f"held-out {meta['heldout_bpd']}" in capsys.readouterr().out


def test_prior_card_names_the_shipped_files_and_fingerprints():
    # The card changes with the files: their SHA-256 and the models' fingerprints are in it.
    import hashlib

    from rdptheory.models import load_model
    from rdptheory.models.prior import PHOTO_PRIOR_PATH

    card = (PHOTO_PRIOR_PATH.parent / "PRIOR_CARD.md").read_text(encoding="utf-8")
    assert hashlib.sha256(PHOTO_PRIOR_PATH.read_bytes()).hexdigest() in card
    for spec in ("gmm-shift", "gmm-shift-skimage", "patch-gmm"):
        assert load_model(spec).fingerprint().hex()[:12] in card
