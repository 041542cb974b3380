"""Vector Gaussian rate-distortion(-perception) for diag(λ₁..λₙ) (THEORY.md §2).

A source ``N(0, Σ)`` reduces to ``N(0, diag(λ))`` in the eigenbasis of Σ: an orthogonal
change of basis preserves the MSE, the W₂ distance between Gaussians and the mutual
information, so every function here takes the spectrum ``variances`` (a 1-D array);
:func:`covariance_spectrum` computes it from a full covariance.

Conventions (THEORY.md §0): ``D`` is the **total** MSE summed over components; ``P`` is
W₂²(p_X, p_X̂) (squared, same units as D); rates are bits unless ``unit="nats"``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._units import Unit, check_unit, nats_to, to_nats
from rdptheory._validation import Perception, check_covariance, check_perception, fmt
from rdptheory.gaussian import _vector_batch as _batch
from rdptheory.gaussian import _vector_kl as _kl
from rdptheory.gaussian import _vector_solver as _solver
from rdptheory.gaussian._common import (
    FloatOrArray,
    Regime,
    as_output,
    broadcast_named,
    check_magnitude,
    check_nonnegative,
    check_positive,
    check_scalar,
    convert_rate,
    deprecate_fields,
    guarded,
)
from rdptheory.gaussian._common import check_variances as _check_variances

__all__ = [
    "WaterFilling",
    "Spectrum",
    "RDPVectorSolution",
    "water_filling",
    "rate_distortion_vector",
    "rdp_vector",
    "drp_vector",
    "rdp_vector_solution",
    "drp_vector_solution",
    "covariance_spectrum",
]

#: Elements of the (batch, n) work array of the vectorised water-filling.
_BLOCK_ELEMENTS = 1 << 20


class WaterFilling(NamedTuple):
    """Reverse water-filling solution (THEORY.md §2).

    ``level`` θ has the shape of ``D``; ``component_mse`` D_i = min(θ, λ_i) has shape
    ``D.shape + (n,)``; ``rate_nats`` = Σ ½ log(λ_i / D_i) in nats. For D ≥ Σλ_i the level
    is reported as max λ_i (every component is then at zero rate).
    """

    level: FloatOrArray
    component_mse: np.ndarray
    rate_nats: FloatOrArray

    @property
    def rate_bits(self) -> FloatOrArray:
        """R(D) in bits."""
        return convert_rate(self.rate_nats, "nats", "bits")


class Spectrum(NamedTuple):
    """Eigendecomposition Σ = U diag(variances) Uᵀ, variances in decreasing order."""

    variances: np.ndarray
    basis: np.ndarray


class RDPVectorSolution(NamedTuple):
    """Optimal jointly Gaussian test channel of the vector R(D, P) problem (THEORY.md §2).

    Totals ``rate_nats``, ``mse``, ``perception_value`` (in the measure ``perception``);
    per-component arrays have shape ``(n,)`` in the order of the input ``variances``
    (``component_mse``, ``component_perception_value``, ``component_rate_nats`` and the
    channel's ``recon_std``, ``correlation``, ``noise_var``, ``gain``); the field names are
    those of the scalar :class:`~rdptheory.gaussian.TestChannel`. Rates are in nats
    (``rate_bits`` converts). ``regime`` is one
    of ``"zero_rate"``, ``"perception_inactive"`` (plain reverse water-filling),
    ``"perfect_perception"`` (P = 0) or ``"both_active"`` (THEORY.md §2). ``mu``/``nu``
    are the Lagrange multipliers of the D and P constraints (nats per unit of distortion;
    ``nu = inf`` when P = 0, where Slater's condition fails and the P constraint is
    eliminated instead).
    ``dual_gap_nats`` = primal rate − Lagrange dual value at (μ, ν) (a certificate: the
    dual value is a lower bound on R(D, P); it is at rounding level of the Lagrangian's
    terms, ``|gap| ≲ 1e-15·(R + μD + νP)``, so relative to R it is only meaningful away from
    R = 0); ``kkt_residual`` is the largest of the relative
    constraint residuals and the per-component stationarity residuals. The forward test
    channel X̂_i = gain_i·(X_i + √noise_var_i·N_i) realises the solution; a component that
    carries no rate has ``noise_var = inf``, ``gain = 0`` and, if ``recon_std > 0``, its
    X̂_i is drawn independently as N(0, recon_std²) (common randomness).
    """

    rate_nats: float
    mse: float
    perception_value: float
    regime: Regime
    recon_std: np.ndarray
    correlation: np.ndarray
    component_mse: np.ndarray
    component_perception_value: np.ndarray
    component_rate_nats: np.ndarray
    mu: float
    nu: float
    dual_gap_nats: float
    kkt_residual: float
    noise_var: np.ndarray
    gain: np.ndarray
    perception: Perception = "w2sq"

    @property
    def rate_bits(self) -> float:
        """R(D, P) (or the rate of the D(R, P) solution) in bits."""
        return float(convert_rate(self.rate_nats, "nats", "bits"))


@guarded()
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
        ``level`` (shape of D), ``component_mse`` (D.shape + (n,)), ``rate_nats`` (nats).

    Examples
    --------
    >>> wf = water_filling(1.5, [4.0, 1.0, 0.25])
    >>> float(wf.level), wf.component_mse.tolist(), round(float(wf.rate_nats), 12)
    (0.625, [0.625, 0.625, 0.25], 1.163150809806)
    """
    D = check_positive(D, "D")
    lam = _check_variances(variances)
    level = _water_level(D, lam)
    distortions = np.minimum(level[..., None], lam)
    # clamp round-off: λ_i/D_i >= 1 exactly by construction, log of a ratio >= 1
    rate = 0.5 * np.log(np.maximum(lam / distortions, 1.0)).sum(axis=-1)
    return WaterFilling(as_output(level), distortions, as_output(rate))


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


@guarded()
def rate_distortion_vector(
    D: npt.ArrayLike, variances: npt.ArrayLike, *, unit: Unit = "bits"
) -> FloatOrArray:
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
    D = check_positive(D, "D")
    lam = _check_variances(variances)
    flat = D.ravel()
    rate = np.empty_like(flat)
    block = max(1, _BLOCK_ELEMENTS // lam.size)  # bound the (block, n) work array
    for start in range(0, flat.size, block):
        level = _water_level(flat[start : start + block], lam)
        ratio = np.maximum(lam / level[:, None], 1.0)  # λ_i / min(θ, λ_i) >= 1
        rate[start : start + block] = 0.5 * np.log(ratio).sum(axis=-1)
    return as_output(nats_to(rate.reshape(D.shape), unit))


@guarded()
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
        Symmetric positive semi-definite covariance. A singular Σ gets exact zeros in
        ``variances`` for its null space (eigenvalues below 1e-12 λ_max), which
        :func:`rdp_vector_solution` handles in the range of Σ.

    Returns
    -------
    Spectrum
        ``variances`` (d,) decreasing, ``basis`` (d, d) orthogonal with eigenvectors as columns.

    Examples
    --------
    >>> covariance_spectrum([[2.0, 1.0], [1.0, 2.0]]).variances.round(12).tolist()
    [3.0, 1.0]
    """
    sigma = check_covariance(cov, "cov", allow_singular=True)
    eigvals, eigvecs = np.linalg.eigh(sigma)
    order = np.argsort(eigvals)[::-1]
    # a singular Σ: eigenvalues at rounding level (|λ| <= 1e-12 λ_max) are its null space, 0
    lam = eigvals[order]
    lam = np.where(np.abs(lam) <= 1e-12 * max(float(lam.max()), 0.0), 0.0, lam)
    return Spectrum(lam, eigvecs[:, order])


# ---------------------------------------------------------------------------------------
# R(D, P) and D(R, P) for W₂² perception: the convex program of THEORY.md §2.
# ---------------------------------------------------------------------------------------


def _water_level_for_rate(R_nats: float, lam: np.ndarray) -> float:
    """θ with Σ_{λ_i > θ} ½ log(λ_i/θ) = R > 0 (closed form after sorting, decreasing)."""
    lam_desc = np.sort(lam)[::-1]
    k = np.arange(1, lam.size + 1)
    log_theta = (np.cumsum(np.log(lam_desc)) - 2.0 * R_nats) / k  # k largest active
    nxt = np.append(lam_desc[1:], 0.0)
    valid = (log_theta < np.log(lam_desc)) & (np.exp(log_theta) >= nxt)
    return float(np.exp(log_theta[np.argmax(valid)]))


def _wf_perception(theta: float, lam: np.ndarray) -> float:
    """W₂² of the water-filling reconstruction: Σ λ(1 − √(1 − θ/λ)₊)², written stably."""
    r = np.minimum(theta / lam, 1.0)
    return float(np.sum(lam * (r / (1.0 + np.sqrt(1.0 - r))) ** 2))


def _zero_rate_family(lam: np.ndarray, P: float) -> _solver.Family:
    """R = 0: X̂ independent of X with ŝ_i = σ_i(1 − √(P/L))₊, i.e. ε = 1, a = min(√(P/L), 1)."""
    a = min(float(np.sqrt(P / lam.sum())), 1.0)
    return _solver.Family(0.0, a, np.ones_like(lam), np.zeros_like(lam), np.zeros_like(lam))


def _wf_family(lam: np.ndarray, theta: float) -> _solver.Family:
    """Water-filling (perception inactive): γ = 1/θ, a = 1."""
    return _solver.family(lam, 1.0 / theta, 1.0)


def _wf_family_for_rate(lam: np.ndarray, R_nats: float, theta: float) -> _solver.Family:
    """Water-filling at rate R with the per-component rates computed from R directly.

    r_i = ½ log(λ_i/θ) = ½(ℓ_i − mean ℓ) + R/k over the k active components, with
    ℓ_i = log(λ_i/λ_max) (log1p near 1): accurate even when R ≪ |log λ| (θ itself is not).
    When R is so small that θ rounds to λ_max (R ≲ 1e-16 nats), the active set is its R → 0⁺
    limit, the components equal to λ_max.
    """
    active = lam > theta
    if not active.any():
        active = lam == lam.max()
    k = int(active.sum())
    ref = float(lam[active].max())
    ratio = lam[active] / ref
    ell = np.where(ratio > 0.5, np.log1p((lam[active] - ref) / ref), np.log(ratio))
    r = np.maximum(0.5 * (ell - ell.mean()) + R_nats / k, 0.0)
    c = np.zeros_like(lam)
    eps = np.ones_like(lam)
    c[active] = np.sqrt(-np.expm1(-2.0 * r))  # 1 − c² = e^{−2r}
    eps[active] = np.exp(-2.0 * r) / (1.0 + c[active])
    return _solver.Family(1.0 / theta, 1.0, eps, c, np.zeros_like(lam))


def _solve_rdp(D: float, P: float, lam: np.ndarray) -> RDPVectorSolution:
    """Regime dispatch for min R s.t. D_tot <= D, P_tot <= P (THEORY.md §2)."""
    L = float(lam.sum())
    theta = float(_water_level(np.asarray(D), lam))
    p_wf = _wf_perception(theta, lam)
    regime: Regime
    if D >= L + max(np.sqrt(L) - np.sqrt(P), 0.0) ** 2:
        regime, fam = "zero_rate", _zero_rate_family(lam, P)
    elif P >= p_wf:
        regime, fam = "perception_inactive", _wf_family(lam, theta)
    elif P == 0.0:
        regime = "perfect_perception"
        fam = _solver.solve_gamma("D", D, lam, 0.0, float(np.log(1.0 / theta)))
    else:
        # D > L: at a_hi = 1 − √(D/L − 1) the curve D_tot = D reaches γ → 0 (zero rate)
        a_hi = 1.0 if D <= L else 1.0 - float(np.sqrt(D / L - 1.0))
        p_hi = p_wf if D <= L else L * a_hi**2  # P_tot at a_hi (the γ → 0 limit when D > L)
        regime, fam = "both_active", _solver.solve_outer("D", D, P, lam, a_hi, p_hi, 1.0 / theta)
    return _assemble(lam, fam, regime, ("D", D, P))


def _solve_drp(R: float, P: float, lam: np.ndarray) -> RDPVectorSolution:
    """Regime dispatch for min D s.t. R_tot <= R, P_tot <= P (same KKT family)."""
    if R == 0.0:
        return _assemble(lam, _zero_rate_family(lam, P), "zero_rate", ("R", R, P))
    theta = _water_level_for_rate(R, lam)
    p_wf = _wf_perception(theta, lam)
    regime: Regime
    if P >= p_wf:
        regime, fam = "perception_inactive", _wf_family_for_rate(lam, R, theta)
    elif P == 0.0:
        regime = "perfect_perception"
        fam = _solver.solve_gamma("R", R, lam, 0.0, float(np.log(1.0 / theta)))
    else:
        regime, fam = "both_active", _solver.solve_outer("R", R, P, lam, 1.0, p_wf, 1.0 / theta)
    return _assemble(lam, fam, regime, ("R", R, P))


def _relative_residual(value: float, target: float, active: bool) -> float:
    """|value − target|/target for an active constraint, else the relative violation."""
    scale = target if target > 0 else 1.0
    return abs(value - target) / scale if active else max(value - target, 0.0) / scale


def _assemble(
    lam: np.ndarray, fam: _solver.Family, regime: Regime, problem: tuple[str, float, float]
) -> RDPVectorSolution:
    """Per-component quantities, forward test channel and certificate at (γ, a)."""
    eps, a, gamma, c = fam.eps, fam.a, fam.gamma, fam.c
    d_i, p_i = _solver.distortions(lam, eps, a), _solver.perceptions(lam, eps, a)
    r_i = _solver.rates_nats(eps, c)
    u = 1.0 - a * eps
    mu = 0.5 * gamma
    nu = np.inf if regime == "perfect_perception" else (mu * (1.0 - a) / a if a > 0 else 0.0)
    kind, target, P = problem
    totals = {"D": float(d_i.sum()), "R": float(r_i.sum())}
    p_tot = float(p_i.sum())
    p_term = nu * (p_tot - P) if 0.0 < nu < np.inf else 0.0
    scale = mu if kind == "D" else 1.0  # D(R,P): distortion gap × μ, in nats
    gap = -scale * (totals[kind] - target) - p_term if mu > 0 else 0.0
    stationarity = _solver.stationarity(lam, fam)
    kkt = max(
        _relative_residual(totals[kind], target, mu > 0),
        _relative_residual(p_tot, P, nu > 0) if np.isfinite(P) else 0.0,
        float(np.max(np.abs(stationarity))),
    )
    with np.errstate(divide="ignore", over="ignore"):  # c → 0: noise_var → inf
        noise_var = np.where(c > 0, lam * eps * (2.0 - eps) / np.where(c > 0, c, 1.0) ** 2, np.inf)
    return RDPVectorSolution(
        float(r_i.sum()), totals["D"], p_tot, regime, np.sqrt(lam) * u, c, d_i, p_i, r_i,
        float(mu), float(nu), float(gap), float(kkt), noise_var, u * c,
    )  # fmt: skip


def _solve_rdp_kl_reverse(D: float, P: float, lam: np.ndarray) -> RDPVectorSolution:
    """Regime dispatch for reverse-KL perception (derivation: ``_vector_kl`` docstring)."""
    L = float(lam.sum())
    if P == 0.0 or (P == np.inf and D < L):  # ŝ = σ, resp. plain water-filling: as for W₂²
        sol = _solve_rdp(D, P, lam)
        u = sol.recon_std / np.sqrt(lam)
        p_i = _kl.kl_reverse_perception(u)
        return sol._replace(perception_value=float(p_i.sum()), component_perception_value=p_i,
                            perception="kl_reverse")  # fmt: skip
    if D >= 2.0 * L or (D > L and P >= _kl.zero_rate_perception(D, lam)[0]):
        u = np.ones_like(lam) if D >= 2.0 * L else _kl.zero_rate_perception(D, lam)[1]
        return _kl_record(lam, u, np.zeros_like(lam), np.ones_like(lam), "zero_rate", 0.0, 0.0,
                          D, P)  # fmt: skip
    theta = float(_water_level(np.asarray(D), lam))
    if D < L and P >= _kl.water_filling_perception(theta, lam):
        omc = np.minimum(theta / lam, 1.0)
        c = np.sqrt(1.0 - omc)
        return _kl_record(lam, c, c, omc, "perception_inactive", 0.5 / theta, 0.0, D, P)
    mu, nu = _kl.solve_both_active(D, P, lam, 0.5 / min(theta, float(lam.max())))
    comp = _kl.components(lam, mu, nu)
    return _kl_record(lam, comp.u, comp.c, comp.one_minus_c2, "both_active", mu, nu, D, P)


def _kl_record(
    lam: np.ndarray, u: np.ndarray, c: np.ndarray, omc: np.ndarray, regime: Regime,
    mu: float, nu: float, D: float, P: float,
) -> RDPVectorSolution:  # fmt: skip
    """RDPVectorSolution for reverse KL from (u = ŝ/σ, c, 1 − c²) and the multipliers."""
    r_i = np.where(c > 0, -0.5 * np.log(omc), 0.0)
    d_i = lam * ((1.0 - u) ** 2 + 2.0 * u * omc / (1.0 + c))
    p_i = _kl.kl_reverse_perception(u)
    d_tot, p_tot = float(d_i.sum()), float(p_i.sum())
    gap = -mu * (d_tot - D) - (nu * (p_tot - P) if nu > 0 else 0.0)
    stat = _kl.stationarity(lam, mu, nu, _kl.KLComponents(u, c, omc, r_i, d_i, p_i))
    kkt = max(
        _relative_residual(d_tot, D, mu > 0),
        _relative_residual(p_tot, P, nu > 0) if np.isfinite(P) else 0.0,
        float(np.max(stat)) if regime == "both_active" else 0.0,
    )
    with np.errstate(divide="ignore", over="ignore"):
        noise_var = np.where(c > 0, lam * omc / np.where(c > 0, c, 1.0) ** 2, np.inf)
    return RDPVectorSolution(
        float(r_i.sum()), d_tot, p_tot, regime, np.sqrt(lam) * u, c, d_i, p_i, r_i,
        float(mu), float(nu), float(gap), float(kkt), noise_var, u * c, "kl_reverse",
    )  # fmt: skip


def _check_spectrum(variances: npt.ArrayLike) -> np.ndarray:
    """Variances λ_i >= 0 (1-D, at least one > 0): zero-variance components are allowed."""
    lam = check_nonnegative(variances, "variances")
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"variances must be a non-empty 1-D array, got shape {lam.shape}")
    check_magnitude(lam, "variances")
    if not (lam > 0).any():
        raise ValueError("variances must contain at least one positive variance")
    return lam


def _embed(sol: RDPVectorSolution, live: np.ndarray) -> RDPVectorSolution:
    """Per-component arrays of ``sol`` (solved on the range) back on every component.

    A zero-variance component is X_i ≡ 0, reconstructed as X̂_i ≡ 0: no rate, distortion or
    perception, ``noise_var = inf``, ``gain = 0``.
    """
    if live.all():
        return sol

    def full(a: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(live.size, fill)
        out[live] = a
        return out

    return sol._replace(
        recon_std=full(sol.recon_std, 0.0), correlation=full(sol.correlation, 0.0),
        component_mse=full(sol.component_mse, 0.0),
        component_perception_value=full(sol.component_perception_value, 0.0),
        component_rate_nats=full(sol.component_rate_nats, 0.0),
        noise_var=full(sol.noise_var, np.inf), gain=full(sol.gain, 0.0),
    )  # fmt: skip


def _check_vector_perception(perception: object) -> Perception:
    """``"w2sq"`` or ``"kl_reverse"``; a clear ``ValueError`` for ``"kl_forward"``."""
    perception = check_perception(perception)
    if perception == "kl_forward":
        raise ValueError(
            "perception='kl_forward' is not available for vector sources: Gaussian channels "
            "are not optimal for it (THEORY.md §1); use perception='w2sq' or 'kl_reverse', or "
            "the scalar rdp/rdp_kl_forward_lower_bound per component"
        )
    return perception


@guarded()
def rdp_vector_solution(
    D: npt.ArrayLike,
    P: npt.ArrayLike,
    variances: npt.ArrayLike,
    *,
    perception: Perception = "w2sq",
) -> RDPVectorSolution:
    r"""Solve R(D, P) for N(0, diag(λ)) with W₂² or reverse-KL perception, with a certificate.

    .. math::

        R(D, P) = \min_{c_i \in [0,1],\, \hat s_i \ge 0} \sum_i -\tfrac12\log(1 - c_i^2)
        \ \text{s.t.}\ \sum_i (\lambda_i + \hat s_i^2 - 2 c_i \sqrt{\lambda_i}\hat s_i)
        \le D,\ \sum_i (\sqrt{\lambda_i} - \hat s_i)^2 \le P

    Derived (THEORY.md §2), not stated in the paper; consistent with [QSC+24]. Convex in
    (ŝ_i², c_i√λ_i ŝ_i) and solved through its Lagrange dual: the per-component problem is
    a monotone 1-D root (Newton, exact to rounding), the multiplier ratio by Brent's method
    and the multiplier scale by safeguarded Newton. Regimes: R = 0 iff D ≥ L + (√L − √P)₊²
    (L = Σλ); water-filling iff P ≥ Σ(√λ_i − √(λ_i − θ)₊)²; P = 0; else both bind.

    ``perception="kl_reverse"``: P bounds KL(p_X̂ ‖ p_X) (nats). Per-component jointly
    Gaussian channels are still optimal and the programme is convex, with
    P_i = ½(u_i² − 1 − log u_i²), u_i = ŝ_i/√λ_i; stationarity
    c_i/(1 − c_i²) = 2μλ_i u_i, 2μλ_i(u_i − c_i) = ν(1 − u_i²)/u_i. Our derivation
    (module ``rdptheory.gaussian._vector_kl``), not checked against [SSK24]; the same
    certificate (dual gap, KKT residual) is reported. ``"kl_forward"`` raises ``ValueError``
    (Gaussian channels are not optimal for it).

    Zero variances are allowed (X_i ≡ 0 is reconstructed exactly, at no cost); a singular
    covariance is thereby handled in its range (:func:`covariance_spectrum`).

    .. math::

        P_i^{kl\_reverse} = \tfrac12\big(u_i^2 - 1 - \log u_i^2\big)

    Parameters
    ----------
    D : float, > 0
        Total MSE budget.
    P : float, >= 0 (inf allowed)
        W₂² budget (squared distance).
    variances : array_like, shape (n,), >= 0 (at least one > 0)
        Source variances λ_i (eigenvalues of Σ).
    perception : {"w2sq", "kl_reverse"}

    Returns
    -------
    RDPVectorSolution
        Rate (nats), per-component channel, multipliers, certificate, forward test channel.

    Examples
    --------
    >>> s = rdp_vector_solution(0.5, 0.01, [1.0])
    >>> s.regime, round(float(s.rate_nats / np.log(2)), 10), s.kkt_residual < 1e-12
    ('both_active', 0.5441127892, True)
    """
    perception = _check_vector_perception(perception)
    lam = _check_spectrum(variances)
    D_ = check_scalar(check_positive(D, "D"), "D", "rdp_vector")
    P_ = check_scalar(check_nonnegative(P, "P", allow_inf=True), "P", "rdp_vector")
    live = lam > 0
    solve = _solve_rdp if perception == "w2sq" else _solve_rdp_kl_reverse
    return _embed(solve(D_, P_, lam[live]), live)


@guarded()
def drp_vector_solution(
    R: npt.ArrayLike, P: npt.ArrayLike, variances: npt.ArrayLike, *, unit: Unit = "bits"
) -> RDPVectorSolution:
    """Solve D(R, P) (the inverse of R(D, P)) for N(0, diag(λ)), W₂², with a certificate.

    .. math::

        D(R, P) = \\min \\sum_i (\\lambda_i + \\hat s_i^2 - 2 c_i \\sqrt{\\lambda_i}\\hat s_i)
        \\ \\text{s.t.}\\ \\sum_i -\\tfrac12\\log(1 - c_i^2) \\le R,\\
        \\sum_i (\\sqrt{\\lambda_i} - \\hat s_i)^2 \\le P

    Derived (THEORY.md §2), not stated in the paper. Same KKT family as
    :func:`rdp_vector_solution`: the rate constraint replaces the distortion constraint in
    the inner root; ``dual_gap_nats`` is then the distortion gap times μ.

    Parameters
    ----------
    R : float, >= 0
        Rate budget in ``unit``.
    P : float, >= 0 (inf allowed)
        W₂² budget.
    variances : array_like, shape (n,), > 0
        Source variances λ_i.
    unit : {"bits", "nats"}
        Unit of ``R``.

    Returns
    -------
    RDPVectorSolution
        ``mse`` is D(R, P).

    Examples
    --------
    >>> round(drp_vector_solution(1.0, 0.0, [1.0]).mse, 12)  # 2(1 − √(3/4))
    0.267949192431
    """
    unit = check_unit(unit)
    lam = _check_variances(variances)
    R_ = check_scalar(check_nonnegative(R, "R", rate=True), "R", "drp_vector")
    P_ = check_scalar(check_nonnegative(P, "P", allow_inf=True), "P", "drp_vector")
    return _solve_drp(float(_rate_nats_in_range(np.asarray(R_), unit, lam.size)), P_, lam)


#: Largest rate per component (nats) of the vector D(R, P): beyond it the water level
#: e^{-2R/n} leaves float64 together with the multipliers (D(R, P) < 1e-87 of the variances).
MAX_RATE_NATS_PER_COMPONENT = 100.0


def _rate_nats_in_range(R: np.ndarray, unit: Unit, n: int) -> np.ndarray:
    """``R`` in nats; ``ValueError`` above :data:`MAX_RATE_NATS_PER_COMPONENT` per component.

    Subnormal rates (0 < R < 2.2e-308 nats) are below float64's resolution of the solvers
    (their relative rate residual cannot be resolved) and are taken as R = 0, the limit
    D(0⁺, P) = D(0, P).
    """
    r = to_nats(R, unit)
    r = np.where(r < np.finfo(np.float64).tiny, 0.0, r)
    if (r > MAX_RATE_NATS_PER_COMPONENT * n).any():
        raise ValueError(
            f"R = {fmt(R[r > MAX_RATE_NATS_PER_COMPONENT * n].ravel()[0])} {unit} is more than "
            f"{MAX_RATE_NATS_PER_COMPONENT:g} nats per component (n = {n}): D(R, P) is then "
            "below float64 resolution of the variances"
        )
    return r


def _rdp_batch(D: np.ndarray, P: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """R(D, P) in nats at every pair (flat arrays), all points solved together.

    The regimes of :func:`_solve_rdp` in closed form, then the batched KKT solves of
    :mod:`rdptheory.gaussian._vector_batch`; points it does not converge on go to
    :func:`_solve_rdp` one by one.
    """
    L = float(lam.sum())
    rate = np.zeros(D.size)
    theta = _water_level(D, lam)
    p_wf = _batch.water_filling_perception(theta, lam)
    zero = D >= L + np.maximum(np.sqrt(L) - np.sqrt(P), 0.0) ** 2
    inactive = ~zero & (P >= p_wf)
    perfect = ~zero & ~inactive & (P == 0.0)
    both = ~zero & ~inactive & ~perfect
    if inactive.any():
        ratio = np.maximum(lam / theta[inactive, None], 1.0)  # λ_i / min(θ, λ_i) >= 1
        rate[inactive] = 0.5 * np.log(ratio).sum(axis=1)
    if perfect.any():
        gamma, ok = _batch.perfect_perception("D", D[perfect], lam, np.log(1.0 / theta[perfect]))
        rate[perfect] = _batch.perfect_perception_totals(lam, gamma)[0]
        _redo(rate, np.flatnonzero(perfect)[~ok], D, P, lam, "rdp")
    if both.any():
        d, p = D[both], P[both]
        # D > L: at a_hi = 1 − √(D/L − 1) the curve D_tot = D reaches γ → 0 (zero rate)
        a_hi = np.where(d <= L, 1.0, 1.0 - np.sqrt(np.maximum(d / L - 1.0, 0.0)))
        p_hi = np.where(d <= L, p_wf[both], L * a_hi**2)
        a0 = a_hi * np.sqrt(np.minimum(p / p_hi, 1.0 - 1e-9))
        gamma, a, ok = _batch.both_active(
            "D", d, p, lam, np.log(1.0 / theta[both]), np.log(a0), np.log(a_hi)
        )
        rate[both] = _batch.final_totals(lam, gamma, a)[0]
        _redo(rate, np.flatnonzero(both)[~ok], D, P, lam, "rdp")
    return rate


def _drp_batch(R: np.ndarray, P: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """D(R, P) at every pair (flat arrays, R in nats), all points solved together."""
    L = float(lam.sum())
    mse = np.empty(R.size)
    zero = R == 0.0
    a_zero = np.minimum(np.sqrt(P[zero] / L), 1.0)
    mse[zero] = L * (1.0 + (1.0 - a_zero) ** 2)  # ε = 1: D_i = λ(1 + (1 − a)²)
    log_theta = np.zeros(R.size)
    log_theta[~zero] = _batch.water_level_for_rate(R[~zero], lam)
    theta = np.exp(log_theta)
    p_wf = _batch.water_filling_perception(theta, lam)
    inactive = ~zero & (P >= p_wf)
    perfect = ~zero & ~inactive & (P == 0.0)
    both = ~zero & ~inactive & ~perfect
    if inactive.any():
        mse[inactive] = np.minimum(theta[inactive, None], lam).sum(axis=1)
    if perfect.any():
        gamma, ok = _batch.perfect_perception("R", R[perfect], lam, -log_theta[perfect])
        mse[perfect] = _batch.perfect_perception_totals(lam, gamma)[1]
        _redo(mse, np.flatnonzero(perfect)[~ok], R, P, lam, "drp")
    if both.any():
        r, p = R[both], P[both]
        a0 = np.sqrt(np.minimum(p / p_wf[both], 1.0 - 1e-9))
        ones = np.zeros(r.size)  # log a_hi = log 1
        gamma, a, ok = _batch.both_active("R", r, p, lam, -log_theta[both], np.log(a0), ones)
        mse[both] = _batch.final_totals(lam, gamma, a)[1]
        _redo(mse, np.flatnonzero(both)[~ok], R, P, lam, "drp")
    return mse


def _redo(
    out: np.ndarray, idx: np.ndarray, x: np.ndarray, P: np.ndarray, lam: np.ndarray, kind: str
) -> None:
    """The per-point solver at the few points the batched iteration did not converge on."""
    for i in idx:
        if kind == "rdp":
            out[i] = _solve_rdp(float(x[i]), float(P[i]), lam).rate_nats
        else:
            out[i] = _solve_drp(float(x[i]), float(P[i]), lam).mse


@guarded()
def rdp_vector(
    D: npt.ArrayLike,
    P: npt.ArrayLike,
    variances: npt.ArrayLike,
    *,
    perception: Perception = "w2sq",
    unit: Unit = "bits",
) -> FloatOrArray:
    """R(D, P) of N(0, diag(λ)) with W₂² perception (broadcast over D and P).

    .. math::

        R(D, P) = \\min \\sum_i -\\tfrac12\\log(1 - c_i^2)\\ \\text{s.t.}\\
        \\sum_i D_i \\le D,\\ \\sum_i (\\sqrt{\\lambda_i} - \\hat s_i)^2 \\le P

    Derived (THEORY.md §2), not stated in the paper; see :func:`rdp_vector_solution` for
    the method, the per-component channel and the optimality certificate.

    Parameters
    ----------
    D : array_like, > 0
        Total MSE budget.
    P : array_like, >= 0 (inf allowed)
        W₂² budget; broadcasts with D.
    variances : array_like, shape (n,), >= 0 (at least one > 0)
        Source variances λ_i.
    perception : {"w2sq", "kl_reverse"}
        Reverse KL: see :func:`rdp_vector_solution` (solved point by point).
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray (broadcast shape of D and P)
        Rate in ``unit``.

    Examples
    --------
    >>> rdp_vector(2.0, 0.0, [1.0, 1.0])  # white: 2 × scalar R(1, 0) = 2 × ½log2(4/3)
    0.4150374992788438
    """
    unit = check_unit(unit)
    perception = _check_vector_perception(perception)
    lam_all = _check_spectrum(variances)
    lam = lam_all[lam_all > 0]
    D_, P_ = broadcast_named(D=check_positive(D, "D"), P=check_nonnegative(P, "P", allow_inf=True))
    if perception == "w2sq":
        rate_nats = _rdp_batch(D_.ravel(), P_.ravel(), lam).reshape(D_.shape)
    else:  # reverse KL: one certified solve per point
        rate_nats = np.array(
            [_solve_rdp_kl_reverse(float(d), float(p), lam).rate_nats
             for d, p in zip(D_.ravel(), P_.ravel())]
        ).reshape(D_.shape)  # fmt: skip
    return as_output(nats_to(rate_nats, unit))


@guarded()
def drp_vector(
    R: npt.ArrayLike, P: npt.ArrayLike, variances: npt.ArrayLike, *, unit: Unit = "bits"
) -> FloatOrArray:
    """D(R, P) of N(0, diag(λ)) with W₂² perception (broadcast over R and P).

    .. math::

        D(R, P) = \\min \\sum_i D_i\\ \\text{s.t.}\\
        \\sum_i -\\tfrac12\\log(1 - c_i^2) \\le R,\\
        \\sum_i (\\sqrt{\\lambda_i} - \\hat s_i)^2 \\le P

    Derived (THEORY.md §2), not stated in the paper. Solved directly through the dual (the
    rate constraint in the inner root), not by inverting :func:`rdp_vector`; D(R, P) is exact
    to rounding (inner roots to ~1e-15 relative, Brent on the multiplier ratio to 8.9e-16).

    Parameters
    ----------
    R : array_like, >= 0
        Rate budget in ``unit``.
    P : array_like, >= 0 (inf allowed)
        W₂² budget; broadcasts with R.
    variances : array_like, shape (n,), > 0
        Source variances λ_i.
    unit : {"bits", "nats"}
        Unit of ``R``.

    Returns
    -------
    float or ndarray
        Total MSE D(R, P).

    Examples
    --------
    >>> round(drp_vector(0.0, 0.25, [1.0, 1.0]), 12)  # L + (√L − √P)² = 2 + (√2 − ½)²
    2.835786437627
    """
    unit = check_unit(unit)
    lam = _check_variances(variances)
    R_, P_ = broadcast_named(
        R=check_nonnegative(R, "R", rate=True), P=check_nonnegative(P, "P", allow_inf=True)
    )
    r_nats = _rate_nats_in_range(R_, unit, lam.size)
    return as_output(_drp_batch(r_nats.ravel(), P_.ravel(), lam).reshape(R_.shape))

# Renamed in 0.2.0 (CHANGELOG.md): the old names still work, with a DeprecationWarning.
deprecate_fields(WaterFilling, distortions="component_mse")
deprecate_fields(
    RDPVectorSolution,
    distortion="mse",
    distortions="component_mse",
    perceptions="component_perception_value",
    rates_nats="component_rate_nats",
)
