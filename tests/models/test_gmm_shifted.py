"""Shift-averaged patch GMM: closed form for one Gaussian, the tiled model as stride = patch,
no grid artefact, protocol and registration."""

import numpy as np
import pytest

from rdptheory.metrics import blockiness
from rdptheory.models import ImageModel, PatchGMMImageModel, load_model
from rdptheory.models.gmm_shifted import ShiftedPatchGMMImageModel
from rdptheory.models.prior import PatchGMM, marginal_window_prior


def _one_gaussian(patch=2, channels=3, seed=0) -> PatchGMM:
    rng = np.random.default_rng(seed)
    d = channels * patch * patch
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    return PatchGMM.from_covariances([1.0], 0.3 * rng.normal(size=(1, d)),
                                     (a @ a.T + 0.05 * np.eye(d))[None], patch=patch,
                                     channels=channels)


def _linear_filter_mean(g: PatchGMM, y: np.ndarray, t2: float, shifts) -> np.ndarray:
    """Closed form, built independently of the model's code: for one Gaussian N(mu, S) each
    tile's posterior mean is the Wiener filter mu_A + S_AA (S_AA + t2 I)^-1 (y_A - mu_A) on the
    patch coordinates A it shows; tiles of the grid with corner (a, b) start at rows a + p*i,
    columns b + p*j (i, j may be -1 for tiles hanging over the top/left edge)."""
    p, c = g.patch, g.channels
    _, h, w = y.shape
    mu, cov = g.means[0], g.covariances()[0]
    out = np.zeros_like(y)
    for a, b in shifts:
        for r0 in range(a - p, h, p):
            for c0 in range(b - p, w, p):
                rows = [r for r in range(r0, r0 + p) if 0 <= r < h]
                cols = [q for q in range(c0, c0 + p) if 0 <= q < w]
                if not rows or not cols:
                    continue
                idx = np.array([ch * p * p + (r - r0) * p + (q - c0)
                                for ch in range(c) for r in rows for q in cols])
                ya = y[np.ix_(range(c), rows, cols)].ravel()
                s = cov[np.ix_(idx, idx)]
                est = mu[idx] + s @ np.linalg.solve(s + t2 * np.eye(len(idx)), ya - mu[idx])
                out[np.ix_(range(c), rows, cols)] += est.reshape(c, len(rows), len(cols))
    return out / len(shifts)


@pytest.mark.parametrize(("patch", "shifts", "size"), [(2, "all", (5, 7)),
                                                      (4, "balanced", (9, 6)),
                                                      (4, [(1, 3), (2, 0)], (6, 11))])
def test_single_gaussian_is_the_averaged_wiener_filter(patch, shifts, size):
    g = _one_gaussian(patch=patch)
    m = ShiftedPatchGMMImageModel(g, shifts=shifts, precision="float64")
    y = np.random.default_rng(1).normal(size=(2, 3, *size))
    t2 = np.array([0.3, 1.7])
    got = m.denoise(y, t2)
    for b in range(2):
        want = _linear_filter_mean(g, y[b], float(t2[b]), m.shifts)
        np.testing.assert_allclose(got[b], want, rtol=1e-11, atol=1e-12)
    f32 = ShiftedPatchGMMImageModel(g, shifts=shifts).denoise(y, t2)
    np.testing.assert_allclose(f32, got, atol=1e-5)


def test_one_shift_is_the_tiled_model(random_gmm):
    g = random_gmm(patch=2, channels=3, k=3)
    y = np.random.default_rng(2).normal(size=(2, 3, 5, 3))
    m = ShiftedPatchGMMImageModel(g, shifts=[(0, 0)], precision="float64")
    np.testing.assert_allclose(m.denoise(y, [0.2, 0.7]),
                               PatchGMMImageModel(g).denoise(y, [0.2, 0.7]), rtol=1e-12)


