"""rdptheory._bytes: the LEB128 varints every container uses."""

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory import _bytes
from rdptheory._bytes import get_varint, put_varint


def test_doctests():
    assert doctest.testmod(_bytes).failed == 0


@given(st.integers(0, 2**64 - 1))
def test_round_trip(v):
    enc = put_varint(v)
    assert get_varint(enc + b"\x01", 0) == (v, len(enc))
    assert len(enc) <= 10


def test_truncated_and_overlong_and_negative():
    with pytest.raises(ValueError, match="truncated while reading n"):
        get_varint(put_varint(2**40)[:-1], 0, "n")
    with pytest.raises(ValueError, match="corrupt"):
        get_varint(b"\xff" * 11, 0)
    with pytest.raises(ValueError, match=">= 0"):
        put_varint(-1)


def test_byte_reader():
    from rdptheory._bytes import ByteReader

    r = ByteReader(put_varint(5) + b"\x01\x02\x00\x00\x80\x3f", "hdr")
    assert r.varint("n", high=5) == 5 and r.u8("a") == 1 and r.take(1, "b") == b"\x02"
    assert r.unpack("<f", "x") == (1.0,)
    r.done()
    with pytest.raises(ValueError, match="corrupted hdr: truncated while reading flag"):
        r.u8("flag")
    with pytest.raises(ValueError, match="n = 5 exceeds 4"):
        ByteReader(put_varint(5), "hdr").varint("n", high=4)
    with pytest.raises(ValueError, match="2 unread bytes"):
        ByteReader(b"ab", "hdr").done()
    with pytest.raises(ValueError, match="truncated while reading n in the hdr"):
        ByteReader(b"\x80", "hdr").varint("n")
