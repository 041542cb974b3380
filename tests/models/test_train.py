"""Training of the shipped model on a tiny configuration: loss goes down, resume is exact,
batches are pure functions of (seed, step), the EDM coefficients match [KAAL22] Table 1."""

import io
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from rdptheory.data import bundled_image  # noqa: E402
from rdptheory.models.data import holdout_crops, random_batch, split_holdout  # noqa: E402
from rdptheory.models.train import (  # noqa: E402
    TrainConfig,
    Trainer,
    denoising_psnr,
    lr_factor,
    noise_draw,
    run,
)
from rdptheory.models.unet import (  # noqa: E402
    PRECONDITIONING_FILE,
    EDMPreconditioning,
    edm_denoiser,
    edm_loss_weight,
    load_preconditioning,
)

TINY = {"sample_size": 16, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
        "block_out_channels": (8, 16), "down_block_types": ("DownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "UpBlock2D"), "norm_num_groups": 4}


def _cfg(**kw):
    base = dict(batch=4, crop=16, lr=3e-3, warmup=2, seed=3, unet=TINY)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def parts():
    return [split_holdout(bundled_image("coffee")).train[:, :96, :96].copy()]


def _fixed_loss(trainer, parts):
    """Mean EDM-weighted loss of the (training) model on fixed batches at σ ∈ {0.1, 0.5}."""
    x = torch.from_numpy(random_batch(parts, 16, 16, seed=99, step=0))
    n = torch.from_numpy(np.random.default_rng(7).standard_normal(x.shape, dtype=np.float32))
    total = 0.0
    with torch.no_grad():
        for s in (0.1, 0.5):
            sigma = torch.full((x.shape[0],), s)
            d = trainer.model(x + s * n, sigma)
            total += float((edm_loss_weight(sigma, 0.5) * ((d - x) ** 2).mean((1, 2, 3))).mean())
    return total / 2


def test_training_reduces_the_loss(parts):
    tr = Trainer(_cfg(), parts)
    before = _fixed_loss(tr, parts)
    for k in range(15):
        tr.train_step(k / 15)
    after = _fixed_loss(tr, parts)
    assert after < 0.8 * before, (before, after)


def test_resume_is_bitwise_identical(parts):
    cfg = _cfg()
    a = Trainer(cfg, parts)
    for k in range(6):
        a.train_step(k / 6)
    b = Trainer(cfg, parts)
    for k in range(3):
        b.train_step(k / 6)
    buf = io.BytesIO()
    torch.save(b.state_dict(), buf)
    buf.seek(0)
    c = Trainer(cfg, parts)
    c.load_state_dict(torch.load(buf, weights_only=False))
    for k in range(3, 6):
        c.train_step(k / 6)
    assert c.step == a.step == 6
    for key in ("model", "ema"):
        sa, sc = a.state_dict()[key], c.state_dict()[key]
        assert sa.keys() == sc.keys()
        assert all(torch.equal(sa[n], sc[n]) for n in sa)
    with pytest.raises(ValueError, match="another configuration"):
        Trainer(_cfg(seed=4), parts).load_state_dict(b.state_dict())


def test_batches_and_noise_are_pure_in_seed_and_step(parts):
    a = random_batch(parts, 3, 16, seed=1, step=5)
    assert np.array_equal(a, random_batch(parts, 3, 16, seed=1, step=5))
    assert not np.array_equal(a, random_batch(parts, 3, 16, seed=1, step=6))
    s, n = noise_draw(_cfg(), 5, (2000, 1))
    assert np.array_equal(s, noise_draw(_cfg(), 5, (2000, 1))[0])
    # ln σ uniform on [ln 0.01, ln 10]: mean (ln 0.01 + ln 10)/2, sd (ln 1000)/√12
    ls = np.log(s.astype(np.float64))
    assert ls.min() >= math.log(0.01) - 1e-6 and ls.max() <= math.log(10.0) + 1e-6
    se = math.log(1000.0) / math.sqrt(12 * 2000)
    assert abs(ls.mean() - 0.5 * math.log(0.1)) < 4 * se  # two-sided, alpha ~ 6e-5


def test_holdout_strip_is_disjoint_from_training_part():
    img = bundled_image("astronaut")
    sp = split_holdout(img)
    assert sp.train.shape[2] + sp.holdout.shape[2] == img.pixels.shape[1]
    assert sp.holdout.shape[2] == round(0.15 * img.pixels.shape[1])
    np.testing.assert_allclose(sp.holdout[:, :, 0],
                               img.pixels[:, sp.train.shape[2]].T / 127.5 - 1.0, atol=1e-6)
    crops = holdout_crops([sp])
    assert crops.shape == (2, 3, 64, 64)


def test_edm_coefficients_match_karras_table_1():
    torch.manual_seed(0)
    from rdptheory.models.unet import build_unet

    d = edm_denoiser(build_unet(TINY), EDMPreconditioning())
    sigma = torch.tensor([0.01, 0.5, 10.0], dtype=torch.float64)
    c_skip, c_out, c_in, c_noise = d.coefficients(sigma)
    s = sigma.numpy()
    np.testing.assert_allclose(c_skip.numpy(), 0.25 / (s**2 + 0.25), rtol=1e-12)
    np.testing.assert_allclose(c_out.numpy(), 0.5 * s / np.sqrt(s**2 + 0.25), rtol=1e-12)
    np.testing.assert_allclose(c_in.numpy(), 1 / np.sqrt(s**2 + 0.25), rtol=1e-12)
    np.testing.assert_allclose(c_noise.numpy(), [0.0, 1000 * math.log(50) / math.log(1000),
                                                 1000.0], rtol=1e-12, atol=1e-9)
    # λ c_out² = 1: the EDM weighting gives the raw network target unit weight
    np.testing.assert_allclose((edm_loss_weight(sigma, 0.5) * c_out**2).numpy(), 1.0,
                               rtol=1e-12)
    with pytest.raises(ValueError):
        EDMPreconditioning(sigma_min=1.0, sigma_max=0.5)
    with pytest.raises(ValueError):
        EDMPreconditioning.from_json({"parameterization": "eps"})


def test_lr_schedule():
    assert lr_factor(0, 0.0, 10) == pytest.approx(0.1)
    assert lr_factor(50, 0.0, 10) == pytest.approx(1.0)
    assert lr_factor(50, 0.5, 10) == pytest.approx(0.51)
    assert lr_factor(50, 1.0, 10) == pytest.approx(0.02)


def test_run_writes_a_loadable_model(tmp_path, monkeypatch):
    import rdptheory.models.train as train_mod

    def tiny_photos(extra):
        return [bundled_image("coffee")]

    monkeypatch.setattr(train_mod, "training_photographs", tiny_photos)
    cfg = _cfg()
    tr = run(cfg, tmp_path, steps=3, minutes=None, resume=False, extra_images="",
             progress_bar=False)
    assert tr.step == 3 and (tmp_path / "state.pt").is_file()
    meta = json.loads((tmp_path / "model" / "training.json").read_text())
    assert (meta["step"], meta["start_step"]) == (3, 0)
    rec = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert rec["step"] == 3 and len(rec["val"]["model"]) == 6
    assert load_preconditioning(tmp_path / "model") == cfg.preconditioning
    assert (tmp_path / "model" / PRECONDITIONING_FILE).is_file()
    # resuming a finished run trains no further and restores the same EMA
    tr2 = run(cfg, tmp_path, steps=3, minutes=None, resume=True, extra_images="",
              progress_bar=False)
    assert tr2.step == 3
    assert all(torch.equal(tr.ema.state_dict()[k], v) for k, v in tr2.ema.state_dict().items())
    from rdptheory.models.diffusers_models import PixelDiffusionModel

    m = PixelDiffusionModel(tmp_path / "model")
    y = np.random.default_rng(0).normal(size=(1, 3, 16, 16))
    with torch.no_grad():
        direct = tr.ema(torch.from_numpy(y).float(), torch.tensor([0.3])).double().numpy()
    np.testing.assert_allclose(m.denoise(y, 0.09), direct, rtol=0, atol=1e-6)


def test_denoising_psnr_of_identity_is_the_noisy_psnr():
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, 3, 8, 8))
    r = denoising_psnr(lambda y, t: y, x, levels=(0.1, 0.4))
    assert r["model"] == r["noisy"] and r["noisy"][0] > r["noisy"][1]


