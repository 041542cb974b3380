"""One container for every rdptheory file format: magic, version, checked header, payload.

Layout (little-endian)::

    magic | version u8 | varint header length | header | crc32(all before) u32
    | payload | crc32(payload) u32                         (sealed payload, :func:`seal`)
    | record_0 | record_1 | ...                            (records, :func:`seal_records`)

with each record ``varint length | body | crc32(body) u32``. The header CRC lets a reader trust
the header's sizes before it touches the payload (and reject absurd ones before allocating
anything); a record file may end at any record boundary (progressive decoding of a prefix).
Users: the RCC message (``b"RCC"``) and stream (``b"RCS"``) formats (sealed payload), the image
stream (``b"RDPI"``, sealed payload) and the Gaussian codec file (``b"RDPG"``, records).

Every error is a ``ValueError`` (``TypeError`` for non-bytes input) whose message names the
format (``what``) and the problem.

>>> data = seal(b"XYZ", 1, b"head", b"body")
>>> unseal(data, b"XYZ", (1,), "XYZ file")
(1, b'head', b'body')
>>> unseal(data[:-1], b"XYZ", (1,), "XYZ file")
Traceback (most recent call last):
...
ValueError: corrupted or truncated XYZ file: payload CRC32 mismatch
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

from rdptheory._bytes import get_varint, put_varint

#: Largest header a reader accepts (bytes); every format's header is far below this.
MAX_HEADER_BYTES = 4096
_CRC = struct.Struct("<I")


def as_bytes(data: object, what: str) -> bytes:
    """``data`` as ``bytes``; ``TypeError`` naming ``what`` for anything but bytes-like."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, got {type(data).__name__}")
    return bytes(data)


def seal_header(magic: bytes, version: int, header: bytes) -> bytes:
    """``magic | version | varint len(header) | header | crc32`` (the CRC covers all before)."""
    if not 0 <= version <= 255:
        raise ValueError(f"version must fit one byte, got {version}")
    if len(header) > MAX_HEADER_BYTES:
        raise ValueError(f"header of {len(header)} bytes exceeds {MAX_HEADER_BYTES}")
    head = magic + bytes([version]) + put_varint(len(header)) + header
    return head + _CRC.pack(zlib.crc32(head))


def unseal_header(
    data: object, magic: bytes, versions: Iterable[int], what: str
) -> tuple[int, bytes, int]:
    """(version, header, position after the header CRC) of a :func:`seal_header` prefix.

    Raises ``ValueError`` for a wrong magic, an unsupported version, a truncated header or a
    header CRC mismatch (``TypeError`` if ``data`` is not bytes).
    """
    data = as_bytes(data, what)
    versions = tuple(versions)
    got = data[: len(magic)]
    if got != magic[: len(got)] or len(data) == 0:
        raise ValueError(f"not an {what}: magic {got!r}, expected {magic!r}")
    if len(data) <= len(magic):
        raise ValueError(f"truncated {what}: {len(data)} bytes")
    version = data[len(magic)]
    if version not in versions:
        supported = ", ".join(map(str, versions))
        raise ValueError(f"unsupported {what} version {version} (this reader reads version "
                         f"{supported}): re-encode the file with this rdptheory")
    size, pos = get_varint(data, len(magic) + 1, f"the {what} header length")
    if size > MAX_HEADER_BYTES:
        raise ValueError(f"corrupted {what}: header length {size} > {MAX_HEADER_BYTES}")
    end = pos + size
    if end + _CRC.size > len(data):
        raise ValueError(f"truncated {what}: {len(data)} bytes, the header needs {end + 4}")
    if _CRC.unpack_from(data, end)[0] != zlib.crc32(data[:end]):
        raise ValueError(f"corrupted or truncated {what}: header CRC32 mismatch")
    return version, data[pos:end], end + _CRC.size


def seal(magic: bytes, version: int, header: bytes, payload: bytes) -> bytes:
    """The sealed container: :func:`seal_header`, then ``payload | crc32(payload)``."""
    return seal_header(magic, version, header) + payload + _CRC.pack(zlib.crc32(payload))


def unseal(
    data: object, magic: bytes, versions: Iterable[int], what: str
) -> tuple[int, bytes, bytes]:
    """(version, header, payload) of :func:`seal` output; ``ValueError`` on any damage."""
    version, header, pos = unseal_header(data, magic, versions, what)
    data = as_bytes(data, what)
    if len(data) < pos + _CRC.size:
        raise ValueError(f"truncated {what}: {len(data)} bytes, no payload CRC")
    payload = data[pos:-_CRC.size]
    if _CRC.unpack_from(data, len(data) - _CRC.size)[0] != zlib.crc32(payload):
        raise ValueError(f"corrupted or truncated {what}: payload CRC32 mismatch")
    return version, header, payload


def seal_records(magic: bytes, version: int, header: bytes, records: Iterable[bytes]) -> bytes:
    """:func:`seal_header`, then each record as ``varint length | body | crc32(body)``."""
    parts = [seal_header(magic, version, header)]
    for body in records:
        parts += [put_varint(len(body)), body, _CRC.pack(zlib.crc32(body))]
    return b"".join(parts)


def record_spans(data: bytes, pos: int, max_records: int, what: str) -> list[tuple[int, int]]:
    """(start, end) of each complete record body from ``pos``; the data may end at a boundary.

    ``ValueError`` for more than ``max_records`` records (trailing bytes), a record cut short,
    or a record CRC mismatch. No body is copied.
    """
    spans: list[tuple[int, int]] = []
    while pos < len(data):
        if len(spans) == max_records:
            raise ValueError(f"corrupted {what}: {len(data) - pos} trailing bytes")
        length, start = get_varint(data, pos, f"the length of record {len(spans)}")
        end = start + length
        if end + _CRC.size > len(data):
            raise ValueError(f"truncated {what}: record {len(spans)} is cut short")
        if _CRC.unpack_from(data, end)[0] != zlib.crc32(data[start:end]):
            raise ValueError(f"corrupted {what}: CRC32 mismatch in record {len(spans)}")
        spans.append((start, end))
        pos = end + _CRC.size
    return spans
