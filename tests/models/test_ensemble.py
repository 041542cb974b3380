"""The stacked denoiser (rdptheory.models.ensemble): self-ensembles against exact posterior
means and closed forms, the convex blend fit against the MSE-optimal weights, a codec round
trip (decoder state = encoder state, fingerprints refuse another ensemble), input validation.

Default tests use torch-free members (analytic GMMs, linear maps, the tiled patch GMM); the
shipped UNet ensembles run only in the slow tests.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from rdptheory.diffusion import GMMModel
from rdptheory.models import load_model
from rdptheory.models.ensemble import (
    DIHEDRAL,
    ENSEMBLE_SPECS,
    SHIPPED_BLENDS,
    TRANSFORM_SETS,
    BlendTable,
    EnsembleModel,
    apply_transform,
    blend_table_path,
    convex_weights,
    ensemble_from_file,
    fit_blend,
    fit_convex_weights,
    invert_transform,
    load_ensemble,
    read_blend_file,
    self_ensemble,
    transform_set,
    write_blend_file,
)
from rdptheory.models.protocol import ImageModel, PixelSpaceModel

SIDE = 4  # the analytic members' images are (3, SIDE, SIDE)


def dihedral_index(k: int, flip: bool, side: int) -> np.ndarray:
    """Flat source index of every output pixel of ``g = (k, flip)`` on a side×side plane,
    written out from the definitions (flip: j -> side-1-j; one quarter turn counter-clockwise:
    out[i, j] = in[j, side-1-i]), independently of numpy's rot90."""
    idx = np.arange(side * side).reshape(side, side)
    if flip:
        idx = idx[:, ::-1]
    for _ in range(k):
        idx = np.array([[idx[j, side - 1 - i] for j in range(side)] for i in range(side)])
    return idx.reshape(-1)


def permutation(k: int, flip: bool) -> np.ndarray:
    """The (3·SIDE², 3·SIDE²) permutation matrix of ``g`` acting on (3, SIDE, SIDE) images."""
    src = dihedral_index(k, flip, SIDE)
    n = SIDE * SIDE
    p = np.zeros((3 * n, 3 * n))
    for c in range(3):
        p[c * n + np.arange(n), c * n + src] = 1.0
    return p


class FlatModel(PixelSpaceModel):
    """A pixel-space model whose denoiser is a function of the flattened (3, SIDE, SIDE) image."""

    channels = 3

    def __init__(self, flat_denoise, name: str) -> None:
        self.flat_denoise, self.name = flat_denoise, name

    def denoise(self, y, noise_var):
        y = np.asarray(y, dtype=np.float64)
        t2 = np.broadcast_to(np.asarray(noise_var, dtype=np.float64), (y.shape[0],))
        out = np.stack([self.flat_denoise(y[b].reshape(-1), float(t2[b]))
                        for b in range(y.shape[0])])
        return out.reshape(y.shape)

    def fingerprint(self) -> bytes:
        return self.name.encode().ljust(32, b"\0")


class ShiftModel(PixelSpaceModel):
    """``D(y) = c·y + d·roll(y, 1, axis=W)``: not equivariant, any image size."""

    channels = 3
    name = "shift"

    def __init__(self, c: float, d: float) -> None:
        self.c, self.d = c, d

    def denoise(self, y, noise_var):
        y = np.asarray(y, dtype=np.float64)
        return self.c * y + self.d * np.roll(y, 1, axis=3)

    def fingerprint(self) -> bytes:
        return b"shift".ljust(32, b"\0")


@pytest.fixture(scope="module")
def invariant_gmm() -> GMMModel:
    """A GMM on (3, SIDE, SIDE) images invariant under the dihedral group: the 8 images
    (P_g μ, P_g Σ P_gᵀ) of each of two random components, with equal weights."""
    rng = np.random.default_rng(11)
    d = 3 * SIDE * SIDE
    weights, means, covs = [], [], []
    for w0 in (0.3, 0.7):
        mu = rng.normal(0.0, 0.5, d)
        a = rng.normal(0.0, 0.3, (d, 6))
        cov = a @ a.T + 0.05 * np.eye(d)
        for k, flip in DIHEDRAL:
            p = permutation(k, flip)
            weights.append(w0 / 8)
            means.append(p @ mu)
            covs.append(p @ cov @ p.T)
    return GMMModel(np.array(weights), np.array(means), np.array(covs))


