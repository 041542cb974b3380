r"""Stationarity of the vector Gaussian R(D, P) programme (``w2sq``), derived with sympy.

For :math:`X\sim N(0,\mathrm{diag}(\lambda_i))` the jointly Gaussian programme separates over
components, coupled only through the multipliers μ (distortion) and ν (perception)
(THEORY.md §2):

.. math::

    \mathcal L = \sum_i \Bigl[-\tfrac12\log(1-c_i^2) + \mu(\lambda_i+\hat s_i^2
    - 2c_i\sqrt{\lambda_i}\hat s_i) + \nu(\sqrt{\lambda_i}-\hat s_i)^2\Bigr] - \mu D - \nu P .

The per-component stationarity conditions are derived here; a numeric solver's (μ, ν, ŝ_i, c_i)
can be checked against them (tests do so for :func:`rdptheory.gaussian.rdp_vector_solution`).
"""

from __future__ import annotations

import functools

import sympy as sp

from rdptheory.symbolic._core import (
    Derivation,
    DerivationError,
    Step,
    c,
    lam,
    mu,
    nu,
    prove_equal,
    s_hat,
)

__all__ = ["rdp_w2sq_vector_stationarity"]

#: z = 1 - s_hat/sqrt(lambda), the relative shrinkage of one component's reconstruction std
z = sp.Symbol("z", real=True)


@functools.cache
def rdp_w2sq_vector_stationarity() -> Derivation:
    r"""Per-component KKT stationarity of the vector ``w2sq`` R(D, P) programme.

    .. math::

        c_i = 1 - z_i\Bigl(1+\frac{\nu}{\mu}\Bigr),\quad z_i = 1-\frac{\hat s_i}{\sqrt{\lambda_i}},
        \qquad \mu = \frac{c_i}{2\sqrt{\lambda_i}\,\hat s_i\,(1-c_i^2)}

    Derived (THEORY.md §2, consistent with [QSC+24]), not stated in a paper. The first
    equation is ∂L/∂ŝ_i = 0 solved for c_i; the second is ∂L/∂c_i = 0 solved for μ
    (step ``"mu"``). Components with positive rate satisfy both with common (μ, ν).

    Returns
    -------
    Derivation
        ``expr`` (c_i) in (shat, lambda, mu, nu); steps hold ``"mu"`` in (c, shat, lambda).
    """
    root_lam = sp.sqrt(lam)
    lagrangian = (
        -sp.log(1 - c**2) / 2
        + mu * (lam + s_hat**2 - 2 * c * root_lam * s_hat)
        + nu * (root_lam - s_hat) ** 2
    )
    c_sols = sp.solve(sp.diff(lagrangian, s_hat), c)
    mu_sols = sp.solve(sp.diff(lagrangian, c), mu)
    if len(c_sols) != 1 or len(mu_sols) != 1:
        raise DerivationError(f"unexpected stationarity solutions: {c_sols}, {mu_sols}")
    in_z = 1 - z * (1 + nu / mu)
    proof = prove_equal(c_sols[0], in_z.subs(z, 1 - s_hat / root_lam), "c_i = 1 - z_i(1+nu/mu)")
    return Derivation(
        "rdp_w2sq_vector_stationarity",
        c_sols[0],
        (s_hat, lam, mu, nu),
        ("lambda_i > 0", "mu > 0", "component with positive rate"),
        "THEORY.md §2 (derived), consistent with [QSC+24]",
        True,
        "c_i",
        (Step("c_i in z_i", in_z), Step("mu", mu_sols[0]), proof),
    )
