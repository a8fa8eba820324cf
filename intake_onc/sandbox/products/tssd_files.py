"""TSSD data-product files (CSV, JSON, MAT) and the metadata XML of a TSSD request.

The layouts are the ones pinned in ``docs/architecture.md`` ("TSSD file layouts"); the rows come
from :func:`intake_onc.sandbox.reference.scalar_series.scalar_series`, the same pipeline as the scalardata
API. The request's options, file names and size estimate are decoded by
:mod:`intake_onc.sandbox.products.tssd_options` (re-exported here, the import path other code uses).

Choices
-------
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
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from intake_onc._core.time import datetime64_to_datenum, format_onc_date, parse_date
from intake_onc.sandbox.encoders.scalar_pages import (
    arrays_to_objects,
    onc_time_strings,
    sensor_arrays,
)
from intake_onc.sandbox.observatory.records import Deployment
from intake_onc.sandbox.observatory.tables import OBSERVATORY, resolve_now
from intake_onc.sandbox.products.spool import FileBody
from intake_onc.sandbox.products.tssd_options import (
    TssdOptions,
    deployment_at,
    parse_tssd_options,
    tssd_filename,
)
from intake_onc.sandbox.reference.rules import QAQC_FLAG_INFO, ResampledRecords
from intake_onc.sandbox.reference.scalar_series import scalar_series
from intake_onc.sandbox.synthetic.scalar import ScalarRecords

__all__ = [
    "MAX_CSV_ROWS",
    "build_tssd_files",
    "metadata_xml",
    "request_rows",
    "write_tssd_files",
]

MAX_CSV_ROWS = 1_000_000


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


def request_rows(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    *,
    seed: int = 0,
    now: object = None,
):
    """What a scalar product request (TSSD, TSSP) covers: ``(start, end, options, created,
    rows)``, the rows of the device's series with the request's QC, gap and resampling options."""
    start_ts, end_ts = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    opts = parse_tssd_options(options, extension, start_ts, end_ts)
    created = resolve_now(now)
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
    return start_ts, end_ts, opts, created, rows


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
    start_ts, end_ts, opts, created, rows = request_rows(
        device_code, start, end, extension, options, seed=seed, now=now
    )
    if len(rows) == 0:
        return []
    first_time = pd.Timestamp(rows.times[0])
    ctx = _Context(
        device_code, start_ts, end_ts, opts, created, deployment_at(device_code, first_time)
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
    header = "\n".join(lines) + "\n"
    return header.encode("utf-8") + _csv_rows_text(rows, columns).encode("utf-8")


def _csv_rows_text(rows: ScalarRecords | ResampledRecords, columns=None) -> str:
    """The data lines of ``rows`` (each ending in a newline; ``""`` for no rows)."""
    if columns is None:
        columns = _csv_columns(rows)
    cells = [_time_strings(rows.times), *(c[1] for c in columns)]
    body = "\n".join(",".join(row) for row in zip(*cells, strict=True))
    return body + "\n" if body else ""


def _csv_header_bytes(ctx: _Context, rows: ScalarRecords | ResampledRecords) -> bytes:
    """The header of :func:`_csv_bytes` (built from no data lines: rows of length 0 would
    change ``TOTSAMPLE``, so the header is cut from a one-row file plus the count)."""
    whole = _csv_bytes(ctx, rows.take(slice(0, 1)))
    one_row = _csv_rows_text(rows.take(slice(0, 1))).encode("utf-8")
    header = whole[: len(whole) - len(one_row)]
    old = _header_line("TOTSAMPLE", 1, "Samples in File").encode("utf-8")
    new = _header_line("TOTSAMPLE", len(rows), "Samples in File").encode("utf-8")
    assert header.count(old) == 1
    return header.replace(old, new)


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


def _write_json(ctx: _Context, rows: ScalarRecords | ResampledRecords, out, step: int) -> None:
    """:func:`_json_bytes` written to the binary file ``out`` ``step`` rows at a time (the same
    bytes: the document is dumped with a marker per data array, then each marker is replaced
    by its array, encoded in slices)."""
    sensors = {s.code: s for s in OBSERVATORY.device(ctx.device_code).sensors}
    om = ctx.options.encoding == "OM"
    pieces: list[tuple[str, str | None]] = []  # (marker, sensor code), key None = objects
    items = []
    for code in rows.sensors:
        s = sensors[code]
        if om:
            keys = list(sensor_arrays(rows.take(slice(0, 0)), code))
            data: object = {}
            for key in keys:
                marker = f"@@intake-onc-tssd-{len(pieces)}@@"
                pieces.append((marker, code, key))
                data[key] = marker
        else:
            marker = f"@@intake-onc-tssd-{len(pieces)}@@"
            pieces.append((marker, code, None))
            data = marker
        items.append(
            {
                "sensorCode": s.code,
                "sensorName": s.name,
                "unitOfMeasure": s.unit,
                "propertyCode": s.property_code,
                "data": data,
            }
        )
    doc = {
        "metadata": {**ctx.facts, "totalSamples": len(rows)},
        "qaqcFlagInfo": QAQC_FLAG_INFO,
        "sensorData": items,
    }
    text = json.dumps(doc, allow_nan=True)
    position = 0
    for marker, code, key in pieces:
        quoted = f'"{marker}"'
        at = text.index(quoted, position)
        out.write(text[position:at].encode("utf-8"))
        out.write(b"[")
        first = True
        for lo in range(0, len(rows), step):
            part = rows.take(slice(lo, lo + step))
            arrays = sensor_arrays(part, code)
            values = arrays[key] if key is not None else arrays_to_objects(arrays)
            if not values:
                continue
            chunk = json.dumps(values, allow_nan=True)[1:-1]
            out.write(((", " if not first else "") + chunk).encode("utf-8"))
            first = False
        out.write(b"]")
        position = at + len(quoted)
    out.write(text[position:].encode("utf-8"))


def write_tssd_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    directory: str | os.PathLike[str],
    *,
    seed: int = 0,
    now: object = None,
    max_rows: int = MAX_CSV_ROWS,
    step: int = 20_000,
) -> list[tuple[str, FileBody]]:
    """:func:`build_tssd_files` written to files under ``directory`` instead of memory: the same
    names and bytes, ``[(name, FileBody)]``. CSV and JSON text is encoded ``step`` rows at a
    time, so memory holds the numeric rows, never the whole text (MAT is built whole)."""
    start_ts, end_ts, opts, created, rows = request_rows(
        device_code, start, end, extension, options, seed=seed, now=now
    )
    if len(rows) == 0:
        return []
    first_time = pd.Timestamp(rows.times[0])
    ctx = _Context(
        device_code, start_ts, end_ts, opts, created, deployment_at(device_code, first_time)
    )
    directory = Path(directory)
    out: list[tuple[str, FileBody]] = []

    def path_of(name: str) -> Path:
        return directory / f"{len(out):04d}-{name}"

    if extension == "csv":
        if max_rows < 1:
            raise ValueError(f"max_rows: expected a positive integer, got {max_rows!r}")
        for part, lo in enumerate(range(0, len(rows), max_rows), start=1):
            chunk = rows.take(slice(lo, lo + max_rows))
            name = tssd_filename(device_code, chunk.times[0], chunk.times[-1], "csv", opts, part)
            path = path_of(name)
            with open(path, "wb") as f:
                f.write(_csv_header_bytes(ctx, chunk))
                for at in range(0, len(chunk), step):
                    f.write(_csv_rows_text(chunk.take(slice(at, at + step))).encode("utf-8"))
            out.append((name, FileBody(path)))
        return out
    name = tssd_filename(device_code, rows.times[0], rows.times[-1], extension, opts)
    path = path_of(name)
    with open(path, "wb") as f:
        if extension == "json":
            _write_json(ctx, rows, f, step)
        else:
            f.write(_mat_bytes(ctx, rows))
    out.append((name, FileBody(path)))
    return out


_MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: intake-onc sandbox (TSSD)"

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
    out = bytearray(buffer.getvalue())
    out[:116] = _MAT_HEADER.ljust(116)  # savemat writes the creation time: keep bytes deterministic
    return bytes(out)


# ----------------------------------------------------------------------------------------------
# Metadata
# ----------------------------------------------------------------------------------------------


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
    created = resolve_now(now)
    ctx = _Context(
        device_code, start_ts, end_ts, opts, created, deployment_at(device_code, start_ts)
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