def test_permutation_helpers_match_apply_and_invert():
    x = np.random.default_rng(0).normal(size=(2, 3, SIDE, SIDE))
    for g in DIHEDRAL:
        p = permutation(*g)
        want = (x.reshape(2, -1) @ p.T).reshape(x.shape)
        np.testing.assert_array_equal(apply_transform(x, g), want)
        np.testing.assert_array_equal(invert_transform(want, g), x)


@pytest.mark.parametrize("noise_var", [0.01, 0.3, 4.0])
def test_self_ensemble_of_an_invariant_prior_is_its_posterior_mean(invariant_gmm, noise_var):
    """E[X | g y] = g E[X | y] for a g-invariant prior: averaging changes nothing (1e-12)."""
    member = FlatModel(lambda v, t2: invariant_gmm.denoise(v, t2), "gmm")
    y = np.random.default_rng(1).normal(0.0, 1.0, (3, 3, SIDE, SIDE))
    exact = member.denoise(y, noise_var)
    model = EnsembleModel([member], transforms=["x8"])
    np.testing.assert_allclose(model.denoise(y, noise_var), exact, rtol=0, atol=1e-12)


def test_self_ensemble_of_a_non_invariant_prior_differs_from_its_posterior_mean(invariant_gmm):
    """The control: one orbit element of the symmetrised mixture (not invariant) is moved."""
    base = GMMModel([1.0], invariant_gmm.means[:1],
                    np.einsum("dk,k,ek->de", invariant_gmm.eigenvectors[0],
                              invariant_gmm.eigenvalues[0], invariant_gmm.eigenvectors[0])[None])
    member = FlatModel(lambda v, t2: base.denoise(v, t2), "gmm1")
    y = np.random.default_rng(1).normal(0.0, 1.0, (3, 3, SIDE, SIDE))
    gap = EnsembleModel([member], transforms=["x8"]).denoise(y, 0.3) - member.denoise(y, 0.3)
    assert np.abs(gap).max() > 0.05


def test_self_ensemble_of_a_linear_map_is_its_group_average():
    """For D(y) = A y the self-ensemble is (1/|G|) Σ_g P_gᵀ A P_g y (permutation matrices)."""
    rng = np.random.default_rng(2)
    d = 3 * SIDE * SIDE
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    member = FlatModel(lambda v, t2: a @ v, "linear")
    y = rng.normal(size=(2, 3, SIDE, SIDE))
    for name, transforms in TRANSFORM_SETS.items():
        mat = sum(permutation(*g).T @ a @ permutation(*g) for g in transforms) / len(transforms)
        want = (y.reshape(2, -1) @ mat.T).reshape(y.shape)
        got = self_ensemble(member, y, np.full(2, 0.1), transforms)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=name)


def test_self_ensemble_on_a_non_square_image_averages_the_shift_directions():
    """Conjugating a one-pixel roll by the rotations gives the four directions, by the flip the
    opposite one: c·y + d·mean(rolls) in closed form, for a 5×7 image."""
    y = np.random.default_rng(3).normal(size=(2, 3, 5, 7))
    member = ShiftModel(0.5, 0.25)
    four = (np.roll(y, 1, 3) + np.roll(y, -1, 3) + np.roll(y, 1, 2) + np.roll(y, -1, 2)) / 4
    two = (np.roll(y, 1, 3) + np.roll(y, -1, 3)) / 2
    for name, rolls in (("x8", four), ("rot4", four), ("flip", two)):
        got = EnsembleModel([member], transforms=[name]).denoise(y, 0.2)
        np.testing.assert_allclose(got, 0.5 * y + 0.25 * rolls, rtol=0, atol=1e-14,
                                   err_msg=name)


