r"""Continuous scalar sources on a grid, and the convergence study as the grid is refined.

A source density f on the line is replaced by the law :math:`p_i \propto f(x_i)` on the
uniform grid :math:`x_i = -L + i h` (h = 2L/(n − 1)) with the same grid as reconstruction
alphabet and squared-error distortion.  For the Gaussian this sampling keeps the variance
to spectral accuracy (the trapezoid rule on a Gaussian), and the discretised R(D, P)
converges to the continuous one as h → 0 and L → ∞; :func:`grid_convergence` measures it.
The grid problem is solved by :func:`~rdptheory.solver.rdp_discrete` with its certificate;
the *discretisation* error is not certified, only measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rdptheory._validation import as_float_array, check_int
from rdptheory.solver.discrete import Measure, RDPSolution, rdp_discrete

__all__ = ["ConvergenceStudy", "gaussian_grid", "grid_convergence", "rdp_gaussian_grid"]


def _check_pos_scalar(x: object, name: str) -> float:
    a = as_float_array(x, name)  # type: ignore[arg-type]
    if a.ndim != 0 or not math.isfinite(float(a)) or float(a) <= 0:
        raise ValueError(f"{name} must be a finite scalar > 0, got {x!r}")
    return float(a)


def gaussian_grid(
    variance: float = 1.0, n: int = 201, width: float = 8.0, *, stretch: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Points and probabilities of N(0, variance) sampled on ``n`` points in ±width·s.

    ``stretch = a > 0`` places the points at ``x = L sinh(a t)/sinh(a)`` for t uniform in
    [−1, 1] (denser near 0, where the forward-KL optimal reconstruction concentrates at large
    P) and weights each by its cell width, ``p_i ∝ f(x_i) dx/dt``; 0 is the uniform grid.

    Parameters
    ----------
    variance : float
        Source variance s², > 0.
    n : int
        Number of grid points, ≥ 3 (odd keeps 0 on the grid).
    width : float
        Half-width of the grid in standard deviations, > 0.
    stretch : float
        Non-uniformity a ≥ 0 of the grid (see above).

    Returns
    -------
    (x, p) : tuple of ndarray
        Grid points and their probabilities (``p ∝ exp(−x²/2s²)``, summing to 1).

    >>> x, p = gaussian_grid(1.0, 201, 8.0)
    >>> abs(float(p @ x**2) - 1.0) < 1e-12
    True
    """
    variance = _check_pos_scalar(variance, "variance")
    n = check_int(n, "n", low=3)
    width = _check_pos_scalar(width, "width")
    raw = as_float_array(stretch, "stretch")
    if raw.ndim != 0 or not (0.0 <= float(raw) < 50.0):
        raise ValueError(f"stretch must be a scalar in [0, 50), got {stretch!r}")
    a = float(raw)
    s = math.sqrt(variance)
    t = np.linspace(-1.0, 1.0, n)
    if a == 0.0:
        x, logw = width * s * t, np.zeros(n)
    else:
        x = width * s * np.sinh(a * t) / math.sinh(a)
        logw = np.log(np.cosh(a * t))  # dx/dt up to a constant
    logp = -0.5 * (x / s) ** 2 + logw
    p = np.exp(logp - logp.max())
    return x, p / p.sum()


def rdp_gaussian_grid(
    D: float,
    P: float,
    variance: float = 1.0,
    *,
    perception: Measure = "kl_forward",
    n: int = 201,
    width: float = 8.0,
    stretch: float = 0.0,
    tol: float = 1e-7,
) -> RDPSolution:
    """Certified R(D, P) (nats) of the grid-discretised Gaussian, squared-error distortion.

    Parameters
    ----------
    D : float
        MSE budget, > 0.
    P : float
        Perception budget, ≥ 0 (``inf``: none).  ``w2sq``/``w1`` in squared/plain std units,
        KL and TV dimensionless.
    variance : float
        Source variance s², > 0.
    perception : {"none", "tv", "kl_forward", "kl_reverse", "w1", "w2sq"}
    n, width, stretch : int, float, float
        Grid size, half-width in standard deviations and non-uniformity
        (see :func:`gaussian_grid`).
    tol : float
        Requested certificate gap (nats).

    Returns
    -------
    RDPSolution
        The certified solution *of the grid problem*; its distance to the continuous
        R(D, P) is the discretisation error (measure it with :func:`grid_convergence`).
    """
    x, p = gaussian_grid(variance, n, width, stretch=stretch)
    d = (x[:, None] - x[None, :]) ** 2
    return rdp_discrete(p, d, D, P, perception=perception, source_points=x,
                        reconstruction_points=x, tol=tol)


@dataclass(frozen=True)
class ConvergenceStudy:
    """Grid sizes, the certified grid values (upper, lower) and their successive changes."""

    sizes: tuple[int, ...]
    width: float
    upper_nats: tuple[float, ...]
    lower_nats: tuple[float, ...]

    @property
    def changes(self) -> tuple[float, ...]:
        """``|upper_k − upper_{k−1}|``: how much the answer moves per refinement."""
        u = self.upper_nats
        return tuple(abs(u[k] - u[k - 1]) for k in range(1, len(u)))


def grid_convergence(
    D: float, P: float, variance: float = 1.0, *, perception: Measure = "kl_forward",
    sizes: npt.ArrayLike = (51, 101, 201), width: float = 8.0, tol: float = 1e-8,
) -> ConvergenceStudy:
    """Solve on successively finer grids (fixed ``width``) and report the values.

    >>> st = grid_convergence(1.0, 0.5, sizes=(41, 81), tol=1e-7)
    >>> st.changes[0] < 1e-4
    True
    """
    raw = as_float_array(sizes, "sizes")
    if raw.ndim != 1 or raw.size < 2 or np.any(raw != np.round(raw)) or np.any(raw < 3):
        raise ValueError("sizes must be a 1-D list of at least two integers >= 3")
    ns = tuple(int(v) for v in raw)
    sols = [rdp_gaussian_grid(D, P, variance, perception=perception, n=k, width=width, tol=tol)
            for k in ns]
    return ConvergenceStudy(ns, float(width), tuple(s.rate_nats for s in sols),
                            tuple(s.lower_bound_nats for s in sols))
