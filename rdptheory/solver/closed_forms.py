"""Closed forms the solver is checked against (nats).

:func:`bernoulli_tv_rdp` — the binary source with Hamming distortion and total-variation
perception, [BM19] (Blau & Michaeli, ICML 2019, the Bernoulli example), re-derived here
(regime boundaries and the middle piece from the joint law of (X, X̂); see the docstring).
"""

from __future__ import annotations

import math

from rdptheory._validation import as_float_array

__all__ = ["bernoulli_tv_rdp", "binary_entropy"]


def binary_entropy(t: float) -> float:
    """h(t) in nats (``h(0) = h(1) = 0``)."""
    return 0.0 if t <= 0.0 or t >= 1.0 else -t * math.log(t) - (1 - t) * math.log1p(-t)


def _scalar(x: object, name: str, lo: float, hi: float) -> float:
    a = as_float_array(x, name)  # type: ignore[arg-type]
    if a.ndim != 0 or not (lo <= float(a) <= hi):
        raise ValueError(f"{name} must be a scalar in [{lo}, {hi}], got {x!r}")
    return float(a)


def bernoulli_tv_rdp(p: float, D: float, P: float) -> float:
    """R(D, P) (nats) of Bernoulli(p), Hamming distortion, TV perception ``|q − p| ≤ P``.

    With q = P(X̂ = 1) and p ≤ ½ (p > ½ by symmetry):

    .. math::

        R = \\begin{cases}
        h(p) - h(D) & D \\le P / (1 - 2(p - P)) \\\\
        h(p) + h(p - P) - H\\big(p - \\tfrac{D+P}{2}, \\tfrac{D+P}{2}, \\tfrac{D-P}{2},
        1 - p - \\tfrac{D-P}{2}\\big) & \\text{between} \\\\
        0 & D \\ge 2p(1 - p) - (1 - 2p) P
        \\end{cases}

    for P < p (for P ≥ p the constraint never binds: R = R(D)).  [BM19]; re-derived here:
    the R(D) channel's output has TV = D(1 − 2p)/(1 − 2D) (first boundary); an independent
    X̂ ~ Bern(p − P) reaches D = 2p(1 − p) − (1 − 2p)P (last); in between both constraints
    bind, q = p − P and P(X = 1, X̂ = 1) = p − (D + P)/2 fixes the joint law.

    >>> round(bernoulli_tv_rdp(0.3, 0.2, 0.02), 12)
    0.12724258867
    """
    p = _scalar(p, "p", 0.0, 1.0)
    D = _scalar(D, "D", 0.0, math.inf)
    P = _scalar(P, "P", 0.0, math.inf)
    if p > 0.5:
        p = 1.0 - p
    h = binary_entropy
    if P >= p:
        return max(0.0, h(p) - h(D)) if D < p else 0.0
    if D * (1 - 2 * (p - P)) <= P:  # the R(D) channel already meets TV <= P
        return h(p) - h(D)
    if D >= 2 * p * (1 - p) - (1 - 2 * p) * P:
        return 0.0
    joint = (p - (D + P) / 2, (D + P) / 2, (D - P) / 2, 1 - p - (D - P) / 2)
    return h(p) + h(p - P) + sum(v * math.log(v) for v in joint if v > 0)
