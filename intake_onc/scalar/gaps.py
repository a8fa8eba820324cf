"""ONC data gaps: sample periods, ``fill`` (NaN rows, flag 9) and ``remove`` (semantics.md).

The sample period ``T`` in force at each time stamp comes, in this order, from the
``sample_period=`` argument, the Dataset attrs ``sample_period_starts``/``sample_period_values``
(a rating that changes inside the data), ``sample_period``, or the median step of the time axis
(docs/architecture.md, "Sample periods in a Dataset").

Gap positions are computed from the in-memory ``time`` index only, so :func:`fill_gaps` stays
lazy on dask (the data are gathered with an integer indexer and masked, never computed).
"""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr
from dask.layers import ArrayBlockwiseDep

from intake_onc._core.durations import duration_ns
from intake_onc._core.flags import MISSING

from .cf import refresh_metadata
from .flags import flagged_variables
from .time_axis import TimeAxis, fixed_step_ns, index_ns, median_step_ns

__all__ = ["drop_gaps", "fill_gaps", "sample_periods"]

#: A step longer than 1.9 sample periods is a gap (ONC): 19/10, for exact integer arithmetic.
_GAP_NUM, _GAP_DEN = 19, 10

_Rating = tuple[np.ndarray, np.ndarray]  # (starts in ns, int64; periods in s, float64)

#: Gap filling refuses to build more rows than this (a 2 GB time index, ~8 years at 1 Hz):
#: a sample period of "1ns" would otherwise try to allocate tebibytes.
MAX_ROWS = 250_000_000
#: The longest sample period accepted (10 years, in ns): 1.9·T stays far inside int64.
_MAX_PERIOD_NS = 10 * 366 * 86_400 * 10**9


def _sorted_time_index(ds: xr.Dataset):
    """The ``time`` index of ``ds`` (a TimeGridIndex, or a checked, naive ``pd.DatetimeIndex``)."""
    from intake_onc._core.time_index import TimeGridIndex

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "time" not in ds.xindexes:
        raise ValueError("ds has no 'time' index coordinate; scalar Datasets are indexed by time")
    grid = ds.xindexes["time"]
    if isinstance(grid, TimeGridIndex):
        if grid.transform.step < 0 and grid.size > 1:
            raise ValueError("ds.time must be sorted; call ds.sortby('time') first")
        return grid
    index = ds.indexes["time"]
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"ds.time must hold datetime64 values, got dtype {index.dtype}")
    if fixed_step_ns(index) is None and not index.is_monotonic_increasing:
        raise ValueError("ds.time must be sorted; call ds.sortby('time') first")
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index  # in its own unit: converting a year at 1 Hz to ns copies 250 MB (0.3-0.7 s)


def time_ns(ds: xr.Dataset) -> np.ndarray:
    """The ``time`` coordinate of ``ds`` as int64 nanoseconds since 1970 (UTC), checked sorted."""
    index = _sorted_time_index(ds)
    if not isinstance(index, pd.DatetimeIndex):
        index = index.to_pandas_index()
    return index_ns(index)


def time_axis(ds: xr.Dataset) -> TimeAxis:
    """The ``time`` axis of ``ds``, checked sorted, regular ones kept O(1) (:class:`TimeAxis`)."""
    return TimeAxis.from_index(_sorted_time_index(ds))


