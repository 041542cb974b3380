"""``rdptheory report``: stages in worker processes give the in-process numbers; the encodes
shared by the traversal and the measured_rdp figure are the same files."""

import numpy as np
import pytest

from rdptheory.cli import _report
from rdptheory.codec import GaussianCodec
from rdptheory.experiments import traversal
from rdptheory.experiments.traversal import encode, shared_encodes
from rdptheory.figures import measured_rdp


def test_units_cover_every_stage_once_and_keep_the_shared_encodes_together(tmp_path):
    labels = [lb for lb, _ in _report._tasks(_report._Report(tmp_path, False), True)]
    units = _report._units(labels)
    flat = [lb for u in units for lb in u]
    assert sorted(flat) == sorted(labels) and len(flat) == len(set(flat))
    assert _report.SHARED_ENCODE_GROUP in units
    cost = [sum(_report._COST_HINT.get(lb, 3.0) for lb in u) for u in units]
    assert cost == sorted(cost, reverse=True) and units[0] == _report.SHARED_ENCODE_GROUP
    with pytest.raises(ValueError, match="jobs"):
        _report.run_stages(_report._Report(tmp_path, True), ["verify"], jobs=0)
    with pytest.raises(ValueError, match="unknown report stage"):
        _report.run_stages(_report._Report(tmp_path, True), ["figure: nope"])


def test_two_workers_give_the_in_process_numbers(tmp_path):
    stages = ["traversal: i^-2 isotropic", "figure: rdp_surface"]
    reps = {}
    for jobs in (1, 2):
        rep = reps[jobs] = _report._Report(tmp_path / f"j{jobs}", True)
        _report.run_stages(rep, stages, images=False, jobs=jobs, progress=False)
        assert rep.jobs == jobs and set(rep.timings) == set(rep.cpu) == set(stages)
    one, two = reps[1], reps[2]
    assert [r.point for r in one.traversal] == [r.point for r in two.traversal]
    assert len(one.traversal) == 2  # rho = 1.5 and the [FMM21] decoder
    assert [f.name for f in one.figures] == [f.name for f in two.figures] == ["rdp_surface"]
    csv1, csv2 = (r.figures[0].csv.read_text() for r in (one, two))
    assert csv1 == csv2 and len(csv1.splitlines()) > 2
    assert set(two.process.values()) <= {0, 1}


def test_shared_encode_returns_the_first_encode_and_only_inside_the_block(monkeypatch):
    calls = []
    real = GaussianCodec.compress

    def counting(self, x):
        calls.append(self.seed)
        return real(self, x)

    monkeypatch.setattr(GaussianCodec, "compress", counting)
    x = np.random.default_rng(1).standard_normal((5, 2))
    codec = lambda seed: GaussianCodec([1.0, 2.0], 0.5, seed=seed)
    with shared_encodes():
        data, sec = encode(codec(3), x)
        assert encode(codec(3), x.copy()) == (data, sec) and calls == [3]  # equal state: shared
        assert encode(codec(4), x)[0] != data and calls == [3, 4]  # another seed: encoded
        assert encode(codec(3), x[:4])[0] != data and calls == [3, 4, 3]  # other rows
        assert data == real(codec(3), x)
    assert encode(codec(3), x)[0] == data and calls == [3, 4, 3, 3]  # outside: no memo
    with pytest.raises(TypeError, match="GaussianCodec"):
        encode(object(), x)


def test_measured_rdp_encodes_the_traversals_white_d8_files(monkeypatch):
    """The figure's 1 bit/dim one-shot and progressive files are the traversal's (full
    settings; nothing is encoded here: the encode calls are recorded)."""
    seen = {}

    def record(name):
        def fake(experiment, source, codec, x, **kwargs):
            seen[name] = traversal._encode_key(codec, x)
            return []
        return fake

    monkeypatch.setattr(traversal, "run_codec", record("one-shot"))
    monkeypatch.setattr(traversal, "run_progressive", record("progressive"))
    thunks = dict(traversal.default_traversal(quick=False))
    thunks["white d=8 traversal"]()
    thunks["progressive"]()
    figure_keys = []
    monkeypatch.setattr(measured_rdp, "encode", lambda codec, x: (
        figure_keys.append(traversal._encode_key(codec, x)) or (b"", 0.0)))
    monkeypatch.setattr(measured_rdp, "_row", lambda *args: None)
    monkeypatch.setattr(measured_rdp, "record_boundaries", lambda data: [0])
    measured_rdp.measure(*measured_rdp.SETTINGS[False])
    assert len(figure_keys) == 5 and len(set(figure_keys)) == 5
    assert figure_keys[2] == seen["one-shot"] and figure_keys[4] == seen["progressive"]
