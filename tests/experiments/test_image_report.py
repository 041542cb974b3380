"""Report figures and evaluation helpers."""

import numpy as np
import pytest

from rdptheory.data import bundled_image
from rdptheory.experiments import plots
from rdptheory.experiments.image_eval import RhoPoint, rho_sweep
from rdptheory.experiments.image_report import (
    codec_prefix_curve,
    codec_prefix_decodes,
    report_section,
)
from rdptheory.images.codec import CodecConfig
from rdptheory.models import load_model
from rdptheory.models.fit_prior import patch_split


def test_codec_prefix_curve_rates_increase():
    pixels = bundled_image("china").pixels[200:212, 300:312]
    curve = codec_prefix_curve(pixels, noise_var=0.05, rhos=(1.0, 2.0), n_points=3,
                               config=CodecConfig(backend="numpy", n_levels=12), ode_steps=6,
                               model=load_model("patch-gmm"))  # the default UNet: next test
    bpp = sorted({p.bpp for p in curve.points})
    assert len(bpp) == 3 and len(curve.points) == 6
    for rho in (1.0, 2.0):
        ps = sorted((p for p in curve.points if p.rho == rho), key=lambda q: q.bpp)
        assert ps[0].psnr < ps[-1].psnr


def test_rho_sweep_theory_columns_and_rho_one_perception():
    # Gaussian theory: rho = 1 has zero W2 and the largest MSE of rho in [1, 2] (THEORY §3).
    x = patch_split(8, 10, 40, seed=3).heldout
    pts = rho_sweep(x, [0.05], [1.0, 2.0], ode_steps=4)
    assert pts[0].theory_w2sq == pytest.approx(0.0, abs=1e-15)
    assert pts[0].theory_mse > pts[1].theory_mse > 0 and pts[1].theory_w2sq > 0
    assert all(np.isfinite([p.mse, p.frechet]).all() for p in pts)


def test_prefix_decodes_one_stream_many_rhos():
    # the reconstruction figure's premise: one stream, rho changes the decode, prefixes cost less
    # (with the default model, the shipped UNet, as in the report)
    imgs = [bundled_image("china").pixels[200:210, 300:310],
            bundled_image("flower").pixels[:10, :10]]
    pd = codec_prefix_decodes(imgs, ("a", "b"), noise_var=0.05, rhos=(1.0, 2.0), n_points=2,
                              config=CodecConfig(backend="numpy", n_levels=10), ode_steps=4)
    k0, k1 = pd.steps
    for i in range(2):
        assert pd.bpp[i][k0] < pd.bpp[i][k1]
        assert not np.array_equal(pd.decodes[i][(k1, 1.0)], pd.decodes[i][(k1, 2.0)])
        assert pd.decodes[i][(k1, 1.0)].shape == imgs[i].shape
    assert pd.curve.images == ("a", "b") and len(pd.curve.points) == 4
    assert pd.curve.description.startswith("unet-s;")


def _fake_points():
    return tuple(RhoPoint(t2, r, 1e-3 * (1 + t2 - 0.1 * r), 1e-4 * r * (1 + t2), 1e-3,
                          2e-3 * (1 + t2) / r, 1e-4 * (r - 1), 0.3)
                 for t2 in (0.01, 0.1) for r in (1.0, 1.5, 2.0))


def test_sweep_and_reconstruction_plots_write_png_and_pdf(tmp_path):
    sets = [plots.SweepSet("a", _fake_points()), plots.SweepSet("b", _fake_points())]
    img = np.zeros((8, 8, 3), np.uint8)
    paths = [plots.distortion_perception(sets, tmp_path / "dp.png"),
             plots.psnr_over_rho(sets, tmp_path / "psnr.png"),
             plots.reconstructions(img, [[(1.0, img, 1.0, 30.0), (2.0, img, 1.0, 29.0)]],
                                   tmp_path / "rec.png", row_labels=("whole",)),
             plots.side_by_side([img, img], [[("a", img, 1.0, 30.0, 1.0)]] * 2,
                                tmp_path / "side.png")]
    for p in paths:
        assert p.stat().st_size > 1000 and p.with_suffix(".pdf").stat().st_size > 1000


