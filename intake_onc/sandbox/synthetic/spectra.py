"""Spectrograms of the synthetic hydrophone audio, computed with scipy (numbers, no files).

Computed directly from :func:`intake_onc.sandbox.synthetic.audio.synth_file_int`'s signal (the
sandbox is the independent side of the wire: it does not use ``intake_onc.acoustics.spectrogram``).

Processing (ONC's: Welch, Hann window, 50 % overlap, "rebinned in the linear domain"):

========================  =======================================================================
``dpo_spectralDataDownsample``
========================  =======================================================================
``1`` one-minute          Welch over each minute of the file (1 s Hann windows, 50 % overlap,
                          119 windows a minute): 1 Hz bins from 0 to Nyquist, 5 columns per
                          300-s file. This is the archived ``-spect.mat``. (64 kHz: 32001 rows,
                          1.3 MB; practical, so no cap.)
``2`` plot resolution     STFT with hop ``file/1000`` (0.3 s) and a window of twice that (0.6 s),
                          999 columns per file; frequency bins summed in groups of
                          ``ceil(bins/1000)`` (the leftover top bins dropped): at most 1000 rows
                          (8 kHz: 800 rows of 5 Hz; 16 kHz: 960 × 8.3 Hz; 64 kHz: 960 × 33.3 Hz).
``0`` full resolution     STFT, 1 s Hann windows, 50 % overlap: 0.5 s × 1 Hz, 599 columns per
                          file. Costly: 64 kHz gives 32001 × 599 float64 = 153 MB per file.
========================  =======================================================================

Values (:attr:`Spectrogram.psd_db`, rows = frequency, columns = time, float64): like ONC's
audio-derived spectra, **power per frequency bin, not divided by the bin width**:
``PSD = 10·log10(S·Δf) + 170`` where ``S`` is the one-sided PSD (scipy ``scaling="density"``,
full-scale²/Hz), ``Δf`` the spacing of ``frequency`` (``bin_width``; 1 Hz in modes 1 and 0) and
170 dB the sandbox's fixed calibration (:data:`~.audio_synth.FULL_SCALE_DB_RE_UPA`: full scale =
170 dB re 1 µPa). So values are "dB re 1 µPa² per bin"; adding ``10·log10(1/Δf)`` gives
dB re 1 µPa²/Hz. ``time`` holds each column's **centre** (mode 1: file start + 30, 90, ... s).
The MAT and PNG files are written by :mod:`intake_onc.sandbox.encoders.spectrogram`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import fft as _fft
from scipy import signal as _signal

from intake_onc._core.time import parse_date
from intake_onc.sandbox.synthetic.audio import (
    FULL_SCALE_DB_RE_UPA,
    check_seed,
    hydrophone,
    synth_file_int,
)

__all__ = ["RESOLUTION_NAMES", "Spectrogram", "file_spectrogram", "spectrogram_shape"]

#: What each ``dpo_spectralDataDownsample`` mode is called (comments, plot titles).
RESOLUTION_NAMES = {1: "one-minute average", 2: "plot resolution", 0: "full resolution"}


@dataclass(frozen=True)
class Spectrogram:
    """A spectrogram as the MAT file holds it (``psd_db`` rows = frequency)."""

    device_code: str
    sample_rate: int
    psd_db: np.ndarray  # (F, T) float64, dB re 1 uPa^2 per bin
    frequency: np.ndarray  # (F,) Hz
    time: np.ndarray  # (T,) datetime64[ns], column centres
    date_from: pd.Timestamp  # first sample of the first source file
    date_to: pd.Timestamp  # end of the last source file
    downsample: int
    window_seconds: float
    fft_length: int
    bin_width: float
    averaging_seconds: float
    concatenation: str = "None"

    def comment(self) -> str:
        return (
            f"intake-onc sandbox (synthetic data). {RESOLUTION_NAMES[self.downsample]} spectrogram: "
            f"Welch/STFT, Hann window {self.window_seconds:g} s ({self.fft_length} points), "
            f"50% overlap, averaged over {self.averaging_seconds:g} s per column. "
            f"PSD = power per bin in dB re 1 uPa^2 (NOT divided by the bin width "
            f"{self.bin_width:g} Hz; add 10*log10(1/binWidth) for dB re 1 uPa^2/Hz), "
            f"fixed calibration: full scale = {FULL_SCALE_DB_RE_UPA:g} dB re 1 uPa. "
            "Rows = frequency (Hz), columns = time; time = MATLAB datenum of column centres."
        )


# ----------------------------------------------------------------------------------------------
# Spectrogram computation
# ----------------------------------------------------------------------------------------------


def _to_db(power_per_bin: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(power_per_bin.astype(np.float64)) + FULL_SCALE_DB_RE_UPA


def _stft_density(x: np.ndarray, fs: int, nperseg: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided PSD (full-scale²/Hz) of Hann-windowed frames ``x[j·hop : j·hop + nperseg]``:
    ``(frequency, S)`` with ``S`` of shape (frames, bins), float32. Same values as
    ``scipy.signal.spectrogram(x, fs, "hann", nperseg, nperseg - hop, detrend=False,
    scaling="density")``, computed in blocks of frames (about 2× faster)."""
    window = _signal.get_window("hann", nperseg).astype(np.float32)
    scale = np.float32(1.0 / (fs * float(np.sum(window.astype(np.float64) ** 2))))
    frames = (len(x) - nperseg) // hop + 1
    bins = nperseg // 2 + 1
    view = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::hop][:frames]
    out = np.empty((frames, bins), dtype=np.float32)
    for i in range(0, frames, 32):
        spec = _fft.rfft(view[i : i + 32] * window, axis=1)
        block = out[i : i + 32]
        np.multiply(spec.real, spec.real, out=block)
        block += spec.imag * spec.imag
    out *= scale
    out[:, 1 : bins - 1 if nperseg % 2 == 0 else bins] *= np.float32(2.0)  # one-sided
    return np.fft.rfftfreq(nperseg, 1.0 / fs), out


