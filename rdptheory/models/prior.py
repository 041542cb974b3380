"""The embedded patch prior: a full-covariance Gaussian mixture over colour patches [ZW11].

The density of a noisy patch ``y = x + t·n`` under the mixture ``Σ_k π_k N(μ_k, Σ_k)`` is the
same mixture with every covariance widened by ``t²I`` (THEORY.md §4), so the score, the
posterior mean and the log-density are exact at every noise level. Each covariance is stored
by its eigendecomposition ``Σ_k = U_k diag(λ_k) U_kᵀ``, which makes widening free:

.. math::

    \\log p_t(y) = \\operatorname{logsumexp}_k \\Big[\\log π_k - \\tfrac12 \\sum_j
        \\Big(\\frac{(U_kᵀ(y-μ_k))_j^2}{λ_{kj}+t^2} + \\log 2π(λ_{kj}+t^2)\\Big)\\Big],
    \\qquad
    E[X \\mid y] = \\sum_k r_k(y)\\,\\big(μ_k + U_k \\operatorname{diag}\\tfrac{λ_k}{λ_k+t^2}
        U_kᵀ (y-μ_k)\\big),

with responsibilities ``r_k(y) ∝ π_k N(y; μ_k, Σ_k + t²I)`` computed in log space. These are
the formulas of :class:`rdptheory.diffusion.GMMModel`: :class:`PatchGMM` holds one
(:attr:`PatchGMM.mixture`, built from the stored eigendecomposition) and adds the patch
geometry, the file format and the marginals for border tiles; the image models
(:mod:`rdptheory.models.patch_gmm`, :mod:`rdptheory.models.gmm_shifted`) tile images over it.

References: [ZW11] Zoran & Weiss, EPLL, ICCV 2011; THEORY.md §4.
"""

from __future__ import annotations

import contextlib
import hashlib
import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_int, check_nonnegative, check_positive
from rdptheory.diffusion.models import GMMModel

