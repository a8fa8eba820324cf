"""``scalardata/device`` and ``scalardata/location`` (onc-api.md §5).

A thin wrapper: the rows come from :func:`intake_onc.sandbox.encoders.scalar_pages.scalar_page` (the same
pipeline as the TSSD products, so a page is an exact slice of one series); this module checks
the query, picks the device, and writes ONC's JSON.

Parameters and choices:

* ``deviceCode`` (device) or ``locationCode`` + ``deviceCategoryCode`` (location) are required
  (128); ``propertyCode`` (comma list) keeps the sensors measuring those properties.
* ``dateFrom``/``dateTo``: default ``dateTo`` = now and ``dateFrom`` = ``dateTo`` − 1 day
  (chosen; with ``getLatest=true``: no lower bound); 23/25 as everywhere.
* ``rowLimit``: rows per sensor per page, default and maximum 100,000. ``next`` =
  ``{"parameters": {all parameters, token included, dateFrom = next page start (full ISO),
  dateTo normalised to full ISO}, "url": ...}``; null on the last page.
* ``qualityControl`` ``raw`` (default, chosen) | ``clean``; ``fillGaps`` (default false);
  ``resampleType`` ``avg``|``minMax``|``minMaxAvg`` with ``resamplePeriod`` seconds (required
  then, 128).
* ``outputFormat`` ``array`` (default) | ``object`` (``data`` = ``[{sampleTime, value,
  qaqcFlag, ...}]``); ``metadata`` ``Minimum`` (default) | ``Full`` (adds ``metadata``);
  ``returnOptions=excludeScalarData`` (sensors without ``data``); ``sensorCategoryCodes``
  (comma list; none matching → 127); ``getLatest=true`` (the last ``rowLimit`` rows before
  ``dateTo``, no ``next``); ``sensorsToInclude`` and ``byDeployment`` are accepted and ignored.
* No data: ``scalardata/device`` outside its deployments → 200 with ``sensorData: null``;
  ``scalardata/location`` → 400/127 "not deployed". The restricted device → 400/127.
* Values may be bare ``NaN`` (as ONC sends them).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory.records import Deployment, Device
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import lookups, wire
from intake_onc.sandbox.services.wire import Query

__all__ = ["by_device", "by_location"]

_COMMON = (
    "propertyCode",
    "sensorCategoryCodes",
    "dateFrom",
    "dateTo",
    "metadata",
    "rowLimit",
    "outputFormat",
    "returnOptions",
    "getLatest",
    "qualityControl",
    "resampleType",
    "resamplePeriod",
    "fillGaps",
    "sensorsToInclude",
    "byDeployment",
)
_RESAMPLE = {"avg": "avg", "average": "avg", "minmax": "minMax", "minmaxavg": "minMaxAvg"}


def _pages():
    from intake_onc.sandbox.encoders import scalar_pages

    return scalar_pages


def by_device(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/scalardata/device``."""
    q.allow("deviceCode", *_COMMON)
    return _scalardata(q, sandbox, by_location=False)


