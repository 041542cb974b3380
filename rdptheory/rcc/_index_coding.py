"""Entropy coding of candidate indices: a Zipf model in log-buckets, coded with constriction.

Index n >= 0 of a chunk is split into its bucket b = bit_length(n) (bucket 0 = {0}, bucket
b >= 1 = [2**(b-1), 2**b)) and its offset n - 2**(b-1) (b - 1 raw bits). The bucket is coded
with a categorical model whose masses are those of the truncated Zipf law of THEORY.md §5,

.. math:: p(n) \\propto (n+1)^{-s},\\quad 0 \\le n < 2^{n_{ref}},\\quad
          s = s_0 + a / B,\\quad n_{ref} = \\lceil B \\rceil + \\mathrm{padding},

aggregated per bucket; the offset is uniform inside its bucket (the exact Zipf code would save
~0.02-0.03 bits per chunk, measured). ``B`` is ``max_chunk_bits``, known to both sides, so no
per-chunk side information is sent. Buckets above n_ref (singleton chunks with KL > B,
early-stopped PFR running past 2**n_ref) share an escape mass eps, split geometrically (ratio
1/2 per bucket): eps = 2**-12 for truncated PFR/ORC (costs 0.0004 bits per chunk) and
eps = 2**-3 for exact early-stopped PFR, whose index exceeds 2**n_ref in 3-18% of chunks
(measured at I = 1..8 with sigma_q = sigma_p/2); the container records which tail is used.

Tuning (our measurement, not from the papers): THEORY.md suggests s ~ 1 + 1/I. Over 4000 PFR
indices per KL (I = KL = B, N = 2**(I+2)), the best s is 1.5, 1.2, 1.02, 0.88, 0.84, 0.84 at
I = 1, 2, 4, 8, 12, 14 (ORC: slightly higher); s = 0.8 + 0.7/B fits these and saves 0.05-0.45
bits per chunk over s = 1 + 1/B (e.g. 13.46 vs 13.91 bits at I = 14). s < 1 is fine: the law
is truncated to 2**n_ref.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Indices are < 2**MAX_INDEX_BITS (buckets 0..MAX_INDEX_BITS).
MAX_INDEX_BITS = 30
#: Zipf exponent s = ZIPF_S0 + ZIPF_A / B (tuned on simulated PFR indices; module docstring).
ZIPF_S0 = 0.8
ZIPF_A = 0.7
ESCAPE_MASS = 2.0**-12
ESCAPE_MASS_EXACT = 2.0**-3
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
    exact_tail: bool = False

    @property
    def reference_bits(self) -> int:
        """n_ref = ceil(B) + padding (capped at MAX_INDEX_BITS): the Zipf law's support bits."""
        return min(math.ceil(self.max_chunk_bits) + self.padding, MAX_INDEX_BITS)

    @property
    def exponent(self) -> float:
        """Zipf exponent s = ZIPF_S0 + ZIPF_A / B (tuned; module docstring)."""
        return ZIPF_S0 + ZIPF_A / max(self.max_chunk_bits, 0.25)

    def bucket_probabilities(self) -> np.ndarray:
        """P(b) for b = 0..MAX_INDEX_BITS (float64, sums to 1)."""
        eps = ESCAPE_MASS_EXACT if self.exact_tail else ESCAPE_MASS
        return _bucket_probabilities(self.exponent, self.reference_bits, eps)

    def index_bits(self, indices: np.ndarray) -> np.ndarray:
        """Ideal code length of each index, in bits (float64).

        .. math:: \\ell(n) = -\\log_2 P(b(n)) + \\max(b(n) - 1, 0),
                  \\quad b(n) = \\lfloor \\log_2 n \\rfloor + 1\\ (b(0) = 0)
        """
        b = bucket_of(indices)
        return -np.log2(self.bucket_probabilities()[b]) + np.maximum(b - 1, 0)


