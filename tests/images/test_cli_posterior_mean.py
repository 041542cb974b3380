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
