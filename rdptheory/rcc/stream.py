"""Many RCC messages or diffusion steps in one container, sharing one range coder.

Codecs send one message per diffusion step or per batch of vectors. :class:`RCCStreamWriter`
appends each message's symbols (layout kind, chunk count, sizes, indices;
:mod:`rdptheory.rcc._format`) or each step's (chunk count and indices:
:func:`~rdptheory.rcc._format.write_step`) to one constriction range coder, so the coder's
termination (<= 32 bits) and the container (magic, version, index model, message count,
CRC32) are paid once per file. The reader decodes them in order; each needs what the decoder
has at that point (the proposal's dimension; a step's layout is the shared permutation of its
(seed, stream) split into the C equal chunks the stream carries), so a diffusion decoder can
compute the next proposal from the previous sample.

A step is a message on the ``diffc`` layout without the layout-kind flags, under the same
Zipf index law with the heavy tail. Measured against the former step law (the quantised KL
as side information, a fitted Gaussian law on the index buckets) on the report's crops
(48x48 china / flower, t² = 0.01, seed 0, 27 steps): side information 224 vs 672 bits,
indices 6912 vs 6976 (china) and 11008 vs 11104 bits (flower): the count and the Zipf law
win on both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_choice, check_int

from . import _format as fmt
from ._format import check_model_params
from .coding import ALGORITHMS, check_proposal, decode
from .message import DEFAULT_MAX_CHUNK_BITS, DEFAULT_PADDING, RCCMessage, known_layout


class RCCStreamWriter:
    """Collect messages (:meth:`write`) or steps (:meth:`add`) of one index model (B,
    padding, algorithm) into one string.

    ``algorithm`` matters only through the index model of messages ("pfr" and "orc" share
    one; "pfr_es" has a heavier tail; steps always use the heavy tail). An encoder can grow
    the stream one step at a time and read its exact size after each (:meth:`payload` of a
    :meth:`copy`) instead of re-coding every step so far. ``StepStreamWriter`` is this class.

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
        max_chunk_bits: float = DEFAULT_MAX_CHUNK_BITS,
        padding: int = DEFAULT_PADDING,
        *,
        algorithm: str = "pfr",
    ) -> None:
        check_choice(algorithm, "algorithm", ALGORITHMS)
        self.model = check_model_params(max_chunk_bits, padding, algorithm == "pfr_es")
        self._enc = fmt.new_encoder()
        self._count = 0
        self._step_counts: list[int] = []

    def copy(self) -> RCCStreamWriter:
        """An independent writer holding the same messages and steps."""
        other = RCCStreamWriter.__new__(RCCStreamWriter)
        other.model, other._enc, other._count = self.model, self._enc.clone(), self._count
        other._step_counts = list(self._step_counts)
        return other

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

    def add(self, indices: npt.ArrayLike) -> None:
        """Append one step: the candidate indices of its C equal chunks
        (:func:`~rdptheory.rcc.coding.encode_step`'s ``indices``, 1 <= C <= 2**24 - 1), under
        the steps' index law (B, padding 2, heavy tail; the stream's padding does not matter).
        From the third step on, the count is sent as its difference from the prediction of
        the earlier steps' counts (:func:`~rdptheory.rcc._format.predicted_count`)."""
        idx = np.asarray(indices, dtype=np.int64)
        fmt.write_step(self._enc, idx, self.model, self._step_counts)
        self._step_counts.append(int(idx.size))
        self._count += 1

    def payload(self) -> bytes:
        """The coded bytes so far in whole 32-bit words (the writer stays usable)."""
        return self._enc.get_compressed().astype("<u4").tobytes()

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
        self._step_counts: list[int] = []

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

    def read_step(self, dims: int) -> np.ndarray:
        """The candidate indices of the next step of a ``dims``-coordinate state."""
        if self.remaining <= 0:
            raise ValueError(f"the stream holds only {self._count} messages")
        dims = check_int(dims, "dims", low=1, high=fmt.MAX_DIMS)
        try:
            count = fmt.read_step_count(self._dec, dims, self._step_counts)
            idx = fmt.read_step_indices(self._dec, count, self.model)
            self._step_counts.append(count)
        except ValueError:
            raise
        except Exception as exc:  # constriction signals garbage with AssertionError
            raise ValueError(f"corrupted RCC stream: {exc}") from exc
        self._read += 1
        return idx

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

#: The writer of diffusion steps is the one stream writer.
StepStreamWriter = RCCStreamWriter

