"""Parameterisation conversions in one place: ε, v, x₀ (denoiser), score and flow velocity.

Everything is written in AWGN-equivalent terms (THEORY.md §4): with noise variance
t² = ``noise_var`` and X̂₀ the clean-signal prediction,

- VE state  y   = x₀ + t·ε                         (σ = t)
- VP state  z   = √ᾱ·x₀ + √(1−ᾱ)·ε = y/√(1 + t²)    (ᾱ = 1/(1 + t²))
- flow state x_u = (1 − u)·x₀ + u·ε = y/(1 + t)     (u = t/(1 + t), rectified-flow time)

and the predictions ε, v = √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans & Ho 2022), x₀, the VE score
∇_y log p = (x₀ − y)/t² = −ε/t (Tweedie), and the flow velocity dx_u/du = ε − x₀.
Every function accepts numpy arrays or torch tensors (same kind out) and a scalar or
broadcastable ``noise_var``; they are pure and do not validate (callers validate once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from rdptheory.diffusion import _xp

Parameterization = Literal["eps", "v", "x0", "score", "velocity"]
PARAMETERIZATIONS: tuple[str, ...] = ("eps", "v", "x0", "score", "velocity")
Coords = Literal["ve", "vp", "flow"]
COORDS: tuple[str, ...] = ("ve", "vp", "flow")


def _root(noise_var: Any) -> Any:
    return _xp.sqrt(noise_var) if _xp.is_torch(noise_var) else np.sqrt(noise_var)


def vp_scale(noise_var: Any) -> Any:
    """√ᾱ, the factor with z = √ᾱ·y (THEORY.md §4).

    .. math:: \\sqrt{\\bar\\alpha} = 1/\\sqrt{1 + t^2}
    """
    return 1.0 / _root(1.0 + noise_var)


def flow_time(noise_var: Any) -> Any:
    """Rectified-flow time of the noise variance t², so that y = x_u/(1 − u).

    .. math:: u = t/(1 + t)
    """
    t = _root(noise_var)
    return t / (1.0 + t)


def to_coords(y: Any, noise_var: Any, coords: Coords) -> Any:
    """The state of coordinates ``coords`` ("ve", "vp", "flow") from the VE state y.

    .. math:: y\\ (\\text{ve}),\\quad z = y/\\sqrt{1 + t^2}\\ (\\text{vp}),\\quad
              x_u = y/(1 + t)\\ (\\text{flow})
    """
    if coords == "ve":
        return y
    if coords == "vp":
        return y * vp_scale(noise_var)
    return y / (1.0 + _root(noise_var))


def from_coords(state: Any, noise_var: Any, coords: Coords) -> Any:
    """The VE state y from a state in ``coords`` (inverse of :func:`to_coords`)."""
    if coords == "ve":
        return state
    if coords == "vp":
        return state / vp_scale(noise_var)
    return state * (1.0 + _root(noise_var))


def score_from_x0(y: Any, x0: Any, noise_var: Any) -> Any:
    """VE score from a denoiser output (Tweedie).

    .. math:: \\nabla_y \\log p_t(y) = (\\hat x_0 - y)/t^2

    >>> score_from_x0(3.0, 1.0, 4.0)
    -0.5
    """
    return (x0 - y) / noise_var


def x0_from_score(y: Any, score: Any, noise_var: Any) -> Any:
    """Denoiser output from the VE score (Tweedie).

    .. math:: \\hat x_0 = y + t^2\\,\\nabla_y \\log p_t(y)
    """
    return y + noise_var * score


def x0_from_eps(y: Any, eps: Any, noise_var: Any) -> Any:
    """Denoiser output from an ε-prediction (VE form of THEORY.md §4's (z − √(1−ᾱ)ε̂)/√ᾱ).

    .. math:: \\hat x_0 = y - t\\,\\hat\\epsilon
    """
    return y - _root(noise_var) * eps


def eps_from_x0(y: Any, x0: Any, noise_var: Any) -> Any:
    """ε-prediction from a denoiser output.

    .. math:: \\hat\\epsilon = (y - \\hat x_0)/t
    """
    return (y - x0) / _root(noise_var)


def score_from_eps(eps: Any, noise_var: Any) -> Any:
    """VE score from an ε-prediction (the VP score is −ε̂/√(1 − ᾱ), THEORY.md §4).

    .. math:: \\nabla_y \\log p_t(y) = -\\hat\\epsilon / t
    """
    return -eps / _root(noise_var)


def x0_from_v(z: Any, v: Any, noise_var: Any) -> Any:
    """Denoiser output from a v-prediction at the VP state z (Salimans & Ho 2022).

    .. math:: \\hat x_0 = \\sqrt{\\bar\\alpha}\\,z - \\sqrt{1-\\bar\\alpha}\\,\\hat v
    """
    a = vp_scale(noise_var)
    return a * z - a * _root(noise_var) * v


def v_from_x0(z: Any, x0: Any, noise_var: Any) -> Any:
    """v-prediction from a denoiser output at the VP state z (Salimans & Ho 2022).

    .. math:: \\hat v = \\sqrt{\\bar\\alpha}\\,\\hat\\epsilon - \\sqrt{1-\\bar\\alpha}\\,\\hat x_0
    """
    a = vp_scale(noise_var)
    eps = eps_from_x0(z / a, x0, noise_var)
    return a * eps - a * _root(noise_var) * x0


def x0_from_velocity(x_u: Any, velocity: Any, noise_var: Any) -> Any:
    """Denoiser output from a rectified-flow velocity at the flow state x_u.

    .. math:: \\hat x_0 = x_u - u\\,(\\hat\\epsilon - \\hat x_0) = x_u - u\\,\\hat v_{\\rm flow}
    """
    return x_u - flow_time(noise_var) * velocity


def velocity_from_x0(x_u: Any, x0: Any, noise_var: Any) -> Any:
    """Rectified-flow velocity from a denoiser output at the flow state x_u.

    .. math:: \\hat v_{\\rm flow} = \\hat\\epsilon - \\hat x_0 = (x_u - \\hat x_0)/u
    """
    return (x_u - x0) / flow_time(noise_var)


#: The coordinates each parameterisation is natively predicted in (conventional choices).
NATIVE_COORDS: dict[str, Coords] = {
    "eps": "vp",
    "v": "vp",
    "x0": "vp",
    "score": "ve",
    "velocity": "flow",
}


def _chain(noise_var: Any, coords: Coords) -> Any:
    """d(state)/dy: a score w.r.t. the state times this is the score w.r.t. y."""
    if coords == "ve":
        return 1.0
    if coords == "vp":
        return vp_scale(noise_var)
    return 1.0 / (1.0 + _root(noise_var))


# prediction -> x0, each given (y, state in its native coords, prediction, noise_var, chain)
_TO_X0: dict[str, Callable[..., Any]] = {
    "x0": lambda y, p, v, k: p,
    "eps": lambda y, p, v, k: x0_from_eps(y, p, v),
    "score": lambda y, p, v, k: x0_from_score(y, p * k, v),
    "v": lambda y, p, v, k: x0_from_v(to_coords(y, v, "vp"), p, v),
    "velocity": lambda y, p, v, k: x0_from_velocity(to_coords(y, v, "flow"), p, v),
}
_FROM_X0: dict[str, Callable[..., Any]] = {
    "x0": lambda y, x0, v, k: x0,
    "eps": lambda y, x0, v, k: eps_from_x0(y, x0, v),
    "score": lambda y, x0, v, k: score_from_x0(y, x0, v) / k,
    "v": lambda y, x0, v, k: v_from_x0(to_coords(y, v, "vp"), x0, v),
    "velocity": lambda y, x0, v, k: velocity_from_x0(to_coords(y, v, "flow"), x0, v),
}


def x0_from_prediction(
    state: Any, prediction: Any, noise_var: Any, parameterization: Parameterization, coords: Coords
) -> Any:
    """Denoiser output x̂₀ from any prediction made at ``state`` in ``coords``.

    A ``"score"`` prediction is taken w.r.t. the state of ``coords``; since z = √ᾱ·y, the VE
    score is √ᾱ times the VP score (−ε/t = √ᾱ · (−ε/√(1−ᾱ))).
    """
    y = from_coords(state, noise_var, coords)
    return _TO_X0[parameterization](y, prediction, noise_var, _chain(noise_var, coords))


def prediction_from_x0(
    state: Any, x0: Any, noise_var: Any, parameterization: Parameterization, coords: Coords
) -> Any:
    """Inverse of :func:`x0_from_prediction`: the ``parameterization`` output that gives x0."""
    y = from_coords(state, noise_var, coords)
    return _FROM_X0[parameterization](y, x0, noise_var, _chain(noise_var, coords))
