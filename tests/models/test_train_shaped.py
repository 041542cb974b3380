"""``train --noise shaped`` on a tiny configuration: the sampler draws the recipe's noise (levels
exact, variances by a chi-square test), the shaped EDM module is the isotropic one at isotropic
noise, training lowers the loss, resume is exact, a fine-tune starts from a weights folder."""

import io
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
from scipy import stats  # noqa: E402

from rdptheory.data import bundled_image  # noqa: E402
from rdptheory.images import shaped, shaped_chain  # noqa: E402
from rdptheory.models.data import split_holdout  # noqa: E402
from rdptheory.models.shaped_noise import (  # noqa: E402
    DEAD_VARIANCE,
    SHAPING_FILE,
    ShapedFamily,
    block_dct_basis,
    equivalent_sigma,
    family_snr,
)
from rdptheory.models.train import (  # noqa: E402
    PATH_TAU_MIN,
    TrainConfig,
    Trainer,
    export_model,
    run,
    shaped_denoising_psnr,
    shaped_family,
    shaped_noise_draw,
    wiener_blocks,
)
from rdptheory.models.unet import (  # noqa: E402
    EDMPreconditioning,
    blocks_to_image,
    build_unet,
    edm_denoiser,
    image_to_blocks,
    shaped_coefficients,
    shaped_denoiser,
    shaped_loss_weight,
)

