"""Data product delivery (onc-api.md §3): request → run → status → download, cancel, restart.

State lives in a :class:`DeliveryManager` per server. Nothing runs on a timer: each answer is
computed from the clock when it is asked for.

Life cycle
----------
``request`` validates everything (product, extension, dates, source, ``dpo_*`` options against
the observatory's :class:`~.observatory.ProductOption` tables) and estimates the output size
(the builders' own estimators); it answers ``dpRequestId``, ``estimatedFileSize`` and
``estimatedProcessingTime`` (``"<int> <unit>"`` strings; units ``B``/``kB``/``MB``/``GB`` and
``s``/``min``/``hour``). The simulated processing time is
``processing_scale * (2 s + 1 s per MB of estimate)``.

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
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from intake_onc._dates import format_onc_date
from intake_onc.sandbox import discovery, errors
from intake_onc.sandbox.errors import HttpReply, Query, Reply
from intake_onc.sandbox.observatory import OBSERVATORY, DataProduct, Device

__all__ = [
    "DISCLAIMER",
    "MESSAGES",
    "DeliveryManager",
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

#: ONC's download messages while a run is not complete, in order.
MESSAGES = (
    "Generating",
    "Running... getting data for time segment 1 of 1.",
    "Running... writing data products, time range 1 of 1.",
    "Search complete, waiting on the file system to synchronize ({file})",
    "Transferring ({file}) to the FTP server",
)
#: Fraction of the processing time at which each message starts.
_PHASES = (0.0, 0.1, 0.4, 0.7, 0.85)

BASE_SECONDS = 2.0
SECONDS_PER_MB = 1.0

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
# State
# ------------------------------------------------------------------------------------------------


@dataclass
class ProductRequest:
    id: int
    product: DataProduct
    extension: str
    start: pd.Timestamp
    end: pd.Timestamp
    devices: list[str]
    options: dict[str, str]
    estimated_bytes: int
    processing_seconds: float
    query_url: str
    citations: list[dict[str, Any]]
    run: Run | None = None


@dataclass
class Run:
    id: int
    request: ProductRequest
    started_at: float
    ready_at: float
    built: threading.Event = field(default_factory=threading.Event)
    built_at: float | None = None
    files: list[tuple[str, bytes]] | None = None
    meta: tuple[str, bytes] | None = None
    error: str | None = None
    cancelled: bool = False
    expired: bool = False
    thread: threading.Thread | None = None

    @property
    def complete_at(self) -> float | None:
        if not self.built.is_set() or self.built_at is None:
            return None
        return max(self.ready_at, self.built_at)


class DeliveryManager:
    """Requests and runs of one sandbox server."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._requests: dict[int, ProductRequest] = {}
        self._runs: dict[int, Run] = {}
        self._request_ids = itertools.count(10_000_001)
        self._run_ids = itertools.count(20_000_001)
        self._closed = False

    # -- config -------------------------------------------------------------------------------
    def _knob(self, name: str, default: Any) -> Any:
        return getattr(self.sandbox, name, default)

    def clock(self) -> float:
        return time.monotonic()

    # -- look-ups -----------------------------------------------------------------------------
    def add_request(self, **kwargs: Any) -> ProductRequest:
        with self._lock:
            req = ProductRequest(id=next(self._request_ids), **kwargs)
            self._requests[req.id] = req
        return req

    def get_request(self, q: Query) -> ProductRequest:
        text = q.require("dpRequestId")
        try:
            key = int(text)
        except ValueError:
            raise errors.invalid_value("dpRequestId", errors.BAD_SEARCH_HEADER) from None
        with self._lock:
            req = self._requests.get(key)
        if req is None:
            raise errors.invalid_value("dpRequestId", errors.BAD_SEARCH_HEADER)
        return req

    def get_run(self, q: Query) -> Run:
        text = q.require("dpRunId")
        try:
            key = int(text)
        except ValueError:
            raise errors.invalid_value("dpRunId") from None
        with self._lock:
            found = self._runs.get(key)
        if found is None:
            raise errors.invalid_value("dpRunId")
        return found

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, req: ProductRequest) -> Run:
        with self._lock:
            if req.run is not None:
                return req.run
            now = self.clock()
            new = Run(
                id=next(self._run_ids),
                request=req,
                started_at=now,
                ready_at=now + req.processing_seconds,
            )
            req.run = new
            self._runs[new.id] = new
        self._count("runs_started")
        self._start_build(new)
        return new

    def _start_build(self, target: Run) -> None:
        thread = threading.Thread(
            target=self._build, args=(target,), name=f"sandbox-run-{target.id}", daemon=True
        )
        target.thread = thread
        thread.start()

    def _build(self, target: Run) -> None:
        req = target.request
        try:
            files: list[tuple[str, bytes]] = []
            for device_code in req.devices:
                files.extend(_build_files(req, device_code, self.sandbox))
            target.files = files
            target.meta = _meta_file(req, files, self.sandbox)
        except Exception as exc:  # reported by download as a 500
            target.error = f"{type(exc).__name__}: {exc}"
        finally:
            target.built_at = self.clock()
            target.built.set()
            self._count("products_built")

    def restart_run(self, target: Run) -> None:
        with self._lock:
            if not target.cancelled:
                return
            now = self.clock()
            target.cancelled = False
            target.started_at = now
            target.ready_at = now + target.request.processing_seconds
        if target.built.is_set() and target.error is not None:
            target.built.clear()
            target.error = None
            target.built_at = None
            self._start_build(target)

    def close(self) -> None:
        self._closed = True

    def _count(self, name: str) -> None:
        stats = getattr(self.sandbox, "stats", None)
        if stats is not None:
            stats.incr(name)

    # -- state --------------------------------------------------------------------------------
    def wait_ready(self, target: Run) -> None:
        """Hold the caller up to ``ready_wait_s`` when the run is about to complete."""
        grace = float(self._knob("ready_wait_s", 0.5))
        if grace <= 0 or target.cancelled:
            return
        deadline = self.clock() + grace
        if target.ready_at > deadline:
            return
        while True:
            now = self.clock()
            complete_at = target.complete_at
            if complete_at is not None and complete_at <= now:
                return
            if now >= deadline:
                return
            if not target.built.is_set():
                target.built.wait(timeout=deadline - now)
            else:
                time.sleep(max(0.0, min(deadline, target.ready_at) - now))

    def is_expired(self, target: Run) -> bool:
        expiry = self._knob("product_expiry_s", None)
        complete_at = target.complete_at
        if target.expired:
            return True
        if expiry is None or complete_at is None or target.cancelled:
            return False
        if self.clock() > complete_at + float(expiry):
            target.expired = True
            target.files = None  # free the memory
            target.meta = None
            return True
        return False

    def phase(self, target: Run) -> tuple[str, int]:
        """``(state, message index)``; state is queued|running|complete|cancelled|error."""
        if target.cancelled:
            return "cancelled", -1
        now = self.clock()
        built = target.built.is_set()
        if built and target.error is not None:
            return "error", -1
        complete_at = target.complete_at
        if complete_at is not None and complete_at <= now:
            return "complete", -1
        total = max(target.ready_at - target.started_at, 1e-9)
        fraction = (now - target.started_at) / total
        index = max(i for i, start in enumerate(_PHASES) if fraction >= start)
        if not built:
            index = min(index, 2)
        return ("queued" if index == 0 else "running"), index

    def run_entry(self, target: Run) -> tuple[dict[str, Any], int]:
        state, _ = self.phase(target)
        if state == "complete":
            return {
                "dpRunId": target.id,
                "fileCount": len(target.files or []),
                "status": "complete",
            }, 200
        if state == "cancelled":
            return {"dpRunId": target.id, "fileCount": 0, "status": "cancelled"}, 200
        if state == "error":
            return {"dpRunId": target.id, "fileCount": 0, "status": "error"}, 200
        text = "queued" if state == "queued" else "data product running"
        return {"dpRunId": target.id, "fileCount": 0, "status": text}, 202

    def search_status(self, req: ProductRequest) -> str:
        if req.run is None:
            return "OPEN"
        state, _ = self.phase(req.run)
        return {
            "complete": "COMPLETED",
            "cancelled": "CANCELLED",
            "error": "ERROR",
        }.get(state, "RUNNING")