def spectrogram_shape(fs: int, n: int, mode: int) -> tuple[int, int]:
    """``(rows, columns)`` of the spectrogram :func:`_compute` makes of ``n`` samples at ``fs``
    Hz in ``dpo_spectralDataDownsample`` mode ``mode``, without computing it."""
    if mode == 1:
        return fs // 2 + 1, n // (60 * fs)
    if mode == 0:
        return fs // 2 + 1, (n - fs) // (fs // 2) + 1
    hop = int(round(n / 1000))
    bins = hop + 1
    group = math.ceil(bins / 1000)
    return bins // group, (n - 2 * hop) // hop + 1


def _compute(
    device_code: str, start: pd.Timestamp, samples: np.ndarray, fs: int, mode: int
) -> Spectrogram:
    n = len(samples)
    t0 = np.datetime64(start.value, "ns")
    end = start + pd.Timedelta(n * 10**9 // fs, "ns")
    if mode == 1:
        # Welch per minute: the 119 one-second frames (50 % overlap) inside each minute; the
        # frames straddling two minutes are not used.
        f, s = _stft_density(samples, fs, fs, fs // 2)
        minutes = n // (60 * fs)
        per_min = 120
        need = minutes * per_min  # frames of whole minutes (the last frame of each unused)
        if len(s) < need:
            s = np.concatenate([s, np.zeros((need - len(s), s.shape[1]), s.dtype)])
        s = s[:need]
        power = s.reshape(minutes, per_min, -1)[:, : per_min - 1].mean(axis=1, dtype=np.float64)
        centres = ((np.arange(minutes) * 60 + 30) * 10**9).astype("timedelta64[ns]")
        # nperseg = fs: bin width 1 Hz, power per bin = density
        return Spectrogram(
            device_code, fs, _to_db(power.T), f, t0 + centres, start, end, 1, 1.0, fs, 1.0, 60.0
        )
    if mode == 0:
        nperseg, group = fs, 1
    else:
        hop = int(round(n / 1000))
        nperseg = 2 * hop
        group = math.ceil((nperseg // 2 + 1) / 1000)
    hop = nperseg // 2
    f, s = _stft_density(samples, fs, nperseg, hop)
    df = fs / nperseg
    power = s.T * np.float32(df)  # power per FFT bin, (F, T)
    if group > 1:
        rows = (len(f) // group) * group
        power = power[:rows].reshape(-1, group, power.shape[1]).sum(axis=1, dtype=np.float64)
        f = f[:rows].reshape(-1, group).mean(axis=1)
    frames = power.shape[1]
    centres = (np.arange(frames, dtype=np.int64) * hop + nperseg // 2) * 10**9 // fs
    return Spectrogram(
        device_code,
        fs,
        _to_db(power),
        f,
        t0 + centres.astype("timedelta64[ns]"),
        start,
        end,
        mode,
        nperseg / fs,
        nperseg,
        df * group,
        hop / fs,
    )


def file_spectrogram(
    device_code: str, start: object, downsample: int = 1, *, seed: int = 0
) -> Spectrogram:
    """The spectrogram of the archive audio file of ``device_code`` starting at ``start``.

    ``start`` is a file start (as in its name); the file's validity is not checked here
    (:func:`intake_onc.sandbox.products.audio.archive_file_info` does that).
    """
    if downsample not in (0, 1, 2):
        raise ValueError(f"dpo_spectralDataDownsample: expected 0, 1 or 2, got {downsample!r}")
    ts = parse_date(start, argument="start")
    fs = hydrophone(device_code).audio.sample_rate
    q = synth_file_int(device_code, int(ts.value), check_seed(seed))
    x = q.astype(np.float32) * np.float32(2.0**-23)
    return _compute(device_code, ts, x, fs, downsample)
