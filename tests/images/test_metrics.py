"""Image metrics: PSNR/MS-SSIM identities and closed-form checks of the patch divergences."""

import numpy as np
import pytest

from rdptheory.images.datasets import bundled_image
from rdptheory.images.metrics import (
    exact_w2sq,
    frechet_distance,
    image_patches,
    ms_ssim,
    psnr,
    sliced_w2sq,
)

ALPHA_REL = 0.05  # relative tolerance of the Monte-Carlo checks (fixed seeds)


@pytest.fixture(scope="module")
def pair():
    a = bundled_image("coffee").pixels[:180, :200]
    rng = np.random.default_rng(0)
    noisy = [np.clip(a + rng.normal(0, s, a.shape), 0, 255).astype(np.uint8) for s in (5, 20)]
    return a, noisy


def test_psnr_closed_form():
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    b = a + 10
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 100), rel=1e-12)
    assert psnr(a, a) == float("inf")


def test_ms_ssim_identity_and_monotone_in_noise(pair):
    a, (low, high) = pair
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert 1.0 > ms_ssim(a, low) > ms_ssim(a, high) > 0.0
    assert 0.0 < ms_ssim(a[:40, :40], low[:40, :40]) < 1.0  # fewer scales on small images
    with pytest.raises(ValueError, match="at least"):
        ms_ssim(a[:8, :8], a[:8, :8])
    with pytest.raises(ValueError, match="shape"):
        ms_ssim(a, a[:10])


def test_frechet_exact_for_a_translation():
    x = np.random.default_rng(1).normal(size=(500, 6))
    m = np.array([0.3, -0.1, 0.0, 0.2, 0.0, 0.1])
    assert frechet_distance(x, x + m) == pytest.approx(np.sum(m**2) / 6, rel=1e-9)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-12)


def test_exact_w2_of_a_translation_is_the_shift():
    # For a translated copy the identity coupling is optimal: W2^2 = |m|^2 exactly.
    x = np.random.default_rng(2).normal(size=(60, 3))
    m = np.array([0.5, 0.0, -0.5])
    assert exact_w2sq(x, x + m) == pytest.approx(np.sum(m**2) / 3, rel=1e-9)


def test_sliced_w2_of_a_translation():
    # SW2^2 of a shift m averages (theta.m)^2 over the sphere: |m|^2 / d.
    x = np.random.default_rng(3).normal(size=(400, 4))
    m = np.array([1.0, 0.0, 0.0, 0.0])
    assert sliced_w2sq(x, x + m, n_projections=4000) == pytest.approx(0.25, rel=ALPHA_REL)


def test_image_patches_shapes(pair):
    a, _ = pair
    p = image_patches([a, a[:17, :9]], patch=8)
    assert p.shape == (23 * 25 + 3 * 2, 192) and 0.0 <= p.min() and p.max() <= 1.0
