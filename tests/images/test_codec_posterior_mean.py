"""The decoder's posterior-mean end (``decompress(..., estimator="posterior-mean")``).

Truths, each computed here independently of the model code: the Gaussian-mixture posterior
mean written out with scipy (responsibilities from ``N(y; μ_k, Σ_k + D)`` in log space, then
``μ_k + Σ_k (Σ_k + D)^{-1} (y − μ_k)``) on the *encoder's* final state (from
:func:`compress_with_report`), tile by tile; and, for a Gaussian prior, the ρ = 2 PF-ODE, which
reaches the posterior mean exactly in the continuous limit (THEORY.md §3), so the ODE decode
must converge to the posterior-mean decode as its grid is refined.
"""

import numpy as np
import pytest

from rdptheory.data import bundled_image, from_model_space
from rdptheory.images import _format
from rdptheory.images import noise as _noise
from rdptheory.images.codec import (
    ESTIMATORS,
    CodecConfig,
    _chain_of,
    compress_with_report,
    decompress,
    posterior_mean,
)
from rdptheory.models import PatchGMMImageModel, load_model
from rdptheory.models.prior import PatchGMM
from rdptheory.testing import random_mixture

CONFIG = CodecConfig(backend="numpy", n_levels=12)


@pytest.fixture(scope="module")
def tiled():
    model = load_model("patch-gmm")  # the tiled exact-score prior, 8x8 tiles
    image = bundled_image("china").pixels[140:156, 240:264]  # 16x24: whole tiles
    res = compress_with_report(image, model=model, noise_var=0.01, seed=5, config=CONFIG)
    return model, image, res


def test_estimators_are_named():
    assert ESTIMATORS == ("ode", "posterior-mean")


def test_tiled_gmm_posterior_mean_is_the_closed_form_of_the_encoders_state(tiled, gmm_truth):
    model, image, res = tiled
    want = gmm_truth.tiled_posterior_mean(model.prior, res.state, res.noise_var, 8)
    h = _format.unpack_stream(res.data).header
    got = posterior_mean(_chain_of(model, h), res.state, res.n_steps)
    assert got.shape == want.shape == (1, 3, 16, 24)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    decoded = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy")
    np.testing.assert_array_equal(decoded, from_model_space(want[0]))


def test_posterior_mean_of_a_prefix_uses_that_prefix_level(tiled, gmm_truth):
    """``max_steps``: the mean of the state after k steps, at the k-th level."""
    model, image, res = tiled
    k = 6
    prefix = compress_with_report(image, model=model,
                                  noise_var=float(_chain_of(model, _format.unpack_stream(
                                      res.data).header).levels[k - 1]) * (1 - 1e-9),
                                  seed=5, config=CONFIG)
    assert prefix.n_steps == k
    want = gmm_truth.tiled_posterior_mean(model.prior, prefix.state, prefix.noise_var, 8)
    got = decompress(res.data, model=model, estimator="posterior-mean", max_steps=k,
                     backend="numpy")
    np.testing.assert_array_equal(got, from_model_space(want[0]))


def test_rho2_ode_is_not_the_posterior_mean_for_a_mixture(tiled):
    """THEORY.md §3: for a GMM the ρ = 2 ODE's end point is not E[X|Y]; the gap stays when the
    grid is refined (measured here, t² = 0.017: 2.9e-4 RMS in model space at 32 and at 64 Heun
    steps, while the two grids differ by 5e-7 RMS)."""
    model, _, res = tiled
    h = _format.unpack_stream(res.data).header
    chain = _chain_of(model, h)
    mean = posterior_mean(chain, res.state, res.n_steps)
    ode = [chain.reconstruct(res.state, res.n_steps, 2.0, s) for s in (32, 64)]
    rms = [float(np.sqrt(np.mean((o - mean) ** 2))) for o in ode]
    grid = float(np.sqrt(np.mean((ode[0] - ode[1]) ** 2)))
    assert min(rms) > 20 * grid, (rms, grid)


