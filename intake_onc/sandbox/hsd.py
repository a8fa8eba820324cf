"""Hydrophone spectral data (HSD): the archive ``-spect.mat``/``-spect.png`` and HSD products.

Spectrograms are computed here with scipy directly from :func:`intake_onc.sandbox.audio`'s
synthetic signal (the sandbox is the independent side of the wire: it does not use
``intake_onc.spectrogram``).

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

Values (``SpectData.PSD``, rows = frequency, columns = time, float64): like ONC's audio-derived
spectra, **power per frequency bin, not divided by the bin width**:
``PSD = 10·log10(S·Δf) + 170`` where ``S`` is the one-sided PSD (scipy ``scaling="density"``,
full-scale²/Hz), ``Δf`` the spacing of ``frequency`` (``Meta.binWidth``; 1 Hz in modes 1 and
0) and 170 dB the sandbox's fixed calibration (:data:`FULL_SCALE_DB_RE_UPA`: full scale =
170 dB re 1 µPa). So values are "dB re 1 µPa² per bin"; adding ``10·log10(1/Δf)`` gives
dB re 1 µPa²/Hz. ``SpectData.time`` holds MATLAB datenums of each column's **centre** (mode 1:
file start + 30, 90, ... s). ``SpectData.frequency`` is a column vector (rows of PSD), ``time`` a
row vector. ``processingComment`` says all this; ``Meta`` holds it as fields (``deviceCode``,
``sampleRate``, ``dateFrom``, ``dateTo``, ``windowFunction``, ``windowSeconds``, ``overlap``,
``fftLength``, ``binWidth``, ``averagingSeconds``, ``spectralDataDownsample``,
``binWidthCorrected`` (false), ``calibrationDb``, ``units``, ``timeReference``, ``concatenation``).
MAT v5, uncompressed, with a fixed 116-byte header text (deterministic bytes).

HSD product file names: ``<DEVICE>_<YYYYMMDDThhmmss.fffZ>-spect[<res>][<concat>].<mat|png>``
with the stamp of the group's first source file, ``<res>`` = ``""`` (mode 1), ``-plotRes``
(2), ``-fullRes`` (0) and ``<concat>`` = ``""`` (None), ``-DAILY``, ``-WEEKLY``, ``-COLLATE``
(Concatenate), ``-ADJACENT`` (Daily: UTC day of the file start; Weekly: Monday-based weeks;
Adjacent: runs of files without a missing one). Mode 1 without concatenation gives exactly the
archive files (same names, same bytes; for PNG when the plot options are the defaults). Other
PNGs plot the requested resolution (colour limits, palette, frequency limit applied).
Whole source files are used (products are not clipped to the requested range). The archive ``-spect.png``
plots the plot-resolution spectrogram of its file (1200×900, palette PNG, padded with a ``tEXt``
chunk to :func:`archive_spect_png_size`).
"""

from __future__ import annotations

import io
import math
import struct
import threading
import zlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.io
from scipy import fft as _fft
from scipy import signal as _signal

from intake_onc._dates import datetime64_to_datenum, filename_timestamp, parse_date
from intake_onc.sandbox import audio as _audio
from intake_onc.sandbox.audio import FULL_SCALE_DB_RE_UPA

__all__ = [
    "FULL_SCALE_DB_RE_UPA",
    "PNG_TARGET_BYTES",
    "Spectrogram",
    "archive_spect_mat_bytes",
    "archive_spect_mat_size",
    "archive_spect_png_bytes",
    "archive_spect_png_size",
    "build_hsd_files",
    "estimate_hsd_size",
    "file_spectrogram",
    "hsd_file_names",
    "iter_hsd_files",
    "mat_bytes",
    "png_bytes",
]

#: Archive ``-spect.png`` files are padded to this size plus a per-file variation below 32 KiB
#: (real rendered sizes measured at 0.38-0.49 MB, very stable: noise texture; a file that would
#: not fit raises when generated, and the tests check the margin).
PNG_TARGET_BYTES = 600_000
_PNG_VARIATION = 32_768
#: Refuse to build one HSD output file bigger than this (ask for fewer files or mode 1/2).
MAX_PRODUCT_BYTES = 2 * 1024**3

