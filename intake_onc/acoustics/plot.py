"""Spectrogram figures that explain themselves: reference level, units, robust colour scale.

:func:`plot_spectrogram` draws a ``(time, frequency)`` spectrogram (ONC's HSD, or one computed
with :func:`intake_onc.spectrogram`) with

* a colour scale from robust percentiles (1st to 99.5th by default), so a loud tone or a ship
  does not wash out the rest, nor a few empty bins stretch it down to -180 dB;
* a colorbar naming its reference: ``dB re 1 µPa²/Hz`` for calibrated data, ``dB re full
  scale²/Hz`` for uncalibrated audio (read from the DataArray's ``long_name``);
* a title with the device and the time range, a UTC time axis and frequency in Hz or kHz;
* long spectrograms pooled (mean of linear power) to at most ``max_cells`` before drawing, so a
  day of one-second frames draws in a second, not a minute.

Also available as ``spec.onc.plot()``. matplotlib is optional (``pip install intake-onc[plot]``).

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> spec = xr.DataArray(
...     np.random.default_rng(0).normal(-60, 5, (120, 50)),
...     dims=("time", "frequency"),
...     coords={"time": pd.date_range("2024-04-01", periods=120, freq="1s"),
...             "frequency": np.linspace(0, 4000, 50)},
...     attrs={"units": "dB", "long_name": "power spectral density (dB re 1 FS²/Hz)"})
>>> ax = plot_spectrogram(spec)  # doctest: +SKIP
>>> ax.figure.axes[-1].get_ylabel()  # doctest: +SKIP
'dB re full scale²/Hz'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from intake_onc._core.plotting import require_matplotlib

__all__ = ["colorbar_label", "plot_spectrogram", "pooled", "require_matplotlib"]


def colorbar_label(spec: xr.DataArray) -> str:
    """The colorbar's label: the level's reference, from the DataArray's attributes.

    Examples
    --------
    >>> colorbar_label(xr.DataArray(0.0, attrs={"long_name": "PSD (dB re 1 µPa²/Hz)"}))
    'dB re 1 µPa²/Hz'
    >>> colorbar_label(xr.DataArray(0.0, attrs={"long_name": "PSD (dB re 1 FS²/Hz)"}))
    'dB re full scale²/Hz'
    """
    text = f"{spec.attrs.get('long_name', '')} {spec.attrs.get('units', '')}"
    per_bin = "per 1 Hz bin" in text or "per bin" in text
    unit = "²/bin" if per_bin and "1 Hz" not in text else "²/Hz"
    if "µPa" in text or "uPa" in text:
        return f"dB re 1 µPa{unit}"
    if "FS" in text or "full scale" in text:
        return f"dB re full scale{unit}"
    return str(spec.attrs.get("units") or "dB")


def pooled(spec: xr.DataArray, max_cells: tuple[int, int] = (1600, 800)) -> xr.DataArray:
    """``spec`` with time and frequency pooled (mean of linear power) to at most ``max_cells``."""
    nt, nf = spec.sizes["time"], spec.sizes["frequency"]
    kt = max(1, -(-nt // max_cells[0]))
    kf = max(1, -(-nf // max_cells[1]))
    if kt == 1 and kf == 1:
        return spec
    linear = 10 ** (spec / 10)
    coarse = linear.coarsen(time=kt, frequency=kf, boundary="trim").mean()
    out = 10 * np.log10(coarse)
    out.attrs = dict(spec.attrs)
    return out


def _title(spec: xr.DataArray) -> str:
    device = spec.attrs.get("device_code") or spec.attrs.get("meta_deviceCode") or ""
    times = spec["time"].values
    if len(times):
        t0, t1 = pd.Timestamp(times[0]), pd.Timestamp(times[-1])
        span = (
            f"{t0:%Y-%m-%d %H:%M:%S} – {t1:%H:%M:%S} UTC"
            if t0.date() == t1.date()
            else (f"{t0:%Y-%m-%d %H:%M} – {t1:%Y-%m-%d %H:%M} UTC")
        )
    else:
        span = "no data"
    return f"{device} spectrogram, {span}".strip()


def plot_spectrogram(
    spec: xr.DataArray,
    ax: Any = None,
    *,
    percentiles: tuple[float, float] = (1.0, 99.5),
    title: str | None = None,
    max_cells: tuple[int, int] = (1600, 800),
    cmap: str = "viridis",
    khz: bool | None = None,
) -> Any:
    """Draw a ``(time, frequency)`` spectrogram in dB; returns the matplotlib Axes.

    Parameters
    ----------
    spec
        dB values with dims ``("time", "frequency")`` (datetime64 times, Hz).
    ax
        The Axes to draw in (default: a new 10×4 in figure).
    percentiles
        The colour scale's lower and upper percentiles of the finite values.
    title
        Default: the device and the time range.
    max_cells
        At most this many (time, frequency) cells are drawn; longer spectrograms are pooled.
    cmap
        A matplotlib colour map.
    khz
        Frequency axis in kHz (default: when the top frequency is above 2 kHz).
    """
    plt = require_matplotlib()
    if not isinstance(spec, xr.DataArray) or set(spec.dims) != {"time", "frequency"}:
        raise ValueError(
            "spec: expected a DataArray with dims ('time', 'frequency'), such as "
            "intake_onc.spectrogram(...) or open_spectrogram(...)"
        )
    lo, hi = percentiles
    if not 0 <= lo < hi <= 100:
        raise ValueError(
            f"percentiles={percentiles!r}: expected (low, high) with 0 <= low < high <= 100"
        )
    shown = pooled(spec.transpose("time", "frequency").load(), max_cells)
    values = np.asarray(shown.values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size:
        vmin, vmax = np.percentile(finite, [lo, hi])
    else:
        vmin, vmax = 0.0, 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4), constrained_layout=True)
    freq = np.asarray(shown["frequency"].values, dtype=np.float64)
    top = float(np.nanmax(freq)) if freq.size else 0.0
    scale_khz = top > 2000 if khz is None else khz
    f = freq / 1000 if scale_khz else freq
    mesh = ax.pcolormesh(
        shown["time"].values, f, values.T, shading="nearest", cmap=cmap, vmin=vmin, vmax=vmax
    )
    bar = ax.figure.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label(colorbar_label(spec))
    ax.set_ylabel("frequency (kHz)" if scale_khz else "frequency (Hz)")
    ax.set_xlabel("time (UTC)", loc="left")  # clear of the date offset at the right
    ax.set_title(title if title is not None else _title(spec))
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax
