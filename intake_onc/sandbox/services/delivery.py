"""Data product delivery (onc-api.md §3): request → run → status → download, cancel, restart.

State lives in a :class:`DeliveryManager` per server. Nothing runs on a timer: each answer is
computed from the clock when it is asked for.

Life cycle
----------
``request`` validates everything (product, extension, dates, source, ``dpo_*`` options against
the observatory's :class:`~.observatory.ProductOption` tables) and estimates the output size
(the builders' own estimators); it answers ``dpRequestId``, ``estimatedFileSize`` and
``estimatedProcessingTime`` (``"<int> <unit>"`` strings; units ``B``/``kB``/``MB``/``GB`` and
``s``/``min``/``hour``). The simulated processing time is ``processing_scale`` times ONC's
figures (:mod:`intake_onc.sandbox.products.timing`: HSD 25 s per 5-minute file, TSSD 20 s plus
1 s per MB).

``run`` (first call) creates the run and starts building the files in a background thread
(products are built once per run and kept until the run expires). The run is *complete* when the
build is done **and** the processing time has elapsed; until then ``run`` answers 202 and
``download`` answers 202 ``{"message", "status"}`` with ONC's messages in order: "Generating",
"Running... getting data for time segment 1 of 1.", "Running... writing data products, time range
1 of 1.", "Search complete, waiting on the file system to synchronize (<first file>)",
"Transferring (<first file>) to the FTP server" (the last two only once the files exist). Both
endpoints hold the request up to ``ready_wait_s`` when the run is about to complete, so an
instant product does not cost the client a poll.

``download?dpRunId=&index=``: 200 with the file (``Content-Disposition: attachment;
filename=<name>``, unquoted), ``index=meta`` the metadata XML, 404 past the last index, 204 when
the product has no files (index 1), 410 once the run expired (``product_expiry_s`` after
completion), 400 *without* an ``errors`` key after a cancel (ONC's backend bug), 500 when the
build failed (a sandbox bug). HEAD is answered like GET, without the body.

``status?dpRequestId=`` → ``{"dpRequestId", "searchHdrStatus"}`` with ``OPEN`` (not run yet),
``RUNNING``, ``COMPLETED``, ``CANCELLED`` or ``ERROR`` (only OPEN and COMPLETED are confirmed).
``cancel`` → ``[{"dpRunId", "status": "cancelled"}]`` (``[]`` before any run);
``restart`` resumes a cancelled run under the same ``dpRunId`` (clock restarted, files kept) and
answers like ``run``.

Unknown or malformed ``dpRequestId``: 400/127 "Invalid search header ID"; ``dpRunId``: 400/127.

This module validates requests and answers the endpoints; the state machine (requests, runs,
phases, expiry) is :mod:`intake_onc.sandbox.services.delivery_runs` and the products are built by
:mod:`intake_onc.sandbox.products.registry`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from intake_onc.sandbox.observatory.records import DataProduct, Device
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products import registry
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.products.timing import processing_seconds
from intake_onc.sandbox.services import lookups, wire
from intake_onc.sandbox.services.delivery_runs import (
    MESSAGES,
    manager_of,
)
from intake_onc.sandbox.services.wire import HttpReply, Query, Reply

__all__ = [
    "DISCLAIMER",
    "cancel",
    "download",
    "format_duration",
    "format_size",
    "request",
    "restart",
    "run",
    "status",
]

DISCLAIMER = (
    "Software Developers are implementing estimates of processing times and file sizes for data "
    "requests. These are extremely rough to begin with, but bear with us. We expect these "
    "estimates will gradually improve."
)


_REQUEST_PARAMETERS = (
    "dataProductCode",
    "extension",
    "dateFrom",
    "dateTo",
    "deviceCode",
    "locationCode",
    "deviceCategoryCode",
    "propertyCode",
)


def format_size(nbytes: float) -> str:
    """``"<int> <unit>"`` with decimal units, e.g. ``"151 kB"``."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= factor:
            return f"{int(round(nbytes / factor))} {unit}"
    return f"{int(nbytes)} B"


