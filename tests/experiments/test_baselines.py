"""Pillow baselines: real byte counts, rate targeting by bisection, decoded shapes."""

import io

import numpy as np
import pytest
from PIL import Image

from rdptheory.data import bundled_image, center_crop
from rdptheory.experiments import baselines
from rdptheory.metrics import psnr


@pytest.fixture(scope="module")
def image():
    return center_crop(bundled_image("china").pixels, 96)[:, :88]  # not square


@pytest.mark.parametrize("codec", baselines.available())
def test_encode_counts_the_real_file(image, codec):
    c = baselines.encode(image, codec, baselines._quality_range(codec)[1] / 2)
    assert c.reconstruction.shape == image.shape and c.reconstruction.dtype == np.uint8
    assert c.bpp == 8 * c.n_bytes / (96 * 88)
    # the same bytes written by hand decode to the same reconstruction
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, **baselines._save_kwargs(
        codec, 400 / c.quality if codec == "jpeg2000" else c.quality))
    assert len(buf.getvalue()) == c.n_bytes
    assert 15.0 < psnr(image, c.reconstruction) < 60.0


@pytest.mark.parametrize("codec", baselines.available())
def test_at_bpp_is_the_highest_quality_under_the_target(image, codec):
    for target in (0.8, 2.0):
        c = baselines.at_bpp(image, codec, target)
        assert c.bpp <= target and c.reconstruction.shape == image.shape
        if codec == "jpeg2000":  # continuous setting: within 10% of the target
            assert c.bpp > 0.9 * target
        else:  # integer setting: one step up would not fit
            assert baselines.encode(image, codec, c.quality + 1).bpp > target


def test_psnr_rises_with_rate(image):
    for codec in ("jpeg", "webp"):
        sweep = baselines.quality_sweep(image, codec, n=4)
        rates = [c.bpp for c in sweep]
        assert rates == sorted(rates)
        assert psnr(image, sweep[0].reconstruction) < psnr(image, sweep[-1].reconstruction)


def test_bad_inputs(image):
    with pytest.raises(ValueError, match="codec"):
        baselines.unavailable("bpg")
    with pytest.raises(ValueError, match="quality"):
        baselines.encode(image, "jpeg", 0)
    with pytest.raises(ValueError, match="uint8"):
        baselines.encode(image.astype(float), "jpeg", 50)
    with pytest.raises(ValueError, match="bpp"):
        baselines.at_bpp(image, "webp", -1.0)
    assert set(baselines.available()) <= set(baselines.CODECS)
