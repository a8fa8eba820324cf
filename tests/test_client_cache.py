"""The download cache: files are complete or absent, never fetched twice, safe across processes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from intake_onc._core.files import atomic_path
from intake_onc.client.cache import Cache, request_fingerprint
from intake_onc.client.cli import add_cache_commands

REPO = Path(__file__).resolve().parents[1]
CACHE_MODULE = str(REPO / "intake_onc" / "client" / "cache.py")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".part", ".lock")))


def test_an_interrupted_write_leaves_neither_file_nor_partial(tmp_path):
    target = tmp_path / "a.flac"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a fi")
        raise KeyboardInterrupt
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_failed_download_keeps_the_previous_good_file(tmp_path):
    cache = Cache(tmp_path)
    path = tmp_path / "srv" / "archive" / "a.flac"

    def good(tmp):
        tmp.write_bytes(b"good")

    def broken(tmp):
        tmp.write_bytes(b"ba")
        raise ConnectionError("reset")

    cache.fetch(path, good)
    with pytest.raises(ConnectionError):
        cache.fetch(path, broken, overwrite=True)
    assert path.read_bytes() == b"good" and leftovers(tmp_path) == []


def test_present_files_are_not_fetched_again_unless_the_size_is_wrong(tmp_path):
    cache = Cache(tmp_path)
    path = cache.archive_path("srv", "a.flac")
    calls = []

    def download(tmp):
        calls.append(tmp)
        tmp.write_bytes(b"1234")

    assert cache.fetch(path, download, expected_size=4) == (path, True)
    assert cache.fetch(path, download, expected_size=4) == (path, False)
    assert cache.fetch(path, download, expected_size={4, 9}) == (path, False)
    path.write_bytes(b"12")  # changed behind the cache's back
    assert cache.fetch(path, download, expected_size=4) == (path, True)
    assert len(calls) == 2


def test_a_download_of_the_wrong_size_never_lands(tmp_path):
    cache = Cache(tmp_path)
    path = cache.archive_path("srv", "a.flac")
    with pytest.raises(OSError, match="expected 10"):
        cache.fetch(path, lambda tmp: tmp.write_bytes(b"123"), expected_size=10)
    assert not path.exists() and leftovers(tmp_path) == []


def test_threads_asking_for_the_same_file_download_it_once(tmp_path):
    cache = Cache(tmp_path)
    path = cache.archive_path("srv", "a.flac")
    calls = []

    def slow(tmp):
        calls.append(1)
        time.sleep(0.2)
        tmp.write_bytes(b"x" * 1000)

    threads = [threading.Thread(target=cache.fetch, args=(path, slow)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and path.read_bytes() == b"x" * 1000
    assert leftovers(tmp_path) == []


def test_processes_downloading_the_same_file_at_once_never_corrupt_it(tmp_path):
    script = textwrap.dedent(
        """
        import importlib.util, sys, time
        from pathlib import Path
        # cache.py alone (stdlib only): quick to start, so the processes really overlap
        spec = importlib.util.spec_from_file_location("cache", sys.argv[3])
        module = sys.modules["cache"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        Cache = module.Cache
        root, log = Path(sys.argv[1]), Path(sys.argv[2])
        cache = Cache(root)
        def download(tmp):
            with open(log, "a") as fh:
                fh.write("downloaded\\n")
            with open(tmp, "wb") as out:
                for i in range(50):
                    out.write(bytes([i]) * 1000)
                    time.sleep(0.004)
        cache.fetch(cache.archive_path("srv", "big.flac"), download)
        """
    )
    log = tmp_path / "log.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "c"), str(log), CACHE_MODULE], env=env
        )
        for _ in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    expected = b"".join(bytes([i]) * 1000 for i in range(50))
    assert (tmp_path / "c" / "srv" / "archive" / "big.flac").read_bytes() == expected
    assert log.read_text().count("downloaded") == 1
    assert leftovers(tmp_path / "c") == []


def test_fingerprints_ignore_the_token_and_parameter_order():
    a = request_fingerprint("srv", {"dataProductCode": "HSD", "extension": "mat", "token": "x"})
    b = request_fingerprint("srv", {"extension": "mat", "dataProductCode": "HSD"})
    c = request_fingerprint("other", {"extension": "mat", "dataProductCode": "HSD"})
    assert a == b != c


def test_a_manifest_is_valid_only_while_its_files_are_complete(tmp_path):
    cache = Cache(tmp_path)
    folder = cache.product_dir("srv", "abc")
    with atomic_path(folder / "x.csv") as tmp:
        tmp.write_text("1,2\n")
    cache.write_manifest(folder, {"files": [{"name": "x.csv", "size": 4}]})
    assert cache.read_manifest(folder)["files"][0]["name"] == "x.csv"
    (folder / "x.csv").unlink()
    assert cache.read_manifest(folder) is None


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="intake-onc")
    add_cache_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_cache_info_and_clear_from_the_command_line(tmp_path, capsys):
    cache = Cache(tmp_path / "c")
    cache.fetch(cache.archive_path("srv", "a.flac"), lambda tmp: tmp.write_bytes(b"1234"))
    assert run_cli("cache", "info", "--cache-dir", str(cache.root)) == 0
    out = capsys.readouterr().out
    assert "files: 1" in out and "srv: 1 files" in out
    assert run_cli("cache", "clear", "--cache-dir", str(cache.root)) == 0
    assert cache.info().files == 0


def test_clear_refuses_a_folder_that_is_not_a_cache(tmp_path, capsys):
    precious = tmp_path / "thesis"
    (precious / "chapter").mkdir(parents=True)
    (precious / "chapter" / "1.tex").write_text("...")
    assert run_cli("cache", "clear", "--cache-dir", str(precious)) == 2
    assert "does not look like an intake-onc cache" in capsys.readouterr().err
    assert (precious / "chapter" / "1.tex").exists()


def test_info_counts_partial_files_left_by_killed_processes(tmp_path):
    cache = Cache(tmp_path)
    (tmp_path / "srv" / "archive").mkdir(parents=True)
    (tmp_path / "srv" / "archive" / "a.flac.1234.part").write_bytes(b"x")
    assert cache.info().partial == 1 and cache.info().files == 0
