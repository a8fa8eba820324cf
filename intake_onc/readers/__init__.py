"""Intake readers for ONC: Intake 2 data types and readers, the ONC tree, and Intake v1 drivers.

* :mod:`~intake_onc.readers.devices` — Intake 2 data types (a scalar device, a hydrophone, a
  location) and their readers; loaded on every ``import intake`` (entry point
  ``intake.imports``), so nothing heavy is imported here;
* :mod:`~intake_onc.readers.tree` — :class:`ONCCatalog`, the whole ONC location tree as a lazily
  expanded Intake catalog;
* :mod:`~intake_onc.readers.legacy` — Intake v1 drivers ``onc`` and ``onc_cat`` (entry point
  ``intake.drivers``: ``driver: onc`` in v1 YAML, ``intake.open_onc(...)``).

Examples
--------
>>> from intake_onc.readers import ONCScalarDevice, ONCScalarReader
>>> ONCScalarReader(ONCScalarDevice("SBECTD19p6813"), start="2024-04-01", end="2024-04-02")
ONCScalarReader reader producing xarray:Dataset
"""

from __future__ import annotations

import importlib
from typing import Any

from intake_onc.readers.devices import (
    CLIENT_OPTIONS,
    ONCAudioReader,
    ONCCustomSpectrogramReader,
    ONCHydrophone,
    ONCLocation,
    ONCLocationReader,
    ONCScalarDevice,
    ONCScalarReader,
    ONCSpectrogramReader,
    client_options,
)

__all__ = [
    "CLIENT_OPTIONS",
    "ONCAudioReader",
    "ONCCatalog",
    "ONCCatalogReader",
    "ONCCustomSpectrogramReader",
    "ONCHydrophone",
    "ONCLocation",
    "ONCLocationReader",
    "ONCScalarDevice",
    "ONCScalarReader",
    "ONCSpectrogramReader",
    "client_options",
]

_LAZY = {
    "ONCCatalog": "intake_onc.readers.tree",
    "ONCCatalogReader": "intake_onc.readers.tree",
    "ONCSource": "intake_onc.readers.legacy",
    "ONCLocationSource": "intake_onc.readers.legacy",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'intake_onc.readers' has no attribute {name!r}")
