"""Public per-coordinate KL of diagonal Gaussians (the quantity the chunking budgets)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._units import Unit, check_unit, nats_to

from ._chunking import diagonal_gaussian_kl_nats
from .coding import _check_target, check_proposal


def diagonal_gaussian_kl(
    mu_q: npt.ArrayLike,
    sigma_q: npt.ArrayLike,
    mu_p: npt.ArrayLike,
    sigma_p: npt.ArrayLike,
    *,
    unit: Unit = "bits",
) -> np.ndarray:
    """Per-coordinate KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)), shaped like mu_p.

    .. math::

        \\mathrm{KL}_j = \\log\\frac{\\sigma_{pj}}{\\sigma_{qj}}
        + \\frac{\\sigma_{qj}^2 + (\\mu_{qj}-\\mu_{pj})^2}{2\\sigma_{pj}^2} - \\frac12

    THEORY.md §5 (the chunk budget); the DiffC case sigma_q = sigma_p gives
    (mu_q - mu_p)^2 / (2 sigma^2) nats.

    Parameters
    ----------
    mu_q, mu_p : float arrays of one shape; sigma_q, sigma_p : positive, broadcasting to it
    unit : "bits" (default) or "nats"

    Returns
    -------
    float64 array shaped like mu_p, in ``unit``

    >>> float(diagonal_gaussian_kl(1.0, 1.0, 0.0, 1.0, unit="nats")[()])
    0.5
    """
    unit = check_unit(unit)
    mu_p_f, sigma_p_f, shape = check_proposal(mu_p, sigma_p)
    mu_q_f, sigma_q_f = _check_target(mu_q, sigma_q, shape)
    return nats_to(diagonal_gaussian_kl_nats(mu_q_f, sigma_q_f, mu_p_f, sigma_p_f), unit).reshape(
        shape
    )
