"""Gaussian maths of the codec: noise grids, exact reverse kernels, rate <-> noise level.

All in the source's eigenbasis, per direction i with variance lambda_i, AWGN-equivalent
coordinates y = x + t n (THEORY.md §0, §4).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

#: Per-direction I(X_i; Y_i) (nats) at the top of the progressive chain (first message).
TOP_INFO_NATS = 0.01


def mutual_information_nats(variances: np.ndarray, noise_var: np.ndarray) -> float:
    """I(X; Y) = sum_i 1/2 log(1 + lambda_i / t_i^2) in nats (t_i^2 = inf carries nothing)."""
    return float(np.sum(0.5 * np.log1p(variances / noise_var)))


def noise_var_for_rate(variances: np.ndarray, rate_nats: float) -> float:
    """The isotropic t^2 with I(X; Y) = ``rate_nats`` (bisection on log t^2).

    .. math:: \\sum_i \\tfrac12 \\log(1 + \\lambda_i / t^2) = R
    """
    f = lambda log_t2: mutual_information_nats(variances, np.exp(log_t2)) - rate_nats
    lo, hi = np.log(variances.min()) - 80.0, np.log(variances.max()) + 80.0
    return float(np.exp(brentq(f, lo, hi, xtol=1e-14, rtol=1e-15)))


def noise_grid(noise_var: np.ndarray, variances: np.ndarray, steps: int) -> np.ndarray:
    """Noise levels t_{i,k}^2 for k = 0..steps (k = 0 the target, k = steps the top).

    Geometric in t^2 per direction, t_{i,k}^2 = t_i^2 g^k, with one ratio g chosen so that the
    top level carries at most TOP_INFO_NATS nats per direction: a DiffC-style reverse chain
    [TSHM22] whose first message is almost free. Shape (steps + 1, d).
    """
    ratio = np.max(variances / noise_var) / np.expm1(2 * TOP_INFO_NATS)
    g = max(ratio, 1.0) ** (1.0 / steps)
    return noise_var[None, :] * g ** np.arange(steps + 1)[:, None]


def forward_posterior(
    x: np.ndarray, y_b: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """q(y_a | y_b, x) for a < b: mean x + (a/b)(y_b - x), std sqrt(a (b - a) / b).

    The forward-process posterior of the VE chain y_b = y_a + sqrt(b - a) n (THEORY.md §4).
    """
    return x + (a / b) * (y_b - x), np.broadcast_to(np.sqrt(a * (b - a) / b), x.shape)


def reverse_kernel(
    y_b: np.ndarray, variances: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The exact Gaussian reverse kernel p(y_a | y_b) of a N(0, lambda) source.

    .. math:: p(y_a | y_b) = \\mathcal N\\Big(\\frac{\\lambda + a}{\\lambda + b} y_b,\\;
              \\frac{(\\lambda + a)(b - a)}{\\lambda + b}\\Big)

    With this kernel the expected KLs of the chain telescope to I(X; Y_target) exactly
    (chain rule of mutual information on the Markov chain X - Y_a - Y_b). Derived for this
    project (THEORY.md §4 uses the DDPM kernel, which matches it only in the continuum limit).
    """
    mean = (variances + a) / (variances + b) * y_b
    return mean, np.broadcast_to(np.sqrt((variances + a) * (b - a) / (variances + b)), y_b.shape)
