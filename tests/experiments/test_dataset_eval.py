"""Dataset evaluation: sharding under a torchrun-style 2-process gloo launch gives the same
merged results as one process, and a run killed mid-way resumes with every item exactly once."""

import json
import os
import socket
import subprocess
import sys

import pytest
from PIL import Image

from rdptheory.data import bundled_image
from rdptheory.experiments import dataset_eval as de
from rdptheory.images.codec import CodecConfig

pytest.importorskip("torch")
CODEC = CodecConfig(t_max=3.0, t_min=1.0, n_levels=4, backend="numpy")
# The tiled patch GMM, named: these tests are about sharding and resuming, not the model (the
# default UNet made the two-process test take 42 s instead of 27 s, loaded box).
SETTINGS = de.EvalSettings("patch-gmm", "noise_var", (4.0, 1.0), (1.0, 2.0), codec=CODEC,
                           ode_steps=2)
ARGS = ["--model", "patch-gmm", "--noise-var", "4", "1", "--rho", "1", "2", "--t-max", "3",
        "--t-min", "1", "--levels", "4", "--backend", "numpy", "--ode-steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("kodak")
    px = bundled_image("coffee").pixels
    for i in range(2):
        Image.fromarray(px[100 + 16 * i:116 + 16 * i, 200:216]).save(d / f"im{i}.png")
    return d


@pytest.fixture(scope="module")
def single(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    stats = de.run(folder, SETTINGS, out, workers=1, verbose=False)
    assert (stats.computed, stats.skipped, stats.shard_items) == (8, 0, 8)
    return out


def test_items_and_shards_are_deterministic(folder):
    imgs = de.load_dataset(folder)
    items = de.work_items(imgs, SETTINGS)
    assert len(items) == 8 and len({it.key for it in items}) == 8
    assert items == de.work_items(imgs, SETTINGS)
    parts = [de.shard(items, r, 3) for r in range(3)]
    assert sorted(it.key for p in parts for it in p) == sorted(it.key for it in items)
    with pytest.raises(ValueError):
        de.shard(items, 3, 3)
    other = de.EvalSettings("patch-gmm", "noise_var", (4.0, 1.0), (1.0, 2.0), seed=1, codec=CODEC,
                            ode_steps=2)
    assert not {it.key for it in items} & {it.key for it in de.work_items(imgs, other)}


def test_rank_from_launchers(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(k, raising=False)
    assert de.rank_and_world() == (0, 1)
    monkeypatch.setenv("SLURM_PROCID", "2")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    assert de.rank_and_world() == (2, 4)
    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="launcher"):
        de.rank_and_world()


def test_merged_outputs(single):
    res = json.loads((single / "results.json").read_text())
    assert len(res["results"]["bpp"]) == 4  # 2 targets x 2 rhos
    perc = json.loads((single / "perceptual.json").read_text())
    assert perc["skipped_metrics"] == {}  # nothing requested in-process
    assert (single / "rate_distortion.png").is_file() and (single / "bd_rate.csv").is_file()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_run_equals_one_process(folder, single, tmp_path):
    out = tmp_path / "dist"
    port = str(_free_port())
    procs = []
    for rank in range(2):  # exactly the environment torchrun --nproc-per-node 2 sets
        env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
        for k in ("RDPTHEORY_LPIPS_WEIGHTS", "RDPTHEORY_DISTS_WEIGHTS",
                  "RDPTHEORY_INCEPTION_WEIGHTS", de.FAIL_AFTER_ENV):
            env.pop(k, None)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "rdptheory", "eval-dataset", str(folder), str(out), *ARGS],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    logs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert "4 items, 4 computed" in logs[0][1] and "4 items, 4 computed" in logs[1][1]
    assert "skipping lpips" in logs[0][1]  # no weights: said, and skipped
    assert de.strip_times((out / "results.json").read_text()) == de.strip_times(
        (single / "results.json").read_text())


def test_killed_run_resumes_with_every_item_once(folder, single, tmp_path, monkeypatch):
    out = tmp_path / "resume"
    monkeypatch.setenv(de.FAIL_AFTER_ENV, "3")
    with pytest.raises(RuntimeError, match="after 3 items"):
        de.run(folder, SETTINGS, out, workers=1, verbose=False)
    assert len(list((out / "items").glob("*.json"))) == 3
    with pytest.raises(ValueError, match="not done"):
        de.run(folder, SETTINGS, out, merge_only=True)
    monkeypatch.delenv(de.FAIL_AFTER_ENV)
    stats = de.run(folder, SETTINGS, out, workers=1, verbose=False)
    assert (stats.computed, stats.skipped) == (5, 3)
    files = sorted(p.stem for p in (out / "items").glob("*.json"))
    keys = sorted(it.key for it in de.work_items(de.load_dataset(folder), SETTINGS))
    assert files == keys  # every item exactly once
    assert de.strip_times((out / "results.json").read_text()) == de.strip_times(
        (single / "results.json").read_text())
    again = de.run(folder, SETTINGS, out, workers=1, verbose=False)
    assert (again.computed, again.skipped) == (0, 8)


def test_settings_validation():
    with pytest.raises(ValueError, match="target_kind"):
        de.EvalSettings(None, "psnr", (1.0,), (1.0,))
    with pytest.raises(ValueError, match="rhos"):
        de.EvalSettings(None, "bpp", (1.0,), (-1.0,))
    with pytest.raises(ValueError, match="targets"):
        de.EvalSettings(None, "bpp", (), (1.0,))
    with pytest.raises(TypeError, match="CodecConfig"):
        de.EvalSettings(None, "bpp", (1.0,), (1.0,), codec={"t_max": 3.0})