@lru_cache(maxsize=64)
def _bucket_probabilities(s: float, n_ref: int, eps: float) -> np.ndarray:
    mass = np.array([_power_sum(s, 1 if b == 0 else 2 ** (b - 1) + 1, 2**b + 1)
                     for b in range(n_ref + 1)])  # fmt: skip
    p = with_escape_tail(mass, eps)
    p.setflags(write=False)
    return p


def with_escape_tail(main: np.ndarray, eps: float) -> np.ndarray:
    """Bucket probabilities over 0..MAX_INDEX_BITS: ``main`` (buckets 0..n_ref, normalised to
    1 − eps) followed by the escape tail, eps split geometrically (halving) over the buckets
    above n_ref = len(main) − 1; no tail (and no eps) when n_ref = MAX_INDEX_BITS."""
    n_ref = len(main) - 1
    p = np.zeros(MAX_INDEX_BITS + 1)
    n_escape = MAX_INDEX_BITS - n_ref
    p[: n_ref + 1] = main / main.sum() * (1.0 - (eps if n_escape else 0.0))
    if n_escape:
        tail = 0.5 ** np.arange(1, n_escape + 1)
        p[n_ref + 1 :] = eps * tail / tail.sum()
    return p


def _power_sum(s: float, lo: int, hi: int) -> float:
    """sum_{k=lo}^{hi-1} k^-s for any real s: direct below 2**12, else Euler-Maclaurin.

    .. math:: \\sum_{k=A}^{B-1} k^{-s} = \\int_A^B x^{-s}dx + \\frac{A^{-s}-B^{-s}}{2}
              + \\frac{s}{12}(A^{-s-1}-B^{-s-1}) + O(s^3 A^{-s-3})
    """
    if hi - lo <= 4096:
        return float((np.arange(lo, hi, dtype=np.float64) ** -s).sum())
    a, b = float(lo), float(hi)
    integral = math.log(b / a) if s == 1.0 else (b ** (1 - s) - a ** (1 - s)) / (1 - s)
    return integral + 0.5 * (a**-s - b**-s) + s / 12.0 * (a ** (-s - 1) - b ** (-s - 1))


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


def write_indices(enc, idx: np.ndarray, model: IndexModel) -> None:
    """Append indices to a constriction range encoder: buckets, then their raw offsets.

    The buckets follow the model's Zipf law; the offsets are :func:`split_pieces` under uniform
    models.
    """
    import constriction

    m = constriction.stream.model
    idx = np.asarray(idx, dtype=np.int64)
    buckets = bucket_of(idx)
    enc.encode(buckets.astype(np.int32),
               m.Categorical(model.bucket_probabilities(), perfect=False))
    widths = np.maximum(buckets - 1, 0)
    symbols, sizes = split_pieces(idx - np.where(buckets > 0, 1 << widths, 0), widths)
    if symbols.size:
        enc.encode(symbols.astype(np.int32), m.Uniform(), sizes.astype(np.int32))


def read_indices(dec, count: int, model: IndexModel) -> np.ndarray:
    """Inverse of :func:`write_indices` (int64 array); ``ValueError`` for a bucket above
    :data:`MAX_INDEX_BITS` (no encoder draws such an index)."""
    import constriction

    m = constriction.stream.model
    cat = m.Categorical(model.bucket_probabilities(), perfect=False)
    buckets = dec.decode(cat, count).astype(np.int64)
    if count and int(buckets.max()) > MAX_INDEX_BITS + 1:
        raise ValueError(f"corrupted RCC data: a candidate index has {int(buckets.max())} bits, "
                         "more than any encoder draws")
    widths = np.maximum(buckets - 1, 0)
    sizes = piece_sizes(widths)
    offsets = np.zeros(count, np.int64)
    if sizes.size:
        offsets = join_pieces(dec.decode(m.Uniform(), sizes.astype(np.int32)), widths)
    return offsets + np.where(buckets > 0, 1 << widths, 0)
