"""The download cache: where files live, and how they get there without ever being half-written.

Layout under the cache root (default ``platformdirs.user_cache_dir("intake-onc")``, or
``$INTAKE_ONC_CACHE``, or the ``cache_dir=`` argument)::

    CACHEDIR.TAG                                  marks the folder as a cache (backup tools skip it)
    <server>/archive/<ONC file name>              archive files, keyed by ONC's file name
    <server>/products/<fingerprint>/<files>       data products, keyed by a request fingerprint
    <server>/products/<fingerprint>/manifest.json  written last: the order's files are complete

``<server>`` is the API host (``data.oceannetworks.ca``, ``127.0.0.1_8080``) so that two servers'
files never mix.

What the cache guarantees (in the spirit of pooch's):

* **Atomic writes.** A file is written to ``<name>.p<pid>-h<host>-<random>.part`` in its own
  folder and renamed into place with :func:`os.replace` only when complete and of the expected
  size (:func:`~intake_onc._core.files.atomic_path`): a file under its final name is whole,
  whoever reads it and whenever the writer dies. A product's ``manifest.json`` is written
  last, so a product folder without it is not used.
* **One download at a time.** A per-file lock (:func:`~intake_onc._core.files.file_lock`, a
  lock file beside the file) makes a second process (or thread) wait for the first and then
  find the file present; a present file (of the expected size, when known) is not fetched
  again. Identical data-product orders (same request fingerprint) are submitted once: the
  first records its ``dpRequestId`` in the product folder and the others join it.
* **Verification on read.** Sizes are checked when a file is written and when it is found;
  a file damaged in place is found out when it is decoded or parsed. Then it is evicted and
  fetched once more (:meth:`ONCClient.read_verified
  <intake_onc.client.archive.ArchiveMixin.read_verified>`); if the new copy fails too,
  :class:`~intake_onc.client.errors.CorruptFileError` names ONC's file name and the cache
  path.
* **Locks with stale detection and a timeout.** The lock file records its holder's process id
  and host. A lock whose holder was a process of this machine that no longer exists (killed)
  is broken and taken. A live holder (even one stopped with ``SIGSTOP``) is waited for: the
  waiter logs a warning naming it after 10 s and gives up after one hour
  (:data:`~intake_onc._core.files.DEFAULT_LOCK_TIMEOUT`, or ``$INTAKE_ONC_LOCK_TIMEOUT``
  seconds) with :class:`~intake_onc._core.files.LockTimeoutError`, naming the lock file and
  the holder's pid. Orders wait for an identical order without a limit (unless given one):
  products can take hours.
* **Leftovers are reclaimed.** The ``.part`` files of processes that are gone (the pid in the
  name no longer exists on this machine, or the file has not been written for a day) are
  removed when a download next goes into their folder; ``intake-onc cache info`` counts them
  and ``intake-onc cache clear --partial`` removes them.
* **What ``cache clear`` may delete.** Only what is inside the cache root, and only if the root
  holds intake-onc's ``CACHEDIR.TAG``. ``--server`` must be one of the server folders ``cache
  info`` lists (``..``, paths, absolute paths and links are refused; an unknown name is an
  error, exit status 2, that lists the known servers). Links inside the cache are removed as
  links, never followed.

Examples
--------
>>> import tempfile
>>> cache = Cache(tempfile.mkdtemp())
>>> path = cache.archive_path("data.oceannetworks.ca", "ICLISTENHF6093_20240101T000000.000Z.flac")
>>> path.relative_to(cache.root).as_posix()
'data.oceannetworks.ca/archive/ICLISTENHF6093_20240101T000000.000Z.flac'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intake_onc._core.files import PART_SUFFIX, atomic_path, part_is_abandoned, reclaim_parts
from intake_onc._core.locks import LOCK_SUFFIX, file_lock

__all__ = [
    "Cache",
    "CacheClearError",
    "CacheInfo",
    "default_cache_dir",
    "request_fingerprint",
]

#: Seconds between two scans of one folder for abandoned ``.part`` files (per process).
RECLAIM_EVERY = 300.0
_RECLAIMED: dict[str, float] = {}


class CacheClearError(ValueError):
    """``Cache.clear`` refused: not a cache, or a ``server`` that is not one of its folders."""


ENV_VAR = "INTAKE_ONC_CACHE"
MANIFEST = "manifest.json"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# intake-onc download cache\n"


def default_cache_dir() -> Path:
    """``$INTAKE_ONC_CACHE`` if set, else the user cache folder for ``intake-onc``.

    Examples
    --------
    >>> default_cache_dir().name in ("intake-onc", os.environ.get(ENV_VAR, "x").rstrip("/").rsplit("/")[-1])
    True
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("intake-onc", appauthor=False))


