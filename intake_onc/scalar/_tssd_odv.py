"""TSSD ``txt`` files in the sandbox's ODV spreadsheet layout (README.md, "How the sandbox
differs": ``//`` comment lines, then a tab-separated column line and rows).

The ``//#KEY: value / description`` comment lines are the TSSD CSV header's lines and are read by
the CSV reader's header code; the column line's labels are turned back into CSV column names
(``Temperature [C]`` -> ``Temperature (C)``, ``QV:ONC:Temperature`` -> ``Temperature QC Flag``),
so that the sensors, flags and checks (``#TOTSAMPLE``, flag values) are the CSV reader's. The ODV
meta columns (``Cruise``, ``Station``, ``Type``, positions, ``Bot. Depth [m]``, ``Depth [m]``) are
skipped; ``yyyy-mm-ddThh:mm:ss.sss`` (UTC) is the time.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from intake_onc._core.errors import FileFormatError

from ._tssd_csv import _arrow_type, _check_flags, _check_row_count, _to_numpy
from ._tssd_csv_header import (
    _NULLS,
    _columns,
    _facts,
    _Header,
    _header_line,
    _header_lines,
    _period_changes,
    _sensor_infos,
)
from ._tssd_layout import TIME_FIELDS, FileTable, SensorData, convert_field

__all__ = ["is_odv", "read_odv_table"]

_TIME_LABEL = "yyyy-mm-ddThh:mm:ss.sss"
#: ODV meta columns and the primary variable: not sensor data.
_META = frozenset(
    {
        "Cruise",
        "Station",
        "Type",
        _TIME_LABEL,
        "Longitude [degrees_east]",
        "Latitude [degrees_north]",
        "Bot. Depth [m]",
        "Depth [m]",
    }
)
_UNIT = re.compile(r"^(.*?)\s*\[([^\[\]]*)\]$")


def is_odv(start: bytes) -> bool:
    """Whether a file starting with these bytes is an ODV spreadsheet (``//`` comments)."""
    return start.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"//")


def _csv_name(label: str) -> str:
    if label.startswith("QV:ONC:"):
        return label[len("QV:ONC:") :] + " QC Flag"
    match = _UNIT.match(label)
    return f"{match.group(1)} ({match.group(2)})" if match else label


def _read_header(path: str) -> tuple[_Header, list[str]]:
    header = _Header()
    with open(path, "rb") as f:
        lines = _header_lines(
            path,
            f,
            "the tab-separated column line after the '//' comment lines",
            "the file is truncated or not an ODV spreadsheet",
        )
        for number, text in lines:
            if not text.strip():
                continue
            if text.startswith("//"):
                body = text[2:].strip()
                if body.startswith("#"):
                    _header_line(header, number, body)
                continue
            labels = [label.strip() for label in text.split("\t")]
            if _TIME_LABEL not in labels:
                raise FileFormatError(
                    path, number, f"a column line with '{_TIME_LABEL}' (UTC)", found=text[:200]
                )
            header.end_line = number
            header.offset = f.tell()
            return header, labels
    raise AssertionError("unreachable: _header_lines ends by raising")  # pragma: no cover


def read_odv_table(path: str | os.PathLike[str]) -> FileTable:
    """Read one TSSD ``txt`` (ODV spreadsheet) file into a ``FileTable``.

    Raises
    ------
    FileFormatError
        With the line number and what was expected when the file is not laid out as the
        sandbox's ODV spreadsheet.
    """
    path = os.fspath(path)
    header, labels = _read_header(path)
    data = [i for i, label in enumerate(labels) if label not in _META]
    at_time = labels.index(_TIME_LABEL)
    names = ["Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)", *(_csv_name(labels[i]) for i in data)]
    header.columns = (header.end_line, ", ".join(f'"{n}"' for n in names))
    metadata = _facts(path, header)
    columns, groups = _columns(path, header)
    infos = _sensor_infos(path, header, groups)
    keep = [at_time, *data]
    all_names = [f"c{i}" for i in range(len(labels))]
    types = {
        all_names[i]: _arrow_type(c.kind, c.kind in TIME_FIELDS)
        for i, c in zip(keep, columns, strict=True)
    }
    try:
        with pa.OSFile(path) as source:
            source.seek(header.offset)
            table = pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(column_names=all_names),
                parse_options=pa_csv.ParseOptions(delimiter="\t"),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types,
                    null_values=_NULLS,
                    strings_can_be_null=True,
                    include_columns=[all_names[i] for i in keep],
                ),
            )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FileFormatError(
            path,
            None,
            f"tab-separated rows of {len(labels)} fields below the column line "
            f"(line {header.end_line}): times, numbers, ONC flags",
            found=str(exc)[:300],
        ) from None
    if table.num_rows == 0:
        arrays = [convert_field(c.kind, []) for c in columns]
    else:
        arrays = [_to_numpy(table.column(i), c.kind) for i, c in enumerate(columns)]
    _check_flags(path, header, columns, arrays, infos, groups)
    if np.isnat(arrays[0]).any():
        raise FileFormatError(path, None, f"a time in every row of column '{_TIME_LABEL}'")
    _check_row_count(path, header, len(arrays[0]))
    by_name = {c.name: a for c, a in zip(columns, arrays, strict=True)}
    sensors = [
        SensorData(info, {c.kind: by_name[c.name] for c in group})
        for info, group in zip(infos, groups, strict=True)
    ]
    changes = _period_changes(path, header, metadata)
    return FileTable(path, "txt", arrays[0], sensors, metadata, changes)
