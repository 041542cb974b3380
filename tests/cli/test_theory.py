"""The ``rdptheory rd | rdp | drp | rdp-vector | drp-vector | dp-awgn | score-scaled`` commands."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from rdptheory.cli import main
from rdptheory.gaussian import (
    dp_awgn,
    drp,
    drp_vector_solution,
    rdp,
    rdp_vector_solution,
    score_scaled_gap,
    score_scaled_point,
)


def test_rdp_text(capsys):
    assert main(["rdp", "--distortion", "0.5", "-P", "0.01", "--variance", "1",
                 "--perception", "w2sq"]) == 0
    out = capsys.readouterr().out.strip()
    expected = rdp(0.5, 0.01, 1.0)
    assert out == f"variance=1  D=0.5  P=0.01 (w2sq)  R={expected:.12g} bits  [both_active]"


def test_rdp_json_lists_broadcast(capsys):
    argv = ["rdp", "--distortion", "0.3,0.5,1.2", "--perception-budget", "0.01", "--variance",
            "2", "--perception", "kl_reverse", "--unit", "nats", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "rdp" and doc["unit"] == "nats" and doc["perception"] == "kl_reverse"
    assert [p["mse"] for p in doc["points"]] == [0.3, 0.5, 1.2]
    for p in doc["points"]:
        assert p["rate_nats"] == rdp(p["mse"], 0.01, 2.0, perception="kl_reverse", unit="nats")
    assert [p["regime"] for p in doc["points"]] == ["perception_inactive", "both_active",
                                                   "both_active"]


def test_drp_json(capsys):
    assert main(["drp", "--rate", "1", "-P", "0", "--variance", "1", "--json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["rate_bits"] == 1.0 and point["regime"] is None
    assert point["mse"] == drp(1.0, 0.0, 1.0)
    assert point["mse"] == pytest.approx(2 * (1 - math.sqrt(0.75)), rel=1e-15)


def test_rd_text(capsys):
    assert main(["rd", "--distortion", "0.25", "--variance", "1"]) == 0
    assert capsys.readouterr().out.strip() == "variance=1  D=0.25  R=1 bits"


def test_invalid_value_is_reported(capsys):
    assert main(["rd", "--distortion", "-1", "--variance", "1"]) == 2
    assert "D must be > 0" in capsys.readouterr().err


def test_measure_flag_is_gone_perception_names_the_measure(capsys):
    # one word, one meaning: --perception is the measure, -P/--perception-budget the number
    with pytest.raises(SystemExit):
        main(["rdp", "--distortion", "0.5", "--perception", "0.01", "--variance", "1"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["rdp", "--distortion", "0.5", "-P", "0.01", "--variance", "1", "--measure", "w2sq"])
    assert "unrecognized arguments: --measure" in capsys.readouterr().err


def test_unknown_measure_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["rdp", "--distortion", "0.5", "-P", "0", "--variance", "1",
              "--perception", "kl"])
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
    assert json.loads(proc.stdout)["points"][0]["rate_bits"] == 1.0


def test_rdp_kl_forward_reports_both_bounds(capsys):
    # THEORY.md §1 example: the Gaussian channel needs ~1e-4 bits at D = 1.53, but the true R
    # (what rdp returns) is 0 there, as is the lower bound; at D = 1.4 both are positive.
    argv = ["rdp", "--distortion", "1.4,1.53", "-P", "0.11137", "--variance", "1",
            "--perception", "kl_forward", "--json"]
    assert main(argv) == 0
    low, high = json.loads(capsys.readouterr().out)["points"]
    assert high["rate_lower_bound_bits"] == 0.0 and high["rate_bits"] == 0.0
    assert 0.0 < low["rate_lower_bound_bits"] <= low["rate_bits"]
    assert main(argv[:-1]) == 0
    assert "(true R, solver table; R >= 0)" in capsys.readouterr().out


def test_rdp_other_measures_have_no_lower_bound_field_value(capsys):
    assert main(["rdp", "--distortion", "0.5", "-P", "0.1", "--variance", "1",
                 "--json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["rate_lower_bound_bits"] is None


LAM = [1.0, 0.25, 0.04]


def test_rdp_vector_json_matches_solver(capsys):
    argv = ["rdp-vector", "--distortion", "0.5,1", "-P", "0.01", "--variances",
            "1,0.25,0.04", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "rdp-vector" and doc["unit"] == "bits" and doc["variances"] == LAM
    for point, D in zip(doc["points"], [0.5, 1.0]):
        sol = rdp_vector_solution(D, 0.01, LAM)
        assert point["rate_bits"] == sol.rate_bits and point["mse"] == sol.mse
        assert point["regime"] == sol.regime == "both_active"
        assert point["kkt_residual"] == sol.kkt_residual < 1e-12


def test_rdp_vector_text(capsys):
    argv = ["rdp-vector", "--distortion", "0.5", "-P", "1", "--variances", "1,1",
            "--unit", "nats"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip()
    # white, P above the water-filling threshold: R = 2 · ½ log(1/0.25) = log 4 nats
    assert out.startswith(f"D=0.5  P=1 (w2sq)  R={math.log(4.0):.12g} nats  "
                          "[perception_inactive]  kkt=")


def test_drp_vector_json_inverts(capsys):
    argv = ["drp-vector", "--rate", "2", "-P", "0,0.01", "--variances", "1,0.25,0.04",
            "--json"]
    assert main(argv) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [p["regime"] for p in points] == ["perfect_perception", "both_active"]
    for point, P in zip(points, [0.0, 0.01]):
        assert point["mse"] == drp_vector_solution(2.0, P, LAM).mse
        assert point["rate_bits"] == pytest.approx(2.0, rel=1e-14)


def test_vector_broadcast_error_names_arguments(capsys):
    argv = ["rdp-vector", "--distortion", "0.5,1,2", "-P", "0.01,0.2", "--variances",
            "1"]
    assert main(argv) == 2
    assert "D, P must broadcast together" in capsys.readouterr().err


def test_dp_awgn_text_and_json(capsys):
    argv = ["dp-awgn", "-P", "0,0.01", "--variances", "1,0.25", "--noise-var", "0.5"]
    assert main(argv) == 0
    header, *lines = capsys.readouterr().out.strip().splitlines()
    ref = dp_awgn([0.0, 0.01], [1.0, 0.25], 0.5)
    assert header == f"MMSE D*={ref.mmse:.12g}  W2sq(p_X, p_X*)={ref.perception_value_mmse:.12g}"
    assert len(lines) == 2 and lines[0].startswith(f"P=0 (w2sq)  D={ref.mse[0]:.12g}  alpha=1  ")
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mmse"] == ref.mmse == 0.5 and doc["noise_var"] == 0.5
    assert [p["mse"] for p in doc["points"]] == ref.mse.tolist()
    assert [p["gain"] for p in doc["points"]] == ref.gain.tolist()


def test_dp_awgn_shaped_noise_shape_error(capsys):
    argv = ["dp-awgn", "-P", "0", "--variances", "1,0.25", "--noise-var", "0.5,1,2"]
    assert main(argv) == 2
    assert "noise_var must be a scalar or have shape (2,)" in capsys.readouterr().err


def test_score_scaled_json(capsys):
    argv = ["score-scaled", "--variances", "1,0.25", "--noise-var", "0.5", "--rho", "1,1.5,2",
            "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    rho = [1.0, 1.5, 2.0]
    ref = score_scaled_point([1.0, 0.25], 0.5, rho)
    gap = score_scaled_gap([1.0, 0.25], 0.5, rho)
    assert [p["rho"] for p in doc["points"]] == rho
    assert [p["mse"] for p in doc["points"]] == ref.mse.tolist()
    assert [p["rate_gap_bits"] for p in doc["points"]] == gap.tolist()
    assert all(p["rate_bits"] == ref.rate_bits for p in doc["points"])
    assert doc["points"][0]["perception_value"] == 0.0
    assert min(gap) > 0.0  # non-white: above R(D, P)


def test_score_scaled_text_white_gap_zero(capsys):
    argv = ["score-scaled", "--variances", "1", "--noise-var", "1", "--rho", "2", "--unit", "nats"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"rho=2  R={0.5 * math.log(2.0):.12g} nats  D=0.5  W2sq=")
    gap = float(out.split("R-R(D,P)=")[1].split()[0])
    assert abs(gap) < 1e-12
