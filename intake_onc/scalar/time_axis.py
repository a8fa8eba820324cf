"""The time axis of a scalar Dataset: its typical step, and exact sample times on a nominal grid.

Two small jobs shared by the gap, resampling and dataset code:

* :func:`median_step_ns`: the median time step, the sample period of last resort
  (semantics.md, "Data gaps"), without sorting tens of millions of steps;
* :func:`exact_times_ns`: the exact time of each sample of a Dataset on a nominal grid
  (``open_scalar``): the grid time plus ``time_offset``, to the millisecond like ONC's times.

Examples
--------
>>> import numpy as np
>>> median_step_ns(np.array([0, 10, 20, 35, 45], dtype=np.int64))
10
>>> exact_times_ns(np.array([0, 10**9]), np.float32([0.227, np.nan])).tolist()
[227000000, -9223372036854775808]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NAT_NS",
    "SAMPLED_STEPS",
    "exact_times_ns",
    "fixed_step_ns",
    "index_ns",
    "median_step_ns",
]

NAT_NS = np.iinfo(np.int64).min
_NS_PER_S = 10**9
_NS_PER_MS = 10**6

#: Above this many steps, the median is taken over this many evenly spaced steps. Measured on
#: 1e7 steps (2 cores, numpy 2.4): the exact median (np.diff + np.median) takes 54 ms, a third of
#: an ONC minMaxAvg resample of the same data (150 ms), while 65,536 evenly spaced steps take
#: 1.5 ms. For regular sampling (ONC's devices: one rating at a time) the two are identical; for
#: irregular sampling the result is the median of an even sample of the steps.
SAMPLED_STEPS = 1 << 16


def median_step_ns(t: np.ndarray) -> int:
    """Median step (ns) of sorted int64 times; exact up to :data:`SAMPLED_STEPS` steps.

    Parameters
    ----------
    t
        Sorted ``int64`` nanoseconds, at least two of them.

    Returns
    -------
    int
        The median of ``t[i + 1] - t[i]``, over every step when there are at most
        :data:`SAMPLED_STEPS` of them, else over that many evenly spaced steps.
    """
    steps = len(t) - 1
    if steps < 1:
        raise ValueError("the median time step needs at least two time stamps")
    if steps <= SAMPLED_STEPS:
        return int(np.median(np.diff(t)))
    first = np.linspace(0, steps - 1, SAMPLED_STEPS).astype(np.int64)
    return int(np.median(t[first + 1] - t[first]))


def exact_times_ns(nominal_ns: np.ndarray, offset_s: np.ndarray) -> np.ndarray:
    """Exact sample times: nominal grid times plus ``time_offset`` seconds, to the millisecond.

    Parameters
    ----------
    nominal_ns
        ``int64`` nanoseconds of the nominal grid.
    offset_s
        Offsets in seconds (``float32`` as ``open_scalar`` stores them); NaN where the slot has no
        sample.

    Returns
    -------
    numpy.ndarray
        ``int64`` nanoseconds rounded to the nearest millisecond (ONC's times are whole ms);
        ``NaT``'s integer (``-2**63``) where the offset is NaN.
    """
    offset = np.asarray(offset_s, dtype=np.float64)
    missing = ~np.isfinite(offset)
    ns = np.asarray(nominal_ns, dtype=np.int64) + np.round(
        np.where(missing, 0.0, offset) * _NS_PER_S
    ).astype(np.int64)
    ns = (ns + _NS_PER_MS // 2) // _NS_PER_MS * _NS_PER_MS
    ns[missing] = NAT_NS
    return ns


def fixed_step_ns(index: object) -> int | None:
    """The step, in ns, of a ``pandas.DatetimeIndex`` with a fixed ascending frequency
    (``pd.date_range(..., freq="1s")``: pandas checks that it holds at every row, so the index
    is evenly spaced and sorted without reading it); None for any other index.

    Examples
    --------
    >>> import pandas as pd
    >>> fixed_step_ns(pd.date_range("2024-01-01", periods=3, freq="2s", unit="s"))
    2000000000
    >>> fixed_step_ns(pd.DatetimeIndex(["2024-01-01", "2024-01-02"])) is None
    True
    """
    import pandas as pd

    freq = getattr(index, "freq", None)
    if isinstance(freq, pd.offsets.Tick) and freq.nanos > 0:
        return int(freq.nanos)
    return None


def index_ns(index: object) -> np.ndarray:
    """The stamps of a naive ``pandas.DatetimeIndex`` as int64 nanoseconds: a view of an index
    already in ns (``as_unit("ns")`` copies even that one: 7 ms for 10 M stamps, pandas 3.1),
    converted from any other unit.

    Examples
    --------
    >>> import pandas as pd
    >>> index_ns(pd.DatetimeIndex(["1970-01-01T00:00:01"]).as_unit("s")).tolist()
    [1000000000]
    """
    return np.asarray((index if index.unit == "ns" else index.as_unit("ns")).asi8)


class TimeAxis:
    """The sorted ``time`` axis of a scalar Dataset, without materialising a regular one.

    A regular axis (an O(1) :class:`~intake_onc._core.time_index.TimeGridIndex`, or an in-memory
    index with one integer step) is kept as ``(start, step, size)``: a dask task derives the
    times of its own rows (:meth:`block`), and nothing larger than a few numbers enters a graph.
    Other axes hold their int64 nanoseconds.

    Examples
    --------
    >>> import pandas as pd
    >>> axis = TimeAxis.from_index(pd.date_range("2024-01-01", periods=86_400, freq="1s"))
    >>> axis.regular, len(axis), axis.block(3600, 3602).tolist()
    (True, 86400, [1704070800000000000, 1704070801000000000])
    """

    def __init__(self, size: int, grid: object = None, values: np.ndarray | None = None) -> None:
        self.size = int(size)
        self.grid = grid  # a TimeGridTransform (ascending) or None
        self.values = values

    @classmethod
    def from_index(cls, index: object) -> TimeAxis:
        """From an xarray index (``ds.xindexes["time"]``) or a sorted ``pandas.DatetimeIndex``."""
        import pandas as pd

        from intake_onc._core.time_index import TimeGridIndex, TimeGridTransform

        if isinstance(index, TimeGridIndex) and index.transform.step > 0:
            return cls(index.size, grid=index.transform)
        if not isinstance(index, pd.DatetimeIndex):
            index = index.to_pandas_index()
        step = fixed_step_ns(index)
        if step is not None and len(index) >= 2:
            # the grid without converting or reading the times (a year at 1 Hz in "s" or "us"
            # units: 0.3-0.7 s to convert to ns)
            start = int(index[:1].as_unit("ns").asi8[0])
            grid = TimeGridTransform(start, step, len(index), "time", "time")
            return cls(len(index), grid=grid)
        t = index_ns(index)
        if len(t) >= 2:
            step = int(t[1] - t[0])
            # one pass over int64 (31.5 M steps for a year at 1 Hz: ~60 ms) instead of the same
            # array shipped inside every graph that resamples it
            if step > 0 and t[-1] - t[0] == step * (len(t) - 1) and np.all(np.diff(t) == step):
                grid = TimeGridTransform(int(t[0]), step, len(t), "time", "time")
                return cls(len(t), grid=grid)
        return cls(len(t), values=t)

    @property
    def regular(self) -> bool:
        """Whether the axis is kept as ``(start, step, size)``."""
        return self.grid is not None

    def __len__(self) -> int:
        return self.size

    def at(self, positions: np.ndarray) -> np.ndarray:
        """int64 nanoseconds at integer ``positions`` (each ``0 <= p < len``)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.grid is not None:
            return self.grid.labels_ns(positions)
        return self.values[positions]

    def searchsorted(self, ns: np.ndarray) -> np.ndarray:
        """Like ``np.searchsorted(times, ns)`` (side ``"left"``), clipped to ``[0, len]``."""
        ns = np.asarray(ns, dtype=np.int64)
        if self.grid is None:
            return np.searchsorted(self.values, ns)
        return np.clip(self.grid.first_at_or_after(ns), 0, self.size)

    def block(self, begin: int, end: int) -> np.ndarray:
        """int64 nanoseconds of rows ``begin`` to ``end`` (exclusive)."""
        if self.grid is not None:
            return self.grid.labels_ns(np.arange(begin, end, dtype=np.int64))
        return self.values[begin:end]

    def slice(self, begin: int, end: int) -> TimeAxis:
        """The axis of rows ``begin`` to ``end`` (exclusive)."""
        if self.grid is not None:
            return TimeAxis(end - begin, grid=self.grid.slice(slice(begin, end)))
        return TimeAxis(end - begin, values=self.values[begin:end])

    def head(self, n: int) -> np.ndarray:
        """The first ``n`` times (enough to infer a sample period without materialising)."""
        if self.grid is None:
            return self.values
        return self.block(0, min(n, self.size))
