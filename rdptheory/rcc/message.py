"""The RCC message record: what is transmitted, its byte forms, and its code-length report.

``check_model_params`` lives in :mod:`._format` (re-exported here), so the bitstream module
does not import this one (no import cycle).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_int

from . import _format as fmt
from ._chunking import ChunkLayout, proxy_layout
from ._format import check_model_params
from ._index_coding import IndexModel
from .bounds import leg18_bound_bits, li25_bound_bits
from .layouts import equal_sizes

DEFAULT_MAX_CHUNK_BITS = 14.0
DEFAULT_PADDING = 2
#: Largest dimension :meth:`RCCMessage.from_bytes` accepts from a container without ``dims``.
DEFAULT_MAX_HEADER_DIMS = 1 << 20


def check_chunk_sizes(chunk_sizes: object, dims: int) -> tuple[int, ...]:
    """A layout of positive ints summing to ``dims`` (ValueError/TypeError otherwise)."""
    try:
        sizes = np.asarray(chunk_sizes)
    except (TypeError, ValueError) as exc:
        raise TypeError("chunk_sizes must be a sequence of ints") from exc
    if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu":
        raise TypeError(f"chunk_sizes must be a non-empty 1-D sequence of ints, got {sizes!r}")
    if (sizes < 1).any() or int(sizes.sum()) != dims:
        raise ValueError(f"chunk_sizes must be >= 1 each and sum to the dimension {dims}")
    return tuple(int(s) for s in sizes)


def known_layout(
    dims: int, model: IndexModel, chunk_sizes: object, layout_kl_bits: npt.ArrayLike | None
) -> tuple[int, ...] | None:
    """The decoder's own layout: ``chunk_sizes``, or the proxy layout of ``layout_kl_bits``."""
    if chunk_sizes is not None and layout_kl_bits is not None:
        raise ValueError("pass chunk_sizes or layout_kl_bits, not both")
    if layout_kl_bits is not None:
        return proxy_layout(layout_kl_bits, dims, model.max_chunk_bits).sizes
    return None if chunk_sizes is None else check_chunk_sizes(chunk_sizes, dims)


@dataclass(frozen=True)
class RCCReport:
    """Code length of one message against the one-shot bounds (all in bits).

    ``index_bits`` is the ideal (model) length of the indices, ``side_bits`` that of the chunk
    layout; ``body_bits`` = 8 x the headerless bytes; bounds are summed per chunk.
    """

    kl_bits: float
    index_bits: float
    side_bits: float
    body_bits: int
    num_bits: int
    leg18_bound_bits: float
    li25_bound_bits: float

    @property
    def overhead_bits(self) -> float:
        """Ideal bits spent beyond the KL.

        .. math:: L_{\\mathrm{index}} + L_{\\mathrm{side}} - \\mathrm{KL}
        """
        return self.index_bits + self.side_bits - self.kl_bits


