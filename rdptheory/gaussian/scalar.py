"""Scalar Gaussian rate-distortion(-perception) closed forms (THEORY.md §1).

Source ``X ~ N(0, s²)`` (``variance = s²``), distortion ``D = E(X - X̂)²``, perception ``P``
measured by ``"w2sq"`` (W₂², same units as D), ``"kl_forward"`` = KL(p_X ‖ p_X̂) or
``"kl_reverse"`` = KL(p_X̂ ‖ p_X) (nats).  Rates are computed in nats and returned in bits
unless ``unit="nats"``.

Every function broadcasts its array arguments against each other (numpy rules).  **Return
convention:** when the broadcast result is 0-d (all inputs scalars or 0-d arrays) a Python
``float`` is returned, otherwise a float64 ``numpy.ndarray``; records hold fields of the same
kind.  Invalid arguments raise ``ValueError``/``TypeError`` naming the argument and its range.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from rdptheory._units import Unit, check_unit, nats_to, to_nats
from rdptheory._validation import (
    Perception,
    check_nonnegative,
    check_perception,
    check_positive,
)
from rdptheory.gaussian._common import (
    FloatOrArray,
    Regime,
    as_output,
    broadcast_named,
    convert_rate,
    deprecate_fields,
    guarded,
)
from rdptheory.gaussian._kl_forward import kl_forward_true_nats, min_second_moment_ratio
from rdptheory.gaussian._lambert import expm1mx, gaussian_kl_floor_log_ratio

__all__ = [
    "TestChannel",
    "drp",
    "kl_forward_min_second_moment",
    "min_reconstruction_std",
    "rate_distortion",
    "rdp",
    "rdp_kl_forward_lower_bound",
    "test_channel",
]


# --------------------------------------------------------------------------- helpers
def _check_variance(variance: npt.ArrayLike) -> np.ndarray:
    return check_positive(variance, "variance")


def _check_dpv(D: npt.ArrayLike, P: npt.ArrayLike, variance: npt.ArrayLike) -> list[np.ndarray]:
    """Validate and broadcast ``(D > 0, P >= 0, variance > 0)`` (inf allowed for D and P)."""
    return broadcast_named(
        D=check_positive(D, "D", allow_inf=True),
        P=check_nonnegative(P, "P", allow_inf=True),
        variance=_check_variance(variance),
    )


# Internally the source is normalised to unit variance (R depends on D/s², P/s² for w2sq and
# on D/s², P for KL), so no product of variances can over- or underflow.
def _unit_floor(P: np.ndarray, var: np.ndarray, perception: str) -> tuple[np.ndarray, np.ndarray]:
    """``(s_lo/s, 1 - s_lo/s)`` of THEORY.md §1, both without cancellation."""
    if perception == "w2sq":
        gap = np.minimum(np.sqrt(P / var), 1.0)
        return 1.0 - gap, gap
    v = gaussian_kl_floor_log_ratio(P, perception)  # v = log(s_lo²/s²) <= 0
    return np.exp(0.5 * v), -np.expm1(0.5 * v)


def _one_minus_c2(d: np.ndarray, lo: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """``1 - c²`` for ``d = 1 + ŝ² - 2cŝ`` (unit source), ``gap = 1 - ŝ``: no cancellation.

    ``1 - c² = (d - (1 - ŝ)²)((1 + ŝ)² - d) / (4 ŝ²)``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (d - gap**2) * ((2.0 - gap) ** 2 - d) / (4.0 * lo**2)


def _regime_masks(d: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(zero-rate, perception-inactive)`` masks of THEORY.md §1, unit source, ``d = D/s²``."""
    zero_rate = d >= 1.0 + lo**2
    return zero_rate, ~zero_rate & (lo**2 <= 1.0 - d)


def _rate_nats_of_correlation(c: np.ndarray, omc: np.ndarray) -> np.ndarray:
    """``-½ log(1 - c²)`` given ``c`` and ``omc = 1 - c²`` (each accurate where it matters).

    Small c: ``log1p(-c²)`` keeps relative accuracy; c near 1: ``omc`` from the product form.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c * c < 0.5, -0.5 * np.log1p(-c * c), -0.5 * np.log(omc))


