"""The header of a TSSD CSV file: its facts, sensors and column line (onc-api.md §6).

The header (``## BEGIN HEADER`` ... ``## END HEADER``) is short, so it is read line by line in
Python; :mod:`._tssd_csv` reads the data rows after it with pyarrow. The ODV reader
(:mod:`._tssd_odv`) shares the same header lines.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from intake_onc._core.errors import FileFormatError
from intake_onc._core.time import parse_date

from ._tssd_facts import CSV_KEYS as _KEYS
from ._tssd_facts import CSV_NAME_IN_DESCRIPTION as _NAME_IN_DESCRIPTION
from ._tssd_facts import CSV_VALUE_ONLY as _VALUE_ONLY
from ._tssd_facts import convert_fact, raw_attr_name
from ._tssd_layout import QC_FIELDS, SensorInfo

_BEGIN = "## BEGIN HEADER"
_END = "## END HEADER"
_MAX_HEADER_LINE = 1 << 20
_KEY_LINE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9 _]*?)\s*:(.*)$")
_SENSOR_KEY = re.compile(r"^SENSOR\s*(\d+)$", re.IGNORECASE)
#: ``#SENSOR 1 UNIT: C / Unit of measure``: a line of a sensor's block (its ``#SENSOR n:`` line
#: says the same), skipped.
_SENSOR_DETAIL = re.compile(r"^SENSOR\s*\d+\s+[A-Za-z][A-Za-z0-9]*$", re.IGNORECASE)
_VALUE_SPLIT = re.compile(r"\s+/\s*|\s*/\s+")
_UNIT = re.compile(r"^(.*?)\s*\(([^()]*)\)$")
_TIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NULLS = ["NaN", "nan", "NA", "null", ""]

_QC_TARGET = {"qc": ("value",), "min_qc": ("min", "min_time"), "max_qc": ("max", "max_time")}


@dataclass
class _Header:
    #: KEY -> (line number, value, description, raw text after the colon)
    facts: dict[str, tuple[int, str, str, str]] = field(default_factory=dict)
    sensors: dict[int, tuple[int, str]] = field(default_factory=dict)  # n -> (line, text)
    columns: tuple[int, str] | None = None
    #: ``#SAMPLEPERIODCHANGE: <ISO time> <seconds>`` lines: (line number, text)
    period_changes: list[tuple[int, str]] = field(default_factory=list)
    end_line: int = 0
    offset: int = 0


@dataclass
class _Column:
    name: str
    base: str
    kind: str  # "time" or a field of _layout.FIELD_SUFFIXES
    unit: str


# --------------------------------------------------------------------------- header


def _header_lines(path: str, f: BinaryIO, expected: str, hint: str) -> Iterator[tuple[int, str]]:
    """The lines of an open file as ``(number, text)``, line ends and the BOM removed; reaching
    the end of the file raises a :class:`FileFormatError` saying ``expected`` never came.
    ``f.tell()`` after each line is where the next one starts. (The TSSD CSV and ODV headers.)
    """
    number = 0
    while True:
        raw = f.readline(_MAX_HEADER_LINE)
        number += 1
        if not raw:
            raise FileFormatError(path, number, expected, found="the end of the file", hint=hint)
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        yield number, text.lstrip("\ufeff") if number == 1 else text


def _read_header(path: str) -> _Header:
    header = _Header()
    with open(path, "rb") as f:
        lines = _header_lines(
            path,
            f,
            f"'{_END}' closing the header",
            "the file is truncated or not an ONC TSSD CSV file",
        )
        for number, text in lines:
            if number == 1:
                if text.strip().upper() != _BEGIN:
                    raise FileFormatError(
                        path,
                        1,
                        f"'{_BEGIN}' (an ONC TSSD CSV file)",
                        found=text,
                        hint="is this a plain CSV file? read it with pandas instead",
                    )
                continue
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.upper() == _END:
                header.end_line = number
                header.offset = f.tell()
                return header
            if not stripped.startswith("#"):
                raise FileFormatError(
                    path,
                    number,
                    f"a '#' header line or '{_END}'",
                    found=text,
                    hint="the header must end with '## END HEADER' before the data rows",
                )
            _header_line(header, number, stripped)
    raise AssertionError("unreachable: _header_lines ends by raising")  # pragma: no cover


def _header_line(header: _Header, number: int, text: str) -> None:
    body = text[1:].lstrip()
    if body.startswith('"') or body.lower().startswith("time utc"):
        header.columns = (number, body)
        return
    match = _KEY_LINE.match(text)
    if match is None:  # free text (e.g. "## comment"): ignored
        return
    key, rest = match.group(1).strip(), match.group(2).strip()
    sensor = _SENSOR_KEY.match(key)
    if sensor:
        header.sensors[int(sensor.group(1))] = (number, rest)
        return
    if _SENSOR_DETAIL.match(key):
        return
    code = re.sub(r"[\s_]", "", key).upper()
    value, description = _split_value(rest, last=code == "CITATION")
    if code == "SAMPLEPERIODCHANGE":  # may repeat: one line per rating change
        header.period_changes.append((number, value))
        return
    header.facts[code] = (number, value, description, rest)


def _split_value(rest: str, *, last: bool) -> tuple[str, str]:
    """``value / description`` (or ``"value" description``) -> (value, description)."""
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end > 0:
            return rest[1:end], rest[end + 1 :].strip().lstrip("/").strip()
    matches = list(_VALUE_SPLIT.finditer(rest))
    if not matches:
        return rest, ""
    cut = matches[-1] if last else matches[0]
    return rest[: cut.start()].strip(), rest[cut.end() :].strip()


def _facts(path: str, header: _Header) -> dict[str, object]:
    metadata: dict[str, object] = {}
    for code, (number, value, description, rest) in header.facts.items():
        if code in _VALUE_ONLY:
            metadata[raw_attr_name(code)] = value
            continue
        if code not in _KEYS:
            metadata[raw_attr_name(code)] = " ".join(rest.split())  # raw, padding collapsed
            continue
        key = _KEYS[code]
        if key is None:
            continue
        try:
            metadata[key] = convert_fact(key, value)
        except ValueError as exc:
            raise FileFormatError(
                path, number, f"#{code}: {exc}", found=value, hint="fix or delete that line"
            ) from None
        if code in _NAME_IN_DESCRIPTION and description:
            metadata.setdefault(_NAME_IN_DESCRIPTION[code], description)
    return metadata


def _period_changes(
    path: str, header: _Header, metadata: dict[str, object]
) -> list[tuple[np.datetime64, float]]:
    """The ``#SAMPLEPERIODCHANGE`` lines, after the ``#SAMPLEPERIOD`` at ``#DATEFROM``.

    That first rating comes from ``metadata``, the facts :func:`_facts` has read and checked
    (``#SAMPLEPERIOD: 1 s`` is 1.0 there); an unknown period (``none``) starts no rating.
    """
    changes: list[tuple[np.datetime64, float]] = []
    period, start = metadata.get("sample_period"), metadata.get("date_from")
    if header.period_changes and period is not None and start is not None:
        changes.append((parse_date(start).to_datetime64(), float(period)))
    for number, text in header.period_changes:
        try:
            when, seconds = text.split()
            changes.append((parse_date(when).to_datetime64(), float(seconds)))
        except ValueError:
            raise FileFormatError(
                path,
                number,
                "#SAMPLEPERIODCHANGE: <ISO 8601 time> <sample period in seconds>",
                found=text,
                hint="fix or delete that line",
            ) from None
    return changes


# --------------------------------------------------------------------------- column line


def _classify(name: str) -> _Column:
    match = _UNIT.match(name)
    base, unit = (match.group(1), match.group(2).strip()) if match else (name, "")
    low = base.lower()
    suffixes = (
        # "Temperature Min Value QC Flag" (a third-party parser's naming, tssd-fragments R4)
        (" min value qc flag", "min_qc"),
        (" max value qc flag", "max_qc"),
        (" min qc flag", "min_qc"),
        (" max qc flag", "max_qc"),
        (" qc flag", "qc"),
        (" min time", "min_time"),
        (" max time", "max_time"),
        (" standard deviation", "std"),
        (" min value", "min"),
        (" max value", "max"),
        (" min", "min"),
        (" max", "max"),
    )
    for suffix, kind in suffixes:
        if low.endswith(suffix):
            return _Column(name, base[: -len(suffix)].rstrip(), kind, unit)
    if low.endswith(" count") and not match:
        return _Column(name, base[:-6].rstrip(), "count", "")
    return _Column(name, base, "value", unit)


def _columns(path: str, header: _Header) -> tuple[list[_Column], list[list[_Column]]]:
    if header.columns is None:
        raise FileFormatError(
            path,
            header.end_line,
            'the quoted column line (#"Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)", "Name (unit)", '
            f"\"Name QC Flag\", ...) before '{_END}'",
            found=_END,
        )
    number, text = header.columns
    names = [" ".join(n.split()) for n in next(csv.reader([text], skipinitialspace=True))]
    while names and not names[-1]:
        names.pop()
    if not names or not names[0].lower().startswith("time"):
        raise FileFormatError(
            path, number, "'Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)' as the first column", found=text
        )
    columns = [_Column(names[0], "time", "time", "")]
    groups: list[list[_Column]] = []
    for name in names[1:]:
        column = _classify(name)
        if column.kind in QC_FIELDS:
            before = columns[-1]
            if before.base != column.base or before.kind not in _QC_TARGET[column.kind]:
                raise FileFormatError(
                    path,
                    number,
                    f"the QC column {name!r} right after its value column "
                    f"({column.base!r} with a unit)",
                    found=f"it follows {before.name!r}",
                )
        group = next((g for g in groups if g[0].base == column.base), None)
        if group is None:
            groups.append([column])
        elif any(c.kind == column.kind for c in group):
            raise FileFormatError(
                path, number, f"each column once, but {name!r} repeats a column", found=text
            )
        else:
            group.append(column)
        columns.append(column)
    return columns, groups


def _sensor_infos(path: str, header: _Header, groups: list[list[_Column]]) -> list[SensorInfo]:
    units = [next((c.unit for c in g if c.unit), "") for g in groups]
    if not header.sensors:
        return [SensorInfo(None, g[0].base, u) for g, u in zip(groups, units, strict=True)]
    if len(header.sensors) != len(groups):
        number = header.columns[0] if header.columns else header.end_line
        raise FileFormatError(
            path,
            number,
            f"one sensor in the column line per '#SENSOR n:' line ({len(header.sensors)})",
            found=f"{len(groups)} sensors: " + ", ".join(g[0].base for g in groups),
        )
    infos = []
    for (_, (number, text)), unit in zip(sorted(header.sensors.items()), units, strict=True):
        parts = [p.strip() for p in text.split(" / ")]
        if len(parts) < 2 or not parts[0]:
            raise FileFormatError(
                path,
                number,
                "'#SENSOR n: sensorCode / sensorName / unit / propertyCode'",
                found=text,
            )
        if len(parts) > 4:
            parts = [parts[0], parts[1], " / ".join(parts[2:-1]), parts[-1]]
        parts += [""] * (4 - len(parts))
        infos.append(SensorInfo(parts[0], parts[1], parts[2] or unit, parts[3] or None))
    return infos
