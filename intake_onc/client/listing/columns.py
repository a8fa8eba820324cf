"""Columns of a JSON list of flat records: :class:`StrColumn` and :class:`RecordColumns`.

What :mod:`~intake_onc.client.listing.json_columns` reads an ONC listing into, and what the listing
table (:mod:`~intake_onc.client.listing.table`) builds its frame from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RecordColumns", "StrColumn"]


class StrColumn:
    """A column of ASCII strings: their bytes back to back and ``n + 1`` offsets, or (for
    strings of one length) an ``(n, width)`` uint8 array, which may be a view of the answer.

    Examples
    --------
    >>> col = StrColumn(np.frombuffer(b"abcde", np.uint8), np.array([0, 2, 5]))
    >>> col.tolist(), col.width
    (['ab', 'cde'], None)
    >>> StrColumn.of_width(np.frombuffer(b"abcd", np.uint8).reshape(2, 2)).tolist()
    ['ab', 'cd']
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self._data: np.ndarray | None = data
        self._offsets: np.ndarray | None = offsets.astype(np.int64, copy=False)
        self._chars: np.ndarray | None = None

    @classmethod
    def of_width(cls, chars: np.ndarray) -> StrColumn:
        """Strings of one length from an ``(n, width)`` uint8 array (kept as it is: the time
        columns are parsed from such views without ever being copied)."""
        col = cls.__new__(cls)
        col._data = col._offsets = None
        col._chars = chars
        return col

    @property
    def data(self) -> np.ndarray:
        """The strings' bytes, back to back."""
        if self._data is None:  # a copy: a frame built from it must not hold the whole answer
            self._data = self._chars.copy().reshape(-1)
        return self._data

    @property
    def offsets(self) -> np.ndarray:
        """Where each string starts in :attr:`data` (and where the last one ends)."""
        if self._offsets is None:
            n, width = self._chars.shape
            self._offsets = np.arange(n + 1, dtype=np.int64) * width
        return self._offsets

    def __len__(self) -> int:
        return len(self._chars) if self._chars is not None else len(self.offsets) - 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StrColumn):
            return False
        if self._chars is not None and other._chars is not None:
            # first rows first: columns that differ usually do there (a full compare: 3 ms)
            return (
                self._chars.shape == other._chars.shape
                and np.array_equal(self._chars[:1], other._chars[:1])
                and np.array_equal(self._chars, other._chars)
            )
        return np.array_equal(self.offsets, other.offsets) and np.array_equal(self.data, other.data)

    @property
    def width(self) -> int | None:
        """The length every value has, or None when they differ."""
        if self._chars is not None:
            return self._chars.shape[1]
        n = len(self)
        if n == 0 or len(self.data) % n:
            return None
        width = len(self.data) // n
        return width if np.array_equal(self.offsets, np.arange(n + 1) * width) else None

    def chars(self, width: int) -> np.ndarray | None:
        """The values as an ``(n, width)`` uint8 array, or None when any has another length."""
        if self.width != width:
            return None
        return self._chars if self._chars is not None else self.data.reshape(len(self), width)

    def to_arrow(self) -> Any:
        """A ``pyarrow.LargeStringArray`` over the same bytes (no copy)."""
        import pyarrow as pa

        return pa.LargeStringArray.from_buffers(
            len(self), pa.py_buffer(self.offsets), pa.py_buffer(self.data)
        )

    def tolist(self) -> list[str]:
        """The values as Python strings."""
        return self.to_arrow().to_pylist()

    def to_pandas(self) -> Any:
        """What pandas makes of the list of these strings: its ``str`` dtype (pandas 3, arrow
        backed, no copy here) or an object array (pandas 2)."""
        import pandas as pd

        dtype = pd.Series(["x"]).dtype  # follows pandas' version and options, as a list would
        if dtype == np.dtype(object):
            return self.to_arrow().to_numpy(zero_copy_only=False)
        return pd.array(self.to_arrow(), dtype=dtype)


class RecordColumns:
    """A JSON list of flat records, column by column.

    ``keys`` are the records' keys in their order; ``columns[key]`` is an int64 array (integer
    values), a :class:`StrColumn` (strings) or a list of ``None`` (null).
    """

    def __init__(self, keys: list[str], columns: dict[str, Any], n: int) -> None:
        self.keys = keys
        self.columns = columns
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"RecordColumns({self.n} records: {', '.join(self.keys)})"

    def kinds(self) -> tuple[tuple[str, type], ...]:
        """``(key, column type)`` pairs: records of two pages with equal kinds agree."""
        return tuple((k, type(self.columns[k])) for k in self.keys)

    def to_records(self) -> list[dict[str, Any]]:
        """The records as ``json.loads`` gives them (dicts of str, int and None)."""
        values = [
            col.tolist() if not isinstance(col, list) else col
            for col in (self.columns[k] for k in self.keys)
        ]
        return [dict(zip(self.keys, row, strict=True)) for row in zip(*values, strict=True)]
