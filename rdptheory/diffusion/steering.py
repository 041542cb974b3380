"""Steering the decoder for Gaussian sources: choose ρ, or use the exactly D(P)-optimal decoders.

The score-scaled decoder with one ρ gives per-direction gains c_i^ρ (c_i = √(λ_i/(λ_i+t²)));
its (D, W₂²) come from :func:`rdptheory.gaussian.awgn.score_scaled_point`. [FMM21]'s optimal
estimator has gains (1 − α)c_i² + αc_i (:func:`rdptheory.gaussian.awgn.dp_awgn`); one ρ matches
it only at ρ ∈ {1, 2} or for white sources, one ρ_i per eigen-direction always does
(THEORY.md §3).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_nonnegative, check_positive, check_variances
from rdptheory.diffusion.models import DiffusionModel, GaussianModel
from rdptheory.diffusion.solvers import decode

# scipy.optimize and rdptheory.gaussian (which imports scipy.integrate/optimize/special) are
# imported where they are used: the image codec imports this package and needs neither
# (~0.5 s of CPU at every CLI start-up).


def _log_c(variances: np.ndarray, noise_var: Any) -> np.ndarray:
    """log c_i = −½ log(1 + t²/λ_i)."""
    return -0.5 * np.log1p(noise_var / variances)


def _w2sq(rho: float, variances: np.ndarray, noise_var: Any) -> float:
    from rdptheory.gaussian.awgn import score_scaled_point

    return float(score_scaled_point(variances, noise_var, rho).perception_value)


def _scalar(x: npt.ArrayLike, name: str) -> float:
    a = check_nonnegative(x, name, allow_inf=True)
    if a.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    return float(a)


def _check_source(variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> tuple[np.ndarray, Any]:
    lam = check_variances(np.atleast_1d(np.asarray(variances, dtype=float)))
    t2 = check_positive(noise_var, "noise_var")
    if t2.ndim > 1 or (t2.ndim == 1 and t2.size != lam.size):
        raise ValueError(f"noise_var must be a scalar or have shape ({lam.size},)")
    return lam, t2


def rho_for_perception(P: float, variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> float:
    """The score scale ρ ∈ [1, 2] whose decoder output has W₂²(p_X, p_X̂) = P.

    .. math:: \\sum_i \\lambda_i\\,(1 - c_i^{\\rho-1})^2 = P,
              \\quad c_i = \\sqrt{\\lambda_i/(\\lambda_i + t^2)}

    W₂² increases from 0 (ρ = 1) to W₂²(p_X, p_X*) (ρ = 2), so the root is unique; for
    P ≥ W₂²(p_X, p_X*) the constraint is slack and ρ = 2 (MMSE). Scalar source:
    ρ = 1 + log(1 − √(P/λ))/log c. Derived (THEORY.md §3), not stated in the paper.

    Parameters
    ----------
    P : float ≥ 0, W₂² target (same units as the MSE).
    variances : array_like (n,) > 0, source eigenvalues λ_i.
    noise_var : float > 0 (or (n,) per direction), t².

    Returns
    -------
    rho : float in [1, 2].

    >>> round(rho_for_perception((1 - 2 ** -0.25) ** 2, [1.0], 1.0), 12)  # c^(ρ-1) = c^(1/2)
    1.5
    """
    P = _scalar(P, "P")
    lam, t2 = _check_source(variances, noise_var)
    if P == 0.0:
        return 1.0
    if P >= _w2sq(2.0, lam, t2):
        return 2.0
    from scipy.optimize import brentq

    return float(brentq(lambda r: _w2sq(r, lam, t2) - P, 1.0, 2.0, xtol=1e-14, rtol=1e-15))


def _tradeoff_slope(rho: float, lam: np.ndarray, t2: Any, weight: float) -> float:
    """d/dρ [D(ρ) + weight·W₂²(ρ)] (differentiating THEORY.md §3's D and W₂² in ρ)."""
    log_c = _log_c(lam, t2)
    a = np.exp(rho * log_c)
    b = np.exp((rho - 1.0) * log_c)
    d_mse = np.sum(2.0 * a * log_c * (a * (lam + t2) - lam))
    d_w2sq = np.sum(-2.0 * lam * (1.0 - b) * b * log_c)
    return float(d_mse + weight * d_w2sq)


def rho_for_tradeoff(lam: float, variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> float:
    """The ρ minimising D(ρ) + lam·W₂²(ρ) for the score-scaled decoder.

    .. math:: \\rho^\\star = \\arg\\min_{\\rho} \\sum_i \\lambda_i(1-a_i)^2 + a_i^2 t^2
              + \\mathrm{lam}\\,\\lambda_i(1 - c_i^{\\rho-1})^2,\\quad a_i = c_i^\\rho

    The minimiser lies in [1, 2] (both terms grow outside it); lam = 0 gives ρ = 2 (MMSE),
    lam → ∞ gives ρ → 1. Found as the root of the derivative (negative at ρ = 1, ≥ 0 at 2).
    Derived (THEORY.md §3), not stated in the paper.

    Parameters
    ----------
    lam : float ≥ 0, the weight λ on W₂² (dimensionless).
    variances : array_like (n,) > 0; noise_var : float > 0 (or (n,)).

    Returns
    -------
    rho : float in [1, 2].

    >>> rho_for_tradeoff(0.0, [1.0, 0.5], 0.3)
    2.0
    """
    weight = _scalar(lam, "lam")
    lam_i, t2 = _check_source(variances, noise_var)
    if weight == 0.0:
        return 2.0
    if math.isinf(weight):
        return 1.0
    from scipy.optimize import brentq

    return float(brentq(_tradeoff_slope, 1.0, 2.0, args=(lam_i, t2, weight), xtol=1e-14))


def per_direction_rho(P: float, variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> np.ndarray:
    """One ρ_i per eigen-direction making the decoder exactly D(P)-optimal.

    .. math:: c_i^{\\rho_i} = (1-\\alpha)c_i^2 + \\alpha c_i
              \\iff \\rho_i = \\log\\big((1-\\alpha)c_i^2 + \\alpha c_i\\big)/\\log c_i

    with [FMM21]'s α = (1 − √P/W₂(p_X, p_X*))₊ (taken from :func:`dp_awgn`). Each ρ_i ∈ [1, 2].
    Derived (THEORY.md §3), not stated in the paper.

    Returns
    -------
    rho : ndarray (n,), in the order of ``variances``.
    """
    from rdptheory.gaussian.awgn import dp_awgn

    P = _scalar(P, "P")
    lam, t2 = _check_source(variances, noise_var)
    gains = dp_awgn(P, lam, t2).gain
    return np.log(gains) / _log_c(lam, t2)


def single_alpha_decode(
    model: DiffusionModel, y: Any, noise_var: float, alpha: float, **decode_kwargs: Any
) -> Any:
    """[FMM21]'s single-α interpolation decoder, realised with the PF-ODE.

    .. math:: \\hat X = (1-\\alpha)\\,X^* + \\alpha\\,T(X^*),\\quad X^* = E[X|Y]

    For a Gaussian source T(X*) = C^{-1}X* = C·Y (C = Σ^{1/2}(Σ+t²I)^{-1/2}) is exactly the
    ρ = 1 decoder output, so X̂ = (1 − α)·model.denoise(Y) + α·decode(ρ = 1): D(P)-optimal with
    α from :func:`rdptheory.gaussian.awgn.dp_awgn`. For other sources it is the same
    construction with the PF-ODE transport in place of the OT map (not optimal in general).
    ``decode_kwargs`` go to :func:`decode` (a GaussianModel uses its exact map instead).

    Parameters
    ----------
    alpha : float in [0, 1]. Returns the kind and shape of ``y``.
    """
    a = _scalar(alpha, "alpha")
    if a > 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {a}")
    if isinstance(model, GaussianModel) and not decode_kwargs:
        transport = model.exact_decode(y, noise_var, 1.0)
    else:
        transport = decode(model, y, noise_var, 1.0, **decode_kwargs)
    return (1.0 - a) * model.denoise(y, noise_var) + a * transport


def optimal_decode(model: GaussianModel, y: Any, noise_var: float, P: float) -> Any:
    """The exactly D(P)-optimal decoder for a Gaussian model: per-direction ρ_i, exact map.

    .. math:: \\hat X = \\mu + U\\,\\mathrm{diag}(c_i^{\\rho_i})\\,U^\\top(Y-\\mu)

    ρ_i from :func:`per_direction_rho` on the model's eigenvalues. Derived (THEORY.md §3).
    """
    if not isinstance(model, GaussianModel):
        raise TypeError("model must be a GaussianModel (the optimal decoder needs its spectrum)")
    rho = per_direction_rho(P, np.atleast_1d(model.eigenvalues), noise_var)
    return model.exact_decode(y, noise_var, rho if model.event_shape else float(rho[0]))


class SingleRhoLoss(NamedTuple):
    """MSE of the best single-ρ decoder at a W₂² budget vs D(P) (total MSE, W₂² units)."""

    rho: float
    mse_single_rho: float
    mse_optimal: float
    excess_mse: float
    loss_db: float


def single_rho_loss(P: float, variances: npt.ArrayLike, noise_var: npt.ArrayLike) -> SingleRhoLoss:
    """How much MSE one ρ loses against [FMM21]'s D(P) at the same W₂² budget P.

    .. math:: \\Delta = D_{\\rm scheme}(\\rho_P) - D(P),\\quad
              \\rho_P = \\texttt{rho\\_for\\_perception}(P)

    ``loss_db`` = 10 log₁₀(D_scheme/D(P)). Zero for white sources and at P = 0 or
    P ≥ W₂²(p_X, p_X*). Derived (THEORY.md §3).
    """
    from rdptheory.gaussian.awgn import dp_awgn, score_scaled_point

    lam, t2 = _check_source(variances, noise_var)
    rho = rho_for_perception(P, lam, t2)
    mse = float(score_scaled_point(lam, t2, rho).mse)
    best = float(dp_awgn(_scalar(P, "P"), lam, t2).mse)
    return SingleRhoLoss(rho, mse, best, mse - best, 10.0 * math.log10(mse / best))
