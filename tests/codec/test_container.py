"""The codec file container: varints, header CRC, records."""

import pytest

from rdptheory import _container
from rdptheory._bytes import put_varint
from rdptheory.codec import _container as c


def test_pack_unpack():
    h = c.Header("progressive", 5, 3, 2**63 + 1, 7, 9, 2)
    data = c.pack(h, [b"abc", b""])
    h2, pos = c.unpack_header(data)
    assert h2 == h
    assert c.unpack_records(data, pos, 2) == [b"abc", b""]
    assert c.record_boundaries(data) == (pos, pos + 1 + 3 + 4, len(data))


def test_header_is_compact_and_round_trips_extreme_fields():
    """Version 3: the shared container; magic 4, version 1, header length 1, header
    (mode 1, n 1, d 2, seed 1, fingerprints 8, n_records 1), header CRC 4 = 24 bytes."""
    h = c.Header("one-shot", 48, 256, 0, 2**32 - 1, 0, 1)
    data = c.pack(h, [b"ab"])
    _, pos = c.unpack_header(data)
    assert pos == 24 and len(data) == 24 + 1 + 2 + 4
    assert _container.unseal_header(data, b"RDPG", (4,), "x")[1] == (
        b"\x00" + put_varint(48) + put_varint(256) + b"\x00" + b"\xff\xff\xff\xff" + bytes(4)
        + b"\x01")
    big = c.Header("progressive", 2**32 - 1, 2**24, 2**64 - 1, 1, 2, 4096)
    assert c.unpack_header(c.pack(big, [b""] * 4096))[0] == big


def test_header_errors():
    data = c.pack(c.Header("one-shot", 1, 1, 0, 0, 0, 1), [b"x"])
    with pytest.raises(ValueError, match="magic"):
        c.unpack_header(b"XXXX" + data[4:])
    with pytest.raises(ValueError, match="version"):
        c.unpack_header(data[:4] + b"\x09" + data[5:])
    with pytest.raises(ValueError, match="unsupported .* version 2"):
        c.unpack_header(data[:4] + b"\x02" + data[5:])  # the pre-container format
    with pytest.raises(ValueError, match="header CRC32"):
        c.unpack_header(data[:10] + b"\xff" + data[11:])
    with pytest.raises(ValueError, match="truncated"):
        c.unpack_header(data[:12])
    with pytest.raises(ValueError, match="must match"):
        c.pack(c.Header("one-shot", 1, 1, 0, 0, 0, 2), [b"x"])


def test_records_prefix_damage_and_trailing_bytes():
    data = c.pack(c.Header("progressive", 2, 3, 1, 0, 0, 3), [b"a", b"bc", b"def"])
    _, pos = c.unpack_header(data)
    bounds = c.record_boundaries(data)
    assert len(bounds) == 4 and bounds[-1] == len(data)
    assert c.unpack_records(data[: bounds[2]], pos, 3) == [b"a", b"bc"]
    with pytest.raises(ValueError, match="cut short"):
        c.unpack_records(data[: bounds[2] + 2], pos, 3)
    with pytest.raises(ValueError, match="CRC32 mismatch in record 1"):
        c.unpack_records(data[: bounds[1] + 1] + b"X" + data[bounds[1] + 2 :], pos, 3)
    with pytest.raises(ValueError, match="trailing"):
        c.unpack_records(data + b"\x00", pos, 3)


def test_header_fields_are_bounded():
    for header, match in [(b"\x02", "mode"), (b"\x00" + put_varint(2**32), "n = "),
                          (b"\x00\x01\x01\x00" + bytes(8) + put_varint(5000), "record count"),
                          (b"\x00\x01\x01\x00" + bytes(8) + b"\x01\x00", "unread")]:
        with pytest.raises(ValueError, match=match):
            c.unpack_header(_container.seal_records(c.MAGIC, c.VERSION, header, []))
