"""Code-length bounds for one-shot channel simulation (THEORY.md §5, "Bounds"), in bits."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_nonnegative


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
    i = check_nonnegative(kl_bits, "kl_bits")
    out = i + np.log2(i + 1.0) + 5.0
    return float(out) if out.ndim == 0 else out


def leg18_entropy_bound_bits(kl_bits: npt.ArrayLike) -> np.ndarray | float:
    """Entropy bound on the PFR index, H(K) <= I + log2(I + 1) + 4 [LEG18], in bits.

    .. math:: H(K) \\le I + \\log_2(I + 1) + 4

    >>> float(leg18_entropy_bound_bits(3.0))
    9.0
    """
    i = check_nonnegative(kl_bits, "kl_bits")
    out = i + np.log2(i + 1.0) + 4.0
    return float(out) if out.ndim == 0 else out


def li25_bound_bits(kl_bits: npt.ArrayLike) -> np.ndarray | float:
    """The sharper expected-length bound quoted as [Li25] in THEORY.md §5, in bits.

    .. math:: \\mathbb{E}[L] \\le I + \\log_2(I + 3.4) + 1

    C. T. Li, arXiv 2501.13736 (as quoted in THEORY.md §5).

    >>> round(float(li25_bound_bits(0.6)), 6)
    3.6
    """
    i = check_nonnegative(kl_bits, "kl_bits")
    out = i + np.log2(i + 3.4) + 1.0
    return float(out) if out.ndim == 0 else out
