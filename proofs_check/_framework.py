"""The claim-checking framework: typed results, a registry of claims, and the runner.

Every claim of the theory (THEORY.md §1-§5) is one module of :mod:`rdptheory.proofs_check`
that registers a :class:`Claim` with :func:`register`. Running a claim returns a
:class:`ClaimResult` with a verdict (HOLDS, HOLDS ONLY UNDER (conditions), FAILS
(counterexample)), the method used and the worst error of the parts that hold.

>>> r = ClaimResult("demo", "Demo", "1 + 1 = 2", "none", "exact", Verdict.HOLDS,
...                 Verdict.HOLDS, worst_error=0.0, tolerance=1e-12)
>>> r.ok
True
"""

from __future__ import annotations

import enum
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace


class Verdict(str, enum.Enum):
    """The outcome of checking one claim."""

    HOLDS = "HOLDS"
    HOLDS_ONLY_UNDER = "HOLDS ONLY UNDER"
    FAILS = "FAILS"
    ERROR = "ERROR"  # the check itself could not run (missing dependency, exception)


@dataclass(frozen=True)
class Datum:
    """One number behind a verdict: ``label = value unit`` (with an optional note)."""

    label: str
    value: float
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class ClaimResult:
    """The checked claim: statement, method, verdict and the numbers behind it.

    ``worst_error`` is the largest deviation found in the parts claimed to hold (an
    absolute error in the unit of the compared quantity; 0.0 for exact symbolic identities).
    ``conditions`` is filled for HOLDS ONLY UNDER, ``counterexample`` for FAILS (and for the
    failing part of a HOLDS ONLY UNDER verdict).
    """

    claim_id: str
    title: str
    statement: str
    assumptions: str
    method: str
    verdict: Verdict
    expected: Verdict
    conditions: str = ""
    counterexample: str = ""
    worst_error: float = float("nan")
    tolerance: float = float("nan")
    data: tuple[Datum, ...] = ()
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        """True unless a claim expected to hold (fully or conditionally) fails or errors."""
        if self.expected is Verdict.FAILS:
            return self.verdict is Verdict.FAILS
        return self.verdict in (Verdict.HOLDS, Verdict.HOLDS_ONLY_UNDER)

    @property
    def as_expected(self) -> bool:
        """True when the verdict is exactly the one the theory predicts."""
        return self.verdict is self.expected

    @property
    def verdict_text(self) -> str:
        """``HOLDS``, ``HOLDS ONLY UNDER (conditions)`` or ``FAILS (counterexample)``."""
        if self.verdict is Verdict.HOLDS_ONLY_UNDER:
            return f"HOLDS ONLY UNDER ({self.conditions})"
        if self.verdict is Verdict.FAILS:
            return f"FAILS ({self.counterexample})"
        if self.verdict is Verdict.ERROR:
            return f"ERROR ({self.error.splitlines()[-1] if self.error else 'unknown'})"
        return self.verdict.value


@dataclass(frozen=True)
class Claim:
    """A registered claim: its fixed statement and the function that checks it.

    ``check(quick)`` returns a :class:`ClaimResult`; the runner adds timing and turns
    exceptions into ``Verdict.ERROR`` results (never a crash of the whole run).
    """

    claim_id: str
    title: str
    statement: str
    assumptions: str
    expected: Verdict
    check: Callable[[bool], ClaimResult] = field(compare=False)

    def result(self, verdict: Verdict, method: str, **kwargs: object) -> ClaimResult:
        """A :class:`ClaimResult` for this claim (helper for the check functions)."""
        return ClaimResult(
            claim_id=self.claim_id,
            title=self.title,
            statement=self.statement,
            assumptions=self.assumptions,
            method=method,
            verdict=verdict,
            expected=self.expected,
            **kwargs,  # type: ignore[arg-type]
        )

    def run(self, *, quick: bool = False) -> ClaimResult:
        """Check the claim; exceptions become an ERROR result with the traceback."""
        start = time.perf_counter()
        try:
            res = self.check(quick)
        except Exception:  # report, don't crash: one broken claim must not hide others
            tb = traceback.format_exc(limit=4)
            res = self.result(Verdict.ERROR, "-", error=tb.rstrip())
        return replace(res, seconds=time.perf_counter() - start)


_CLAIMS: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (ids are unique); returns it."""
    if claim.claim_id in _CLAIMS:
        raise ValueError(f"claim id {claim.claim_id!r} already registered")
    _CLAIMS[claim.claim_id] = claim
    return claim


def claims() -> tuple[Claim, ...]:
    """Every registered claim, in registration order."""
    return tuple(_CLAIMS.values())


def get_claim(claim_id: str) -> Claim:
    """The claim registered as ``claim_id`` (ValueError lists the valid ids)."""
    if claim_id not in _CLAIMS:
        raise ValueError(f"claim_id must be one of {', '.join(_CLAIMS)}, got {claim_id!r}")
    return _CLAIMS[claim_id]
