"""`rdptheory compress / decompress / eval` end to end on a tiny image."""

import json

import numpy as np
import pytest
from PIL import Image

from rdptheory.cli import main
from rdptheory.images.datasets import bundled_image, load_image

FAST = ["--backend", "numpy", "--levels", "12"]


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    Image.fromarray(bundled_image("flower").pixels[200:216, 300:320]).save(d / "a.png")
    return d / "a.png"


def test_compress_decompress(png, tmp_path, capsys):
    out = tmp_path / "a.rdp"
    assert main(["compress", str(png), str(out), "--bpp", "6", *FAST]) == 0
    assert "bpp" in capsys.readouterr().out
    assert 8 * out.stat().st_size / (16 * 20) <= 6.0
    rec = tmp_path / "a_rec.png"
    assert main(["decompress", str(out), str(rec), "--rho", "1.5", "--backend", "numpy",
                 "--ode-steps", "8"]) == 0
    assert load_image(rec).pixels.shape == (16, 20, 3)


def test_decompress_bad_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.rdp"
    bad.write_bytes(b"RDPI\x01garbage")
    assert main(["decompress", str(bad), str(tmp_path / "x.png")]) == 2
    assert "image stream" in capsys.readouterr().err


def test_hub_id_is_a_clean_error(png, tmp_path, capsys):
    assert main(["compress", str(png), str(tmp_path / "o"), "--bpp", "1",
                 "--model", "someorg/some-model"]) == 2
    assert "huggingface-cli download" in capsys.readouterr().err


def test_eval_writes_compressai_json_and_plots(png, tmp_path):
    out = tmp_path / "ev"
    assert main(["eval", "--images", str(png.parent), "--noise-var", "0.3", "0.05",
                 "--rho", "1", "2", "--out", str(out), "--ode-steps", "6", *FAST]) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res) >= {"name", "description", "results"}
    r = res["results"]
    assert len(r["bpp"]) == 4 and {"psnr-rgb", "ms-ssim-rgb", "frechet", "sliced-w2sq",
                                    "encoding_time", "decoding_time"} <= set(r)
    by = {(t, rho): p for t, rho, p in zip(r["target"], r["rho"], r["psnr-rgb"])}
    assert by[(0.05, 1.0)] > by[(0.3, 1.0)] and by[(0.05, 2.0)] > by[(0.3, 2.0)]
    assert (out / "rate_distortion.png").stat().st_size > 1000
    assert (out / "rate_perception.png").stat().st_size > 1000
    assert np.isfinite(r["frechet"]).all()
