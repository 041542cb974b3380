"""Every derivation of :mod:`rdptheory.symbolic` in one place, and a Markdown/LaTeX listing.

The listing is meant for reports and notes: one section per result with its equation,
citation, provenance (derived here or quoted) and assumptions.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdptheory._validation import PERCEPTIONS
from rdptheory.symbolic._core import Derivation
from rdptheory.symbolic.awgn import dp_awgn_scalar
from rdptheory.symbolic.channel import test_channel_scalar
from rdptheory.symbolic.kl_forward import kl_forward_floor
from rdptheory.symbolic.perception import perception_floor, perception_measure
from rdptheory.symbolic.pf_ode import PARAMETERISATIONS, pf_ode_map
from rdptheory.symbolic.rdp import (
    drp_scalar,
    rdp_core,
    rdp_scalar,
    rdp_w2sq_kkt,
    rdp_zero_perception,
)
from rdptheory.symbolic.scheme import scheme_optimality, score_scaled_point_scalar
from rdptheory.symbolic.steering import (
    rho_for_alpha_scalar,
    rho_for_perception_scalar,
    rho_for_tradeoff_scalar,
)
from rdptheory.symbolic.vector import rdp_w2sq_vector_stationarity

__all__ = ["all_derivations", "derivations_markdown"]


def all_derivations() -> tuple[Derivation, ...]:
    """Every public derivation, in THEORY.md order (§1, §2, §3); about 20 s on a cold cache.

    Returns
    -------
    tuple of Derivation
    """
    per_measure = [f(m) for f in (perception_measure, perception_floor) for m in PERCEPTIONS]
    rdp_all = [rdp_scalar(m) for m in PERCEPTIONS] + [drp_scalar(m) for m in PERCEPTIONS]
    channel = [d for m in PERCEPTIONS for d in vars(test_channel_scalar(m)).values()]
    opt = scheme_optimality()
    return (
        *per_measure, rdp_w2sq_kkt(), rdp_core(), rdp_zero_perception(), *rdp_all, *channel,
        rdp_w2sq_vector_stationarity(), *vars(kl_forward_floor()).values(),
        *vars(dp_awgn_scalar()).values(),
        *(pf_ode_map(p) for p in PARAMETERISATIONS), *vars(score_scaled_point_scalar()).values(),
        opt.rdp_gap, opt.dp_gap,
        rho_for_perception_scalar(), rho_for_tradeoff_scalar(), rho_for_alpha_scalar(),
    )  # fmt: skip


def derivations_markdown(derivations: Iterable[Derivation] | None = None) -> str:
    r"""A Markdown document listing derivations with ``$$ ... $$`` LaTeX equations.

    Parameters
    ----------
    derivations : iterable of Derivation, optional
        Defaults to :func:`all_derivations`.

    Returns
    -------
    str
        One ``### name`` section per derivation: equation, citation, provenance, assumptions.
    """
    items = all_derivations() if derivations is None else tuple(derivations)
    for d in items:
        if not isinstance(d, Derivation):
            raise TypeError(f"derivations must contain Derivation records, got {type(d).__name__}")
    lines = ["# rdptheory.symbolic: derived results", ""]
    for d in items:
        origin = "derived for rdptheory (THEORY.md), not stated in the cited paper"
        lines += [
            f"### {d.name}", "", f"$$ {d.equation} $$", "",
            f"- citation: {d.citation}",
            f"- provenance: {origin if d.derived else 'quoted / from the definition'}",
            f"- assumptions: {'; '.join(d.assumptions) or 'none'}",
            f"- arguments: {', '.join(d.symbol_names)}", "",
        ]  # fmt: skip
    return "\n".join(lines)
