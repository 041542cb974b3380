"""The VE diffusion chain every codec walks: noise ladders, forward posterior, reverse step.

AWGN-equivalent (VE) coordinates (THEORY.md §0, §4): the state at noise variance t² is
``y_t = x + t n``, and the chain is Markov in decreasing noise, ``y_t = y_s + sqrt(t² - s²) n'``
for ``s < t``. Every function here takes noise *variances* ``s2 = s²``, ``t2 = t²`` (scalars or
arrays broadcasting against the state: one level per direction is allowed).

With ``r = s²/t²`` (derived for this project; the VP/DDPM posterior of [TSHM22]/[VL25] is this
pair multiplied by sqrt(ᾱ_s) = 1/sqrt(1 + s²), and KL is invariant under that scaling):

.. math::

    q(y_s \\mid y_t, x) &= \\mathcal N\\big(x + r (y_t - x),\\; s^2 (1 - r)\\big)
        && \\text{(forward posterior)}\\\\
    p(y_s \\mid y_t) &= \\mathcal N\\big(\\hat x_0 + r (y_t - \\hat x_0),\\;
        s^2 (1 - r) + (1 - r)^2 v\\big) && \\text{(model's reverse step)}

where ``x̂₀ = E[x | y_t]`` is the model's denoiser and ``v`` the variance it assigns to x around
x̂₀ (``v = 0``: the plug-in step ``q(· | y_t, x̂₀)`` of DiffC; ``v = Var[x | y_t]``: the exact
reverse kernel of a Gaussian model, :func:`gaussian_reverse_kernel`). The ``v`` term follows
from ``y_s = x + r (y_t - x) + s sqrt(1 - r) n`` given ``y_t`` (ours).

Two ladders, both geometric (equivalently in t and in t²): :func:`noise_ladder` (standard
deviations from ``t_max`` down to ``t_min``; the image codec) and :func:`geometric_grid` (one
ratio per direction, anchored at the target level with a nearly free top; the Gaussian codec).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_int, check_positive

#: Per-direction I(X_i; Y_i) (nats) at the top of :func:`geometric_grid` (the first message).
TOP_INFO_NATS = 0.01

#: Variance of the data-free prior of the first step beyond the noise (images in [-1, 1]).
PRIOR_DATA_VAR = 1.0


class StepGaussians(NamedTuple):
    """Target q and proposal p of one step: means (shape of the state) and stds."""

    mu_q: np.ndarray
    sigma_q: float | np.ndarray
    mu_p: np.ndarray
    sigma_p: float | np.ndarray


# ---------------------------------------------------------------- ladders


def noise_ladder(t_max: float, t_min: float, n_levels: int) -> np.ndarray:
    """Geometric ladder of noise standard deviations from ``t_max`` down to ``t_min``.

    .. math:: t_i = t_{\\max} (t_{\\min}/t_{\\max})^{i/(L-1)}, \\quad i = 0..L-1

    Parameters
    ----------
    t_max, t_min : float, ``t_max > t_min > 0`` (model-space units).
    n_levels : int, ``L >= 2``.

    Returns
    -------
    float64 array (L,), strictly decreasing.

    >>> noise_ladder(4.0, 1.0, 3).tolist()
    [4.0, 2.0, 1.0]
    """
    t_max = float(check_positive(t_max, "t_max"))
    t_min = float(check_positive(t_min, "t_min"))
    check_int(n_levels, "n_levels", low=2, high=65535)
    if t_min >= t_max:
        raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")
    return t_max * (t_min / t_max) ** (np.arange(n_levels) / (n_levels - 1))


def geometric_grid(noise_var: np.ndarray, variances: np.ndarray, steps: int) -> np.ndarray:
    """Noise variances ``t²_{i,k}`` for k = 0..steps (k = 0 the target, k = steps the top).

    Geometric in t² per direction, ``t²_{i,k} = t²_i g^k``, with one ratio g chosen so that
    the top level carries at most :data:`TOP_INFO_NATS` nats per direction of a
    ``N(0, λ_i)`` source: a DiffC-style reverse chain [TSHM22] whose first message is almost
    free. Shape (steps + 1, d).

    .. math:: g = \\Big(\\max_i \\frac{\\lambda_i / t_i^2}{e^{2 I_{top}} - 1}\\Big)^{1/K}
    """
    noise_var = np.asarray(check_positive(noise_var, "noise_var"), dtype=float)
    variances = np.asarray(check_positive(variances, "variances"), dtype=float)
    steps = check_int(steps, "steps", low=1)
    ratio = np.max(variances / noise_var) / np.expm1(2 * TOP_INFO_NATS)
    g = max(ratio, 1.0) ** (1.0 / steps)
    return noise_var[None, :] * g ** np.arange(steps + 1)[:, None]


def mutual_information_nats(variances: np.ndarray, noise_var: np.ndarray) -> float:
    """I(X; Y_t) of a ``N(0, diag λ)`` source in nats (t² = inf carries nothing).

    .. math:: I = \\sum_i \\tfrac12 \\log(1 + \\lambda_i / t_i^2)
    """
    return float(np.sum(0.5 * np.log1p(variances / noise_var)))


def noise_var_for_rate(variances: np.ndarray, rate_nats: float) -> float:
    """The isotropic t² with I(X; Y_t) = ``rate_nats`` (bisection on log t²).

    .. math:: \\sum_i \\tfrac12 \\log(1 + \\lambda_i / t^2) = R
    """
    from scipy.optimize import brentq  # here: the image codec imports this module (~0.4 s)

    f = lambda log_t2: mutual_information_nats(variances, np.exp(log_t2)) - rate_nats  # noqa: E731
    lo, hi = np.log(variances.min()) - 80.0, np.log(variances.max()) + 80.0
    return float(np.exp(brentq(f, lo, hi, xtol=1e-14, rtol=1e-15)))


# ---------------------------------------------------------------- steps


def forward_posterior(x: npt.ArrayLike, y_t: npt.ArrayLike, s2: npt.ArrayLike,
                      t2: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """q(y_s | y_t, x) for s² < t²: (mean, std; a float for scalar levels, else broadcast).

    .. math:: q = \\mathcal N\\big(x + \\tfrac{s^2}{t^2}(y_t - x),\\;
              \\tfrac{s^2 (t^2 - s^2)}{t^2}\\big)

    The forward-process posterior of the VE chain (module docstring; THEORY.md §4).
    """
    x, y_t = np.asarray(x, dtype=float), np.asarray(y_t, dtype=float)
    s2, t2 = np.asarray(s2, dtype=float), np.asarray(t2, dtype=float)
    mean = x + (s2 / t2) * (y_t - x)
    return mean, _std(np.sqrt(s2 * (t2 - s2) / t2), mean.shape)


def _std(sd: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A 0-d std for scalar levels, else the std broadcast to the state's shape."""
    return sd if np.ndim(sd) == 0 else np.broadcast_to(sd, shape)


