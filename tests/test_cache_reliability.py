"""The cache's safety promises under abuse: what ``cache clear`` may delete, stale locks and
leftover ``.part`` files of killed processes, damaged cached files, and duplicate orders."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from intake_onc._core import locks as core_locks
from intake_onc._core.files import part_file
from intake_onc._core.locks import LockTimeoutError, file_lock, lock_file, lock_holder
from intake_onc.client.cache import Cache, CacheClearError
from intake_onc.client.cli import add_cache_commands

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="intake-onc")
    add_cache_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def filled_cache(tmp_path: Path) -> Cache:
    cache = Cache(tmp_path / "c")
    cache.fetch(cache.archive_path("srv", "a.flac"), lambda tmp: tmp.write_bytes(b"1234"))
    cache.fetch(cache.archive_path("other", "b.flac"), lambda tmp: tmp.write_bytes(b"12"))
    return cache


def precious(folder: Path) -> Path:
    (folder / "chapter").mkdir(parents=True)
    (folder / "chapter" / "1.tex").write_text("...")
    return folder / "chapter" / "1.tex"


# -- 1. cache clear deletes inside the tagged cache root only -----------------------------------


@pytest.mark.parametrize("server", ["..", "../thesis", "srv/..", "/ABS", "", "."])
def test_clear_refuses_a_server_that_is_not_a_cache_folder(tmp_path, capsys, server):
    cache = filled_cache(tmp_path)
    keep = precious(tmp_path / "thesis")
    server = str(tmp_path / "thesis") if server == "/ABS" else server
    assert run_cli("cache", "clear", "--cache-dir", str(cache.root), "--server", server) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "known servers: other, srv" in err
    assert keep.exists() and cache.info().files == 2


def test_an_unknown_server_is_an_error_that_lists_the_known_ones(tmp_path, capsys):
    cache = filled_cache(tmp_path)
    assert run_cli("cache", "clear", "--cache-dir", str(cache.root), "--server", "sr") == 2
    captured = capsys.readouterr()
    assert "removed" not in captured.out
    assert "no server 'sr'" in captured.err and "known servers: other, srv" in captured.err
    assert run_cli("cache", "clear", "--cache-dir", str(cache.root), "--server", "srv") == 0
    assert "removed 1 files" in capsys.readouterr().out
    assert cache.servers() == ["other"]


def test_links_in_the_cache_are_never_followed(tmp_path, capsys):
    cache = filled_cache(tmp_path)
    keep = precious(tmp_path / "thesis")
    (cache.root / "escape").symlink_to(tmp_path / "thesis", target_is_directory=True)
    (cache.root / "srv" / "inner").symlink_to(tmp_path / "thesis", target_is_directory=True)
    with pytest.raises(CacheClearError, match="known servers: other, srv"):
        cache.clear("escape")
    assert cache.clear() == 3  # a.flac, b.flac and the inner link itself
    assert keep.exists() and (tmp_path / "thesis" / "chapter").is_dir()


def test_clear_needs_the_real_tag(tmp_path):
    cache = filled_cache(tmp_path)
    (cache.root / "CACHEDIR.TAG").write_text("not the signature\n")
    with pytest.raises(CacheClearError, match="does not look like an intake-onc cache"):
        cache.clear()


# -- 3. locks: a dead holder's lock is taken, a stopped holder's ends in a clear error ----------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from intake_onc._core.locks import file_lock
    with file_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(600)
    """
)


@pytest.fixture
def holder(tmp_path):
    """``holder(target) -> Popen``: a process that holds ``target``'s lock until killed."""
    procs = []

    def start(target: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(target)], stdout=subprocess.PIPE, env=ENV, text=True
        )
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait(timeout=30)


@posix_only
def test_the_lock_of_a_process_killed_with_sigkill_is_taken(tmp_path, holder):
    target = tmp_path / "a.flac"
    proc = holder(target)
    assert lock_holder(target)["pid"] == proc.pid
    proc.kill()
    proc.wait(timeout=30)
    with file_lock(target, timeout=10):
        assert lock_holder(target)["pid"] == os.getpid()
    assert not lock_file(target).exists()


@posix_only
def test_a_stopped_holder_is_alive_and_the_timeout_names_it(tmp_path, holder, caplog):
    target = tmp_path / "a.flac"
    proc = holder(target)
    os.kill(proc.pid, signal.SIGSTOP)
    with (
        caplog.at_level(logging.WARNING, logger="intake_onc.files"),
        pytest.raises(LockTimeoutError) as info,
        file_lock(target, timeout=0.3, warn_after=0),
    ):
        pass  # pragma: no cover - never reached
    message = str(info.value)
    assert str(lock_file(target)) in message and f"pid {proc.pid}" in message
    assert isinstance(info.value, TimeoutError) and info.value.holder["pid"] == proc.pid
    assert any(f"process {proc.pid}" in r.getMessage() for r in caplog.records)


