"""Per-dimension KL and the contiguous greedy chunk partition (THEORY.md §5, "Chunking").

The encoder knows q and p; the decoder knows only p. The partition is therefore *sent*:
contiguous chunks whose sizes are entropy-coded (see :mod:`rdptheory.rcc._format`). The number
of candidates per chunk, N_c = 2**(ceil(KL_c) + padding), is encoder-side only: the decoder
regenerates candidate K_c from (seed, stream, c, K_c) and never needs N_c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rdptheory._units import NATS_PER_BIT
from rdptheory._validation import check_int, check_nonnegative, check_positive

#: Hard upper limit on the KL (bits) of any chunk, hence on ``max_chunk_bits``.
MAX_CHUNK_BITS = 24.0
#: Largest padding (bits) accepted; ceil(24) + 6 = 30 = the index coder's largest bucket.
MAX_PADDING = 6


def diagonal_gaussian_kl_nats(mu_q, sigma_q, mu_p, sigma_p) -> np.ndarray:
    """Per-dimension KL(q || p) in nats for diagonal Gaussians (inputs trusted, float64).

    .. math::

        \\mathrm{KL}_j = \\log\\frac{\\sigma_{pj}}{\\sigma_{qj}}
        + \\frac{\\sigma_{qj}^2 + (\\mu_{qj} - \\mu_{pj})^2}{2\\sigma_{pj}^2} - \\frac12

    Written as ``expm1(2 l)/2 - l + delta^2/2`` with ``l = log(sigma_q/sigma_p)`` so the DiffC
    case (sigma_q = sigma_p) is exactly ``delta^2 / (2 sigma^2)``.
    """
    lr = np.log(sigma_q) - np.log(sigma_p)
    z = (mu_q - mu_p) / sigma_p
    kl = 0.5 * np.expm1(2.0 * lr) - lr + 0.5 * z * z
    return np.maximum(kl, 0.0)  # clamp round-off: KL >= 0


@dataclass(frozen=True)
class ChunkLayout:
    """A partition of ``dims`` coordinates into contiguous, non-empty chunks.

    Attributes
    ----------
    sizes : tuple of int
        Number of coordinates of each chunk, every entry >= 1, summing to ``dims``.
    """

    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.sizes) == 0 or min(self.sizes) < 1:
            raise ValueError("a chunk layout needs at least one chunk and no empty chunk")

    @property
    def n_chunks(self) -> int:
        """Number of chunks C."""
        return len(self.sizes)

    @property
    def dims(self) -> int:
        """Number of coordinates d = sum of the sizes."""
        return int(sum(self.sizes))

    @property
    def starts(self) -> np.ndarray:
        """int64 boundaries (n_chunks + 1,): chunk c covers ``starts[c]:starts[c+1]``."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)


