"""Dates and times the way Oceans 3.0 writes them (durations: :mod:`intake_onc._core.durations`).

One small module shared by every layer (client, sandbox, file formats, datasets), so that
they all agree on how a date is parsed and printed. It imports nothing of the package.

Conventions used throughout intake-onc:

* Times are **UTC** and held as timezone-naive ``numpy.datetime64[ns]`` /
  ``pandas.Timestamp`` (what xarray expects). A timezone-aware input is converted to UTC.
* ONC's wire format is ``yyyy-MM-ddTHH:mm:ss.SSSZ`` (millisecond precision, ``Z`` suffix).
* ONC archive file names carry ``YYYYMMDDThhmmss.fffZ``.
* MATLAB ``datenum`` counts days from year 0: ``datenum 719529.0 == 1970-01-01T00:00``.

Examples
--------
>>> format_onc_date(parse_date("2024-04-01"))
'2024-04-01T00:00:00.000Z'
>>> parse_iso_duration("PT12H30M")
Timedelta('0 days 12:30:00')
>>> filename_timestamp(parse_date("2018-10-02T17:25:57Z"))
'20181002T172557.000Z'
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

from .durations import is_duration, parse_iso_duration
from .errors import DateParseError

__all__ = [
    "DATENUM_UNIX_EPOCH",
    "DateParseError",
    "datenum_to_datetime64",
    "datetime64_to_datenum",
    "datenums_to_times",
    "filename_timestamp",
    "format_onc_date",
    "is_duration",
    "parse_date",
    "parse_filename_timestamp",
    "parse_iso_duration",
    "resolve_date_range",
]

#: MATLAB datenum of 1970-01-01T00:00:00.
DATENUM_UNIX_EPOCH = 719529.0

_NS_PER_DAY = 86_400 * 10**9

_FILENAME_TS_RE = re.compile(r"(\d{8}T\d{6}(?:\.\d{1,6})?Z)")


_ISO_DATE_RE = re.compile(
    r"\d{4}(?:-\d{2}(?:-\d{2}(?:[Tt ]\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?)?)?)?"
    r"(?:[Zz]|[-+]\d{2}(?::?\d{2})?)?"
    r"|\d{8}(?:[Tt]\d{4}(?:\d{2}(?:\.\d{1,9})?)?)?(?:[Zz]|[-+]\d{2}:?\d{2})?"
)
_NUMERIC_DATE_RE = re.compile(r"\d{1,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,4}\b.*")
_ISO_EXAMPLES = "'2024-04-01' or '2024-04-01T00:00:00Z'"


def _not_iso(argument: str, value: object, text: str) -> str:
    """The message for a date string that is not ISO 8601 (``24-04-01``, ``01/04/2024``...)."""
    if _NUMERIC_DATE_RE.fullmatch(text):
        return (
            f"{argument}: {value!r} is ambiguous (which part is the day, the month, the year?) "
            f"and is not read; write the date as ISO 8601, year-month-day: {_ISO_EXAMPLES}"
        )
    return (
        f"{argument}: could not read {value!r} as a date; expected ISO 8601 such as {_ISO_EXAMPLES}"
    )


def parse_date(value: object, *, argument: str = "date") -> pd.Timestamp:
    """Parse a date into a timezone-naive UTC :class:`pandas.Timestamp`.

    Parameters
    ----------
    value
        An ISO 8601 string (``"2024-04-01"``, ``"2024-04-01T12:00"``,
        ``"2024-04-01T12:00:00.000Z"``, ``"2024-04-01T14:00:00+02:00"``, ``"20240401T120000Z"``),
        :class:`datetime.datetime`, :class:`datetime.date`, :class:`numpy.datetime64` or
        :class:`pandas.Timestamp`. Timezone-aware values are converted to UTC.
    argument
        Name of the argument being parsed, used in the error message.

    Returns
    -------
    pandas.Timestamp
        Naive, in UTC, nanosecond resolution.

    Raises
    ------
    DateParseError
        With the argument name and the accepted formats when ``value`` is not a date. Dates
        in any other order (``"01/04/2024"``, ``"24-04-01"``, two-digit years) are refused, not
        guessed: their day, month and year can be read more than one way.

    Examples
    --------
    >>> parse_date("2024-04-01T00:00:00.500Z")
    Timestamp('2024-04-01 00:00:00.500000')
    """
    if isinstance(value, pd.Timestamp):
        ts = value
    elif isinstance(value, (_dt.datetime, _dt.date, np.datetime64)):
        ts = pd.Timestamp(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise DateParseError(f"{argument}: expected a date, got an empty string")
        if not _ISO_DATE_RE.fullmatch(text):
            raise DateParseError(_not_iso(argument, value, text))
        try:
            ts = pd.Timestamp(text)
        except pd.errors.OutOfBoundsDatetime as exc:
            raise DateParseError(
                f"{argument}: {value!r} is outside the supported range of dates "
                "(1677-09-22 to 2262-04-11)"
            ) from exc
        except (ValueError, TypeError) as exc:
            raise DateParseError(_not_iso(argument, value, text)) from exc
    else:
        raise DateParseError(
            f"{argument}: expected a date string, datetime or numpy.datetime64, "
            f"got {type(value).__name__}"
        )
    if ts is pd.NaT or pd.isna(ts):
        raise DateParseError(f"{argument}: got a missing date (NaT)")
    try:
        ts = ts.as_unit("ns")
    except (pd.errors.OutOfBoundsDatetime, OverflowError) as exc:
        raise DateParseError(
            f"{argument}: {value!r} is outside the supported range of dates "
            "(1677-09-22 to 2262-04-11)"
        ) from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def format_onc_date(value: object) -> str:
    """Format a date the way ONC's API writes it: ``yyyy-MM-ddTHH:mm:ss.SSSZ``.

    Sub-millisecond parts are truncated (ONC has millisecond precision).

    Examples
    --------
    >>> format_onc_date("2024-04-01T01:02:03.456789")
    '2024-04-01T01:02:03.456Z'
    """
    ts = parse_date(value)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def resolve_date_range(
    date_from: object,
    date_to: object,
    *,
    now: pd.Timestamp | None = None,
    names: tuple[str, str] = ("dateFrom", "dateTo"),
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Resolve ONC's ``dateFrom``/``dateTo`` pair, durations included.

    ``dateFrom`` may be a duration relative to *now* (``-P1DT1H``); ``dateTo`` may be a
    duration relative to ``dateFrom`` (``PT12H30M``). Only one of the two may be a duration.
    ``names`` are the argument names used in error messages (``("start", "end")`` in the
    package's own functions).

    Examples
    --------
    >>> resolve_date_range("2024-04-01", "PT12H")
    (Timestamp('2024-04-01 00:00:00'), Timestamp('2024-04-01 12:00:00'))
    """
    if is_duration(date_from) and is_duration(date_to):
        raise DateParseError(f"only one of {names[0]} and {names[1]} may be a duration")
    if now is None:
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    if is_duration(date_from):
        start = (now + parse_iso_duration(date_from, argument=names[0])).as_unit("ns")
    else:
        start = parse_date(date_from, argument=names[0])
    if is_duration(date_to):
        end = (start + parse_iso_duration(date_to, argument=names[1])).as_unit("ns")
    else:
        end = parse_date(date_to, argument=names[1])
    return start, end


