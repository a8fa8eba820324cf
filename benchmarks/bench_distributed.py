"""intake-onc on dask.distributed against the embarrassingly-parallel bound, side by side.

Modelled on the project's reference scale-out run (``scaleout.py`` of the "Scale" issue):

* **audio**: 5-minute 64 kHz 24-bit FLAC files (ONC names, starts jittered by 0-250 ms) →
  custom spectrogram (1 s Hann frames, 50 % overlap, 10-8000 Hz) → per-minute mean.
  ``pool``: a ``multiprocessing.Pool(n)`` running ``soundfile.read`` +
  ``scipy.signal.spectrogram`` + the per-minute mean (of linear PSD) per file, the bound;
  ``ours``: ``spectrogram(open_audio_files(paths), ..., average="1min")`` (mean of linear
  PSD in the block task, then dB) computed on a ``LocalCluster`` of ``n`` single-threaded
  worker processes (dask's default nanny, so ``MALLOC_TRIM_THRESHOLD_=65536`` is set in
  them, as for any user); ``ours_resample``: the same cluster running the issue's original
  pipeline, ``spectrogram(...).resample(time="1min").mean()`` (mean of dB). Weak scaling:
  ``n`` workers take ``per_worker · n`` files (the pool too); ``efficiency`` is real-time
  factor at ``n`` over ``n`` times that at the first worker count.
* **scalar**: a year (``--scalar-days``) of 1 Hz data, 4 sensors with QC flags, in windows
  (dask chunks) of one and of seven days (``--scalar-windows``: ``open_scalar``'s default
  ``chunk="1D"`` and ``chunk="7D"``), ONC ``minMaxAvg`` resampled hourly (built and
  computed: daily windows are resampled in runs of 11, 34 tasks for the year): on the cluster
  against one thread (``scheduler="single-threaded"``), strong scaling. Beside it, what the
  machine and dask.distributed allow for the same work: ``pool``, ``n`` forked processes each
  resampling ``1/n`` of the days locally; ``client.map``, the resample's own kernel tasks
  taken out of its graph and run as independent ``client.map`` tasks on the same cluster
  (dask.distributed's cost per task, without a graph, a gather or output variables).
* **values** (``--values-files``, default 12 = one hour): ``open_audio_files(paths).values``
  against plain ``soundfile.read`` of the same files, time and peak RSS over the result's
  size, each in a fresh process.

Every ratio is measured in one run, the sides one after the other at each worker count (the
pool first, then ours); ``ratio > 1`` means intake-onc is faster.

Run: ``python benchmarks/bench_distributed.py --workers 1,2 --per-worker 2 --scalar-days 30
--repeat 3 --write-results`` (the 16-core run: ``--workers 1,4,16 --per-worker 8 --scalar-days
365 --repeat 3 --write-results``). Files are made once in
``--data`` (default: a folder in the temp dir) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402

FS = 64_000
SECONDS = 300
BEGIN, END = "<!-- bench_distributed:begin -->", "<!-- bench_distributed:end -->"


def make(args: tuple[str, int]) -> str:
    import pandas as pd
    import soundfile as sf

    folder, i = args
    t0 = pd.Timestamp("2024-04-01T00:00:00") + pd.Timedelta(seconds=SECONDS * i + 0.125 * (i % 3))
    name = f"ICLISTENHF6324_{t0.strftime('%Y%m%dT%H%M%S')}.{t0.microsecond // 1000:03d}Z.flac"
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        x = np.random.default_rng(i).normal(0, 0.02, SECONDS * FS).astype(np.float32)
        sf.write(path + ".part.flac", x, FS, subtype="PCM_24")
        os.replace(path + ".part.flac", path)
    return path


def scipy_file(path: str) -> tuple[int, ...]:
    """The bound's work for one file: decode, scipy spectrogram, per-minute mean (linear)."""
    import scipy.signal
    import soundfile as sf

    x, fs = sf.read(path, dtype="float32")
    f, _, s = scipy.signal.spectrogram(
        x, fs=fs, window="hann", nperseg=fs, noverlap=fs // 2, detrend=False
    )
    s = s[(f >= 10) & (f <= 8000)]
    return s[:, :480].reshape(s.shape[0], -1, 120).mean(-1).shape


