"""TSSD CSV files: the ``## BEGIN HEADER`` ... ``## END HEADER`` header and the data rows.

onc-api.md §6 and the reconstructed fragments (``tssd-fragments/``) fix the frame: line 1
``## BEGIN HEADER``; ``#KEY: value / description`` lines; ``#RESAMPTYP: "average"`` and
``#RESAMPPRD: "60 s"`` quoted; ``#TOTSAMPLE: N ... / Samples in File``; the quoted column line
``#"Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)", "Name (unit)", "Name QC Flag", ...``; ``## END HEADER``;
and the length: about 52 lines before the column line for a one-sensor file, about 113 for an
8-sensor CTD.

Guesses (README.md, "How the sandbox differs from the real service")
--------------------------------------------------------------------
* **The line set** between the frame lines is ours: the keys ONC is known to write (``DATEFROM``,
  ``DATETO``, ``LATITUDE``, ``LONGITUDE``, ``DEPTH``, ``RESAMPTYP``, ``RESAMPPRD``,
  ``TOTSAMPLE``) plus realistic ones (creation date, site/station, device code/id/category,
  deployment, sample period, QC legend, data gaps, resampling, citation, DOI, licence) --
  :data:`FIXED_LINES` lines in all, with the ``## BEGIN HEADER`` line -- then a block of
  :data:`LINES_PER_SENSOR` lines per sensor (``#SENSOR n:`` ``code / name / unit /
  propertyCode``, then ``#SENSOR n ID:``, ``NAME``, ``UNIT``, ``PROPERTY``, ``CATEGORY``,
  ``SAMPLEPERIOD``, ``DERIVATION``, ``COLUMNS``). That makes 52 lines for one sensor, 61 for
  two and 115 for eight (one more per data-rating change, ``#SAMPLEPERIODCHANGE``).
* **Padding**: every ``#KEY: value / description`` line is ``#KEY:`` padded to 16 characters,
  the value padded to 33, then ``/ description`` -- the fragments' ``#DEPTH:`` line exactly.
  ``#RESAMPTYP``/``#RESAMPPRD`` are the fragments' bare quoted values.
* **Sensor ids** (``#SENSOR n ID``) are made up: ``deviceId * 100 + n``. ``DERIVATION`` is
  ``derived`` for quantities a CTD computes (salinity, density, sigma-t, sound speed, depth),
  else ``measured``.
* **Numbers**: floats as Python ``repr`` (the shortest string that round-trips the float64),
  ``NaN`` for missing; flags and counts as integers; times ``yyyy-mm-ddThh:mm:ss.fffZ``; a
  missing min/max time is ``NaN``. QC columns are ``"<Name> QC Flag"`` without the trailing
  spaces some real files have (the package's reader accepts both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.encoders.scalar_pages import onc_time_strings
from intake_onc.sandbox.observatory.records import Deployment, Sensor
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.reference.rules import QAQC_FLAG_INFO, ResampledRecords
from intake_onc.sandbox.synthetic.scalar import ScalarRecords

__all__ = [
    "FIXED_LINES",
    "LINES_PER_SENSOR",
    "TIME_COLUMN",
    "column_cells",
    "column_names",
    "column_specs",
    "csv_bytes",
    "csv_header_bytes",
    "csv_rows_text",
    "fact_lines",
    "header_length",
    "header_line",
    "time_strings",
]

Rows = ScalarRecords | ResampledRecords

TIME_COLUMN = "Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)"
#: Lines from ``## BEGIN HEADER`` up to the first sensor block (no rating changes).
FIXED_LINES = 43
#: Lines of one sensor's block.
LINES_PER_SENSOR = 9
_KEY_WIDTH = 16
_VALUE_WIDTH = 33
_DERIVED = frozenset({"salinity", "density", "sigmat", "sigmatheta", "soundspeed", "depth"})
_LICENCE = "CC-BY 4.0"


def header_line(key: str, value: object, description: str = "") -> str:
    """``#KEY:`` padded to 16 characters, the value padded to 33, then ``/ description``.

    Examples
    --------
    >>> header_line("DEPTH", 9.0, "Depth (m)")
    '#DEPTH:         9.0                              / Depth (m)'
    """
    text = f"{'#' + key + ':':<{_KEY_WIDTH - 1}} {value}"
    if not description:
        return text
    return f"{text:<{_KEY_WIDTH + _VALUE_WIDTH - 1}} / {description}"


# -- cells -----------------------------------------------------------------------------------


def _float_strings(values: np.ndarray) -> list[str]:
    return ["NaN" if x != x else repr(x) for x in np.asarray(values, dtype="float64").tolist()]


def _int_strings(values: np.ndarray) -> list[str]:
    return [str(x) for x in np.asarray(values).astype("int64").tolist()]


def _time_strings(times: np.ndarray) -> list[str]:
    return [s if s is not None else "NaN" for s in onc_time_strings(times)]


def _sensors(device_code: str) -> dict[str, Sensor]:
    return {s.code: s for s in OBSERVATORY.device(device_code).sensors}


def _column_specs(rows: Rows) -> list[tuple[str, str, str, Callable[[np.ndarray], list[str]]]]:
    """``[(column name, sensor code, rows field, cell formatter)]`` after the time column."""
    f, i, t = _float_strings, _int_strings, _time_strings
    specs: list[tuple[str, str, str, Callable[[np.ndarray], list[str]]]] = []
    meta = _sensors(rows.device_code)
    for code in rows.sensors:
        name, unit = meta[code].name, meta[code].unit
        if isinstance(rows, ScalarRecords):
            specs += [(f"{name} ({unit})", code, "value", f), (f"{name} QC Flag", code, "qc", i)]
            continue
        if rows.method in ("average", "minMaxAvg"):
            specs += [
                (f"{name} ({unit})", code, "", f),
                (f"{name} QC Flag", code, "_qc", i),
                (f"{name} Count", code, "_count", i),
                (f"{name} Standard Deviation ({unit})", code, "_std", f),
            ]
        if rows.method in ("minMax", "minMaxAvg"):
            specs += [
                (f"{name} Min ({unit})", code, "_min", f),
                (f"{name} Min Time", code, "_min_time", t),
                (f"{name} Min QC Flag", code, "_min_qc", i),
                (f"{name} Max ({unit})", code, "_max", f),
                (f"{name} Max Time", code, "_max_time", t),
                (f"{name} Max QC Flag", code, "_max_qc", i),
            ]
        if rows.method == "minMax":
            specs.append((f"{name} Count", code, "_count", i))
    return specs


def _cells(rows: Rows, code: str, field: str, fmt: Callable[[np.ndarray], list[str]]) -> list[str]:
    if isinstance(rows, ScalarRecords):
        return fmt(rows.values[code] if field == "value" else rows.flags[code])
    return fmt(rows.variables[code + field])


def column_names(rows: Rows) -> list[str]:
    """The column names of the data rows, time first (the quoted column line's fields)."""
    return [TIME_COLUMN, *(spec[0] for spec in _column_specs(rows))]


def csv_rows_text(rows: Rows) -> str:
    """The data lines of ``rows`` (each ending in a newline; ``""`` for no rows)."""
    cells = [_time_strings(rows.times)]
    cells += [_cells(rows, code, field, fmt) for _, code, field, fmt in _column_specs(rows)]
    body = "\n".join(",".join(row) for row in zip(*cells, strict=True))
    return body + "\n" if body else ""


# -- header ----------------------------------------------------------------------------------


def _sensor_block(n: int, sensor: Sensor, device_id: int, period: float, columns: str) -> list[str]:
    derivation = "derived" if sensor.property_code in _DERIVED else "measured"
    return [
        f"#SENSOR {n}: {sensor.code} / {sensor.name} / {sensor.unit} / {sensor.property_code}",
        header_line(f"SENSOR {n} ID", device_id * 100 + n, "Sensor ID"),
        header_line(f"SENSOR {n} NAME", sensor.name, "Sensor name"),
        header_line(f"SENSOR {n} UNIT", sensor.unit, "Unit of measure"),
        header_line(f"SENSOR {n} PROPERTY", sensor.property_code, "Property code"),
        header_line(f"SENSOR {n} CATEGORY", sensor.category_code, "Sensor category code"),
        header_line(f"SENSOR {n} SAMPLEPERIOD", period, "Sample period (s) at DATEFROM"),
        header_line(f"SENSOR {n} DERIVATION", derivation, "Measured or derived"),
        header_line(f"SENSOR {n} COLUMNS", columns, "Columns of this sensor in a data row"),
    ]


def time_strings(times: np.ndarray) -> list[str]:
    """``yyyy-mm-ddThh:mm:ss.fffZ`` cells, ``NaN`` where missing."""
    return _time_strings(times)


def _header_lines(
    facts: Mapping[str, object], deployment: Deployment, rows: Rows, total: int
) -> list[str]:
    device = OBSERVATORY.device(str(facts["deviceCode"]))
    location = OBSERVATORY.location(deployment.location_code)
    site = OBSERVATORY.location(location.parent) if location.parent else location
    category = OBSERVATORY.device_categories[device.category_code]
    citation = OBSERVATORY.citation(device.code)
    period = facts["samplePeriod"]
    resample = facts["resampleType"]
    resample_period = facts["resamplePeriod"]
    first, last = onc_time_strings(np.asarray(rows.times)[[0, -1]]) if len(rows) else ("", "")
    end = "ongoing" if deployment.end is None else format_onc_date(deployment.end)
    lines = [
        "## BEGIN HEADER",
        header_line("DATAPRODUCT", "TSSD", "Time Series Scalar Data"),
        header_line("FILEFORMAT", "csv", "Comma-separated values"),
        header_line("DATASOURCE", "synthetic", "Served by the intake-onc sandbox"),
        header_line("CREATIONDATE", facts["creationDate"], "Date the file was created"),
        header_line("DATEFROM", facts["dateFrom"], "Start of the requested range"),
        header_line("DATETO", facts["dateTo"], "End of the requested range"),
        header_line("FIRSTSAMPLE", first, "Time of the first row of this file"),
        header_line("LASTSAMPLE", last, "Time of the last row of this file"),
        header_line("OBSERVATORY", "Ocean Networks Canada", "Operator"),
        header_line("SITE", site.code, site.name),
        header_line("STATION", location.code, location.name),
        header_line("DEVICECODE", device.code, device.name),
        header_line("DEVICEID", device.device_id, "Device ID"),
        header_line("DEVICECATEGORY", device.category_code, category.name),
        header_line("DEPLOYMENTBEGIN", format_onc_date(deployment.begin), "Deployment start"),
        header_line("DEPLOYMENTEND", end, "Deployment end"),
        header_line("LATITUDE", facts["lat"], "Latitude (decimal degrees)"),
        header_line("LONGITUDE", facts["lon"], "Longitude (decimal degrees)"),
        header_line("DEPTH", facts["depth"], "Depth (m)"),
        header_line("SAMPLEPERIOD", period, "Sample period (s) of the data rating at DATEFROM"),
        *(
            header_line(
                "SAMPLEPERIODCHANGE",
                f"{c['dateFrom']} {c['samplePeriod']!r}",
                "Sample period (s) of the data rating from this time on",
            )
            for c in facts["samplePeriods"][1:]  # type: ignore[index]
        ),
        header_line("NUMSENSORS", len(rows.sensors), "Sensors in file"),
        header_line(
            "QUALITYCONTROL", facts["qualityControl"], "raw, or clean: flags 3, 4, 6 -> NaN"
        ),
        *(header_line(f"QAQCFLAG{k}", k, text) for k, text in QAQC_FLAG_INFO.items()),
        header_line("DATAGAPS", facts["dataGaps"], "NaN rows fill gaps, or removed"),
        header_line("GAPTHRESHOLD", 1.9, "A gap is longer than this many sample periods"),
        f'#RESAMPTYP: "{resample}"',
        f'#RESAMPPRD: "{f"{resample_period:g} s" if resample_period else "none"}"',
        header_line("RESAMPCOMPLETE", 0.7, "Fraction of samples a resampled bin needs"),
        header_line("RESAMPTIME", "centre" if resample_period else "none", "Row time in a bin"),
        header_line("TOTSAMPLE", total, "Samples in File"),
        header_line("MAXSAMPLE", 1_000_000, "Samples per file before it is split"),
        header_line("CITATION", facts["citation"], "Citation"),
        header_line("DOI", citation["doi"], "Digital Object Identifier"),
        header_line("LICENCE", _LICENCE, "Licence of the data"),
    ]
    sensors = _sensors(device.code)
    names = column_names(rows)
    at = 1
    for n, code in enumerate(rows.sensors, start=1):
        width = sum(1 for spec in _column_specs(rows) if spec[1] == code)
        span = f"{at + 1}-{at + width}"
        lines += _sensor_block(n, sensors[code], device.device_id, float(period), span)  # type: ignore[arg-type]
        at += width
    lines.append("#" + ", ".join(f'"{n}"' for n in names))
    lines.append("## END HEADER")
    return lines


def fact_lines(
    facts: Mapping[str, object], deployment: Deployment, rows: Rows, total: int | None = None
) -> list[str]:
    """The ``#KEY: value / description`` lines of the CSV header (no frame, no column line).

    The ODV text files (:mod:`~.tssd_odv`) carry the same lines after ``//``.
    """
    total = len(rows) if total is None else total
    return _header_lines(facts, deployment, rows, total)[1:-2]


def column_specs(rows: Rows) -> list[tuple[str, str, str]]:
    """``[(CSV column name, sensor code, field)]`` after the time column; ``field`` is
    ``"value"``/``"qc"`` for plain rows, else the suffix of ``rows.variables`` (``"_count"``)."""
    return [spec[:3] for spec in _column_specs(rows)]


def column_cells(rows: Rows, code: str, field: str) -> list[str]:
    """The cells (text) of one column of :func:`column_specs`."""
    fmt = next(s[3] for s in _column_specs(rows) if s[1] == code and s[2] == field)
    return _cells(rows, code, field, fmt)


def csv_header_bytes(
    facts: Mapping[str, object],
    deployment: Deployment,
    rows: Rows,
    total: int | None = None,
) -> bytes:
    """The header of a TSSD CSV file of ``rows`` (``## BEGIN HEADER`` .. ``## END HEADER``).

    Parameters
    ----------
    facts
        The request's camelCase facts (``deviceCode``, ``dateFrom``, ``lat``, ``citation``,
        ``samplePeriods``, ``qualityControl``, ``resampleType``, ...).
    deployment
        The deployment in force at the file's first row.
    rows
        The file's rows: its sensors, column set and first/last times.
    total
        ``#TOTSAMPLE`` (default ``len(rows)``).

    Returns
    -------
    bytes
        UTF-8 header lines, each ending in ``\\n``.
    """
    total = len(rows) if total is None else total
    return ("\n".join(_header_lines(facts, deployment, rows, total)) + "\n").encode("utf-8")


def csv_bytes(facts: Mapping[str, object], deployment: Deployment, rows: Rows) -> bytes:
    """A whole TSSD CSV file: :func:`csv_header_bytes` then :func:`csv_rows_text`."""
    return csv_header_bytes(facts, deployment, rows) + csv_rows_text(rows).encode("utf-8")


def header_length(n_sensors: int, n_rating_changes: int = 0) -> int:
    """Lines before the column line for ``n_sensors`` sensors (see the module's guesses)."""
    return FIXED_LINES + n_rating_changes + LINES_PER_SENSOR * n_sensors
