"""Spectrogram of one 5-minute 64 kHz file: intake_onc vs scipy vs the bare FFT.

Targets (performance.md): ours >= 1.5x faster than ``scipy.signal.spectrogram`` (same
parameters, ``detrend=False``) and >= 0.8x the speed of the bare FFT; results within 0.01 dB.

* scipy: ``scipy.signal.spectrogram(x, fs, window="hann", nperseg, noverlap, detrend=False,
  scaling="density")``, as is (PSD) and followed by ``10·log10`` (dB, what ours returns);
* bare FFT: ``scipy.fft.rfft`` of all frames at once (a strided float32 view), nothing else —
  what performance.md calls "the FFT alone";
* FFT in blocks: the same rfft on contiguous blocks of 8 frames (the floor of our method: the
  window, power and log are what ours adds to it), for information;
* ours: ``intake_onc.acoustics.spectrogram.spectrogram`` on a numpy-backed DataArray (dB, and
  ``db=False``) with its default ``workers`` (threads: the CPUs available, here 2) and with
  ``workers=1`` (serial), and on the same audio as 4 dask chunks (threaded scheduler, 2 workers,
  one thread per chunk);
* bare FFT with ``workers=`` the same thread count, for information: what the library's own
  threading reaches on the FFT alone.

The headline ratio against the bare FFT is ours with default ``workers`` (what users get)
against the single-threaded bare FFT (the library's default, as performance.md measured it);
the ``workers=1`` rows show the serial kernel against the same baseline.

Accuracy is reported over all bins and over the bins within 80 dB of their frame's peak: deeper
bins sit at float32 round-off, where scipy's own float32 result is as far from the float64 one.

``--fresh N`` also times scipy (dB), the bare FFT and ours in N new interpreters apiece
(alternating; median of 3 calls in each), which is what a script processing a file sees: a
long-running process that already freed a 2–32 MB buffer has raised glibc's malloc thresholds, a
fresh one has not (see ``_raise_malloc_thresholds`` in ``intake_onc/_stft.py``); the row
with the warm-up disabled shows the behaviour before it (scipy and the bare FFT do not churn
the heap: in a fresh process they take the same time with or without the warm-up).

Run: ``python benchmarks/bench_spectrogram.py [--repeat 5] [--fresh 5]``. Sides alternate, in a
new (seeded) random order every repetition, so that no side always follows the same one (e.g.
the dask side, which frees much memory); medians reported, with the load average before and after. On a shared
machine threads only help when a core is free, so each run is also tagged with the CPU other
processes used meanwhile (``/proc/stat``), and medians over the runs during which they used
under 0.2 core are reported too when every side has at least 3 of those.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

import dask
import numpy as np
import scipy.fft
import scipy.signal
import xarray as xr

from intake_onc.acoustics._stft import resolve_workers as _resolve_workers
from intake_onc.acoustics.spectrogram import spectrogram

FS = 64_000
SECONDS = 300
NPERSEG = FS  # win_dur = 1 s
NOVERLAP = NPERSEG // 2


def synthetic_audio(seed: int = 0) -> np.ndarray:
    """Broadband noise plus three tones, float32 full scale (about 60 dB of dynamic range)."""
    rng = np.random.default_rng(seed)
    t = np.arange(FS * SECONDS) / FS
    x = 0.05 * rng.standard_normal(len(t))
    for f, a in ((150.0, 0.1), (2_000.0, 0.05), (18_000.0, 0.02)):
        x += a * np.sin(2 * np.pi * f * t)
    return x.astype(np.float32)


FRESH_SIDES = (
    "scipy.signal.spectrogram + 10*log10",
    "bare FFT",
    "intake_onc, dB",
    "intake_onc, dB, workers=1",
    "intake_onc, dB, workers=1, no malloc warm-up",
)


def fresh_side(name: str) -> None:
    """In a new interpreter: median of 3 calls of one side, printed in seconds."""
    import intake_onc.acoustics._stft as module  # the frame engine, where the warm-up lives

    if name.endswith("no malloc warm-up"):
        module._malloc_warmed = 1 << 62  # as if already done: no warm-up
    x = synthetic_audio()
    audio = xr.DataArray(x, dims="time", attrs={"sample_rate": FS})
    frames = np.lib.stride_tricks.sliding_window_view(x, NPERSEG)[:: NPERSEG - NOVERLAP]
    workers = 1 if "workers=1" in name else None
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        if name == "bare FFT":
            scipy.fft.rfft(frames, axis=-1)
        elif name.startswith("scipy"):
            10 * np.log10(scipy_psd(x))
        else:
            spectrogram(audio, workers=workers)
        times.append(time.perf_counter() - t0)
    print(statistics.median(times))


def fresh_processes(n: int) -> None:
    times: dict[str, list[float]] = {k: [] for k in FRESH_SIDES}
    quiet: dict[str, list[float]] = {k: [] for k in FRESH_SIDES}
    for _ in range(n):
        for name in FRESH_SIDES:
            cmd = [sys.executable, __file__, "--fresh-side", name]
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            wall, cpu1 = time.perf_counter() - t0, cpu_seconds()
            times[name].append(float(out.split()[-1]))
            if cpu0 and cpu1 and (cpu1[0] - cpu0[0] - (cpu1[1] - cpu0[1])) / wall < QUIET:
                quiet[name].append(times[name][-1])
    runs = [("all", times)]
    if min(len(v) for v in quiet.values()) >= 3:
        runs.append((f"other processes < {QUIET} core", quiet))
    for label, samples in runs:
        med = {k: statistics.median(v) for k, v in samples.items()}
        print(f"  fresh processes ({label}; median of 3 calls in each)")
        for name, m in med.items():
            runs_ = len(samples[name])
            ratio = med["bare FFT"] / m
            print(f"    {name:44s} {m * 1e3:8.1f} ms  {runs_:2d} runs  bare/this {ratio:5.2f}x")


def scipy_psd(data: np.ndarray) -> np.ndarray:
    return scipy.signal.spectrogram(
        data,
        FS,
        window="hann",
        nperseg=NPERSEG,
        noverlap=NOVERLAP,
        detrend=False,
        scaling="density",
    )[2]


QUIET = 0.2  # other processes' CPU use (cores) under which a run counts as "quiet"


def cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds used by the machine, by this process and its children); Linux only."""
    try:
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:9]]
    except OSError:
        return None
    mine = os.times()
    own = mine.user + mine.system + mine.children_user + mine.children_system
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), own


