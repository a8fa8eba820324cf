"""``TSSP``: Time Series Scalar Plots (PNG and PDF), drawn with matplotlib.

Laid out the way ONC lays them out: one panel per sensor stacked over a shared time axis
(value against time, units on the y label), a title naming the location, the device and the
date range, and ONC's footer (the data source and the creation date) at the bottom. The data
are the same series as the TSSD files of the same request (:func:`scalar_series`), so a plot
and a CSV of one order agree; files are named like TSSD's (``...-clean.png``).

Matplotlib is optional (the ``[plot]`` extra): without it :func:`build_tssp_files` raises
:class:`PlotUnavailableError`, which the delivery service turns into an error for TSSP only
(at ``dataProductDelivery/request``, before anything is queued).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products.tssd_files import request_rows
from intake_onc.sandbox.products.tssd_options import (
    deployment_at,
    tssd_filename,
)
from intake_onc.sandbox.synthetic.scalar import sensor_items

__all__ = [
    "EXTENSIONS",
    "PlotUnavailableError",
    "build_tssp_files",
    "check_plotting",
    "plot_bytes",
]

#: The file formats of TSSP.
EXTENSIONS = ("png", "pdf")
_FOOTER = "Data source: Ocean Networks Canada (synthetic, intake-onc sandbox)"


class PlotUnavailableError(ValueError):
    """TSSP needs matplotlib (``pip install intake-onc[plot]``); a ValueError so that the
    delivery service refuses the request (400, naming ``dataProductCode``)."""


def check_plotting() -> None:
    """Raise :class:`PlotUnavailableError` when matplotlib cannot be imported."""
    _pyplot()


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised with matplotlib hidden
        raise PlotUnavailableError(
            "dataProductCode TSSP: the sandbox draws plots with matplotlib, which is not "
            "installed; install it with `pip install intake-onc[plot]`"
        ) from exc
    return Figure


def plot_bytes(
    title: str,
    panels: list[tuple[str, np.ndarray, np.ndarray]],
    extension: str,
    footer: str,
) -> bytes:
    """One figure: a panel per ``(y label, times, values)``, ``title`` on top, ``footer`` below.

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(1, "h"), dtype="datetime64[ns]")
    >>> png = plot_bytes("A title", [("Temperature (C)", t, np.arange(24.0))], "png", "footer")
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    if extension not in EXTENSIONS:
        raise ValueError(f"extension: TSSP plots are png or pdf, got {extension!r}")
    figure_class = _pyplot()
    n = max(len(panels), 1)
    fig = figure_class(figsize=(11, 2.2 * n + 1.4), dpi=100)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, times, values) in zip(axes, panels, strict=False):
        ax.plot(pd.to_datetime(times), values, linewidth=0.8, color="#1f4e9c")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, linewidth=0.3)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("Time (UTC)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.01, footer, fontsize=7, ha="left", va="bottom")
    fig.autofmt_xdate()
    out = io.BytesIO()
    metadata = {"CreationDate": None} if extension == "pdf" else {"Software": None}
    fig.savefig(out, format=extension, metadata=metadata)
    return out.getvalue()


def build_tssp_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    *,
    seed: int = 0,
    now: object = None,
) -> list[tuple[str, bytes]]:
    """The plot of a TSSP request: ``[(file name, bytes)]`` (``[]`` when there are no rows)."""
    if extension not in EXTENSIONS:
        raise ValueError(f"extension: TSSP plots are png or pdf, got {extension!r}")
    start_ts, end_ts, opts, created, rows = request_rows(
        device_code, start, end, "csv", options, seed=seed, now=now
    )
    if len(rows) == 0:
        return []
    device = OBSERVATORY.device(device_code)
    deployment = deployment_at(device_code, pd.Timestamp(rows.times[0]))
    location = OBSERVATORY.location(deployment.location_code)
    panels = []
    for item in sensor_items(device_code):
        code = item["sensorCode"]
        values = rows.values[code] if hasattr(rows, "values") else rows.variables[code]
        panels.append((f"{item['sensorName']} ({item['unitOfMeasure']})", rows.times, values))
    title = (
        f"{location.name} ({location.code}) - {device.name} ({device.code})\n"
        f"{format_onc_date(start_ts)} to {format_onc_date(end_ts)}"
    )
    footer = f"{_FOOTER}. Created {format_onc_date(created)}."
    name = tssd_filename(device_code, rows.times[0], rows.times[-1], extension, opts)
    return [(name, plot_bytes(title, panels, extension, footer))]
