r"""The forward test channel :math:`\hat X = a(X + tN)` that attains the scalar R(D, P).

The jointly Gaussian optimum of :func:`~rdptheory.symbolic.rdp_w2sq_kkt` is a pair
(ŝ, c); a forward channel with gain a and noise std t has
:math:`\mathrm{Var}\,\hat X = a^2(s^2+t^2)` and :math:`\mathrm{corr}(X,\hat X) = s/\sqrt{s^2+t^2}`
(second moments by :func:`~rdptheory.symbolic.expect_quadratic`); solving for (a, t²) and
substituting each regime's (ŝ, c) gives the channel (THEORY.md §1, derived).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from rdptheory._validation import Perception, check_perception
from rdptheory.symbolic._core import (
    D,
    Derivation,
    DerivationError,
    P,
    Step,
    c,
    lam,
    prove_equal,
    s,
    s_hat,
    s_lo,
    t,
)
from rdptheory.symbolic.awgn import expect_quadratic, gain, noise, source
from rdptheory.symbolic.perception import perception_floor
from rdptheory.symbolic.rdp import _substitute_floor, rdp_w2sq_kkt

__all__ = ["TestChannelDerivation", "test_channel_scalar"]

_noise_var = sp.Symbol("noise_var", positive=True)


@dataclass(frozen=True)
class TestChannelDerivation:
    """Gain a and noise variance t² of the optimal forward channel; Derivations in (D, P, s)."""

    __test__ = False  # not a pytest class despite the name

    gain: Derivation
    noise_var: Derivation


def _channel_of(s_hat_val: sp.Expr, c_val: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(a, t²) with Var(a(X + tN)) = s_hat² and corr(X, a(X + tN)) = c, a > 0."""
    x_hat = gain * (source + t * noise)
    var = expect_quadratic(x_hat**2).subs(lam, s**2)
    cov = expect_quadratic(source * x_hat).subs(lam, s**2)
    sols = sp.solve([var - s_hat**2, cov**2 - c**2 * s**2 * var], [gain, t], dict=True)
    pos = [
        x
        for x in sols
        if x[gain].subs({s: 1, s_hat: 1, c: sp.Rational(1, 2)}).is_positive
        and x[t].subs({s: 1, s_hat: 1, c: sp.Rational(1, 2)}).is_positive
    ]
    if len(pos) != 1:
        raise DerivationError(f"expected one channel with a, t > 0, got {sols}")
    sub = {s_hat: s_hat_val, c: c_val}
    return pos[0][gain].subs(sub), (pos[0][t] ** 2).subs(sub)


@functools.cache
def test_channel_scalar(perception: Perception = "w2sq") -> TestChannelDerivation:
    r"""The forward test channel :math:`\hat X = a(X+tN)` attaining R(D, P) (positive rate).

    .. math::

        a = \frac{c\,\hat s}{s},\qquad t^2 = s^2\,\frac{1-c^2}{c^2},\qquad
        (\hat s, c) = \begin{cases}(\sqrt{s^2-D},\ \sqrt{1-D/s^2}) & s_{lo}^2\le s^2-D\\
        (s_{lo},\ \frac{s^2+s_{lo}^2-D}{2ss_{lo}}) & \text{else}\end{cases}

    Derived (THEORY.md §1), not stated in a paper. The steps prove that the channel meets the
    distortion exactly in both regimes. Valid for D < s² + s_lo² (at larger D, R = 0 and
    t² = ∞).

    Parameters
    ----------
    perception : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    TestChannelDerivation
        ``gain`` and ``noise_var`` (= t²) in (D, P, s).
    """
    perception = check_perception(perception)
    kkt = rdp_w2sq_kkt()
    c_free = kkt.step("c (perception inactive)")
    s_free = kkt.step("s_hat (perception inactive)").subs(c, c_free)
    c_both = kkt.step("c (both active)")
    a_free, t2_free = _channel_of(s_free, c_free)
    a_both, t2_both = _channel_of(s_lo, c_both)
    mse = expect_quadratic((source - gain * (source + t * noise)) ** 2).subs(lam, s**2)
    proofs = (
        prove_equal(mse.subs({gain: a_free, t: sp.sqrt(t2_free)}), D, "MSE = D (inactive)"),
        prove_equal(mse.subs({gain: a_both, t: sp.sqrt(t2_both)}), D, "MSE = D (both active)"),
    )
    floor = perception_floor(perception).expr
    gain_d = _record("gain", perception, a_free, a_both, floor, "a", proofs)
    noise_d = _record("noise_var", perception, t2_free, t2_both, floor, "t^2", proofs)
    return TestChannelDerivation(gain_d, noise_d)


def _record(
    name: str,
    perception: str,
    free: sp.Expr,
    both: sp.Expr,
    floor: sp.Expr,
    lhs: str,
    proofs: tuple[Step, ...],
) -> Derivation:
    expr = sp.Piecewise(
        (sp.factor(sp.simplify(free)), s_lo**2 <= s**2 - D), (sp.factor(both), True)
    )
    return Derivation(
        f"test_channel_{name}_{perception}",
        _substitute_floor(expr, floor),
        (D, P, s),
        ("D > 0", "D < s**2 + s_lo(P)**2 (positive rate)", "P >= 0"),
        "THEORY.md §1 (derived)",
        True,
        lhs,
        proofs,
    )
