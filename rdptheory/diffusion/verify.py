"""Verification harness: Monte Carlo with analytic scores, against the closed forms.

Draw X from a model, form Y = X + tN, decode with the score-scaled PF-ODE, and estimate the
total MSE and W₂²(p_X, p_X̂) with confidence intervals:

- MSE: sample mean of ‖X − X̂‖² ± z·sd/√n (CLT).
- W₂², Gaussian sources: Bures formula between the Gaussian fit of X̂ and the model's own law,
  percentile-bootstrap interval [Gel90].
- W₂², other sources: exact optimal transport between X̂ and an independent source sample
  (sorting in 1-D, POT's network simplex otherwise) over batches; batch-means interval. The
  plug-in estimate is biased upwards by the sampling error; ``w2sq_null`` reports the same
  estimator between two independent source samples, the level an exact law-match would show.

Typed records (NamedTuples) are returned for :mod:`rdptheory.proofs_check` and the figures.
Everything is float64 numpy and driven by explicit seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

from rdptheory._validation import check_int, check_nonnegative, check_positive
from rdptheory.diffusion.models import ExactModel, GaussianModel
from rdptheory.diffusion.schedules import ScheduleLike
from rdptheory.diffusion.solvers import Solver, decode
from rdptheory.gaussian.awgn import score_scaled_point
from rdptheory.metrics import bures_w2sq as bures_w2sq  # public here too (re-export)
from rdptheory.metrics import gaussian_fit_w2sq


class MCEstimate(NamedTuple):
    """A Monte Carlo estimate with a two-sided confidence interval at ``level``."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    level: float

    def contains(self, value: float) -> bool:
        """True if ``value`` lies in [ci_low, ci_high]."""
        return self.ci_low <= value <= self.ci_high


def _flat(x: np.ndarray) -> np.ndarray:
    """(n, *event_shape) → (n, d)."""
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def mean_estimate(samples: npt.ArrayLike, *, level: float = 0.95) -> MCEstimate:
    """Sample mean ± z_{(1+level)/2}·sd/√n of i.i.d. scalars (CLT interval).

    >>> e = mean_estimate([1.0, 2.0, 3.0, 4.0])
    >>> e.mean, e.n, e.contains(2.5)
    (2.5, 4, True)
    """
    s = np.asarray(samples, dtype=np.float64).ravel()
    n = check_int(s.size, "len(samples)", low=2)
    half = float(stats.norm.ppf(0.5 + 0.5 * level) * s.std(ddof=1) / math.sqrt(n))
    m = float(s.mean())
    return MCEstimate(m, m - half, m + half, n, level)


def _squared_errors(x: npt.ArrayLike, x_hat: npt.ArrayLike) -> np.ndarray:
    """Per-sample ‖x − x̂‖² (summed over components), shape (n,)."""
    return np.sum((_flat(np.asarray(x)) - _flat(np.asarray(x_hat))) ** 2, axis=1)


def mse_estimate(x: npt.ArrayLike, x_hat: npt.ArrayLike, *, level: float = 0.95) -> MCEstimate:
    """Total MSE E‖X − X̂‖² (summed over components) with a CLT interval."""
    return mean_estimate(_squared_errors(x, x_hat), level=level)


def w2sq_gaussian_fit(
    x_hat: npt.ArrayLike,
    model: GaussianModel,
    *,
    level: float = 0.95,
    n_boot: int = 200,
    seed: int = 0,
) -> MCEstimate:
    """W₂²(p_X, N(mean, cov of X̂)) with a percentile-bootstrap interval (``n_boot`` resamples)."""
    xf = _flat(np.asarray(x_hat))
    cov, mean = model.covariance, np.atleast_1d(model.mean)
    fit = lambda s: gaussian_fit_w2sq(s, mean, cov)  # noqa: E731
    rng = np.random.default_rng(seed)
    boot = [fit(xf[rng.integers(0, len(xf), len(xf))]) for _ in range(n_boot)]
    lo, hi = np.quantile(boot, [0.5 - 0.5 * level, 0.5 + 0.5 * level])
    return MCEstimate(fit(xf), float(lo), float(hi), len(xf), level)


