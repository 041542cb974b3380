"""DiffC-style coding of the chain's steps: per-step KL side information, shared random chunk
layout, and one range coder for every step's side information and candidate indices.

Per step the encoder sends the step's KL, quantised up to whole bits (``kl_q = ⌈KL⌉``), and a
split exponent ``e`` (almost always 0). Both sides derive from them the number of chunks
``n = clip(⌈kl_q / B⌉·2^e, 1, d)`` and split a shared
random permutation of the coordinates into ``n`` equal chunks [VL25] (the permutation is a pure
function of ``(seed, stream)`` through Philox, so no layout is transmitted). Each chunk is
channel-simulated with the kernels' fused PFR/ORC selection (``N_c = 2^(⌈KL_c⌉ + padding)``
candidates, encoder-side only) and its index ``K`` is range-coded (constriction) as a log
bucket ``b = bitlength(K)`` under a quantised Gaussian with mean ``kl_q / n − 1`` and std 3.5
(bits), followed by the ``b − 1`` bits below the leading one, uniformly. Mean and std were
fitted on two unseen photographs (48×48 crops, B = 8): against mean ``kl_q/n + 1``, std 2
they shrink the payload by 16–19 % (chunk KLs of a random equal split vary widely). ``kl_q``
itself is coded with a quantised Gaussian centred on 1.3 × the previous step's value, ``e``
with a fixed geometric model. The encoder raises ``e`` until no chunk carries more than
``B + 8`` bits (a random equal split can concentrate KL; candidates grow as 2^KL).
This replaces sending every chunk's size (THEORY.md §5, "Chunking"): the side information is
one number per step, and it is counted in the file size like everything else.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

_PERM_TAG = 0x5045524D  # "PERM": keeps layout randomness apart from candidate normals
_MAX_KL = 2**24 - 1
_MAX_BUCKET = 40
_MAX_INDEX_BUCKET = 31  # indices < 2^(MAX_CHUNK_BITS + padding) <= 2^30 have <= 31 bits
_PIECE = 16  # raw bits per range-coder symbol (constriction precision)
_MAX_SPLIT = 24
_BUCKET_STD = 3.5
_SLACK_BITS = 8.0


class StepTooLarge(Exception):
    """A chunk of this step would need more than 2^MAX_CHUNK_BITS candidates."""


class StepCode(NamedTuple):
    """One coded step: quantised KL (bits), candidate indices, and the shared sample."""

    kl_q: int
    split: int
    indices: np.ndarray
    sample: np.ndarray
    kl_bits: float


def n_chunks(kl_q: int, split: int, dims: int, max_chunk_bits: float) -> int:
    """Chunks of a step: ``clip(⌈kl_q / B⌉·2^split, 1, d)``."""
    return int(min(max(math.ceil(kl_q / max_chunk_bits), 1) * 2**split, dims))


def layout(seed: int, stream: int, dims: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shared permutation of ``range(dims)`` and ``n + 1`` equal-chunk boundaries."""
    from rdptheory.kernels import philox4x32_10

    j = np.arange(dims, dtype=np.uint64)
    counter = np.stack([j & 0xFFFFFFFF, j >> 32, np.full_like(j, stream),
                        np.full_like(j, _PERM_TAG)], axis=-1)
    key = np.array([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF], dtype=np.uint64)
    words = philox4x32_10(counter, key)
    sort_key = (words[:, 0].astype(np.uint64) << np.uint64(32)) | words[:, 1].astype(np.uint64)
    perm = np.argsort(sort_key, kind="stable")
    starts = np.round(np.linspace(0, dims, n + 1)).astype(np.int64)
    return perm, starts


