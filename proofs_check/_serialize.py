"""JSON-ready plain data from :class:`ClaimResult` records (for report.json)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict

from rdptheory.proofs_check._framework import ClaimResult


def _clean(x: object) -> object:
    """NaN/inf -> None (JSON has no NaN); enums -> their value; recurse into containers."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "value") and isinstance(x.value, str):
        return x.value  # type: ignore[attr-defined]
    return x


def result_to_json(result: ClaimResult) -> dict:
    """One result as a JSON-serialisable mapping (plus verdict_text and ok)."""
    out = _clean(asdict(result))
    assert isinstance(out, dict)
    out["verdict_text"] = result.verdict_text
    out["ok"] = result.ok
    return out


def results_to_json(results: Iterable[ClaimResult]) -> list[dict]:
    """Every result as JSON-serialisable mappings."""
    return [result_to_json(r) for r in results]