def _manager(sandbox: Any) -> DeliveryManager:
    manager = getattr(sandbox, "delivery", None)
    if manager is None:
        manager = DeliveryManager(sandbox)
        sandbox.delivery = manager
    return manager


# ------------------------------------------------------------------------------------------------
# Builders (the data modules)
# ------------------------------------------------------------------------------------------------


def _seed_now(sandbox: Any) -> tuple[int, Any]:
    return int(getattr(sandbox, "seed", 0)), (sandbox.now() if hasattr(sandbox, "now") else None)


def _estimate(
    req_product: DataProduct,
    device_code: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    extension: str,
    options: dict[str, str],
    sandbox: Any,
) -> int:
    seed, now = _seed_now(sandbox)
    if req_product.code == "TSSD":
        from intake_onc.sandbox import tssd

        return int(
            tssd.estimate_tssd_size(device_code, start, end, options, extension=extension, now=now)
        )
    if req_product.code == "HSD":
        from intake_onc.sandbox import hsd

        return int(
            hsd.estimate_hsd_size(device_code, start, end, extension, options, seed=seed, now=now)
        )
    if req_product.code == "AD":
        return _estimate_audio(device_code, start, end, extension, options, seed, now)
    raise ValueError(f"dataProductCode: {req_product.code} cannot be built by the sandbox")


