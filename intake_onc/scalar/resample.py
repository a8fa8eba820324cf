"""ONC time averaging and resampling (``dpo_resample``): average, minMax, minMaxAvg.

Rules (semantics.md, "Resampling"): bins ``[k·P, (k+1)·P)`` counted from 1970-01-01T00:00Z,
stamped at their centre; statistics of the *clean* samples only (flags 3, 4, 6, NaN and ±inf
dropped); a bin is complete when its count is ≥ ``min_completeness · P / T``.

Why a hand-written kernel rather than xarray/flox or pandas: on 1e7 samples xarray+flox takes
about 1.1 s and pandas' ``resample().agg`` 170-320 ms for mean/min/max/count alone, while ONC's
minMaxAvg also needs the standard deviation, the *times* and *flags* of the extremes and the
worst flag. Time stamps are sorted, so every bin is a contiguous run of samples: bin edges come
from a ``searchsorted`` on int64 nanoseconds and every statistic from ``ufunc.reduceat`` over
those runs, processed in cache-sized blocks of whole bins (no 80 MB temporaries). The arg-min/max
uses no sort: the bin minimum is broadcast back (``np.repeat``) and the first equal sample of each
bin is taken. On dask the time axis is rechunked to whole bins (boundaries from the in-memory time
index) and the same kernel runs per chunk with ``map_blocks``; a bin never spans two chunks, so
numpy and dask give identical results.
"""

from __future__ import annotations

import uuid

import dask
import dask.array as dsa
import numpy as np
import xarray as xr
from dask.highlevelgraph import HighLevelGraph

from intake_onc._core.durations import duration_ns
from intake_onc._core.flags import (
    AVERAGED,
    FAILED_FLAGS,
    GOOD,
    INSUFFICIENT,
    MISSING,
    RANK_CODES,
    flag_attrs,
)
from intake_onc._core.time import parse_date

from .flags import flagged_variables
from .gaps import _periods_at, _rating, time_ns
from .time_axis import NAT_NS, exact_times_ns

__all__ = ["METHODS", "ONC_PERIODS", "parse_period", "resample"]

#: Resample types, as ONC spells them (``dpo_resample``).
METHODS = ("average", "minMax", "minMaxAvg")
#: ONC's own resample periods (s); any period dividing a day evenly is accepted too.
ONC_PERIODS = (60, 600, 900, 3600, 86400)
_DAY_NS = 86_400 * 10**9
#: Resampling refuses to make more bins than this (a few GB of output fields): a period of
#: "1ns" would otherwise try to allocate tebibytes.
MAX_BINS = 10**8
_BLOCK = 1 << 16  # samples per cache block (whole bins); ~0.5 MB of float64
_TOLERANCE = 1e-9  # count >= min_completeness * E, up to floating-point noise

_DTYPES = {
    "mean": np.float64,
    "qc": np.int8,
    "count": np.int64,
    "std": np.float64,
    "min": np.float64,
    "min_time": "datetime64[ns]",
    "min_qc": np.int8,
    "max": np.float64,
    "max_time": "datetime64[ns]",
    "max_qc": np.int8,
}
_AVERAGE = ("mean", "qc", "count", "std")
_MINMAX = ("min", "min_time", "min_qc", "max", "max_time", "max_qc")
_FIELDS = {
    "average": _AVERAGE,
    "minMax": (*_MINMAX, "count"),
    "minMaxAvg": (*_AVERAGE, *_MINMAX),
}


def parse_period(period: object) -> int:
    """A resampling period as integer nanoseconds; it must divide a day evenly.

    Read by :func:`intake_onc._core.durations.parse_duration`: seconds (``3600``), a string with
    a unit (``"1h"``) or ISO 8601 (``"PT1H"``); a bare number in a string (``"3600"``) is refused.

    Examples
    --------
    >>> parse_period("10min") // 10**9, parse_period(3600) // 10**9
    (600, 3600)
    """
    ns = duration_ns(period, argument="period")
    if _DAY_NS % ns:
        raise ValueError(
            f"period={period!r} does not divide a day (86400 s) evenly; use one of ONC's "
            f"periods {ONC_PERIODS} s ('1min', '10min', '15min', '1h', '1D') or another "
            "divisor of a day"
        )
    return ns


