"""Training batches of :mod:`rdptheory.models.data`: the plain crops are unchanged by the scale
augmentation's options, block means match a direct sum, the factor draw follows the stated
(renormalised) weights, and bad arguments are refused."""

import numpy as np
import pytest
from scipy import stats

from rdptheory.models.data import block_mean, check_scales, random_batch


def _ramp_part(h, w, seed):
    """A (3, h, w) float32 part with distinct values everywhere (so crops identify positions)."""
    return np.random.default_rng(seed).uniform(-1, 1, size=(3, h, w)).astype(np.float32)


def _hand_crops(parts, batch, size, seed, step, k=1):
    """The documented draw order, written out: photograph, [factor], row, column, flip, rot90;
    the block mean by explicit loops in float64."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, step]))
    out = []
    for _ in range(batch):
        p = parts[int(rng.integers(len(parts)))]
        s = k * size
        r = int(rng.integers(p.shape[1] - s + 1))
        c = int(rng.integers(p.shape[2] - s + 1))
        big = p[:, r:r + s, c:c + s].astype(np.float64)
        crop = np.zeros((3, size, size))
        for i in range(size):
            for j in range(size):
                crop[:, i, j] = big[:, k * i:k * i + k, k * j:k * j + k].sum(axis=(1, 2)) / k**2
        if rng.integers(2):
            crop = crop[:, :, ::-1]
        out.append(np.rot90(crop, k=int(rng.integers(4)), axes=(1, 2)))
    return np.stack(out)


def test_default_batch_is_the_plain_crop_stream():
    parts = [_ramp_part(40, 50, 0), _ramp_part(33, 29, 1)]
    got = random_batch(parts, 7, 16, seed=5, step=11)
    assert got.dtype == np.float32 and got.shape == (7, 3, 16, 16)
    assert np.array_equal(got, _hand_crops(parts, 7, 16, 5, 11).astype(np.float32))
    # the options at their "off" values change nothing
    same = random_batch(parts, 7, 16, seed=5, step=11, scales=(1,), scale_weights=(2.0,),
                        permute_colors=False)
    assert np.array_equal(got, same)


def test_single_factor_is_the_block_mean_of_a_k_times_larger_crop():
    parts = [_ramp_part(70, 81, 2), _ramp_part(64, 64, 3)]
    for k in (2, 3):
        got = random_batch(parts, 5, 8, seed=1, step=4, scales=(k,))
        want = _hand_crops(parts, 5, 8, 1, 4, k=k)
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)


def test_block_mean_matches_a_direct_sum():
    x = _ramp_part(12, 18, 4)
    for k in (1, 2, 3, 6):
        y = block_mean(x, k)
        assert y.shape == (3, 12 // k, 18 // k) and y.dtype == np.float32
        for i in range(12 // k):
            for j in range(18 // k):
                direct = sum(float(x[0, k * i + a, k * j + b]) for a in range(k)
                             for b in range(k)) / k**2
                assert abs(float(y[0, i, j]) - direct) < 1e-7
    with pytest.raises(ValueError, match="multiples"):
        block_mean(x, 5)
    with pytest.raises(ValueError, match="positive int"):
        block_mean(x, 0)


def _checker(h, w):
    """±1 checkerboard: block means are 0 for even k and ±1/9 for k = 3, ±1 for k = 1."""
    i, j = np.indices((h, w))
    return np.broadcast_to(np.where((i + j) % 2, 1.0, -1.0), (3, h, w)).astype(np.float32)


def _factor_of(crop):
    a = float(np.abs(crop).max())
    return {1.0: 1, 0.0: 2}.get(a, 3 if abs(a - 1 / 9) < 1e-6 else -1)


def test_factor_draw_follows_the_renormalised_weights():
    # part A holds factors 1, 2, 3 (3 * 16 = 48 <= 50); part B only 1 and 2 (40 < 48)
    big, small = _checker(50, 60), _checker(40, 60)
    n = 600
    w = (0.5, 0.3, 0.2)
    ks_big = [_factor_of(c) for c in random_batch([big], n, 16, 0, 0, scales=(1, 2, 3),
                                                   scale_weights=w)]
    ks_small = [_factor_of(c) for c in random_batch([small], n, 16, 0, 1, scales=(1, 2, 3),
                                                     scale_weights=w)]
    assert set(ks_big) <= {1, 2, 3} and set(ks_small) <= {1, 2}
    # chi-square goodness of fit at alpha = 1e-3 (fixed seeds: deterministic)
    for ks, p in ((ks_big, [0.5, 0.3, 0.2]), (ks_small, [0.5 / 0.8, 0.3 / 0.8])):
        counts = np.bincount(ks, minlength=len(p) + 1)[1:]
        assert stats.chisquare(counts, n * np.array(p)).pvalue > 1e-3, counts


def test_permuted_colours_are_a_permutation_of_the_channels():
    part = np.stack([np.full((30, 30), v, np.float32) for v in (-0.5, 0.0, 0.5)])
    out = random_batch([part], 240, 8, seed=3, step=0, permute_colors=True)
    perms = {tuple(np.round(o[:, 0, 0], 3)) for o in out}
    assert all(sorted(p) == [-0.5, 0.0, 0.5] for p in perms)
    assert len(perms) == 6  # P(some permutation missing in 240 draws) < 6 (5/6)^240 ~ 1e-18
    assert np.array_equal(random_batch([part], 4, 8, 3, 0, permute_colors=True),
                          random_batch([part], 4, 8, 3, 0, permute_colors=True))


@pytest.mark.parametrize("kw, match", [
    (dict(scales=()), "distinct positive ints"),
    (dict(scales=(0, 1)), "distinct positive ints"),
    (dict(scales=(1, 1)), "distinct positive ints"),
    (dict(scales=(1.5,)), "distinct positive ints"),
    (dict(scales=(True,)), "distinct positive ints"),
    (dict(scales=(1, 2), scale_weights=(1.0,)), "scale_weights"),
    (dict(scales=(1, 2), scale_weights=(1.0, -0.1)), "scale_weights"),
    (dict(scales=(1, 2), scale_weights=(0.0, 0.0)), "scale_weights"),
    (dict(scales=(1, 2), scale_weights=(1.0, float("nan"))), "scale_weights"),
    (dict(scales=(4,)), "at least 64x64"),
    (dict(scales=(1, 4), scale_weights=(0.0, 1.0)), "at least 64x64"),
])
def test_validation(kw, match):
    parts = [_ramp_part(40, 70, 5), _ramp_part(70, 70, 6)]
    with pytest.raises(ValueError, match=match):
        random_batch(parts, 2, 16, 0, 0, **kw)


def test_check_scales_defaults_to_equal_weights():
    assert check_scales((1, 3), None) == ((1, 3), (1.0, 1.0))
    assert check_scales((2,), (0.5,)) == ((2,), (0.5,))