def _estimate_audio(
    device_code: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    extension: str,
    options: dict[str, str],
    seed: int,
    now: Any,
) -> int:
    from intake_onc.sandbox import audio

    device = OBSERVATORY.device(device_code)
    spec = device.audio
    duration = pd.Timedelta(seconds=spec.file_seconds)
    files = audio.list_archive_files(device_code, start - duration, end, seed=seed, now=now)
    files = files[(files["kind"] == "audio") & (files["end_time"] > start)]
    if options.get("dpo_audioFormatConversion", "0") != "1":
        files = files[files["filename"].str.endswith("." + extension)]
    rate = int(float(options.get("dpo_audioDownsample", "-1")))
    scale = rate / spec.sample_rate if 0 < rate < spec.sample_rate else 1.0
    return int(files["fileSize"].sum() * scale)


def _build_files(req: ProductRequest, device_code: str, sandbox: Any) -> list[tuple[str, bytes]]:
    seed, now = _seed_now(sandbox)
    args = (device_code, req.start, req.end, req.extension, dict(req.options))
    if req.product.code == "TSSD":
        from intake_onc.sandbox import tssd

        return list(tssd.build_tssd_files(*args, seed=seed, now=now))
    if req.product.code == "HSD":
        from intake_onc.sandbox import hsd

        return list(hsd.build_hsd_files(*args, seed=seed, now=now))
    if req.product.code == "AD":
        from intake_onc.sandbox import audio

        return list(audio.build_audio_product_files(*args, seed=seed, now=now))
    raise ValueError(f"dataProductCode: {req.product.code} cannot be built by the sandbox")


def _meta_file(
    req: ProductRequest, files: list[tuple[str, bytes]], sandbox: Any
) -> tuple[str, bytes]:
    _, now = _seed_now(sandbox)
    device_code = req.devices[0]
    if req.product.code == "TSSD":
        from intake_onc.sandbox import tssd_writers

        name = tssd_writers.metadata_filename(
            device_code,
            req.start,
            req.end,
            req.extension,
            req.options,
            files=[n for n, _ in files],
        )
        body = tssd_writers.metadata_xml(
            device_code,
            req.start,
            req.end,
            req.extension,
            req.options,
            files=[(n, len(b)) for n, b in files],
            now=now,
        )
        return name, body
    if files:
        stem = files[0][0].rsplit(".", 1)[0]
    else:
        stem = f"{device_code}_{req.start:%Y%m%dT%H%M%S}.000Z-{req.product.code}"
    name = f"{stem}_{req.extension.upper()}_META.xml"
    return name, _generic_meta_xml(req, files, now)


