"""benchmarks/cli_startup.py runs end to end on a 16×16 crop (this tree only); timings are never
asserted, only the rows' structure and the facts they record (the default model's start-up
imports neither diffusers nor torch._dynamo; the decoded pixels are the same in every row)."""

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "cli_startup.py"


@pytest.mark.slow
def test_cli_startup_benchmark_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_cli_startup", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "rows.json"
    assert bench.main(["--size", "16", "--bpp", "1", "--repeats", "1", "--threads", "1",
                       "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {r["row"]: r for r in result["rows"]}
    assert set(rows) == {"startup", "compress", "decompress", "decode_in_process"}
    assert not rows["startup"]["diffusers_imported"] and not rows["startup"]["dynamo_imported"]
    assert rows["compress"]["bytes"] > 0 and rows["compress"]["codec_s"] > 0
    assert all(r["cpu_s"] > 0 for r in result["rows"] if "cpu_s" in r)
    assert result["checks"]["files_equal"] and result["checks"]["pixels_equal"]
