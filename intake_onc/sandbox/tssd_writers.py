"""TSSD data-product files (CSV, JSON, MAT), their names, size estimates and the metadata XML.

The layouts are the ones pinned in ``docs/architecture.md`` ("TSSD file layouts"); the rows come
from :func:`intake_onc.sandbox.tssd.scalar_series`, the same pipeline as the scalardata API.

Choices
-------
* **Options** (``dpo_*`` strings; missing ones take the defaults of ``dataProducts``):
  ``dpo_qualityControl`` 1 clean / 0 raw; ``dpo_dataGaps`` 1 fill (NaN rows, flag 9; empty bins
  kept) / 0 remove; ``dpo_resample`` none|average|minMax|minMaxAvg with the period in
  ``dpo_average``/``dpo_minMax``/``dpo_minMaxAvg`` (default 60). Period ``0`` = **auto**: the
  smallest of 60, 600, 900, 3600, 86400 s giving at most 1500 bins over the requested range.
  ``dpo_jsonOutputEncoding`` OM (default) | ONC, JSON only.
* **Names**: ``<Site>_<Location>_<DeviceCategoryName>_<first>Z_<last>Z-<mode>.<ext>``: site and
  location are the location's parent's and its own names without spaces or punctuation
  (``BarkleyCanyon_BarkleyCanyonAxis``), the category name likewise
  (``ConductivityTemperatureDepth``); ``first``/``last`` are the file's own first and last row
  times (bin centres when resampled) as ``YYYYMMDDThhmmss``; mode tokens, in this order and
  joined by ``_``: ``NaN`` (gaps filled), ``clean``, ``avg1minute`` / ``MinMax10minute`` /
  ``MinMaxAvg1day`` ..., ``OM``/``ONC`` (JSON). No tokens: no ``-`` part. CSV files over
  ``max_rows`` (1,000,000) rows are split; the 2nd, 3rd... parts get ``_2``, ``_3`` before the
  extension, and every part is named by its own first/last times.
* **CSV numbers**: floats as Python ``repr`` (the shortest string that round-trips the float64
  exactly; the generated readings have 3-5 decimals, so ``3.7246``), ``NaN`` for missing; flags
  and counts as integers; times ``yyyy-mm-ddThh:mm:ss.fffZ``; a missing min/max time is ``NaN``.
  ``#RESAMPPRD`` is ``"<P> s"`` (``"60 s"``) or ``"none"``.
* **JSON**: ``json.dumps`` with bare ``NaN``; missing times are ``null``. OM data keys:
  ``sampleTimes, values, qaqcFlags, counts, stdDevs, minValues, minTimes, minQaqcFlags,
  maxValues, maxTimes, maxQaqcFlags`` (those that apply); ONC objects use the singular keys
  ``sampleTime, value, qaqcFlag, count, stdDev, minValue, minTime, minQaqcFlag, maxValue,
  maxTime, maxQaqcFlag``. ``metadata.resamplePeriod`` is seconds or null.
* **MAT** (v5, uncompressed): struct ``metadata`` (``resamplePeriod`` NaN when not resampled) and
  struct ``data`` of column vectors; flags int8, counts int64, times MATLAB datenums (NaN when
  missing).
* An empty result (no rows) gives **no files** (``[]``); the server decides how to answer.
* The ``meta`` download is :func:`metadata_xml` (named by :func:`metadata_filename`).
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.io

from intake_onc._dates import datetime64_to_datenum, format_onc_date, parse_date
from intake_onc.sandbox.observatory import OBSERVATORY, Deployment
from intake_onc.sandbox.scalar import NS_PER_S, ScalarRecords, deployed_intervals_ns
from intake_onc.sandbox.tssd import (
    QAQC_FLAG_INFO,
    ResampledRecords,
    arrays_to_objects,
    onc_time_strings,
    scalar_series,
    sensor_arrays,
)

__all__ = [
    "MAX_CSV_ROWS",
    "TssdOptions",
    "build_tssd_files",
    "estimate_tssd_size",
    "metadata_filename",
    "metadata_xml",
    "parse_tssd_options",
    "tssd_filename",
]

MAX_CSV_ROWS = 1_000_000
ONC_PERIODS = (60, 600, 900, 3600, 86400)
AUTO_MAX_BINS = 1500
_EXTENSIONS = ("csv", "json", "mat")
_RESAMPLE_OPTION = {"average": "dpo_average", "minMax": "dpo_minMax", "minMaxAvg": "dpo_minMaxAvg"}
_RESAMPLE_TOKEN = {"average": "avg", "minMax": "MinMax", "minMaxAvg": "MinMaxAvg"}


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TssdOptions:
    """The ``dpo_*`` options of a TSSD request, decoded."""

    quality: str  # "clean" | "raw"
    data_gaps: str  # "fill" | "remove"
    resample: str | None  # None | "average" | "minMax" | "minMaxAvg"
    period: float | None  # seconds (auto resolved); None when not resampled
    encoding: str | None  # "OM" | "ONC" for JSON, else None

    @property
    def mode_tokens(self) -> list[str]:
        """File-name mode tokens, in order."""
        tokens = []
        if self.data_gaps == "fill":
            tokens.append("NaN")
        if self.quality == "clean":
            tokens.append("clean")
        if self.resample is not None:
            tokens.append(_RESAMPLE_TOKEN[self.resample] + _period_words(self.period))
        if self.encoding is not None:
            tokens.append(self.encoding)
        return tokens


def _choice(
    options: Mapping[str, object], name: str, default: str, allowed: tuple[str, ...]
) -> str:
    value = str(options.get(name, default)).strip()
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _auto_period(start: pd.Timestamp, end: pd.Timestamp) -> int:
    span_s = max((end - start).total_seconds(), 0.0)
    for period in ONC_PERIODS:
        if np.ceil(span_s / period) <= AUTO_MAX_BINS:
            return period
    return ONC_PERIODS[-1]


def parse_tssd_options(
    options: Mapping[str, object], extension: str, start: object, end: object
) -> TssdOptions:
    """Decode ``dpo_*`` options (missing ones take their defaults); ValueError names a bad one."""
    if extension not in _EXTENSIONS:
        raise ValueError(f"extension: TSSD files are csv, json or mat, got {extension!r}")
    quality = {"1": "clean", "0": "raw"}[_choice(options, "dpo_qualityControl", "1", ("0", "1"))]
    gaps = {"1": "fill", "0": "remove"}[_choice(options, "dpo_dataGaps", "1", ("0", "1"))]
    method = _choice(options, "dpo_resample", "none", ("none", *_RESAMPLE_OPTION))
    period: float | None = None
    if method != "none":
        name = _RESAMPLE_OPTION[method]
        text = str(options.get(name, "60")).strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"{name}: expected a period in seconds (0 = auto), got {text!r}"
            ) from None
        if value == 0:
            value = float(_auto_period(parse_date(start), parse_date(end)))
        if value <= 0 or (86400 / value) != int(86400 / value):
            raise ValueError(
                f"{name}: {text!r} s does not divide a day; expected 0 (auto) or one of "
                f"{', '.join(map(str, ONC_PERIODS))}"
            )
        period = value
    encoding = None
    if extension == "json":
        encoding = _choice(options, "dpo_jsonOutputEncoding", "OM", ("OM", "ONC"))
    return TssdOptions(quality, gaps, None if method == "none" else method, period, encoding)


def _period_words(period: float | None) -> str:
    seconds = float(period or 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}second"


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------


def _squash(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def _deployment_at(device_code: str, when: pd.Timestamp | None) -> Deployment:
    deployments = OBSERVATORY.deployments_of(device_code)
    if when is not None:
        for dep in reversed(deployments):
            if dep.begin <= when:
                return dep
    return deployments[-1]


def _name_prefix(device_code: str, when: pd.Timestamp | None) -> str:
    device = OBSERVATORY.device(device_code)
    location = OBSERVATORY.location(_deployment_at(device_code, when).location_code)
    site = OBSERVATORY.location(location.parent).name if location.parent else location.name
    category = OBSERVATORY.device_categories[device.category_code].name
    return f"{_squash(site)}_{_squash(location.name)}_{_squash(category)}"


def _stamp(t: object) -> str:
    return parse_date(t).strftime("%Y%m%dT%H%M%S") + "Z"


def tssd_filename(
    device_code: str,
    first: object,
    last: object,
    extension: str,
    options: TssdOptions,
    part: int = 1,
) -> str:
    """``<Site>_<Location>_<DeviceCategoryName>_<first>Z_<last>Z-<mode>[_<part>].<ext>``."""
    name = f"{_name_prefix(device_code, parse_date(first))}_{_stamp(first)}_{_stamp(last)}"
    tokens = options.mode_tokens
    if tokens:
        name += "-" + "_".join(tokens)
    if part > 1:
        name += f"_{part}"
    return f"{name}.{extension}"


def metadata_filename(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    files: list[str] | tuple[str, ...] = (),
) -> str:
    """Name of the ``meta`` download: the first data file's stem + ``_<EXT>_META.xml`` (or, with no
    files, a name built from the requested range)."""
    if files:
        stem = files[0].rsplit(".", 1)[0]
    else:
        opts = parse_tssd_options(options, extension, start, end)
        stem = tssd_filename(device_code, start, end, extension, opts).rsplit(".", 1)[0]
    return f"{stem}_{extension.upper()}_META.xml"


# ----------------------------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    device_code: str
    start: pd.Timestamp
    end: pd.Timestamp
    options: TssdOptions
    created: pd.Timestamp
    deployment: Deployment

    @property
    def facts(self) -> dict[str, object]:
        """The camelCase metadata facts (JSON ``metadata`` / MAT ``metadata``)."""
        device = OBSERVATORY.device(self.device_code)
        location = OBSERVATORY.location(self.deployment.location_code)
        period = OBSERVATORY.sample_period_at(
            self.device_code, np.array([self.start.value], dtype="datetime64[ns]")
        )[0]
        return {
            "deviceCode": device.code,
            "deviceName": device.name,
            "deviceId": device.device_id,
            "locationCode": location.code,
            "stationName": location.name,
            "deviceCategoryCode": device.category_code,
            "lat": self.deployment.lat,
            "lon": self.deployment.lon,
            "depth": self.deployment.depth,
            "dateFrom": format_onc_date(self.start),
            "dateTo": format_onc_date(self.end),
            "creationDate": format_onc_date(self.created),
            "samplePeriod": float(period),
            "samplePeriods": [
                {"dateFrom": format_onc_date(when), "samplePeriod": value}
                for when, value in _ratings_in(self.device_code, self.start, self.end)
            ],
            "qualityControl": self.options.quality,
            "dataGaps": "NaN" if self.options.data_gaps == "fill" else "removed",
            "resampleType": self.options.resample or "none",
            "resamplePeriod": self.options.period,
            "citation": OBSERVATORY.citation(self.device_code)["citation"],
            "encoding": self.options.encoding,
        }


def _ratings_in(
    device_code: str, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, float]]:
    """``[(from, sample period)]`` of the data ratings in force during ``[start, end)``.

    The first entry starts at ``start``; later ones are the rating changes inside the range.
    """
    first = OBSERVATORY.sample_period_at(
        device_code, np.array([start.value], dtype="datetime64[ns]")
    )[0]
    out = [(start, float(first))]
    for rating in sorted(OBSERVATORY.device(device_code).ratings, key=lambda r: r.date_from):
        if start < rating.date_from < end:
            out.append((rating.date_from, float(rating.sample_period)))
    return out


def build_tssd_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    *,
    seed: int = 0,
    now: object = None,
    max_rows: int = MAX_CSV_ROWS,
) -> list[tuple[str, bytes]]:
    """The files of a TSSD request: ``[(file name, bytes)]`` (``[]`` when there are no rows).

    ``options`` are the request's ``dpo_*`` strings; ``now`` is both the creation date written in
    the files and the end of ongoing deployments (default: the current time); CSV files are split
    every ``max_rows`` rows.
    """
    start_ts, end_ts = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    opts = parse_tssd_options(options, extension, start_ts, end_ts)
    created = (
        parse_date(now, argument="now")
        if now is not None
        else pd.Timestamp.now(tz="UTC").tz_localize(None).as_unit("ns")
    )
    rows, _ = scalar_series(
        device_code,
        start_ts,
        end_ts,
        quality=opts.quality,
        data_gaps=opts.data_gaps,
        resample_type=opts.resample,
        resample_period=opts.period,
        seed=seed,
        now=created,
    )
    if len(rows) == 0:
        return []
    first_time = pd.Timestamp(rows.times[0])
    ctx = _Context(
        device_code, start_ts, end_ts, opts, created, _deployment_at(device_code, first_time)
    )
    if extension == "csv":
        if max_rows < 1:
            raise ValueError(f"max_rows: expected a positive integer, got {max_rows!r}")
        files = []
        for part, lo in enumerate(range(0, len(rows), max_rows), start=1):
            chunk = rows.take(slice(lo, lo + max_rows))
            name = tssd_filename(device_code, chunk.times[0], chunk.times[-1], "csv", opts, part)
            files.append((name, _csv_bytes(ctx, chunk)))
        return files
    name = tssd_filename(device_code, rows.times[0], rows.times[-1], extension, opts)
    body = _json_bytes(ctx, rows) if extension == "json" else _mat_bytes(ctx, rows)
    return [(name, body)]


# -- CSV -----------------------------------------------------------------------------------------


def _float_strings(values: np.ndarray) -> list[str]:
    return ["NaN" if x != x else repr(x) for x in np.asarray(values, dtype="float64").tolist()]


def _int_strings(values: np.ndarray) -> list[str]:
    return [str(x) for x in np.asarray(values).astype("int64").tolist()]


def _time_strings(times: np.ndarray) -> list[str]:
    return [s if s is not None else "NaN" for s in onc_time_strings(times)]


def _csv_columns(rows: ScalarRecords | ResampledRecords) -> list[tuple[str, list[str]]]:
    """``[(column name, cells)]`` after the time column, per sensor in order."""
    columns: list[tuple[str, list[str]]] = []
    meta = {s.code: s for s in OBSERVATORY.device(rows.device_code).sensors}
    for code in rows.sensors:
        name, unit = meta[code].name, meta[code].unit
        if isinstance(rows, ScalarRecords):
            columns += [
                (f"{name} ({unit})", _float_strings(rows.values[code])),
                (f"{name} QC Flag", _int_strings(rows.flags[code])),
            ]
            continue
        var = rows.variables
        if rows.method in ("average", "minMaxAvg"):
            columns += [
                (f"{name} ({unit})", _float_strings(var[code])),
                (f"{name} QC Flag", _int_strings(var[f"{code}_qc"])),
                (f"{name} Count", _int_strings(var[f"{code}_count"])),
                (f"{name} Standard Deviation ({unit})", _float_strings(var[f"{code}_std"])),
            ]
        if rows.method in ("minMax", "minMaxAvg"):
            columns += [
                (f"{name} Min ({unit})", _float_strings(var[f"{code}_min"])),
                (f"{name} Min Time", _time_strings(var[f"{code}_min_time"])),
                (f"{name} Min QC Flag", _int_strings(var[f"{code}_min_qc"])),
                (f"{name} Max ({unit})", _float_strings(var[f"{code}_max"])),
                (f"{name} Max Time", _time_strings(var[f"{code}_max_time"])),
                (f"{name} Max QC Flag", _int_strings(var[f"{code}_max_qc"])),
            ]
        if rows.method == "minMax":
            columns.append((f"{name} Count", _int_strings(var[f"{code}_count"])))
    return columns


def _header_line(key: str, value: object, description: str | None) -> str:
    text = f"#{key + ':':<15} {value}"
    return f"{text} / {description}" if description else text


def _csv_bytes(ctx: _Context, rows: ScalarRecords | ResampledRecords) -> bytes:
    facts = ctx.facts
    device = OBSERVATORY.device(ctx.device_code)
    category = OBSERVATORY.device_categories[device.category_code]
    opts = ctx.options
    lines = [
        "## BEGIN HEADER",
        _header_line("CREATIONDATE", facts["creationDate"], "Date the file was created"),
        _header_line("DATEFROM", facts["dateFrom"], "Start of the requested range"),
        _header_line("DATETO", facts["dateTo"], "End of the requested range"),
        _header_line("STATION", facts["locationCode"], facts["stationName"]),
        _header_line("DEVICECODE", device.code, device.name),
        _header_line("DEVICECATEGORY", device.category_code, category.name),
        _header_line("LATITUDE", facts["lat"], "Latitude (decimal degrees)"),
        _header_line("LONGITUDE", facts["lon"], "Longitude (decimal degrees)"),
        _header_line("DEPTH", facts["depth"], "Depth (m)"),
        _header_line(
            "SAMPLEPERIOD",
            facts["samplePeriod"],
            "Sample period (s) of the device's data rating at DATEFROM",
        ),
        *(
            _header_line(
                "SAMPLEPERIODCHANGE",
                f"{c['dateFrom']} {c['samplePeriod']!r}",
                "Sample period (s) of the data rating from this time on",
            )
            for c in facts["samplePeriods"][1:]
        ),
        _header_line(
            "QUALITYCONTROL", opts.quality, "raw or clean (flags 3, 4, 6 replaced by NaN)"
        ),
        _header_line(
            "DATAGAPS", facts["dataGaps"], "NaN (gaps filled with NaN rows, flag 9) or removed"
        ),
        f'#RESAMPTYP: "{opts.resample or "none"}"     (none | average | minMax | minMaxAvg)',
        f'#RESAMPPRD: "{f"{opts.period:g} s" if opts.period else "none"}"',
        _header_line("TOTSAMPLE", len(rows), "Samples in File"),
        _header_line("CITATION", facts["citation"], "Citation"),
    ]
    sensors = {s.code: s for s in device.sensors}
    for i, code in enumerate(rows.sensors, start=1):
        s = sensors[code]
        lines.append(f"#SENSOR {i}: {s.code} / {s.name} / {s.unit} / {s.property_code}")
    columns = _csv_columns(rows)
    names = ["Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)", *(c[0] for c in columns)]
    lines.append("#" + ", ".join(f'"{n}"' for n in names))
    lines.append("## END HEADER")
    cells = [_time_strings(rows.times), *(c[1] for c in columns)]
    body = "\n".join(",".join(row) for row in zip(*cells, strict=True))
    text = "\n".join(lines) + "\n" + (body + "\n" if body else "")
    return text.encode("utf-8")


# -- JSON ----------------------------------------------------------------------------------------


def _json_bytes(ctx: _Context, rows: ScalarRecords | ResampledRecords) -> bytes:
    sensors = {s.code: s for s in OBSERVATORY.device(ctx.device_code).sensors}
    items = []
    for code in rows.sensors:
        s = sensors[code]
        data = sensor_arrays(rows, code)
        items.append(
            {
                "sensorCode": s.code,
                "sensorName": s.name,
                "unitOfMeasure": s.unit,
                "propertyCode": s.property_code,
                "data": data if ctx.options.encoding == "OM" else arrays_to_objects(data),
            }
        )
    doc = {
        "metadata": {**ctx.facts, "totalSamples": len(rows)},
        "qaqcFlagInfo": QAQC_FLAG_INFO,
        "sensorData": items,
    }
    return json.dumps(doc, allow_nan=True).encode("utf-8")


# -- MAT -----------------------------------------------------------------------------------------


def _datenums(times: np.ndarray) -> np.ndarray:
    times = np.asarray(times, dtype="datetime64[ns]")
    out = datetime64_to_datenum(times)
    out[np.isnat(times)] = np.nan
    return out


def _mat_bytes(ctx: _Context, rows: ScalarRecords | ResampledRecords) -> bytes:
    sensors = [s for s in OBSERVATORY.device(ctx.device_code).sensors if s.code in rows.sensors]
    meta: dict[str, object] = {k: v for k, v in ctx.facts.items() if v is not None}
    changes = meta.pop("samplePeriods")
    meta["samplePeriodStarts"] = _datenums(
        np.array([parse_date(c["dateFrom"]).value for c in changes], dtype="datetime64[ns]")
    )
    meta["samplePeriodValues"] = np.array([c["samplePeriod"] for c in changes], dtype="float64")
    meta["resamplePeriod"] = float(ctx.options.period) if ctx.options.period else np.nan
    meta["totalSamples"] = len(rows)
    meta["sensorCodes"] = np.array([s.code for s in sensors], dtype=object)
    meta["sensorNames"] = np.array([s.name for s in sensors], dtype=object)
    meta["units"] = np.array([s.unit for s in sensors], dtype=object)
    meta["propertyCodes"] = np.array([s.property_code for s in sensors], dtype=object)

    def col(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape(-1, 1)

    data: dict[str, np.ndarray] = {"time": col(_datenums(rows.times))}
    for code in rows.sensors:
        if isinstance(rows, ScalarRecords):
            data[code] = col(rows.values[code])
            data[f"{code}_qaqcFlags"] = col(rows.flags[code].astype("int8"))
            continue
        var = rows.variables
        mapping = [
            ("", code, None),
            ("_qaqcFlags", f"{code}_qc", "int8"),
            ("_count", f"{code}_count", "int64"),
            ("_std", f"{code}_std", None),
            ("_min", f"{code}_min", None),
            ("_minTime", f"{code}_min_time", "time"),
            ("_minQaqcFlags", f"{code}_min_qc", "int8"),
            ("_max", f"{code}_max", None),
            ("_maxTime", f"{code}_max_time", "time"),
            ("_maxQaqcFlags", f"{code}_max_qc", "int8"),
        ]
        for suffix, name, kind in mapping:
            if name not in var:
                continue
            arr = var[name]
            arr = _datenums(arr) if kind == "time" else arr.astype(kind) if kind else arr
            data[code + suffix] = col(arr)
    buffer = io.BytesIO()
    scipy.io.savemat(
        buffer, {"metadata": meta, "data": data}, format="5", do_compression=False, oned_as="column"
    )
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# Estimates and metadata
# ----------------------------------------------------------------------------------------------

#: Rough bytes per row: time column + per sensor, by (extension, resample method).
_ROW_BYTES = {
    "csv": (25, {None: 12, "average": 34, "minMax": 80, "minMaxAvg": 100}),
    "json": (0, {None: 45, "average": 80, "minMax": 150, "minMaxAvg": 180}),
    "mat": (8, {None: 9, "average": 25, "minMax": 58, "minMaxAvg": 66}),
}


def estimate_tssd_size(
    device_code: str,
    start: object,
    end: object,
    options: Mapping[str, object],
    *,
    extension: str = "csv",
    now: object = None,
) -> int:
    """A cheap estimate (bytes) of a TSSD request's files, for ``estimatedFileSize``.

    Rows = seconds / sample period over the deployed part of the window (with gap filling: over
    the window clipped to the device's first deployment .. last end or ``now``, since gaps,
    deployment gaps included, become NaN rows); resampled: bins over the same span. Nothing is
    generated; data gaps are ignored, so it overestimates a little when they are removed.
    """
    start_ts, end_ts = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    opts = parse_tssd_options(options, extension, start_ts, end_ts)
    lo, hi = start_ts.value, end_ts.value
    deployed = deployed_intervals_ns(device_code, now)
    if deployed and opts.data_gaps == "fill":
        deployed = [(deployed[0][0], deployed[-1][1])]
    spans = [(max(b, lo), min(e, hi)) for b, e in deployed]
    spans = [(b, e) for b, e in spans if e > b]
    if not spans:
        return 0
    if opts.resample is not None:
        period_ns = int(opts.period * NS_PER_S)
        n_rows = sum(-(-e // period_ns) - b // period_ns for b, e in spans)
    else:
        n_rows = 0.0
        for b, e in spans:  # integrate 1/T over each piece, at 1-day resolution
            edges = np.append(np.arange(b, e, 86400 * NS_PER_S), e)
            periods = OBSERVATORY.sample_period_at(device_code, edges[:-1].astype("datetime64[ns]"))
            n_rows += float(np.sum(np.diff(edges) / NS_PER_S / periods))
    n_sensors = len(OBSERVATORY.device(device_code).sensors)
    base, per_sensor = _ROW_BYTES[extension]
    return int(3000 + n_rows * (base + n_sensors * per_sensor[opts.resample]))


def metadata_xml(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    *,
    files: list[tuple[str, int]] | tuple = (),
    now: object = None,
) -> bytes:
    """The ``meta`` download: a small XML describing the request (device, location, dates,
    options as given and as applied, files ``[(name, size)]``, citation)."""
    start_ts, end_ts = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    opts = parse_tssd_options(options, extension, start_ts, end_ts)
    created = (
        parse_date(now, argument="now")
        if now is not None
        else pd.Timestamp.now(tz="UTC").tz_localize(None).as_unit("ns")
    )
    ctx = _Context(
        device_code, start_ts, end_ts, opts, created, _deployment_at(device_code, start_ts)
    )
    facts = ctx.facts
    device = OBSERVATORY.device(device_code)
    root = ET.Element("dataProductMetadata", {"creationDate": facts["creationDate"]})
    ET.SubElement(
        root,
        "dataProduct",
        {"code": "TSSD", "name": "Time Series Scalar Data", "extension": extension},
    )
    ET.SubElement(root, "request", {"dateFrom": facts["dateFrom"], "dateTo": facts["dateTo"]})
    ET.SubElement(
        root,
        "device",
        {
            "deviceCode": device.code,
            "deviceName": device.name,
            "deviceId": str(device.device_id),
            "deviceCategoryCode": device.category_code,
            "deviceCategoryName": OBSERVATORY.device_categories[device.category_code].name,
        },
    )
    ET.SubElement(
        root,
        "location",
        {
            "locationCode": facts["locationCode"],
            "locationName": facts["stationName"],
            "lat": repr(facts["lat"]),
            "lon": repr(facts["lon"]),
            "depth": repr(facts["depth"]),
        },
    )
    given = ET.SubElement(root, "options")
    for key in sorted(k for k in options if str(k).startswith("dpo_")):
        ET.SubElement(given, "option", {"name": str(key), "value": str(options[key])})
    ET.SubElement(
        root,
        "processing",
        {
            "qualityControl": opts.quality,
            "dataGaps": facts["dataGaps"],
            "resampleType": opts.resample or "none",
            "resamplePeriod": f"{opts.period:g}" if opts.period else "none",
            "samplePeriod": repr(facts["samplePeriod"]),
            **({"encoding": opts.encoding} if opts.encoding else {}),
        },
    )
    listing = ET.SubElement(root, "files")
    for name, size in files:
        ET.SubElement(listing, "file", {"name": name, "size": str(int(size))})
    citation = OBSERVATORY.citation(device_code)
    ET.SubElement(root, "citation", {"doi": citation["doi"]}).text = citation["citation"]
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