def pool_run(paths: list[str], n: int) -> float:
    from multiprocessing import get_context

    # forked, as the reference run's pool (children inherit the parent's imports); no cluster
    # is running in this process when it forks
    t = time.perf_counter()
    with get_context("fork").Pool(n) as pool:
        pool.map(scipy_file, paths, chunksize=1)
    return time.perf_counter() - t


class SyntheticDays:
    """``days`` of 4 sensors + flags at 1 Hz in windows of ``window_days``, made when dask asks
    for a window, as ``open_scalar``'s :class:`~intake_onc.datasets._tasks.WindowSource`
    downloads and snaps one (the same protocol: ``shape``, ``chunks`` and ``source[slots]`` → a
    dict). Each day's values come from its own seed, whatever the window length."""

    ndim, dtype = 1, np.dtype(object)

    def __init__(self, days: int, window_days: int = 1) -> None:
        self.days = days
        whole, rest = divmod(days, window_days)
        self.shape = (days * 86400,)
        self.chunks = ((window_days * 86400,) * whole + ((rest * 86400,) if rest else ()),)

    def __getitem__(self, key) -> dict:
        (slots,) = key
        first, stop = slots.start // 86400, slots.stop // 86400
        n = (stop - first) * 86400
        out = {}
        for k in range(4):
            out[f"s{k}"] = values = np.empty(n)
            for day in range(first, stop):
                rng = np.random.default_rng([k, day])
                rng.standard_normal(out=values[(day - first) * 86400 : (day - first + 1) * 86400])
            out[f"s{k}_qc"] = np.ones(n, dtype=np.int8)
        return out


def scalar_dataset(days: int, window_days: int = 1):
    """``days`` of 1 Hz data, 4 sensors + flags, in windows (dask chunks) of ``window_days``,
    on an O(1) regular time index.

    The graph is ``open_scalar``'s (:func:`intake_onc.datasets._tasks.window_views`): the
    windows are one data node, every variable a blockwise view, so the resample fuses into one
    task per window; only the window's contents are synthetic (no network).
    ``window_days=7`` is ``open_scalar(..., chunk="7D")``.
    """
    import xarray as xr
    from dask.base import tokenize

    from intake_onc._core.time_index import time_grid_coords
    from intake_onc.datasets._tasks import window_views

    token = tokenize("bench-scalar", days, window_days)
    dtypes = {**{f"s{k}": np.dtype(np.float64) for k in range(4)}}
    dtypes.update({f"s{k}_qc": np.dtype(np.int8) for k in range(4)})
    source = SyntheticDays(days, window_days)
    views = window_views(source, f"bench-scalar-window-{token}", dtypes, token=token)
    ds = xr.Dataset(coords=time_grid_coords("2023-01-01", "1s", days * 86400))
    flag_values = np.array([0, 1, 2, 3, 4, 6, 7, 8, 9], np.int8)
    for k in range(4):
        ds[f"s{k}"] = ("time", views[f"s{k}"], {"ancillary_variables": f"s{k}_qc"})
        ds[f"s{k}_qc"] = ("time", views[f"s{k}_qc"], {"flag_values": flag_values})
    return ds


def scalar_resample_s(days: int, window_days: int) -> float:
    """Seconds to build and compute the hourly ``minMaxAvg`` resample (on whatever scheduler is
    set). Building is timed too: it optimises the input's graph (runs of small chunks, see
    :mod:`intake_onc.scalar._resample_graph`), which ``compute`` would otherwise do."""
    ds = scalar_dataset(days, window_days)
    t = time.perf_counter()
    ds.onc.resample("1h", method="minMaxAvg").compute()
    return time.perf_counter() - t