@pytest.mark.slow
def test_report_section_quick(tmp_path):
    figs = report_section(tmp_path, quick=True)
    assert len(figs) == 6 and all(p.stat().st_size > 1000 for _, p in figs)
    assert all(p.with_suffix(".pdf").exists() for _, p in figs)
    assert "BD-rate" in figs[0][0] and "JPEG" in figs[3][0]
    assert len((tmp_path / "image_bd_rate.csv").read_text().splitlines()) == 4
    # 2 images x (tiled GMM, shifted GMM, the default UNet, JPEG, WebP) + header
    lines = (tmp_path / "image_vs_classical.csv").read_text().splitlines()
    assert len(lines) == 11 and sum("unet-s" in ln for ln in lines) == 2
    assert "unet-s" in figs[0][0] and "no block grid of its own" in figs[1][0]
    for name in ("image_rate_distortion", "image_reconstructions", "image_rho_sweep"):
        assert len((tmp_path / f"{name}.csv").read_text().splitlines()) > 3


def test_evaluate_json_holds_the_baselines_of_the_same_run(tmp_path):
    import json

    from rdptheory.data import NamedImage
    from rdptheory.experiments.image_eval import evaluate, to_compressai_json, write_outputs

    imgs = [NamedImage("a", bundled_image("china").pixels[200:216, 300:316]),
            NamedImage("b", bundled_image("flower").pixels[100:116, 100:116])]
    res = evaluate(imgs, bpps=[3.0, 5.0], rhos=(1.0, 2.0), ode_steps=2,
                   config=CodecConfig(backend="numpy", n_levels=8), show_progress=False,
                   baselines=("jpeg", "webp"))
    doc = json.loads(to_compressai_json(res))
    assert set(doc["baselines"]) == {"jpeg", "webp"}
    for codec, rec in doc["baselines"].items():
        r = rec["results"]
        assert len(r["bpp"]) == len(r["psnr-rgb"]) == len(r["blockiness"]) == 2
        assert rec["name"] == codec and all(b > 0 for b in r["bpp"])
        assert "rho" not in r
    assert set(doc["bd_rate_percent"]) == {"rho=1", "rho=2"}
    assert set(doc["bd_rate_percent"]["rho=1"]) == {"jpeg", "webp"}
    assert len(doc["results"]["blockiness"]) == 4 and doc["original_blockiness"] > 0
    paths = write_outputs(res, tmp_path)
    assert {p.name for p in paths} >= {"results.json", "bd_rate.csv", "blockiness.png"}
    assert (tmp_path / "bd_rate.csv").read_text().splitlines()[0] == \
        "rho,bd_rate_vs_jpeg_percent,bd_rate_vs_webp_percent"
    with pytest.raises(ValueError, match="baselines"):
        evaluate(imgs, bpps=[6.0], baselines=("bpg",))


def test_eval_defaults_are_the_unet_and_every_classical_codec():
    """`rdptheory eval` (evaluate with no model/baselines) runs the default model and JPEG,
    WebP, AVIF and JPEG 2000 in the same run (issue 11 item 4)."""
    import inspect

    from rdptheory.experiments.baselines import CODECS
    from rdptheory.experiments.image_eval import DEFAULT_BASELINES, evaluate

    assert DEFAULT_BASELINES == CODECS == ("jpeg", "webp", "avif", "jpeg2000")
    sig = inspect.signature(evaluate).parameters
    assert sig["baselines"].default == CODECS and sig["model"].default is None


def test_rho_sweep_needs_an_exact_score_model():
    x = patch_split(8, 10, 4, seed=3).heldout
    with pytest.raises(TypeError, match="patch-GMM"):
        rho_sweep(x, [0.05], [1.0], model=object(), ode_steps=2)