def _generic_meta_xml(req: ProductRequest, files: list[tuple[str, bytes]], now: Any) -> bytes:
    created = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    root = ET.Element("dataProductMetadata", {"creationDate": format_onc_date(created)})
    ET.SubElement(
        root,
        "dataProduct",
        {"code": req.product.code, "name": req.product.name, "extension": req.extension},
    )
    ET.SubElement(
        root,
        "request",
        {"dateFrom": format_onc_date(req.start), "dateTo": format_onc_date(req.end)},
    )
    for device_code in req.devices:
        device = OBSERVATORY.device(device_code)
        ET.SubElement(
            root,
            "device",
            {
                "deviceCode": device.code,
                "deviceName": device.name,
                "deviceId": str(device.device_id),
                "deviceCategoryCode": device.category_code,
            },
        )
    given = ET.SubElement(root, "options")
    for key in sorted(req.options):
        ET.SubElement(given, "option", {"name": key, "value": req.options[key]})
    listing = ET.SubElement(root, "files")
    for name, body in files:
        ET.SubElement(listing, "file", {"name": name, "size": str(len(body))})
    for citation in req.citations:
        ET.SubElement(root, "citation", {"doi": str(citation["doi"])}).text = citation["citation"]
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ------------------------------------------------------------------------------------------------
# Validation of a request
# ------------------------------------------------------------------------------------------------


def _product(q: Query) -> DataProduct:
    code = q.require("dataProductCode")
    extension = q.require("extension")
    canonical = discovery.product_code_of(code)
    for product in OBSERVATORY.data_products:
        if product.code == canonical and product.extension.lower() == extension.lower():
            return product
    raise errors.invalid_value("extension")