TINY = {"sample_size": 16, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
        "block_out_channels": (8, 16), "down_block_types": ("DownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "UpBlock2D"), "norm_num_groups": 4}
ALPHA = 1e-3  # per test; Bonferroni over the coefficients where several are tested


def _cfg(**kw):
    base = dict(batch=4, crop=16, lr=3e-3, warmup=2, seed=3, unet=TINY, noise="shaped")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def parts():
    return [split_holdout(bundled_image("coffee")).train[:, :96, :96].copy()]


@pytest.fixture(scope="module")
def family(parts):
    return shaped_family(_cfg(), parts)


def test_draw_levels_are_the_recipe(family):
    cfg = _cfg(shaped_mix=(0.2, 0.3))
    d = shaped_noise_draw(cfg, family, 7, 60, (2, 2))
    again = shaped_noise_draw(cfg, family, 7, 60, (2, 2))
    assert all(np.array_equal(a, b) for a, b in zip(d, again, strict=True))
    assert not np.array_equal(d.eps, shaped_noise_draw(cfg, family, 8, 60, (2, 2)).eps)
    assert d.eps.shape == (60, 192, 2, 2) and d.snr.shape == (60, 192)
    assert set(np.unique(d.kind)) == {0, 1, 2}
    for b in range(60):
        th = d.theta[b]
        if d.kind[b] == 0:
            np.testing.assert_allclose(d.snr[b], 1.0 / th, rtol=1e-15)
        elif d.kind[b] == 1:
            np.testing.assert_array_equal(d.snr[b], family_snr(th, family.variances))
        else:
            lev = family_snr(th, family.variances)
            var = np.where(lev > 0, 1.0 / np.where(lev > 0, lev, 1.0), DEAD_VARIANCE)
            np.testing.assert_allclose(d.snr[b], 1.0 / np.maximum(var * d.tau[b], 1e-4),
                                       rtol=1e-15)
    assert np.all((d.theta >= 1e-4 * (1 - 1e-12)) & (d.theta <= 100.0 * (1 + 1e-12)))
    assert np.all((d.tau >= PATH_TAU_MIN * (1 - 1e-12)) & (d.tau <= 1.0))
    np.testing.assert_array_equal(d.sigma, equivalent_sigma(d.snr, family.variances, low=0.01,
                                                            high=10.0))


def test_draw_kind_fractions(family):
    cfg = _cfg(shaped_mix=(0.15, 0.25))
    kinds = np.concatenate([shaped_noise_draw(cfg, family, k, 100, (1, 1)).kind
                            for k in range(6)])
    for kind, p in ((0, 0.15), (1, 0.60), (2, 0.25)):
        pv = stats.binomtest(int((kinds == kind).sum()), kinds.size, p).pvalue
        assert pv > ALPHA / 3, (kind, (kinds == kind).mean())


def test_training_noise_has_the_recipe_variances(family):
    """The noise the training pairs carry, measured in pixel space by the image layer's own
    block DCT, has variance 1/snr_i on every sent coefficient (chi-square, two-sided)."""
    cfg = _cfg(shaped_mix=(0.0, 0.0))
    basis = torch.from_numpy(block_dct_basis()).float()
    z2 = np.zeros(192)
    count = np.zeros(192)
    for step in range(20):
        d = shaped_noise_draw(cfg, family, step, 8, (4, 4))
        snr = torch.from_numpy(d.snr).float()
        live = d.snr > 0
        s = torch.where(snr > 0, snr, torch.ones_like(snr))
        # x = 0: w = ε, y^B = w/√snr on sent coefficients, 0 elsewhere (the dead ones are
        # infinite noise and never formed)
        yb = torch.from_numpy(d.eps) / torch.sqrt(s)[:, :, None, None]
        yb = yb * torch.from_numpy(live).float()[:, :, None, None]
        y = blocks_to_image(yb, basis, 8, 3).double().numpy()
        for b in range(8):
            coef = shaped_chain.to_patches(y[b], 8) @ shaped.block_dct_basis(8, 3)
            z2[live[b]] += (coef[:, live[b]] ** 2 * d.snr[b, live[b]]).sum(0)
            count[live[b]] += coef.shape[0]
    tested = count > 0
    assert tested.sum() == 192
    lo = stats.chi2.cdf(z2[tested], count[tested])
    p = 2 * np.minimum(lo, 1 - lo)
    assert p.min() > ALPHA / tested.sum(), (p.argmin(), z2[p.argmin()] / count[p.argmin()])


def test_shaped_module_is_edm_at_isotropic_noise():
    torch.manual_seed(0)
    unet = build_unet(TINY)
    pre = EDMPreconditioning()
    iso = edm_denoiser(unet, pre).eval()
    basis = torch.from_numpy(block_dct_basis()).float()
    sh = shaped_denoiser(unet, basis, 8, 3, pre).eval()
    x = torch.randn(2, 3, 16, 16)
    for sig in (0.05, 0.7, 4.0):
        y = x + sig * torch.randn_like(x)
        with torch.no_grad():
            a = image_to_blocks(iso(y, torch.full((2,), sig)), basis, 8)
            b = sh(image_to_blocks(y, basis, 8) / sig, torch.full((2, 192), 1 / sig**2),
                   torch.full((2,), sig))
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=0, atol=2e-5 * max(1, sig))
    # the per-coefficient factors: finite at snr = 0, EDM's at snr = 1/σ², weight 1/c_out²
    snr = torch.tensor([[0.0, 4.0, 1e4]], dtype=torch.float64)
    a, skip, out = shaped_coefficients(snr, 0.5)
    np.testing.assert_allclose(a.numpy(), [[1.0, 1 / math.sqrt(2), 1 / math.sqrt(2501)]],
                               rtol=1e-14)
    # c_skip^w √snr = c_skip(σ = 0.5) = σ_d²/(σ² + σ_d²) = 1/2
    assert float(skip[0, 1] * torch.sqrt(snr[0, 1])) == pytest.approx(0.5, rel=1e-14)
    assert float(skip[0, 0]) == 0.0 and float(out[0, 0]) == 0.5
    np.testing.assert_allclose((shaped_loss_weight(snr, 0.5) * out**2).numpy(), 1.0, rtol=1e-14)
    with pytest.raises(ValueError, match="w must be"):
        sh(torch.zeros(1, 192, 2, 2), torch.zeros(1, 191), torch.ones(1))
    with pytest.raises(ValueError, match="multiples"):
        image_to_blocks(torch.zeros(1, 3, 12, 16), basis, 8)


def _shaped_loss_fixed(trainer, parts):
    from rdptheory.models.data import random_batch

    x = torch.from_numpy(random_batch(parts, 8, 16, seed=99, step=0))
    total = 0.0
    with torch.no_grad():
        for step in (1000, 1001):
            trainer.step, saved = step, trainer.step
            total += float(trainer._shaped_loss(x))
            trainer.step = saved
    return total / 2


def test_shaped_training_reduces_the_loss_and_resumes_exactly(parts, family):
    cfg = _cfg()
    tr = Trainer(cfg, parts, family=family)
    tr.model.eval()
    before = _shaped_loss_fixed(tr, parts)
    for k in range(15):
        tr.train_step(k / 15)
    tr.model.eval()
    after = _shaped_loss_fixed(tr, parts)
    assert after < 0.8 * before, (before, after)
    a, b = Trainer(cfg, parts, family=family), Trainer(cfg, parts, family=family)
    for k in range(4):
        a.train_step(k / 4)
    for k in range(2):
        b.train_step(k / 4)
    buf = io.BytesIO()
    torch.save(b.state_dict(), buf)
    buf.seek(0)
    c = Trainer(cfg, parts, family=family)
    c.load_state_dict(torch.load(buf, weights_only=False))
    for k in range(2, 4):
        c.train_step(k / 4)
    sa, sc = a.state_dict()["ema"], c.state_dict()["ema"]
    assert all(torch.equal(sa[n], sc[n]) for n in sa)
    other = ShapedFamily(family.means, family.variances * 2)
    with pytest.raises(ValueError, match="table"):
        Trainer(cfg, parts, family=other).load_state_dict(b.state_dict())


def test_fine_tune_starts_from_an_isotropic_weights_folder(tmp_path, parts, family):
    iso = Trainer(_cfg(noise="isotropic"), parts)
    iso.train_step(0.0)
    iso.step = 37
    export_model(iso, tmp_path / "iso")
    sh = Trainer(_cfg(), parts, family=family)
    sh.init_weights(tmp_path / "iso")
    assert (sh.step, sh.start_step, sh.elapsed) == (37, 37, 0.0)
    # at isotropic noise the shaped EMA computes the isotropic EMA's function
    x = np.random.default_rng(2).normal(size=(2, 3, 16, 16))
    basis = torch.from_numpy(block_dct_basis())
    xb = image_to_blocks(torch.from_numpy(x), basis, 8).numpy()
    got = sh.ema_shaped_denoise(xb / 0.3, np.full(192, 1 / 0.09))
    ref = image_to_blocks(torch.from_numpy(iso.ema_denoise(x, 0.3)), basis, 8).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-5)
    bad = dict(TINY, block_out_channels=(8, 8), norm_num_groups=4)
    with pytest.raises(ValueError, match="architecture"):
        Trainer(_cfg(unet=bad), parts, family=family).init_weights(tmp_path / "iso")
    with pytest.raises(FileNotFoundError):
        sh.init_weights(tmp_path / "missing")


