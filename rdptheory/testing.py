"""Hypothesis strategies for property-testing code against the Gaussian RDP theory.

Public, so theorists can property-test their own implementations against ours::

    from hypothesis import given
    from rdptheory.testing import scalar_operating_points

    @given(scalar_operating_points(regime="both_active"))
    def test_my_rdp(pt):
        ours = rdptheory.gaussian.rdp(pt.D, pt.P, pt.variance, perception=pt.perception)
        assert abs(my_rdp(pt.D, pt.P, pt.variance, pt.perception) - ours) < 1e-9

Regimes (THEORY.md §1-§2), the same names as ``TestChannel.regime`` and
``RDPVectorSolution.regime``: ``"zero_rate"`` (R = 0), ``"perception_inactive"``
(R(D, P) = R(D); for vectors plain water-filling, also accepted as ``"water_filling"`` by
:func:`vector_operating_points`), ``"both_active"`` (distortion and perception constraints
both bind) and ``"perfect_perception"`` (P = 0).  Generated points keep a relative margin
``MARGIN`` from every regime boundary, so the regime is unambiguous in float64.

Invalid inputs, so that an implementation's error paths can be property-tested too
(:func:`invalid_numbers`, :func:`wrong_types`, :func:`invalid_perceptions`): every public
function of :mod:`rdptheory.gaussian` raises ``ValueError`` for the first and third and
``TypeError`` for the second::

    @given(invalid_numbers("positive"))
    def test_my_rdp_rejects(D):
        with pytest.raises(ValueError):
            my_rdp(D, 0.1, 1.0)

``hypothesis`` is a test dependency: importing this module without it raises ``ImportError``;
``import rdptheory`` never imports it.  Randomness inside strategies (random rotations) comes
from seeds that hypothesis draws, so every example is reproducible.
"""

from __future__ import annotations

import math
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from rdptheory._units import Unit
from rdptheory._validation import PERCEPTIONS, Perception, check_perception
from rdptheory.gaussian._common import REGIMES, Regime

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "rdptheory.testing needs the 'hypothesis' package (a test dependency); install it with "
        "`pip install 'rdptheory[test]'` or `pip install hypothesis`"
    ) from exc

__all__ = [
    "MARGIN",
    "PERCEPTIONS",
    "REGIMES",
    "OperatingPoint",
    "VectorOperatingPoint",
    "covariances",
    "diagonal_spectra",
    "gaussian_channel_rdp",
    "invalid_numbers",
    "invalid_perceptions",
    "noise_levels",
    "perceptions",
    "random_mixture",
    "random_orthonormal",
    "rates",
    "rhos",
    "scalar_operating_points",
    "variances",
    "vector_operating_points",
    "wrong_types",
]

#: Relative distance kept from regime boundaries.
MARGIN = 1e-6


class OperatingPoint(NamedTuple):
    """A scalar (D, P) point for source variance ``variance`` in a known regime."""

    D: float
    P: float
    variance: float
    perception: Perception
    regime: Regime


class VectorOperatingPoint(NamedTuple):
    """A (D, P) point (``"w2sq"``) for the diagonal source ``variances`` in a known regime."""

    D: float
    P: float
    variances: np.ndarray
    regime: Regime


