"""Issue 9, CLI half: the image commands run by a careless or hostile user, as a subprocess.

Each case runs ``python -m rdptheory …`` exactly as from a shell and checks the contract of
:mod:`rdptheory.cli`: exit status 2, exactly one non-empty line on stderr that starts with
``rdptheory`` and holds no traceback and no numpy repr, and the input file byte-identical
afterwards. Cases refused before any work use images of 16×16 pixels; the whole module runs
in ~30 s on one busy core (most of it interpreter start-up and imports).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rdptheory.images import _format
from rdptheory.images.codec import CodecConfig, compress

FAST = ["--backend", "numpy", "--levels", "4"]


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m rdptheory ARGS`` in ``cwd``, single-threaded, with a 300 s guard."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
                "MPLBACKEND": "Agg", **(env or {})}
    full_env.pop("RDPTHEORY_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "rdptheory", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=300)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, one stderr line ``rdptheory …: error: …`` naming ``needles``; return it."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    (line,) = lines
    assert line.startswith("rdptheory") and ": error: " in line, line
    assert "Traceback" not in proc.stderr and "np.float" not in line
    for needle in needles:
        assert needle in line, line
    return line


@pytest.fixture
def work(tmp_path):
    """A folder with ``a.png`` (16×16 RGB noise); yields (folder, the PNG's bytes)."""
    rng = np.random.default_rng(9)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    return tmp_path, (tmp_path / "a.png").read_bytes()


def _survives(folder: Path, original: bytes) -> None:
    assert (folder / "a.png").read_bytes() == original


def _png(width: int, height: int, idat: bytes) -> bytes:
    """A greyscale 8-bit PNG file with the given IHDR size and raw IDAT payload."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _zeros_png(side: int) -> bytes:
    """A valid side×side PNG of zeros, compressed row by row (never the whole image in RAM)."""
    z = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0 + zero pixels
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return _png(side, side, idat)


# ---- row: compress a.png a.png (also through a symlink or hard link) ---------------------
@pytest.mark.parametrize("link", ["same", "symlink", "hardlink", "same+force"])
def test_output_that_is_the_input_is_refused(work, link):
    folder, original = work
    out = "a.png"
    if link == "symlink":
        os.symlink(folder / "a.png", folder / "alias.png")
        out = "alias.png"
    elif link == "hardlink":
        os.link(folder / "a.png", folder / "alias.png")
        out = "alias.png"
    extra = ["--force"] if link.endswith("force") else []
    proc = run_cli("compress", "a.png", out, "--bpp", "1", *extra, *FAST, cwd=folder)
    assert_clean_error(proc, "is the input file", "choose another output")
    _survives(folder, original)


def test_decompress_onto_its_input_is_refused(work):
    folder, original = work
    proc = run_cli("decompress", "a.png", "a.png", "--force", cwd=folder)
    assert_clean_error(proc, "is the input file")
    _survives(folder, original)


def test_existing_output_needs_force(work):
    folder, original = work
    (folder / "o.rdp").write_bytes(b"keep me")
    proc = run_cli("compress", "a.png", "o.rdp", "--bpp", "1", *FAST, cwd=folder)
    assert_clean_error(proc, "already exists", "--force")
    assert (folder / "o.rdp").read_bytes() == b"keep me"
    _survives(folder, original)


# ---- row: non-image, empty, truncated; directories; /dev/full; missing; unwritable -------
@pytest.mark.parametrize("case, needle", [
    ("text", "not an image"), ("empty", "is empty"), ("truncated", "truncated"),
    ("directory", "is a directory"), ("missing", "does not exist"),
    ("device", "not a regular file"),
])
def test_bad_input_file(work, case, needle):
    folder, original = work
    if case == "device" and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    name = {"directory": "sub", "missing": "nothere.png", "device": "/dev/zero"}.get(
        case, f"{case}.png")
    if case == "text":
        (folder / name).write_text("hello, I am not a PNG")
    elif case == "empty":
        (folder / name).write_bytes(b"")
    elif case == "truncated":
        (folder / name).write_bytes(original[: len(original) // 2])
    elif case == "directory":
        (folder / name).mkdir()
    proc = run_cli("compress", name, "o.rdp", "--bpp", "1", *FAST, cwd=folder)
    assert_clean_error(proc, needle)
    assert not (folder / "o.rdp").exists()
    _survives(folder, original)


def _sys_is_read_only() -> bool:
    try:
        with open("/sys/rdptheory-probe", "wb"):
            pass
    except OSError:
        return os.path.isdir("/sys")
    os.unlink("/sys/rdptheory-probe")
    return False


@pytest.mark.parametrize("case, needle", [
    ("directory", "is a directory"), ("devfull", "not a regular file"),
    ("missing-folder", "does not exist"), ("folder-is-a-file", "not a directory"),
    ("unwritable-folder", "cannot write to the folder"),
])
def test_bad_output_path(work, case, needle):
    folder, original = work
    if case == "unwritable-folder" and not _sys_is_read_only():  # root writes anywhere else
        pytest.skip("needs a read-only /sys")
    (folder / "plainfile").write_text("x")
    out = {"directory": str(folder), "devfull": "/dev/full",
           "missing-folder": "nowhere/o.rdp", "folder-is-a-file": "plainfile/o.rdp",
           "unwritable-folder": "/sys/o.rdp"}[case]
    proc = run_cli("compress", "a.png", out, "--bpp", "1", *FAST, cwd=folder)
    line = assert_clean_error(proc)
    assert needle in line.lower(), line
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "plainfile"]  # no temp files
    _survives(folder, original)


@pytest.mark.parametrize("argv, needle", [
    (["report", "--out", "prev", "--quick"], "already holds report.json; pass --force"),
    (["figures", "--out", "prev", "--quick"], "already holds"),
    (["figures", "--out", "a.png"], "is not a folder"),
])
def test_report_and_figures_do_not_overwrite(work, argv, needle):
    folder, original = work
    (folder / "prev").mkdir()
    (folder / "prev" / "report.json").write_text("{}")
    assert_clean_error(run_cli(*argv, cwd=folder), needle)
    assert _names_in(folder / "prev") == ["report.json"]
    assert (folder / "prev" / "report.json").read_text() == "{}"
    _survives(folder, original)


def _names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- rows: 12000×12000 PNG of zeros, 30000×30000 PNG header -------------------------------
# VmHWM, not getrusage: Linux carries ru_maxrss across fork+exec (the pytest parent's peak)
_PEAK = ("import runpy, sys\n"
         "sys.argv = ['rdptheory', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('rdptheory', run_name='__main__')\n"
         "finally:\n"
         "    hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')]\n"
         "    sys.stdout.write('PEAK_KB=%s' % hwm[0].split()[1])\n")


def _peak_run(folder: Path, image: str, *extra: str) -> tuple[subprocess.CompletedProcess, float]:
    """``rdptheory compress IMAGE o.rdp …`` in a child that reports its peak RSS (MB)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-c", _PEAK, "compress", image, "o.rdp", "--bpp",
                           "1", *extra, *FAST], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc, int(proc.stdout.split("PEAK_KB=")[1]) / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_pixel_limit_refuses_from_the_header(work):
    """12000×12000 zeros (a valid 140-kB PNG) and a 30000×30000 header (Pillow's
    DecompressionBombError) are refused like a 16×16 image over ``--max-pixels 255``, with the
    same peak memory up to 150 MB and under 400 MB in all (decoding the 144-Mpx image alone
    would take 432 MB)."""
    folder, original = work
    (folder / "zeros.png").write_bytes(_zeros_png(12000))
    (folder / "bomb.png").write_bytes(_png(30000, 30000, zlib.compress(bytes(30001))))
    base, base_mb = _peak_run(folder, "a.png", "--max-pixels", "255")
    assert_clean_error(base, "16x16 = 256 pixels, above the pixel limit of 255", "--max-pixels")
    for name, size in (("zeros.png", "12000x12000"), ("bomb.png", "30000x30000")):
        proc, peak_mb = _peak_run(folder, name)
        assert_clean_error(proc, f"{size} = ", "pixel limit of 16777216", "--max-pixels")
        assert peak_mb < min(base_mb + 150, 400), (name, peak_mb, base_mb)
    assert not (folder / "o.rdp").exists()
    _survives(folder, original)


