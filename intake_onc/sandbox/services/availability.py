"""``dataAvailability/dataproducts`` (onc-api.md §2): archived products per device and extension.

Computed from the archive listing (:func:`intake_onc.sandbox.services.archivefile.device_files_by_kind`:
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
        files, file_extensions, file_products = archivefile.device_files_by_kind(
            sandbox, device_code, lo, hi
        )
        if files.empty:
            continue
        # The listing's file names end in lower-case extensions, so the lower-cased extensions
        # are the files' own.
        files = files.assign(extension=file_extensions, product=file_products)
        keep = np.ones(len(files), dtype=bool)
        if filters.product is not None:
            keep &= file_products == filters.product
        if extension is not None:
            keep &= file_extensions == extension.lower()
        if not keep.all():
            files = files[keep]
        if files.empty:
            continue
        nominal = float(device.audio.file_seconds)
        files = files.assign(
            coverage=((files["end_time"] - files["start_time"]).dt.total_seconds() / nominal).clip(
                upper=1.0
            ),
            day=files["start_time"].dt.floor("D"),
        )
        keys = ["product", "extension"] + (["day"] if group_by == "day" else [])
        for _key, group in files.groupby(keys, sort=True):
            items.append(_availability_item(device_code, group))
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


def _availability_item(device_code: str, group: pd.DataFrame) -> dict[str, Any]:
    cov = group["coverage"].to_numpy(dtype="float64")
    i_min, i_max = int(cov.argmin()), int(cov.argmax())
    return {
        "averageFileCoverage": round(float(cov.mean()), 4),
        "dataProductCode": str(group["product"].iloc[0]),
        "dateFrom": format_onc_date(group["start_time"].min()),
        "dateTo": format_onc_date(group["end_time"].max()),
        "deviceCode": device_code,
        "extension": str(group["extension"].iloc[0]),
        "fileCount": int(len(group)),
        "maxFileCoverage": round(float(cov[i_max]), 4),
        "maxFileCoverageDate": format_onc_date(group["start_time"].iloc[i_max]),
        "minFileCoverage": round(float(cov[i_min]), 4),
        "minFileCoverageDate": format_onc_date(group["start_time"].iloc[i_min]),
        "totalFileSize": int(group["fileSize"].sum()),
        "totalUncompressedFileSize": int(group["uncompressedFileSize"].sum()),
    }
