"""Writing files so that nobody ever sees half of one, and locking them across processes.

Every file intake-onc writes (downloads into the cache, delivered data products, WAV/FLAC clips,
HSD MAT files, spectrogram netCDF/PNG files, the demo's outputs) goes through this module:

* :func:`atomic_path` yields a temporary name beside the target, ``<name>.<random>.part`` in
  the same folder; when the ``with`` block succeeds the temporary file is flushed to disk
  (``fsync``) and renamed onto the target with :func:`os.replace`, which is atomic on one file
  system. When the block raises, the temporary file is removed and the target is left as it was
  (absent, or the previous complete version). A file under the final name is therefore always
  complete, whoever reads it and whenever the writer dies;
* :func:`atomic_write` is the same for code that writes through a file object (it opens the
  temporary file for you);
* the lock that keeps two processes from writing the same file, :func:`file_lock`, is in
  :mod:`intake_onc._core.locks`.

``.part`` files left by processes that were killed are recognisable by their names (the writer's
pid and host are in them): :func:`part_is_abandoned` tells, :func:`reclaim_parts` removes them.

This module is part of the dependency-free bottom layer: it imports nothing else of the package
and only the standard library.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from intake_onc._core.locks import file_lock
>>> target = Path(tempfile.mkdtemp()) / "result.txt"
>>> with file_lock(target), atomic_write(target, "w") as f:
...     _ = f.write("complete")
>>> target.read_text()
'complete'
>>> sorted(p.name for p in target.parent.iterdir())  # no temporary or lock file is left
['result.txt']
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from intake_onc._core.locks import _host_tag, pid_alive

__all__ = [
    "PART_STALE_AFTER",
    "PART_SUFFIX",
    "atomic_path",
    "atomic_write",
    "part_file",
    "part_is_abandoned",
    "reclaim_parts",
]

log = logging.getLogger("intake_onc.files")

#: Suffix of the temporary files :func:`atomic_path` writes (``<name>.<random>.part``).
PART_SUFFIX = ".part"
#: A ``.part`` file not written for this many seconds is abandoned, whoever wrote it.
PART_STALE_AFTER = 24 * 3600.0

_PART_RE = re.compile(
    r"\.p(?P<pid>\d+)-h(?P<host>[0-9a-f]{8})-[0-9a-f]+" + re.escape(PART_SUFFIX) + "$"
)


def part_file(path: str | os.PathLike[str]) -> Path:
    """A new temporary name for ``path``: ``<name>.p<pid>-h<host>-<12 random hex>.part``.

    Two calls never give the same name in practice (48 random bits), so concurrent writers of
    one target never write into each other's temporary file. The writer's process id and a
    tag of its host are part of the name, so that :func:`reclaim_parts` can tell the
    leftovers of a process that is gone from the file of a download still running.

    Parameters
    ----------
    path : str or os.PathLike
        The final name of the file.

    Returns
    -------
    pathlib.Path
        A name in the same folder as ``path`` (so a rename onto ``path`` stays on one file
        system and is atomic).

    Examples
    --------
    >>> tmp = part_file("/data/a.flac")
    >>> tmp.parent.as_posix(), tmp.name.startswith("a.flac."), tmp.suffix
    ('/data', True, '.part')
    """
    path = Path(path)
    tag = f"p{os.getpid()}-h{_host_tag()}-{secrets.token_hex(6)}"
    return path.with_name(f"{path.name}.{tag}{PART_SUFFIX}")


def part_is_abandoned(
    part: str | os.PathLike[str], *, stale_after: float = PART_STALE_AFTER, now: float | None = None
) -> bool:
    """Whether a ``.part`` file was left by a writer that is gone.

    It is when the process named in it ran on this host and no longer exists, or (another
    host's file, or a name without a process id) when it has not been written for
    ``stale_after`` seconds. A missing file is not abandoned (nothing to reclaim).

    Examples
    --------
    >>> part_is_abandoned(part_file("/nonexistent/a.flac"))
    False
    """
    part = Path(part)
    try:
        age = (time.time() if now is None else now) - part.stat().st_mtime
    except OSError:
        return False
    match = _PART_RE.search(part.name)
    if (
        match is not None
        and match.group("host") == _host_tag()
        and not pid_alive(int(match.group("pid")))
    ):
        return True
    return age > stale_after


def reclaim_parts(
    folder: str | os.PathLike[str], *, stale_after: float = PART_STALE_AFTER
) -> list[Path]:
    """Remove the abandoned ``.part`` files in ``folder`` (not below it); return them.

    Abandoned: see :func:`part_is_abandoned`. The temporary files of downloads still running
    (a live process on this host, or written to within ``stale_after`` seconds) are kept.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.flac.p999999999-h00000000-abc.part").write_bytes(b"x")  # old style, fresh
    >>> reclaim_parts(folder), reclaim_parts(folder, stale_after=-1)[0].name
    ([], 'a.flac.p999999999-h00000000-abc.part')
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.endswith(PART_SUFFIX) or not entry.is_file(follow_symlinks=False):
            continue
        if part_is_abandoned(entry.path, stale_after=stale_after):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    if removed:
        log.info("removed %d partial downloads left by processes that are gone", len(removed))
    return removed


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, fsync: bool = True, mkdir: bool = True
) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; move the file written there onto ``path`` on success.

    The ``with`` block writes the file at the yielded name (``<name>.<random>.part`` in the
    folder of ``path``, see :func:`part_file`) by any means: a library that takes a file name
    (``to_netcdf``, ``savefig``, ``soundfile``), a copy, a download. When the block completes,
    the temporary file is flushed to disk and renamed onto ``path`` with :func:`os.replace`
    (atomic on one file system: readers see the old file or the new one, never a mix). When the
    block raises (including :class:`KeyboardInterrupt`), the temporary file is removed, the
    exception propagates and ``path`` is untouched.

    Parameters
    ----------
    path : str or os.PathLike
        The final name of the file. An existing file there is replaced only by a complete one.
    fsync : bool, default True
        Flush the temporary file's data to disk before the rename (and, on POSIX, the folder's
        entry after it), so that a power failure cannot leave a renamed but empty file.
    mkdir : bool, default True
        Create the folder of ``path`` (and its parents) first. With ``False`` a missing folder
        makes the writer fail, as writing to ``path`` directly would.

    Yields
    ------
    pathlib.Path
        The temporary name to write. Nothing exists there yet.

    Raises
    ------
    FileNotFoundError
        When the block completes without having written the temporary file.

    See Also
    --------
    atomic_write : the same, with the temporary file opened for you.
    file_lock : to also keep other processes from writing ``path`` at the same time.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    ...     target.exists()  # nothing under the final name until the block is done
    False
    >>> target.read_text()
    'hello'

    A failure leaves the previous file as it was, and no temporary file:

    >>> try:
    ...     with atomic_path(target) as tmp:
    ...         _ = tmp.write_text("half of a new ver")
    ...         raise OSError("disk full")
    ... except OSError:
    ...     pass
    >>> target.read_text(), len(list(target.parent.iterdir()))
    ('hello', 1)
    """
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_file(path)
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    if fsync:
        _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    fsync: bool = True,
    mkdir: bool = True,
    **open_kwargs: Any,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; move it onto ``path`` on success.

    :func:`atomic_path` for code that writes through a file object: the file is opened with
    :func:`open` at the temporary name, closed when the block ends, then renamed onto ``path``
    if the block succeeded, or removed if it raised.

    Parameters
    ----------
    path : str or os.PathLike
        The final name of the file.
    mode : {"wb", "w", "wt"}, default "wb"
        How to open the temporary file: binary or text, always a new, empty file.
    fsync : bool, default True
        Flush the data to disk before the rename (see :func:`atomic_path`).
    mkdir : bool, default True
        Create the folder of ``path`` first (see :func:`atomic_path`).
    **open_kwargs
        Passed to :func:`open` (``encoding=``, ``newline=``, ...).

    Yields
    ------
    file object
        The open temporary file.

    Raises
    ------
    ValueError
        When ``mode`` is not a mode that writes a new file.

    Examples
    --------
    >>> import json, tempfile
    >>> target = Path(tempfile.mkdtemp()) / "manifest.json"
    >>> with atomic_write(target, "w", encoding="utf-8") as f:
    ...     json.dump({"files": 3}, f)
    >>> json.loads(target.read_text())
    {'files': 3}
    """
    if mode not in ("wb", "w", "wt"):
        raise ValueError(f"mode: expected 'wb', 'w' or 'wt' (a new file), got {mode!r}")
    with atomic_path(path, fsync=False, mkdir=mkdir) as tmp, open(tmp, mode, **open_kwargs) as f:
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    if fsync:
        _fsync_folder(Path(path).parent)


def _fsync_file(path: Path) -> None:
    """Flush a written file's data to disk (raises ``FileNotFoundError`` if it was not written)."""
    # Windows' fsync needs a handle open for writing; POSIX's does not (and the file may be
    # read-only, e.g. a copy of a read-only file).
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk, where the system allows it (POSIX)."""
    if os.name == "nt":  # pragma: no cover - folders cannot be opened on Windows
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
