"""Byte-level helpers shared by every container (rdptheory._container and its formats).

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


class ByteReader:
    """Sequential reads from a header, each raising ``ValueError`` naming ``what`` if cut short.

    >>> r = ByteReader(put_varint(300) + b"\\x07", "demo header")
    >>> r.varint("n"), r.u8("flag"), r.done()
    (300, 7, None)
    """

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.what, self.pos = bytes(data), what, 0

    def take(self, size: int, name: str) -> bytes:
        """The next ``size`` bytes (field ``name``)."""
        if self.pos + size > len(self.data):
            raise ValueError(f"corrupted {self.what}: truncated while reading {name}")
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def varint(self, name: str, high: int | None = None) -> int:
        """The next LEB128 varint; ``ValueError`` if above ``high`` (when given)."""
        value, self.pos = get_varint(self.data, self.pos, f"{name} in the {self.what}")
        if high is not None and value > high:
            raise ValueError(f"corrupted {self.what}: {name} = {value} exceeds {high}")
        return value

    def u8(self, name: str) -> int:
        """The next byte as an int."""
        return self.take(1, name)[0]

    def unpack(self, fmt: str, name: str) -> tuple:
        """The next ``struct`` fields of format ``fmt`` (little-endian, e.g. ``"<fB"``)."""
        import struct

        return struct.unpack(fmt, self.take(struct.calcsize(fmt), name))

    def done(self) -> None:
        """``ValueError`` unless every byte was read."""
        if self.pos != len(self.data):
            raise ValueError(f"corrupted {self.what}: {len(self.data) - self.pos} unread bytes")
