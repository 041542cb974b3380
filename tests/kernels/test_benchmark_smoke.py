"""benchmarks/rcc.py runs (tiny sizes); its numbers are never asserted (PREAMBLE: no timings)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "rcc.py"


def test_benchmark_measure_smoke():
    spec = importlib.util.spec_from_file_location("bench_rcc", BENCH)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_rcc"] = bench  # dataclasses resolve their module
    spec.loader.exec_module(bench)
    row = bench.measure("grid", "numpy", 3, 8, 2, 1)
    assert row.candidate_dims == 2 * 2**3 * 8
    assert np.isfinite(row.cand_dims_per_s) and row.cand_dims_per_s > 0
    assert row.ratio_to_floor > 0
    assert "numpy" in bench.format_row(row)
