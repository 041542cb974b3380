"""Bitstream layout of an RCC message: range-coded symbols, containers, varints, CRC32.

Message *content* (what the decoder needs besides seed, stream, mu_p, sigma_p), in coding
order on one constriction range coder (FIFO, so many messages can share one coder):

0. one bit: is the chunk layout external (strategy ``known`` of :mod:`rdptheory.rcc.layouts`:
   known to the decoder, e.g. derived from the expected KL; then items 1-2 are skipped and the
   index model gets the heavy escape tail)? If not, one more bit: ``diffc`` (a shared
   permutation split into C equal chunks; only item 1 is sent, heavy escape tail) or ``sent``;
1. ``n_chunks`` C (only when dims >= 2): bucket b = bit_length(C) uniform over 1..bit_length(d),
   then b - 1 raw bits;
2. ``sent`` layouts with 2 <= C < dims: a 3-bit granularity g = 2**gamma (sizes of chunks
   0..C-2 are multiples of g), a 5-bit level l (spread 2**(l/2 - 2)), then the units size/g
   of chunks 0..C-2 under a quantized Gaussian on [1, max((d-1)//g, 2)] with mean d/(C g)
   (the last size is implied);
3. the C candidate indices: buckets under :class:`IndexModel`, then their raw offset bits.

Containers (:mod:`rdptheory._container`, version 3): standalone message ``b"RCC"``, header
``varint dims | float32 B | u8 padding`` and the body as payload; stream ``b"RCS"``, header
``float32 B | u8 padding | varint n_messages`` and the shared coder's body as payload (each with
a header CRC32 and a payload CRC32). Trailing zero bytes of a body are dropped (the range
decoder reads missing words as zeros), so a body costs whole bytes, not whole words.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import NamedTuple

import constriction
import numpy as np

from rdptheory._bytes import ByteReader, put_varint
from rdptheory._container import seal, unseal
from rdptheory._validation import check_int

from ._chunking import MAX_CHUNK_BITS, MAX_PADDING
from ._index_coding import (
    IndexModel,
    join_pieces,
    piece_sizes,
    read_indices,
    split_pieces,
    write_indices,
)
from .layouts import equal_sizes

#: Format version of both containers. 3: the layout-kind bit (``sent`` / ``diffc``) after the
#: external flag. 2: the shared :mod:`rdptheory._container` layout (a varint header length, a
#: header CRC32 and a payload CRC32). Versions 1 and 2 are not read.
VERSION = 3
MAGIC_MESSAGE = b"RCC"
MAGIC_STREAM = b"RCS"
#: Largest message dimension: sizes are coded on [1, d] and constriction needs < 2**24 symbols.
MAX_DIMS = 2**24 - 1
N_STD_LEVELS = 32
N_GRANULARITIES = 8

_model = constriction.stream.model
_queue = constriction.stream.queue


class Content(NamedTuple):
    """The transmitted content of one message (everything but seed/stream/proposal)."""

    sizes: tuple[int, ...]
    std_level: int
    indices: tuple[int, ...]
    external: bool = False
    granularity_log2: int = 0
    permuted: bool = False


def size_std(level: int) -> float:
    """Spread of the chunk-size model at ``level`` in 0..31 (1/4 to ~11600 size units).

    .. math:: \\sigma_l = 2^{l/2 - 2}
    """
    return 2.0 ** (level / 2.0 - 2.0)


def _size_units(sizes: tuple[int, ...], dims: int, gamma: int) -> tuple[np.ndarray, float, int]:
    """(units size/g of chunks 0..C-2, model mean, model top) of a layout with g = 2**gamma."""
    g = 1 << gamma
    units = np.asarray(sizes[:-1], dtype=np.int64) // g
    return units, dims / (len(sizes) * g), max((dims - 1) // g, 2)


def _unit_bits(units: np.ndarray, mean: float, top: int, level: int) -> float:
    """-log2 of the (float) quantized-Gaussian probability of the units, in bits."""
    from scipy.special import ndtr

    sd, k = size_std(level), units.astype(np.float64)
    norm = ndtr((top + 0.5 - mean) / sd) - ndtr((0.5 - mean) / sd)
    p = (ndtr((k + 0.5 - mean) / sd) - ndtr((k - 0.5 - mean) / sd)) / max(norm, 1e-300)
    return float(-np.log2(np.maximum(p, 2.0**-24)).sum())


def best_std_level(sizes: tuple[int, ...], dims: int, gamma: int = 0) -> int:
    """The level whose quantized Gaussian gives the first C-1 size units the shortest code."""
    if len(sizes) < 2 or len(sizes) == dims:
        return 0
    units, mean, top = _size_units(sizes, dims, gamma)
    return int(np.argmin([_unit_bits(units, mean, top, lv) for lv in range(N_STD_LEVELS)]))


def layout_bits(dims: int, content: Content) -> float:
    """Ideal code length (bits) of the chunk count, spread level and sizes of a message.

    .. math:: L = 1 + \\log_2 \\lfloor\\log_2 2d\\rfloor + (\\lfloor\\log_2 C\\rfloor)
              + \\log_2(8 \\cdot 32) - \\textstyle\\sum_{c<C-1} \\log_2 P_l(u_c)

    (flag; chunk-count bucket and raw bits; granularity and level; the size units u_c under
    the quantized Gaussian P_l of mean d/(C g)); the last two terms only when 2 <= C < d.
    """
    c = len(content.sizes)
    bits = 1.0  # the external-layout flag
    if content.external:
        return bits
    bits += 1.0  # sent or diffc
    if dims >= 2:
        bits += np.log2(dims.bit_length()) + c.bit_length() - 1
    if 2 <= c < dims and not content.permuted:
        units, mean, top = _size_units(content.sizes, dims, content.granularity_log2)
        bits += np.log2(N_GRANULARITIES * N_STD_LEVELS)
        bits += _unit_bits(units, mean, top, content.std_level)
    return float(bits)


def write_content(enc, dims: int, content: Content, model: IndexModel) -> None:
    """Append one message's symbols to a constriction ``RangeEncoder``."""
    enc.encode(np.array([int(content.external)], np.int32), _model.Uniform(2))
    if not content.external:
        enc.encode(np.array([int(content.permuted)], np.int32), _model.Uniform(2))
        _write_layout(enc, dims, content)
    heavy = content.external or content.permuted
    _write_indices(enc, np.asarray(content.indices, np.int64), index_model_for(model, heavy))


