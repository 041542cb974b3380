"""rdptheory.images._format against hand-built RDPI files (kills mutmut mutants).

Every file here is assembled by hand from the layout in the module docstring (magic "RDPI",
version 6, LEB128 header length, header fields with the noise recipe last, CRC32s from
``zlib``), never by the packer, and every bound the reader enforces is probed on both sides
(``make mutants MUTANTS='rdptheory.images._format*'``).
"""

import math
import struct
import zlib

import pytest

from rdptheory.images import _format as f

WHAT = "rdptheory image stream"
FP = bytes(range(1, 5))


def leb(value: int) -> bytes:
    """LEB128, written out independently of rdptheory._bytes."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def crc(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "little")


def f32(x: float) -> bytes:
    return struct.pack("<f", x)


FIELDS = dict(fingerprint=FP, height=48, width=40, code_dims=1920, seed=7, t_max=80.0,
              t_min=0.5, n_levels=32, n_steps=27, max_chunk_bits=12.0)


def header_bytes(fingerprint=FP, height=48, width=40, code_dims=1920, seed=7, t_max=80.0,
                 t_min=0.5, n_levels=32, n_steps=27, max_chunk_bits=12.0,
                 recipe=b"\x00", layout=0xFF) -> bytes:
    """The header; ``layout``: bits 0-6 the ladder preset (127 = the four ladder fields
    follow), bit 7 = the code dimension follows (else it is 3·H·W and ``code_dims`` is unused).
    """
    dims = leb(code_dims) if layout & 0x80 else b""
    ladder = (f32(t_max) + f32(t_min) + leb(n_levels) + f32(max_chunk_bits)
              if layout & 0x7F == 0x7F else b"")
    return (fingerprint + bytes([layout]) + leb(height) + leb(width) + dims + leb(seed) + ladder
            + leb(n_steps) + recipe)


def rdpi(header: bytes, payload: bytes = b"\x01\x02\x03\x04", version: int = 6) -> bytes:
    head = b"RDPI" + bytes([version]) + leb(len(header)) + header
    return head + crc(head) + payload + crc(payload)


def test_spec_constants():
    assert (f.MAGIC, f.VERSION, f.FINGERPRINT_BYTES, f.MAX_LEVELS) == (b"RDPI", 6, 4, 4096)
    assert f.WHAT == WHAT
    assert f.LADDERS == ("isotropic", "mse", "perception")
    assert f.BASES == ("none", "dct")
    assert f.LADDER_PRESETS == (f.LadderPreset(10.0, 0.05, 37, 8.0),
                                f.LadderPreset(10.0, 0.05, 25, 8.0, 2.0))
    assert (f.EXPLICIT_LADDER, f.EXPLICIT_DIMS) == (0x7F, 0x80)


def test_pack_and_unpack_match_a_hand_built_file():
    payload = bytes(range(12))
    data = rdpi(header_bytes(), payload)
    stream = f.ImageStream(f.StreamHeader(**FIELDS), payload)
    assert f.pack_stream(stream) == data
    assert f.unpack_stream(data) == stream
    assert f.unpack_stream(bytearray(data)) == stream
    # An empty payload is whole words too.
    assert f.unpack_stream(rdpi(header_bytes(), b"")).payload == b""


@pytest.mark.parametrize("fingerprint", [FP[:3], FP + b"\x05", b"", bytes(range(1, 9))])
def test_pack_needs_a_4_byte_fingerprint(fingerprint):
    head = f.StreamHeader(**{**FIELDS, "fingerprint": fingerprint})
    with pytest.raises(ValueError, match=r"^an image stream needs a 4-byte fingerprint and "
                                         r"whole-word payload$"):
        f.pack_stream(f.ImageStream(head, b""))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_pack_and_unpack_need_whole_words(size):
    head = f.StreamHeader(**FIELDS)
    with pytest.raises(ValueError, match="whole-word payload"):
        f.pack_stream(f.ImageStream(head, bytes(size)))
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: payload of {size} bytes is not "
                                         r"whole 32-bit words$"):
        f.unpack_stream(rdpi(header_bytes(), bytes(size)))


def test_other_versions_and_magics_are_refused():
    for old in (3, 4, 5):
        with pytest.raises(ValueError, match=rf"^unsupported {WHAT} version {old} \(this reader "
                                             r"reads version 6\)"):
            f.unpack_stream(rdpi(header_bytes(), version=old))
    with pytest.raises(ValueError, match=rf"^not an {WHAT}: magic b'RDPG'"):
        f.unpack_stream(b"RDPG" + rdpi(header_bytes())[4:])


# (field, largest accepted value, the name in the message); each bound is inclusive.
BOUNDS = [("height", 2**31 - 1, "height"), ("width", 2**31 - 1, "width"),
          ("code_dims", 2**62, "code dimension"), ("seed", 2**63 - 1, "seed"),
          ("n_levels", 4096, "levels")]


@pytest.mark.parametrize(("field", "high", "name"), BOUNDS)
def test_varint_bounds_are_inclusive(field, high, name):
    assert getattr(f.unpack_stream(rdpi(header_bytes(**{field: high}))).header, field) == high
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: {name} = {high + 1} exceeds "
                                         rf"{high}$"):
        f.unpack_stream(rdpi(header_bytes(**{field: high + 1})))


def test_steps_bound_and_steps_up_to_levels():
    head = f.unpack_stream(rdpi(header_bytes(n_levels=4096, n_steps=4096))).header
    assert (head.n_levels, head.n_steps) == (4096, 4096)
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: steps = 4097 exceeds 4096$"):
        f.unpack_stream(rdpi(header_bytes(n_levels=4096, n_steps=4097)))
    assert f.unpack_stream(rdpi(header_bytes(n_levels=1, n_steps=1))).header.n_steps == 1


def test_the_inconsistent_header_message_in_full():
    with pytest.raises(ValueError) as err:
        f.unpack_stream(rdpi(header_bytes(n_steps=33)))
    assert str(err.value) == (f"corrupted {WHAT}: inconsistent header (size 48x40, code "
                              "dimension 1920, ladder 80..0.5 in 32 levels, 33 steps, B = 12)")


ACCEPTED = [dict(n_steps=32), dict(height=1, width=1, code_dims=1), dict(max_chunk_bits=24.0),
            dict(t_max=1.0, t_min=1.0 - 2.0**-24), dict(t_min=2.0**-140),
            dict(max_chunk_bits=2.0**-140), dict(t_max=3.0e38)]
REFUSED = [dict(n_steps=0), dict(n_steps=33), dict(height=0), dict(width=0), dict(code_dims=0),
           dict(t_max=math.inf), dict(t_max=math.nan), dict(t_min=0.0), dict(t_min=-0.5),
           dict(t_min=80.0), dict(t_min=81.0), dict(t_min=math.nan),
           dict(max_chunk_bits=0.0), dict(max_chunk_bits=-1.0),
           dict(max_chunk_bits=struct.unpack("<f", struct.pack("<f", 24.000002))[0]),
           dict(max_chunk_bits=math.nan), dict(max_chunk_bits=math.inf)]


@pytest.mark.parametrize("fields", ACCEPTED)
def test_consistent_headers_at_the_edges_are_read(fields):
    head = f.unpack_stream(rdpi(header_bytes(**fields))).header
    for name, value in fields.items():
        expected = struct.unpack("<f", f32(value))[0] if isinstance(value, float) else value
        assert getattr(head, name) == expected


@pytest.mark.parametrize("fields", REFUSED)
def test_inconsistent_headers_are_refused(fields):
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: inconsistent header"):
        f.unpack_stream(rdpi(header_bytes(**fields)))


# Header offsets of each field for the all-explicit header (every varint but code_dims is 1
# byte).
CUTS = [(0, "the model fingerprint"), (3, "the model fingerprint"), (4, "the layout byte"),
        (5, "height"), (6, "width"), (7, "code dimension"), (8, "code dimension"),
        (9, "seed"), (10, "t_max"), (13, "t_max"), (14, "t_min"), (18, "levels"),
        (19, "the chunk KL budget"), (22, "the chunk KL budget"), (23, "steps"),
        (24, "the noise ladder id")]


@pytest.mark.parametrize(("cut", "name"), CUTS)
def test_a_header_cut_short_names_the_field(cut, name):
    full = header_bytes()
    assert len(full) == 25
    with pytest.raises(ValueError, match=rf"^(corrupted {WHAT}: truncated while reading {name}"
                                         rf"|data is truncated while reading {name} in the "
                                         rf"{WHAT})$"):
        f.unpack_stream(rdpi(full[:cut]))


def test_a_header_with_trailing_bytes_is_refused():
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: 2 unread bytes$"):
        f.unpack_stream(rdpi(header_bytes() + b"\x00\x00"))


# ---- the layout byte: ladder preset, implied code dimension -------------------------------
#: FIELDS on the default ladder (preset 0, as a file stores it: float32) with 3·H·W dims.
DEFAULT_LADDER = dict(t_max=10.0, t_min=struct.unpack("<f", f32(0.05))[0], n_levels=37,
                      max_chunk_bits=8.0)
SHORT = {**FIELDS, **DEFAULT_LADDER, "code_dims": 3 * 48 * 40}


def test_the_short_form_is_what_the_packer_writes():
    data = rdpi(header_bytes(layout=0x00))
    assert len(header_bytes(layout=0x00)) == 4 + 1 + 1 + 1 + 1 + 1 + 1  # 13 bytes fewer
    stream = f.unpack_stream(data)
    assert stream.header == f.StreamHeader(**SHORT)
    assert f.pack_stream(stream) == data


@pytest.mark.parametrize("layout", [0x7F, 0x80, 0xFF])
def test_explicit_forms_of_the_short_values_are_read_and_repacked_short(layout):
    data = rdpi(header_bytes(**{**SHORT, "layout": layout}))
    stream = f.unpack_stream(data)
    assert stream.header == f.StreamHeader(**SHORT)
    assert f.pack_stream(stream) == rdpi(header_bytes(layout=0x00))


@pytest.mark.parametrize(("layout", "fields"), [
    (0x80, dict(code_dims=1920)), (0x7F, dict(t_max=80.0)), (0x7F, dict(n_levels=36)),
    (0x7F, dict(max_chunk_bits=8.5)), (0x7F, dict(t_min=0.0625)),
    (0xFF, dict(code_dims=1920, t_max=80.0))])
def test_one_field_off_the_short_value_is_written_explicitly(layout, fields):
    head = f.StreamHeader(**{**SHORT, **fields})
    data = f.pack_stream(f.ImageStream(head, b""))
    assert data == rdpi(header_bytes(**{**SHORT, **fields, "layout": layout}), b"")
    assert f.unpack_stream(data).header == head


def test_the_preset_is_compared_as_the_file_stores_it():
    """t_min = 0.05 as float64 stores as the preset's float32: the short form."""
    data = f.pack_stream(f.ImageStream(f.StreamHeader(**{**SHORT, "t_min": 0.05}), b""))
    assert data == rdpi(header_bytes(layout=0x00), b"")


