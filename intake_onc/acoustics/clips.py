"""Operations on an assembled audio window: coverage, clip, WAV/FLAC writing.

The window itself is built by :mod:`intake_onc.acoustics.windows` (which uses the sample/time
helpers defined here). Everything here works from the window's attrs (``start_time``,
``sample_rate``, the ``coverage_*`` record) and never computes audio to answer a question
about coverage.

Examples
--------
>>> write_audio(audio, "clip.flac")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import xarray as xr

from intake_onc._core.durations import DurationError, duration_ns, parse_duration
from intake_onc._core.files import atomic_path
from intake_onc._core.time import parse_date
from intake_onc._core.time_index import time_grid_coords

__all__ = ["clip", "coverage", "write_audio"]

_NS = 10**9
_COVERAGE_KEYS = ("coverage_files", "coverage_frame_starts", "coverage_sample_starts")


def _ns_to_samples(ns: np.ndarray | int, fs: int, how: str = "round") -> np.ndarray:
    """Exact integer ``ns * fs / 1e9``, rounded half up (``"round"``) or up (``"ceil"``)."""
    q, r = np.divmod(np.asarray(ns, dtype="int64"), _NS)
    if how == "ceil":
        return q * fs + (r * fs + _NS - 1) // _NS
    return q * fs + (2 * r * fs + _NS) // (2 * _NS)


def _samples_to_ns(k: np.ndarray | int, fs: int) -> np.ndarray:
    """Nanoseconds from sample 0 to sample ``k``, rounded to the nanosecond."""
    q, r = np.divmod(np.asarray(k, dtype="int64"), fs)
    return q * _NS + (2 * r * _NS + fs) // (2 * fs)


def _sample_time(t0: pd.Timestamp, k: int, fs: int) -> pd.Timestamp:
    """Time of sample ``k`` of a window whose sample 0 is at ``t0``."""
    return t0 + pd.Timedelta(int(_samples_to_ns(k, fs)), "ns")


def _iso(ts: object) -> str:
    """ISO 8601 UTC with a ``Z`` (nanoseconds kept when present)."""
    return pd.Timestamp(ts).isoformat() + "Z"


def _time_coords(n: int, fs: int, start: pd.Timestamp) -> xr.Coordinates:
    """Lazy ``time`` coordinate: sample ``i`` at ``start + i/fs`` (datetime64[ns] UTC, exact to
    the nanosecond, rounded half up), on an O(1) :class:`~intake_onc._core.time_index.TimeGridIndex`
    (no per-sample array is stored, not even after ``.load()``)."""
    return time_grid_coords(
        start,
        Fraction(_NS, int(fs)),
        n,
        attrs={"standard_name": "time", "long_name": "sample time (UTC)"},
    )


def _coverage_attrs(pieces: pd.DataFrame, fs: int) -> dict[str, Any]:
    covered = int((pieces["sample_stop"] - pieces["sample_start"]).sum())
    return {
        "coverage_seconds": covered / fs,
        "coverage_files": [str(x) for x in pieces["name"].to_numpy(dtype=object).tolist()],
        "coverage_frame_starts": pieces["frame_start"].to_numpy(dtype="int64"),
        "coverage_sample_starts": pieces["sample_start"].to_numpy(dtype="int64"),
        "coverage_sample_stops": pieces["sample_stop"].to_numpy(dtype="int64"),
    }


def _window_facts(audio: xr.DataArray, argument: str = "audio") -> tuple[int, pd.Timestamp]:
    if not isinstance(audio, xr.DataArray) or audio.dims != ("time",):
        raise TypeError(f"{argument}: expected a 1-D DataArray over 'time' from open_audio_files")
    try:
        fs = int(audio.attrs["sample_rate"])
        start = parse_date(audio.attrs["start_time"], argument=f"{argument}.attrs['start_time']")
    except KeyError as exc:
        raise ValueError(
            f"{argument}: attrs lack {exc.args[0]!r}; use a window from open_audio_files"
        ) from None
    return fs, start


def _pieces(audio: xr.DataArray) -> pd.DataFrame:
    attrs = audio.attrs
    if not all(k in attrs for k in _COVERAGE_KEYS):
        raise ValueError("audio: no coverage record in attrs; use a window from open_audio_files")
    return pd.DataFrame(
        {
            "name": list(np.atleast_1d(attrs["coverage_files"])),
            "frame_start": np.atleast_1d(attrs["coverage_frame_starts"]).astype("int64"),
            "sample_start": np.atleast_1d(attrs["coverage_sample_starts"]).astype("int64"),
            "sample_stop": np.atleast_1d(attrs["coverage_sample_stops"]).astype("int64"),
        }
    )


def _covered_before(pieces: pd.DataFrame, k: np.ndarray) -> np.ndarray:
    """Covered samples in ``[0, k)`` for each ``k`` (pieces are disjoint and sorted)."""
    starts = pieces["sample_start"].to_numpy()
    lengths = (pieces["sample_stop"] - pieces["sample_start"]).to_numpy()
    cum = np.concatenate([[0], np.cumsum(lengths)])
    j = np.searchsorted(starts, k, side="right") - 1
    inside = np.where(
        j >= 0, np.minimum(k - starts[np.maximum(j, 0)], lengths[np.maximum(j, 0)]), 0
    )
    return np.where(j >= 0, cum[np.maximum(j, 0)] + inside, 0)


def coverage(audio: xr.DataArray, by: str = "file") -> pd.DataFrame:
    """How much of an audio window real data covers, from its plan (no audio is computed).

    Parameters
    ----------
    audio
        A window from :func:`~intake_onc.acoustics.windows.open_audio_files` (or :func:`clip` of one).
    by
        ``"file"``: one row per contributing file; ``"gap"``: one row per uncovered stretch;
        ``"minute"`` or any duration (``"10s"``, ``"1h"``, ``"PT10S"``, seconds): one row per UTC
        time bin.

    Returns
    -------
    pandas.DataFrame
        ``by="file"``: ``file``, ``file_start``, ``first_sample``, ``end``, ``samples``,
        ``seconds``. ``by="gap"``: ``start``, ``end``, ``samples``, ``seconds``. Time bins:
        index ``time`` (bin start), ``seconds`` covered, ``window_seconds`` (the part of the
        bin inside the window), ``fraction``.

    Examples
    --------
    >>> coverage(audio, by="minute")["fraction"].min()  # doctest: +SKIP
    0.97
    """
    fs, t0 = _window_facts(audio)
    n = audio.sizes["time"]
    p = _pieces(audio)

    def times(k: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(t0.value + _samples_to_ns(k, fs))

    if by == "file":
        samples = (p["sample_stop"] - p["sample_start"]).to_numpy()
        return pd.DataFrame(
            {
                "file": p["name"],
                "file_start": times(p["sample_start"] - p["frame_start"]),
                "first_sample": times(p["sample_start"]),
                "end": times(p["sample_stop"]),
                "samples": samples,
                "seconds": samples / fs,
            }
        )
    if by == "gap":
        edges = np.concatenate([[0], p[["sample_start", "sample_stop"]].to_numpy().ravel(), [n]])
        a, b = edges[0::2], edges[1::2]
        keep = b > a
        return pd.DataFrame(
            {
                "start": times(a[keep]),
                "end": times(b[keep]),
                "samples": (b - a)[keep],
                "seconds": (b - a)[keep] / fs,
            }
        )
    try:
        freq = parse_duration("1min" if by == "minute" else by, argument="by")
    except DurationError as exc:
        raise type(exc)(f"by: expected 'file', 'gap', 'minute' or a duration; {exc}") from None
    t_end = _sample_time(t0, n, fs)
    bins = pd.date_range(t0.floor(freq), t_end, freq=freq)
    if bins[-1] < t_end:
        bins = bins.append(pd.DatetimeIndex([bins[-1] + freq]))
    k = np.clip(_ns_to_samples(bins.asi8 - t0.value, fs, "ceil"), 0, n)
    covered = np.diff(_covered_before(p, k))
    in_window = np.diff(k)
    return pd.DataFrame(
        {
            "seconds": covered / fs,
            "window_seconds": in_window / fs,
            "fraction": np.divide(
                covered, in_window, out=np.zeros(len(covered)), where=in_window > 0
            ),
        },
        index=pd.DatetimeIndex(bins[:-1], name="time"),
    )


_DATE_LIKE = re.compile(r"\s*\d{1,4}\s*[-/.]\s*\d")


def _offset_ns(value: object, t0: pd.Timestamp, argument: str) -> int:
    """A time (date/string) or an offset from the window start (seconds, ``"12.5s"``, a
    timedelta), as ns from start."""
    if isinstance(value, str) and _DATE_LIKE.match(value):
        return parse_date(value, argument=argument).value - t0.value
    if isinstance(value, (str, pd.Timedelta, _dt.timedelta, np.timedelta64)) or (
        isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ):
        return duration_ns(value, argument=argument, allow_zero=True, allow_negative=True)
    return parse_date(value, argument=argument).value - t0.value


def _seconds_ns(value: object, argument: str, positive: bool = False) -> int:
    return duration_ns(value, argument=argument, allow_zero=not positive)


def clip(
    audio: xr.DataArray,
    center: object = None,
    duration: object = None,
    *,
    start: object = None,
    end: object = None,
    pad_before: object = 0.0,
    pad_after: object = 0.0,
) -> xr.DataArray:
    """Cut a piece out of an audio window (still lazy), with its time facts and coverage.

    Give ``center`` and ``duration``, or two of ``start``, ``end``, ``duration``. Times are
    ISO dates (UTC) or offsets from the window's ``start_time``; offsets and lengths are
    durations as everywhere in intake-onc (seconds ``12.5``, ``"12.5s"``, ``"PT12.5S"``, a
    timedelta; a bare number in a string, ``"12.5"``, is refused).

    Parameters
    ----------
    audio
        A window from :func:`~intake_onc.acoustics.windows.open_audio_files`.
    center, duration
        Middle of the clip and its length (a duration: seconds, ``"4s"``, ``"PT4S"``...).
    start, end
        Clip bounds ``[start, end)``.
    pad_before, pad_after
        Extra time before and after (context around an event), durations as ``duration``.

    Returns
    -------
    xarray.DataArray
        The samples nearest to the requested times, ``time`` the samples' UTC times (sample 0
        at the new ``start_time``) and attrs
        ``start_time``/``end_time``/coverage updated.

    Raises
    ------
    ValueError
        When the arguments do not define a clip or it reaches outside the window.

    Examples
    --------
    >>> call = clip(audio, "2024-04-01T00:03:12.5Z", 4.0, pad_before=1)  # doctest: +SKIP
    >>> call.sizes["time"] / call.attrs["sample_rate"]  # doctest: +SKIP
    5.0
    """
    fs, t0 = _window_facts(audio)
    dur = None if duration is None else _seconds_ns(duration, "duration", positive=True)
    if center is not None:
        if dur is None or start is not None or end is not None:
            raise ValueError("center: give center with duration only (not start or end)")
        s = _offset_ns(center, t0, "center") - dur // 2
        e = s + dur
    elif start is not None and (end is not None) != (dur is not None):
        s = _offset_ns(start, t0, "start")
        e = _offset_ns(end, t0, "end") if end is not None else s + dur
    elif end is not None and dur is not None:
        e = _offset_ns(end, t0, "end")
        s = e - dur
    else:
        raise ValueError("clip: give center and duration, or two of start, end and duration")
    s -= _seconds_ns(pad_before, "pad_before")
    e += _seconds_ns(pad_after, "pad_after")
    n = audio.sizes["time"]
    k0, k1 = (int(_ns_to_samples(v, fs)) for v in (s, e))
    if k1 <= k0:
        raise ValueError("end: the clip is empty; give an end later than the start")
    if k0 < 0 or k1 > n:
        raise ValueError(
            f"start/end: the clip {_iso(t0 + pd.Timedelta(s, 'ns'))} – "
            f"{_iso(t0 + pd.Timedelta(e, 'ns'))} reaches outside the window "
            f"{audio.attrs['start_time']} – {_iso(_sample_time(t0, n, fs))}; "
            "open a wider window first"
        )
    out = audio.isel(time=slice(k0, k1))  # the parent's sample times (an O(1) index still)
    p = _pieces(audio)
    lo = np.clip(p["sample_start"].to_numpy(), k0, k1)
    hi = np.clip(p["sample_stop"].to_numpy(), k0, k1)
    p = p.assign(
        frame_start=p["frame_start"] + lo - p["sample_start"],
        sample_start=lo - k0,
        sample_stop=hi - k0,
    )[hi > lo]
    out.attrs.update(_coverage_attrs(p, fs))
    out.attrs["start_time"] = _iso(_sample_time(t0, k0, fs))
    out.attrs["end_time"] = _iso(_sample_time(t0, k1, fs))
    return out


def write_audio(
    audio: xr.DataArray,
    path: str | os.PathLike,
    *,
    format: str,
    subtype: str = "PCM_24",
    warn_gaps: bool = True,
) -> Path:
    """Write an audio window to WAV or FLAC, chunk by chunk, via a temporary name.

    NaN samples (gaps) are written as silence, with a warning unless ``warn_gaps=False`` (for
    callers that report gaps themselves); values are clipped to ``[-1, 1]`` (full scale).

    Examples
    --------
    >>> write_audio(audio, "window.flac", format="FLAC")  # doctest: +SKIP
    PosixPath('window.flac')
    """
    fs, _ = _window_facts(audio)
    units = str(audio.attrs.get("units", "1"))
    if units != "1":
        raise ValueError(
            f"audio: units are {units!r}; WAV/FLAC hold full-scale audio (units '1'): "
            "divide by the full-scale value first and set attrs['units'] = '1'"
        )
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"path: folder {str(target.parent)!r} does not exist; create it first"
        )
    data = audio.data
    blocks = (
        data.blocks
        if hasattr(data, "blocks")
        else np.array_split(data, max(1, len(data) // (fs * 60)))
    )
    gaps = 0
    with (
        atomic_path(target, mkdir=False) as tmp,
        sf.SoundFile(tmp, "w", samplerate=fs, channels=1, format=format, subtype=subtype) as f,
    ):
        for block in blocks:
            x = np.asarray(block, dtype=np.float32)
            bad = np.isnan(x)
            if bad.any():
                gaps += int(bad.sum())
                x = np.where(bad, np.float32(0), x)
            f.write(np.clip(x, -1.0, 1.0))
    if gaps and warn_gaps:
        warnings.warn(
            f"{target.name}: {gaps} samples ({gaps / fs:.3f} s) with no data were written as silence",
            stacklevel=3,
        )
    return target
