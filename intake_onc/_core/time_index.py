"""An O(1)-memory ``datetime64[ns]`` index for regular time grids (audio samples, scalar slots).

A regular grid is ``size`` labels ``t_i = round(start + i·step)`` in nanoseconds, where ``start``
and ``step`` are **exact rational numbers of nanoseconds** (audio steps are ``1e9/fs`` ns: exact
integers at 8, 16 or 64 kHz, but ``10**7/441`` at 44.1 kHz). Labels are rounded half up to the
nanosecond, the rounding of :func:`intake_onc.acoustics.clips._samples_to_ns`, and computed with
integer arithmetic only (no float drift, however long the grid).

* :class:`TimeGridTransform`: the :class:`xarray.indexes.CoordinateTransform` (labels on
  demand, never stored);
* :class:`TimeGridIndex`: the xarray index, modelled on :class:`xarray.indexes.RangeIndex`:
  ``isel`` with a slice keeps an O(1) index (an array of positions falls back to a
  ``PandasIndex``); ``sel`` takes datetime64, strings (partial dates select their whole period,
  as pandas does), ``pd.Timestamp``, slices of them, and ``method="nearest"``/``"pad"``/
  ``"backfill"`` with an optional ``tolerance``; ``concat`` of contiguous grids and ``join``
  of grids with the same step stay O(1);
* :func:`time_grid_coords`: ``xr.Coordinates`` holding such an index.

Nothing materialises the labels but ``.values`` / :meth:`TimeGridIndex.to_pandas_index`; a
``.load()``/``.compute()`` keeps the coordinate lazy.

Examples
--------
>>> import numpy as np
>>> coords = time_grid_coords("2024-04-01", step=1e9 / 44_100, size=44_100 * 300)
>>> idx = coords.xindexes["time"]
>>> idx
TimeGridIndex (start=2024-04-01T00:00:00, step=22675.73696145125 ns (10000000/441), size=13230000)
>>> str(idx.transform.label(1))
'2024-04-01T00:00:00.000022676'
"""

from __future__ import annotations

import copy
import math
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.core.indexing import IndexSelResult
from xarray.indexes import CoordinateTransform, CoordinateTransformIndex, Index, PandasIndex

__all__ = ["TimeGridIndex", "TimeGridTransform", "as_ns", "grid_transform", "time_grid_coords"]

_M8 = np.dtype("datetime64[ns]")
_NAT = np.iinfo(np.int64).min
# Above this, a product of a position residue and the step numerator could overflow int64:
# labels are then computed with Python integers (slow, exact; never met by real grids).
_SAFE = 1 << 61


def _fraction(value: object, argument: str) -> Fraction:
    """An exact number of nanoseconds: int, Fraction, ``(num, den)``, float, timedelta, string."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return Fraction(int(value[0]), int(value[1]))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"{argument}: expected a finite number of nanoseconds, got {value!r}")
        # 1e9 / 44100 as a float: the nearest fraction with a small denominator is the exact one
        return Fraction(float(value)).limit_denominator(10**6)
    if isinstance(value, (str, pd.Timedelta, np.timedelta64)) or hasattr(value, "total_seconds"):
        return Fraction(int(pd.Timedelta(value).as_unit("ns").value))
    raise TypeError(
        f"{argument}: expected nanoseconds (int, float, Fraction, (num, den)) or a timedelta, "
        f"got {type(value).__name__}"
    )


def as_ns(value: object) -> int:
    """A time (``datetime64``, ``pd.Timestamp``, ISO string, int ns) as UTC ns since 1970."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"not a time: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.as_unit("ns").value)


_FIXED = {
    "day": 86_400 * 10**9,
    "hour": 3_600 * 10**9,
    "minute": 60 * 10**9,
    "second": 10**9,
    "millisecond": 10**6,
    "microsecond": 10**3,
    "nanosecond": 1,
}
_CALENDAR = {"year": pd.DateOffset(years=1), "quarter": pd.DateOffset(months=3)}
_CALENDAR["month"] = pd.DateOffset(months=1)


def _string_period(text: str) -> tuple[int, int]:
    """``[first, last]`` ns of the period a date string names (``"2024-04"``: all of April)."""
    from pandas._libs.tslibs.parsing import parse_datetime_string_with_reso

    try:
        parsed, reso = parse_datetime_string_with_reso(text)
    except (ValueError, TypeError):
        ns = as_ns(text)
        return ns, ns
    first = as_ns(parsed)
    if reso in _FIXED:
        return first, first + _FIXED[reso] - 1
    if reso in _CALENDAR:
        start = pd.Timestamp(first)
        return first, as_ns(start + _CALENDAR[reso]) - 1
    return first, first


