"""Image metrics: PSNR/MS-SSIM identities and closed-form checks of the patch divergences."""

import numpy as np
import pytest

from rdptheory.data import bundled_image
from rdptheory.metrics import (
    bd_rate,
    blockiness,
    blockiness_check,
    blockiness_profile,
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


RATES = np.array([0.25, 0.5, 1.0, 2.0])
PSNR = np.array([24.0, 27.5, 30.0, 34.0])  # deliberately not linear in log-rate


def test_bd_rate_of_scaled_rates_is_the_scale():
    # ln R_test(q) = ln R_ref(q) + ln 0.8 at every q: BD = 0.8 - 1 exactly, whatever the shape
    assert bd_rate(RATES, PSNR, 0.8 * RATES, PSNR) == pytest.approx(-20.0, abs=1e-10)
    assert bd_rate(RATES, PSNR, 1.25 * RATES, PSNR) == pytest.approx(25.0, abs=1e-10)
    assert bd_rate(RATES, PSNR, RATES[::-1], PSNR[::-1]) == pytest.approx(0.0, abs=1e-12)


def test_bd_rate_of_a_psnr_shift_on_a_log_linear_curve():
    # PSNR = c + k ln R (6 dB per doubling): a test curve delta dB higher at every rate has
    # ln R_test(q) = ln R_ref(q) - delta/k, so BD = exp(-delta/k) - 1 = 2^(-delta/6) - 1.
    # PCHIP reproduces the linear log-rate exactly; the overlap is [25 + delta, 43] dB here.
    k = 6.0 / np.log(2.0)
    q = 25.0 + k * np.log(RATES / RATES[0])
    for delta in (1.0, -2.0, 3.0):
        want = 100 * (2.0 ** (-delta / 6.0) - 1.0)
        assert bd_rate(RATES, q, RATES, q + delta) == pytest.approx(want, abs=1e-10)


def test_bd_rate_partial_overlap_uses_only_the_common_range():
    # reference log-linear on [25, 43] dB; the test has half the reference's rate at 31 and
    # 37 dB only: the overlap is [31, 37] and the log-rate gap there is ln 0.5 exactly
    k = 6.0 / np.log(2.0)
    q_ref = 25.0 + k * np.log(RATES / RATES[0])  # 25, 31, 37, 43
    assert bd_rate(RATES, q_ref, [0.25, 0.5], [31.0, 37.0]) == pytest.approx(-50.0, abs=1e-10)
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(RATES, q_ref, RATES, q_ref + 40.0)


def test_bd_rate_bad_inputs():
    with pytest.raises(ValueError, match="length"):
        bd_rate(RATES, PSNR[:3], RATES, PSNR)
    with pytest.raises(ValueError, match="positive"):
        bd_rate(-RATES, PSNR, RATES, PSNR)
    with pytest.raises(ValueError, match="distinct"):
        bd_rate(RATES, [30.0, 30.0, 31.0, 32.0], RATES, PSNR)


def _grid_image(c: float, seed: int, phase: int = 0) -> np.ndarray:
    """x[i, j] = f(j) + g(i): steps of +-1 inside 8-blocks and +-c where j = 8k - 1 -> 8k
    (shifted by ``phase``), random signs; every difference of each kind has the same square."""
    rng = np.random.default_rng(seed)

    def walk(n):
        steps = rng.choice([-1.0, 1.0], size=n - 1)
        steps[(np.arange(n - 1) - phase) % 8 == 7] *= c
        return np.concatenate([[0.0], np.cumsum(steps)])

    return (walk(48)[None, :, None] + walk(40)[:, None, None]) * np.ones((1, 1, 3))


def test_blockiness_known_ratios():
    for c in (1.0, 2.0, 3.0):
        assert blockiness(_grid_image(c, seed=4)) == pytest.approx(c**2, rel=1e-12)
    # the big steps off the grid (phase 4): across = 1, inside = (6 * 1 + c^2) / 7
    assert blockiness(_grid_image(3.0, seed=5, phase=4)) == pytest.approx(7 / 15, rel=1e-12)
    ramp = np.add.outer(np.arange(30.0), 2 * np.arange(33.0))
    assert blockiness(ramp) == pytest.approx(1.0, rel=1e-12)
    assert np.isnan(blockiness(np.kron(np.arange(16.0).reshape(4, 4), np.ones((8, 8)))))


def test_blockiness_of_a_photograph_and_of_its_block_means():
    a = bundled_image("coffee").pixels[:128, :128]
    assert 0.8 < blockiness(a) < 1.2
    means = a.reshape(16, 8, 16, 8, 3).mean(axis=(1, 3), keepdims=True)
    blocky = np.broadcast_to(means, (16, 8, 16, 8, 3)).reshape(128, 128, 3)
    smooth = 0.5 * a + 0.5 * blocky  # block means add energy only across the grid
    assert blockiness(smooth) > 2.0
    with pytest.raises(ValueError, match="block"):
        blockiness(a[:8, :8])
    with pytest.raises(ValueError, match="shape"):
        blockiness(np.zeros((16, 16, 3, 1)))


def _phase_counts(n: int) -> np.ndarray:
    """How many of the n - 1 first differences of a length-n line have j = p (mod 8)."""
    return np.bincount(np.arange(n - 1) % 8, minlength=8)


def _profile_truth(c: float, phase: int, h: int = 40, w: int = 48) -> np.ndarray:
    """B_p of _grid_image(c, phase) counted by hand: squares 1 inside, c^2 at j = phase + 7."""
    big = (phase + 7) % 8
    out = []
    for p in range(8):
        across = inside = 0.0
        for n in (w, h):
            cnt = _phase_counts(n)  # mean squares at phase p and over all the others
            sq = np.where(np.arange(8) == big, c * c, 1.0)
            across += sq[p]
            others = np.arange(8) != p
            inside += float((cnt[others] * sq[others]).sum() / cnt[others].sum())
        out.append(across / inside)
    return np.array(out)


def test_blockiness_profile_closed_form():
    for c, phase in ((3.0, 0), (2.0, 4), (1.0, 2)):
        prof = blockiness_profile(_grid_image(c, seed=6, phase=phase))
        np.testing.assert_allclose(prof, _profile_truth(c, phase), rtol=1e-12)
        assert prof[-1] == blockiness(_grid_image(c, seed=6, phase=phase))
    big = blockiness_profile(_grid_image(3.0, seed=7, phase=4))
    assert int(np.argmax(big)) == 3 and big[3] == pytest.approx(9.0, rel=1e-12)
    with pytest.raises(ValueError, match="block"):
        blockiness_profile(np.zeros((8, 8)))


def test_blockiness_check_verdicts():
    ramp = np.add.outer(np.arange(40.0), np.arange(48.0))[:, :, None] * np.ones((1, 1, 3))
    # an artefact on the codecs' grid: r_g = c^2 exactly, every off-grid ratio below 1
    on = blockiness_check(ramp, _grid_image(2.0, seed=8))
    assert on.ratio == pytest.approx(4.0, rel=1e-12) and not on.within
    assert on.verdict == "grid" and on.grid_is_extreme and on.off_grid_high < 1.0
    assert on.original_spread == pytest.approx(0.0, abs=1e-12) and on.well_conditioned
    np.testing.assert_allclose(on.phase_ratios, _profile_truth(2.0, 0), rtol=1e-12)
    # the same steps at phase 3 (off the grid): the grid's ratio is 0.70 < 0.9, but the other
    # off-grid phases read 0.694 (fewer differences per line at phase 7), so it is no extreme
    off = blockiness_check(ramp, _grid_image(2.0, seed=8, phase=4))
    truth = _profile_truth(2.0, 4)
    assert off.ratio == pytest.approx(truth[7], rel=1e-12) and not off.within
    assert off.off_grid_low == pytest.approx(truth[:7].min(), rel=1e-12)
    assert off.off_grid_low < off.ratio
    assert off.off_grid_high == pytest.approx(4.0, rel=1e-12)
    assert off.verdict == "not grid-specific" and not off.grid_is_extreme
    same = blockiness_check(ramp, ramp + 5.0)
    assert same.ratio == pytest.approx(1.0, rel=1e-12) and same.verdict == "within"


def test_blockiness_check_ill_conditioned_star_field():
    rng = np.random.default_rng(9)
    sky = rng.normal(10.0, 1.0, (128, 128, 3))
    for i, j in ((20, 31), (70, 64), (101, 15)):  # three bright stars on the noise
        sky[i, j] += 400.0
    check = blockiness_check(sky, sky)
    assert check.ratio == 1.0 and check.verdict == "within"
    assert check.original_spread > 0.5 and not check.well_conditioned  # 0.79: 3 stars
    noise = rng.normal(10.0, 1.0, (256, 256, 3))  # stationary: spread ~ 1/sqrt(#differences)
    assert blockiness_check(noise, noise).original_spread < 0.01  # 0.006
    with pytest.raises(ValueError, match="tol"):
        blockiness_check(noise, noise, tol=1.5)
    with pytest.raises(ValueError, match="shapes"):
        blockiness_check(noise, noise[:64])
    with pytest.raises(ValueError, match="piecewise"):
        flat_blocks = np.kron(np.arange(16.0).reshape(4, 4), np.ones((8, 8)))
        blockiness_check(flat_blocks, noise[:32, :32, 0])
