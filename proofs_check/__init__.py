"""rdptheory.proofs_check: every claim of the theory, checked (``rdptheory verify``).

One module per claim; each states the claim with its assumptions, checks it (symbolically with
sympy where possible, numerically otherwise) and returns a typed :class:`ClaimResult` with a
verdict: HOLDS, HOLDS ONLY UNDER (conditions), or FAILS (counterexample).

>>> from rdptheory.proofs_check import run_all, format_table
>>> results = run_all(only=["dp_closed_form"], quick=True)   # doctest: +SKIP
>>> print(format_table(results))                              # doctest: +SKIP
"""

from rdptheory.proofs_check._framework import (
    Claim,
    ClaimResult,
    Datum,
    Verdict,
    claims,
    get_claim,
    register,
)
from rdptheory.proofs_check._runner import (
    CLAIM_MODULES,
    format_details,
    format_table,
    load_claims,
    run_all,
)

__all__ = [
    "CLAIM_MODULES",
    "Claim",
    "ClaimResult",
    "Datum",
    "Verdict",
    "claims",
    "format_details",
    "format_table",
    "get_claim",
    "load_claims",
    "register",
    "run_all",
]
