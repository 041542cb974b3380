"""rdptheory._bytes against hand-built LEB128 bytes and exact error messages (kills mutants).

Each test pins a behaviour that a surviving mutmut mutant changed (``make mutants
MUTANTS='rdptheory._bytes*'``); the expected values are written out by hand from the LEB128
definition (7 payload bits per byte, least significant group first, high bit = "more").
"""

import pytest

from rdptheory._bytes import ByteReader, get_varint, put_varint

#: (value, its LEB128 encoding written out by hand)
LEB128 = [
    (0, b"\x00"),
    (1, b"\x01"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (300, b"\xac\x02"),  # 300 = 0b10_0101100 -> 0x2c|0x80, 0x02
    (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"),
    (2**64 - 1, b"\xff" * 9 + b"\x01"),
]


@pytest.mark.parametrize(("value", "encoded"), LEB128)
def test_put_and_get_match_hand_built_leb128(value, encoded):
    assert put_varint(value) == encoded
    assert get_varint(b"\x55" + encoded + b"\x01", 1) == (value, 1 + len(encoded))


def test_get_varint_default_name_in_the_message():
    with pytest.raises(ValueError, match=r"^data is truncated while reading varint$"):
        get_varint(b"", 0)
    with pytest.raises(ValueError, match=r"^data is corrupt: varint varint too long$"):
        get_varint(b"\x80" * 10, 0)


def test_ten_byte_varint_is_the_longest_accepted():
    # 9 continuation bytes and a final one: 10 bytes, value 1 << 63.
    assert get_varint(b"\x80" * 9 + b"\x01", 0) == (1 << 63, 10)


def test_unpack_names_the_field_when_cut_short():
    with pytest.raises(ValueError, match=r"^corrupted hdr: truncated while reading scale$"):
        ByteReader(b"\x00\x00\x80", "hdr").unpack("<f", "scale")


def test_done_counts_the_unread_bytes_after_a_read():
    r = ByteReader(b"\x01\x02\x03\x04\x05", "hdr")
    assert r.u8("a") == 1
    with pytest.raises(ValueError, match=r"^corrupted hdr: 4 unread bytes$"):
        r.done()


def test_take_exactly_to_the_end_then_one_more_fails():
    r = ByteReader(b"abc", "hdr")
    assert r.take(3, "all") == b"abc"
    r.done()
    assert r.take(0, "nothing") == b""
    with pytest.raises(ValueError, match=r"^corrupted hdr: truncated while reading more$"):
        r.take(1, "more")


def test_varint_high_is_inclusive():
    assert ByteReader(b"\x05", "hdr").varint("n", high=5) == 5
    with pytest.raises(ValueError, match=r"^corrupted hdr: n = 6 exceeds 5$"):
        ByteReader(b"\x06", "hdr").varint("n", high=5)
    assert ByteReader(b"\x00", "hdr").varint("n", high=0) == 0