def report(label: str, med: dict[str, float], threads: int) -> None:
    print(f"  {label}:")
    for name, m in med.items():
        print(f"    {name:40s} {m * 1e3:8.1f} ms   ({SECONDS / m:6.0f}x real time)")
    db, lin = med["intake_onc, dB (numpy)"], med["intake_onc, PSD db=False (numpy)"]
    db1, lin1 = med["intake_onc, dB, workers=1"], med["intake_onc, PSD, workers=1"]
    bare = med["bare FFT (all frames)"]
    bare_threads = med[f"bare FFT, workers={threads} (info)"]
    scipy_db = med["scipy.signal.spectrogram + 10*log10"]
    scipy_lin = med["scipy.signal.spectrogram (PSD)"]
    blocks = med["FFT in blocks of 8 (info)"]
    print("    ratios (> 1: ours faster)")
    print(f"      vs scipy, dB out:                 {scipy_db / db:5.2f}x (>= 1.5)")
    print(f"      vs scipy, PSD out:                {scipy_lin / lin:5.2f}x (>= 1.5)")
    print(f"      vs scipy, dB out, workers=1:      {scipy_db / db1:5.2f}x (>= 1.5)")
    print(f"      vs scipy, PSD out, workers=1:     {scipy_lin / lin1:5.2f}x (>= 1.5)")
    print(f"      vs bare FFT, dB (headline):       {bare / db:5.2f}x (>= 0.8)")
    print(f"      vs bare FFT, PSD:                 {bare / lin:5.2f}x (>= 0.8)")
    print(f"      vs bare FFT, dB, workers=1:       {bare / db1:5.2f}x (>= 0.8)")
    print(f"      vs bare FFT, PSD, workers=1:      {bare / lin1:5.2f}x (>= 0.8)")
    print(f"      vs bare FFT workers={threads}, dB:        {bare_threads / db:5.2f}x (info)")
    print(f"      vs FFT in blocks, dB, workers=1:  {blocks / db1:5.2f}x (info)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", type=int, default=0, metavar="N")
    parser.add_argument("--fresh-side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh_side:
        fresh_side(args.fresh_side)
        return

    x = synthetic_audio()
    audio = xr.DataArray(
        x, dims="time", attrs={"sample_rate": FS, "start_time": "2024-01-01T00:00:00Z"}
    )
    audio_dask = audio.chunk(time=len(x) // 4)
    hop = NPERSEG - NOVERLAP
    frames = np.lib.stride_tricks.sliding_window_view(x, NPERSEG)[::hop]

    def run_bare() -> None:
        scipy.fft.rfft(frames, axis=-1)

    threads = _resolve_workers(None)  # what spectrogram(workers=None) uses

    def run_bare_threads() -> None:
        scipy.fft.rfft(frames, axis=-1, workers=threads)

    def run_blocks() -> None:
        buf = np.empty((8, NPERSEG), np.float32)
        for i in range(0, len(frames), 8):
            b = buf[: len(frames[i : i + 8])]
            b[...] = frames[i : i + 8]
            scipy.fft.rfft(b, axis=-1, overwrite_x=True)

    sides = {
        "scipy.signal.spectrogram (PSD)": lambda: scipy_psd(x),
        "scipy.signal.spectrogram + 10*log10": lambda: 10 * np.log10(scipy_psd(x)),
        "bare FFT (all frames)": run_bare,
        f"bare FFT, workers={threads} (info)": run_bare_threads,
        "FFT in blocks of 8 (info)": run_blocks,
        "intake_onc, dB (numpy)": lambda: spectrogram(audio).values,
        "intake_onc, PSD db=False (numpy)": lambda: spectrogram(audio, db=False).values,
        "intake_onc, dB, workers=1": lambda: spectrogram(audio, workers=1).values,
        "intake_onc, PSD, workers=1": lambda: spectrogram(audio, db=False, workers=1).values,
        "intake_onc, dB (dask, 4 chunks)": lambda: spectrogram(audio_dask).compute(),
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    quiet: dict[str, list[float]] = {k: [] for k in sides}
    names = list(sides)
    load_before = os.getloadavg()
    with dask.config.set(scheduler="threads", num_workers=2):
        for r in range(args.repeat):
            random.Random(r).shuffle(names)
            for name in names:
                cpu0 = cpu_seconds()
                t0 = time.perf_counter()
                sides[name]()
                wall = time.perf_counter() - t0
                times[name].append(wall)
                cpu1 = cpu_seconds()
                if cpu0 and cpu1 and (cpu1[0] - cpu0[0] - (cpu1[1] - cpu0[1])) / wall < QUIET:
                    quiet[name].append(wall)
    load_after = os.getloadavg()

    ref = 10 * np.log10(scipy_psd(x)).T
    truth = 10 * np.log10(scipy_psd(x.astype(np.float64))).T
    ours = spectrogram(audio).values
    diff = np.abs(ours - ref)
    near = ref > ref.max(axis=1, keepdims=True) - 80  # above the float32 round-off floor
    print(
        f"5-min {FS} Hz float32 (noise + 3 tones), 1 s Hann, 50 % overlap, {len(frames)} frames; "
        f"{args.repeat} alternating runs (order shuffled), medians; default workers = {threads}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    report("all runs", {k: statistics.median(v) for k, v in times.items()}, threads)
    counts = {len(v) for v in quiet.values()}
    if min(counts) >= 3:
        label = (
            f"runs while other processes used < {QUIET} core ({min(counts)}-{max(counts)} a side)"
        )
        report(label, {k: statistics.median(v) for k, v in quiet.items()}, threads)
    else:
        print(f"  (fewer than 3 runs a side while other processes used < {QUIET} core)")
    print("  accuracy (dB)")
    print(f"    max |ours - scipy| all bins:               {diff.max():.5f}")
    print(f"    max |ours - scipy| within 80 dB of peak:   {diff[near].max():.5f} (<= 0.01)")
    print(f"    median |ours - scipy|:                     {np.median(diff):.2e}")
    print(f"    max |scipy float32 - float64| all bins:    {np.abs(ref - truth).max():.5f}")
    print(f"    max |ours - float64| all bins:             {np.abs(ours - truth).max():.5f}")
    serial = spectrogram(audio, workers=1).values
    print(f"    workers={threads} bit-identical to workers=1:     {np.array_equal(ours, serial)}")
    if args.fresh:
        fresh_processes(args.fresh)


if __name__ == "__main__":
    main()
