r"""The score-scaled probability-flow ODE decoder (THEORY.md §3) and its step functions.

From the received level t² = ``noise_var`` down to 0 the decoder integrates

.. math:: dX = [f(X, t) - \tfrac12 \rho\, g(t)^2 \nabla \log p_t(X)]\, dt

ρ = 1 is the PF-ODE (DiffC-F of [TSHM22]); ρ = 2 the reverse-SDE drift without noise
([WBZ26], arXiv 2603.04005v1; its exact parameterisation was not available to us, this is the
literal reading of "score-scaled", THEORY.md §3).
We use the noise variance v = t² itself as the integration variable (a monotone time change of
either SDE, so the ODE and its solution are unchanged), which lets any decreasing grid of levels
-- a continuous schedule's, or a discrete model's own -- be the step grid:

- VE (f = 0, g² = dσ²/dt), state y:          dy/dv = −½ρ ∇_y log p_v(y)
- VP (f = −½βz, g² = β), state z = y/√(1+v): dz/dv = −z/(2(1+v)) − ½ρ ∇_y log p_v(z√(1+v))/√(1+v)

(the VP line is dz = [−½βz − ½ρβ∇_z log p]dt with dv/dt = β/ᾱ and ∇_z = √(1+v)·∇_y; derived,
THEORY.md §3-§4, not stated in the paper). Both give the same map; numerically they agree to the
discretisation error. The Gaussian closed form is X̂ = (λ/(λ+t²))^{ρ/2}·Y per eigen-direction
(see :meth:`GaussianModel.exact_decode`).

Step grid (measured, ``benchmarks/decoder.py --grids``): the default ``"vp"`` grid, uniform in
the VP time t, needs 25 / 334 / 1308 Heun steps for 1e-6 relative error at noise_var =
0.1 / 1 / 10 on the 3-d test Gaussian (ρ = 1.5). EDM/Karras spacing is worse on this ODE
(55 / 504 / 1371 in VE, 80 / 904 / 2592 in VP coordinates), as is uniform-in-log-σ: with v as
the integration variable the error is governed by h/(λ_min + v), and those grids spend their
steps at v ≪ λ_min. The same VP grid integrated in VE coordinates (``VPLinear(kind="ve")``,
k-diffusion's convention) needs 17 / 189 / 704 there but only 4-9 % fewer on a d = 256,
λ_i = 1/i source (565 / 1556 / 3049 vs 586 / 1681 / 3349), so the default stays ``"vp"``.

One model call per step (``solver="exp1"`` / ``"exp2"``, :func:`exponential_step`): in the
denoiser parameterisation D(y, v) = E[X | X + √v N = y] the VE drift is
dy/dv = (ρ/2v)(y − D), i.e. with u = ln σ = ½ ln v

.. math:: \frac{dy}{du} = \rho\,(y - D(y, u)),

whose linear part integrates exactly (variation of constants). Freezing D over a step gives the
first-order exponential integrator (DDIM [SME21] at ρ = 1); interpolating D linearly through the
previous step's D gives a second-order multistep one in the manner of DPM-Solver++(2M) [LZB+22]
at no extra model call. We interpolate in v rather than in u = ln σ (DPM-Solver++'s choice):
then the last step into v = 0, where u = −∞, is the same formula's limit, and the error ratio
per step halving is 4.0-4.2 on the "vp" and "ve" grids (in u: 3.0-3.5, the last steps' u-width
does not shrink there). Derived here for the score-scaled ODE (our own derivation; the
published solvers are the ρ = 1 case). [SME21] Song, Meng & Ermon, DDIM, ICLR 2021; [LZB+22]
Lu, Zhou, Bao, Chen, Li & Zhu, DPM-Solver++, arXiv 2211.01095.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, get_args

import numpy as np
import numpy.typing as npt

from rdptheory._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)
from rdptheory.diffusion import _xp
from rdptheory.diffusion.models import DiffusionModel, GaussianModel, _check_y
from rdptheory.diffusion.schedules import Kind, ScheduleLike, get_schedule
from rdptheory.diffusion.scores import from_coords, to_coords

Solver = Literal["euler", "heun", "adaptive", "exp1", "exp2"]
SOLVERS: tuple[str, ...] = get_args(Solver)
Drift = Callable[[Any, float], Any]
Step = Callable[[Drift, Any, float, float], Any]


def pf_ode_drift(model: DiffusionModel, rho: Any, kind: Kind) -> Drift:
    """dx/dv of the score-scaled PF-ODE in ``kind`` coordinates, v = t² (module docstring).

    .. math:: \\frac{dy}{dv} = -\\tfrac12\\rho\\,\\nabla_y\\log p_v(y)\\ \\text{(VE)},\\qquad
              \\frac{dz}{dv} = -\\frac{z}{2(1+v)}
              - \\frac{\\rho}{2\\sqrt{1+v}}\\,\\nabla_y\\log p_v(z\\sqrt{1+v})\\ \\text{(VP)}

    Derived (THEORY.md §3-§4), not stated in the paper. ``rho`` is a scalar or an array
    broadcastable to the event shape (per-coordinate score scale), already in the array kind of
    the state. A diagonal :class:`GaussianModel` gets the same drift with its score substituted
    (:func:`_gaussian_drift`): one affine map per evaluation instead of a generic score call.
    """
    if _is_exact_gaussian(model) and model.eigenvectors is None:
        return _gaussian_drift(model, rho, kind)
    if kind == "ve":
        return lambda y, v: (-0.5 * rho) * model.score(y, v)

    def vp_drift(z: Any, v: float) -> Any:
        s = 1.0 / math.sqrt(1.0 + v)  # √ᾱ(v); z = s·y
        if isinstance(rho, float):  # fold the scalars: one array op fewer per evaluation
            return (-0.5 / (1.0 + v)) * z + (-0.5 * s * rho) * model.score(z / s, v)
        return (-0.5 / (1.0 + v)) * z + (-0.5 * s) * (rho * model.score(z / s, v))

    return vp_drift


def _is_exact_gaussian(model: Any) -> TypeGuard[GaussianModel]:
    """A :class:`GaussianModel` whose score is the analytic one (not overridden)."""
    return isinstance(model, GaussianModel) and type(model).score is GaussianModel.score


def _gaussian_drift(model: GaussianModel, rho: Any, kind: Kind) -> Drift:
    """The PF-ODE drift of a diagonal Gaussian N(μ, diag λ), fused into one affine map.

    .. math:: \\frac{dy}{dv} = c\\,(y - \\mu)\\ \\text{(VE)},\\qquad
              \\frac{dz}{dv} = \\Big(c - \\frac{1}{2(1+v)}\\Big) z - \\frac{c\\,\\mu}{\\sqrt{1+v}}
              \\ \\text{(VP)},\\qquad c = \\frac{\\rho}{2(\\lambda + v)}

    The module's VE/VP drifts with the exact score −(y − μ)/(λ + v) substituted (derived,
    THEORY.md §3-§4, not stated in the paper); the same ODE, fewer array passes.
    """
    centred = not np.any(model.mean)

    def drift(x: Any, v: float) -> Any:
        mu, lam, _ = model._params(x)
        c = (0.5 * rho) / (lam + v)
        if kind == "ve":
            return c * x if centred else c * (x - mu)
        a = c - 0.5 / (1.0 + v)
        return a * x if centred else a * x - (c / math.sqrt(1.0 + v)) * mu

    return drift


def euler_step(drift: Drift, x: Any, v_cur: float, v_next: float) -> Any:
    """One Euler step from level v_cur to v_next.

    .. math:: x_{i+1} = x_i + (v_{i+1} - v_i)\\, d(x_i, v_i)

    With the VE drift and ρ = 2, one step from t² to 0 is Tweedie's x̂₀ = y + t²∇log p(y):

    >>> from rdptheory.diffusion import GaussianModel
    >>> float(euler_step(pf_ode_drift(GaussianModel(0.0, 1.0), 2.0, "ve"), 2.0, 1.0, 0.0))
    1.0
    """
    return x + (v_next - v_cur) * drift(x, v_cur)


def heun_step(drift: Drift, x: Any, v_cur: float, v_next: float) -> Any:
    """One Heun (explicit trapezoid, 2nd order) step; Euler when v_next = 0.

    .. math:: \\hat x = x_i + h\\,d(x_i, v_i),\\quad
              x_{i+1} = x_i + \\tfrac{h}{2}\\big(d(x_i, v_i) + d(\\hat x, v_{i+1})\\big),
              \\quad h = v_{i+1} - v_i

    Like EDM's Algorithm 2 (Karras et al. 2022), the correction is skipped on the last step into
    v = 0, so a model never has to be evaluated at zero noise.
    """
    h = v_next - v_cur
    d_cur = drift(x, v_cur)
    x_hat = x + h * d_cur  # Euler predictor, EDM Alg. 2 l. 5-6
    if v_next == 0.0:
        return x_hat
    return x + (0.5 * h) * (d_cur + drift(x_hat, v_next))  # Heun correction, l. 7-8


STEPS: dict[str, Step] = {"euler": euler_step, "heun": heun_step}

#: Solvers that call the model's denoiser once per step (:func:`exponential_step`), by order.
EXPONENTIAL_ORDERS: dict[str, int] = {"exp1": 1, "exp2": 2}


def _phi1(z: np.ndarray) -> np.ndarray:
    """φ₁(z) = (eᶻ − 1)/z elementwise, with its Taylor series near 0 (φ₁(0) = 1)."""
    z = np.asarray(z, dtype=np.float64)
    small = np.abs(z) < 1e-5
    zs = np.where(small, 1.0, z)
    return np.where(small, 1.0 + 0.5 * z + z * z / 6.0, np.expm1(zs) / zs)


def exponential_coefficients(
    rho: npt.ArrayLike, v_cur: float, v_next: float, v_prev: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Weights ``(a, b, c)`` of :func:`exponential_step` from level v_cur to v_next ≥ 0.

    With u = ½ ln v and h = u_next − u_cur < 0, the ODE dy/du = ρ(y − D) integrated exactly
    over the step with D linear in v through (v_prev, D_prev) and (v_cur, D_cur):

    .. math:: a = e^{\rho h} = (v_{next}/v_{cur})^{\rho/2},\qquad b = 1 - a,\qquad
              c = \frac{\rho\, v_{next}\, h\, \varphi_1((\rho - 2) h)
              + v_{cur}(1 - a)}{v_{prev} - v_{cur}},\quad \varphi_1(z) = \frac{e^z - 1}{z}

    (``c = 0`` without a previous level: D frozen, first order). Into v_next = 0 the limits
    are a = 0 (ρ > 0; 1 at ρ = 0) and c = v_cur(1 − a)/(v_prev − v_cur): the ODE ends at
    y(0) = lim D(y(v), v) for ρ > 0, here D extrapolated linearly in v to 0. Our own
    derivation (module docstring); ``rho`` ≥ 0 is a scalar or an array (the weights broadcast
    like it).

    >>> a, b, c = exponential_coefficients(1.0, 1.0, 0.25)  # DDIM: σ 1 -> 0.5
    >>> float(a), float(b), float(c)
    (0.5, 0.5, 0.0)
    """
    r = check_nonnegative(rho, "rho")
    if not (math.isfinite(v_cur) and v_cur > v_next >= 0.0):
        raise ValueError(f"levels must satisfy v_cur > v_next >= 0, got {v_cur!r}, {v_next!r}")
    if v_next == 0.0:
        a = np.where(r > 0.0, 0.0, 1.0)
        term = np.zeros_like(a)
    else:
        h = 0.5 * math.log(v_next / v_cur)
        a = np.exp(r * h)
        term = r * (v_next * h) * _phi1((r - 2.0) * h)
    if v_prev is None:
        return a, 1.0 - a, np.zeros_like(a)
    if not v_prev > v_cur:
        raise ValueError(f"v_prev must be > v_cur, got {v_prev!r} <= {v_cur!r}")
    return a, 1.0 - a, (term + v_cur * (1.0 - a)) / (v_prev - v_cur)