def test_the_implied_code_dimension_is_three_per_pixel():
    for height, width in [(1, 1), (48, 40), (2**31 - 1, 2**31 - 1)]:
        head = f.unpack_stream(rdpi(header_bytes(height=height, width=width,
                                                 layout=0x7F))).header
        assert head.code_dims == 3 * height * width


@pytest.mark.parametrize("layout", [0x02, 0x03, 0x7E, 0x82, 0xFE])
def test_an_unknown_ladder_preset_is_refused(layout):
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: unknown ladder preset "
                                         rf"{layout & 0x7F} \(known: 0...1, 127 = explicit "
                                         r"fields\)$"):
        f.unpack_stream(rdpi(header_bytes(layout=layout)))


# ---- the noise recipe (version 5) --------------------------------------------------------
SHAPED = [(b"\x01\x01", dict(ladder="mse", basis="dct", perception=0.0)),
          (b"\x02\x01" + f32(0.0), dict(ladder="perception", basis="dct", perception=0.0)),
          (b"\x02\x01" + f32(0.25), dict(ladder="perception", basis="dct", perception=0.25)),
          (b"\x02\x01" + f32(3.0e38), dict(ladder="perception", basis="dct",
                                            perception=struct.unpack("<f", f32(3.0e38))[0]))]


