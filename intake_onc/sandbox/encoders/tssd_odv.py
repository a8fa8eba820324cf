"""TSSD ``txt`` files: an ODV generic spreadsheet (tab-separated text with ``//`` comment lines).

ONC lists a ``txt`` extension for TSSD (``dataProducts.json``); what it holds is not in the
reference notes. The sandbox writes Ocean Data View's generic spreadsheet layout, since that is
what ONC's text exports for ODV look like.

Guesses (README.md, "How the sandbox differs from the real service")
--------------------------------------------------------------------
* **Comment lines**: ``//<Encoding>UTF-8</Encoding>``, ``//<Creator>``, ``//<CreateTime>``,
  ``//<Software>``, ``//<Source>`` (the device code), ``//<Version>ODV Spreadsheet V4.0``,
  ``//<DataField>Ocean``, ``//<DataType>TimeSeries``, ``//<MissingValueIndicators>NaN``, then
  the TSSD CSV header's ``#KEY: value / description`` lines after ``//``
  (:func:`~.tssd_csv.fact_lines`: dates, device, location, sensors, options, citation).
* **Columns** (tab-separated, one line): the ODV meta columns ``Cruise`` (the device code),
  ``Station`` (the location code), ``Type`` (``*``), ``yyyy-mm-ddThh:mm:ss.sss`` (UTC, no
  ``Z``), ``Longitude [degrees_east]``, ``Latitude [degrees_north]``, ``Bot. Depth [m]`` (the
  deployment depth), then ``Depth [m]`` (the instrument depth, ODV's primary variable) and the
  CSV file's columns with ``(unit)`` written ``[unit]``; each ``... QC Flag`` column becomes
  ``QV:ONC:<Name>`` (``QV:ONC:Temperature``, ``QV:ONC:Temperature Min``) and holds ONC's own
  QAQC flags (0-9), not ODV's flag scheme.
* **Cells** as in the CSV files (floats as ``repr``, ``NaN`` missing); every row repeats the
  meta columns. One file per request (no split at 1,000,000 rows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from intake_onc.sandbox.encoders import tssd_csv
from intake_onc.sandbox.observatory.records import Deployment
from intake_onc.sandbox.reference.rules import ResampledRecords
from intake_onc.sandbox.synthetic.scalar import ScalarRecords

__all__ = ["META_COLUMNS", "odv_bytes", "odv_column_name"]

Rows = ScalarRecords | ResampledRecords

#: The ODV meta columns, then the primary variable.
META_COLUMNS = (
    "Cruise",
    "Station",
    "Type",
    "yyyy-mm-ddThh:mm:ss.sss",
    "Longitude [degrees_east]",
    "Latitude [degrees_north]",
    "Bot. Depth [m]",
    "Depth [m]",
)
_UNIT = re.compile(r"^(.*) \(([^()]*)\)$")


def odv_column_name(csv_name: str) -> str:
    """The ODV label of a TSSD CSV column.

    Examples
    --------
    >>> odv_column_name("Temperature (C)"), odv_column_name("Temperature Min QC Flag")
    ('Temperature [C]', 'QV:ONC:Temperature Min')
    """
    if csv_name.endswith(" QC Flag"):
        return "QV:ONC:" + csv_name[: -len(" QC Flag")]
    match = _UNIT.match(csv_name)
    return f"{match.group(1)} [{match.group(2)}]" if match else csv_name


def odv_bytes(facts: Mapping[str, object], deployment: Deployment, rows: Rows) -> bytes:
    """A TSSD ``txt`` file: ODV generic spreadsheet of ``rows``.

    Parameters
    ----------
    facts
        The request's camelCase facts (as for :func:`~.tssd_csv.csv_bytes`).
    deployment
        The deployment in force at the first row.
    rows
        The file's rows.

    Returns
    -------
    bytes
        UTF-8 text, ``\\n`` line ends.
    """
    device = str(facts["deviceCode"])
    lines = [
        "//<Encoding>UTF-8</Encoding>",
        "//<Creator>Ocean Networks Canada</Creator>",
        f"//<CreateTime>{facts['creationDate']}</CreateTime>",
        "//<Software>intake-onc sandbox (synthetic data)</Software>",
        f"//<Source>{device}</Source>",
        "//<Version>ODV Spreadsheet V4.0</Version>",
        "//<DataField>Ocean</DataField>",
        "//<DataType>TimeSeries</DataType>",
        "//<MissingValueIndicators>NaN</MissingValueIndicators>",
        *("//" + line for line in tssd_csv.fact_lines(facts, deployment, rows)),
    ]
    specs = tssd_csv.column_specs(rows)
    lines.append("\t".join([*META_COLUMNS, *(odv_column_name(s[0]) for s in specs)]))
    times = [t[:-1] if t.endswith("Z") else t for t in tssd_csv.time_strings(rows.times)]
    depth = repr(float(deployment.depth))
    meta = [device, deployment.location_code, "*"]
    place = [repr(float(deployment.lon)), repr(float(deployment.lat)), depth, depth]
    cells = [tssd_csv.column_cells(rows, code, field) for _, code, field in specs]
    constant = "\t".join(meta)
    after_time = "\t".join(place)
    body = [
        "\t".join([constant, time, after_time, *row])
        for time, *row in zip(times, *cells, strict=True)
    ]
    return ("\n".join(lines + body) + "\n").encode("utf-8")