def test_run_shaped_writes_a_folder_with_its_table(tmp_path, monkeypatch):
    import rdptheory.models.train as train_mod

    monkeypatch.setattr(train_mod, "training_photographs", lambda extra: [bundled_image("coffee")])
    tr = run(_cfg(), tmp_path, steps=2, minutes=None, resume=False, extra_images="",
             progress_bar=False)
    fam = ShapedFamily.load(tmp_path / "model")
    np.testing.assert_array_equal(fam.variances, tr.family.variances)
    assert (tmp_path / "model" / SHAPING_FILE).is_file()
    rec = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert rec["step"] == 2 and len(rec["val"]["wiener"]) == len(rec["val"]["model"]) == 6


def test_wiener_baseline_is_exact_for_gaussian_coefficients(family):
    """The linear baseline of the validation table against a Monte-Carlo of its own model:
    x_i ~ N(μ_i, λ_i), its MSE is λ_i/(1 + λ_i snr_i) per coefficient (chi-square bound)."""
    rng = np.random.default_rng(9)
    snr = family.snr(0.01)
    n = 4000
    x = family.means[None, :, None, None] + np.sqrt(family.variances)[None, :, None, None] * \
        rng.standard_normal((n, 192, 1, 1))
    w = np.sqrt(snr)[None, :, None, None] * x + rng.standard_normal(x.shape)
    err = ((wiener_blocks(w, snr, family) - x) ** 2).sum(axis=(0, 2, 3))
    mmse = family.variances / (1 + family.variances * snr)
    lo = stats.chi2.cdf(err / mmse, n)
    assert (2 * np.minimum(lo, 1 - lo)).min() > ALPHA / 192


