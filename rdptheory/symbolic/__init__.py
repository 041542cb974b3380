"""rdptheory.symbolic: the Gaussian results of THEORY.md §1–§3 derived with sympy.

Each public function returns a :class:`Derivation` (or a small frozen record of them): the
sympy expression, its argument symbols, assumptions, citation tag, LaTeX, the intermediate
steps, and ``lambdify()`` for numeric use. Derivations are cached (``functools.cache``), and
every identity they claim is proved by reducing a difference to exactly zero; a failed proof
raises :class:`DerivationError` rather than returning a wrong formula. Rates are in nats.

- :func:`perception_measure`, :func:`perception_floor` — W₂², KL both ways, floors s_lo(P)
  (Lambert W branches W₀ / W₋₁), §1; :func:`perception_floor_series`,
  :func:`branch_point_series` — their expansions in √P near P = 0 (where sympy's ``series``
  of Lambert W fails), §1.
- :func:`rdp_w2sq_kkt`, :func:`rdp_core`, :func:`rdp_scalar`, :func:`rdp_w2sq_scalar`,
  :func:`rdp_zero_perception`, :func:`drp_scalar` — scalar R(D, P) by KKT, §1;
  :func:`test_channel_scalar` — the forward channel X̂ = a(X + tN) attaining it;
  :func:`rdp_w2sq_vector_stationarity` — per-component KKT of the vector programme, §2;
  :func:`kl_forward_floor`, :func:`kl_forward_min_second_moment_mp` — the non-Gaussian
  minimiser q* ∝ p_X/(x² + μ) behind the rigorous ``kl_forward`` lower bound, §1.
- :func:`dp_awgn_scalar` — [FMM21] D(P), MMSE, single-α estimator, §3.
- :func:`pf_ode_map` — the score-scaled PF-ODE solved with ``dsolve`` (VE and VP), §3.
- :func:`score_scaled_point_scalar`, :func:`scheme_optimality` — the scheme's operating point
  and the proof that it lies on R(D, P) and D(P) for 1 <= ρ <= 2, §3.
- :func:`rho_for_perception_scalar`, :func:`rho_for_tradeoff_scalar`,
  :func:`rho_for_alpha_scalar` — closed-form steering of ρ, §3.
- :func:`all_derivations`, :func:`derivations_markdown` — the catalogue, for reports.

Example: manipulate a result, then evaluate it.

>>> import sympy as sp
>>> from rdptheory.symbolic import rdp_w2sq_kkt
>>> kkt = rdp_w2sq_kkt()
>>> kkt.step("D where nu = 0")  # where the perception constraint stops binding
s**2 - s_lo**2
>>> s, s_lo, D = kkt.symbol("s"), kkt.symbol("s_lo"), kkt.symbol("D")
>>> sp.simplify(kkt.expr.subs({s_lo: s, D: s**2}))  # P = 0, D = s^2: log(4/3)/2
-log(3)/2 + log(2)
>>> round(kkt.lambdify()(1.0, 1.0, 0.5), 12)  # (D, variance, s_lo): log(16/15)/2
0.032269260569
"""

from rdptheory.symbolic._core import Derivation, DerivationError, Step
from rdptheory.symbolic.asymptotics import branch_point_series, perception_floor_series
from rdptheory.symbolic.awgn import DPAWGNDerivation, dp_awgn_scalar, expect_quadratic
from rdptheory.symbolic.catalog import all_derivations, derivations_markdown
from rdptheory.symbolic.channel import TestChannelDerivation, test_channel_scalar
from rdptheory.symbolic.kl_forward import (
    KLForwardFloor,
    kl_forward_floor,
    kl_forward_min_second_moment_mp,
)
from rdptheory.symbolic.perception import perception_floor, perception_measure
from rdptheory.symbolic.pf_ode import PARAMETERISATIONS, pf_ode_map
from rdptheory.symbolic.rdp import (
    drp_scalar,
    rdp_core,
    rdp_scalar,
    rdp_w2sq_kkt,
    rdp_w2sq_scalar,
    rdp_zero_perception,
)
from rdptheory.symbolic.scheme import (
    SchemeOptimality,
    SchemePointDerivation,
    gaussian_entropy,
    scheme_optimality,
    score_scaled_point_scalar,
)
from rdptheory.symbolic.steering import (
    rho_for_alpha_scalar,
    rho_for_perception_scalar,
    rho_for_tradeoff_scalar,
)
from rdptheory.symbolic.vector import rdp_w2sq_vector_stationarity

__all__ = [
    "Derivation",
    "DerivationError",
    "Step",
    "perception_measure",
    "perception_floor",
    "perception_floor_series",
    "branch_point_series",
    "rdp_core",
    "rdp_w2sq_kkt",
    "rdp_scalar",
    "rdp_w2sq_scalar",
    "rdp_zero_perception",
    "drp_scalar",
    "rdp_w2sq_vector_stationarity",
    "KLForwardFloor",
    "kl_forward_floor",
    "kl_forward_min_second_moment_mp",
    "TestChannelDerivation",
    "test_channel_scalar",
    "DPAWGNDerivation",
    "dp_awgn_scalar",
    "expect_quadratic",
    "PARAMETERISATIONS",
    "pf_ode_map",
    "SchemePointDerivation",
    "SchemeOptimality",
    "gaussian_entropy",
    "score_scaled_point_scalar",
    "scheme_optimality",
    "rho_for_perception_scalar",
    "rho_for_tradeoff_scalar",
    "rho_for_alpha_scalar",
    "all_derivations",
    "derivations_markdown",
]
