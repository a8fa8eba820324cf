"""Spectrogram files: MAT v5 and PNG bytes, and the archive ``-spect.mat``/``-spect.png``.

MAT (``SpectData`` + ``Meta``): ``SpectData.PSD`` (rows = frequency, columns = time, float64, dB
re 1 µPa² per bin: see :mod:`intake_onc.sandbox.synthetic.spectra`), ``SpectData.time`` (MATLAB
datenums of column centres, a row vector), ``SpectData.frequency`` (a column vector, rows of
PSD) and ``processingComment`` saying all this; ``Meta`` holds it as fields (``deviceCode``,
``sampleRate``, ``dateFrom``, ``dateTo``, ``windowFunction``, ``windowSeconds``, ``overlap``,
``fftLength``, ``binWidth``, ``averagingSeconds``, ``spectralDataDownsample``,
``binWidthCorrected`` (false), ``calibrationDb``, ``units``, ``timeReference``, ``concatenation``).
MAT v5, uncompressed, with a fixed 116-byte header text (deterministic bytes).

The archive files have sizes the listing knows without computing them: every ``-spect.mat`` of a
device has the size of a zero-filled template (:func:`archive_spect_mat_size`); the
``-spect.png`` plots the plot-resolution spectrogram of its file (1200×900, palette PNG, padded
with a ``tEXt`` chunk to :func:`archive_spect_png_size`).
"""

from __future__ import annotations

import io
import struct
import threading
import zlib

import numpy as np
import pandas as pd
import scipy.io

from intake_onc._core.time import datetime64_to_datenum, format_onc_date
from intake_onc.sandbox.synthetic.audio import FULL_SCALE_DB_RE_UPA, file_samples, hydrophone
from intake_onc.sandbox.synthetic.spectra import (
    RESOLUTION_NAMES,
    Spectrogram,
    file_spectrogram,
    spectrogram_shape,
)

__all__ = [
    "PALETTES",
    "PNG_TARGET_BYTES",
    "archive_spect_mat_bytes",
    "archive_spect_mat_size",
    "archive_spect_png_bytes",
    "archive_spect_png_size",
    "mat_bytes",
    "png_bytes",
]

#: Archive ``-spect.png`` files are padded to this size plus a per-file variation below 32 KiB
#: (real rendered sizes measured at 0.38-0.49 MB, very stable: noise texture; a file that would
#: not fit raises when generated, and the tests check the margin).
PNG_TARGET_BYTES = 600_000
_PNG_VARIATION = 32_768
#: ``dpo_spectrogramColourPalette`` values and their matplotlib colour maps.
PALETTES = {0: "jet", 1: "viridis", 2: "gray", 3: "hot", 4: "cividis", 5: "magma"}
_MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: intake-onc sandbox (synthetic)"


# ----------------------------------------------------------------------------------------------
# MAT
# ----------------------------------------------------------------------------------------------


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
        "dateFrom": format_onc_date(spec.date_from),
        "dateTo": format_onc_date(spec.date_to),
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
            fs = hydrophone(device_code).audio.sample_rate
            rows, minutes = spectrogram_shape(fs, file_samples(device_code), 1)
            t = pd.Timestamp("2000-01-01")
            template = Spectrogram(
                device_code,
                fs,
                np.zeros((rows, minutes)),
                np.zeros(rows),
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
        cmap=PALETTES.get(int(palette), "jet"),
        vmin=clim[0],
        vmax=clim[1],
    )
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.set_xlabel(f"Time (UTC) from {format_onc_date(spec.date_from)}")
    ax.set_ylabel("Frequency (kHz)" if khz else "Frequency (Hz)")
    ax.set_title(
        title
        or f"{spec.device_code} {format_onc_date(spec.date_from)} - {format_onc_date(spec.date_to)} "
        f"({RESOLUTION_NAMES[spec.downsample]})"
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
            f"size {target}; raise PNG_TARGET_BYTES in intake_onc/sandbox/encoders/spectrogram.py"
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
    hydrophone(device_code)
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
