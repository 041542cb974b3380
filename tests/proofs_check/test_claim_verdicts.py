"""Every claim, run at quick size, reaches the verdict the theory predicts."""

import json

import pytest
from rdptheory.proofs_check import CLAIM_MODULES, Verdict, get_claim, load_claims

from rdptheory.cli import main as cli_main

load_claims()


@pytest.mark.parametrize("claim_id", CLAIM_MODULES)
def test_quick_verdict_as_expected(claim_id):
    result = get_claim(claim_id).run(quick=True)
    assert result.verdict is result.expected, result.error or result.verdict_text
    assert result.worst_error <= result.tolerance or result.tolerance != result.tolerance
    if result.verdict is Verdict.HOLDS_ONLY_UNDER:
        assert result.conditions and result.counterexample


def test_kl_forward_counterexample_numbers():
    data = {d.label: d.value for d in get_claim("gaussian_channel_optimality").run().data}
    assert data["D of independent X_hat ~ q (rate 0)"] < 1.53
    assert data["Gaussian-formula R at D=1.53"] > 0
    assert data["rigorous lower bound at D=1.53"] == 0


def test_verify_cli(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert cli_main(["verify", "--quick", "--only", "dp_closed_form", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dp_closed_form" in printed and "HOLDS" in printed
    assert json.loads(out.read_text())[0]["verdict"] == "HOLDS"
