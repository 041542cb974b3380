"""`rdptheory compress / decompress / eval` end to end on a tiny image."""

import json
import pathlib

import numpy as np
import pytest
from PIL import Image

from rdptheory.cli import main
from rdptheory.data import bundled_image, load_image

FAST = ["--backend", "numpy", "--levels", "12"]


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    Image.fromarray(bundled_image("flower").pixels[200:216, 300:320]).save(d / "a.png")
    return d / "a.png"


def test_compress_decompress(png, tmp_path, capsys):
    """The default --model is the shipped UNet: its fingerprint is in the file."""
    pytest.importorskip("torch")
    from rdptheory.images import _format
    from rdptheory.images.codec import _fingerprint
    from rdptheory.models import load_default, load_model

    out = tmp_path / "a.rdp"
    assert main(["compress", str(png), str(out), "--bpp", "6", *FAST]) == 0
    assert "bpp" in capsys.readouterr().out
    assert 8 * out.stat().st_size / (16 * 20) <= 6.0
    fp = _format.unpack_stream(out.read_bytes()).header.fingerprint
    assert fp == _fingerprint(load_default()) != _fingerprint(load_model("patch-gmm"))
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
    pytest.importorskip("torch")  # the default model
    out = tmp_path / "ev"
    assert main(["eval", "--images", str(png.parent), "--noise-var", "0.3", "0.05",
                 "--rho", "1", "2", "--out", str(out), "--ode-steps", "6", *FAST]) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res) >= {"name", "description", "results"}
    assert res["description"].startswith("unet-s;")  # the default model
    ran, skipped = set(res["baselines"]), set(res["skipped_baselines"])
    assert ran | skipped == {"jpeg", "webp", "avif", "jpeg2000"} and {"jpeg", "webp"} <= ran
    r = res["results"]
    assert len(r["bpp"]) == 4 and {"psnr-rgb", "ms-ssim-rgb", "frechet", "sliced-w2sq",
                                    "encoding_time", "decoding_time"} <= set(r)
    by = {(t, rho): p for t, rho, p in zip(r["target"], r["rho"], r["psnr-rgb"])}
    assert by[(0.05, 1.0)] > by[(0.3, 1.0)] and by[(0.05, 2.0)] > by[(0.3, 2.0)]
    assert (out / "rate_distortion.png").stat().st_size > 1000
    assert (out / "rate_perception.png").stat().st_size > 1000
    assert np.isfinite(r["frechet"]).all()


# ---- issue 9: the CLI boundary (in-process; the subprocess battery is tests/cli/) ---------
def _err_lines(capsys):
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def test_force_overwrites_and_alpha_warns_once(tmp_path, capsys):
    pytest.importorskip("torch")  # the default model
    rgba = np.random.default_rng(2).integers(0, 256, (8, 8, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = tmp_path / "a.rdp"
    out.write_bytes(b"older")
    argv = ["compress", str(tmp_path / "a.png"), str(out), "--bpp", "4", *FAST]
    assert main(argv) == 2 and out.read_bytes() == b"older"
    assert _err_lines(capsys) == [f"rdptheory compress: error: output {out} already exists; "
                                  "pass --force to overwrite it"]
    assert main([*argv, "--force"]) == 0
    (line,) = _err_lines(capsys)
    assert line.startswith("rdptheory: warning: image") and "alpha channel" in line
    assert out.read_bytes()[:4] == b"RDPI"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.rdp"]


def test_a_failing_write_leaves_no_output(png, tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")  # the default model
    data = tmp_path / "a.rdp"
    assert main(["compress", str(png), str(data), "--bpp", "4", *FAST]) == 0

    def broken_save(self, fp, format=None, **kw):  # half a file, then the disk fills up
        pathlib.Path(fp).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device", str(fp))

    monkeypatch.setattr(Image.Image, "save", broken_save)
    assert main(["decompress", str(data), str(tmp_path / "o.png"), "--backend", "numpy",
                 "--ode-steps", "2"]) == 2
    (line,) = _err_lines(capsys)
    assert line.startswith("rdptheory decompress: error:") and "No space left" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rdp"]


@pytest.mark.parametrize("exc, code, needle", [
    (RuntimeError("boom"), 1, "internal error: RuntimeError: boom (a bug; rerun with "
                              "RDPTHEORY_DEBUG=1"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (ValueError(f"D must be > 0, got {np.float64(0.0)!r}\nsecond line"), 2,
     "error: D must be > 0, got 0.0 second line"),
    (MemoryError(), 2, "error: out of memory"),
])
def test_boundary_prints_one_line(monkeypatch, capsys, exc, code, needle):
    from rdptheory.cli import _images

    def fail(args):
        raise exc

    monkeypatch.setattr(_images, "_cmd_compress", fail)
    monkeypatch.delenv("RDPTHEORY_DEBUG", raising=False)
    assert main(["compress", "x.png", "y.rdp", "--bpp", "1"]) == code
    (line,) = _err_lines(capsys)
    assert line.startswith("rdptheory compress: ") and needle in line, line
    monkeypatch.setenv("RDPTHEORY_DEBUG", "1")  # the traceback on request
    with pytest.raises(type(exc)):
        main(["compress", "x.png", "y.rdp", "--bpp", "1"])
