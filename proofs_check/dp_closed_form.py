"""Claim: the closed-form distortion-perception function under AWGN [FMM21].

.. math:: D(P) = D^* + \\big((W_2(p_X, p_{X^*}) - \\sqrt{P})_+\\big)^2,\\quad
          D^* = \\sum_i \\frac{\\lambda_i t^2}{\\lambda_i + t^2},\\;
          W_2^2(p_X,p_{X^*}) = \\sum_i \\lambda_i (1 - c_i)^2

Symbolic: sympy verifies that the single-alpha interpolation
X̂ = ((1 - alpha) I + alpha T) X* attains exactly that MSE and W2^2 = P (scalar source).
Numeric: for random non-white diagonal sources, rdptheory.gaussian.dp_awgn is compared with
(a) an independent numerical minimisation over per-component linear gains (SLSQP) and
(b) the lower bound valid for every estimator, D >= D* + (W2(X, X*) - sqrt(P))_+^2
(orthogonality of the MMSE error plus the triangle inequality for W2).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.optimize import minimize

from rdptheory.proofs_check._framework import Claim, ClaimResult, Datum, Verdict, register

_SEED = 7


def symbolic_residual() -> sp.Expr:
    """MSE of the single-alpha estimator minus the FMM21 closed form (scalar); simplifies to 0."""
    lam, t2, p = sp.symbols("lambda t2 P", positive=True)
    c = sp.sqrt(lam / (lam + t2))
    w2_star = sp.sqrt(lam) * (1 - c)  # W2(p_X, p_{X*}) with X* = c^2 Y
    alpha = 1 - sp.sqrt(p) / w2_star
    gain = (1 - alpha) * c**2 + alpha * c  # X̂ = gain * Y
    mse = lam - 2 * gain * lam + gain**2 * (lam + t2)
    w2sq = (sp.sqrt(lam) - gain * sp.sqrt(lam + t2)) ** 2
    closed = lam * t2 / (lam + t2) + (w2_star - sp.sqrt(p)) ** 2
    return sp.simplify(sp.Matrix([mse - closed, w2sq - p]))


def linear_gain_optimum(P: float, variances: np.ndarray, noise_var: float) -> float:
    """min over gains g_i of E||X - g.Y||^2 s.t. W2^2 <= P, by SLSQP (independent check)."""
    lam, m = variances, variances + noise_var
    mse = lambda g: float(np.sum(lam - 2 * g * lam + g**2 * m))
    w2sq = lambda g: float(np.sum((np.sqrt(lam) - g * np.sqrt(m)) ** 2))
    x0 = np.sqrt(lam / m)  # rho = 1 gains: perfect perception, always feasible
    w2sq_jac = lambda g: 2 * np.sqrt(m) * (np.sqrt(lam) - g * np.sqrt(m))
    res = minimize(mse, x0, jac=lambda g: -2 * lam + 2 * g * m, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda g: P - w2sq(g), "jac": w2sq_jac}],
                   options={"ftol": 1e-15, "maxiter": 500})
    return float(res.fun)


def _one_case(rng: np.random.Generator) -> tuple[float, float, float]:
    """(|dp_awgn - SLSQP|, lower bound - dp_awgn, |W2^2 of dp_awgn gains - P|) on a random case."""
    from rdptheory.gaussian import dp_awgn

    d = int(rng.integers(1, 9))
    lam = rng.uniform(0.05, 4.0, size=d)
    t2 = float(rng.uniform(0.05, 3.0))
    c = np.sqrt(lam / (lam + t2))
    w2_star_sq = float(np.sum(lam * (1 - c) ** 2))
    P = float(rng.uniform(0.0, 1.2) * w2_star_sq)
    res = dp_awgn(P, lam, t2)
    gains = np.asarray(res.gain, dtype=float)
    w2sq_gains = float(np.sum((np.sqrt(lam) - gains * np.sqrt(lam + t2)) ** 2))
    lower = float(np.sum(lam * t2 / (lam + t2))) + max(np.sqrt(w2_star_sq) - np.sqrt(P), 0) ** 2
    opt = linear_gain_optimum(P, lam, t2)
    return abs(float(res.mse) - opt), lower - float(res.mse), max(w2sq_gains - P, 0.0)


def check(quick: bool = False) -> ClaimResult:
    """Symbolic identity, then random numeric cases against SLSQP and the lower bound."""
    residual = symbolic_residual()
    sym_ok = all(sp.simplify(e) == 0 for e in residual)
    rng = np.random.default_rng(_SEED)
    cases = np.array([_one_case(rng) for _ in range(10 if quick else 60)])
    err_opt, err_lower, err_feas = (float(np.max(np.abs(cases[:, k]))) for k in range(3))
    worst = max(err_opt, err_lower, err_feas)
    data = (
        Datum("symbolic residual (MSE, W2^2) is zero", float(sym_ok)),
        Datum("max |dp_awgn.mse - SLSQP optimum|", err_opt, "", f"{len(cases)} random cases"),
        Datum("max |lower bound - dp_awgn.mse|", err_lower, "", "bound holds for any estimator"),
        Datum("max W2^2 constraint violation of dp_awgn gains", err_feas),
    )
    tol = 1e-7  # SLSQP's accuracy, not the closed form's
    verdict = Verdict.HOLDS if sym_ok and worst < tol else Verdict.FAILS
    return CLAIM.result(verdict, "symbolic (sympy) + numeric (SLSQP, lower bound)",
                        worst_error=worst, tolerance=tol, data=data,
                        counterexample="" if verdict is Verdict.HOLDS else "see data")


CLAIM = register(
    Claim(
        claim_id="dp_closed_form",
        title="[FMM21] D(P) under AWGN",
        statement="D(P) = D* + ((W2(p_X, p_X*) - sqrt(P))_+)^2, attained by one alpha for all "
        "components",
        assumptions="X ~ N(0, diag(lambda)), Y = X + tN, W2^2 perception",
        expected=Verdict.HOLDS,
        check=check,
    )
)