def request_fingerprint(server: str, params: Mapping[str, Any]) -> str:
    """A stable 20-hex-digit key for a data-product request (token excluded).

    Examples
    --------
    >>> a = request_fingerprint("x", {"dataProductCode": "TSSD", "extension": "csv"})
    >>> a == request_fingerprint("x", {"extension": "csv", "dataProductCode": "TSSD", "token": "t"})
    True
    """
    clean = {str(k): str(v) for k, v in params.items() if k != "token" and v is not None}
    text = json.dumps({"server": server, "params": clean}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _sizes(expected: int | Iterable[int] | None) -> set[int]:
    if expected is None:
        return set()
    if isinstance(expected, (int, float)):
        return {int(expected)}
    out = set()
    for value in expected:
        try:
            if value is not None and value == value and int(value) >= 0:
                out.add(int(value))
        except (TypeError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class CacheInfo:
    """What :meth:`Cache.info` found.

    Attributes
    ----------
    root : Path
    files : int
        Complete files (partial and lock files excluded).
    bytes : int
        Their total size.
    partial : int
        ``*.part`` files: downloads running now, and leftovers of processes that died.
    servers : dict
        ``{server: (files, bytes)}``.
    abandoned : int
        Of ``partial``, those left by processes that are gone (``intake-onc cache clear
        --partial`` removes them; the next download into their folder does too).
    """

    root: Path
    files: int
    bytes: int
    partial: int
    servers: dict[str, tuple[int, int]]
    abandoned: int = 0

    def __str__(self) -> str:
        lines = [f"cache: {self.root}", f"files: {self.files} ({_human(self.bytes)})"]
        for server, (n, size) in sorted(self.servers.items()):
            lines.append(f"  {server}: {n} files ({_human(size)})")
        if self.partial:
            lines.append(
                f"partial downloads: {self.partial} ({self.abandoned} left by processes that "
                "are gone; 'intake-onc cache clear --partial' removes those)"
            )
        return "\n".join(lines)


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


class Cache:
    """A download cache folder (see the module docstring for the layout and the rules).

    Parameters
    ----------
    root
        The folder; default :func:`default_cache_dir`. Created on first write.

    Examples
    --------
    >>> import tempfile
    >>> cache = Cache(tempfile.mkdtemp())
    >>> def fake_download(tmp):  # writes the file; the cache renames it into place
    ...     _ = tmp.write_bytes(b"1234")
    >>> path, downloaded = cache.fetch(cache.root / "x" / "a.bin", fake_download, expected_size=4)
    >>> downloaded, path.read_bytes()
    (True, b'1234')
    >>> cache.fetch(path, fake_download, expected_size=4)[1]  # present: not downloaded again
    False
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    def _ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            with contextlib.suppress(OSError), atomic_path(tag) as tmp:
                tmp.write_text(_TAG)

    # -- layout -----------------------------------------------------------------------------
    def archive_path(self, server: str, filename: str) -> Path:
        """Where the archive file ``filename`` from ``server`` lives."""
        name = Path(str(filename).replace("\\", "/")).name
        if not name or name in (".", ".."):
            raise ValueError(f"filename: expected an ONC archive file name, got {filename!r}")
        return self.root / server / "archive" / name

    def header_path(self, server: str, device_code: str) -> Path:
        """Where the audio header facts (sample rate, bit depth) of a device's deployments live."""
        name = Path(str(device_code).replace("\\", "/")).name
        if not name or name in (".", ".."):
            raise ValueError(f"device_code: expected an ONC deviceCode, got {device_code!r}")
        return self.root / server / "headers" / f"{name}.json"

    def product_dir(self, server: str, fingerprint: str) -> Path:
        """The folder of the data product with request ``fingerprint``."""
        return self.root / server / "products" / fingerprint

    # -- state ------------------------------------------------------------------------------
    @staticmethod
    def is_complete(path: Path, expected_size: int | Iterable[int] | None = None) -> bool:
        """True when ``path`` exists (and has ``expected_size`` bytes, when given).

        ``expected_size`` may be a collection of acceptable sizes (ONC lists both a
        ``fileSize`` and an ``uncompressedFileSize``). Only
        :func:`~intake_onc._core.files.atomic_path` puts files in the cache, so a present file
        is complete; the size check also catches files changed behind the cache's back.
        """
        try:
            size = os.stat(path).st_size
        except (FileNotFoundError, NotADirectoryError):
            return False
        sizes = _sizes(expected_size)
        return not sizes or size in sizes

    def fetch(
        self,
        path: Path,
        download: Callable[[Path], Any],
        *,
        expected_size: int | Iterable[int] | None = None,
        overwrite: bool = False,
    ) -> tuple[Path, bool]:
        """Make sure ``path`` holds a complete file, calling ``download(tmp)`` only if needed.

        ``download`` writes the file at the temporary path it is given (or raises). Under the
        file's lock the presence check is repeated, so a concurrent process's finished file is
        used rather than downloaded again.

        Returns
        -------
        (path, downloaded)
        """
        path = Path(path)
        if not overwrite and self.is_complete(path, expected_size):
            return path, False
        self._ensure_root()
        with file_lock(path):
            if not overwrite and self.is_complete(path, expected_size):
                return path, False
            self._reclaim(path.parent)
            with atomic_path(path) as tmp:
                download(tmp)
                if not self.is_complete(tmp, expected_size):
                    got = os.stat(tmp).st_size if tmp.exists() else "no"
                    raise OSError(
                        f"{path.name}: download wrote {got} bytes, expected "
                        f"{' or '.join(map(str, sorted(_sizes(expected_size))))}"
                    )
        return path, True

    def _reclaim(self, folder: Path) -> None:
        """Remove abandoned ``.part`` files of ``folder`` (at most every RECLAIM_EVERY s)."""
        key, now = str(folder), time.monotonic()
        last = _RECLAIMED.get(key)
        if last is not None and now - last < RECLAIM_EVERY:
            return
        _RECLAIMED[key] = now
        reclaim_parts(folder)

    def evict(self, path: Path, seen: os.stat_result | None = None) -> bool:
        """Remove a cached file found unreadable; True if this call removed it.

        With ``seen`` (the ``os.stat`` of the copy that failed), the file is removed only if
        it is still that copy: when several readers find one damaged file, the first evicts
        and fetches it again, and the others then use the new copy instead of evicting it too.
        """
        path = Path(path)
        with file_lock(path):
            try:
                now = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                return False
            if seen is not None and (now.st_ino, now.st_mtime_ns, now.st_size) != (
                seen.st_ino,
                seen.st_mtime_ns,
                seen.st_size,
            ):
                return False
            path.unlink()
            return True

    @contextlib.contextmanager
    def locked(self, path: Path, *, timeout: float | str | None = "default") -> Iterator[Path]:
        """Hold ``path``'s lock (creating the cache root first); see ``file_lock``."""
        self._ensure_root()
        with file_lock(path, timeout=timeout):
            yield path

    # -- product manifests ------------------------------------------------------------------
    def read_manifest(self, folder: Path) -> dict[str, Any] | None:
        """The manifest of a product folder if it and every file it lists are complete."""
        try:
            manifest = json.loads((Path(folder) / MANIFEST).read_text())
        except (FileNotFoundError, ValueError, OSError):
            return None
        for entry in manifest.get("files", []):
            if not self.is_complete(Path(folder) / entry["name"], entry.get("size")):
                return None
        return manifest

    def write_manifest(self, folder: Path, manifest: Mapping[str, Any]) -> Path:
        """Write ``manifest.json`` atomically (last, once every file is in place)."""
        target = Path(folder) / MANIFEST
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
        return target

    # -- maintenance ------------------------------------------------------------------------
    def info(self) -> CacheInfo:
        """Count the files, bytes and partial downloads (per server)."""
        files = size = partial = abandoned = 0
        servers: dict[str, list[int]] = {}
        if self.root.is_dir():
            for dirpath, _dirs, names in os.walk(self.root):
                rel = Path(dirpath).relative_to(self.root).parts
                for name in names:
                    if name.endswith(PART_SUFFIX):
                        partial += 1
                        abandoned += part_is_abandoned(os.path.join(dirpath, name))
                        continue
                    if (
                        not rel
                        or name.endswith(LOCK_SUFFIX)
                        or name == MANIFEST
                        or name.startswith(".")
                    ):
                        continue
                    with contextlib.suppress(OSError):
                        n = os.stat(os.path.join(dirpath, name)).st_size
                        files += 1
                        size += n
                        entry = servers.setdefault(rel[0], [0, 0])
                        entry[0] += 1
                        entry[1] += n
        return CacheInfo(
            self.root,
            files,
            size,
            partial,
            {k: (v[0], v[1]) for k, v in servers.items()},
            abandoned,
        )

    def servers(self) -> list[str]:
        """The server folders of the cache (real folders, not links), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.is_symlink())

    def _check_tagged(self) -> Path:
        """The resolved root, if it is a tagged intake-onc cache; else CacheClearError."""
        tag = self.root / "CACHEDIR.TAG"
        try:
            ok = (
                tag.is_file()
                and not tag.is_symlink()
                and tag.read_text().startswith(_TAG.splitlines()[0])
            )
        except OSError:
            ok = False
        if not ok:
            raise CacheClearError(
                f"{self.root} does not look like an intake-onc cache (no CACHEDIR.TAG); "
                "refusing to delete its contents — check cache_dir / INTAKE_ONC_CACHE"
            )
        return self.root.resolve()

    def _server_folder(self, root: Path, server: str) -> Path:
        """``root / server`` if ``server`` names one of the cache's server folders."""
        known = self.servers()
        listed = ", ".join(known) if known else "none: the cache is empty"
        plain = (
            isinstance(server, str)
            and server not in ("", ".", "..")
            and "/" not in server
            and "\\" not in server
            and not os.path.isabs(server)
            and os.sep not in server
            and (os.altsep is None or os.altsep not in server)
        )
        if not plain:
            raise CacheClearError(
                f"server: {server!r} is not a server folder of the cache {root} (a plain "
                f"folder name is expected; known servers: {listed})"
            )
        folder = root / server
        if folder.is_symlink() or not folder.is_dir() or folder.resolve().parent != root:
            raise CacheClearError(
                f"server: no server {server!r} in the cache {root} (known servers: {listed})"
            )
        return folder

    def clear(self, server: str | None = None, *, partial_only: bool = False) -> int:
        """Delete cached files (of one ``server``, or all); return how many were removed.

        Only ever deletes inside the cache root, and only when the root is tagged with
        ``CACHEDIR.TAG`` (a mistyped ``cache_dir`` cannot wipe unrelated files). ``server`` must
        be one of the folder names :meth:`servers` lists: ``..``, paths, absolute paths and
        links are refused, as is an unknown name (:class:`CacheClearError`, which lists the
        known servers). Links inside the cache are removed as links, never followed. With
        ``partial_only``, only the ``.part`` files left by processes that are gone are removed.
        """
        if not self.root.is_dir():
            if server is not None:
                raise CacheClearError(
                    f"server: no server {server!r}: the cache {self.root} does not exist"
                )
            return 0
        root = self._check_tagged()
        if server is not None:
            targets = [self._server_folder(root, server)]
        else:
            targets = [root / name for name in self.servers()]
        if partial_only:
            removed = 0
            for folder in targets:
                for dirpath, _dirs, _names in os.walk(folder):
                    removed += len(reclaim_parts(dirpath))
            return removed
        removed = 0
        for folder in targets:
            removed += _remove_tree(folder, root)
        return removed


def _remove_tree(folder: Path, root: Path) -> int:
    """Delete ``folder`` (inside ``root``) without following links; the files removed."""
    removed = 0
    if not str(folder.resolve()).startswith(str(root) + os.sep):  # pragma: no cover - checked
        raise CacheClearError(f"refusing to delete {folder}: outside the cache {root}")
    for dirpath, dirs, names in os.walk(folder, topdown=False):
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(dirpath, name))
                removed += 1
        for name in dirs:
            full = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                if os.path.islink(full):  # a link is removed, never followed
                    os.unlink(full)
                    removed += 1
                else:
                    os.rmdir(full)
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return removed
