"""rdptheory.rcc.layouts against hand-computed layouts and a reference Philox (kills mutants).

The shared DiffC permutation is recomputed here with a plain-Python Philox4x32-10 (Random123,
checked on its published known-answer vector), the equal splits and chunk counts are written
out by hand, and the registry's codes are the bitstream's (``make mutants
MUTANTS='rdptheory.rcc.layouts*'``).
"""

import math

import numpy as np
import pytest

from rdptheory.rcc import layouts

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox(counter, key):
    """Philox4x32-10 in plain Python integers (Salmon et al. SC'11, Random123)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
    return c0, c1, c2, c3


def reference_permutation(seed, stream, dims):
    perm_tag = int.from_bytes(b"PERM", "big")
    keys = []
    for j in range(dims):
        w = philox((j & MASK, j >> 32, stream, perm_tag), (seed & MASK, (seed >> 32) & MASK))
        keys.append(((w[0] << 32) | w[1], j))
    return [j for _, j in sorted(keys)]


def test_reference_philox_known_answer():
    # Random123 kat_vectors: philox4x32 10 rounds, zero counter and key.
    assert philox((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)


def test_spec_constants():
    assert layouts.PERM_TAG == int.from_bytes(b"PERM", "big")
    assert (layouts.MAX_SPLIT, layouts.SLACK_BITS) == (24, 8.0)


@pytest.mark.parametrize(("seed", "stream", "dims"),
                         [(0, 0, 1), (1, 0, 17), (7, 3, 40), (2**40 + 5, 9, 33),
                          (2**64 - 1, 2**32 - 1, 12)])
def test_diffc_permutation_is_the_philox_sort(seed, stream, dims):
    perm = layouts.diffc_permutation(seed, stream, dims)
    assert perm.tolist() == reference_permutation(seed, stream, dims)


def test_diffc_permutation_checks_dims():
    with pytest.raises(ValueError, match=r"^dims must be >= 1, got 0$"):
        layouts.diffc_permutation(1, 0, 0)
    with pytest.raises(TypeError, match=r"^dims must be an int, got float$"):
        layouts.diffc_permutation(1, 0, 2.5)


def test_a_tie_in_the_first_philox_word_is_broken_by_the_second():
    # Found by a search over 2^18 coordinates (seed 1, stream 0): coordinates 54764 and 155449
    # share word 0; word 1 puts 54764 first, word 2 would put 155449 first.
    a, b = 54764, 155449
    wa = philox((a, 0, 0, layouts.PERM_TAG), (1, 0))
    wb = philox((b, 0, 0, layouts.PERM_TAG), (1, 0))
    assert wa[0] == wb[0] and wa[1] < wb[1] and wa[2] > wb[2]
    pos = np.argsort(layouts.diffc_permutation(1, 0, b + 1))
    assert pos[b] == pos[a] + 1


def test_registry_holds_the_bitstream_codes():
    assert {n: (s.name, s.code) for n, s in layouts.LAYOUTS.items()} == {
        "sent": ("sent", 0), "known": ("known", 1), "diffc": ("diffc", 2)}
    assert (layouts.SENT.code, layouts.KNOWN.code, layouts.DIFFC.code) == (0, 1, 2)
    for code, name in enumerate(("sent", "known", "diffc")):
        assert layouts.layout_by_code(code).name == name
    for code in (-1, 3, 255):
        with pytest.raises(ValueError, match=rf"^unknown chunk-layout code {code}$"):
            layouts.layout_by_code(code)


def test_register_layout_refuses_a_taken_name_or_code(monkeypatch):
    monkeypatch.setattr(layouts, "LAYOUTS", dict(layouts.LAYOUTS))
    with pytest.raises(ValueError, match=r"^layout 'sent' / code 7 already registered$"):
        layouts.register_layout(layouts.LayoutStrategy("sent", 7, "x"))
    with pytest.raises(ValueError, match=r"^layout 'zigzag' / code 2 already registered$"):
        layouts.register_layout(layouts.LayoutStrategy("zigzag", 2, "x"))
    new = layouts.LayoutStrategy("zigzag", 3, "x")
    assert layouts.register_layout(new) is new
    assert layouts.LAYOUTS["zigzag"] is new and layouts.layout_by_code(3) is new


@pytest.mark.parametrize(("dims", "n", "starts"),
                         [(10, 4, [0, 2, 5, 8, 10]),  # 2.5 and 7.5 round half to even
                          (5, 1, [0, 5]), (7, 7, list(range(8))), (9, 2, [0, 4, 9]),
                          (100, 3, [0, 33, 67, 100])])
def test_equal_starts_and_sizes_by_hand(dims, n, starts):
    assert layouts.equal_starts(dims, n).tolist() == starts
    assert layouts.equal_sizes(dims, n) == tuple(np.diff(starts).tolist())


@pytest.mark.parametrize(("kl_q", "split", "dims", "b", "count"),
                         [(0, 0, 10, 8.0, 1), (1, 0, 10, 8.0, 1), (16, 0, 100, 8.0, 2),
                          (17, 0, 100, 8.0, 3), (17, 2, 100, 8.0, 12), (17, 3, 20, 8.0, 20),
                          (0, 3, 100, 8.0, 8), (24, 1, 100, 8.0, 6), (10, 0, 100, 2.5, 4),
                          (1000, 0, 50, 1.0, 50)])
def test_diffc_count_by_hand(kl_q, split, dims, b, count):
    got = layouts.diffc_count(kl_q, split, dims, b)
    assert type(got) is int and got == count


def test_diffc_split_stops_at_exactly_b_plus_slack():
    kl = np.zeros(8)
    kl[5] = 12.0  # B + 8 with B = 4: one chunk of everything is accepted
    s = layouts.diffc_split(kl, 4, 4.0, seed=3, stream=1)
    assert (s.split, s.n_chunks) == (0, 1)
    assert s.perm.tolist() == reference_permutation(3, 1, 8)
    assert s.starts.tolist() == [0, 8] and s.chunk_kl.tolist() == [12.0]


def test_diffc_split_refines_until_every_chunk_fits_or_one_per_coordinate():
    kl = np.zeros(8)
    kl[5] = 12.5  # never fits: doubled 1 -> 2 -> 4 -> 8 chunks = dims
    s = layouts.diffc_split(kl, 4, 4.0, seed=3, stream=1)
    perm = reference_permutation(3, 1, 8)
    assert (s.split, s.n_chunks) == (3, 8)
    assert s.starts.tolist() == list(range(9))
    assert s.chunk_kl.tolist() == kl[perm].tolist()


def test_diffc_split_first_fitting_split():
    # 16 coordinates of 1 bit each, kl_q = 16, B = 2: e = 0 gives 8 chunks of 2 bits (fits).
    s = layouts.diffc_split(np.ones(16), 16, 2.0, seed=5, stream=0)
    assert (s.split, s.n_chunks) == (0, 8) and s.chunk_kl.tolist() == [2.0] * 8
    # Two 9-bit coordinates, B = 1, kl_q = 2: e = 0 gives 2 chunks of 4 coordinates; the split
    # refines while a chunk holds both heavy coordinates (> 9 bits).
    kl = np.zeros(8)
    kl[[1, 6]] = 9.0
    perm = reference_permutation(11, 2, 8)
    s = layouts.diffc_split(kl, 2, 1.0, seed=11, stream=2)
    expected_split = next(e for e in range(4)
                          if max(np.add.reduceat(kl[perm], np.arange(0, 8, 8 >> (1 + e))))
                          <= 9.0 or 2 << e >= 8)
    n = min(2 << expected_split, 8)
    assert (s.split, s.n_chunks) == (expected_split, n)
    assert s.starts.tolist() == list(range(0, 9, 8 // n))
    assert s.chunk_kl.tolist() == np.add.reduceat(kl[perm], np.arange(0, 8, 8 // n)).tolist()
    assert math.isclose(s.chunk_kl.sum(), 18.0)


def test_the_last_split_tried_is_max_split(monkeypatch):
    # A chunk that never fits and more coordinates than 2^MAX_SPLIT chunks: the split stops at
    # MAX_SPLIT (patched to 2 here: 1, 2, 4 chunks of 16 coordinates).
    monkeypatch.setattr(layouts, "MAX_SPLIT", 2)
    kl = np.zeros(16)
    kl[0] = 100.0
    s = layouts.diffc_split(kl, 1, 1.0, seed=2, stream=0)
    assert (s.split, s.n_chunks) == (2, 4)
    assert s.starts.tolist() == [0, 4, 8, 12, 16]
    assert sorted(s.chunk_kl.tolist()) == [0.0, 0.0, 0.0, 100.0]