def cluster_run(paths: list[str], n: int, scalar: tuple[int, ...], days: int, resample_too: bool):
    from dask.distributed import Client, LocalCluster

    import intake_onc

    row: dict = {}
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            memory_limit="7GiB",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        # workers import what a forked pool child inherits (intake_onc, scipy, soundfile)
        client.run(lambda: __import__("intake_onc.acoustics.spectrogram") and None)
        client.run(lambda: __import__("intake_onc.scalar.resample") and None)
        audio = intake_onc.open_audio_files(paths, chunk="file")
        spec = intake_onc.spectrogram(
            audio, win_dur=1.0, overlap=0.5, freq_lims=(10, 8000), workers=1, average="1min"
        )
        t = time.perf_counter()
        r = spec.compute()
        row["ours_s"] = time.perf_counter() - t
        row["shape"] = list(r.shape)
        if resample_too:
            audio = intake_onc.open_audio_files(paths, chunk="file")
            spec = intake_onc.spectrogram(
                audio, win_dur=1.0, overlap=0.5, freq_lims=(10, 8000), workers=1
            )
            t = time.perf_counter()
            spec.resample(time="1min").mean().compute()
            row["ours_resample_s"] = time.perf_counter() - t
        if scalar:  # warm up as the one-thread side is (first-call imports and allocations),
            # in every worker: a small resample on the cluster may leave the second one cold
            client.run(warm_scalar_worker)
            scalar_resample_s(2, 1)
        for window_days in scalar:
            row[f"scalar_{window_days}d_cluster_s"] = scalar_resample_s(days, window_days)
            row[f"scalar_{window_days}d_floor_s"] = scalar_floor_s(client, days, window_days)
    for window_days in scalar:  # forked once the cluster has stopped (no threads to inherit)
        row[f"scalar_{window_days}d_pool_s"] = scalar_pool_s(days, window_days, n)
    return row


def _alone(task: bytes, values: dict) -> tuple[int, ...]:
    """A task of the resample's graph (pickled, or dask would take it for part of the graph),
    run on its own: only its output's shape goes back."""
    import cloudpickle

    return cloudpickle.loads(task)(values).shape


def scalar_floor_s(client, days: int, window_days: int) -> float:
    """dask.distributed's own floor for the scalar work: the resample's kernel tasks (the runs of
    windows, or one a window), taken out of its optimised graph and submitted as independent
    ``client.map`` tasks, each given the window source it reads; nothing else (no graph to build
    or submit, no gather, no output variables to send back)."""
    import cloudpickle
    from dask._task_spec import DataNode
    from dask.base import collections_to_expr

    ds = scalar_dataset(days, window_days)
    out = ds.onc.resample("1h", method="minMaxAvg")  # built under the client: its runs
    one = out[next(iter(out.data_vars))].data  # one output's optimised graph: every kernel task
    graph = dict(collections_to_expr([one]).__dask_graph__())
    (gather,) = [t for key, t in graph.items() if "onc-resample-gather" in str(key)]
    tasks = [graph[key] for key in sorted(gather.dependencies, key=str)]
    sources = {key: t.value for key, t in graph.items() if isinstance(t, DataNode)}
    assert all(set(t.dependencies) <= set(sources) for t in tasks), "tasks with other inputs"
    tasks = [cloudpickle.dumps(task) for task in tasks]
    t = time.perf_counter()
    client.gather(client.map(_alone, tasks, values=sources, pure=False))
    return time.perf_counter() - t


def _pool_scalar_warm(_: int) -> float:
    time.sleep(0.2)  # keeps this task from running twice in one child while another starts
    return scalar_one_thread(2, 1)


def scalar_pool_s(days: int, window_days: int, n: int) -> float:
    """The hardware's bound for the scalar work: ``n`` forked processes, each resampling
    ``days / n`` with the local scheduler (warmed up first, as the cluster's workers are)."""
    from multiprocessing import get_context

    whole, rest = divmod(days, n * window_days)  # whole windows per process, days left over
    shares = [whole * window_days] * n
    shares[-1] += rest
    with get_context("fork").Pool(n) as pool:
        pool.map(_pool_scalar_warm, range(n), chunksize=1)
        t = time.perf_counter()
        pool.starmap(scalar_one_thread, [(s, window_days) for s in shares], chunksize=1)
        return time.perf_counter() - t


def warm_scalar_worker() -> None:
    """In a worker process: the one-thread side's warm-up (a 2-day resample, locally)."""
    scalar_one_thread(2, 1)


