"""The atomic-write and lock helper every file writer uses (``intake_onc._core.files``).

What it promises, each checked here:

* a file appears under its final name only complete: while the writer works there is nothing
  (or the previous version) under that name, and readers never see part of a new version;
* a writer that raises (or is interrupted) leaves no temporary file and no final file, and an
  older file under the final name stays as it was;
* concurrent writers of one file (threads, and processes) never produce a torn file: the file is
  always exactly one writer's complete version;
* :func:`file_lock` serialises threads and processes: critical sections never overlap, so a
  read-modify-write under the lock loses no update; the lock file is gone afterwards, and the
  operating system releases the lock of a process that dies.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import intake_onc
from intake_onc._core.files import PART_SUFFIX, atomic_path, atomic_write, part_file
from intake_onc._core.locks import LOCK_SUFFIX, file_lock, lock_file

ROOT = Path(intake_onc.__file__).resolve().parents[1]
SIZE = 16 * 16384  # bytes of one version of the file in the concurrency tests


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def version(tag: int) -> bytes:
    """One writer's complete file: ``SIZE`` bytes, all ``tag``."""
    return bytes([tag]) * SIZE


def check_whole(data: bytes, tags) -> None:
    """``data`` is exactly one writer's complete version."""
    assert len(data) == SIZE, f"torn file: {len(data)} bytes"
    assert data[0] in tags and data.count(data[0]) == SIZE, "torn file: versions mixed"


# -- names --------------------------------------------------------------------------------------


def test_temporary_and_lock_names_are_beside_the_target(tmp_path):
    target = tmp_path / "a.flac"
    tmp = part_file(target)
    assert tmp.parent == tmp_path and tmp.name.startswith("a.flac.") and tmp.suffix == PART_SUFFIX
    assert part_file(target) != tmp  # random: two writers never share a temporary file
    assert lock_file(target) == tmp_path / f".a.flac{LOCK_SUFFIX}"


# -- one writer ---------------------------------------------------------------------------------


def test_the_final_name_appears_only_when_the_block_completes(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and not tmp.exists()
        with open(tmp, "wb") as f:
            f.write(b"first half ")
            assert not target.exists()
            f.write(b"second half")
        assert not target.exists()
    assert target.read_bytes() == b"first half second half"
    assert names(tmp_path) == ["out.bin"]


def test_a_new_version_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target, "w", encoding="utf-8") as f:
        f.write("new ")
        assert target.read_text() == "old"  # readers still see the complete old version
        f.write("version")
    assert target.read_text() == "new version" and names(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
@pytest.mark.parametrize("helper", ["atomic_path", "atomic_write"])
def test_an_exception_leaves_no_temporary_and_no_final_file(tmp_path, helper, error):
    target = tmp_path / "out.bin"
    with pytest.raises(error):
        if helper == "atomic_path":
            with atomic_path(target) as tmp:
                tmp.write_bytes(b"partial")
                raise error("interrupted")
        else:
            with atomic_write(target) as f:
                f.write(b"partial")
                raise error("interrupted")
    assert names(tmp_path) == []


@pytest.mark.parametrize("helper", ["atomic_path", "atomic_write"])
def test_an_exception_keeps_an_older_file_intact(tmp_path, helper):
    target = tmp_path / "out.bin"
    target.write_bytes(b"older, complete")
    with pytest.raises(RuntimeError):
        if helper == "atomic_path":
            with atomic_path(target) as tmp:
                tmp.write_bytes(b"newer, but ")
                raise RuntimeError("the writer failed")
        else:
            with atomic_write(target) as f:
                f.write(b"newer, but ")
                raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"older, complete"
    assert names(tmp_path) == ["out.bin"]


def test_a_block_that_writes_nothing_fails_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(FileNotFoundError), atomic_path(target):
        pass
    assert target.read_bytes() == b"old" and names(tmp_path) == ["out.bin"]


def test_folders_are_created_unless_mkdir_is_false(tmp_path):
    with atomic_write(tmp_path / "a" / "b" / "c.txt", "w") as f:
        f.write("x")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "x"
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "d" / "e.txt", mkdir=False) as t:
        t.write_text("x")  # as writing to the final name directly would
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("mode", ["ab", "r", "r+b", "x"])
def test_atomic_write_only_writes_new_files(tmp_path, mode):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "a", mode):
        pass
    assert names(tmp_path) == []


def test_fsync_can_be_turned_off(tmp_path):
    with atomic_path(tmp_path / "a", fsync=False) as tmp:
        tmp.write_bytes(b"a")
    with atomic_write(tmp_path / "b", fsync=False) as f:
        f.write(b"b")
    assert (tmp_path / "a").read_bytes() == b"a" and (tmp_path / "b").read_bytes() == b"b"


# -- concurrent writers: threads ----------------------------------------------------------------