def partition_chunks(
    kl_bits: np.ndarray, max_chunk_bits: float, granularity: int = 1
) -> ChunkLayout:
    """Greedy contiguous partition: each chunk takes dimensions while its KL stays <= the cap.

    .. math:: e_c = \\max\\{e : \\textstyle\\sum_{j=s_c}^{e-1} \\mathrm{KL}_j \\le B\\},
              \\quad s_{c+1} = s_c + g \\max(\\lfloor (e_c - s_c)/g \\rfloor, 1)

    (the last chunk takes what is left). With granularity g = 1 a dimension whose own KL
    exceeds B becomes a singleton chunk; with g > 1 a chunk never has fewer than g dimensions
    (the caller bounds the KL of every chunk by :data:`MAX_CHUNK_BITS`). Derived here
    (THEORY.md §5 asks only for <= B bits per chunk); g > 1 makes the sizes cheaper to send.

    Parameters
    ----------
    kl_bits : float64 array (d,), per-dimension KL in bits (>= 0)
    max_chunk_bits : float, B > 0
    granularity : int >= 1, g

    Returns
    -------
    ChunkLayout with no empty chunk

    >>> partition_chunks([3.0, 4.0, 8.0, 20.0, 1.0, 1.0], 14.0).sizes
    (2, 1, 1, 2)
    """
    kl_bits = check_nonnegative(kl_bits, "kl_bits")
    if kl_bits.ndim != 1 or kl_bits.size == 0:
        raise ValueError(f"kl_bits must be a non-empty 1-D array, got shape {kl_bits.shape}")
    check_positive(max_chunk_bits, "max_chunk_bits")
    granularity = check_int(granularity, "granularity", low=1)
    cum = np.concatenate([[0.0], np.cumsum(kl_bits)])
    d, start, sizes = kl_bits.size, 0, []
    while start < d:
        end = int(np.searchsorted(cum, cum[start] + max_chunk_bits, side="right")) - 1
        end = min(start + granularity * max((end - start) // granularity, 1), d)
        sizes.append(end - start)
        start = end
    return ChunkLayout(tuple(sizes))


def chunk_kl_bits(kl_bits: np.ndarray, layout: ChunkLayout) -> np.ndarray:
    """Per-chunk KL in bits (float64, (n_chunks,)): the KL of a product is the sum.

    .. math:: \\mathrm{KL}_c = \\textstyle\\sum_{j=s_c}^{s_{c+1}-1} \\mathrm{KL}_j
    """
    return np.add.reduceat(kl_bits, layout.starts[:-1])


def candidate_bits(chunk_kl: np.ndarray, padding: int) -> np.ndarray:
    """Candidate bits of each chunk, as DiffC [VL25] (int64, (n_chunks,)).

    .. math:: \\log_2 N_c = \\lceil \\mathrm{KL}_c \\rceil + \\mathrm{padding}

    The truncation this implies biases the sample (measured in the :mod:`rdptheory.rcc`
    docstring); padding is the caller's knob.
    """
    # 1e-9 absorbs cumulative round-off so an exact-integer KL does not gain a spurious bit
    return np.ceil(np.maximum(chunk_kl - 1e-9, 0.0)).astype(np.int64) + int(padding)


def kl_nats_to_bits(kl_nats: np.ndarray) -> np.ndarray:
    """nats -> bits through the one shared constant (STYLE.md §3)."""
    return kl_nats / NATS_PER_BIT


def max_singleton_ok(kl_bits: np.ndarray) -> None:
    """Raise ``ValueError`` if one coordinate alone carries more than MAX_CHUNK_BITS of KL."""
    j = int(np.argmax(kl_bits))
    if kl_bits[j] > MAX_CHUNK_BITS:
        raise ValueError(
            f"coordinate {j} of the target carries {kl_bits[j]:.3g} bits of KL, more than one "
            f"chunk may hold ({MAX_CHUNK_BITS:g} bits, 2**{math.ceil(MAX_CHUNK_BITS)} candidates);"
            " widen the target (sigma_q) or send it in several messages"
        )


def proxy_layout(layout_kl_bits: npt.ArrayLike, dims: int, max_chunk_bits: float) -> ChunkLayout:
    """The layout both sides derive from a decoder-known per-coordinate KL proxy.

    .. math:: \\text{layout} = \\mathrm{partition\\_chunks}(\\widetilde{\\mathrm{KL}}, B)

    with :math:`\\widetilde{\\mathrm{KL}}_j` a proxy (bits) that the decoder knows, e.g. the
    *expected* KL of coordinate j (a scalar proxy gives equal chunks of about B / proxy
    coordinates). Derived here, not in the papers: it trades the transmitted layout for
    chunks whose actual KL scatters around B (THEORY.md §5, "Chunking").

    Parameters
    ----------
    layout_kl_bits : float >= 0, a scalar or one entry per coordinate (``dims`` in all)
    dims : int >= 1, number of coordinates
    max_chunk_bits : float, B > 0

    Returns
    -------
    ChunkLayout

    >>> proxy_layout(0.25, 100, 8.0).sizes
    (32, 32, 32, 4)
    """
    proxy = check_nonnegative(layout_kl_bits, "layout_kl_bits")
    if proxy.size == 1:
        proxy = np.full(dims, float(proxy.ravel()[0]))
    if proxy.size != dims:
        raise ValueError(f"layout_kl_bits must be a scalar or have one entry per coordinate "
                         f"({dims}), got {proxy.size} entries")  # fmt: skip
    return partition_chunks(proxy.ravel(), max_chunk_bits)