def exponential_step(
    y: Any,
    d_cur: Any,
    d_prev: Any | None,
    levels: tuple[float | None, float, float],
    rho: npt.ArrayLike,
) -> Any:
    r"""One step of the exponential integrator of the score-scaled ODE in the denoiser form.

    ``levels = (v_prev, v_cur, v_next)``, v_next ≥ 0; ``d_cur = D(y, v_cur)``; ``d_prev`` the
    denoiser at the previous level v_prev (None: first order). With the weights of
    :func:`exponential_coefficients`:

    .. math:: y_{next} = a\,y + b\,D_{cur} + c\,(D_{cur} - D_{prev})

    First order (c = 0) at ρ = 1 is DDIM [SME21]; second order interpolates D linearly in
    v = σ² (along a trajectory D is smooth in v, so the step into 0, which extrapolates, stays
    second order on grids whose last level shrinks like the step). ``rho`` as in
    :func:`exponential_coefficients`; arrays of numpy or torch (same kind out).
    """
    v_prev, v_cur, v_next = levels
    a, b, c = (_scalar_or_like(w, y) for w in
               exponential_coefficients(rho, v_cur, v_next, None if d_prev is None else v_prev))
    out = a * y + b * d_cur
    return out if d_prev is None else out + c * (d_cur - d_prev)


