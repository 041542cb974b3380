"""What every figure script shares: panel labels, layout and saving; the command line."""

from pathlib import Path

from rdptheory.experiments import style


def test_finish_labels_panels_in_order_and_writes_png_and_pdf(tmp_path):
    csv_path = style.write_csv(tmp_path / "f.csv", ("x", "y"), [(0.5, 1), (1.0, 2)])
    assert csv_path.read_text().splitlines() == ["x,y", "0.5,1", "1,2"]
    with style.paper_style() as plt:
        fig, axes = plt.subplots(1, 3)
        out = style.finish(fig, tmp_path, "f", "a title", csv_path, panels=axes, w_pad=1.0)
    assert [[t.get_text() for t in ax.texts] for ax in axes] == [["(a)"], ["(b)"], ["(c)"]]
    assert out == style.FigureOutput("f", "a title", csv_path, tmp_path / "f.png",
                                     tmp_path / "f.pdf")
    assert out.png.read_bytes()[:4] == b"\x89PNG" and out.pdf.read_bytes()[:4] == b"%PDF"


def test_run_script_passes_the_folder_and_quick_flag(capsys):
    calls = []

    def main(out_dir, *, quick=False):
        calls.append((out_dir, quick))
        return "done"

    style.run_script(main, ["--out", "somewhere", "--quick"])
    style.run_script(main, [])
    assert calls == [(Path("somewhere"), True), (Path("figures_out"), False)]
    assert capsys.readouterr().out == "done\ndone\n"
