"""Spectrogram of one 5-minute 64 kHz file: intake_onc vs scipy vs the bare FFT.

Targets (performance.md): ours >= 1.5x faster than ``scipy.signal.spectrogram`` (same
parameters, ``detrend=False``) and >= 0.8x the speed of the bare FFT; results within 0.01 dB.

* scipy: ``scipy.signal.spectrogram(x, fs, window="hann", nperseg, noverlap, detrend=False,
  scaling="density")``, as is (PSD) and followed by ``10·log10`` (dB, what ours returns);
* bare FFT: ``scipy.fft.rfft`` of all frames at once (a strided float32 view), nothing else —
  what performance.md calls "the FFT alone";
* FFT in blocks: the same rfft on contiguous blocks of 8 frames (the floor of our method: the
  window, power and log are what ours adds to it), for information;
* ours: ``intake_onc.spectrograms.spectrogram`` on a numpy-backed DataArray (dB, and
  ``db=False``), and on the same audio as 4 dask chunks (threaded scheduler, 2 workers).

Accuracy is reported over all bins and over the bins within 80 dB of their frame's peak: deeper
bins sit at float32 round-off, where scipy's own float32 result is as far from the float64 one.

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

from intake_onc.spectrograms import spectrogram

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

    def run_bare() -> None:
        scipy.fft.rfft(frames, axis=-1)

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
        "FFT in blocks of 8 (info)": run_blocks,
        "intake_onc, dB (numpy)": lambda: spectrogram(audio).values,
        "intake_onc, PSD db=False (numpy)": lambda: spectrogram(audio, db=False).values,
        "intake_onc, dB (dask, 4 chunks)": lambda: spectrogram(audio_dask).compute(),
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    with dask.config.set(scheduler="threads", num_workers=2):
        for _ in range(args.repeat):
            for name, fn in sides.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)

    ref = 10 * np.log10(scipy_psd(x)).T
    truth = 10 * np.log10(scipy_psd(x.astype(np.float64))).T
    ours = spectrogram(audio).values
    diff = np.abs(ours - ref)
    near = ref > ref.max(axis=1, keepdims=True) - 80  # above the float32 round-off floor
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"5-min {FS} Hz float32 (noise + 3 tones), 1 s Hann, 50 % overlap, {len(frames)} frames; "
        f"{args.repeat} alternating runs, medians"
    )
    for name, m in med.items():
        print(f"  {name:40s} {m * 1e3:8.1f} ms   ({SECONDS / m:6.0f}x real time)")
    db, lin = med["intake_onc, dB (numpy)"], med["intake_onc, PSD db=False (numpy)"]
    bare = med["bare FFT (all frames)"]
    print("  ratios (> 1: ours faster)")
    print(
        f"    vs scipy, dB out:   {med['scipy.signal.spectrogram + 10*log10'] / db:5.2f}x (>= 1.5)"
    )
    print(f"    vs scipy, PSD out:  {med['scipy.signal.spectrogram (PSD)'] / lin:5.2f}x (>= 1.5)")
    print(f"    vs bare FFT, dB:    {bare / db:5.2f}x (>= 0.8)")
    print(f"    vs bare FFT, PSD:   {bare / lin:5.2f}x (>= 0.8)")
    print(f"    vs FFT in blocks:   {med['FFT in blocks of 8 (info)'] / db:5.2f}x (info)")
    print("  accuracy (dB)")
    print(f"    max |ours - scipy| all bins:               {diff.max():.5f}")
    print(f"    max |ours - scipy| within 80 dB of peak:   {diff[near].max():.5f} (<= 0.01)")
    print(f"    median |ours - scipy|:                     {np.median(diff):.2e}")
    print(f"    max |scipy float32 - float64| all bins:    {np.abs(ref - truth).max():.5f}")
    print(f"    max |ours - float64| all bins:             {np.abs(ours - truth).max():.5f}")


if __name__ == "__main__":
    main()
