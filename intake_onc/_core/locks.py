"""Locks across threads and processes, held through a lock file beside the thing locked.

:func:`file_lock` is an exclusive lock on a path, held through ``.<name>.lock`` beside it, that
serialises threads and processes, so that two of them never do the same download at once. The
lock file records its holder (pid, host, since when): a lock whose holder process on this
machine is gone is broken and taken; a live holder is waited for up to a timeout
(:data:`DEFAULT_LOCK_TIMEOUT`, or ``$INTAKE_ONC_LOCK_TIMEOUT``), with a warning naming it after
:data:`LOCK_WARN_AFTER` seconds, and then :class:`LockTimeoutError` names the lock file and the
pid. The files themselves are written by :mod:`intake_onc._core.files`.

This module is part of the dependency-free bottom layer: it imports nothing else of the package
and only the standard library.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> target = Path(tempfile.mkdtemp()) / "result.txt"
>>> with file_lock(target):
...     lock_holder(target)["pid"] == os.getpid()
True
>>> sorted(p.name for p in target.parent.iterdir())  # the lock file is gone with the lock
[]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "LOCK_SUFFIX",
    "LOCK_WARN_AFTER",
    "LockTimeoutError",
    "file_lock",
    "lock_file",
    "lock_holder",
    "pid_alive",
]

log = logging.getLogger("intake_onc.files")


#: Suffix of the lock files :func:`file_lock` holds (``.<name>.lock``).
LOCK_SUFFIX = ".lock"


#: Seconds :func:`file_lock` waits for a lock by default (one hour), unless
#: ``$INTAKE_ONC_LOCK_TIMEOUT`` says otherwise; then :class:`LockTimeoutError` names the holder.
DEFAULT_LOCK_TIMEOUT = 3600.0


#: Seconds after which a waiter logs a warning naming the lock's holder.
LOCK_WARN_AFTER = 10.0


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


def lock_file(path: str | os.PathLike[str]) -> Path:
    """The lock file :func:`file_lock` uses for ``path``: ``.<name>.lock`` beside it.

    Examples
    --------
    >>> lock_file("/data/a.flac").as_posix()
    '/data/.a.flac.lock'
    """
    path = Path(path)
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


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
    >>> from intake_onc._core.files import atomic_path
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
