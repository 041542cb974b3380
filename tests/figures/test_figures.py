"""Smoke tests: every figure script runs at tiny size and writes CSV, PNG and PDF."""

import csv

import pytest

from rdptheory.cli import main as cli_main
from rdptheory.figures import FIGURES, make_all

FAST = ("rdp_surface", "dp_curves", "nonwhite_gap")
SLOWER = ("measured_rdp", "code_length", "gmm_mmse_gap", "solver_rdp", "nonwhite_gap_images")


@pytest.mark.parametrize("name", FAST + SLOWER)
def test_figure_smoke(tmp_path, name):
    (fig,) = make_all(tmp_path, quick=True, only=[name])
    assert fig.name == name
    for path in (fig.csv, fig.png, fig.pdf):
        assert path.exists() and path.stat().st_size > 0
    assert fig.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.pdf.read_bytes()[:5] == b"%PDF-"
    with fig.csv.open() as fh:
        rows = list(csv.reader(fh))
    assert len(rows) >= 3 and all(len(r) == len(rows[0]) for r in rows)


def test_registry_and_cli(tmp_path):
    assert set(FAST + SLOWER) == set(FIGURES)
    with pytest.raises(ValueError, match="figure must be one of"):
        make_all(tmp_path, only=["nope"])
    assert cli_main(["figures", "--out", str(tmp_path), "--quick", "--only", "rdp_surface"]) == 0
    assert (tmp_path / "rdp_surface.png").exists()