def _scalar_or_like(w: np.ndarray, ref: Any) -> Any:
    """A 0-d weight as a float, else the weight array in ``ref``'s kind."""
    return float(w) if w.ndim == 0 else _xp.as_like(w, ref) if _xp.is_torch(ref) else w


def integrate_exponential(
    model: DiffusionModel, y: Any, noise_vars: np.ndarray, rho: npt.ArrayLike, order: int = 2
) -> Any:
    r""":func:`exponential_step` along the grid v_0 > ... > v_N = 0 in VE coordinates.

    One ``model.denoise`` call per step (N in all); order 2 uses the previous step's D (the
    first step is first order). ``y`` is the VE state at v_0 (numpy or torch).

    .. math:: y_{i+1} = a_i y_i + b_i D(y_i, v_i) + c_i\,(D(y_i, v_i) - D(y_{i-1}, v_{i-1}))
    """
    check_int(order, "order", low=1, high=2)
    d_prev: Any = None
    v_prev: float | None = None
    for v_cur, v_next in zip(noise_vars[:-1], noise_vars[1:], strict=True):
        d_cur = model.denoise(y, float(v_cur))
        y = exponential_step(y, d_cur, d_prev, (v_prev, float(v_cur), float(v_next)), rho)
        if order == 2:
            d_prev, v_prev = d_cur, float(v_cur)
    return y


