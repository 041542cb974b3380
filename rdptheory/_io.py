"""Safe output files: atomic writes and up-front checks of output paths (hostile-input policy).

Every file the CLI and the library write goes through :func:`atomic_path` (or its wrappers
:func:`atomic_write_bytes` / :func:`atomic_write_text`): the data goes to a temporary file in the
target's own folder, is flushed and ``fsync``-ed, then renamed over the target with
:func:`os.replace` (atomic on POSIX). A crash, an exception or ``KeyboardInterrupt`` half-way
leaves the old file (or no file), never half a file; the temporary file is removed.

:func:`check_output_path` and :func:`check_output_dir` run *before* any work: they refuse to
overwrite an existing output unless ``force`` (the CompressAI / ffmpeg ``-y`` convention), refuse
always when the output is one of the inputs (same file by :func:`os.path.samefile`, which sees
through symbolic and hard links), refuse non-regular targets such as ``/dev/full`` or a directory,
and prove the folder writable by creating (and removing) a probe file.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_bytes(d / "a.bin", b"abc")
>>> (d / "a.bin").read_bytes()
b'abc'
>>> try:
...     check_output_path(d / "a.bin", force=False)
... except FileExistsError as exc:
...     print(str(exc).split("; ")[1])
pass --force to overwrite it
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator

PathLike = str | os.PathLike

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_input_file",
           "check_output_dir", "check_output_path", "staged_files"]


def _target(path: PathLike) -> pathlib.Path:
    """The file a write to ``path`` lands in: symbolic links resolved (the link stays a link)."""
    return pathlib.Path(os.path.realpath(os.fspath(path)))


def _fsync_dir(directory: pathlib.Path) -> None:
    """Make a rename durable (best effort: some filesystems refuse ``fsync`` on a folder)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path next to ``path``; on clean exit it replaces ``path`` atomically.

    The temporary name keeps ``path``'s suffix, so writers that pick a format from the suffix
    (Pillow's ``save``, matplotlib's ``savefig``) work unchanged. On any exception (including
    ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left as it was.

    Raises
    ------
    IsADirectoryError, OSError
        when ``path`` exists and is not a regular file (a folder, ``/dev/full``, a pipe).
    """
    target = _target(path)
    if target.exists() and not target.is_file():
        kind = "a directory" if target.is_dir() else "not a regular file"
        raise IsADirectoryError(f"output {path} is {kind}; give a file path")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}",
                                    dir=target.parent)
    os.close(fd)
    tmp = pathlib.Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # the writer may have closed its own handle: sync here
            os.fsync(fh.fileno())
        if target.exists():  # keep the old file's permission bits
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def staged_files(directory: PathLike) -> Iterator[pathlib.Path]:
    """Yield a fresh staging folder inside ``directory``; on clean exit move its files in.

    For writers that produce several files from one name (a PNG and its PDF) or a tree of
    files: each file is then renamed into place with :func:`os.replace` (sub-folders are
    recreated), so every file appears whole or not at all. On any exception the staging folder
    is removed and ``directory`` keeps its old files. Returns nothing; the staged relative
    paths are the final ones.
    """
    root = pathlib.Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    stage = pathlib.Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        yield stage
        for src in sorted(stage.rglob("*")):
            if src.is_dir():
                continue
            dst = root / src.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists() and not dst.is_file():
                raise IsADirectoryError(f"output {dst} is a directory; move it away")
            with open(src, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(src, dst)
        _fsync_dir(root)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, ``fsync``, ``os.replace``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    atomic_write_bytes(path, text.encode(encoding))


def _same_file(a: pathlib.Path, b: pathlib.Path) -> bool:
    if _target(a) == _target(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def _probe_writable(directory: pathlib.Path, shown: PathLike) -> None:
    """Create and remove a file in ``directory``: the only test that also holds for root."""
    try:
        fd, name = tempfile.mkstemp(prefix=".rdptheory-probe-", dir=directory)
    except OSError as exc:
        raise PermissionError(f"cannot write to the folder of output {shown} "
                              f"({exc.strerror or exc}); choose a writable folder") from None
    os.close(fd)
    os.unlink(name)


def check_input_file(path: PathLike, what: str = "input") -> pathlib.Path:
    """``path`` as a Path if it is an existing regular, readable file; a clear OSError if not.

    Devices and pipes are refused: ``/dev/zero`` as an input would be read forever.
    """
    p = pathlib.Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} {path} does not exist; check the path")
    if p.is_dir():
        raise IsADirectoryError(f"{what} {path} is a directory; give a file")
    if not p.is_file():  # /dev/zero, a pipe: reading could never end
        raise OSError(f"{what} {path} is not a regular file (a device or pipe); give a file")
    if not os.access(p, os.R_OK):
        raise PermissionError(f"{what} {path} is not readable; check its permissions")
    return p


def check_output_path(out: PathLike, inputs: Iterable[PathLike] = (), *,
                      force: bool = False) -> pathlib.Path:
    """Validate an output file path before any work; return it as a Path.

    Refused (``OSError`` subclasses with a one-line message saying what to do):

    * ``out`` is one of ``inputs`` (same file through any symbolic or hard link), even with
      ``force``: writing would destroy the input;
    * ``out`` exists and is a directory or not a regular file (``/dev/full``, a pipe);
    * ``out`` exists and ``force`` is false;
    * ``out``'s folder does not exist or cannot be written (a probe file is created there).
    """
    p = pathlib.Path(out)
    for i in inputs:
        if _same_file(p, pathlib.Path(i)):
            raise FileExistsError(f"output {out} is the input file {i}; writing it would destroy "
                                  "the input: choose another output path")
    target = _target(p)
    if target.exists():  # (a dangling symbolic link is written through, creating its target)
        if target.is_dir():
            raise IsADirectoryError(f"output {out} is a directory; give a file path")
        if not target.is_file():
            raise FileExistsError(f"output {out} is not a regular file (a device or pipe); "
                                  "give a file path")
        if not force:
            raise FileExistsError(f"output {out} already exists; pass --force to overwrite it")
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(f"{parent}, the folder of output {out}, is not a directory; "
                                 "choose an output path in a folder")
    if not parent.is_dir():
        raise FileNotFoundError(f"the folder of output {out} does not exist ({parent}); create "
                                "it first")
    _probe_writable(parent, out)
    return p


def check_output_dir(out: PathLike, produces: Iterable[str] = (), *, force: bool = False,
                     inputs: Iterable[PathLike] = ()) -> pathlib.Path:
    """Validate an output folder before any work; return it as a Path (it may not exist yet).

    Refused: ``out`` is an existing non-folder; ``out`` is or holds an input; any of the file
    names ``produces`` already exists in it and ``force`` is false (with ``produces`` empty, a
    non-empty existing folder counts as existing output); a folder on the way cannot be
    created or written.
    """
    p = pathlib.Path(out)
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f"output folder {out} exists and is not a folder; give a folder "
                                 "path")
    resolved = _target(p)
    for i in inputs:
        ri = _target(i)
        if ri == resolved or resolved in ri.parents:
            raise FileExistsError(f"output folder {out} holds the input {i}; choose another "
                                  "output folder")
    if p.is_dir() and not force:
        names = list(produces)
        clash = [n for n in names if (p / n).exists()] if names else \
            ([n.name for n in p.iterdir()][:1])
        if clash:
            raise FileExistsError(f"output folder {out} already holds {clash[0]}; pass --force to "
                                  "overwrite, or choose another folder")
    # the nearest existing ancestor must be a writable folder
    anc = resolved
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise NotADirectoryError(f"cannot create output folder {out}: {anc} is not a folder")
    _probe_writable(anc, out)
    return p
