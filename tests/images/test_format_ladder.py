"""Ladder preset 1 (asinh-spaced, knee 2): the ladder's closed form, its header byte, and the
codec's resolution of the knee (rdptheory.images._format.ladder_stds, LADDER_PRESETS)."""

import math
import struct
import zlib

import numpy as np
import pytest

from rdptheory.diffusion.chain import noise_ladder
from rdptheory.images import _format as f
from rdptheory.images.codec import CodecConfig, _chain_of

FP = bytes(range(1, 5))


def rdpi(header: bytes, payload: bytes = b"") -> bytes:
    """A hand-built version 6 file (one-byte header length)."""
    head = b"RDPI" + bytes([6, len(header)]) + header
    return (head + zlib.crc32(head).to_bytes(4, "little") + payload
            + zlib.crc32(payload).to_bytes(4, "little"))


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def test_knee_zero_is_the_geometric_ladder_bit_for_bit():
    for args in [(10.0, 0.05, 37), (80.0, 0.5, 32), (4.0, 1.0, 3)]:
        assert np.array_equal(f.ladder_stds(*args), noise_ladder(*args))
        assert np.array_equal(f.ladder_stds(*args, knee=0.0), noise_ladder(*args))


@pytest.mark.parametrize(("t_max", "t_min", "n", "c"), [(10.0, 0.05, 25, 2.0),
                                                        (10.0, 0.05, 8, 0.5),
                                                        (3.0, 0.01, 40, 7.0)])
def test_asinh_ladder_is_evenly_spaced_in_asinh_c_over_t(t_max, t_min, n, c):
    t = f.ladder_stds(t_max, t_min, n, c)
    assert t.shape == (n,) and t[0] == t_max and t[-1] == t_min
    assert np.all(np.diff(t) < 0)
    u = np.arcsinh(c / t)
    expected = np.linspace(math.asinh(c / t_max), math.asinh(c / t_min), n)
    np.testing.assert_allclose(u, expected, rtol=1e-13, atol=0)


def test_the_knee_interpolates_between_geometric_and_even_in_one_over_t():
    # c -> infinity: geometric (asinh(c/t) ~ ln(2c/t)); c -> 0+: evenly spaced in 1/t
    # (asinh(c/t) ~ c/t). knee = 0 itself means "no knee": geometric.
    np.testing.assert_allclose(f.ladder_stds(10.0, 0.05, 25, 1e7),
                               noise_ladder(10.0, 0.05, 25), rtol=1e-9)
    tiny = f.ladder_stds(10.0, 0.05, 25, 1e-7)
    np.testing.assert_allclose(1 / tiny, np.linspace(0.1, 20.0, 25), rtol=1e-9)


def test_preset_1_values():
    t = f.ladder_stds(10.0, f32(0.05), 25, 2.0)
    # t_1 = 2 / sinh(a + (b - a)/24), a = asinh(0.2), b = asinh(40): hand-evaluated
    a, b = math.asinh(0.2), math.asinh(2.0 / f32(0.05))
    assert t[1] == pytest.approx(2.0 / math.sinh(a + (b - a) / 24), rel=1e-14)
    assert 5.2 < t[1] < 5.3 and 0.58 < t[10] < 0.59  # coarse at the top, fine at the bottom


@pytest.mark.parametrize("knee", [-1.0, math.nan, math.inf, "2"])
def test_a_bad_knee_is_refused(knee):
    with pytest.raises(ValueError, match="knee"):
        f.ladder_stds(10.0, 0.05, 25, knee)


# ---- the header ---------------------------------------------------------------------------
PRESET1 = dict(fingerprint=FP, height=8, width=6, code_dims=3 * 8 * 6, seed=3, t_max=10.0,
               t_min=f32(0.05), n_levels=25, n_steps=4, max_chunk_bits=8.0, knee=2.0)
#: fingerprint | layout 0x01 (preset 1, implied dims) | H | W | seed | steps | isotropic
PRESET1_HEADER = FP + bytes([0x01, 8, 6, 3, 4, 0])


def test_preset_1_is_one_layout_byte_both_ways():
    head = f.StreamHeader(**PRESET1)
    data = f.pack_stream(f.ImageStream(head, b""))
    assert data == rdpi(PRESET1_HEADER)
    assert f.unpack_stream(data).header == head


def test_the_knee_is_part_of_the_preset_match():
    # The same fields with knee 0 are preset 1's numbers but not its shape: explicit fields.
    geo = f.StreamHeader(**{**PRESET1, "knee": 0.0})
    data = f.pack_stream(f.ImageStream(geo, b""))
    assert data[6 + 4] == 0x7F and f.unpack_stream(data).header == geo
    with pytest.raises(ValueError, match="knee 1.5 is not a preset"):
        f.pack_stream(f.ImageStream(f.StreamHeader(**{**PRESET1, "knee": 1.5}), b""))
    with pytest.raises(ValueError, match="knee 2 is not a preset"):
        f.pack_stream(f.ImageStream(f.StreamHeader(**{**PRESET1, "n_levels": 24}), b""))


