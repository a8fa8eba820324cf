"""The dask task of :func:`~intake_onc.datasets.open_scalar`: download one window, snap it.

:func:`fetch_window` is what every window's task runs, on whichever worker dask picks: it gets
the (pickled) client and a :class:`WindowSpec` -- device, slots, sensors, source; nothing secret
-- downloads the window's samples with a ``T/2`` margin on each side (one ``scalardata`` request
with all its pages, or one TSSD CSV order: raw values, no gap rows, no resampling), and snaps them
to the grid with :func:`intake_onc.datasets._grid.snap`.

A window of more than one page of ``scalardata`` (ONC answers at most 100,000 rows per sensor
per request, then ``next``) is fetched as one request per page-sized part of its time range,
``client.workers`` at a time, instead of following ``next`` one page after the other: the same
number of requests, in parallel (a day of a 4 Hz CTD is 4 pages).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.datasets._grid import NS_PER_S, Records, Window, snap

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = [
    "PAGE_ROWS",
    "PRODUCT_OPTIONS",
    "WindowSource",
    "WindowSpec",
    "fetch_window",
    "window_views",
]

#: ONC's ``scalardata`` page: at most this many rows per sensor per request.
PAGE_ROWS = 100_000

#: TSSD order options of a window: raw values, no gap rows, no resampling.
PRODUCT_OPTIONS = {"dpo_qualityControl": 0, "dpo_dataGaps": 0, "dpo_resample": "none"}


@dataclass(frozen=True)
class WindowSpec:
    """What one window task needs besides the client: no secrets, a readable ``repr``."""

    source: str
    window: Window
    sensors: tuple[tuple[str, str], ...]  # (sensorCode, variable name)

    def __repr__(self) -> str:
        w = self.window
        return (
            f"WindowSpec({self.source} {w.device_code} {_iso(w.first)}..{_iso(w.stop)} "
            f"T={w.period / NS_PER_S:g}s slots={w.count})"
        )


def _iso(ns: int) -> str:
    return format_onc_date(pd.Timestamp(int(ns), unit="ns"))


def _api_records(client: ONCClient, spec: WindowSpec) -> Records:
    items = _sensor_items(client, spec.window)
    if not items:
        return Records.empty()
    parsed: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    last_strings: list | None = None
    last_times = np.empty(0, dtype=np.int64)
    for item in items:
        d = item["data"]
        strings = d.get("sampleTimes") or []
        if strings != last_strings:  # sensors usually share their time strings
            stamps = pd.to_datetime(strings, format="ISO8601", utc=True).tz_localize(None)
            last_strings, last_times = strings, stamps.as_unit("ns").asi8
        values = np.array(d.get("values") or [], dtype=np.float64)
        flags = np.array(d.get("qaqcFlags") or [], dtype=np.float64)
        flags = np.where(np.isnan(flags), 9, flags).astype(np.int8)
        parsed.append((item["sensorCode"], last_times, values, flags))
    times = parsed[0][1]
    if any(p[1] is not times and not np.array_equal(p[1], times) for p in parsed):
        times = np.unique(np.concatenate([p[1] for p in parsed]))
    out = Records(times, {}, {})
    for code, t, values, flags in parsed:
        if t is times:
            out.values[code], out.flags[code] = values, flags
            continue
        pos = np.searchsorted(times, t)
        out.values[code] = np.full(times.size, np.nan)
        out.flags[code] = np.full(times.size, 9, dtype=np.int8)
        out.values[code][pos], out.flags[code][pos] = values, flags
    return out


def _parts(window: Window) -> list[tuple[int, int]]:
    """The window's fetch range cut into page-sized parts on slot boundaries (ns, half-open)."""
    lo, hi = window.fetch_range
    pages = -(-window.count // PAGE_ROWS)
    if pages <= 1:
        return [(lo, hi)]
    step = -(-window.count // pages) * window.period  # slots per part, as ns
    cuts = [window.first + k * step - window.period // 2 for k in range(1, pages)]
    cuts = [c // 1_000_000 * 1_000_000 for c in cuts]  # ONC's dates are whole ms
    edges = [lo, *cuts, hi]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _sensor_items(client: ONCClient, window: Window) -> list[dict]:
    """``sensorData`` items of the window (one per sensor), parts fetched in parallel, merged."""
    parts = _parts(window)

    def fetch(part: tuple[int, int]) -> list[dict]:
        data = client.scalar_data(
            window.device_code, _iso(part[0]), _iso(part[1]), quality_control="raw"
        )
        return [s for s in data.get("sensorData") or [] if isinstance(s.get("data"), dict)]

    if len(parts) == 1:
        return fetch(parts[0])
    workers = max(1, min(len(parts), int(getattr(client, "workers", 1))))
    with ThreadPoolExecutor(workers, thread_name_prefix="onc-scalar-part") as pool:
        answers = list(pool.map(fetch, parts))
    merged: dict[str, dict] = {}
    for items in answers:
        for item in items:
            into = merged.setdefault(
                item["sensorCode"],
                {**item, "data": {"sampleTimes": [], "values": [], "qaqcFlags": []}},
            )
            for field in ("sampleTimes", "values", "qaqcFlags"):
                into["data"][field].extend(item["data"].get(field) or [])
    return list(merged.values())


def _product_records(client: ONCClient, spec: WindowSpec) -> Records:
    from intake_onc.client.errors import NoDataError
    from intake_onc.scalar.tssd import read_tssd

    lo, hi = spec.window.fetch_range
    order = client.order(
        "TSSD",
        "csv",
        device_code=spec.window.device_code,
        start=_iso(lo),
        end=_iso(hi),
        **PRODUCT_OPTIONS,
    )
    try:
        paths = order.run()
    except NoDataError:  # HTTP 204: a window inside a data gap
        return Records.empty()
    files = [p for p in paths if str(p).lower().endswith(".csv")]
    if not files:
        return Records.empty()
    ds = read_tssd(files)
    out = Records(ds["time"].values.astype("datetime64[ns]").view(np.int64), {}, {})
    for name, var in ds.data_vars.items():
        code = var.attrs.get("onc_sensor_code", name)
        if f"{name}_qc" in ds.data_vars:
            out.values[code] = np.asarray(var.values, dtype=np.float64)
            out.flags[code] = np.asarray(ds[f"{name}_qc"].values).astype(np.int8)
    return out


def _records(client: ONCClient, spec: WindowSpec) -> Records:
    return _api_records(client, spec) if spec.source == "api" else _product_records(client, spec)


def fetch_window(
    client: ONCClient,
    spec: WindowSpec,
    before: tuple[WindowSpec, ...] = (),
    after: tuple[WindowSpec, ...] = (),
) -> dict[str, np.ndarray]:
    """Download one window (API or TSSD product) and snap it to its grid (the dask task).

    ``before`` and ``after`` are the neighbouring windows of the same dataset, nearest first:
    in a sequential compute the next ones download ahead, ``client.workers`` at a time
    (:mod:`intake_onc.datasets._readahead`).

    Examples
    --------
    >>> out = fetch_window(client, spec)  # doctest: +SKIP
    >>> sorted(out)  # doctest: +SKIP
    ['temperature', 'temperature_qc', 'time_offset']
    """
    from intake_onc.datasets._readahead import read_ahead_of

    workers = int(getattr(client, "workers", 1))
    ahead = read_ahead_of(client, workers)
    records = ahead.get(spec, lambda s: _records(client, s), before=before, after=after)
    return snap(records, spec.window, spec.sensors)


class WindowSource:
    """The windows of one ``open_scalar`` Dataset as an array-like for :func:`dask.array.from_array`.

    ``source[slots]`` downloads and snaps the window holding those slots
    (:func:`fetch_window`) and returns its dict of variables (cut to the slots asked for, when
    dask asks for part of a window). As a ``from_array`` source it is one data node of the graph
    (sent once to each worker, not inside every task), each task carries only its slice, and
    the blockwise steps after it fuse with it: one task per window, however many variables and
    steps follow.
    """

    ndim = 1
    dtype = np.dtype(object)

    def __init__(self, client: ONCClient, specs: list[WindowSpec]) -> None:
        self.client = client
        self.specs = tuple(specs)
        self.starts = np.cumsum([0, *(s.window.count for s in self.specs)]).astype(np.int64)
        self.shape = (int(self.starts[-1]),)

    @property
    def chunks(self) -> tuple[tuple[int, ...]]:
        """One chunk per window."""
        return (tuple(int(n) for n in np.diff(self.starts)),)

    def __getitem__(self, key: object) -> dict[str, np.ndarray]:
        (slots,) = key if isinstance(key, tuple) else (key,)
        lo, hi, step = slots.indices(self.shape[0]) if isinstance(slots, slice) else (0, 0, 0)
        i = int(np.searchsorted(self.starts, lo, side="right")) - 1
        if step != 1 or not (0 <= i < len(self.specs)) or hi > self.starts[i + 1]:
            raise IndexError(f"{self!r}: expected the slots of one window, got {key!r}")
        ahead = max(0, int(getattr(self.client, "workers", 1)) - 1)
        out = fetch_window(
            self.client,
            self.specs[i],
            before=self.specs[max(0, i - ahead) : i][::-1],
            after=self.specs[i + 1 : i + 1 + ahead],
        )
        first, count = int(self.starts[i]), int(self.starts[i + 1] - self.starts[i])
        if lo == first and hi == first + count:
            return out
        return {k: v[lo - first : hi - first] for k, v in out.items()}

    def __repr__(self) -> str:
        shown = [repr(self.specs[0])] + ([repr(self.specs[-1])] if len(self.specs) > 1 else [])
        return f"WindowSource({len(self.specs)} windows: {' ... '.join(shown)})"


def _getitem(result: dict[str, np.ndarray], key: str) -> np.ndarray:
    return result[key]


def window_views(source: Any, name: str, dtypes: dict, *, token: str) -> dict:
    """One dask array per variable over an array-like ``source`` of windows.

    ``source`` has ``shape``, ``chunks`` (one chunk per window) and ``source[slots]`` returning
    that window's dict ``{variable: array}`` (:class:`WindowSource`). The windows become one
    object array (:func:`dask.array.from_array`, the source a single data node), and each
    variable is a blockwise view of it, so the steps after it (``clean``, the resample kernel)
    fuse with the window's download and views into **one task per window** (``open_scalar``
    uses it; so does ``benchmarks/bench_distributed.py``, to time that graph).

    Examples
    --------
    >>> import numpy as np
    >>> class Days:
    ...     shape, ndim, dtype, chunks = (6,), 1, np.dtype(object), ((2, 2, 2),)
    ...     def __getitem__(self, key):
    ...         (s,) = key
    ...         return {"a": np.full(s.stop - s.start, s.start // 2, float)}
    >>> views = window_views(Days(), "days-window-t", {"a": np.dtype(float)}, token="t")
    >>> views["a"].compute().tolist()
    [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    """
    import dask.array as da

    blocks = da.from_array(
        source,
        chunks=source.chunks,
        name=name,
        asarray=False,
        inline_array=False,
        fancy=False,
        lock=False,
        meta=np.empty(0, dtype=object),
    )
    prefix = name.split("-window-")[0]
    return {
        var: da.map_blocks(
            _getitem,
            blocks,
            var,
            dtype=dtype,
            meta=np.empty(0, dtype),
            name=f"{prefix}-{var}-{token}",
        )
        for var, dtype in dtypes.items()
    }
