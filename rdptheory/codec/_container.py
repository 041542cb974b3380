"""The Gaussian codec's file format: a checked header, then length-prefixed records with CRC32.

Layout (:mod:`rdptheory._container`, records form)::

    magic b"RDPG" | version u8 | varint header length
    | header: mode u8 | n varint | d varint | seed varint | source_crc u32 | noise_crc u32
              | n_records varint
    | header_crc u32
    then n_records times:  varint length | body (length bytes) | crc32(body) u32

``source_crc``/``noise_crc`` fingerprint the source covariance and the noise levels (both are
codec parameters known to encoder and decoder, like a model's weights), so decoding with the
wrong codec is detected instead of producing garbage. Every byte counts in the rate.
A file may end exactly at a record boundary (progressive decoding of a prefix); any other
truncation, a bad magic/version/CRC, or trailing bytes raise ``ValueError``.

Versions: 1 (u32/u64 fields), 2 (varints, own header code), 3 (the shared container: one
header-length byte more, 24 bytes of header for a small file), 4 (record bodies in RCC format
3: a layout-kind bit after a non-external layout flag). Only version 4 is read.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from rdptheory import _container
from rdptheory._bytes import ByteReader, put_varint

MAGIC = b"RDPG"
#: 4: record bodies are RCC format 3 bodies (a layout-kind bit after a non-external flag).
VERSION = 4
MODES = ("one-shot", "progressive")
WHAT = "rdptheory Gaussian codec file"
_FIXED = struct.Struct("<II")  # source_crc, noise_crc
_CRC = struct.Struct("<I")


@dataclass(frozen=True)
class Header:
    """The header of a codec file."""

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


def _header_bytes(h: Header) -> bytes:
    return b"".join([bytes([MODES.index(h.mode)]), put_varint(h.n), put_varint(h.d),
                     put_varint(h.seed), _FIXED.pack(h.source_crc, h.noise_crc),
                     put_varint(h.n_records)])  # fmt: skip


def pack(header: Header, records: list[bytes]) -> bytes:
    """Serialise ``header`` and ``records`` (len(records) == header.n_records)."""
    if len(records) != header.n_records:
        raise ValueError("records must match header.n_records")
    return _container.seal_records(MAGIC, VERSION, _header_bytes(header), records)


def unpack_header(data: object) -> tuple[Header, int]:
    """(header, position of the first record); ValueError on any inconsistency."""
    _, head, pos = _container.unseal_header(data, MAGIC, (VERSION,), WHAT)
    r = ByteReader(head, WHAT)
    mode = r.u8("mode")
    if mode >= len(MODES):
        raise ValueError(f"corrupted {WHAT}: unknown mode {mode}")
    n, d = r.varint("n", high=2**32 - 1), r.varint("d", high=2**32 - 1)
    seed = r.varint("seed", high=2**64 - 1)
    s_crc, n_crc = r.unpack("<II", "the fingerprints")
    n_rec = r.varint("record count", high=4097)
    r.done()
    return Header(MODES[mode], n, d, seed, s_crc, n_crc, n_rec), pos


def unpack_records(data: bytes, pos: int, n_records: int) -> list[bytes]:
    """The complete records from ``pos``: up to ``n_records``; the data may end at a boundary."""
    data = _container.as_bytes(data, "data")
    return [data[a:b] for a, b in _container.record_spans(data, pos, n_records, WHAT)]


def record_boundaries(data: bytes) -> tuple[int, ...]:
    """Byte offsets at which ``data`` may be truncated (end of header, end of each record)."""
    header, pos = unpack_header(data)
    spans = _container.record_spans(bytes(data), pos, header.n_records, WHAT)
    return (pos, *(end + _CRC.size for _, end in spans))
