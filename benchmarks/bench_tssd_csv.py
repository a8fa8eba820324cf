"""TSSD CSV -> Dataset: ``read_tssd`` against ``pandas.read_csv(engine="pyarrow")``.

Writes a TSSD CSV of ``--rows`` rows (4 sensors: value + QC flag each, ~2 % NaN rows with flag 9)
to a temporary folder, plus the same data rows without the header for pandas, then times both
readers alternately and prints medians and the speed ratio (target >= 0.8x, performance.md).
``pyarrow.csv.read_csv`` of the data rows is shown for reference (the floor for any CSV reader).

Usage::

    python benchmarks/bench_tssd_csv.py [--rows 1000000] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from intake_onc.scalar.tssd import read_tssd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402

SENSORS = [
    ("temperature", "Temperature", "C", "seawatertemperature", 4.0, 0.1),
    ("conductivity", "Conductivity", "S/m", "conductivity", 3.2, 0.01),
    ("pressure", "Pressure", "decibar", "pressure", 990.0, 0.5),
    ("salinity", "Practical Salinity", "psu", "salinity", 34.4, 0.01),
]


def header(rows: int) -> str:
    lines = [
        "## BEGIN HEADER",
        "#CREATIONDATE: 2026-11-21T08:00:00.000Z / Date the file was created",
        "#DATEFROM: 2024-04-01T00:00:00.000Z / Start of the requested range",
        "#DATETO:   2024-04-13T00:00:00.000Z / End of the requested range",
        "#STATION:  BACAX / Barkley Canyon Axis",
        "#DEVICECODE: SBECTD19p6813 / Sea-Bird SeaCAT SBE19plus V2 6813",
        "#DEVICECATEGORY: CTD / Conductivity Temperature Depth",
        "#LATITUDE:  48.3166   / Latitude (decimal degrees)",
        "#LONGITUDE: -126.0508 / Longitude (decimal degrees)",
        "#DEPTH:     985.0     / Depth (m)",
        "#SAMPLEPERIOD: 1.0 / Sample period (s) of the device's data rating at DATEFROM",
        "#QUALITYCONTROL: raw / raw or clean (flags 3, 4, 6 replaced by NaN)",
        "#DATAGAPS: NaN / NaN (gaps filled with NaN rows, flag 9) or removed",
        '#RESAMPTYP: "none"     (none | average | minMax | minMaxAvg)',
        f"#TOTSAMPLE: {rows} / Samples in File",
        "#CITATION: Ocean Networks Canada Society. 2024. Barkley Canyon Axis CTD. / Citation",
    ]
    lines += [f"#SENSOR {k + 1}: {' / '.join(s[:4])}" for k, s in enumerate(SENSORS)]
    names = ["Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)"]
    for _, name, unit, *_ in SENSORS:
        names += [f"{name} ({unit})", f"{name} QC Flag"]
    lines += ["#" + ", ".join(f'"{n}"' for n in names), "## END HEADER"]
    return "\n".join(lines) + "\n"


def data_rows(rows: int, seed: int = 0) -> bytes:
    """The comma-separated rows, built with pyarrow string kernels (fast)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-04-01T00:00:00.000", "ms")
    jitter = rng.integers(0, 5, rows).astype("timedelta64[ms]")
    times = start + np.arange(rows).astype("timedelta64[s]") + jitter
    gap = rng.random(rows) < 0.02
    columns = [pc.strftime(pa.array(times), "%Y-%m-%dT%H:%M:%SZ")]
    for *_, mean, spread in SENSORS:
        values = np.round(rng.normal(mean, spread, rows), 4)
        values[gap] = np.nan
        flags = np.where(gap, 9, rng.choice([1, 1, 1, 2, 3], rows)).astype("int8")
        text = pc.cast(pa.array(values), pa.string())
        columns.append(pc.if_else(pc.is_nan(pa.array(values)), "NaN", text))
        columns.append(pc.cast(pa.array(flags), pa.string()))
    lines = pc.binary_join_element_wise(*columns, ",")
    return ("\n".join(lines.to_pylist()) + "\n").encode()


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rows = data_rows(args.rows)
        tssd = Path(tmp) / "BACAX_SBECTD19p6813_20240401T000000.000Z.csv"
        plain = Path(tmp) / "rows.csv"
        tssd.write_bytes(header(args.rows).encode() + rows)
        plain.write_bytes(rows)
        names = ["time"] + [f"{s[0]}{x}" for s in SENSORS for x in ("", "_qc")]
        print(f"{args.rows:,} rows, {tssd.stat().st_size / 1e6:.0f} MB, {args.reps} reps")

        def pandas_read():
            return pd.read_csv(plain, engine="pyarrow", header=None, names=names)

        def arrow_read():
            return pa_csv.read_csv(plain, read_options=pa_csv.ReadOptions(column_names=names))

        def ours():
            return read_tssd(tssd)

        times: dict[str, list[float]] = {"pandas": [], "pyarrow": [], "read_tssd": []}
        readers = {"pandas": pandas_read, "pyarrow": arrow_read, "read_tssd": ours}
        timed(ours)  # warm imports and the page cache
        timed(pandas_read)
        for _ in range(args.reps):
            for label, reader in readers.items():
                seconds, result = timed(reader)
                times[label].append(seconds)
        df, ds = pandas_read(), ours()
        assert ds.sizes["time"] == len(df) == args.rows
        np.testing.assert_array_equal(ds.salinity.values, df["salinity"].to_numpy())
        np.testing.assert_array_equal(ds.salinity_qc.values, df["salinity_qc"].to_numpy())

    medians = {k: statistics.median(v) for k, v in times.items()}
    for label, median in medians.items():
        rate = args.rows / median / 1e6
        print(f"  {label:<10} median {median * 1e3:7.1f} ms  ({rate:.2f} Mrows/s)")
    ratio = medians["pandas"] / medians["read_tssd"]
    verdict = "meets" if ratio >= 0.8 else "MISSES"
    print(f"read_tssd speed / pandas.read_csv(engine='pyarrow') speed = {ratio:.2f}x ")
    print(f"(target >= 0.8x: {verdict})")
    record("TSSD CSV read", ratio, baseline="pandas.read_csv(engine='pyarrow')", target=0.8)


if __name__ == "__main__":
    main()