def integrate(drift: Drift, x: Any, noise_vars: np.ndarray, step: Step = heun_step) -> Any:
    """Apply ``step`` along the grid v_0 > v_1 > ... > v_N (= 0): i = 0..N-1."""
    for v_cur, v_next in zip(noise_vars[:-1], noise_vars[1:], strict=True):
        x = step(drift, x, float(v_cur), float(v_next))
    return x


def check_grid(noise_vars: npt.ArrayLike, noise_var: float) -> np.ndarray:
    """A step grid: 1-D, strictly decreasing, starting at ``noise_var``, ending at 0."""
    g = check_nonnegative(noise_vars, "steps (grid)")
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"steps grid must be 1-D with at least 2 levels, got shape {g.shape}")
    if (np.diff(g) >= 0).any() or g[-1] != 0.0:
        raise ValueError("steps grid must be strictly decreasing and end at 0")
    if abs(g[0] - noise_var) > 1e-9 * noise_var:
        raise ValueError(f"steps grid must start at noise_var={noise_var!r}, got {g[0]!r}")
    return g


def _step_grid(sched: ScheduleLike, noise_var: float, steps: int | npt.ArrayLike) -> np.ndarray:
    """The schedule's grid for an int ``steps``, else ``steps`` itself (validated)."""
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        return sched.noise_vars(noise_var, int(steps))
    return check_grid(steps, noise_var)


