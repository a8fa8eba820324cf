"""Shared fixtures: local Oceans 3.0 sandboxes for every test that talks to the API.

Fixtures
--------
``sandbox_url`` (session)
    ``"http://127.0.0.1:PORT"`` (no trailing slash) of one sandbox shared by the whole session:
    seed 0, ``processing_scale=0`` (data products are ready as soon as they are built), no
    latency, no faults, the real "now". Fine for anything that does not change server-wide
    state. Its counters are shared too: compare two :func:`sandbox_stats` snapshots instead of
    reading absolute values.
``sandbox_token`` (session)
    The token it accepts: :data:`intake_onc.sandbox.SANDBOX_TOKEN`.
``make_sandbox`` (function)
    A factory for sandboxes with custom knobs, stopped when the test ends::

        url = make_sandbox(latency_ms=50, fault_rate=0.3, fault_kinds=["503"], seed=7)
        server = make_sandbox.server(url)        # the SandboxServer, e.g. server.faults.queue("503")

    Keywords are those of :class:`intake_onc.sandbox.SandboxServer` (``token``, ``seed``,
    ``latency_ms``, ``fault_rate``, ``fault_kinds``, ``fault_slow_ms``, ``retry_after_s``,
    ``processing_scale``, ``product_expiry_s``, ``ready_wait_s``, ``now``, ...);
    ``processing_scale`` defaults to 0 here.
``sandbox_stats`` (function)
    ``sandbox_stats(url) -> dict``: the server's ``GET /_sandbox/stats`` counters (``requests``,
    ``paths``, ``statuses``, ``bytes_sent``, ``faults``, ``faults_by_kind``, ``products_built``,
    ``archive_files_read``, ``delayed``, ``max_active``, ...).

Keep tests small and fast: the 8 kHz hydrophone ``ICLISTENHF6093`` and hours (not weeks) of
``SBECTD19p6813`` data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

try:  # a checkout that is not pip-installed: make the package importable
    import intake_onc  # noqa: F401
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import settings  # noqa: E402

from intake_onc.sandbox import SANDBOX_TOKEN  # noqa: E402

# CI runs property tests with a fixed seed (a failure there is reproducible, never flaky);
# developers' runs stay random and keep finding new examples.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


class _SandboxFactory:
    """``make_sandbox(**knobs) -> url``; ``make_sandbox.server(url)`` -> the SandboxServer."""

    def __init__(self) -> None:
        self._servers: dict[str, object] = {}

    def __call__(self, **knobs: object) -> str:
        from intake_onc.sandbox import SandboxServer

        knobs.setdefault("processing_scale", 0.0)
        server = SandboxServer(**knobs).start()
        self._servers[server.url] = server
        return server.url

    def server(self, url: str):
        return self._servers[url]

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


@pytest.fixture(scope="session")
def sandbox_token() -> str:
    return SANDBOX_TOKEN


@pytest.fixture(scope="session")
def sandbox_url():
    from intake_onc.sandbox import serve

    with serve(port=0, processing_scale=0) as url:
        yield url


@pytest.fixture
def make_sandbox():
    factory = _SandboxFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def sandbox_stats():
    import requests

    def stats(url: str) -> dict:
        response = requests.get(f"{url}/_sandbox/stats", timeout=30)
        response.raise_for_status()
        return response.json()

    return stats
