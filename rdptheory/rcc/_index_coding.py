"""Entropy coding of candidate indices: a Zipf model in log-buckets, coded with constriction.

Index n >= 0 of a chunk is split into its bucket b = bit_length(n) (bucket 0 = {0}, bucket
b >= 1 = [2**(b-1), 2**b)) and its offset n - 2**(b-1) (b - 1 raw bits). The bucket is coded
with a categorical model whose masses are those of the truncated Zipf law of THEORY.md §5,

.. math:: p(n) \\propto (n+1)^{-s},\\quad 0 \\le n < 2^{n_{ref}},\\quad s = 1 + a / B,

aggregated per bucket (exact, by Hurwitz zeta differences); the offset is uniform inside its
bucket, which costs at most log2(2**s) - ... ~0.04 bits per chunk over the exact Zipf code
(measured in tests). ``B`` is ``max_chunk_bits`` and n_ref = ceil(B) + padding, known to both
sides, so no per-chunk side information is sent. Buckets above n_ref (singleton chunks with
KL > B, early-stopped PFR running past 2**n_ref) keep a total escape mass of 2**-12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import zeta

#: Indices are < 2**MAX_INDEX_BITS (buckets 0..MAX_INDEX_BITS).
MAX_INDEX_BITS = 30
#: Zipf exponent s = 1 + ZIPF_A / B (tuned: see benchmarks in tests/rcc/test_index_coding.py).
ZIPF_A = 1.0
ESCAPE_MASS = 2.0**-12
#: Offsets are sent in pieces of at most this many bits (constriction Uniform needs < 2**24).
PIECE_BITS = 12


@dataclass(frozen=True)
class IndexModel:
    """The index code shared by encoder and decoder.

    Attributes
    ----------
    max_chunk_bits : float
        B, the KL budget of a chunk in bits (float32-representable).
    padding : int
        Extra candidate bits of a full chunk: n_ref = ceil(B) + padding.
    """

    max_chunk_bits: float
    padding: int

    @property
    def reference_bits(self) -> int:
        return min(math.ceil(self.max_chunk_bits) + self.padding, MAX_INDEX_BITS)

    @property
    def exponent(self) -> float:
        return 1.0 + ZIPF_A / max(self.max_chunk_bits, 1.0)

    def bucket_probabilities(self) -> np.ndarray:
        """P(b) for b = 0..MAX_INDEX_BITS (float64, sums to 1)."""
        return _bucket_probabilities(self.exponent, self.reference_bits)

    def index_bits(self, indices: np.ndarray) -> np.ndarray:
        """Ideal code length -log2 P(b) + (b - 1)_+ of each index, in bits (float64)."""
        b = bucket_of(indices)
        return -np.log2(self.bucket_probabilities()[b]) + np.maximum(b - 1, 0)


@lru_cache(maxsize=64)
def _bucket_probabilities(s: float, n_ref: int) -> np.ndarray:
    b = np.arange(n_ref + 1)
    lo = np.where(b == 0, 0, 2.0 ** (b - 1))
    hi = 2.0**b
    # sum_{n=lo}^{hi-1} (n+1)^-s = zeta(s, lo+1) - zeta(s, hi+1)  (Hurwitz zeta)
    mass = zeta(s, lo + 1.0) - zeta(s, hi + 1.0)
    p = np.zeros(MAX_INDEX_BITS + 1)
    n_escape = MAX_INDEX_BITS - n_ref
    p[: n_ref + 1] = mass / mass.sum() * (1.0 - (ESCAPE_MASS if n_escape else 0.0))
    if n_escape:
        p[n_ref + 1 :] = ESCAPE_MASS / n_escape
    p.setflags(write=False)
    return p


def bucket_of(indices: np.ndarray) -> np.ndarray:
    """bit_length(n) for int64 n >= 0 (0 -> 0)."""
    n = np.asarray(indices, dtype=np.int64)
    b = np.zeros(n.shape, dtype=np.int64)
    nz = n > 0
    b[nz] = np.floor(np.log2(n[nz].astype(np.float64))).astype(np.int64) + 1
    # float log2 can be off by one next to powers of two: fix exactly
    b[nz] += (n[nz] >> b[nz]) > 0
    b[nz] -= (n[nz] >> (b[nz] - 1)) == 0
    return b


def split_pieces(values: np.ndarray, widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw-bit fields -> (symbols, alphabet sizes) in pieces of <= PIECE_BITS bits.

    Piece level p (p = 0, 1, ...) holds bits [12p, 12p + 12) of every field wider than 12p,
    level by level, so a decoder knowing the widths can undo it (:func:`join_pieces`).
    """
    v = np.asarray(values, dtype=np.int64)
    w = np.asarray(widths, dtype=np.int64)
    symbols, sizes = [], []
    for p in range(MAX_INDEX_BITS // PIECE_BITS + 1):
        m = w > PIECE_BITS * p
        width = np.minimum(w[m] - PIECE_BITS * p, PIECE_BITS)
        symbols.append((v[m] >> (PIECE_BITS * p)) & ((1 << width) - 1))
        sizes.append(1 << width)
    return np.concatenate(symbols), np.concatenate(sizes)


def piece_sizes(widths: np.ndarray) -> np.ndarray:
    """Alphabet sizes of the pieces :func:`split_pieces` makes for these widths."""
    return split_pieces(np.zeros_like(widths), widths)[1]


def join_pieces(symbols: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Inverse of :func:`split_pieces`."""
    w = np.asarray(widths, dtype=np.int64)
    v = np.zeros(w.shape, dtype=np.int64)
    pos = 0
    for p in range(MAX_INDEX_BITS // PIECE_BITS + 1):
        m = np.flatnonzero(w > PIECE_BITS * p)
        v[m] |= symbols[pos : pos + m.size].astype(np.int64) << (PIECE_BITS * p)
        pos += m.size
    return v
