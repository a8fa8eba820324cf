"""TSSD CSV files (docs/architecture.md "TSSD file layouts", onc-api.md §6).

The header (``## BEGIN HEADER`` ... ``## END HEADER``) is read line by line in Python -- it is
short -- by :mod:`._tssd_csv_header`, and the data rows here, straight from the byte offset
after it by ``pyarrow.csv`` with typed columns (times as UTC timestamps, values float64, flags
int8, counts int32; pyarrow infers the times' type, which is faster, and the file is read again
with it given where that guess is not a time of the expected zone). When pyarrow refuses the
rows, a slow scan finds the first bad line so that the error can name it.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from intake_onc._core.errors import FileFormatError
from intake_onc._core.flags import ALLOWED_TEXT, FLAGS, invalid_flags

from ._tssd_csv_header import (
    _MAX_HEADER_LINE,
    _NULLS,
    _TIME_TEXT,
    _Column,
    _columns,
    _facts,
    _Header,
    _period_changes,
    _read_header,
    _sensor_infos,
)
from ._tssd_layout import (
    COUNT_FIELDS,
    MISSING_FLAG,
    QC_FIELDS,
    TIME_FIELDS,
    FileTable,
    SensorData,
    SensorInfo,
    convert_field,
    flag_error,
)

__all__ = ["read_csv_table"]


# --------------------------------------------------------------------------- data rows


def _arrow_type(kind: str, utc: bool) -> pa.DataType:
    if kind == "time" or kind in TIME_FIELDS:
        return pa.timestamp("ns", tz="UTC") if utc else pa.timestamp("ns")
    if kind in QC_FIELDS:
        return pa.int8()
    if kind in COUNT_FIELDS:
        return pa.int32()
    return pa.float64()


def _first_data_line(path: str, offset: int) -> str | None:
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                return text
            if f.tell() - offset > _MAX_HEADER_LINE:
                break
    return None


def _read_rows(
    path: str, header: _Header, columns: list[_Column], sensors: dict[str, str]
) -> pa.Table | None:
    first = _first_data_line(path, header.offset)
    if first is None:
        return None
    utc = first.split(",", 1)[0].strip().endswith(("Z", "z")) or "+" in first.split(",", 1)[0]
    names = [f"c{i}" for i in range(len(columns))]
    types = {n: _arrow_type(c.kind, utc) for n, c in zip(names, columns, strict=True)}
    # pyarrow parses ISO 8601 times faster when it infers their type than when it is given it
    # (a million rows of 4 sensors, pyarrow 26: 80-87 ms in all against 110-115 ms; pandas'
    # pyarrow engine, the benchmark's baseline, infers them too). So the times are read untyped
    # first and kept where pyarrow found the expected kind of time; any other outcome (an odd
    # or bad file) reads the file again with every type given, and errors come from that read.
    untyped = {n: t for n, t in types.items() if not pa.types.is_timestamp(t)}
    try:
        table = _with_time_types(_arrow_read(path, header, names, untyped), types)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        table = None
    if table is not None:
        return table
    try:
        return _arrow_read(path, header, names, types)
    except pa.ArrowInvalid as exc:
        _raise_bad_row(path, header, columns, exc, sensors)
        raise  # pragma: no cover - _raise_bad_row always raises


def _arrow_read(path: str, header: _Header, names: list[str], types: dict) -> pa.Table:
    with pa.OSFile(path) as source:
        source.seek(header.offset)
        return pa_csv.read_csv(
            source,
            read_options=pa_csv.ReadOptions(column_names=names),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, null_values=_NULLS, strings_can_be_null=True
            ),
        )


def _with_time_types(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table | None:
    """``table`` with its inferred time columns cast to ``types`` (to ns), or None where one
    was not inferred as a time of the same time zone (then the file is read typed)."""
    for name, want in types.items():
        got = table.schema.field(name).type
        if got == want or not pa.types.is_timestamp(want):
            continue
        if not pa.types.is_timestamp(got) or got.tz != want.tz:
            return None
        table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(want))
    return table


def _field_ok(text: str, kind: str) -> bool:
    text = text.strip()
    if text in _NULLS:
        return True
    if kind == "time" or kind in TIME_FIELDS:
        return bool(_TIME_TEXT.match(text))
    try:
        number = float(text) if kind not in QC_FIELDS | COUNT_FIELDS else int(text)
    except ValueError:
        return False
    return not (kind in QC_FIELDS and number not in FLAGS)


def _raise_bad_row(
    path: str, header: _Header, columns: list[_Column], exc: Exception, sensors: dict[str, str]
) -> None:
    """Find the first row pyarrow could not read and raise a FileFormatError naming it."""
    layout = ", ".join(c.name for c in columns)
    with open(path, "rb") as f:
        f.seek(header.offset)
        row = 0
        for number, raw in enumerate(f, start=header.end_line + 1):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not text.strip():
                continue
            row += 1
            fields = text.split(",")
            if len(fields) != len(columns):
                raise FileFormatError(
                    path,
                    number,
                    f"{len(columns)} comma-separated fields ({layout})",
                    found=f"{len(fields)} fields: {text}",
                ) from None
            for value, column in zip(fields, columns, strict=True):
                if not _field_ok(value, column.kind) and column.kind in QC_FIELDS:
                    shown = value.strip()
                    sensor = sensors.get(column.name, column.base)
                    raise flag_error(
                        path, sensor, f"column {column.name!r}", row, shown, number
                    ) from None
                if not _field_ok(value, column.kind):
                    what = (
                        "an ISO 8601 UTC time"
                        if column.kind == "time" or column.kind in TIME_FIELDS
                        else ALLOWED_TEXT
                        if column.kind in QC_FIELDS
                        else "an integer"
                        if column.kind in COUNT_FIELDS
                        else "a number or NaN"
                    )
                    raise FileFormatError(
                        path, number, f"{what} in column {column.name!r}", found=value
                    ) from None
    raise FileFormatError(path, None, "data rows pyarrow can read", found=str(exc)) from exc


def _line_of_row(path: str, header: _Header, row: int) -> int:
    """File line number of data row ``row`` (0-based; blank lines are not rows)."""
    with open(path, "rb") as f:
        f.seek(header.offset)
        for number, raw in enumerate(f, start=header.end_line + 1):
            if raw.strip():
                if row == 0:
                    return number
                row -= 1
    return header.end_line + 1  # pragma: no cover - the row exists


def _to_numpy(column: pa.ChunkedArray, kind: str) -> np.ndarray:
    if column.null_count:
        if kind in QC_FIELDS:
            column = pc.fill_null(column, MISSING_FLAG)
        elif kind in COUNT_FIELDS:
            column = column.cast(pa.float64())
    array = column.to_numpy()
    if array.dtype.kind == "M" and array.dtype != np.dtype("datetime64[ns]"):
        array = array.astype("datetime64[ns]")
    return array


def _check_flags(
    path: str,
    header: _Header,
    columns: list[_Column],
    arrays: list[np.ndarray],
    infos: list[SensorInfo],
    groups: list[list[_Column]],
) -> None:
    """Refuse the first flag that is not ONC's (-5, 5, ...: int8 values pyarrow accepted)."""
    first: tuple[int, _Column] | None = None
    for column, array in zip(columns, arrays, strict=True):
        if column.kind in QC_FIELDS:
            bad = np.flatnonzero(invalid_flags(array))
            if bad.size and (first is None or bad[0] < first[0]):
                first = (int(bad[0]), column)
    if first is None:
        return
    row, column = first
    sensor = next(i.code or i.name for i, g in zip(infos, groups, strict=True) if column in g)
    value = arrays[columns.index(column)][row].item()
    line = _line_of_row(path, header, row)
    raise flag_error(path, sensor, f"column {column.name!r}", row + 1, value, line)