def test_a_shaped_file_on_preset_1_is_refused_both_ways():
    with pytest.raises(ValueError, match="shaped-noise stream has a geometric ladder"):
        f.pack_stream(f.ImageStream(f.StreamHeader(**{**PRESET1, "ladder": "mse",
                                                      "basis": "dct"}), b""))
    with pytest.raises(ValueError, match=r"ladder preset 1 \(knee 2\) on a shaped-noise file"):
        f.unpack_stream(rdpi(PRESET1_HEADER[:-1] + bytes([1, 1])))


# ---- the codec's knee -----------------------------------------------------------------------
def test_the_knee_follows_the_preset_fields():
    assert CodecConfig().knee == 2.0
    assert CodecConfig(t_max=10.0, t_min=0.05, n_levels=25, max_chunk_bits=8.0).knee == 2.0
    assert CodecConfig(n_levels=8).knee == 0.0  # another ladder: geometric
    assert CodecConfig(max_chunk_bits=6.0).knee == 0.0
    assert CodecConfig(t_max=10.0, t_min=0.05, n_levels=37).knee == 0.0  # preset 0
    assert CodecConfig(knee=0.0).knee == 0.0  # preset 1's numbers, geometric (explicit fields)
    assert CodecConfig(noise="shaped").knee == 0.0
    assert CodecConfig(noise="shaped", n_levels=25).knee == 0.0  # shaped ladders: geometric


@pytest.mark.parametrize("kwargs", [dict(knee=1.0), dict(knee=2.0, n_levels=24),
                                    dict(noise="shaped", knee=2.0)])
def test_a_knee_off_the_presets_is_refused(kwargs):
    with pytest.raises(ValueError, match="knee"):
        CodecConfig(**kwargs)


def test_both_sides_build_the_preset_ladder():
    from rdptheory.models import load_model

    c = CodecConfig()
    head = f.StreamHeader(FP, 8, 8, 192, 0, c.t_max, c.t_min, c.n_levels, 1, c.max_chunk_bits,
                          knee=c.knee)
    chain = _chain_of(load_model("patch-gmm"), head)
    assert np.array_equal(np.array(chain.levels), f.ladder_stds(10.0, f32(0.05), 25, 2.0) ** 2)


# ---- the encoder's stop rule -----------------------------------------------------------------
def test_hopeless_steps_are_not_searched_and_the_files_do_not_change(monkeypatch):
    """The skip of a step that cannot fit saves its RCC search and leaves the bytes as the
    exact budget check makes them (the same file with the skip disabled)."""
    from rdptheory import rcc
    from rdptheory.data import bundled_image, center_crop
    from rdptheory.images import codec
    from rdptheory.models import load_model

    model, px = load_model("patch-gmm"), center_crop(bundled_image("china").pixels, 32)
    monkeypatch.setattr(codec, "HOPELESS_SLACK_BITS", 0.0)  # a tiny image: small steps
    searches = []
    real = rcc.encode_step

    def counted(*args, **kwargs):
        searches.append(kwargs["stream"])
        return real(*args, **kwargs)

    monkeypatch.setattr(rcc, "encode_step", counted)
    skipped = 0
    for bpp in (0.5, 2.0):
        config = CodecConfig(backend="numba")
        searches.clear()
        with_skip = codec.compress_with_report(px, model=model, bpp=bpp, config=config)
        n_with = len(searches)
        rule = codec._is_hopeless
        monkeypatch.setattr(codec, "_is_hopeless", lambda kl, left: False)  # never hopeless
        searches.clear()
        without = codec.compress_with_report(px, model=model, bpp=bpp, config=config)
        monkeypatch.setattr(codec, "_is_hopeless", rule)
        assert with_skip.data == without.data
        assert n_with in (len(searches), len(searches) - 1)
        skipped += len(searches) - n_with
    assert skipped >= 1


@pytest.mark.parametrize(("kl", "left", "hopeless"), [
    (7388.0, 5936.0, True),   # the last step of china 256² at 0.5 bpp (searched by the share rule)
    (7388.0, 6700.0, False),  # within 64 + 8·√KL bits of the KL
    (54.0, 32.0, False),      # a small step measured at 22 bits below its KL
    (1006.0, 592.0, True),    # the share rule: 0.8·1006 − 64 > 592
    (1006.0, 741.0, False),
    (0.0, -1.0, False),       # an empty step never fails the rule (left ≥ −64)
])
def test_hopeless_rule(kl, left, hopeless):
    """The rule's closed form: max(0.8·KL, KL − 8√KL) − 64 > left."""
    from rdptheory.images import codec

    bound = max(0.8 * kl, kl - 8.0 * kl**0.5) - 64.0
    assert (bound > left) == hopeless
    assert codec._is_hopeless(kl, left) == hopeless