def test_blend_applies_interpolated_weights_per_batch_element():
    """Two constant members: the output is Σ w_m(t_b) c_m, weights linear in ln t, clamped."""
    ones = FlatModel(lambda v, t2: np.ones_like(v), "one")
    zeros = FlatModel(lambda v, t2: np.zeros_like(v), "zero")
    table = BlendTable(np.log([0.1, 1.0]), [[0.0, 1.0], [1.0, 0.0]])
    model = EnsembleModel([ones, zeros], blend=table)
    t = np.array([0.01, 0.1, np.sqrt(0.1), 1.0, 5.0])  # below, at, between (mid ln t), at, above
    out = model.denoise(np.zeros((5, 3, SIDE, SIDE)), t**2)
    np.testing.assert_allclose(out[:, 0, 0, 0], [0.0, 0.0, 0.5, 1.0, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(table.weights_at([0.0]), [[0.0, 1.0]])  # t = 0: first row


def test_zero_weight_member_is_not_called():
    calls = []

    def counted(v, t2):
        calls.append(t2)
        return v

    table = BlendTable(np.log([0.1, 1.0]), [[1.0, 0.0], [0.0, 1.0]])
    model = EnsembleModel([FlatModel(lambda v, t2: v, "a"), FlatModel(counted, "b")],
                          blend=table)
    model.denoise(np.zeros((1, 3, SIDE, SIDE)), 0.01)
    assert calls == []
    model.denoise(np.zeros((1, 3, SIDE, SIDE)), 0.25)
    assert calls == [0.25]


# --- the convex fit ----------------------------------------------------------------------


@pytest.mark.parametrize("a1, a2", [(1.0, 0.2), (0.9, 0.8), (0.1, 0.3), (0.3, 0.1)])
@pytest.mark.parametrize("s, t2", [(1.0, 0.5), (0.2, 0.05)])
def test_convex_weight_of_two_linear_denoisers_is_the_mse_optimum(a1, a2, s, t2):
    """x ~ N(0, s), y = x + tN, D_i = a_i y. Population Gram G_ij = a_i a_j (s + t²), b_i = a_i s;
    the MSE-optimal convex weight makes w a1 + (1 − w) a2 = s/(s + t²) (Wiener), clipped."""
    a = np.array([a1, a2])
    w = convex_weights(np.outer(a, a) * (s + t2), a * s)
    wiener = s / (s + t2)
    w1 = float(np.clip((wiener - a2) / (a1 - a2), 0.0, 1.0))
    np.testing.assert_allclose(w, [w1, 1.0 - w1], rtol=0, atol=1e-12)


def test_fitted_weight_on_samples_is_the_sample_minimiser_and_near_the_optimum():
    """On samples the fit equals the clipped 1-D minimiser ⟨x − x̂₂, x̂₁ − x̂₂⟩/‖x̂₁ − x̂₂‖²
    exactly; it estimates the population optimum 7/12 (s = 1, t² = 0.5, a = (1, 0.2)) with
    standard error 0.0019 at n = 10⁵ (the least-squares slope's SE
    √(s t²/(s + t²) / (n (s + t²))) divided by a₁ − a₂; 0.0020 measured over 300 seeds);
    tolerance 5 SE."""
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, 100_000)
    y = x + np.sqrt(0.5) * rng.normal(size=x.size)
    e1, e2 = 1.0 * y, 0.2 * y
    w = fit_convex_weights(np.stack([e1, e2]), x)
    sample = float(np.dot(x - e2, e1 - e2) / np.dot(e1 - e2, e1 - e2))
    np.testing.assert_allclose(w, [sample, 1.0 - sample], rtol=0, atol=1e-12)
    assert abs(w[0] - 7 / 12) < 5 * 0.002


def test_three_member_fit_is_the_simplex_minimum():
    """Against a dense grid on the 2-simplex: the fitted objective is never above the grid's
    minimum, and its weights lie on the simplex."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        e = rng.normal(size=(3, 50))
        x = rng.normal(size=50) + e[0] * rng.uniform(0, 1)
        w = fit_convex_weights(e, x)
        assert np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-12
        grid = np.array([(i, j, 200 - i - j) for i in range(201) for j in range(201 - i)]) / 200
        err = ((grid @ e - x) ** 2).sum(axis=1)
        assert ((w @ e - x) ** 2).sum() <= err.min() + 1e-9


def test_fit_blend_recovers_the_optimal_weight_on_a_gaussian_source():
    """fit_blend on images of iid N(0, s) pixels with two shrinkage members a y: at each level
    the weight is the Wiener weight of the previous tests within 5 standard errors (SE 0.0036
    / 0.0049 / 0.0044 at t = 0.2 / 0.4 / 0.8 for these 4·3·32² = 12288 pixels, measured over
    200 image and noise seeds; tolerance 0.025)."""
    s, a = 0.25, (1.0, 0.1)
    x = np.random.default_rng(6).normal(0.0, np.sqrt(s), (4, 3, 32, 32))
    members = [ShiftModel(a[0], 0.0), ShiftModel(a[1], 0.0)]
    t = np.array([0.2, 0.4, 0.8])
    fit = fit_blend(members, ["identity", "identity"], x, t, seed=7, batch=3)
    wiener = s / (s + t**2)
    want = np.clip((wiener - a[1]) / (a[0] - a[1]), 0, 1)
    np.testing.assert_allclose(fit.table.weights[:, 0], want, rtol=0, atol=0.025)
    np.testing.assert_allclose(fit.table.log_t, np.log(t))
    assert np.all(fit.blend_mse <= fit.member_mse.min(axis=1) + 1e-15)
    # the reported member MSE is that member's own squared error on the same noise draw
    rng = np.random.default_rng(np.random.SeedSequence([7, 1]))
    y = x + t[1] * rng.standard_normal(x.shape)
    np.testing.assert_allclose(fit.member_mse[1, 0], np.mean((a[0] * y - x) ** 2), rtol=1e-12)


# --- the codec, fingerprints, files -----------------------------------------------------


def small_ensemble(transforms=("x8", "identity"), weights=((0.3, 0.7), (1.0, 0.0))):
    """The tiled patch GMM self-ensembled, blended with itself un-ensembled (torch-free)."""
    gmm = load_model("patch-gmm")
    return EnsembleModel([gmm, gmm], transforms=list(transforms),
                         blend=BlendTable(np.log([0.05, 1.0]), np.array(weights)))


def test_codec_round_trip_and_fingerprint_refusal():
    from rdptheory.data import bundled_image
    from rdptheory.images import _format
    from rdptheory.images.codec import CodecConfig, _replay, compress_with_report, decompress

    image = bundled_image("china").pixels[150:159, 250:262]  # 9x12: odd rotations swap sides
    config = CodecConfig(backend="numpy", n_levels=8)
    model = small_ensemble(transforms=("rot4", "identity"))
    assert isinstance(model, ImageModel)
    res = compress_with_report(image, model=model, noise_var=0.1, seed=3, config=config)
    stream = _format.unpack_stream(res.data)
    np.testing.assert_array_equal(_replay(stream, model, stream.header.n_steps, "numpy"),
                                  res.state)
    out = decompress(res.data, model=model, backend="numpy", ode_steps=2)
    assert out.shape == image.shape and out.dtype == np.uint8
    for other in (small_ensemble(transforms=("x8", "identity")),
                  small_ensemble(transforms=("rot4", "identity"),
                                 weights=((0.3, 0.7), (0.9, 0.1))),
                  load_model("patch-gmm")):
        assert other.fingerprint() != model.fingerprint()
        with pytest.raises(ValueError, match="another model"):
            decompress(res.data, model=other, backend="numpy", ode_steps=2)


def test_blend_file_round_trip_and_member_check(tmp_path):
    gmm = load_model("patch-gmm")
    x = np.random.default_rng(8).normal(0.0, 0.3, (2, 3, 8, 8))
    fit = fit_blend([gmm, gmm], ["flip", "identity"], x, [0.1, 1.0], seed=0)
    path = tmp_path / "blend.json"
    write_blend_file(path, ["patch-gmm", "patch-gmm"], ["flip", "identity"], [gmm, gmm], fit,
                     {"data": "test"})
    specs, table, prov = read_blend_file(path)
    assert [s for s, _, _ in specs] == ["patch-gmm", "patch-gmm"] and prov == {"data": "test"}
    np.testing.assert_allclose(table.weights, fit.table.weights, rtol=0, atol=1e-12)
    model = ensemble_from_file(path)
    assert model.transforms == (TRANSFORM_SETS["flip"], TRANSFORM_SETS["identity"])
    shifted = load_model("gmm-shift")
    with pytest.raises(ValueError, match="fitted for another"):
        ensemble_from_file(path, load=lambda spec: shifted)
    doc = json.loads(path.read_text())
    doc["format"] = "something else"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="not a blend table"):
        read_blend_file(path)


@pytest.mark.parametrize("spec", sorted(SHIPPED_BLENDS))
def test_shipped_table_is_valid_and_fitted_for_the_shipped_patch_prior(spec):
    """A shipped table covers the codec's ladder and the ODE below it, lists the members and
    transforms of its spec, and its GMM member's fingerprint is the current shifted GMM's (a
    changed prior needs a refit)."""
    specs, table, prov = read_blend_file(blend_table_path(spec))
    _, members, transforms, _ = SHIPPED_BLENDS[spec]
    assert [s for s, _, _ in specs] == list(members) == ["unet", "gmm-shift"]
    assert [tr for _, tr, _ in specs] == list(transforms)
    assert np.exp(table.log_t[0]) <= 0.01 + 1e-12 and np.exp(table.log_t[-1]) >= 10 - 1e-9
    assert "held-out" in prov["data"]
    assert specs[1][2] == load_model("gmm-shift").fingerprint().hex()


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize("bad, exc", [
    ("x9", ValueError), ([], ValueError), ([(4, False)], ValueError), ([(0, 1)], ValueError),
    ([(0, False), (0, False)], ValueError), ([(True, False)], ValueError), ([0], ValueError),
    (3, TypeError),
])
def test_transform_set_validation(bad, exc):
    with pytest.raises(exc):
        transform_set(bad)


def test_transform_set_names_and_pairs():
    assert transform_set("x8") == DIHEDRAL and len(set(DIHEDRAL)) == 8
    assert transform_set([(1, True), [2, False]]) == ((1, True), (2, False))


@pytest.mark.parametrize("log_t, weights", [
    ([0.0, 0.0], [[1.0], [1.0]]), ([1.0, 0.0], [[1.0], [1.0]]), ([0.0], [[0.5, 0.4]]),
    ([0.0], [[-0.1, 1.1]]), ([0.0, 1.0], [[1.0, 0.0]]), ([np.nan], [[1.0]]), ([], []),
    ([0.0], [[np.nan, 1.0]]),
])
def test_blend_table_validation(log_t, weights):
    with pytest.raises(ValueError):
        BlendTable(np.array(log_t), np.array(weights))


def test_blend_table_weights_at_validation():
    table = BlendTable.constant([0.5, 0.5])
    for bad in ([-1.0], [np.inf], [[0.1]]):
        with pytest.raises(ValueError):
            table.weights_at(bad)
    with pytest.raises(ValueError):
        BlendTable.constant([[1.0]])


def test_ensemble_model_validation():
    gmm = load_model("patch-gmm")
    with pytest.raises(TypeError):
        EnsembleModel(gmm)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EnsembleModel([])
    with pytest.raises(TypeError):
        EnsembleModel([gmm, "unet"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="blend table"):
        EnsembleModel([gmm, gmm])
    with pytest.raises(ValueError, match="columns"):
        EnsembleModel([gmm, gmm], blend=BlendTable.constant([1.0]))
    with pytest.raises(ValueError, match="one transform set per member"):
        EnsembleModel([gmm], transforms=["x8", "x8"])
    with pytest.raises(ValueError):
        EnsembleModel([gmm], transforms="x8")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EnsembleModel([gmm], blend=[1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EnsembleModel([gmm], name=3)  # type: ignore[arg-type]

    class OneChannel(ShiftModel):
        channels = 1

    with pytest.raises(ValueError, match="share one code space"):
        EnsembleModel([gmm, OneChannel(1.0, 0.0)], blend=BlendTable.constant([0.5, 0.5]))
    model = EnsembleModel([gmm])
    with pytest.raises(ValueError):
        model.denoise(np.zeros((3, 8, 8)), 0.1)
    with pytest.raises(ValueError):
        model.denoise(np.zeros((1, 3, 8, 8)), -0.1)
    with pytest.raises(ValueError):
        model.score(np.zeros((1, 3, 8, 8)), 0.0)


def test_fit_validation():
    with pytest.raises(ValueError):
        convex_weights(np.eye(2), np.zeros(3))
    with pytest.raises(ValueError):
        convex_weights([[1.0, 0.5], [0.0, 1.0]], [0.0, 0.0])  # not symmetric
    with pytest.raises(ValueError):
        convex_weights(np.eye(9), np.zeros(9))
    with pytest.raises(ValueError):
        convex_weights([[np.nan]], [0.0])
    with pytest.raises(ValueError):
        fit_convex_weights(np.zeros((2, 3)), np.zeros(4))
    member = ShiftModel(1.0, 0.0)
    x = np.zeros((1, 3, 4, 4))
    for kwargs in ({"t": [0.2, 0.1]}, {"t": [0.0]}, {"t": []}, {"seed": -1}, {"seed": 1.5},
                   {"batch": 0}):
        args = {"t": [0.1], "seed": 0, **kwargs}
        batch = args.pop("batch", 1)
        with pytest.raises(ValueError):
            fit_blend([member], ["identity"], x, args["t"], seed=args["seed"], batch=batch)
    with pytest.raises(ValueError):
        fit_blend([member], ["identity"], np.zeros((3, 4, 4)), [0.1], seed=0)


def test_self_ensemble_validation():
    member = ShiftModel(1.0, 0.0)
    with pytest.raises(ValueError):
        self_ensemble(member, np.zeros((1, 3, 4, 4)), np.ones(1), [])
    with pytest.raises(ValueError):
        self_ensemble(member, np.zeros((3, 4, 4)), np.ones(1), "x8")


def test_load_ensemble_rejects_unknown_spec():
    with pytest.raises(ValueError, match="spec must be one of"):
        load_ensemble("unet-x3")
    with pytest.raises(ValueError, match="spec must be one of"):
        blend_table_path("unet-x8")


def test_convex_weights_ties_and_degenerate_members():
    """Identical members: any split is optimal; the first single-member support is returned."""
    e = np.random.default_rng(9).normal(size=(1, 30))
    w = fit_convex_weights(np.concatenate([e, e]), e[0] * 0.5)
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    np.testing.assert_allclose(w, [1.0, 0.0])
    for m in (1, 4):
        assert list(itertools.accumulate(fit_convex_weights(np.ones((m, 3)), np.ones(3))))[-1] \
            == pytest.approx(1.0)


# --- the shipped UNet ensembles (torch) -----------------------------------------------------


@pytest.mark.slow
def test_shipped_ensembles_are_their_formula_and_distinct():
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    unet = load_model("unet")
    x8, blend = load_model("unet-x8"), load_model("unet+gmm")
    fps = {unet.fingerprint(), *(load_model(s).fingerprint() for s in ENSEMBLE_SPECS)}
    assert len(fps) == 1 + len(ENSEMBLE_SPECS) == 5
    y = np.random.default_rng(10).normal(0.0, 0.5, (1, 3, 32, 32))
    np.testing.assert_array_equal(x8.denoise(y, 0.04),
                                  self_ensemble(unet, y, np.array([0.04]), DIHEDRAL))
    w = blend.blend.weights_at([0.04])[0]
    want = w[0] * self_ensemble(unet, y, np.array([0.04]), blend.transforms[0]) + \
        w[1] * self_ensemble(blend.members[1], y, np.array([0.04]), blend.transforms[1])
    np.testing.assert_allclose(blend.denoise(y, 0.04), want, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_unet_ensemble_codec_round_trip():
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from rdptheory.data import bundled_image
    from rdptheory.images import _format
    from rdptheory.images.codec import CodecConfig, _replay, compress_with_report

    model = load_model("unet-x8")
    image = bundled_image("flower").pixels[100:116, 200:216]
    res = compress_with_report(image, model=model, noise_var=0.05, seed=1,
                               config=CodecConfig(n_levels=8))
    stream = _format.unpack_stream(res.data)
    np.testing.assert_array_equal(_replay(stream, model, stream.header.n_steps, "auto"),
                                  res.state)


_BLAS_CHILD = r"""
import sys
import numpy as np
from threadpoolctl import threadpool_info
from rdptheory.models import load_model
assert max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas") == 2
np.save(sys.argv[2], load_model("gmm-shift").denoise(np.load(sys.argv[1]), np.array([0.09, 1.0])))
"""


def test_gmm_shift_member_is_bitwise_equal_in_a_two_blas_thread_process(tmp_path):
    # The decoder may run in a shell with the library defaults (2 BLAS threads); it must
    # compute this process's (1 thread) bits. Before the gmm-shift model (the shipped
    # ensembles' second member) pinned its BLAS products to one thread, its outputs differed
    # there in the last bits. (The UNet member's thread independence: tests/models/
    # test_shipped.py.)
    import os
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    y = np.random.default_rng(12).normal(size=(2, 3, 16, 24)) * 0.6
    np.save(tmp_path / "y.npy", y)
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    subprocess.run([sys.executable, "-c", _BLAS_CHILD, str(tmp_path / "y.npy"),
                    str(tmp_path / "out.npy")], check=True, env=env, timeout=300)
    here = load_model("gmm-shift").denoise(y, np.array([0.09, 1.0]))
    assert np.load(tmp_path / "out.npy").tobytes() == here.tobytes()
