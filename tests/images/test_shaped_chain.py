"""The shaped-noise DiffC chain (issue 15 item 2): ladders, chain model, codec loop, decoders."""

import numpy as np
import pytest

from rdptheory.codec import progressive
from rdptheory.diffusion import chain
from rdptheory.diffusion.models import GMMModel
from rdptheory.gaussian import water_filling
from rdptheory.images.shaped import ShapedGMM, gaussian_rate_nats
from rdptheory.images.shaped_chain import (
    T_DEAD2,
    SentStepCoder,
    ShapedChainModel,
    ShapingRecipe,
    chain_levels,
    decode_ode,
    from_patches,
    ladder_snr,
    posterior_moments,
    to_patches,
)
from rdptheory.testing import random_mixture, random_orthonormal


def test_isotropic_step_is_the_codec_plug_in_step():
    """Isotropic levels in any basis: the progressive codec's step with ShapedChainModel is
    chain.plug_in_step with the GMM denoiser, rotated (means, stds and KL to 1e-12)."""
    w, mu, covs = random_mixture()
    b = random_orthonormal(6)
    cm = ShapedChainModel(ShapedGMM(w, mu, covs, b))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 6))
    t2a, t2b = 0.7, 0.3
    y = x + np.sqrt(t2a) * rng.normal(size=x.shape)
    ref = chain.plug_in_step(x, GMMModel(w, mu, covs).denoise(y, t2a), y, t2b, t2a)
    st = progressive.step_gaussians(cm, x @ b, y @ b, 1, np.full(6, t2b), np.full(6, t2a),
                                    x.shape)
    np.testing.assert_allclose(st.mu_q, ref.mu_q @ b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(st.mu_p, ref.mu_p @ b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(st.sigma_q, ref.sigma_q, rtol=1e-14)
    np.testing.assert_allclose(st.sigma_p, ref.sigma_p, rtol=1e-14)
    kl = chain.step_kl_nats(chain.StepGaussians(st.mu_q, st.sigma_q, st.mu_p, st.sigma_p))
    assert kl == pytest.approx(chain.step_kl_nats(ref), rel=1e-12)


def test_tiled_posterior_is_the_image_model_denoiser():
    """The shipped prior in the block DCT, isotropic noise: PatchGMMImageModel.denoise."""
    from rdptheory.images.shaped_chain import shaped_model
    from rdptheory.models import PatchGMMImageModel, load_prior

    gmm = load_prior()
    sg, _ = shaped_model(gmm)
    y = np.random.default_rng(4).normal(size=(1, 3, 16, 24))
    ref = PatchGMMImageModel(gmm).denoise(y, 0.2)[0]
    rows = to_patches(y[0], gmm.patch)
    got = sg.posterior_mean(rows, 0.2)  # original coordinates
    np.testing.assert_allclose(from_patches(got, 3, 16, 24, gmm.patch), ref, rtol=0,
                               atol=1e-12)


def test_step_kl_closed_forms():
    """Sent coefficients: ½ Δsnr (x − x̂)² (to 1e-12); a first message from the dead level:
    KL(N(x, s²) ‖ N(x̂, s² + v)) with x̂, v the posterior at the level before (to 1e-4)."""
    w, mu, covs = random_mixture(d=4, k=2, seed=15)
    sg = ShapedGMM(w, mu, covs, random_orthonormal(4, seed=16))
    cm = ShapedChainModel(sg)
    rng = np.random.default_rng(17)
    xb = sg.to_basis(GMMModel(w, mu, covs).sample(30, seed=18))
    t2a = np.array([0.5, 2.0, T_DEAD2, T_DEAD2 * 0.9])
    t2b = np.array([0.2, 1.0, 3.0, T_DEAD2 * 0.8])  # 0, 1 sent; 2 first message; 3 dead
    yb = xb + np.sqrt(t2a) * rng.normal(size=xb.shape)
    st = progressive.step_gaussians(cm, xb, yb, 1, t2b, t2a, xb.shape)
    kl = (np.log(st.sigma_p / st.sigma_q) + (st.sigma_q**2 + (st.mu_q - st.mu_p) ** 2)
          / (2 * st.sigma_p**2) - 0.5)
    m, v = posterior_moments(sg, yb / np.sqrt(t2a), 1 / t2a)
    live = [0, 1]
    np.testing.assert_allclose(kl[:, live], 0.5 * (1 / t2b[live] - 1 / t2a[live])
                               * (xb[:, live] - m[:, live]) ** 2, rtol=1e-10, atol=1e-14)
    s2, vp = t2b[2], t2b[2] + v[:, 2]
    first = 0.5 * np.log(vp / s2) + (s2 + (xb[:, 2] - m[:, 2]) ** 2) / (2 * vp) - 0.5
    np.testing.assert_allclose(kl[:, 2], first, rtol=1e-4)
    assert kl[:, 3].max() < 1e-5  # a dead coefficient carries nothing


def test_posterior_moments_single_gaussian_is_wiener():
    _, mu, covs = random_mixture(k=1, seed=6)
    b = random_orthonormal(6, seed=7)
    sg = ShapedGMM([1.0], mu, covs, b)
    snr = np.array([0.0, 0.2, 1.0, 5.0, 30.0, 0.0])
    w = np.random.default_rng(8).normal(size=(9, 6))
    mean, var = posterior_moments(sg, w, snr)
    cb, mb = b.T @ covs[0] @ b, mu[0] @ b
    s = np.diag(np.sqrt(snr))  # w = S x^B + ε: linear-Gaussian posterior, written directly
    gain = cb @ s @ np.linalg.inv(s @ cb @ s + np.eye(6))
    post = cb - gain @ s @ cb
    np.testing.assert_allclose(mean, mb + (w - mb @ s) @ gain.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(var, np.broadcast_to(np.diag(post), var.shape), rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(mean, sg.posterior_scaled(w, snr)[0], rtol=0, atol=1e-12)


def test_posterior_moments_mixture_against_quadrature():
    """d = 2, two components, one coefficient observed and one not: grid integrals."""
    w = np.array([0.35, 0.65])
    mu = np.array([[1.0, -0.5], [-0.8, 0.6]])
    covs = np.array([[[0.5, 0.2], [0.2, 0.3]], [[0.2, -0.1], [-0.1, 0.6]]])
    ang = 0.4
    b = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    sg = ShapedGMM(w, mu, covs, b)
    snr = np.array([2.5, 0.0])
    obs = np.array([[0.9, 0.0], [-1.7, 0.0]])
    mean, var = posterior_moments(sg, obs, snr)
    g = np.linspace(-6, 6, 1201)
    u, v = np.meshgrid(g, g, indexing="ij")  # basis coordinates
    pts = np.stack([u.ravel(), v.ravel()], 1) @ b.T
    dens = np.zeros(pts.shape[0])
    for k in range(2):
        r = pts - mu[k]
        inv = np.linalg.inv(covs[k])
        dens += w[k] * np.exp(-0.5 * np.einsum("ni,ij,nj->n", r, inv, r)) / np.sqrt(
            np.linalg.det(2 * np.pi * covs[k]))
    for j, o in enumerate(obs):
        like = np.exp(-0.5 * (o[0] - np.sqrt(snr[0]) * u.ravel()) ** 2)
        p = dens * like
        p /= p.sum()
        coords = np.stack([u.ravel(), v.ravel()], 1)
        m = p @ coords
        np.testing.assert_allclose(mean[j], m, atol=1e-7)
        np.testing.assert_allclose(var[j], p @ coords**2 - m**2, atol=1e-7)


def test_ladders():
    lam = np.array([4.0, 1.0, 0.3, 0.02])
    rec = ShapingRecipe("mse", t_max=3.0, t_min=0.1, n_levels=12)
    lad = ladder_snr(rec, lam)
    assert (lad[0] == 0).all() and (np.diff(lad, axis=0) >= 0).all()
    assert (np.diff(lad, axis=0) > 0).any(axis=1).all()  # every step sends something
    t2 = chain.noise_ladder(rec.t_max, rec.t_min, rec.n_levels) ** 2
    for row in lad[1:]:
        theta = t2[np.argmin(np.abs((1 / t2)[:, None] - 1 / lam[row.argmax()] - row.max()
                                    ).min(axis=1))]
        np.testing.assert_allclose(row, np.maximum(1 / theta - 1 / lam, 0), rtol=1e-12)
        d = float(np.minimum(theta, lam).sum())  # R(D) of reverse water-filling at level θ
        assert gaussian_rate_nats(lam, row) == pytest.approx(
            float(water_filling(d, lam).rate_nats), rel=1e-9)
    iso = ladder_snr(ShapingRecipe("isotropic", t_max=3.0, t_min=0.1, n_levels=12), lam)
    np.testing.assert_allclose(iso[1:], np.repeat(1 / t2[:, None], 4, 1), rtol=1e-15)
    per = ladder_snr(ShapingRecipe("perception", t_max=3.0, t_min=0.1, n_levels=12), lam)
    assert (per[0] == 0).all() and (np.diff(per, axis=0) >= 0).all()
    # P = 0 sends every coefficient it sends with more noise than MSE water-filling at the
    # same rate (the D(R, 0) channel): its rows have the MSE rows' Gaussian rates
    r_mse = gaussian_rate_nats(lam, lad[1:])
    r_per = gaussian_rate_nats(lam, per[1:])
    np.testing.assert_allclose(np.sort(r_per), r_per)
    assert r_per[-1] == pytest.approx(r_mse[-1], rel=1e-6)


def test_patches_round_trip():
    x = np.random.default_rng(9).normal(size=(3, 16, 8))
    rows = to_patches(x, 4)
    assert rows.shape == (8, 48)
    np.testing.assert_array_equal(rows[1], x[:, 0:4, 4:8].ravel())
    np.testing.assert_array_equal(from_patches(rows, 3, 16, 8, 4), x)


def _small_chain(levels=10):
    w, mu, covs = random_mixture(d=12, k=3, seed=10)
    from rdptheory.images.shaped import block_dct_basis

    sg = ShapedGMM(w, mu, covs, block_dct_basis(2, 3))
    lam = np.einsum("kii->i", sg.covs_b) / 3
    x = GMMModel(w, mu, covs).sample(6, seed=11)
    return sg, ladder_snr(ShapingRecipe("mse", t_max=1.5, t_min=0.1, n_levels=levels), lam), x


def test_chain_levels():
    snr = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.2, 0.0], [1.0, 0.7, 0.1]])
    lv = chain_levels(snr, t_dead2=1e4)
    assert len(lv) == 3
    assert all((b < a).all() for a, b in zip(lv[:-1], lv[1:], strict=True))
    np.testing.assert_allclose(lv[0], [2.0, 1e4 * 2 ** (-1 / 3), 1e4 * 2 ** (-1 / 3)])
    np.testing.assert_allclose(lv[1][:2], [1.0, 5.0], rtol=1e-15)
    assert lv[2][0] == pytest.approx(1.0 * (1 - 1e-6), rel=1e-15)  # unchanged: nudged down
    np.testing.assert_allclose(lv[2][1:], [1 / 0.7, 10.0], rtol=1e-15)


def test_decoder_reproduces_encoder_state_every_prefix():
    """The shaped chain through the package's progressive codec: every prefix decodes to the
    encoder's state bit for bit; a budget stops it."""
    sg, lad, x = _small_chain()
    cm, lv, xb = ShapedChainModel(sg), chain_levels(lad), sg.to_basis(x)
    coder = progressive.DiffCStepCoder(seed=12, max_chunk_bits=8.0, backend="numpy")
    res = progressive.encode_chain(xb, cm, lv, coder)
    assert len(res.symbols) == len(lv)
    syms = progressive.DiffCStepCoder.read(coder.payload, len(lv), xb.size, 8.0)
    for k in (1, len(lv) // 2, len(lv)):
        dec = progressive.DiffCStepCoder(seed=12, max_chunk_bits=8.0, backend="numpy")
        got = progressive.decode_chain(syms[:k], cm, lv, dec, xb.shape)
        np.testing.assert_array_equal(got, res.states[k - 1])
    # sent coefficients track x; at the first level only the top ones are sent
    sent = lad[1] > 0
    assert 0 < sent.sum() < sent.size
    err = np.abs(res.states[0] - xb)
    assert err[:, sent].max() < 6 * np.sqrt(1 / lad[1][sent]).max()
    assert err[:, ~sent].max() > 30  # dead: x + N(0, ~T_DEAD2)
    budget = progressive.DiffCStepCoder(seed=12, max_chunk_bits=8.0, backend="numpy",
                                        accept=lambda n, p: n <= 3)
    assert len(progressive.encode_chain(xb, cm, lv, budget).symbols) == 3


@pytest.mark.parametrize("layout", ["stratified", "diffc"])
def test_sent_step_coder_round_trip_and_skips_dead_coefficients(layout):
    """Only sent coefficients are coded (no dead noise in the stream); every prefix decodes to
    the encoder's state bit for bit (both chunk layouts); dead coefficients are a shared draw
    from p."""
    sg, lad, x = _small_chain()
    cm, lv, xb = ShapedChainModel(sg), chain_levels(lad), sg.to_basis(x)
    kw = {"seed": 12, "max_chunk_bits": 8.0, "backend": "numpy", "layout": layout,
          "variances": cm.prior_var}
    coder = SentStepCoder(lv, x.shape[0], **kw)
    res = progressive.encode_chain(xb, cm, lv, coder)
    assert len(res.symbols) == len(lv)
    full = progressive.DiffCStepCoder(seed=12, max_chunk_bits=8.0, backend="numpy")
    progressive.encode_chain(xb, cm, lv, full)
    # same first step: the dead coefficients the full coder also codes carry ~nothing
    assert full.kl_bits[0] - 1e-3 < coder.kl_bits[0] < full.kl_bits[0]
    syms = coder.read(coder.payload, len(lv))
    for k in (1, len(lv) // 2, len(lv)):
        dec = SentStepCoder(lv, x.shape[0], **kw)
        got = progressive.decode_chain(syms[:k], cm, lv, dec, xb.shape)
        np.testing.assert_array_equal(got, res.states[k - 1])
    dead = ~(lad[1] > 0)  # drawn from p at the dead level: N(0, t_dead² + E x²)
    first = progressive.step_gaussians(cm, None, None, 0, lv[0], None, xb.shape)
    z = (res.states[0][:, dead] - first.mu_p[:, dead]) / np.broadcast_to(
        first.sigma_p, xb.shape)[:, dead]
    assert 0.3 < z.std() < 2.0 and abs(z.mean()) < 1.0


def test_decode_ode_gaussian_closed_form():
    """Independent Gaussian coefficients: from t_i² to the floor f the score-scaled flow
    multiplies y_i by ((λ_i + f)/(λ_i + t_i²))^{ρ_i/2}, the last posterior mean by
    λ_i/(λ_i + f) (THEORY.md §3)."""
    lam = np.array([2.0, 0.5, 0.1, 1.0])
    sg = ShapedGMM([1.0], np.zeros((1, 4)), np.diag(lam)[None], np.eye(4))
    t2 = 1 / np.array([4.0, 1.0, 0.5, 20.0])
    y = np.random.default_rng(13).normal(size=(5, 4))
    rho = np.array([1.0, 1.5, 2.0, 1.2])
    floor = 1e-3
    got = decode_ode(sg, y, t2, rho, steps=64, floor=floor)
    gain = ((lam + floor) / (lam + t2)) ** (rho / 2) * lam / (lam + floor)
    np.testing.assert_allclose(got, y * gain, rtol=1e-3, atol=0)
    np.testing.assert_allclose(decode_ode(sg, y, t2, None), y * lam / (lam + t2), rtol=1e-12)
    # a coefficient still at the dead level: rho = 2 ends at the prior mean, rho = 1 at a
    # sample of the prior (output variance λ exactly for a Gaussian)
    t2d = t2.copy()
    t2d[2] = T_DEAD2
    rng = np.random.default_rng(14)
    ys = rng.normal(size=(2000, 4)) * np.sqrt(lam + t2d)
    out1 = decode_ode(sg, ys, t2d, 1.0, steps=32)
    out2 = decode_ode(sg, ys, t2d, 2.0, steps=32)
    assert np.abs(out2[:, 2]).max() < 0.01
    assert np.var(out1[:, 2]) == pytest.approx(lam[2], rel=0.15)  # 2000 draws: ±3.2 % s.e.


def test_validation():
    with pytest.raises(ValueError, match="ladder"):
        ShapingRecipe("white")
    with pytest.raises(ValueError, match="basis"):
        ShapingRecipe(basis="eigen")
    with pytest.raises(ValueError):
        ShapingRecipe(t_max=0.1, t_min=0.2)
    with pytest.raises(TypeError):
        ladder_snr("mse", [1.0])
    with pytest.raises(ValueError, match="multiples"):
        to_patches(np.zeros((3, 10, 8)), 4)
    sg, lad, x = _small_chain(levels=4)
    with pytest.raises(ValueError, match="snr_ladder"):
        chain_levels(lad[::-1])
    with pytest.raises(TypeError):
        ShapedChainModel("gmm")
    with pytest.raises(ValueError, match="rho"):
        decode_ode(sg, x, np.ones(12), -1.0)
    with pytest.raises(ValueError, match="yb"):
        decode_ode(sg, x[:, :5], np.ones(12), 1.0)