def format_duration(seconds: float) -> str:
    """``"<int> s"``, ``"<int> min"`` or ``"<int> hour"`` (rounded up)."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{math.ceil(seconds)} s"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)} min"
    return f"{math.ceil(seconds / 3600)} hour"


# ------------------------------------------------------------------------------------------------
# Validation of a request
# ------------------------------------------------------------------------------------------------


def _product(q: Query) -> DataProduct:
    code = q.require("dataProductCode")
    extension = q.require("extension")
    # The observatory's extensions are lower case.
    product = OBSERVATORY.product(lookups.product_code_of(code), extension.lower())
    if product is None:
        raise wire.invalid_value("extension")
    return product


def _check_options(q: Query, product: DataProduct) -> dict[str, str]:
    """The request's ``dpo_*`` options (as given) after ONC's checks (129, 128, 127)."""
    given = {k: (v or "").strip() for k, v in q.params.items() if k.startswith("dpo_")}
    table = {opt.option: opt for opt in product.options}
    unknown = [k for k in given if k not in table]
    if unknown:
        raise wire.unknown_parameter(*unknown)
    for opt in product.options:
        if opt.required and not given.get(opt.option):
            raise wire.missing_parameter(opt.option, opt.allowed)
    for name, value in given.items():
        opt = table[name]
        if value == "":
            continue
        if opt.allowed and value not in opt.allowed:
            # ONC accepts "1" for 1 and the like; numbers are compared as numbers.
            try:
                numeric = float(value)
                match = [a for a in opt.allowed if _is_number(a) and float(a) == numeric]
            except ValueError:
                match = []
            if not match:
                raise wire.invalid_value(
                    name, f"Invalid parameter value.  Expected values: {', '.join(opt.allowed)}"
                )
            given[name] = match[0]
        elif opt.allowable_range is not None:
            lower, upper, only_integers, unit = opt.allowable_range
            try:
                number = float(value)
            except ValueError:
                raise wire.invalid_value(name) from None
            if only_integers and number != int(number):
                raise wire.invalid_value(name)
            if not float(lower) <= number <= float(upper):
                raise wire.invalid_value(
                    name,
                    f"Invalid parameter value.  Expected a value from {lower} to {upper} {unit}",
                )
    return {k: v for k, v in given.items() if v != ""}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sources(
    q: Query, product: DataProduct, start: pd.Timestamp, end: pd.Timestamp
) -> list[Device]:
    """The devices a request reads, with ONC's errors (128, 127, not deployed, restricted)."""
    if q.has("deviceCode"):
        found = lookups.data_sources(
            q, by_location=False, start=start, end=end, product_code=product.code
        )
        device = found[0][0]
        if device.category_code not in product.device_categories:
            raise wire.invalid_value(
                "dataProductCode",
                f"Data product {product.code} ({product.extension}) is not available for device "
                f"{device.code}.",
            )
        return [device]
    if not q.has("locationCode"):
        raise wire.missing_parameter("deviceCode")
    if q.has("deviceCategoryCode"):
        found = lookups.data_sources(
            q,
            by_location=True,
            start=start,
            end=end,
            product_code=product.code,
            property_codes=q.codes("propertyCode"),
        )
    elif q.has("propertyCode"):
        location = lookups.location_of(q.get("locationCode")).code
        props = [lookups.property_code_of(p) for p in q.codes("propertyCode")]
        ever = [
            d
            for d in lookups.matching_deployments(location_codes=[location])
            if any(p.code in props for p in OBSERVATORY.properties_of(d.device_code))
        ]
        if not ever:
            raise wire.invalid_value("propertyCode")
        deps = [d for d in ever if lookups.overlaps(d, start, end)]
        if not deps:
            category = OBSERVATORY.device(ever[0].device_code).category_code
            raise wire.not_deployed_at_location(location, category, start, end)
        found = []
        for code in dict.fromkeys(d.device_code for d in deps):
            device = OBSERVATORY.device(code)
            if device.restricted:
                raise wire.restricted(device.code, product.code)
            found.append((device, [d for d in deps if d.device_code == code]))
    else:
        raise wire.missing_parameter("deviceCategoryCode")
    devices = [device for device, _ in found]
    for device in devices:
        if device.category_code not in product.device_categories:
            raise wire.invalid_value(
                "dataProductCode",
                f"Data product {product.code} ({product.extension}) is not available for device "
                f"category {device.category_code}.",
            )
    return devices


_OPTION_IN_MESSAGE = re.compile(r"\b(dpo_[A-Za-z]+)")


# ------------------------------------------------------------------------------------------------
# Endpoints
# ------------------------------------------------------------------------------------------------


