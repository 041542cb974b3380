"""Smoke test of benchmarks/decoder.py at tiny size (the script, not its timings)."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "decoder.py"


def test_timing_table_runs_and_agrees_with_closed_form(capsys):
    spec = importlib.util.spec_from_file_location("bench_decoder", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.timing_table(steps=16, repeats=1, quick=True, threads=1)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert len(rows) == 9  # 3 sources x (numpy f64, torch f64, torch f32)
    # last column: max |ODE - closed form|; 16 Heun steps at noise_var 0.5 are within 1e-2
    assert all(0.0 <= float(r[-1]) < 1e-2 for r in rows), rows
