"""``rdptheory report`` writers on a small report (claims, one experiment, one figure)."""

import json
import sys

import numpy as np

from rdptheory.cli import _report
from rdptheory.codec import GaussianCodec
from rdptheory.experiments.traversal import run_codec
from rdptheory.figures import make_all
from rdptheory.proofs_check import run_all


def _small_report(tmp_path):
    rep = _report._Report(tmp_path, quick=True)
    rep.verify.extend(run_all(quick=True, only=["dp_closed_form"]))
    x = np.random.default_rng(0).standard_normal((5, 2))
    rep.traversal.extend(run_codec("overhead", "white d=2", GaussianCodec([1.0, 1.0], 0.5), x,
                                   rhos=(1.0, 2.0), perception=0.01))
    rep.figures.extend(make_all(tmp_path / "figures", quick=True, only=["rdp_surface"]))
    rep.timings["total"] = 1.0
    return rep


def test_writers(tmp_path, monkeypatch):
    rep = _small_report(tmp_path)
    monkeypatch.setitem(sys.modules, "rdptheory.experiments.image_report", None)  # -> a note
    _report._images(rep)
    assert rep.notes and "image section skipped" in rep.notes[0]
    paths = _report.write_all(rep)
    assert [p.name for p in paths] == ["report.json", "index.html", "report.md"]
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["verify"][0]["claim_id"] == "dp_closed_form" and doc["verify"][0]["ok"]
    assert len(doc["traversal"]) == 3
    point = doc["traversal"][0]["point"]
    assert point["rate_bits"] == 8 * point["file_bytes"] / 5
    assert doc["figures"][0]["png"] == "figures/rdp_surface.png"
    html = (tmp_path / "index.html").read_text()
    assert "<img src='figures/rdp_surface.png'" in html and "FMM21 alpha" in html
    md = (tmp_path / "report.md").read_text()
    assert "| dp_closed_form | HOLDS |" in md and "image section skipped" in md


def test_image_section_falls_back_to_the_torch_free_model_with_a_note(tmp_path, monkeypatch):
    rep = _report._Report(tmp_path, quick=True)
    from rdptheory.models import DEFAULT_MODEL_NAME

    assert _report._image_model(rep).name == DEFAULT_MODEL_NAME and not rep.notes
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    model = _report._image_model(rep)
    assert model.name.startswith("patch-gmm") and "shift" in model.name, model.name
    (note,) = rep.notes
    assert "rdptheory[images,torch]" in note and "use gmm-shift instead" in note
