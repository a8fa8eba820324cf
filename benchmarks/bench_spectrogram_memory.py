"""Peak memory of a spectrogram over many hours of 64 kHz audio, computed with dask.

Target (performance.md): a spectrogram over 24 h of 64 kHz audio computed with dask stays under
2 GB peak RSS.

The workload, end to end from the archive: ``open_audio("ICLISTENHF6324", start, start +
hours)`` against a sandbox in a child process (every file downloaded through the client's cache
inside the dask tasks), ``spectrogram(audio, win_dur=1, overlap=0.5, freq_lims=(0, 2000),
db=False)``, averaged to one-minute columns (``coarsen(time=120)``, then dB) so that the result
is small (24 h: 1440 × 2001 float32, 11.5 MB) while every sample is read, transformed and
reduced. It runs in a fresh child process; its peak RSS is ``resource.getrusage``'s
``ru_maxrss`` (reported with the RSS after imports and open, before compute). The default
threaded scheduler is used (2 cores here); ``--scheduler distributed`` computes on a
``dask.distributed`` ``LocalCluster`` of 2 worker processes with 1 thread each instead, and the
peak is then that of the whole process tree (the child, its nannies and workers), sampled every
50 ms from ``/proc`` and summed (``peak tree MB``; also reported for the threaded runs).

Generating 288 64-kHz FLAC files in the sandbox takes minutes and ~14 GB (plus ~14 GB in the
client's cache); both live in a temporary folder deleted at the end. ``--hours`` runs a shorter
stretch; the peak should not grow with the length (the computation streams file by file), which
the printed per-hour table shows when several lengths are given.

Run: ``python benchmarks/bench_spectrogram_memory.py --hours 1 6 24 [--scheduler threads
distributed] [--write-results]``.

``--synthetic`` runs the same pipeline without a server, in seconds per hour of audio: the
window is assembled by ``audio_from_table`` from a table of 300-s files starting every
300 ± 2 s (so with a gap or an overlap between each two, as in the archive) and a loader that
generates the samples (deterministic per file and frame); it prints, and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEVICE = "ICLISTENHF6324"
START = "2024-04-01T00:00:00Z"
TARGET_MB = 2048


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _tree_rss_mb(root: int) -> float:
    """Summed VmRSS of ``root`` and all its descendants (from /proc), in MB."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0.0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


