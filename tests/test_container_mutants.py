"""rdptheory._container against hand-built files, zlib.crc32 and exact messages (kills mutants).

Each test pins a behaviour that a surviving mutmut mutant changed (``make mutants
MUTANTS='rdptheory._container*'``): the 4096-byte header bound at both ends, the empty and
one-byte files, a file that ends exactly after its header, and the numbers in every error
message. Expected bytes are assembled by hand from the layout in the module docstring
(``magic | version | LEB128 len | header | crc32 LE``), never by calling the sealer.
"""

import zlib

import pytest

from rdptheory import _container as c

SPEC_MAX_HEADER = 4096  # the documented bound on a header, in bytes


def crc(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "little")


def hand_header(magic: bytes, version: int, header: bytes, length: bytes) -> bytes:
    head = magic + bytes([version]) + length + header
    return head + crc(head)


#: b"XY", version 3, header b"hdr": 2 + 1 + 1 + 3 = 7 bytes, then its CRC: 11 bytes.
XY_HEAD = hand_header(b"XY", 3, b"hdr", b"\x03")


def test_the_documented_header_bound():
    assert c.MAX_HEADER_BYTES == SPEC_MAX_HEADER


def test_a_header_of_exactly_the_bound_seals_and_unseals():
    header = bytes(range(256)) * (SPEC_MAX_HEADER // 256)
    head = hand_header(b"XY", 7, header, b"\x80\x20")  # 4096 = 0 | 32 << 7 in LEB128
    assert c.seal_header(b"XY", 7, header) == head
    data = head + b"pay" + crc(b"pay")
    assert c.unseal(data, b"XY", (7,), "thing") == (7, header, b"pay")


def test_a_header_one_byte_over_the_bound_is_refused_both_ways():
    with pytest.raises(ValueError, match=r"^header of 4097 bytes exceeds 4096$"):
        c.seal_header(b"XY", 3, bytes(SPEC_MAX_HEADER + 1))
    data = hand_header(b"XY", 3, bytes(SPEC_MAX_HEADER + 1), b"\x81\x20")
    with pytest.raises(ValueError, match=r"^corrupted thing: header length 4097 > 4096$"):
        c.unseal_header(data, b"XY", (3,), "thing")


def test_empty_and_magic_prefix_files():
    with pytest.raises(ValueError, match=r"^not an thing: magic b'', expected b'XY'$"):
        c.unseal_header(b"", b"XY", (3,), "thing")
    with pytest.raises(ValueError, match=r"^truncated thing: 1 bytes$"):
        c.unseal_header(b"X", b"XY", (3,), "thing")
    with pytest.raises(ValueError, match=r"^truncated thing: 2 bytes$"):
        c.unseal_header(b"XY", b"XY", (3,), "thing")
    with pytest.raises(ValueError, match=r"^not an thing: magic b'Q', expected b'XY'$"):
        c.unseal_header(b"Q", b"XY", (3,), "thing")


def test_a_file_that_ends_right_after_its_header():
    assert c.unseal_header(XY_HEAD, b"XY", (3,), "thing") == (3, b"hdr", 11)
    assert c.unseal_header(bytearray(XY_HEAD), b"XY", (2, 3), "thing") == (3, b"hdr", 11)


def test_the_header_size_a_truncated_file_needs():
    for n in range(4, 11):
        with pytest.raises(ValueError,
                           match=rf"^truncated thing: {n} bytes, the header needs 11$"):
            c.unseal_header(XY_HEAD[:n], b"XY", (3,), "thing")


def test_no_payload_crc_is_named_as_such():
    for extra in (b"", b"\x00", b"\x00\x00\x00"):
        size = len(XY_HEAD) + len(extra)
        with pytest.raises(ValueError, match=rf"^truncated thing: {size} bytes, no payload CRC$"):
            c.unseal(XY_HEAD + extra, b"XY", (3,), "thing")
    # An empty payload is just its CRC, crc32(b"") = 0.
    assert c.unseal(XY_HEAD + bytes(4), b"XY", (3,), "thing") == (3, b"hdr", b"")


def test_as_bytes_names_the_type_and_copies_buffers():
    with pytest.raises(TypeError, match=r"^thing must be bytes, got str$"):
        c.as_bytes("XY", "thing")
    with pytest.raises(TypeError, match=r"^thing must be bytes, got list$"):
        c.unseal([1, 2], b"XY", (3,), "thing")
    out = c.as_bytes(memoryview(b"ab"), "thing")
    assert type(out) is bytes and out == b"ab"


def record(body: bytes, length: bytes) -> bytes:
    return length + body + crc(body)


#: header b"R", version 1, header b"h"; records b"ab" and 200 bytes (LEB128 200 = c8 01).
R_HEAD = hand_header(b"R", 1, b"h", b"\x01")
R_FILE = R_HEAD + record(b"ab", b"\x02") + record(bytes(200), b"\xc8\x01")


def test_records_against_a_hand_built_file():
    assert c.seal_records(b"R", 1, b"h", [b"ab", bytes(200)]) == R_FILE
    start1 = len(R_HEAD) + 1
    start2 = start1 + 2 + 4 + 2
    assert c.record_spans(R_FILE, len(R_HEAD), 2, "r") == [(start1, start1 + 2),
                                                          (start2, start2 + 200)]
    assert c.record_spans(R_FILE, len(R_FILE), 0, "r") == []


def test_record_error_messages_count_and_name_the_record():
    pos = len(R_HEAD)
    trailing = len(R_FILE) - (pos + 1 + 2 + 4)
    with pytest.raises(ValueError, match=rf"^corrupted r: {trailing} trailing bytes$"):
        c.record_spans(R_FILE, pos, 1, "r")
    with pytest.raises(ValueError,
                       match=r"^data is truncated while reading the length of record 1$"):
        c.record_spans(R_FILE[: pos + 7] + b"\xc8", pos, 2, "r")
    for cut in (1, 2, 3, 4, 5, 150, 204):
        with pytest.raises(ValueError, match=r"^truncated r: record 1 is cut short$"):
            c.record_spans(R_FILE[:-cut], pos, 2, "r")
    bad = bytearray(R_FILE)
    bad[-10] ^= 0x01
    with pytest.raises(ValueError, match=r"^corrupted r: CRC32 mismatch in record 1$"):
        c.record_spans(bytes(bad), pos, 2, "r")