def test_shaped_psnr_of_the_wiener_filter_is_the_baseline(family):
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, 3, 16, 16))
    r = shaped_denoising_psnr(lambda w, s: wiener_blocks(w, s, family), x, family,
                              levels=(0.1, 0.4))
    assert r["model"] == r["wiener"] and r["wiener"][0] > r["wiener"][1]


def test_config_validation():
    with pytest.raises(ValueError, match="noise"):
        TrainConfig(noise="pink")
    with pytest.raises(ValueError, match="shaped_ladder"):
        TrainConfig(shaped_ladder="isotropic")
    with pytest.raises(ValueError, match="shaped_mix"):
        TrainConfig(shaped_mix=(0.6, 0.6))
    with pytest.raises(ValueError, match="shaped_perception"):
        TrainConfig(shaped_perception=-1.0)
    with pytest.raises(ValueError, match="crop"):
        Trainer(_cfg(crop=12), [np.random.default_rng(0).normal(size=(3, 32, 32))])


def test_wiener_skip_is_the_linear_mmse_plus_a_residual(parts, family):
    """skip='wiener': with F = 0 (conv_out zeroed, as a fine-tune from isotropic weights starts)
    the module is exactly the per-coefficient Wiener filter of the table; the factors are the
    Gaussian ones (input of unit variance, output the posterior std)."""
    from rdptheory.models.unet import wiener_coefficients

    fam = ShapedFamily(family.means, family.variances, skip="wiener")
    tr = Trainer(_cfg(shaped_skip="wiener"), parts, family=fam)
    with torch.no_grad():
        tr.ema.unet.conv_out.weight.zero_()
        tr.ema.unet.conv_out.bias.zero_()
    rng = np.random.default_rng(5)
    xb = image_to_blocks(torch.from_numpy(rng.normal(size=(2, 3, 16, 16))),
                         torch.from_numpy(block_dct_basis()), 8).numpy()
    snr = fam.snr(0.02)
    w = np.sqrt(snr)[:, None, None] * xb + rng.standard_normal(xb.shape)
    np.testing.assert_allclose(tr.ema_shaped_denoise(w, snr), wiener_blocks(w, snr, fam),
                               rtol=1e-5, atol=1e-5)
    lam = torch.tensor([0.5, 2.0], dtype=torch.float64)
    a, out = wiener_coefficients(torch.tensor([[0.0, 3.0]], dtype=torch.float64), lam)
    np.testing.assert_allclose(a.numpy(), [[1.0, 1 / math.sqrt(7)]], rtol=1e-14)
    np.testing.assert_allclose(out.numpy(), [[math.sqrt(0.5), math.sqrt(2 / 7)]], rtol=1e-14)
    with pytest.raises(ValueError, match="wiener skip needs"):
        shaped_denoiser(build_unet(TINY), torch.from_numpy(block_dct_basis()), skip="wiener")
    with pytest.raises(ValueError, match="shaped_skip"):
        TrainConfig(shaped_skip="none")


def test_fine_tune_ema_warm_up_restarts(parts, family):
    """The EMA after the first step of a fine-tune is (1/10) old + (9/10) new weights: the
    warm-up decay min(0.998, (1 + k)/(10 + k)) counts k from the fine-tune's start."""
    tr = Trainer(_cfg(), parts, family=family)
    tr.step = tr.start_step = 500
    old = {k: v.clone() for k, v in tr.ema.state_dict().items()}
    tr.train_step(0.0)
    new = tr.model.state_dict()
    key = "unet.conv_in.weight"
    np.testing.assert_allclose(tr.ema.state_dict()[key].numpy(),
                               (0.1 * old[key] + 0.9 * new[key]).numpy(), rtol=1e-5, atol=1e-7)
