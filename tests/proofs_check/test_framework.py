"""The claim framework: results, registry, runner, table, JSON."""

import doctest
import json

import pytest

from rdptheory.proofs_check import (
    Claim,
    ClaimResult,
    Verdict,
    _framework,
    _runner,
    format_details,
    format_table,
    get_claim,
    load_claims,
)
from rdptheory.proofs_check._serialize import results_to_json


def _claim(verdict, expected=Verdict.HOLDS, raise_=False):
    def check(quick):
        if raise_:
            raise RuntimeError("boom")
        return c.result(verdict, "exact", worst_error=0.5, conditions="x > 0",
                        counterexample="x = -1")

    c = Claim("t_" + verdict.name, "test", "s", "a", expected, check)
    return c


def test_doctests():
    assert doctest.testmod(_framework).failed == 0


@pytest.mark.parametrize(
    ("verdict", "expected", "ok"),
    [(Verdict.HOLDS, Verdict.HOLDS, True), (Verdict.HOLDS_ONLY_UNDER, Verdict.HOLDS, True),
     (Verdict.FAILS, Verdict.HOLDS, False), (Verdict.FAILS, Verdict.FAILS, True),
     (Verdict.HOLDS, Verdict.FAILS, False), (Verdict.ERROR, Verdict.HOLDS_ONLY_UNDER, False)],
)
def test_ok(verdict, expected, ok):
    assert _claim(verdict, expected).run().ok is ok


def test_verdict_text_and_timing():
    r = _claim(Verdict.HOLDS_ONLY_UNDER).run()
    assert r.verdict_text == "HOLDS ONLY UNDER (x > 0)"
    assert _claim(Verdict.FAILS).run().verdict_text == "FAILS (x = -1)"
    assert r.seconds >= 0.0


def test_exception_becomes_error_result():
    r = _claim(Verdict.HOLDS, raise_=True).run()
    assert r.verdict is Verdict.ERROR and "RuntimeError: boom" in r.error
    assert r.verdict_text.startswith("ERROR (RuntimeError: boom")
    assert not r.ok


def test_table_and_details_and_json():
    rs = [_claim(Verdict.HOLDS).run(), _claim(Verdict.FAILS).run()]
    table = format_table(rs)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["claim", "verdict", "method"]
    assert "UNEXPECTED" in lines[3] and "UNEXPECTED" not in lines[2]
    assert "5.00e-01" in lines[2]
    assert "statement:" in format_details(rs[0])
    js = json.loads(json.dumps(results_to_json(rs)))
    assert js[1]["verdict"] == "FAILS" and js[1]["ok"] is False


def test_registry():
    load_claims()
    assert set(_runner.CLAIM_MODULES) <= {c.claim_id for c in _framework.claims()}
    with pytest.raises(ValueError, match="claim_id must be one of"):
        get_claim("nope")
    with pytest.raises(ValueError, match="already registered"):
        _framework.register(get_claim("dp_closed_form"))


def test_result_is_frozen():
    r = ClaimResult("a", "b", "c", "d", "e", Verdict.HOLDS, Verdict.HOLDS)
    with pytest.raises(AttributeError):
        r.verdict = Verdict.FAILS  # type: ignore[misc]