def _check_options(q: Query, product: DataProduct) -> dict[str, str]:
    """The request's ``dpo_*`` options (as given) after ONC's checks (129, 128, 127)."""
    given = {k: (v or "").strip() for k, v in q.params.items() if k.startswith("dpo_")}
    table = {opt.option: opt for opt in product.options}
    unknown = [k for k in given if k not in table]
    if unknown:
        raise errors.unknown_parameter(*unknown)
    for opt in product.options:
        if opt.required and not given.get(opt.option):
            raise errors.missing_parameter(opt.option, opt.allowed)
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
                raise errors.invalid_value(
                    name, f"Invalid parameter value.  Expected values: {', '.join(opt.allowed)}"
                )
            given[name] = match[0]
        elif opt.allowable_range is not None:
            lower, upper, only_integers, unit = opt.allowable_range
            try:
                number = float(value)
            except ValueError:
                raise errors.invalid_value(name) from None
            if only_integers and number != int(number):
                raise errors.invalid_value(name)
            if not float(lower) <= number <= float(upper):
                raise errors.invalid_value(
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
        found = discovery.data_sources(
            q, by_location=False, start=start, end=end, product_code=product.code
        )
        device = found[0][0]
        if device.category_code not in product.device_categories:
            raise errors.invalid_value(
                "dataProductCode",
                f"Data product {product.code} ({product.extension}) is not available for device "
                f"{device.code}.",
            )
        return [device]
    if not q.has("locationCode"):
        raise errors.missing_parameter("deviceCode")
    if q.has("deviceCategoryCode"):
        found = discovery.data_sources(
            q,
            by_location=True,
            start=start,
            end=end,
            product_code=product.code,
            property_codes=q.codes("propertyCode"),
        )
    elif q.has("propertyCode"):
        location = discovery.location_of(q.get("locationCode")).code
        props = [discovery.property_code_of(p) for p in q.codes("propertyCode")]
        ever = [
            d
            for d in discovery.matching_deployments(location_codes=[location])
            if any(p.code in props for p in OBSERVATORY.properties_of(d.device_code))
        ]
        if not ever:
            raise errors.invalid_value("propertyCode")
        deps = [d for d in ever if discovery.overlaps(d, start, end)]
        if not deps:
            category = OBSERVATORY.device(ever[0].device_code).category_code
            raise errors.not_deployed_at_location(location, category, start, end)
        found = []
        for code in dict.fromkeys(d.device_code for d in deps):
            device = OBSERVATORY.device(code)
            if device.restricted:
                raise errors.restricted(device.code, product.code)
            found.append((device, [d for d in deps if d.device_code == code]))
    else:
        raise errors.missing_parameter("deviceCategoryCode")
    devices = [device for device, _ in found]
    for device in devices:
        if device.category_code not in product.device_categories:
            raise errors.invalid_value(
                "dataProductCode",
                f"Data product {product.code} ({product.extension}) is not available for device "
                f"category {device.category_code}.",
            )
    return devices


_OPTION_IN_MESSAGE = re.compile(r"\b(dpo_[A-Za-z]+)")


# ------------------------------------------------------------------------------------------------
# Endpoints
# ------------------------------------------------------------------------------------------------


def request(q: Query, sandbox: Any) -> dict[str, Any]:
    """``GET /api/dataProductDelivery/request``."""
    q.allow(*_REQUEST_PARAMETERS, prefix="dpo_")
    product = _product(q)
    start, end = q.dates(required=True)
    devices = _sources(q, product, start, end)
    options = _check_options(q, product)
    total = 0
    for device in devices:
        try:
            total += _estimate(
                product, device.code, start, end, product.extension, options, sandbox
            )
        except ValueError as exc:
            match = _OPTION_IN_MESSAGE.search(str(exc))
            raise errors.invalid_value(
                match.group(1) if match else "dataProductCode", f"Invalid parameter value: {exc}"
            ) from None
    scale = float(getattr(sandbox, "processing_scale", 1.0))
    seconds = scale * (BASE_SECONDS + SECONDS_PER_MB * total / 1e6)
    citations = [OBSERVATORY.citation(d.code) for d in devices]
    req = _manager(sandbox).add_request(
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


def status(q: Query, sandbox: Any) -> dict[str, Any]:
    """``GET /api/dataProductDelivery/status``."""
    q.allow("dpRequestId")
    manager = _manager(sandbox)
    req = manager.get_request(q)
    return {"dpRequestId": req.id, "searchHdrStatus": manager.search_status(req)}


def run(q: Query, sandbox: Any) -> Reply:
    """``GET /api/dataProductDelivery/run``: a list of runs; 202 until complete, then 200."""
    q.allow("dpRequestId")
    manager = _manager(sandbox)
    req = manager.get_request(q)
    target = manager.start_run(req)
    manager.wait_ready(target)
    entry, code = manager.run_entry(target)
    return Reply([entry], code)


def cancel(q: Query, sandbox: Any) -> list[dict[str, Any]]:
    """``GET /api/dataProductDelivery/cancel``."""
    q.allow("dpRequestId")
    manager = _manager(sandbox)
    req = manager.get_request(q)
    if req.run is None:
        return []
    req.run.cancelled = True
    return [{"dpRunId": req.run.id, "status": "cancelled"}]


def restart(q: Query, sandbox: Any) -> Reply:
    """``GET /api/dataProductDelivery/restart``: resume a cancelled run (same dpRunId)."""
    q.allow("dpRequestId")
    manager = _manager(sandbox)
    req = manager.get_request(q)
    target = manager.start_run(req)
    manager.restart_run(target)
    manager.wait_ready(target)
    entry, code = manager.run_entry(target)
    return Reply([entry], code)


def download(q: Query, sandbox: Any) -> Reply:
    """``GET|HEAD /api/dataProductDelivery/download?dpRunId=&index=``."""
    from intake_onc.sandbox.archive import content_type

    q.allow("dpRunId", "index")
    manager = _manager(sandbox)
    target = manager.get_run(q)
    index_text = q.require("index")
    if index_text.lower() == "meta":
        index: int | None = None
    else:
        try:
            index = int(index_text)
        except ValueError:
            raise errors.invalid_value("index") from None
        if index < 1:
            raise errors.invalid_value("index")

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
