"""The DiffC chain in AWGN-equivalent (VE) coordinates: noise ladder, step targets and priors.

The encoder walks a decreasing ladder of noise standard deviations ``t_0 > t_1 > … > t_{L-1}``.
Step 0 sends ``y_0 ~ N(x, t_0² I)`` against the data-free prior ``N(0, (t_0² + 1) I)``; step
``i ≥ 1`` sends ``y_i`` from the DDPM posterior, written in VE coordinates (``y = z/√ᾱ``):

.. math::

    q(y_s \\mid y_t, x) = N\\Big(\\big(1 - \\tfrac{s^2}{t^2}\\big)x + \\tfrac{s^2}{t^2} y_t,\\;
        s^2\\big(1 - \\tfrac{s^2}{t^2}\\big) I\\Big),
    \\qquad p(y_s \\mid y_t) = q(y_s \\mid y_t, \\hat x_0(y_t)),

so both have the same variance and the step's KL is
``(1 − s²/t²)‖x − x̂₀(y_t)‖² / (2 s²)`` nats (THEORY.md §4). Multiplying by √ᾱ_s maps the
pair to the VP/DDPM posterior of [TSHM22]/[VL25] exactly (KL is scale-invariant); the VE form
is derived here, not quoted.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rdptheory._validation import check_int, check_positive

#: Variance of the data-free prior of step 0 beyond the noise (data lie in [-1, 1]).
PRIOR_DATA_VAR = 1.0


class StepGaussians(NamedTuple):
    """Target q and proposal p of one step: means (shape of the state) and a common std."""

    mu_q: np.ndarray
    sigma_q: float
    mu_p: np.ndarray
    sigma_p: float


def noise_ladder(t_max: float, t_min: float, n_levels: int) -> np.ndarray:
    """Geometric ladder of noise standard deviations from ``t_max`` down to ``t_min``.

    .. math:: t_i = t_{\\max} (t_{\\min}/t_{\\max})^{i/(L-1)}, \\quad i = 0..L-1

    Parameters: ``t_max > t_min > 0`` (model-space units), ``n_levels = L ≥ 2``.
    Returns float64 (L,), strictly decreasing.
    """
    t_max = float(check_positive(t_max, "t_max"))
    t_min = float(check_positive(t_min, "t_min"))
    check_int(n_levels, "n_levels", low=2, high=65535)
    if t_min >= t_max:
        raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")
    return t_max * (t_min / t_max) ** (np.arange(n_levels) / (n_levels - 1))


def first_step(x: np.ndarray, t0: float) -> StepGaussians:
    """Step 0: ``q = N(x, t_0²)`` against the data-free ``p = N(0, t_0² + 1)``."""
    return StepGaussians(x, t0, np.zeros_like(x), float(np.sqrt(t0**2 + PRIOR_DATA_VAR)))


def reverse_step(x: np.ndarray, x0_hat: np.ndarray, y_t: np.ndarray, t: float,
                 s: float) -> StepGaussians:
    """Step ``t → s`` (s < t): the module's q(y_s | y_t, x) and p(y_s | y_t) = q(·| y_t, x̂₀)."""
    r = (s / t) ** 2
    sigma = s * np.sqrt(1.0 - r)
    return StepGaussians((1.0 - r) * x + r * y_t, sigma, (1.0 - r) * x0_hat + r * y_t, sigma)


def prior_step(x0_hat: np.ndarray, y_t: np.ndarray, t: float, s: float) -> tuple[np.ndarray,
                                                                                  float]:
    """The decoder's side of :func:`reverse_step`: mean and std of ``p(y_s | y_t)``."""
    r = (s / t) ** 2
    return (1.0 - r) * x0_hat + r * y_t, s * np.sqrt(1.0 - r)


def step_kl_nats(step: StepGaussians) -> float:
    """KL(q ‖ p) of a diagonal step in nats (general form; equal-σ steps reduce to ‖Δμ‖²/2σ²).

    .. math:: \\sum_j \\log\\frac{σ_p}{σ_q} + \\frac{σ_q^2 + (μ_{qj} - μ_{pj})^2}{2σ_p^2}
              - \\frac12
    """
    d = step.mu_q.size
    ratio = step.sigma_q / step.sigma_p
    quad = float(np.sum((step.mu_q - step.mu_p) ** 2)) / (2.0 * step.sigma_p**2)
    return d * (-np.log(ratio) + 0.5 * ratio**2 - 0.5) + quad