def encode_step(mu_q: np.ndarray, sigma_q: float, mu_p: np.ndarray, sigma_p: float, *,
                seed: int, stream: int, max_chunk_bits: float, padding: int,
                algorithm: str, backend: str) -> StepCode:
    """Select one shared candidate per chunk of the step's layout (module docstring)."""
    from rdptheory import kernels, rcc

    shape = mu_p.shape
    mq, mp = mu_q.ravel(), mu_p.ravel()
    sq, sp = np.full_like(mq, sigma_q), np.full_like(mp, sigma_p)
    kl = rcc.diagonal_gaussian_kl(mq, sq, mp, sp)
    kl_q = int(min(math.ceil(float(kl.sum()) - 1e-9), _MAX_KL))
    for split in range(_MAX_SPLIT + 1):
        n = n_chunks(kl_q, split, mq.size, max_chunk_bits)
        perm, starts = layout(seed, stream, mq.size, n)
        chunk_kl = np.add.reduceat(kl[perm], starts[:-1])
        if chunk_kl.max() <= max_chunk_bits + _SLACK_BITS or n == mq.size:
            break
    if chunk_kl.max() > rcc.MAX_CHUNK_BITS:
        raise StepTooLarge(f"a chunk carries {chunk_kl.max():.1f} bits of KL")
    bits = np.ceil(np.maximum(chunk_kl - 1e-9, 0.0)).astype(np.int64) + padding
    sel = kernels.pfr_select(mq[perm], sq[perm], mp[perm], sp[perm], starts, bits, seed=seed,
                             encoder_seed=rcc.derive_encoder_seed(seed), stream=stream,
                             algorithm=algorithm, backend=backend)
    return StepCode(kl_q, split, np.asarray(sel.indices, dtype=np.int64),
                    _sample(mp, sp, perm, starts, sel.indices, seed, stream, backend)
                    .reshape(shape), float(kl.sum()))


def _sample(mu_p: np.ndarray, sigma_p: np.ndarray, perm: np.ndarray, starts: np.ndarray,
            indices: np.ndarray, seed: int, stream: int, backend: str) -> np.ndarray:
    from rdptheory import kernels

    z = kernels.candidate_samples(mu_p[perm], sigma_p[perm], starts, np.asarray(indices),
                                  seed=seed, stream=stream, backend=backend)
    out = np.empty_like(z)
    out[perm] = z
    return out


def decode_step(kl_q: int, split: int, indices: np.ndarray, mu_p: np.ndarray, sigma_p: float,
                *, seed: int, stream: int, max_chunk_bits: float, backend: str) -> np.ndarray:
    """The decoder's sample of one step from its side information and indices."""
    mp = mu_p.ravel()
    n = n_chunks(kl_q, split, mp.size, max_chunk_bits)
    perm, starts = layout(seed, stream, mp.size, n)
    if len(indices) != len(starts) - 1:
        raise ValueError("corrupted image stream: index count does not match the layout")
    return _sample(mp, np.full_like(mp, sigma_p), perm, starts, indices, seed, stream,
                   backend).reshape(mu_p.shape)


# ---------------------------------------------------------------- entropy coding


def _models():
    import constriction

    m = constriction.stream.model
    split_p = 2.0 ** (-3.0 * np.arange(_MAX_SPLIT + 1))
    return (m.QuantizedGaussian(0, _MAX_KL), m.QuantizedGaussian(0, _MAX_BUCKET), m.Uniform(),
            m.Categorical(split_p / split_p.sum(), perfect=False))


def _kl_mean_std(prev: int | None) -> tuple[float, float]:
    if prev is None:
        return 16.0, 64.0
    return 1.3 * prev, max(4.0, 0.5 * prev)


def _bucket_mean(kl_q: int, n: int) -> float:
    return kl_q / n - 1.0  # fitted: mean chunk KL − 1 (module docstring)


class SymbolWriter:
    """One range coder receiving the steps' symbols in order (what :func:`encode_symbols` writes).

    The encoder grows the stream one step at a time and reads its exact size after each step
    (:meth:`payload` of a :meth:`copy`), instead of re-coding every step so far.
    """

    def __init__(self) -> None:
        import constriction

        self._enc = constriction.stream.queue.RangeEncoder()
        self._prev: int | None = None
        self._models = _models()

    def copy(self) -> SymbolWriter:
        """An independent writer holding the same symbols."""
        other = SymbolWriter.__new__(SymbolWriter)
        other._enc, other._prev, other._models = self._enc.clone(), self._prev, self._models
        return other

    def add(self, kl_q: int, split: int, indices: np.ndarray) -> None:
        """Append one step's side information and candidate indices."""
        kl_model, bucket_model, uniform, split_model = self._models
        enc = self._enc
        m, s = _kl_mean_std(self._prev)
        enc.encode(np.array([kl_q], np.int32), kl_model, np.array([m]), np.array([s]))
        enc.encode(np.array([split], np.int32), split_model)
        self._prev = kl_q
        idx = np.asarray(indices, dtype=np.int64)
        b = np.array([int(k).bit_length() for k in idx], dtype=np.int32)
        mean = _bucket_mean(kl_q, len(idx))
        enc.encode(b, bucket_model, np.full(len(b), mean), np.full(len(b), _BUCKET_STD))
        for k, bl in zip(idx, b):
            _put_raw(enc, uniform, int(k) - (1 << (bl - 1)) if bl >= 1 else 0, max(bl - 1, 0))

    def payload(self) -> bytes:
        """The coded bytes of every step added so far (the writer stays usable)."""
        return self._enc.get_compressed().astype("<u4").tobytes()


