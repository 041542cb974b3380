"""The shaped noise family of the trained network (rdptheory.models.shaped_noise): the basis and
the ladders agree with the image layer's independent implementation, σ_eq solves its equation,
the table is the pooled per-coefficient DCT statistics."""

import json
import math

import numpy as np
import pytest

from rdptheory.diffusion.chain import noise_ladder
from rdptheory.images import shaped, shaped_chain
from rdptheory.models.shaped_noise import (
    SHAPING_FILE,
    ShapedFamily,
    block_dct_basis,
    block_rows,
    dct_statistics,
    equivalent_sigma,
    family_snr,
)


def _lam(d=192, seed=0):
    return np.sort(np.random.default_rng(seed).lognormal(-5.0, 2.0, d))[::-1].copy()


@pytest.mark.parametrize(("patch", "channels"), [(8, 3), (2, 1), (4, 2)])
def test_basis_and_rows_match_the_image_layer(patch, channels):
    np.testing.assert_array_equal(block_dct_basis(patch, channels),
                                  shaped.block_dct_basis(patch, channels))
    x = np.random.default_rng(1).normal(size=(channels, 2 * patch, 3 * patch))
    np.testing.assert_array_equal(block_rows(x, patch), shaped_chain.to_patches(x, patch))


@pytest.mark.parametrize("ladder", ["mse", "perception"])
def test_family_rows_are_the_shaped_chain_ladder(ladder):
    lam = _lam()
    recipe = shaped_chain.ShapingRecipe(ladder, n_levels=24)
    ref = shaped_chain.ladder_snr(recipe, lam)
    t2 = noise_ladder(recipe.t_max, recipe.t_min, recipe.n_levels) ** 2
    rows = np.array([family_snr(t, lam, ladder) for t in t2])
    rows = np.maximum.accumulate(rows, axis=0)  # ladder_snr's running maximum
    kept = [np.zeros(lam.size)]
    for r in rows:
        if (r > kept[-1]).any():
            kept.append(r)
    np.testing.assert_allclose(np.array(kept), ref, rtol=1e-12, atol=0)


def test_family_snr_closed_forms_and_validation():
    lam = np.array([4.0, 1.0, 0.25])
    # reverse water-filling: snr_i = (1/θ − 1/λ_i)₊
    np.testing.assert_allclose(family_snr(0.5, lam, "mse"), [1.75, 1.0, 0.0], rtol=1e-15)
    assert not family_snr(4.0, lam, "perception").any()  # θ >= max λ sends nothing
    # P = 0: the rate of the perception channel equals the mse level's rate ½Σlog(1+λ snr)
    # (THEORY §2: the D(R, P=0) forward channel at that rate)
    snr = family_snr(0.1, lam, "perception")
    from rdptheory.gaussian import drp_vector_solution

    rate = 0.5 * np.log1p(lam * family_snr(0.1, lam, "mse")).sum()
    ref = drp_vector_solution(rate, 0.0, lam, unit="nats").noise_var
    np.testing.assert_allclose(snr, np.where(np.isfinite(ref), 1 / ref, 0.0), rtol=1e-12)
    with pytest.raises(ValueError, match="ladder"):
        family_snr(0.1, lam, "isotropic")
    with pytest.raises(ValueError, match="theta"):
        family_snr(0.0, lam)
    with pytest.raises(ValueError, match="perception"):
        family_snr(0.1, lam, "perception", -1.0)
    with pytest.raises(ValueError, match="variances"):
        family_snr(0.1, [[1.0]])


def test_equivalent_sigma_solves_its_equation():
    lam = _lam(12, seed=3)
    # isotropic noise: σ_eq = σ
    for s in (0.01, 0.3, 7.0):
        assert float(equivalent_sigma(np.full(12, 1 / s**2), lam)) == pytest.approx(s, rel=1e-13)
    # one coefficient: λσ²/(λ+σ²) = λ/(1+λ snr) ⇔ σ² = 1/snr
    assert float(equivalent_sigma([16.0], [2.0])) == pytest.approx(0.25, rel=1e-13)
    # general rows: the Gaussian MMSE matches to float precision; batch shape kept
    snr = np.random.default_rng(4).uniform(0, 50, size=(3, 5, 12)) * (
        np.random.default_rng(5).uniform(size=(3, 5, 12)) > 0.3)
    sig = equivalent_sigma(snr, lam)
    assert sig.shape == (3, 5)
    lhs = (lam * sig[..., None] ** 2 / (lam + sig[..., None] ** 2)).mean(-1)
    np.testing.assert_allclose(lhs, (lam / (1 + lam * snr)).mean(-1), rtol=1e-12)
    # monotone along a ladder, clipped at the range ends (nothing sent → high)
    th = np.geomspace(1e-4, 10, 30)
    s_lad = equivalent_sigma(np.array([family_snr(t, lam, "mse") for t in th]), lam,
                             low=0.01, high=10.0)
    assert (np.diff(s_lad) >= 0).all() and s_lad[-1] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="snr"):
        equivalent_sigma(np.ones(3), lam)
    with pytest.raises(ValueError, match="low"):
        equivalent_sigma(np.ones(12), lam, low=2.0, high=1.0)


def test_dct_statistics_pool_every_patch():
    rng = np.random.default_rng(6)
    parts = [rng.normal(size=(3, 16, 24)), rng.normal(size=(3, 21, 8))]  # 21: border dropped
    mu, var = dct_statistics(parts, 8)
    rows = np.concatenate([shaped_chain.to_patches(parts[0], 8),
                           shaped_chain.to_patches(parts[1][:, :16], 8)])
    coef = rows @ shaped.block_dct_basis(8, 3)
    np.testing.assert_allclose(mu, coef.mean(0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(var, coef.var(0), rtol=1e-12)
    with pytest.raises(ValueError):
        dct_statistics([], 8)
    with pytest.raises(ValueError):
        dct_statistics([np.zeros((3, 4, 4))], 8)


def test_family_round_trips_and_validates(tmp_path):
    lam = _lam()
    fam = ShapedFamily(np.linspace(-1, 1, 192), lam, "perception", 0.5)
    fam.save(tmp_path)
    back = ShapedFamily.load(tmp_path)
    np.testing.assert_array_equal(back.variances, fam.variances)
    np.testing.assert_array_equal(back.means, fam.means)
    assert (back.ladder, back.perception, back.dim) == ("perception", 0.5, 192)
    np.testing.assert_array_equal(back.snr(0.01), family_snr(0.01, lam, "perception", 0.5))
    rec = json.loads((tmp_path / SHAPING_FILE).read_text())
    with pytest.raises(ValueError, match="block-DCT"):
        ShapedFamily.from_json({**rec, "basis": "eigen"})
    with pytest.raises(ValueError, match="malformed"):
        ShapedFamily.from_json({k: v for k, v in rec.items() if k != "variances"})
    with pytest.raises(ValueError, match="shape"):
        ShapedFamily(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="variances"):
        ShapedFamily(np.zeros(192), -lam)
    with pytest.raises(FileNotFoundError):
        ShapedFamily.load(tmp_path / "nowhere")
    assert math.isfinite(fam.sigma_eq(fam.snr(0.01)))
