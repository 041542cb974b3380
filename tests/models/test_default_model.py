"""The default image model's contract without torch (issue 11): what the default is, the clear
ImportError where torch or safetensors is missing, and a light ``import rdptheory.models``.

The UNet itself (loading, codec round trip, fingerprint) is tested in ``test_shipped.py``.
"""

import subprocess
import sys

import pytest

import rdptheory.models as models
from rdptheory.cli import build_parser


@pytest.mark.parametrize("missing", ["torch", "safetensors"])
def test_default_model_without_torch_names_the_install_and_the_alternative(monkeypatch,
                                                                            missing):
    monkeypatch.setitem(sys.modules, missing, None)  # find_spec → None: "not installed"
    for call in (models.default_model, models.load_default, lambda: models.load_model(None),
                 lambda: models.load_model("unet")):
        with pytest.raises(ImportError) as info:
            call()
        msg = str(info.value)
        assert missing in msg and "pip install 'rdptheory[images,torch]'" in msg
        assert "load_model('gmm-shift')" in msg and "--model gmm-shift" in msg


def test_default_compress_without_torch_raises_the_same_import_error(monkeypatch):
    import numpy as np

    from rdptheory.images.codec import CodecConfig, compress

    monkeypatch.setitem(sys.modules, "torch", None)
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ImportError, match=r"rdptheory\[images,torch\]"):
        compress(image, bpp=1.0, config=CodecConfig(backend="numpy", n_levels=4))


def test_the_patch_gmm_needs_no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "diffusers", None)
    gmm = models.load_model("patch-gmm")
    assert isinstance(gmm, models.PatchGMMImageModel) and gmm.name.startswith("patch-gmm")


def test_cli_model_defaults_are_the_default_spec():
    parser = build_parser()
    base = {"compress": ["a.png", "o.rdp", "--bpp", "1"], "decompress": ["a.rdp", "o.png"],
            "eval": ["--images", "a.png", "--bpp", "1"],
            "eval-dataset": ["src", "out", "--bpp", "1"]}
    for cmd, rest in base.items():
        assert parser.parse_args([cmd, *rest]).model == models.DEFAULT_SPEC == "unet", cmd


def test_import_is_light_and_lazy_names_resolve():
    code = ("import sys, rdptheory.models as m; heavy = [k for k in ('torch', 'diffusers', "
            "'scipy', 'numba') if k in sys.modules]; assert not heavy, heavy; "
            "assert m.PatchGMM.__name__ == 'PatchGMM' and m.ImageModel.__name__ == "
            "'ImageModel'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "ok"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        models.nope  # noqa: B018
