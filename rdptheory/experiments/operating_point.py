"""The codec's operational point: real bits, empirical MSE and W2^2, next to R(D, P).

rate = 8 x bytes / samples (header, chunk layouts and CRCs included); MSE = mean ||X - X_hat||^2
per sample (total over the d components, THEORY.md §0); W2^2 between the source N(0, Sigma)
and the Gaussian fit of the reconstructions (Bures formula [Gel90]; exact when X_hat is
Gaussian, which it is here up to channel-simulation error): :func:`rdptheory.metrics.source_w2sq`
and its diagonal variant :func:`rdptheory.metrics.diagonal_w2sq`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rdptheory._validation import as_float_array
from rdptheory.codec.gaussian import GaussianCodec
from rdptheory.metrics import diagonal_w2sq, source_w2sq


@dataclass(frozen=True)
class OperatingPoint:
    """One measured point of a codec run (per-sample totals; bits unless named otherwise).

    ``w2sq`` is the full-covariance Bures estimate, ``w2sq_diag`` the one with a diagonal fit
    in the eigenbasis (less finite-sample bias; exact in expectation structure for every decoder
    here, which is diagonal in that basis). ``theory_mse``/``theory_w2sq`` are the decoder's
    exact values for ideal channel
    simulation; ``rdp_bits`` = R(D, P) (``w2sq``) at that (D, P); ``overhead`` =
    rate_bits / rdp_bits - 1. ``rd_bits_measured`` = R(D) at the *measured* MSE: no code can
    reach that MSE with fewer bits, whatever its channel-simulation bias.
    """

    n: int
    d: int
    file_bytes: int
    rate_bits: float
    info_bits: float
    mse: float
    mse_se: float
    w2sq: float
    w2sq_diag: float
    theory_mse: float
    theory_w2sq: float
    rdp_bits: float
    rd_bits_measured: float

    @property
    def rate_bits_per_dim(self) -> float:
        """Measured rate per component, bits."""
        return self.rate_bits / self.d

    @property
    def overhead(self) -> float:
        """Relative excess of the measured rate over R(D, P)."""
        return self.rate_bits / self.rdp_bits - 1.0


def theory_point(codec: GaussianCodec, gains: npt.ArrayLike,
                 noise_var: npt.ArrayLike | None = None) -> tuple[float, float]:
    """(MSE, W2^2) of the linear decoder X_hat_i = gains_i Y_i on the codec's channel.

    .. math:: D = \\sum_i \\lambda_i (1 - a_i)^2 + a_i^2 t_i^2,\\quad
              W_2^2 = \\sum_i (\\sqrt{\\lambda_i} - a_i \\sqrt{\\lambda_i + t_i^2})^2

    THEORY.md §3 (a_i = c_i^rho for the score-scaled decoder). ``noise_var`` defaults to the
    codec's target level; switched-off directions (t^2 = inf) need gain 0.
    """
    lam = codec.eigenvalues
    t2 = codec.noise_var if noise_var is None else np.asarray(noise_var, dtype=float)
    a = np.broadcast_to(as_float_array(gains, "gains"), lam.shape)
    live = np.isfinite(t2)
    noise = np.where(live, a**2 * np.where(live, t2, 0.0), 0.0)
    mse = float(np.sum(lam * (1.0 - a) ** 2 + noise))
    spread = np.sqrt(lam + np.where(live, t2, 0.0))
    w2sq = float(np.sum((np.sqrt(lam) - a * spread) ** 2))
    return mse, w2sq


def score_scaled_gains(codec: GaussianCodec, rho: npt.ArrayLike,
                       noise_var: npt.ArrayLike | None = None) -> np.ndarray:
    """Per-direction gains (lambda_i / (lambda_i + t_i^2))^(rho_i / 2) (THEORY.md §3)."""
    t2 = codec.noise_var if noise_var is None else np.asarray(noise_var, dtype=float)
    return np.exp(0.5 * np.asarray(rho, dtype=float) * -np.log1p(t2 / codec.eigenvalues))


def measure_operating_point(
    codec: GaussianCodec, x: npt.ArrayLike, x_hat: npt.ArrayLike, data: bytes,
    gains: npt.ArrayLike, noise_var: npt.ArrayLike | None = None,
) -> OperatingPoint:
    """Measured (rate, MSE, W2^2) of one decode next to theory and R(D, P).

    Parameters
    ----------
    codec : the codec that wrote ``data``.
    x, x_hat : (n, d) source rows and their reconstruction.
    data : the compressed bytes (their length is the rate; pass a prefix for progressive).
    gains : the decoder's per-direction gains (for the theory values), e.g.
        :func:`score_scaled_gains`.
    noise_var : the decoded noise level (progressive prefixes); default the codec's.
    """
    from rdptheory.gaussian import rate_distortion_vector, rdp_vector

    x, x_hat = as_float_array(x, "x"), as_float_array(x_hat, "x_hat")
    if x.shape != x_hat.shape or x.ndim != 2:
        raise ValueError(f"x and x_hat must have one shape (n, d), got {x.shape}, {x_hat.shape}")
    err = np.sum((x - x_hat) ** 2, axis=1)
    t_mse, t_w2sq = theory_point(codec, gains, noise_var)
    t2 = codec.noise_var if noise_var is None else np.asarray(noise_var, dtype=float)
    from rdptheory.diffusion.chain import mutual_information_nats

    return OperatingPoint(
        n=x.shape[0], d=x.shape[1], file_bytes=len(data), rate_bits=8.0 * len(data) / x.shape[0],
        info_bits=mutual_information_nats(codec.eigenvalues, t2) / np.log(2.0),
        mse=float(err.mean()), mse_se=float(err.std(ddof=1) / np.sqrt(err.size)),
        w2sq=source_w2sq(x_hat, codec.eigenvalues, codec.eigenvectors),
        w2sq_diag=diagonal_w2sq(x_hat, codec.eigenvalues, codec.eigenvectors),
        theory_mse=t_mse, theory_w2sq=t_w2sq,
        rdp_bits=float(rdp_vector(t_mse, t_w2sq, codec.eigenvalues)),
        rd_bits_measured=float(rate_distortion_vector(float(err.mean()), codec.eigenvalues)),
    )