class TimeGridTransform(CoordinateTransform):
    """Labels ``round(start + i·step)`` ns, ``0 ≤ i < size``, as ``datetime64[ns]``.

    ``start`` and ``step`` are exact :class:`fractions.Fraction` nanoseconds (``step`` may be
    negative after a reversing slice, never zero). Labels are rounded half up.
    """

    start: Fraction
    step: Fraction

    def __init__(
        self,
        start: object,
        step: object,
        size: int,
        coord_name: Hashable = "time",
        dim: str = "time",
    ) -> None:
        super().__init__([coord_name], {dim: int(size)}, dtype=_M8)
        self.start = _fraction(start, "start")
        self.step = _fraction(step, "step")
        if self.step == 0:
            raise ValueError("step: a time grid needs a non-zero step")
        if int(size) < 0:
            raise ValueError(f"size: expected a count >= 0, got {size}")

    # ----------------------------------------------------------------- properties

    @property
    def coord_name(self) -> Hashable:
        return self.coord_names[0]

    @property
    def dim(self) -> str:
        return self.dims[0]

    @property
    def size(self) -> int:
        return self.dim_size[self.dim]

    def label(self, i: int) -> np.datetime64:
        """The label of position ``i`` (any integer: the grid extends both ways)."""
        return np.datetime64(self._label_int(int(i)), "ns")

    def _label_int(self, i: int) -> int:
        x = self.start + i * self.step
        return math.floor(x + Fraction(1, 2))

    # ----------------------------------------------------------------- labels

    def labels_ns(self, positions: np.ndarray) -> np.ndarray:
        """int64 labels of integer ``positions`` (exact integer arithmetic)."""
        i = np.asarray(positions)
        if i.dtype.kind == "f":
            if not np.all(np.isfinite(i)) or np.any(i != np.round(i)):
                raise ValueError("time grid positions must be integers")
            i = i.astype(np.int64)
        i = i.astype(np.int64, copy=False)
        # start + i·step = a/b + i·c/b (common denominator b); label = floor((2a + 2ic + b) / 2b)
        b = math.lcm(self.start.denominator, self.step.denominator)
        a = self.start.numerator * (b // self.start.denominator)
        c = self.step.numerator * (b // self.step.denominator)
        if b == 1 and abs(c) < _SAFE and abs(a) < _SAFE:  # whole ns start and step: exact
            return a + i * c  # (a year of 1 Hz rows: 4x faster than the general case below)
        qa, ra = divmod(a, b)  # a = qa·b + ra, 0 ≤ ra < b
        if 2 * b * (abs(c) + 2) >= _SAFE or abs(qa) >= _SAFE:
            flat = [self._label_int(int(k)) for k in i.ravel().tolist()]
            return np.array(flat, dtype=np.int64).reshape(i.shape)
        q, r = np.divmod(i, b)  # i = q·b + r, 0 ≤ r < b
        # i·c/b = q·c + r·c/b; floor((2ra + 2rc + b) / 2b) is exact (all terms small)
        frac = (2 * ra + 2 * r * c + b) // (2 * b)
        return qa + q * c + frac

    def forward(self, dim_positions: dict[str, Any]) -> dict[Hashable, Any]:
        labels = self.labels_ns(dim_positions[self.dim])
        return {self.coord_name: labels.view(_M8)}

    def reverse(self, coord_labels: dict[Hashable, Any]) -> dict[str, Any]:
        """Fractional positions of labels (float; exact lookups use :meth:`first_at_or_after`)."""
        ns = _labels_ns(coord_labels[self.coord_name])
        pos = (ns.astype(np.float64) - float(self.start)) / float(self.step)
        return {self.dim: pos}

    # ----------------------------------------------------------------- exact lookups

    def _ascending(self) -> TimeGridTransform:
        """The same labels in increasing order (itself when the step is positive)."""
        if self.step > 0:
            return self
        first = self.start + (self.size - 1) * self.step
        return TimeGridTransform(first, -self.step, self.size, self.coord_name, self.dim)

    def first_at_or_after(self, ns: np.ndarray) -> np.ndarray:
        """For an ascending grid: the first position (any integer) whose label is ``>= ns``."""
        ns = np.asarray(ns, dtype=np.int64)
        guess = np.floor((ns.astype(np.float64) - float(self.start) - 0.5) / float(self.step))
        guess = np.clip(guess, -(2**62), 2**62).astype(np.int64)
        for _ in range(64):  # float error is a position or two at most; correct exactly
            short = self.labels_ns(guess) < ns
            if short.any():
                guess = np.where(short, guess + 1, guess)
                continue
            over = self.labels_ns(guess - 1) >= ns
            if over.any():
                guess = np.where(over, guess - 1, guess)
                continue
            return guess
        raise RuntimeError("time grid lookup did not converge")  # pragma: no cover

    def bounds_ns(self) -> tuple[int, int]:
        """The smallest and largest label (int ns) of a non-empty grid."""
        a, b = self._label_int(0), self._label_int(self.size - 1)
        return (a, b) if a <= b else (b, a)

    def all_multiple_of(self, m: int) -> bool:
        """Whether every label is a multiple of ``m`` ns (exact; O(1) for integer grids)."""
        if self.size == 0:
            return True
        if self.start.denominator == 1 and self.step.denominator == 1:
            return self.start.numerator % m == 0 and (
                self.size == 1 or self.step.numerator % m == 0
            )
        return not np.any(self.labels_ns(np.arange(self.size, dtype=np.int64)) % m)

    # ----------------------------------------------------------------- equality & slicing

    def equals(
        self, other: CoordinateTransform, exclude: frozenset[Hashable] | None = None
    ) -> bool:
        if not isinstance(other, TimeGridTransform):
            return False
        if self.size != other.size:
            return False
        if self.size == 0:
            return True
        if self.size == 1:
            return self._label_int(0) == other._label_int(0)
        return self.start == other.start and self.step == other.step

    def slice(self, sl: slice) -> TimeGridTransform:
        new = range(self.size)[sl]
        return TimeGridTransform(
            self.start + new.start * self.step,
            self.step * new.step,
            len(new),
            self.coord_name,
            self.dim,
        )

    def generate_coords(self, dims: tuple[str, ...] | None = None) -> dict[Hashable, Any]:
        return self.forward({self.dim: np.arange(self.size, dtype=np.int64)})

    def __reduce__(self):
        return (
            _rebuild_transform,
            (
                (self.start.numerator, self.start.denominator),
                (self.step.numerator, self.step.denominator),
                self.size,
                self.coord_name,
                self.dim,
            ),
        )


def _rebuild_transform(start, step, size, coord_name, dim) -> TimeGridTransform:
    return TimeGridTransform(Fraction(*start), Fraction(*step), size, coord_name, dim)


def _labels_ns(values: object) -> np.ndarray:
    """Times (datetime64 of any unit, strings, Timestamps, int ns) as an int64 ns array."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype(_M8).view(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    flat = [as_ns(v) for v in arr.ravel().tolist()]
    return np.array(flat, dtype=np.int64).reshape(arr.shape)


class _GridVariable(xr.Variable):
    """The coordinate variable of a :class:`TimeGridIndex`: ``load``/``compute`` keep it lazy.

    (``.values`` still materialises the labels, when asked.)
    """

    __slots__ = ()

    def load(self, **kwargs: Any) -> _GridVariable:
        return self

    async def load_async(self, **kwargs: Any) -> _GridVariable:
        return self


class TimeGridIndex(CoordinateTransformIndex):
    """An xarray index of a regular ``datetime64[ns]`` grid, O(1) in memory.

    Build it with :meth:`from_params` or :func:`time_grid_coords`.

    Examples
    --------
    >>> ds = xr.Dataset(coords=time_grid_coords("2024-01-01", "1s", 86_400 * 366))
    >>> int(ds.sel(time="2024-06-01T12:00:00").time.dt.hour)
    12
    >>> ds.sel(time=slice("2024-03-01", "2024-03-01T00:00:09")).sizes["time"]
    10
    """

    transform: TimeGridTransform

    def __init__(self, transform: TimeGridTransform) -> None:
        super().__init__(transform)

    @classmethod
    def from_params(
        cls, start: object, step: object, size: int, *, dim: str = "time", coord_name=None
    ) -> TimeGridIndex:
        """``size`` labels from ``start`` (a time, or exact ns) every ``step`` (exact ns)."""
        if not isinstance(start, Fraction):
            start = as_ns(start)
        transform = TimeGridTransform(
            start, step, int(size), dim if coord_name is None else coord_name, dim
        )
        return cls(transform)

    @classmethod
    def from_variables(cls, variables, *, options):  # pragma: no cover - xarray API
        raise NotImplementedError(
            "cannot build a TimeGridIndex from an existing coordinate; "
            "use intake_onc._core.time_index.time_grid_coords(start, step, size)"
        )

    # ----------------------------------------------------------------- facts

    @property
    def dim(self) -> str:
        return self.transform.dim

    @property
    def coord_name(self) -> Hashable:
        return self.transform.coord_name

    @property
    def size(self) -> int:
        return self.transform.size

    @property
    def start(self) -> pd.Timestamp | None:
        """The first label (``None`` when empty)."""
        return pd.Timestamp(self.transform.label(0)) if self.size else None

    @property
    def step(self) -> Fraction:
        """The exact step in nanoseconds."""
        return self.transform.step

    @property
    def step_timedelta(self) -> pd.Timedelta:
        """The step rounded to the nanosecond."""
        return pd.Timedelta(round(self.transform.step), "ns")

    def _new(self, transform: TimeGridTransform) -> TimeGridIndex:
        return type(self)(transform)

    # ----------------------------------------------------------------- xarray API

    def create_variables(self, variables: Mapping[Any, xr.Variable] | None = None) -> dict:
        out = super().create_variables(variables)
        variables = variables or {}
        return {  # attrs and encoding (a netCDF time encoding, say) carried over
            name: _GridVariable(
                v.dims,
                v._data,
                v.attrs,
                variables[name].encoding if name in variables else None,
                fastpath=True,
            )
            for name, v in out.items()
        }

    def to_pandas_index(self) -> pd.DatetimeIndex:
        values = self.transform.generate_coords()[self.coord_name]
        return pd.DatetimeIndex(values, name=self.coord_name)

    def equals(self, other: Index, *, exclude: frozenset[Hashable] | None = None) -> bool:
        if not isinstance(other, TimeGridIndex):
            return False
        return self.transform.equals(other.transform, exclude=exclude)

    def isel(self, indexers: Mapping[Any, Any]) -> Index | None:
        idxer = indexers[self.dim]
        if isinstance(idxer, slice):
            return self._new(self.transform.slice(idxer))
        if (isinstance(idxer, xr.Variable) and idxer.ndim > 1) or np.ndim(idxer) == 0:
            return None
        positions = np.asarray(idxer.values if isinstance(idxer, xr.Variable) else idxer)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        positions = np.where(positions < 0, positions + self.size, positions)
        values = self.transform.forward({self.dim: positions})[self.coord_name]
        new_dim = idxer.dims[0] if isinstance(idxer, xr.Variable) else self.dim
        return PandasIndex(pd.Index(values, name=self.coord_name), new_dim, coord_dtype=_M8)

    def sel(self, labels: dict[Any, Any], method=None, tolerance=None) -> IndexSelResult:
        if set(labels) != {self.coord_name}:
            raise ValueError(f"TimeGridIndex: select with {self.coord_name!r} only")
        label = labels[self.coord_name]
        if method not in (None, "nearest", "pad", "ffill", "backfill", "bfill"):
            raise ValueError(
                f"method: expected None, 'nearest', 'pad' or 'backfill', got {method!r}"
            )
        tol = None if tolerance is None else int(pd.Timedelta(tolerance).as_unit("ns").value)
        if isinstance(label, slice):
            if method is not None or tolerance is not None:
                raise NotImplementedError(
                    "cannot use ``method`` argument if any indexers are slice objects"
                )
            return IndexSelResult({self.dim: self._slice(label)})
        wrap = None
        if isinstance(label, (xr.DataArray, xr.Variable)):
            wrap, values = label, label.values
        else:
            values = label
        if isinstance(values, np.ndarray) and values.ndim == 0:
            values = values[()]
        if np.ndim(values) == 0:
            if method is None and isinstance(values, str):
                lo, hi = _string_period(values)
                if hi - lo >= abs(self.transform.step):  # a coarser date: its whole period
                    return IndexSelResult({self.dim: self._slice(slice(lo, hi))})
            pos = self._positions(np.array([as_ns(values)]), method, tol)
            return IndexSelResult({self.dim: int(pos[0])})
        pos = self._positions(_labels_ns(values), method, tol)
        if isinstance(wrap, xr.DataArray):
            return IndexSelResult({self.dim: xr.DataArray(pos, dims=wrap.dims, coords=wrap.coords)})
        if isinstance(wrap, xr.Variable):
            return IndexSelResult({self.dim: xr.Variable(wrap.dims, pos)})
        return IndexSelResult({self.dim: pos})

    def _first_at_or_after(self, ns: np.ndarray) -> np.ndarray:
        """Ascending positions (0 … size) of the first label ``>= ns`` (``size``: none)."""
        asc = self.transform._ascending()
        return np.clip(asc.first_at_or_after(ns), 0, self.size)

    def _to_index_order(self, ascending_pos: np.ndarray) -> np.ndarray:
        if self.transform.step > 0:
            return ascending_pos
        return self.size - 1 - ascending_pos

    def _positions(self, ns: np.ndarray, method, tol: int | None) -> np.ndarray:
        """Index positions of the labels ``ns`` (KeyError when one is not found)."""
        n = self.size
        if n == 0:
            raise KeyError(_missing(ns))
        asc = self.transform._ascending()
        after = self._first_at_or_after(ns)  # first label >= ns, in ascending order
        after_ok = after < n
        at_after = asc.labels_ns(np.minimum(after, n - 1))
        before = after - 1
        before_ok = before >= 0
        at_before = asc.labels_ns(np.maximum(before, 0))
        if method is None:
            found = after_ok & (at_after == ns)
            pos, ok = after, found
        elif method in ("pad", "ffill"):
            exact = after_ok & (at_after == ns)
            pos = np.where(exact, after, before)
            ok = exact | before_ok
        elif method in ("backfill", "bfill"):
            pos, ok = after, after_ok
        else:  # nearest: a tie goes to the later label (as pandas on an increasing index)
            d_after = np.where(after_ok, at_after - ns, np.iinfo(np.int64).max)
            d_before = np.where(before_ok, ns - at_before, np.iinfo(np.int64).max)
            pos = np.where(d_before < d_after, before, after)
            ok = after_ok | before_ok
        if tol is not None:
            got = asc.labels_ns(np.clip(pos, 0, n - 1))
            ok = ok & (np.abs(got - ns) <= tol)
        if not np.all(ok):
            raise KeyError(_missing(ns[~ok]))
        return self._to_index_order(pos.astype(np.int64))

    def _slice(self, label: slice) -> slice:
        """Positions of ``label.start <= t <= label.stop`` (pandas' inclusive label slice)."""
        if label.step is not None:
            raise NotImplementedError("TimeGridIndex: label slices with a step are not supported")
        n = self.size
        lo_ns = None if label.start is None else _bound(label.start, upper=False)
        hi_ns = None if label.stop is None else _bound(label.stop, upper=True)
        if self.transform.step < 0:  # decreasing: start is the later time
            lo_ns, hi_ns = hi_ns, lo_ns
            lo_ns = None if lo_ns is None else _bound(label.stop, upper=False)
            hi_ns = None if hi_ns is None else _bound(label.start, upper=True)
        a = 0 if lo_ns is None else int(self._first_at_or_after(np.array([lo_ns]))[0])
        b = n if hi_ns is None else int(self._first_at_or_after(np.array([hi_ns + 1]))[0])
        b = max(a, b)
        if self.transform.step > 0:
            return slice(a, b)
        return slice(n - b, n - a)

    # ----------------------------------------------------------------- combining

    @classmethod
    def concat(
        cls,
        indexes: Sequence[TimeGridIndex],
        dim: Hashable,
        positions: Any = None,
    ) -> Index:
        """Contiguous grids of one step concatenate into one O(1) index; others into pandas."""
        grids = [i for i in indexes if i.size]
        if grids and all(isinstance(i, TimeGridIndex) for i in indexes) and positions is None:
            first = grids[0].transform
            ok = all(g.transform.step == first.step for g in grids)
            at = first.start
            for g in grids:
                ok = ok and g.transform.start == at
                at = g.transform.start + g.size * g.transform.step
            if ok:
                size = sum(g.size for g in grids)
                return cls(
                    TimeGridTransform(first.start, first.step, size, first.coord_name, str(dim))
                )
        pandas = [PandasIndex(i.to_pandas_index(), dim, coord_dtype=_M8) for i in indexes]
        return PandasIndex.concat(pandas, dim, positions)

    def join(self, other: Index, how: str = "inner") -> Index:
        """Inner/outer join: O(1) for grids of one step whose labels coincide; pandas otherwise."""
        if isinstance(other, TimeGridIndex) and how in ("inner", "outer", "left", "right"):
            a, b = self.transform, other.transform
            if a.step == b.step and a.step > 0 and self.size and other.size:
                shift = (b.start - a.start) / a.step
                if shift.denominator == 1:
                    k = int(shift)  # other starts at position k of self's grid
                    lo = {"inner": max(0, k), "outer": min(0, k), "left": 0, "right": k}[how]
                    hi_a, hi_b = self.size, k + other.size
                    hi = {"inner": min(hi_a, hi_b), "outer": max(hi_a, hi_b), "left": hi_a}.get(
                        how, hi_b
                    )
                    return self._new(
                        TimeGridTransform(
                            a.start + lo * a.step, a.step, max(0, hi - lo), a.coord_name, a.dim
                        )
                    )
        mine = PandasIndex(self.to_pandas_index(), self.dim, coord_dtype=_M8)
        if isinstance(other, TimeGridIndex):
            other = PandasIndex(other.to_pandas_index(), other.dim, coord_dtype=_M8)
        return mine.join(other, how=how)

    def reindex_like(self, other: Index, method=None, tolerance=None) -> dict[Hashable, Any]:
        if isinstance(other, TimeGridIndex):
            labels = other.to_pandas_index()
        else:
            labels = other.to_pandas_index()
        mine = PandasIndex(self.to_pandas_index(), self.dim, coord_dtype=_M8)
        return mine.reindex_like(PandasIndex(labels, self.dim, coord_dtype=_M8), method, tolerance)

    def rename(self, name_dict, dims_dict):
        out = super().rename(name_dict, dims_dict)
        if out is self:
            return self
        t = out.transform
        return type(self)(TimeGridTransform(t.start, t.step, t.size, t.coord_names[0], t.dims[0]))

    def copy(self, deep: bool = True) -> TimeGridIndex:
        return type(self)(copy.copy(self.transform))

    # ----------------------------------------------------------------- repr

    def _params(self) -> str:
        step = self.transform.step
        start = "-" if not self.size else pd.Timestamp(self.transform.label(0)).isoformat()
        exact = "" if step.denominator == 1 else f" ({step.numerator}/{step.denominator})"
        return f"start={start}, step={float(step):.16g} ns{exact}, size={self.size}"

    def _repr_inline_(self, max_width: int) -> str:
        return f"TimeGridIndex ({self._params()})"[:max_width]

    def __repr__(self) -> str:
        return f"TimeGridIndex ({self._params()})"


def _bound(value: object, upper: bool) -> int:
    """A slice bound in ns; a string names a period (its first or last ns, as pandas)."""
    if isinstance(value, str):
        lo, hi = _string_period(value)
        return hi if upper else lo
    return as_ns(value)


def _missing(ns: np.ndarray) -> str:
    shown = ", ".join(str(np.datetime64(int(v), "ns")) for v in ns[:3])
    more = f" (and {len(ns) - 3} more)" if len(ns) > 3 else ""
    return f"not on the time grid: {shown}{more}"


def time_grid_coords(
    start: object, step: object, size: int, dim: str = "time", attrs: Mapping | None = None
) -> xr.Coordinates:
    """``xr.Coordinates`` with a lazy ``datetime64[ns]`` coordinate on a :class:`TimeGridIndex`.

    Parameters
    ----------
    start
        The first label: a time (``"2024-04-01T00:00:00Z"``, ``pd.Timestamp``, datetime64) or
        exact ns since 1970 (int or :class:`~fractions.Fraction`).
    step
        The step in exact ns: an int, a :class:`~fractions.Fraction`, ``(numerator,
        denominator)``, a float (``1e9 / fs``: the nearest fraction with a denominator up to 1e6)
        or a timedelta (``"1s"``).
    size
        Number of labels.
    """
    index = TimeGridIndex.from_params(start, step, size, dim=dim)
    coords = xr.Coordinates.from_xindex(index)
    if attrs:
        coords.variables[dim].attrs.update(attrs)
    return coords


def grid_transform(
    obj: xr.Dataset | xr.DataArray, name: Hashable = "time"
) -> TimeGridTransform | None:
    """The :class:`TimeGridTransform` behind coordinate ``name`` of ``obj``, or ``None``."""
    index = obj.xindexes.get(name)
    return index.transform if isinstance(index, TimeGridIndex) else None