# --------------------------------------------------------------------------- public


def read_csv_table(path: str | os.PathLike[str]) -> FileTable:
    """Read one TSSD CSV file into a :class:`~intake_onc.scalar._tssd_layout.FileTable`.

    Raises
    ------
    FileFormatError
        With the line number and what was expected when the file is not laid out as a TSSD CSV.
    """
    path = os.fspath(path)
    header = _read_header(path)
    metadata = _facts(path, header)
    columns, groups = _columns(path, header)
    infos = _sensor_infos(path, header, groups)
    sensor_of = {
        c.name: info.code or info.name for info, g in zip(infos, groups, strict=True) for c in g
    }
    table = _read_rows(path, header, columns, sensor_of)
    if table is None:
        arrays = [convert_field(c.kind, []) for c in columns]
    else:
        arrays = [_to_numpy(table.column(i), c.kind) for i, c in enumerate(columns)]
    _check_flags(path, header, columns, arrays, infos, groups)
    by_name = {c.name: a for c, a in zip(columns, arrays, strict=True)}
    sensors = [
        SensorData(info, {c.kind: by_name[c.name] for c in group})
        for info, group in zip(infos, groups, strict=True)
    ]
    missing = np.flatnonzero(np.isnat(arrays[0]))
    if missing.size:
        raise FileFormatError(
            path,
            _line_of_row(path, header, int(missing[0])),
            f"a time in column {columns[0].name!r}",
            found="NaN",
        )
    _check_row_count(path, header, len(arrays[0]))
    changes = _period_changes(path, header, metadata)
    return FileTable(path, "csv", arrays[0], sensors, metadata, changes)


def _check_row_count(path: str, header: _Header, rows: int) -> None:
    """``#TOTSAMPLE`` is the number of data rows of the file (ONC's files and the reference
    fragments agree): fewer rows means a file cut short at a line end, which would otherwise read
    as a shorter time series without a word."""
    entry = header.facts.get("TOTSAMPLE")
    if entry is None:
        return
    line, value = entry[0], entry[1].strip()
    if not value.isdigit():
        raise FileFormatError(path, line, "a whole number of samples after #TOTSAMPLE", found=value)
    if int(value) != rows:
        raise FileFormatError(
            path,
            line,
            f"{int(value)} data rows (#TOTSAMPLE)",
            found=f"{rows} rows",
            hint="the file is truncated or damaged: download it again",
        )
