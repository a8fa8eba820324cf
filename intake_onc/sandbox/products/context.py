"""The typed view of the running sandbox that services and products are written against.

:class:`SandboxContext` names what endpoints and product builders really use of their server
(seed, "now", counters, processing knobs, per-server state), so they can be typed without
importing :mod:`intake_onc.sandbox.transport.server` (a layer above them). The server satisfies
it structurally. Endpoints stay tolerant of a bare object in tests (they read the optional
attributes with ``getattr`` defaults), so this is a static contract only.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

__all__ = ["EventCounter", "SandboxContext"]


class EventCounter(Protocol):
    """The server's counters (:class:`~intake_onc.sandbox.transport.stats.Stats`)."""

    def incr(self, name: str, n: int = 1) -> None: ...


class SandboxContext(Protocol):
    """What an endpoint or product builder may use of the sandbox serving it."""

    #: Seed of the synthetic data.
    seed: int
    #: Simulated processing time factor of data products (0 = ready when built).
    processing_scale: float
    #: Seconds after a run completes until its files are gone (None = never).
    product_expiry_s: float | None
    #: How long run/download wait for a build about to finish before answering 202.
    ready_wait_s: float
    #: Event counters.
    stats: EventCounter
    #: Per-server caches of the archivefile service (created by that service on first use).
    archive_state: Any
    #: Per-server data product requests and runs (created by that service on first use).
    delivery: Any

    def now(self) -> pd.Timestamp:
        """The sandbox's "now" (naive UTC)."""
        ...