def request(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/dataProductDelivery/request``."""
    q.allow(*_REQUEST_PARAMETERS, prefix="dpo_")
    product = _product(q)
    start, end = q.dates(required=True)
    devices = _sources(q, product, start, end)
    options = _check_options(q, product)
    total = 0
    for device in devices:
        try:
            total += registry.estimate(
                product, device.code, start, end, product.extension, options, sandbox
            )
        except ValueError as exc:
            match = _OPTION_IN_MESSAGE.search(str(exc))
            raise wire.invalid_value(
                match.group(1) if match else "dataProductCode", f"Invalid parameter value: {exc}"
            ) from None
    scale = float(getattr(sandbox, "processing_scale", 1.0))
    span = (end - start).total_seconds() * max(1, len(devices))
    seconds = scale * processing_seconds(product.code, span, total)
    citations = [OBSERVATORY.citation(d.code, at=start) for d in devices]
    req = manager_of(sandbox).add_request(
        product=product,
        extension=product.extension,
        start=start,
        end=end,
        devices=[d.code for d in devices],
        options=options,
        estimated_bytes=total,
        processing_seconds=seconds,
        query_url=q.url(),
        citations=citations,
    )
    return {
        "citations": citations,
        "disclaimer": DISCLAIMER,
        "dpRequestId": req.id,
        "estimatedFileSize": format_size(total),
        "estimatedProcessingTime": format_duration(seconds),
        "messages": [],
        "queryPids": [30_000_000 + req.id % 10_000_000],
        "queryURL": req.query_url,
    }


def status(q: Query, sandbox: SandboxContext) -> dict[str, Any]:
    """``GET /api/dataProductDelivery/status``."""
    q.allow("dpRequestId")
    manager = manager_of(sandbox)
    req = manager.get_request(q)
    return {"dpRequestId": req.id, "searchHdrStatus": manager.search_status(req)}


def run(q: Query, sandbox: SandboxContext) -> Reply:
    """``GET /api/dataProductDelivery/run``: a list of runs; 202 until complete, then 200."""
    q.allow("dpRequestId")
    manager = manager_of(sandbox)
    req = manager.get_request(q)
    target = manager.start_run(req)
    manager.wait_ready(target)
    entry, code = manager.run_entry(target)
    return Reply([entry], code)


def cancel(q: Query, sandbox: SandboxContext) -> list[dict[str, Any]]:
    """``GET /api/dataProductDelivery/cancel``."""
    q.allow("dpRequestId")
    manager = manager_of(sandbox)
    req = manager.get_request(q)
    if req.run is None:
        return []
    req.run.cancelled = True
    return [{"dpRunId": req.run.id, "status": "cancelled"}]


def restart(q: Query, sandbox: SandboxContext) -> Reply:
    """``GET /api/dataProductDelivery/restart``: resume a cancelled run (same dpRunId)."""
    q.allow("dpRequestId")
    manager = manager_of(sandbox)
    req = manager.get_request(q)
    target = manager.start_run(req)
    manager.restart_run(target)
    manager.wait_ready(target)
    entry, code = manager.run_entry(target)
    return Reply([entry], code)


def download(q: Query, sandbox: SandboxContext) -> Reply:
    """``GET|HEAD /api/dataProductDelivery/download?dpRunId=&index=``."""
    from intake_onc.sandbox.services.archivefile import content_type

    q.allow("dpRunId", "index")
    manager = manager_of(sandbox)
    target = manager.get_run(q)
    index_text = q.require("index")
    if index_text.lower() == "meta":
        index: int | None = None
    else:
        try:
            index = int(index_text)
        except ValueError:
            raise wire.invalid_value("index") from None
        if index < 1:
            raise wire.invalid_value("index")

    if target.cancelled:
        raise HttpReply(
            400,
            {
                "message": "The data product request was cancelled. Restart it to download files.",
                "status": "cancelled",
            },
        )
    if manager.is_expired(target):
        raise HttpReply(
            410,
            {
                "message": "The data product files have been deleted from the FTP server. "
                "Request the data product again.",
                "status": "gone",
            },
        )
    manager.wait_ready(target)
    state, phase = manager.phase(target)
    if state == "error":
        raise HttpReply(
            500, {"message": f"Data product generation failed: {target.error}", "status": "error"}
        )
    if state != "complete":
        first = (target.files or [("", b"")])[0][0]
        message = MESSAGES[phase].format(file=first)
        return Reply({"message": message, "status": state}, 202)

    files = target.files or []
    if index is None:
        if target.meta is None:  # expired between the checks
            raise HttpReply(410, {"message": "Gone", "status": "gone"})
        name, body = target.meta
    elif index > len(files):
        if index == 1:
            return Reply(None, 204)
        raise HttpReply(
            404,
            {
                "message": f"Index {index} is past the last file of this run ({len(files)} files).",
                "status": "not found",
            },
        )
    else:
        name, body = files[index - 1]
    return Reply(
        body,
        200,
        {"Content-Type": content_type(name), "Content-Disposition": f"attachment; filename={name}"},
        raw=True,
    )
