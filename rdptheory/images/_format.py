"""The image bitstream: a versioned container around one RCC message stream.

Layout (little-endian)::

    magic "RDPI" | version u8 | model fingerprint 8 B | image H u32, W u32 |
    code-space dimension u32 | seed u64 |
    ladder t_max f32, t_min f32, levels u16 | steps u16 | chunk KL budget B f32 |
    payload: one range coder holding, per step, the quantised KL (side information) and the
    candidate index of every chunk (rdptheory.images._steps) |
    CRC32 u32 of everything before

The fingerprint is the first 8 bytes of the model's SHA-256 (enough to tell models apart; the
CRC guards the bytes). The code shape follows from the model and the image size (its size is
stored to check it and to re-pack a prefix without the model); each step's chunk layout
follows from its quantised KL and the seed.
Every byte of the file counts in the rate.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"RDPI"
VERSION = 1
FINGERPRINT_BYTES = 8
_HEAD = struct.Struct("<4sB8sIIIQffHHf")


@dataclass(frozen=True)
class StreamHeader:
    """Everything the decoder needs besides the model and the RCC stream."""

    fingerprint: bytes
    height: int
    width: int
    code_dims: int
    seed: int
    t_max: float
    t_min: float
    n_levels: int
    n_steps: int
    max_chunk_bits: float


@dataclass(frozen=True)
class ImageStream:
    """A parsed file: its header and the range-coded payload (side information, indices)."""

    header: StreamHeader
    payload: bytes


def pack_stream(stream: ImageStream) -> bytes:
    """Serialise an :class:`ImageStream` (module layout) with its CRC32."""
    h = stream.header
    head = _HEAD.pack(MAGIC, VERSION, h.fingerprint, h.height, h.width, h.code_dims, h.seed,
                      h.t_max, h.t_min, h.n_levels, h.n_steps, h.max_chunk_bits)
    payload = head + stream.payload
    return payload + struct.pack("<I", zlib.crc32(payload))


def unpack_stream(data: bytes) -> ImageStream:
    """Parse and verify a file; ``ValueError`` naming the problem for anything malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 5 or data[:4] != MAGIC:
        raise ValueError(f"not an rdptheory image stream (magic {data[:4]!r}, expected {MAGIC!r})")
    if data[4] != VERSION:
        raise ValueError(f"unsupported image stream version {data[4]}, expected {VERSION}")
    if len(data) < _HEAD.size + 4:
        raise ValueError(f"truncated image stream: {len(data)} bytes")
    payload, crc = data[:-4], struct.unpack("<I", data[-4:])[0]
    if zlib.crc32(payload) != crc:
        raise ValueError("corrupted or truncated image stream: CRC32 mismatch")
    header = StreamHeader(*_HEAD.unpack_from(payload)[2:])
    if header.n_steps < 1 or header.n_steps > header.n_levels or header.height < 1 or \
            header.width < 1 or header.code_dims < 1 or not 0 < header.t_min < header.t_max \
            or not 0 < header.max_chunk_bits <= 24:
        raise ValueError(f"corrupted image stream: inconsistent header {header}")
    return ImageStream(header, payload[_HEAD.size:])