@pytest.mark.parametrize("case", ["device", "oversized"])
def test_decompress_refuses_unbounded_inputs(work, case):
    folder, _ = work
    if case == "device":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        args, needle = ["/dev/zero", "o.png"], "not a regular file"
    else:
        with open(folder / "huge.rdp", "wb") as fh:  # sparse: 4 MB + 1 byte of nothing
            fh.truncate(4 * 1024 * 1024 + 4097)
        args, needle = ["huge.rdp", "o.png", "--max-pixels", str(1024 * 1024)], "bytes, more"
    assert_clean_error(run_cli("decompress", *args, cwd=folder), needle)
    assert not (folder / "o.png").exists()


def test_decompress_refuses_a_header_over_the_pixel_limit(work):
    folder, _ = work
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    data = compress(pixels, bpp=4.0, config=CodecConfig(n_levels=4, backend="numpy"))
    stream = _format.unpack_stream(data)
    head = _format.StreamHeader(**{**stream.header.__dict__, "height": 8000, "width": 8000})
    (folder / "big.rdp").write_bytes(_format.pack_stream(_format.ImageStream(head,
                                                                             stream.payload)))
    proc = run_cli("decompress", "big.rdp", "o.png", "--backend", "numpy", cwd=folder)
    assert_clean_error(proc, "8000x8000", "pixel limit")
    assert not (folder / "o.png").exists()


