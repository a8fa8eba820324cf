"""ONC time averaging and resampling (``dpo_resample``): average, minMax, minMaxAvg.

Rules (semantics.md, "Resampling"): bins ``[k·P, (k+1)·P)`` counted from 1970-01-01T00:00Z,
stamped at their centre; statistics of the *clean* samples only (flags 3, 4, 6, NaN and ±inf
dropped); a bin is complete when its count is ≥ ``min_completeness · P / T``.

The statistics of each chunk of whole bins come from the numpy kernel in
:mod:`intake_onc.scalar._resample_kernel` (it says why it is hand-written). On dask the time
axis is rechunked to whole bins (boundaries from the in-memory time index) and the same kernel
runs per chunk with ``map_blocks``; a bin never spans two chunks, so numpy and dask give
identical results.
"""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from intake_onc._core.durations import duration_ns
from intake_onc._core.flags import (
    MISSING,
    flag_attrs,
)
from intake_onc._core.time import parse_date

from ._resample_graph import resample_lazily
from ._resample_kernel import _DTYPES, _FIELDS, _Packed, _resample_chunk
from .flags import flagged_variables
from .gaps import _rating, time_axis
from .time_axis import SAMPLED_STEPS, TimeAxis

__all__ = ["METHODS", "ONC_PERIODS", "parse_period", "resample"]

#: Resample types, as ONC spells them (``dpo_resample``).
METHODS = ("average", "minMax", "minMaxAvg")
#: ONC's own resample periods (s); any period dividing a day evenly is accepted too.
ONC_PERIODS = (60, 600, 900, 3600, 86400)
_DAY_NS = 86_400 * 10**9
#: Resampling refuses to make more bins than this (a few GB of output fields): a period of
#: "1ns" would otherwise try to allocate tebibytes.
MAX_BINS = 10**8


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


def _bin_range(axis: TimeAxis, period: int, start: object, end: object) -> tuple[int, int]:
    """First bin and the bin after the last: the data's extent, or the widened query window."""
    if start is None and end is None:
        if not len(axis):
            return (0, 0)
        first, last = axis.at(np.array([0, len(axis) - 1])).tolist()
        return int(first // period), int(last // period) + 1
    if start is None or end is None:
        raise ValueError("start, end: give both (the query window) or neither")
    lo = parse_date(start, argument="start").as_unit("ns").value
    hi = parse_date(end, argument="end").as_unit("ns").value
    k0 = lo // period
    return k0, max(k0, -(-hi // period))


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
    bins and the result stays lazy (nothing is computed here): one task per chunk for every
    variable at once. Built while a ``dask.distributed`` ``Client`` is the default scheduler,
    consecutive small chunks are resampled in runs, one task a run (a year of daily 1 Hz
    chunks: 34 tasks), since each task costs a cluster about 1.5 ms of its own; the input's
    graph is then optimised here, so compute the input and its resample in separate calls or
    ``persist()`` the input first (docs/distributed.md, "Small windows on a cluster").

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
    axis = time_axis(ds)
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
    k0, k_end = _bin_range(axis, period_ns, start, end)
    if k_end - k0 > MAX_BINS:
        raise ValueError(
            f"period={period!r}: {k_end - k0:,} bins of {period_ns / 1e9:g} s would cover the "
            f"data (more than {MAX_BINS:,}); choose a longer period or a shorter time range"
        )
    rows = slice(*axis.searchsorted(np.array([k0 * period_ns, k_end * period_ns])).tolist())
    head = axis.head(SAMPLED_STEPS + 1)
    rating = _rating_if_known(ds, sample_period, head, needed=min_completeness > 0 and k_end > k0)
    if rating is not None and period_ns < round(float(rating[1].min()) * 1e9):
        raise ValueError(
            f"period={period!r} ({period_ns / 1e9:g} s) is shorter than the data's sample period "
            f"({float(rating[1].min()):g} s): a bin could not hold one sample; choose a period "
            f"of at least {float(rating[1].min()):g} s (ONC's: {ONC_PERIODS} s)"
        )
    whole = rows == slice(0, ds.sizes["time"])
    axis = axis if whole else axis.slice(rows.start, rows.stop)
    kwargs = {
        "period": period_ns,
        "method": method,
        "min_completeness": min_completeness,
        "rating": rating,
    }
    offset = ds["time_offset"].data if _has_offsets(ds) else None
    if offset is not None and not whole:
        offset = offset[rows]
    pairs = []
    for name, qc_name in mapping.items():
        var, qc = ds[name], ds[qc_name]
        if var.dims != ("time",) or qc.dims != ("time",):
            raise ValueError(f"resample: variable {name!r} must be 1-D along 'time'")
        x, q = var.data, _as_int8(qc.data)
        pairs.append((x, q) if whole else (x[rows], q[rows]))
    if len(axis) and any(dask.is_dask_collection(a) for pair in pairs for a in pair):
        fields = resample_lazily(pairs, offset, axis, k0=k0, k_end=k_end, **kwargs)
        results = dict(zip(mapping, fields, strict=True))
    else:
        t = axis.block(0, len(axis))
        off = None if offset is None else np.asarray(offset)
        results = {}
        for name, (x, q) in zip(mapping, pairs, strict=True):
            packed = _resample_chunk(
                np.asarray(x), np.asarray(q), t, off, k_first=k0, nbins=k_end - k0, **kwargs
            )
            results[name] = {
                field: _Packed.unpack(packed, row, np.dtype(_DTYPES[field]))
                for row, field in enumerate(_FIELDS[method])
            }

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
    from .cf import cf_variables, refresh_metadata, time_bounds

    period_s = float(out.attrs["resample_period"])
    out["time"].encoding.update(ds["time"].encoding, _FillValue=None)  # cf_variables: units
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