def scalar_one_thread(days: int, window_days: int = 1) -> float:
    import dask

    import intake_onc  # noqa: F401  (registers .onc)

    with dask.config.set(scheduler="single-threaded"):
        return scalar_resample_s(days, window_days)


_VALUES_CHILD = r"""
import json, resource, sys, time
import numpy as np
side, paths = sys.argv[1], sys.argv[2:]
import soundfile as sf
import intake_onc
from intake_onc.acoustics.windows import open_audio_files
import os

def rss():  # resident now (ru_maxrss may hold an earlier, higher peak of the imports)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
base = rss()
t = time.perf_counter()
if side == "soundfile":
    parts = [sf.read(p, dtype="float32")[0] for p in paths]
    nbytes = sum(p.nbytes for p in parts)
else:
    x = open_audio_files(paths).values
    nbytes = x.nbytes
s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(json.dumps({"s": s, "peak": peak, "nbytes": nbytes}))
"""


def values_run(paths: list[str], repeat: int) -> dict:
    out: dict = {"files": len(paths), "soundfile_s": [], "ours_s": []}
    for _ in range(repeat):
        for side in ("soundfile", "ours"):
            res = subprocess.run(
                [sys.executable, "-c", _VALUES_CHILD, side, *paths],
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(res.stdout.strip().splitlines()[-1])
            out[f"{side}_s"].append(got["s"])
            out.setdefault(f"{side}_peaks", []).append(got["peak"] / got["nbytes"])
            out["nbytes"] = got["nbytes"]
    sf_s, ours_s = float(np.median(out["soundfile_s"])), float(np.median(out["ours_s"]))
    return {
        "files": len(paths),
        "result_gb": round(out["nbytes"] / 1e9, 3),
        "soundfile_s": round(sf_s, 2),
        "ours_s": round(ours_s, 2),
        "ratio": round(sf_s / ours_s, 2),
        "peak_over_result": round(max(out["ours_peaks"]), 2),
        "soundfile_peak_over_result": round(max(out["soundfile_peaks"]), 2),
    }


def machine() -> str:
    import dask
    import xarray

    import intake_onc

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, dask {dask.__version__}, xarray "
        f"{xarray.__version__}, kernel {intake_onc.speedups()}, load average {load:.1f} at start"
    )


def report(res: dict) -> str:
    lines = [
        "## intake-onc on dask.distributed vs a plain process pool (`benchmarks/bench_distributed.py`)",
        "",
        f"Command: `{res['command']}`",
        "",
        f"Machine: {res['machine']}. Audio: {res['per_worker']} five-minute 64 kHz 24-bit FLAC "
        "files per worker (weak scaling); spectrogram 1 s Hann, 50 % overlap, 10–8000 Hz, "
        "per-minute mean. `pool`: `multiprocessing.Pool(n)`, `soundfile.read` + "
        "`scipy.signal.spectrogram` + mean per file. `ours`: `spectrogram(open_audio_files(paths), "
        '..., average="1min")` on `LocalCluster(n, threads_per_worker=1)` (default nanny: '
        "`MALLOC_TRIM_THRESHOLD_` set). `resample`: the issue's pipeline "
        '`spectrogram(...).resample(time="1min").mean()` on the same cluster. Ratios > 1: '
        "intake-onc faster. Medians of "
        f"{res['repeat']} alternating repetitions (pool, then a fresh cluster whose workers "
        "have imported intake_onc, as the pool's forked children have).",
        "",
        "| workers | files | pool s | ours s | **ours / pool** | resample s | resample / pool "
        "| real-time × | efficiency |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        lines.append(
            f"| {r['workers']} | {r['files']} | {r['pool_s']:.2f} | {r['ours_s']:.2f} | "
            f"**{r['ours_vs_pool']:.2f}×** | {r.get('ours_resample_s', float('nan')):.2f} | "
            f"{r.get('resample_vs_pool', float('nan')):.2f}× | {r['realtime_x']:.0f} | "
            f"{r['efficiency']:.2f} |"
        )
    lines += scalar_report(res)
    v = res.get("values")
    if v:
        lines += [
            "",
            f"`open_audio_files(paths).values` of {v['files']} files ({v['result_gb']} GB) vs plain "
            f"`soundfile.read` of each, fresh processes, medians: {v['ours_s']} s vs "
            f"{v['soundfile_s']} s, **{v['ratio']}×** (target ≥ 0.9×); peak RSS growth "
            f"**{v['peak_over_result']}×** the result (target ≤ 1.5×; the plain loop keeping its "
            f"arrays: {v['soundfile_peak_over_result']}×). `ru_maxrss` over the RSS before the "
            "call; `.values` on dask's default threaded scheduler.",
        ]
    lines += [
        "",
        "Targets (the Scale issue): ours ≥ 1.0× the pool at 1 and 2 workers (aim 1.3×); weak-"
        "scaling efficiency ≥ 0.9 at 2 workers.",
    ]
    return "\n".join(lines)


