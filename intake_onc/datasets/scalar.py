"""``open_scalar``: ONC scalar data (CTD, oxygen...) as a lazy, dask-backed ``xr.Dataset``.

How it works
------------
Opening makes a handful of metadata calls (``deployments``, ``devices`` for the data-rating
sample periods, ``scalardata`` with ``returnOptions=excludeScalarData`` for the sensor list) and
nothing else. The time axis is the device's **nominal sampling grid**: the multiples ``k·T`` of
the sample period ``T`` (counted from 1970-01-01T00:00Z) inside every piece of deployed time in
``[start, end)``, one ``T`` per data rating (a rating change inside the range gives
``sample_period_starts``/``sample_period_values`` attrs). Rows exist **only over deployed time**;
the recovery between two deployments has no rows.

The axis is cut into windows at multiples of ``chunk`` (UTC midnight for ``"1D"``) and at
deployment and rating boundaries. Each window is one dask task that downloads its samples (one
``scalardata`` request with every page, or one ``TSSD`` product order) *when the Dataset is
computed*, and **snaps** them to the grid: the window's phase ``φ`` is the circular median of
``t mod T`` in ``[0, T)``; a sample goes to slot ``round((t − φ)/T)``; ``time_offset`` keeps
``actual − nominal`` (float32 seconds). Empty slots hold NaN values, flag 9 and a NaN offset.
Two samples in one slot (irregular sampling) keep the one nearer the slot; the others are
dropped (not counted). Rows where no sensor has a value are not samples (ONC's products drop
them too). Every variable of a window comes from the same task, so one compute downloads each
window once. Tasks carry the client (it pickles; its token never shows in a ``repr``) and
token-free keys, so a ``dask.distributed`` cluster runs them.

All sensors of a device share its data rating (ONC rates devices, not sensors), so one time axis
serves them all; with ``location_code`` + ``device_category`` the devices deployed there in turn
each fill their own deployments' windows (a later deployment takes over where two overlap).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from intake_onc._core.citation import Citation, citation_attrs
from intake_onc._core.time import format_onc_date, parse_date, resolve_date_range
from intake_onc._core.time_index import time_grid_coords
from intake_onc.datasets._grid import (
    Window,
    build_segments,
    build_windows,
    parse_chunk,
    rating_attrs,
)
from intake_onc.datasets._tasks import WindowSource, WindowSpec, window_views

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = ["open_scalar"]

SOURCES = ("api", "product")
QUALITIES = ("clean", "raw")
GAPS = ("fill", "remove", "none")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_TIME_AXIS_NOMINAL = (
    "time is the nominal sampling grid k*T (T = sample_period, counted from 1970-01-01T00:00Z) "
    "over deployed time only; the actual sample time is time + time_offset; empty slots are "
    "NaN with flag 9 and NaN time_offset"
)
_TIME_AXIS_SAMPLE = "time is the actual sample time (whole ms, as ONC sends it)"


# --------------------------------------------------------------------------- metadata


def _choice(value: object, allowed: tuple[str, ...], argument: str, hint: str) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{argument}: expected one of {allowed}, got {value!r}; {hint}")
    return value.lower()


def _var_name(code: str) -> str:
    """The variable of a sensorCode: itself, or its snake_case (as :func:`read_tssd` does)."""
    name = code
    if not _IDENTIFIER.match(code):
        from intake_onc.scalar._tssd_facts import snake_case

        name = snake_case(code)
    return f"{name}_value" if name in ("time", "time_offset") else name


def _deployments(
    client: ONCClient,
    device_code: str | None,
    location_code: str | None,
    device_category: str | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """The deployments overlapping ``[start, end)``; NotDeployedError listing all when none."""
    from intake_onc.client import DeploymentRange, InvalidParameterError, NotDeployedError

    if device_code:
        filters, who = {"device_code": device_code}, device_code
        hint = f"device_code: {device_code!r} is not a device ONC knows"
    else:
        filters = {"location_code": location_code, "device_category": device_category}
        who = f"{device_category} at {location_code}"
        hint = (
            f"location_code={location_code!r} with device_category={device_category!r} is not "
            "a known location and device category"
        )
    try:
        frame = client.deployments(**filters)
    except InvalidParameterError as exc:
        raise InvalidParameterError(
            f"{hint}; find valid codes with client.devices(...) or client.locations(...) "
            f"({exc.message})",
            status_code=exc.status_code,
            error_code=exc.error_code,
            parameter=exc.parameter,
            url=exc.url,
        ) from exc
    ranges = [
        DeploymentRange(r.begin, None if pd.isna(r.end) else r.end, r.locationCode)
        for r in frame.itertuples(index=False)
    ]
    if not frame.empty:
        ends = frame["end"].fillna(pd.Timestamp.max)
        frame = frame[(frame["begin"] < end) & (ends > start)].reset_index(drop=True)
    if frame.empty:
        raise NotDeployedError(
            f"{who} was not deployed between {format_onc_date(start)} and "
            f"{format_onc_date(end)}; choose start/end inside one of its deployments",
            deployments=ranges,
            device_code=who,
        )
    return frame


def _ratings(client: ONCClient, device_code: str) -> list[tuple[int, float]]:
    frame = client.devices(device_code=device_code)
    rating = frame["dataRating"].iloc[0] if "dataRating" in frame and len(frame) else None
    out = [
        (
            parse_date(r["dateFrom"]).value if r.get("dateFrom") else pd.Timestamp.min.value,
            float(r["samplePeriod"]),
        )
        for r in rating or []
        if r.get("samplePeriod")
    ]
    if not out:
        raise ValueError(
            f"device_code: {device_code} has no data rating (sample period) on record, which "
            "open_scalar needs for its time grid; read its TSSD files with read_tssd instead"
        )
    return out


def _sensor_list(client: ONCClient, device_code: str, start: pd.Timestamp, end: pd.Timestamp):
    data = client.scalar_data(device_code, start, end, returnOptions="excludeScalarData")
    return [s for s in data.get("sensorData") or [] if s.get("sensorCode")]


def _select(sensor_meta: list[dict], sensors: object, who: str) -> list[dict]:
    if sensors is None:
        return sensor_meta
    wanted = [sensors] if isinstance(sensors, str) else list(sensors)  # type: ignore[arg-type]
    known = {s["sensorCode"]: s for s in sensor_meta}
    known.update({_var_name(s["sensorCode"]): s for s in sensor_meta})
    bad = [w for w in wanted if w not in known]
    if bad or not wanted:
        valid = ", ".join(s["sensorCode"] for s in sensor_meta)
        raise ValueError(
            f"sensors: {bad or wanted!r} are not sensorCodes of {who}; expected some of: {valid}"
        )
    chosen = {known[w]["sensorCode"] for w in wanted}
    return [s for s in sensor_meta if s["sensorCode"] in chosen]


# --------------------------------------------------------------------------- the Dataset


def _attrs(deployments: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> dict:
    def when(t: Any) -> str:
        return "ongoing" if pd.isna(t) else format_onc_date(t)

    lines = [
        f"{r.deviceCode} {r.locationCode} {when(r.begin)} {when(r.end)}"
        for r in deployments.itertuples(index=False)
    ]
    first = deployments.iloc[0]
    attrs: dict[str, object] = {
        "Conventions": "CF-1.8",
        "featureType": "timeSeries",
        "device_code": ", ".join(dict.fromkeys(deployments["deviceCode"])),
        "device_category_code": ", ".join(
            dict.fromkeys(deployments.get("deviceCategoryCode", pd.Series(dtype=str)).dropna())
        ),
        "location_code": ", ".join(dict.fromkeys(deployments["locationCode"])),
        "date_from": format_onc_date(start),
        "date_to": format_onc_date(end),
    }
    for key, col in (("latitude", "lat"), ("longitude", "lon"), ("depth", "depth")):
        if col in deployments and pd.notna(first[col]):
            attrs[key] = float(first[col])
    attrs.update(
        citation_attrs(
            Citation.from_onc(c) for c in deployments.get("citation", pd.Series(dtype=object))
        )
    )
    for key, col in (("lat", "lat"), ("lon", "lon"), ("vertical", "depth")):
        if col in deployments and deployments[col].notna().any():
            attrs[f"geospatial_{key}_min"] = float(deployments[col].min())
            attrs[f"geospatial_{key}_max"] = float(deployments[col].max())
    attrs["deployments"] = "\n".join(lines)
    positions = deployments.reindex(columns=["lat", "lon", "depth"]).drop_duplicates()
    if len(positions) > 1:
        attrs["deployment_positions"] = "\n".join(
            f"{r.deviceCode} {r.locationCode} {r.lat} {r.lon} {r.depth}"
            for r in deployments.itertuples(index=False)
        )
    return attrs


def _lazy_dataset(
    client: ONCClient, source: str, windows: Sequence[Window], meta: list[dict], attrs: dict
) -> xr.Dataset:
    from dask.base import tokenize

    from intake_onc._core.cf import cf_attrs
    from intake_onc._core.flags import flag_attrs

    pairs = tuple((s["sensorCode"], _var_name(s["sensorCode"])) for s in meta)
    specs = [WindowSpec(source, w, pairs) for w in windows]
    # Token-free key: the server, the windows and the sensors (never the client itself).
    token = tokenize("open_scalar", getattr(client, "base_url", None), specs)
    wname = f"onc-scalar-{source}-window-{token}"
    names = [var for _, var in pairs]
    dtypes = {
        **{var: np.dtype(np.float64) for var in names},
        **{f"{var}_qc": np.dtype(np.int8) for var in names},
        "time_offset": np.dtype(np.float32),
    }
    # One data node holds the windows (and the client); each task gets its window's slots, and
    # a sequential compute downloads the next windows ahead, client.workers at a time.
    views = window_views(WindowSource(client, specs), wname, dtypes, token=token)
    data_vars: dict[str, xr.Variable] = {}
    for s, (code, var) in zip(meta, pairs, strict=True):
        value_attrs = {
            "long_name": s.get("sensorName") or var,
            **cf_attrs(s.get("propertyCode"), s.get("unitOfMeasure")),
            "onc_sensor_code": code,
            "onc_property_code": s.get("propertyCode") or "",
            "ancillary_variables": f"{var}_qc",
        }
        data_vars[var] = xr.Variable("time", views[var], value_attrs)
        data_vars[f"{var}_qc"] = xr.Variable("time", views[f"{var}_qc"], flag_attrs(var))
    data_vars["time_offset"] = xr.Variable(
        "time",
        views["time_offset"],
        {"long_name": "actual sample time minus nominal time", "units": "s"},
    )
    time_attrs = {"standard_name": "time", "long_name": "nominal time (UTC)"}
    coords: dict[str, Any] = {}
    grid = _regular_grid(windows)
    time_coords = None
    if grid is not None:  # one regular piece: an O(1) index, no per-slot time array
        time_coords = time_grid_coords(*grid, dim="time", attrs=time_attrs)
    else:  # several pieces (rating change, deployment gap): an explicit pandas index
        coords["time"] = ("time", np.concatenate([w.times() for w in windows]), time_attrs)
    units = {"latitude": "degrees_north", "longitude": "degrees_east", "depth": "m"}
    for key, unit in units.items():
        if key in attrs and key not in data_vars:  # a "depth" sensor wins over the coordinate
            coords[key] = ((), attrs[key], {"standard_name": key, "units": unit})
    from intake_onc.scalar.cf import add_cf_metadata

    where = f"{attrs['date_from']} to {attrs['date_to']}"
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    if time_coords is not None:
        ds = ds.assign_coords(time_coords)
    return add_cf_metadata(
        ds, history=f"intake-onc open_scalar: ONC data of {attrs['device_code']}, {where}"
    )


def _regular_grid(windows: Sequence[Window]) -> tuple[int, int, int] | None:
    """``(first, period, count)`` when the windows tile one regular grid, else ``None``."""
    first, period = windows[0].first, windows[0].period
    at = first
    for w in windows:
        if w.period != period or w.first != at:
            return None
        at = w.stop
    return first, period, (at - first) // period


def _materialise(ds: xr.Dataset, gaps: str, windows: Sequence[Window]) -> xr.Dataset:
    """Load, drop rows (``none``: no sample; ``remove``: every value NaN), use exact times."""
    from intake_onc.scalar.flags import flagged_variables
    from intake_onc.scalar.time_axis import exact_times_ns

    loaded = ds.compute()
    offset = loaded["time_offset"].values.astype(np.float64)
    if gaps == "none":
        keep = ~np.isnan(offset)
    else:
        keep = np.zeros(loaded.sizes["time"], dtype=bool)
        for name in flagged_variables(loaded):
            keep |= ~np.isnan(loaded[name].values)
    exact = exact_times_ns(loaded["time"].values.view(np.int64)[keep], offset[keep])
    out = loaded.isel(time=keep).drop_vars("time_offset")
    out = out.assign_coords(time=("time", exact.view("M8[ns]"), dict(ds["time"].attrs)))
    out["time"].attrs["long_name"] = "sample time (UTC)"
    out["time"].encoding.update(ds["time"].encoding)
    if out.sizes["time"] > 1 and not np.all(np.diff(exact) > 0):
        out = out.sortby("time")
        out = out.isel(time=np.unique(out["time"].values, return_index=True)[1])
    n = out.sizes["time"]
    if n:  # dask again, about one chunk per window
        cuts = np.searchsorted(out["time"].values, [w.times()[0] for w in windows[1:]])
        sizes = np.diff([0, *cuts.tolist(), n])
        out = out.chunk({"time": tuple(int(c) for c in sizes if c)})
    out.attrs.update(time_axis="sample", time_axis_comment=_TIME_AXIS_SAMPLE)
    return out


def open_scalar(
    device_code: str | None = None,
    *,
    location_code: str | None = None,
    device_category: str | None = None,
    start: Any,
    end: Any,
    source: str = "api",
    quality: str = "clean",
    gaps: str = "fill",
    sensors: str | Iterable[str] | None = None,
    chunk: str | pd.Timedelta = "1D",
    client: ONCClient | None = None,
) -> xr.Dataset:
    """Open a scalar device's data as a lazy Dataset (nothing is downloaded until compute).

    Parameters
    ----------
    device_code
        The device (``"SBECTD19p6813"``); or give ``location_code`` and ``device_category``.
    location_code, device_category
        Every device of this category deployed at this location during the range (each
        fetched by its own device code in its own deployments; sensor lists are united).
    start, end
        The range, ``end`` exclusive: ISO strings, datetimes, or ONC durations (``start="-P2D"``
        before now, ``end="PT6H"`` after ``start``).
    source
        ``"api"`` (``scalardata`` requests) or ``"product"`` (TSSD CSV orders through the
        asynchronous order API and the client's cache); both give identical Datasets.
    quality
        ``"clean"`` (ONC's rule, applied locally and lazily: values flagged 3, 4 or 6 become NaN,
        flags kept) or ``"raw"``.
    gaps
        ``"fill"`` (default, lazy): the nominal grid itself, empty slots NaN with flag 9 (rows
        only over deployed time). ``"none"``/``"remove"`` **load the data at open**, drop rows
        without a sample (``none``) or whose every value is NaN after cleaning (``remove``),
        set ``time`` to the exact sample times and drop ``time_offset``.
    sensors
        sensorCodes to keep (default all), e.g. ``["temperature", "salinity"]``.
    chunk
        Window length, a duration of at least 1 s: ``"1D"`` (default), ``"12h"``, ``"6h"``,
        ``"1h"``, ``"PT6H"``, seconds (``3600``) or a Timedelta (not ``"3600"``). Windows
        start at multiples of it from 1970-01-01T00:00Z (UTC midnight for divisors of a day)
        and are also cut at deployment and data-rating changes.
    client
        An :class:`~intake_onc.client.ONCClient` (default: ``ONCClient()``, token from
        ``ONC_TOKEN``).

    Returns
    -------
    xarray.Dataset
        Per sensor ``X`` (float64) and ``X_qc`` (int8, CF flags), plus ``time_offset``
        (float32 s, actual − nominal); coords ``time``, ``latitude``, ``longitude``, ``depth``
        (first deployment); attrs of semantics.md plus ``sample_period`` (and
        ``sample_period_starts``/``_values``), ``deployments`` (one line per deployment:
        ``deviceCode locationCode begin end``; ``deployment_positions`` too when they moved),
        ``time_axis`` (``"nominal"``, or ``"sample"`` for ``gaps="none"``/``"remove"``) and
        ``time_axis_comment``.

    Raises
    ------
    ValueError
        A bad argument (named, with what was expected).
    NotDeployedError, InvalidParameterError, RestrictedDataError
        Not deployed in the range (the error lists the deployments), unknown device or
        location, data this token may not read.

    Notes
    -----
    * Filled rows sit on the nominal grid, and only over deployed time (an ongoing deployment
      ends now); where two deployments overlap, the later one takes over.
    * Resampling (``ds.onc.resample``) bins the nominal times. A sample moves to its slot by
      its phase and jitter, ``time_offset ∈ [0, T)``, so with a period ``P`` that is a multiple
      of ``T`` every sample stays in its bin and the result equals ONC's server-side
      resampling, except that ``X_min_time``/``X_max_time`` are nominal (add ``time_offset``).
      A phase within the jitter just below a slot (whole-second instruments) is kept slightly
      negative instead, so neighbouring windows agree (see :mod:`intake_onc.datasets._grid`).
    * Both sources download every sensor of the device (``sensors`` selects locally), raw;
      ``quality="clean"`` is then ONC's rule applied by :func:`intake_onc.scalar.quality.clean`.
    * A product window inside a data gap (HTTP 204) is an empty window, not an error.

    Examples
    --------
    >>> from intake_onc.datasets import open_scalar
    >>> ds = open_scalar("SBECTD19p6813", start="2024-04-01", end="2024-04-03",
    ...                  client=client)  # doctest: +SKIP
    >>> ds.temperature.chunks  # doctest: +SKIP
    ((86400, 86400),)
    >>> hourly = ds.onc.resample("1h", method="minMaxAvg").compute()  # doctest: +SKIP
    """
    source = _choice(source, SOURCES, "source", "'api' (scalardata) or 'product' (TSSD orders)")
    quality = _choice(quality, QUALITIES, "quality", "'clean' drops values flagged 3, 4, 6")
    gaps = _choice(gaps, GAPS, "gaps", "'fill' keeps the lazy nominal grid")
    chunk_ns = parse_chunk(chunk)
    now_ts = pd.Timestamp.now(tz="UTC").tz_localize(None).as_unit("ns")
    s, e = resolve_date_range(start, end, names=("start", "end"), now=now_ts)
    if e <= s:
        raise ValueError(f"end: expected a date after start ({s}), got {e}")
    if device_code is not None and (location_code is not None or device_category is not None):
        raise ValueError(
            "device_code: give either device_code, or location_code with device_category, not both"
        )
    if device_code is None and not (location_code and device_category):
        raise ValueError(
            "device_code: say which data: device_code='SBECTD19p6813', or "
            "location_code='BACAX' with device_category='CTD'"
        )
    for name, value in (
        ("device_code", device_code),
        ("location_code", location_code),
        ("device_category", device_category),
    ):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{name}: expected a code (a non-empty string), got {value!r}")
    if sensors is not None and (
        not isinstance(sensors, str) and not all(isinstance(x, str) for x in sensors)  # type: ignore[union-attr]
    ):
        raise ValueError(f"sensors: expected sensorCodes (strings), got {sensors!r}")
    if s >= now_ts:
        raise ValueError(f"start: {format_onc_date(s)} is in the future; ONC has no data yet")
    if client is None:
        from intake_onc.client import ONCClient

        client = ONCClient()
    deployments = _deployments(client, device_code, location_code, device_category, s, e)
    codes = list(dict.fromkeys(deployments["deviceCode"]))
    meta: dict[str, dict] = {}
    for code in codes:  # also raises RestrictedDataError, or "no scalar data" (hydrophones)
        for item in _sensor_list(client, code, s, min(e, now_ts)):
            meta.setdefault(item["sensorCode"], item)
    who = device_code or f"the {device_category} devices at {location_code}"
    chosen = _select(list(meta.values()), sensors, who)
    ratings = {code: _ratings(client, code) for code in codes}
    now = now_ts.value
    spans = [
        (r.deviceCode, r.locationCode, r.begin.value, None if pd.isna(r.end) else r.end.value)
        for r in deployments.itertuples(index=False)
    ]
    windows = build_windows(build_segments(spans, ratings, s.value, e.value, now), chunk_ns)
    if not windows:
        raise ValueError(
            f"start, end: [{format_onc_date(s)}, {format_onc_date(e)}) holds no sample time of "
            f"{who} (it is shorter than one sample period); widen it"
        )
    attrs = _attrs(deployments, s, e)
    attrs.update(rating_attrs(windows))
    attrs.update(
        quality_control="raw",
        data_gaps="fill",
        resample_type="none",
        source=source,
        time_axis="nominal",
        time_axis_comment=_TIME_AXIS_NOMINAL,
    )
    ds = _lazy_dataset(client, source, windows, chosen, attrs)
    if quality == "clean":
        from intake_onc.scalar.quality import clean

        ds = clean(ds)
    if gaps != "fill":
        from intake_onc.scalar.cf import refresh_metadata

        ds = _materialise(ds, gaps, windows)
        ds.attrs["data_gaps"] = gaps
        ds = refresh_metadata(ds, f"intake-onc open_scalar: gaps={gaps!r}, exact sample times")
    return ds
