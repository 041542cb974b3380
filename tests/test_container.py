"""rdptheory._container: the one magic/version/header/CRC layout every file format uses."""

import doctest
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory import _container as c
from rdptheory._bytes import put_varint


def test_doctests():
    assert doctest.testmod(c).failed == 0


@given(st.binary(max_size=40), st.binary(max_size=80), st.integers(0, 255))
def test_seal_round_trip_and_layout(header, payload, version):
    data = c.seal(b"ABCD", version, header, payload)
    assert c.unseal(data, b"ABCD", (version,), "f") == (version, header, payload)
    head = b"ABCD" + bytes([version]) + put_varint(len(header)) + header
    assert data == (head + zlib.crc32(head).to_bytes(4, "little") + payload
                    + zlib.crc32(payload).to_bytes(4, "little"))


def test_every_truncation_and_flip_is_a_value_error_naming_the_format():
    data = c.seal(b"XY", 3, b"hdr", b"payload!")
    for n in range(len(data)):
        with pytest.raises(ValueError, match="thing"):
            c.unseal(data[:n], b"XY", (3,), "thing")
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(ValueError, match="thing"):
                c.unseal(bytes(bad), b"XY", (3,), "thing")


def test_errors_say_what_is_wrong():
    data = c.seal(b"XY", 3, b"hdr", b"p")
    with pytest.raises(ValueError, match="not an thing: magic b'QQ'"):
        c.unseal(b"QQ" + data[2:], b"XY", (3,), "thing")
    with pytest.raises(ValueError, match="unsupported thing version 3 .*reads version 4, 5"):
        c.unseal(data, b"XY", (4, 5), "thing")
    with pytest.raises(ValueError, match="header CRC32"):
        c.unseal(data[:5] + b"X" + data[6:], b"XY", (3,), "thing")
    with pytest.raises(ValueError, match="payload CRC32"):
        c.unseal(data[:-5] + b"Z" + data[-4:], b"XY", (3,), "thing")
    huge = b"XY\x03" + put_varint(c.MAX_HEADER_BYTES + 1)
    with pytest.raises(ValueError, match="header length"):
        c.unseal(huge + bytes(8), b"XY", (3,), "thing")
    with pytest.raises(TypeError, match="thing must be bytes"):
        c.unseal("XY", b"XY", (3,), "thing")
    with pytest.raises(ValueError, match="one byte"):
        c.seal(b"XY", 256, b"", b"")


def test_records_round_trip():
    data = c.seal_records(b"R", 1, b"h", [b"", b"ab", bytes(300)])
    _, _, pos = c.unseal_header(data, b"R", (1,), "r")
    spans = c.record_spans(data, pos, 3, "r")
    assert [data[a:b] for a, b in spans] == [b"", b"ab", bytes(300)]
    assert c.record_spans(data, pos, 3, "r") == spans
    with pytest.raises(ValueError, match="trailing"):
        c.record_spans(data, pos, 2, "r")
