"""Code-length bounds for one-shot channel simulation (THEORY.md §5, "Bounds"), in bits.

THEORY.md also quotes E[log2 K] <= I + c with c ~ 1.5 for the PFR index K (1-based) "from
memory"; our own recollection of [LEG18]'s proof is c = log2(e)/e + 1 ~ 1.53. Neither was
checked against the paper, so no function here implements it. Measured instead
(:func:`rdptheory.rcc.measure_code_length`, ``mean_log2_index``, 4000 chunks each, seed 3):
E[log2 K] - I = -0.06, -0.26, -0.52, -0.79 for exact early-stopped PFR at I = 1, 2, 4, 8 bits
(sigma_q = sigma_p / 2); for truncated PFR/ORC between -3.7 (I = 12, padding 2) and +0.11
(I = 1, padding 6). All are below c = 1.5 (tests/rcc/test_code_length.py asserts it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_nonnegative


def _kl_plus_log(kl_bits: npt.ArrayLike, shift: float, constant: float) -> np.ndarray | float:
    """I + log2(I + shift) + constant for validated I >= 0 (float in, float out)."""
    i = check_nonnegative(kl_bits, "kl_bits")
    out = i + np.log2(i + shift) + constant
    return float(out) if out.ndim == 0 else out


def leg18_bound_bits(kl_bits: npt.ArrayLike) -> np.ndarray | float:
    """Expected prefix-code length bound of the Poisson functional representation.

    .. math:: \\mathbb{E}[L] \\le I + \\log_2(I + 1) + 5

    [LEG18] Li & El Gamal, IEEE T-IT 2018 (Thm 1, with a Zipf-like prefix code for K).

    Parameters
    ----------
    kl_bits : I >= 0, the KL (or mutual information) in bits; broadcasts

    Returns
    -------
    float or array, bits

    >>> float(leg18_bound_bits(1.0))
    7.0
    """
    return _kl_plus_log(kl_bits, 1.0, 5.0)


def leg18_entropy_bound_bits(kl_bits: npt.ArrayLike) -> np.ndarray | float:
    """Entropy bound on the PFR index, H(K) <= I + log2(I + 1) + 4 [LEG18], in bits.

    .. math:: H(K) \\le I + \\log_2(I + 1) + 4

    Parameters
    ----------
    kl_bits : I >= 0, the KL (or mutual information) in bits; broadcasts

    Returns
    -------
    float or array, bits

    >>> float(leg18_entropy_bound_bits(3.0))
    9.0
    """
    return _kl_plus_log(kl_bits, 1.0, 4.0)


def li25_bound_bits(kl_bits: npt.ArrayLike) -> np.ndarray | float:
    """The sharper expected-length bound of [Li25], in bits.

    .. math:: \\mathbb{E}[L] \\le I + \\log_2(I + 3.4) + 1

    C. T. Li, "Discrete layered entropy, conditional compression and a tighter strong
    functional representation lemma", arXiv 2501.13736 (abstract: the bound
    I(X;Y) + log(I(X;Y) + 3.4) + 1 for the strong functional representation lemma).

    Parameters
    ----------
    kl_bits : I >= 0, the KL (or mutual information) in bits; broadcasts

    Returns
    -------
    float or array, bits

    >>> round(float(li25_bound_bits(0.6)), 6)
    3.6
    """
    return _kl_plus_log(kl_bits, 3.4, 1.0)
