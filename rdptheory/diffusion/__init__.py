"""rdptheory.diffusion: schedules, parameterisations, analytic models and the score-scaled
PF-ODE decoder (THEORY.md §3-§4).

Modules: :mod:`.schedules` (noise schedules as data), :mod:`.scores` (ε / v / x₀ / score /
velocity conversions), :mod:`.models` (the model protocol; Gaussian, GMM and prediction
adapters), :mod:`.solvers` (``decode``, ``euler_step``, ``heun_step``,
``exponential_step``), :mod:`.steering` (choosing ρ; D(P)-optimal decoders) and
:mod:`.verify` (Monte Carlo / quadrature harness, imported on demand:
``from rdptheory.diffusion import verify``).

>>> import numpy as np
>>> from rdptheory.diffusion import GaussianModel, decode
>>> m = GaussianModel(0.0, 1.0)
>>> y = np.array([1.0, -2.0])
>>> np.allclose(decode(m, y, 1.0, 2.0, solver="adaptive"), m.posterior_mean(y, 1.0))
True
"""

from rdptheory.diffusion.models import (
    DiffusionModel,
    ExactModel,
    GaussianModel,
    GMMModel,
    PredictionModel,
)
from rdptheory.diffusion.schedules import (
    SCHEDULES,
    DiscreteSchedule,
    Karras,
    Schedule,
    ScheduleLike,
    VEUniform,
    VPCosine,
    VPLinear,
    alpha_bar_from_noise_var,
    ddpm_alphas_cumprod,
    get_schedule,
    noise_var_from_alpha_bar,
    sigma_from_noise_var,
)
from rdptheory.diffusion.solvers import (
    DecoderConfig,
    decode,
    decode_adaptive,
    euler_step,
    exponential_coefficients,
    exponential_step,
    heun_step,
    integrate,
    integrate_exponential,
    pf_ode_drift,
)
from rdptheory.diffusion.steering import (
    SingleRhoLoss,
    optimal_decode,
    per_direction_rho,
    rho_for_perception,
    rho_for_tradeoff,
    single_alpha_decode,
    single_rho_loss,
)

__all__ = [
    "SCHEDULES",
    "SingleRhoLoss",
    "optimal_decode",
    "per_direction_rho",
    "rho_for_perception",
    "rho_for_tradeoff",
    "single_alpha_decode",
    "single_rho_loss",
    "DecoderConfig",
    "DiffusionModel",
    "DiscreteSchedule",
    "ExactModel",
    "GMMModel",
    "GaussianModel",
    "Karras",
    "PredictionModel",
    "Schedule",
    "ScheduleLike",
    "VEUniform",
    "VPCosine",
    "VPLinear",
    "alpha_bar_from_noise_var",
    "ddpm_alphas_cumprod",
    "decode",
    "decode_adaptive",
    "euler_step",
    "exponential_coefficients",
    "exponential_step",
    "get_schedule",
    "heun_step",
    "integrate",
    "integrate_exponential",
    "noise_var_from_alpha_bar",
    "pf_ode_drift",
    "sigma_from_noise_var",
]
