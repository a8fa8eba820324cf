"""The numpy kernel of ONC resampling: statistics of whole bins of one chunk of samples.

:func:`intake_onc.scalar.resample.resample` cuts the data into chunks of whole bins (one chunk
without dask) and calls :func:`_resample_chunk` on each; this module is everything that runs
inside that call, and nothing here knows about xarray or dask.

Why hand-written rather than xarray/flox or pandas: on 1e7 samples xarray+flox takes about 1.1 s
and pandas' ``resample().agg`` 170-380 ms for mean/min/max/count alone, while ONC's minMaxAvg
also needs the standard deviation, the *times* and *flags* of the extremes and the worst flag.
Time stamps are sorted, so every bin is a contiguous run of samples: bin edges come from a
``searchsorted`` on int64 nanoseconds and every statistic from ``ufunc.reduceat`` over those
runs, in cache-sized blocks of whole bins (:data:`_BLOCK` samples: no 80 MB temporaries). The
arg-min/max uses no sort: the bin minimum is broadcast back (``np.repeat``) and the first equal
sample of each bin is taken. Measured against pandas in ``benchmarks/bench_resample.py``
(2.2x faster with or without a ``sample_period`` attribute).
"""

from __future__ import annotations

import numpy as np

from intake_onc._core.flags import AVERAGED, FAILED_FLAGS, GOOD, INSUFFICIENT, MISSING, RANK_CODES
from intake_onc._core.malloc import raise_malloc_thresholds

from .gaps import _periods_at
from .time_axis import NAT_NS, exact_times_ns

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
        # A bin whose rows all carry one flag needs nothing more (if it has a valid sample, that
        # is its flag); only bins holding several flags -- those with a dropped row among them --
        # are ranked, with the dropped rows counted as 1.
        q_hi, q_lo = np.maximum.reduceat(qc, starts), np.minimum.reduceat(qc, starts)
        out["worst"] = q_hi
        mixed = np.flatnonzero(q_hi != q_lo)
        if len(mixed):
            m_sizes = sizes[mixed]
            m_starts = np.cumsum(m_sizes) - m_sizes
            index = _ranges(starts[mixed], starts[mixed] + m_sizes)
            flags = qc[index]  # a copy: only the mixed bins' rows
            if len(bad):  # both sorted: find the dropped rows among them by bisection
                at = np.minimum(np.searchsorted(index, bad), len(index) - 1)
                flags[at[index[at] == bad]] = GOOD
            codes = np.maximum.reduceat(RANK_CODES[flags.view(np.uint8)], m_starts)
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
    x, qc, t, offset=None, *, period, method, min_completeness, rating, k_first, nbins
):
    """Resample one chunk of whole bins to the output fields, packed (see :class:`_Packed`).

    The chunk owns bins ``k_first`` to ``k_first + nbins`` (exclusive) and holds every sample of
    those bins. ``offset`` (seconds, or None) turns the nominal times ``t`` into exact sample times for the
    min/max times (a Dataset on a nominal grid, semantics.md).
    """
    # blocks of _BLOCK samples allocate and free a few MB each: keep them on the heap (on dask
    # workers glibc would fault them back in at every block; see intake_onc._core.malloc)
    raise_malloc_thresholds(8 * 8 * min(len(x), _BLOCK))
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