def reverse_step(x0_hat: npt.ArrayLike, y_t: npt.ArrayLike, s2: npt.ArrayLike,
                 t2: npt.ArrayLike, x0_var: npt.ArrayLike = 0.0) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """The model's reverse step p(y_s | y_t): (mean, std as in :func:`forward_posterior`).

    .. math:: p = \\mathcal N\\big(\\hat x_0 + r (y_t - \\hat x_0),\\;
              s^2 (1 - r) + (1 - r)^2 v\\big), \\quad r = s^2/t^2

    ``x0_hat`` is the model's denoiser at ``y_t``; ``x0_var`` the variance v it assigns to
    x around it (0: the plug-in step q(· | y_t, x̂₀) of DiffC [TSHM22, VL25]). Derived for
    this project (module docstring).
    """
    mean, sd = forward_posterior(x0_hat, y_t, s2, t2)
    v = np.asarray(x0_var, dtype=float)
    if not np.any(v):
        return mean, sd
    one_r = 1.0 - np.asarray(s2, dtype=float) / np.asarray(t2, dtype=float)
    return mean, _std(np.sqrt(sd**2 + one_r**2 * v), mean.shape)


def plug_in_step(x: np.ndarray, x0_hat: np.ndarray, y_t: np.ndarray, s2: npt.ArrayLike,
                 t2: npt.ArrayLike) -> StepGaussians:
    """One step ``t → s`` of a codec: q(y_s | y_t, x) against p(y_s | y_t) = q(· | y_t, x̂₀).

    Both have the same std, so the step's KL is ``(1 - r)‖x - x̂₀‖² / (2 s²)`` nats
    (:func:`step_kl_nats`).
    """
    mu_q, sigma_q = forward_posterior(x, y_t, s2, t2)
    mu_p, sigma_p = reverse_step(x0_hat, y_t, s2, t2)
    return StepGaussians(mu_q, sigma_q, mu_p, sigma_p)