@dataclass(frozen=True, eq=False)
class RCCMessage:
    """One reverse-channel-coded message.

    Transmitted: ``dims`` (in the standalone header only), the chunk layout ``chunk_sizes``,
    the candidate ``indices`` and the index model (B, padding). The remaining fields are the
    encoder's diagnostics (``None`` on a message parsed from bytes).

    Attributes
    ----------
    dims : int, number of coordinates
    chunk_sizes : tuple of int, contiguous chunk sizes (all >= 1)
    indices : tuple of int, selected candidate K_c of each chunk
    max_chunk_bits, padding : the index model's parameters (B bits, padding bits)
    size_std_level : int, the coded spread of the chunk-size model
    exact_tail : bool, the index model's heavy escape tail (set for "pfr_es")
    external_layout : bool, the chunk layout is known to the decoder and not transmitted
        (``chunk_sizes`` or a fitting ``layout_kl_bits`` layout given to ``encode``)
    size_granularity_log2 : int in [0, 7]; chunk sizes (but the last) are multiples of 2**it
    permuted_layout : bool, the ``diffc`` layout (:mod:`rdptheory.rcc.layouts`): chunk c holds
        the coordinates ``perm[chunk_starts[c]:chunk_starts[c+1]]`` of the shared permutation
        of (seed, stream); only the chunk count is transmitted and the sizes are equal
    algorithm : "pfr", "pfr_es" or "orc" (encoder only)
    chunk_kl_bits : tuple of float, KL(q||p) of each chunk in bits (encoder only)
    candidate_bits : tuple of int, log2 N_c (encoder only; for "pfr_es" the candidates scored)
    candidate_dims : int, candidate-dimensions scored by the encoder (encoder only)
    log_weights : tuple of float, log q/p (nats) of each selected candidate (encoder only)
    sample : float64 array, the selected candidate, shaped like mu_p (encoder only)
    """

    dims: int
    chunk_sizes: tuple[int, ...]
    indices: tuple[int, ...]
    max_chunk_bits: float = DEFAULT_MAX_CHUNK_BITS
    padding: int = DEFAULT_PADDING
    size_std_level: int = 0
    exact_tail: bool = False
    external_layout: bool = False
    size_granularity_log2: int = 0
    permuted_layout: bool = False
    algorithm: str | None = None
    chunk_kl_bits: tuple[float, ...] | None = None
    candidate_bits: tuple[int, ...] | None = None
    candidate_dims: int | None = None
    log_weights: tuple[float, ...] | None = None
    sample: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        layout = ChunkLayout(tuple(int(s) for s in self.chunk_sizes))
        if layout.dims != self.dims or not 1 <= self.dims <= fmt.MAX_DIMS:
            raise ValueError(f"chunk_sizes must sum to dims = {self.dims} (1 <= dims < 2**24)")
        if len(self.indices) != layout.n_chunks or min(self.indices) < 0:
            raise ValueError("indices must hold one non-negative index per chunk")
        if max(self.indices) >= 2**30:
            raise ValueError("indices must be < 2**30")
        check_model_params(self.max_chunk_bits, self.padding, self.exact_tail)
        gamma = check_int(self.size_granularity_log2, "size_granularity_log2", low=0,
                          high=fmt.N_GRANULARITIES - 1)  # fmt: skip
        if any(s % (1 << gamma) for s in self.chunk_sizes[:-1]):
            raise ValueError("chunk sizes (but the last) must be multiples of the granularity")
        if self.permuted_layout and (self.external_layout or tuple(self.chunk_sizes)
                                     != equal_sizes(self.dims, len(self.chunk_sizes))):
            raise ValueError("a permuted (diffc) layout has equal chunk sizes and is not external")

    # ------------------------------------------------------------------ layout
    @property
    def model(self) -> IndexModel:
        """The index model (B, padding, tail) both sides use."""
        return check_model_params(self.max_chunk_bits, self.padding, self.exact_tail)

    @property
    def n_chunks(self) -> int:
        """Number of chunks C."""
        return len(self.chunk_sizes)

    @property
    def chunk_starts(self) -> np.ndarray:
        """int64 (n_chunks + 1,): chunk c covers ``chunk_starts[c]:chunk_starts[c+1]``."""
        return ChunkLayout(self.chunk_sizes).starts

    def coordinate_order(self, seed: int, stream: int = 0) -> np.ndarray:
        """Coordinates in chunk order: chunk c holds ``order[chunk_starts[c]:chunk_starts[c+1]]``
        (the shared permutation of (seed, stream) for a ``diffc`` layout, else ``arange``)."""
        from .layouts import diffc_permutation

        if self.permuted_layout:
            return diffc_permutation(seed, stream, self.dims)
        return np.arange(self.dims)

    @property
    def kl_bits(self) -> float:
        """Total KL(q||p) in bits (NaN on a message parsed from bytes)."""
        return math.nan if self.chunk_kl_bits is None else float(sum(self.chunk_kl_bits))

    # ------------------------------------------------------------------ bytes
    def content(self) -> fmt.Content:
        """The transmitted fields, as the bitstream writer takes them."""
        return fmt.Content(self.chunk_sizes, self.size_std_level, self.indices,
                           self.external_layout, self.size_granularity_log2,
                           self.permuted_layout)  # fmt: skip

    def body(self) -> bytes:
        """The headerless range-coded body (decoder needs dims, B and padding from elsewhere)."""
        enc = fmt.new_encoder()
        fmt.write_content(enc, self.dims, self.content(), self.model)
        return fmt.encoder_bytes(enc)

    def to_bytes(self, *, header: bool = True) -> bytes:
        """Standalone container (magic, version, dims, model, body, CRC32) or the bare body."""
        if not header:
            return self.body()
        return fmt.pack_message(self.dims, self.model, self.body())

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        dims: int | None = None,
        header: bool = True,
        max_chunk_bits: float = DEFAULT_MAX_CHUNK_BITS,
        padding: int = DEFAULT_PADDING,
        algorithm: str = "pfr",
        chunk_sizes: Sequence[int] | None = None,
        layout_kl_bits: npt.ArrayLike | None = None,
        max_dims: int = DEFAULT_MAX_HEADER_DIMS,
    ) -> RCCMessage:
        """Parse :meth:`to_bytes` output; ``ValueError`` on truncated or corrupted data.

        With ``header=True`` the container carries dims and the model (``dims``, if given,
        must match); with ``header=False`` pass ``dims``, ``max_chunk_bits``, ``padding`` and
        ``algorithm`` as given to ``encode`` (they select the index model). ``chunk_sizes`` is
        required for a message encoded with an external layout; ``layout_kl_bits`` (flat, one
        entry per coordinate, or a scalar) for one encoded with that KL proxy.

        ``max_dims`` bounds the dimension a container may declare when ``dims`` is not given
        (default 2**20): a few bytes can legitimately describe a message of 2**24 zero-index
        chunks, whose parse takes ~1 GB and a minute; pass the proposal's ``dims`` (as
        :func:`~rdptheory.rcc.decode` does) or a larger ``max_dims`` for such messages.
        """
        if header:
            d, model, body = fmt.unpack_message(data)
            if dims is not None and check_int(dims, "dims", low=1) != d:
                raise ValueError(f"message has {d} dims but the proposal has {dims}")
            if dims is None and d > check_int(max_dims, "max_dims", low=1):
                raise ValueError(f"the message declares {d} dims, more than max_dims = "
                                 f"{max_dims}; pass dims (the proposal's) or a larger max_dims")
        else:
            if dims is None:
                raise ValueError("dims is required to parse a headerless body")
            d = check_int(dims, "dims", low=1)
            model = check_model_params(max_chunk_bits, padding, algorithm == "pfr_es")
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"data must be bytes, got {type(data).__name__}")
            body = bytes(data)
        sizes = known_layout(d, model, chunk_sizes, layout_kl_bits)
        return cls._from_body(body, d, model, sizes, strict=layout_kl_bits is None)

    @classmethod
    def _from_body(cls, body, dims, model, sizes, *, strict: bool = True) -> RCCMessage:
        if not 1 <= dims <= fmt.MAX_DIMS:
            raise ValueError(f"dims must lie in [1, {fmt.MAX_DIMS}], got {dims}")
        content = fmt.read_content(fmt.new_decoder(body), dims, model, sizes,
                                   sizes_must_match=strict)  # fmt: skip
        try:
            msg = cls.from_content(dims, content, model)
            canonical = msg.body()
        except ValueError as exc:
            raise ValueError(f"corrupted RCC message: {exc}") from exc
        except Exception as exc:  # the range coder rejects what it cannot re-encode
            raise ValueError(f"corrupted RCC message: cannot re-encode it ({exc!r})") from exc
        if canonical != body:  # canonical form: catches garbage a CRC-less body may carry
            raise ValueError("corrupted RCC body: it does not re-encode to the same bytes")
        return msg

    @classmethod
    def from_content(cls, dims: int, content: fmt.Content, model: IndexModel) -> RCCMessage:
        """A decoder-side message (transmitted fields only)."""
        return cls(dims, content.sizes, content.indices, model.max_chunk_bits, model.padding,
                   content.std_level, model.exact_tail, content.external,
                   content.granularity_log2, content.permuted)  # fmt: skip

    # ------------------------------------------------------------------ rate
    @property
    def num_bits(self) -> int:
        """Coded length of :meth:`to_bytes` (standalone container), in bits."""
        return 8 * len(self.to_bytes())

    @property
    def body_bits(self) -> int:
        """Coded length of the headerless body, in bits."""
        return 8 * len(self.body())

    @property
    def index_bits(self) -> float:
        """Ideal code length of the indices under the index model, in bits."""
        model = fmt.index_model_for(self.model, self.external_layout or self.permuted_layout)
        return float(model.index_bits(np.asarray(self.indices)).sum())

    @property
    def side_bits(self) -> float:
        """Ideal code length of the chunk layout (count, spread, sizes), in bits."""
        return fmt.layout_bits(self.dims, self.content())

    def report(self) -> RCCReport:
        """KL, bits spent and the [LEG18]/[Li25] bounds of this message (encoder side)."""
        leg = li = math.nan
        if self.chunk_kl_bits is not None:
            kl = np.asarray(self.chunk_kl_bits, dtype=np.float64)
            leg, li = float(np.sum(leg18_bound_bits(kl))), float(np.sum(li25_bound_bits(kl)))
        return RCCReport(
            kl_bits=self.kl_bits, index_bits=self.index_bits, side_bits=self.side_bits,
            body_bits=self.body_bits, num_bits=self.num_bits,
            leg18_bound_bits=leg, li25_bound_bits=li,
        )  # fmt: skip