def test_the_default_lock_timeout_is_finite_and_set_by_the_environment(monkeypatch):
    assert core_locks._lock_timeout("default") == core_locks.DEFAULT_LOCK_TIMEOUT == 3600.0
    monkeypatch.setenv("INTAKE_ONC_LOCK_TIMEOUT", "5")
    assert core_locks._lock_timeout("default") == 5.0
    assert core_locks._lock_timeout(None) is None


@posix_only
def test_without_flock_a_lock_file_naming_a_dead_process_is_broken(tmp_path, monkeypatch):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    target = tmp_path / "a.flac"
    lock_file(target).write_bytes(
        core_locks.json.dumps({"pid": dead.pid, "host": core_locks._host()}).encode()
    )
    monkeypatch.setattr(core_locks, "fcntl", None)
    with file_lock(target, timeout=5):
        assert lock_holder(target)["pid"] == os.getpid()


# -- 3. .part files of killed writers are reclaimed ---------------------------------------------

KILLED_WRITER = textwrap.dedent(
    """
    import os, sys
    from intake_onc.client.cache import Cache
    cache = Cache(sys.argv[1])
    def download(tmp):
        tmp.write_bytes(b"half")
        os.kill(os.getpid(), 9)
    cache.fetch(cache.archive_path("srv", sys.argv[2]), download)
    """
)


@posix_only
def test_parts_left_by_killed_processes_are_reclaimed_by_a_rerun(tmp_path, capsys):
    root = tmp_path / "c"
    for name in ("a.flac", "b.flac"):  # the second run already reclaims the first's leftover
        proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(root), name], env=ENV)
        assert proc.returncode == -9
    folder = root / "srv" / "archive"
    assert [p.name.split(".p")[0] for p in folder.glob("*.part")] == ["b.flac"]
    (folder / "d.flac.0123456789ab.part").write_bytes(b"old style, a day old")
    os.utime(folder / "d.flac.0123456789ab.part", (0, 0))
    live = part_file(folder / "c.flac")  # a download of this (live) process: kept
    live.write_bytes(b"running")
    assert len(list(folder.glob("*.part"))) == 3
    cache = Cache(root)
    assert (cache.info().partial, cache.info().abandoned) == (3, 2)
    assert run_cli("cache", "info", "--cache-dir", str(root)) == 0
    assert "2 left by processes that are gone" in capsys.readouterr().out
    cache.fetch(cache.archive_path("srv", "a.flac"), lambda tmp: tmp.write_bytes(b"whole"))
    assert sorted(p.name for p in folder.glob("*.part")) == [live.name]
    assert (folder / "a.flac").read_bytes() == b"whole"


@posix_only
def test_clear_partial_removes_only_abandoned_parts(tmp_path, capsys):
    root = tmp_path / "c"
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(root), "a.flac"], env=ENV)
    assert proc.returncode == -9
    folder = root / "srv" / "archive"
    live = part_file(folder / "c.flac")
    live.write_bytes(b"running")
    assert run_cli("cache", "clear", "--partial", "--cache-dir", str(root)) == 0
    assert "removed 1 partial downloads" in capsys.readouterr().out
    assert [p.name for p in folder.glob("*.part")] == [live.name]


# -- 2. cached files are verified when read -----------------------------------------------------

DEVICE, DAY = "ICLISTENHF6093", "2023-01-01"


@pytest.fixture
def client(sandbox_url, sandbox_token, tmp_path):
    from intake_onc.client import ONCClient
    from intake_onc.datasets import _hydrophone_io as hio

    hio._PROBED.clear()
    with ONCClient(token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path / "cache") as c:
        yield c


def archive_downloads(stats: dict) -> int:
    return stats["paths"].get("/api/archivefile/download", 0)


