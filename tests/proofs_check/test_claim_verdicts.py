"""Every claim, run at quick size, reaches the verdict the theory predicts."""

import json

import pytest

from rdptheory.cli import main as cli_main
from rdptheory.proofs_check import CLAIM_MODULES, Verdict, get_claim, load_claims

load_claims()


@pytest.mark.parametrize("claim_id", CLAIM_MODULES)
def test_quick_verdict_as_expected(claim_id):
    result = get_claim(claim_id).run(quick=True)
    assert result.verdict is result.expected, result.error or result.verdict_text
    assert result.worst_error <= result.tolerance or result.tolerance != result.tolerance
    if result.verdict is Verdict.HOLDS_ONLY_UNDER:
        assert result.conditions and result.counterexample


def test_kl_forward_counterexample_numbers():
    result = get_claim("gaussian_channel_optimality").run()
    data = {d.label: d.value for d in result.data}
    assert data["D of independent X_hat ~ q (rate 0)"] < 1.53
    assert data["Gaussian-formula R at D=1.53"] > 0
    assert data["rigorous lower bound at D=1.53"] == 0
    # by how much, exactly: the four certified points, Gaussian channel 14%..260% above
    from rdptheory.gaussian import rdp_kl_forward_upper_bound

    for D, P in ((1.0, 0.5), (0.9, 0.5), (1.1, 0.5), (1.0, 2.0)):
        true = data[f"kl_forward true R at D={D:g}, P={P:g}"]
        upper = rdp_kl_forward_upper_bound(D, P, 1.0, unit="nats")
        assert 0.13 < upper / true - 1 < 2.7
    notes = [d.note for d in result.data if d.label.startswith("kl_forward true R")]
    assert len(notes) == 4 and all("certified gap" in n for n in notes)
    assert "above the certified true R" in result.counterexample


def test_verify_cli(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert cli_main(["verify", "--quick", "--only", "dp_closed_form", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dp_closed_form" in printed and "HOLDS" in printed
    assert json.loads(out.read_text())[0]["verdict"] == "HOLDS"
