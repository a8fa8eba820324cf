"""How long ONC takes to process a data product order, before ``processing_scale``.

ONC's own figures (onc-api.md; the official client's tutorial): an HSD spectrogram order takes
about 25 s per 5-minute audio file it covers, and a small TSSD order about 20 s, with its
estimate shown as ``estimatedProcessingTime``. The sandbox models:

* ``HSD``: 25 s per 5-minute file (at least one);
* ``AD``: 5 s, plus 2 s per file (a copy of archived audio, with optional conversion);
* ``TSSD``/others: 20 s, plus 1 s per MB of the estimated output.

The server multiplies by ``processing_scale`` (1 = ONC-like; the tests use 0 and the demo a
small value).

Examples
--------
>>> processing_seconds("HSD", 1800.0, 10_000_000)
150.0
>>> processing_seconds("TSSD", 86400.0, 2_000_000)
22.0
"""

from __future__ import annotations

import math

__all__ = ["processing_seconds"]

_FILE_SECONDS = 300.0


def processing_seconds(product_code: str, span_seconds: float, estimated_bytes: int) -> float:
    """ONC-like processing time (s) of an order covering ``span_seconds`` of data."""
    files = max(1, math.ceil(max(0.0, span_seconds) / _FILE_SECONDS))
    if product_code == "HSD":
        return 25.0 * files
    if product_code == "AD":
        return 5.0 + 2.0 * files
    return 20.0 + estimated_bytes / 1e6
