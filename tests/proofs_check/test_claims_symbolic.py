"""The dependency-free parts of the claims: sympy identities and numeric lemmas."""

import numpy as np
import pytest
import sympy as sp

from rdptheory.proofs_check import (
    channel_simulation_cost,
    dp_closed_form,
    dp_optimality,
    gaussian_channel_optimality,
    mmse_endpoint,
    rdp_achievability,
)


def test_ode_map_is_power_law_and_mmse_at_rho_2():
    lam, rho, t2 = sp.symbols("lambda rho t2", positive=True)
    gain = mmse_endpoint.gaussian_ode_map()
    assert sp.simplify(gain - (lam / (lam + t2)) ** (rho / 2)) == 0
    assert mmse_endpoint._symbolic_gaussian_part()[0] == 0.0


def test_fmm21_symbolic_residual_zero():
    assert all(e == 0 for e in dp_closed_form.symbolic_residual())


def test_slsqp_matches_single_alpha_closed_form():
    lam, t2, P = np.array([2.0, 0.5, 0.1]), 0.4, 0.02
    c = np.sqrt(lam / (lam + t2))
    w2 = np.sqrt(np.sum(lam * (1 - c) ** 2))
    closed = np.sum(lam * t2 / (lam + t2)) + (w2 - np.sqrt(P)) ** 2
    assert dp_closed_form.linear_gain_optimum(P, lam, t2) == pytest.approx(closed, rel=1e-8)


def test_score_scaled_scalar_gap_symbolic_zero():
    assert dp_optimality.symbolic_scalar_gap() == 0


def test_rdp_scalar_identity_and_active_margin():
    ident, margin = rdp_achievability.symbolic_scalar_identity()
    assert ident == 0
    s, c, rho = sp.symbols("s c rho", positive=True)
    assert float(margin.subs({s: 1.3, c: 0.6, rho: 1.5})) > 0
    assert float(margin.subs({s: 1.3, c: 0.6, rho: 2})) == 0


def test_gaussian_lemmas_hold_on_random_mixtures():
    gel, ent = gaussian_channel_optimality.lemma_violations(8)
    assert gel < 0 and ent < 0


def test_kl_forward_minimiser_matches_theory_example():
    mu, m2 = gaussian_channel_optimality.kl_forward_minimiser(0.11137)
    assert m2 == pytest.approx(0.5251, abs=1e-4)  # THEORY.md §1


def test_bounds_values():
    assert channel_simulation_cost.leg18_bound(1.0) == pytest.approx(7.0)
    assert channel_simulation_cost.li25_bound(0.6) == pytest.approx(3.6)
