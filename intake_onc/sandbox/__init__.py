"""The sandbox: a local Oceans 3.0 API server with deterministic synthetic data.

It is the other side of the wire (it imports nothing of the package but ``intake_onc._core``)
and the independent oracle the package is tested against. Its layers, from the top:
``transport`` (HTTP server, routes, faults, stats, CLI) > ``services`` (one module per ONC web
service) > ``products`` (data products behind a registry) > ``archive`` (hydrophone archive
files) > ``encoders`` (JSON, WAV/FLAC, MAT/PNG bytes) > ``reference`` (ONC's rules, the oracle) >
``synthetic`` (deterministic data) > ``observatory`` (the facts); each imports only those below.

>>> from intake_onc.sandbox import serve, SANDBOX_TOKEN
>>> with serve(port=0, processing_scale=0) as url:  # doctest: +SKIP
...     ...  # url == "http://127.0.0.1:PORT"

From the shell: ``intake-onc sandbox [--port 8080]``. Light to import: :func:`serve` and
:class:`SandboxServer` are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from intake_onc.sandbox.transport.defaults import SANDBOX_TOKEN

__all__ = ["SANDBOX_TOKEN", "SandboxServer", "serve"]

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.sandbox.transport.server import SandboxServer, serve


def __getattr__(name: str) -> Any:
    if name in ("serve", "SandboxServer"):
        from intake_onc.sandbox.transport import server

        value = getattr(server, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'intake_onc.sandbox' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