# ---- rows: --rho 1e308, --chunk-bits 24, and every numeric option -------------------------
@pytest.mark.parametrize("argv, needle", [
    (["decompress", "x.rdp", "o.png", "--rho", "1e308"], "rho must lie in [0, 4]"),
    (["decompress", "x.rdp", "o.png", "--rho", "-1"], "rho must lie in [0, 4]"),
    (["decompress", "x.rdp", "o.png", "--rho", "nan"], "finite"),
    (["decompress", "x.rdp", "o.png", "--ode-steps", "0"], "--ode-steps"),
    (["decompress", "x.rdp", "o.png", "--max-steps", "0"], "--max-steps"),
    (["decompress", "x.rdp", "o.txt"], "image suffix"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--chunk-bits", "24"], "(0, 16] bits"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--chunk-bits", "0"], "(0, 16] bits"),
    (["compress", "a.png", "o.rdp", "--bpp", "0"], "must be > 0, got 0"),
    (["compress", "a.png", "o.rdp", "--bpp", "-0.5"], "must be > 0, got -0.5"),
    (["compress", "a.png", "o.rdp", "--bpp", "inf"], "finite"),
    (["compress", "a.png", "o.rdp", "--bpp", "one"], "expected a number"),
    (["compress", "a.png", "o.rdp", "--noise-var", "0"], "--noise-var"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--levels", "1"], "--levels"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--seed", str(2**63)], "--seed"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--seed", "-1"], "--seed"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--t-max", "0"], "--t-max"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--t-min", "11"], "--t-min must be < --t-max"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--max-pixels", "0"], "--max-pixels"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--backend", "nope"], "backend"),
    (["eval", "--images", "a.png", "--bpp", "1", "--crop", "0"], "--crop"),
    (["eval", "--images", "a.png", "--bpp", "1", "--limit", "0"], "--limit"),
    (["eval", "--images", "a.png", "--bpp", "1", "--rho", "5"], "rho must lie"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--shaping-ladder", "mse"],
     "--shaping-ladder applies to shaped noise: add --noise shaped"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--noise", "shaped", "--shaping-ladder",
      "mse", "--perception-budget", "0.5"], "--perception-budget applies to the perception"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--noise", "shaped", "--perception-budget",
      "-1"], "must be >= 0, got -1"),
    (["compress", "a.png", "o.rdp", "--bpp", "1", "--noise", "shaped", "--model", "gmm-shift"],
     "cannot code shaped noise"),
    (["eval", "--images", "a.png", "--bpp", "1", "--shaping-basis", "dct"],
     "--shaping-basis applies to shaped noise"),
])
def test_numeric_options_are_checked(work, argv, needle):
    folder, original = work
    (folder / "x.rdp").write_bytes(b"RDPI")
    assert_clean_error(run_cli(*argv, cwd=folder), needle)
    assert not (folder / "o.rdp").exists() and not (folder / "o.png").exists()
    _survives(folder, original)