def index_model_for(model: IndexModel, external: bool) -> IndexModel:
    """The index model a message uses: chunks of an external or ``diffc`` layout may exceed B
    (heavy tail)."""
    return replace(model, exact_tail=True) if external else model


def _write_layout(enc, dims: int, content: Content) -> None:
    c = len(content.sizes)
    if dims >= 2:
        b = c.bit_length()
        enc.encode(np.array([b - 1], np.int32), _model.Uniform(dims.bit_length()))
        _write_raw(enc, np.array([c - (1 << (b - 1))]), np.array([b - 1]))
    if 2 <= c < dims and not content.permuted:
        gamma = content.granularity_log2
        units, mean, top = _size_units(content.sizes, dims, gamma)
        enc.encode(np.array([gamma], np.int32), _model.Uniform(N_GRANULARITIES))
        enc.encode(np.array([content.std_level], np.int32), _model.Uniform(N_STD_LEVELS))
        model = _model.QuantizedGaussian(1, top, mean, size_std(content.std_level))
        enc.encode(units.astype(np.int32), model)


def _write_indices(enc, idx: np.ndarray, model: IndexModel) -> None:
    write_indices(enc, idx, model)


def read_content(
    dec,
    dims: int,
    model: IndexModel,
    sizes: tuple[int, ...] | None = None,
    *,
    sizes_must_match: bool = True,
) -> Content:
    """Read one message's symbols from a constriction ``RangeDecoder``; ValueError if invalid.

    ``sizes`` is the decoder's chunk layout, used when the encoder used an external one; a
    transmitted layout must equal it unless ``sizes_must_match`` is False (a KL-proxy layout,
    which the encoder may have replaced by a transmitted one).
    """
    try:
        external = bool(dec.decode(_model.Uniform(2), 1)[0])
        if external:
            if sizes is None:
                raise ValueError("the message uses an external chunk layout: pass chunk_sizes "
                                 "(or layout_kl_bits)")  # fmt: skip
            gamma, level, layout, permuted = 0, 0, tuple(sizes), False
        else:
            permuted = bool(dec.decode(_model.Uniform(2), 1)[0])
            gamma, level, layout = _read_layout(dec, dims, permuted)
            if sizes_must_match and sizes is not None and tuple(sizes) != layout:
                raise ValueError("chunk_sizes differ from the layout the message carries")
        idx = _read_indices(dec, len(layout), index_model_for(model, external or permuted))
        return Content(layout, level, idx, external, gamma, permuted)
    except ValueError:
        raise
    except Exception as exc:  # constriction signals invalid compressed data with AssertionError
        raise ValueError(f"corrupted RCC data: {exc}") from exc


