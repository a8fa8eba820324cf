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
* :func:`file_lock` is an exclusive lock on a path, held through a lock file beside it
  (``.<name>.lock``), that serialises threads and processes, so that two of them never do the
  same download at once.

Leftovers of processes that were killed are recognisable by their suffixes
(:data:`PART_SUFFIX`, :data:`LOCK_SUFFIX`), so a cache can count or clean them.

This module is part of the dependency-free bottom layer: it imports nothing else of the package
and only the standard library.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
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
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_SUFFIX",
    "PART_SUFFIX",
    "atomic_path",
    "atomic_write",
    "file_lock",
    "lock_file",
    "part_file",
]

#: Suffix of the temporary files :func:`atomic_path` writes (``<name>.<random>.part``).
PART_SUFFIX = ".part"
#: Suffix of the lock files :func:`file_lock` holds (``.<name>.lock``).
LOCK_SUFFIX = ".lock"


def part_file(path: str | os.PathLike[str]) -> Path:
    """A new temporary name for ``path``: ``<name>.<12 random hex digits>.part``, same folder.

    Two calls never give the same name in practice (48 random bits), so concurrent writers of
    one target never write into each other's temporary file.

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
    return path.with_name(f"{path.name}.{secrets.token_hex(6)}{PART_SUFFIX}")


def lock_file(path: str | os.PathLike[str]) -> Path:
    """The lock file :func:`file_lock` uses for ``path``: ``.<name>.lock`` beside it.

    Examples
    --------
    >>> lock_file("/data/a.flac").as_posix()
    '/data/.a.flac.lock'
    """
    path = Path(path)
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


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


@contextlib.contextmanager
def file_lock(
    path: str | os.PathLike[str], *, timeout: float | None = None, stale_after: float = 3600.0
) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, between threads and between processes.

    The lock is a file beside ``path``, ``.<name>.lock`` (see :func:`lock_file`); ``path``
    itself is not opened and need not exist. Where ``fcntl`` exists (POSIX) the lock file is
    locked with ``flock``, which the operating system releases if the process dies; elsewhere
    the lock file is created with ``O_CREAT | O_EXCL`` and considered abandoned after
    ``stale_after`` seconds. The lock file is removed on release; a waiter that wakes up holding
    a lock file that was removed meanwhile takes a new one, so exactly one holder at a time.
    Each ``with`` opens the lock file anew, so two threads of one process exclude each other
    too. The lock is not re-entrant: do not take it twice in one thread.

    Parameters
    ----------
    path : str or os.PathLike
        The file to lock. Its folder is created if missing.
    timeout : float, optional
        Seconds to wait for the lock; by default, wait as long as it takes.
    stale_after : float, default 3600.0
        Without ``fcntl`` only: a lock file older than this is taken to belong to a dead
        process and removed.

    Raises
    ------
    TimeoutError
        When ``timeout`` seconds pass without getting the lock.

    See Also
    --------
    atomic_path : to write the file while holding the lock.

    Examples
    --------
    Check, then write, under the lock, so that of two processes doing this only the first
    writes (the second finds the file):

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "big.flac"
    >>> with file_lock(target):
    ...     if not target.exists():
    ...         with atomic_path(target) as tmp:
    ...             _ = tmp.write_bytes(b"fLaC")
    >>> target.read_bytes(), lock_file(target).exists()
    (b'fLaC', False)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_file(path)
    deadline = None if timeout is None else time.monotonic() + timeout
    if fcntl is not None:
        while True:
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                _flock(fd, deadline, lock)
                held = os.fstat(fd).st_ino
                try:
                    current = os.stat(lock).st_ino
                except FileNotFoundError:
                    current = None
            except BaseException:
                os.close(fd)
                raise
            if current == held:
                break
            os.close(fd)  # the lock file was replaced while we waited: lock the new one
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    while True:  # pragma: no cover - non-POSIX fallback
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
            break
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - lock.stat().st_mtime > stale_after:
                    lock.unlink()
                    continue
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"could not lock {path} within {timeout} s") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def _flock(fd: int, deadline: float | None, lock: Path) -> None:
    """``flock(fd, LOCK_EX)``, polling until ``deadline`` (a ``time.monotonic()``) if given."""
    if deadline is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not lock {lock} in time") from None
            time.sleep(0.05)


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
