"""Image loaders: bundled photographs, folders, CIFAR-10 python batches, model-space maps."""

import doctest
import pickle

import numpy as np
import pytest
from PIL import Image

import rdptheory._patches
import rdptheory.data
from rdptheory.data import (
    TRAIN_IMAGES,
    UNSEEN_IMAGES,
    bundled_image,
    center_crop,
    from_model_space,
    load_cifar10,
    load_folder,
    load_image,
    to_model_space,
)


@pytest.mark.parametrize("module", [rdptheory.data, rdptheory._patches])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_bundled_images_are_rgb_uint8():
    for name in TRAIN_IMAGES + UNSEEN_IMAGES:
        im = bundled_image(name)
        assert im.pixels.dtype == np.uint8 and im.pixels.ndim == 3 and im.pixels.shape[2] == 3
    with pytest.raises(ValueError, match="name"):
        bundled_image("lena")


def test_model_space_round_trip_is_exact():
    u = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    x = to_model_space(u)
    assert x.shape == (3, 5, 7) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(from_model_space(x), u)


def test_folder_and_crop(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("b.png", "a.jpg"):
        Image.fromarray(rng.integers(0, 256, (10, 12, 3)).astype(np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("x")
    imgs = load_folder(tmp_path)
    assert [i.name for i in imgs] == ["a", "b"]
    assert center_crop(imgs[0].pixels, 8).shape == (8, 8, 3)
    with pytest.raises(FileNotFoundError):
        load_folder(tmp_path / "missing")


def test_cifar10_batch(tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": data, b"labels": [0, 1]}, f)
    imgs = load_cifar10(tmp_path)
    assert len(imgs) == 2 and imgs[1].pixels.shape == (32, 32, 3)
    assert imgs[1].pixels[0, 0, 1] == data[1, 1024]  # channel-major rows -> HWC
    assert len(load_cifar10(tmp_path / "data_batch_1", limit=1)) == 1


# ---- issue 9: every Pillow mode converted correctly, pixel limit from the header ----------
_U16 = np.array([[0, 1, 128, 129, 257], [32767, 32768, 65280, 65534, 65535]], dtype=np.uint16)


def _grey(expected: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(expected, dtype=np.uint8)[:, :, None], 3, axis=2)


def _round_16_to_8(v: np.ndarray) -> np.ndarray:
    """Independent reference: nearest 8-bit level of a 16-bit value (floating point)."""
    return np.floor(v.astype(np.float64) * 255.0 / 65535.0 + 0.5)


@pytest.mark.parametrize("mode, suffix", [("I;16", ".png"), ("I;16B", ".tif"), ("I", ".tif")])
def test_16_bit_greyscale_is_scaled_not_saturated(tmp_path, mode, suffix):
    if mode == "I;16":
        im = Image.fromarray(_U16)
    elif mode == "I;16B":
        im = Image.frombytes("I;16B", _U16.shape[::-1], _U16.astype(">u2").tobytes())
    else:
        im = Image.fromarray(_U16.astype(np.int32))
    im.save(tmp_path / f"g{suffix}")
    with Image.open(tmp_path / f"g{suffix}") as check:
        assert check.mode == mode  # the file really is in the mode under test
    got = load_image(tmp_path / f"g{suffix}").pixels
    assert np.array_equal(got, _grey(_round_16_to_8(_U16)))
    assert got[0, :4, 0].tolist() == [0, 0, 0, 1] and got[1, 4, 0] == 255  # 128.5 -> half up


def test_32_bit_integer_outside_16_bit_is_refused(tmp_path):
    Image.fromarray(np.array([[-5, 70000]], dtype=np.int32)).save(tmp_path / "i.tif")
    with pytest.raises(ValueError, match=r"outside the 16-bit range"):
        load_image(tmp_path / "i.tif")


def test_float_image(tmp_path):
    a = np.array([[0.4, 0.6, 254.5], [-3.0, 300.0, 17.2]], dtype=np.float32)
    Image.fromarray(a).save(tmp_path / "f.tif")
    expected = np.clip(np.round(a.astype(np.float64)), 0, 255)  # numpy rounds half to even
    assert np.array_equal(load_image(tmp_path / "f.tif").pixels, _grey(expected))
    Image.fromarray(np.array([[np.nan, 1.0]], dtype=np.float32)).save(tmp_path / "n.tif")
    with pytest.raises(ValueError, match="NaN or inf"):
        load_image(tmp_path / "n.tif")


def test_bilevel_and_greyscale(tmp_path):
    bits = np.array([[True, False, True], [False, False, True]])
    Image.fromarray(bits).save(tmp_path / "b.png")
    assert np.array_equal(load_image(tmp_path / "b.png").pixels, _grey(255 * bits))
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey).save(tmp_path / "l.png")
    assert np.array_equal(load_image(tmp_path / "l.png").pixels, _grey(grey))


def test_palette_image_is_looked_up(tmp_path):
    rng = np.random.default_rng(3)
    palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    idx = rng.integers(0, 256, (5, 6), dtype=np.uint8)
    im = Image.new("P", (6, 5))
    im.putpalette(palette.ravel().tolist())
    im.putdata(idx.ravel().tolist())
    im.save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as check:
        assert check.mode == "P"
    assert np.array_equal(load_image(tmp_path / "p.png").pixels, palette[idx])


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P+transparency"])
def test_alpha_is_dropped_with_a_warning(tmp_path, mode):
    rng = np.random.default_rng(4)
    if mode == "RGBA":
        a = rng.integers(0, 256, (4, 5, 4), dtype=np.uint8)
        expected = a[:, :, :3]
        Image.fromarray(a).save(tmp_path / "x.png")
    elif mode == "LA":
        a = rng.integers(0, 256, (4, 5, 2), dtype=np.uint8)
        expected = _grey(a[:, :, 0])
        Image.fromarray(a).save(tmp_path / "x.png")
    else:
        palette = rng.integers(0, 256, (4, 3), dtype=np.uint8)
        idx = rng.integers(0, 4, (4, 5), dtype=np.uint8)
        im = Image.new("P", (5, 4))
        im.putpalette(palette.ravel().tolist())
        im.putdata(idx.ravel().tolist())
        im.info["transparency"] = 0
        im.save(tmp_path / "x.png", transparency=0)
        expected = palette[idx]
    with pytest.warns(UserWarning, match="alpha channel; it is dropped"):
        got = load_image(tmp_path / "x.png").pixels
    assert np.array_equal(got, expected)


def test_cmyk_uses_the_uncalibrated_formula(tmp_path):
    cmyk = np.random.default_rng(5).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    Image.frombytes("CMYK", (4, 3), cmyk.tobytes()).save(tmp_path / "c.tif")
    c, k = cmyk[..., :3].astype(np.float64), cmyk[..., 3:].astype(np.float64)
    expected = np.rint((255 - c) * (255 - k) / 255)  # never a tie: 255 is odd
    assert np.array_equal(load_image(tmp_path / "c.tif").pixels, expected)


def test_pixel_limit_is_checked_from_the_header(tmp_path):
    import struct
    import zlib

    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(tmp_path / "s.png")
    assert load_image(tmp_path / "s.png", max_pixels=20).pixels.shape == (4, 5, 3)
    with pytest.raises(ValueError, match=r"5x4 = 20 pixels, above the pixel limit of 19"):
        load_image(tmp_path / "s.png", max_pixels=19)
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(tmp_path / "s.png", max_pixels=0)

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    # a 30000 x 30000 header over a 1-row payload: Pillow's own bomb check would raise here
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0,
                                                              0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(30001))) + chunk(b"IEND", b""))
    (tmp_path / "bomb.png").write_bytes(bomb)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ValueError, match=r"30000x30000 = 900000000 pixels, above the pixel limit"):
        load_image(tmp_path / "bomb.png")
    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.parametrize("content, match", [(b"", "is empty"), (b"GIF89a-nope", "not an image"),
                                            (None, "truncated")])
def test_unreadable_files_are_value_errors(tmp_path, content, match):
    if content is None:
        Image.fromarray(np.random.default_rng(6).integers(0, 256, (16, 16, 3),
                                                          dtype=np.uint8)).save(tmp_path / "t.png")
        content = (tmp_path / "t.png").read_bytes()[:-60]
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_image(tmp_path / "x.png")
    with pytest.raises(IsADirectoryError):
        load_image(tmp_path)


def test_from_model_space_refuses_non_finite_values():
    x = np.zeros((3, 2, 2))
    x[1, 0, 1] = np.nan
    with pytest.raises(ValueError, match="1 non-finite"):
        from_model_space(x)
