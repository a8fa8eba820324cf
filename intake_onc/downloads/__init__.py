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
