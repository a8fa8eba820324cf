"""TSSD data-product files (CSV, JSON, MAT, ODV text, netCDF) and the metadata XML of a TSSD
request.

The layouts are the ones pinned in ``docs/architecture.md`` ("TSSD file layouts"); the rows come
from :func:`intake_onc.sandbox.reference.scalar_series.scalar_series`, the same pipeline as the scalardata
API. The request's options, file names and size estimate are decoded by
:mod:`intake_onc.sandbox.products.tssd_options` (re-exported here, the import path other code uses).

Each format's bytes are written by its encoder (:mod:`intake_onc.sandbox.encoders.tssd_csv`,
``tssd_json``, ``tssd_mat``, ``tssd_odv`` for ``txt``, ``tssd_netcdf`` for ``nc``), which documents its layout and its guesses; this module decodes the
request, builds the rows and the camelCase facts (:attr:`_Context.facts`) the encoders write.

Choices
-------
* CSV files are split every 1,000,000 rows (``_2``, ``_3``, ...); other formats are one file.
* An empty result (no rows) gives **no files** (``[]``); the server decides how to answer.
* The ``meta`` download is :func:`metadata_xml` (named by :func:`metadata_filename`).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from intake_onc._core.time import format_onc_date, parse_date
from intake_onc.sandbox.encoders import tssd_csv, tssd_json, tssd_mat, tssd_netcdf, tssd_odv
from intake_onc.sandbox.observatory.records import Deployment
from intake_onc.sandbox.observatory.tables import OBSERVATORY, resolve_now
from intake_onc.sandbox.products.spool import FileBody
from intake_onc.sandbox.products.tssd_options import (
    TssdOptions,
    deployment_at,
    parse_tssd_options,
    tssd_filename,
)
from intake_onc.sandbox.reference.rules import ResampledRecords
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


def _prepare(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    *,
    seed: int,
    now: object,
) -> tuple[_Context, TssdOptions, ScalarRecords | ResampledRecords] | None:
    start_ts, end_ts, opts, created, rows = request_rows(
        device_code, start, end, extension, options, seed=seed, now=now
    )
    if len(rows) == 0:
        return None
    first_time = pd.Timestamp(rows.times[0])
    ctx = _Context(
        device_code, start_ts, end_ts, opts, created, deployment_at(device_code, first_time)
    )
    return ctx, opts, rows


def _parts(rows: ScalarRecords | ResampledRecords, max_rows: int):
    """``(part number, rows)`` of a CSV file split every ``max_rows`` rows."""
    if max_rows < 1:
        raise ValueError(f"max_rows: expected a positive integer, got {max_rows!r}")
    for part, lo in enumerate(range(0, len(rows), max_rows), start=1):
        yield part, rows.take(slice(lo, lo + max_rows))


def _whole_file(ctx: _Context, rows: ScalarRecords | ResampledRecords, extension: str) -> bytes:
    """The bytes of a file that is built whole (every format but streamed CSV/JSON)."""
    if extension == "csv":
        return tssd_csv.csv_bytes(ctx.facts, ctx.deployment, rows)
    if extension == "json":
        return tssd_json.json_bytes(ctx.facts, rows)
    if extension == "txt":
        return tssd_odv.odv_bytes(ctx.facts, ctx.deployment, rows)
    if extension == "nc":
        return tssd_netcdf.netcdf_bytes(ctx.facts, ctx.deployment, rows)
    return tssd_mat.mat_bytes(ctx.facts, rows)


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
    prepared = _prepare(device_code, start, end, extension, options, seed=seed, now=now)
    if prepared is None:
        return []
    ctx, opts, rows = prepared
    if extension == "csv":
        return [
            (
                tssd_filename(device_code, chunk.times[0], chunk.times[-1], "csv", opts, part),
                _whole_file(ctx, chunk, "csv"),
            )
            for part, chunk in _parts(rows, max_rows)
        ]
    name = tssd_filename(device_code, rows.times[0], rows.times[-1], extension, opts)
    return [(name, _whole_file(ctx, rows, extension))]


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
    time, so memory holds the numeric rows, never the whole text (other formats are built
    whole)."""
    prepared = _prepare(device_code, start, end, extension, options, seed=seed, now=now)
    if prepared is None:
        return []
    ctx, opts, rows = prepared
    directory = Path(directory)
    out: list[tuple[str, FileBody]] = []

    def path_of(name: str) -> Path:
        return directory / f"{len(out):04d}-{name}"

    if extension == "csv":
        for part, chunk in _parts(rows, max_rows):
            name = tssd_filename(device_code, chunk.times[0], chunk.times[-1], "csv", opts, part)
            path = path_of(name)
            with open(path, "wb") as f:
                f.write(tssd_csv.csv_header_bytes(ctx.facts, ctx.deployment, chunk))
                for at in range(0, len(chunk), step):
                    text = tssd_csv.csv_rows_text(chunk.take(slice(at, at + step)))
                    f.write(text.encode("utf-8"))
            out.append((name, FileBody(path)))
        return out
    name = tssd_filename(device_code, rows.times[0], rows.times[-1], extension, opts)
    path = path_of(name)
    with open(path, "wb") as f:
        if extension == "json":
            tssd_json.write_json(ctx.facts, rows, f, step)
        else:
            f.write(_whole_file(ctx, rows, extension))
    out.append((name, FileBody(path)))
    return out


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
