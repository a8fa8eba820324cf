"""A QC-coloured time series: values coloured by their ONC flag, and the resampled statistics.

:func:`plot_qc` draws one variable of a scalar Dataset the way a data manager looks at it:

* every sample as a point coloured by its QAQC flag (ONC's meanings in the legend, with the
  number of samples of each: "1 Data Passed All Tests (86,011)");
* with ``resampled=`` (a :func:`~intake_onc.scalar.resample.resample` ``minMaxAvg`` result),
  the mean at the bin centres and the min–max band behind it;
* the y label from the variable's ``long_name`` and ``units``, the x axis in UTC with concise
  dates, and a title naming the device and the range.

Also available as ``ds.onc.plot_qc(...)``. matplotlib is optional
(``pip install intake-onc[plot]``).

Examples
--------
>>> ax = plot_qc(ds, "temperature", resampled=hourly)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from intake_onc._core.flags import FLAGS

__all__ = ["FLAG_COLOURS", "plot_qc"]

#: A colour per ONC flag: good is green, doubtful orange, bad red, missing grey.
FLAG_COLOURS = {
    0: "#7f7f7f",
    1: "#2ca02c",
    2: "#17becf",
    3: "#ff7f0e",
    4: "#d62728",
    6: "#9467bd",
    7: "#1f77b4",
    8: "#bcbd22",
    9: "#000000",
}


def _period_text(seconds: float) -> str:
    """``3600`` -> ``"1 h"``, ``600`` -> ``"10 min"``, ``86400`` -> ``"1 day"``."""
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def _default_variable(ds: xr.Dataset) -> str:
    names = [v for v in ds.data_vars if f"{v}_qc" in ds.data_vars]
    if not names:
        raise ValueError("ds: no variable with a *_qc flag companion to plot")
    return names[0]


def plot_qc(
    ds: xr.Dataset,
    variable: str | None = None,
    *,
    resampled: xr.Dataset | None = None,
    ax: Any = None,
    title: str | None = None,
    max_points: int = 200_000,
) -> Any:
    """Plot ``variable`` coloured by QAQC flag, with the resampled mean and min/max band.

    Parameters
    ----------
    ds
        A scalar Dataset with ``variable`` and ``variable_qc`` along ``time``.
    variable
        Default: the first flagged variable.
    resampled
        ``ds.onc.resample(..., method="minMaxAvg")`` (or ``"average"``: no band).
    ax
        The Axes to draw in (default: a new 11×4 in figure).
    title
        Default: the device, the variable and the date range.
    max_points
        Samples drawn at most (evenly thinned beyond; the legend counts every sample).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from intake_onc._core.plotting import require_matplotlib

    plt = require_matplotlib()
    variable = variable or _default_variable(ds)
    if variable not in ds or f"{variable}_qc" not in ds:
        raise ValueError(
            f"variable={variable!r}: expected a variable with a {variable}_qc flag companion; "
            f"ds has {', '.join(v for v in ds.data_vars if f'{v}_qc' in ds.data_vars) or 'none'}"
        )
    values = np.asarray(ds[variable].values, dtype=np.float64)
    flags = np.asarray(ds[f"{variable}_qc"].values)
    flags = (
        np.where(np.isnan(flags.astype(float)), 9, flags).astype(int)
        if flags.dtype.kind == "f"
        else flags.astype(int)
    )
    times = ds["time"].values
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    step = max(1, len(times) // max_points)
    for flag in sorted(set(np.unique(flags).tolist())):
        hit = flags == flag
        count = int(hit.sum())
        shown = hit & np.isfinite(values)
        idx = np.flatnonzero(shown)[::step]
        label = f"{flag} {FLAGS.get(flag, ('', 'unknown flag'))[1]} ({count:,})"
        ax.scatter(
            times[idx],
            values[idx],
            s=2,
            color=FLAG_COLOURS.get(flag, "#8c564b"),
            label=label,
            rasterized=True,
        )
    if resampled is not None:
        centre = resampled["time"].values
        if f"{variable}_min" in resampled and f"{variable}_max" in resampled:
            ax.fill_between(
                centre,
                resampled[f"{variable}_min"].values,
                resampled[f"{variable}_max"].values,
                color="#1f77b4",
                alpha=0.18,
                step="mid",
                label="min–max of each bin",
            )
        if variable in resampled:
            period = resampled.attrs.get("resample_period")
            what = f"{_period_text(float(period))} mean" if period else "mean"
            ax.plot(centre, resampled[variable].values, color="#08306b", lw=1.4, label=what)
    good = values[np.isin(flags, (1, 2)) & np.isfinite(values)]
    if good.size:  # the axis fits the good data; far outliers are counted, not drawn
        lo, hi = np.percentile(good, [0.1, 99.9])
        pad = max(hi - lo, 1e-9) * 0.25
        ax.set_ylim(lo - pad, hi + pad)
        outside = int(((values < lo - pad) | (values > hi + pad)).sum())
        if outside:
            ax.annotate(
                f"{outside:,} samples outside the axis (flagged bad)",
                (0.99, 0.02),
                xycoords="axes fraction",
                ha="right",
                fontsize=8,
                color="#d62728",
            )
    attrs = ds[variable].attrs
    name = attrs.get("long_name") or variable
    units = attrs.get("units")
    ax.set_ylabel(f"{name} ({units})" if units else str(name))
    ax.set_xlabel("time (UTC)", loc="left")  # clear of the date offset at the right
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if title is None and len(times):
        device = ds.attrs.get("device_code", "")
        t0, t1 = pd.Timestamp(times[0]), pd.Timestamp(times[-1])
        title = (
            f"{device} {name}, {t0:%Y-%m-%d} – {t1:%Y-%m-%d} (UTC), coloured by QAQC flag".strip()
        )
    ax.set_title(title or "")
    ax.legend(  # beside the axes: never over the data
        loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, markerscale=4, title="QAQC flag"
    )
    return ax