def test_marginal_window_matches_the_covariance_block(random_gmm):
    g = random_gmm(patch=3, channels=2, k=2)
    w = marginal_window_prior(g, (1, 3), (2, 3))
    idx = np.array([ch * 9 + r * 3 + 2 for ch in range(2) for r in (1, 2)])
    np.testing.assert_allclose(w.covariances(), g.covariances()[:, idx][:, :, idx], atol=1e-12)
    np.testing.assert_allclose(w.means, g.means[:, idx])
    with pytest.raises(ValueError, match="span"):
        marginal_window_prior(g, (2, 2), (0, 3))


def test_balanced_shifts_use_every_offset_twice():
    from rdptheory.models.gmm_shifted import shift_set

    s = shift_set(8, "balanced")
    assert len(s) == len(set(s)) == 16
    for axis in (0, 1):
        assert sorted(x[axis] for x in s) == sorted(list(range(8)) * 2)
    assert len(shift_set(8, "all")) == 64


def _smooth_gmm(p: int = 4) -> PatchGMM:
    """Two stationary components (exponential covariance, correlation length 6 px, correlated
    channels) with means +-0.3: a tiled Wiener/GMM estimate of a flat noisy image then has
    steps at every tile edge."""
    r, c = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pos = np.stack([r.ravel(), c.ravel()], 1)
    dist = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1))
    cov = np.kron(np.full((3, 3), 0.8) + 0.2 * np.eye(3), 0.2 * np.exp(-dist / 6.0))
    cov += 1e-3 * np.eye(3 * p * p)
    return PatchGMM.from_covariances([0.5, 0.5], np.stack([np.full(48, 0.3), np.full(48, -0.3)]),
                                     np.stack([cov, 2 * cov]), patch=p)


@pytest.mark.parametrize("seed", [0, 1])
def test_no_grid_artefact_on_a_constant_plus_noise_image(seed):
    # Blockiness on the patch grid (4 px here): the tiled model's output has steps at the tile
    # edges (measured 3.8); the balanced shift average none (measured 0.96-1.01).
    g = _smooth_gmm()
    y = 0.1 + 0.5 * np.random.default_rng(seed).normal(size=(1, 3, 48, 48))
    tiled = PatchGMMImageModel(g).denoise(y, 0.25)[0].transpose(1, 2, 0)
    shifted = ShiftedPatchGMMImageModel(g).denoise(y, 0.25)[0].transpose(1, 2, 0)
    assert blockiness(tiled, block=4) > 2.5
    assert abs(blockiness(shifted, block=4) - 1.0) < 0.1


def test_protocol_fingerprint_and_torch(random_gmm, check_score_numpy_torch):
    g = random_gmm(patch=2, channels=3, k=2)
    m = ShiftedPatchGMMImageModel(g)
    assert isinstance(m, ImageModel) and len(m.shifts) == 4
    assert m.fingerprint() != PatchGMMImageModel(g).fingerprint()
    assert m.fingerprint() != ShiftedPatchGMMImageModel(g, precision="float64").fingerprint()
    assert m.fingerprint() != ShiftedPatchGMMImageModel(g, shifts=[(0, 1)]).fingerprint()
    y = np.random.default_rng(4).normal(size=(1, 3, 4, 5))
    check_score_numpy_torch(m, y, 0.5, 1e-4)
    assert m.code_shape(4, 5) == (3, 4, 5)
    with pytest.raises(ValueError, match="shifts"):
        ShiftedPatchGMMImageModel(g, shifts=[(0, 2)])
    with pytest.raises(ValueError, match="shifts"):
        ShiftedPatchGMMImageModel(g, shifts="some")
    with pytest.raises(ValueError, match="shape"):
        m.denoise(np.zeros((1, 1, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="noise_var"):
        m.score(y, 0.0)
    with pytest.raises(ValueError, match="precision"):
        ShiftedPatchGMMImageModel(g, precision="float16")
    from rdptheory.models.gmm_shifted import shifted_model

    assert load_model("gmm-shift") is shifted_model() is shifted_model("photos")
    assert load_model("gmm-shift-skimage") is shifted_model("skimage")
    assert load_model("gmm-shift").prior.n_components == 16
    assert load_model("gmm-shift-skimage").prior.n_components == 8
    assert shifted_model().name.startswith("patch-gmm-shift16")
