"""Small helpers on pandas tables shared by the client and the audio assembly (no HTTP)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STR_DTYPE", "column_array", "sorted_by_time_then_name"]

#: The dtype pandas gives a column of Python strings ("str" in pandas 3, object before).
STR_DTYPE = pd.Series(["x"]).dtype


def column_array(column: pd.Series) -> Any:
    """The values of ``column`` for a new DataFrame column, without the round trip through
    Python objects when the column already has the dtype pandas would infer again.

    Examples
    --------
    >>> column_array(pd.Series(["a", "b"]))[[1]].tolist()
    ['b']
    """
    if column.dtype == STR_DTYPE:
        return column.array
    return column.to_numpy()


def sorted_by_time_then_name(table: pd.DataFrame, time_column: str, name_column: str) -> bool:
    """Whether ``table`` is already in ``sort_values([time_column, name_column])`` order.

    An O(n) check, no sort; ``False`` when unsure (missing times, names that do not compare).

    Examples
    --------
    >>> t = pd.DataFrame({"start": pd.to_datetime(["2024-01-01", "2024-01-01"]), "name": ["a", "b"]})
    >>> sorted_by_time_then_name(t, "start", "name")
    True
    """
    times = table[time_column]
    if times.isna().any():
        return False
    diff = np.diff(times.to_numpy("datetime64[ns]").view("int64"))
    if (diff > 0).all():
        return True
    if (diff < 0).any():
        return False
    names = table[name_column].to_numpy()
    try:
        return all(names[i] <= names[i + 1] for i in np.flatnonzero(diff == 0).tolist())
    except TypeError:
        return False
