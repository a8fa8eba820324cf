"""``python -m benchmarks``: run every benchmark named in the issues, and write the report.

Each benchmark runs in its own process (``python benchmarks/bench_X.py ARGS``) and reports its
ratios against named baselines through :func:`benchmarks._record.record`. The runner gathers
them into a summary table at the top of ``benchmarks/RESULTS.md`` (between
``<!-- summary:begin -->`` and ``<!-- summary:end -->``; the detailed sections below it are each
benchmark's own), with the machine and the command lines, and draws ``benchmarks/results.png``.

Usage::

    python -m benchmarks            # everything (several minutes on 2 cores)
    python -m benchmarks --quick    # smaller inputs, fewer repetitions (about a minute)
    python -m benchmarks --only resample,tssd_csv
    python -m benchmarks --report   # redraw the table and chart from the last run's records

A benchmark is any ``benchmarks/bench_*.py`` listed in :data:`BENCHMARKS` with its arguments;
to add one, call ``record(...)`` for each ratio it measures and add a line there. No test asserts
a time: the numbers live here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
CHART = HERE / "results.png"
RECORDS = HERE / ".last_records.jsonl"
BEGIN, END = "<!-- summary:begin -->", "<!-- summary:end -->"

#: name -> (full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "import": (["--reps", "15"], ["--reps", "5"]),
    "tssd_csv": ([], ["--rows", "200000", "--reps", "3"]),
    "resample": ([], ["--quick", "--no-write"]),
    "scalar_graph": (["--repeat", "3", "--write-results"], ["--repeat", "1"]),
    "audio": ([], ["--repeat", "3"]),
    "downloads": (["--files", "16", "--repeat", "3"], ["--files", "8", "--repeat", "1"]),
    "distributed": (
        [
            "--workers",
            "1,2",
            "--per-worker",
            "2",
            "--scalar-days",
            "365",
            "--values-files",
            "12",
            "--repeat",
            "3",
            "--write-results",
        ],
        [
            "--workers",
            "1,2",
            "--per-worker",
            "1",
            "--scalar-days",
            "30",
            "--values-files",
            "4",
            "--repeat",
            "1",
        ],
    ),
}


def machine() -> str:
    import dask
    import numpy
    import xarray

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, xarray {xarray.__version__}, dask {dask.__version__}; "
        f"load average {load:.1f} at start"
    )


def run(names: list[str], quick: bool) -> list[dict]:
    """Run ``names``; the records of benchmarks not run this time are kept from the last run."""
    kept = []
    if RECORDS.exists():
        for line in RECORDS.read_text().splitlines():
            item = json.loads(line) if line.strip() else {}
            if item and item.get("bench") not in names:
                kept.append(line)
    RECORDS.write_text("".join(f"{line}\n" for line in kept))
    for name in names:
        full, small = BENCHMARKS[name]
        args = small if quick else full
        command = [sys.executable, str(HERE / f"bench_{name}.py"), *args]
        print(f"\n### {' '.join(['python', f'benchmarks/bench_{name}.py', *args])}", flush=True)
        started = time.perf_counter()
        env = {**os.environ, "BENCH_RECORD": str(RECORDS), "BENCH_NAME": name}
        done = subprocess.run(command, env=env, cwd=HERE.parent, check=False)
        seconds = time.perf_counter() - started
        with open(RECORDS, "a", encoding="utf-8") as fh:
            fh.write(
                json.dumps(
                    {
                        "_command": f"python benchmarks/bench_{name}.py {' '.join(args)}",
                        "_seconds": round(seconds, 1),
                        "_status": done.returncode,
                        "bench": name,
                    }
                )
                + "\n"
            )
    return load_records()


def load_records() -> list[dict]:
    if not RECORDS.exists():
        raise SystemExit("no records yet: run python -m benchmarks first")
    return [json.loads(line) for line in RECORDS.read_text().splitlines() if line.strip()]


def summary(records: list[dict], quick: bool) -> str:
    rows = [r for r in records if "name" in r]
    commands = [r for r in records if "_command" in r]
    lines = [
        BEGIN,
        "## Summary (`python -m benchmarks" + (" --quick" if quick else "") + "`)",
        "",
        f"Machine: {machine()}. Each ratio is measured in one run, the sides side by side; "
        '"x" ratios > 1 mean intake-onc is faster than the named baseline.',
        "",
        "| benchmark | result | baseline | target | met |",
        "|---|---:|---|---:|:---:|",
    ]
    for r in rows:
        sign = "≥" if r["higher_is_better"] else "≤"
        unit = "×" if r["unit"] == "x" else f" {r['unit']}"
        lines.append(
            f"| {r['name']} | {r['value']:.2f}{unit} | {r['baseline']}"
            + (f" ({r['note']})" if r.get("note") else "")
            + f" | {sign} {r['target']:g}{unit} | "
            f"{'yes' if r['met'] else '**no**'} |"
        )
    lines += ["", "Commands (wall time, exit status):", ""]
    lines += [f"- `{c['_command']}` ({c['_seconds']} s, {c['_status']})" for c in commands]
    lines += ["", "![results](results.png)", END]
    return "\n".join(lines)


def write(records: list[dict], quick: bool) -> None:
    text = summary(records, quick)
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END) :]
    else:
        head, _, rest = old.partition("\n")
        new = f"{head}\n\n{text}\n{rest}"
    with tempfile.NamedTemporaryFile("w", dir=HERE, delete=False, suffix=".tmp") as fh:
        fh.write(new)
    os.replace(fh.name, RESULTS)
    chart([r for r in records if "name" in r])
    print(f"\nwrote {RESULTS} and {CHART}")


def chart(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = [r for r in rows if r["unit"] == "x"]
    if not ratios:
        return
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(ratios) + 1.2), constrained_layout=True)
    names = [r["name"] for r in ratios]
    values = [r["value"] if r["higher_is_better"] else 1 / max(r["value"], 1e-9) for r in ratios]
    colours = ["#2ca02c" if r["met"] else "#d62728" for r in ratios]
    ax.barh(names, values, color=colours)
    targets = [r["target"] if r["higher_is_better"] else 1 / r["target"] for r in ratios]
    ax.scatter(targets, names, marker="|", s=300, color="black", label="target", zorder=3)
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("intake-onc vs its baseline (× better; > 1 = better)")
    ax.set_title("python -m benchmarks: green = target met, red = missed")
    ax.legend(loc="lower right")
    fig.savefig(CHART, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repetitions")
    parser.add_argument("--only", help=f"comma list among {', '.join(BENCHMARKS)}")
    parser.add_argument("--report", action="store_true", help="only rewrite the report")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(
                f"--only: unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}"
            )
    records = load_records() if args.report else run(names, args.quick)
    write(records, args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