def _read_layout(dec, dims: int, permuted: bool = False) -> tuple[int, int, tuple[int, ...]]:
    c = 1
    if dims >= 2:
        b = int(dec.decode(_model.Uniform(dims.bit_length()), 1)[0]) + 1
        c = (1 << (b - 1)) + int(_read_raw(dec, np.array([b - 1]))[0])
        if c > dims:
            raise ValueError(f"corrupted RCC message: {c} chunks for {dims} dims")
    gamma, level, sizes = 0, 0, (1,) * c if c == dims else (dims,)
    if permuted:
        return 0, 0, equal_sizes(dims, c)
    if 2 <= c < dims:
        gamma = int(dec.decode(_model.Uniform(N_GRANULARITIES), 1)[0])
        level = int(dec.decode(_model.Uniform(N_STD_LEVELS), 1)[0])
        g, top = 1 << gamma, max((dims - 1) >> gamma, 2)
        model = _model.QuantizedGaussian(1, top, dims / (c * g), size_std(level))
        head = _read_units(dec, model, c - 1, dims - 1) * g
        last = dims - int(head.sum())
        if last < 1:
            raise ValueError("corrupted RCC message: chunk sizes exceed the dimension")
        sizes = (*(int(s) for s in head), last)
    return gamma, level, sizes


def _read_units(dec, model, count: int, limit: int) -> np.ndarray:
    """``count`` size units in batches, stopping early once they exceed ``limit`` (garbage)."""
    out, total = [], 0
    for start in range(0, count, 4096):
        batch = dec.decode(model, min(4096, count - start)).astype(np.int64)
        total += int(batch.sum())
        if total > limit:
            raise ValueError("corrupted RCC message: chunk sizes exceed the dimension")
        out.append(batch)
    return np.concatenate(out)


# ------------------------------------------------------------------ steps
#
# A diffusion step is a message on the ``diffc`` layout whose decoder knows the dimension from
# its own state: the stream holds only the chunk count C and the indices, no layout-kind flags.

#: A step's chunk count C in [1, MAX_DIMS] is sent as its bit length (uniform on
#: 1..STEP_COUNT_BUCKETS), then its low bits raw, when the stream holds fewer than two earlier
#: steps; later counts are sent as their difference from a prediction (:func:`predicted_count`).
STEP_COUNT_BUCKETS = MAX_DIMS.bit_length()
#: The padding of the steps' Zipf law (n_ref = ceil(B) + 2), the candidates' default padding.
STEP_LAW_PADDING = 2
#: Buckets of a zigzagged count difference u (|C - Ĉ| < 2^24, so u < 2^25: bit lengths 0..25).
STEP_DELTA_BUCKETS = 26


def _delta_law() -> np.ndarray:
    """P(b) of the bucket b = bit_length(u) of a zigzagged count difference, b = 0..25.

    Weights 1, 1, 1.2, 1.2, 1, 0.7, 0.5, 0.35, 0.25 for b = 0..8, then halving: a smoothed
    histogram of the differences of the image codec's steps (UNet, china / flower 128x128,
    0.5 and 1 bpp: |C - Ĉ| <= 4 for counts up to 281); every bucket stays codable.
    """
    head = np.array([1.0, 1.0, 1.2, 1.2, 1.0, 0.7, 0.5, 0.35, 0.25])
    tail = head[-1] * 0.5 ** np.arange(1, STEP_DELTA_BUCKETS - head.size + 1)
    w = np.concatenate([head, tail])
    return w / w.sum()


STEP_DELTA_LAW = _delta_law()
STEP_DELTA_LAW.setflags(write=False)


