"""Downloading for analysis: request windows, deployment checks, organised fetches, event datasets.

This package is what today's hydrophone download tooling does, as a library first and a command
line on top (:mod:`intake_onc.downloads.cli`):

* :mod:`~intake_onc.downloads.window` — :class:`Window`, one time window of one device, and
  :func:`windows`, the continuous range;
* request parsing (Python objects, JSON, CSV, DataFrames), sampling N windows, deployment checks;
* :func:`fetch` — organised, resumable downloads with a summary and citations;
* :func:`open_events` — one lazy xarray object with an ``event`` dimension.

It sits above :mod:`intake_onc.datasets` and the client (it uses both) and below the CLI.
"""

from intake_onc.downloads.deployments import check_windows, sample_windows
from intake_onc.downloads.events import open_events
from intake_onc.downloads.fetch import FetchResult, fetch
from intake_onc.downloads.requests import RequestError, parse_requests
from intake_onc.downloads.window import Window, windows

__all__ = [
    "FetchResult",
    "RequestError",
    "Window",
    "check_windows",
    "fetch",
    "open_events",
    "parse_requests",
    "sample_windows",
    "windows",
]
