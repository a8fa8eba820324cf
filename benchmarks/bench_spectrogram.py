"""Spectrogram of one 5-minute 64 kHz file: intake_onc vs scipy vs the bare FFT.

Targets (performance.md): ours >= 1.5x faster than ``scipy.signal.spectrogram`` (same
parameters, ``detrend=False``) and >= 0.8x the speed of the bare FFT; results within 0.01 dB.

* scipy: ``scipy.signal.spectrogram(x, fs, window="hann", nperseg, noverlap, detrend=False,
  scaling="density")`` then ``10·log10`` (ours returns dB, so the reference does too);
* bare FFT: ``scipy.fft.rfft`` of all frames at once (a strided float32 view), nothing else —
  what performance.md calls "the FFT alone";
* FFT in blocks: the same rfft done on contiguous blocks of 8 frames (the floor of our own
  method: the window, power and log are what ours adds to it), shown for information;
* ours: ``intake_onc.spectrogram.spectrogram`` on a numpy-backed DataArray, and on the same
  audio as 4 dask chunks (threaded scheduler, 2 workers).

Run: ``python benchmarks/bench_spectrogram.py [--repeat 5]``. Sides alternate; medians reported.
"""

from __future__ import annotations

import argparse
import statistics
import time

import dask
import numpy as np
import scipy.fft
import scipy.signal
import xarray as xr

from intake_onc.spectrogram import spectrogram

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    x = synthetic_audio()
    audio = xr.DataArray(
        x, dims="time", attrs={"sample_rate": FS, "start_time": "2024-01-01T00:00:00Z"}
    )
    audio_dask = audio.chunk(time=len(x) // 4)
    hop = NPERSEG - NOVERLAP
    frames = np.lib.stride_tricks.sliding_window_view(x, NPERSEG)[::hop]

    def run_scipy() -> np.ndarray:
        _, _, s = scipy.signal.spectrogram(
            x,
            FS,
            window="hann",
            nperseg=NPERSEG,
            noverlap=NOVERLAP,
            detrend=False,
            scaling="density",
        )
        return 10 * np.log10(s)

    def run_bare() -> None:
        scipy.fft.rfft(frames, axis=-1)

    def run_blocks() -> None:
        buf = np.empty((8, NPERSEG), np.float32)
        for i in range(0, len(frames), 8):
            b = buf[: len(frames[i : i + 8])]
            b[...] = frames[i : i + 8]
            scipy.fft.rfft(b, axis=-1, overwrite_x=True)

    def run_ours() -> np.ndarray:
        return spectrogram(audio, win_dur=1.0, overlap=0.5).values

    def run_ours_dask() -> None:
        spectrogram(audio_dask, win_dur=1.0, overlap=0.5).compute(num_workers=2)

    sides = {
        "scipy.signal.spectrogram": run_scipy,
        "bare FFT (all frames)": run_bare,
        "FFT in blocks of 8": run_blocks,
        "intake_onc (numpy)": run_ours,
        "intake_onc (dask, 4 chunks, 2 threads)": run_ours_dask,
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    with dask.config.set(scheduler="threads"):
        for _ in range(args.repeat):
            for name, fn in sides.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)

    ref, ours = run_scipy().T, run_ours()
    diff = np.abs(ours - ref)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"5-min {FS} Hz float32, 1 s Hann, 50 % overlap, {len(frames)} frames; "
        f"{args.repeat} alternating runs, medians"
    )
    for name, m in med.items():
        print(f"  {name:42s} {m * 1e3:8.1f} ms   ({SECONDS / m:7.0f}x real time)")
    ours_t = med["intake_onc (numpy)"]
    print(
        f"  speed-up vs scipy:          {med['scipy.signal.spectrogram'] / ours_t:5.2f}x (target >= 1.5)"
    )
    print(
        f"  speed vs bare FFT:          {med['bare FFT (all frames)'] / ours_t:5.2f}x (target >= 0.8)"
    )
    print(f"  speed vs FFT in blocks:     {med['FFT in blocks of 8'] / ours_t:5.2f}x (information)")
    print(f"  max |ours - scipy|:         {diff.max():.5f} dB (target <= 0.01)")


if __name__ == "__main__":
    main()