def _check_level(noise_var: npt.ArrayLike) -> float:
    v = check_positive(noise_var, "noise_var")
    if v.ndim != 0:
        raise ValueError(f"noise_var must be a scalar (one received level), got {v.shape}")
    return float(v)


def _prepare_rho(rho: npt.ArrayLike, y: Any) -> Any:
    r = check_nonnegative(rho, "rho")
    if r.ndim == 0:
        return float(r)
    if r.ndim > y.ndim - 1 or any(a not in (1, b) for a, b in zip(r.shape[::-1], y.shape[::-1])):
        raise ValueError(f"rho must be a scalar or broadcast to the event shape, got {r.shape}")
    return _xp.as_like(r, y) if _xp.is_torch(y) else r


def _integrate_model(
    model: DiffusionModel, rho: Any, kind: Kind, x: Any, grid: np.ndarray, step: Step
) -> Any:
    """:func:`integrate` the decoder ODE of ``model`` from x (state at grid[0]) to grid[-1].

    A full-covariance :class:`GaussianModel` with a scalar ρ is solved in its eigenbasis
    (x·U, then ·Uᵀ): the ODE is rotation-equivariant, so this is the same solution with two
    rotations in all instead of two per score evaluation.
    """
    if not _is_exact_gaussian(model):
        return integrate(pf_ode_drift(model, rho, kind), x, grid, step)
    x = _check_y(x, model.event_shape)
    if model.eigenvectors is None or not isinstance(rho, float):
        return integrate(pf_ode_drift(model, rho, kind), x, grid, step)
    drift = pf_ode_drift(model.in_eigenbasis(), rho, kind)
    return model.from_eigenbasis(integrate(drift, model.to_eigenbasis(x), grid, step))


