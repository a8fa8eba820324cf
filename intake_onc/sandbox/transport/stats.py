"""The sandbox's counters (thread-safe), served at ``GET /_sandbox/stats``."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from intake_onc.sandbox.transport.faults import KINDS

__all__ = ["Stats"]


class Stats:
    """Thread-safe counters behind ``GET /_sandbox/stats``."""

    #: Event counters other modules bump with :meth:`incr`.
    EVENTS = (
        "products_built",
        "runs_started",
        "archive_files_read",
        "archive_listings_generated",
        "scalar_pages",
        "raw_pages",
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
        whose files were generated; ``archive_files_read``: archive file bodies obtained from
        :mod:`~intake_onc.sandbox.archive.files`, i.e. not served from the server's memory cache;
        ``archive_listings_generated``; ``scalar_pages``; ``raw_pages``; ``delayed``: requests held for
        ``latency_ms``), ``active``/``max_active`` (requests in flight now / at most).
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