def test_default_noise_draw_is_the_plain_log_uniform_stream():
    # the focus option must not change the default stream (old runs stay reproducible)
    cfg = _cfg()
    s, n = noise_draw(cfg, 11, (5, 3))
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 11, 1]))
    ref = np.exp(rng.uniform(math.log(0.01), math.log(10.0), size=5)).astype(np.float32)
    assert np.array_equal(s, ref)
    assert np.array_equal(n, rng.standard_normal((5, 3), dtype=np.float32))


def test_focused_noise_draw_is_the_stated_mixture():
    cfg = _cfg(sigma_focus=(0.05, 2.0), focus_weight=0.75)
    s = np.concatenate([noise_draw(cfg, k, (1000, 1))[0] for k in range(4)]).astype(np.float64)
    ls = np.log(s)
    assert ls.min() >= math.log(0.01) - 1e-6 and ls.max() <= math.log(10.0) + 1e-6
    # P(σ in [0.05, 2]) = 0.75 + 0.25 * ln(40)/ln(1000) = 0.88351...
    p = 0.75 + 0.25 * math.log(40.0) / math.log(1000.0)
    inside = np.mean((s >= 0.05) & (s <= 2.0))
    assert abs(inside - p) < 4 * math.sqrt(p * (1 - p) / s.size)  # alpha ~ 6e-5
    # mean of ln σ: 0.75 (ln 0.05 + ln 2)/2 + 0.25 (ln 0.01 + ln 10)/2
    mu = 0.375 * math.log(0.1) + 0.125 * math.log(0.1)
    m2 = 0.75 * (math.log(40) ** 2 / 12 + (0.5 * math.log(0.1)) ** 2) + 0.25 * (
        math.log(1000) ** 2 / 12 + (0.5 * math.log(0.1)) ** 2)
    assert abs(ls.mean() - mu) < 4 * math.sqrt((m2 - mu**2) / s.size)
    only = noise_draw(_cfg(sigma_focus=(0.05, 2.0), focus_weight=1.0), 0, (500, 1))[0]
    assert only.min() >= np.float32(0.05) * (1 - 1e-6) and only.max() <= np.float32(2.0) * (
        1 + 1e-6)


