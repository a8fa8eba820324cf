"""Durations: the one parser behind every period, chunk, offset, lookback and timeout argument.

Every argument of intake-onc that takes a length of time (``resample(period)``,
``sample_period``, ``open_scalar(chunk)``, ``open_audio(chunk)``, ``clip(duration, pad_before,
...)``, ``archive_files(lookback)``, order ``poll``/``timeout``, ``spectrogram(win_dur)``...)
reads it with :func:`parse_duration`, so they all accept the same values:

* a **number**: seconds (``3600``, ``0.25``; not ``True``/``False``, NaN or infinity);
* a **string with a unit**: ``"1h"``, ``"30min"``, ``"3600s"``, ``"1D"``, ``"0.25s"``,
  ``"1.5h"``, ``"1h30min"``, ``"60 s"``, ``"1 hour"``, or pandas' clock form ``"00:30:00"``;
* an **ISO 8601 duration**, checked strictly: ``"PT1H"``, ``"P1D"``, ``"PT0.25S"``,
  ``"P1DT12H"`` (upper case; hours, minutes and seconds after ``T``; no years or months);
* a :class:`datetime.timedelta`, :class:`pandas.Timedelta`, :class:`numpy.timedelta64` or a
  fixed pandas offset (``pd.offsets.Minute(10)``).

A number inside a string (``"3600"``) is refused: pandas would read it as nanoseconds, a person
means seconds; the message says to write ``"3600s"`` or ``"1h"``. Months and years (``"P1M"``,
``"1M"``, ``"1Y"``) are refused: they have no fixed length.

Examples
--------
>>> parse_duration("PT1H", argument="period") == parse_duration(3600, argument="period")
True
>>> duration_ns("0.25s", argument="win_dur")
250000000
>>> format_iso_duration(pd.Timedelta("1D 12h 0.25s"))
'P1DT12H0.25S'
>>> parse_duration("3600", argument="period")
Traceback (most recent call last):
...
intake_onc._core.errors.DurationError: period='3600' is not a duration: a number in a string has \
no unit; write '3600s' or '1h' (or pass the number 3600 for seconds)
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from .errors import DurationError, DurationTypeError

__all__ = [
    "DurationError",
    "DurationTypeError",
    "duration_ns",
    "duration_seconds",
    "format_iso_duration",
    "is_duration",
    "parse_duration",
    "parse_iso_duration",
]

_EXPECTED = (
    "expected seconds as a number (3600), a string with a unit ('1h', '30min', '3600s', '1D') "
    "or ISO 8601 ('PT1H', 'P1D', 'PT0.25S', 'P1DT12H'), or a timedelta"
)
_ISO_FORMS = "ISO 8601 durations are written like 'PT1H', 'PT30M', 'PT0.25S', 'P1D', 'P1DT12H'"

_NUM = r"\d+(?:[.,]\d+)?"
_ISO_RE = re.compile(
    rf"(?P<sign>[-+])?P(?=[\d.,T])(?:(?P<Y>{_NUM})Y)?(?:(?P<MO>{_NUM})M)?(?:(?P<W>{_NUM})W)?"
    rf"(?:(?P<D>{_NUM})D)?(?:T(?=\d)(?:(?P<H>{_NUM})H)?(?:(?P<MI>{_NUM})M)?(?:(?P<S>{_NUM})S)?)?"
)
_ISO_NS = {
    "W": 7 * 86_400 * 10**9,
    "D": 86_400 * 10**9,
    "H": 3600 * 10**9,
    "MI": 60 * 10**9,
    "S": 10**9,
}
_ISO_ORDER = ("Y", "MO", "W", "D", "H", "MI", "S")

_BARE_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_UNIT_PART_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-zµ]+)")
_CLOCK_RE = re.compile(r"(?:\d+\s*days?\s*)?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?")
_UNIT_NS = {
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86_400 * 10**9),
    **dict.fromkeys(("d", "day", "days"), 86_400 * 10**9),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600 * 10**9),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60 * 10**9),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 10**9),
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds"), 10**6),
    **dict.fromkeys(("us", "µs", "micro", "micros", "microsecond", "microseconds"), 10**3),
    **dict.fromkeys(("ns", "nano", "nanos", "nanosecond", "nanoseconds"), 1),
}


def _fail(argument: str, value: object, reason: str, hint: str = _EXPECTED) -> DurationError:
    return DurationError(f"{argument}={value!r} is not a duration: {reason}; {hint}")


def _seconds_hint(number: str) -> str:
    """``'3600s' or '1h'`` for the text of a bare number of seconds."""
    forms = [f"'{number}s'"]
    try:
        seconds = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the caller matched a number
        seconds = Decimal(0)
    for size, unit in ((86_400, "D"), (3600, "h"), (60, "min")):
        try:
            whole = seconds >= size and seconds % size == 0
        except InvalidOperation:  # far too large to divide ("1e400"): no shorter form to offer
            break
        if whole:
            forms.append(f"'{seconds // size}{unit}'")
            break
    return " or ".join(forms)


def _iso_suggestion(text: str) -> str | None:
    """A valid ISO 8601 spelling of a near miss (``pt1h``, ``P1H``, ``PT1.5``), if one is clear."""
    upper = text.upper()
    candidates = [upper, upper + "S"]
    fixed = re.fullmatch(rf"([-+]?)P((?:{_NUM}[WD])*)((?:{_NUM}[HMS])+)", upper)
    if fixed and "T" not in upper:
        candidates.append(f"{fixed.group(1)}P{fixed.group(2)}T{fixed.group(3)}")
    for candidate in candidates:
        if candidate != text and _ISO_RE.fullmatch(candidate):
            match = _ISO_RE.fullmatch(candidate)
            if not (match.group("Y") or match.group("MO")):
                return candidate
    return None


def parse_iso_duration(text: object, *, argument: str = "duration") -> pd.Timedelta:
    """Parse an ISO 8601 duration strictly (``P1DT1H``, ``-PT30M``, ``PT0.25S``); may be negative.

    Upper case only; hours, minutes and seconds after ``T``; a fraction on the last part only;
    weeks and days are fixed lengths, years and months (no fixed length) are refused. This is
    also the form ONC takes for relative dates (``dateFrom=-P1D``, ``dateTo=PT12H``).

    Raises
    ------
    DurationError
        Naming ``argument``, with the ISO forms and, where one is clear, the intended spelling.

    Examples
    --------
    >>> parse_iso_duration("-P1DT1H")
    Timedelta('-2 days +23:00:00')
    >>> parse_iso_duration("P1H", argument="end")
    Traceback (most recent call last):
    ...
    intake_onc._core.errors.DurationError: end='P1H' is not an ISO 8601 duration: write 'PT1H'; \
