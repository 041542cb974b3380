"""rdptheory._io: atomic writes and the up-front output checks (issue 9)."""

import os

import pytest

from rdptheory._io import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_input_file,
    check_output_dir,
    check_output_path,
    staged_files,
)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"one")
    os.chmod(target, 0o640)
    atomic_write_text(target, "two")
    assert target.read_bytes() == b"two"
    assert (target.stat().st_mode & 0o777) == 0o640
    assert _names(tmp_path) == ["f.bin"]
    with pytest.raises(TypeError, match="bytes"):
        atomic_write_bytes(target, "text")  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_crash_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path, error):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(error):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".png"  # writers pick the format
            tmp.write_bytes(b"half a fi")
            raise error()
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == ["out.png"]
    with pytest.raises(error):
        with atomic_path(tmp_path / "new.png") as tmp:
            tmp.write_bytes(b"half")
            raise error()
    assert _names(tmp_path) == ["out.png"]


def test_writes_through_a_symlink_land_in_its_target(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
    atomic_write_text(tmp_path / "link.txt", "new")
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "new"
    os.symlink(tmp_path / "later.txt", tmp_path / "dangling.txt")
    assert check_output_path(tmp_path / "dangling.txt") == tmp_path / "dangling.txt"
    atomic_write_text(tmp_path / "dangling.txt", "created")
    assert (tmp_path / "later.txt").read_text() == "created"


def test_atomic_path_refuses_devices_and_folders(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        atomic_write_bytes(tmp_path, b"x")
    if os.path.exists("/dev/full"):
        with pytest.raises(IsADirectoryError, match="not a regular file"):
            atomic_write_bytes("/dev/full", b"x")
        assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")


def test_check_output_path(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(b"photo")
    os.symlink(src, tmp_path / "sym.png")
    os.link(src, tmp_path / "hard.png")
    for alias in (src, tmp_path / "sym.png", tmp_path / "hard.png",
                  tmp_path / "." / "in.png"):
        with pytest.raises(FileExistsError, match="is the input file"):
            check_output_path(alias, [src], force=True)
    with pytest.raises(FileExistsError, match="--force"):
        check_output_path(tmp_path / "hard.png", [], force=False)
    assert check_output_path(tmp_path / "hard.png", [], force=True) == tmp_path / "hard.png"
    assert check_output_path(tmp_path / "new.rdp", [src]) == tmp_path / "new.rdp"
    with pytest.raises(IsADirectoryError):
        check_output_path(tmp_path, [src], force=True)
    with pytest.raises(FileNotFoundError, match="create it first"):
        check_output_path(tmp_path / "no" / "o.rdp")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        check_output_path(src / "o.rdp")
    if os.path.exists("/dev/full"):
        with pytest.raises(FileExistsError, match="not a regular file"):
            check_output_path("/dev/full", force=True)
    assert src.read_bytes() == b"photo"
    assert _names(tmp_path) == ["hard.png", "in.png", "sym.png"]  # the probe file is gone


def test_check_input_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_input_file(tmp_path / "x")
    with pytest.raises(IsADirectoryError, match="directory"):
        check_input_file(tmp_path)
    (tmp_path / "x").write_text("1")
    assert check_input_file(tmp_path / "x") == tmp_path / "x"


def test_check_output_dir(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(NotADirectoryError):
        check_output_dir(tmp_path / "file" / "sub")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "results.json").write_text("{}")
    with pytest.raises(FileExistsError, match="results.json.*--force"):
        check_output_dir(tmp_path / "ev", ["results.json"])
    assert check_output_dir(tmp_path / "ev", ["results.json"], force=True) == tmp_path / "ev"
    assert check_output_dir(tmp_path / "ev", ["other.json"]) == tmp_path / "ev"
    with pytest.raises(FileExistsError, match="--force"):  # any file counts without names
        check_output_dir(tmp_path / "ev")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()
    with pytest.raises(FileExistsError, match="holds the input"):
        check_output_dir(tmp_path, inputs=[tmp_path / "file"], force=True)


def test_staged_files_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    with staged_files(out) as stage:
        (stage / "a.png").write_bytes(b"a")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.csv").write_text("b")
    assert _names(out) == ["a.png", "sub"] and (out / "sub" / "b.csv").read_text() == "b"
    with pytest.raises(KeyboardInterrupt):
        with staged_files(out) as stage:
            (stage / "a.png").write_bytes(b"new")
            raise KeyboardInterrupt
    assert (out / "a.png").read_bytes() == b"a" and _names(out) == ["a.png", "sub"]