def test_an_isotropic_header_reads_as_isotropic():
    head = f.unpack_stream(rdpi(header_bytes())).header
    assert (head.ladder, head.basis, head.perception, head.shaped) == ("isotropic", "none",
                                                                       0.0, False)


@pytest.mark.parametrize(("recipe", "fields"), SHAPED)
def test_shaped_recipes_round_trip_byte_for_byte(recipe, fields):
    data = rdpi(header_bytes(recipe=recipe))
    stream = f.unpack_stream(data)
    assert stream.header == f.StreamHeader(**{**FIELDS, **fields})
    assert stream.header.shaped
    assert f.pack_stream(stream) == data


@pytest.mark.parametrize(("recipe", "message"), [
    (b"\x03", "unknown noise ladder id 3"), (b"\xff", "unknown noise ladder id 255"),
    (b"\x01\x00", "unknown basis id 0 for shaped noise"),
    (b"\x01\x02", "unknown basis id 2 for shaped noise"),
    (b"\x02\x01" + f32(-0.5), "perception budget -0.5 is not finite and >= 0"),
    (b"\x02\x01" + f32(math.nan), "perception budget nan is not finite and >= 0"),
    (b"\x02\x01" + f32(math.inf), "perception budget inf is not finite and >= 0")])
def test_bad_recipes_are_refused_with_their_field(recipe, message):
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: {message}"):
        f.unpack_stream(rdpi(header_bytes(recipe=recipe)))


