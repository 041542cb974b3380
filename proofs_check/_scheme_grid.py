"""Evaluate a derived identity of the score-scaled scheme on random (lambda, t, rho) points.

Shared by the claims that cross-check rdptheory.symbolic's ``scheme_optimality`` gaps.
"""

from __future__ import annotations

import numpy as np


def max_abs_on_scheme_grid(gap, n: int = 200, seed: int = 17) -> float:
    """max |gap| of a :class:`rdptheory.symbolic.Derivation` in (lambda, t, rho).

    The derivation is lambdified and evaluated at ``n`` seeded random points with
    lambda, t in [0.05, 5] and rho in [1, 2] (the range where the identity is proved).
    """
    f = gap.lambdify()
    rng = np.random.default_rng(seed)
    # lambdified arguments are (variance, noise_var, rho): the same points, t² passed
    cols = {"variance": rng.uniform(0.05, 5, n), "noise_var": rng.uniform(0.05, 5, n) ** 2,
            "rho": rng.uniform(1, 2, n)}
    return float(np.max(np.abs(f(*(cols[name] for name in gap.arguments)))))