def predicted_count(history: tuple[int, ...] | list[int], dims: int) -> int | None:
    r"""The decoder's prediction Ĉ of a step's chunk count from the counts of the earlier steps
    of the stream (``None`` before the third step: those counts are sent whole).

    .. math:: \hat C_k = C_1\ (k = 2),\qquad
              \hat C_k = \mathrm{clip}\big(\mathrm{round}(C_{k-1}^2 / C_{k-2}), 1, d\big)
              \ (k \ge 3)

    (geometric extrapolation; step 0, coded against the data-free prior, is no reference).
    Our own rule: a chain's step KLs grow smoothly down a geometric ladder.
    """
    k = len(history)
    if k < 2:
        return None
    if k == 2:
        return min(int(history[1]), dims)
    prev, prev2 = int(history[-1]), int(history[-2])
    return int(min(max(int(np.floor(prev * prev / prev2 + 0.5)), 1), dims))


def _zigzag(d: int) -> int:
    return 2 * d if d >= 0 else -2 * d - 1


def _unzigzag(u: int) -> int:
    return u // 2 if u % 2 == 0 else -(u + 1) // 2


def step_index_model(model: IndexModel) -> IndexModel:
    """The index model of steps: the Zipf law of B with the default padding (2) and the heavy
    tail, whatever the stream's padding, so a step decoder needs only B (chunks of a random
    equal split may exceed B, as those of a ``diffc`` message)."""
    return IndexModel(model.max_chunk_bits, STEP_LAW_PADDING, exact_tail=True)


def write_step(enc, indices: np.ndarray, model: IndexModel,
               history: tuple[int, ...] | list[int] = ()) -> None:
    r"""Append one step (chunk count, then the candidate indices) to a range encoder.

    ``history``: the chunk counts of the stream's earlier steps. Without a prediction
    (:func:`predicted_count`) the count costs

    .. math:: L = \log_2 24 + (\lfloor\log_2 C\rfloor) + \textstyle\sum_c \ell(K_c),

    with one, the zigzagged difference u = zz(C − Ĉ) costs its bucket under
    :data:`STEP_DELTA_LAW` plus ``bit_length(u) − 1`` raw bits.
    (``ValueError`` unless 1 <= C <= :data:`MAX_DIMS`.)
    """
    idx = np.asarray(indices, dtype=np.int64)
    c = idx.size
    if not 1 <= c <= MAX_DIMS:
        raise ValueError(f"a step needs between 1 and {MAX_DIMS} chunks, got {c}")
    pred = predicted_count(history, MAX_DIMS)
    if pred is None:
        b = c.bit_length()
        enc.encode(np.array([b - 1], np.int32), _model.Uniform(STEP_COUNT_BUCKETS))
        _write_raw(enc, np.array([c - (1 << (b - 1))]), np.array([b - 1]))
    else:
        u = _zigzag(c - pred)
        b = u.bit_length()
        enc.encode(np.array([b], np.int32), _model.Categorical(STEP_DELTA_LAW, perfect=False))
        if b > 1:
            _write_raw(enc, np.array([u - (1 << (b - 1))]), np.array([b - 1]))
    write_indices(enc, idx, step_index_model(model))


def read_step_count(dec, dims: int, history: tuple[int, ...] | list[int] = ()) -> int:
    """The chunk count of the next step after steps of counts ``history`` (``ValueError`` if
    outside 1..``dims``)."""
    pred = predicted_count(history, MAX_DIMS)
    if pred is None:
        b = int(dec.decode(_model.Uniform(STEP_COUNT_BUCKETS), 1)[0]) + 1
        c = (1 << (b - 1)) + int(_read_raw(dec, np.array([b - 1]))[0])
    else:
        b = int(dec.decode(_model.Categorical(STEP_DELTA_LAW, perfect=False), 1)[0])
        u = 0 if b == 0 else (1 << (b - 1)) + int(_read_raw(dec, np.array([b - 1]))[0])
        c = pred + _unzigzag(u)
    if not 1 <= c <= dims:
        raise ValueError(f"corrupted RCC step: {c} chunks for {dims} coordinates")
    return c


def read_step_indices(dec, count: int, model: IndexModel) -> np.ndarray:
    """The ``count`` candidate indices of the step whose count :func:`read_step_count` read."""
    return read_indices(dec, count, step_index_model(model))


