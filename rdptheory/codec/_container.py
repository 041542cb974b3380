"""The codec's file format: a checked header, then length-prefixed records with CRC32 each.

Layout (little-endian)::

    magic  b"RDPG" | version u8 | mode u8 | n varint | d varint | seed varint
    | source_crc u32 | noise_crc u32 | n_records varint | header_crc u32
    then n_records times:  varint length | body (length bytes) | crc32(body) u32

``source_crc``/``noise_crc`` fingerprint the source covariance and the noise levels (both are
codec parameters known to encoder and decoder, like a model's weights), so decoding with the
wrong codec is detected instead of producing garbage. Every byte counts in the rate.
A file may end exactly at a record boundary (progressive decoding of a prefix); any other
truncation, a bad magic/version/CRC, or trailing bytes raise ``ValueError``. Version 2 writes
n, d, seed and n_records as LEB128 varints (version 1: u32, u32, u64, u16), 13 bytes less per
file at n < 128, d < 16384, seed < 128 (~1% of a 1 bit/dim, 12288-dim file).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from rdptheory._bytes import get_varint, put_varint

MAGIC = b"RDPG"
VERSION = 2
MODES = ("one-shot", "progressive")
_FIXED = struct.Struct("<II")  # source_crc, noise_crc
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


def pack(header: Header, records: list[bytes]) -> bytes:
    """Serialise ``header`` and ``records`` (len(records) == header.n_records)."""
    if len(records) != header.n_records:
        raise ValueError("records must match header.n_records")
    head = b"".join([MAGIC, bytes([VERSION, MODES.index(header.mode)]), put_varint(header.n),
                     put_varint(header.d), put_varint(header.seed),
                     _FIXED.pack(header.source_crc, header.noise_crc),
                     put_varint(header.n_records)])  # fmt: skip
    parts = [head, _CRC.pack(zlib.crc32(head))]
    for body in records:
        parts += [put_varint(len(body)), body, _CRC.pack(zlib.crc32(body))]
    return b"".join(parts)


def unpack_header(data: object) -> tuple[Header, int]:
    """(header, position of the first record); ValueError on any inconsistency."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 6:
        raise ValueError(f"data is truncated: {len(data)} bytes, shorter than a header")
    magic, version, mode = data[:4], data[4], data[5]
    if magic != MAGIC:
        raise ValueError(f"data is not an rdptheory Gaussian codec file (magic {magic!r})")
    if version != VERSION:
        raise ValueError(f"unsupported codec file version {version} (this reader: {VERSION})")
    try:
        n, pos = get_varint(data, 6, "n")
        d, pos = get_varint(data, pos, "d")
        seed, pos = get_varint(data, pos, "seed")
        s_crc, n_crc = _FIXED.unpack_from(data, pos)
        n_rec, size = get_varint(data, pos + _FIXED.size, "record count")
        (crc,) = _CRC.unpack_from(data, size)
    except (ValueError, struct.error) as exc:
        raise ValueError(f"data is truncated inside the header ({exc})") from exc
    if crc != zlib.crc32(data[:size]):
        raise ValueError("data is corrupt: header CRC32 mismatch")
    if mode >= len(MODES):
        raise ValueError(f"data is corrupt: unknown mode {mode}")
    size += _CRC.size
    return Header(MODES[mode], n, d, seed, s_crc, n_crc, n_rec), size


def unpack_records(data: bytes, pos: int, n_records: int) -> list[bytes]:
    """The complete records from ``pos``: up to ``n_records``; the data may end at a boundary."""
    records: list[bytes] = []
    while pos < len(data):
        if len(records) == n_records:
            raise ValueError(f"data is corrupt: {len(data) - pos} trailing bytes")
        length, pos = get_varint(data, pos, "record length")
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