def damage(path: Path) -> None:
    """Flip bytes all through the file (past its header); the size stays the same."""
    data = bytearray(path.read_bytes())
    for offset in range(8192, len(data) - 64, len(data) // 20):
        data[offset : offset + 64] = bytes(b ^ 0xFF for b in data[offset : offset + 64])
    path.write_bytes(bytes(data))


def one_minute(client):
    from intake_onc.datasets import open_audio

    return open_audio(DEVICE, f"{DAY}T00:08Z", f"{DAY}T00:09Z", client=client)


def test_a_damaged_cached_flac_is_fetched_again(client, sandbox_url, sandbox_stats):
    good = one_minute(client).compute(scheduler="synchronous").values
    (path,) = sorted(client.cache.root.rglob("*.flac"))
    size = path.stat().st_size
    damage(path)
    assert path.stat().st_size == size
    before = archive_downloads(sandbox_stats(sandbox_url))
    again = one_minute(client).compute(scheduler="synchronous").values
    assert archive_downloads(sandbox_stats(sandbox_url)) == before + 1
    assert (again == good).all()


def test_a_flac_still_damaged_after_refetching_names_the_file_and_the_cache_path(
    client, sandbox_url, sandbox_stats, monkeypatch
):
    from intake_onc.client import CorruptFileError, DownloadError

    real = client._download_one

    def served_damaged(name, *args, **kwargs):  # as if ONC itself served a damaged file
        path, fetched = real(name, *args, **kwargs)
        if fetched is not None:
            damage(path)
        return path, fetched

    audio = one_minute(client)
    monkeypatch.setattr(client, "_download_one", served_damaged)
    before = archive_downloads(sandbox_stats(sandbox_url))
    with pytest.raises(CorruptFileError) as info:
        audio.compute(scheduler="synchronous")
    assert archive_downloads(sandbox_stats(sandbox_url)) == before + 2  # fetched once more
    (name,) = {row for row in [info.value.filename]}
    assert name.startswith(DEVICE) and name in str(info.value)
    assert info.value.path in str(info.value) and str(client.cache.root) in info.value.path
    assert isinstance(info.value, DownloadError)
    assert not Path(info.value.path).exists()  # evicted: the next read fetches it anew


# -- 5. arguments that used to give silently wrong results -------------------------------------


def test_a_sample_rate_argument_that_disagrees_with_the_header_says_so(client):
    from intake_onc.datasets import open_audio

    audio = open_audio(DEVICE, f"{DAY}T00:08Z", f"{DAY}T00:09Z", sample_rate=16000, client=client)
    with pytest.raises(ValueError, match="sample_rate=16000 disagrees with the header") as info:
        audio.compute(scheduler="synchronous")
    assert "8000 Hz" in str(info.value) and ".flac" in str(info.value)
    assert "changes inside the range" not in str(info.value)


@pytest.mark.parametrize("chunk", [1e-7, 0.5, "10ms"])
def test_open_audio_refuses_tiny_chunks(client, chunk):
    from intake_onc.datasets import open_audio

    with pytest.raises(ValueError, match="chunk"):
        open_audio(DEVICE, f"{DAY}T00:08Z", f"{DAY}T00:09Z", chunk=chunk, client=client)


def test_a_negative_lookback_is_refused(client):
    with pytest.raises(ValueError, match="lookback"):
        client.archive_files(DEVICE, f"{DAY}T00:08Z", f"{DAY}T00:09Z", lookback="-1h")


@pytest.mark.parametrize("end", ["2024-04-01T00:00:00.000000001", "2024-04-01T00:00:00.5"])
def test_an_order_shorter_than_a_second_is_refused_before_submitting(
    client, sandbox_url, sandbox_stats, end
):
    before = sandbox_stats(sandbox_url)["paths"].get("/api/dataProductDelivery/request", 0)
    with pytest.raises(ValueError, match="start.*end") as info:
        client.order("TSSD", "csv", device_code="SBECTD19p6813", start="2024-04-01", end=end)
    assert "2024-04-01T00:00:00.000Z" in str(info.value)
    assert sandbox_stats(sandbox_url)["paths"].get("/api/dataProductDelivery/request", 0) == before


# -- 4. identical orders are submitted once, across processes -----------------------------------

ORDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from intake_onc.client import ONCClient
    url, token, cache, go = sys.argv[1:5]
    while not Path(go).exists():  # start together
        time.sleep(0.005)
    with ONCClient(token=token, base_url=url, cache_dir=cache, poll_range=(0.05, 0.2)) as c:
        order = c.order("TSSD", "csv", device_code="SBECTD19p6813", start="2024-04-01",
                        end="2024-04-01T06:00", quality_control=True, resample="none", wait=True)
        print(order.request_id, len(order.paths), flush=True)
    """
)


def test_four_processes_running_the_same_order_submit_it_once(
    tmp_path, make_sandbox, sandbox_stats, sandbox_token
):
    url = make_sandbox(processing_scale=0.05)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ORDER, url, sandbox_token, str(tmp_path / "c"), str(go)],
            env=ENV,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    outputs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    # one dpRequestId for all four; a process that starts after the first one finished (a loaded
    # machine) reads the cached result and has none of its own ("None")
    assert len({out[0] for out in outputs} - {"None"}) == 1
    assert len({out[1] for out in outputs}) == 1 and int(outputs[0][1]) >= 1
    stats = sandbox_stats(url)
    assert stats["paths"].get("/api/dataProductDelivery/request", 0) == 1
    assert stats["products_built"] == 1
    downloads = stats["paths"].get("/api/dataProductDelivery/download", 0)
    assert downloads == int(outputs[0][1]) + 1  # each file once, then the 404 that ends the list


def test_threads_running_the_same_order_submit_it_once(
    tmp_path, make_sandbox, sandbox_stats, sandbox_token
):
    import threading

    from intake_onc.client import ONCClient

    url = make_sandbox(processing_scale=0.05)
    ids = []

    def run():
        with ONCClient(
            token=sandbox_token, base_url=url, cache_dir=tmp_path / "c", poll_range=(0.05, 0.2)
        ) as c:
            order = c.order(
                "TSSD",
                "csv",
                device_code="SBECTD19p6813",
                start="2024-04-01",
                end="2024-04-01T06:00",
                quality_control=True,
                resample="none",
                wait=True,
            )
            ids.append(tuple(order.paths))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 3 and len(set(ids)) == 1 and len(ids[0]) >= 1  # the same files
    assert sandbox_stats(url)["paths"].get("/api/dataProductDelivery/request", 0) == 1
