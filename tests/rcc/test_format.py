"""Message bytes: containers, headerless bodies, streams, and robustness to damage."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdptheory import rcc
from rdptheory._bytes import get_varint, put_varint
from rdptheory.rcc import _format as fmt
from rdptheory.rcc.message import RCCMessage


def _messages():
    """Hand-made messages covering 1 chunk, all-singleton chunks, and coded sizes."""
    return [
        RCCMessage(1, (1,), (0,)),
        RCCMessage(1, (1,), (2**30 - 1,), 24.0, 6),
        RCCMessage(5, (5,), (37,), 3.5, 0),
        RCCMessage(4, (1, 1, 1, 1), (0, 5, 2**16, 9)),
        RCCMessage(40, (7, 9, 3, 12, 9), (1, 70000, 3, 0, 2**24 + 3), 14.0, 2, 7),
        RCCMessage(70, (16, 8, 24, 22), (5, 0, 9, 1), 14.0, 2, 9, size_granularity_log2=3),
    ]


@pytest.mark.parametrize("msg", _messages(), ids=range(6))
def test_container_and_body_round_trip(msg):
    back = RCCMessage.from_bytes(msg.to_bytes())
    assert (back.dims, back.chunk_sizes, back.indices) == (msg.dims, msg.chunk_sizes, msg.indices)
    assert (back.max_chunk_bits, back.padding) == (msg.max_chunk_bits, msg.padding)
    body = msg.to_bytes(header=False)
    back2 = RCCMessage.from_bytes(
        body, dims=msg.dims, header=False, max_chunk_bits=msg.max_chunk_bits, padding=msg.padding
    )
    assert back2.indices == msg.indices and back2.chunk_sizes == msg.chunk_sizes
    assert msg.num_bits == 8 * len(msg.to_bytes()) and msg.body_bits == 8 * len(body)


def test_varint_round_trip_and_truncation():
    for v in [0, 1, 127, 128, 300, 2**24, 2**63 - 1]:
        enc = put_varint(v)
        assert get_varint(enc + b"xyz", 0, "v") == (v, len(enc))
    with pytest.raises(ValueError, match="truncated"):
        get_varint(put_varint(2**40)[:-1], 0, "v")


@pytest.mark.parametrize("msg", _messages()[3:], ids=["singletons", "sizes", "granular"])
def test_every_truncation_and_byte_flip_is_rejected(msg):
    data = msg.to_bytes()
    for n in range(len(data)):
        with pytest.raises(ValueError):
            RCCMessage.from_bytes(data[:n])
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= flip
            with pytest.raises(ValueError):
                RCCMessage.from_bytes(bytes(bad))


def test_wrong_magic_version_type_and_dims():
    data = _messages()[4].to_bytes()
    with pytest.raises(ValueError, match="magic"):
        RCCMessage.from_bytes(b"XYZ" + data[3:])
    with pytest.raises(ValueError, match="version"):
        RCCMessage.from_bytes(data[:3] + bytes([99]) + data[4:])
    with pytest.raises(ValueError, match="unsupported RCC message version 1"):
        RCCMessage.from_bytes(data[:3] + bytes([1]) + data[4:])  # the pre-container format
    with pytest.raises(TypeError):
        RCCMessage.from_bytes("not bytes")
    with pytest.raises(ValueError, match="dims"):
        RCCMessage.from_bytes(data, dims=41)
    with pytest.raises(ValueError, match="dims"):
        RCCMessage.from_bytes(_messages()[4].to_bytes(header=False), header=False)


def test_corrupted_body_without_crc_is_caught_or_canonical():
    # A headerless body has no CRC; damage must raise or yield a message that re-encodes to
    # the same bytes (never a silent mismatch between bytes and content).
    msg = _messages()[4]
    body = msg.to_bytes(header=False)
    for i in range(len(body)):
        bad = bytearray(body)
        bad[i] ^= 0x5A
        try:
            got = RCCMessage.from_bytes(bytes(bad), dims=40, header=False)
        except ValueError:
            continue
        assert got.to_bytes(header=False) == bytes(bad)
    with pytest.raises(ValueError):
        RCCMessage.from_bytes(body + b"\x07", dims=40, header=False)  # trailing garbage


def test_message_validation():
    with pytest.raises(ValueError, match="sum"):
        RCCMessage(5, (2, 2), (0, 0))
    with pytest.raises(ValueError, match="empty"):
        RCCMessage(2, (2, 0), (0, 0))
    with pytest.raises(ValueError, match="one non-negative index"):
        RCCMessage(2, (1, 1), (0,))
    with pytest.raises(ValueError, match="2\\*\\*30"):
        RCCMessage(1, (1,), (2**30,))
    with pytest.raises(ValueError, match="max_chunk_bits"):
        RCCMessage(1, (1,), (0,), 25.0)
    with pytest.raises(ValueError, match="padding"):
        RCCMessage(1, (1,), (0,), 14.0, 7)
    with pytest.raises(ValueError, match="granularity"):
        RCCMessage(12, (6, 6), (0, 0), size_granularity_log2=2)
    with pytest.raises(ValueError, match="size_granularity_log2"):
        RCCMessage(12, (8, 4), (0, 0), size_granularity_log2=8)


def test_stream_round_trip_and_errors():
    msgs = [m for m in _messages() if m.model == rcc.RCCMessage(1, (1,), (0,)).model]
    w = rcc.RCCStreamWriter()
    for m in msgs:
        w.write(m)
    data = w.to_bytes()
    r = rcc.RCCStreamReader(data)
    assert r.num_messages == len(msgs)
    for m in msgs:
        got = r.read_message(m.dims)
        assert got.indices == m.indices and got.chunk_sizes == m.chunk_sizes
    assert r.remaining == 0
    with pytest.raises(ValueError, match="only"):
        r.read_message(1)
    with pytest.raises(ValueError, match="padding"):
        w.write(_messages()[1])
    for n in range(len(data)):
        with pytest.raises(ValueError):
            rcc.RCCStreamReader(data[:n])
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x10
    with pytest.raises(ValueError, match="CRC"):
        rcc.RCCStreamReader(bytes(bad))


def test_stream_amortises_the_coder_termination():
    # 200 one-chunk messages in one stream cost far less than 200 standalone bodies
    w = rcc.RCCStreamWriter()
    msgs = [RCCMessage(1, (1,), (k % 17,)) for k in range(200)]
    for m in msgs:
        w.write(m)
    ideal = sum(m.index_bits + m.side_bits for m in msgs)  # side: the 1-bit layout flag
    assert len(w.body()) * 8 <= ideal + 40
    assert sum(m.body_bits for m in msgs) > 2 * ideal


@given(st.binary(max_size=64), st.integers(1, 5000))
def test_random_bodies_never_crash(data, dims):
    # garbage in -> ValueError, or a valid message that re-encodes to exactly these bytes
    try:
        msg = RCCMessage.from_bytes(data, dims=dims, header=False)
    except ValueError:
        return
    assert msg.to_bytes(header=False) == data and msg.dims == dims


@given(st.binary(max_size=64), st.integers(1, 5000))
def test_random_stream_payload_with_valid_crc(payload, dims):
    # a well-formed container around garbage: reading raises ValueError or yields valid content
    r = rcc.RCCStreamReader(fmt.pack_stream(rcc.RCCStreamWriter().model, 3, payload))
    for _ in range(3):
        try:
            msg = r.read_message(dims)
        except ValueError:
            return
        assert sum(msg.chunk_sizes) == dims and min(msg.chunk_sizes) >= 1


def test_exact_tail_flag_round_trips():
    msg = rcc.encode([0.4, -0.3], 0.5, [0.0, 0.0], 1.0, seed=1, algorithm="pfr_es",
                     backend="numpy")  # fmt: skip
    assert msg.exact_tail
    assert RCCMessage.from_bytes(msg.to_bytes()).exact_tail
    body = msg.to_bytes(header=False)
    back = RCCMessage.from_bytes(body, dims=2, header=False, algorithm="pfr_es")
    assert back.indices == msg.indices
    w = rcc.RCCStreamWriter(algorithm="pfr_es")
    w.write(msg)
    assert rcc.RCCStreamReader(w.to_bytes()).read_message(2).indices == msg.indices
    with pytest.raises(ValueError, match="index model"):
        rcc.RCCStreamWriter().write(msg)
    with pytest.raises(TypeError):
        rcc.RCCStreamWriter().write(b"bytes")
    with pytest.raises(ValueError, match="algorithm"):
        rcc.RCCStreamWriter(algorithm="xyz")


def test_container_layout_is_the_shared_one():
    # magic | version | varint header length | header (dims, B, padding) | header CRC | body |
    # body CRC: version 3 of the RCC formats is rdptheory._container's layout
    from rdptheory import _container

    msg = _messages()[4]
    version, header, body = _container.unseal(msg.to_bytes(), b"RCC", (3,), "m")
    assert version == fmt.VERSION == 3 and body == msg.body()
    assert header == put_varint(40) + fmt.put_model(msg.model)
    w = rcc.RCCStreamWriter()
    w.write(RCCMessage(1, (1,), (5,)))
    _, header, body = _container.unseal(w.to_bytes(), b"RCS", (3,), "s")
    assert header == fmt.put_model(w.model) + put_varint(1) and body == w.body()


def test_corrupt_header_fields_with_valid_crc():
    from rdptheory import _container

    model = fmt.put_model(RCCMessage(1, (1,), (0,)).model)
    cases = {
        "dims = 0": put_varint(0) + model,
        "dims": put_varint(fmt.MAX_DIMS + 1) + model,
        "max_chunk_bits": put_varint(3) + b"\x00\x00\xc0\x7f\x02",  # NaN B
        "padding": put_varint(3) + model[:4] + bytes([9]),
        "unread": put_varint(3) + model + b"\x00",
        "index model": put_varint(3) + model[:2],
    }
    for match, header in cases.items():
        with pytest.raises(ValueError, match=match):
            RCCMessage.from_bytes(_container.seal(b"RCC", 3, header, b""))


def test_header_dims_above_max_dims_need_the_proposal():
    msg = RCCMessage(3000, (1,) * 3000, (0,) * 3000)  # 3000 zero-index chunks: a few bytes
    data = msg.to_bytes()
    assert len(data) < 40
    with pytest.raises(ValueError, match="max_dims"):
        RCCMessage.from_bytes(data, max_dims=2999)
    assert RCCMessage.from_bytes(data, dims=3000, max_dims=1).indices == msg.indices
    assert RCCMessage.from_bytes(data, max_dims=3000).chunk_sizes == msg.chunk_sizes
