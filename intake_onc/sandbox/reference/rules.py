"""The reference ("oracle") implementation of ``semantics.md``: clean, fill/remove gaps, resample.

Everything here is written for clarity, not speed: plain loops over gaps and bins that follow
``../shared/reference/semantics.md`` literally, so that the package's fast xarray operations
(``intake_onc.scalar``) can be tested against them. The functions are pure and work on
:class:`~intake_onc.sandbox.synthetic.scalar.ScalarRecords`.

Rules and the choices made where the reference leaves room
----------------------------------------------------------
*Sample period* ``T`` (argument ``period``/``sample_period``): ``None`` = the device's data rating
(``OBSERVATORY.sample_period_at(records.device_code, t)``), or, for records without a device, the
median time step; a number = that many seconds everywhere; a callable = ``f(datetime64[ns] array)
-> seconds array``. It is looked up **at the reading before a gap** (gap filling) and **at the
start of a bin** (resampling).

*clean*: values whose flag is 3, 4 or 6 become NaN; flags are unchanged.

*fill_gaps*: ``g`` = step between consecutive times in integer ns, ``T`` in integer ns
(``round(T * 1e9)``). A gap is ``10 * g > 19 * T`` (exactly ``g > 1.9 T``). It gets
``n = round(g / T) - 1`` rows, rounding **half to even** on the exact ratio (Python's ``round``;
``numpy.round`` agrees), at ``t_last + k T`` (k = 1..n), values NaN, flags 9. Nothing before the
first or after the last reading.

*remove_gaps*: rows whose every value is NaN are dropped (multi-sensor rule). On
:class:`ResampledRecords` the values looked at are ``X``, ``X_min`` and ``X_max`` (those present).

*resample*: always on clean data (``clean`` is applied first; idempotent). Bins ``[kP, (k+1)P)``
from the epoch, labelled by their centre ``kP + P/2``. With ``start``/``end`` the bins are those
meeting the widened window ``[floor(start/P) P, ceil(end/P) P)`` (every bin, empty ones
included); without, from the first reading's bin to the last reading's bin. ``E = P / T`` with
``T`` at the bin start. ``count`` = valid (non-NaN after cleaning) samples. A bin is *empty* when
``count == 0`` (even if it holds rows), *complete* when ``count >= min_completeness * E``,
evaluated **exactly** on the decimal values (``Fraction(repr(x))``); a float implementation
agrees with ``count >= min_completeness * E - 1e-9``.

=========== ================================================================================
method      output per sensor ``X``
=========== ================================================================================
average     ``X`` mean of valid samples (NaN when incomplete or empty), ``X_qc`` 7 complete /
            6 incomplete / 9 empty, ``X_count``, ``X_std`` (ddof = 1; NaN when count < 2; **kept
            when incomplete** - only the value ``X`` is blanked)
minMax      ``X_min``/``X_max`` (extreme valid values, the **first** in time on ties; still
            reported when incomplete), ``X_min_time``/``X_max_time``, ``X_min_qc``/``X_max_qc``
            (the samples' flags; 6 when incomplete; 9 and NaN/NaT when empty), ``X_count``
minMaxAvg   all of the above; ``X_qc`` = the worst flag **among the samples that entered the
            statistics** (valid after cleaning: values cleaning dropped, NaN readings and
            gap-filled rows do not count) by 1 < 2 < 7 < 0 < 8 < 3 < 4 < 6 < 9; 6 when
            incomplete; 9 when empty. Other flags (e.g. 5) on such samples raise ``ValueError``.
=========== ================================================================================

Flags are int8, counts int64, times datetime64[ns] (NaT when missing). The method names ``avg``
(scalardata API) and ``average`` (data products) are the same thing.

The series and pages built on these rules live in :mod:`~intake_onc.sandbox.reference.scalar_series`
(:func:`scalar_series`) and :mod:`~intake_onc.sandbox.encoders.scalar_pages` (:func:`scalar_page`), the
TSSD files in :mod:`~intake_onc.sandbox.products.tssd_files`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from intake_onc._core.time import parse_date
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.synthetic.scalar import NS_PER_DAY, NS_PER_S, ScalarRecords

__all__ = [
    "CLEAN_FLAGS",
    "QAQC_FLAG_INFO",
    "WORST_FLAG_ORDER",
    "ResampledRecords",
    "SamplePeriod",
    "clean",
    "fill_gaps",
    "gap_fill_times",
    "normalize_resample_method",
    "period_to_ns",
    "remove_gaps",
    "resample",
    "sample_periods",
]

#: ``qaqcFlagInfo`` as the API sends it (onc-api.md section 7).
QAQC_FLAG_INFO: dict[str, str] = {
    "0": "No Quality Control",
    "1": "Data Passed All Tests",
    "2": "Data Probably Good",
    "3": "Data Probably Bad (failed minor tests)",
    "4": "Data Bad (failed major tests)",
    "6": "Insufficient Valid Data for Reliable Down-Sampling (ONC-defined flag)",
    "7": "Averaged Value (ONC defined flag)",
    "8": "Interpolated Value",
    "9": "Missing Data",
}
#: Flags whose values ``clean`` replaces by NaN.
CLEAN_FLAGS: tuple[int, ...] = (3, 4, 6)
#: Best to worst, for minMaxAvg's ``X_qc`` (semantics.md, chosen).
WORST_FLAG_ORDER: tuple[int, ...] = (1, 2, 7, 0, 8, 3, 4, 6, 9)

FLAG_MISSING = 9
FLAG_AVERAGED = 7
FLAG_INSUFFICIENT = 6

SamplePeriod = float | int | Callable[[np.ndarray], np.ndarray] | None

_METHODS = {"average": "average", "avg": "average", "minmax": "minMax", "minmaxavg": "minMaxAvg"}


def normalize_resample_method(method: str) -> str:
    """``average`` (also ``avg``), ``minMax`` or ``minMaxAvg`` (case-insensitive input)."""
    key = str(method).strip().lower() if method is not None else ""
    if key not in _METHODS:
        raise ValueError(
            f"method: unknown resample type {method!r}; expected 'average' (or 'avg'), "
            "'minMax' or 'minMaxAvg'"
        )
    return _METHODS[key]


# ----------------------------------------------------------------------------------------------
# Sample periods
# ----------------------------------------------------------------------------------------------


def sample_periods(records: ScalarRecords, times: np.ndarray, period: SamplePeriod) -> np.ndarray:
    """The sample period (float seconds) in force at each of ``times`` (see module docstring)."""
    times = np.asarray(times, dtype="datetime64[ns]")
    if period is None:
        if records.device_code is not None:
            return OBSERVATORY.sample_period_at(records.device_code, times)
        if len(records) < 2:
            raise ValueError(
                "sample_period: records without a device_code and with fewer than two times "
                "have no sample period; pass sample_period= (seconds)"
            )
        median = float(np.median(np.diff(records.times.astype("int64")))) / NS_PER_S
        return np.full(times.shape, median)
    if callable(period):
        out = np.asarray(period(times), dtype="float64")
        return np.broadcast_to(out, times.shape).copy()
    value = float(period)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"sample_period: expected a positive number of seconds, got {period!r}")
    return np.full(times.shape, value)


def period_to_ns(seconds: float) -> int:
    """A period in seconds as integer ns (rounded); ``ValueError`` unless positive."""
    ns = int(round(float(seconds) * NS_PER_S))
    if ns <= 0:
        raise ValueError(f"sample period must be positive, got {seconds!r} s")
    return ns


# ----------------------------------------------------------------------------------------------
# clean / fill / remove
# ----------------------------------------------------------------------------------------------


def clean(records: ScalarRecords) -> ScalarRecords:
    """Values flagged 3, 4 or 6 become NaN; flags and times are unchanged."""
    values = {}
    for sensor in records.sensors:
        v = records.values[sensor].copy()
        v[np.isin(records.flags[sensor], CLEAN_FLAGS)] = np.nan
        values[sensor] = v
    flags = {s: f.copy() for s, f in records.flags.items()}
    return ScalarRecords(records.times.copy(), values, flags, records.device_code)


def gap_fill_times(times: np.ndarray, periods_s: np.ndarray) -> np.ndarray:
    """The times (int64 ns) gap filling inserts, given ``T`` (s) in force at each time."""
    t = np.asarray(times, dtype="datetime64[ns]").astype("int64")
    if t.size < 2:
        return np.array([], dtype="int64")
    period_ns = np.rint(np.asarray(periods_s, dtype="float64") * NS_PER_S).astype("int64")
    if np.any(period_ns <= 0):
        raise ValueError("sample period must be positive")
    steps = np.diff(t)
    inserted: list[int] = []
    for i in np.nonzero(10 * steps > 19 * period_ns[:-1])[0]:  # g > 1.9 T, exactly
        g, period = int(steps[i]), int(period_ns[i])
        n = round(Fraction(g, period)) - 1  # half to even, on the exact ratio
        inserted.extend(int(t[i]) + k * period for k in range(1, n + 1))
    return np.array(inserted, dtype="int64")


def fill_gaps(records: ScalarRecords, period: SamplePeriod = None) -> ScalarRecords:
    """Insert NaN rows (flag 9) into every gap ``g > 1.9 T`` (``T`` at the reading before it)."""
    if len(records) < 2:
        return records.take(slice(None))  # type: ignore[arg-type]
    periods = sample_periods(records, records.times, period)
    new = gap_fill_times(records.times, periods)
    if new.size == 0:
        return records.take(slice(None))  # type: ignore[arg-type]
    times = np.concatenate([records.times.astype("int64"), new])
    order = np.argsort(times, kind="stable")
    values, flags = {}, {}
    for sensor in records.sensors:
        values[sensor] = np.concatenate([records.values[sensor], np.full(new.size, np.nan)])[order]
        flags[sensor] = np.concatenate(
            [records.flags[sensor], np.full(new.size, FLAG_MISSING, dtype="int8")]
        )[order]
    return ScalarRecords(times[order].astype("datetime64[ns]"), values, flags, records.device_code)


def remove_gaps(records: ScalarRecords | ResampledRecords) -> ScalarRecords | ResampledRecords:
    """Drop rows whose every value is NaN (a row with any value is kept, NaNs and all)."""
    if isinstance(records, ResampledRecords):
        keep = np.zeros(len(records), dtype=bool)
        for sensor in records.sensors:
            for name in records.value_fields(sensor):
                keep |= ~np.isnan(records.variables[name])
        return records.take(keep)
    keep = np.zeros(len(records), dtype=bool)
    for sensor in records.sensors:
        keep |= ~np.isnan(records.values[sensor])
    return records.take(keep)


# ----------------------------------------------------------------------------------------------
# Resampling
# ----------------------------------------------------------------------------------------------


@dataclass
class ResampledRecords:
    """Resampled scalar data: one row per bin, variables named as in the xarray Dataset.

    ``variables`` holds, per sensor ``X`` and by method: ``X``, ``X_qc``, ``X_count``, ``X_std``,
    ``X_min``, ``X_min_time``, ``X_min_qc``, ``X_max``, ``X_max_time``, ``X_max_qc``
    (see the module docstring). ``times`` are bin centres.
    """

    times: np.ndarray
    method: str
    period: float
    sensors: tuple[str, ...]
    variables: dict[str, np.ndarray]
    device_code: str | None = None
    min_completeness: float = 0.7

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def bin_starts(self) -> np.ndarray:
        """``datetime64[ns]`` start of each bin."""
        return self.times - np.timedelta64(period_to_ns(self.period) // 2, "ns")

    @property
    def bin_ends(self) -> np.ndarray:
        """``datetime64[ns]`` (exclusive) end of each bin."""
        return self.bin_starts + np.timedelta64(period_to_ns(self.period), "ns")

    def value_fields(self, sensor: str) -> list[str]:
        """The value variables of a sensor: ``X`` and/or ``X_min``, ``X_max``."""
        return [n for n in (sensor, f"{sensor}_min", f"{sensor}_max") if n in self.variables]

    def take(self, index: np.ndarray | slice) -> ResampledRecords:
        """The bins selected by a mask, an index or a slice."""
        return ResampledRecords(
            self.times[index],
            self.method,
            self.period,
            self.sensors,
            {k: v[index] for k, v in self.variables.items()},
            self.device_code,
            self.min_completeness,
        )

    @classmethod
    def concat(cls, parts: Sequence[ResampledRecords]) -> ResampledRecords:
        """Join resampled parts (same method, period and sensors) in time order."""
        first = parts[0]
        return cls(
            np.concatenate([p.times for p in parts]),
            first.method,
            first.period,
            first.sensors,
            {k: np.concatenate([p.variables[k] for p in parts]) for k in first.variables},
            first.device_code,
            first.min_completeness,
        )

    def equals(self, other: ResampledRecords) -> bool:
        """Same bins and variables (NaN == NaN, NaT == NaT)."""
        if (self.method, self.period, self.sensors) != (other.method, other.period, other.sensors):
            return False
        if not np.array_equal(self.times, other.times) or set(self.variables) != set(
            other.variables
        ):
            return False
        for name, arr in self.variables.items():
            b = other.variables[name]
            if arr.dtype.kind in "fM":
                if not np.array_equal(arr, b, equal_nan=True):
                    return False
            elif not np.array_equal(arr, b):
                return False
        return True

    def to_dataframe(self) -> pd.DataFrame:
        """A DataFrame indexed by bin centre with one column per variable."""
        return pd.DataFrame(dict(self.variables), index=pd.DatetimeIndex(self.times, name="time"))


def _exact(x: float) -> Fraction:
    return Fraction(repr(float(x)))


_FLAG_RANK = np.full(256, -1, dtype="int64")  # rank of each int8 flag (index flag & 0xFF)
for _rank, _flag in enumerate(WORST_FLAG_ORDER):
    _FLAG_RANK[_flag] = _rank


def _worst_flag(flags: np.ndarray) -> int:
    """The worst of ``flags`` by :data:`WORST_FLAG_ORDER`."""
    ranks = _FLAG_RANK[np.asarray(flags).astype("int64") & 0xFF]
    if np.any(ranks < 0):
        bad = sorted(set(np.asarray(flags)[ranks < 0].tolist()))
        raise ValueError(
            f"flags {bad} are not ONC QAQC flags ({', '.join(map(str, WORST_FLAG_ORDER))})"
        )
    return WORST_FLAG_ORDER[int(ranks.max())]


def resample(
    records: ScalarRecords,
    method: str,
    period_seconds: float,
    sample_period: SamplePeriod = None,
    min_completeness: float = 0.7,
    start: object = None,
    end: object = None,
) -> ResampledRecords:
    """Resample (on clean data) into bins of ``period_seconds`` from the epoch.

    Parameters
    ----------
    records
        Raw or clean records (cleaned here).
    method
        ``average`` (``avg``), ``minMax`` or ``minMaxAvg``.
    period_seconds
        ``P``: must divide a day (86400 / P an integer).
    sample_period
        ``T`` (see :func:`sample_periods`), taken at each bin's start.
    min_completeness
        A bin is complete when its valid count is ``>= min_completeness * P / T``.
    start, end
        The query window, widened to whole bins; all its bins are returned. Without them: from
        the first reading's bin to the last's (no bins for empty records).
    """
    method = normalize_resample_method(method)
    period_ns = period_to_ns(period_seconds)
    if NS_PER_DAY % period_ns:
        raise ValueError(
            f"period_seconds: {period_seconds!r} does not divide a day evenly; use e.g. 60, "
            "600, 900, 3600 or 86400"
        )
    if not 0 <= float(min_completeness) <= 1:
        raise ValueError(f"min_completeness: expected 0..1, got {min_completeness!r}")
    data = clean(records)
    t = data.times.astype("int64")

    if start is not None or end is not None:
        if start is None or end is None:
            raise ValueError("start, end: give both or neither")
        lo, hi = parse_date(start, argument="start").value, parse_date(end, argument="end").value
        k0, k1 = lo // period_ns, -(-hi // period_ns)  # floor, ceil
        if hi <= lo:
            k1 = k0
    elif len(data):
        k0, k1 = int(t[0]) // period_ns, int(t[-1]) // period_ns + 1
    else:
        k0 = k1 = 0
    bin_starts = np.arange(k0, k1, dtype="int64") * period_ns
    n_bins = bin_starts.size
    centres = (bin_starts + period_ns // 2).astype("datetime64[ns]")

    if n_bins:
        periods = sample_periods(data, bin_starts.astype("datetime64[ns]"), sample_period)
    else:
        periods = np.array([], dtype="float64")
    # complete when count >= min_completeness * P / T, in exact decimal arithmetic
    by_period = {
        p: _exact(min_completeness) * Fraction(period_ns, NS_PER_S) / _exact(p)
        for p in set(periods.tolist())
    }
    threshold = [by_period[p] for p in periods.tolist()]

    # rows of each bin: [first[i], last[i])
    first = np.searchsorted(t, bin_starts, side="left")
    last = np.searchsorted(t, bin_starts + period_ns, side="left")

    out: dict[str, np.ndarray] = {}
    for sensor in data.sensors:
        values, flags = data.values[sensor], data.flags[sensor]
        mean = np.full(n_bins, np.nan)
        std = np.full(n_bins, np.nan)
        count = np.zeros(n_bins, dtype="int64")
        qc = np.full(n_bins, FLAG_MISSING, dtype="int8")
        vmin, vmax = np.full(n_bins, np.nan), np.full(n_bins, np.nan)
        tmin = np.full(n_bins, np.datetime64("NaT"), dtype="datetime64[ns]")
        tmax = tmin.copy()
        qmin = np.full(n_bins, FLAG_MISSING, dtype="int8")
        qmax = qmin.copy()
        for i in range(n_bins):
            rows = slice(first[i], last[i])
            bin_values, bin_flags, bin_times = values[rows], flags[rows], data.times[rows]
            valid = ~np.isnan(bin_values)
            n = int(valid.sum())
            count[i] = n
            if n == 0:
                continue  # empty: NaN / NaT and flag 9 everywhere
            complete = n >= threshold[i]
            good, good_flags, good_times = bin_values[valid], bin_flags[valid], bin_times[valid]
            mean[i] = good.mean() if complete else np.nan
            std[i] = good.std(ddof=1) if n >= 2 else np.nan
            if method == "average":
                qc[i] = FLAG_AVERAGED if complete else FLAG_INSUFFICIENT
            elif method == "minMaxAvg":
                qc[i] = _worst_flag(good_flags) if complete else FLAG_INSUFFICIENT
            j_min, j_max = int(np.argmin(good)), int(np.argmax(good))  # first on ties
            vmin[i], tmin[i] = good[j_min], good_times[j_min]
            vmax[i], tmax[i] = good[j_max], good_times[j_max]
            qmin[i] = good_flags[j_min] if complete else FLAG_INSUFFICIENT
            qmax[i] = good_flags[j_max] if complete else FLAG_INSUFFICIENT
        if method in ("average", "minMaxAvg"):
            out[sensor] = mean
            out[f"{sensor}_qc"] = qc
            out[f"{sensor}_count"] = count
            out[f"{sensor}_std"] = std
        if method in ("minMax", "minMaxAvg"):
            out[f"{sensor}_min"] = vmin
            out[f"{sensor}_min_time"] = tmin
            out[f"{sensor}_min_qc"] = qmin
            out[f"{sensor}_max"] = vmax
            out[f"{sensor}_max_time"] = tmax
            out[f"{sensor}_max_qc"] = qmax
        if method == "minMax":
            out[f"{sensor}_count"] = count
    return ResampledRecords(
        centres,
        method,
        float(period_seconds),
        data.sensors,
        out,
        records.device_code,
        float(min_completeness),
    )