def encode_symbols(steps: list[tuple[int, int, np.ndarray]]) -> bytes:
    """Range-code ``(kl_q, split, indices)`` of every step, in order."""
    writer = SymbolWriter()
    for kl_q, split, idx in steps:
        writer.add(kl_q, split, idx)
    return writer.payload()


def _put_raw(enc, uniform, value: int, nbits: int) -> None:
    while nbits > 0:
        w = min(nbits, _PIECE)
        enc.encode(np.array([value & ((1 << w) - 1)], np.int32), uniform,
                   np.array([1 << w], np.int32))
        value >>= w
        nbits -= w


def _get_raw(dec, uniform, nbits: int) -> int:
    value, shift = 0, 0
    while nbits > 0:
        w = min(nbits, _PIECE)
        value |= int(dec.decode(uniform, np.array([1 << w], np.int32))[0]) << shift
        shift += w
        nbits -= w
    return value


#: Lower bounds on what an honest payload spends (bits): the quantised-KL symbol of a step
#: (its quantised Gaussian has std >= 4, so no value has probability above 0.19) and each
#: chunk's bucket (std 3.5, mean >= -1 on [0, 40]: probability <= 0.25). Our own bounds.
MIN_STEP_BITS = 2.0
MIN_CHUNK_BITS = 2.0
#: A range coder's output holds at least the information it coded minus this many bits (its
#: final state is at most two 32-bit words).
CODER_SLACK_BITS = 64.0


def payload_budget_bits(payload_bytes: int) -> float:
    """Information an honest payload of ``payload_bytes`` bytes can carry, in bits."""
    return 8.0 * payload_bytes + CODER_SLACK_BITS


def decode_symbols(payload: bytes, n_steps: int, dims: int,
                   max_chunk_bits: float) -> list[tuple[int, int, np.ndarray]]:
    """Inverse of :func:`encode_symbols` for the first ``n_steps`` steps.

    ``ValueError`` before any step whose chunk count the payload cannot hold: every step
    costs at least :data:`MIN_STEP_BITS` and every chunk :data:`MIN_CHUNK_BITS`, in at most
    :func:`payload_budget_bits` (so a crafted header or payload cannot make the decoder
    allocate more than a few values per payload bit).
    """
    import constriction

    if len(payload) % 4:
        raise ValueError("corrupted image stream: payload is not whole 32-bit words")
    budget = payload_budget_bits(len(payload))
    if n_steps * (MIN_STEP_BITS + MIN_CHUNK_BITS) > budget:
        raise ValueError(f"corrupted image stream: {n_steps} steps do not fit in "
                         f"{len(payload)} payload bytes")
    kl_model, bucket_model, uniform, split_model = _models()
    dec = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, "<u4").copy())
    out, prev, spent = [], None, 0.0
    for step in range(n_steps):
        m, s = _kl_mean_std(prev)
        kl_q = int(dec.decode(kl_model, np.array([m]), np.array([s]))[0])
        split = int(dec.decode(split_model, 1)[0])
        prev = kl_q
        n = n_chunks(kl_q, split, dims, max_chunk_bits)
        spent += MIN_STEP_BITS + n * MIN_CHUNK_BITS
        if spent + (n_steps - step - 1) * (MIN_STEP_BITS + MIN_CHUNK_BITS) > budget:
            raise ValueError(f"corrupted image stream: step {step} declares {n} chunks, more "
                             f"than {len(payload)} payload bytes can hold")
        b = dec.decode(bucket_model, np.full(n, _bucket_mean(kl_q, n)), np.full(n, _BUCKET_STD))
        if n and int(b.max()) > _MAX_INDEX_BUCKET:
            raise ValueError(f"corrupted image stream: a candidate index of step {step} has "
                             f"{int(b.max())} bits, more than any encoder draws")
        idx = np.array([(1 << (int(bl) - 1)) + _get_raw(dec, uniform, int(bl) - 1)
                        if bl >= 1 else 0 for bl in b], dtype=np.int64)
        out.append((kl_q, split, idx))
    return out