def _rating(ds: xr.Dataset, sample_period: object, t: np.ndarray) -> _Rating:
    """Resolve the sample period(s): argument, rating attrs, ``sample_period`` attr, median step."""
    lowest = np.array([np.iinfo(np.int64).min], dtype=np.int64)
    if sample_period is not None:
        ns = duration_ns(sample_period, argument="sample_period")
        if ns > _MAX_PERIOD_NS:
            raise ValueError(
                f"sample_period={sample_period!r}: {ns / 1e9:.3g} s is longer than the 10 years "
                "a sample period can be (the gap rule 1.9·T must fit in int64 ns); give the "
                "device's sampling interval, such as 1 or '1s'"
            )
        return lowest, np.array([ns / 1e9])
    attrs = ds.attrs
    if "sample_period_starts" in attrs and "sample_period_values" in attrs:
        starts = np.atleast_1d(np.asarray(attrs["sample_period_starts"], dtype=np.float64))
        values = np.atleast_1d(np.asarray(attrs["sample_period_values"], dtype=np.float64))
        if (
            starts.size == 0
            or starts.shape != values.shape
            or not np.all(np.isfinite(values) & (values > 0))
            or np.any(np.diff(starts) < 0)
        ):
            raise ValueError(
                "ds.attrs['sample_period_starts'] and ['sample_period_values'] must be arrays of "
                "equal length, starts sorted (s since 1970) and periods > 0 (s); got "
                f"{attrs['sample_period_starts']!r} and {attrs['sample_period_values']!r}"
            )
        starts_ns = np.round(starts * 1e9).astype(np.int64)
        starts_ns[0] = lowest[0]  # the first rating also applies before its start
        return starts_ns, values
    period = attrs.get("sample_period")
    if period is not None and np.isfinite(float(period)) and float(period) > 0:
        return lowest, np.array([float(period)])
    if len(t) < 2:
        raise ValueError(
            "cannot infer the sample period from fewer than two time stamps; "
            "pass sample_period= (seconds) or set ds.attrs['sample_period']"
        )
    median = median_step_ns(t) / 1e9
    if median <= 0:
        raise ValueError("the median time step is 0; pass sample_period= (seconds)")
    return lowest, np.array([median])


def _periods_at(rating: _Rating, times_ns: np.ndarray) -> np.ndarray:
    """Sample period (s) in force at each of ``times_ns``."""
    starts, values = rating
    if len(values) == 1:
        return np.full(np.shape(times_ns), values[0])
    return values[np.searchsorted(starts, times_ns, side="right") - 1]


