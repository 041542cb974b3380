"""W₂² between Gaussians (Gelbrich / Bures) and between a sample's Gaussian fit and a law."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._validation import as_float_array


def psd_sqrt(a: npt.ArrayLike) -> np.ndarray:
    """The symmetric PSD square root of a symmetric matrix (eigenvalues clamped at 0).

    .. math:: A^{1/2} = U \\operatorname{diag}(\\sqrt{\\max(w, 0)}) U^T,
              \\quad \\tfrac12(A + A^T) = U \\operatorname{diag}(w) U^T

    Round-off below 0 is clamped before the square root; ``a`` must be square (d, d).

    >>> psd_sqrt([[4.0, 0.0], [0.0, 9.0]])
    array([[2., 0.],
           [0., 3.]])
    """
    m = as_float_array(a, "a")
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"a must be a square matrix, got shape {m.shape}")
    w, u = np.linalg.eigh(0.5 * (m + m.T))
    return (u * np.sqrt(np.maximum(w, 0.0))) @ u.T


def _mean_cov(mean: npt.ArrayLike, cov: npt.ArrayLike, name: str) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    m = np.atleast_1d(as_float_array(mean, f"{name} mean"))
    c = np.atleast_2d(as_float_array(cov, f"{name} cov"))
    if m.ndim != 1 or c.shape != (m.size, m.size):
        raise ValueError(f"{name}: mean must be (d,) and cov (d, d), got {m.shape}, {c.shape}")
    return m, c


def bures_w2sq(mean1: npt.ArrayLike, cov1: npt.ArrayLike, mean2: npt.ArrayLike,
               cov2: npt.ArrayLike) -> float:
    """W₂² between two Gaussians (Gelbrich / Bures).

    .. math:: \\|m_1 - m_2\\|^2 + \\mathrm{tr}\\,\\Sigma_1 + \\mathrm{tr}\\,\\Sigma_2
              - 2\\,\\mathrm{tr}\\big(\\Sigma_2^{1/2}\\Sigma_1\\Sigma_2^{1/2}\\big)^{1/2}

    [Gel90]. Means (d,), covariances (d, d) (scalars are d = 1); clamped at 0 (round-off).

    >>> bures_w2sq(1.0, 4.0, 0.0, 1.0)  # (1 − 0)² + (2 − 1)²
    2.0
    """
    m1, c1 = _mean_cov(mean1, cov1, "first")
    m2, c2 = _mean_cov(mean2, cov2, "second")
    if m1.size != m2.size:
        raise ValueError(f"the two Gaussians have dimensions {m1.size} and {m2.size}")
    r2 = psd_sqrt(c2)
    cross = np.trace(psd_sqrt(r2 @ c1 @ r2))
    return float(max(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * cross, 0.0))


def gaussian_fit_w2sq(samples: npt.ArrayLike, mean: npt.ArrayLike,
                      cov: npt.ArrayLike) -> float:
    """W₂² between the Gaussian fit N(m̂, Ĉ) of the rows of ``samples`` and N(mean, cov).

    .. math:: W_2^2\\big(\\mathcal N(\\hat m, \\hat C), \\mathcal N(m, \\Sigma)\\big)

    with the sample mean m̂ and the unbiased sample covariance Ĉ (:func:`bures_w2sq`;
    exact when the samples are Gaussian, up to estimation error). ``samples``: (n, d), n ≥ 2.
    """
    s = as_float_array(samples, "samples")
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2 or s.shape[0] < 2:
        raise ValueError(f"samples must have shape (n >= 2, d), got {s.shape}")
    fit_cov = np.cov(s, rowvar=False).reshape(s.shape[1], s.shape[1])
    return bures_w2sq(s.mean(axis=0), fit_cov, mean, cov)