@pytest.mark.parametrize("kw", [dict(focus_weight=1.5), dict(focus_weight=-0.1),
                                dict(sigma_focus=(0.005, 2.0)), dict(sigma_focus=(2.0, 0.5)),
                                dict(sigma_focus=(0.1, 20.0)), dict(sigma_min=1.0, sigma_max=0.5)])
def test_focus_config_validation(kw):
    with pytest.raises(ValueError):
        _cfg(**kw)


def test_init_from_continues_steps_and_restarts_warmup(parts):
    base = Trainer(_cfg(), parts)
    for k in range(4):
        base.train_step(k / 4)
    state = base.state_dict()
    ft = Trainer(_cfg(sigma_focus=(0.05, 2.0), focus_weight=0.75, lr=1e-3, warmup=5), parts)
    ft.init_from(state)
    assert ft.step == ft.start_step == 4 and ft.elapsed == 0.0
    for key in ("model", "ema"):
        assert all(torch.equal(state[key][n], v) for n, v in ft.state_dict()[key].items())
    ft.train_step(0.0)
    assert ft.opt.param_groups[0]["lr"] == pytest.approx(1e-3 * lr_factor(0, 0.0, 5))
    # a fine-tune resumes as itself (start_step kept), bit for bit
    buf = io.BytesIO()
    torch.save(ft.state_dict(), buf)
    buf.seek(0)
    again = Trainer(ft.cfg, parts)
    again.load_state_dict(torch.load(buf, weights_only=False))
    assert again.start_step == 4 and again.step == 5
    ft.train_step(0.5)
    again.train_step(0.5)
    assert all(torch.equal(ft.model.state_dict()[n], v)
               for n, v in again.model.state_dict().items())
    other = dict(TINY, block_out_channels=(8, 8))
    with pytest.raises(ValueError, match="architecture"):
        Trainer(_cfg(unet=other), parts).init_from(state)


def test_checkpoint_without_the_focus_keys_still_resumes(parts):
    tr = Trainer(_cfg(), parts)
    tr.train_step(0.0)
    state = tr.state_dict()
    for k in ("sigma_focus", "focus_weight"):
        del state["cfg"][k]
    del state["start_step"]
    back = Trainer(_cfg(), parts)
    back.load_state_dict(state)
    assert back.step == 1 and back.start_step == 0
    with pytest.raises(ValueError, match="another configuration"):
        Trainer(_cfg(sigma_focus=(0.05, 2.0), focus_weight=0.5), parts).load_state_dict(state)


def test_scale_augmentation_config(parts, tmp_path):
    from rdptheory.models.data import random_batch as rb
    from rdptheory.models.train import export_model

    with pytest.raises(ValueError, match="distinct positive ints"):
        _cfg(scales=(0, 2))
    with pytest.raises(ValueError, match="scale_weights"):
        _cfg(scales=(1, 2), scale_weights=(1.0,))
    with pytest.raises(TypeError, match="permute_colors"):
        _cfg(permute_colors=1)
    cfg = _cfg(scales=(1, 2, 3), scale_weights=(0.5, 0.3, 0.2), permute_colors=True)
    tr = Trainer(cfg, parts)
    seen = []
    import rdptheory.models.train as train_mod

    orig = train_mod.random_batch
    try:
        train_mod.random_batch = lambda *a, **kw: seen.append(kw) or orig(*a, **kw)
        tr.train_step(0.0)
    finally:
        train_mod.random_batch = orig
    assert seen == [dict(scales=(1, 2, 3), scale_weights=(0.5, 0.3, 0.2), permute_colors=True)]
    assert not np.array_equal(rb(parts, 4, 16, 3, 0, **seen[0]), rb(parts, 4, 16, 3, 0))
    export_model(tr, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "training.json").read_text())["config"]
    assert (meta["scales"], meta["scale_weights"], meta["permute_colors"]) == (
        [1, 2, 3], [0.5, 0.3, 0.2], True)
    # a checkpoint written before the scale keys existed resumes as the plain-crop config
    state = Trainer(_cfg(), parts).state_dict()
    for k in ("scales", "scale_weights", "permute_colors"):
        del state["cfg"][k]
    Trainer(_cfg(), parts).load_state_dict(state)
    with pytest.raises(ValueError, match="another configuration"):
        tr.load_state_dict(state)
