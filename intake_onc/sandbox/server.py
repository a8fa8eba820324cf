"""The sandbox's HTTP server: a threaded local Oceans 3.0 API.

:class:`SandboxServer` owns a :class:`http.server.ThreadingHTTPServer` (one thread per
connection, HTTP/1.1 keep-alive), the knobs, the counters and the per-server state (data product
requests and runs, caches). :func:`serve` is the context manager tests and scripts use::

    with serve(port=0, processing_scale=0) as url:   # "http://127.0.0.1:PORT", no trailing slash
        requests.get(f"{url}/api/locations", params={"token": SANDBOX_TOKEN})

Every ``/api/`` request goes through, in order: the counters, ``latency_ms``, fault injection,
the token check (401), routing (new paths and the legacy ``method=`` forms), the endpoint, and
the answer (JSON with bare ``NaN`` where ONC sends it, or bytes; HEAD gets the headers only).

Sandbox-only paths (no token, no latency, no faults, not counted):

* ``GET /_sandbox/stats`` — the counters as JSON (see :meth:`Stats.snapshot`);
* ``POST /_sandbox/reset`` — zero the counters;
* ``POST /_sandbox/faults?queue=503,reset`` — force the next requests' faults.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

from intake_onc.sandbox import SANDBOX_TOKEN, archive, delivery, discovery, errors, scalardata
from intake_onc.sandbox.errors import HttpReply, Query, Reply
from intake_onc.sandbox.faults import KINDS, FaultInjector

__all__ = ["SANDBOX_TOKEN", "SandboxServer", "Stats", "serve"]


Endpoint = Callable[[Query, "SandboxServer"], Any]

#: New-style services (``/api/<service>``).
ROUTES: dict[str, Endpoint] = {
    "locations": discovery.locations,
    "locations/tree": discovery.locations_tree,
    "deployments": discovery.deployments,
    "devices": discovery.devices,
    "deviceCategories": discovery.device_categories,
    "properties": discovery.properties,
    "dataProducts": discovery.data_products,
    "dataAvailability/dataproducts": discovery.data_availability,
    "archivefile/device": archive.by_device,
    "archivefile/location": archive.by_location,
    "archivefile/download": archive.download,
    "scalardata/device": scalardata.by_device,
    "scalardata/location": scalardata.by_location,
    "dataProductDelivery/request": delivery.request,
    "dataProductDelivery/run": delivery.run,
    "dataProductDelivery/status": delivery.status,
    "dataProductDelivery/download": delivery.download,
    "dataProductDelivery/cancel": delivery.cancel,
    "dataProductDelivery/restart": delivery.restart,
}

_ARCHIVE_LEGACY = {
    "getlistbydevice": "archivefile/device",
    "getlistbylocation": "archivefile/location",
    "getfile": "archivefile/download",
    "getlist": None,  # by device when deviceCode is given, else by location
}

#: Legacy services (``/api/<base>?method=<m>``), method names lower-cased.
LEGACY: dict[str, dict[str, str | None]] = {
    "locations": {"get": "locations", "gettree": "locations/tree"},
    "deployments": {"get": "deployments"},
    "devices": {"get": "devices"},
    "devicecategories": {"get": "deviceCategories"},
    "properties": {"get": "properties"},
    "dataproducts": {"get": "dataProducts"},
    "archivefiles": _ARCHIVE_LEGACY,
    "archivefile": _ARCHIVE_LEGACY,
    "scalardata": {
        "getbylocation": "scalardata/location",
        "getbydevice": "scalardata/device",
    },
    "dataproductdelivery": {
        name.lower(): f"dataProductDelivery/{name}"
        for name in ("request", "run", "status", "download", "cancel", "restart")
    },
}

_ROUTES_LOWER = {path.lower(): path for path in ROUTES}
_TOKEN_RE = re.compile(r"(token=)[^&\s]*")


def redact(text: str) -> str:
    """``text`` with every ``token=...`` value replaced by ``***``."""
    return _TOKEN_RE.sub(r"\1***", text)


# ------------------------------------------------------------------------------------------------
# Counters
# ------------------------------------------------------------------------------------------------


class Stats:
    """Thread-safe counters behind ``GET /_sandbox/stats``."""

    #: Event counters other modules bump with :meth:`incr`.
    EVENTS = (
        "products_built",
        "runs_started",
        "archive_files_read",
        "archive_listings_generated",
        "scalar_pages",
        "delayed",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.paths: Counter[str] = Counter()
            self.methods: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            self.bytes_sent = 0
            self.faults = 0
            self.faults_by_kind: Counter[str] = Counter({k: 0 for k in KINDS})
            self.events: Counter[str] = Counter({k: 0 for k in self.EVENTS})
            self.active = 0
            self.max_active = 0

    def incr(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.events[name] += n

    def begin(self, path: str, method: str) -> None:
        with self._lock:
            self.requests += 1
            self.paths[path] += 1
            self.methods[method] += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def end(self) -> None:
        with self._lock:
            self.active -= 1

    def answered(self, status: int, nbytes: int) -> None:
        with self._lock:
            self.statuses[str(status)] += 1
            self.bytes_sent += nbytes

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults += 1
            self.faults_by_kind[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-able dict.

        ``requests`` (``/api/`` requests, GET and HEAD), ``paths`` (per request path),
        ``methods``, ``statuses``, ``bytes_sent`` (body bytes written), ``faults`` and
        ``faults_by_kind``, the events of :attr:`EVENTS` (``products_built``: data product runs
        whose files were generated; ``archive_files_read``: archive file bodies obtained from the
        audio module, i.e. not served from the server's memory cache; ``archive_listings_generated``; ``scalar_pages``;
        ``delayed``: requests held for ``latency_ms``), ``active``/``max_active`` (requests in
        flight now / at most).
        """
        with self._lock:
            return {
                "requests": self.requests,
                "paths": dict(self.paths),
                "methods": dict(self.methods),
                "statuses": dict(self.statuses),
                "bytes_sent": self.bytes_sent,
                "faults": self.faults,
                "faults_by_kind": dict(self.faults_by_kind),
                **{k: int(v) for k, v in self.events.items()},
                "active": self.active,
                "max_active": self.max_active,
            }


