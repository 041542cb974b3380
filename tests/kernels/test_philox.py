"""Philox4x32-10 known answers (Random123 kat_vectors) and Triton bit-exactness."""

import doctest

import numpy as np
import pytest

import rdptheory.kernels as K
from rdptheory.kernels import _philox, philox4x32_10

# Random123 kat_vectors, philox4x32 with 10 rounds: (counter, key, expected output)
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    (
        [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
        [0xA4093822, 0x299F31D0],
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
    ),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_known_answer_vectors(counter, key, expected):
    out = philox4x32_10(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert out.dtype == np.uint32
    assert out.tolist() == expected


def test_vectorised_over_leading_axes_with_broadcast():
    counters = np.array([k[0] for k in KAT], np.uint64)
    keys = np.array([k[1] for k in KAT], np.uint64)
    out = philox4x32_10(counters[:, None, :], keys[None, :, :])  # (3, 3, 4)
    assert out.shape == (3, 3, 4)
    for i in range(3):
        assert out[i, i].tolist() == KAT[i][2]
        for j in range(3):
            assert out[i, j].tolist() == philox4x32_10(counters[i], keys[j]).tolist()


@pytest.mark.parametrize(
    "counter,key,exc",
    [
        ([0, 0, 0], [0, 0], ValueError),
        ([0, 0, 0, 0], [0, 0, 0], ValueError),
        ([0, 0, 0, 2**32], [0, 0], ValueError),
        ([0, 0, 0, -1], [0, 0], ValueError),
        ([0.5, 0, 0, 0], [0, 0], TypeError),
    ],
)
def test_philox_validates(counter, key, exc):
    with pytest.raises(exc):
        philox4x32_10(np.array(counter), np.array(key))


def test_uniform_map_matches_triton_formula():
    """x -> int32; x < 0 -> -x - 1; times float32 4.6566127342e-10; lands in [0, 1)."""
    x = np.array([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 12345], np.uint64)
    u = _philox.uint_to_uniform_float(x)
    i32 = np.array([0, 1, 2**31 - 1, -(2**31), -1, 12345], np.int64)
    folded = np.where(i32 < 0, -i32 - 1, i32).astype(np.float32)
    np.testing.assert_array_equal(u, folded * np.float32(4.6566127342e-10))
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1


def test_box_muller_is_triton_formula_to_one_ulp():
    rng = np.random.default_rng(0)
    u0 = rng.uniform(0, 1, 1000).astype(np.float32)
    u1 = rng.uniform(0, 1, 1000).astype(np.float32)
    u0[:3] = [0.0, 1e-9, 1e-7]  # clamped to 1e-7
    n0, n1 = _philox.box_muller(u0, u1)
    r = np.sqrt(-2 * np.log(np.maximum(u0.astype(np.float64), 1e-7)))
    theta = 2 * np.pi * u1.astype(np.float64)
    np.testing.assert_allclose(n0, r * np.cos(theta), rtol=0, atol=4e-6)
    np.testing.assert_allclose(n1, r * np.sin(theta), rtol=0, atol=4e-6)
    assert n0.dtype == np.float32 and np.isfinite(n0).all()


def test_doctests_in_kernel_modules():
    from rdptheory.kernels import select

    for module in (_philox, select, K):
        assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