def test_memo_model_decodes_the_same_bytes_without_repeating_the_replay():
    """The report's MemoModel: the encoder's calls serve every later replay of the same chain;
    decodes are bitwise those of the plain model, and the file is the same file."""
    from rdptheory.experiments.image_report import MemoModel
    from rdptheory.images.codec import compress_with_report, decompress, truncate

    gmm = load_model("patch-gmm")
    memo = MemoModel(gmm)
    assert memo.fingerprint() == gmm.fingerprint() and memo.name == gmm.name
    px = bundled_image("china").pixels[200:212, 300:312]
    cfg = CodecConfig(backend="numpy", n_levels=8)
    plain = compress_with_report(px, model=gmm, noise_var=0.05, seed=2, config=cfg)
    res = compress_with_report(px, model=memo, noise_var=0.05, seed=2, config=cfg)
    assert res.data == plain.data and res.n_steps >= 3
    encoder_calls = memo.calls
    for k in (2, res.n_steps):
        for rho in (1.0, 2.0):
            got = decompress(truncate(res.data, k), model=memo, rho=rho, ode_steps=3,
                             backend="numpy")
            want = decompress(truncate(res.data, k), model=gmm, rho=rho, ode_steps=3,
                              backend="numpy")
            assert np.array_equal(got, want), (k, rho)
    # every replayed chain step was a hit; only the PF-ODE calls (5 per Heun-3 decode, the
    # first of them at the replayed state possibly a hit too) reached the model
    assert memo.hits >= 2 * (2 + res.n_steps) - 4
    assert memo.calls - encoder_calls <= 4 * 5


def test_memo_model_bounds_its_memory_and_copies():
    from rdptheory.experiments.image_report import MemoModel

    class Fake:
        name = "fake"

        def __init__(self):
            self.n = 0

        def denoise(self, y, t2):
            self.n += 1
            return np.asarray(y) * 0.5

        def score(self, y, t2):
            return -y

    fake = Fake()
    memo = MemoModel(fake, max_bytes=3 * 8 * 4)  # three (4,) float64 outputs
    ys = [np.full(4, float(i)) for i in range(4)]
    for y in ys:
        memo.denoise(y, 0.1)
    assert fake.n == 4 and memo._bytes == 3 * 32
    out = memo.denoise(ys[3], 0.1)
    out[:] = 99.0  # the caller's copy; the cache keeps its own
    assert fake.n == 4 and np.array_equal(memo.denoise(ys[3], 0.1), ys[3] * 0.5)
    memo.denoise(ys[0], 0.1)  # dropped (least recently used): recomputed
    assert fake.n == 5
    memo.denoise(ys[1], 0.2)  # another noise level: another entry
    assert fake.n == 6 and np.array_equal(memo.score(ys[1], 0.2), -ys[1])
    assert memo.denoise([1.0], 0.1) is not None and fake.n == 7  # not an array: uncached
    with pytest.raises(ValueError, match="max_bytes"):
        MemoModel(fake, max_bytes=-1)


def test_bd_rates_count_a_baselines_repeated_smallest_file_once():
    """A baseline asked for rates below its smallest file returns that file at each of them:
    the repeated points count once (they made every BD-rate n/a at 48x48), the value is
    metrics.bd_rate of the distinct points."""
    from rdptheory.experiments.image_eval import BaselineCurve, EvalPoint, EvalResult, bd_rates
    from rdptheory.metrics import bd_rate

    def pt(t, rho, bpp, psnr):
        return EvalPoint(t, rho, bpp, psnr, 0.9, 1e-3, 1e-3, 1e-3, 0.0, 0.0)

    ours = tuple(pt(t, 1.0, b, q) for t, b, q in ((1, 0.3, 15.5), (2, 0.5, 17.5), (3, 1.3, 22.0),
                                                   (4, 3.7, 28.4)))
    jpeg = tuple(pt(t, float("nan"), b, q) for t, b, q in ((1, 1.18, 18.0), (2, 1.18, 18.0),
                                                            (3, 1.32, 19.0), (4, 3.68, 27.3)))
    res = EvalResult("x", "d", "steps", ("a",), ours, (BaselineCurve("jpeg", "j", jpeg),))
    got = bd_rates(res)[1.0]["jpeg"]
    want = bd_rate([1.18, 1.32, 3.68], [18.0, 19.0, 27.3], [p.bpp for p in ours],
                   [p.psnr for p in ours])
    assert got == pytest.approx(want, rel=1e-12) and got < 0
    flat = tuple(pt(t, float("nan"), 1.18, 18.0) for t in (1, 2, 3))  # one distinct point
    assert bd_rates(EvalResult("x", "d", "steps", ("a",), ours,
                               (BaselineCurve("jpeg", "j", flat),)))[1.0]["jpeg"] is None