# ------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        from intake_onc._dates import format_onc_date

        return format_onc_date(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """ONC-style JSON: compact, UTF-8, non-finite floats as bare ``NaN`` (as ONC sends them)."""
    return json.dumps(body, allow_nan=True, separators=(",", ":"), default=_json_default).encode(
        "utf-8"
    )


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (and the faults we inject) are not server errors.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)  # pragma: no cover


class SandboxServer:
    """A local Oceans 3.0 API server with deterministic synthetic data.

    Parameters
    ----------
    host, port
        Where to listen (default ``127.0.0.1``, port 0 = any free port).
    token
        The one token accepted (default :data:`SANDBOX_TOKEN`).
    seed
        Seed of the synthetic data and of the fault draws.
    latency_ms
        Delay added to every ``/api/`` answer.
    fault_rate, fault_kinds, fault_slow_ms, retry_after_s
        Fault injection (:mod:`intake_onc.sandbox.faults`): the share of requests that
        misbehave, which kinds, the extra delay of a "slow" answer, ``Retry-After`` of a 429.
    processing_scale
        Simulated data-product processing time: ``processing_scale * (2 s + 1 s per MB of
        estimated output)``; 0 = ready as soon as built.
    product_expiry_s
        Seconds after a run completes until its files are gone (download → 410).
    ready_wait_s
        How long ``run``/``download`` hold a request for a build that is about to finish
        before answering 202 (keeps instant products from costing a client poll).
    now
        Freeze "now" (end of ongoing deployments, duration dates, 25 checks) at this time;
        default: the real current time.
    file_cache_bytes
        Memory budget of the archive-file cache.
    verbose
        Log each request (token redacted) to stderr.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str = SANDBOX_TOKEN,
        seed: int = 0,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        processing_scale: float = 1.0,
        fault_kinds: tuple[str, ...] | list[str] | None = None,
        fault_slow_ms: float = 2000.0,
        retry_after_s: int = 1,
        product_expiry_s: float | None = 7 * 86400.0,
        ready_wait_s: float = 0.5,
        now: object = None,
        file_cache_bytes: int = 256 * 1024 * 1024,
        verbose: bool = False,
    ) -> None:
        if not token:
            raise ValueError("token: expected a non-empty string")
        if latency_ms < 0 or fault_slow_ms < 0:
            raise ValueError("latency_ms and fault_slow_ms must be >= 0")
        if processing_scale < 0:
            raise ValueError(f"processing_scale: expected >= 0, got {processing_scale!r}")
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        self.token = token
        self.seed = int(seed)
        self.latency_ms = float(latency_ms)
        self.processing_scale = float(processing_scale)
        self.fault_slow_ms = float(fault_slow_ms)
        self.retry_after_s = int(retry_after_s)
        self.product_expiry_s = product_expiry_s
        self.ready_wait_s = float(ready_wait_s)
        self.verbose = verbose
        self._now = None
        if now is not None:
            from intake_onc._dates import parse_date

            self._now = parse_date(now, argument="now")
        self.faults = FaultInjector(fault_rate, self.seed, fault_kinds)
        self.stats = Stats()
        self.archive_state = archive.ArchiveState(file_cache_bytes)
        self.delivery = delivery.DeliveryManager(self)
        self._httpd = _HTTPServer((host, int(port)), self)
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        self._serving_thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- properties ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (no trailing slash)."""
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def fault_rate(self) -> float:
        return self.faults.rate

    def now(self) -> pd.Timestamp:
        """The sandbox's "now" (naive UTC)."""
        if self._now is not None:
            return self._now
        return pd.Timestamp.now(tz="UTC").tz_localize(None).as_unit("ns")

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        """Serve in a background (daemon) thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, name=f"intake-onc-sandbox-{self.port}", daemon=True
            )
            self._thread.start()
            self._serving.wait(timeout=5)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or
        :meth:`shutdown_from_signal` (from a signal handler of this thread)."""
        self._serving_thread = threading.current_thread()
        self._serving.set()
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self._serving.clear()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._serving.is_set() and threading.current_thread() is not self._serving_thread:
            self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.delivery.close()
        self._httpd.server_close()

    def shutdown_from_signal(self) -> None:
        """Ask a :meth:`serve_forever` loop to end (safe from a signal handler)."""
        threading.Thread(target=self._httpd.shutdown, daemon=True).start()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_stats(self) -> None:
        self.stats.reset()

    # -- routing ------------------------------------------------------------------------------
    def resolve(self, path: str, params: dict[str, str]) -> Endpoint:
        """The endpoint for ``/api/...`` (404 for an unknown service)."""
        service = path[len("/api/") :].strip("/")
        method = (params.get("method") or "").strip()
        canonical = _ROUTES_LOWER.get(service.lower())
        methods = LEGACY.get(service.lower())
        if canonical is not None and (not method or methods is None):
            # A new-style path; a method= there (the official client's pre-filled download
            # URL has one) changes nothing.
            return ROUTES[canonical]
        if methods is None:
            raise errors.not_found(f"Unknown service: /api/{service}")
        if not method:
            raise errors.missing_parameter("method")
        if method.lower() not in methods:
            raise errors.invalid_value("method")
        target = methods[method.lower()]
        if target is None:  # archivefiles?method=getList
            target = "archivefile/device" if params.get("deviceCode") else "archivefile/location"
        return ROUTES[target]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "intake-onc-sandbox"
    sys_version = ""
    timeout = 120
    server: _HTTPServer

    # -- logging ------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.sandbox.verbose:
            sys.stderr.write("sandbox: " + redact(format % args) + "\n")

    # -- verbs --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self._handle(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(head=True)

    def do_POST(self) -> None:  # noqa: N802
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if split.path.startswith("/_sandbox/"):
            self._sandbox_path(split.path, dict(parse_qsl(split.query)), head=False)
        else:
            self._send(
                Reply({"message": "Only GET and HEAD are supported."}, 405, {"Allow": "GET, HEAD"}),
                head=False,
            )

    # -- main path ----------------------------------------------------------------------------
    def _handle(self, head: bool) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = split.path
        params: dict[str, str] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            params.setdefault(name, value)

        if path.startswith("/_sandbox/"):
            self._sandbox_path(path, params, head)
            return
        if not path.startswith("/api/"):
            self._send(Reply.from_exception(errors.not_found(f"Unknown path: {path}")), head)
            return

        stats = sandbox.stats
        stats.begin(path, self.command)
        try:
            if sandbox.latency_ms > 0:
                stats.incr("delayed")
                time.sleep(sandbox.latency_ms / 1000.0)
            fault = sandbox.faults.decide()
            if fault is not None:
                stats.fault(fault)
                if fault == "reset":
                    self._reset_connection()
                    return
                if fault in ("500", "503", "429"):
                    self._send(self._fault_reply(fault), head)
                    return
            reply = self._dispatch(path, params)
            if fault == "slow":
                time.sleep(sandbox.fault_slow_ms / 1000.0)
            self._send(reply, head, truncate=fault == "truncate")
        finally:
            stats.end()

    def _dispatch(self, path: str, params: dict[str, str]) -> Reply:
        sandbox = self.server.sandbox
        try:
            if params.get("token") != sandbox.token:
                raise errors.bad_token()
            endpoint = sandbox.resolve(path, params)
            host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
            query = Query(params, base_url=f"http://{host}", path=path, now=sandbox.now())
            result = endpoint(query, sandbox)
            return result if isinstance(result, Reply) else Reply(result)
        except HttpReply as exc:
            return Reply.from_exception(exc)
        except Exception as exc:  # a sandbox bug: say so loudly, keep serving
            traceback.print_exc(file=sys.stderr)
            return Reply(
                {
                    "message": f"Sandbox internal error: {type(exc).__name__}: {redact(str(exc))}",
                    "status": "error",
                },
                500,
            )

    def _fault_reply(self, kind: str) -> Reply:
        sandbox = self.server.sandbox
        if kind == "429":
            return Reply(
                {"message": "Too Many Requests (sandbox fault injection)", "status": 429},
                429,
                {"Retry-After": str(sandbox.retry_after_s)},
            )
        if kind == "503":
            return Reply(
                {
                    "message": "Service Unavailable: the server is under maintenance "
                    "(sandbox fault injection)",
                    "status": 503,
                },
                503,
            )
        return Reply(
            {"message": "Internal Server Error (sandbox fault injection)", "status": 500}, 500
        )

    # -- sandbox paths ------------------------------------------------------------------------
    def _sandbox_path(self, path: str, params: dict[str, str], head: bool) -> None:
        sandbox = self.server.sandbox
        name = path[len("/_sandbox/") :].strip("/")
        if name == "stats":
            body = sandbox.stats.snapshot()
            body["config"] = {
                "seed": sandbox.seed,
                "latency_ms": sandbox.latency_ms,
                "fault_rate": sandbox.fault_rate,
                "fault_kinds": list(sandbox.faults.kinds),
                "processing_scale": sandbox.processing_scale,
                "product_expiry_s": sandbox.product_expiry_s,
            }
            self._send(Reply(body), head, count=False)
        elif name == "reset" and self.command == "POST":
            sandbox.stats.reset()
            self._send(Reply({"message": "counters reset"}), head, count=False)
        elif name == "faults" and self.command == "POST":
            try:
                kinds = [k.strip() or None for k in params.get("queue", "").split(",") if k.strip()]
                sandbox.faults.queue(*kinds)
            except ValueError as exc:
                self._send(Reply({"message": str(exc)}, 400), head, count=False)
                return
            self._send(Reply({"queued": kinds}), head, count=False)
        else:
            self._send(Reply({"message": f"Unknown sandbox path: {path}"}, 404), head, count=False)

    # -- writing ------------------------------------------------------------------------------
    def _send(
        self, reply: Reply, head: bool, *, truncate: bool = False, count: bool = True
    ) -> None:
        if reply.status == 204:
            body = b""
        elif reply.raw:
            body = reply.body if isinstance(reply.body, (bytes, bytearray)) else bytes(reply.body)
        else:
            body = dumps(reply.body)
        headers = dict(reply.headers)
        if not reply.raw:
            headers.setdefault("Content-Type", "application/json;charset=utf-8")
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        if not head and body:
            if truncate:
                body = body[: len(body) // 2]
            try:
                self.wfile.write(body)
                sent = len(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        if truncate:
            with contextlib.suppress(OSError):
                self.wfile.flush()
        if count:
            self.server.sandbox.stats.answered(reply.status, sent)

    def _reset_connection(self) -> None:
        """Abort the TCP connection (RST), without sending a byte."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            fd = self.connection.detach()
            os.close(fd)


# ------------------------------------------------------------------------------------------------
# serve()
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = SANDBOX_TOKEN,
    seed: int = 0,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    processing_scale: float = 1.0,
    **knobs: Any,
) -> Iterator[str]:
    """Run a sandbox for the duration of a ``with`` block; yields its base URL.

    The URL is ``http://127.0.0.1:PORT`` without a trailing slash (the official ``onc`` client
    wants ``baseUrl = url + "/"``). Other knobs: see :class:`SandboxServer`.

    Examples
    --------
    >>> import requests
    >>> with serve(processing_scale=0) as url:
    ...     r = requests.get(f"{url}/api/locations", params={"token": SANDBOX_TOKEN,
    ...                                                     "locationCode": "BACAX"})
    >>> r.json()[0]["locationName"]
    'Barkley Canyon Axis'
    """
    server = SandboxServer(
        host,
        port,
        token=token,
        seed=seed,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        processing_scale=processing_scale,
        **knobs,
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