def gaussian_reverse_kernel(y_t: np.ndarray, variances: np.ndarray, s2: np.ndarray,
                            t2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact reverse kernel p(y_s | y_t) of a ``N(0, diag λ)`` source (closed form).

    .. math:: p(y_s | y_t) = \\mathcal N\\Big(\\frac{\\lambda + s^2}{\\lambda + t^2} y_t,\\;
              \\frac{(\\lambda + s^2)(t^2 - s^2)}{\\lambda + t^2}\\Big)

    It is :func:`reverse_step` with ``x̂₀ = λ y_t/(λ + t²)`` and ``v = λ t²/(λ + t²)`` (the
    Gaussian posterior). With it the expected KLs of the chain telescope to I(X; Y_target)
    exactly (chain rule of mutual information on X - Y_s - Y_t). Derived for this project
    (THEORY.md §4 uses the DDPM kernel, which matches it only in the continuum limit).
    """
    mean = (variances + s2) / (variances + t2) * y_t
    return mean, _std(np.sqrt((variances + s2) * (t2 - s2) / (variances + t2)), y_t.shape)


def first_step(x: np.ndarray, t2: npt.ArrayLike,
               prior_var: npt.ArrayLike = PRIOR_DATA_VAR) -> StepGaussians:
    """The top of the chain: ``q = N(x, t²)`` against the data-free ``p = N(0, t² + prior_var)``.

    ``prior_var``: the source's variance per direction (λ for a Gaussian source; 1 for images
    in [-1, 1], :data:`PRIOR_DATA_VAR`).
    """
    t2a = np.asarray(t2, dtype=float)
    sd_q = np.sqrt(t2a)
    sd_p = np.sqrt(np.asarray(prior_var, dtype=float) + t2a)
    if sd_q.ndim or sd_p.ndim:  # a level or a prior variance per direction
        sd_q, sd_p = np.broadcast_to(sd_q, x.shape), np.broadcast_to(sd_p, x.shape)
    else:
        sd_q, sd_p = float(sd_q), float(sd_p)
    return StepGaussians(x, sd_q, np.zeros_like(x), sd_p)


def step_kl_nats(step: StepGaussians) -> float:
    """KL(q ‖ p) of a diagonal Gaussian step in nats.

    .. math:: \\sum_j \\log\\frac{σ_{pj}}{σ_{qj}} + \\frac{σ_{qj}^2 + (μ_{qj} - μ_{pj})^2}
              {2σ_{pj}^2} - \\frac12

    For a plug-in step (equal σ) this is ``(1 - r)‖x - x̂₀‖² / (2 s²)``.
    """
    ratio = np.broadcast_to(np.asarray(step.sigma_q, dtype=float)
                            / np.asarray(step.sigma_p, dtype=float), step.mu_q.shape)
    sp = np.broadcast_to(np.asarray(step.sigma_p, dtype=float), step.mu_q.shape)
    quad = float(np.sum((step.mu_q - step.mu_p) ** 2 / (2.0 * sp**2)))
    return float(np.sum(-np.log(ratio) + 0.5 * ratio**2 - 0.5)) + quad
