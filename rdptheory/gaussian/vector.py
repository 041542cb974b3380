"""Vector Gaussian rate-distortion(-perception) for diag(λ₁..λₙ) (THEORY.md §2).

A source ``N(0, Σ)`` reduces to ``N(0, diag(λ))`` in the eigenbasis of Σ: an orthogonal
change of basis preserves the MSE, the W₂ distance between Gaussians and the mutual
information, so every function here takes the spectrum ``variances`` (a 1-D array);
:func:`covariance_spectrum` computes it from a full covariance.

Conventions (THEORY.md §0): ``D`` is the **total** MSE summed over components; ``P`` is
W₂²(p_X, p_X̂) (squared, same units as D); rates are bits unless ``unit="nats"``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._units import Unit, check_unit, nats_to, to_nats
from rdptheory._validation import check_covariance, check_nonnegative, check_positive
from rdptheory._validation import check_variances as _check_variances

__all__ = [
    "WaterFilling",
    "Spectrum",
    "RDPVectorSolution",
    "water_filling",
    "rate_distortion_vector",
    "covariance_spectrum",
]

Regime = Literal["zero_rate", "water_filling", "both_active", "perfect_perception"]


class WaterFilling(NamedTuple):
    """Reverse water-filling solution (THEORY.md §2).

    ``level`` θ has the shape of ``D``; ``distortions`` D_i = min(θ, λ_i) has shape
    ``D.shape + (n,)``; ``rate_nats`` = Σ ½ log(λ_i / D_i) in nats. For D ≥ Σλ_i the level
    is reported as max λ_i (every component is then at zero rate).
    """

    level: np.ndarray | float
    distortions: np.ndarray
    rate_nats: np.ndarray | float


class Spectrum(NamedTuple):
    """Eigendecomposition Σ = U diag(variances) Uᵀ, variances in decreasing order."""

    variances: np.ndarray
    basis: np.ndarray


class RDPVectorSolution(NamedTuple):
    """Optimal jointly Gaussian test channel of the vector R(D, P) problem (THEORY.md §2).

    Per-component arrays have shape ``(n,)`` in the order of the input ``variances``.
    Rates are in nats (``rate_nats``, ``rates_nats``). ``mu``/``nu`` are the Lagrange
    multipliers of the D and P constraints (nats per unit of distortion; ``nu = inf`` when
    P = 0, where Slater's condition fails and the P constraint is eliminated instead).
    ``dual_gap_nats`` = primal rate − Lagrange dual value at (μ, ν) (a certificate: the
    dual value is a lower bound on R(D, P)); ``kkt_residual`` is the largest of the relative
    constraint residuals and the per-component stationarity residuals. The forward test
    channel X̂_i = gain_i·(X_i + √noise_var_i·N_i) realises the solution; a component that
    carries no rate has ``noise_var = inf``, ``gain = 0`` and, if ``recon_std > 0``, its
    X̂_i is drawn independently as N(0, recon_std²) (common randomness).
    """

    rate_nats: float
    distortion: float
    perception: float
    regime: Regime
    recon_std: np.ndarray
    correlation: np.ndarray
    distortions: np.ndarray
    perceptions: np.ndarray
    rates_nats: np.ndarray
    mu: float
    nu: float
    dual_gap_nats: float
    kkt_residual: float
    noise_var: np.ndarray
    gain: np.ndarray


def _as_output(x: np.ndarray) -> np.ndarray | float:
    """0-d arrays become Python floats (scalar in, float out)."""
    return float(x) if np.ndim(x) == 0 else x


def water_filling(D: npt.ArrayLike, variances: npt.ArrayLike) -> WaterFilling:
    """Reverse water-filling for the diagonal Gaussian source N(0, diag(λ)).

    .. math::

        D_i = \\min(\\theta, \\lambda_i), \\qquad \\sum_i D_i = D, \\qquad
        R(D) = \\sum_i \\tfrac12 \\log\\frac{\\lambda_i}{D_i}

    Thm 10.3.3 of Cover & Thomas (Elements of Information Theory, 2nd ed.). The level θ is
    found exactly: sort λ, locate D among the breakpoints g(λ_(k)) = S_{k-1} + (n-k+1)λ_(k)
    of g(θ) = Σ min(θ, λ_i), then θ = (D − S_m)/(n − m) in closed form (no iteration).

    Parameters
    ----------
    D : array_like, any shape, > 0
        Total MSE.
    variances : array_like, shape (n,), > 0
        Component variances λ_i.

    Returns
    -------
    WaterFilling
        ``level`` (shape of D), ``distortions`` (D.shape + (n,)), ``rate_nats`` (nats).

    Examples
    --------
    >>> wf = water_filling(1.5, [4.0, 1.0, 0.25])
    >>> float(wf.level), wf.distortions.tolist(), round(float(wf.rate_nats), 12)
    (0.625, [0.625, 0.625, 0.25], 1.163150809806)
    """
    D = check_positive(D, "D")
    lam = _check_variances(variances)
    level = _water_level(D, lam)
    distortions = np.minimum(level[..., None], lam)
    # clamp round-off: λ_i/D_i >= 1 exactly by construction, log of a ratio >= 1
    rate = 0.5 * np.log(np.maximum(lam / distortions, 1.0)).sum(axis=-1)
    return WaterFilling(_as_output(level), distortions, _as_output(rate))


def _water_level(D: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Water level θ(D) (closed form after sorting); max λ when D >= Σλ."""
    lam_sorted = np.sort(lam)
    n = lam_sorted.size
    csum = np.concatenate(([0.0], np.cumsum(lam_sorted)))
    k = np.arange(1, n + 1)
    breakpoints = csum[:-1] + (n - k + 1) * lam_sorted  # g(λ_(k)), non-decreasing
    m = np.searchsorted(breakpoints, D, side="right")  # components fully under water
    m_safe = np.minimum(m, n - 1)
    level = (D - csum[m_safe]) / (n - m_safe)
    # D >= Σλ (either summation order): every component at zero rate
    return np.where((m >= n) | (D >= lam.sum()), lam_sorted[-1], level)


def rate_distortion_vector(
    D: npt.ArrayLike, variances: npt.ArrayLike, *, unit: Unit = "bits"
) -> np.ndarray | float:
    """R(D) of the diagonal Gaussian source by reverse water-filling.

    .. math::

        R(D) = \\sum_i \\tfrac12 \\log\\frac{\\lambda_i}{\\min(\\theta, \\lambda_i)},
        \\qquad \\sum_i \\min(\\theta, \\lambda_i) = D

    Thm 10.3.3 of Cover & Thomas; see :func:`water_filling` for the level θ.

    Parameters
    ----------
    D : array_like, any shape, > 0
        Total MSE.
    variances : array_like, shape (n,), > 0
        Component variances λ_i.
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray (shape of D)
        Rate in ``unit``.

    Examples
    --------
    >>> rate_distortion_vector(1.0, [1.0, 1.0])
    1.0
    """
    unit = check_unit(unit)
    return _as_output(nats_to(water_filling(D, variances).rate_nats, unit))


def covariance_spectrum(cov: npt.ArrayLike) -> Spectrum:
    """Eigendecompose a full covariance Σ = U diag(λ) Uᵀ (λ in decreasing order).

    .. math::

        \\Sigma = U\\,\\mathrm{diag}(\\lambda)\\,U^\\top

    Every function of this module is invariant under the orthogonal change of basis
    X ↦ UᵀX (MSE, W₂ between Gaussians and mutual information are all preserved), so a
    source N(0, Σ) is handled by passing ``covariance_spectrum(Σ).variances`` and mapping
    reconstructions back with ``basis @ x_hat``.

    Parameters
    ----------
    cov : array_like, shape (d, d)
        Symmetric positive-definite covariance.

    Returns
    -------
    Spectrum
        ``variances`` (d,) decreasing, ``basis`` (d, d) orthogonal with eigenvectors as columns.

    Examples
    --------
    >>> covariance_spectrum([[2.0, 1.0], [1.0, 2.0]]).variances.round(12).tolist()
    [3.0, 1.0]
    """
    sigma = check_covariance(cov, "cov")
    eigvals, eigvecs = np.linalg.eigh(sigma)
    order = np.argsort(eigvals)[::-1]
    return Spectrum(eigvals[order], eigvecs[:, order])