def _round_half_even(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``round(num / den)`` of positive int64 arrays, exactly, ties to even (Python's round)."""
    quotient, remainder = np.divmod(num, den)
    twice = 2 * remainder
    up = (twice > den) | ((twice == den) & (quotient % 2 == 1))
    return quotient + up


def sample_periods(ds: xr.Dataset, sample_period: object = None) -> xr.DataArray:
    """The sample period ``T`` (seconds) in force at each time stamp of ``ds``.

    Parameters
    ----------
    ds
        A scalar Dataset.
    sample_period
        Overrides everything (seconds, ``"1s"``, Timedelta). Otherwise the attrs
        ``sample_period_starts``/``sample_period_values``, then ``sample_period``, then the
        median time step.

    Returns
    -------
    xarray.DataArray
        float64 seconds along ``time``.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> ds = xr.Dataset(coords={"time": pd.date_range("2024-01-01", periods=4, freq="2s")})
    >>> sample_periods(ds).values.tolist()
    [2.0, 2.0, 2.0, 2.0]
    >>> sample_periods(ds, sample_period="1s").values.tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    t = time_ns(ds)
    periods = _periods_at(_rating(ds, sample_period, t), t)
    return xr.DataArray(
        periods,
        dims="time",
        coords={"time": ds["time"]},
        name="sample_period",
        attrs={"long_name": "sample period in force", "units": "s"},
    )


def _fill_value(var: xr.Variable, is_flag: bool) -> tuple[np.dtype, object]:
    """Output dtype and fill value of an inserted row: 9 for flags, else NaN/NaT (promoting)."""
    kind = var.dtype.kind
    if is_flag:
        return var.dtype, MISSING
    if kind in "fc":
        return var.dtype, np.nan
    if kind in "mM":
        return var.dtype, np.array("NaT", dtype=var.dtype)[()]
    if kind in "iub":
        return np.dtype(np.float64), np.nan
    return np.dtype(object), np.nan


def _fill_chunk(x, part=None, *, axis, fill, out_dtype, newpos=None):
    """Insert fill rows into a chunk: ``part = (after, inserted)`` puts ``inserted[j]`` rows
    after the chunk's row ``after[j]`` (positions within the chunk).

    ``newpos`` (where each row goes) may be given instead for a whole array.
    """
    n = x.shape[axis]
    if newpos is None:
        after, inserted = part
        bump = np.zeros(n + 1, dtype=np.int64)
        bump[after + 1] = inserted  # rows after the chunk's last row land in bump[n]
        newpos = np.arange(n) + np.cumsum(bump[:n])
        total = n + int(bump.sum())
    else:
        total = int(newpos[-1]) + 1
    shape = list(x.shape)
    shape[axis] = total
    out = np.full(shape, fill, dtype=out_dtype)
    index = [slice(None)] * x.ndim
    index[axis] = newpos
    out[tuple(index)] = x
    return out


def _drop_chunk(x, part, *, axis):
    """Remove the chunk's rows ``part[0]`` (positions within the chunk)."""
    keep = np.ones(x.shape[axis], dtype=bool)
    keep[part[0]] = False
    return np.compress(keep, x, axis=axis)


def _per_chunk(chunks: tuple[int, ...], positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum of ``weights`` of the ``positions`` falling in each chunk."""
    cumulative = np.concatenate([[0], np.cumsum(weights)])
    return np.diff(cumulative[np.searchsorted(positions, np.cumsum((0, *chunks)))])


class _ChunkRows(ArrayBlockwiseDep):
    """Each chunk's own share of sorted global ``rows`` (made chunk-relative) and of the
    matching ``values``: a per-block ``map_blocks`` argument, so a task carries its own rows only.

    Passing the whole arrays as keywords put every gap of the Dataset into every task: 160 kB
    per task for 10,000 gaps, re-sent to a cluster's workers for each chunk of each variable.

    Examples
    --------
    >>> import dask.array as dsa
    >>> part = _ChunkRows(dsa.zeros(10, chunks=4).chunks, 0, np.array([1, 5, 6]), np.array([2, 1, 3]))
    >>> [tuple(a.tolist() for a in part[(i,)]) for i in range(3)]
    [([1], [2]), ([1, 2], [1, 3]), ([], [])]
    """

    def __init__(self, chunks: tuple, axis: int, rows: np.ndarray, *values: np.ndarray) -> None:
        super().__init__(chunks)
        self.axis, self.rows, self.values = axis, rows, values
        self.bounds = np.cumsum((0, *chunks[axis]))
        self.cuts = np.searchsorted(rows, self.bounds).tolist()

    def __getitem__(self, idx: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        i = idx[self.axis]
        lo, hi = self.cuts[i], self.cuts[i + 1]
        return (self.rows[lo:hi] - self.bounds[i], *(v[lo:hi] for v in self.values))


def _rebuild(ds: xr.Dataset, time: np.ndarray, func) -> xr.Dataset:
    """``ds`` with new ``time`` values and ``func(name, var, axis)`` applied to every other
    variable along ``time``. Attrs and encodings are kept."""
    variables = {}
    for name, var in ds.variables.items():
        if name == "time":
            var = xr.Variable("time", time, var.attrs, var.encoding)
        elif "time" in var.dims:
            data = func(name, var, var.get_axis_num("time"))
            var = xr.Variable(var.dims, data, var.attrs, var.encoding)
        variables[name] = var
    coords = {k: variables[k] for k in ds.coords}
    data_vars = {k: variables[k] for k in ds.data_vars}
    out = xr.Dataset(data_vars, coords=coords, attrs=dict(ds.attrs))
    out.encoding = dict(ds.encoding)
    return out


def _insert_rows(ds, t, gaps, inserted, period) -> xr.Dataset:
    """Insert ``inserted[j]`` rows ``period[j]`` apart after row ``gaps[j]``: NaN, flag 9."""
    n, added = len(t), int(inserted.sum())
    bump = np.zeros(n, dtype=np.int64)
    bump[gaps + 1] = inserted  # a gap is never after the last reading
    newpos = np.arange(n) + np.cumsum(bump)  # where each reading goes
    new_t = np.empty(n + added, dtype=np.int64)
    new_t[newpos] = t
    k = np.arange(1, added + 1) - np.repeat(np.cumsum(inserted) - inserted, inserted)  # 1..n_j
    before = np.repeat(gaps, inserted)
    new_t[newpos[before] + k] = t[before] + k * np.repeat(period, inserted)
    flag_names = set(flagged_variables(ds).values())

    def fill(name, var, axis):
        dtype, value = _fill_value(var, name in flag_names)
        kwargs = {"axis": axis, "fill": value}
        if not dask.is_dask_collection(var.data):
            return _fill_chunk(np.asarray(var.data), out_dtype=dtype, newpos=newpos, **kwargs)
        chunks = list(var.data.chunks)
        extra = _per_chunk(chunks[axis], gaps, inserted)
        chunks[axis] = tuple((np.array(chunks[axis]) + extra).tolist())
        meta = np.empty((0,) * var.ndim, dtype=dtype)
        return dsa.map_blocks(
            _fill_chunk,
            var.data,
            _ChunkRows(var.data.chunks, axis, gaps, inserted),
            chunks=tuple(chunks),
            dtype=dtype,
            meta=meta,
            out_dtype=dtype,
            **kwargs,
        )

    return _rebuild(ds, new_t.view("datetime64[ns]"), fill)


def fill_gaps(ds: xr.Dataset, sample_period: object = None) -> xr.Dataset:
    """Fill data gaps with NaN rows flagged 9 (ONC's ``dpo_dataGaps`` *fill*).

    A gap is a step ``g > 1.9 T`` between consecutive time stamps, ``T`` being the sample
    period in force at the reading *before* the gap. For each gap, ``n = round(g / T) - 1`` rows
    are inserted at ``t_last + k·T``, k = 1..n (``round`` halves to even, like Python's; all
    in exact integer nanoseconds, ``T`` rounded to the nanosecond).
    Rows are only ever inserted between readings, never before the first or after the last.
    Data variables become NaN and flag variables 9 in the inserted rows; other time-dependent
    variables become NaN. Lazy on dask: only the in-memory time index is read.

    Parameters
    ----------
    ds
        A scalar Dataset.
    sample_period
        Sample period override (seconds, ``"1s"``, Timedelta); see :func:`sample_periods`.

    Returns
    -------
    xarray.Dataset
        With ``attrs["data_gaps"] = "fill"``.

    Examples
    --------
    ONC's worked example (T = 1 s):

    >>> import numpy as np, pandas as pd, xarray as xr
    >>> time = pd.to_datetime(["2024-01-01T00:00:00.000", "2024-01-01T00:00:01.001",
    ...                        "2024-01-01T00:00:06.045"])
    >>> ds = xr.Dataset({"t": ("time", [1.0, 2.0, 3.0]), "t_qc": ("time", np.int8([1, 1, 1]))},
    ...                 coords={"time": time})
    >>> out = fill_gaps(ds, sample_period=1)
    >>> [str(v)[17:23] for v in out.time.values]
    ['00.000', '01.001', '02.001', '03.001', '04.001', '05.001', '06.045']
    >>> out.t_qc.values.tolist()
    [1, 1, 9, 9, 9, 9, 1]
    """
    t = time_ns(ds)
    n = len(t)
    out = ds
    if n >= 2:
        starts, values = _rating(ds, sample_period, t)
        step = np.diff(t)
        # Exact integer arithmetic on ns: g > 1.9 T  <=>  g > floor(19 T / 10)
        if len(values) == 1:  # one rating: scalar T, no per-step arrays
            period = np.round(values[:1] * 1e9).astype(np.int64)
            gaps = np.flatnonzero(step > _GAP_NUM * period[0] // _GAP_DEN)
            period = np.broadcast_to(period, step.shape)
        else:
            period = np.round(_periods_at((starts, values), t[:-1]) * 1e9).astype(np.int64)
            gaps = np.flatnonzero(step > _GAP_NUM * period // _GAP_DEN)
        if len(gaps):
            inserted = _round_half_even(step[gaps], period[gaps]) - 1
            total = n + int(inserted.sum())
            if total > MAX_ROWS:
                raise ValueError(
                    f"sample_period={sample_period!r}: filling the gaps with a sample period of "
                    f"{period.min() / 1e9:g} s would make {total:,} rows (more than "
                    f"{MAX_ROWS:,}); pass the device's real sample period, or fill a shorter "
                    "time range"
                )
            out = _insert_rows(ds, t, gaps, inserted, period[gaps])
    out = out.copy()
    out.attrs["data_gaps"] = "fill"
    refresh_metadata(out, "intake-onc fill_gaps: missing sample slots inserted (NaN, flag 9)")
    return out


def drop_gaps(ds: xr.Dataset) -> xr.Dataset:
    """Drop the rows where every data variable is NaN (ONC's ``dpo_dataGaps`` *remove*).

    Multi-sensor rule: a row where any data variable has a value is kept, the others staying
    NaN. Clean first (:func:`intake_onc.scalar.quality.clean`) to also drop rows whose values all failed QC.
    Data variables are those with a ``X_qc`` companion (all float variables along ``time`` when
    there are none). On dask the row mask (one boolean per time stamp) is computed; the result
    stays dask-backed.

    Parameters
    ----------
    ds
        A scalar Dataset.

    Returns
    -------
    xarray.Dataset
        With ``attrs["data_gaps"] = "remove"``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"a": ("time", [1.0, np.nan, np.nan]), "b": ("time", [np.nan, 2.0, np.nan]),
    ...                  "a_qc": ("time", np.int8([1, 9, 9])), "b_qc": ("time", np.int8([9, 1, 9]))},
    ...                 coords={"time": [0, 1, 2]})
    >>> drop_gaps(ds).time.values.tolist()
    [0, 1]
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    names = list(flagged_variables(ds)) or [
        str(k) for k, v in ds.data_vars.items() if "time" in v.dims and v.dtype.kind == "f"
    ]
    names = [n for n in names if "time" in ds[n].dims]
    all_nan = None
    for name in names:
        isnull = ds[name].isnull()
        other = [d for d in isnull.dims if d != "time"]
        if other:
            isnull = isnull.all(dim=other)
        all_nan = isnull if all_nan is None else all_nan & isnull
    out = ds
    if all_nan is not None:
        (rows,) = dask.compute(all_nan.data)
        dropped = np.flatnonzero(np.asarray(rows, dtype=bool))
        if len(dropped):
            keep = np.ones(ds.sizes["time"], dtype=bool)
            keep[dropped] = False

            def drop(name, var, axis):
                if not dask.is_dask_collection(var.data):
                    return np.compress(keep, np.asarray(var.data), axis=axis)
                chunks = list(var.data.chunks)
                gone = _per_chunk(chunks[axis], dropped, np.ones(len(dropped), dtype=np.int64))
                chunks[axis] = tuple((np.array(chunks[axis]) - gone).tolist())
                return dsa.map_blocks(
                    _drop_chunk,
                    var.data,
                    _ChunkRows(var.data.chunks, axis, dropped),
                    chunks=tuple(chunks),
                    dtype=var.dtype,
                    meta=np.empty((0,) * var.ndim, dtype=var.dtype),
                    axis=axis,
                )

            out = _rebuild(ds, ds["time"].values[keep], drop)
    out = out.copy()
    out.attrs["data_gaps"] = "remove"
    refresh_metadata(out, "intake-onc drop_gaps: rows without a valid value removed")
    if out.attrs.get("time_axis") == "nominal" and "time_axis_comment" in out.attrs:
        out.attrs["time_axis_comment"] = (
            "time is the nominal sampling grid k*T (T = sample_period, counted from "
            "1970-01-01T00:00Z); rows without a valid value were removed (drop_gaps); the actual "
            "sample time is time + time_offset"
        )
    return out
