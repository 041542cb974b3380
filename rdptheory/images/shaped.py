"""Spectrum-shaped noise for the patch GMM: shaped ladders, the exact posterior, I-MMSE rates.

Issue 15 (items 1 and 3). The observation is ``Y = X + N`` with ``N ~ N(0, Σ_n)`` and
``Σ_n = B diag(1/snr) Bᵀ`` diagonal in a fixed orthonormal basis ``B`` (columns; the block DCT
of :func:`block_dct_basis` or a covariance eigenbasis of :func:`eigen_basis`), known to both
sides. ``snr_i = 1/t_i² ≥ 0`` per coefficient (``snr_i = 0``: coefficient i not transmitted).
Isotropic noise is ``snr_i = 1/t²`` for all i.

**Exact GMM posterior under Σ_n** (Bayes for a Gaussian mixture; THEORY.md §4 generalised
from ``t²I`` to any Σ_n). For ``p_X = Σ_k π_k N(μ_k, Σ_k)``:

.. math::

    E[X \\mid Y = y] = \\sum_k r_k(y)\\,\\big(\\mu_k + \\Sigma_k(\\Sigma_k + \\Sigma_n)^{-1}
        (y - \\mu_k)\\big), \\qquad
    r_k(y) = \\frac{\\pi_k N(y; \\mu_k, \\Sigma_k + \\Sigma_n)}
                   {\\sum_j \\pi_j N(y; \\mu_j, \\Sigma_j + \\Sigma_n)}.

It is evaluated in the basis B from the *scaled observation* ``w = S Bᵀ y = S Bᵀ x + ε``,
``S = diag(√snr)``, ``ε ~ N(0, I)``, which stays finite where ``snr_i = 0``. With
``M_k = I + S Σ_k^B S`` (``Σ_k^B = Bᵀ Σ_k B``), our rearrangement (derived for this module,
identical to the formula above when Σ_n is finite) reads

.. math::

    E[X^B \\mid w] = \\sum_k r_k\\,\\big(\\mu_k^B + \\Sigma_k^B S M_k^{-1}(w - S\\mu_k^B)\\big),
    \\qquad \\log r_k = \\log\\pi_k - \\tfrac12\\big[(w - S\\mu_k^B)^\\top M_k^{-1}
        (w - S\\mu_k^B) + \\log\\det M_k\\big] + \\text{const}.

**Shaped ladders.** One scalar sets the rate. Without a perception constraint the ladder is
reverse water-filling [Cover & Thomas, Thm 10.3.3] on the per-coefficient variances
``λ_i = (Bᵀ Σ B)_{ii}``: at water level θ the R(D)-optimal test channel has
``t_i² = λ_i θ/(λ_i − θ)`` on ``λ_i > θ``, i.e. (our rewriting)

.. math:: \\mathrm{snr}_i(u) = (u - 1/\\lambda_i)_+,\\qquad u = 1/\\theta,

every live coefficient's SNR rising at the same speed. With a W₂² budget P the noise of the
D(R, P)-optimal forward channel (:func:`rdptheory.gaussian.drp_vector_solution`) is used.

**Rates by I-MMSE.** Along a ladder ``snr(s)`` the DiffC chain's expected rate for a given x
(exact model, continuous-time limit; each step's KL is ½ Σ_i Δsnr_i (x_i − x̂_i)² in the VE
coordinates of :mod:`rdptheory.diffusion.chain`, derived there) is

.. math::

    R(x) = \\tfrac12 \\int \\sum_i E\\big[(x_i^B - \\hat x_i^B)^2\\big]\\, d\\,\\mathrm{snr}_i,

which for x drawn from a Gaussian prior equals ½ Σ log(1 + λ_i snr_i) [GSV05] (I-MMSE, the
vector form along any monotone path). :func:`ladder_rate_nats` integrates it per
coefficient.

References: [GSV05] Guo, Shamai, Verdú, "Mutual information and minimum mean-square error in
Gaussian channels", IEEE Trans. IT 2005; [TSHM22] Theis et al., DiffC, 2022; THEORY.md §2-§4.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_int, check_nonnegative, check_positive
from rdptheory.models.prior import PatchGMM

# scipy and rdptheory.gaussian (scipy.optimize/integrate) are imported inside the functions
# that use them: the image codec imports this module for every file, isotropic ones need
# neither (~0.75 s of CPU at every CLI start-up).

__all__ = [
    "GAP_IMAGES",
    "GapStudy",
    "LadderErrors",
    "MeasuredGap",
    "ShapedGMM",
    "TheoryGap",
    "component_of",
    "crossing",
    "gap_study",
    "isotropic_ladder",
    "matched_gap",
    "photo_patches",
    "shaped_ladder",
    "theory_gap",
    "block_dct_basis",
    "eigen_basis",
    "basis_variances",
    "water_filling_snr",
    "water_filling_ladder",
    "shaped_snr",
    "gaussian_rate_nats",
    "ladder_rate_nats",
]


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix C (rows = frequencies), ``C @ C.T = I``."""
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    c = np.cos(np.pi * (2 * j + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    c[0] /= np.sqrt(2.0)
    return c


def block_dct_basis(patch: int, channels: int = 3) -> np.ndarray:
    """The separable DCT-II over (channel, row, column) of a flattened ``(C, p, p)`` patch.

    .. math:: B = (C_C \\otimes C_p \\otimes C_p)^\\top

    For three channels the channel DCT is the orthonormal colour transform
    (1,1,1)/√3, (1,0,−1)/√2, (1,−2,1)/√6 (luma and two opponent colours). Model-free: both
    sides know it without the prior.

    Parameters
    ----------
    patch : int >= 1
    channels : int >= 1

    Returns
    -------
    ndarray (d, d), d = channels·patch²; orthonormal, basis vectors as columns, the first the
    DC of the luma.

    >>> b = block_dct_basis(2, 1)
    >>> bool(np.allclose(b.T @ b, np.eye(4)))
    True
    """
    check_int(patch, "patch", low=1)
    check_int(channels, "channels", low=1)
    m = np.kron(_dct_matrix(channels), np.kron(_dct_matrix(patch), _dct_matrix(patch)))
    return np.ascontiguousarray(m.T)


def eigen_basis(cov: npt.ArrayLike) -> np.ndarray:
    """Eigenvectors of a covariance (columns, eigenvalues decreasing): the KLT basis.

    >>> eigen_basis([[1.0, 0.0], [0.0, 2.0]]).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    from rdptheory.gaussian import covariance_spectrum

    return np.ascontiguousarray(covariance_spectrum(cov).basis)


def _check_basis(basis: npt.ArrayLike, d: int) -> np.ndarray:
    b = np.asarray(basis, dtype=np.float64)
    if b.shape != (d, d) or not np.isfinite(b).all():
        raise ValueError(f"basis must be a finite ({d}, {d}) array, got shape {b.shape}")
    if not np.allclose(b.T @ b, np.eye(d), atol=1e-9):
        raise ValueError("basis must be orthonormal (Bᵀ B = I to 1e-9)")
    return b


def basis_variances(cov: npt.ArrayLike, basis: npt.ArrayLike) -> np.ndarray:
    """Per-coefficient variances ``λ_i = (Bᵀ Σ B)_{ii}`` (the diagonal the shaping sees).

    >>> basis_variances([[2.0, 1.0], [1.0, 2.0]], np.eye(2)).tolist()
    [2.0, 2.0]
    """
    sigma = np.asarray(cov, dtype=np.float64)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1]:
        raise ValueError(f"cov must be a square matrix, got shape {sigma.shape}")
    b = _check_basis(basis, sigma.shape[0])
    return np.einsum("ij,ik,kj->j", b, sigma, b)


# ------------------------------------------------------------------------- ladders


def water_filling_snr(u: npt.ArrayLike, variances: npt.ArrayLike) -> np.ndarray:
    """Reverse water-filling noise as SNRs: ``snr_i(u) = (u − 1/λ_i)₊`` with ``u = 1/θ``.

    The R(D)-optimal forward channel at water level θ = 1/u has
    ``t_i² = λ_iθ/(λ_i − θ)`` where λ_i > θ and no transmission elsewhere (Cover & Thomas,
    Thm 10.3.3; the SNR form is our rewriting).

    Parameters
    ----------
    u : array_like, any shape, >= 0
        Inverse water level (the ladder's one scalar; 0 = nothing sent).
    variances : array_like, shape (n,), > 0

    Returns
    -------
    ndarray, shape u.shape + (n,)

    >>> water_filling_snr(1.0, [2.0, 0.5]).tolist()
    [0.5, 0.0]
    """
    u = check_nonnegative(u, "u")
    lam = check_positive(variances, "variances")
    if lam.ndim != 1:
        raise ValueError(f"variances must be 1-D, got shape {lam.shape}")
    return np.maximum(u[..., None] - 1.0 / lam, 0.0)


def water_filling_ladder(rates_nats: npt.ArrayLike, variances: npt.ArrayLike) -> np.ndarray:
    """SNRs of the water-filling ladder at the requested Gaussian rates ``Σ ½ log(1 + λ_i snr_i)``.

    The level comes from :func:`rdptheory.gaussian.water_filling` (solved for D by bisection
    on the rate, which is monotone in D), so ``½ Σ log(1 + λ_i snr_i) = R`` to ~1e-12.

    Parameters
    ----------
    rates_nats : array_like, shape (L,), >= 0
    variances : array_like, shape (n,), > 0

    Returns
    -------
    ndarray (L, n), non-decreasing in the rate along every coefficient.

    >>> s = water_filling_ladder([0.5 * np.log(2.0)], [1.0])
    >>> s.round(12).tolist()
    [[1.0]]
    """
    from rdptheory.gaussian import water_filling

    rates = np.atleast_1d(check_nonnegative(rates_nats, "rates_nats")).astype(np.float64)
    lam = check_positive(variances, "variances")
    if rates.ndim != 1 or lam.ndim != 1:
        raise ValueError("rates_nats and variances must be 1-D")
    out = np.zeros((rates.size, lam.size))
    total = float(lam.sum())
    for j, r in enumerate(rates):
        if r == 0.0:
            continue
        lo, hi = np.log(total) - 2.0 * r / lam.size - 60.0, np.log(total)
        for _ in range(200):  # bisection on log D: R(D) is decreasing
            mid = 0.5 * (lo + hi)
            if float(water_filling(np.exp(mid), lam).rate_nats) > r:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-15:
                break
        theta = float(water_filling(np.exp(0.5 * (lo + hi)), lam).level)
        out[j] = water_filling_snr(1.0 / theta, lam)
    return out


def shaped_snr(rate_nats: float, variances: npt.ArrayLike, P: float) -> np.ndarray:
    """SNRs ``1/t_i²`` of the D(R, P)-optimal forward channel (W₂² budget P; 0 = not sent).

    ``P = inf`` is the water-filling ladder; P = 0 the perfect-perception optimum decoded
    with per-direction ρ_i (:func:`rdptheory.gaussian.shaped_noise_point`).

    >>> shaped_snr(0.5 * np.log(2.0), [1.0], np.inf).round(10).tolist()
    [1.0]
    """
    from rdptheory.gaussian import drp_vector_solution

    lam = check_positive(variances, "variances")
    r = float(check_positive(rate_nats, "rate_nats"))
    if np.isinf(P):
        return water_filling_ladder([r], lam)[0]
    sol = drp_vector_solution(r, P, lam, unit="nats")
    nv = np.asarray(sol.noise_var, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(nv), 1.0 / nv, 0.0)


def gaussian_rate_nats(variances: npt.ArrayLike, snr: npt.ArrayLike) -> np.ndarray:
    """I(X; Y) of independent Gaussian coefficients: ``½ Σ_i log(1 + λ_i snr_i)`` (nats).

    >>> abs(float(gaussian_rate_nats([1.0, 3.0], [1.0, 1.0])) - 0.5 * float(np.log(8.0))) < 1e-15
    True
    """
    lam = check_positive(variances, "variances")
    s = check_nonnegative(snr, "snr")
    return 0.5 * np.log1p(lam * s).sum(axis=-1)


def _harmonic_segment(e_a: np.ndarray, e_b: np.ndarray, ds: np.ndarray) -> np.ndarray:
    """∫ e ds over a segment with 1/e linear in s: ``ds · e_a e_b / L(e_a, e_b)``.

    L is the logarithmic mean (e_a − e_b)/log(e_a/e_b) (→ e_a when e_a = e_b).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = e_a / e_b
        lmean = np.where(np.abs(ratio - 1.0) < 1e-6, 0.5 * (e_a + e_b),
                         (e_a - e_b) / np.log(ratio))
        out = ds * e_a * e_b / lmean
    trap = 0.5 * ds * (e_a + e_b)
    return np.where((e_a > 0) & (e_b > 0) & np.isfinite(out), out, trap)


def ladder_rate_nats(coefficient_mse: npt.ArrayLike, snr: npt.ArrayLike) -> np.ndarray:
    r"""Cumulative I-MMSE rate ½ Σ_i ∫ e_i d snr_i along a ladder (harmonic rule per coefficient).

    Between ladder points each coefficient's error is interpolated with 1/e_i linear in
    snr_i (our choice: the exact form of a Gaussian coefficient, e = λ/(1 + λ snr)), so

    .. math:: R_l = \tfrac12 \sum_i \sum_{m<l} (\mathrm{snr}_{m+1,i} - \mathrm{snr}_{m,i})
              \frac{e_{m,i}\, e_{m+1,i}}{L(e_{m,i}, e_{m+1,i})},\qquad
              L(a, b) = \frac{a - b}{\log a - \log b}.

    **Accuracy**: exact (to rounding) for Gaussian coefficients on any ladder, however coarse;
    for other sources the error is that of the interpolant, second order in the step.
    The first row should be ``snr = 0`` (the prior mean).

    Parameters
    ----------
    coefficient_mse : array_like (L, n), >= 0
        Per-coefficient mean squared error of the posterior mean at each ladder point.
    snr : array_like (L, n), >= 0, non-decreasing along axis 0

    Returns
    -------
    ndarray (L,) cumulative rate in nats (0 at the first point).
    """
    e = np.asarray(coefficient_mse, dtype=np.float64)
    s = np.asarray(snr, dtype=np.float64)
    if e.shape != s.shape or e.ndim != 2 or e.shape[0] < 2:
        raise ValueError(f"coefficient_mse and snr must both have shape (L >= 2, n), "
                         f"got {e.shape} and {s.shape}")
    if not (np.isfinite(e).all() and np.isfinite(s).all()) or (e < 0).any() or (s < 0).any():
        raise ValueError("coefficient_mse and snr must be finite and >= 0")
    ds = np.diff(s, axis=0)
    if (ds < 0).any():
        raise ValueError("snr must be non-decreasing along the ladder (axis 0)")
    seg = 0.5 * _harmonic_segment(e[:-1], e[1:], ds).sum(axis=1)
    return np.concatenate(([0.0], np.cumsum(seg)))


# ------------------------------------------------------------------------- posterior


class ShapedGMM:
    """A Gaussian mixture seen in a fixed orthonormal basis, with its posterior under Σ_n.

    ``Σ_n = B diag(1/snr) Bᵀ`` (module docstring). The mixture is given by a
    :class:`~rdptheory.models.prior.PatchGMM` or by weights/means/full covariances.

    Parameters
    ----------
    weights : (K,) positive, summing to 1
    means : (K, d)
    covs : (K, d, d) symmetric positive definite
    basis : (d, d) orthonormal, columns are the basis vectors
    """

    def __init__(self, weights: npt.ArrayLike, means: npt.ArrayLike, covs: npt.ArrayLike,
                 basis: npt.ArrayLike) -> None:
        w = check_positive(weights, "weights")
        if w.ndim != 1 or abs(float(w.sum()) - 1.0) > 1e-6:
            raise ValueError("weights must be a 1-D probability vector")
        mu = np.asarray(means, dtype=np.float64)
        c = np.asarray(covs, dtype=np.float64)
        k = w.size
        if mu.ndim != 2 or mu.shape[0] != k or not np.isfinite(mu).all():
            raise ValueError(f"means must be finite with shape ({k}, d), got {mu.shape}")
        d = mu.shape[1]
        if c.shape != (k, d, d) or not np.isfinite(c).all():
            raise ValueError(f"covs must be finite with shape ({k}, {d}, {d}), got {c.shape}")
        b = _check_basis(basis, d)
        self.basis = b
        self.log_weights = np.log(w / w.sum())
        self.means_b = mu @ b  # μ_k^B = Bᵀ μ_k, rows
        cb = b.T @ c @ b  # Σ_k^B = Bᵀ Σ_k B
        self.covs_b = 0.5 * (cb + cb.transpose(0, 2, 1))
        if (np.linalg.eigvalsh(self.covs_b)[:, 0] <= 0).any():
            raise ValueError("covs must be positive definite")

    @classmethod
    def from_patch_gmm(cls, gmm: PatchGMM, basis: npt.ArrayLike) -> ShapedGMM:
        """The patch prior in ``basis``."""
        return cls(gmm.weights, gmm.means, gmm.covariances(), basis)

    @property
    def dim(self) -> int:
        """Dimension d."""
        return int(self.means_b.shape[1])

    def to_basis(self, x: npt.ArrayLike) -> np.ndarray:
        """Coordinates ``Bᵀ x`` of rows ``x`` (N, d)."""
        return np.asarray(x, dtype=np.float64) @ self.basis

    def from_basis(self, xb: npt.ArrayLike) -> np.ndarray:
        """Rows ``B x^B`` back in the original coordinates."""
        return np.asarray(xb, dtype=np.float64) @ self.basis.T

    def _check(self, w: npt.ArrayLike, snr: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != self.dim or not np.isfinite(w).all():
            raise ValueError(f"w must be finite with shape (N, {self.dim}), got {w.shape}")
        s = check_nonnegative(snr, "snr")
        s = np.broadcast_to(s, (self.dim,)).astype(np.float64) if s.ndim <= 1 else s
        if s.shape != (self.dim,) or not np.isfinite(s).all():
            raise ValueError(f"snr must be finite, a scalar or shape ({self.dim},)")
        return w, s

    def posterior_scaled(self, w: npt.ArrayLike, snr: npt.ArrayLike,
                         ) -> tuple[np.ndarray, np.ndarray]:
        """``(E[X^B | w], r)`` from the scaled observation ``w = S Bᵀ x + ε`` (module eq.).

        Parameters
        ----------
        w : (N, d) scaled observations in the basis.
        snr : float or (d,) per-coefficient SNR ``1/t_i²`` (>= 0, finite).

        Returns
        -------
        mean_b : (N, d) posterior mean in basis coordinates.
        resp : (N, K) responsibilities r_k.
        """
        from scipy.linalg import cho_factor, cho_solve
        from scipy.special import logsumexp

        w, s = self._check(w, snr)
        sq = np.sqrt(s)
        k_count, d = self.means_b.shape
        log_joint = np.empty((w.shape[0], k_count))
        comp = np.empty((k_count, w.shape[0], d))
        for k in range(k_count):
            m = np.eye(d) + sq[:, None] * self.covs_b[k] * sq[None, :]
            fac = cho_factor(m, lower=True)
            resid = w - sq * self.means_b[k]
            sol = cho_solve(fac, resid.T).T  # M_k^{-1}(w − Sμ_k)
            logdet = 2.0 * np.log(np.diag(fac[0])).sum()
            log_joint[:, k] = self.log_weights[k] - 0.5 * ((resid * sol).sum(1) + logdet)
            comp[k] = self.means_b[k] + (sol * sq) @ self.covs_b[k]  # Σ_k S M_k^{-1}(...)
        resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
        return np.einsum("nk,knd->nd", resp, comp), resp

    def posterior_mean(self, y: npt.ArrayLike, noise_var: npt.ArrayLike) -> np.ndarray:
        """``E[X | Y = y]`` for ``Y = X + N``, ``N ~ N(0, B diag(noise_var) Bᵀ)`` (finite, > 0).

        Parameters
        ----------
        y : (N, d) observations in the original coordinates.
        noise_var : float or (d,) per-coefficient noise variances t_i².

        Returns
        -------
        (N, d) posterior means in the original coordinates.
        """
        t2 = check_positive(noise_var, "noise_var")
        if not np.isfinite(t2).all():
            raise ValueError("noise_var must be finite (use posterior_scaled for snr = 0)")
        snr = 1.0 / np.broadcast_to(t2, (self.dim,))
        w = self.to_basis(y) * np.sqrt(snr)
        return self.from_basis(self.posterior_scaled(w, snr)[0])

    def ladder_errors(self, x: npt.ArrayLike, snr_ladder: npt.ArrayLike, *, draws: int = 2,
                      seed: int = 0) -> LadderErrors:
        """Per-coefficient squared errors of the posterior mean along a ladder, on data ``x``.

        At each ladder point l the observation is ``w = S_l Bᵀ x + ε`` with the same
        standard-normal ε for every l (common random numbers; the chain's expected rate only
        depends on each level's marginal). Returns :class:`LadderErrors`.

        Parameters
        ----------
        x : (N, d) clean data (original coordinates).
        snr_ladder : (L, d) non-decreasing per-coefficient SNRs.
        draws : int >= 1, noise draws per patch.
        seed : int
        """
        xb = self.to_basis(x)
        if xb.ndim != 2 or xb.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim})")
        lad = check_nonnegative(snr_ladder, "snr_ladder")
        if lad.ndim != 2 or lad.shape[1] != self.dim or (np.diff(lad, axis=0) < 0).any():
            raise ValueError(f"snr_ladder must be (L, {self.dim}) and non-decreasing")
        draws = check_int(draws, "draws", low=1)
        eps = np.random.default_rng(seed).standard_normal((draws,) + xb.shape)
        sq_err = np.empty((lad.shape[0], xb.shape[0], self.dim))
        for li, s in enumerate(lad):
            acc = np.zeros_like(xb)
            for e in eps:
                mean_b, _ = self.posterior_scaled(np.sqrt(s) * xb + e, s)
                acc += (xb - mean_b) ** 2
            sq_err[li] = acc / draws
        return LadderErrors(lad, sq_err)


class LadderErrors(NamedTuple):
    """``snr`` (L, d) and per-patch, per-coefficient squared errors ``sq_err`` (L, N, d)."""

    snr: np.ndarray
    sq_err: np.ndarray

    def rate_nats(self, rows: npt.ArrayLike | None = None) -> np.ndarray:
        """Cumulative mean rate per patch (nats, (L,)) over the patches ``rows`` (all if None)."""
        e = self.sq_err if rows is None else self.sq_err[:, np.asarray(rows)]
        return ladder_rate_nats(e.mean(axis=1), self.snr)

    def mse(self, rows: npt.ArrayLike | None = None) -> np.ndarray:
        """Mean total squared error per patch at each ladder point, (L,)."""
        e = self.sq_err if rows is None else self.sq_err[:, np.asarray(rows)]
        return e.sum(axis=2).mean(axis=1)


# ------------------------------------------------------------------------- the gap


class TheoryGap(NamedTuple):
    """Gaussian closed forms at one isotropic rate (per patch, nats; ``*_bpp`` per pixel).

    ``rate_nats``: isotropic I(X; Y); ``mse_iso``: its MMSE;
    ``rate_mse_matched_nats``: R(D = mse_iso) (shaped noise in the eigenbasis, MMSE decoding);
    ``rate_rho1_nats``: R(D, P) at the (D, W₂²) that isotropic noise + ρ = 1 reaches (P = 0);
    ``rate_dct_nats``: rate of water-filling noise diagonal in ``basis`` at D = mse_iso
    (NaN when no basis is given).
    """

    rate_nats: float
    mse_iso: float
    rate_mse_matched_nats: float
    rate_rho1_nats: float
    rate_dct_nats: float


def _gaussian_basis_point(cov_b: np.ndarray, snr: np.ndarray) -> tuple[float, float]:
    """(rate nats, MMSE) of N(μ, Σ^B) observed through noise diag(1/snr) in the basis."""
    sq = np.sqrt(snr)
    m = np.eye(cov_b.shape[0]) + sq[:, None] * cov_b * sq[None, :]
    rate = 0.5 * np.linalg.slogdet(m)[1]
    a = sq[:, None] * cov_b  # S Σ
    mmse = float(np.trace(cov_b) - np.trace(a.T @ np.linalg.solve(m, a)))
    return float(rate), mmse


def theory_gap(cov: npt.ArrayLike, rate_nats: float, basis: npt.ArrayLike | None = None,
               ) -> TheoryGap:
    """Isotropic vs shaped rates for a Gaussian N(μ, Σ) at the isotropic rate ``rate_nats``.

    Isotropic t² solves ½ Σ log(1 + λ_i/t²) = R; the MSE-matched shaped rate is
    R(D) at D = Σ λ_i t²/(λ_i + t²); the perception-matched one is R(D, P) at the point of
    :func:`rdptheory.gaussian.score_scaled_point` with ρ = 1 (W₂² = 0). With ``basis``, the
    rate of water-filling noise on the basis' diagonal variances (not the eigenbasis: the
    Gaussian's correlations between coefficients are ignored by the shaping but used by the
    MMSE decoder) at the same MSE, ``½ log det(I + SΣ^BS)``.
    """
    from scipy.optimize import brentq

    from rdptheory.diffusion.chain import noise_var_for_rate
    from rdptheory.gaussian import (
        covariance_spectrum,
        rate_distortion_vector,
        rdp_vector,
        score_scaled_point,
    )

    sigma = np.asarray(cov, dtype=np.float64)
    lam = covariance_spectrum(sigma).variances
    lam = lam[lam > 0]
    r = float(check_positive(rate_nats, "rate_nats"))
    t2 = noise_var_for_rate(lam, r)
    mse = float(np.sum(lam * t2 / (lam + t2)))
    r_mse = float(rate_distortion_vector(mse, lam, unit="nats"))
    pt = score_scaled_point(lam, t2, 1.0)
    r_rho1 = float(rdp_vector(pt.mse, max(float(pt.perception_value), 0.0), lam, unit="nats"))
    r_dct = float("nan")
    if basis is not None:
        b = _check_basis(basis, sigma.shape[0])
        cov_b = b.T @ sigma @ b
        lam_b = np.diag(cov_b).copy()

        def excess(log_u: float) -> float:
            return _gaussian_basis_point(cov_b, water_filling_snr(np.exp(log_u), lam_b))[1] - mse

        lo = np.log(1.0 / lam_b.max()) + 1e-9
        hi = lo + 1.0
        while excess(hi) > 0:
            hi += 1.0
        log_u = brentq(excess, lo, hi, xtol=1e-13)
        r_dct = _gaussian_basis_point(cov_b, water_filling_snr(np.exp(log_u), lam_b))[0]
    return TheoryGap(r, mse, r_mse, r_rho1, r_dct)


def crossing(ladder_value: npt.ArrayLike, ladder_param: npt.ArrayLike, target: float,
             ) -> float:
    """Linear interpolation of ``ladder_param`` where a monotone ``ladder_value`` = ``target``.

    Raises ValueError when ``target`` is outside the ladder's range.
    """
    v = np.asarray(ladder_value, dtype=np.float64)
    p = np.asarray(ladder_param, dtype=np.float64)
    if v[-1] < v[0]:
        v, p = v[::-1], p[::-1]
    if not (v[0] <= target <= v[-1]):
        raise ValueError(f"target {target:.6g} outside the ladder's range "
                         f"[{v[0]:.6g}, {v[-1]:.6g}]; extend the ladder")
    return float(np.interp(target, np.maximum.accumulate(v), p))


def isotropic_ladder(gamma: npt.ArrayLike, dim: int) -> np.ndarray:
    """``(L + 1, dim)`` SNRs ``[0, γ_1, ..., γ_L]`` in every coefficient (isotropic noise)."""
    g = check_positive(gamma, "gamma")
    return np.concatenate(([0.0], np.sort(g)))[:, None] * np.ones(dim)


def shaped_ladder(u: npt.ArrayLike, variances: npt.ArrayLike) -> np.ndarray:
    """``(L + 1, n)`` water-filling SNRs ``[0, snr(u_1), ..., snr(u_L)]`` (one scalar u)."""
    uu = np.concatenate(([0.0], np.sort(check_positive(u, "u"))))
    return water_filling_snr(uu, variances)


class MeasuredGap(NamedTuple):
    """One MSE-matched comparison on data: isotropic vs shaped chain (per patch, nats).

    ``rate_iso_nats`` is the isotropic chain's rate at its ladder point, ``mse`` the MSE both
    chains reach there (shaped point found by interpolation), ``rate_shaped_nats`` the
    shaped chain's rate to the same MSE.
    """

    rate_iso_nats: float
    mse: float
    rate_shaped_nats: float


def matched_gap(iso: LadderErrors, shaped: LadderErrors, rate_nats: float,
                rows: npt.ArrayLike | None = None, rows_shaped: npt.ArrayLike | None = None,
                at: float | None = None) -> MeasuredGap:
    """MSE-matched gap: the isotropic chain at rate ``rate_nats`` (or at the ladder position
    ``at``, an index-interpolation value), the shaped chain at the same MSE.

    ``rows`` selects patches of ``iso``, ``rows_shaped`` those of ``shaped`` (default: the
    same ``rows``). Position along each ladder is interpolated linearly in the ladder index.
    """
    r_iso, d_iso = iso.rate_nats(rows), iso.mse(rows)
    idx = np.arange(r_iso.size, dtype=np.float64)
    pos = crossing(r_iso, idx, rate_nats) if at is None else float(at)
    rate = float(np.interp(pos, idx, r_iso))
    mse = float(np.interp(pos, idx, d_iso))
    rs = rows if rows_shaped is None else rows_shaped
    r_sh, d_sh = shaped.rate_nats(rs), shaped.mse(rs)
    pos_sh = crossing(d_sh, np.arange(d_sh.size, dtype=np.float64), mse)
    return MeasuredGap(rate, mse, float(np.interp(pos_sh, np.arange(r_sh.size), r_sh)))


# ------------------------------------------------------------------------- the study

#: Unseen photographs of the study: scikit-learn's two and two scikit-image scientific images.
GAP_IMAGES: tuple[str, ...] = ("china", "flower", "immunohistochemistry", "hubble_deep_field")


def photo_patches(size: int = 128, names: tuple[str, ...] = GAP_IMAGES, patch: int = 8,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping ``patch × patch`` colour patches of central ``size²`` crops.

    Returns ``(patches (N, 3·patch²) in model space, image index (N,))``; images never used to
    fit the prior (``rdptheory.data.TRAIN_IMAGES``).
    """
    from rdptheory.data import UNSEEN_IMAGES, bundled_image, center_crop, to_model_space

    check_int(size, "size", low=patch)
    if size % patch:
        raise ValueError(f"size must be a multiple of patch={patch}, got {size}")
    out, which = [], []
    for j, name in enumerate(names):
        if name in UNSEEN_IMAGES:
            pixels = bundled_image(name).pixels
        elif name in ("immunohistochemistry", "hubble_deep_field"):
            import skimage.data

            pixels = getattr(skimage.data, name)()
        else:
            raise ValueError(f"names must be among {GAP_IMAGES}, got {name!r}")
        x = to_model_space(center_crop(pixels, size))
        n = size // patch
        p = x.reshape(3, n, patch, n, patch).transpose(1, 3, 0, 2, 4).reshape(n * n, -1)
        out.append(p)
        which.append(np.full(n * n, j))
    return np.concatenate(out), np.concatenate(which)


class GapStudy(NamedTuple):
    """Everything :func:`gap_study` measured (rates per patch in nats; see its docstring)."""

    bpp: np.ndarray
    rows: list[dict[str, float | int | str]]


def component_of(gmm: PatchGMM, x: npt.ArrayLike) -> np.ndarray:
    """The most responsible mixture component of each clean patch (noise-free posterior)."""
    x = np.asarray(x, dtype=np.float64)
    proj = np.matmul(x[None] - gmm.means[:, None], gmm.eigvecs)
    quad = (proj**2 / gmm.eigvals[:, None]).sum(2) + np.log(gmm.eigvals).sum(1)[:, None]
    return np.argmax(np.log(gmm.weights)[:, None] - 0.5 * quad, axis=0)


def gap_study(gmm: PatchGMM, patches: npt.ArrayLike, bpp: npt.ArrayLike, *, levels: int = 32,
              draws: int = 1, seed: int = 0, min_group: int = 16,
              progress: bool | None = False) -> GapStudy:
    """Isotropic vs shaped chain rates at MSE-matched points, theory and measurement.

    Rows, one per (bpp, model, basis): ``model`` is ``"gmm"`` (the whole prior) or ``"k<j>"``
    (component j: the Gaussian N(μ_j, Σ_j) on the theory side; on the measured side the
    photograph patches whose clean posterior picks j, shaped by Σ_j's eigenbasis);
    ``basis`` is ``"eigen"`` or ``"dct"`` (overall model only). Fields: ``bpp_iso`` (the
    isotropic rate per pixel), ``bpp_shaped``, ``gap_bpp``, ``mse`` (per patch), and the
    Gaussian theory ``theory_gap_bpp`` (MSE matched) and ``theory_gap_rho1_bpp``
    (perception matched: ρ = 1, P = 0; eigenbasis only). ``model="adaptive"``: every patch
    shaped by its own component (component index as side information not counted).
    All decoders are the exact posterior mean (MMSE end); rates are the I-MMSE integrals.
    """
    x = np.asarray(patches, dtype=np.float64)
    bpps = np.atleast_1d(check_positive(bpp, "bpp")).astype(np.float64)
    levels = check_int(levels, "levels", low=4)
    pixels = gmm.patch**2
    cov = gmm.mean_and_covariance()[1]
    eig = eigen_basis(cov)
    dct = block_dct_basis(gmm.patch, gmm.channels)
    lam_eig = basis_variances(cov, eig)
    lam_dct = basis_variances(cov, dct)
    to_nats = pixels * np.log(2.0)
    top = float(bpps.max()) * 1.6 * to_nats
    # ladder ranges from the Gaussian fit, generous (photographs need not match it)
    from rdptheory.diffusion.chain import noise_var_for_rate

    g_hi = 16.0 / noise_var_for_rate(lam_eig, top)
    gamma = np.geomspace(1e-3 / float(lam_eig.max()), g_hi, levels)
    sg_eig = ShapedGMM.from_patch_gmm(gmm, eig)
    sg_dct = ShapedGMM.from_patch_gmm(gmm, dct)

    def wf_u(lam: np.ndarray) -> np.ndarray:
        snr_top = water_filling_ladder([top], lam)[0]
        u_hi = 16.0 * float(np.max(snr_top + 1.0 / lam))  # 1/θ at the top rate, with margin
        return np.geomspace(1.0 / lam.max() * (1.0 + 1e-6), u_hi, levels)

    bar = _bar(progress, 3 + gmm.n_components)
    iso = sg_eig.ladder_errors(x, isotropic_ladder(gamma, gmm.dim), draws=draws, seed=seed)
    bar()
    sh_eig = sg_eig.ladder_errors(x, shaped_ladder(wf_u(lam_eig), lam_eig), draws=draws,
                                  seed=seed)
    bar()
    sh_dct = sg_dct.ladder_errors(x, shaped_ladder(wf_u(lam_dct), lam_dct), draws=draws,
                                  seed=seed)
    bar()
    comp = component_of(gmm, x)
    covs = gmm.covariances()
    per_comp: dict[int, tuple[np.ndarray, LadderErrors]] = {}
    for k in range(gmm.n_components):
        rows_k = np.flatnonzero(comp == k)
        if rows_k.size >= min_group:
            b_k = eigen_basis(covs[k])
            sg_k = ShapedGMM.from_patch_gmm(gmm, b_k)
            lam_k = basis_variances(covs[k], b_k)
            per_comp[k] = (rows_k, sg_k.ladder_errors(x[rows_k], shaped_ladder(wf_u(lam_k),
                                                       lam_k), draws=draws, seed=seed + 1 + k))
        bar()
    out: list[dict[str, float | int | str]] = []
    idx = np.arange(iso.snr.shape[0], dtype=np.float64)
    for b in bpps:
        r = float(b) * to_nats
        pos = crossing(iso.rate_nats(), idx, r)
        th = theory_gap(cov, r, dct)
        for basis, sh, r_th in (("eigen", sh_eig, th.rate_mse_matched_nats),
                                ("dct", sh_dct, th.rate_dct_nats)):
            m = matched_gap(iso, sh, r, at=pos)
            out.append(_row(b, "gmm", basis, x.shape[0], m, to_nats, th.rate_nats - r_th,
                            th.rate_nats - th.rate_rho1_nats if basis == "eigen" else np.nan))
        adaptive_iso = adaptive_sh = adaptive_mse = 0.0
        for k, (rows_k, sh_k) in per_comp.items():
            m = matched_gap(iso, sh_k, np.nan, rows=rows_k,
                            rows_shaped=np.arange(rows_k.size), at=pos)
            th_k = theory_gap(covs[k], r)
            out.append(_row(b, f"k{k}", "eigen", rows_k.size, m, to_nats,
                            th_k.rate_nats - th_k.rate_mse_matched_nats,
                            th_k.rate_nats - th_k.rate_rho1_nats))
            f = rows_k.size / x.shape[0]
            adaptive_iso += f * m.rate_iso_nats
            adaptive_sh += f * m.rate_shaped_nats
            adaptive_mse += f * m.mse
        covered = sum(v[0].size for v in per_comp.values())
        if covered == x.shape[0]:
            out.append(_row(b, "adaptive", "eigen", covered,
                            MeasuredGap(adaptive_iso, adaptive_mse, adaptive_sh), to_nats,
                            np.nan, np.nan))
    return GapStudy(bpps, out)


def _row(b: float, model: str, basis: str, n: int, m: MeasuredGap, to_nats: float,
         theory: float, theory_rho1: float) -> dict[str, float | int | str]:
    return {"bpp": float(b), "model": model, "basis": basis, "patches": int(n),
            "bpp_iso": float(m.rate_iso_nats / to_nats),
            "bpp_shaped": float(m.rate_shaped_nats / to_nats),
            "gap_bpp": float((m.rate_iso_nats - m.rate_shaped_nats) / to_nats),
            "mse": float(m.mse),
            "theory_gap_bpp": float(theory) / to_nats,
            "theory_gap_rho1_bpp": float(theory_rho1) / to_nats}


def _bar(enabled: bool | None, total: int):
    """A callable advancing a progress bar (or doing nothing)."""
    from rdptheory._progress import progress

    it = iter(progress(range(total), desc="ladders", enabled=enabled))

    def step() -> None:
        next(it, None)

    return step