# ---- rows: eval --crop 0, eval --out EXISTING_FILE, eval --limit 1 ------------------------
@pytest.mark.parametrize("case, needle", [
    ("out-is-a-file", "is not a folder"), ("out-has-results", "--force"),
    ("one-patch", "at least 2 patches"),
])
def test_eval_checks_before_computing(work, case, needle):
    folder, original = work
    (folder / "imgs").mkdir()
    (folder / "imgs" / "a.png").write_bytes(original)
    (folder / "done").mkdir()
    (folder / "done" / "results.json").write_text("{}")
    out, extra = {"out-is-a-file": ("a.png", []), "out-has-results": ("done", []),
                  "one-patch": ("ev", ["--limit", "1", "--crop", "8"])}[case]
    proc = run_cli("eval", "--images", "imgs", "--bpp", "1", "--out", out, *extra, *FAST,
                   cwd=folder)
    assert_clean_error(proc, needle)
    assert (folder / "done" / "results.json").read_text() == "{}"
    assert not (folder / "ev").exists()
    _survives(folder, original)


# ---- row: package folder and $HOME not writable: numba cache falls back ------------------
_NUMBA_CHILD = (
    "import numpy as np\n"
    "from numba.core import config\n"
    "from rdptheory.kernels import _numba_kernels as k\n"
    "from rdptheory.kernels._numba import normals_numba\n"
    "out = normals_numba(1, 0, 0, np.arange(3, dtype=np.int64), 4)\n"
    "print(k.CACHE, 'rdptheory-numba-cache-' in str(config.CACHE_DIR), out.shape,\n"
    "      bool(np.isfinite(out).all()))\n"
)


def test_numba_without_a_writable_cache_folder(tmp_path):
    """Root ignores permission bits, so the unwritable ``$HOME`` is a path *under a regular
    file*, and ``NUMBA_CACHE_LOCATOR_CLASSES`` leaves out numba's in-tree locator (a read-only
    install). A plain ``cache=True`` function raises ``cannot cache function`` there (checked
    first); the kernels fall back to a private temporary cache folder and run."""
    pytest.importorskip("numba")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    (tmp_path / "probe_mod.py").write_text("def f():\n    return 0\n")
    env = {**os.environ, "HOME": str(blocker / "home"), "XDG_CACHE_HOME": str(blocker / "c"),
           "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator,UserWideCacheLocator",
           "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    probe = subprocess.run([sys.executable, "-c", "import numba, probe_mod\n"
                            "numba.njit(cache=True)(probe_mod.f)"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert "cannot cache function" in probe.stderr  # the environment really is hostile
    proc = subprocess.run([sys.executable, "-c", _NUMBA_CHILD], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "(3,", "4)", "True"]


# ---- shaped noise: a shaped file needs a model that can decode it, per-direction rho -------
def test_shaped_file_from_the_shell(work):
    folder, original = work
    proc = run_cli("compress", "a.png", "s.rdp", "--noise-var", "0.5", "--noise", "shaped",
                   "--model", "patch-gmm", "--perception-budget", "0.25", *FAST, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    head = _format.unpack_stream((folder / "s.rdp").read_bytes()).header
    assert (head.ladder, head.basis, head.perception) == ("perception", "dct", 0.25)
    proc = run_cli("decompress", "s.rdp", "o.png", "--model", "patch-gmm", "--rho", "1.5",
                   "--per-direction", "--backend", "numpy", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "per direction" in proc.stdout
    assert np.asarray(Image.open(folder / "o.png")).shape == (16, 16, 3)
    assert_clean_error(run_cli("decompress", "s.rdp", "p.png", "--model", "patch-gmm",
                               "--rho", "3", "--per-direction", cwd=folder),
                       "per-direction rho needs rho in [1, 2]")
    iso = compress(np.asarray(Image.open(folder / "a.png").convert("RGB")),
                   model=_gmm(), noise_var=0.5, config=CodecConfig(backend="numpy", n_levels=4))
    (folder / "i.rdp").write_bytes(iso)
    assert_clean_error(run_cli("decompress", "i.rdp", "q.png", "--model", "patch-gmm",
                               "--per-direction", cwd=folder),
                       "per-direction rho applies to shaped-noise files")
    assert not (folder / "p.png").exists() and not (folder / "q.png").exists()
    _survives(folder, original)


def _gmm():
    from rdptheory.models import load_model

    return load_model("patch-gmm")