def by_location(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/scalardata/location``."""
    q.allow("locationCode", "deviceCategoryCode", *_COMMON)
    return _scalardata(q, sandbox, by_location=True)


def _options(q: Query) -> dict[str, Any]:
    resample_type = None
    text = q.get("resampleType")
    if text is not None and text.lower() != "none":
        resample_type = _RESAMPLE.get(text.lower())
        if resample_type is None:
            raise wire.invalid_value("resampleType")
    period = None
    if resample_type is not None:
        if not q.has("resamplePeriod"):
            raise wire.missing_parameter("resamplePeriod")
        period = q.number("resamplePeriod")
        if period is None or period <= 0 or (86400.0 / period) != int(86400.0 / period):
            raise wire.invalid_value("resamplePeriod")
    return {
        "quality": q.choice("qualityControl", ("raw", "clean"), "raw"),
        "fill_gaps": q.boolean("fillGaps", False),
        "resample_type": resample_type,
        "resample_period": period,
    }


def _sensors(q: Query, device: Device) -> list[str]:
    """The device's sensorCodes kept by ``propertyCode`` and ``sensorCategoryCodes``."""
    chosen = list(device.sensors)
    props = [lookups.property_code_of(p) for p in q.codes("propertyCode")]
    if props:
        chosen = [s for s in chosen if s.property_code in props]
        if not chosen:
            raise wire.invalid_value("propertyCode")
    categories = q.codes("sensorCategoryCodes")
    if categories:
        chosen = [s for s in chosen if s.category_code in categories]
        if not chosen:
            raise wire.invalid_value("sensorCategoryCodes")
    return [s.code for s in chosen]


def _metadata(device: Device, deployment: Deployment) -> dict[str, Any]:
    location = OBSERVATORY.location(deployment.location_code)
    return {
        "bbox": {
            "maxDepth": deployment.depth,
            "maxLat": deployment.lat,
            "maxLon": deployment.lon,
            "minDepth": deployment.depth,
            "minLat": deployment.lat,
            "minLon": deployment.lon,
        },
        "depth": deployment.depth,
        "deviceCategoryCode": device.category_code,
        "deviceCode": device.code,
        "lat": deployment.lat,
        "locationCode": location.code,
        "locationName": location.name,
        "lon": deployment.lon,
    }


def _scalardata(q: Query, sandbox: SandboxContext, *, by_location: bool) -> dict[str, Any]:
    from intake_onc.sandbox.reference.rules import QAQC_FLAG_INFO

    pages = _pages()
    get_latest = q.boolean("getLatest", False)
    start, end = q.dates()
    end = end if end is not None else q.now
    if start is None:
        # getLatest looks back as far as needed; otherwise the last day (chosen).
        start = pd.Timestamp("1970-01-01") if get_latest else end - pd.Timedelta(days=1)
    if start > end:
        raise wire.date_after_end()
    row_limit = q.row_limit()
    output_format = q.choice("outputFormat", ("array", "object"), "array")
    metadata = q.choice("metadata", ("Minimum", "Full"), "Minimum")
    exclude = q.choice("returnOptions", ("excludeScalarData", "all", "default"), None)
    q.boolean("byDeployment", False)
    options = _options(q)

    sources = lookups.data_sources(
        q,
        by_location=by_location,
        start=start,
        end=end,
        product_code="TSSD",
        property_codes=q.codes("propertyCode") if by_location else (),
        not_deployed_is_error=by_location,
    )
    device, deployments = sources[0]
    if not device.sensors:
        raise wire.invalid_value(
            "deviceCategoryCode" if by_location else "deviceCode",
            f"Device {device.code} (category {device.category_code}) has no scalar data.",
        )
    sensors = _sensors(q, device)
    deployment = deployments[0] if deployments else OBSERVATORY.deployments_of(device.code)[-1]

    body: dict[str, Any] = {
        "citations": [OBSERVATORY.citation(device.code, deployment)],
        "messages": [],
    }
    if metadata == "Full":
        body["metadata"] = _metadata(device, deployment)
    body["next"] = None
    parameters = {k: v for k, v in q.params.items() if k not in ("token", "method")}
    parameters.update(dateFrom=format_onc_date(start), dateTo=format_onc_date(end))
    body["parameters"] = parameters
    body["qaqcFlagInfo"] = dict(QAQC_FLAG_INFO)
    body["queryUrl"] = q.url()

    if exclude == "excludeScalarData":
        body["sensorData"] = [
            dict(sorted({**meta, "outputFormat": output_format}.items()))
            for meta in pages.sensor_metadata(device.code, sensors)
        ]
        return body
    if not deployments:
        body["sensorData"] = None
        return body

    now = sandbox.now() if hasattr(sandbox, "now") else None
    seed = int(getattr(sandbox, "seed", 0))
    if get_latest:
        page = _latest_page(device, deployments, start, end, row_limit, sensors, options, seed, now)
        next_from = None
    else:
        page = pages.scalar_page(
            device.code,
            start,
            end,
            row_limit=row_limit,
            sensors=sensors,
            seed=seed,
            now=now,
            **options,
        )
        next_from = page.next_date_from
    stats = getattr(sandbox, "stats", None)
    if stats is not None:
        stats.incr("scalar_pages")
    items = page.sensor_data(output_format)
    # ONC's (alphabetical) key order
    body["sensorData"] = None if items is None else [dict(sorted(i.items())) for i in items]
    if next_from is not None and pd.Timestamp(next_from) < end:
        body["next"] = q.next_page(dateFrom=format_onc_date(next_from), dateTo=format_onc_date(end))
    return body


def _latest_page(
    device: Device,
    deployments: list[Deployment],
    start: pd.Timestamp,
    end: pd.Timestamp,
    row_limit: int,
    sensors: list[str],
    options: dict[str, Any],
    seed: int,
    now: Any,
) -> Any:
    """The last ``row_limit`` rows before ``end`` (a page ending at the last reading)."""
    pages = _pages()
    last = deployments[-1]
    hi = end if last.end is None else min(end, last.end)
    period = max((r.sample_period for r in device.ratings), default=1.0)
    if options["resample_period"]:
        period = max(period, float(options["resample_period"]))
    window = pd.Timedelta(seconds=row_limit * period * 1.5) + pd.Timedelta(hours=3)
    lo = max(start, hi - window)
    return pages.scalar_page(
        device.code,
        lo,
        hi,
        row_limit=10 * row_limit + 100_000,
        sensors=sensors,
        seed=seed,
        now=now,
        tail=row_limit,
        **options,
    )
