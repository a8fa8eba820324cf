"""Requests and runs of one sandbox server: the data-product delivery state machine.

A :class:`DeliveryManager` per server holds the :class:`ProductRequest` objects ``request``
creates and the :class:`Run` objects ``run`` starts (the endpoints are in
:mod:`intake_onc.sandbox.services.delivery`). Nothing runs on a timer: each state is computed from the
clock when it is asked for. A run builds its files once, in a background thread
(:func:`intake_onc.sandbox.products.registry.build_files`); it is *complete* when the build is done
**and** its simulated processing time has elapsed, and until then it goes through ONC's
:data:`MESSAGES` in order (:meth:`DeliveryManager.phase`). Cancelled runs can be restarted (same
``dpRunId``, clock restarted, files kept); completed runs expire ``product_expiry_s`` later.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from intake_onc.sandbox.observatory.records import DataProduct
from intake_onc.sandbox.products import registry
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import wire
from intake_onc.sandbox.services.wire import Query

__all__ = ["MESSAGES", "DeliveryManager", "ProductRequest", "Run", "manager_of"]

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
    #: ``[(name, bytes | FileBody)]``: large files live on disk under ``directory``.
    files: list[tuple[str, Any]] | None = None
    directory: str | None = None
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
    """Requests and runs of one sandbox server (``sandbox.delivery``)."""

    def __init__(self, sandbox: SandboxContext) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._requests: dict[int, ProductRequest] = {}
        self._runs: dict[int, Run] = {}
        self._request_ids = itertools.count(10_000_001)
        self._run_ids = itertools.count(20_000_001)
        self._spool: str | None = None
        self._closed = False

    # -- files on disk ------------------------------------------------------------------------
    def _run_directory(self, target: Run) -> str | None:
        """A fresh temporary directory for a run's files (under one per server, created on
        first use); None once the manager is closed."""
        with self._lock:
            if self._closed:
                return None
            if self._spool is None:
                self._spool = tempfile.mkdtemp(prefix="intake-onc-sandbox-products-")
            spool = self._spool
        return tempfile.mkdtemp(prefix=f"run-{target.id}-", dir=spool)

    @staticmethod
    def _remove(directory: str | None) -> None:
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def close(self) -> None:
        """Remove every run's files from disk (the server calls this when it stops)."""
        with self._lock:
            self._closed = True
            spool, self._spool = self._spool, None
            for run in self._runs.values():
                run.files = None
                run.meta = None
                run.expired = True
        self._remove(spool)

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
            raise wire.invalid_value("dpRequestId", wire.BAD_SEARCH_HEADER) from None
        with self._lock:
            req = self._requests.get(key)
        if req is None:
            raise wire.invalid_value("dpRequestId", wire.BAD_SEARCH_HEADER)
        return req

    def get_run(self, q: Query) -> Run:
        text = q.require("dpRunId")
        try:
            key = int(text)
        except ValueError:
            raise wire.invalid_value("dpRunId") from None
        with self._lock:
            found = self._runs.get(key)
        if found is None:
            raise wire.invalid_value("dpRunId")
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
            self._remove(target.directory)  # a restart after an error builds again
            target.directory = self._run_directory(target)
            limit = int(self._knob("product_memory_bytes", 8 * 1024 * 1024))
            files: list[tuple[str, Any]] = []
            for device_code in req.devices:
                files.extend(
                    registry.build_files(
                        req, device_code, self.sandbox, target.directory, memory_limit=limit
                    )
                )
            target.files = files
            target.meta = registry.meta_file(req, files, self.sandbox)
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
            target.files = None  # free the memory and the disk
            target.meta = None
            with contextlib.suppress(OSError):
                self._remove(target.directory)
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


def manager_of(sandbox: SandboxContext) -> DeliveryManager:
    """The server's manager (created on first use for a bare object in tests)."""
    manager = getattr(sandbox, "delivery", None)
    if manager is None:
        manager = DeliveryManager(sandbox)
        sandbox.delivery = manager
    return manager