def filename_timestamp(value: object) -> str:
    """The ``YYYYMMDDThhmmss.fffZ`` stamp ONC puts in archive file names.

    Examples
    --------
    >>> filename_timestamp("2023-01-11T12:20:00.045Z")
    '20230111T122000.045Z'
    """
    ts = parse_date(value)
    return ts.strftime("%Y%m%dT%H%M%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_filename_timestamp(name: str) -> pd.Timestamp:
    """Find and parse the ``YYYYMMDDThhmmss[.fff]Z`` stamp inside an ONC file name.

    Raises
    ------
    DateParseError
        When the name holds no such stamp (a file not named the ONC way).

    Examples
    --------
    >>> parse_filename_timestamp("ICLISTENHF1560_20181002T172557.000Z-spect.mat")
    Timestamp('2018-10-02 17:25:57')
    """
    match = _FILENAME_TS_RE.search(name)
    if match is None:
        raise DateParseError(
            f"{name!r} has no ONC time stamp (expected DEVICECODE_YYYYMMDDThhmmss.fffZ.ext); "
            "pass start times explicitly for files named otherwise"
        )
    stamp = match.group(1)
    return pd.Timestamp(
        f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:-1]}"
    ).as_unit("ns")


def datenum_to_datetime64(datenum: np.ndarray | float) -> np.ndarray:
    """Convert MATLAB datenums (days since year 0) to ``datetime64[ns]``, rounded to 1 µs.

    A float64 datenum of a present-day date resolves about 10 µs (its last bit is 1.2e-10
    days), so a round trip through datenums is exact to that, not better.

    Examples
    --------
    >>> datenum_to_datetime64([719529.5])
    array(['1970-01-01T12:00:00.000000000'], dtype='datetime64[ns]')
    """
    days = np.asarray(datenum, dtype="float64") - DATENUM_UNIX_EPOCH
    micros = np.round(days * 86_400e6).astype("int64")
    return (micros * 1000).astype("datetime64[ns]")


def datetime64_to_datenum(times: np.ndarray | object) -> np.ndarray:
    """Convert ``datetime64`` values to MATLAB datenums (float64 days since year 0).

    Examples
    --------
    >>> float(datetime64_to_datenum(np.datetime64("1970-01-02")))
    719530.0
    """
    ns = np.asarray(times, dtype="datetime64[ns]").astype("int64")
    return ns / _NS_PER_DAY + DATENUM_UNIX_EPOCH


_NS_PER_MS = 1_000_000


def datenums_to_times(datenums: object) -> np.ndarray:
    """MATLAB datenums to ``datetime64[ns]`` rounded to the millisecond (NaN -> NaT).

    Rounded, not truncated: a datenum of ``00:00:02`` may come back as ``00:00:01.999999``.

    Examples
    --------
    >>> datenums_to_times([719529.5 + 0.227 / 86400, np.nan])
    array(['1970-01-01T12:00:00.227000000',                           'NaT'],
          dtype='datetime64[ns]')
    """
    days = np.atleast_1d(np.asarray(datenums, dtype="float64")).reshape(-1)
    missing = ~np.isfinite(days)
    ns = datenum_to_datetime64(np.where(missing, 719529.0, days)).astype("int64")
    ns = (ns + _NS_PER_MS // 2) // _NS_PER_MS * _NS_PER_MS
    times = ns.astype("datetime64[ns]")
    times[missing] = np.datetime64("NaT")
    return times
