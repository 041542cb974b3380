"""Certified numerical rate-distortion-perception solvers (THEORY.md §6); numpy/scipy only.

- :func:`rdp_discrete` — R(D, P) of a finite-alphabet source with any distortion matrix and
  perception by total variation, KL in either direction, or W₁ / W₂² on the line.  Every
  answer is an :class:`RDPSolution`: a primal feasible channel (an upper bound, its rate,
  distortion and perception computed exactly from it), a dual lower bound, and their gap.
- :func:`dual_bound` — the dual lower bound at any multipliers (to re-check a certificate).
- :func:`channel_metrics` — exact rate and distortion of a given channel.
- :func:`gaussian_grid`, :func:`rdp_gaussian_grid`, :func:`grid_convergence` — continuous
  scalar sources on a grid, and the convergence study as the grid is refined.
- :func:`bernoulli_tv_rdp` — the [BM19] closed form (binary source, Hamming, TV) it matches.
- :func:`kl_forward_rdp_point` and :mod:`rdptheory.solver.tabulate` — the true forward-KL
  Gaussian R(D, P), solved and tabulated (the table behind
  ``rdptheory.gaussian.rdp(..., perception="kl_forward")``).

Rates are in nats here (the solver's native unit; ``RDPSolution.rate_bits`` converts).
"""

from rdptheory.solver.closed_forms import bernoulli_tv_rdp, binary_entropy
from rdptheory.solver.discrete import (
    MEASURES,
    Measure,
    RDPSolution,
    channel_metrics,
    dual_bound,
    rdp_discrete,
)
from rdptheory.solver.grid import (
    ConvergenceStudy,
    gaussian_grid,
    grid_convergence,
    rdp_gaussian_grid,
)
from rdptheory.solver.tabulate import kl_forward_rdp_point

__all__ = [
    "MEASURES",
    "bernoulli_tv_rdp",
    "binary_entropy",
    "kl_forward_rdp_point",
    "ConvergenceStudy",
    "Measure",
    "RDPSolution",
    "channel_metrics",
    "dual_bound",
    "gaussian_grid",
    "grid_convergence",
    "rdp_discrete",
    "rdp_gaussian_grid",
]