def _read_indices(dec, c: int, model: IndexModel) -> tuple[int, ...]:
    return tuple(int(i) for i in read_indices(dec, c, model))


def _write_raw(enc, values: np.ndarray, widths: np.ndarray) -> None:
    symbols, sizes = split_pieces(values, widths)
    if symbols.size:
        enc.encode(symbols.astype(np.int32), _model.Uniform(), sizes.astype(np.int32))


def _read_raw(dec, widths: np.ndarray) -> np.ndarray:
    sizes = piece_sizes(widths)
    if sizes.size == 0:
        return np.zeros(np.shape(widths), np.int64)
    symbols = dec.decode(_model.Uniform(), sizes.astype(np.int32))
    return join_pieces(symbols, widths)


def new_encoder():
    """A fresh constriction FIFO range encoder (one per message body or stream)."""
    return _queue.RangeEncoder()


def encoder_bytes(enc) -> bytes:
    """The coder's words as little-endian bytes, trailing zero bytes dropped."""
    return enc.get_compressed().astype("<u4").tobytes().rstrip(b"\0")


def new_decoder(body: bytes):
    """A range decoder over ``body``, zero-padded to whole 32-bit words."""
    pad = (-len(body)) % 4
    words = np.frombuffer(body + b"\0" * pad, dtype="<u4").astype(np.uint32)
    return _queue.RangeDecoder(words)


# ----------------------------------------------------------------------- containers


def check_model_params(
    max_chunk_bits: object, padding: object, exact_tail: bool = False
) -> IndexModel:
    """Validate (B, padding) into an :class:`IndexModel`; B is rounded to float32."""
    if isinstance(max_chunk_bits, bool) or not isinstance(
        max_chunk_bits, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"max_chunk_bits must be a real number, got {type(max_chunk_bits)}")
    b = float(np.float32(max_chunk_bits))
    if not (0.0 < b <= MAX_CHUNK_BITS):  # also rejects NaN
        raise ValueError(f"max_chunk_bits must lie in (0, {MAX_CHUNK_BITS:g}], got {b!r}")
    pad = check_int(padding, "padding", low=0, high=MAX_PADDING)
    return IndexModel(b, pad, bool(exact_tail))


def put_model(model: IndexModel) -> bytes:
    """float32 B, then u8 padding with the exact-tail flag in bit 7."""
    return struct.pack("<fB", model.max_chunk_bits, model.padding | (model.exact_tail << 7))


def _get_model(reader: ByteReader) -> IndexModel:
    bits, flags = reader.unpack("<fB", "the index model")
    try:
        return check_model_params(bits, flags & 0x7F, bool(flags >> 7))
    except ValueError as exc:
        raise ValueError(f"corrupted {reader.what}: {exc}") from exc


def pack_message(dims: int, model: IndexModel, body: bytes) -> bytes:
    """Standalone message container: header ``varint dims | model``, payload the body."""
    return seal(MAGIC_MESSAGE, VERSION, put_varint(dims) + put_model(model), body)


def unpack_message(data: object) -> tuple[int, IndexModel, bytes]:
    """(dims, index model, body) of :func:`pack_message` output; ValueError if damaged."""
    _, header, body = unseal(data, MAGIC_MESSAGE, (VERSION,), "RCC message")
    reader = ByteReader(header, "RCC message")
    dims = reader.varint("dims", high=MAX_DIMS)
    if dims < 1:
        raise ValueError("corrupted RCC message: dims = 0")
    model = _get_model(reader)
    reader.done()
    return dims, model, body


def pack_stream(model: IndexModel, count: int, body: bytes) -> bytes:
    """Stream container: header ``model | varint message count``, payload the coder's body."""
    return seal(MAGIC_STREAM, VERSION, put_model(model) + put_varint(count), body)


def unpack_stream(data: object) -> tuple[IndexModel, int, bytes]:
    """(index model, message count, body) of :func:`pack_stream` output."""
    _, header, body = unseal(data, MAGIC_STREAM, (VERSION,), "RCC stream")
    reader = ByteReader(header, "RCC stream")
    model = _get_model(reader)
    count = reader.varint("message count", high=2**62)
    reader.done()
    return model, count, body