ISO 8601 durations are written like 'PT1H', 'PT30M', 'PT0.25S', 'P1D', 'P1DT12H'
    """
    if not isinstance(text, str):
        raise DurationTypeError(
            f"{argument}={text!r} is not an ISO 8601 duration: expected a string; {_ISO_FORMS}"
        )
    stripped = text.strip()
    match = _ISO_RE.fullmatch(stripped)
    if match is None:
        suggestion = _iso_suggestion(stripped)
        reason = f"write {suggestion!r}" if suggestion else "not in that form"
        raise DurationError(
            f"{argument}={text!r} is not an ISO 8601 duration: {reason}; {_ISO_FORMS}"
        )
    if match.group("Y") or match.group("MO"):
        raise DurationError(
            f"{argument}={text!r} is not a fixed duration: years and months (P1Y, P1M) vary in "
            "length; give days or weeks ('P30D', 'P4W'), or 'PT1M' for one minute"
        )
    parts = [(key, match.group(key)) for key in _ISO_ORDER if match.group(key)]
    if any(re.search("[.,]", value) for _, value in parts[:-1]):
        raise DurationError(
            f"{argument}={text!r} is not an ISO 8601 duration: only the last part may have a "
            f"fraction ('PT1H30M', not 'PT1.5H0M'); {_ISO_FORMS}"
        )
    ns = sum(Decimal(value.replace(",", ".")) * _ISO_NS[key] for key, value in parts)
    delta = _timedelta_ns(int(ns.to_integral_value()), argument, text)
    return -delta if match.group("sign") == "-" else delta


def is_duration(text: object) -> bool:
    """True when a date argument is meant as an ONC duration (``"-P1D"``, ``"PT12H"``): a string
    starting with ``P`` after an optional sign (lower case included, so that ``"-p1d"`` reaches
    the strict parser and its message rather than the date parser's).

    Examples
    --------
    >>> is_duration("-P1D"), is_duration("2024-04-01"), is_duration(None)
    (True, False, False)
    """
    return isinstance(text, str) and text.strip().lstrip("+-")[:1] in ("P", "p")


def _timedelta_ns(ns: int, argument: str, value: object) -> pd.Timedelta:
    try:
        return pd.Timedelta(int(ns), "ns")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsTimedelta):
        raise DurationError(
            f"{argument}={value!r} is too long: durations reach about ±292 years"
        ) from None


def _parse_text(text: str, argument: str, value: object) -> pd.Timedelta:
    stripped = text.strip()
    if not stripped:
        raise _fail(argument, value, "it is empty")
    if _BARE_NUMBER_RE.fullmatch(stripped):
        number = stripped.lstrip("+")
        raise _fail(
            argument,
            value,
            "a number in a string has no unit",
            f"write {_seconds_hint(number.lstrip('-'))} (or pass the number {number} for seconds)",
        )
    if is_duration(stripped):
        return parse_iso_duration(stripped, argument=argument)
    sign = -1 if stripped[0] == "-" else 1
    body = stripped.lstrip("+-").strip() if stripped[0] in "+-" else stripped
    if _CLOCK_RE.fullmatch(body):
        return sign * pd.Timedelta(body)
    ns, pos = Decimal(0), 0
    while pos < len(body):
        part = _UNIT_PART_RE.match(body, pos)
        if part is None:
            raise _fail(argument, value, f"could not read {body[pos:].strip()!r}")
        number, unit = part.groups()
        if unit in ("M", "Y", "y"):
            raise _fail(
                argument,
                value,
                "months and years have no fixed length",
                "give days or weeks ('30D', '4W'), or '1min' for one minute",
            )
        if unit.lower() not in _UNIT_NS:
            raise _fail(argument, value, f"unknown unit {unit!r}")
        ns += Decimal(number) * _UNIT_NS[unit.lower()]
        pos = part.end()
        while pos < len(body) and body[pos].isspace():
            pos += 1
    return _timedelta_ns(sign * int(ns.to_integral_value()), argument, value)


def parse_duration(
    value: object,
    *,
    argument: str,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> pd.Timedelta:
    """Read a length of time the way every intake-onc argument does (see the module docstring).

    Parameters
    ----------
    value
        Seconds (int or float), a string with a unit (``"1h"``, ``"30min"``, ``"3600s"``),
        an ISO 8601 duration (``"PT1H"``), a timedelta or a fixed pandas offset.
    argument
        The argument's name, for the error message.
    allow_zero, allow_negative
        Accept a zero / negative duration (default: only positive ones).

    Returns
    -------
    pandas.Timedelta
        Nanosecond resolution.

    Raises
    ------
    DurationError
        A :class:`ValueError` naming ``argument``, what was expected and how to write it;
        :class:`DurationTypeError` (also a :class:`TypeError`) for a value of another type.

    Examples
    --------
    >>> parse_duration("1.5h", argument="period")
    Timedelta('0 days 01:30:00')
    >>> parse_duration(0.25, argument="win_dur")
    Timedelta('0 days 00:00:00.250000')
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise DurationTypeError(
            f"{argument}={value!r} is not a duration: got {type(value).__name__}; {_EXPECTED}"
        )
    if isinstance(value, str):
        delta = _parse_text(value, argument, value)
    elif isinstance(value, (pd.Timedelta, _dt.timedelta, np.timedelta64, pd.offsets.Tick)):
        try:
            delta = pd.Timedelta(value)
        except (ValueError, OverflowError, pd.errors.OutOfBoundsTimedelta):
            raise _fail(argument, value, "it is out of range") from None
        if delta is pd.NaT or pd.isna(delta):
            raise _fail(argument, value, "it is missing (NaT)")
        delta = delta.as_unit("ns")
    elif isinstance(value, (int, np.integer)):
        delta = _timedelta_ns(int(value) * 10**9, argument, value)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise _fail(argument, value, "it is not a finite number of seconds")
        if abs(float(value)) > 9.2e9:  # ±292 years: more would overflow int64 nanoseconds
            raise DurationError(
                f"{argument}={value!r} is too long: durations reach about ±292 years"
            )
        delta = _timedelta_ns(round(float(value) * 1e9), argument, value)
    elif isinstance(value, pd.offsets.BaseOffset):
        raise _fail(argument, value, "a calendar offset has no fixed length")
    else:
        raise DurationTypeError(
            f"{argument}={value!r} is not a duration: got {type(value).__name__}; {_EXPECTED}"
        )
    if delta < pd.Timedelta(0) and not allow_negative:
        kind = "non-negative" if allow_zero else "positive"
        raise DurationError(f"{argument}={value!r} is negative; expected a {kind} duration")
    if delta == pd.Timedelta(0) and not allow_zero:
        raise DurationError(f"{argument}={value!r} is zero; expected a positive duration")
    return delta


def duration_ns(
    value: object, *, argument: str, allow_zero: bool = False, allow_negative: bool = False
) -> int:
    """:func:`parse_duration` as integer nanoseconds.

    Examples
    --------
    >>> duration_ns("PT1M", argument="period")
    60000000000
    """
    return int(
        parse_duration(
            value, argument=argument, allow_zero=allow_zero, allow_negative=allow_negative
        ).value
    )


def duration_seconds(
    value: object, *, argument: str, allow_zero: bool = False, allow_negative: bool = False
) -> float:
    """:func:`parse_duration` as float seconds.

    Examples
    --------
    >>> duration_seconds("10min", argument="poll")
    600.0
    """
    return (
        duration_ns(value, argument=argument, allow_zero=allow_zero, allow_negative=allow_negative)
        / 1e9
    )


def format_iso_duration(delta: object) -> str:
    """A duration in ISO 8601 (``P1DT12H``, ``PT0.25S``, ``-PT30M``, ``PT0S``); nanosecond-exact,
    so :func:`parse_iso_duration` reads it back to the same value.

    Examples
    --------
    >>> format_iso_duration(pd.Timedelta(minutes=-30)), format_iso_duration(pd.Timedelta(0))
    ('-PT30M', 'PT0S')
    """
    ns = parse_duration(delta, argument="delta", allow_zero=True, allow_negative=True).value
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    days, rest = divmod(ns, 86_400 * 10**9)
    hours, rest = divmod(rest, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds, frac = divmod(rest, 10**9)
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or frac:
        time += f"{seconds}.{frac:09d}".rstrip("0").rstrip(".") + "S"
    text = f"{sign}P" + (f"{days}D" if days else "")
    if time or not days:
        text += "T" + (time or "0S")
    return text
