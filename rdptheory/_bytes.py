"""Byte-level helpers shared by every container (RCC messages/streams, the Gaussian codec).

Unsigned LEB128 varints: 7 payload bits per byte, high bit set on every byte but the last.

>>> put_varint(300)
b'\\xac\\x02'
>>> get_varint(put_varint(300) + b"tail", 0)
(300, 2)
"""

from __future__ import annotations

_MAX_VARINT_BYTES = 10  # enough for any 64-bit value; longer means corrupt data


def put_varint(value: int) -> bytes:
    """The unsigned LEB128 encoding of ``value`` (>= 0)."""
    if value < 0:
        raise ValueError(f"varint value must be >= 0, got {value}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def get_varint(data: bytes, pos: int, what: str = "varint") -> tuple[int, int]:
    """(value, next position) of the LEB128 at ``pos``.

    Raises ``ValueError`` naming ``what`` when the data ends inside the varint ("truncated")
    or the varint is longer than any 64-bit value needs ("corrupt").
    """
    value = 0
    for k in range(_MAX_VARINT_BYTES):
        if pos >= len(data):
            raise ValueError(f"data is truncated while reading {what}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * k)
        if not byte & 0x80:
            return value, pos
    raise ValueError(f"data is corrupt: {what} varint too long")
