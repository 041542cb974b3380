"""The codec file container: varints, header CRC, records."""

import pytest

from rdptheory.codec import _container as c


@pytest.mark.parametrize("v", [0, 1, 127, 128, 300, 2**32, 2**56 - 1])
def test_varint_round_trip(v):
    enc = c.put_varint(v)
    assert c.get_varint(enc, 0) == (v, len(enc))


def test_pack_unpack():
    h = c.Header("progressive", 5, 3, 2**63 + 1, 7, 9, 2)
    data = c.pack(h, [b"abc", b""])
    h2, pos = c.unpack_header(data)
    assert h2 == h
    assert c.unpack_records(data, pos, 2) == [b"abc", b""]
    assert c.record_boundaries(data) == (pos, pos + 1 + 3 + 4, len(data))


def test_header_is_compact_and_round_trips_extreme_fields():
    """Version 2: varint n/d/seed/n_records; 4+1+1+1+2+1+8+1+4 = 23 bytes for a small file."""
    h = c.Header("one-shot", 48, 256, 0, 2**32 - 1, 0, 1)
    data = c.pack(h, [b"ab"])
    _, pos = c.unpack_header(data)
    assert pos == 23 and len(data) == 23 + 1 + 2 + 4
    big = c.Header("progressive", 2**32 - 1, 2**24, 2**64 - 1, 1, 2, 4096)
    assert c.unpack_header(c.pack(big, [b""] * 4096))[0] == big


def test_header_errors():
    data = c.pack(c.Header("one-shot", 1, 1, 0, 0, 0, 1), [b"x"])
    with pytest.raises(ValueError, match="magic"):
        c.unpack_header(b"XXXX" + data[4:])
    with pytest.raises(ValueError, match="version"):
        c.unpack_header(data[:4] + b"\x09" + data[5:])
    with pytest.raises(ValueError, match="header CRC32"):
        c.unpack_header(data[:10] + b"\xff" + data[11:])
    with pytest.raises(ValueError, match="truncated"):
        c.unpack_header(data[:12])
    with pytest.raises(ValueError, match="must match"):
        c.pack(c.Header("one-shot", 1, 1, 0, 0, 0, 2), [b"x"])
