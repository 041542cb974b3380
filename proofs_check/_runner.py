"""Run every registered claim and format the verdict table (``rdptheory verify``)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence

from rdptheory.proofs_check._framework import ClaimResult, claims, get_claim

#: The claim modules, in the order the table lists them (each registers one claim).
CLAIM_MODULES: tuple[str, ...] = (
    "mmse_endpoint",
    "dp_closed_form",
    "dp_optimality",
    "rdp_achievability",
    "gaussian_channel_optimality",
    "channel_simulation_cost",
)


def load_claims() -> None:
    """Import every claim module so that its claim is registered (idempotent)."""
    for name in CLAIM_MODULES:
        importlib.import_module(f"rdptheory.proofs_check.{name}")


def run_all(
    *, quick: bool = False, only: Sequence[str] | None = None, progress: bool | None = False
) -> tuple[ClaimResult, ...]:
    """Check every registered claim (or the ids in ``only``) and return their results.

    Parameters
    ----------
    quick : fewer Monte Carlo trials / grid points (for smoke tests).
    only : claim ids to run; ``None`` runs all of them.
    progress : draw a progress bar on stderr (``None``: only on a terminal).
    """
    from rdptheory._progress import progress as bar

    load_claims()
    if only is None:  # the table's order: CLAIM_MODULES first (claim id = module name)
        extra = tuple(c for c in claims() if c.claim_id not in CLAIM_MODULES)
        only = (*CLAIM_MODULES, *(c.claim_id for c in extra))
    todo = tuple(get_claim(c) for c in only)
    return tuple(c.run(quick=quick) for c in bar(todo, desc="verify", enabled=progress))


def _fmt_err(x: float) -> str:
    return "-" if x != x else f"{x:.2e}"


def format_table(results: Iterable[ClaimResult], *, width: int = 72) -> str:
    """A plain-text table: claim, verdict, method, worst error (and time)."""
    rows = [("claim", "verdict", "method", "worst err", "time")]
    for r in results:
        verdict = r.verdict_text
        if len(verdict) > width:
            verdict = verdict[: width - 3] + "..."
        mark = "" if r.ok else "  <-- UNEXPECTED"
        rows.append(
            (r.claim_id, verdict + mark, r.method, _fmt_err(r.worst_error), f"{r.seconds:.1f}s")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_details(result: ClaimResult) -> str:
    """The statement, assumptions, verdict and every datum of one result (for ``-v``)."""
    out = [
        f"[{result.claim_id}] {result.title}",
        f"  statement:   {result.statement}",
        f"  assumptions: {result.assumptions}",
        f"  method:      {result.method}",
        f"  verdict:     {result.verdict_text}",
    ]
    if result.counterexample and result.verdict is not result.verdict.FAILS:
        out.append(f"  fails for:   {result.counterexample}")
    out += [f"    {d.label} = {d.value:.6g} {d.unit}  {d.note}".rstrip() for d in result.data]
    if result.error:
        out.append("  error:\n" + "\n".join("    " + ln for ln in result.error.splitlines()))
    return "\n".join(out)