_RES_TAG = {1: "", 2: "-plotRes", 0: "-fullRes"}
_RES_NAME = {1: "one-minute average", 2: "plot resolution", 0: "full resolution"}
_CONCAT_TAG = {
    "None": "",
    "Daily": "-DAILY",
    "Weekly": "-WEEKLY",
    "Concatenate": "-COLLATE",
    "Adjacent": "-ADJACENT",
}
_PALETTES = {0: "jet", 1: "viridis", 2: "gray", 3: "hot", 4: "cividis", 5: "magma"}
_MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: intake-onc sandbox (synthetic)"


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
            f"intake-onc sandbox (synthetic data). {_RES_NAME[self.downsample]} spectrogram: "
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
    (:func:`intake_onc.sandbox.audio.archive_file_info` does that).
    """
    if downsample not in (0, 1, 2):
        raise ValueError(f"dpo_spectralDataDownsample: expected 0, 1 or 2, got {downsample!r}")
    ts = parse_date(start, argument="start")
    fs = _audio._hydrophone(device_code).audio.sample_rate
    q = _audio._synth_file_int(device_code, int(ts.value), _audio._check_seed(seed))
    x = q.astype(np.float32) * np.float32(2.0**-23)
    return _compute(device_code, ts, x, fs, downsample)


def _concat(parts: list[Spectrogram], concatenation: str) -> Spectrogram:
    if len(parts) == 1:
        return replace(parts[0], concatenation=concatenation)
    return replace(
        parts[0],
        psd_db=np.concatenate([p.psd_db for p in parts], axis=1),
        time=np.concatenate([p.time for p in parts]),
        date_to=parts[-1].date_to,
        concatenation=concatenation,
    )


# ----------------------------------------------------------------------------------------------
# MAT
# ----------------------------------------------------------------------------------------------


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def mat_bytes(spec: Spectrogram) -> bytes:
    """MAT v5 bytes of a spectrogram (``SpectData`` + ``Meta``; see the module doc)."""
    spect = {
        "PSD": np.ascontiguousarray(spec.psd_db, dtype=np.float64),
        "frequency": np.asarray(spec.frequency, dtype=np.float64).reshape(-1, 1),
        "time": datetime64_to_datenum(spec.time).astype(np.float64).reshape(1, -1),
        "processingComment": spec.comment(),
    }
    meta = {
        "deviceCode": spec.device_code,
        "sampleRate": float(spec.sample_rate),
        "dateFrom": _iso(spec.date_from),
        "dateTo": _iso(spec.date_to),
        "windowFunction": "hann",
        "windowSeconds": float(spec.window_seconds),
        "overlap": 0.5,
        "fftLength": float(spec.fft_length),
        "binWidth": float(spec.bin_width),
        "averagingSeconds": float(spec.averaging_seconds),
        "spectralDataDownsample": float(spec.downsample),
        "binWidthCorrected": False,
        "calibrationDb": float(FULL_SCALE_DB_RE_UPA),
        "units": "dB re 1 uPa^2 per bin (not divided by bin width)",
        "timeReference": "centre",
        "concatenation": spec.concatenation,
    }
    buf = io.BytesIO()
    scipy.io.savemat(
        buf, {"SpectData": spect, "Meta": meta}, format="5", do_compression=False, oned_as="column"
    )
    data = bytearray(buf.getvalue())
    data[:116] = _MAT_HEADER.ljust(116)  # savemat writes the creation time: make it fixed
    return bytes(data)


_SIZE_LOCK = threading.Lock()
_MAT_SIZES: dict[str, int] = {}


def archive_spect_mat_size(device_code: str) -> int:
    """Exact size of every archive ``-spect.mat`` of a device (from a zero-filled template)."""
    with _SIZE_LOCK:
        if device_code not in _MAT_SIZES:
            fs = _audio._hydrophone(device_code).audio.sample_rate
            n = _audio.file_samples(device_code)
            minutes = n // (60 * fs)
            t = pd.Timestamp("2000-01-01")
            template = Spectrogram(
                device_code,
                fs,
                np.zeros((fs // 2 + 1, minutes)),
                np.zeros(fs // 2 + 1),
                np.zeros(minutes, "datetime64[ns]"),
                t,
                t,
                1,
                1.0,
                fs,
                1.0,
                60.0,
            )
            _MAT_SIZES[device_code] = len(mat_bytes(template))
        return _MAT_SIZES[device_code]


def archive_spect_mat_bytes(device_code: str, start: object, *, seed: int = 0) -> bytes:
    """The archive ``-spect.mat`` of the file starting at ``start`` (one-minute spectrogram)."""
    data = mat_bytes(file_spectrogram(device_code, start, 1, seed=seed))
    expected = archive_spect_mat_size(device_code)
    if len(data) != expected:
        raise RuntimeError(
            f"-spect.mat of {device_code} at {start}: {len(data)} bytes, template says {expected}"
        )
    return data


# ----------------------------------------------------------------------------------------------
# PNG
# ----------------------------------------------------------------------------------------------


def png_bytes(
    spec: Spectrogram,
    *,
    clim: tuple[float, float] | None = None,
    palette: int = 0,
    fmax: float | None = None,
    title: str | None = None,
) -> bytes:
    """A 1200×900 palette PNG of a spectrogram (matplotlib Agg), deterministic bytes.

    ``clim``: colour limits in dB (``None``: the 1st and 99.9th percentiles); ``palette``:
    ``dpo_spectrogramColourPalette`` 0-5; ``fmax``: upper frequency limit of the plot (Hz).
    """
    import matplotlib.dates as mdates  # no pyplot: a bare Agg canvas, whatever the backend
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    psd = spec.psd_db
    freq = spec.frequency
    if fmax is not None and fmax > 0:
        keep = freq <= fmax
        psd, freq = psd[keep], freq[keep]
    finite = psd[np.isfinite(psd)]
    if clim is None:
        lo, hi = np.percentile(finite, [1, 99.9]) if finite.size else (0.0, 1.0)
        clim = (float(np.floor(lo)), float(np.ceil(max(hi, lo + 1))))
    khz = spec.sample_rate > 20_000
    scale = 1e-3 if khz else 1.0
    times = spec.time.astype("datetime64[ns]")
    half = (times[1] - times[0]) / 2 if len(times) > 1 else np.timedelta64(30, "s")
    x0 = mdates.date2num((times[0] - half).astype("datetime64[us]").item())
    x1 = mdates.date2num((times[-1] + half).astype("datetime64[us]").item())
    df = (freq[1] - freq[0]) if len(freq) > 1 else 1.0

    fig = Figure(figsize=(12, 9), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    image = ax.imshow(
        psd,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        extent=[x0, x1, (freq[0] - df / 2) * scale, (freq[-1] + df / 2) * scale],
        cmap=_PALETTES.get(int(palette), "jet"),
        vmin=clim[0],
        vmax=clim[1],
    )
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.set_xlabel(f"Time (UTC) from {_iso(spec.date_from)}")
    ax.set_ylabel("Frequency (kHz)" if khz else "Frequency (Hz)")
    ax.set_title(
        title
        or f"{spec.device_code} {_iso(spec.date_from)} - {_iso(spec.date_to)} "
        f"({_RES_NAME[spec.downsample]})"
    )
    fig.colorbar(image, ax=ax, label="PSD (dB re 1 µPa² per bin; not divided by bin width)")
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[:, :, :3]
    img = Image.fromarray(np.ascontiguousarray(rgb)).quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    buf = io.BytesIO()
    img.save(buf, format="png")
    return buf.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _pad_png(data: bytes, target: int) -> bytes:
    """Insert a ``tEXt`` chunk before ``IEND`` so the PNG is exactly ``target`` bytes."""
    head = b"Comment\x00"
    deficit = target - len(data)
    if deficit < 12 + len(head):
        raise RuntimeError(
            f"rendered -spect.png is {len(data)} bytes, too close to or above its fixed listing "
            f"size {target}; raise PNG_TARGET_BYTES in intake_onc/sandbox/hsd.py"
        )
    iend = data.rindex(b"IEND") - 4
    chunk = _png_chunk(b"tEXt", head + b" " * (deficit - 12 - len(head)))
    out = data[:iend] + chunk + data[iend:]
    assert len(out) == target
    return out


def archive_spect_png_size(device_code: str, variation: object = 0) -> np.ndarray | int:
    """Size of archive ``-spect.png`` files: :data:`PNG_TARGET_BYTES` + ``variation % 32768``.

    ``variation`` may be a uint64 array (vectorised, as the listing uses it).
    """
    _audio._hydrophone(device_code)
    v = np.asarray(variation, dtype=np.uint64) % np.uint64(_PNG_VARIATION)
    out = PNG_TARGET_BYTES + v.astype(np.int64)
    return out if out.ndim else int(out)


def archive_spect_png_bytes(
    device_code: str, start: object, target_size: int, *, seed: int = 0
) -> bytes:
    """The archive ``-spect.png``: a plot-resolution plot of the file, padded to
    ``target_size`` (the listing's ``fileSize``)."""
    spec = file_spectrogram(device_code, start, 2, seed=seed)
    return _pad_png(png_bytes(spec), int(target_size))


# ----------------------------------------------------------------------------------------------
# HSD data products
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HsdOptions:
    downsample: int
    concatenation: str
    clim: tuple[float, float] | None
    palette: int
    fmax: float | None


def _parse_options(options: dict | None) -> _HsdOptions:
    opts = dict(options or {})

    def get(name: str, default: str) -> str:
        value = opts.get(name, default)
        return default if value is None else str(value).strip()

    def number(name: str, default: str) -> float:
        text = get(name, default)
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {text!r}") from None

    ds = get("dpo_spectralDataDownsample", "1")
    if ds not in ("0", "1", "2"):
        raise ValueError(
            f"dpo_spectralDataDownsample: expected 0 (full), 1 (one-minute) or "
            f"2 (plot resolution), got {ds!r}"
        )
    concat = get("dpo_spectrogramConcatenation", "None")
    if concat not in _CONCAT_TAG:
        raise ValueError(
            f"dpo_spectrogramConcatenation: expected one of "
            f"{', '.join(_CONCAT_TAG)}, got {concat!r}"
        )
    lo = number("dpo_lowerColourLimit", "-1000")
    hi = number("dpo_upperColourLimit", "-1000")
    clim = None
    if lo != -1000 or hi != -1000:
        if lo == -1000 or hi == -1000 or lo >= hi:
            raise ValueError(
                "dpo_lowerColourLimit/dpo_upperColourLimit: give both (lower < "
                f"upper, dB) or leave both at -1000 (auto); got {lo:g}, {hi:g}"
            )
        clim = (lo, hi)
    palette = int(number("dpo_spectrogramColourPalette", "0"))
    if palette not in _PALETTES:
        raise ValueError(f"dpo_spectrogramColourPalette: expected 0-5, got {palette}")
    fmax = number("dpo_spectrogramFrequencyUpperLimit", "-1")
    return _HsdOptions(int(ds), concat, clim, palette, fmax if fmax > 0 else None)


def _groups(rows: pd.DataFrame, concatenation: str, file_seconds: float) -> list[pd.DataFrame]:
    if rows.empty:
        return []
    if concatenation == "None":
        return [rows.iloc[[i]] for i in range(len(rows))]
    starts = rows["start_time"]
    if concatenation == "Concatenate":
        key = np.zeros(len(rows), dtype=np.int64)
    elif concatenation == "Daily":
        key = starts.dt.floor("D").astype("int64").to_numpy()
    elif concatenation == "Weekly":
        day = starts.dt.floor("D")
        key = (day - pd.to_timedelta(day.dt.dayofweek, unit="D")).astype("int64").to_numpy()
    else:  # Adjacent: a new group after a gap of more than 5 s (a missing file)
        gap = (starts - rows["end_time"].shift()).dt.total_seconds().to_numpy()
        key = np.cumsum(~(gap <= 5.0))
    return [rows.iloc[idx] for idx in pd.Series(range(len(rows))).groupby(key).indices.values()]


def _product_name(
    device_code: str, first_start: pd.Timestamp, opts: _HsdOptions, extension: str
) -> str:
    return (
        f"{device_code}_{filename_timestamp(first_start)}-spect{_RES_TAG[opts.downsample]}"
        f"{_CONCAT_TAG[opts.concatenation]}.{extension}"
    )


def _plan(device_code, start, end, extension, options, seed, now):
    extension = str(extension).lower().lstrip(".")
    if extension not in ("mat", "png"):
        raise ValueError(f"extension: HSD files are 'mat' or 'png', got {extension!r}")
    opts = _parse_options(options)
    seed = _audio._check_seed(seed)
    spec = _audio._hydrophone(device_code).audio
    rows = _audio._overlapping_audio(device_code, start, end, seed, now)
    groups = _groups(rows, opts.concatenation, spec.file_seconds)
    names = [_product_name(device_code, g["start_time"].iloc[0], opts, extension) for g in groups]
    return extension, opts, seed, groups, names


def _shape(device_code: str, downsample: int, n_files: int) -> tuple[int, int]:
    fs = _audio._hydrophone(device_code).audio.sample_rate
    n = _audio.file_samples(device_code)
    if downsample == 1:
        return fs // 2 + 1, n_files * (n // (60 * fs))
    if downsample == 0:
        return fs // 2 + 1, n_files * ((n - fs) // (fs // 2) + 1)
    hop = int(round(n / 1000))
    bins = hop + 1
    group = math.ceil(bins / 1000)
    return bins // group, n_files * ((n - 2 * hop) // hop + 1)


def hsd_file_names(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> list[str]:
    """Names of the files :func:`build_hsd_files` would return, without computing them."""
    return _plan(device_code, start, end, extension, options, seed, now)[4]


def estimate_hsd_size(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> int:
    """Approximate total bytes of an HSD request (cheap: only the listing)."""
    extension, opts, seed, groups, _ = _plan(device_code, start, end, extension, options, seed, now)
    if extension == "png":
        return len(groups) * (PNG_TARGET_BYTES if opts.downsample == 1 else 400_000)
    total = 0
    for g in groups:
        f, t = _shape(device_code, opts.downsample, len(g))
        total += 8 * f * (t + 1) + 8 * t + 2000
    return total


def iter_hsd_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
):
    """Generator form of :func:`build_hsd_files`: yields ``(name, bytes)`` one at a time."""
    extension, opts, seed, groups, names = _plan(
        device_code, start, end, extension, options, seed, now
    )
    archive_like = (
        opts.downsample == 1
        and opts.concatenation == "None"
        and opts.clim is None
        and opts.palette == 0
        and opts.fmax is None
    )
    for group, name in zip(groups, names, strict=True):
        if (
            opts.downsample == 1
            and opts.concatenation == "None"
            and (extension == "mat" or archive_like)
        ):
            # The pre-generated one-minute files are the archive files themselves.
            archive_name = group["filename"].iloc[0].rsplit(".", 1)[0] + f"-spect.{extension}"
            yield name, _audio.archive_file_bytes(archive_name, seed=seed, now=now)
            continue
        f, t = _shape(device_code, opts.downsample, len(group))
        if 8 * f * t > MAX_PRODUCT_BYTES:
            raise ValueError(
                f"HSD {name}: {f} × {t} values ({8 * f * t / 1e9:.1f} GB) is too large; ask for "
                "fewer files, no concatenation, or dpo_spectralDataDownsample=1 or 2"
            )
        parts = [
            file_spectrogram(device_code, ts, opts.downsample, seed=seed)
            for ts in group["start_time"]
        ]
        spec = _concat(parts, opts.concatenation)
        if extension == "mat":
            yield name, mat_bytes(spec)
        else:
            yield name, png_bytes(spec, clim=opts.clim, palette=opts.palette, fmax=opts.fmax)


def build_hsd_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> list[tuple[str, bytes]]:
    """Files of data product ``HSD`` for every archive audio file overlapping ``[start, end)``.

    Options (strings as on the wire; missing: ONC defaults): ``dpo_spectralDataDownsample``
    (0/1/2), ``dpo_spectrogramConcatenation`` (None, Daily, Weekly, Concatenate, Adjacent),
    PNG only: ``dpo_lowerColourLimit``/``dpo_upperColourLimit`` (-1000: auto),
    ``dpo_spectrogramColourPalette`` (0 jet, 1 viridis, 2 gray, 3 hot, 4 cividis, 5 magma),
    ``dpo_spectrogramFrequencyUpperLimit`` (-1: Nyquist). ``dpo_spectrogramSource`` and the
    hydrophone channel/mode options are accepted and ignored. Whole source files are used
    (not clipped to the range). Raises ``ValueError`` naming a bad option.
    """
    return list(iter_hsd_files(device_code, start, end, extension, options, seed=seed, now=now))
