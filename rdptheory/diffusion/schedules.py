"""Noise schedules as data: VE σ grids, VP/DDPM (linear, cosine, discrete ᾱ), EDM/Karras.

Every schedule is a frozen dataclass that (i) names the coordinates its SDE lives in
(``kind="ve"``: the AWGN-equivalent state y = x + σn, f = 0; ``kind="vp"``: z = √ᾱ·y, f = −½βz)
and (ii) lays out a decreasing grid of AWGN-equivalent noise variances
``noise_var = t² = σ² = (1 − ᾱ)/ᾱ`` from the received level down to 0 (THEORY.md §4).
The decoders take such a grid, so a model that can only be evaluated on its own discrete levels
(a 1000-step DDPM) is served by :class:`DiscreteSchedule`.

References: [SSDK21] Song et al. 2021 (VE/VP SDEs, linear β); Nichol & Dhariwal 2021 (cosine
ᾱ); Ho et al. 2020 (DDPM, discrete linear β); Karras et al. 2022 (EDM σ grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rdptheory._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)

Kind = Literal["ve", "vp"]
KINDS: tuple[str, ...] = ("ve", "vp")


def noise_var_from_alpha_bar(alpha_bar: npt.ArrayLike) -> np.ndarray:
    """AWGN-equivalent noise variance of a VP level.

    .. math:: t^2 = (1 - \\bar\\alpha) / \\bar\\alpha

    THEORY.md §4. ``alpha_bar`` in (0, 1]; returns noise_var ≥ 0 (same shape).

    >>> float(noise_var_from_alpha_bar(0.5))
    1.0
    """
    ab = check_positive(alpha_bar, "alpha_bar")
    if (ab > 1).any():
        raise ValueError(f"alpha_bar must be in (0, 1], got max {ab.max()!r}")
    return (1.0 - ab) / ab


def alpha_bar_from_noise_var(noise_var: npt.ArrayLike) -> np.ndarray:
    """VP signal level of an AWGN-equivalent noise variance.

    .. math:: \\bar\\alpha = 1 / (1 + t^2)

    THEORY.md §4. ``noise_var`` ≥ 0; returns ᾱ in (0, 1].

    >>> float(alpha_bar_from_noise_var(1.0))
    0.5
    """
    return 1.0 / (1.0 + check_nonnegative(noise_var, "noise_var", allow_inf=True))


def sigma_from_noise_var(noise_var: npt.ArrayLike) -> np.ndarray:
    """VE σ (= t, the AWGN noise std) of a noise variance.

    .. math:: \\sigma = \\sqrt{t^2}
    """
    return np.sqrt(check_nonnegative(noise_var, "noise_var"))


def ddpm_alphas_cumprod(
    num_timesteps: int = 1000,
    *,
    beta_schedule: Literal["linear", "scaled_linear", "cosine"] = "linear",
    beta_start: float = 1e-4,
    beta_end: float = 0.02,
) -> np.ndarray:
    """Discrete ᾱ_1..ᾱ_T of a DDPM, as pre-trained models (and diffusers) define them.

    .. math:: \\bar\\alpha_i = \\prod_{j \\le i} (1 - \\beta_j)

    ``"linear"``: β linear in [beta_start, beta_end] (Ho et al. 2020); ``"scaled_linear"``:
    √β linear (Stable Diffusion); ``"cosine"``: β_i = min(1 − f(i/T)/f((i−1)/T), 0.999),
    f(u) = cos²((u + 0.008)/1.008 · π/2) (Nichol & Dhariwal 2021, diffusers' squaredcos_cap_v2).

    Returns a float64 array of shape (num_timesteps,), decreasing.
    """
    T = check_int(num_timesteps, "num_timesteps", low=1)
    check_choice(beta_schedule, "beta_schedule", ("linear", "scaled_linear", "cosine"))
    b0 = float(check_positive(beta_start, "beta_start"))
    b1 = float(check_positive(beta_end, "beta_end"))
    if beta_schedule == "linear":
        betas = np.linspace(b0, b1, T)
    elif beta_schedule == "scaled_linear":
        betas = np.linspace(math.sqrt(b0), math.sqrt(b1), T) ** 2
    else:
        u = np.arange(T + 1) / T
        f = np.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = np.minimum(1.0 - f[1:] / f[:-1], 0.999)
    if (betas >= 1).any():
        raise ValueError("beta_end must be < 1")
    return np.cumprod(1.0 - betas)


def _check_level(noise_var: float) -> float:
    """The received level: a positive scalar noise variance."""
    return float(check_positive(noise_var, "noise_var"))


class _TimeSchedule(Protocol):
    def noise_var_at(self, t: npt.ArrayLike) -> np.ndarray: ...

    def time_at(self, noise_var: npt.ArrayLike) -> np.ndarray: ...


def _uniform_in_time(sched: _TimeSchedule, noise_var: float, steps: int) -> np.ndarray:
    """``steps + 1`` levels noise_var(t_i), t_i uniform from t(noise_var) to 0 (i = 0..N)."""
    v0, n = _check_level(noise_var), check_int(steps, "steps", low=1)
    grid = sched.noise_var_at(np.linspace(float(sched.time_at(v0)), 0.0, n + 1))
    grid[0], grid[-1] = v0, 0.0  # exact end points: t(v0) and noise_var_at round-trip to ~1 ulp
    return grid


@dataclass(frozen=True)
class VPLinear:
    """Continuous VP SDE with linear β(t) = β_min + t(β_max − β_min) [SSDK21].

    .. math:: \\bar\\alpha(t) = \\exp(-\\beta_{min} t - \\tfrac12(\\beta_{max}-\\beta_{min})t^2)

    The grid is uniform in t from t(noise_var) to 0 (t > 1 extrapolates β linearly).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0
    kind: Kind = "vp"

    def __post_init__(self) -> None:
        check_positive(self.beta_min, "beta_min")
        if not self.beta_max > self.beta_min:
            raise ValueError(f"beta_max must be > beta_min, got {self.beta_max}")
        check_choice(self.kind, "kind", KINDS)

    def noise_var_at(self, t: npt.ArrayLike) -> np.ndarray:
        """The AWGN-equivalent noise variance at time t ≥ 0.

        .. math:: t^2(t) = 1/\\bar\\alpha(t) - 1
                  = \\exp\\big(\\beta_{min} t + \\tfrac12(\\beta_{max}-\\beta_{min})t^2\\big) - 1
        """
        t = check_nonnegative(t, "t")
        return np.expm1(self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2)

    def time_at(self, noise_var: npt.ArrayLike) -> np.ndarray:
        """Inverse of :meth:`noise_var_at` (the root t ≥ 0 of a quadratic)."""
        L = np.log1p(check_nonnegative(noise_var, "noise_var"))
        d = self.beta_max - self.beta_min
        # (−b + √(b² + 2dL))/d written as 2L/(b + √(b² + 2dL)) to avoid cancellation at small L
        return 2.0 * L / (self.beta_min + np.sqrt(self.beta_min**2 + 2.0 * d * L))

    def noise_vars(self, noise_var: float, steps: int) -> np.ndarray:
        """Decreasing grid of ``steps + 1`` noise variances, noise_var → 0, uniform in t."""
        return _uniform_in_time(self, noise_var, steps)


@dataclass(frozen=True)
class VPCosine:
    """Continuous VP schedule with the cosine ᾱ of Nichol & Dhariwal (2021).

    .. math:: \\bar\\alpha(t) = f(t)/f(0),\\quad
              f(t) = \\cos^2\\big(\\tfrac{t+s}{1+s}\\tfrac{\\pi}{2}\\big)

    The grid is uniform in t ∈ [0, 1) from t(noise_var) to 0.
    """

    s: float = 0.008
    kind: Kind = "vp"

    def __post_init__(self) -> None:
        check_positive(self.s, "s")
        check_choice(self.kind, "kind", KINDS)

    def noise_var_at(self, t: npt.ArrayLike) -> np.ndarray:
        """noise_var(t) = 1/ᾱ(t) − 1 for t in [0, 1)."""
        t = check_nonnegative(t, "t")
        if (t >= 1).any():
            raise ValueError("t must be in [0, 1) for the cosine schedule")
        f0 = math.cos(self.s / (1 + self.s) * math.pi / 2) ** 2
        return f0 / np.cos((t + self.s) / (1 + self.s) * math.pi / 2) ** 2 - 1.0

    def time_at(self, noise_var: npt.ArrayLike) -> np.ndarray:
        """Inverse of :meth:`noise_var_at`."""
        ab = 1.0 / (1.0 + check_nonnegative(noise_var, "noise_var"))
        f0 = math.cos(self.s / (1 + self.s) * math.pi / 2) ** 2
        return (1 + self.s) * (2 / math.pi) * np.arccos(np.sqrt(ab * f0)) - self.s

    def noise_vars(self, noise_var: float, steps: int) -> np.ndarray:
        """Decreasing grid of ``steps + 1`` noise variances, noise_var → 0, uniform in t."""
        return _uniform_in_time(self, noise_var, steps)


@dataclass(frozen=True)
class VEUniform:
    """VE schedule (f = 0, g² = dσ²/dt) with a grid uniform in σ = √noise_var, ending at 0.

    .. math:: \\sigma_i = \\sigma_0\\,(1 - i/N),\\quad i = 0..N

    [SSDK21] (VE SDE); with v = σ² as the decoder's integration variable.
    """

    kind: Kind = "ve"

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", KINDS)

    def noise_vars(self, noise_var: float, steps: int) -> np.ndarray:
        """Decreasing grid of ``steps + 1`` noise variances, uniform in σ."""
        v0, n = _check_level(noise_var), check_int(steps, "steps", low=1)
        grid = (math.sqrt(v0) * np.linspace(1.0, 0.0, n + 1)) ** 2
        grid[0] = v0
        return grid


@dataclass(frozen=True)
class Karras:
    """EDM σ grid (Karras et al. 2022, Eq. 5), then a final step to σ = 0.

    .. math:: \\sigma_i = \\big(\\sigma_{max}^{1/k} + \\tfrac{i}{N-1}(\\sigma_{min}^{1/k}
              - \\sigma_{max}^{1/k})\\big)^{k},\\quad \\sigma_N = 0

    with σ_max = √noise_var and k = ``exponent`` (EDM's ρ = 7, renamed so it cannot be confused
    with the score scale ρ). The last step (σ_min → 0) does not shrink with N.
    """

    sigma_min: float = 0.002
    exponent: float = 7.0
    kind: Kind = "ve"

    def __post_init__(self) -> None:
        check_positive(self.sigma_min, "sigma_min")
        check_positive(self.exponent, "exponent")
        check_choice(self.kind, "kind", KINDS)

    def noise_vars(self, noise_var: float, steps: int) -> np.ndarray:
        """Decreasing grid of ``steps + 1`` noise variances: ``steps`` Karras levels, then 0."""
        v0, n = _check_level(noise_var), check_int(steps, "steps", low=1)
        s_max = math.sqrt(v0)
        s_min = min(self.sigma_min, s_max)
        k = self.exponent
        ramp = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
        sig = (s_max ** (1 / k) + ramp * (s_min ** (1 / k) - s_max ** (1 / k))) ** k
        grid = np.append(sig**2, 0.0)
        grid[0] = v0
        return grid


@dataclass(frozen=True, eq=False)
class DiscreteSchedule:
    """A model's own discrete noise levels (e.g. a 1000-step DDPM), in VE or VP coordinates.

    ``levels`` are the noise variances the model can be evaluated at (any order; stored
    increasing). The received level must be one of them (relative tolerance ``rtol``); the grid
    takes ``steps`` levels evenly spaced in index from it down to the smallest, then 0
    (DDIM-style "trailing" spacing).
    """

    levels: np.ndarray = field(repr=False)
    kind: Kind = "vp"
    rtol: float = 1e-6

    def __post_init__(self) -> None:
        lv = np.sort(check_positive(self.levels, "levels").ravel())
        if lv.size == 0 or (np.diff(lv) <= 0).any():
            raise ValueError("levels must be a non-empty set of distinct positive noise variances")
        object.__setattr__(self, "levels", lv)
        check_choice(self.kind, "kind", KINDS)

    @classmethod
    def from_alphas_cumprod(
        cls, alphas_cumprod: npt.ArrayLike, kind: Kind = "vp"
    ) -> DiscreteSchedule:
        """The levels (1 − ᾱ_i)/ᾱ_i of a DDPM's ``alphas_cumprod``."""
        return cls(noise_var_from_alpha_bar(as_float_array(alphas_cumprod, "alphas_cumprod")), kind)

    def index_of(self, noise_var: float) -> int:
        """Index of ``noise_var`` among the levels; ``ValueError`` if it is not one of them."""
        v0 = _check_level(noise_var)
        i = int(np.argmin(np.abs(self.levels - v0)))
        if abs(self.levels[i] - v0) > self.rtol * v0:
            raise ValueError(
                f"noise_var={v0!r} is not one of the model's levels (nearest {self.levels[i]!r});"
                " use schedule.levels[i]"
            )
        return i

    def noise_vars(self, noise_var: float, steps: int) -> np.ndarray:
        """Decreasing grid: ``steps`` model levels from ``noise_var`` to the smallest, then 0."""
        i0 = self.index_of(noise_var)
        n = check_int(steps, "steps", low=1, high=i0 + 1)
        idx = np.round(np.linspace(i0, 0, n)).astype(int)
        grid = np.append(self.levels[idx], 0.0)
        grid[0] = float(noise_var)
        return grid


Schedule = VPLinear | VPCosine | VEUniform | Karras | DiscreteSchedule


@runtime_checkable
class ScheduleLike(Protocol):
    """What a decoder needs from a schedule: its coordinates and a step grid (k-diffusion style).

    Any object with a ``kind`` ("ve" or "vp") and ``noise_vars(noise_var, steps)`` returning a
    grid strictly decreasing from ``noise_var`` to 0 can be passed as ``schedule``.
    """

    @property
    def kind(self) -> Kind: ...

    def noise_vars(self, noise_var: float, steps: int) -> np.ndarray: ...


#: Named schedules accepted wherever a ``schedule`` argument is taken.
SCHEDULES: dict[str, Schedule] = {
    "vp": VPLinear(),
    "vp-cosine": VPCosine(),
    "ve": VEUniform(),
    "edm": Karras(),
}


def get_schedule(schedule: str | ScheduleLike) -> ScheduleLike:
    """Resolve a schedule name ("vp", "vp-cosine", "ve", "edm"), or pass a schedule through.

    A schedule object is any :class:`ScheduleLike` whose ``kind`` is "ve" or "vp".
    """
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {', '.join(map(repr, SCHEDULES))} or a schedule "
                f"object, got {schedule!r}"
            )
        return SCHEDULES[schedule]
    if not isinstance(schedule, ScheduleLike):
        raise ValueError(
            f"schedule must be one of {', '.join(map(repr, SCHEDULES))} or a schedule object "
            f"(with .kind and .noise_vars(noise_var, steps)), got {schedule!r}"
        )
    check_choice(schedule.kind, "schedule.kind", KINDS)
    return schedule
