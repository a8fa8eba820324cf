"""``rawdata/device`` and ``rawdata/location`` (onc-api.md §5).

Raw readings are the instrument's text lines. The sandbox synthesises them deterministically
from the same synthetic scalar signal as ``scalardata`` (raw quality, every sensor of the
device), one line per sample time: a CTD line looks like SeaBird output
(``# 9.1234,  3.12345,  100.123, 31.2345``), other devices send their values comma-separated.

Response (as ONC): ``{citations, data: {lineTypes, readings, times}, messages,
metadata: {locationName}, next, outputFormat, queryUrl}``; pages of at most 100,000 readings
(``rowLimit``); ``next`` like ``scalardata``. ``outputFormat=object`` makes ``data`` a list of
``{lineType, rawData, sampleTime}`` (chosen field names). ``sizeLimit``,
``convertHexToDecimal`` and ``skipErrors`` are accepted and ignored; ``getLatest=true`` returns
the last ``rowLimit`` readings before ``dateTo`` with no ``next``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory.records import Device
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import lookups, wire
from intake_onc.sandbox.services.wire import Query

__all__ = ["by_device", "by_location", "reading_lines"]

_COMMON = (
    "dateFrom",
    "dateTo",
    "rowLimit",
    "sizeLimit",
    "convertHexToDecimal",
    "outputFormat",
    "getLatest",
    "skipErrors",
)


def by_device(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/rawdata/device``."""
    q.allow("deviceCode", *_COMMON)
    return _rawdata(q, sandbox, by_location=False)


def by_location(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/rawdata/location``."""
    q.allow("locationCode", "deviceCategoryCode", *_COMMON)
    return _rawdata(q, sandbox, by_location=True)


def reading_lines(device: Device, values: dict[str, np.ndarray]) -> list[str]:
    """The raw text line of each sample: a SeaBird-like line for CTDs, else comma-separated.

    >>> from intake_onc.sandbox.observatory.tables import OBSERVATORY
    >>> ctd = OBSERVATORY.device("SBECTD19p6813")
    >>> names = [s.code for s in ctd.sensors]
    >>> reading_lines(ctd, {n: np.array([1.5]) for n in names})[0].startswith("#")
    True
    """
    columns = [np.asarray(values[s.code], dtype=float) for s in device.sensors if s.code in values]
    if not columns:
        return []
    ctd = device.category_code.upper().startswith("CTD")
    lines = []
    for row in zip(*columns, strict=True):
        text = ", ".join(f"{v:9.4f}" if np.isfinite(v) else "      nan" for v in row)
        lines.append(f"# {text.strip()}" if ctd else text.strip())
    return lines


def _rawdata(q: Query, sandbox: SandboxContext, *, by_location: bool) -> dict[str, Any]:
    from intake_onc.sandbox.encoders import scalar_pages

    get_latest = q.boolean("getLatest", False)
    q.boolean("convertHexToDecimal", False)
    q.boolean("skipErrors", False)
    start, end = q.dates()
    end = end if end is not None else q.now
    if start is None:
        start = end - pd.Timedelta(days=1)
    if start > end:
        raise wire.date_after_end()
    row_limit = q.row_limit()
    output_format = q.choice("outputFormat", ("array", "object"), "array")
    sources = lookups.data_sources(
        q,
        by_location=by_location,
        start=start,
        end=end,
        product_code="TSSD",
        property_codes=(),
        not_deployed_is_error=by_location,
    )
    device, deployments = sources[0]
    if not device.sensors:
        raise wire.invalid_value(
            "deviceCategoryCode" if by_location else "deviceCode",
            f"Device {device.code} (category {device.category_code}) has no raw data here.",
        )
    deployment = deployments[0] if deployments else OBSERVATORY.deployments_of(device.code)[-1]
    location = OBSERVATORY.location(deployment.location_code)
    times: list[str | None] = []
    readings: list[str] = []
    next_from = None
    if deployments:
        now = sandbox.now() if hasattr(sandbox, "now") else None
        seed = int(getattr(sandbox, "seed", 0))
        page = scalar_pages.scalar_page(
            device.code,
            start,
            end,
            row_limit=row_limit,
            quality="raw",
            seed=seed,
            now=now,
            **({"tail": row_limit} if get_latest else {}),
        )
        rows = page.rows
        readings = reading_lines(device, {s: rows.values[s] for s in rows.values})
        times = scalar_pages.onc_time_strings(rows.times)
        next_from = None if get_latest else page.next_date_from
        stats = getattr(sandbox, "stats", None)
        if stats is not None:
            stats.incr("raw_pages")
    line_types = [" "] * len(readings)
    data: Any = {"lineTypes": line_types, "readings": readings, "times": times}
    if output_format == "object":
        data = [
            {"lineType": t, "rawData": r, "sampleTime": s}
            for t, r, s in zip(line_types, readings, times, strict=True)
        ]
    body: dict[str, Any] = {
        "citations": [OBSERVATORY.citation(device.code, deployment)],
        "data": data,
        "messages": [],
        "metadata": {"locationName": location.name},
        "next": None,
        "outputFormat": output_format,
        "queryUrl": q.url(),
    }
    if next_from is not None and pd.Timestamp(next_from) < end:
        body["next"] = q.next_page(dateFrom=format_onc_date(next_from), dateTo=format_onc_date(end))
    return body
