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
import json
import logging
import os
import platform
import re
import secrets
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "LOCK_SUFFIX",
    "PART_STALE_AFTER",
    "PART_SUFFIX",
    "LockTimeoutError",
    "atomic_path",
    "atomic_write",
    "file_lock",
    "lock_file",
    "lock_holder",
    "part_file",
    "part_is_abandoned",
    "pid_alive",
    "reclaim_parts",
]

log = logging.getLogger("intake_onc.files")

#: Suffix of the temporary files :func:`atomic_path` writes (``<name>.<random>.part``).
PART_SUFFIX = ".part"
#: Suffix of the lock files :func:`file_lock` holds (``.<name>.lock``).
LOCK_SUFFIX = ".lock"
#: Seconds :func:`file_lock` waits for a lock by default (one hour), unless
#: ``$INTAKE_ONC_LOCK_TIMEOUT`` says otherwise; then :class:`LockTimeoutError` names the holder.
DEFAULT_LOCK_TIMEOUT = 3600.0
#: Seconds after which a waiter logs a warning naming the lock's holder.
LOCK_WARN_AFTER = 10.0
#: A ``.part`` file not written for this many seconds is abandoned, whoever wrote it.
PART_STALE_AFTER = 24 * 3600.0

_PART_RE = re.compile(
    r"\.p(?P<pid>\d+)-h(?P<host>[0-9a-f]{8})-[0-9a-f]+" + re.escape(PART_SUFFIX) + "$"
)


class LockTimeoutError(TimeoutError):
    """:func:`file_lock` waited ``timeout`` seconds for a lock a live process holds.

    Attributes
    ----------
    lock : pathlib.Path
        The lock file.
    holder : dict
        What the lock file says about its holder (``pid``, ``host``, ``since``), or ``{}``.
    """

    def __init__(
        self, message: str, *, lock: Path | None = None, holder: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.lock = lock
        self.holder = dict(holder or {})

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),), {"lock": self.lock, "holder": self.holder})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _host() -> str:
    return platform.node() or "localhost"


def _host_tag(host: str | None = None) -> str:
    """8 hex digits naming a host (crc32 of its name): goes into ``.part`` names."""
    return f"{zlib.crc32((host or _host()).encode()) & 0xFFFFFFFF:08x}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a zombie counts as gone).

    A stopped process (``SIGSTOP``) is alive. Where this cannot be told (Windows), the answer
    is ``True``: nothing is ever taken from a process that may be alive.

    Examples
    --------
    >>> pid_alive(os.getpid())
    True
    """
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # pragma: no cover
        return True
    try:  # Linux: a zombie (killed, not yet reaped) holds nothing
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True


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


def _lock_timeout(timeout: float | str | None) -> float | None:
    if timeout != "default":
        return None if timeout is None else float(timeout)  # type: ignore[arg-type]
    env = os.environ.get("INTAKE_ONC_LOCK_TIMEOUT", "").strip()
    if env:
        with contextlib.suppress(ValueError):
            value = float(env)
            return None if value <= 0 else value
    return DEFAULT_LOCK_TIMEOUT


def _holder_record() -> bytes:
    return json.dumps(
        {"pid": os.getpid(), "host": _host(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    ).encode()


def _parse_holder(data: bytes) -> dict[str, Any]:
    try:
        holder = json.loads(data.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def lock_holder(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Who holds (or last held) the lock of ``path``: ``{"pid", "host", "since"}``, or ``{}``.

    Read from the lock file :func:`file_lock` writes; ``{}`` when there is none.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.flac"
    >>> with file_lock(target):
    ...     lock_holder(target)["pid"] == os.getpid()
    True
    >>> lock_holder(target)
    {}
    """
    try:
        return _parse_holder(lock_file(path).read_bytes())
    except OSError:
        return {}


