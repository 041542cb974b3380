"""Smoke test of benchmarks/closed_forms.py at tiny sizes (timings are not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "closed_forms.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("closed_forms_benchmark", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_at_tiny_sizes(bench) -> None:
    scalar = bench.scalar_rows(1000, 1)
    assert [name for name, _, _ in scalar] == [
        "rdp scalar, perception=w2sq", "rdp scalar, perception=kl_reverse",
        "rdp scalar, perception=kl_forward", "drp scalar, perception=w2sq",
    ]  # fmt: skip
    assert all(points == 1000 and seconds > 0 for _, points, seconds in scalar)
    assert bench.water_filling_row(100, 1)[:2] == ("rate_distortion_vector, n=100", 100)
    rows = bench.vector_rows([10], 1)
    assert [case for _, case, _, _, _ in rows] == list(bench.CASES)
    assert all(n == 10 and cert < 1e-10 for n, _, _, cert, _ in rows)


def test_main_quick_prints_tables(bench, capsys, monkeypatch) -> None:
    row = ("rdp scalar, perception=w2sq", 10_000, 1.0)
    monkeypatch.setattr(bench, "scalar_rows", lambda n, r: [row[:1] + (n,) + row[2:]])
    monkeypatch.setattr(bench, "water_filling_row", lambda n, r: ("wf", n, 1.0))
    monkeypatch.setattr(bench, "vector_rows", lambda sizes, r: [(sizes[0], "P = 0", 1.0, 0.0, 2.0)])
    assert bench.main(["--quick", "--repeat", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["rdp", "scalar,", "perception=w2sq", "10000", "1000.0", "100000.0"]
    assert out[-1].split() == ["P", "=", "0", "10", "1.00", "0.0e+00", "2.00"]


def test_vector_batch_benchmark_at_tiny_size(capsys) -> None:
    path = PATH.parent / "vector_batch.py"
    spec = importlib.util.spec_from_file_location("vector_batch_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run(40, 10, n=5)
    assert [r[1] for r in rows] == [40, 10, 40, 10]
    assert rows[0][3] < 1e-12 and rows[2][3] < 1e-12  # batch = per-point
    assert module.main(["--points", "20", "--old-points", "4", "--n", "3"]) == 0
    assert "rdp_vector batch (n=3)" in capsys.readouterr().out
