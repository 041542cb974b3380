"""Closed-form truths shared by the image-codec tests (fixtures, since the test folders are
not packages): the Gaussian-mixture posterior mean written out with scipy, independently of
the model code, and the tiling of a (1, C, H, W) state into flattened p x p tiles."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def mixture_posterior_mean(y, weights, means, covs, noise_cov):
    """E[X | Y = y] for X ~ Σ_k w_k N(μ_k, Σ_k), Y = X + N(0, D), rows of ``y`` independent:
    responsibilities from ``N(y; μ_k, Σ_k + D)`` in log space, then
    ``μ_k + Σ_k (Σ_k + D)^{-1} (y − μ_k)``."""
    logr = np.stack([np.log(w) + multivariate_normal(m, c + noise_cov).logpdf(y)
                     for w, m, c in zip(weights, means, covs, strict=True)], axis=-1)
    r = np.exp(logr - logsumexp(logr, axis=-1, keepdims=True))
    out = np.zeros_like(y)
    for k, (m, c) in enumerate(zip(means, covs, strict=True)):
        gain = np.linalg.solve(c + noise_cov, c).T  # Σ_k (Σ_k + D)^{-1} (both symmetric)
        out += r[:, k:k + 1] * (m + (y - m) @ gain.T)
    return out


def covariances(prior) -> np.ndarray:
    """Σ_k = V_k diag(λ_k) V_kᵀ of a :class:`~rdptheory.models.prior.PatchGMM`."""
    return np.einsum("kij,kj,klj->kil", prior.eigvecs, prior.eigvals, prior.eigvecs)


def tiles(x: np.ndarray, p: int) -> np.ndarray:
    """(1, C, H, W) with H, W multiples of p -> (tiles, C·p·p), each tile flattened (C, p, p)."""
    _, c, h, w = x.shape
    return x[0].reshape(c, h // p, p, w // p, p).transpose(1, 3, 0, 2, 4).reshape(-1, c * p * p)


def untiles(rows: np.ndarray, c: int, h: int, w: int, p: int) -> np.ndarray:
    """The inverse of :func:`tiles`."""
    return rows.reshape(h // p, w // p, c, p, p).transpose(2, 0, 3, 1, 4).reshape(1, c, h, w)


def tiled_posterior_mean(prior, y: np.ndarray, noise_var: float, p: int) -> np.ndarray:
    """The tiled patch prior's posterior mean of the state ``y`` (1, C, H, W), tile by tile."""
    _, c, h, w = y.shape
    dims = c * p * p
    return untiles(mixture_posterior_mean(tiles(y, p), prior.weights, prior.means,
                                          covariances(prior), noise_var * np.eye(dims)),
                   c, h, w, p)


@pytest.fixture(scope="session")
def gmm_truth():
    """The closed forms above, as one namespace."""
    return SimpleNamespace(mixture_posterior_mean=mixture_posterior_mean,
                           covariances=covariances, tiles=tiles, untiles=untiles,
                           tiled_posterior_mean=tiled_posterior_mean)
