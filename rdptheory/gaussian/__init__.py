"""Exact Gaussian rate-distortion-perception theory (THEORY.md §1-§3).

- Scalar closed forms (:mod:`~rdptheory.gaussian.scalar`, §1): :func:`rate_distortion`,
  :func:`rdp`, :func:`drp`, :func:`min_reconstruction_std`, :func:`test_channel`,
  :func:`rdp_kl_forward_lower_bound`, :func:`rdp_kl_forward_upper_bound`,
  :func:`kl_forward_min_second_moment` (``rdp(..., perception="kl_forward")`` is the true value,
  from the certified solver's table, :mod:`rdptheory.solver`).
- Vector Gaussian (:mod:`~rdptheory.gaussian.vector`, §2): reverse water-filling and the
  convex R(D, P) program with a certificate; :func:`rdp_vector` and :func:`drp_vector`
  solve whole arrays of (D, P) points together.
- AWGN (:mod:`~rdptheory.gaussian.awgn`, §3): D(P) of [FMM21] and the score-scaled PF-ODE
  operating point and its gap to R(D, P).

**Units.** Rates are in bits unless ``unit="nats"``; D is the total MSE; P for ``"w2sq"`` is
W₂² (squared, the units of D), for the KL measures nats.  Scalar inputs give Python floats,
arrays give float64 arrays.

**Argument order.** Every function takes its arguments in one order: first the *operating
point* the question is about (``D``, ``R``, ``P`` — what one would put on the axes of a
figure), then the *source* (``variance`` s² of a scalar source, ``variances`` λ of a
diagonal one, always variances and never standard deviations), then the *scheme's
parameters* (``noise_var`` t² of the AWGN channel, the score scale ``rho``); options
(``perception=``, ``unit=``) are keyword-only.  Hence ``rdp(D, P, variance)``,
``rdp_vector(D, P, variances)``, ``dp_awgn(P, variances, noise_var)`` and
``score_scaled_point(variances, noise_var, rho)`` (no operating point: the scheme's
parameters determine it).  The symbolic layer follows the same convention:
:meth:`rdptheory.symbolic.Derivation.lambdify` takes ``variance``/``noise_var`` in these
positions (its :attr:`~rdptheory.symbolic.Derivation.arguments`).

**One word, one meaning.** ``perception`` is the *name* of the measure (``"w2sq"``,
``"kl_forward"``, ``"kl_reverse"``) everywhere — in signatures, in records, on the command
line — and ``P`` the budget.  Records (``NamedTuple``) share their field names:
``rate_nats`` (and the ``rate_bits`` property), ``mse`` (total MSE), ``perception_value``
(the achieved value of the measure named by the record's ``perception``),
``component_*`` for per-component arrays (``component_mse``, ...), ``gain`` for the linear
decoder's gains, and ``regime`` from one vocabulary, :data:`REGIMES`.  The names used before
0.2.0 still work with a ``DeprecationWarning`` (CHANGELOG.md).

**Inputs.** Real numbers or real arrays only (``bool``, ``str``, complex, ``None`` raise
``TypeError``); the vector and AWGN functions accept magnitudes in
:data:`MAGNITUDE_RANGE` (the results are scale-invariant, so rescale otherwise); no
function lets a floating-point warning through.
"""

from rdptheory.gaussian._common import MAGNITUDE_RANGE, REGIMES, Regime
from rdptheory.gaussian.awgn import (
    DPAWGN,
    ScoreScaledLoss,
    ScoreScaledPoint,
    ShapedNoisePoint,
    dp_awgn,
    per_direction_point,
    per_direction_rho,
    score_scaled_dp_gap,
    score_scaled_gap,
    score_scaled_loss,
    score_scaled_point,
    shaped_noise_point,
)
from rdptheory.gaussian.scalar import (
    TestChannel,
    drp,
    kl_forward_min_second_moment,
    min_reconstruction_std,
    rate_distortion,
    rdp,
    rdp_kl_forward_lower_bound,
    rdp_kl_forward_upper_bound,
    test_channel,
)
from rdptheory.gaussian.vector import (
    RDPVectorSolution,
    Spectrum,
    WaterFilling,
    covariance_spectrum,
    drp_vector,
    drp_vector_solution,
    rate_distortion_vector,
    rdp_vector,
    rdp_vector_solution,
    water_filling,
)

__all__ = [
    "covariance_spectrum",
    "dp_awgn",
    "DPAWGN",
    "drp",
    "drp_vector",
    "drp_vector_solution",
    "kl_forward_min_second_moment",
    "MAGNITUDE_RANGE",
    "min_reconstruction_std",
    "per_direction_point",
    "per_direction_rho",
    "rate_distortion",
    "rate_distortion_vector",
    "rdp",
    "rdp_kl_forward_lower_bound",
    "rdp_kl_forward_upper_bound",
    "rdp_vector",
    "rdp_vector_solution",
    "RDPVectorSolution",
    "Regime",
    "REGIMES",
    "score_scaled_dp_gap",
    "score_scaled_gap",
    "score_scaled_loss",
    "score_scaled_point",
    "ScoreScaledLoss",
    "ScoreScaledPoint",
    "shaped_noise_point",
    "ShapedNoisePoint",
    "Spectrum",
    "test_channel",
    "TestChannel",
    "water_filling",
    "WaterFilling",
]