#: The shipped prior file (refit with ``python -m rdptheory.models.fit_prior``).
DEFAULT_PRIOR_PATH = pathlib.Path(__file__).with_name("priors") / "patch_gmm.npz"
#: The photograph prior (issue 11): fitted on the shipped UNet's training photographs
#: (``python -m rdptheory.models.fit_prior --data photos``); used by the shifted GMM.
PHOTO_PRIOR_PATH = DEFAULT_PRIOR_PATH.with_name("patch_gmm_photos.npz")
_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class PatchGMM:
    """A Gaussian mixture over flattened ``(channels, patch, patch)`` patches in model space.

    Parameters
    ----------
    weights : (K,) mixture weights π_k (positive, summing to 1).
    means : (K, d) component means μ_k, d = channels·patch².
    eigvals : (K, d) eigenvalues λ_k of the component covariances (positive).
    eigvecs : (K, d, d) orthonormal eigenvectors U_k (columns).
    patch, channels : the patch geometry.
    """

    weights: np.ndarray
    means: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray
    patch: int
    channels: int = 3
    _log_weights: np.ndarray = field(init=False, repr=False)
    #: The same mixture as a :class:`rdptheory.diffusion.GMMModel` (no re-decomposition): the
    #: score, posterior mean and log-density of every patch model are its formulas.
    mixture: GMMModel = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_int(self.patch, "patch", low=1)
        check_int(self.channels, "channels", low=1)
        d = self.channels * self.patch**2
        w = check_positive(self.weights, "weights")
        k = w.shape[0]
        if w.ndim != 1 or abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"weights must be a 1-D probability vector, got shape {w.shape}")
        if np.shape(self.means) != (k, d) or np.shape(self.eigvals) != (k, d):
            raise ValueError(f"means and eigvals must have shape ({k}, {d})")
        if np.shape(self.eigvecs) != (k, d, d):
            raise ValueError(f"eigvecs must have shape ({k}, {d}, {d})")
        check_positive(self.eigvals, "eigvals")
        object.__setattr__(self, "_log_weights", np.log(w / w.sum()))
        object.__setattr__(self, "mixture", GMMModel.from_eigendecomposition(
            w / w.sum(), self.means, self.eigvals, self.eigvecs))

    @property
    def dim(self) -> int:
        """Values per patch, ``d = channels · patch²``."""
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        """Number of mixture components K."""
        return self.weights.shape[0]

    @classmethod
    def from_covariances(cls, weights: npt.ArrayLike, means: npt.ArrayLike,
                         covs: npt.ArrayLike, *, patch: int, channels: int = 3) -> PatchGMM:
        """Build from full covariances ``(K, d, d)`` (eigendecomposed in float64)."""
        covs = np.asarray(covs, dtype=np.float64)
        with _one_blas_thread():  # LAPACK's result (and so the fingerprint) depends on threads
            lam, vecs = np.linalg.eigh(0.5 * (covs + covs.transpose(0, 2, 1)))
        return cls(np.asarray(weights, dtype=np.float64), np.asarray(means, dtype=np.float64),
                   lam, vecs, patch=patch, channels=channels)

    def covariances(self) -> np.ndarray:
        """The component covariances ``Σ_k = U_k diag(λ_k) U_kᵀ``, shape (K, d, d) (one batched
        matrix product: a BLAS call, ~100× faster at d = 192 than a three-operand einsum)."""
        return np.matmul(self.eigvecs * self.eigvals[:, None, :], self.eigvecs.transpose(0, 2, 1))

    def mean_and_covariance(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the whole mixture (its Gaussian fit), shapes (d,), (d, d)."""
        mu = self.weights @ self.means
        dev = self.means - mu
        cov = np.einsum("k,kij->ij", self.weights, self.covariances())
        return mu, cov + np.einsum("k,ki,kj->ij", self.weights, dev, dev)

    def fingerprint(self) -> bytes:
        """SHA-256 of the geometry and parameters (identifies the model in a bitstream)."""
        h = hashlib.sha256(f"PatchGMM/v{_FORMAT_VERSION}/{self.patch}/{self.channels}".encode())
        for a in (self.weights, self.means, self.eigvals, self.eigvecs):
            h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        return h.digest()


def _as_rows(gmm: PatchGMM, y: npt.ArrayLike, noise_var: npt.ArrayLike):
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != gmm.dim:
        raise ValueError(f"y must have shape (N, {gmm.dim}), got {y.shape}")
    t2 = check_nonnegative(noise_var, "noise_var")
    return y, np.broadcast_to(t2, (y.shape[0],)).astype(np.float64)


def gmm_log_density(gmm: PatchGMM, y: npt.ArrayLike, noise_var: npt.ArrayLike) -> np.ndarray:
    """Exact ``log p_t(y)`` (nats) of patches ``y`` (N, d) at noise variance ``t²`` (module eq.;
    :meth:`rdptheory.diffusion.GMMModel.log_prob` of :attr:`PatchGMM.mixture`)."""
    y, t2 = _as_rows(gmm, y, noise_var)
    return gmm.mixture.log_prob(y, t2)


def gmm_posterior_mean(gmm: PatchGMM, y: npt.ArrayLike, noise_var: npt.ArrayLike) -> np.ndarray:
    """Exact ``E[X | X + tN = y]`` for patches ``y`` (N, d); ``noise_var`` scalar or (N,)
    (:meth:`rdptheory.diffusion.GMMModel.denoise` of :attr:`PatchGMM.mixture`)."""
    y, t2 = _as_rows(gmm, y, noise_var)
    return gmm.mixture.denoise(y, t2)


def save_prior(gmm: PatchGMM, path: str | pathlib.Path, **metadata: str) -> None:
    """Write ``gmm`` as a compressed float32 ``.npz`` (covariances packed upper-triangular)."""
    covs = gmm.covariances()
    iu = np.triu_indices(gmm.dim)
    arrays: dict[str, Any] = {f"meta_{k}": np.str_(v) for k, v in metadata.items()}
    np.savez_compressed(
        path, format_version=np.int64(_FORMAT_VERSION), patch=np.int64(gmm.patch),
        channels=np.int64(gmm.channels), weights=gmm.weights.astype(np.float32),
        means=gmm.means.astype(np.float32), cov_triu=covs[:, iu[0], iu[1]].astype(np.float32),
        **arrays)


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit BLAS/LAPACK to one thread (``threadpoolctl``, a scikit-learn dependency, if present).

    ``numpy.linalg.eigh`` of the same covariances differs in the last bits between thread
    counts, so a prior decomposed in a shell with several BLAS threads had another fingerprint
    (and other parameters) than the same file decomposed with one: files made in one were
    refused in the other.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - numpy alone: the caller's thread settings hold
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def load_prior(path: str | pathlib.Path = DEFAULT_PRIOR_PATH) -> PatchGMM:
    """Read a prior written by :func:`save_prior` (the shipped one by default)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no patch prior at {path}; refit it with "
                                "`python -m rdptheory.models.fit_prior`")
    with np.load(path) as f:
        if int(f["format_version"]) != _FORMAT_VERSION:
            raise ValueError(f"{path}: prior format {int(f['format_version'])} is not "
                             f"{_FORMAT_VERSION}")
        patch, channels = int(f["patch"]), int(f["channels"])
        d = channels * patch * patch
        tri = f["cov_triu"].astype(np.float64)
        covs = np.zeros((tri.shape[0], d, d))
        iu = np.triu_indices(d)
        covs[:, iu[0], iu[1]] = tri
        covs[:, iu[1], iu[0]] = tri
        w = f["weights"].astype(np.float64)
        return PatchGMM.from_covariances(w / w.sum(), f["means"], covs, patch=patch,
                                         channels=channels)


