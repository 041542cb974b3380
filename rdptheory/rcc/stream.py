"""Many RCC messages in one container, sharing one range coder: no per-message header.

Codecs send one message per diffusion step or per batch of vectors. :class:`RCCStreamWriter`
appends each message's symbols (chunk count, sizes, indices; :mod:`rdptheory.rcc._format`) to one
constriction range coder, so the coder's termination (<= 32 bits) and the container (magic,
version, index model, message count, CRC32) are paid once per file. The reader decodes messages
in order; each needs the proposal (its dimension) that the decoder has at that point, so a
diffusion decoder can compute the next proposal from the previous sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_choice, check_int

from . import _format as fmt
from ._format import check_model_params
from ._index_coding import read_indices, step_bucket_mean, write_indices
from .coding import ALGORITHMS, MAX_STEP_KL, check_proposal, decode
from .layouts import MAX_SPLIT, diffc_count
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


# ------------------------------------------------------------------ DiffC step streams
#
# A diffusion codec sends one message per step on the ``diffc`` layout whose chunk count
# follows from the step's quantised KL (:func:`~rdptheory.rcc.coding.encode_step`). Per step
# the stream holds ``kl_q`` (a quantised Gaussian centred on 1.3 x the previous step's value;
# mean 16, spread 64 for the first), the split exponent ``e`` (geometric, ratio 1/8) and the
# indices under the index model's step law (:func:`~rdptheory.rcc._index_coding.write_indices`).

#: Lower bounds on what an honest step stream spends (bits): a step's ``kl_q`` symbol (its
#: quantised Gaussian has spread >= 4, so no value has probability above 0.19) and each
#: chunk's bucket (spread 3.5, mean >= -1 on [0, 40]: probability <= 0.25). Our own bounds.
MIN_STEP_BITS = 2.0
MIN_CHUNK_BITS = 2.0
#: A range coder's output holds at least the information it coded minus this many bits (its
#: final state is at most two 32-bit words).
CODER_SLACK_BITS = 64.0


def _step_models():
    import constriction

    m = constriction.stream.model
    split_p = 2.0 ** (-3.0 * np.arange(MAX_SPLIT + 1))
    return (m.QuantizedGaussian(0, MAX_STEP_KL),
            m.Categorical(split_p / split_p.sum(), perfect=False))  # fmt: skip


def _kl_mean_std(prev: int | None) -> tuple[float, float]:
    return (16.0, 64.0) if prev is None else (1.3 * prev, max(4.0, 0.5 * prev))


def payload_budget_bits(payload_bytes: int) -> float:
    """Information an honest payload of ``payload_bytes`` bytes can carry, in bits."""
    return 8.0 * payload_bytes + CODER_SLACK_BITS


class StepStreamWriter:
    """One range coder receiving DiffC steps ``(kl_q, split, indices)`` in order.

    An encoder can grow the stream one step at a time and read its exact size after each
    (:meth:`payload` of a :meth:`copy`) instead of re-coding every step so far.

    >>> import numpy as np
    >>> w = StepStreamWriter(8.0)
    >>> w.add(20, 0, np.array([5, 300, 2]))
    >>> read_steps(w.payload(), 1, dims=50, max_chunk_bits=8.0)[0][2].tolist()
    [5, 300, 2]
    """

    def __init__(self, max_chunk_bits: float, padding: int = DEFAULT_PADDING) -> None:
        self.model = check_model_params(max_chunk_bits, padding)
        self._enc = fmt.new_encoder()
        self._prev: int | None = None
        self._models = _step_models()

    def copy(self) -> StepStreamWriter:
        """An independent writer holding the same steps."""
        other = StepStreamWriter.__new__(StepStreamWriter)
        other.model, other._enc, other._prev = self.model, self._enc.clone(), self._prev
        other._models = self._models
        return other

    def add(self, kl_q: int, split: int, indices: np.ndarray) -> None:
        """Append one step's side information and candidate indices."""
        kl_model, split_model = self._models
        m, s = _kl_mean_std(self._prev)
        self._enc.encode(np.array([kl_q], np.int32), kl_model, np.array([m]), np.array([s]))
        self._enc.encode(np.array([split], np.int32), split_model)
        self._prev = kl_q
        idx = np.asarray(indices, dtype=np.int64)
        write_indices(self._enc, idx, self.model, step_bucket_mean(kl_q, max(len(idx), 1)))

    def payload(self) -> bytes:
        """The coded bytes of every step so far, whole 32-bit words (the writer stays usable)."""
        return self._enc.get_compressed().astype("<u4").tobytes()


def write_steps(steps: list[tuple[int, int, np.ndarray]], max_chunk_bits: float) -> bytes:
    """:class:`StepStreamWriter` payload of ``(kl_q, split, indices)`` steps, in order."""
    writer = StepStreamWriter(max_chunk_bits)
    for kl_q, split, idx in steps:
        writer.add(kl_q, split, idx)
    return writer.payload()


def read_steps(payload: bytes, n_steps: int, dims: int | Sequence[int],
               max_chunk_bits: float) -> list[tuple[int, int, np.ndarray]]:
    """The first ``n_steps`` steps of a :class:`StepStreamWriter` payload.

    ``dims``: the coordinates of every step, or one count per step (a chain whose steps send
    different coordinates, e.g. a shaped-noise ladder).

    ``ValueError`` before any step whose chunk count the payload cannot hold: every step
    costs at least :data:`MIN_STEP_BITS` and every chunk :data:`MIN_CHUNK_BITS`, in at most
    :func:`payload_budget_bits` (so a crafted header or payload cannot make the decoder
    allocate more than a few values per payload bit), and for anything that does not decode.
    """
    import constriction

    if len(payload) % 4:
        raise ValueError("corrupted RCC step stream: payload is not whole 32-bit words")
    budget = payload_budget_bits(len(payload))
    if n_steps * (MIN_STEP_BITS + MIN_CHUNK_BITS) > budget:
        raise ValueError(f"corrupted RCC step stream: {n_steps} steps do not fit in "
                         f"{len(payload)} payload bytes")
    step_dims = ([int(dims)] * n_steps if isinstance(dims, (int, np.integer))
                 else [int(v) for v in dims])
    if len(step_dims) < n_steps:
        raise ValueError(f"dims gives {len(step_dims)} step sizes for {n_steps} steps")
    model = check_model_params(max_chunk_bits, DEFAULT_PADDING)
    kl_model, split_model = _step_models()
    dec = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, "<u4").copy())
    out: list[tuple[int, int, np.ndarray]] = []
    prev, spent = None, 0.0
    try:
        for step in range(n_steps):
            m, s = _kl_mean_std(prev)
            kl_q = int(dec.decode(kl_model, np.array([m]), np.array([s]))[0])
            split = int(dec.decode(split_model, 1)[0])
            prev = kl_q
            n = diffc_count(kl_q, split, step_dims[step], max_chunk_bits)
            spent += MIN_STEP_BITS + n * MIN_CHUNK_BITS
            if spent + (n_steps - step - 1) * (MIN_STEP_BITS + MIN_CHUNK_BITS) > budget:
                raise ValueError(f"corrupted RCC step stream: step {step} declares {n} chunks, "
                                 f"more than {len(payload)} payload bytes can hold")
            out.append((kl_q, split, read_indices(dec, n, model, step_bucket_mean(kl_q, n))))
    except ValueError:
        raise
    except Exception as exc:  # constriction signals garbage with AssertionError, RuntimeError
        raise ValueError(f"corrupted RCC step stream: payload does not decode ({exc!r})") from exc
    return out
