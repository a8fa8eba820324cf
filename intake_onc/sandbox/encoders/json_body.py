"""JSON bodies as ONC sends them: compact UTF-8, bare ``NaN`` for non-finite floats, numpy
scalars/arrays and ``pd.Timestamp`` (ONC's date format) converted."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["dumps"]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        from intake_onc._core.time import format_onc_date

        return format_onc_date(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """ONC-style JSON: compact, UTF-8, non-finite floats as bare ``NaN`` (as ONC sends them)."""
    return json.dumps(body, allow_nan=True, separators=(",", ":"), default=_json_default).encode(
        "utf-8"
    )