def _describe_holder(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return "a process that has not said who it is"
    text = f"process {holder.get('pid')} on {holder.get('host', '?')}"
    if holder.get("since"):
        text += f" since {holder['since']}"
    return text


def _holder_is_gone(holder: dict[str, Any]) -> bool:
    """True when the lock file names a process of this host that no longer exists."""
    try:
        pid = int(holder.get("pid", 0))
    except (TypeError, ValueError):
        return False
    return pid > 0 and holder.get("host") == _host() and pid != os.getpid() and not pid_alive(pid)


@contextlib.contextmanager
def file_lock(
    path: str | os.PathLike[str],
    *,
    timeout: float | str | None = "default",
    stale_after: float = 3600.0,
    warn_after: float = LOCK_WARN_AFTER,
) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, between threads and between processes.

    The lock is a file beside ``path``, ``.<name>.lock`` (see :func:`lock_file`); ``path``
    itself is not opened and need not exist. Where ``fcntl`` exists (POSIX) the lock file is
    locked with ``flock``, which the operating system releases if the process dies; elsewhere
    the lock file is created with ``O_CREAT | O_EXCL``. The lock file is removed on release; a
    waiter that wakes up holding a lock file that was removed meanwhile takes a new one, so
    exactly one holder at a time. Each ``with`` opens the lock file anew, so two threads of
    one process exclude each other too. The lock is not re-entrant: do not take it twice in
    one thread.

    The holder writes its process id, host name and start time into the lock file
    (:func:`lock_holder`). A waiter:

    * breaks and takes a lock whose holder was a process of this host that no longer exists
      (killed with ``SIGKILL``, crashed; the ``flock`` of a dead process is released by the
      system anyway, this also covers file systems without ``flock`` and lock files inherited
      by a child process);
    * logs a warning naming the holder (``intake_onc.files`` logger) once it has waited
      ``warn_after`` seconds;
    * gives up after ``timeout`` seconds with :class:`LockTimeoutError`, naming the lock file
      and the holder's process id. A holder that is alive but stopped (``SIGSTOP``, a
      debugger) is not broken: only the timeout ends the wait.

    Parameters
    ----------
    path : str or os.PathLike
        The file to lock. Its folder is created if missing.
    timeout : float, None or "default"
        Seconds to wait for the lock; ``None`` waits as long as it takes. The default is
        :data:`DEFAULT_LOCK_TIMEOUT` (one hour), or ``$INTAKE_ONC_LOCK_TIMEOUT`` seconds when
        set (``0`` there: no limit).
    stale_after : float, default 3600.0
        Without ``fcntl`` only: a lock file older than this is taken to belong to a dead
        process and removed, even when its holder cannot be checked (another host).
    warn_after : float, default 10.0
        Seconds of waiting after which the holder is named in a warning.

    Raises
    ------
    LockTimeoutError
        (a :class:`TimeoutError`) when ``timeout`` seconds pass without getting the lock.

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
    limit = _lock_timeout(timeout)
    began = time.monotonic()
    deadline = None if limit is None else began + limit
    waiter = _Waiter(lock, began, deadline, limit, warn_after)
    if fcntl is not None:
        fd = _take_flock(lock, waiter)
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    while True:  # non-POSIX fallback
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            try:
                os.write(fd, _holder_record())
            finally:
                os.close(fd)
            break
        except FileExistsError:
            try:
                holder = _parse_holder(lock.read_bytes())
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if _holder_is_gone(holder) or age > stale_after:
                log.warning("%s: breaking the lock of %s (gone)", lock, _describe_holder(holder))
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                continue
            waiter.busy(holder)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


class _Waiter:
    """Bookkeeping of one wait for a lock: warn once, time out, sleep a little longer each time."""

    def __init__(
        self, lock: Path, began: float, deadline: float | None, limit: float | None, warn: float
    ) -> None:
        self.lock, self.began, self.deadline, self.limit, self.warn = (
            lock,
            began,
            deadline,
            limit,
            warn,
        )
        self.warned = False
        self.pause = 0.01

    def busy(self, holder: dict[str, Any]) -> None:
        """The lock is held by a live process: warn, raise at the deadline, or sleep."""
        now = time.monotonic()
        if not self.warned and now - self.began >= self.warn:
            self.warned = True
            log.warning(
                "waiting for %s, held by %s (a stopped or hung holder keeps it; the wait "
                "ends after %s)",
                self.lock,
                _describe_holder(holder),
                "no limit" if self.limit is None else f"{self.limit:g} s",
            )
        if self.deadline is not None and now >= self.deadline:
            pid = holder.get("pid", "unknown")
            raise LockTimeoutError(
                f"could not lock {self.lock} within {self.limit:g} s: it is held by "
                f"{_describe_holder(holder)} (pid {pid}), which is alive but did not let go; "
                "if that process is stopped or hung, end it (or wait for it), then try again",
                lock=self.lock,
                holder=holder,
            )
        time.sleep(self.pause)
        self.pause = min(self.pause * 1.5, 0.25)


def _take_flock(lock: Path, waiter: _Waiter) -> int:
    """``flock`` the lock file (breaking a dead holder's), write our record; the open fd."""
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
            except BlockingIOError:
                got = False
            ino = os.fstat(fd).st_ino
            try:
                current = os.stat(lock).st_ino
            except FileNotFoundError:
                current = None
            if got:
                if current == ino:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, _holder_record(), 0)
                    return fd
                os.close(fd)  # the lock file was replaced while we waited: lock the new one
                continue
            holder = _parse_holder(os.pread(fd, 4096, 0))
            if current == ino and _holder_is_gone(holder):
                log.warning("%s: breaking the lock of %s (gone)", lock, _describe_holder(holder))
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lock)
                os.close(fd)
                continue
            waiter.busy(holder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        os.close(fd)


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
