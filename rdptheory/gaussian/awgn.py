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
from rdptheory._validation import Perception, check_rho
from rdptheory.gaussian._common import (
    FloatOrArray,
    as_output,
    check_nonnegative,
    check_positive,
    convert_rate,
    deprecate_fields,
    guarded,
)
from rdptheory.gaussian._common import check_variances as _check_variances
from rdptheory.gaussian.vector import drp_vector, rdp_vector, rdp_vector_solution

__all__ = [
    "DPAWGN",
    "ScoreScaledPoint",
    "ScoreScaledLoss",
    "ShapedNoisePoint",
    "dp_awgn",
    "score_scaled_point",
    "score_scaled_gap",
    "score_scaled_loss",
    "score_scaled_dp_gap",
    "per_direction_rho",
    "per_direction_point",
    "shaped_noise_point",
]


class DPAWGN(NamedTuple):
    """D(P) under AWGN [FMM21] and its optimal estimator X̂_i = gain_i·Y_i.

    ``mse``, ``alpha``, ``perception_value`` have the shape of ``P``; ``gain`` has
    ``P.shape + (n,)``; ``mmse`` = D* and ``perception_value_mmse`` = W₂²(p_X, p_X*) are
    floats. ``perception_value`` is the W₂² (``perception = "w2sq"``) the estimator attains,
    min(P, perception_value_mmse).
    """

    mse: FloatOrArray
    gain: np.ndarray
    alpha: FloatOrArray
    mmse: float
    perception_value_mmse: float
    perception_value: FloatOrArray
    perception: Perception = "w2sq"


class ScoreScaledPoint(NamedTuple):
    """Operating point (rate, total MSE, W₂²) of AWGN transmission + score-scaled decoding.

    ``rate_nats`` (``rate_bits`` converts) is a float; ``mse`` and ``perception_value``
    (W₂², ``perception = "w2sq"``) have the shape of ``rho``.
    """

    rate_nats: float
    mse: FloatOrArray
    perception_value: FloatOrArray
    perception: Perception = "w2sq"

    @property
    def rate_bits(self) -> float:
        """The rate in bits."""
        return float(convert_rate(self.rate_nats, "nats", "bits"))


class ScoreScaledLoss(NamedTuple):
    """Where the score-scaled scheme loses MSE against the optimum, in dB (THEORY.md §3).

    At the scheme's own rate (``rate_nats``) and perception (``perception_value``, W₂²):
    ``mse_scheme`` (isotropic noise + single ρ), ``mse_single_alpha`` (same isotropic noise,
    [FMM21]'s optimal single-α decoder at that W₂²) and ``mse_optimal`` = D(R, P)
    (shaped noise, :func:`rdptheory.gaussian.vector.drp_vector`).
    ``decoder_loss_db`` = 10 log10(mse_scheme/mse_single_alpha),
    ``noise_loss_db`` = 10 log10(mse_single_alpha/mse_optimal) (isotropic noise cannot
    water-fill), ``total_loss_db`` = their sum. Fields other than ``rate_nats`` have the
    shape of ``rho``.
    """

    rate_nats: float
    perception_value: FloatOrArray
    mse_scheme: FloatOrArray
    mse_single_alpha: FloatOrArray
    mse_optimal: FloatOrArray
    decoder_loss_db: FloatOrArray
    noise_loss_db: FloatOrArray
    total_loss_db: FloatOrArray
    perception: Perception = "w2sq"

    @property
    def rate_bits(self) -> float:
        """The scheme's rate in bits."""
        return float(convert_rate(self.rate_nats, "nats", "bits"))


