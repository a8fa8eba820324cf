"""The header facts of a TSSD file: what each key means and how its value is read.

CSV headers (``#DEVICECODE: ...``), JSON ``metadata`` members and MAT ``metadata`` fields say
the same things under different keys. The readers map them to one set of canonical keys
(:data:`CAMEL_KEYS` for JSON/MAT), convert each value (:data:`CONVERTERS`: dates, numbers, the
quality-control, data-gap and resample words, sample periods) and keep anything unknown as a raw
attribute. :mod:`intake_onc.scalar._tssd_layout` builds the Dataset from the result.

Examples
--------
>>> convert_fact("resample_type", "minMaxAvg")
'minMaxAvg'
>>> parse_period("60 s")
60.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

import numpy as np

from intake_onc._core.durations import DurationError, parse_duration
from intake_onc._core.errors import FileFormatError
from intake_onc._core.time import datenums_to_times, format_onc_date, parse_date


def snake_case(text: str) -> str:
    """A Python/netCDF-friendly lower-case name.

    Examples
    --------
    >>> snake_case("Practical Salinity")
    'practical_salinity'
    >>> snake_case("Oxygen Concentration Corrected ")
    'oxygen_concentration_corrected'
    """
    name = re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")
    if not name:
        return "variable"
    return f"v_{name}" if name[0].isdigit() else name


def _text(value: object) -> str:
    return str(value).strip().strip('"').strip()


def _number(value: object) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    return float(_text(value))


def _date(value: object) -> str:
    return format_onc_date(parse_date(_text(value)))


_RESAMPLE_TYPES = {
    "": "none",
    "none": "none",
    "average": "average",
    "avg": "average",
    "mean": "average",
    "minmax": "minMax",
    "minmaxavg": "minMaxAvg",
}


_DATA_GAPS = {
    "nan": "fill",
    "fill": "fill",
    "filled": "fill",
    "true": "fill",
    "remove": "remove",
    "removed": "remove",
    "skip": "remove",
    "none": "none",
    "false": "none",
    "": "none",
}


_BARE_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _quality_control(value: object) -> str:
    text = _text(value).lower()
    if text not in ("raw", "clean"):
        raise ValueError("'raw' or 'clean'")
    return text


def _data_gaps(value: object) -> str:
    text = _text(value).lower()
    if text not in _DATA_GAPS:
        raise ValueError("'NaN'/'fill', 'remove' or 'none'")
    return _DATA_GAPS[text]


def _resample_type(value: object) -> str:
    text = re.sub(r"[\s_-]", "", _text(value).lower())
    if text not in _RESAMPLE_TYPES:
        raise ValueError("'none', 'average', 'minMax' or 'minMaxAvg'")
    return _RESAMPLE_TYPES[text]


def parse_period(value: object) -> float | None:
    """Seconds in a period such as ``"60 s"``, ``60``, ``"1 hour"`` or ``"PT1M"``.

    ``None`` for "no period" (``""``, ``"none"``, NaN).

    Examples
    --------
    >>> parse_period('"60 s"'), parse_period("1 hour"), parse_period("PT10M"), parse_period("")
    (60.0, 3600.0, 600.0, None)
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        return None if math.isnan(number) else number
    text = _text(value)
    if text.lower() in ("", "none", "nan"):
        return None
    if _BARE_NUMBER.fullmatch(text):  # ONC's files write a bare period in seconds ("60")
        return float(text)
    try:
        return parse_duration(text, argument="period", allow_zero=True).total_seconds()
    except DurationError:
        raise ValueError("a period such as '60 s', '1 hour' or 'PT1M'") from None


#: canonical key -> converter (raises ValueError naming what it expected).
CONVERTERS: dict[str, Callable[[object], object]] = {
    "device_code": _text,
    "device_name": _text,
    "device_category_code": _text,
    "device_category_name": _text,
    "location_code": _text,
    "station_name": _text,
    "latitude": _number,
    "longitude": _number,
    "depth": _number,
    "date_from": _date,
    "date_to": _date,
    "creation_date": _date,
    "sample_period": parse_period,
    "quality_control": _quality_control,
    "data_gaps": _data_gaps,
    "resample_type": _resample_type,
    "resample_period": parse_period,
    "citation": _text,
    "onc_encoding": _text,
}