def gaussian_model(seed: int = 0) -> PatchGMMImageModel:
    _, mu, covs = random_mixture(12, 1, seed)
    return PatchGMMImageModel(PatchGMM.from_covariances(np.ones(1), 0.3 * mu, covs, patch=2,
                                                        channels=3))


def test_rho2_ode_decode_tends_to_the_posterior_mean_for_a_gaussian(gmm_truth):
    model = gaussian_model()
    image = bundled_image("flower").pixels[100:110, 100:116]  # 10x16: 2x2 tiles
    res = compress_with_report(image, model=model, noise_var=0.05, seed=2, config=CONFIG)
    chain = _chain_of(model, _format.unpack_stream(res.data).header)
    mean = posterior_mean(chain, res.state, res.n_steps)
    want = gmm_truth.tiled_posterior_mean(model.prior, res.state, res.noise_var, 2)
    np.testing.assert_allclose(mean, want, rtol=0, atol=1e-12)
    errs = [float(np.abs(chain.reconstruct(res.state, res.n_steps, 2.0, s) - mean).max())
            for s in (4, 16, 64)]
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[2] < 1e-4, errs  # Heun: second order in the grid
    ode = decompress(res.data, model=model, rho=2.0, ode_steps=64, backend="numpy")
    pm = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy")
    assert np.abs(ode.astype(int) - pm.astype(int)).max() <= 1
    assert np.mean(ode != pm) < 0.02


def test_shaped_file_posterior_mean_is_the_closed_form_in_the_dct_basis(gmm_truth):
    """A shaped file: the shaped chain's posterior mean at its per-coefficient levels."""
    model = load_model("patch-gmm")
    image = bundled_image("china").pixels[200:212, 300:310]  # 12x10: padded to 16x16
    config = CodecConfig(noise="shaped", n_levels=8, t_min=0.2, backend="numpy")
    res = compress_with_report(image, model=model, bpp=6.0, seed=1, config=config)
    chain = _noise.shaped_chain_for(model, config.recipe, 12, 10)
    prior, basis = model.prior, chain.basis
    level = np.broadcast_to(chain.levels[res.n_steps - 1], (192,))
    covs = basis.T @ gmm_truth.covariances(prior) @ basis  # B^T Σ_k B, one per component
    want_b = gmm_truth.mixture_posterior_mean(res.state, prior.weights, prior.means @ basis,
                                              covs, np.diag(level))
    got = posterior_mean(chain, res.state, res.n_steps)
    want = chain.from_state(want_b)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    decoded = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy")
    np.testing.assert_array_equal(decoded, from_model_space(want[0][:, :12, :10]))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(estimator="mmse"), ValueError, "estimator must be one of 'ode', 'posterior-mean'"),
    (dict(estimator=2), TypeError, "estimator must be a string"),
    (dict(estimator="posterior-mean", rho=2.0), ValueError, "rho applies to the ODE"),
    (dict(estimator="posterior-mean", ode_steps=8), ValueError, "ode_steps applies"),
    (dict(estimator="posterior-mean", solver="exp2"), ValueError, "solver applies"),
    (dict(estimator="posterior-mean", per_direction=True), ValueError, "per_direction"),
    (dict(estimator="posterior-mean", rho=1.0, ode_steps=4), ValueError,
     "rho, ode_steps apply to the ODE decoder")])
def test_bad_estimator_arguments(tiled, kwargs, error, match):
    model, _, res = tiled
    with pytest.raises(error, match=match):
        decompress(res.data, model=model, backend="numpy", **kwargs)


def test_ode_default_rho_is_one(tiled):
    model, _, res = tiled
    np.testing.assert_array_equal(decompress(res.data, model=model, backend="numpy"),
                                  decompress(res.data, model=model, rho=1.0, backend="numpy"))
