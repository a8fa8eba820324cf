"""A year of 1 Hz scalar data: how much a lazy ``open_scalar`` costs, and its resample graph.

Targets of the Scale issue:

* ``open_scalar`` of a year at 1 Hz opens in < 1 s with < 50 MB added RSS (the time axis is
  an O(1) grid, not a 31.5-million-row datetime index: that index alone is 241 MB, measured
  here as the baseline);
* the hourly ``minMaxAvg`` resample adds a graph of < 2 MB pickled, with at most one task per
  chunk per step.

The CTD ``SBECTD19p6813`` of the embedded sandbox (1 Hz since 2019) is opened over 2023 in
daily windows (``open_scalar``'s default), the sandbox in a child process. After one open of
another device (the code paths' first use: lazy imports), the first open of the CTD
(``cold``: its deployments and sensors asked for) and the next ones (``warm``: the client's
cache answers). Nothing is downloaded at open; the graph is measured, not computed.

Run: ``python benchmarks/bench_scalar_graph.py [--repeat 3] [--write-results]``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402
from _sandbox_proc import spawn, stop, write_section  # noqa: E402

from intake_onc.sandbox import SANDBOX_TOKEN  # noqa: E402

DEVICE, START, END = "SBECTD19p6813", "2023-01-01", "2024-01-01"
OTHER = "AANDERAAO2224"  # the oxygen optode: warms the code paths, not DEVICE's answers


def rss_mb() -> float:
    """Resident memory now, in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(repeat: int) -> dict:
    import intake_onc
    from intake_onc.client import ONCClient

    res: dict = {"opens": []}
    url, server = spawn()  # the sandbox's own memory and CPU stay out of this process
    try:
        with tempfile.TemporaryDirectory() as cache:
            client = ONCClient(token=SANDBOX_TOKEN, base_url=url, cache_dir=cache)
            # first use of the code paths (lazy imports), on another device: not measured
            before, t = rss_mb(), time.perf_counter()
            intake_onc.open_scalar(OTHER, start=START, end="2023-01-02", client=client)
            res["first_use"] = {"s": time.perf_counter() - t, "mb": rss_mb() - before}
            for i in range(1 + repeat):
                before = rss_mb()
                t = time.perf_counter()
                ds = intake_onc.open_scalar(DEVICE, start=START, end=END, client=client)
                seconds = time.perf_counter() - t
                kind = "cold" if i == 0 else "warm"
                res["opens"].append({"kind": kind, "s": seconds, "mb": rss_mb() - before})
            res["rows"], res["chunks"] = ds.sizes["time"], len(ds.chunks["time"])
            res["variables"] = len(ds.data_vars)
            out = ds.onc.resample("1h", method="minMaxAvg")
            before = set(dict(ds.__dask_graph__()))
            added = {k: v for k, v in dict(out.__dask_graph__()).items() if k not in before}
            res["resample_tasks"] = len(added)
            res["resample_graph_mb"] = len(pickle.dumps(added)) / 2**20
            res["outputs"] = len(out.data_vars)
            res["kernel_tasks"] = res["resample_tasks"] - 1 - res["outputs"]
            res["cluster"] = graph_under_a_client(ds, before)
    finally:
        stop(server)
    before = rss_mb()
    index = pd.date_range(START, END, freq="1s", inclusive="left")
    res["index_mb"] = rss_mb() - before
    res["index_rows"] = len(index)
    return res


def graph_under_a_client(ds, before: set) -> dict:
    """The same resample built while a dask.distributed Client is the default scheduler (runs
    of consecutive daily chunks, one task a run): tasks added, kernel tasks, MB pickled."""
    from dask.distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None):
        out = ds.onc.resample("1h", method="minMaxAvg")
    added = {k: v for k, v in dict(out.__dask_graph__()).items() if k not in before}
    return {
        "tasks": len(added),
        "kernel_tasks": len(added) - 1 - len(out.data_vars),
        "mb": len(pickle.dumps(added)) / 2**20,
    }


def report(res: dict, command: str) -> str:
    cold = res["opens"][0]
    warm = res["opens"][1:]
    lines = [
        "## A year of 1 Hz scalar data, opened lazily (`benchmarks/bench_scalar_graph.py`)",
        "",
        f"Command: `{command}`. `open_scalar('{DEVICE}', '{START}', '{END}')` against the "
        "embedded sandbox, in a fresh process; RSS from `/proc/self/statm` before and after.",
        "",
        "| open | time s | added RSS MB |",
        "|---|---|---|",
        f"| (first use of the code: a day of another device, `{OTHER}`) | "
        f"{res['first_use']['s']:.3f} | {res['first_use']['mb']:.1f} |",
        f"| cold (the CTD's first) | {cold['s']:.3f} | {cold['mb']:.1f} |",
    ]
    lines += [f"| warm | {o['s']:.3f} | {o['mb']:.1f} |" for o in warm]
    lines += [
        "",
        f"{res['rows']:,} rows, {res['variables']} variables, {res['chunks']} daily chunks. "
        f"Baseline: a materialised `pd.date_range` of the same year ({res['index_rows']:,} "
        f"rows) adds {res['index_mb']:.0f} MB by itself. The hourly `minMaxAvg` resample adds "
        f"{res['resample_tasks']} tasks ({res['kernel_tasks']} kernel tasks, one per daily "
        "chunk for every variable at once; one gather; one view per output variable: "
        f"{res['outputs']}) and {res['resample_graph_mb']:.2f} MB pickled. Built under a "
        "`dask.distributed` Client (runs of consecutive daily chunks, one task a run): "
        f"{res['cluster']['tasks']} tasks ({res['cluster']['kernel_tasks']} kernel tasks) and "
        f"{res['cluster']['mb']:.2f} MB.",
        "",
        "Targets (the Scale issue): open < 1 s with < 50 MB added RSS; resample graph < 2 MB, "
        "at most one task per chunk per step.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm opens after the cold one")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    res = measure(args.repeat)
    cold = res["opens"][0]
    record(
        "open_scalar, a year at 1 Hz: time (cold)",
        cold["s"],
        baseline="target",
        target=1.0,
        higher_is_better=False,
        unit="s",
    )
    record(
        "open_scalar, a year at 1 Hz: added RSS",
        max(o["mb"] for o in res["opens"]),
        baseline=f"a datetime index of the year: {res['index_mb']:.0f} MB",
        target=50,
        higher_is_better=False,
        unit="MB",
    )
    record(
        "hourly resample of that year: graph pickled",
        max(res["resample_graph_mb"], res["cluster"]["mb"]),
        baseline="target",
        target=2.0,
        higher_is_better=False,
        unit="MB",
    )
    per_chunk = max(res["kernel_tasks"], res["cluster"]["kernel_tasks"]) / res["chunks"]
    record(
        "hourly resample of that year: kernel tasks per chunk",
        per_chunk,
        baseline="target",
        target=1.0,
        higher_is_better=False,
        unit="tasks",
    )
    command = "python benchmarks/bench_scalar_graph.py " + " ".join(sys.argv[1:])
    text = report(res, command.strip())
    print(text)
    if args.write_results:
        write_section("bench_scalar_graph", text)


if __name__ == "__main__":
    main()
