"""``dataAvailability/dataproducts`` (onc-api.md §2): archived products per device and extension.

Computed from the archive listing's numbers (:func:`intake_onc.sandbox.services.archivefile.device_files_by_kind`:
hydrophones' audio and spectrogram files; scalar devices have no archived products in the
sandbox).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import archivefile
from intake_onc.sandbox.services.lookups import Filters, overlaps
from intake_onc.sandbox.services.wire import Query

__all__ = ["data_availability"]

_AVAILABILITY_FILTERS = (
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "propertyCode",
    "dateFrom",
    "dateTo",
    "dataProductCode",
    "extension",
    "minimumCoverage",
    "maximumCoverage",
    "getLatest",
    "groupBy",
    "mergeGaps",
    "includeEmptyDays",
    "rowLimit",
)


def data_availability(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/dataAvailability/dataproducts``: archived products per device and extension.

    Computed from the archive listing (hydrophones' audio and spectrogram files; scalar devices
    have no archived products in the sandbox). ``groupBy=day`` gives one item per UTC day
    (chosen); ``getLatest=true`` keeps the latest day of each group; ``minimumCoverage``/
    ``maximumCoverage`` (0–100 %, chosen) filter on the average file coverage; ``mergeGaps`` and
    ``includeEmptyDays`` are accepted and have no effect.
    """
    q.allow(*_AVAILABILITY_FILTERS)
    filters = Filters(
        q, ("locationCode", "deviceCategoryCode", "deviceCode", "propertyCode", "dataProductCode")
    )
    start, end = q.dates()
    group_by = q.choice("groupBy", ("device", "location", "day"), "device")
    get_latest = q.boolean("getLatest", False)
    q.boolean("mergeGaps", False)
    q.boolean("includeEmptyDays", False)
    row_limit = q.row_limit()
    min_cov = q.number("minimumCoverage")
    max_cov = q.number("maximumCoverage")
    extension = q.get("extension")
    deps = filters.deployments()
    deps = [d for d in deps if overlaps(d, start, end)]
    items: list[dict[str, Any]] = []
    for device_code in dict.fromkeys(d.device_code for d in deps):
        device = OBSERVATORY.device(device_code)
        if device.restricted or device.audio is None:
            continue
        lo = (
            start
            if start is not None
            else min(d.begin for d in deps if d.device_code == device_code)
        )
        hi = end if end is not None else q.now
        files = archivefile.device_files_by_kind(sandbox, device_code, lo, hi)
        wanted = [
            (product, ext, code)
            for code, (ext, product) in enumerate(
                zip(files.extensions, files.products, strict=True)
            )
            if (filters.product is None or product == filters.product)
            and (extension is None or ext == extension.lower())
        ]
        nominal_ns = float(device.audio.file_seconds) * 1e9
        items.extend(
            _availability_items(device_code, files, sorted(wanted), nominal_ns, group_by == "day")
        )
    if get_latest and items:
        latest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for item in items:
            k = (item["deviceCode"], item["dataProductCode"], item["extension"])
            if k not in latest or item["dateTo"] > latest[k]["dateTo"]:
                latest[k] = item
        items = list(latest.values())
    if min_cov is not None:
        items = [i for i in items if i["averageFileCoverage"] * 100.0 >= min_cov]
    if max_cov is not None:
        items = [i for i in items if i["averageFileCoverage"] * 100.0 <= max_cov]
    return {
        "availableDataProducts": items[:row_limit],
        "messages": [],
        "next": None,
        "queryUrl": q.url(),
    }


_DAY_NS = 86_400 * 10**9


def _availability_items(
    device_code: str,
    files: archivefile.FileNumbers,
    wanted: list[tuple[str, str, int]],
    nominal_ns: float,
    by_day: bool,
) -> list[dict[str, Any]]:
    """One item per (product, extension[, UTC day]) group of a device's files, in that order.

    numpy over the listing's numbers: a device's whole archive is up to a few million files,
    which a pandas group-by took about 1.3 s for (an unfiltered request over the sandbox's 94
    hydrophones: 65 s, past a client's timeout).
    """
    items = []
    for product, ext, code in wanted:
        rows = np.flatnonzero(files.codes == code)
        if not len(rows):
            continue
        start, end = files.start_ns[rows], files.end_ns[rows]
        coverage = np.minimum((end - start) / nominal_ns, 1.0)
        size = files.size[rows]
        if by_day:  # rows are sorted by start: each day is a run of rows
            day = start // _DAY_NS
            cuts = np.flatnonzero(np.diff(day)) + 1
        else:
            cuts = np.empty(0, dtype=np.int64)
        for part in np.split(np.arange(len(rows)), cuts):
            items.append(
                _availability_item(
                    device_code,
                    product,
                    ext,
                    start[part],
                    end[part],
                    coverage[part],
                    int(size[part].sum()),
                )
            )
    return items


def _availability_item(
    device_code: str,
    product: str,
    ext: str,
    start: np.ndarray,
    end: np.ndarray,
    cov: np.ndarray,
    total_size: int,
) -> dict[str, Any]:
    i_min, i_max = int(cov.argmin()), int(cov.argmax())

    def date(ns: int) -> str:
        return format_onc_date(pd.Timestamp(int(ns), unit="ns"))

    return {
        "averageFileCoverage": round(float(cov.mean()), 4),
        "dataProductCode": product,
        "dateFrom": date(start.min()),
        "dateTo": date(end.max()),
        "deviceCode": device_code,
        "extension": ext,
        "fileCount": len(start),
        "maxFileCoverage": round(float(cov[i_max]), 4),
        "maxFileCoverageDate": date(start[i_max]),
        "minFileCoverage": round(float(cov[i_min]), 4),
        "minFileCoverageDate": date(start[i_min]),
        "totalFileSize": total_size,
        "totalUncompressedFileSize": total_size,
    }