def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats spread evenly in log10 between ``lo`` and ``hi`` (shrinks towards ``lo``)."""
    if not 0.0 < lo <= hi < math.inf:
        raise ValueError(
            f"min_value, max_value must satisfy 0 < min_value <= max_value < inf, got {lo}, {hi}"
        )
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(10.0**e))


def _fraction(lo: float = MARGIN, hi: float = 1.0 - MARGIN) -> st.SearchStrategy[float]:
    return st.floats(lo, hi)


def variances(min_value: float = 1e-3, max_value: float = 1e3) -> st.SearchStrategy[float]:
    """Valid scalar source variances ``s² > 0``, log-uniform in ``[min_value, max_value]``."""
    return _log_uniform(min_value, max_value)


def noise_levels(min_value: float = 1e-3, max_value: float = 1e3) -> st.SearchStrategy[float]:
    """AWGN noise variances ``t² > 0`` (THEORY.md §0), log-uniform."""
    return _log_uniform(min_value, max_value)


def rates(max_bits: float = 8.0) -> st.SearchStrategy[float]:
    """Rates in bits in ``[0, max_bits]``."""
    return st.floats(0.0, max_bits)


def rhos(min_value: float = 1.0, max_value: float = 2.0) -> st.SearchStrategy[float]:
    """Score scales ρ of the PF-ODE decoder (THEORY.md §3); ``rhos(0.0, 3.0)``: wide range."""
    if not 0.0 <= min_value <= max_value:
        raise ValueError(
            f"min_value, max_value must satisfy 0 <= min_value <= max_value, "
            f"got {min_value}, {max_value}"
        )
    return st.floats(min_value, max_value)


def perceptions() -> st.SearchStrategy[Perception]:
    """One of the perception measure names ``"w2sq"``, ``"kl_forward"``, ``"kl_reverse"``."""
    return st.sampled_from(cast(tuple[Perception, ...], PERCEPTIONS))


def _draw_regime(draw: st.DrawFn, regime: str | None, *aliases: str) -> Regime:
    """``regime`` validated (``aliases`` name ``"perception_inactive"``), or a drawn one."""
    if regime is None:
        return draw(st.sampled_from(REGIMES))
    if regime in aliases:
        return "perception_inactive"
    if regime not in REGIMES:
        also = "".join(f" or {a!r}" for a in aliases)
        raise ValueError(f"regime must be one of {REGIMES}{also}, got {regime!r}")
    return cast(Regime, regime)


@st.composite
def diagonal_spectra(
    draw: st.DrawFn,
    min_size: int = 1,
    max_size: int = 8,
    *,
    white: bool | None = None,
    min_value: float = 1e-2,
    max_value: float = 1e2,
) -> np.ndarray:
    """Component variances λ (1-D float64 array) of a diagonal Gaussian source.

    ``white=True``: all equal; ``white=False``: at least two components differing by ≥ 1 %
    (needs ``min_size >= 2``); ``None``: either.
    """
    if white is False and max_size < 2:
        raise ValueError(f"max_size must be >= 2 for a non-white spectrum, got {max_size}")
    if white is None:
        white = max_size < 2 or draw(st.booleans())
    n = draw(st.integers(max(min_size, 1 if white else 2), max_size))
    if white:
        return np.full(n, draw(_log_uniform(min_value, max_value)))
    lam = np.array(draw(st.lists(_log_uniform(min_value, max_value), min_size=n, max_size=n)))
    if lam.max() < 1.01 * lam.min():  # force non-white: spread the first two apart
        lam[0], lam[1] = min_value, max_value
    return lam


@st.composite
def covariances(draw: st.DrawFn, min_size: int = 1, max_size: int = 6) -> np.ndarray:
    """Full symmetric positive-definite covariances ``U diag(λ) Uᵀ`` with a random rotation U.

    U is the Q factor of a Gaussian matrix from ``numpy.random.default_rng(seed)``, the seed
    drawn by hypothesis.
    """
    lam = draw(diagonal_spectra(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((lam.size, lam.size)))
    q = q * np.sign(np.diag(r))
    cov = (q * lam) @ q.T
    return 0.5 * (cov + cov.T)


def _perception_of_ratio(ratio: float, perception: Perception, variance: float) -> float:
    """P whose Gaussian floor is ``s_lo = ratio·s`` (``ratio`` in (0, 1))."""
    v = 2.0 * math.log(ratio)  # log(s_lo²/s²)
    if perception == "w2sq":
        return variance * (1.0 - ratio) ** 2
    if perception == "kl_reverse":
        return 0.5 * (math.expm1(v) - v)
    return 0.5 * (math.expm1(-v) + v)


def gaussian_channel_rdp(
    D: npt.ArrayLike, P: npt.ArrayLike, variance: npt.ArrayLike, *,
    perception: Perception = "w2sq", unit: Unit = "bits",
) -> float | np.ndarray:
    """R(D, P) of the best jointly Gaussian channel: the THEORY.md §1 closed form.

    The function whose regimes :func:`scalar_operating_points` draws from, and the value of
    the symbolic derivations (:func:`rdptheory.symbolic.rdp_scalar`).  For ``"w2sq"`` and
    ``"kl_reverse"`` Gaussian channels are optimal and this is
    :func:`rdptheory.gaussian.rdp`; for ``"kl_forward"`` it is
    :func:`rdptheory.gaussian.rdp_kl_forward_upper_bound`, above the true R(D, P) that
    ``rdp`` returns there.  Arguments as for :func:`rdptheory.gaussian.rdp`.

    >>> round(gaussian_channel_rdp(1.0, 0.5, 1.0, perception="kl_forward", unit="nats"), 4)
    0.0414
    """
    from rdptheory.gaussian import rdp, rdp_kl_forward_upper_bound

    if check_perception(perception) == "kl_forward":
        return rdp_kl_forward_upper_bound(D, P, variance, unit=unit)
    return rdp(D, P, variance, perception=perception, unit=unit)


@st.composite
def scalar_operating_points(
    draw: st.DrawFn,
    regime: Regime | None = None,
    perception: Perception | None = None,
    variance: float | None = None,
) -> OperatingPoint:
    """Scalar (D, P) pairs in a known regime of R(D, P) (THEORY.md §1).

    Any argument left ``None`` is drawn.  The floor ratio r = s_lo/s ∈ [0.01, 0.99] is drawn
    first and P follows from it in closed form, so the regime does not depend on the code
    under test.  For ``"w2sq"`` the floor may also be 0 (P ≥ s²) outside ``"both_active"``.

    The simplest point hypothesis shrinks to (s_lo = s/2, D = s², inside
    (s² − s_lo², s² + s_lo²)):

    >>> from hypothesis import find
    >>> find(scalar_operating_points("both_active", "w2sq", 1.0), lambda pt: True)
    OperatingPoint(D=1.0, P=0.25, variance=1.0, perception='w2sq', regime='both_active')
    """
    regime = _draw_regime(draw, regime)
    measure = draw(perceptions()) if perception is None else check_perception(perception)
    var = draw(variances()) if variance is None else float(variance)
    if regime == "perfect_perception":
        return OperatingPoint(2.0 * var * draw(_fraction()), 0.0, var, measure, regime)
    ratios = st.floats(0.01, 0.99)
    if measure == "w2sq" and regime != "both_active":
        ratios = st.one_of(st.just(0.0), ratios)
    r = draw(ratios)
    if r == 0.0:
        P = var * (1.0 + draw(st.floats(0.0, 3.0)))
    else:
        P = _perception_of_ratio(r, measure, var)
    return OperatingPoint(_scalar_distortion(draw, regime, var, r), P, var, measure, regime)


def _scalar_distortion(draw: st.DrawFn, regime: Regime, var: float, r: float) -> float:
    """D inside ``regime`` for the floor ``s_lo = r·s`` (THEORY.md §1 boundaries)."""
    lo2 = var * r * r  # s_lo²
    if regime == "zero_rate":
        return (var + lo2) * (1.0 + MARGIN + 3.0 * draw(_fraction()))
    if regime == "perception_inactive":
        return (var - lo2) * draw(_fraction())
    # both_active: keep MARGIN·s² from both ends of (s² - s_lo², s² + s_lo²)
    m = min(MARGIN / (r * r), 0.25)
    return var - lo2 + 2.0 * lo2 * draw(_fraction(m, 1.0 - m))


def _water_filling_perception(D: float, lam: np.ndarray) -> float:
    """P above which the perception constraint is inactive: Σ(√λ_i - √(λ_i - θ)₊)²."""
    from rdptheory.gaussian.vector import water_filling

    theta = float(water_filling(D, lam).level)
    return float(np.sum((np.sqrt(lam) - np.sqrt(np.maximum(lam - theta, 0.0))) ** 2))


@st.composite
def vector_operating_points(
    draw: st.DrawFn,
    regime: str | None = None,
    variances: np.ndarray | None = None,
    *,
    min_size: int = 1,
    max_size: int = 8,
    white: bool | None = None,
) -> VectorOperatingPoint:
    """(D, P) pairs (``"w2sq"``) in a known regime of the vector R(D, P) (THEORY.md §2).

    ``"zero_rate"``: D ≥ L + (√L − √P)₊² (L = Σλ); ``"perception_inactive"`` (alias
    ``"water_filling"``): D < L, P ≥ Σ(√λ_i − √(λ_i − θ)₊)²; ``"both_active"``: either D < L
    and P below that threshold, or L < D < L + (√L − √P)² with 0 < P < L (half of the
    draws each); ``"perfect_perception"``: P = 0, D < 2L.

    >>> from hypothesis import find
    >>> pt = find(vector_operating_points("both_active", [1.0, 0.25]), lambda pt: True)
    >>> pt.D, round(pt.P, 12)  # θ = 0.375: P = ½ ((1 − √0.625)² + 0.25), half the threshold
    (0.625, 0.146930584958)
    """
    regime = _draw_regime(draw, regime, "water_filling")
    lam = (
        draw(diagonal_spectra(min_size, max_size, white=white))
        if variances is None
        else np.asarray(variances, dtype=float)
    )
    L = float(lam.sum())
    f = draw(_fraction(1e-3, 1.0 - 1e-3))
    if regime == "perfect_perception":
        return VectorOperatingPoint(2.0 * L * f, 0.0, lam, regime)
    if regime == "zero_rate":
        P = L * draw(st.floats(0.0, 2.0))
        D = (L + max(math.sqrt(L) - math.sqrt(P), 0.0) ** 2) * (1.0 + MARGIN + 3.0 * f)
        return VectorOperatingPoint(D, P, lam, regime)
    if regime == "both_active" and draw(st.booleans()):
        # D > L: both constraints still bind while P < L and D < L + (√L − √P)² (the
        # γ → 0 end of the KKT family; THEORY.md §2), a regime D = L·f alone never reaches
        P = L * draw(_fraction(1e-3, 1.0 - 1e-3)) ** 2
        gap = (math.sqrt(L) - math.sqrt(P)) ** 2
        return VectorOperatingPoint(L + gap * draw(_fraction(1e-3, 1.0 - 1e-3)), P, lam, regime)
    D = L * f
    p_wf = _water_filling_perception(D, lam)
    g = draw(_fraction(1e-3, 1.0 - 1e-3))
    P = p_wf * (1.0 + MARGIN + 3.0 * g) if regime == "perception_inactive" else p_wf * g
    return VectorOperatingPoint(D, P, lam, regime)


#: Kinds of real argument and the values each must refuse (:func:`invalid_numbers`).
_NUMBER_KINDS = ("positive", "nonnegative", "finite")


@st.composite
def invalid_numbers(
    draw: st.DrawFn, kind: str = "positive", *, allow_inf: bool = False
) -> float | np.ndarray:
    """Real values (or arrays holding one) that a ``kind`` argument must reject (``ValueError``).

    ``"positive"`` (D, variances, noise_var): ≤ 0 or NaN; ``"nonnegative"`` (P, R, ρ): < 0
    or NaN; ``"finite"``: NaN or ±inf. Unless ``allow_inf``, +inf is invalid for the first
    two kinds too (e.g. a variance; ``rdp`` allows D = inf and P = inf).

    >>> from hypothesis import find
    >>> x = find(invalid_numbers("positive"), lambda x: np.ndim(x) == 0)
    >>> bool(not x > 0)  # 0, negative, NaN or inf
    True
    """
    if kind not in _NUMBER_KINDS:
        raise ValueError(f"kind must be one of {_NUMBER_KINDS}, got {kind!r}")
    bad = [st.just(math.nan)]
    if kind == "finite":
        bad += [st.just(math.inf), st.just(-math.inf)]
    else:  # ≤ 0 (0.0 and -0.0 included) or < 0, -inf included
        top = 0.0 if kind == "positive" else -5e-324
        bad.append(st.floats(max_value=top, allow_nan=False))
        if not allow_inf:
            bad.append(st.just(math.inf))
    value = draw(st.one_of(*bad))
    if draw(st.booleans()):
        return value
    arr = np.full(draw(st.integers(1, 4)), 1.0)  # valid entries around the invalid one
    arr[draw(st.integers(0, arr.size - 1))] = value
    return arr


def wrong_types() -> st.SearchStrategy[object]:
    """Values of the wrong type for a real argument (``TypeError``): bool, str, bytes,
    complex, None, object arrays, lists mixing numbers and strings (strict types, issue 9).

    >>> from hypothesis import find
    >>> find(wrong_types(), lambda x: isinstance(x, str))
    ''
    """
    return st.one_of(
        st.text(max_size=5),
        st.booleans(),
        st.binary(max_size=3),
        st.complex_numbers(allow_nan=False).filter(lambda z: z.imag != 0.0),
        st.none(),
        st.just(np.array([1.0, "2"], dtype=object)),
        st.just(np.array([True, False])),
        st.lists(st.sampled_from([1.0, "a"]), min_size=2, max_size=3).filter(
            lambda v: "a" in v
        ),
    )


def invalid_perceptions() -> st.SearchStrategy[object]:
    """Perception names no function accepts (``ValueError``): near misses and other objects.

    >>> from hypothesis import find
    >>> find(invalid_perceptions(), lambda x: True)
    ''
    """
    near = st.sampled_from(["W2sq", "w2", "kl", "KL_forward", "kl-reverse", " w2sq", "tv"])
    return st.one_of(st.text(max_size=8).filter(lambda x: x not in PERCEPTIONS), near)


def random_mixture(d: int = 6, k: int = 3, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random full-covariance Gaussian mixture ``(weights, means, covariances)`` from ``seed``.

    ``Σ_j = A_j A_jᵀ + 0.05 I`` with ``A_j`` standard normal over ``√d`` (well conditioned:
    eigenvalues ≥ 0.05), weights uniform on [0.2, 1.2] then normalised, means standard normal.
    For tests of mixture denoisers (e.g. against :class:`rdptheory.diffusion.GMMModel`).

    >>> w, mu, covs = random_mixture(d=2, k=4, seed=1)
    >>> w.shape, mu.shape, covs.shape, bool(abs(w.sum() - 1) < 1e-15)
    ((4,), (4, 2), (4, 2, 2), True)
    """
    if not (isinstance(d, int) and isinstance(k, int) and d >= 1 and k >= 1):
        raise ValueError(f"d and k must be positive integers, got d={d!r}, k={k!r}")
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, d, d)) / np.sqrt(d)
    covs = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(d)
    w = rng.random(k) + 0.2
    return w / w.sum(), rng.normal(size=(k, d)), covs


def random_orthonormal(d: int, seed: int = 1) -> np.ndarray:
    """A random ``d × d`` orthonormal matrix (Q of the QR factorisation of a normal matrix).

    >>> q = random_orthonormal(3, seed=2)
    >>> bool(np.allclose(q.T @ q, np.eye(3), atol=1e-14))
    True
    """
    if not (isinstance(d, int) and d >= 1):
        raise ValueError(f"d must be a positive integer, got {d!r}")
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q