def _ot_w2sq(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W₂² between two equal-size empirical measures."""
    if a.shape[1] == 1:
        return float(np.mean((np.sort(a[:, 0]) - np.sort(b[:, 0])) ** 2))
    import ot

    cost = ot.dist(a, b)  # squared Euclidean
    w = np.full(len(a), 1.0 / len(a))
    return float(ot.emd2(w, w, cost, numItermax=10_000_000))


def w2sq_samples(
    x_hat: npt.ArrayLike, x_ref: npt.ArrayLike, *, batch: int = 1000, level: float = 0.95
) -> MCEstimate:
    """Batch-means W₂² by exact OT between ``x_hat`` and a reference sample of the source law.

    Samples are split into ⌊n/batch⌋ batches of ``batch`` points; each batch's empirical W₂²
    is exact (sorting in 1-D, POT ``emd2`` otherwise); the interval is mean ± t·sd/√B. The
    estimate targets E[W₂²(empirical batch laws)], which exceeds W₂²(p_X̂, p_X) by a sampling
    bias that shrinks with ``batch``.
    """
    a, b = _flat(np.asarray(x_hat)), _flat(np.asarray(x_ref))
    bsz = check_int(batch, "batch", low=2)
    nb = min(len(a), len(b)) // bsz
    if nb < 2:
        raise ValueError(f"need at least 2 batches of {bsz} samples, got {len(a)} and {len(b)}")
    vals = np.array(
        [_ot_w2sq(a[i * bsz : (i + 1) * bsz], b[i * bsz : (i + 1) * bsz]) for i in range(nb)]
    )
    half = stats.t.ppf(0.5 + 0.5 * level, nb - 1) * vals.std(ddof=1) / math.sqrt(nb)
    return MCEstimate(
        float(vals.mean()), float(vals.mean() - half), float(vals.mean() + half), nb * bsz, level
    )


def observe(model: Any, noise_var: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): ``n`` source draws (seed) and Y = X + √noise_var·N (seed + 1)."""
    x = model.sample(check_int(n, "n", low=2), seed)
    t = math.sqrt(float(check_positive(noise_var, "noise_var")))
    return x, x + t * np.random.default_rng(seed + 1).standard_normal(x.shape)


class GaussianCheck(NamedTuple):
    """MC (MSE, W₂²) of the numerical decoder vs THEORY.md §3's closed forms, one ρ."""

    rho: float
    mse: MCEstimate
    w2sq: MCEstimate
    mse_theory: float
    w2sq_theory: float


def gaussian_mc(
    model: GaussianModel,
    noise_var: float,
    rho: float,
    n: int,
    seed: int,
    *,
    level: float = 0.95,
    **decode_kwargs: Any,
) -> GaussianCheck:
    """Monte Carlo of decode() on a Gaussian model against ``score_scaled_point``.

    ``decode_kwargs`` go to :func:`decode` (schedule, solver, steps).
    """
    if not isinstance(model, GaussianModel):
        raise TypeError("model must be a GaussianModel")
    x, y = observe(model, noise_var, n, seed)
    x_hat = decode(model, y, noise_var, rho, **decode_kwargs)
    theory = score_scaled_point(np.atleast_1d(model.eigenvalues), noise_var, rho)
    return GaussianCheck(
        float(rho),
        mse_estimate(x, x_hat, level=level),
        w2sq_gaussian_fit(x_hat, model, level=level, seed=seed + 2),
        float(theory.mse),
        float(theory.perception_value),
    )


class RhoTraversal(NamedTuple):
    """Empirical (D, W₂²) over ρ on one common draw of (X, Y), plus reference levels.

    ``mse``/``w2sq`` are tuples of :class:`MCEstimate`, one per ρ. ``mmse`` is the MC MSE of
    the exact posterior mean (``model.posterior_mean``) on the same draw; ``w2sq_null`` is the
    W₂² estimator between two independent source samples (its bias floor).
    """

    rhos: np.ndarray
    mse: tuple[MCEstimate, ...]
    w2sq: tuple[MCEstimate, ...]
    mmse: MCEstimate
    w2sq_null: MCEstimate
    noise_var: float
    n: int


def traverse_rho(
    model: ExactModel,
    noise_var: float,
    rhos: npt.ArrayLike,
    n: int,
    seed: int,
    *,
    batch: int = 1000,
    level: float = 0.95,
    **decode_kwargs: Any,
) -> RhoTraversal:
    """Decode one draw of Y = X + tN at every ρ and estimate (MSE, W₂²) with intervals.

    The model must offer ``sample(n, seed)`` and ``posterior_mean(y, noise_var)`` (the analytic
    models do). W₂² uses exact OT on samples (:func:`w2sq_samples`) for every model.
    """
    r = check_nonnegative(rhos, "rhos").ravel()
    x, y = observe(model, noise_var, n, seed)
    ref = model.sample(n, seed + 2)
    mses, w2s = [], []
    for rho in r:
        x_hat = decode(model, y, noise_var, float(rho), **decode_kwargs)
        mses.append(mse_estimate(x, x_hat, level=level))
        w2s.append(w2sq_samples(x_hat, ref, batch=batch, level=level))
    mmse = mse_estimate(x, model.posterior_mean(y, noise_var), level=level)
    null = w2sq_samples(model.sample(n, seed + 3), ref, batch=batch, level=level)
    return RhoTraversal(r, tuple(mses), tuple(w2s), mmse, null, float(noise_var), int(n))


class MMSEGap(NamedTuple):
    """MSE of the ρ-decoder vs the exact MMSE on the same draw; ``excess`` is paired."""

    noise_var: float
    rho: float
    mse: MCEstimate
    mmse: MCEstimate
    excess: MCEstimate


def gmm_mmse_gap(
    model: ExactModel,
    noise_var: float,
    n: int,
    seed: int,
    *,
    rho: float = 2.0,
    level: float = 0.95,
    **decode_kwargs: Any,
) -> MMSEGap:
    """Excess MSE of the score-scaled decoder over the exact posterior mean E[X|Y].

    .. math:: \\Delta = E\\|X - \\hat X_\\rho(Y)\\|^2 - E\\|X - E[X|Y]\\|^2 \\;(\\ge 0)

    For Gaussian sources Δ = 0 at ρ = 2 (THEORY.md §3); for a mixture it is not (measured, not
    assumed). The interval is for the paired per-sample difference.
    """
    x, y = observe(model, noise_var, n, seed)
    se_hat = _squared_errors(x, decode(model, y, noise_var, rho, **decode_kwargs))
    se_star = _squared_errors(x, model.posterior_mean(y, noise_var))
    return MMSEGap(
        float(noise_var),
        float(rho),
        mean_estimate(se_hat, level=level),
        mean_estimate(se_star, level=level),
        mean_estimate(se_hat - se_star, level=level),
    )


def mse_difference(
    model: ExactModel,
    noise_var: float,
    rho_a: float,
    rho_b: float,
    n: int,
    seed: int,
    *,
    level: float = 0.95,
    **decode_kwargs: Any,
) -> MCEstimate:
    """Paired MC estimate of D(ρ_a) − D(ρ_b) on one draw of (X, Y) (common random numbers).

    .. math:: E\\|X - \\hat X_{\\rho_a}(Y)\\|^2 - E\\|X - \\hat X_{\\rho_b}(Y)\\|^2

    Much tighter than comparing two separate intervals; used to decide whether the MSE is
    monotone in ρ for a given source.
    """
    x, y = observe(model, noise_var, n, seed)
    se_a, se_b = (
        _squared_errors(x, decode(model, y, noise_var, float(r), **decode_kwargs))
        for r in (rho_a, rho_b)
    )
    return mean_estimate(se_a - se_b, level=level)


def _transport_on_samples(a: np.ndarray, b: np.ndarray, batch: int) -> np.ndarray:
    """T(a_i): the partner in b of a_i under the exact empirical OT plan, per batch."""
    if a.shape[1] == 1:
        out = np.empty_like(a)
        out[np.argsort(a[:, 0]), 0] = np.sort(b[:, 0])
        return out
    import ot

    out = np.empty_like(a)
    w = np.full(batch, 1.0 / batch)
    for i in range(len(a) // batch):
        sl = slice(i * batch, (i + 1) * batch)
        plan = ot.emd(w, w, ot.dist(a[sl], b[sl]), numItermax=10_000_000)
        out[sl] = b[sl][np.argmax(plan, axis=1)]  # equal uniform sizes: a permutation
    return out


class DPCurve(NamedTuple):
    """[FMM21]'s optimal decoders X̂_α = (1−α)X* + αT(X*) on samples, and their (D, W₂²).

    ``mse``/``w2sq`` are per α; ``mmse`` = D*, ``w2sq_mmse`` = W₂²(p_X, p_X*) (α = 0). Theory:
    D(P) = D* + (W₂(p_X, p_X*) − √P)₊², attained at α = 1 − √P/W₂(p_X, p_X*).
    """

    alphas: np.ndarray
    mse: tuple[MCEstimate, ...]
    w2sq: tuple[MCEstimate, ...]
    mmse: MCEstimate
    w2sq_mmse: MCEstimate

    def bound(self, P: npt.ArrayLike) -> np.ndarray:
        """D(P) = D* + (W₂(p_X, p_X*) − √P)₊² with the MC estimates of D* and W₂²."""
        w2 = math.sqrt(max(self.w2sq_mmse.mean, 0.0))
        return self.mmse.mean + np.maximum(w2 - np.sqrt(check_nonnegative(P, "P")), 0.0) ** 2


def dp_curve_mc(
    model: ExactModel,
    noise_var: float,
    n: int,
    seed: int,
    *,
    alphas: npt.ArrayLike = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    batch: int = 1000,
    level: float = 0.95,
) -> DPCurve:
    """The best achievable (D, W₂²) decoders we can compute for a model with exact E[X|Y].

    X* = E[X|Y] exactly (``posterior_mean``); T = the empirical OT map from X* samples to an
    independent source sample (exact OT per batch); X̂_α = (1−α)X* + αT(X*) walks the W₂
    geodesic, which is D(P)-optimal [FMM21, Thm 2 and Sec. 4]. W₂² is measured against a third,
    independent source sample.
    """
    a = check_nonnegative(alphas, "alphas").ravel()
    if (a > 1).any():
        raise ValueError("alphas must lie in [0, 1]")
    x, y = observe(model, noise_var, n, seed)
    x_star = _flat(model.posterior_mean(y, noise_var))
    bsz = min(check_int(batch, "batch", low=2), len(x_star) // 2)
    target = _transport_on_samples(x_star, _flat(model.sample(n, seed + 2)), bsz)
    ref = model.sample(n, seed + 3)
    mses, w2s = [], []
    for al in a:
        x_hat = (1.0 - al) * x_star + al * target
        mses.append(mse_estimate(x, x_hat, level=level))
        w2s.append(w2sq_samples(x_hat, ref, batch=bsz, level=level))
    return DPCurve(
        a,
        tuple(mses),
        tuple(w2s),
        mse_estimate(x, x_star, level=level),
        w2sq_samples(x_star, ref, batch=bsz, level=level),
    )


class Convergence(NamedTuple):
    """Relative error ‖X̂_N − X̂_ref‖_F/‖X̂_ref‖_F of an N-step solver, and its fitted order."""

    steps: np.ndarray
    errors: np.ndarray
    order: float
    solver: str
    schedule: str


def _reference(model: Any, y: np.ndarray, noise_var: float, rho: float, schedule: Any) -> Any:
    if isinstance(model, GaussianModel):
        return model.exact_decode(y, noise_var, rho)
    return decode(model, y, noise_var, rho, schedule=schedule, solver="adaptive")


def _error_function(
    model: ExactModel,
    noise_var: float,
    rho: float,
    *,
    n: int,
    seed: int,
    schedule: str | ScheduleLike,
    solver: Solver,
) -> Callable[[int], float]:
    """N ↦ ‖X̂_N − X̂_ref‖_F/‖X̂_ref‖_F on one draw of Y (the reference is computed once)."""
    _, y = observe(model, noise_var, n, seed)
    ref = _reference(model, y, noise_var, rho, schedule)
    scale = np.linalg.norm(ref)

    def relative_error(steps: int) -> float:
        x_hat = decode(model, y, noise_var, rho, schedule=schedule, solver=solver, steps=steps)
        return float(np.linalg.norm(x_hat - ref) / scale)

    return relative_error


def convergence_study(
    model: ExactModel,
    noise_var: float,
    rho: float,
    steps: npt.ArrayLike,
    *,
    n: int = 64,
    seed: int = 0,
    schedule: str | ScheduleLike = "vp",
    solver: Solver = "heun",
) -> Convergence:
    """Errors of ``solver`` on ``schedule`` against the exact map (Gaussian) or DOP853 reference.

    .. math:: e_N = \\|\\hat X_N - \\hat X_{\\rm ref}\\|_F / \\|\\hat X_{\\rm ref}\\|_F
              \\approx C N^{-p}

    ``order`` p is the least-squares slope of −log(e_N) against log(N).
    """
    ns = np.asarray([check_int(int(s), "steps", low=1) for s in np.ravel(steps)])
    err = _error_function(model, noise_var, rho, n=n, seed=seed, schedule=schedule, solver=solver)
    errs = np.array([err(int(k)) for k in ns])
    order = -np.polyfit(np.log(ns), np.log(errs), 1)[0] if len(ns) > 1 else float("nan")
    return Convergence(ns, errs, float(order), str(solver), str(schedule))


def steps_for_tolerance(
    model: ExactModel,
    noise_var: float,
    rho: float,
    tol: float = 1e-6,
    *,
    n: int = 64,
    seed: int = 0,
    schedule: str | ScheduleLike = "vp",
    solver: Solver = "heun",
    max_steps: int = 1 << 16,
) -> int:
    """Smallest N (doubling, then bisection) with relative error ≤ ``tol`` (see Convergence).

    Assumes the error decreases with N (true in the asymptotic regime of a convergent solver).
    """
    check_positive(tol, "tol")
    err = _error_function(model, noise_var, rho, n=n, seed=seed, schedule=schedule, solver=solver)
    hi = 1
    while err(hi) > tol:
        hi *= 2
        if hi > max_steps:
            raise RuntimeError(f"more than max_steps={max_steps} steps needed for tol={tol}")
    lo = hi // 2
    while hi - lo > 1:  # invariant: err(lo) > tol >= err(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if err(mid) <= tol else (mid, hi)
    return hi


def _mixture_quantile(u: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """F^{-1}(u) of the 1-D mixture Σ w_k N(mu_k, sd_k²), by vectorised bisection."""
    lo = np.full(u.shape, float(np.min(mu - 40.0 * sd)))
    hi = np.full(u.shape, float(np.max(mu + 40.0 * sd)))
    for _ in range(200):  # halves the bracket down to the float64 spacing
        mid = 0.5 * (lo + hi)
        below = stats.norm.cdf((mid[:, None] - mu) / sd) @ w < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.all(hi - lo <= 4 * np.spacing(np.abs(mid) + 1.0)):
            break
    return 0.5 * (lo + hi)


def _mixture_grid(w: np.ndarray, mu: np.ndarray, sd: np.ndarray, nodes: int) -> tuple:
    """Trapezoid nodes and weights·density on [min μ − 12 sd, max μ + 12 sd] for p = Σw N."""
    y = np.linspace(float(np.min(mu - 12 * sd)), float(np.max(mu + 12 * sd)), nodes)
    dens = stats.norm.pdf((y[:, None] - mu) / sd) / sd @ w
    tw = np.full(nodes, y[1] - y[0])
    tw[[0, -1]] *= 0.5
    return y, tw * dens, stats.norm.cdf((y[:, None] - mu) / sd) @ w


class Tradeoff1D(NamedTuple):
    """Deterministic (quadrature) D and W₂² of the ρ-decoders of a scalar mixture.

    ``mse``/``w2sq`` are arrays over ``rhos``; ``mmse`` = D*; ``w2sq_mmse`` = W₂²(p_X, p_X*).
    """

    rhos: np.ndarray
    mse: np.ndarray
    w2sq: np.ndarray
    mmse: float
    w2sq_mmse: float
    noise_var: float

    def dp_bound(self, P: npt.ArrayLike) -> np.ndarray:
        """[FMM21]'s D(P) = D* + (W₂(p_X, p_X*) − √P)₊² (the best any decoder can do)."""
        w2 = math.sqrt(self.w2sq_mmse)
        return self.mmse + np.maximum(w2 - np.sqrt(check_nonnegative(P, "P")), 0.0) ** 2


def _refine_monotone(
    z: np.ndarray, fn: Any, *, split: int = 8, rounds: int = 40, min_width: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z (sorted) and fn(z) for an increasing fn, refined (each bad interval cut into
    ``split``) until no step of fn exceeds 4·range/len(z) or the interval is narrower than
    ``min_width``·(1 + |z|): steep or jumping parts (a flow map crossing a basin boundary)
    get nodes in proportion to their rise."""
    fz = fn(z)
    delta = 4.0 * (fz.max() - fz.min()) / len(z)
    frac = np.arange(1, split) / split
    for _ in range(rounds):
        width = np.diff(z)
        bad = (np.diff(fz) > delta) & (width > min_width * (1.0 + np.abs(z[:-1])))
        if not bad.any():
            break
        new = (z[:-1][bad, None] + width[bad, None] * frac).ravel()
        z, fz = np.concatenate([z, new]), np.concatenate([fz, fn(new)])
        order = np.argsort(z, kind="stable")
        z, fz = z[order], fz[order]
    return z, fz


def _scalar_map(model: Any, v: float, rho: float, decode_kwargs: dict) -> Any:
    """y (1-D array) ↦ T_ρ(y), the decoder of a scalar model as a vectorised function."""
    shape = (-1, *model.event_shape)
    return lambda y: _flat(decode(model, y.reshape(shape), v, rho, **decode_kwargs))[:, 0]


def _mixture_pdf(z: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return stats.norm.pdf((z[:, None] - mu) / sd) / sd @ w


def tradeoff_1d(
    model: Any,
    noise_var: float,
    rhos: npt.ArrayLike,
    *,
    nodes: int = 2000,
    **decode_kwargs: Any,
) -> Tradeoff1D:
    """(D, W₂²) of every ρ-decoder for a scalar GMM, by quadrature instead of sampling.

    .. math:: W_2^2(p_X, p_{\\hat X}) = \\int p_X(x)\\,\\big(x - T_\\rho(F_Y^{-1}(F_X(x)))\\big)^2
              dx,\\quad D = D^* + \\int p_Y(y)\\,\\big(E[X|y] - T_\\rho(y)\\big)^2 dy

    In 1-D the ODE flow T_ρ is increasing, so x ↦ T_ρ(F_Y^{-1}(F_X(x))) is the monotone,
    hence optimal, map from p_X to p_X̂ = p_{T_ρ(Y)}; D* = E[X²] − E[E[X|Y]²]. Trapezoid rule
    on ``nodes`` points spanning each mixture ±12 sd, refined where T_ρ is steep (for ρ > 1 and
    separated modes it is nearly a step at the boundary between the modes' basins).
    Derived here (monotone rearrangement), not from the paper. ``model``: a :class:`GMMModel`
    with event shape () or (1,); ``decode_kwargs`` go to :func:`decode`.
    """
    if getattr(model, "dim", None) != 1 or not hasattr(model, "weights"):
        raise TypeError("model must be a 1-D GMMModel")
    v = float(check_positive(noise_var, "noise_var"))
    m = check_int(nodes, "nodes", low=10)
    w, mu, lam = model.weights, model.means[:, 0], model.eigenvalues[:, 0]
    sx, sy = np.sqrt(lam), np.sqrt(lam + v)
    y0 = _mixture_grid(w, mu, sy, m)[0]
    x0 = _mixture_grid(w, mu, sx, m)[0]
    y_of_x = lambda x: _mixture_quantile(
        np.clip(stats.norm.cdf((x[:, None] - mu) / sx) @ w, 0.0, 1.0), w, mu, sy
    )
    post = lambda y: _flat(model.posterior_mean(y.reshape((-1, *model.event_shape)), v))[:, 0]
    x_star = post(y0)
    py, px = _mixture_pdf(y0, w, mu, sy), _mixture_pdf(x0, w, mu, sx)
    mmse = float(np.sum(w * (mu**2 + sx**2)) - np.trapezoid(py * x_star**2, y0))
    w2sq_mmse = float(np.trapezoid(px * (x0 - post(y_of_x(x0))) ** 2, x0))
    r = check_nonnegative(rhos, "rhos").ravel()
    mse, w2sq = np.empty(r.size), np.empty(r.size)
    for i, rho in enumerate(r):
        T = _scalar_map(model, v, float(rho), decode_kwargs)
        y, t_y = _refine_monotone(y0, T)
        mse[i] = mmse + np.trapezoid(_mixture_pdf(y, w, mu, sy) * (post(y) - t_y) ** 2, y)
        x, t_x = _refine_monotone(x0, lambda x, T=T: T(y_of_x(x)))
        w2sq[i] = np.trapezoid(_mixture_pdf(x, w, mu, sx) * (x - t_x) ** 2, x)
    return Tradeoff1D(r, mse, w2sq, mmse, w2sq_mmse, v)