def prior_metadata(path: str | pathlib.Path = DEFAULT_PRIOR_PATH) -> dict[str, str]:
    """The text metadata stored with a prior file (training images, held-out scores)."""
    with np.load(path) as f:
        return {k[5:]: str(f[k]) for k in f.files if k.startswith("meta_")}


#: A span ``[start, stop)`` of patch rows or columns.
Span = tuple[int, int]


def marginal_window_prior(gmm: PatchGMM, rows: Span, cols: Span,
                          covariances: np.ndarray | None = None) -> PatchGMM:
    """The exact marginal of the patch mixture on patch rows ``[r0, r1)``, columns ``[c0, c1)``.

    A Gaussian mixture's marginal keeps the weights and restricts each mean and covariance to
    the kept coordinates (flattened in ``(channel, row, column)`` order); border tiles of an
    image use it, so no padding enters the density. Returned as a ``patch=1`` mixture whose
    ``channels`` is the kept dimension (a flat vector; only its ``dim`` matters to the
    formulas); the whole patch returns ``gmm`` itself. ``covariances`` may pass
    ``gmm.covariances()`` computed once for many windows.
    """
    p, c = gmm.patch, gmm.channels
    (r0, r1), (c0, c1) = rows, cols
    if not (0 <= r0 < r1 <= p and 0 <= c0 < c1 <= p):
        raise ValueError(f"rows {rows} and cols {cols} must be non-empty spans inside [0, {p}]")
    if (r0, r1, c0, c1) == (0, p, 0, p):
        return gmm
    idx = (np.arange(c)[:, None, None] * p * p + np.arange(r0, r1)[None, :, None] * p
           + np.arange(c0, c1)[None, None, :]).ravel()
    full = gmm.covariances() if covariances is None else covariances
    lam, vecs = np.linalg.eigh(full[:, idx][:, :, idx])
    return PatchGMM(gmm.weights, gmm.means[:, idx], lam, vecs, patch=1, channels=idx.size)


def marginal_tile_prior(gmm: PatchGMM, height: int, width: int) -> PatchGMM:
    """The exact marginal of the patch mixture on the top-left ``height × width`` sub-tile
    (:func:`marginal_window_prior` of rows ``[0, height)``, columns ``[0, width)``)."""
    p = gmm.patch
    if not (1 <= height <= p and 1 <= width <= p):
        raise ValueError(f"height and width must be in [1, {p}], got {height}x{width}")
    return marginal_window_prior(gmm, (0, height), (0, width))