def scalar_report(res: dict) -> list[str]:
    if not res["scalar_windows"]:
        return []
    lines = [
        "",
        f"Scalar: {res['scalar_days']} days of 1 Hz, 4 sensors + flags, `minMaxAvg` hourly, "
        "through `open_scalar`'s graph (one task per window, or per run of consecutive small "
        "windows: 34 runs of 11 daily windows for a year), the resample built and computed; "
        "`1 thread`: dask's single-threaded scheduler; `n workers`: the clusters above "
        "(single-threaded workers). Windows of 1 day are `open_scalar`'s default chunk, 7 days "
        '`chunk="7D"`.',
        "",
        "| window | 1 thread s | "
        + " | ".join(f"{r['workers']} worker(s) s" for r in res["rows"])
        + " | 1 worker / 1 thread (≤ 1.3) | 2 workers vs 1 (≥ 1.8) |",
        "|---|---|" + "---|" * len(res["rows"]) + "---|---|",
    ]
    for w in res["scalar_windows"]:
        one = res["scalar_one_thread_s"][w]
        times = {r["workers"]: r[f"scalar_{w}d_cluster_s"] for r in res["rows"]}
        lines.append(
            f"| {w} day(s) | {one:.2f} | "
            + " | ".join(f"{t:.2f}" for t in times.values())
            + f" | {times[1] / one:.2f}× | "
            + (f"{times[1] / times[2]:.2f}× |" if 1 in times and 2 in times else "– |")
        )
    lines += [
        "",
        "The same work without intake-onc's graph, on the same machine in the same run, for "
        "what the machine and dask.distributed allow: `pool`, `n` forked processes each "
        "resampling `1/n` of the days with the local scheduler (the hardware's bound); "
        "`client.map`, the resample's own kernel tasks (34 runs of 11 daily windows, or one "
        "task a 7-day window) taken out of its graph and run as independent `client.map` tasks "
        "on the clusters above, each returning only its output's shape: the same work, with "
        "dask.distributed's cost per task but no graph to build or submit, no gather and no "
        "output variables.",
        "",
        "| window | side | " + " | ".join(f"{r['workers']} s" for r in res["rows"]) + " | n vs 1 |",
        "|---|---|" + "---|" * len(res["rows"]) + "---|",
    ]
    for w in res["scalar_windows"]:
        for side, label in (("pool", "pool"), ("floor", "client.map"), ("cluster", "ours")):
            times = {r["workers"]: r[f"scalar_{w}d_{side}_s"] for r in res["rows"]}
            first = times[min(times)]
            lines.append(
                f"| {w} day(s) | {label} | "
                + " | ".join(f"{t:.2f}" for t in times.values())
                + " | "
                + ", ".join(f"{first / t:.2f}×" for n, t in times.items() if n != min(times))
                + " |"
            )
    return lines