def decode(
    model: DiffusionModel,
    y: Any,
    noise_var: float,
    rho: npt.ArrayLike,
    *,
    schedule: str | ScheduleLike = "vp",
    solver: Solver = "heun",
    steps: int | npt.ArrayLike = 64,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> Any:
    """Decode an AWGN-equivalent observation with the score-scaled PF-ODE (ρ = score scale).

    .. math:: dX = [f - \\tfrac12\\rho g^2 \\nabla\\log p_t]\\,dt,\\ \\text{from } t^2 =
              \\text{noise\\_var to } 0

    [WBZ26] (literal reading of "score-scaled", THEORY.md §3); ρ = 1: PF-ODE [TSHM22];
    ρ = 2: MMSE end for Gaussian sources.

    Parameters
    ----------
    model : DiffusionModel -- anything with ``score(y, noise_var)`` (see models.py).
    y : array or torch tensor, shape ``(batch, *event_shape)``; y = x + √noise_var·n.
    noise_var : float > 0, the received level t².
    rho : float ≥ 0, or per-coordinate array broadcastable to the event shape.
    schedule : "vp" (default, linear β), "vp-cosine", "ve", "edm", or a schedule object (any
        :class:`~rdptheory.diffusion.schedules.ScheduleLike`, for instance a
        :class:`DiscreteSchedule` of the model's own levels). Its ``kind`` fixes the
        coordinates (VE or VP) and, when ``steps`` is an int, the grid.
    solver : "euler", "heun" (2nd order), "exp1" / "exp2" (exponential integrators in the
        denoiser form, one ``model.denoise`` call per step, 1st / 2nd order:
        :func:`exponential_step`; they integrate in VE coordinates whatever the schedule's
        kind, which then only places the grid) or "adaptive" (scipy ``solve_ivp`` DOP853 with
        ``rtol``, ``atol``; a float64 reference, numpy only internally).
    steps : int ≥ 1 (number of steps on the schedule's grid) or an explicit grid of noise
        variances, strictly decreasing from noise_var to 0. Ignored by "adaptive".

    Returns
    -------
    x_hat : same shape and array kind as ``y``.

    Notes
    -----
    A :class:`GaussianModel` is integrated with its score substituted into the drift, in its
    eigenbasis when Σ is full and ρ a scalar: the same ODE and steps, 3-11x faster than
    through ``model.score`` (``benchmarks/decoder.py``). Model calls for ``steps = N``:
    Heun 2N − 1, Euler, "exp1" and "exp2" N.
    """
    if not isinstance(model, DiffusionModel):
        raise TypeError("model must provide denoise(y, noise_var) and score(y, noise_var)")
    v0 = _check_level(noise_var)
    sched = get_schedule(schedule)
    check_choice(solver, "solver", SOLVERS)
    if not _xp.is_torch(y):
        y = as_float_array(y, "y")
    r = _prepare_rho(rho, y)
    if solver == "adaptive":
        return decode_adaptive(model, y, v0, r, kind=sched.kind, rtol=rtol, atol=atol)
    grid = _step_grid(sched, v0, steps)
    if solver in EXPONENTIAL_ORDERS:
        r_np = _xp.to_numpy(r) if _xp.is_torch(r) else r
        return integrate_exponential(model, y, grid, r_np, EXPONENTIAL_ORDERS[solver])
    x = to_coords(y, v0, sched.kind)
    x = _integrate_model(model, r, sched.kind, x, grid, STEPS[solver])
    return from_coords(x, 0.0, sched.kind)


def decode_adaptive(
    model: DiffusionModel,
    y: Any,
    noise_var: float,
    rho: Any,
    *,
    kind: Kind = "vp",
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> Any:
    """High-accuracy reference: scipy ``solve_ivp`` (DOP853) on the flattened float64 state.

    Same ODE as :func:`decode`; the model is evaluated at noise_var = 0 at the end point, so it
    must be defined there (the analytic models are). Returns the kind of ``y``.
    """
    check_positive(rtol, "rtol")
    check_positive(atol, "atol")
    y_np = _xp.to_numpy(y)
    rho_np = _xp.to_numpy(rho) if _xp.is_torch(rho) else rho
    drift = pf_ode_drift(model, rho_np, kind)
    shape = y_np.shape

    def fun(v: float, x_flat: np.ndarray) -> np.ndarray:
        return np.asarray(drift(x_flat.reshape(shape), float(v))).ravel()

    x0 = to_coords(y_np, noise_var, kind).ravel()
    from scipy.integrate import solve_ivp  # the reference only (~0.4 s to import)

    sol = solve_ivp(fun, (noise_var, 0.0), x0, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    x_hat = from_coords(sol.y[:, -1].reshape(shape), 0.0, kind)
    return _xp.as_like(x_hat, y) if _xp.is_torch(y) else x_hat


@dataclass(frozen=True)
class DecoderConfig:
    """Decoder settings for scripts and figures (STYLE.md §6); library code takes keywords.

    ``DecoderConfig(rho=1.5).decode(model, y, noise_var)`` is
    ``decode(model, y, noise_var, 1.5, schedule="vp", solver="heun", steps=64)``.
    """

    rho: float = 1.0
    schedule: str = "vp"
    solver: Solver = "heun"
    steps: int = 64

    def __post_init__(self) -> None:
        if check_nonnegative(self.rho, "rho").ndim != 0:
            raise ValueError("rho must be a scalar in a DecoderConfig")
        get_schedule(self.schedule)
        check_choice(self.solver, "solver", SOLVERS)
        check_int(self.steps, "steps", low=1)

    def decode(self, model: DiffusionModel, y: Any, noise_var: float) -> Any:
        """Run :func:`decode` with these settings."""
        return decode(
            model,
            y,
            noise_var,
            self.rho,
            schedule=self.schedule,
            solver=self.solver,
            steps=self.steps,
        )
