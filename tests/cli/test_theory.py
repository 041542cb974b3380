"""The ``rdptheory rd | rdp | drp`` sub-commands (rdptheory/cli/_theory.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from rdptheory.cli import main
from rdptheory.gaussian import drp, rdp


def test_rdp_text(capsys):
    assert main(["rdp", "--distortion", "0.5", "--perception", "0.01", "--variance", "1",
                 "--measure", "w2sq"]) == 0
    out = capsys.readouterr().out.strip()
    expected = rdp(0.5, 0.01, 1.0)
    assert out == f"variance=1  D=0.5  P=0.01 (w2sq)  R={expected:.12g} bits  [both_active]"


def test_rdp_json_lists_broadcast(capsys):
    argv = ["rdp", "--distortion", "0.3,0.5,1.2", "--perception", "0.01", "--variance", "2",
            "--measure", "kl_reverse", "--unit", "nats", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "rdp" and doc["unit"] == "nats" and doc["measure"] == "kl_reverse"
    assert [p["distortion"] for p in doc["points"]] == [0.3, 0.5, 1.2]
    for p in doc["points"]:
        assert p["rate"] == rdp(p["distortion"], 0.01, 2.0, perception="kl_reverse", unit="nats")
    assert [p["regime"] for p in doc["points"]] == ["perception_inactive", "both_active",
                                                   "both_active"]


def test_drp_json(capsys):
    assert main(["drp", "--rate", "1", "--perception", "0", "--variance", "1", "--json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["rate"] == 1.0 and point["regime"] is None
    assert point["distortion"] == drp(1.0, 0.0, 1.0)
    assert point["distortion"] == pytest.approx(2 * (1 - math.sqrt(0.75)), rel=1e-15)


def test_rd_text(capsys):
    assert main(["rd", "--distortion", "0.25", "--variance", "1"]) == 0
    assert capsys.readouterr().out.strip() == "variance=1  D=0.25  R=1 bits"


def test_invalid_value_is_reported(capsys):
    assert main(["rd", "--distortion", "-1", "--variance", "1"]) == 2
    assert "D must be > 0" in capsys.readouterr().err


def test_unknown_measure_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["rdp", "--distortion", "0.5", "--perception", "0", "--variance", "1",
              "--measure", "kl"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_number_is_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["rd", "--distortion", "half", "--variance", "1"])
    assert "comma-separated numbers" in capsys.readouterr().err


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "rdptheory", "rd", "--distortion", "0.25", "--variance", "1",
         "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert json.loads(proc.stdout)["points"][0]["rate"] == 1.0


def test_rdp_kl_forward_reports_both_bounds(capsys):
    # THEORY.md §1 example: the Gaussian channel needs ~1e-4 bits, the lower bound is 0.
    argv = ["rdp", "--distortion", "1.4,1.53", "--perception", "0.11137", "--variance", "1",
            "--measure", "kl_forward", "--json"]
    assert main(argv) == 0
    low, high = json.loads(capsys.readouterr().out)["points"]
    assert high["rate_lower_bound"] == 0.0 and 0.9e-4 < high["rate"] < 1.3e-4
    assert 0.0 < low["rate_lower_bound"] < low["rate"]
    assert main(argv[:-1]) == 0
    assert "Gaussian-channel upper bound; R >= 0)" in capsys.readouterr().out


def test_rdp_other_measures_have_no_lower_bound_field_value(capsys):
    assert main(["rdp", "--distortion", "0.5", "--perception", "0.1", "--variance", "1",
                 "--json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["rate_lower_bound"] is None
