"""Image loaders: bundled photographs, folders, CIFAR-10 python batches, model-space maps."""

import pickle

import numpy as np
import pytest
from PIL import Image

from rdptheory.images.datasets import (
    TRAIN_IMAGES,
    UNSEEN_IMAGES,
    bundled_image,
    center_crop,
    from_model_space,
    load_cifar10,
    load_folder,
    to_model_space,
)


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