def _method(method: object) -> str:
    for m in METHODS:
        if isinstance(method, str) and method.lower() == m.lower():
            return m
    raise ValueError(f"method={method!r} is not a resample type; use one of {METHODS}")


def _edges(t: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.searchsorted(t, keys)`` for sorted ``keys``: coarse search on every 8th time, then
    a vectorised binary search in the 8-sample window (a plain searchsorted of 1e5 keys in 1e7
    times is dominated by cache misses)."""
    n, stride = len(t), 8
    if n < 1024 or len(keys) < 64:
        return np.searchsorted(t, keys)
    j = np.searchsorted(t[::stride].copy(), keys)  # t[(j-1)*stride] < key <= t[j*stride]
    lo = np.where(j > 0, (j - 1) * stride + 1, 0)
    hi = np.minimum(j * stride, n)
    for _ in range(4):  # the answer is in [lo, hi], hi - lo < 8
        mid = (lo + hi) >> 1
        below = t[np.minimum(mid, n - 1)] < keys
        lo = np.where(below, mid + 1, lo)
        hi = np.where(below, hi, mid)
    return np.minimum(lo, hi)  # lo may overshoot to n + 1 when the answer is n


def _first_per_bin(hits: np.ndarray, starts: np.ndarray, out: np.ndarray) -> None:
    """``out[b]`` = position of the first True of ``hits`` in bin ``b`` (bins start at ``starts``)."""
    pos = np.flatnonzero(hits)
    if not len(pos):
        return
    bins = np.searchsorted(starts, pos, side="right") - 1
    first = np.empty(len(bins), dtype=bool)
    first[0] = True
    np.not_equal(bins[1:], bins[:-1], out=first[1:])
    out[bins[first]] = pos[first]


def _block_stats(x, qc, starts, sizes, extremes: bool, worst: bool) -> dict[str, np.ndarray]:
    """Raw statistics of one block of whole, non-empty bins (positions local to the block)."""
    nb = len(starts)
    bad = ~np.isfinite(x)
    for f in FAILED_FLAGS:  # as comparisons (a table lookup is 5x slower)
        bad |= qc == f
    bad = np.flatnonzero(bad)
    if not len(bad):  # usually few: patch them rather than mask everything
        xn, count = x, sizes
        low = np.minimum.reduceat(x, starts)
    else:
        xn = x.copy()
        xn[bad] = np.nan
        low = np.fmin.reduceat(xn, starts)  # NaN-ignoring; NaN for bins without valid data
        count = sizes - np.bincount(np.searchsorted(starts, bad, side="right") - 1, minlength=nb)
    # Deviations from the bin minimum: exact zeros mark the minimum (no sort needed) and the
    # shifted sums give a well-conditioned mean and variance.
    dev = xn - np.repeat(low, sizes)
    out = {"count": count, "min": low}
    if extremes:
        out["max"] = high = np.fmax.reduceat(xn, starts)
        out["argmin"] = np.full(nb, -1, dtype=np.intp)
        out["argmax"] = np.full(nb, -1, dtype=np.intp)
        _first_per_bin(dev == 0, starts, out["argmin"])
        _first_per_bin(xn == np.repeat(high, sizes), starts, out["argmax"])
    dev[bad] = 0.0
    out["sum"] = np.add.reduceat(dev, starts)
    dev *= dev
    out["sumsq"] = np.add.reduceat(dev, starts)
    if worst:
        # Only the samples that entered the statistics count (semantics.md, minMaxAvg): a
        # cleaned-away or NaN row counts as flag 1, the best, so it never makes a bin worse; a bin
        # without valid samples is empty and flagged 9 by the caller.
        if len(bad):
            qc = qc.copy()
            qc[bad] = GOOD
        q_hi, q_lo = np.maximum.reduceat(qc, starts), np.minimum.reduceat(qc, starts)
        out["worst"] = q_hi
        mixed = np.flatnonzero(q_hi != q_lo)  # only bins holding several flags need ranking
        if len(mixed):
            m_sizes = sizes[mixed]
            m_starts = np.cumsum(m_sizes) - m_sizes
            index = _ranges(starts[mixed], starts[mixed] + m_sizes)
            codes = np.maximum.reduceat(RANK_CODES[qc[index].view(np.uint8)], m_starts)
            out["worst"][mixed] = (codes & 0xFF).astype(np.uint8).view(np.int8)
    return out


def _ranges(begins: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(b, e)`` for each pair (no Python loop)."""
    lengths = ends - begins
    offsets = np.cumsum(lengths) - lengths
    return np.arange(lengths.sum()) + np.repeat(begins - offsets, lengths)


def _bin_stats(x, qc, t, k_first: int, nbins: int, period: int, extremes: bool, worst: bool):
    """Raw statistics of bins ``k_first .. k_first + nbins - 1`` (all samples must lie inside)."""
    edges = _edges(t, (k_first + np.arange(nbins + 1, dtype=np.int64)) * period)
    sizes_all = np.diff(edges)
    nonempty = np.flatnonzero(sizes_all)
    starts, sizes = edges[:-1][nonempty], sizes_all[nonempty]
    # Blocks of whole bins of about _BLOCK samples keep every temporary in cache.
    # A cut at a multiple of _BLOCK inside the last bin lands on len(starts): listed once.
    cuts = np.unique(np.append(np.searchsorted(starts, np.arange(0, len(t), _BLOCK)), len(starts)))
    parts = []
    for b0, b1 in zip(cuts[:-1], cuts[1:], strict=True):
        a, b = starts[b0], starts[b1 - 1] + sizes[b1 - 1]
        part = _block_stats(x[a:b], qc[a:b], starts[b0:b1] - a, sizes[b0:b1], extremes, worst)
        for key in ("argmin", "argmax"):
            if key in part:
                part[key] = np.where(part[key] >= 0, part[key] + a, -1)
        parts.append(part)
    full = {}
    for key, fill in (
        ("count", 0),
        ("min", np.nan),
        ("max", np.nan),
        ("sum", 0.0),
        ("sumsq", 0.0),
        ("argmin", -1),
        ("argmax", -1),
        ("worst", MISSING),
    ):
        if parts and key in parts[0]:
            dtype = np.result_type(parts[0][key])
            full[key] = np.full(nbins, fill, dtype=dtype)
            full[key][nonempty] = np.concatenate([p[key] for p in parts])
    return full


def _resample_chunk(
    x, qc, t, offset=None, *, period, method, min_completeness, rating, firsts, end, block_info=None
):
    """Resample one chunk of whole bins to the output fields, packed (see :class:`_Packed`).

    Chunk ``i`` (``block_info``; 0 without dask) owns bins ``firsts[i]`` up to the next chunk's
    first bin (``end``, exclusive, for the last chunk) and holds every sample of those bins.
    ``offset`` (seconds, or None) turns the nominal times ``t`` into exact sample times for the
    min/max times (a Dataset on a nominal grid, semantics.md).
    """
    i = block_info[None]["chunk-location"][-1] if block_info else 0
    k_first = firsts[i]
    nbins = (firsts[i + 1] if i + 1 < len(firsts) else end) - k_first
    fields = _FIELDS[method]
    out = _Packed(fields, nbins)
    if nbins == 0:
        return out.data
    x = np.asarray(x, dtype=np.float64)
    qc = np.asarray(qc)
    extremes = "min" in fields
    if len(t):
        stats = _bin_stats(x, qc, t, k_first, nbins, period, extremes, method == "minMaxAvg")
    else:  # a window without samples: every bin is empty
        stats = {"count": np.zeros(nbins, dtype=np.int64), "min": np.full(nbins, np.nan)}
        stats.update(max=stats["min"], argmin=np.full(nbins, -1), argmax=np.full(nbins, -1))
        stats.update(sum=stats["min"], sumsq=stats["min"], worst=np.full(nbins, MISSING))
        t = qc = np.zeros(1, dtype=np.int64)  # never read: every position is -1
    count = stats["count"]
    empty = count == 0
    complete = ~empty
    if min_completeness > 0:
        bin_starts = (k_first + np.arange(nbins, dtype=np.int64)) * period
        expected = (period / 1e9) / _periods_at(rating, bin_starts)
        complete &= count >= min_completeness * expected - _TOLERANCE
    state = np.where(empty, MISSING, np.where(complete, 0, INSUFFICIENT)).astype(np.int8)
    out["count"] = count
    with np.errstate(invalid="ignore", divide="ignore"):
        if "mean" in fields:
            out["mean"] = np.where(complete, stats["min"] + stats["sum"] / count, np.nan)
            var = (stats["sumsq"] - stats["sum"] ** 2 / count) / (count - 1)
            out["std"] = np.where(count > 1, np.sqrt(np.maximum(var, 0)), np.nan)
            flag = stats["worst"] if method == "minMaxAvg" else AVERAGED
            out["qc"] = np.where(state == 0, flag, state)
    if extremes:
        for key in ("min", "max"):
            pos = stats[f"arg{key}"]
            found = pos >= 0
            out[key] = stats[key]
            when = t[pos] if offset is None else exact_times_ns(t[pos], np.asarray(offset)[pos])
            out[f"{key}_time"] = np.where(found, when, NAT_NS).view("M8[ns]")
            out[f"{key}_qc"] = np.where(state == 0, qc[pos], state)
    return out.data


class _Packed:
    """Output fields of a chunk as the rows of one C-contiguous int64 array (floats and times
    bit-for-bit), so that dask concatenates contiguous rows rather than strided records."""

    def __init__(self, fields: tuple[str, ...], nbins: int) -> None:
        self.rows = {f: j for j, f in enumerate(fields)}
        self.data = np.empty((len(fields), nbins), dtype=np.int64)

    def __setitem__(self, field: str, values: np.ndarray) -> None:
        dtype = np.dtype(_DTYPES[field])
        values = np.asarray(values, dtype=dtype)
        self.data[self.rows[field]] = values.view(np.int64) if dtype.kind in "fM" else values

    @staticmethod
    def unpack(data: np.ndarray, row: int, dtype: np.dtype) -> np.ndarray:
        values = data[row]
        return values.view(dtype) if dtype.kind in "fM" else values.astype(dtype)


def _bin_range(t: np.ndarray, period: int, start: object, end: object) -> tuple[int, int]:
    """First bin and the bin after the last: the data's extent, or the widened query window."""
    if start is None and end is None:
        return (int(t[0] // period), int(t[-1] // period) + 1) if len(t) else (0, 0)
    if start is None or end is None:
        raise ValueError("start, end: give both (the query window) or neither")
    lo = parse_date(start, argument="start").as_unit("ns").value
    hi = parse_date(end, argument="end").as_unit("ns").value
    k0 = lo // period
    return k0, max(k0, -(-hi // period))


def _aligned_bounds(t: np.ndarray, chunks: tuple[int, ...], period: int) -> np.ndarray:
    """Chunk boundaries (positions) moved back to the start of the bin they fall in."""
    inner = np.cumsum(chunks)[:-1]
    inner = inner[(inner > 0) & (inner < len(t))]
    snapped = np.searchsorted(t, (t[inner] // period) * period)
    return np.unique(np.concatenate([[0], snapped, [len(t)]]))


def _numpy_chunks(t: np.ndarray, sizes: tuple[int, ...]) -> dsa.Array:
    """A dask array whose chunks are views of ``t`` (``from_array`` copies it twice)."""
    name = f"onc-time-{uuid.uuid4().hex}"
    ends = np.cumsum(sizes).tolist()
    views = {(name, i): t[end - sizes[i] : end] for i, end in enumerate(ends)}
    graph = HighLevelGraph.from_collections(name, views, dependencies=())
    return dsa.Array(graph, name, chunks=(sizes,), dtype=t.dtype, meta=np.empty(0, t.dtype))


def _unpack_lazily(packed: dsa.Array, row: int, dtype: np.dtype) -> dsa.Array:
    """Row ``row`` of a packed dask result, as ``dtype``: one task per chunk in a plain layer
    (a ``map_blocks`` layer per field costs more in graph optimisation than the work)."""
    name = f"onc-{row}-{packed.name}"
    blocks = range(packed.numblocks[1])
    tasks = {(name, i): (_Packed.unpack, (packed.name, 0, i), row, dtype) for i in blocks}
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=[packed])
    return dsa.Array(graph, name, chunks=(packed.chunks[1],), dtype=dtype, meta=np.empty(0, dtype))


def _rating_if_known(ds: xr.Dataset, sample_period: object, t: np.ndarray, needed: bool):
    """The sample period(s) of ``ds`` (:func:`~intake_onc.scalar.gaps.sample_periods`'s rules),
    or None when they cannot be known (fewer than two times, no attribute) and are not needed."""
    knowable = (
        needed
        or sample_period is not None
        or len(t) >= 2
        or "sample_period" in ds.attrs
        or "sample_period_values" in ds.attrs
    )
    return _rating(ds, sample_period, t) if knowable else None


def _has_offsets(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is on a nominal grid with exact-time offsets (``open_scalar``)."""
    return "time_offset" in ds.variables and ds["time_offset"].dims == ("time",)


def _as_int8(qc):
    if qc.dtype == np.int8:
        return qc
    if qc.dtype.kind == "f":
        if dask.is_dask_collection(qc):
            return dsa.where(dsa.isnan(qc), MISSING, qc).astype(np.int8)
        return np.where(np.isnan(qc), MISSING, qc).astype(np.int8)
    return qc.astype(np.int8)


def _field_attrs(name: str, field: str, src: dict, period_s: float) -> dict:
    label = src.get("long_name", name)
    units = {"units": src["units"]} if "units" in src else {}
    interval = f" (interval: {period_s:g} s)"
    if field in ("qc", "min_qc", "max_qc"):
        base = name if field == "qc" else f"{name}_{field[:3]}"
        return flag_attrs(base)
    if field == "mean":
        return {**src, "ancillary_variables": f"{name}_qc", "cell_methods": "time: mean" + interval}
    if field == "count":
        return {"long_name": f"{label} count of valid samples", "units": "1"}
    if field == "std":
        return {
            "long_name": f"{label} standard deviation",
            **units,
            "cell_methods": "time: standard_deviation" + interval,
        }
    if field in ("min", "max"):
        word = "minimum" if field == "min" else "maximum"
        return {
            **src,
            "long_name": f"{label} {word}",
            "ancillary_variables": f"{name}_{field}_qc",
            "cell_methods": f"time: {word}" + interval,
        }
    return {"long_name": f"time of {label} {'minimum' if field == 'min_time' else 'maximum'}"}


def resample(
    ds: xr.Dataset,
    period: object,
    method: str = "average",
    min_completeness: float = 0.7,
    sample_period: object = None,
    *,
    start: object = None,
    end: object = None,
) -> xr.Dataset:
    """Resample a scalar Dataset the ONC way (average, minMax or minMaxAvg).

    Bins are ``[k·P, (k+1)·P)`` from the Unix epoch, stamped at their centre, from the bin of
    the first sample to the bin of the last, or covering the query window ``[start, end)``
    widened to whole bins. A bin without valid samples is *empty* (NaN, NaT, count 0, flags 9),
    even when it holds rows. Statistics use the clean samples only: values flagged 3, 4 or 6,
    NaN and ±inf are dropped whether or not :func:`~intake_onc.scalar.quality.clean` was called. A bin is
    complete when its count of valid samples is ≥ ``min_completeness · E`` with ``E = P / T``,
    ``T`` being the sample period in force **at the start of the bin** (see
    :func:`~intake_onc.scalar.gaps.sample_periods`; only needed when ``min_completeness > 0``).

    Output variables per data variable ``X`` (one with a ``X_qc`` companion):

    - ``average``: ``X`` (mean; NaN when incomplete), ``X_qc`` (7 complete, 6 incomplete,
      9 empty), ``X_count``, ``X_std`` (ddof=1; NaN when count < 2, kept when incomplete:
      only the value ``X`` is withheld).
    - ``minMax``: ``X_min``, ``X_min_time``, ``X_min_qc``, ``X_max``, ``X_max_time``,
      ``X_max_qc``, ``X_count``. Extremes of incomplete bins are kept with flags 6; ties go to
      the earliest sample; ``*_qc`` of complete bins are the flags of those samples.
    - ``minMaxAvg``: all of them; ``X_qc`` is the worst flag (1 < 2 < 7 < 0 < 8 < 3 < 4 < 6 < 9)
      **among the samples that entered the statistics** (semantics.md): values dropped by
      cleaning, NaN readings and gap-filled rows do not count, so a complete bin of clean data
      is never 3, 4 or 9; 6 when incomplete, 9 when empty.
    - ``X_min_time``/``X_max_time`` are exact sample times: on a nominal grid (a Dataset with
      ``time_offset``, as ``open_scalar`` makes) the grid time plus the offset, to the ms.

    A period shorter than the data's sample period, or one that would make more than
    :data:`MAX_BINS` bins, is refused before anything is allocated.

    Other time-dependent variables are dropped. On dask the time axis is rechunked to whole
    bins and the result stays lazy (nothing is computed here).

    Parameters
    ----------
    ds
        A scalar Dataset (semantics.md layout), numpy- or dask-backed, not already resampled.
    period
        ``"1min"``, ``"10min"``, ``"1h"``, a pandas offset or Timedelta, or seconds; it must
        divide a day (ONC: 60, 600, 900, 3600, 86400 s).
    method
        ``"average"`` (default), ``"minMax"`` or ``"minMaxAvg"``.
    min_completeness
        Fraction of the expected count a bin needs, in [0, 1]; 0 disables the rule.
    sample_period
        Sample period override (seconds, ``"1s"``, Timedelta).
    start, end
        Optional query window (both or neither; anything ``parse_date`` reads), widened to
        whole bins ``[floor(start/P)·P, ceil(end/P)·P)``; every bin in it is returned, and
        samples outside it are ignored.

    Returns
    -------
    xarray.Dataset
        attrs ``resample_type``, ``resample_period`` (s), ``min_completeness``,
        ``quality_control = "clean"``, ``data_gaps = "fill"`` and ``sample_period = P``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> time = pd.date_range("2024-01-01", periods=120, freq="1s")
    >>> ds = xr.Dataset({"t": ("time", np.arange(120.0)), "t_qc": ("time", np.ones(120, "int8"))},
    ...                 coords={"time": time})
    >>> out = resample(ds, "1min", method="minMaxAvg")
    >>> out.time.values.astype(str).tolist()
    ['2024-01-01T00:00:30.000000000', '2024-01-01T00:01:30.000000000']
    >>> out.t.values.tolist(), out.t_qc.values.tolist(), out.t_count.values.tolist()
    ([29.5, 89.5], [1, 1], [60, 60])
    """
    period_ns = parse_period(period)
    method = _method(method)
    if (
        isinstance(min_completeness, bool)
        or not isinstance(min_completeness, (int, float, np.integer, np.floating))
        or not (0 <= float(min_completeness) <= 1)
    ):
        raise ValueError(
            f"min_completeness={min_completeness!r} must be a number in [0, 1] (the share of the "
            "expected sample count a bin needs; ONC uses 0.7, 0 turns the rule off)"
        )
    min_completeness = float(min_completeness)
    t = time_ns(ds)
    if ds.attrs.get("resample_type") in METHODS:
        raise ValueError(
            f"ds is already resampled (resample_type={ds.attrs['resample_type']!r}); "
            "resample the original samples instead"
        )
    mapping = flagged_variables(ds)
    if not mapping:
        raise ValueError("ds has no data variables with QAQC flags (X with a X_qc companion)")
    if sample_period is not None:
        duration_ns(sample_period, argument="sample_period")
    k0, k_end = _bin_range(t, period_ns, start, end)
    if k_end - k0 > MAX_BINS:
        raise ValueError(
            f"period={period!r}: {k_end - k0:,} bins of {period_ns / 1e9:g} s would cover the "
            f"data (more than {MAX_BINS:,}); choose a longer period or a shorter time range"
        )
    rows = slice(*np.searchsorted(t, [k0 * period_ns, k_end * period_ns]).tolist())
    rating = _rating_if_known(ds, sample_period, t, needed=min_completeness > 0 and k_end > k0)
    if rating is not None and period_ns < round(float(rating[1].min()) * 1e9):
        raise ValueError(
            f"period={period!r} ({period_ns / 1e9:g} s) is shorter than the data's sample period "
            f"({float(rating[1].min()):g} s): a bin could not hold one sample; choose a period "
            f"of at least {float(rating[1].min()):g} s (ONC's: {ONC_PERIODS} s)"
        )
    t = t[rows]
    kwargs = {
        "period": period_ns,
        "method": method,
        "min_completeness": min_completeness,
        "rating": rating,
        "end": k_end,
    }
    results = {}
    td = bounds = None
    offset = ds["time_offset"].data if _has_offsets(ds) else None
    if offset is not None and rows != slice(0, ds.sizes["time"]):
        offset = offset[rows]
    for name, qc_name in mapping.items():
        var, qc = ds[name], ds[qc_name]
        if var.dims != ("time",) or qc.dims != ("time",):
            raise ValueError(f"resample: variable {name!r} must be 1-D along 'time'")
        x, q = var.data, _as_int8(qc.data)
        if rows != slice(0, ds.sizes["time"]):
            x, q = x[rows], q[rows]
        if len(t) and (dask.is_dask_collection(x) or dask.is_dask_collection(q)):
            if td is None:
                chunks = x.chunks[0] if dask.is_dask_collection(x) else q.chunks[0]
                bounds = _aligned_bounds(t, chunks, period_ns)
                sizes = tuple(np.diff(bounds).tolist())
                firsts = [k0, *(t[bounds[1:-1]] // period_ns).tolist()]
                out_chunks = tuple(np.diff([*firsts, k_end]).tolist())
                td = _numpy_chunks(t, sizes)
            x, q = (dsa.asarray(a).rechunk((sizes,)) for a in (x, q))
            extra = () if offset is None else (dsa.asarray(offset).rechunk((sizes,)),)
            nfields = len(_FIELDS[method])
            packed = dsa.map_blocks(
                _resample_chunk,
                x,
                q,
                td,
                *extra,
                new_axis=0,
                chunks=((nfields,), out_chunks),
                dtype=np.int64,
                meta=np.empty((0, 0), np.int64),
                firsts=tuple(firsts),
                **kwargs,
            )
        else:
            off = None if offset is None else np.asarray(offset)
            packed = _resample_chunk(np.asarray(x), np.asarray(q), t, off, firsts=(k0,), **kwargs)
        results[name] = {}
        for row, field in enumerate(_FIELDS[method]):
            dtype = np.dtype(_DTYPES[field])
            if dask.is_dask_collection(packed):
                results[name][field] = _unpack_lazily(packed, row, dtype)
            else:
                results[name][field] = _Packed.unpack(packed, row, dtype)

    period_s = period_ns / 1e9
    centres = (np.arange(k0, k_end, dtype=np.int64)) * period_ns + period_ns // 2
    coords = {k: v for k, v in ds.coords.items() if "time" not in v.dims}
    coords["time"] = xr.Variable("time", centres.view("M8[ns]"), dict(ds["time"].attrs))
    data = {}
    for name, fields in results.items():
        src = dict(ds[name].attrs)
        src.pop("ancillary_variables", None)
        for field, values in fields.items():
            out_name = name if field == "mean" else f"{name}_{field}"
            data[out_name] = xr.Variable("time", values, _field_attrs(name, field, src, period_s))
    keep = {k: v for k, v in ds.data_vars.items() if "time" not in v.dims}
    attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("sample_period_")}
    attrs.update(
        quality_control="clean",
        data_gaps="fill",
        resample_type=method,
        resample_period=period_s,
        min_completeness=min_completeness,
        sample_period=period_s,
    )
    return _resampled_metadata(xr.Dataset({**keep, **data}, coords=coords, attrs=attrs), ds)


_TIME_AXIS_BINS = (
    "time is the centre of each resample bin [k*P, (k+1)*P) (P = resample_period, counted from "
    "1970-01-01T00:00Z); time_bounds holds each bin's start and end"
)


def _resampled_metadata(out: xr.Dataset, ds: xr.Dataset) -> xr.Dataset:
    """CF time bounds, encodings and the attrs the resampling made stale (in place)."""
    from .cf import _time_encoding, cf_variables, refresh_metadata, time_bounds

    period_s = float(out.attrs["resample_period"])
    out["time"].encoding.update(ds["time"].encoding, _FillValue=None)
    out["time"].encoding.update(_time_encoding(out))
    out["time"].attrs.update(axis="T", bounds="time_bounds")
    out["time"].attrs.setdefault("standard_name", "time")
    out["time"].attrs["long_name"] = "centre of the resample bin (UTC)"
    out = out.assign_coords(time_bounds=time_bounds(out["time"].values, period_s))
    cf_variables(out)
    for key in ("time_axis", "time_axis_comment"):
        if key in ds.attrs:
            out.attrs["time_axis"] = "bin_centre"
            out.attrs["time_axis_comment"] = _TIME_AXIS_BINS
    method, completeness = out.attrs["resample_type"], out.attrs["min_completeness"]
    line = (
        f"intake-onc resample: {method} over {period_s:g} s bins (clean samples only, "
        f"min_completeness {completeness:g})"
    )
    return refresh_metadata(out, line)
