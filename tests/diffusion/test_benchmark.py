"""Smoke test of benchmarks/decoder.py at tiny size (the script, not its timings)."""

import importlib.util
from pathlib import Path

import numpy as np
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


def _load_image_codec_bench():
    path = SCRIPT.parent / "image_codec.py"
    spec = importlib.util.spec_from_file_location("bench_image_codec", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_codec_rows_count_calls_and_replay_reproduces_the_state():
    """benchmarks/image_codec.py --codec-rows at 16x16 with the tiled GMM: the decoder's model
    calls are the replay's (steps - 1) plus the ODE's (Heun 2N - 1, exp2 N), the full decode
    equals the ODE from the encoder's state (asserted inside), and the equal-noise ladder ends
    at the requested level."""
    bench = _load_image_codec_bench()
    rows = bench.codec_rows("gmm", 16, 2.0, [12], 0.5,
                            decoders=(("heun", 3), ("exp2", 4)), level_decoders=(("exp2", 2),),
                            backend="numpy")
    assert [r["job"] for r in rows] == ["bpp", "levels12"]
    for row in rows:
        assert row["encode_model_calls"] >= row["steps"] - 1
        for key, dec in row["decoders"].items():
            n = int(key[4:])
            assert dec["ode_calls"] == (2 * n - 1 if key.startswith("heun") else n)
            assert dec["decode_calls"] == row["steps"] - 1 + dec["ode_calls"]
    lev = rows[1]
    d = bench.CodecConfig()
    k = round(11 * np.log(d.t_max / 0.5) / np.log(d.t_max / d.t_min)) + 1  # 12-level density
    assert lev["n_levels"] == k and lev["steps"] == k and lev["t_max"] == d.t_max
    assert abs(lev["final_t"] - 0.5) < 1e-6
