"""``decompress(..., reconstruction_model=B)``: the chain of the file's model A, the
reconstruction of model B.

Truths, computed here independently of the model code: the replayed state is the *encoder's*
final state (:func:`compress_with_report`'s ``state``); B's posterior mean of that state written
out with scipy for a Gaussian and a 3-component Gaussian mixture (responsibilities from
``N(y; μ_k, Σ_k + t²I)``, then ``μ_k + Σ_k (Σ_k + t²I)^{-1}(y − μ_k)``), tile by tile; and for a
Gaussian B the ρ-scaled PF-ODE's end point in closed form (our own derivation: in the
eigenbasis of Σ, ``du/ds = (ρ/2) u/(λ + s)`` with ``s = t²`` from ``t_n²`` to 0 gives
``u_0 = u_n (λ/(λ + t_n²))^{ρ/2}``), which the Heun decoder must approach as its grid is
refined.
"""

import numpy as np
import pytest

from rdptheory.data import NamedImage, bundled_image, from_model_space
from rdptheory.images import _format
from rdptheory.images.codec import (
    CodecConfig,
    _chain_of,
    _replay,
    compress_with_report,
    decompress,
    posterior_mean,
)
from rdptheory.models import PatchGMMImageModel, load_model
from rdptheory.models.prior import PatchGMM
from rdptheory.testing import random_mixture

CONFIG = CodecConfig(backend="numpy", n_levels=12)
H, W = 16, 24  # whole 8x8 tiles (the file's model) and 2x2 tiles (the reconstruction models)


def patch2_model(k: int, seed: int) -> PatchGMMImageModel:
    """A tiled 2x2x3 Gaussian (k = 1) or Gaussian mixture prior (12 dims), from ``seed``."""
    w, mu, covs = random_mixture(12, k, seed)
    return PatchGMMImageModel(PatchGMM.from_covariances(w, 0.3 * mu, covs, patch=2, channels=3))


def closed_form_ode(truth, model: PatchGMMImageModel, y: np.ndarray, t2: float, rho: float
                    ) -> np.ndarray:
    """The ρ-scaled PF-ODE from ``t2`` to 0 for a one-component (Gaussian) prior."""
    prior = model.prior
    lam, vecs, mu = prior.eigvals[0], prior.eigvecs[0], prior.means[0]
    gain = vecs @ np.diag((lam / (lam + t2)) ** (rho / 2)) @ vecs.T
    return truth.untiles(mu + (truth.tiles(y, 2) - mu) @ gain.T, 3, H, W, 2)


@pytest.fixture(scope="module")
def coded():
    model = load_model("patch-gmm")  # the file's model A: the tiled 8x8 exact-score prior
    image = bundled_image("china").pixels[140:140 + H, 240:240 + W]
    res = compress_with_report(image, model=model, noise_var=0.02, seed=3, config=CONFIG)
    return model, image, res


def test_replayed_state_is_the_encoders(coded):
    model, _, res = coded
    stream = _format.unpack_stream(res.data)
    y = _replay(stream, model, res.n_steps, "numpy")
    np.testing.assert_array_equal(y, res.state)


@pytest.mark.parametrize("k, seed", [(1, 0), (3, 4)])
def test_posterior_mean_of_another_model_is_its_closed_form_of_the_encoders_state(coded, k,
                                                                                   seed,
                                                                                   gmm_truth):
    model, _, res = coded
    recon = patch2_model(k, seed)
    want = gmm_truth.tiled_posterior_mean(recon.prior, res.state, res.noise_var, 2)
    h = _format.unpack_stream(res.data).header
    y = _replay(_format.unpack_stream(res.data), model, res.n_steps, "numpy")
    got = posterior_mean(_chain_of(recon, h), y, res.n_steps)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    decoded = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy",
                         reconstruction_model=recon)
    np.testing.assert_array_equal(decoded, from_model_space(want[0]))
    own = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy")
    assert np.mean(own != decoded) > 0.5  # B's estimate is not A's: the option has an effect


def test_ode_with_a_gaussian_model_tends_to_its_closed_form(coded, gmm_truth):
    model, _, res = coded
    recon = patch2_model(1, 7)
    h = _format.unpack_stream(res.data).header
    chain = _chain_of(recon, h)
    for rho in (1.0, 1.5):
        want = closed_form_ode(gmm_truth, recon, res.state, res.noise_var, rho)
        errs = [float(np.abs(chain.reconstruct(res.state, res.n_steps, rho, s) - want).max())
                for s in (4, 16, 64)]
        assert errs[0] > errs[1] > errs[2], errs
        assert errs[2] < 1e-4, errs
    decoded = decompress(res.data, model=model, rho=1.5, ode_steps=64, solver="heun",
                         backend="numpy",
                         reconstruction_model=recon)
    np.testing.assert_array_equal(
        decoded, from_model_space(chain.reconstruct(res.state, res.n_steps, 1.5, 64)[0]))
    want = from_model_space(closed_form_ode(gmm_truth, recon, res.state, res.noise_var, 1.5)[0])
    assert np.abs(decoded.astype(int) - want.astype(int)).max() <= 1


