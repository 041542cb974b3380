"""W₂² estimators, each once: between Gaussians (Gelbrich / Bures), between a sample's Gaussian
fit and a law (full and diagonal in an eigenbasis), and between two samples (Fréchet, sliced,
exact optimal transport)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._validation import as_float_array, check_int


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


def _two_samples(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 samples (N, d) and (M, d) with the same d."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y must be (N, d) samples, got {a.shape}, {b.shape}")
    return a, b


def frechet_distance(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Fréchet distance (squared) between Gaussian fits of two samples, per dimension.

    .. math:: \\frac1d\\Big(\\|μ_x-μ_y\\|^2 + \\operatorname{tr}\\big(Σ_x + Σ_y
              - 2(Σ_x^{1/2} Σ_y Σ_x^{1/2})^{1/2}\\big)\\Big)

    = :func:`bures_w2sq` between N(μ_x, Σ_x) and N(μ_y, Σ_y) [Gel90], divided by d.
    Samples (N, d) and (M, d); N, M ≥ 2.
    """
    a, b = _two_samples(x, y)
    if min(len(a), len(b)) < 2:
        raise ValueError(f"x and y must be (N, d) samples with N >= 2, got {a.shape}, {b.shape}")
    d = a.shape[1]
    sx = np.cov(a, rowvar=False).reshape(d, d)
    sy = np.cov(b, rowvar=False).reshape(d, d)
    return bures_w2sq(b.mean(0), sy, a.mean(0), sx) / d


def sliced_w2sq(x: npt.ArrayLike, y: npt.ArrayLike, *, n_projections: int = 256,
                seed: int = 0) -> float:
    """Sliced W₂² between two samples (POT ``sliced_wasserstein_distance``), per dimension.

    .. math:: \\mathrm{SW}_2^2 = \\mathbb{E}_{θ \\sim U(S^{d-1})} W_2^2(θ_\\# p_x, θ_\\# p_y)

    It averages 1-D W₂² over unit directions, so it is already on a per-dimension scale and is
    returned as is. Samples (N, d), (M, d); ``seed`` draws the projections.
    """
    import ot

    a, b = _two_samples(x, y)
    check_int(n_projections, "n_projections", low=1)
    sw = ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, seed=seed, p=2)
    return float(sw) ** 2


def exact_w2sq(x: npt.ArrayLike, y: npt.ArrayLike, *, max_samples: int = 2000,
               seed: int = 0) -> float:
    """Exact W₂² between the empirical distributions (POT ``emd2``), per dimension.

    .. math:: \\frac1d \\min_{π} \\sum_{ij} π_{ij} \\|x_i - y_j\\|^2

    Each sample is subsampled (seeded) to at most ``max_samples`` points (cost O(n³)).
    """
    import ot

    a, b = _two_samples(x, y)
    rng = np.random.default_rng(seed)
    a = a[rng.permutation(len(a))[:max_samples]]
    b = b[rng.permutation(len(b))[:max_samples]]
    cost = ot.dist(a, b, metric="sqeuclidean")
    return float(ot.emd2(ot.unif(len(a)), ot.unif(len(b)), cost)) / a.shape[1]


def _in_eigenbasis(x_hat: npt.ArrayLike, eigenvalues: npt.ArrayLike,
                   eigenvectors: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows of ``x_hat`` in the eigenbasis, eigenvalues), validated: (n >= 2, d) and (d,)."""
    u = as_float_array(x_hat, "x_hat")
    lam = as_float_array(eigenvalues, "eigenvalues")
    if u.ndim != 2 or u.shape[0] < 2 or u.shape[1] != lam.size:
        raise ValueError(f"x_hat must have shape (n >= 2, {lam.size}), got {u.shape}")
    return (u if eigenvectors is None else u @ eigenvectors), lam


def source_w2sq(x_hat: npt.ArrayLike, eigenvalues: npt.ArrayLike,
                eigenvectors: np.ndarray | None = None) -> float:
    """W2^2 between N(0, Sigma) and the Gaussian fit N(m, C) of the rows of ``x_hat``.

    .. math:: W_2^2 = \\|m\\|^2 + \\mathrm{tr}\\,\\Sigma + \\mathrm{tr}\\,C
              - 2\\,\\mathrm{tr}\\big(\\Sigma^{1/2} C \\Sigma^{1/2}\\big)^{1/2}

    [Gel90], :func:`gaussian_fit_w2sq` in the eigenbasis of Sigma (where
    Sigma = diag(eigenvalues)); ``x_hat`` has shape (n, d), n >= 2.
    """
    u, lam = _in_eigenbasis(x_hat, eigenvalues, eigenvectors)
    return gaussian_fit_w2sq(u, np.zeros(lam.size), np.diag(lam))


def diagonal_w2sq(x_hat: npt.ArrayLike, eigenvalues: npt.ArrayLike,
                  eigenvectors: np.ndarray | None = None) -> float:
    r"""W2^2 between N(0, diag(lambda)) and a diagonal Gaussian fit in the eigenbasis.

    .. math:: W_2^2 = \sum_i m_i^2 + (\sqrt{\lambda_i} - \hat\sigma_i)^2

    [Gel90] for commuting covariances; the estimator of choice when the reconstruction is known
    to be diagonal in the source's eigenbasis (its bias is O(d/n) instead of O(d^2/n)).
    """
    u, lam = _in_eigenbasis(x_hat, eigenvalues, eigenvectors)
    m, sd = u.mean(axis=0), u.std(axis=0, ddof=1)
    return float(np.sum(m**2 + (np.sqrt(lam) - sd) ** 2))