#: Lower bound on what an honest step costs beyond its chunks (bits): the cheaper of a whole
#: count (its bit length is uniform on 24 values) and a count difference (the most probable
#: bucket of :data:`~rdptheory.rcc._format.STEP_DELTA_LAW`, 2.63 bits).
MIN_STEP_BITS = float(min(np.log2(fmt.STEP_COUNT_BUCKETS), -np.log2(fmt.STEP_DELTA_LAW.max())))
#: A range coder's output holds at least the information it coded minus this many bits (its
#: final state is at most two 32-bit words).
CODER_SLACK_BITS = 64.0


def min_chunk_bits(max_chunk_bits: float) -> float:
    """Lower bound on what an honest step spends per chunk (bits): the code length of the
    most probable index bucket of the steps' index model, ``-log2 max_b P(b)``.

    Small for a small B (0.35 bits at B = 0.05), 3.1 bits at B = 8.
    """
    model = fmt.step_index_model(check_model_params(max_chunk_bits, DEFAULT_PADDING))
    return float(-np.log2(model.bucket_probabilities().max()))


def payload_budget_bits(payload_bytes: int) -> float:
    """Information an honest payload of ``payload_bytes`` bytes can carry, in bits."""
    return 8.0 * payload_bytes + CODER_SLACK_BITS


def write_steps(steps: Sequence[npt.ArrayLike], max_chunk_bits: float) -> bytes:
    """:meth:`RCCStreamWriter.payload` of steps (their candidate indices), in order."""
    writer = RCCStreamWriter(max_chunk_bits)
    for idx in steps:
        writer.add(idx)
    return writer.payload()


def read_steps(payload: bytes, n_steps: int, dims: int | Sequence[int],
               max_chunk_bits: float) -> list[np.ndarray]:
    """The candidate indices of the first ``n_steps`` steps of a step payload.

    ``dims``: the state's dimension (or one per step). ``ValueError`` before any step whose
    chunk count the payload cannot hold: every step costs at least :data:`MIN_STEP_BITS` and
    every chunk :func:`min_chunk_bits`, in at most :func:`payload_budget_bits` (so a crafted
    header or payload cannot make the decoder allocate much more than the payload's bits
    allow), and for anything that does not decode.
    """
    if len(payload) % 4:
        raise ValueError("corrupted RCC step stream: payload is not whole 32-bit words")
    n_steps = check_int(n_steps, "n_steps", low=0)
    dim_list = _step_dims(dims, n_steps)
    model = check_model_params(max_chunk_bits, DEFAULT_PADDING)
    budget = payload_budget_bits(len(payload))
    if n_steps * MIN_STEP_BITS > budget:
        raise ValueError(f"corrupted RCC step stream: {n_steps} steps do not fit in "
                         f"{len(payload)} payload bytes")
    per_chunk = min_chunk_bits(max_chunk_bits)
    dec = fmt.new_decoder(payload)
    out: list[np.ndarray] = []
    spent = 0.0
    try:
        for step, d in enumerate(dim_list):
            n = fmt.read_step_count(dec, d, [len(o) for o in out])
            spent += MIN_STEP_BITS + n * per_chunk
            if spent + (n_steps - step - 1) * MIN_STEP_BITS > budget:
                raise ValueError(f"corrupted RCC step stream: step {step} declares {n} chunks, "
                                 f"more than {len(payload)} payload bytes can hold")
            out.append(fmt.read_step_indices(dec, n, model))
    except ValueError as exc:
        if str(exc).startswith("corrupted RCC step stream"):
            raise
        raise ValueError(f"corrupted RCC step stream: {exc}") from exc
    except Exception as exc:  # constriction signals garbage with AssertionError, RuntimeError
        raise ValueError(f"corrupted RCC step stream: payload does not decode ({exc!r})") from exc
    return out


def _step_dims(dims: int | Sequence[int], n_steps: int) -> list[int]:
    """One dimension per step (each in [1, MAX_DIMS])."""
    if np.ndim(dims) == 0:
        return [check_int(dims, "dims", low=1, high=fmt.MAX_DIMS)] * n_steps
    out = [check_int(d, "dims", low=1, high=fmt.MAX_DIMS) for d in dims]  # type: ignore[union-attr]
    if len(out) < n_steps:
        raise ValueError(f"dims gives {len(out)} dimensions for {n_steps} steps")
    return out[:n_steps]

