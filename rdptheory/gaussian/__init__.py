"""Exact Gaussian rate-distortion-perception theory (THEORY.md §1-§3).

Scalar closed forms (:mod:`rdptheory.gaussian.scalar`): :func:`rate_distortion`, :func:`rdp`,
:func:`drp`, :func:`min_reconstruction_std`, :func:`test_channel`,
:func:`rdp_kl_forward_lower_bound`, :func:`kl_forward_min_second_moment`.
Rates are in bits unless ``unit="nats"``; D is total MSE; P for ``"w2sq"`` is W₂² (squared).
"""

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

# G2: add your re-exports here (vector.py, awgn.py) and extend __all__ below.

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

# G2 re-exports (vector.py: §2 vector Gaussian; awgn.py: §3 D(P) under AWGN, score-scaled PF-ODE)
from rdptheory.gaussian.awgn import (  # noqa: E402
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
from rdptheory.gaussian.vector import (  # noqa: E402
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

__all__ += [
    "DPAWGN",
    "ScoreScaledLoss",
    "ScoreScaledPoint",
    "ShapedNoisePoint",
    "dp_awgn",
    "per_direction_point",
    "per_direction_rho",
    "score_scaled_dp_gap",
    "score_scaled_gap",
    "score_scaled_loss",
    "score_scaled_point",
    "shaped_noise_point",
    "RDPVectorSolution",
    "Spectrum",
    "WaterFilling",
    "covariance_spectrum",
    "drp_vector",
    "drp_vector_solution",
    "rate_distortion_vector",
    "rdp_vector",
    "rdp_vector_solution",
    "water_filling",
]