class ShapedNoisePoint(NamedTuple):
    """Shaped-noise transmission + per-direction score scales meeting R(D, P) exactly.

    ``noise_var`` (n,): t_i² per eigen-direction (inf where a direction carries no rate);
    ``rho`` (n,): the per-direction score scale ρ_i with c_i^{ρ_i} = ``gain``_i, ρ_i ∈ [1, 2]
    (2 on rate-less directions reconstructed at 0, NaN where the reconstruction must be
    independent noise, which no decoder of Y can produce: the R = 0 regime with P < Σλ);
    ``gain`` (n,): X̂_i = gain_i·Y_i. ``rate_nats`` (``rate_bits`` converts), ``mse`` and
    ``perception_value`` (W₂², ``perception = "w2sq"``) are totals.
    """

    noise_var: np.ndarray
    rho: np.ndarray
    gain: np.ndarray
    rate_nats: float
    mse: float
    perception_value: float
    perception: Perception = "w2sq"

    @property
    def rate_bits(self) -> float:
        """The rate in bits."""
        return float(convert_rate(self.rate_nats, "nats", "bits"))


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


@guarded()
def dp_awgn(P: npt.ArrayLike, variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> DPAWGN:
    """Distortion-perception function D(P) of estimating X from Y = X + tN [FMM21].

    .. math::

        D(P) = D^* + \\big((W_2(p_X, p_{X^*}) - \\sqrt{P})_+\\big)^2,\\quad
        D^* = \\sum_i \\frac{\\lambda_i t_i^2}{\\lambda_i + t_i^2},\\quad
        W_2^2(p_X, p_{X^*}) = \\sum_i \\lambda_i (1 - c_i)^2

    with c_i = √(λ_i/(λ_i + t_i²)) and X* = E[X|Y] = c_i² Y_i. The optimal estimator
    interpolates between X* and the optimal transport map T_i = 1/c_i with a single α:
    X̂ = ((1 − α)I + αT)X*, α = (1 − √P / W₂(p_X, p_X*))₊, i.e. gains_i = (1 − α)c_i² + αc_i.
    Thm 4 and Sec. 4 of [FMM21] (Freirich, Michaeli & Meir, NeurIPS 2021), specialised to
    a Gaussian source with a covariance that commutes with the noise's.

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
        ``mse`` (total), ``gain``, ``alpha``, ``mmse``, ``perception_value_mmse``,
        ``perception_value``.

    Examples
    --------
    >>> r = dp_awgn(0.0, [1.0], 1.0)
    >>> round(r.mse, 12), round(r.mmse, 12), r.alpha
    (0.585786437627, 0.5, 1.0)
    """
    P, lam, t2 = _check_dp_args(P, variances, noise_var)
    log_c, one_minus_c, mmse, w2sq_mmse = _mmse_terms(lam, t2)
    c = np.exp(log_c)
    alpha = _single_alpha(P, w2sq_mmse)
    mse = mmse + np.maximum(np.sqrt(w2sq_mmse) - np.sqrt(P), 0.0) ** 2
    gains = c**2 + alpha[..., None] * c * one_minus_c  # (1 − α)c² + αc
    w2sq = np.minimum(P, w2sq_mmse)
    return DPAWGN(as_output(mse), gains, as_output(alpha), mmse, w2sq_mmse, as_output(w2sq))


def _check_dp_args(
    P: npt.ArrayLike, variances: npt.ArrayLike, noise_var: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(P >= 0, λ (n,) > 0, t² > 0 scalar or (n,))``."""
    lam = _check_variances(variances)
    return check_nonnegative(P, "P", allow_inf=True), lam, _check_noise_var(noise_var, lam.size)


def _mmse_terms(lam: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(log c_i, 1 − c_i, D*, W₂²(p_X, p_X*))`` of THEORY.md §3, accurate for small t²."""
    log_c = np.broadcast_to(_log_mmse_gain(lam, t2), lam.shape)
    one_minus_c = -np.expm1(log_c)
    mmse = float(np.sum(lam * t2 / (lam + t2)))
    return log_c, one_minus_c, mmse, float(np.sum(lam * one_minus_c**2))


def _single_alpha(P: np.ndarray, w2sq_mmse: float) -> np.ndarray:
    """[FMM21]'s interpolation weight α = (1 − √P / W₂(p_X, p_X*))₊."""
    return np.maximum(1.0 - np.sqrt(P) / np.sqrt(w2sq_mmse), 0.0)


@guarded()
def score_scaled_point(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike
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

    Returns
    -------
    ScoreScaledPoint
        ``rate_nats`` (float; ``rate_bits`` converts), ``mse`` and ``perception_value``
        (W₂²; shape of ``rho``).

    Examples
    --------
    >>> p = score_scaled_point([1.0], 1.0, 2.0)
    >>> p.rate_bits, round(p.mse, 12), round(p.perception_value, 12)
    (0.5, 0.5, 0.085786437627)
    """
    lam = _check_variances(variances)
    t2 = _check_noise_var(noise_var, lam.size)
    rho = check_rho(rho)
    log_c = np.broadcast_to(_log_mmse_gain(lam, t2), lam.shape)
    return _linear_decoder_point(lam, t2, rho[..., None] * log_c)


def _linear_decoder_point(lam: np.ndarray, t2: np.ndarray, log_a: np.ndarray) -> ScoreScaledPoint:
    """(rate, MSE, W₂²) of X̂_i = a_i Y_i, Y_i = X_i + t_i N_i; ``log_a`` has shape (..., n)."""
    log_c = _log_mmse_gain(lam, t2)
    a = np.exp(log_a)
    mse = np.sum(lam * (1.0 - a) ** 2 + a**2 * t2, axis=-1)
    # std of X̂_i is √λ_i·a_i/c_i; 1 − a/c = −expm1(log a − log c), accurate near a = c
    w2sq = np.sum(lam * np.expm1(log_a - log_c) ** 2, axis=-1)
    rate_nats = float(np.sum(0.5 * np.log1p(lam / t2) * np.ones_like(lam)))
    return ScoreScaledPoint(rate_nats, as_output(mse), as_output(w2sq))


@guarded()
def per_direction_point(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike
) -> ScoreScaledPoint:
    """Operating point of AWGN transmission decoded with one score scale ρ_i per direction.

    .. math::

        \\hat X_i = c_i^{\\rho_i} Y_i,\\quad
        D = \\sum_i \\big(\\lambda_i(1 - c_i^{\\rho_i})^2 + c_i^{2\\rho_i} t_i^2\\big),\\quad
        W_2^2 = \\sum_i \\lambda_i\\big(1 - c_i^{\\rho_i - 1}\\big)^2

    Derived (THEORY.md §3), not stated in [WBZ26]: the PF-ODE of §3 run with the score of
    direction i scaled by ρ_i (the directions decouple for a Gaussian source).

    Parameters
    ----------
    variances : array_like, shape (n,), > 0
        Source variances λ_i.
    noise_var : float or array_like, shape (n,), > 0
        t² or t_i².
    rho : array_like, shape (..., n), >= 0
        Per-direction score scales (leading axes batch).

    Returns
    -------
    ScoreScaledPoint
        ``mse`` and ``perception_value`` have the leading shape of ``rho``.

    Examples
    --------
    >>> p = per_direction_point([1.0, 1.0], 1.0, [1.0, 2.0])
    >>> p.rate_bits, round(p.mse, 12), round(p.perception_value, 12)
    (1.0, 1.085786437627, 0.085786437627)
    """
    lam = _check_variances(variances)
    t2 = _check_noise_var(noise_var, lam.size)
    rho = check_rho(rho)
    if rho.ndim == 0 or rho.shape[-1] != lam.size:
        raise ValueError(
            f"rho must have shape (..., {lam.size}) (one per direction), got {rho.shape}"
        )
    return _linear_decoder_point(lam, t2, rho * _log_mmse_gain(lam, t2))


@guarded()
def per_direction_rho(
    P: npt.ArrayLike, variances: npt.ArrayLike, noise_var: npt.ArrayLike
) -> np.ndarray:
    """Per-direction score scales ρ_i that realise [FMM21]'s optimal D(P) estimator.

    .. math::

        c_i^{\\rho_i} = (1 - \\alpha)c_i^2 + \\alpha c_i
        \\;\\Longrightarrow\\;
        \\rho_i = 1 + \\frac{\\log\\big(1 - (1 - \\alpha)(1 - c_i)\\big)}{\\log c_i}

    with α from :func:`dp_awgn`. Derived (THEORY.md §3), not stated in the paper: a single ρ
    gives the power law c_i^ρ, which matches the single-α interpolation only at ρ ∈ {1, 2} or
    for white sources; one ρ_i per eigen-direction matches it for every P.

    Parameters
    ----------
    P : array_like, any shape, >= 0
        W₂² budget.
    variances : array_like, shape (n,), > 0
    noise_var : float or array_like, shape (n,), > 0

    Returns
    -------
    ndarray, shape P.shape + (n,)
        ρ_i ∈ [1, 2].

    Examples
    --------
    >>> per_direction_rho([0.0, np.inf], [1.0], 1.0).ravel().tolist()
    [1.0, 2.0]
    """
    P, lam, t2 = _check_dp_args(P, variances, noise_var)
    log_c, one_minus_c, _, w2sq_mmse = _mmse_terms(lam, t2)
    alpha = _single_alpha(P, w2sq_mmse)[..., None]
    return 1.0 + np.log1p(-(1.0 - alpha) * one_minus_c) / log_c


@guarded()
def score_scaled_gap(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike, *, unit: Unit = "bits"
) -> FloatOrArray:
    """Rate gap of the score-scaled scheme to R(D, P) at its own (D, P).

    .. math::

        \\Delta R = R_{\\text{scheme}} - R(D_{\\text{scheme}}, W^2_{2,\\text{scheme}})

    with R(D, P) of :func:`rdptheory.gaussian.vector.rdp_vector`. Derived (THEORY.md §3):
    0 to rounding for scalar and white sources, > 0 for non-white spectra.

    Parameters
    ----------
    variances : array_like, shape (n,), > 0
    noise_var : float or array_like, shape (n,), > 0
    rho : array_like, any shape, >= 0
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray (shape of rho)
        ΔR in ``unit``.

    Examples
    --------
    >>> round(score_scaled_gap([1.0, 0.25], 0.5, 1.0), 12)  # non-white: above R(D, P)
    0.012425401415
    >>> abs(score_scaled_gap([1.0], 0.5, 1.5)) < 1e-12  # scalar: on R(D, P)
    True
    """
    unit = check_unit(unit)
    point = score_scaled_point(variances, noise_var, rho)
    optimum = np.asarray(rdp_vector(point.mse, point.perception_value, variances, unit="nats"))
    return as_output(nats_to(point.rate_nats - optimum, unit))


def _db(ratio: np.ndarray) -> np.ndarray:
    """A ratio of MSEs in decibels."""
    return 10.0 * np.log10(ratio)


def _against_single_alpha(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike
) -> tuple[ScoreScaledPoint, np.ndarray, np.ndarray]:
    """The scheme's point (nats), its MSE and [FMM21]'s single-α MSE at the same W₂²."""
    point = score_scaled_point(variances, noise_var, rho)
    single_alpha = np.asarray(dp_awgn(point.perception_value, variances, noise_var).mse)
    return point, np.asarray(point.mse), single_alpha


@guarded()
def score_scaled_dp_gap(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike
) -> FloatOrArray:
    """Decoder-side loss (dB) of a single ρ against [FMM21]'s single-α decoder, equal W₂².

    .. math::

        10\\log_{10}\\frac{D_{\\text{scheme}}(\\rho)}
        {D\\big(P = W^2_{2,\\text{scheme}}(\\rho)\\big)}

    Derived (THEORY.md §3): exactly 0 at ρ = 1 and ρ = 2 and for white sources.

    Parameters
    ----------
    variances : array_like, shape (n,), > 0
    noise_var : float or array_like, shape (n,), > 0
    rho : array_like, any shape, >= 0

    Returns
    -------
    float or ndarray (shape of rho)
        Loss in dB (>= 0).

    Examples
    --------
    >>> score_scaled_dp_gap([1.0, 0.1], 0.1, [1.0, 1.5, 2.0]).round(10).tolist()
    [0.0, 0.0001358354, 0.0]
    """
    _, mse, single_alpha = _against_single_alpha(variances, noise_var, rho)
    return as_output(_db(mse / single_alpha))


@guarded()
def score_scaled_loss(
    variances: npt.ArrayLike, noise_var: npt.ArrayLike, rho: npt.ArrayLike
) -> ScoreScaledLoss:
    """Split the scheme's MSE loss (dB) into decoder (single ρ) and noise (isotropic) parts.

    .. math::

        \\underbrace{10\\log_{10}\\frac{D_{\\text{scheme}}}{D_{\\text{FMM}}(W_2^2)}}_{\\text{decoder}}
        + \\underbrace{10\\log_{10}\\frac{D_{\\text{FMM}}(W_2^2)}{D(R, W_2^2)}}_{\\text{noise}}

    at the scheme's rate R and perception W₂². Derived (THEORY.md §3), not stated in the paper.

    Parameters
    ----------
    variances : array_like, shape (n,), > 0
    noise_var : float (isotropic) or array_like, shape (n,), > 0
    rho : array_like, any shape, >= 0

    Returns
    -------
    ScoreScaledLoss

    Examples
    --------
    >>> loss = score_scaled_loss([1.0, 0.25], 0.5, 1.5)
    >>> round(loss.decoder_loss_db, 10), round(loss.noise_loss_db, 10)
    (0.0005411889, 0.1067178373)
    >>> abs(score_scaled_loss([1.0, 1.0], 0.5, 1.5).total_loss_db) < 1e-9  # white: no loss
    True
    """
    point, mse, single_alpha = _against_single_alpha(variances, noise_var, rho)
    rate, w2sq = point.rate_nats, point.perception_value
    optimal = np.asarray(drp_vector(rate, w2sq, variances, unit="nats"))
    dec, noise = _db(mse / single_alpha), _db(single_alpha / optimal)
    return ScoreScaledLoss(
        point.rate_nats,
        point.perception_value,
        as_output(mse),
        as_output(single_alpha),
        as_output(optimal),
        as_output(dec),
        as_output(noise),
        as_output(dec + noise),
    )


@guarded(nan_fields=("rho",))
def shaped_noise_point(
    D: npt.ArrayLike, P: npt.ArrayLike, variances: npt.ArrayLike
) -> ShapedNoisePoint:
    """Shaped noise per eigen-direction + per-direction ρ_i that achieve R(D, P) exactly.

    .. math::

        t_i^2 = \\lambda_i\\frac{1 - c_i^2}{c_i^2},\\qquad
        \\hat X_i = g_i (X_i + t_i N_i),\\qquad \\rho_i = \\frac{\\log g_i}{\\log c_i}

    with (c_i, g_i) the forward test channel of
    :func:`rdptheory.gaussian.vector.rdp_vector_solution`; the rate
    Σ ½ log(1 + λ_i/t_i²) equals R(D, P). Derived (THEORY.md §2-§3), not stated in the paper.

    Parameters
    ----------
    D : float, > 0
    P : float, >= 0
    variances : array_like, shape (n,), > 0

    Returns
    -------
    ShapedNoisePoint

    Examples
    --------
    >>> sp = shaped_noise_point(0.5, 0.01, [1.0])
    >>> round(sp.rate_bits, 10), round(sp.mse, 12), round(sp.perception_value, 12)
    (0.5441127892, 0.5, 0.01)
    """
    sol = rdp_vector_solution(D, P, variances)
    live = sol.correlation > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(live, np.log(sol.gain) / np.log(sol.correlation), 2.0)
    rho = np.where(~live & (sol.recon_std > 0), np.nan, rho)
    return ShapedNoisePoint(
        sol.noise_var, rho, sol.gain, sol.rate_nats, sol.mse, sol.perception_value
    )

# Renamed in 0.2.0 (CHANGELOG.md): the old names still work, with a DeprecationWarning.
deprecate_fields(DPAWGN, gains="gain", w2sq_mmse="perception_value_mmse", w2sq="perception_value")
deprecate_fields(ScoreScaledPoint, w2sq="perception_value")
deprecate_fields(ScoreScaledLoss, w2sq="perception_value")
deprecate_fields(ShapedNoisePoint, gains="gain", w2sq="perception_value")
