r"""Scalar Gaussian R(D, P) and D(R, P), derived with sympy from the jointly Gaussian programme.

The programme (THEORY.md §1): over a Gaussian reconstruction with std :math:`\hat s` and
correlation :math:`c` with the source,

.. math::

    \min_{\hat s, c} -\tfrac12\log(1-c^2)\quad\text{s.t.}\quad
    s^2+\hat s^2-2cs\hat s\le D,\qquad (s-\hat s)^2\le P .

Rates are in nats. Every perception measure of THEORY.md §1 constrains :math:`\hat s` only
through :math:`\hat s\ge s_{lo}(P)` (see :mod:`rdptheory.symbolic.perception`), so the regimes
derived for ``w2sq`` give R(D, P) for all three measures once :math:`s_{lo}` is substituted.
"""

from __future__ import annotations

import functools

import sympy as sp

from rdptheory._validation import Perception, check_perception
from rdptheory.symbolic._core import (
    D,
    Derivation,
    DerivationError,
    P,
    R,
    Step,
    c,
    mu,
    nu,
    prove_equal,
    s,
    s_hat,
    s_lo,
)
from rdptheory.symbolic.perception import perception_floor

__all__ = [
    "rdp_core",
    "rdp_w2sq_kkt",
    "rdp_scalar",
    "rdp_w2sq_scalar",
    "rdp_zero_perception",
    "drp_scalar",
]

_OBJECTIVE = -sp.log(1 - c**2) / 2
_G_DISTORTION = s**2 + s_hat**2 - 2 * c * s * s_hat - D
_G_PERCEPTION_W2SQ = (s - s_hat) ** 2 - P

#: THEORY.md §1 core formula, typed in only to be *compared with* the derived one.
_CORE_THEORY = sp.log(4 * s**2 * s_lo**2 / ((D - (s - s_lo) ** 2) * ((s + s_lo) ** 2 - D))) / 2


def _only(solutions: list, what: str) -> sp.Expr:
    if len(solutions) != 1:
        raise DerivationError(f"expected one solution for {what}, got {solutions}")
    return solutions[0]


#: an interior point of the both-active regime, used only to tell a root's sign
_SAMPLE = {s: 1, s_lo: sp.Rational(1, 2), s_hat: sp.Rational(1, 2), D: sp.Rational(1, 2), R: 1}


def _positive_root(solutions: list, what: str) -> sp.Expr:
    return _only([x for x in solutions if x.subs(_SAMPLE).evalf() > 0], what)


def _multipliers() -> dict[sp.Symbol, sp.Expr]:
    """Stationarity of the Lagrangian in (c, s_hat), solved for (mu, nu)."""
    lagrangian = _OBJECTIVE + mu * _G_DISTORTION + nu * _G_PERCEPTION_W2SQ
    kkt = [sp.diff(lagrangian, c), sp.diff(lagrangian, s_hat)]
    return sp.solve(kkt, [mu, nu], dict=True)[0]


@functools.cache
def rdp_w2sq_kkt() -> Derivation:
    r"""KKT solution of the scalar ``w2sq`` programme, both constraints active.

    .. math::

        R = \tfrac12\log\frac{4s^2 s_{lo}^2}{(D-(s-s_{lo})^2)((s+s_{lo})^2-D)},
        \qquad s_{lo} = s-\sqrt P .

    Equals Thm 2 of [ZQCK21]; this derivation (THEORY.md §1) is ours. Steps record the
    multipliers ``mu``/``nu``, the optimal ``c`` and ``s_hat``, the regime boundaries
    (``nu = 0`` at :math:`D = s^2-s_{lo}^2`; ``mu = 0`` at :math:`D = s^2+s_{lo}^2`) and the
    inactive-regime solution :math:`R=\tfrac12\log(s^2/D)`.

    Returns
    -------
    Derivation
        ``expr`` in (D, s, s_lo), nats.
    """
    mult = _multipliers()
    # the binding root below s: (s - s_hat)^2 = P with s_hat < s
    s_opt = _only([r for r in sp.solve(_G_PERCEPTION_W2SQ, s_hat) if (s - r).is_positive], "s_hat")
    c_opt = _only(sp.solve(_G_DISTORTION, c), "c").subs(s_hat, s_lo)
    rate = _OBJECTIVE.subs(c, c_opt)
    # exp(2R) is rational in (D, s, s_lo): compare it with the core formula's log argument.
    core = prove_equal(sp.exp(2 * rate), sp.exp(2 * _CORE_THEORY), "exp(2R) equals core argument")
    nu_active = sp.factor(mult[nu].subs(c, c_opt).subs(s_hat, s_lo))
    d_mu0 = _only(sp.solve(sp.numer(mult[mu].subs(c, c_opt).subs(s_hat, s_lo)), D), "mu = 0")
    # nu's numerator also vanishes where c = 0 (= the mu = 0 boundary); keep the other root
    d_nu0 = _only([r for r in sp.solve(sp.numer(nu_active), D) if r != d_mu0], "nu = 0")
    inactive = _inactive_regime(mult)
    steps = (
        Step("mu", mult[mu]),
        Step("nu", mult[nu]),
        Step("s_hat (perception active)", sp.Eq(s_lo, s_opt)),
        Step("R (both active, as derived)", rate),
        Step("c (both active)", c_opt),
        Step("nu (both active)", nu_active),
        Step("D where nu = 0", d_nu0),
        Step("D where mu = 0", d_mu0),
        *inactive,
        core,
    )
    return Derivation(
        "rdp_w2sq_kkt",
        _CORE_THEORY,
        (D, s, s_lo),
        ("0 < s_lo < s", "s**2 - s_lo**2 < D < s**2 + s_lo**2 (both constraints active)"),
        "[ZQCK21] Thm 2; KKT derivation THEORY.md §1",
        True,
        "R(D, P)",
        steps,
        unit="nats",
    )


