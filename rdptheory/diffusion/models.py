"""The model protocol the decoders accept, and analytic models with exact scores.

A *model* is anything with ``denoise(y, noise_var)`` (x̂₀ = E[X | Y = y] for exact models) and
``score(y, noise_var)`` (= (denoise(y) − y)/noise_var = ∇_y log p_t(y)), in AWGN-equivalent
("VE") coordinates y = x + √(noise_var)·n (THEORY.md §4). ``y`` has shape
``(batch, *event_shape)`` (or just ``event_shape``); numpy in → numpy out, torch in → torch out.
``noise_var`` is a scalar or one level per batch row.

Analytic models: :class:`GaussianModel` (N(μ, Σ) → N(μ, Σ + t²I)) and :class:`GMMModel`
(Σ_k π_k N(μ_k, Σ_k) → Σ_k π_k N(μ_k, Σ_k + t²I), responsibilities in log space).
:class:`PredictionModel` adapts an ε / v / x₀ / score / velocity predictor (e.g. a diffusers
UNet) to the protocol via :mod:`rdptheory.diffusion.scores`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rdptheory._validation import (
    as_float_array,
    check_choice,
    check_covariance,
    check_int,
    check_nonnegative,
    check_positive,
)
from rdptheory.diffusion import _xp
from rdptheory.diffusion.scores import (
    COORDS,
    NATIVE_COORDS,
    PARAMETERIZATIONS,
    Coords,
    Parameterization,
    score_from_x0,
    to_coords,
    x0_from_prediction,
)


@runtime_checkable
class DiffusionModel(Protocol):
    """What :func:`rdptheory.diffusion.decode` and the codecs need from a model."""

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """x̂₀(y, t²): the (model's) E[X | X + tN = y]; same shape and array kind as ``y``."""
        ...

    def score(self, y: Any, noise_var: Any) -> Any:
        """∇_y log p_t(y) = (denoise(y) − y)/t²; same shape and array kind as ``y``."""
        ...


@runtime_checkable
class ExactModel(DiffusionModel, Protocol):
    """A model whose law can be sampled and whose posterior mean is exact (the analytic ones):
    what the verification harness needs."""

    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` exact draws of X, numpy ``(n, *event_shape)``."""
        ...

    def posterior_mean(self, y: Any, noise_var: Any) -> Any:
        """E[X | X + tN = y], exact."""
        ...


def _level(noise_var: Any, y: Any, event_ndim: int) -> Any:
    """Validate ``noise_var`` (≥ 0; scalar or per batch row) and shape it to broadcast with y."""
    if _xp.is_torch(noise_var):
        if noise_var.ndim == 0:
            return float(noise_var)
        v = _xp.as_like(noise_var, y)
        return v.reshape(v.shape + (1,) * event_ndim)
    v = check_nonnegative(noise_var, "noise_var")
    if v.ndim == 0:
        return float(v)
    batch_shape = tuple(y.shape[: y.ndim - event_ndim])
    if v.shape != batch_shape:
        raise ValueError(
            f"noise_var must be a scalar or have the batch shape {batch_shape}, got {v.shape}"
        )
    return _xp.as_like(v.reshape(v.shape + (1,) * event_ndim), y)


def _check_y(y: Any, event_shape: tuple[int, ...]) -> Any:
    if not _xp.is_torch(y):
        y = np.asarray(y)
        if y.dtype.kind not in "fiu":
            raise TypeError(f"y must be a real array, got dtype {y.dtype}")
        y = y.astype(np.float64) if y.dtype.kind != "f" else y
    if tuple(y.shape[y.ndim - len(event_shape) :]) != event_shape or y.ndim < len(event_shape):
        raise ValueError(f"y must have shape (batch, *{event_shape}), got {tuple(y.shape)}")
    return y


class GaussianModel:
    """Gaussian source N(μ, Σ) with exact score, denoiser, decoder map and sampler.

    .. math:: \\nabla_y \\log p_t(y) = -(\\Sigma + t^2 I)^{-1}(y - \\mu),\\quad
              E[X|Y=y] = \\mu + \\Sigma(\\Sigma + t^2 I)^{-1}(y - \\mu)

    THEORY.md §4. A full ``cov`` (d, d) is used through its eigendecomposition Σ = U Λ Uᵀ; a 1-D
    ``cov`` (d,) is a diagonal covariance (fast path, no rotation). A scalar ``mean`` with a
    scalar ``cov`` is a scalar source (event shape ()).

    Parameters
    ----------
    mean : array_like, shape () or (d,)
    cov : array_like, shape (), (d,) (diagonal variances) or (d, d) (symmetric positive definite)
    """

    def __init__(self, mean: npt.ArrayLike, cov: npt.ArrayLike) -> None:
        mean_a = as_float_array(mean, "mean")
        cov_a = as_float_array(cov, "cov")
        if mean_a.ndim > 1 or not np.isfinite(mean_a).all():
            raise ValueError(f"mean must be a finite scalar or 1-D array, got shape {mean_a.shape}")
        if cov_a.ndim == 2:
            lam, U = np.linalg.eigh(check_covariance(cov_a, "cov"))
            self.eigenvectors: np.ndarray | None = U
        elif cov_a.ndim <= 1:
            lam, self.eigenvectors = check_positive(cov_a, "cov"), None
        else:
            raise ValueError(f"cov must have shape (), (d,) or (d, d), got {cov_a.shape}")
        d = max(lam.size, mean_a.size)
        if mean_a.ndim == 1 and mean_a.size != d or cov_a.ndim >= 1 and lam.size not in (1, d):
            raise ValueError(f"mean shape {mean_a.shape} does not match cov shape {cov_a.shape}")
        scalar = mean_a.ndim == 0 and cov_a.ndim == 0
        self.event_shape: tuple[int, ...] = () if scalar else (d,)
        self.mean = mean_a if scalar else np.broadcast_to(mean_a, (d,)).copy()
        #: Λ: eigenvalues of Σ (the diagonal itself on the fast path), shape event_shape.
        self.eigenvalues = lam if scalar or lam.size == d else np.full(d, float(lam))
        self.cov = cov_a
        self._cache: dict[Any, tuple[Any, Any, Any]] = {}
        self._eigen_model: GaussianModel | None = None

    @property
    def dim(self) -> int:
        """Number of scalar components d."""
        return int(np.prod(self.event_shape, dtype=int))

    def in_eigenbasis(self) -> GaussianModel:
        """The same source in the coordinates w = Uᵀx: N(Uᵀμ, diag(Λ)) (cached).

        A full-covariance model's score needs two rotations per evaluation; decoding
        ``y @ U`` with this diagonal model and rotating the result back by Uᵀ solves the same
        (rotation-equivariant) ODE with elementwise work only. Returns ``self`` when Σ is
        already diagonal.
        """
        if self.eigenvectors is None:
            return self
        if self._eigen_model is None:
            self._eigen_model = GaussianModel(self.mean @ self.eigenvectors, self.eigenvalues)
        return self._eigen_model

    def to_eigenbasis(self, x: Any) -> Any:
        """Coordinates w = Uᵀx of ``x`` (batch, d) in the eigenbasis of Σ (x itself if diagonal)."""
        U = self._params(x)[2]
        return x if U is None else x @ U

    def from_eigenbasis(self, w: Any) -> Any:
        """Inverse of :meth:`to_eigenbasis`: x = U·w."""
        U = self._params(w)[2]
        return w if U is None else w @ U.T

    @property
    def covariance(self) -> np.ndarray:
        """Σ as a full (d, d) matrix ((1, 1) for a scalar source)."""
        lam = np.atleast_1d(self.eigenvalues)
        U = self.eigenvectors
        return np.diag(lam) if U is None else (U * lam) @ U.T

    def _params(self, y: Any) -> tuple[Any, Any, Any]:
        """(μ, Λ, U) in y's array kind, dtype and device (cached per dtype/device)."""
        if not _xp.is_torch(y):
            return self.mean, self.eigenvalues, self.eigenvectors
        key = (y.dtype, y.device)
        if key not in self._cache:
            U = self.eigenvectors
            self._cache[key] = (
                _xp.as_like(self.mean, y),
                _xp.as_like(self.eigenvalues, y),
                None if U is None else _xp.as_like(U, y),
            )
        return self._cache[key]

    def _apply(
        self, y: Any, noise_var: Any, gain: Callable[[Any, Any], Any], *, shift: bool = True
    ) -> Any:
        """[μ +] U·diag(gain(Λ, t²))·Uᵀ(y − μ): every map this model offers has this form."""
        y = _check_y(y, self.event_shape)
        v = _level(noise_var, y, len(self.event_shape))
        mu, lam, U = self._params(y)
        r = y - mu
        out = gain(lam, v) * r if U is None else ((r @ U) * gain(lam, v)) @ U.T
        return mu + out if shift else out

    def score(self, y: Any, noise_var: Any) -> Any:
        """∇_y log N(y; μ, Σ + t²I) = −(Σ + t²I)^{-1}(y − μ); shape and kind of ``y``."""
        return self._apply(y, noise_var, lambda lam, v: -1.0 / (lam + v), shift=False)

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """E[X | X + tN = y] = μ + Σ(Σ + t²I)^{-1}(y − μ); shape and kind of ``y``."""
        return self._apply(y, noise_var, lambda lam, v: lam / (lam + v))

    posterior_mean = denoise

    def exact_decode(self, y: Any, noise_var: Any, rho: npt.ArrayLike) -> Any:
        """The exact score-scaled PF-ODE map from level t² to 0.

        .. math:: \\hat X = \\mu + U\\,\\mathrm{diag}\\big((\\lambda_i/(\\lambda_i + t^2))
                  ^{\\rho_i/2}\\big)\\,U^\\top (Y - \\mu)

        Derived (THEORY.md §3), not stated in the paper. ``rho`` ≥ 0: a scalar, or one ρ_i per
        eigen-direction (shape (d,), in the order of :attr:`eigenvalues`).

        >>> float(GaussianModel(0.0, 1.0).exact_decode(2.0, 1.0, 2.0))  # ρ = 2: c²Y, c² = 1/2
        1.0
        """
        r = check_nonnegative(rho, "rho")
        if r.ndim > 0 and r.shape != self.eigenvalues.shape:
            raise ValueError(f"rho must be a scalar or have shape {self.eigenvalues.shape}")
        rr: Any = float(r) if r.ndim == 0 else (_xp.as_like(r, y) if _xp.is_torch(y) else r)
        return self._apply(y, noise_var, lambda lam, v: (lam / (lam + v)) ** (0.5 * rr))

    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` exact draws, float64 numpy of shape ``(n, *event_shape)``, from ``seed``."""
        n = check_int(n, "n", low=0)
        z = np.random.default_rng(seed).standard_normal((n, *self.event_shape))
        x = z * np.sqrt(self.eigenvalues)
        return self.mean + (x if self.eigenvectors is None else x @ self.eigenvectors.T)


def _check_gmm(weights: npt.ArrayLike, means: npt.ArrayLike, covs: npt.ArrayLike) -> tuple:
    w = check_positive(weights, "weights")
    if w.ndim != 1 or abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(f"weights must be a 1-D array of positive numbers summing to 1, got {w}")
    mu = as_float_array(means, "means")
    K = w.size
    if mu.ndim not in (1, 2) or mu.shape[0] != K or not np.isfinite(mu).all():
        raise ValueError(f"means must be finite with shape ({K},) or ({K}, d), got {mu.shape}")
    c = as_float_array(covs, "covs")
    d = 1 if mu.ndim == 1 else mu.shape[1]
    if c.shape == (K, d, d):
        lam, U = np.linalg.eigh(np.stack([check_covariance(ck, "covs[k]") for ck in c]))
    elif c.shape in ((K, d), (K,) if mu.ndim == 1 else (K, d)):
        lam, U = check_positive(c, "covs").reshape(K, d), None
    else:
        raise ValueError(
            f"covs must have shape ({K}, {d}, {d}), ({K}, {d}) or ({K},), got {c.shape}"
        )
    return w / w.sum(), mu.reshape(K, d), lam, U, mu.ndim == 1


class GMMModel:
    """Gaussian mixture Σ_k π_k N(μ_k, Σ_k): exact score, posterior mean and sampler.

    .. math:: p_t = \\sum_k \\pi_k N(\\mu_k, \\Sigma_k + t^2 I),\\quad
              \\nabla\\log p_t(y) = -\\sum_k r_k(y)(\\Sigma_k + t^2 I)^{-1}(y - \\mu_k)

    with responsibilities r_k computed in log space (THEORY.md §4). E[X | Y = y] =
    Σ_k r_k (μ_k + Σ_k(Σ_k + t²I)^{-1}(y − μ_k)) exactly.

    Parameters
    ----------
    weights : array_like, shape (K,), positive, summing to 1
    means : array_like, shape (K, d), or (K,) for a scalar mixture (event shape ())
    covs : array_like, shape (K, d, d) (full), (K, d) (diagonal) or (K,) (scalar mixture)
    """

    def __init__(self, weights: npt.ArrayLike, means: npt.ArrayLike, covs: npt.ArrayLike) -> None:
        self.weights, self.means, self.eigenvalues, self.eigenvectors, scalar = _check_gmm(
            weights, means, covs
        )
        d = self.means.shape[1]
        self.event_shape: tuple[int, ...] = () if scalar else (d,)
        self._cache: dict[Any, tuple[Any, ...]] = {}

    @classmethod
    def from_eigendecomposition(cls, weights: npt.ArrayLike, means: npt.ArrayLike,
                                eigenvalues: npt.ArrayLike,
                                eigenvectors: npt.ArrayLike) -> GMMModel:
        """A full-covariance mixture given as Σ_k = U_k diag(λ_k) U_kᵀ, used as is.

        The constructor eigendecomposes full covariances; a caller that stores the
        decomposition (e.g. a prior file) passes it here so that no round-off of a
        re-decomposition enters the formulas. ``weights`` (K,) summing to 1, ``means`` (K, d),
        ``eigenvalues`` (K, d) positive, ``eigenvectors`` (K, d, d) with orthonormal columns
        (their orthonormality is the caller's contract; not re-checked).
        """
        w = np.asarray(weights, dtype=np.float64)
        mu = as_float_array(means, "means")
        lam = check_positive(eigenvalues, "eigenvalues")
        vecs = as_float_array(eigenvectors, "eigenvectors")
        if mu.ndim != 2 or w.shape != (mu.shape[0],):
            raise ValueError(f"weights (K,) and means (K, d) expected, got {w.shape}, {mu.shape}")
        k, d = mu.shape
        if lam.shape != (k, d) or vecs.shape != (k, d, d):
            raise ValueError(f"eigenvalues must have shape ({k}, {d}) and eigenvectors "
                             f"({k}, {d}, {d}), got {lam.shape}, {vecs.shape}")
        model = cls(w, mu, lam)  # validates weights and means; diagonal placeholder
        model.eigenvalues, model.eigenvectors = lam, vecs
        return model

    @property
    def dim(self) -> int:
        """Number of scalar components d."""
        return int(self.means.shape[1])

    def _params(self, y: Any) -> tuple[Any, ...]:
        p = (np.log(self.weights), self.means, self.eigenvalues, self.eigenvectors)
        if not _xp.is_torch(y):
            return p
        key = (y.dtype, y.device)
        if key not in self._cache:
            self._cache[key] = tuple(None if a is None else _xp.as_like(a, y) for a in p)
        return self._cache[key]

    def _log_joint(self, y: Any, noise_var: Any) -> tuple[Any, Any, Any, Any, tuple]:
        """(log π_k N(y; μ_k, Σ_k + t²I) (B,K), w = Uᵀ(y−μ_k) (B,K,d), Λ+t² (B|1,K,d), U, batch)."""
        y = _check_y(y, self.event_shape)
        batch = tuple(y.shape[: y.ndim - len(self.event_shape)])
        yf = y.reshape((-1, self.dim))
        v = _level(noise_var, y, len(self.event_shape))
        v = v if isinstance(v, float) else v.reshape((-1, 1, 1))
        logw, mu, lam, U = self._params(yf)
        r = yf[:, None, :] - mu[None]
        w = r if U is None else _xp.einsum("bkd,kde->bke", r, U)
        var = lam[None] + v
        log_n = -0.5 * ((w * w / var).sum(-1) + _xp.log(2 * math.pi * var).sum(-1))
        return logw[None] + log_n, w, var, U, batch

    def _components(self, y: Any, noise_var: Any) -> tuple[Any, Any, Any, Any, tuple]:
        """(log r (B,K), w, Λ+t², U, batch shape): responsibilities r_k in log space."""
        log_joint, w, var, U, batch = self._log_joint(y, noise_var)
        log_r = log_joint - _xp.logsumexp(log_joint, axis=1, keepdims=True)
        return log_r, w, var, U, batch

    def _combine(self, log_r: Any, comp: Any, U: Any, batch: tuple) -> Any:
        """Σ_k r_k U_k comp_k, reshaped to (batch, *event_shape)."""
        vec = comp if U is None else _xp.einsum("bke,kde->bkd", comp, U)
        out = (_xp.exp(log_r)[..., None] * vec).sum(1)
        return out.reshape(batch + self.event_shape)

    def responsibilities(self, y: Any, noise_var: Any) -> Any:
        """P(component k | Y = y) at level t², shape (batch, K)."""
        return _xp.exp(self._components(y, noise_var)[0])

    def log_prob(self, y: Any, noise_var: Any) -> Any:
        """log p_t(y) of the noisy mixture, shape (batch,).

        .. math:: \\log p_t(y) = \\log \\sum_k \\pi_k N(y; \\mu_k, \\Sigma_k + t^2 I)
        """
        log_joint, _, _, _, batch = self._log_joint(y, noise_var)
        return _xp.logsumexp(log_joint, axis=1).reshape(batch)

    def score(self, y: Any, noise_var: Any) -> Any:
        """∇_y log p_t(y) (exact); shape and kind of ``y``."""
        log_r, w, var, U, batch = self._components(y, noise_var)
        return self._combine(log_r, -w / var, U, batch)

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """E[X | X + tN = y] (exact); shape and kind of ``y``."""
        log_r, w, var, U, batch = self._components(y, noise_var)
        _, mu, lam, _ = self._params(log_r)
        shrunk = self._combine(log_r, w * (lam[None] / var), U, batch)
        return (_xp.exp(log_r) @ mu).reshape(batch + self.event_shape) + shrunk

    posterior_mean = denoise

    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` exact draws, float64 numpy of shape ``(n, *event_shape)``, from ``seed``."""
        n = check_int(n, "n", low=0)
        rng = np.random.default_rng(seed)
        k = rng.choice(self.weights.size, size=n, p=self.weights)
        z = rng.standard_normal((n, self.dim)) * np.sqrt(self.eigenvalues[k])
        if self.eigenvectors is not None:
            z = np.einsum("ne,nde->nd", z, self.eigenvectors[k])
        return (self.means[k] + z).reshape((n, *self.event_shape))


class PredictionModel:
    """Adapt an ε / v / x₀ / score / velocity predictor to the model protocol.

    ``predict(state, noise_var)`` receives the state in ``coords`` (default: the
    parameterisation's native coordinates, VP for ε/v/x₀, VE for the score, rectified flow for
    the velocity; see :mod:`rdptheory.diffusion.scores`) and the AWGN-equivalent level; it maps
    the level to its own timestep input itself (e.g. through a :class:`DiscreteSchedule`).
    """

    def __init__(
        self,
        predict: Callable[[Any, Any], Any],
        parameterization: Parameterization,
        coords: Coords | None = None,
    ) -> None:
        if not callable(predict):
            raise TypeError("predict must be callable as predict(state, noise_var)")
        self.parameterization = check_choice(
            parameterization, "parameterization", PARAMETERIZATIONS
        )
        self.coords = check_choice(
            NATIVE_COORDS[parameterization] if coords is None else coords, "coords", COORDS
        )
        self.predict = predict

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """x̂₀ from the wrapped prediction at the state corresponding to ``y``."""
        state = to_coords(y, noise_var, self.coords)  # type: ignore[arg-type]
        pred = self.predict(state, noise_var)
        return x0_from_prediction(state, pred, noise_var, self.parameterization, self.coords)  # type: ignore[arg-type]

    def score(self, y: Any, noise_var: Any) -> Any:
        """(x̂₀ − y)/t² (requires noise_var > 0), :func:`score_from_x0`."""
        return score_from_x0(y, self.denoise(y, noise_var), noise_var)
