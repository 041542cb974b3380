"""Chunk layouts of an RCC message, as registered strategies (THEORY.md §5, "Chunking").

A layout partitions the d coordinates of a target into chunks, each channel-simulated with
its own candidate list. The decoder must know the layout; the strategies differ in what they
send for it:

==========  ====  ========================================================================
name        code  what the decoder gets
==========  ====  ========================================================================
``sent``    0     contiguous greedy sizes, entropy-coded
                  (:func:`~rdptheory.rcc.coding.choose_layout`)
``known``   1     nothing: the decoder's own layout (``chunk_sizes``, or the proxy layout of
                  a decoder-known expected KL ``layout_kl_bits``,
                  :func:`~rdptheory.rcc._chunking.proxy_layout`)
``diffc``   2     the chunk count C only: a shared Philox permutation of the coordinates,
                  split into C equal chunks [VL25] (:func:`diffc_permutation`,
                  :func:`equal_starts`)
==========  ====  ========================================================================

``code`` is the symbol the message body carries (:mod:`rdptheory.rcc._format`). A standalone
message without a known layout takes the cheaper of ``sent`` and ``diffc`` by an estimate
that depends on the target's KL only (never on the candidates, so the choice cannot bias the
sample; :func:`~rdptheory.rcc.coding.encode`). Codecs that send their own per-step side
information (the image codec's quantised KL) use the ``diffc`` layout through
:func:`diffc_count` and :func:`diffc_split`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rdptheory._validation import check_int

#: Philox counter word that keeps layout randomness apart from candidate normals ("PERM").
PERM_TAG = 0x5045524D
#: Largest split exponent e of a DiffC layout (chunk count x 2^e).
MAX_SPLIT = 24
#: A DiffC split is refined (chunk count doubled) until no chunk exceeds B + this many bits.
SLACK_BITS = 8.0


class LayoutStrategy(NamedTuple):
    """A registered chunk-layout strategy: its name, body symbol and what it sends."""

    name: str
    code: int
    sends: str


LAYOUTS: dict[str, LayoutStrategy] = {}


def register_layout(strategy: LayoutStrategy) -> LayoutStrategy:
    """Add ``strategy`` to :data:`LAYOUTS` (ValueError if its name or code is taken)."""
    if strategy.name in LAYOUTS or any(s.code == strategy.code for s in LAYOUTS.values()):
        raise ValueError(f"layout {strategy.name!r} / code {strategy.code} already registered")
    LAYOUTS[strategy.name] = strategy
    return strategy


SENT = register_layout(LayoutStrategy("sent", 0, "contiguous chunk sizes"))
KNOWN = register_layout(LayoutStrategy("known", 1, "nothing (decoder-known layout)"))
DIFFC = register_layout(LayoutStrategy("diffc", 2, "the chunk count (shared permutation)"))


def layout_by_code(code: int) -> LayoutStrategy:
    """The strategy whose body symbol is ``code`` (ValueError for an unknown one)."""
    for s in LAYOUTS.values():
        if s.code == code:
            return s
    raise ValueError(f"unknown chunk-layout code {code}")


def diffc_permutation(seed: int, stream: int, dims: int) -> np.ndarray:
    """The shared permutation of ``range(dims)``: coordinates sorted by a Philox key.

    .. math:: \\pi = \\mathrm{argsort}_j\\, \\mathrm{Philox}_{\\mathrm{seed}}(j, \\mathrm{stream},
              \\mathrm{PERM})

    A pure function of ``(seed, stream, dims)``, so no layout is transmitted [VL25].
    """
    from rdptheory.kernels import philox4x32_10

    dims = check_int(dims, "dims", low=1)
    j = np.arange(dims, dtype=np.uint64)
    counter = np.stack([j & 0xFFFFFFFF, j >> 32, np.full_like(j, stream),
                        np.full_like(j, PERM_TAG)], axis=-1)  # fmt: skip
    key = np.array([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF], dtype=np.uint64)
    words = philox4x32_10(counter, key)
    sort_key = (words[:, 0].astype(np.uint64) << np.uint64(32)) | words[:, 1].astype(np.uint64)
    return np.argsort(sort_key, kind="stable")


def equal_starts(dims: int, n: int) -> np.ndarray:
    """``n + 1`` boundaries of ``n`` equal chunks of ``dims`` coordinates (sizes differ by <= 1).

    .. math:: s_c = \\mathrm{round}(c\\, d / n),\\quad c = 0, \\dots, n
    """
    return np.round(np.linspace(0, dims, n + 1)).astype(np.int64)


def equal_sizes(dims: int, n: int) -> tuple[int, ...]:
    """Sizes of the ``n`` equal chunks of :func:`equal_starts`."""
    return tuple(int(v) for v in np.diff(equal_starts(dims, n)))


def diffc_count(kl_q: int, split: int, dims: int, max_chunk_bits: float) -> int:
    """Chunks of a DiffC layout from a quantised KL: ``clip(⌈kl_q / B⌉·2^split, 1, d)``."""
    return int(min(max(math.ceil(kl_q / max_chunk_bits), 1) * 2**split, dims))


class DiffCSplit(NamedTuple):
    """A DiffC layout: split exponent, chunk count, permutation, boundaries, chunk KLs."""

    split: int
    n_chunks: int
    perm: np.ndarray
    starts: np.ndarray
    chunk_kl: np.ndarray


def diffc_split(kl_bits: np.ndarray, kl_q: int, max_chunk_bits: float, seed: int,
                stream: int) -> DiffCSplit:
    """The first split ``e`` whose equal chunks all carry <= B + :data:`SLACK_BITS` of KL.

    .. math:: e = \\min\\{e : \\max_c \\mathrm{KL}_c(e) \\le B + 8\\ \\text{or}\\ C(e) = d\\}

    with C(e) = :func:`diffc_count` ``(kl_q, e, d, B)``: a random equal split can concentrate
    KL, and candidates grow as 2^KL (the image codec's rule, our own).
    """
    dims = kl_bits.size
    perm = diffc_permutation(seed, stream, dims)
    for split in range(MAX_SPLIT + 1):
        n = diffc_count(kl_q, split, dims, max_chunk_bits)
        starts = equal_starts(dims, n)
        chunk_kl = np.add.reduceat(kl_bits[perm], starts[:-1])
        if chunk_kl.max() <= max_chunk_bits + SLACK_BITS or n == dims:
            break
    return DiffCSplit(split, n, perm, starts, chunk_kl)
