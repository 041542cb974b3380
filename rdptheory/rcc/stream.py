"""Many RCC messages in one container, sharing one range coder: no per-message header.

Codecs send one message per diffusion step or per batch of vectors. :class:`RCCStreamWriter`
appends each message's symbols (chunk count, sizes, indices; :mod:`rdptheory.rcc._format`) to one
constriction range coder, so the coder's termination (<= 32 bits) and the container (magic,
version, index model, message count, CRC32) are paid once per file. The reader decodes messages
in order; each needs the proposal (its dimension) that the decoder has at that point, so a
diffusion decoder can compute the next proposal from the previous sample.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_choice, check_int

from . import _format as fmt
from ._format import check_model_params
from .coding import ALGORITHMS, check_proposal, decode
from .message import DEFAULT_MAX_CHUNK_BITS, DEFAULT_PADDING, RCCMessage, known_layout


class RCCStreamWriter:
    """Collect messages encoded with one (max_chunk_bits, padding, algorithm) into one string.

    ``algorithm`` matters only through the index model ("pfr" and "orc" share one; "pfr_es"
    has a heavier tail).

    >>> from rdptheory import rcc
    >>> w = rcc.RCCStreamWriter()
    >>> for s in range(3):
    ...     w.write(rcc.encode([0.3, -0.2], 0.5, [0.0, 0.0], 1.0, seed=7, stream=s,
    ...                        backend="numpy"))
    >>> r = rcc.RCCStreamReader(w.to_bytes())
    >>> [r.read_message(2).n_chunks for _ in range(3)], r.remaining
    ([1, 1, 1], 0)
    """

    def __init__(
        self,
        *,
        max_chunk_bits: float = DEFAULT_MAX_CHUNK_BITS,
        padding: int = DEFAULT_PADDING,
        algorithm: str = "pfr",
    ) -> None:
        check_choice(algorithm, "algorithm", ALGORITHMS)
        self.model = check_model_params(max_chunk_bits, padding, algorithm == "pfr_es")
        self._enc = fmt.new_encoder()
        self._count = 0

    @property
    def num_messages(self) -> int:
        """Messages in the stream."""
        return self._count

    def write(self, message: RCCMessage) -> None:
        """Append ``message`` (its index model must equal the writer's)."""
        if not isinstance(message, RCCMessage):
            raise TypeError(f"message must be an RCCMessage, got {type(message).__name__}")
        if message.model != self.model:
            raise ValueError(
                f"message's index model {message.model} differs from this stream's "
                f"{self.model} (max_chunk_bits, padding and algorithm must match)"
            )
        fmt.write_content(self._enc, message.dims, message.content(), self.model)
        self._count += 1

    def body(self) -> bytes:
        """The headerless range-coded payload of every message so far."""
        return fmt.encoder_bytes(self._enc)

    def to_bytes(self) -> bytes:
        """The container: magic, version, index model, message count, payload, CRC32."""
        return fmt.pack_stream(self.model, self._count, self.body())

    @property
    def num_bits(self) -> int:
        """Length of :meth:`to_bytes` in bits."""
        return 8 * len(self.to_bytes())


class RCCStreamReader:
    """Read the messages of an :class:`RCCStreamWriter` container in order.

    Raises ``ValueError`` at construction if the data are truncated or corrupted (CRC32).
    """

    def __init__(self, data: bytes) -> None:
        self.model, self._count, body = fmt.unpack_stream(data)
        self._dec = fmt.new_decoder(body)
        self._read = 0

    @property
    def num_messages(self) -> int:
        """Messages in the stream."""
        return self._count

    @property
    def remaining(self) -> int:
        """Messages not read yet."""
        return self._count - self._read

    def read_message(
        self,
        dims: int,
        chunk_sizes: tuple[int, ...] | None = None,
        *,
        layout_kl_bits: npt.ArrayLike | None = None,
    ) -> RCCMessage:
        """The next message (transmitted fields only) of a ``dims``-coordinate target.

        ``chunk_sizes`` / ``layout_kl_bits`` (flat or scalar): the decoder's layout or KL proxy,
        as given to ``encode``.
        """
        if self.remaining <= 0:
            raise ValueError(f"the stream holds only {self._count} messages")
        dims = check_int(dims, "dims", low=1, high=fmt.MAX_DIMS)
        sizes = known_layout(dims, self.model, chunk_sizes, layout_kl_bits)
        content = fmt.read_content(self._dec, dims, self.model, sizes,
                                   sizes_must_match=layout_kl_bits is None)  # fmt: skip
        self._read += 1
        try:
            return RCCMessage.from_content(dims, content, self.model)
        except ValueError as exc:
            raise ValueError(f"corrupted RCC stream: {exc}") from exc

    def read(
        self,
        mu_p: npt.ArrayLike,
        sigma_p: npt.ArrayLike,
        *,
        seed: int,
        stream: int = 0,
        backend: str = "auto",
        chunk_sizes: tuple[int, ...] | None = None,
        layout_kl_bits: npt.ArrayLike | None = None,
    ) -> np.ndarray:
        """Decode the next message's sample under proposal N(mu_p, sigma_p^2) (see ``decode``)."""
        mu, _, _ = check_proposal(mu_p, sigma_p)
        proxy = None if layout_kl_bits is None else np.ravel(layout_kl_bits)
        message = self.read_message(mu.size, chunk_sizes, layout_kl_bits=proxy)
        return decode(message, mu_p, sigma_p, seed=seed, stream=stream, backend=backend)