class TreeSampler:
    """Peak of :func:`_tree_rss_mb` of this process, sampled in a thread every ``interval`` s."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak = interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(os.getpid()))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss_mb(os.getpid()))


def synthetic_audio(hours: float, chunk: str | float):
    """The window without a server: jittered 300-s files, samples made by the loader."""
    import numpy as np
    import pandas as pd

    from intake_onc.acoustics.windows import audio_from_table

    fs, t0 = 64000, pd.Timestamp(START)
    rng = np.random.default_rng(0)
    rows = []
    for k in range(int(np.ceil(hours * 12)) + 1):
        start = t0 + pd.Timedelta(seconds=300 * k + (rng.uniform(-2, 2) if k else 0))
        start = start.round("ms")
        name = f"{DEVICE}_{start:%Y%m%dT%H%M%S}.{start.microsecond // 1000:03d}Z.flac"
        rows.append({"name": name, "start": start, "sample_rate": fs, "n_frames": 300 * fs})

    def loader(row, frame, n):  # a multiplicative hash of the sample index: cheap, not constant
        idx = np.arange(frame, frame + n, dtype=np.uint32)
        idx += np.uint32(row["start"].value // 10**9 * 977 % 2**32)
        idx *= np.uint32(2654435761)
        out = idx.astype(np.float32)
        out *= np.float32(2**-32)
        out -= np.float32(0.5)
        return out

    return audio_from_table(rows, loader, t0, t0 + pd.Timedelta(hours=hours), chunk=chunk)


def child(url: str, cache: str, hours: float, chunk: str | float, scheduler: str) -> None:
    """The measured process: open, spectrogram, reduce, compute; print a JSON line."""
    import numpy as np
    import pandas as pd

    from intake_onc.acoustics.spectrogram import spectrogram
    from intake_onc.client import ONCClient
    from intake_onc.datasets import open_audio
    from intake_onc.sandbox import SANDBOX_TOKEN

    end = pd.Timestamp(START) + pd.Timedelta(hours=hours)
    t0 = time.perf_counter()
    if url == "synthetic":
        client = None
        audio = synthetic_audio(hours, chunk)
    else:
        client = ONCClient(token=SANDBOX_TOKEN, base_url=url, cache_dir=cache, workers=4)
        audio = open_audio(DEVICE, START, end, client=client, chunk=chunk)
    spec = spectrogram(audio, win_dur=1.0, overlap=0.5, freq_lims=(0, 2000), db=False)
    minute = spec.coarsen(time=120, boundary="trim").mean()
    opened = time.perf_counter() - t0
    rss_open = _rss_mb()
    cluster = dask_client = None
    if scheduler == "distributed":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        dask_client = Client(cluster)
    try:
        with TreeSampler() as sampler:
            t1 = time.perf_counter()
            result = minute.compute()
            seconds = time.perf_counter() - t1
    finally:
        if dask_client is not None:
            dask_client.close()
            cluster.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    level = 10 * np.log10(result.sel(frequency=1000).values)
    whole = len(level) // 60 * 60  # the hourly tone at HH:12:30 is in minute 12 of each hour
    hours_ok = (
        float(np.mean(np.argmax(level[:whole].reshape(-1, 60), axis=1) == 12))
        if whole and client
        else None  # (no tone in synthetic audio)
    )
    print(
        json.dumps(
            {
                "hours": hours,
                "chunk": chunk,
                "scheduler": scheduler,
                "files": len(set(audio.attrs["coverage_files"])),
                "samples": int(audio.sizes["time"]),
                "tasks": int(audio.data.npartitions),
                "out_shape": list(result.shape),
                "open_s": opened,
                "compute_s": seconds,
                "rss_open_mb": rss_open,
                "peak_mb": peak,
                "peak_tree_mb": sampler.peak,
                "tone_hours": hours_ok,
                "downloaded_mb": client.stats["bytes"] / 1e6 if client else 0.0,
            }
        ),
        flush=True,
    )


def _chunk_text(chunk: str | float) -> str:
    return chunk if isinstance(chunk, str) else f"{chunk:g} s"


def run(hours: float, chunk: str, url: str, cache: str, scheduler: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, cache, str(hours), chunk, scheduler],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0])
    parser.add_argument(
        "--chunk", nargs="+", default=["file"], help="open_audio chunk= values ('file', seconds)"
    )
    parser.add_argument(
        "--scheduler", nargs="+", default=["threads"], choices=["threads", "distributed"]
    )
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument(
        "--synthetic", action="store_true", help="no server: generated samples (prints only)"
    )
    parser.add_argument(
        "--child",
        nargs=5,
        metavar=("URL", "CACHE", "HOURS", "CHUNK", "SCHED"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.child:
        chunk = args.child[3]
        child(
            args.child[0],
            args.child[1],
            float(args.child[2]),
            chunk if chunk == "file" else float(chunk),
            args.child[4],
        )
        return 0
    from _sandbox_proc import spawn, stop, write_section

    rows = []
    runs = [(h, c, d) for h in args.hours for c in args.chunk for d in args.scheduler]
    if args.synthetic:
        for hours, chunk, sched in runs:
            t0 = time.perf_counter()
            row = run(hours, chunk, "synthetic", "-", sched)
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print(json.dumps(row), flush=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            url, proc = spawn(os.path.join(tmp, "sandbox-files"))
            try:
                # one client cache for all runs: later runs reuse the downloaded files
                for hours, chunk, sched in runs:
                    t0 = time.perf_counter()
                    row = run(hours, chunk, url, os.path.join(tmp, "cache"), sched)
                    row["wall_s"] = time.perf_counter() - t0
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                stop(proc)
    head = (
        "| hours | chunk | scheduler | files | samples | dask tasks | result | open s | "
        "compute s (wall) | RSS after open MB | peak RSS MB | peak tree MB | vs 2 GB target | "
        "hours with the tone at HH:12 |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r['hours']:g} | {_chunk_text(r['chunk'])} | {r['scheduler']} | {r['files']} | "
        f"{r['samples']:,} | {r['tasks']:,} | "
        f"{r['out_shape'][0]}×{r['out_shape'][1]} | {r['open_s']:.2f} | {r['compute_s']:.0f} | "
        f"{r['rss_open_mb']:.0f} | {r['peak_mb']:.0f} | {r['peak_tree_mb']:.0f} | "
        f"{'met' if max(r['peak_mb'], r['peak_tree_mb']) < TARGET_MB else 'NOT met'} "
        f"({max(r['peak_mb'], r['peak_tree_mb']) / TARGET_MB:.0%}) | "
        f"{'—' if r['tone_hours'] is None else format(r['tone_hours'], '.0%')} |"
        for r in rows
    ]
    text = "\n".join([head, *lines])
    print(text)
    if args.write_results and not args.synthetic:
        command = "python benchmarks/bench_spectrogram_memory.py " + " ".join(argv or sys.argv[1:])
        body = (
            "## Spectrogram memory over hours of 64 kHz audio "
            "(`benchmarks/bench_spectrogram_memory.py`)\n\n"
            f"`{command.strip()}` — remote `open_audio('{DEVICE}', {START}, +hours)` → "
            "`spectrogram(win_dur=1, overlap=0.5, freq_lims=(0, 2000), db=False)` → one-minute "
            "means, computed by dask's threaded scheduler in a fresh child process (peak RSS = "
            "`ru_maxrss`); sandbox in another process (files generated on the fly; compute time "
            "includes that generation and the downloads). "
            f"CPython {platform.python_version()}, {os.cpu_count()} cores.\n\n{text}\n"
        )
        write_section("bench_spectrogram_memory", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
