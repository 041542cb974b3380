"""Truncation bias of PFR/ORC: the spread of the information density and the padding it needs.

Truncated PFR [LEG18] draws N = 2^(ceil(KL) + padding) candidates. Its sample is exact unless
the untruncated index K would reach N, and K ~ S 2^{i(Z)} with i(Z) = log2 q(Z)/p(Z) at the
selected Z ~ q and S ~ Exp(1), so a chunk is truncated with probability about

.. math:: P\\big(i(Z) + \\log_2 S > \\mathrm{KL} + \\mathrm{padding}\\big):

what the padding has to cover is the *spread* of i(Z) around its mean KL (the Chatterjee &
Diaconis 2018 picture of importance sampling), not the KL itself. For a diagonal Gaussian pair
the spread is a closed form per coordinate (:func:`information_variance_nats`), and its mean
under the decoder's view of the target (:func:`expected_information_variance_nats`) is known to
both sides, so a padding derived from it (:func:`spread_padding`) needs no side information.

Measured (benchmarks/channel_simulation.py docstring): a 13-bit chunk of the codec's one-shot
message at 1 bit/dim has a spread of 3.6 bits (0.47 nats^2 of variance per coordinate against
0.69 nats of KL); the last step of its progressive chain (0.31 bit per coordinate) 5.0 bits;
a step of small KL per coordinate tends to 2 nats^2 of variance per nat of KL. This is why
padding 4 leaves ~5% of excess MSE in one-shot files and ~10-15% at the end of progressive
ones.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from rdptheory._units import NATS_PER_BIT
from rdptheory._validation import as_float_array, check_int, check_positive

from ._chunking import MAX_PADDING

__all__ = [
    "expected_information_variance_nats",
    "information_variance_nats",
    "spread_bits",
    "spread_padding",
]


def information_variance_nats(
    mu_q: npt.ArrayLike, sigma_q: npt.ArrayLike, mu_p: npt.ArrayLike, sigma_p: npt.ArrayLike
) -> np.ndarray:
    """Per-coordinate variance of the information density log q(Z)/p(Z), Z ~ q (nats^2).

    .. math::

        \\log\\frac{q(z)}{p(z)} = a e^2 + b e + c,\\quad z = \\mu_q + \\sigma_q e,\\quad
        a = \\frac{\\sigma_q^2}{2\\sigma_p^2} - \\frac12,\\quad
        b = \\frac{(\\mu_q - \\mu_p)\\sigma_q}{\\sigma_p^2},\\qquad
        \\mathrm{Var} = 2a^2 + b^2

    (e ~ N(0, 1): Var e^2 = 2, Cov(e, e^2) = 0). Derived here; not in the papers.

    Parameters
    ----------
    mu_q, mu_p : float arrays (broadcast together)
    sigma_q, sigma_p : positive standard deviations (broadcast with the means)

    Returns
    -------
    float64 array of the broadcast shape, nats^2
    """
    mq, mp = as_float_array(mu_q, "mu_q"), as_float_array(mu_p, "mu_p")
    sq, sp = check_positive(sigma_q, "sigma_q"), check_positive(sigma_p, "sigma_p")
    a = 0.5 * (sq / sp) ** 2 - 0.5
    b = (mq - mp) * sq / sp**2
    return np.asarray(2.0 * a * a + b * b, dtype=np.float64)


def expected_information_variance_nats(
    sigma_q: npt.ArrayLike, sigma_p: npt.ArrayLike
) -> np.ndarray:
    """:func:`information_variance_nats` averaged over the decoder's view of the target mean.

    .. math::

        \\mathbb E\\,\\mathrm{Var} = 2a^2 + \\frac{(\\sigma_p^2 - \\sigma_q^2)\\,\\sigma_q^2}
        {\\sigma_p^4},\\qquad \\mu_q \\sim \\mathcal N(\\mu_p, \\sigma_p^2 - \\sigma_q^2)

    (the Bayesian reading of the RCC pair: p is the marginal of q, exact for the Gaussian
    codec's one-shot message and its exact reverse-chain kernels). Under the same reading the
    expected KL per coordinate is log(sigma_p / sigma_q) nats, and the expected gap between
    the log-weight bound sup log q/p and the KL is exactly 1/2 nat (0.72 bit) per coordinate,
    whatever the step: why an exact sampler that stops at the bound (early-stopped PFR, greedy
    Poisson rejection sampling) needs ~2^(KL + 0.72 m) candidates for an m-dim chunk.
    Derived here; not in the papers.

    Parameters
    ----------
    sigma_q, sigma_p : standard deviations with sigma_q <= sigma_p (broadcast together)

    Returns
    -------
    float64 array, nats^2
    """
    sq, sp = check_positive(sigma_q, "sigma_q"), check_positive(sigma_p, "sigma_p")
    if np.any(sq > sp):
        raise ValueError("sigma_q must not exceed sigma_p (p is the marginal of q)")
    ratio = (sq / sp) ** 2
    a = 0.5 * ratio - 0.5
    return np.asarray(2.0 * a * a + (1.0 - ratio) * ratio, dtype=np.float64)


def spread_bits(sigma_q: npt.ArrayLike, sigma_p: npt.ArrayLike, chunk_bits: float) -> float:
    """Expected standard deviation (bits) of the information density of a chunk of
    ``chunk_bits`` bits of expected KL drawn from a message with these coordinates.

    .. math::

        \\sigma_B = \\frac{1}{\\ln 2}\\sqrt{B \\ln 2\\;
        \\frac{\\sum_j \\mathbb E\\,\\mathrm{Var}_j}{\\sum_j \\log(\\sigma_{pj}/\\sigma_{qj})}}

    (a chunk of B bits holds coordinates in proportion to their expected KL; derived here).
    Coordinates with sigma_q = sigma_p carry neither KL nor spread.

    Parameters
    ----------
    sigma_q, sigma_p : standard deviations of the message, sigma_q <= sigma_p
    chunk_bits : float > 0, the chunk's expected KL in bits (e.g. ``max_chunk_bits``)

    Returns
    -------
    float, bits (0.0 for a message without KL)
    """
    budget = float(check_positive(chunk_bits, "chunk_bits"))
    var = expected_information_variance_nats(sigma_q, sigma_p)
    sq, sp = np.broadcast_arrays(np.asarray(sigma_q, float), np.asarray(sigma_p, float))
    kl = float(np.sum(np.log(sp) - np.log(sq)))
    if kl <= 0.0:
        return 0.0
    return math.sqrt(budget * NATS_PER_BIT * float(np.sum(var)) / kl) / NATS_PER_BIT


#: Default multiple of the spread the padding covers, and the padding's floor.
SPREAD_MULTIPLE = 1.5
MIN_SPREAD_PADDING = 2


def spread_padding(
    sigma_q: npt.ArrayLike, sigma_p: npt.ArrayLike, max_chunk_bits: float, *,
    multiple: float = SPREAD_MULTIPLE, low: int = MIN_SPREAD_PADDING, high: int = MAX_PADDING,
) -> int:
    """A message's padding from the expected spread of its chunks' information density.

    .. math:: \\mathrm{padding} = \\mathrm{clip}\\big(\\lceil c\\,\\sigma_B \\rceil,
              \\ \\mathrm{low},\\ \\mathrm{high}\\big)

    with sigma_B from :func:`spread_bits` at B = ``max_chunk_bits`` and c = ``multiple``.
    Depends only on the standard deviations (decoder-known), so both sides derive it.
    Our rule; the multiple is tuned in benchmarks/channel_simulation.py.

    Parameters
    ----------
    sigma_q, sigma_p : standard deviations of the message, sigma_q <= sigma_p
    max_chunk_bits : float > 0, the chunk KL budget B (bits)
    multiple : float > 0, c
    low, high : int, 0 <= low <= high <= MAX_PADDING

    Returns
    -------
    int padding (bits)
    """
    c = float(check_positive(multiple, "multiple"))
    hi = check_int(high, "high", low=0, high=MAX_PADDING)
    lo = check_int(low, "low", low=0, high=hi)
    sigma = spread_bits(sigma_q, sigma_p, max_chunk_bits)
    return int(min(max(math.ceil(c * sigma - 1e-9), lo), hi))