_EXPECTED = {
    "latitude": "a number (decimal degrees)",
    "longitude": "a number (decimal degrees)",
    "depth": "a number (m)",
    "date_from": "an ISO 8601 date",
    "date_to": "an ISO 8601 date",
    "creation_date": "an ISO 8601 date",
}


def convert_fact(key: str, value: object) -> object:
    """Normalise one header fact (canonical ``key``); ``ValueError(expected)`` if unreadable.

    Examples
    --------
    >>> convert_fact("data_gaps", "NaN"), convert_fact("resample_type", '"average"')
    ('fill', 'average')
    """
    try:
        result = CONVERTERS[key](value)
    except (ValueError, TypeError, OverflowError) as exc:
        expected = _EXPECTED.get(key) or (str(exc) if str(exc).startswith("'") else None)
        raise ValueError(expected or "a readable value") from exc
    if isinstance(result, float) and math.isnan(result):
        return None
    return result


def raw_attr_name(key: str) -> str:
    """Attribute name for a header key the readers do not know: ``onc_<snake_case key>``."""
    return "onc_" + snake_case(key)


def raw_attr_value(value: object) -> str | float | int:
    """A netCDF-storable form of an unknown header value."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, default=str)


#: CSV header key (upper case, no spaces/underscores) -> canonical fact.
CSV_KEYS: dict[str, str | None] = {
    "CREATIONDATE": "creation_date",
    "DATEFROM": "date_from",
    "DATETO": "date_to",
    "STATION": "location_code",
    "LOCATIONCODE": "location_code",
    "STATIONNAME": "station_name",
    "LOCATIONNAME": "station_name",
    "DEVICECODE": "device_code",
    "DEVICENAME": "device_name",
    "DEVICECATEGORY": "device_category_code",
    "DEVICECATEGORYCODE": "device_category_code",
    "LATITUDE": "latitude",
    "LONGITUDE": "longitude",
    "DEPTH": "depth",
    "SAMPLEPERIOD": "sample_period",
    "QUALITYCONTROL": "quality_control",
    "DATAGAPS": "data_gaps",
    "RESAMPTYP": "resample_type",
    "RESAMPLETYPE": "resample_type",
    "RESAMPPRD": "resample_period",
    "RESAMPLEPERIOD": "resample_period",
    "CITATION": "citation",
    "TOTSAMPLE": None,  # per file; meaningless once files are joined
    "FIRSTSAMPLE": None,  # per file, like TOTSAMPLE
    "LASTSAMPLE": None,
    "NUMSENSORS": None,  # the column line says it
    "MAXSAMPLE": None,  # constants of the product, not facts about the data
    "DATAPRODUCT": None,
    "FILEFORMAT": None,
    "OBSERVATORY": None,
    "GAPTHRESHOLD": None,
    "RESAMPCOMPLETE": None,
    "RESAMPTIME": None,
    **{f"QAQCFLAG{flag}": None for flag in range(10)},  # the legend: CF flag_meanings say it
}
#: keys kept as raw ``onc_<key>`` attributes with their value only (not ``value / description``).
CSV_VALUE_ONLY = frozenset(
    {"SITE", "DEVICEID", "DEPLOYMENTBEGIN", "DEPLOYMENTEND", "DOI", "LICENCE", "DATASOURCE"}
)
#: keys whose "description" is really a name (``#STATION: BACAX / Barkley Canyon Axis``).
CSV_NAME_IN_DESCRIPTION = {
    "STATION": "station_name",
    "DEVICECODE": "device_name",
    "DEVICECATEGORY": "device_category_name",
}


#: camelCase metadata key (JSON ``metadata`` object, MAT ``metadata`` struct) -> fact.
CAMEL_KEYS = {
    "deviceCode": "device_code",
    "deviceName": "device_name",
    "deviceCategoryCode": "device_category_code",
    "deviceCategory": "device_category_code",
    "deviceCategoryName": "device_category_name",
    "locationCode": "location_code",
    "stationCode": "location_code",
    "stationName": "station_name",
    "locationName": "station_name",
    "lat": "latitude",
    "latitude": "latitude",
    "lon": "longitude",
    "longitude": "longitude",
    "depth": "depth",
    "dateFrom": "date_from",
    "dateTo": "date_to",
    "creationDate": "creation_date",
    "samplePeriod": "sample_period",
    "qualityControl": "quality_control",
    "dataGaps": "data_gaps",
    "resampleType": "resample_type",
    "resamplePeriod": "resample_period",
    "citation": "citation",
    "encoding": "onc_encoding",
}


#: camelCase keys that are not header facts (sensor lists of a MAT file, ...).
SKIPPED_CAMEL_KEYS = frozenset(
    {"sensorCodes", "sensorNames", "units", "propertyCodes", "totalSamples", "totSample"}
)


#: camelCase keys describing data-rating changes inside a file (handled by
#: :func:`sample_period_changes_from_camel`, not copied to attrs).
PERIOD_CHANGE_KEYS = frozenset({"samplePeriods", "samplePeriodStarts", "samplePeriodValues"})


def sample_period_changes_from_camel(
    meta: Mapping[str, object],
) -> list[tuple[np.datetime64, float]]:
    """``[(from, sample period s)]`` from a JSON ``samplePeriods`` list or MAT arrays.

    JSON files list ``{"dateFrom": ISO, "samplePeriod": s}``; MAT files hold
    ``samplePeriodStarts`` (datenums) and ``samplePeriodValues``. Missing: ``[]``.

    Examples
    --------
    >>> [(str(start), period) for start, period in sample_period_changes_from_camel(
    ...     {"samplePeriods": [{"dateFrom": "2023-06-01T00:00:00.000Z", "samplePeriod": 1.0}]})]
    [('2023-06-01T00:00:00.000000000', 1.0)]
    """
    listed = meta.get("samplePeriods")
    if isinstance(listed, (list, tuple)):
        return [
            (parse_date(item["dateFrom"]).to_datetime64(), float(item["samplePeriod"]))
            for item in listed
            if isinstance(item, Mapping)
        ]
    starts, values = meta.get("samplePeriodStarts"), meta.get("samplePeriodValues")
    if starts is None or values is None:
        return []
    starts_ms = datenums_to_times(starts)  # to the ms: datenums carry ~10 µs of noise
    values_f = np.atleast_1d(np.asarray(values, dtype="float64")).ravel()
    return [(t, float(v)) for t, v in zip(starts_ms, values_f, strict=True)]


def facts_from_camel(meta: Mapping[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """Header facts from a camelCase ``metadata`` mapping.

    Returns the facts and, for each value that could not be read, ``{camelKey: expected}``
    (the caller raises with its own file context).

    Examples
    --------
    >>> facts_from_camel({"lat": 48.3, "dataGaps": "NaN", "siteId": 7})
    ({'latitude': 48.3, 'data_gaps': 'fill', 'onc_site_id': 7}, {})
    """
    facts: dict[str, object] = {}
    problems: dict[str, str] = {}
    for key, value in meta.items():
        if key in SKIPPED_CAMEL_KEYS or key in PERIOD_CHANGE_KEYS or value is None:
            continue
        if key not in CAMEL_KEYS:
            facts[raw_attr_name(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key))] = raw_attr_value(
                value
            )
            continue
        try:
            facts[CAMEL_KEYS[key]] = convert_fact(CAMEL_KEYS[key], value)
        except ValueError as exc:
            problems[key] = str(exc)
    return facts, problems


def checked_facts_from_camel(path: str, meta: Mapping[str, object]) -> dict[str, object]:
    """:func:`facts_from_camel`, raising for the first value it could not read.

    Raises
    ------
    FileFormatError
        ``metadata.<camelKey>: <expected>``, with the value found, for the file ``path``.
    """
    metadata, problems = facts_from_camel(meta)
    if problems:
        key, expected = next(iter(problems.items()))
        raise FileFormatError(path, None, f"metadata.{key}: {expected}", found=repr(meta[key]))
    return metadata
