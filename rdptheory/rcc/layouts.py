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

A diffusion step may instead use a *stratified* layout (:func:`stratified_split`, RDPI 6
shaped-noise files): the coordinates sorted by a decoder-known proxy of their KL are dealt
to the C chunks in a snake order, so that coordinates likely to carry much KL are spread
evenly; only C is sent, as for ``diffc``. It is a step layout, not a message strategy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rdptheory._validation import check_int

from ._chunking import MAX_CHUNK_BITS

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


# ------------------------------------------------------------------ stratified step layouts

#: A stratified split grows its chunk count by this fraction (at least 1) while a chunk
#: carries more than B + :data:`SLACK_BITS`.
STRATIFIED_GROWTH = 1.0 / 16.0


def stratified_order(proxy: np.ndarray, seed: int, stream: int) -> np.ndarray:
    r"""Coordinates by decreasing ``proxy``, ties in the order of the shared permutation.

    .. math:: o = \mathrm{lexsort}(-\widetilde{\mathrm{KL}}_j,\
              \pi^{-1}(j))

    (π of :func:`diffc_permutation`). ``proxy`` (flat float64, finite) must be computed
    identically by both sides: the layout depends on its bits.
    """
    w = np.ravel(np.asarray(proxy, dtype=np.float64))
    if w.size == 0 or not np.isfinite(w).all():
        raise ValueError("proxy must be a non-empty finite array")
    rank = np.empty(w.size, dtype=np.int64)
    rank[diffc_permutation(seed, stream, w.size)] = np.arange(w.size)
    return np.lexsort((rank, -w))


def snake_chunks(dims: int, n: int) -> np.ndarray:
    r"""Chunk of each sorted position (int64, (dims,)): rounds of ``n`` in snake order.

    .. math:: c(i) = \begin{cases} i \bmod n & \lfloor i/n \rfloor\ \text{even}\\
              n - 1 - (i \bmod n) & \text{odd}\end{cases}

    >>> snake_chunks(7, 3).tolist()
    [0, 1, 2, 2, 1, 0, 0]
    """
    dims = check_int(dims, "dims", low=1)
    n = check_int(n, "n", low=1, high=dims)
    i = np.arange(dims, dtype=np.int64)
    r = i % n
    return np.where((i // n) % 2 == 0, r, n - 1 - r)


def stratified_layout(order: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(perm, starts)`` of ``n`` chunks dealt from ``order`` (:func:`snake_chunks`).

    ``perm`` lists chunk 0's coordinates, then chunk 1's, ... (each in sorted order);
    ``starts`` (n + 1,) are the chunk boundaries in ``perm`` (sizes differ by at most 1).
    """
    cid = snake_chunks(order.size, n)
    perm = order[np.argsort(cid, kind="stable")]
    starts = np.concatenate([[0], np.cumsum(np.bincount(cid, minlength=n))]).astype(np.int64)
    return perm, starts


def stratified_split(kl_bits: np.ndarray, proxy: np.ndarray, kl_q: int,
                     max_chunk_bits: float, seed: int, stream: int,
                     bucket_bits: np.ndarray | None = None) -> DiffCSplit:
    r"""The stratified layout with the fewest chunks, from C_0 = :func:`diffc_count`
    ``(kl_q, 0, d, B)`` up, whose chunks all carry at most the cap below.

    .. math:: C_{j+1} = \min(C_j + \max(1, \lfloor C_j/16 \rfloor), d),\qquad
              \mathrm{cap} = \min\big(\max(B + 8,\ \max_j \mathrm{KL}_j + 4),\ 24\big)

    Our own rule: doubling the count (:func:`diffc_split`) halves every chunk's KL when one
    chunk is too large, and each chunk costs ~1-3 bits beyond its KL (measured on shaped
    image steps, ``benchmarks/shaped_net.py``); a slow growth stops at the first count that
    fits. A coordinate carrying more than B + 8 bits alone would otherwise drive the count
    to d (one chunk per coordinate): its chunk may carry it plus :data:`SLACK_BITS` / 2.

    With ``bucket_bits`` (the code length of an index in each bucket b = 0..30, e.g.
    ``-log2 P(b) + b - 1`` of the steps' index model), every count of that sequence up to the
    first fitting one whose chunks carry at most min(cap + 4, 24) bits is a candidate, and the one
    with the least estimated index bits :math:`\sum_c \ell(\lfloor \mathrm{KL}_c\rfloor
    + 1)` is taken (ties: the fewest chunks). The decoder needs only C (``split`` is 0 in
    the result).
    """
    order = stratified_order(proxy, seed, stream)
    dims = kl_bits.size
    if order.size != dims:
        raise ValueError(f"proxy has {order.size} entries for {dims} coordinates")
    sorted_kl = kl_bits[order]
    cap = min(max(max_chunk_bits + SLACK_BITS, float(kl_bits.max()) + SLACK_BITS / 2),
              MAX_CHUNK_BITS)
    loose = min(cap + SLACK_BITS / 2, MAX_CHUNK_BITS)
    n = diffc_count(kl_q, 0, dims, max_chunk_bits)
    best: tuple[float, int] | None = None
    while True:
        chunk_kl = np.bincount(snake_chunks(dims, n), sorted_kl, minlength=n)
        if bucket_bits is not None and chunk_kl.max() <= loose:
            b = np.minimum(np.floor(chunk_kl).astype(np.int64) + 1, len(bucket_bits) - 1)
            cost = float(np.sum(bucket_bits[b]))
            if best is None or cost < best[0]:
                best = (cost, n)
        if chunk_kl.max() <= cap or n == dims:
            break
        n = min(n + max(1, int(n * STRATIFIED_GROWTH)), dims)
    if best is not None:
        n = best[1]
    perm, starts = stratified_layout(order, n)
    return DiffCSplit(0, n, perm, starts, np.add.reduceat(kl_bits[perm], starts[:-1]))
