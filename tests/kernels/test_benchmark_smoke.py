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


def test_rcc_kernel_benchmark_row_smoke():
    """benchmarks/rcc_kernel.py's before/after row, this tree's kernel on both sides (no git)."""
    import pytest

    from rdptheory.kernels import available_backends

    if "numba" not in available_backends():
        pytest.skip("numba not installed")
    from rdptheory.kernels import _numba_kernels

    path = BENCH.with_name("rcc_kernel.py")
    spec = importlib.util.spec_from_file_location("bench_rcc_kernel", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    row = bench.kernel_row(_numba_kernels, _numba_kernels, 8, 3, 2, repeats=1)
    assert row["candidate_dims"] == 2 * 2**3 * 8 and row["identical"]
    assert row["new_cand_dims_per_cpu_s"] > 0 and row["speedup_cpu"] > 0
