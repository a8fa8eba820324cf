"""The sandbox's HTTP server: a threaded local Oceans 3.0 API.

:class:`SandboxServer` owns a :class:`http.server.ThreadingHTTPServer` (one thread per
connection, HTTP/1.1 keep-alive), the knobs, the counters and the per-server state (data product
requests and runs, caches). :func:`serve` is the context manager tests and scripts use::

    with serve(port=0, processing_scale=0) as url:   # "http://127.0.0.1:PORT", no trailing slash
        requests.get(f"{url}/api/locations", params={"token": SANDBOX_TOKEN})

Every ``/api/`` request goes through, in order: the counters, ``latency_ms``, fault injection,
the token check (401), routing (new paths and the legacy ``method=`` forms), the endpoint, and
the answer (JSON with bare ``NaN`` where ONC sends it, or bytes; HEAD gets the headers only).
That per-request path is :mod:`intake_onc.sandbox.transport.handler`, the route table
:mod:`intake_onc.sandbox.transport.routes` and the counters :mod:`intake_onc.sandbox.transport.stats`; this module
holds the server's knobs, state and life cycle.

Sandbox-only paths (no latency, no faults, not counted):

* ``GET /_sandbox/stats`` — the counters as JSON (see :meth:`Stats.snapshot`); no token
  (read-only counters and knobs);
* ``POST /_sandbox/reset?token=T`` — zero the counters;
* ``POST /_sandbox/faults?queue=503,reset&token=T`` — force the next requests' faults.

The POSTs change the server, so they need the token like ``/api/`` (401 with ONC's body).
Malformed requests (bad ``Content-Length``, oversized body, bad request line, bad
percent-encoding, non-UTF-8 target) get a 400 with a JSON body and the connection closed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from intake_onc.sandbox.services import archivefile, delivery_runs
from intake_onc.sandbox.transport import routes
from intake_onc.sandbox.transport.defaults import SANDBOX_TOKEN
from intake_onc.sandbox.transport.faults import FaultInjector
from intake_onc.sandbox.transport.handler import HTTPServer
from intake_onc.sandbox.transport.routes import Endpoint
from intake_onc.sandbox.transport.stats import Stats

__all__ = ["SandboxServer", "serve"]


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


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
        Fault injection (:mod:`intake_onc.sandbox.transport.faults`): the share of requests that
        misbehave, which kinds, the extra delay of a "slow" answer, ``Retry-After`` of a 429.
    processing_scale
        Simulated data-product processing time: ``processing_scale`` times ONC's figures
        (HSD 25 s per 5-minute file, TSSD 20 s + 1 s per MB: ``products.timing``); 1 is
        ONC-like, 0 = ready as soon as built.
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
    listing_cache_bytes
        Memory budget of the archive-listing cache (a listing over half of it is not kept).
    product_memory_bytes
        Data product files larger than this are kept on disk (a temporary directory removed
        when the run expires or the server stops), not in memory; TSSD CSV/JSON files always
        are, written as they are encoded.
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
        listing_cache_bytes: int = 96 * 1024 * 1024,
        product_memory_bytes: int = 8 * 1024 * 1024,
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
            from intake_onc._core.time import parse_date

            self._now = parse_date(now, argument="now")
        self.faults = FaultInjector(fault_rate, self.seed, fault_kinds)
        self.stats = Stats()
        self.product_memory_bytes = int(product_memory_bytes)
        self.archive_state = archivefile.ArchiveState(file_cache_bytes, int(listing_cache_bytes))
        self.delivery = delivery_runs.DeliveryManager(self)
        self._httpd = HTTPServer((host, int(port)), self)
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
        from intake_onc.sandbox.observatory.tables import OBSERVATORY

        # ONC's catalogue (0.1-0.3 s to build) loads beside the first requests, not before
        # the server answers; a request that needs it waits for it
        threading.Thread(target=OBSERVATORY.load, name="sandbox-catalogue", daemon=True).start()
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
        self._httpd.server_close()
        self.delivery.close()

    def shutdown_from_signal(self) -> None:
        """Ask a :meth:`serve_forever` loop to end (safe from a signal handler)."""
        threading.Thread(target=self._httpd.shutdown, daemon=True).start()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing ------------------------------------------------------------------------------
    def resolve(self, path: str, params: dict[str, str]) -> Endpoint:
        """The endpoint for ``/api/...`` (404 for an unknown service): :func:`.routes.resolve`."""
        return routes.resolve(path, params)


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
