"""Exact Gaussian rate-distortion-perception theory (THEORY.md §1-§3).

- Scalar closed forms (:mod:`~rdptheory.gaussian.scalar`, §1): :func:`rate_distortion`,
  :func:`rdp`, :func:`drp`, :func:`min_reconstruction_std`, :func:`test_channel`,
  :func:`rdp_kl_forward_lower_bound`, :func:`kl_forward_min_second_moment`.
- Vector Gaussian (:mod:`~rdptheory.gaussian.vector`, §2): reverse water-filling and the
  convex R(D, P) program with a certificate.
- AWGN (:mod:`~rdptheory.gaussian.awgn`, §3): D(P) of [FMM21] and the score-scaled PF-ODE
  operating point and its gap to R(D, P).

Rates are in bits unless ``unit="nats"``; D is total MSE; P for ``"w2sq"`` is W₂² (squared).
Scalar inputs give Python floats, arrays give float64 arrays.  Records are ``NamedTuple``s
whose rate fields carry their unit (``rate_nats``, or ``rate`` with a ``unit`` field, plus
``rate_bits``/``rate_nats`` properties); ``TestChannel.regime`` and
``RDPVectorSolution.regime`` use one vocabulary, :data:`REGIMES`.
"""

from rdptheory.gaussian._common import REGIMES, Regime
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
    "min_reconstruction_std",
    "per_direction_point",
    "per_direction_rho",
    "rate_distortion",
    "rate_distortion_vector",
    "rdp",
    "rdp_kl_forward_lower_bound",
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