def write_results(text: str, path: Path) -> None:
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in old and END in old:
        new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts")
    parser.add_argument("--per-worker", type=int, default=2, help="5-minute files per worker")
    parser.add_argument("--scalar-days", type=int, default=365, help="0 skips the scalar run")
    parser.add_argument(
        "--scalar-windows", default="1,7", help="comma list of window (dask chunk) lengths, days"
    )
    parser.add_argument("--values-files", type=int, default=12, help="0 skips the .values run")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions (medians reported)")
    parser.add_argument("--no-resample", action="store_true", help="skip the resample pipeline")
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "bench_distributed"))
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    windows = [int(w) for w in args.scalar_windows.split(",")] if args.scalar_days else []
    from multiprocessing import get_context

    os.makedirs(args.data, exist_ok=True)
    nfiles = max(args.per_worker * max(workers), args.values_files)
    with get_context("spawn").Pool(os.cpu_count()) as pool:
        paths = sorted(pool.map(make, [(args.data, i) for i in range(nfiles)]))
    res: dict = {
        "command": "python benchmarks/bench_distributed.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "per_worker": args.per_worker,
        "scalar_days": args.scalar_days,
        "scalar_windows": windows,
        "rows": [],
        "repeat": args.repeat,
    }
    res["scalar_one_thread_s"] = {}
    if windows:
        scalar_one_thread(2, 1)  # warm-up: first-call imports and allocations
    for w in windows:
        one = [scalar_one_thread(args.scalar_days, w) for _ in range(args.repeat)]
        res["scalar_one_thread_s"][w] = float(np.median(one))
        print(f"scalar, {w}-day windows, one thread:", np.round(one, 2), "s", flush=True)
    for n in workers:
        some = paths[: args.per_worker * n]
        runs = []
        for _ in range(args.repeat):  # alternating: the pool, then a fresh cluster
            got = {"pool_s": pool_run(some, n)}
            got.update(cluster_run(some, n, tuple(windows), args.scalar_days, not args.no_resample))
            runs.append(got)
        row = {"workers": n, "files": len(some), "shape": runs[0]["shape"]}
        for key in runs[0]:
            if key.endswith("_s"):
                row[key] = float(np.median([r[key] for r in runs]))
        row["ours_vs_pool"] = round(row["pool_s"] / row["ours_s"], 2)
        if "ours_resample_s" in row:
            row["resample_vs_pool"] = round(row["pool_s"] / row["ours_resample_s"], 2)
        row["realtime_x"] = len(some) * SECONDS / row["ours_s"]
        res["rows"].append(row)
        print(json.dumps(row), flush=True)
    first = res["rows"][0]
    for row in res["rows"]:
        scale = row["workers"] / first["workers"]
        row["efficiency"] = round(row["realtime_x"] / (scale * first["realtime_x"]), 2)
    for row in res["rows"]:
        n = row["workers"]
        record(
            f"spectrogram on {n} worker(s)",
            row["ours_vs_pool"],
            baseline="multiprocessing.Pool + scipy",
            target=1.0,
        )
        if n > 1:
            record(
                f"weak-scaling efficiency, {n} workers",
                row["efficiency"],
                baseline="1 worker",
                target=0.9,
            )
    by_workers = {r["workers"]: r for r in res["rows"]}
    for w in windows:
        label = "daily windows" if w == 1 else f"{w}-day windows"
        key = f"scalar_{w}d_cluster_s"
        if 1 in by_workers:
            record(
                f"scalar resample, 1 worker / 1 thread ({label})",
                by_workers[1][key] / res["scalar_one_thread_s"][w],
                baseline="one thread",
                target=1.3,
                higher_is_better=False,
            )
        if 1 in by_workers and 2 in by_workers:
            one, two = by_workers[1], by_workers[2]
            bounds = (
                f"same run: a process pool {one[f'scalar_{w}d_pool_s'] / two[f'scalar_{w}d_pool_s']:.2f}×, "
                f"bare client.map {one[f'scalar_{w}d_floor_s'] / two[f'scalar_{w}d_floor_s']:.2f}×"
            )
            record(
                f"scalar resample, 2 workers vs 1 ({label})",
                one[key] / two[key],
                baseline="1 worker",
                target=1.8,
                note=bounds,
            )
    if args.values_files:
        res["values"] = values_run(paths[: args.values_files], args.repeat)
        record(
            ".values of an hour of audio",
            res["values"]["ratio"],
            baseline="soundfile.read",
            target=0.9,
        )
        print("values:", json.dumps(res["values"]), flush=True)
    text = report(res)
    print(text)
    if args.write_results:
        write_results(text, Path(__file__).with_name("RESULTS.md"))


if __name__ == "__main__":
    main()