def _inactive_regime(mult: dict[sp.Symbol, sp.Expr]) -> tuple[Step, ...]:
    """``nu = 0``: s_hat = c s; the distortion constraint then fixes c and R = log(s^2/D)/2."""
    s_free = _only(sp.solve(sp.numer(sp.together(mult[nu])), s_hat), "s_hat with nu = 0")
    c_free = _positive_root(sp.solve(_G_DISTORTION.subs(s_hat, s_free), c), "c with nu = 0")
    rate = sp.log(s**2 / D) / 2
    proof = prove_equal(sp.exp(2 * _OBJECTIVE.subs(c, c_free)), sp.exp(2 * rate), "R inactive")
    boundary = _only(sp.solve(s_free.subs(c, c_free) ** 2 - s_lo**2, D), "inactive boundary")
    return (
        Step("s_hat (perception inactive)", s_free),
        Step("c (perception inactive)", c_free),
        Step("R (perception inactive)", rate),
        proof,
        Step("D where s_hat = s_lo (perception inactive)", boundary),
    )


def _substitute_floor(expr: sp.Expr, floor: sp.Expr) -> sp.Expr:
    """``expr`` with s_lo -> floor, without re-evaluating the regime conditions.

    sympy (1.14) declares ``LambertW(x, -1)`` non-real for every x <= 0 (it is real on
    [-1/e, 0)), so rebuilding ``D >= s**2 + s_lo**2`` with the kl_forward floor would raise.
    """
    with sp.evaluate(False):
        return expr.xreplace({s_lo: floor})


@functools.cache
def rdp_core() -> Derivation:
    r"""Scalar R(D, P) in all three regimes, in terms of the floor :math:`s_{lo}`.

    .. math::

        R = \begin{cases} 0 & D \ge s^2+s_{lo}^2\\
        \tfrac12\log(s^2/D) & s_{lo}^2 \le s^2-D\\
        \tfrac12\log\frac{4s^2s_{lo}^2}{(D-(s-s_{lo})^2)((s+s_{lo})^2-D)} & \text{else}
        \end{cases}

    Derived (THEORY.md §1) from :func:`rdp_w2sq_kkt`'s regimes, not stated in a paper.

    Returns
    -------
    Derivation
        ``expr`` in (D, s, s_lo), nats; ``s_lo`` may be 0.
    """
    kkt = rdp_w2sq_kkt()
    zero_rate_at = kkt.step("D where mu = 0")
    inactive_from = kkt.step("D where s_hat = s_lo (perception inactive)")
    expr = sp.Piecewise(
        (sp.Integer(0), D >= zero_rate_at),
        (kkt.step("R (perception inactive)"), D <= inactive_from),
        (kkt.expr, True),
    )
    return Derivation(
        "rdp_core",
        expr,
        (D, s, s_lo),
        ("D > 0", "0 <= s_lo"),
        "THEORY.md §1 (derived)",
        True,
        "R(D, P)",
        kkt.steps,
        unit="nats",
    )


@functools.cache
def rdp_scalar(perception: Perception = "w2sq") -> Derivation:
    """Scalar Gaussian R(D, P) for one perception measure, nats.

    .. math::

        R(D,P) = R_{core}(D; s, s_{lo}(P))

    :func:`rdp_core` with the floor :math:`s_{lo}(P)` of :func:`perception_floor` substituted.
    Exact for ``w2sq`` ([ZQCK21] Thm 2) and ``kl_reverse``; for ``kl_forward`` the value of the
    best *Gaussian* channel, an upper bound (THEORY.md §1), numerically
    :func:`rdptheory.gaussian.rdp_kl_forward_upper_bound` (``rdptheory.gaussian.rdp`` returns
    the true, lower value). Derived, not stated in a paper.

    Parameters
    ----------
    perception : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    Derivation
        ``expr`` in (D, P, s): D and P as in THEORY.md §0, s the source std; nats.
        Lambdified, its arguments are (D, P, variance) as for :func:`rdptheory.gaussian.rdp`.
    """
    perception = check_perception(perception)
    floor = perception_floor(perception)
    expr = _substitute_floor(rdp_core().expr, floor.expr)
    note = "Gaussian-channel upper bound" if perception == "kl_forward" else "exact"
    return Derivation(
        f"rdp_{perception}_scalar",
        expr,
        (D, P, s),
        ("D > 0", "P >= 0", note),
        "[ZQCK21] Thm 2 (w2sq); THEORY.md §1 (derived)",
        True,
        "R(D, P)",
        (Step("s_lo", floor.expr),),
        unit="nats",
    )


