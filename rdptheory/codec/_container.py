"""The codec's file format: a checked header, then length-prefixed records with CRC32 each.

Layout (little-endian)::

    magic  b"RDPG" | version u8 | mode u8 | n u32 | d u32 | seed u64
    | source_crc u32 | noise_crc u32 | n_records u16 | header_crc u32
    then n_records times:  varint length | body (length bytes) | crc32(body) u32

``source_crc``/``noise_crc`` fingerprint the source covariance and the noise levels (both are
codec parameters known to encoder and decoder, like a model's weights), so decoding with the
wrong codec is detected instead of producing garbage. Every byte counts in the rate.
A file may end exactly at a record boundary (progressive decoding of a prefix); any other
truncation, a bad magic/version/CRC, or trailing bytes raise ``ValueError``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"RDPG"
VERSION = 1
MODES = ("one-shot", "progressive")
_HEAD = struct.Struct("<4sBBIIQIIH")
_CRC = struct.Struct("<I")


@dataclass(frozen=True)
class Header:
    """The fixed-size header of a codec file."""

    mode: str
    n: int
    d: int
    seed: int
    source_crc: int
    noise_crc: int
    n_records: int


def fingerprint(*arrays: np.ndarray) -> int:
    """CRC32 of the float64 little-endian bytes of ``arrays`` (a parameter fingerprint)."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a, dtype="<f8").tobytes(), crc)
    return crc


def put_varint(value: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def get_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the LEB128 at ``pos``; ValueError when truncated/overlong."""
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("data is truncated inside a record length")
        if shift > 56:
            raise ValueError("data is corrupt: record length varint too long")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def pack(header: Header, records: list[bytes]) -> bytes:
    """Serialise ``header`` and ``records`` (len(records) == header.n_records)."""
    if len(records) != header.n_records:
        raise ValueError("records must match header.n_records")
    head = _HEAD.pack(MAGIC, VERSION, MODES.index(header.mode), header.n, header.d,
                      header.seed, header.source_crc, header.noise_crc, header.n_records)
    parts = [head, _CRC.pack(zlib.crc32(head))]
    for body in records:
        parts += [put_varint(len(body)), body, _CRC.pack(zlib.crc32(body))]
    return b"".join(parts)


def unpack_header(data: object) -> tuple[Header, int]:
    """(header, position of the first record); ValueError on any inconsistency."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    size = _HEAD.size + _CRC.size
    if len(data) < size:
        raise ValueError(f"data is truncated: {len(data)} bytes, a header needs {size}")
    magic, version, mode, n, d, seed, s_crc, n_crc, n_rec = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"data is not an rdptheory Gaussian codec file (magic {magic!r})")
    if version != VERSION:
        raise ValueError(f"unsupported codec file version {version} (this reader: {VERSION})")
    if _CRC.unpack_from(data, _HEAD.size)[0] != zlib.crc32(data[: _HEAD.size]):
        raise ValueError("data is corrupt: header CRC32 mismatch")
    if mode >= len(MODES):
        raise ValueError(f"data is corrupt: unknown mode {mode}")
    return Header(MODES[mode], n, d, seed, s_crc, n_crc, n_rec), size


def unpack_records(data: bytes, pos: int, n_records: int) -> list[bytes]:
    """The complete records from ``pos``: up to ``n_records``; the data may end at a boundary."""
    records: list[bytes] = []
    while pos < len(data):
        if len(records) == n_records:
            raise ValueError(f"data is corrupt: {len(data) - pos} trailing bytes")
        length, pos = get_varint(data, pos)
        end = pos + length
        if end + _CRC.size > len(data):
            raise ValueError(f"data is truncated inside record {len(records)}")
        body = data[pos:end]
        if _CRC.unpack_from(data, end)[0] != zlib.crc32(body):
            raise ValueError(f"data is corrupt: CRC32 mismatch in record {len(records)}")
        records.append(body)
        pos = end + _CRC.size
    return records


def record_boundaries(data: bytes) -> tuple[int, ...]:
    """Byte offsets at which ``data`` may be truncated (end of header, end of each record)."""
    header, pos = unpack_header(data)
    out = [pos]
    for body in unpack_records(bytes(data), pos, header.n_records):
        pos += len(put_varint(len(body))) + len(body) + _CRC.size
        out.append(pos)
    return tuple(out)
