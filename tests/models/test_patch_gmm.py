"""PatchGMMImageModel: tiling, exact border marginals, protocol conformance, numpy/torch."""

import pathlib

import numpy as np
import pytest

from rdptheory.models import ImageModel, PatchGMMImageModel, load_model
from rdptheory.models.prior import gmm_posterior_mean, marginal_tile_prior


@pytest.fixture(scope="module")
def model(random_gmm):
    return PatchGMMImageModel(random_gmm(patch=2, channels=3, k=3))


def test_protocol(model):
    assert isinstance(model, ImageModel)
    assert len(model.fingerprint()) == 32


def test_denoise_tile_by_tile_with_border_marginals(model):
    rng = np.random.default_rng(0)
    y = rng.normal(size=(2, 3, 5, 3))  # 2x2 tiles: interior 2x1 tiles, right strip, bottom, corner
    t2 = np.array([0.2, 0.7])
    out = model.denoise(y, t2)
    g = model.prior
    for b in range(2):
        tile = y[b, :, 2:4, 0:2].reshape(1, -1)
        np.testing.assert_allclose(out[b, :, 2:4, 0:2].ravel(),
                                   gmm_posterior_mean(g, tile, t2[b])[0], rtol=1e-12)
        corner = y[b, :, 4:5, 2:3].reshape(1, -1)
        np.testing.assert_allclose(out[b, :, 4:5, 2:3].ravel(),
                                   gmm_posterior_mean(marginal_tile_prior(g, 1, 1), corner,
                                                      t2[b])[0], rtol=1e-12)


def test_score_and_torch_round_trip(model, check_score_numpy_torch):
    check_score_numpy_torch(model, np.random.default_rng(1).normal(size=(1, 3, 4, 4)), 0.5, 1e-5)


def test_bad_inputs(model):
    with pytest.raises(ValueError, match="shape"):
        model.denoise(np.zeros((1, 1, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="noise_var"):
        model.denoise(np.zeros((2, 3, 4, 4)), np.ones(3))
    with pytest.raises(ValueError, match="noise_var"):
        model.score(np.zeros((1, 3, 4, 4)), 0.0)
    with pytest.raises(TypeError, match="PatchGMM"):
        PatchGMMImageModel(prior="nope")


def test_shipped_prior_loads_by_name():
    """The embedded prior loads by name (the default image model is the UNet since 2026-12-06)."""
    m = load_model("patch-gmm")
    assert isinstance(m, PatchGMMImageModel) and load_model("gmm") is m
    assert m.prior.channels == 3 and m.code_shape(10, 12) == (3, 10, 12)


#: Outputs of the patch GMM's own formulas (rdptheory.images.prior/models before issue 10's
#: reshuffle, commit 200dc54) on fixed seeded inputs: 2 images 13x11 (interior, right, bottom
#: and corner tiles) at t^2 = 0.01 and 0.7, and 16 patches at 16 levels in [0, 2).
REFERENCE = pathlib.Path(__file__).with_name("data") / "patch_gmm_reference.npz"


def test_tiling_over_gmmmodel_reproduces_the_former_closed_form():
    """The tiling layer over diffusion.GMMModel gives the former posterior means and log
    densities (saved before the move) to round-off."""
    from rdptheory.models.prior import gmm_log_density, gmm_posterior_mean, load_prior

    ref = np.load(REFERENCE)
    model = PatchGMMImageModel()
    np.testing.assert_allclose(model.denoise(ref["image"], ref["t2"]), ref["denoise"],
                               rtol=0, atol=1e-12)
    gmm = load_prior()
    np.testing.assert_allclose(gmm_posterior_mean(gmm, ref["y"], ref["ty"]), ref["pm"],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(gmm_log_density(gmm, ref["y"], ref["ty"]), ref["ld"],
                               rtol=1e-12, atol=0)
