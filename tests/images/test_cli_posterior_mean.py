"""``rdptheory decompress --estimator``: the posterior-mean decode from the shell, checked
against the library's decode of the same file, and one-line errors for bad combinations."""

import numpy as np
import pytest
from PIL import Image

from rdptheory.cli import _images as cli_images
from rdptheory.cli import main
from rdptheory.data import bundled_image, load_image
from rdptheory.images.codec import ESTIMATORS, decompress
from rdptheory.models import load_model

FAST = ["--backend", "numpy", "--levels", "12", "--model", "patch-gmm"]


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    d = tmp_path_factory.mktemp("pm")
    Image.fromarray(bundled_image("flower").pixels[200:216, 300:320]).save(d / "a.png")
    assert main(["compress", str(d / "a.png"), str(d / "a.rdp"), "--bpp", "6", *FAST]) == 0
    return d / "a.rdp"


def test_cli_estimators_are_the_library_ones():
    assert cli_images.ESTIMATORS == ESTIMATORS


def test_posterior_mean_decode_is_the_library_decode(stream, tmp_path, capsys):
    rec = tmp_path / "pm.png"
    assert main(["decompress", str(stream), str(rec), "--estimator", "posterior-mean",
                 "--backend", "numpy", "--model", "patch-gmm"]) == 0
    assert "posterior mean" in capsys.readouterr().out
    want = decompress(stream.read_bytes(), model=load_model("patch-gmm"),
                      estimator="posterior-mean", backend="numpy")
    np.testing.assert_array_equal(load_image(rec).pixels, want)
    ode = tmp_path / "ode.png"
    assert main(["decompress", str(stream), str(ode), "--backend", "numpy", "--model",
                 "patch-gmm"]) == 0
    assert "rho=1" in capsys.readouterr().out
    np.testing.assert_array_equal(load_image(ode).pixels, decompress(
        stream.read_bytes(), model=load_model("patch-gmm"), rho=1.0, backend="numpy"))


@pytest.mark.parametrize("extra, needle", [
    (["--rho", "2"], "--rho applies to the ODE decoder"),
    (["--ode-steps", "4", "--solver", "exp2"], "--ode-steps, --solver apply to the ODE"),
    (["--per-direction"], "--per-direction applies")])
def test_ode_options_with_the_posterior_mean_are_one_line_errors(stream, tmp_path, capsys,
                                                                  extra, needle):
    out = tmp_path / "x.png"
    assert main(["decompress", str(stream), str(out), "--estimator", "posterior-mean",
                 "--model", "patch-gmm", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err
    assert not out.exists()


def test_unknown_estimator_is_refused(stream, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["decompress", str(stream), str(tmp_path / "x.png"), "--estimator", "mmse"])
    assert exc.value.code == 2
    assert "invalid choice: 'mmse'" in capsys.readouterr().err


def test_eval_posterior_mean_rows_are_the_library_decodes(stream, tmp_path):
    """``eval --posterior-mean``: a "mean" row per target next to the ρ rows, whose PSNR is
    that of the library's posterior-mean decode of the same file (same seed, same config)."""
    import json

    from rdptheory.images.codec import CodecConfig, compress
    from rdptheory.metrics import psnr

    png = stream.parent / "a.png"
    out = tmp_path / "ev"
    assert main(["eval", "--images", str(png), "--noise-var", "0.05", "--rho", "1",
                 "--posterior-mean", "--out", str(out), "--ode-steps", "4", *FAST]) == 0
    res = json.loads((out / "results.json").read_text())
    r = res["results"]
    assert r["decode"] == ["rho=1", "mean"] and r["rho"] == [1.0, None]
    assert set(res["bd_rate_percent"]) <= {"rho=1", "mean"}
    image = load_image(png).pixels
    data = compress(image, model=load_model("patch-gmm"), noise_var=0.05, seed=0,
                    config=CodecConfig(backend="numpy", n_levels=12))
    want = psnr(image, decompress(data, model=load_model("patch-gmm"),
                                  estimator="posterior-mean", backend="numpy"))
    assert r["psnr-rgb"][1] == pytest.approx(want, abs=1e-9)


def test_evaluate_needs_a_decode(stream):
    from rdptheory.experiments.image_eval import evaluate

    img = load_image(stream.parent / "a.png")
    with pytest.raises(ValueError, match="at least one rho"):
        evaluate([img], model=load_model("patch-gmm"), noise_vars=[0.1], rhos=())
    with pytest.raises(TypeError, match="posterior_mean must be a bool"):
        evaluate([img], model=load_model("patch-gmm"), noise_vars=[0.1], posterior_mean=1)
