"""The per-component shaped chain (issue 15 item 2): ladders, model, coder, round trips."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats
from scipy.stats import multivariate_normal

from rdptheory.diffusion import chain
from rdptheory.images.shaped import ShapedGMM, gaussian_rate_nats
from rdptheory.images.shaped_components import (
    ComponentChain,
    ComponentChainModel,
    ComponentRecipe,
    LiveStepCoder,
    component_ladders,
    component_spectra,
    infer_components,
)
from rdptheory.testing import random_mixture, random_orthonormal


def _gmm(d=6, k=3, seed=0):
    w, mu, covs = random_mixture(d=d, k=k, seed=seed)
    return SimpleNamespace(weights=w, means=mu, covariances=lambda: covs)


def _posterior_mean_full(w, mu, covs, y, noise_cov):
    """E[X | y] for X ~ Σ π_k N(μ_k, Σ_k), Y = X + N(0, noise_cov): the textbook formula."""
    dens = np.array([wk * multivariate_normal(m, c + noise_cov).pdf(y)
                     for wk, m, c in zip(w, mu, covs, strict=True)])
    r = dens / dens.sum()
    comp = [m + c @ np.linalg.solve(c + noise_cov, y - m) for m, c in zip(mu, covs, strict=True)]
    return r @ np.array(comp), r


def test_recipe_validates():
    assert ComponentRecipe().n_steps == 32
    with pytest.raises(ValueError, match="ladder"):
        ComponentRecipe("isotropic")
    with pytest.raises(ValueError, match="spacing"):
        ComponentRecipe(spacing="linear")
    with pytest.raises(ValueError, match="t_min"):
        ComponentRecipe(t_switch=0.5, t_min=0.5)
    with pytest.raises(ValueError):
        ComponentRecipe(t_max=0.5, t_switch=0.7)
    with pytest.raises(ValueError, match="n_levels"):
        ComponentRecipe(n_levels=0)
    with pytest.raises(ValueError, match="perception"):
        ComponentRecipe(perception=-1.0)


def test_spectra_are_each_components_eigendecomposition():
    g = _gmm()
    bases, lams = component_spectra(g)
    for b, lam, c in zip(bases, lams, g.covariances(), strict=True):
        np.testing.assert_allclose(b @ np.diag(lam) @ b.T, c, atol=1e-12)
        assert (np.diff(lam) <= 0).all()


def test_mse_ladder_is_floored_water_filling():
    """Geometric spacing: snr = max(1/t_s², u − 1/λ) at u = 1/t_l² exactly."""
    lams = np.array([[4.0, 1.0, 0.3], [2.0, 0.5, 0.1]])
    r = ComponentRecipe("mse", t_max=3.0, t_switch=1.0, n_switch=3, t_min=0.125, n_levels=5,
                        spacing="geometric")
    got = component_ladders(r, lams, [0.5, 0.5])
    t = chain.noise_ladder(1.0, 0.125, 6)[1:]
    want = np.maximum(1.0, 1.0 / t[:, None, None] ** 2 - 1.0 / lams[None])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_rate_spacing_gives_equal_average_rate_steps():
    """"rate" spacing: the π-average Gaussian rate of the floored mse rows rises in equal
    steps from the floor's rate (up to the u grid's interpolation, 1e-3 relative)."""
    g = _gmm(d=8, k=4, seed=2)
    _, lams = component_spectra(g)
    r = ComponentRecipe("mse", t_max=3.0, t_switch=0.8, n_switch=3, t_min=0.05, n_levels=7)
    rows = component_ladders(r, lams, g.weights)
    floor = 1.0 / r.t_switch**2
    assert rows.shape == (7, 4, 8) and (rows >= floor).all()
    avg = g.weights @ gaussian_rate_nats(lams, rows).T
    start = g.weights @ gaussian_rate_nats(lams, np.full_like(lams, floor))
    inc = np.diff(np.concatenate(([start], avg)))
    np.testing.assert_allclose(inc, inc.mean(), rtol=1e-3)
    assert rows[-1] == pytest.approx(np.maximum(floor, 1 / r.t_min**2 - 1 / lams), rel=1e-12)


def test_perception_ladder_is_monotone_and_floored():
    g = _gmm(d=5, k=2, seed=3)
    _, lams = component_spectra(g)
    r = ComponentRecipe("perception", t_max=3.0, t_switch=0.9, n_switch=2, t_min=0.1,
                        n_levels=6)
    rows = component_ladders(r, lams, g.weights)
    assert (np.diff(rows, axis=0) >= 0).all() and (rows >= 1 / 0.9**2 - 1e-12).all()
    assert (rows[-1] > rows[0]).any()
    with pytest.raises(TypeError):
        component_ladders("mse", lams, g.weights)
    with pytest.raises(ValueError):
        component_ladders(r, lams, [1.0])


def test_component_model_is_the_mixture_posterior_under_rotated_noise():
    """Each row in its own basis, per-coefficient noise there: the denoiser equals the
    textbook GMM posterior mean with Σ_n = B diag(t²) Bᵀ in the original coordinates."""
    w, mu, covs = random_mixture(d=5, k=3, seed=4)
    bases = [random_orthonormal(5, seed=s) for s in (1, 2, 3)]
    models = [ShapedGMM(w, mu, covs, b) for b in bases]
    comp = np.array([0, 2, 2, 1, 0, 1])
    rng = np.random.default_rng(5)
    t2_by_comp = rng.uniform(0.05, 2.0, size=(3, 5))
    t2 = t2_by_comp[comp]
    x = rng.normal(size=(6, 5))
    y = np.stack([x[n] + bases[comp[n]] @ (np.sqrt(t2[n]) * rng.normal(size=5))
                  for n in range(6)])
    yb = np.stack([bases[comp[n]].T @ y[n] for n in range(6)])
    got = ComponentChainModel(models, comp).denoise(yb, t2)
    for n in range(6):
        b = bases[comp[n]]
        want, _ = _posterior_mean_full(w, mu, covs, y[n], b @ np.diag(t2[n]) @ b.T)
        np.testing.assert_allclose(b @ got[n], want, atol=1e-10)
    with pytest.raises(ValueError):
        ComponentChainModel(models, np.array([0, 3]))
    with pytest.raises(TypeError):
        ComponentChainModel([], comp)


def test_inferred_component_is_the_argmax_responsibility():
    w, mu, covs = random_mixture(d=4, k=3, seed=6)
    sg = ShapedGMM(w, mu, covs, np.eye(4))
    y = np.random.default_rng(7).normal(size=(9, 4)) * 2
    got = infer_components(sg, y, 0.6)
    want = [np.argmax(_posterior_mean_full(w, mu, covs, v, 0.6 * np.eye(4))[1]) for v in y]
    assert got.tolist() == want
    with pytest.raises(ValueError):
        infer_components(sg, y, 0.0)


def _chain(seed=0, **kw):
    g = _gmm(d=6, k=3, seed=seed)
    r = ComponentRecipe(kw.pop("ladder", "perception"), t_max=3.0, t_switch=0.8, n_switch=3,
                        t_min=0.3, n_levels=5, **kw)
    return g, ComponentChain(g, r)


def _draw(g, n, seed):
    """n draws from the mixture (small steps: the RCC candidates stay few)."""
    rng = np.random.default_rng(seed)
    k = rng.choice(len(g.weights), size=n, p=g.weights)
    covs = g.covariances()
    return np.stack([rng.multivariate_normal(g.means[j], covs[j]) for j in k])


@pytest.mark.parametrize("ladder", ["mse", "perception"])
@pytest.mark.parametrize("given", [False, True])
def test_round_trip_is_bit_exact(ladder, given):
    """Encoder and decoder states agree bit for bit, prefix by prefix, through one RCC step
    stream read back from bytes; the components are the same."""
    g, ch = _chain(ladder=ladder)
    x = _draw(g, 12, 8)
    comp = np.arange(12) % 3 if given else None
    enc = LiveStepCoder(seed=3, max_chunk_bits=8.0, backend="numpy")
    res = ch.encode(x, enc, comp=comp)
    assert len(res.symbols) == ch.recipe.n_steps
    dec = LiveStepCoder(seed=3, max_chunk_bits=8.0, backend="numpy")
    symbols = dec.read(enc.payload, len(res.symbols), 12 * 6)
    for n in (2, 3, 5, len(symbols)):
        out = ch.decode(symbols[:n], dec, 12, comp=comp)
        assert np.array_equal(out.states[-1], res.states[n - 1])
    assert np.array_equal(out.comp, res.comp)
    if given:
        assert res.comp.tolist() == comp.tolist()
    rec = ch.reconstruct(res.states[-1], len(symbols), res.comp, 1.0, steps=4)
    assert rec.shape == x.shape and np.isfinite(rec).all()
    with pytest.raises(ValueError):
        ch.decode([], dec, 12)


def test_non_live_coordinates_keep_their_state():
    """After the switch a coefficient whose level does not fall is not coded and keeps its
    value exactly; the live ones move."""
    g, ch = _chain(ladder="mse", spacing="geometric")
    x = _draw(g, 10, 9)
    res = ch.encode(x, LiveStepCoder(seed=1, max_chunk_bits=8.0, backend="numpy"))
    n0 = ch.recipe.n_switch
    assert len(res.states) == ch.recipe.n_steps
    moved = stuck = 0
    for k in range(n0 + 1, ch.recipe.n_steps):
        t_prev, t_now = ch.level(k - 1, res.comp), ch.level(k, res.comp)
        same = t_now >= t_prev
        assert np.array_equal(res.states[k][same], res.states[k - 1][same])
        assert (res.states[k][~same] != res.states[k - 1][~same]).all()
        moved, stuck = moved + (~same).sum(), stuck + same.sum()
    assert moved > 0 and stuck > 0


def test_one_component_chain_ends_at_the_exact_noise_level():
    """A one-component model: the basis is fixed, the rotated noise exactly isotropic at the
    switch, so with exact sampling of q the last state is x^B + N(0, t²_L) per coefficient
    (KS, alpha = 1e-3, 2000 patches, seed 11)."""
    w, mu, covs = random_mixture(d=4, k=1, seed=10)
    g = SimpleNamespace(weights=w, means=mu, covariances=lambda: covs)
    ch = ComponentChain(g, ComponentRecipe("mse", t_max=3.0, t_switch=0.8, n_switch=2,
                                           t_min=0.2, n_levels=4))
    rng = np.random.default_rng(11)

    class Exact:
        def encode(self, step):
            z = rng.standard_normal(np.shape(step.mu_p))
            return None, step.mu_q + np.broadcast_to(step.sigma_q, z.shape) * z

    x = rng.multivariate_normal(mu[0], covs[0], size=2000)
    res = ch.encode(x, Exact())
    z = (res.states[-1] - ch.rotate(x, res.comp)) / np.sqrt(ch.level(ch.recipe.n_steps - 1,
                                                                     res.comp))
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    assert (res.comp == 0).all()


def test_empty_step_is_a_zero_kl_dummy():
    """A step whose levels do not fall anywhere is sent as one zero-KL coordinate, and the
    state does not move."""
    g, ch = _chain()
    x = _draw(g, 4, 12)
    coder = LiveStepCoder(seed=2, max_chunk_bits=8.0, backend="numpy")
    res = ch.encode(x, coder)
    from rdptheory.codec.progressive import step_gaussians

    lv = ch.level(ch.recipe.n_steps - 1, res.comp)
    model = ComponentChainModel(ch.models, res.comp)
    st = step_gaussians(model, ch.rotate(x, res.comp), res.states[-1], 99, lv, lv, x.shape)
    assert not LiveStepCoder.live(st).any()
    sym, sample = coder.encode(st)
    assert coder.kl_bits[-1] == pytest.approx(0.0, abs=1e-12) and len(sym) == 1
    assert np.array_equal(coder.decode(sym, st._replace(mu_q=None)), sample)
