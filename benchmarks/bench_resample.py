"""ONC minMaxAvg resampling: ``intake_onc.scalar.resample`` against pandas ``resample().agg``.

Data: ``--n`` readings at 1 Hz (default 1e7, about 116 days) of one sensor with a few NaNs
and failed flags (3, 4), resampled to 1 minute. Timed alternately, ``--reps`` times each,
medians reported (performance.md, "How to measure"):

* **pandas**: ``Series.resample("1min").agg(["mean", "min", "max", "count"])`` on the
  already-cleaned series (cleaning not timed: pandas gets a head start);
* **ops numpy**: ``resample(ds, "1min", "minMaxAvg")`` on a numpy-backed Dataset: cleaning, mean,
  std, count, min/max with their times and flags, the worst flag and the 70 % rule;
* **ops dask**: the same on a dask-backed Dataset chunked on whole periods, graph building and
  ``.compute()`` (threaded scheduler) included.

Targets (the scalar issue, tighter than performance.md): ops numpy at least 2x faster than pandas,
with and without a ``sample_period`` attribute (without it the period is inferred from the median
time step); ops dask at most 1.3x the ops numpy time.
The results section of ``benchmarks/RESULTS.md`` is replaced (other sections are kept).

Usage::

    python benchmarks/bench_resample.py [--quick] [--n 10000000] [--reps 5] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from intake_onc.scalar.resample import resample  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- bench_resample:begin -->", "<!-- bench_resample:end -->"


def make_dataset(n: int, seed: int = 0) -> xr.Dataset:
    """``n`` readings at 1 Hz (+ up to 5 ms jitter) from 2024-04-01, ~0.01 % NaN, ~0.02 % flagged."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-04-01T00:00:00", "ns").astype(np.int64)
    t = start + np.arange(n, dtype=np.int64) * 10**9 + rng.integers(0, 5_000_000, n)
    x = 4.0 + 0.05 * rng.standard_normal(n)
    x[rng.integers(0, n, max(1, n // 10_000))] = np.nan
    qc = np.ones(n, dtype=np.int8)
    qc[rng.integers(0, n, max(1, n // 10_000))] = 3
    qc[rng.integers(0, n, max(1, n // 10_000))] = 4
    qc[rng.integers(0, n, max(1, n // 10_000))] = 2
    return xr.Dataset(
        {"temperature": ("time", x, {"units": "C"}), "temperature_qc": ("time", qc)},
        coords={"time": t.view("datetime64[ns]")},
        attrs={"sample_period": 1.0},
    )


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def run(n: int, reps: int) -> dict[str, float]:
    ds = make_dataset(n)
    clean = ds.temperature.where(~ds.temperature_qc.isin([3, 4, 6]))
    series = clean.to_series()
    chunk = 1_200_000 if n > 2_400_000 else 120_000  # whole minutes (data start on a minute)
    lazy = ds.chunk(time=chunk)
    bare = ds.drop_attrs(deep=False)  # no sample_period: the kernel infers it (median step)
    cases = {
        "pandas": lambda: series.resample("1min").agg(["mean", "min", "max", "count"]),
        "ops numpy": lambda: resample(ds, "1min", "minMaxAvg"),
        "ops numpy, period inferred": lambda: resample(bare, "1min", "minMaxAvg"),
        "ops dask": lambda: resample(lazy, "1min", "minMaxAvg").compute(),
    }
    # same answers (mean/min/max/count of the complete bins) before timing anything
    ours = resample(ds, "1min", "minMaxAvg")
    ref = cases["pandas"]()
    complete = ours.temperature_qc.values != 6
    assert np.array_equal(ours.temperature_count.values, ref["count"].values)
    np.testing.assert_allclose(ours.temperature.values[complete], ref["mean"].values[complete])
    assert np.array_equal(ours.temperature_min.values, ref["min"].values, equal_nan=True)
    xr.testing.assert_identical(cases["ops dask"](), ours)
    xr.testing.assert_identical(
        cases["ops numpy, period inferred"]().drop_attrs(deep=False), ours.drop_attrs(deep=False)
    )
    for func in cases.values():  # warm-up
        func()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, func in cases.items():  # alternating
            times[name].append(timed(func))
    return {name: statistics.median(values) for name, values in times.items()}


def report(n: int, reps: int, medians: dict[str, float], command: str) -> str:
    pandas_t, numpy_t, dask_t = medians["pandas"], medians["ops numpy"], medians["ops dask"]
    inferred_t = medians["ops numpy, period inferred"]
    record(
        "resample minMaxAvg (numpy)",
        pandas_t / numpy_t,
        baseline="pandas resample().agg",
        target=2.0,
    )
    record(
        "resample minMaxAvg (dask) time",
        dask_t / numpy_t,
        baseline="the same on numpy",
        target=1.3,
        higher_is_better=False,
    )
    lines = [
        BEGIN,
        "## Resample: ONC minMaxAvg vs pandas (`bench_resample.py`)",
        "",
        f"`{command}` — {n:,} readings at 1 Hz → 1 min, minMaxAvg with the 70 % rule; "
        f"medians of {reps} alternating runs; {platform.machine()}, "
        f"{dask.system.CPU_COUNT} cores, numpy {np.__version__}, pandas {pd.__version__}, "
        f"dask {dask.__version__}; load average {os.getloadavg()[0]:.1f} (shared machine: "
        "expect noise, compare the ratios).",
        "",
        "| case | median (ms) | vs pandas |",
        "|---|---:|---:|",
    ]
    for name, value in medians.items():
        lines.append(f"| {name} | {value * 1e3:.1f} | {pandas_t / value:.2f}× faster |")
    lines += [
        "",
        f"- ops numpy vs pandas `resample().agg([mean, min, max, count])`: "
        f"**{pandas_t / numpy_t:.2f}× faster** with the `sample_period` attribute, "
        f"**{pandas_t / inferred_t:.2f}× faster** without it (target: ≥ 2× both).",
        f"- ops dask (chunks of whole periods) vs ops numpy: **{dask_t / numpy_t:.2f}× the time** "
        "(target: ≤ 1.3×).",
        "- pandas is given the already-cleaned series and computes 4 statistics; ops cleans and "
        "computes 10 outputs (mean, std, count, min/max with times and flags, worst flag).",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="readings (default 1e7)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--quick", action="store_true", help="1e6 readings, 3 repetitions")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    n, reps = (1_000_000, 3) if args.quick else (args.n, args.reps)
    medians = run(n, reps)
    for name, value in medians.items():
        print(f"{name:28s} {value * 1e3:9.1f} ms")
    print(f"ops numpy vs pandas: {medians['pandas'] / medians['ops numpy']:.2f}x faster")
    inferred = medians["ops numpy, period inferred"]
    print(f"ops numpy (period inferred) vs pandas: {medians['pandas'] / inferred:.2f}x faster")
    print(f"ops dask / ops numpy: {medians['ops dask'] / medians['ops numpy']:.2f}x the time")
    command = "python benchmarks/bench_resample.py" + " ".join([""] + (argv or sys.argv[1:]))
    text = report(n, reps, medians, command)  # records the ratios
    if not args.no_write:
        write_results(text)
        print(f"updated {RESULTS}")


if __name__ == "__main__":
    main()
