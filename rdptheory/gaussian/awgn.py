"""Distortion-perception under AWGN and the score-scaled PF-ODE decoder (THEORY.md §3).

Observation Y = X + tN with X ~ N(0, diag(λ)), N ~ N(0, I) and ``noise_var`` = t²
(a scalar for isotropic noise, or one value per eigen-direction for shaped noise).
A full covariance reduces to its eigenbasis (:func:`rdptheory.gaussian.vector.covariance_spectrum`).

Conventions (THEORY.md §0): MSE is the total over components, ``w2sq`` is W₂² (squared),
rates are bits unless ``unit="nats"``; ρ is the factor on the score in the PF-ODE
(ρ = 1 plain PF-ODE, ρ = 2 MMSE end point).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._units import Unit, check_unit, nats_to
from rdptheory._validation import check_nonnegative, check_positive, check_rho
from rdptheory._validation import check_variances as _check_variances

__all__ = [
    "DPAWGN",
    "ScoreScaledPoint",
    "dp_awgn",
    "score_scaled_point",
]


class DPAWGN(NamedTuple):
    """D(P) under AWGN [FMM21] and its optimal estimator X̂_i = gains_i·Y_i.

    ``mse``, ``alpha``, ``w2sq`` have the shape of ``P``; ``gains`` has ``P.shape + (n,)``;
    ``mmse`` = D* and ``w2sq_mmse`` = W₂²(p_X, p_X*) are floats. ``w2sq`` is the perception
    the estimator attains, min(P, w2sq_mmse).
    """

    mse: np.ndarray | float
    gains: np.ndarray
    alpha: np.ndarray | float
    mmse: float
    w2sq_mmse: float
    w2sq: np.ndarray | float


class ScoreScaledPoint(NamedTuple):
    """Operating point (rate, total MSE, W₂²) of AWGN transmission + score-scaled decoding.

    ``rate`` is in ``unit`` ("bits" or "nats"); the other fields have the shape of ``rho``.
    """

    rate: np.ndarray | float
    mse: np.ndarray | float
    w2sq: np.ndarray | float
    unit: Unit


def _as_output(x: np.ndarray) -> np.ndarray | float:
    """0-d arrays become Python floats (scalar in, float out)."""
    return float(x) if np.ndim(x) == 0 else x


def _check_noise_var(noise_var: npt.ArrayLike, n: int) -> np.ndarray:
    """t² > 0, a scalar (isotropic) or shape (n,) (one value per eigen-direction)."""
    t2 = check_positive(noise_var, "noise_var")
    if t2.ndim > 1 or (t2.ndim == 1 and t2.size != n):
        raise ValueError(
            f"noise_var must be a scalar or have shape ({n},) like variances, got {t2.shape}"
        )
    return t2


def _log_mmse_gain(lam: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """log c_i with c_i = √(λ_i/(λ_i + t²)), via log1p for accuracy at small t²."""
    return -0.5 * np.log1p(t2 / lam)


def dp_awgn(P: npt.ArrayLike, variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> DPAWGN:
    """Distortion-perception function D(P) of estimating X from Y = X + tN [FMM21].

    .. math::

        D(P) = D^* + \\big((W_2(p_X, p_{X^*}) - \\sqrt{P})_+\\big)^2,\\quad
        D^* = \\sum_i \\frac{\\lambda_i t_i^2}{\\lambda_i + t_i^2},\\quad
        W_2^2(p_X, p_{X^*}) = \\sum_i \\lambda_i (1 - c_i)^2

    with c_i = √(λ_i/(λ_i + t_i²)) and X* = E[X|Y] = c_i² Y_i. The optimal estimator
    interpolates between X* and the optimal transport map T_i = 1/c_i with a single α:
    X̂ = ((1 − α)I + αT)X*, α = (1 − √P / W₂(p_X, p_X*))₊, i.e. gains_i = (1 − α)c_i² + αc_i.
    Thm 4 and Sec. 4 of Freirich, Michaeli & Meir (NeurIPS 2021), specialised to a
    Gaussian source with a covariance that commutes with the noise's.

    Parameters
    ----------
    P : array_like, any shape, >= 0
        Perception budget W₂²(p_X, p_X̂) (squared distance, same units as the MSE).
    variances : array_like, shape (n,), > 0
        Source variances λ_i (eigenvalues).
    noise_var : float or array_like, shape (n,), > 0
        t² (isotropic) or t_i² per eigen-direction.

    Returns
    -------
    DPAWGN
        ``mse`` (total), ``gains``, ``alpha``, ``mmse``, ``w2sq_mmse``, ``w2sq``.

    Examples
    --------
    >>> r = dp_awgn(0.0, [1.0], 1.0)
    >>> round(r.mse, 12), round(r.mmse, 12), r.alpha
    (0.585786437627, 0.5, 1.0)
    """
    P = check_nonnegative(P, "P", allow_inf=True)
    lam = _check_variances(variances)
    t2 = _check_noise_var(noise_var, lam.size)
    c = np.exp(_log_mmse_gain(lam, t2))
    mmse = float(np.sum(lam * t2 / (lam + t2)))
    w2sq_mmse = float(np.sum(lam * (1.0 - c) ** 2))
    w2_mmse = np.sqrt(w2sq_mmse)
    sqrt_p = np.sqrt(P)
    alpha = np.maximum(1.0 - sqrt_p / w2_mmse, 0.0)
    mse = mmse + np.maximum(w2_mmse - sqrt_p, 0.0) ** 2
    gains = (1.0 - alpha[..., None]) * c**2 + alpha[..., None] * c
    w2sq = np.minimum(P, w2sq_mmse)
    return DPAWGN(_as_output(mse), gains, _as_output(alpha), mmse, w2sq_mmse, _as_output(w2sq))


def score_scaled_point(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike, *, unit: Unit = "bits"
) -> ScoreScaledPoint:
    """(rate, MSE, W₂²) of "transmit Y = X + tN, decode with the score-scaled PF-ODE".

    .. math::

        R = \\sum_i \\tfrac12\\log\\Big(1 + \\frac{\\lambda_i}{t_i^2}\\Big),\\quad
        D = \\sum_i \\big(\\lambda_i (1 - a_i)^2 + a_i^2 t_i^2\\big),\\quad
        W_2^2 = \\sum_i \\lambda_i \\big(1 - c_i^{\\rho - 1}\\big)^2

    with c_i = √(λ_i/(λ_i + t_i²)) and a_i = c_i^ρ, the end point X̂_i = a_i Y_i of the
    PF-ODE whose score is scaled by ρ (ρ = 1: X̂ = cY, perfect perception; ρ = 2: MMSE).
    R is the ideal channel-simulation rate I(X; Y), before coding overhead. The map
    X̂ = (λ/(λ + t²))^{ρ/2} Y is derived (THEORY.md §3), not stated in [WBZ26]; the
    D expression is the expansion of E(X − aY)² (λ − 2aλ + a²(λ + t²)), rearranged to
    avoid cancellation.

    Parameters
    ----------
    variances : array_like, shape (n,), > 0
        Source variances λ_i (eigenvalues).
    noise_var : float or array_like, shape (n,), > 0
        t² (isotropic, the scheme of [WBZ26]) or t_i² per eigen-direction.
    rho : array_like, any shape, >= 0
        Score scale ρ.
    unit : {"bits", "nats"}
        Unit of ``rate``.

    Returns
    -------
    ScoreScaledPoint
        ``rate`` (float, ``unit``), ``mse`` and ``w2sq`` (shape of ``rho``), ``unit``.

    Examples
    --------
    >>> p = score_scaled_point([1.0], 1.0, 2.0)
    >>> p.rate, round(p.mse, 12), round(p.w2sq, 12)
    (0.5, 0.5, 0.085786437627)
    """
    unit = check_unit(unit)
    lam = _check_variances(variances)
    t2 = _check_noise_var(noise_var, lam.size)
    rho = check_rho(rho)
    log_c = np.broadcast_to(_log_mmse_gain(lam, t2), lam.shape)
    a = np.exp(rho[..., None] * log_c)
    mse = np.sum(lam * (1.0 - a) ** 2 + a**2 * t2, axis=-1)
    # 1 - c^(ρ-1) = -expm1((ρ-1) log c), accurate when c^(ρ-1) is close to 1
    w2sq = np.sum(lam * np.expm1((rho[..., None] - 1.0) * log_c) ** 2, axis=-1)
    rate_nats = float(np.sum(0.5 * np.log1p(lam / t2)))
    return ScoreScaledPoint(
        float(nats_to(rate_nats, unit)), _as_output(mse), _as_output(w2sq), unit
    )
