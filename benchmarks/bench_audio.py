"""Audio window from 4 cached FLAC files (5 min, 64 kHz, 24-bit) vs plain ``soundfile.read``.

Target (performance.md): opening + computing a window >= 0.9x the speed of plain
``soundfile.read(dtype="float32")`` of the same files.

* soundfile.read: the four files one after the other (what a user's loop does);
* intake_onc: ``open_audio_files(folder, start, end).values`` over the 20 minutes the files
  cover (the default threaded dask scheduler; a task per file), and with ``chunk=60`` s;
* for information: a 7-minute window across three files (ours reads only the frames needed)
  vs reading those three files whole; and the plain loop keeping its 4 arrays, or reading into
  one preallocated window array (``out=``): what a user who wants the window as data pays for
  fresh memory, which the headline loop (each array dropped at once) does not.

Run: ``python benchmarks/bench_audio.py [--repeat 9]``. Sides run in a new (seeded) random
order every repetition, so that none always follows the same one (memory freed by the previous
side changes what the next one pays to fault fresh pages in); medians reported, with the range
and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from intake_onc.acoustics.windows import open_audio_files

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402

FS = 64_000
SECONDS = 300
T0 = pd.Timestamp("2024-04-01T00:00:00")


def write_files(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    t = np.arange(FS * SECONDS) / FS
    paths = []
    for i in range(4):
        start = T0 + pd.Timedelta(seconds=SECONDS * i)
        name = f"ICLISTENHF6324_{start.strftime('%Y%m%dT%H%M%S')}.000Z.flac"
        x = 0.05 * rng.standard_normal(len(t)) + 0.1 * np.sin(2 * np.pi * (500 + 100 * i) * t)
        sf.write(folder / name, x.astype(np.float32), FS, subtype="PCM_24")
        paths.append(folder / name)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_files(folder)
        end = T0 + pd.Timedelta(seconds=4 * SECONDS)
        part = (T0 + pd.Timedelta(seconds=150), T0 + pd.Timedelta(seconds=570))

        def plain() -> None:
            for p in paths:
                sf.read(p, dtype="float32")

        def kept() -> list:
            return [sf.read(p, dtype="float32")[0] for p in paths]

        def into_one() -> np.ndarray:
            out = np.empty(4 * FS * SECONDS, dtype=np.float32)
            for i, p in enumerate(paths):
                sf.read(p, dtype="float32", out=out[i * FS * SECONDS : (i + 1) * FS * SECONDS])
            return out

        def plain_three() -> None:
            for p in paths[:3]:
                sf.read(p, dtype="float32")

        sides = {
            "soundfile.read, 4 files": plain,
            "open_audio_files + .values (chunk='file')": lambda: (
                open_audio_files(folder, T0, end).values
            ),
            "open_audio_files + .values (chunk=60 s)": lambda: (
                open_audio_files(folder, T0, end, chunk=60).values
            ),
            "info: soundfile.read, the 4 arrays kept": kept,
            "info: soundfile.read into one window array": into_one,
            "soundfile.read, 3 files (info)": plain_three,
            "7-min window over 3 files (info)": lambda: open_audio_files(folder, *part).values,
        }
        times: dict[str, list[float]] = {k: [] for k in sides}
        load_before = os.getloadavg()[0]
        rng = random.Random(0)
        for _ in range(args.repeat):
            order = list(sides)
            rng.shuffle(order)
            for name in order:
                t0 = time.perf_counter()
                sides[name]()
                times[name].append(time.perf_counter() - t0)
        load_after = os.getloadavg()[0]
        check = open_audio_files(folder, T0, end).values
        assert np.array_equal(check[: FS * SECONDS], sf.read(paths[0], dtype="float32")[0])

    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"4 FLAC files, {SECONDS} s at {FS} Hz, 24-bit; {args.repeat} runs in shuffled order, "
        f"medians (range); load average {load_before:.2f} before, {load_after:.2f} after"
    )
    for name, m in med.items():
        lo, hi = min(times[name]), max(times[name])
        print(
            f"  {name:45s} {m * 1e3:8.1f} ms ({lo * 1e3:.0f}–{hi * 1e3:.0f})"
            f"   ({4 * SECONDS / m:6.0f}x real time for 20 min)"
        )
    base = med["soundfile.read, 4 files"]
    for name in list(med)[1:3]:
        print(
            f"  speed vs soundfile.read, {name[26:]:20s} {base / med[name]:5.2f}x (target >= 0.9)"
        )
        record(f"audio window: {name}", base / med[name], baseline="soundfile.read", target=0.9)
    info = med["soundfile.read, 3 files (info)"] / med["7-min window over 3 files (info)"]
    print(f"  7-min window vs reading its 3 files whole:     {info:5.2f}x")


if __name__ == "__main__":
    main()