def _log_ratio(D: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``log(D/s²)``, also where the ratio leaves float64 (then as ``log D - log s²``)."""
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        d = D / var
        in_range = (d > 1e-300) & (d < 1e300)
        return np.where(in_range, np.log(np.where(in_range, d, 1.0)), np.log(D) - np.log(var))


def _rdp_core_nats(D: np.ndarray, var: np.ndarray, lo: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """The core formula of THEORY.md §1 in nats, on the unit-variance source ``d = D/s²``.

    Derived; for w2sq it is [ZQCK21] Thm 2.  ``log d`` is taken as ``log D - log s²`` so that
    a ratio below float64 range (D = 5e-324, s² = 1e308) still gives the finite rate; where
    ``d`` underflows to 0 every regime's rate is ``-½ log d`` to float64 precision.
    """
    d = D / var
    zero_rate, inactive = _regime_masks(d, lo)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_d = _log_ratio(D, var)
        c = (1.0 + lo**2 - d) / (2.0 * lo)
        r_both = _rate_nats_of_correlation(c, _one_minus_c2(d, lo, gap))
    r_both = np.where(d == 0.0, -0.5 * log_d, r_both)
    return np.where(zero_rate, 0.0, np.where(inactive, -0.5 * log_d, r_both))


# --------------------------------------------------------------------------- public API
@guarded()
def rate_distortion(
    D: npt.ArrayLike, variance: npt.ArrayLike, *, unit: Unit = "bits"
) -> FloatOrArray:
    """Rate-distortion function of a scalar Gaussian source.

    .. math::

        R(D) = \\max\\big(0, \\tfrac12 \\log(s^2 / D)\\big)

    Cover & Thomas, *Elements of Information Theory*, Thm 10.3.2 (THEORY.md §1).

    Parameters
    ----------
    D : array_like
        Mean squared error, > 0 (``inf`` allowed: rate 0).
    variance : array_like
        Source variance ``s²``, finite and > 0.
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray
        R(D) in ``unit``.

    >>> rate_distortion(0.25, 1.0)
    1.0
    """
    unit = check_unit(unit)
    D, var = broadcast_named(
        D=check_positive(D, "D", allow_inf=True), variance=_check_variance(variance)
    )
    r = np.maximum(0.0, -0.5 * _log_ratio(D, var))  # same expression as in rdp's core
    return as_output(nats_to(r, unit))


@guarded()
def min_reconstruction_std(
    P: npt.ArrayLike, variance: npt.ArrayLike, *, perception: Perception = "w2sq"
) -> FloatOrArray:
    """Smallest std ``s_lo(P)`` of a zero-mean Gaussian reconstruction meeting ``perception ≤ P``.

    .. math::

        s_{lo}^{w2sq} = (s - \\sqrt P)_+, \\quad
        s_{lo}^{kl\\_reverse} = s\\sqrt{-W_0(-e^{-1-2P})}, \\quad
        s_{lo}^{kl\\_forward} = s / \\sqrt{-W_{-1}(-e^{-1-2P})}

    Derived (THEORY.md §1), not stated in the paper.  Lambert W is ill-conditioned at the
    branch point (P → 0), so the KL floors are computed as the equivalent root of
    ``e^u - 1 - u = 2P`` (``u = ±log(s²/s_lo²)``) by bracketed Newton from the branch-point
    series or the large-P fixed point: full precision for every P ≥ 0 (checked against
    mpmath's ``lambertw`` for P from 1e-300 to 300).

    Parameters
    ----------
    P : array_like
        Perception budget, ≥ 0 (``"w2sq"``: same units as ``variance``; KL: nats); ``inf`` ok.
    variance : array_like
        Source variance ``s²``, finite and > 0.
    perception : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    float or ndarray
        ``s_lo`` (a standard deviation, same units as ``sqrt(variance)``).

    >>> min_reconstruction_std(0.25, 1.0)
    0.5
    """
    perception = check_perception(perception)
    P, var = broadcast_named(
        P=check_nonnegative(P, "P", allow_inf=True), variance=_check_variance(variance)
    )
    return as_output(np.sqrt(var) * _unit_floor(P, var, perception)[0])


@guarded()
def rdp(
    D: npt.ArrayLike,
    P: npt.ArrayLike,
    variance: npt.ArrayLike,
    *,
    perception: Perception = "w2sq",
    unit: Unit = "bits",
) -> FloatOrArray:
    """Rate-distortion-perception function R(D, P) of a scalar Gaussian source.

    With ``s_lo = min_reconstruction_std(P, variance, perception=...)``:

    .. math::

        R(D, P) = \\begin{cases}
        0 & D \\ge s^2 + s_{lo}^2 \\\\
        \\tfrac12 \\log(s^2/D) & s_{lo}^2 \\le s^2 - D \\\\
        \\tfrac12 \\log \\frac{4 s^2 s_{lo}^2}{(D - (s - s_{lo})^2)((s + s_{lo})^2 - D)}
        & \\text{otherwise}
        \\end{cases}

    For ``"w2sq"`` this is Thm 2 of [ZQCK21] (Zhang, Qian, Chen & Khisti 2021); for the KL
    measures it is derived (THEORY.md §1), not stated in the paper.  Jointly Gaussian test
    channels are exactly optimal for ``"w2sq"`` and ``"kl_reverse"``.  For ``"kl_forward"``
    they are not, and the formula with the Gaussian floor is only an achievable upper bound
    (:func:`rdp_kl_forward_upper_bound`); the value returned is the **true** R(D, P): exact
    where the bounds meet (D ≤ s² − s_lo², or D ≥ s² + min E_q X²: R = 0), and in between
    :func:`rdp_kl_forward_lower_bound` plus the excess tabulated by the certified solver of
    :mod:`rdptheory.solver` (THEORY.md §6; R(D, P, s²) = R(D/s², P, 1)), clipped to the two
    bounds.  Accuracy 1e-5 nats for 0.01 ≤ P ≤ 1.75 (measured; :mod:`rdptheory.solver.tabulate`).

    Parameters
    ----------
    D : array_like
        MSE, > 0 (``inf`` allowed).
    P : array_like
        Perception budget, ≥ 0 (``inf`` allowed).
    variance : array_like
        Source variance ``s²``, finite and > 0.
    perception : {"w2sq", "kl_forward", "kl_reverse"}
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray
        R(D, P) in ``unit``.

    >>> rdp(0.5, 0.0, 1.0)  # P = 0: -½ log2(1 - (1 - D/2)²) = ½ log2(16/7)
    0.5963225389711979
    """
    unit = check_unit(unit)
    perception = check_perception(perception)
    D, P, var = _check_dpv(D, P, variance)
    lo, gap = _unit_floor(P, var, perception)
    r = _rdp_core_nats(D, var, lo, gap)
    if perception == "kl_forward":  # the true R: certified solver table (THEORY.md §1, §6)
        r = kl_forward_true_nats(D / var, P, r)
    return as_output(nats_to(r, unit))


@guarded()
def kl_forward_min_second_moment(P: npt.ArrayLike, variance: npt.ArrayLike) -> FloatOrArray:
    """``min E_q[X²]`` over all densities q with ``KL(N(0, s²) ‖ q) ≤ P``.

    .. math::

        q^\\star \\propto \\frac{p_X(x)}{x^2 + \\mu}, \\qquad
        \\mathrm{KL}(p_X \\| q^\\star) = P

    Derived (THEORY.md §1), not stated in the paper: the minimiser follows from the
    Lagrangian; μ is found by a bracketed root on a 1-D integral (adaptive quadrature).
    Smaller than the Gaussian floor ``min_reconstruction_std(P, variance,
    perception="kl_forward")**2`` for every P > 0.  Cost: ~10 ms per distinct P.

    Parameters
    ----------
    P : array_like
        KL budget in nats, ≥ 0 (``inf`` allowed: 0).
    variance : array_like
        Source variance ``s²``, finite and > 0.

    Returns
    -------
    float or ndarray
        The minimal second moment (units of ``variance``).

    >>> round(kl_forward_min_second_moment(0.11137, 1.0), 10)  # Gaussian floor: 0.5484
    0.5251353799
    """
    P, var = broadcast_named(
        P=check_nonnegative(P, "P", allow_inf=True), variance=_check_variance(variance)
    )
    return as_output(var * _lower_bound_ratio(P))


def _lower_bound_ratio(P: np.ndarray) -> np.ndarray:
    """``min E_q[X²]/s²`` per element, capped by the (feasible) Gaussian floor."""
    flat = P.ravel()
    uniq, inverse = np.unique(flat, return_inverse=True)
    ratio = np.array([min_second_moment_ratio(float(p)) for p in uniq])[inverse]
    # The Gaussian q is feasible, so the true minimum is <= its second moment; the cap only
    # removes rounding (~1e-16) where the two agree (P -> 0).
    gauss = np.exp(gaussian_kl_floor_log_ratio(uniq, "kl_forward"))[inverse]
    return np.minimum(ratio, gauss).reshape(P.shape)


@guarded()
def rdp_kl_forward_lower_bound(
    D: npt.ArrayLike, P: npt.ArrayLike, variance: npt.ArrayLike, *, unit: Unit = "bits"
) -> FloatOrArray:
    """A rigorous lower bound on R(D, P) for ``"kl_forward"`` perception.

    The core formula of :func:`rdp` with

    .. math::

        s_{lo}^2 = \\min\\{E_q[X^2] : \\mathrm{KL}(p_X \\| q) \\le P\\}

    (see :func:`kl_forward_min_second_moment`).  Derived (THEORY.md §1), not stated in the
    paper.  Proof sketch: any reconstruction with ``KL(p_X‖p_X̂) ≤ P`` has
    ``m = E X̂² ≥ s_lo²``; ``E(X - X̂)² ≤ D`` gives ``k = E[X X̂] ≥ (s² + m - D)/2``; with
    ``a = k/m``, ``I(X; X̂) ≥ h(X) - h(X - aX̂) ≥ -½ log(1 - k²/(s² m))`` (X Gaussian; the
    Gaussian maximises entropy at a given second moment).  Minimising over ``m ≥ s_lo²``
    is the same one-dimensional problem as for Gaussian reconstructions, hence the formula.

    Parameters
    ----------
    D : array_like
        MSE, > 0 (``inf`` allowed).
    P : array_like
        KL budget in nats, ≥ 0.
    variance : array_like
        Source variance ``s²``, finite and > 0.
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray
        Lower bound on R(D, P) in ``unit`` (≤ ``rdp(..., perception="kl_forward")``).

    >>> rdp_kl_forward_lower_bound(1.53, 0.11137, 1.0)  # the Gaussian channel needs ~1e-4 bits
    0.0
    """
    unit = check_unit(unit)
    D, P, var = _check_dpv(D, P, variance)
    ratio = _lower_bound_ratio(P)
    lo = np.sqrt(ratio)
    gap = (1.0 - ratio) / (1.0 + lo)  # 1 - lo without cancellation
    return as_output(nats_to(_rdp_core_nats(D, var, lo, gap), unit))


@guarded()
def rdp_kl_forward_upper_bound(
    D: npt.ArrayLike, P: npt.ArrayLike, variance: npt.ArrayLike, *, unit: Unit = "bits"
) -> FloatOrArray:
    """R(D, P) of the best jointly Gaussian channel for ``"kl_forward"``: an upper bound.

    The core formula of THEORY.md §1 with the Gaussian floor
    :math:`s_{lo} = s/\\sqrt{-W_{-1}(-e^{-1-2P})}` (derived, not stated in a paper).  It is
    achievable but not optimal (the optimal reconstruction is not Gaussian); it is what
    ``rdp(..., perception="kl_forward")`` returned before the solver table, and it is 14% to
    260% above the true value at (D, P, s²) = (0.9, 0.5, 1) ... (1, 2, 1).

    Parameters
    ----------
    D : array_like
        MSE, > 0 (``inf`` allowed).
    P : array_like
        KL budget in nats, ≥ 0 (``inf`` allowed).
    variance : array_like
        Source variance ``s²``, finite and > 0.
    unit : {"bits", "nats"}

    Returns
    -------
    float or ndarray
        The Gaussian-channel rate in ``unit`` (≥ the true R(D, P)).

    >>> round(rdp_kl_forward_upper_bound(1.0, 0.5, 1.0, unit="nats"), 4)
    0.0414
    """
    unit = check_unit(unit)
    D, P, var = _check_dpv(D, P, variance)
    lo, gap = _unit_floor(P, var, "kl_forward")  # the same numerics as rdp's closed form
    return as_output(nats_to(_rdp_core_nats(D, var, lo, gap), unit))


@guarded()
def drp(
    R: npt.ArrayLike,
    P: npt.ArrayLike,
    variance: npt.ArrayLike,
    *,
    perception: Perception = "w2sq",
    unit: Unit = "bits",
) -> FloatOrArray:
    """Distortion-rate-perception function D(R, P), the inverse of :func:`rdp` in D.

    .. math::

        c = \\sqrt{1 - e^{-2R}}, \\quad ŝ = \\max(s c, s_{lo}), \\quad
        D = s^2 + ŝ^2 - 2 c s ŝ

    (R in nats).  Derived (THEORY.md §1), not stated in the paper; for ``"w2sq"`` it inverts
    [ZQCK21] Thm 2.  For ``"kl_forward"`` it is the Gaussian-channel (achievable) value, the
    inverse of :func:`rdp_kl_forward_upper_bound`: an upper bound on the true D(R, P), which
    is *not* the inverse of ``rdp(..., perception="kl_forward")`` (the true R, lower).

    Parameters
    ----------
    R : array_like
        Rate in ``unit``, ≥ 0 (``inf`` allowed: D = 0).
    P : array_like
        Perception budget, ≥ 0 (``inf`` allowed).
    variance : array_like
        Source variance ``s²``, finite and > 0.
    perception : {"w2sq", "kl_forward", "kl_reverse"}
    unit : {"bits", "nats"}
        Unit of ``R``.

    Returns
    -------
    float or ndarray
        The smallest achievable MSE.

    >>> drp(1.0, 0.0, 1.0)  # P = 0: 2(1 - sqrt(1 - 2^-2))
    0.2679491924311227
    """
    unit = check_unit(unit)
    perception = check_perception(perception)
    R, P, var = broadcast_named(
        R=check_nonnegative(R, "R", allow_inf=True),
        P=check_nonnegative(P, "P", allow_inf=True),
        variance=_check_variance(variance),
    )
    r_nats = to_nats(R, unit)
    lo, gap = _unit_floor(P, var, perception)
    e2r = np.exp(-2.0 * r_nats)  # 1 - c²
    c = np.sqrt(-np.expm1(-2.0 * r_nats))
    # unit source. ŝ = c: d = 1 - c².  ŝ = lo: d = (1 - ŝ)² + 2ŝ(1 - c), 1 - c = e^{-2R}/(1 + c).
    d_floor = gap**2 + 2.0 * lo * e2r / (1.0 + c)
    return as_output(var * np.where(c >= lo, e2r, d_floor))


class TestChannel(NamedTuple):
    """Forward test channel ``X̂ = gain·(X + sqrt(noise_var)·N)``, N ~ N(0, 1) ⊥ X.

    ``noise_var = inf`` and ``gain = 0`` encode the zero-rate limit, where X̂ is independent
    of X with std ``recon_std`` (the limit gain → 0, gain·sqrt(noise_var) → recon_std).
    ``mse``/``perception_value``/``rate_nats`` are those the channel achieves: ``mse``
    equals the requested D whenever the rate is positive, ``perception_value`` ≤ the
    requested P, measured by ``perception`` (the measure's name, as in every signature).
    ``regime`` names the case of THEORY.md §1 (the vocabulary of
    :class:`~rdptheory.gaussian.RDPVectorSolution` and :mod:`rdptheory.testing`):
    ``"zero_rate"``, ``"perception_inactive"`` (R(D, P) = R(D)), ``"both_active"`` or
    ``"perfect_perception"`` (P = 0, rate > 0); a str, or an array of str for array input.
    Field names are those of every record of :mod:`rdptheory.gaussian` (CHANGELOG.md).
    """

    noise_var: FloatOrArray
    gain: FloatOrArray
    recon_std: FloatOrArray
    correlation: FloatOrArray
    mse: FloatOrArray
    perception_value: FloatOrArray
    rate_nats: FloatOrArray
    perception: Perception
    regime: Regime | np.ndarray

    @property
    def rate_bits(self) -> FloatOrArray:
        """The channel's rate I(X; X̂) in bits."""
        return convert_rate(self.rate_nats, "nats", "bits")


def _achieved_perception(var: np.ndarray, h: np.ndarray, perception: str) -> np.ndarray:
    """Perception of N(0, ŝ²) against N(0, s²) in the given measure, ``h = ŝ/s``."""
    if perception == "w2sq":
        return var * (1.0 - h) ** 2
    with np.errstate(divide="ignore"):
        v = 2.0 * np.log(h)  # log(ŝ²/s²)
    arg = v if perception == "kl_reverse" else -v
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isinf(arg), np.inf, 0.5 * expm1mx(np.where(np.isinf(arg), 0, arg)))


def _optimal_recon(
    d: np.ndarray, lo: np.ndarray, gap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ŝ/s, c, 1 - c², zero-rate mask, inactive mask)``, unit source, ``d = D/s²``."""
    zero_rate, inactive = _regime_masks(d, lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        # zero rate: X̂ ⊥ X; take the most realistic std within the budget, ŝ = min(s, √(D-s²)).
        h_zero = np.sqrt(np.minimum(1.0, np.maximum(d - 1.0, 0.0)))
        h_free = np.sqrt(np.maximum(1.0 - d, 0.0))
        c_both = (1.0 + lo**2 - d) / (2.0 * lo)
        omc_both = np.where(c_both**2 < 0.5, 1.0 - c_both**2, _one_minus_c2(d, lo, gap))
    h = np.where(zero_rate, h_zero, np.where(inactive, h_free, lo))
    c = np.where(zero_rate, 0.0, np.where(inactive, h_free, c_both))
    omc = np.where(zero_rate, 1.0, np.where(inactive, d, omc_both))
    return h, c, omc, zero_rate, inactive


@guarded()
def test_channel(
    D: npt.ArrayLike,
    P: npt.ArrayLike,
    variance: npt.ArrayLike,
    *,
    perception: Perception = "w2sq",
) -> TestChannel:
    """The forward test channel ``X̂ = a (X + t N)`` that attains R(D, P).

    With ``(ŝ, c)`` the optimal reconstruction std and correlation of :func:`rdp`:

    .. math::

        a = \\frac{c\\, ŝ}{s}, \\qquad t^2 = s^2 \\frac{1 - c^2}{c^2}, \\qquad
        I(X; X̂) = \\tfrac12 \\log\\big(1 + s^2/t^2\\big) = -\\tfrac12 \\log(1 - c^2)

    Derived (THEORY.md §1), not stated in the paper.  For ``"kl_forward"`` this is the best
    Gaussian channel (achieves the upper bound returned by :func:`rdp`).

    Parameters
    ----------
    D : array_like
        Target MSE, > 0 (``inf`` allowed).
    P : array_like
        Perception budget, ≥ 0 (``inf`` allowed).
    variance : array_like
        Source variance ``s²``, finite and > 0.
    perception : {"w2sq", "kl_forward", "kl_reverse"}

    Returns
    -------
    TestChannel
        ``noise_var = t²``, ``gain = a``, plus ``recon_std = ŝ``, ``correlation = c``, the
        achieved ``mse``, ``perception_value`` and ``rate_nats``, and ``perception``.

    >>> ch = test_channel(0.25, 1.0, 1.0)  # perception inactive: a = 1 - D/s², t² = D/(1 - D)
    >>> ch.gain, round(ch.noise_var, 15)
    (0.75, 0.333333333333333)
    """
    perception = check_perception(perception)
    D, P, var = _check_dpv(D, P, variance)
    d = D / var
    lo, gap = _unit_floor(P, var, perception)
    h, c, omc, zero_rate, inactive = _optimal_recon(d, lo, gap)  # h = ŝ/s
    with np.errstate(divide="ignore", invalid="ignore"):
        noise_var = np.where(c > 0.0, var * omc / c**2, np.inf)
    # s²[(1 - h)² + 2h(1 - c)], 1 - c = (1 - c²)/(1 + c): no cancellation near c = 1.
    distortion = var * ((1.0 - h) ** 2 + 2.0 * h * omc / (1.0 + c))
    # perception inactive (c = h): a = h² = 1 - D/s² without the sqrt round trip.
    gain = np.where(inactive, 1.0 - d, c * h)
    rate = _rate_nats_of_correlation(c, omc)
    # D/s² below float64 (d = 0): the rate is -½ log(D/s²) to float64 precision, finite
    rate = np.where((d == 0.0) & ~zero_rate, -0.5 * _log_ratio(D, var), rate)
    return TestChannel(
        noise_var=as_output(noise_var),
        gain=as_output(gain),
        recon_std=as_output(np.sqrt(var) * h),
        correlation=as_output(c),
        mse=as_output(distortion),
        perception_value=as_output(_achieved_perception(var, h, perception)),
        rate_nats=as_output(rate),
        perception=perception,
        regime=_regime_names(zero_rate, inactive, P),
    )


def _regime_names(
    zero_rate: np.ndarray, inactive: np.ndarray, P: np.ndarray
) -> Regime | np.ndarray:
    """Regime labels of THEORY.md §1 (str for 0-d input)."""
    active = np.where(P == 0.0, "perfect_perception", "both_active")
    names = np.where(zero_rate, "zero_rate", np.where(inactive, "perception_inactive", active))
    return cast(Regime, str(names)) if names.ndim == 0 else names


# The contract names start with "test"/"Test": keep pytest from collecting them on import.
test_channel.__test__ = False  # type: ignore[attr-defined]
TestChannel.__test__ = False  # type: ignore[attr-defined]

# Renamed in 0.2.0 (CHANGELOG.md): the old names still work, with a DeprecationWarning.
deprecate_fields(TestChannel, distortion="mse", measure="perception")
