"""Event datasets: many windows as one lazy xarray object with an ``event`` dimension.

:func:`open_events` opens each window with the matching ``open_*`` function (metadata requests
only, ``client.workers`` windows at a time), then gives each window **one dask task** that computes it and pads it with NaN to the
longest window. The result is ready for machine learning: ``(event, sample)`` for audio,
``(event, time, frequency)`` for spectrograms, ``(event, time)`` for scalar data, with the
coordinates ``label``, ``device_code``, ``start`` (the window's first time) and ``length`` (its
own number of samples or rows) along ``event``; spectrograms and scalar data also have ``offset``
(time from the window's start) along their time axis, and audio sample ``k`` is ``k /
sample_rate`` seconds into its window.

Examples
--------
>>> events = open_events("events.json", product="audio")  # doctest: +SKIP
>>> events.sizes, events.label.values[:2]  # doctest: +SKIP
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from .requests import RequestList, parse_requests
from .window import Window

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = ["open_events"]

_PRODUCTS = ("audio", "spectrogram", "scalar")


def _open_one(w: Window, product: str, client: ONCClient, options: dict) -> xr.DataArray:
    from intake_onc.datasets import open_audio, open_scalar, open_spectrogram

    if product == "audio":
        return open_audio(w.device_code, w.start, w.end, client=client, **options)
    if product == "spectrogram":
        return open_spectrogram(w.device_code, w.start, w.end, client=client, **options)
    variable = options.pop("variable", None)
    ds = open_scalar(w.device_code, start=w.start, end=w.end, client=client, **options)
    names = [v for v in ds.data_vars if f"{v}_qc" in ds.data_vars]
    if variable is None:
        if len(names) != 1:
            raise ValueError(
                f"variable: {w.device_code} has {len(names)} sensors ({', '.join(names)}); "
                "pass variable= to choose the one to stack"
            )
        variable = names[0]
    if variable not in ds:
        raise ValueError(f"variable={variable!r}: {w.device_code} has {', '.join(names)}")
    return ds[variable]


class _Window:
    """A lazily opened window carried *inside* one task (dask would otherwise merge its graph
    into the event graph, one task per file instead of one per window)."""

    def __init__(self, array: xr.DataArray) -> None:
        self.array = array


def _padded(window: _Window, length: int) -> np.ndarray:
    """The window's values, NaN-padded along its first axis to ``length`` (the dask task)."""
    values = np.asarray(window.array.compute(scheduler="sync").values, dtype=np.float32)
    if values.shape[0] < length:
        pad = [(0, length - values.shape[0])] + [(0, 0)] * (values.ndim - 1)
        values = np.pad(values, pad, constant_values=np.nan)
    return values


def open_events(
    requests: Any,
    product: str = "audio",
    *,
    default_device: str | None = None,
    client: ONCClient | None = None,
    **open_options: Any,
) -> xr.DataArray:
    """Open many windows as one lazy DataArray with an ``event`` dimension.

    Parameters
    ----------
    requests
        Anything :func:`~.requests.parse_requests` reads (a file, times, windows...).
    product
        ``"audio"`` (``open_audio``), ``"spectrogram"`` (ONC's HSD, ``open_spectrogram``) or
        ``"scalar"`` (one sensor of ``open_scalar``: pass ``variable=`` for multi-sensor devices).
    default_device
        The ``deviceCode`` of requests that name none.
    client
        An :class:`~intake_onc.client.ONCClient` (default: one from the environment).
    **open_options
        Passed to the ``open_*`` function of every window.

    Returns
    -------
    xarray.DataArray
        float32, NaN-padded to the longest window; one dask task per window.
    """
    if product not in _PRODUCTS:
        raise ValueError(f"product={product!r}: expected one of {', '.join(_PRODUCTS)}")
    import dask
    import dask.array as da

    if client is None:
        from intake_onc.client import ONCClient

        client = ONCClient()
    windows = requests if isinstance(requests, RequestList) else None
    if windows is None:
        windows = parse_requests(requests, default_device=default_device)
    if not len(windows):
        raise ValueError("requests: no window to open; give at least one timestamp or window")
    # Opening a window asks ONC for its listing or metadata: the windows open client.workers at
    # a time (a thousand events are a thousand round trips), in request order.
    workers = max(1, min(len(windows), int(getattr(client, "workers", 4))))
    with ThreadPoolExecutor(workers, thread_name_prefix="onc-open-events") as pool:
        opened = list(
            pool.map(lambda w: _open_one(w, product, client, dict(open_options)), windows)
        )
    rates = {a.attrs.get("sample_rate") for a in opened} if product == "audio" else set()
    if len(rates) > 1:
        raise ValueError(
            f"requests: the windows have different sample rates ({sorted(rates)} Hz); open "
            "each rate as its own event set"
        )
    lengths = [a.shape[0] for a in opened]
    longest = max(lengths)
    rest = opened[0].shape[1:]
    if any(a.shape[1:] != rest for a in opened):
        raise ValueError("requests: the windows have different frequency axes; open them apart")
    blocks = []
    for w, a in zip(windows, opened, strict=True):
        key = f"onc-event-{dask.base.tokenize(str(w), w.label, product, a.shape, longest)}"
        task = dask.delayed(_padded, pure=True)(_Window(a), longest, dask_key_name=key)
        blocks.append(da.from_delayed(task, shape=(longest, *rest), dtype=np.float32))
    stacked = da.stack(blocks) if blocks else da.empty((0, longest, *rest), dtype=np.float32)
    time_dim = "sample" if product == "audio" else "time"
    dims = ("event", time_dim, *opened[0].dims[1:])
    first = opened[np.argmax(lengths)]
    coords: dict[str, Any] = {
        "label": ("event", [w.label for w in windows]),
        "device_code": ("event", [w.device_code for w in windows]),
        "start": ("event", pd.DatetimeIndex([a["time"].values[0] for a in opened]).to_numpy()),
        "length": ("event", np.asarray(lengths, dtype=np.int64)),
    }
    if product != "audio":  # audio: sample k is k / sample_rate seconds into its window
        t = first["time"].values
        coords["offset"] = (time_dim, (t - t[0]).astype("timedelta64[ns]"))
    for dim in opened[0].dims[1:]:
        coords[dim] = first[dim]
    attrs = {k: v for k, v in opened[0].attrs.items() if isinstance(v, (str, int, float))}
    drop = ("start_time", "end_time", "files_listed", "source_files", "device_code")
    drop += ("coverage_seconds", "sample_rate_from", "location_code")
    for key in drop:
        attrs.pop(key, None)
    # every window's data citation, once each (windows may come from several deployments)
    for key, sep in (("citation", "\n"), ("doi", ", "), ("references", ", ")):
        parts = [p for a in opened for p in str(a.attrs.get(key) or "").split(sep) if p]
        attrs.pop(key, None)
        if parts:
            attrs[key] = sep.join(dict.fromkeys(parts))
    attrs["product"] = product
    attrs["comment"] = (
        "one window per event, NaN-padded to the longest; 'length' is each window's own size, "
        "'offset' the time from the window's start"
    )
    return xr.DataArray(stacked, dims=dims, coords=coords, attrs=attrs, name=f"{product}_events")