def rdp_w2sq_scalar() -> Derivation:
    """``rdp_scalar("w2sq")``: [ZQCK21] Thm 2, re-derived (THEORY.md §1). nats.

    Symbols (D, P, s); lambdified arguments (D, P, variance), those of
    :func:`rdptheory.gaussian.rdp`:

    >>> f = rdp_w2sq_scalar().lambdify()
    >>> round(f(0.5, 0.0, 1.0), 12)  # P = 0: -log(1 - (1 - D/2)^2)/2
    0.413339286592
    >>> round(f(0.5, 0.25, 1.0), 12)  # perception inactive: log(s^2/D)/2
    0.34657359028
    >>> round(f(D=0.5, P=0.01, variance=4.0), 12)  # = rdp(0.5, 0.01, 4.0, unit="nats")
    1.040559423924
    >>> round(rdp_w2sq_scalar().lambdify(unit="bits")(0.5, 0.01, 4.0), 12)  # = rdp(...)
    1.501209920646
    """
    return rdp_scalar("w2sq")


@functools.cache
def rdp_zero_perception() -> Derivation:
    r"""R(D, 0), the perfect-realism rate of a scalar Gaussian, nats.

    .. math::

        R(D, 0) = -\tfrac12\log\Bigl(1-\bigl(1-\tfrac{D}{2s^2}\bigr)^2\Bigr),
        \qquad D < 2s^2

    [BM19]/[ZQCK21]; here obtained by setting :math:`s_{lo}=s` in :func:`rdp_w2sq_kkt` and
    proving the two forms equal (THEORY.md §1, derived).

    Returns
    -------
    Derivation
        ``expr`` in (D, s), nats; 0 for D >= 2 s**2.
    """
    at_zero = rdp_w2sq_kkt().expr.subs(s_lo, s)
    closed = -sp.log(1 - (1 - D / (2 * s**2)) ** 2) / 2
    proof = prove_equal(sp.exp(2 * at_zero), sp.exp(2 * closed), "R(D, 0) closed form")
    expr = sp.Piecewise((sp.Integer(0), D >= 2 * s**2), (closed, True))
    return Derivation(
        "rdp_zero_perception",
        expr,
        (D, s),
        ("D > 0", "P = 0"),
        "[ZQCK21]; THEORY.md §1 (derived)",
        True,
        "R(D, 0)",
        (proof,),
        unit="nats",
    )


@functools.cache
def drp_scalar(perception: Perception = "w2sq") -> Derivation:
    r"""Scalar Gaussian D(R, P), the inverse of :func:`rdp_scalar`.

    .. math::

        c=\sqrt{1-e^{-2R}},\quad D=\begin{cases}s^2e^{-2R} & cs\ge s_{lo}\\
        s^2+s_{lo}^2-2cs\,s_{lo} & \text{else}\end{cases}

    Derived (THEORY.md §1) by solving :math:`-\tfrac12\log(1-c^2)=R` for c; the steps hold
    the proof that R(D(R, P), P) = R in the both-active regime.

    Parameters
    ----------
    perception : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    Derivation
        ``expr`` in (R, P, s) with R in nats.
    """
    perception = check_perception(perception)
    c_of_r = _positive_root(sp.solve(_OBJECTIVE - R, c), "c(R)")
    d_active = _G_DISTORTION.subs(s_hat, s_lo) + D  # the binding distortion constraint
    back = sp.exp(2 * _CORE_THEORY.subs(D, d_active))
    proof = prove_equal(back, 1 / (1 - c**2), "R(D(R)) = R, both active")
    expr = sp.Piecewise((s**2 * sp.exp(-2 * R), c * s >= s_lo), (d_active, True))
    expr = _substitute_floor(expr.subs(c, c_of_r), perception_floor(perception).expr)
    return Derivation(
        f"drp_{perception}_scalar",
        expr,
        (R, P, s),
        ("R >= 0 (nats)", "P >= 0"),
        "THEORY.md §1 (derived)",
        True,
        "D(R, P)",
        (Step("c(R)", c_of_r), proof),
    )