def test_the_files_own_model_as_reconstruction_model_changes_nothing(coded):
    model, _, res = coded
    for kw in ({"rho": 1.2}, {"estimator": "posterior-mean"}):
        np.testing.assert_array_equal(
            decompress(res.data, model=model, backend="numpy", reconstruction_model=model, **kw),
            decompress(res.data, model=model, backend="numpy", **kw))


def test_a_prefix_is_reconstructed_at_its_own_level(coded, gmm_truth):
    model, image, res = coded
    recon = patch2_model(3, 4)
    k = 5
    prefix = decompress(res.data, model=model, estimator="posterior-mean", max_steps=k,
                        backend="numpy", reconstruction_model=recon)
    h = _format.unpack_stream(res.data).header
    level = float(_chain_of(model, h).levels[k - 1])
    short = compress_with_report(image, model=model, noise_var=level * (1 - 1e-9), seed=3,
                                 config=CONFIG)
    assert short.n_steps == k
    want = gmm_truth.tiled_posterior_mean(recon.prior, short.state, level, 2)
    np.testing.assert_array_equal(prefix, from_model_space(want[0]))


class _Reshaped:
    """An image model like ``base`` but with another code shape or code map (for errors)."""

    def __init__(self, base, *, scale: float = 1.0, extra_rows: int = 0) -> None:
        self.base, self.scale, self.extra_rows = base, scale, extra_rows
        self.name = "reshaped"

    def denoise(self, y, noise_var):
        return self.base.denoise(y, noise_var)

    def score(self, y, noise_var):
        return self.base.score(y, noise_var)

    def to_code_space(self, x):
        return self.scale * np.asarray(x)

    def from_code_space(self, z):
        return np.asarray(z) / self.scale

    def code_shape(self, height, width):
        return (3, height + self.extra_rows, width)

    def fingerprint(self):
        return b"reshaped"


@pytest.mark.parametrize("recon, error, match", [
    ("gmm-shift", TypeError, "model must be an ImageModel"),
    (_Reshaped(patch2_model(1, 0), extra_rows=8), ValueError, r"code shape \(3, 24, 24\)"),
    (_Reshaped(patch2_model(1, 0), scale=2.0), ValueError, "another code space")])
def test_bad_reconstruction_models_are_refused(coded, recon, error, match):
    model, _, res = coded
    with pytest.raises(error, match=match):
        decompress(res.data, model=model, backend="numpy", reconstruction_model=recon)


def test_shaped_files_are_refused():
    model = load_model("patch-gmm")
    image = bundled_image("china").pixels[200:208, 300:308]
    config = CodecConfig(noise="shaped", n_levels=6, t_min=0.3, backend="numpy")
    res = compress_with_report(image, model=model, bpp=4.0, seed=1, config=config)
    with pytest.raises(ValueError, match="applies to isotropic files"):
        decompress(res.data, model=model, backend="numpy", reconstruction_model=model)


def test_evaluate_decodes_with_the_reconstruction_model(coded):
    from rdptheory import metrics
    from rdptheory.experiments.image_eval import evaluate

    model, image, res = coded
    recon = patch2_model(3, 4)
    config = CodecConfig(backend="numpy", n_levels=12)
    result = evaluate([NamedImage("crop", image)], model=model, noise_vars=[0.02], rhos=[],
                      seed=3, config=config, posterior_mean=True, baselines=(),
                      reconstruction_model=recon, show_progress=False)
    want = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy",
                      reconstruction_model=recon)
    (point,) = result.points
    assert point.psnr == pytest.approx(metrics.psnr(image, want), abs=1e-12)
    assert "reconstructed with" in result.description
    with pytest.raises(TypeError, match="reconstruction_model must be an ImageModel"):
        evaluate([NamedImage("crop", image)], model=model, noise_vars=[0.02],
                 reconstruction_model="gmm-shift")


def test_cli_reconstruct_with_is_the_library_decode(coded, tmp_path, capsys):
    from rdptheory.cli import main
    from rdptheory.data import load_image

    model, _, res = coded
    (tmp_path / "a.rdp").write_bytes(res.data)
    rec = tmp_path / "a.png"
    assert main(["decompress", str(tmp_path / "a.rdp"), str(rec), "--model", "patch-gmm",
                 "--reconstruct-with", "gmm-shift", "--estimator", "posterior-mean",
                 "--backend", "numpy"]) == 0
    assert "with gmm-shift" in capsys.readouterr().out
    want = decompress(res.data, model=model, estimator="posterior-mean", backend="numpy",
                      reconstruction_model=load_model("gmm-shift"))
    np.testing.assert_array_equal(load_image(rec).pixels, want)
    assert not np.array_equal(want, decompress(res.data, model=model, backend="numpy",
                                               estimator="posterior-mean"))