def test_concurrent_thread_writers_never_produce_a_torn_file(tmp_path):
    target = tmp_path / "shared.bin"
    writers, rounds = 6, 15
    seen: list[bytes] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def write(tag: int) -> None:
        try:
            for _ in range(rounds):
                with atomic_write(target) as f:
                    for _ in range(16):  # in pieces: a torn file would show
                        f.write(bytes([tag]) * 16384)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):  # absent before the first: never partial
                seen.append(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(tag,)) for tag in range(1, writers + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    for data in [*seen, target.read_bytes()]:
        check_whole(data, range(1, writers + 1))
    assert names(tmp_path) == ["shared.bin"]


def test_the_lock_serialises_threads(tmp_path):
    target = tmp_path / "counter.txt"
    inside: list[int] = []
    overlaps: list[int] = []

    def work() -> None:
        for _ in range(25):
            with file_lock(target):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                value = int(target.read_text()) if target.exists() else 0
                with atomic_path(target, fsync=False) as tmp:
                    tmp.write_text(str(value + 1))
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [] and target.read_text() == "100"
    assert names(tmp_path) == ["counter.txt"]  # no lock file left


def test_a_lock_held_elsewhere_times_out(tmp_path):
    target = tmp_path / "x"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with file_lock(target):
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        with pytest.raises(TimeoutError), file_lock(target, timeout=0.1):
            pass  # pragma: no cover - never reached
    finally:
        release.set()
        holder.join()
    with file_lock(target, timeout=5):  # free again
        pass
    assert names(tmp_path) == []


# -- concurrent writers: processes --------------------------------------------------------------

CHILD = r"""
import os, sys, time
from pathlib import Path
from intake_onc._core.files import atomic_path, atomic_write
from intake_onc._core.locks import file_lock

job, folder, tag, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
go = folder / "go"
while not go.exists():  # start together
    time.sleep(0.005)
if job == "write":
    for _ in range(rounds):
        with atomic_write(folder / "shared.bin") as f:
            for _ in range(16):
                f.write(bytes([tag]) * 16384)
elif job == "count":
    counter, log = folder / "counter.txt", folder / "log.txt"
    for _ in range(rounds):
        with file_lock(counter):
            with open(log, "a") as f:
                f.write(f"{tag} in\n")
            value = int(counter.read_text()) if counter.exists() else 0
            with atomic_path(counter) as tmp:
                tmp.write_text(str(value + 1))
            with open(log, "a") as f:
                f.write(f"{tag} out\n")
elif job == "die-writing":
    with atomic_path(folder / "shared.bin") as tmp:
        tmp.write_bytes(b"half")
        os._exit(3)  # killed: no clean-up runs
elif job == "die-locked":
    with file_lock(folder / "shared.bin"):
        os._exit(3)
"""


def children(job: str, folder: Path, count: int, rounds: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, job, str(folder), str(tag), str(rounds)], env=env
        )
        for tag in range(1, count + 1)
    ]


def test_concurrent_process_writers_never_produce_a_torn_file(tmp_path):
    procs = children("write", tmp_path, 4, 15)
    (tmp_path / "go").touch()
    target, seen = tmp_path / "shared.bin", []
    while any(p.poll() is None for p in procs):
        with contextlib.suppress(FileNotFoundError):
            seen.append(target.read_bytes())
    assert [p.wait() for p in procs] == [0] * 4
    for data in [*seen, target.read_bytes()]:
        check_whole(data, range(1, 5))
    assert names(tmp_path) == ["go", "shared.bin"]


def test_the_lock_serialises_processes(tmp_path):
    procs = children("count", tmp_path, 3, 20)
    (tmp_path / "go").touch()
    assert [p.wait() for p in procs] == [0] * 3
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert len(lines) == 2 * 3 * 20
    for enter, leave in zip(
        lines[::2], lines[1::2], strict=True
    ):  # one process at a time in the lock
        assert enter.endswith(" in") and leave == enter.replace(" in", " out")
    assert (tmp_path / "counter.txt").read_text() == "60"  # no update lost
    assert names(tmp_path) == ["counter.txt", "go", "log.txt"]


def test_a_killed_writer_leaves_only_a_recognisable_temporary_file(tmp_path):
    (tmp_path / "shared.bin").write_bytes(b"older")
    (tmp_path / "go").touch()
    (proc,) = children("die-writing", tmp_path, 1, 1)
    assert proc.wait() == 3
    assert (tmp_path / "shared.bin").read_bytes() == b"older"
    left = [n for n in names(tmp_path) if n not in ("go", "shared.bin")]
    assert len(left) == 1 and left[0].startswith("shared.bin.") and left[0].endswith(PART_SUFFIX)


@pytest.mark.skipif(os.name == "nt", reason="flock (POSIX): the OS releases a dead holder's lock")
def test_the_lock_of_a_killed_process_is_released(tmp_path):
    (tmp_path / "go").touch()
    (proc,) = children("die-locked", tmp_path, 1, 1)
    assert proc.wait() == 3
    with file_lock(tmp_path / "shared.bin", timeout=10):
        pass