@pytest.mark.parametrize(("recipe", "name"), [
    (b"\x01", "the noise basis id"), (b"\x02", "the noise basis id"),
    (b"\x02\x01", "the perception budget"), (b"\x02\x01\x00\x00\x00", "the perception budget")])
def test_a_recipe_cut_short_names_the_field(recipe, name):
    with pytest.raises(ValueError, match=rf"^(corrupted {WHAT}: truncated while reading {name}"
                                         rf"|data is truncated while reading {name} in the "
                                         rf"{WHAT})$"):
        f.unpack_stream(rdpi(header_bytes(recipe=recipe)))


@pytest.mark.parametrize("recipe", [b"\x00\x01", b"\x01\x01" + f32(0.0)])
def test_bytes_after_the_recipe_are_refused(recipe):
    with pytest.raises(ValueError, match=rf"^corrupted {WHAT}: (1|4) unread bytes$"):
        f.unpack_stream(rdpi(header_bytes(recipe=recipe)))


@pytest.mark.parametrize(("fields", "message"), [
    (dict(ladder="foo"), "unknown noise recipe"), (dict(basis="eigen"), "unknown noise recipe"),
    (dict(basis="dct"), "an isotropic stream has basis 'none' and perception 0"),
    (dict(perception=0.5), "an isotropic stream has basis 'none' and perception 0"),
    (dict(ladder="mse"), "a shaped stream needs a basis"),
    (dict(ladder="mse", basis="dct", perception=0.5), "the mse ladder has no perception budget"),
    (dict(ladder="perception", basis="dct", perception=-1.0), "perception budget must be"),
    (dict(ladder="perception", basis="dct", perception=math.nan), "perception budget must be")])
def test_the_packer_refuses_a_recipe_it_cannot_write(fields, message):
    with pytest.raises(ValueError, match=message):
        f.pack_stream(f.ImageStream(f.StreamHeader(**{**FIELDS, **fields}), b""))


# ---- the codec writes the short forms ------------------------------------------------------
def test_codec_defaults_are_ladder_preset_1_and_shaped_preset_0():
    from rdptheory.images.codec import CodecConfig

    for config, preset in [(CodecConfig(), 1), (CodecConfig(noise="shaped"), 0)]:
        p = f.LADDER_PRESETS[preset].stored()
        assert (config.t_max, config.t_min, config.n_levels, config.max_chunk_bits,
                config.knee) == (p.t_max, p.t_min, p.n_levels, p.max_chunk_bits, p.knee)


def test_a_default_file_has_the_short_header_and_truncates_without_the_model():
    import numpy as np

    from rdptheory.images.codec import CodecConfig, compress_with_report, truncate
    from rdptheory.models import load_model

    img = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    r = compress_with_report(img, model=load_model("patch-gmm"), noise_var=2.0, seed=1,
                             config=CodecConfig(backend="numpy"))
    hlen = r.data[5]  # one-byte varint header length after magic and version
    assert r.data[6 + f.FINGERPRINT_BYTES] == 0x01  # preset 1, code dims 3·H·W implied
    assert hlen == f.FINGERPRINT_BYTES + 1 + 1 + 1 + 1 + 1 + 1 == 10
    head = f.unpack_stream(r.data).header
    assert (head.code_dims, head.t_max, head.n_levels, head.knee, head.n_steps) == (
        192, 10.0, 25, 2.0, r.n_steps)
    assert r.n_steps >= 2
    cut = f.unpack_stream(truncate(r.data, 1))
    assert cut.header == f.StreamHeader(**{**head.__dict__, "n_steps": 1})
