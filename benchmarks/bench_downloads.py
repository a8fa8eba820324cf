"""Parallel archive downloads vs the official ``onc`` client's sequential downloads.

Starts a sandbox (in its own process) with a fixed latency per request, warms its file cache (so both contenders get
ready bytes and only the network pattern differs), then downloads the same N hydrophone files:

* with the official ``onc`` 2.6.0 client, one ``downloadArchivefile`` after another;
* with ``ONCClient.download_files`` at several worker counts (fresh cache each time).

Runs alternate, ``--repeat`` times; medians are reported with the ratio to the official client
and the ideal ``N·L/W``. Target (issue #3, performance.md): ≥ 4× with 4–8 workers.

Usage::

    python benchmarks/bench_downloads.py [--files 40] [--latency-ms 100] [--workers 1 4 8]
                                         [--repeat 3] [--extension flac] [--write-results]

``--write-results`` replaces this benchmark's section of ``benchmarks/RESULTS.md`` (other
sections are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from intake_onc.client import ONCClient  # noqa: E402
from intake_onc.sandbox import SANDBOX_TOKEN  # noqa: E402

DEVICE = "ICLISTENHF6093"
START = "BEGIN bench_downloads"
END = "END bench_downloads"


_SERVER = """
import sys
from intake_onc.sandbox import serve

with serve(port=0, latency_ms=float(sys.argv[1]), processing_scale=0,
           file_cache_bytes=2**31) as url:
    print(url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""


@contextlib.contextmanager
def sandbox_process(latency_ms: float):
    """A sandbox in its own process (so that it does not share the client's GIL)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def official_download(url: str, names: list[str], folder: Path) -> float:
    """The official client, as its users call it: one file after another."""
    from onc import ONC

    onc = ONC(SANDBOX_TOKEN, showInfo=False, showWarning=False, outPath=folder)
    onc.baseUrl = url + "/"
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        for name in names:
            onc.downloadArchivefile(name, overwrite=True)
    return time.perf_counter() - started


def ours(url: str, names: list[str], folder: Path, workers: int) -> float:
    with ONCClient(
        token=SANDBOX_TOKEN, base_url=url, cache_dir=folder, workers=workers, progress=False
    ) as client:
        started = time.perf_counter()
        summary = client.download_files(names, raise_errors=True)
        seconds = time.perf_counter() - started
    assert summary.downloaded == len(names), summary
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--extension", default="flac", help="archive files to fetch: flac (6 MB) or -spect.mat"
    )
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)

    n, latency = args.files, args.latency_ms / 1000.0
    times: dict[str, list[float]] = {"official onc (sequential)": []}
    for w in args.workers:
        times[f"intake-onc, {w} workers"] = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-downloads-"))
    try:
        with sandbox_process(args.latency_ms) as url:
            with ONCClient(token=SANDBOX_TOKEN, base_url=url, cache_dir=scratch / "warm") as c:
                files = c.archive_files(
                    DEVICE, "2024-04-01", "2024-04-02", extension=args.extension
                )
                names = files["filename"].head(n).tolist()
                c.download_files(names, workers=4)  # warm the sandbox's file cache
                size = int(files["size"].head(n).sum())
            for rep in range(args.repeat):
                folder = scratch / f"official-{rep}"
                times["official onc (sequential)"].append(official_download(url, names, folder))
                shutil.rmtree(folder, ignore_errors=True)
                for w in args.workers:
                    folder = scratch / f"ours-{w}-{rep}"
                    times[f"intake-onc, {w} workers"].append(ours(url, names, folder, w))
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    base = statistics.median(times["official onc (sequential)"])
    lines = [
        f"{n} `{args.extension}` files of {DEVICE} ({size / 1e6:.1f} MB), sandbox latency {args.latency_ms:g} ms "
        f"per request, medians of {args.repeat} alternating runs; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {_cores()} cores.",
        "",
        "| client | median s | speed-up vs official | ideal N·L/W s |",
        "|---|---|---|---|",
    ]
    for label, values in times.items():
        med = statistics.median(values)
        workers = 1 if label.startswith("official") else int(label.split(", ")[1].split()[0])
        lines.append(f"| {label} | {med:.2f} | {base / med:.1f}× | {n * latency / workers:.2f} |")
    best = max(
        base / statistics.median(v) for k, v in times.items() if not k.startswith("official")
    )
    lines += ["", f"Best ratio: **{best:.1f}×** (target ≥ 4× with 4–8 workers)."]
    record(f"downloads ({args.extension})", best, baseline="official onc client", target=4.0)
    text = "\n".join(lines)
    print(text)
    if args.write_results:
        write_results(text, argv, args.extension)
    return 0


def _cores() -> int:

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def write_results(text: str, argv: list[str] | None, extension: str) -> None:
    """Replace this benchmark's section (per extension) of RESULTS.md, keeping the rest."""
    path = HERE / "RESULTS.md"
    start, end = f"{START} {extension}", f"{END} {extension}"
    command = "python benchmarks/bench_downloads.py " + " ".join(argv or sys.argv[1:])
    section = (
        f"<!-- {start} -->\n## Downloads ({extension}): parallel client vs official `onc` "
        f"(issue #3)\n\n`{command.strip()}`\n\n{text}\n<!-- {end} -->\n"
    )
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    i, j = old.find(f"<!-- {start} -->"), old.find(f"<!-- {end} -->")
    if i >= 0 and j > i:
        new = old[:i] + section + old[j + len(f"<!-- {end} -->\n") :]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
