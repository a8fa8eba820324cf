"""Read ONC time-series scalar data (TSSD) files -- CSV, JSON, MAT, netCDF, ODV text -- into
one ``xr.Dataset``.

The Dataset follows semantics.md ("Scalar dataset layout", "QAQC flags"): a sorted, unique
``time`` coordinate; one variable per sensor named by its ``sensorCode``; an int8 ``X_qc`` flag
companion with CF ``flag_values``/``flag_meanings``; ``X_count``, ``X_std``, ``X_min``, ... for
resampled files; the header facts as attrs; ``latitude``/``longitude``/``depth`` coordinates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from intake_onc._core.errors import FileFormatError
from intake_onc._core.paths import expand_paths

from ._tssd_csv import read_csv_table
from ._tssd_json import read_json_table
from ._tssd_layout import FileTable, SensorData, build_dataset, empty_field
from ._tssd_mat import read_mat_table
from ._tssd_nc import read_nc_table
from ._tssd_odv import is_odv, read_odv_table

__all__ = ["read_tssd", "read_tssd_table"]

PathLike = str | os.PathLike[str]

_READERS = {
    "csv": read_csv_table,
    "json": read_json_table,
    "mat": read_mat_table,
    "nc": read_nc_table,
    "txt": read_odv_table,
}
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".json": "json", ".mat": "mat", ".nc": "nc"}
#: facts that must agree between the files of one Dataset.
_MUST_AGREE = (
    "device_code",
    "location_code",
    "quality_control",
    "data_gaps",
    "resample_type",
    "resample_period",
)


def _sniff(path: str) -> str:
    ext = Path(path).suffix.lower()
    if ext in _EXTENSIONS and ext != ".txt":
        return _EXTENSIONS[ext]
    with open(path, "rb") as f:
        start = f.read(128).lstrip(b"\xef\xbb\xbf \t\r\n")
    if ext == ".txt":  # a CSV saved as .txt, or ONC's TSSD txt (ODV spreadsheet)
        return "txt" if is_odv(start) else "csv"
    if is_odv(start):
        return "txt"
    if start.upper().startswith(b"## BEGIN HEADER"):
        return "csv"
    if start.startswith(b"{"):
        return "json"
    if start.startswith(b"MATLAB"):
        return "mat"
    if start.startswith((b"\x89HDF", b"CDF")):
        return "nc"
    raise FileFormatError(
        path,
        None,
        "a TSSD file: CSV starting with '## BEGIN HEADER', JSON, MAT v5, netCDF or ODV text",
        found=start[:30].decode("latin-1"),
    )


def read_tssd_table(path: PathLike) -> FileTable:
    """Read one TSSD file of any encoding into a format-independent ``FileTable``."""
    path = os.fspath(path)
    return _READERS[_sniff(path)](path)


def _expand(path_or_paths: PathLike | Iterable[PathLike]) -> list[str]:
    return expand_paths(
        path_or_paths,
        argument="path_or_paths",
        suffixes=(".csv", ".json", ".mat", ".nc"),
        folders=False,
        what="TSSD files",
    )


def _check_agree(tables: list[FileTable]) -> None:
    for key in _MUST_AGREE:
        seen = [(t.metadata.get(key), t.path) for t in tables if t.metadata.get(key) is not None]
        for value, path in seen[1:]:
            if value != seen[0][0]:
                raise ValueError(
                    f"path_or_paths: the files disagree on {key}: {seen[0][0]!r} in "
                    f"{seen[0][1]!r}, {value!r} in {path!r}; read them into separate Datasets"
                )


def _sample_periods(tables: list[FileTable], first: np.datetime64) -> dict[str, object]:
    """``sample_period`` and, when it changes between files, its starts and values."""
    # A file that lists its rating changes (#SAMPLEPERIODCHANGE, samplePeriods) is exact;
    # otherwise its one sample period is taken to hold from its first row on.
    rated = [change for t in tables for change in t.period_changes]
    rated += [
        (t.times[0], t.metadata["sample_period"])
        for t in tables
        if len(t.times) and not t.period_changes and t.metadata.get("sample_period") is not None
    ]
    rated.sort(key=lambda pair: pair[0])
    if not rated:
        return {}
    starts: list[float] = []
    values: list[float] = []
    for start, period in rated:
        if not values or period != values[-1]:
            seconds = (start - np.datetime64(0, "ns")) / np.timedelta64(1, "s")
            starts.append(float(seconds))
            values.append(float(period))
    if len(values) == 1:
        return {"sample_period": values[0]}
    starts[0] = min(starts[0], float((first - np.datetime64(0, "ns")) / np.timedelta64(1, "s")))
    return {
        "sample_period": values[0],
        "sample_period_starts": np.array(starts, dtype="float64"),
        "sample_period_values": np.array(values, dtype="float64"),
    }


def _merged_metadata(tables: list[FileTable], times: np.ndarray) -> dict[str, object]:
    metadata = dict(tables[0].metadata)
    for table in tables[1:]:
        for key, value in table.metadata.items():
            metadata.setdefault(key, value)
    for key, pick in (("date_from", min), ("date_to", max), ("creation_date", max)):
        values = [t.metadata[key] for t in tables if t.metadata.get(key) is not None]
        if values:  # ISO strings of one fixed format sort as times do
            metadata[key] = pick(values)
    metadata.pop("sample_period", None)
    if len(times):
        metadata.update(_sample_periods(tables, times[0]))
    elif tables[0].metadata.get("sample_period") is not None:
        metadata["sample_period"] = tables[0].metadata["sample_period"]
    formats = sorted({t.file_format for t in tables})
    metadata["file_format"] = ",".join(formats)
    metadata["source_files"] = "\n".join(os.path.basename(t.path) for t in tables)
    return metadata


def _concatenate(tables: list[FileTable]) -> tuple[np.ndarray, list[SensorData]]:
    """Every table's rows, in table order; sensors missing from a file get "no data"."""
    if len(tables) == 1:
        return tables[0].times, tables[0].sensors
    first: dict[str, SensorData] = {}  # var -> its first sensor, in order of appearance
    likes: dict[str, dict[str, np.ndarray]] = {}  # var -> field -> its first array (dtype)
    by_var: list[dict[str, SensorData]] = []  # per table: var -> the table's first such sensor
    for table in tables:
        mine: dict[str, SensorData] = {}
        for sensor in table.sensors:
            var = sensor.var
            first.setdefault(var, sensor)
            mine.setdefault(var, sensor)
            field_likes = likes.setdefault(var, {})
            for key, array in sensor.fields.items():
                field_likes.setdefault(key, array)
        by_var.append(mine)
    times = np.concatenate([t.times for t in tables])
    sensors = []
    for var, sensor0 in first.items():
        fields = {}
        for key, like in likes[var].items():
            parts = []
            for table, mine in zip(tables, by_var, strict=True):
                sensor = mine.get(var)
                if sensor is not None and key in sensor.fields:
                    parts.append(sensor.fields[key])
                else:
                    parts.append(empty_field(key, like, len(table.times)))
            fields[key] = np.concatenate(parts)
        sensors.append(SensorData(sensor0.info, fields))
    return times, sensors


def sort_unique(times: np.ndarray, sensors: list[SensorData]) -> np.ndarray:
    """Sort rows by time and drop repeated times (the first row wins), in place."""
    ticks = times.view("int64")
    if ticks.size < 2 or bool((ticks[1:] > ticks[:-1]).all()):
        return times
    order = np.argsort(ticks, kind="stable")
    sorted_ticks = ticks[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = sorted_ticks[1:] != sorted_ticks[:-1]
    index = order[keep]
    for sensor in sensors:
        sensor.fields = {k: v[index] for k, v in sensor.fields.items()}
    return times[index]


def read_tssd(
    path_or_paths: PathLike | Iterable[PathLike],
    *,
    chunks: int | str | Mapping[str, object] | None = None,
) -> xr.Dataset:
    """Read ONC TSSD files (CSV, JSON OM/ONC, MAT v5, netCDF, ODV text) into one
    ``xr.Dataset``.

    Files of one device -- for instance the ``_2``, ``_3`` parts ONC splits at 1,000,000 rows --
    are joined along ``time``, sorted, with repeated times dropped (the first file's row wins).

    Parameters
    ----------
    path_or_paths
        A file, a glob pattern (``"data/SBECTD19p6813_*.csv"``) or a list of files. The encoding
        is taken from the extension (``.csv``, ``.json``, ``.mat``, ``.nc``; ``.txt`` is a CSV
        or, starting with ``//``, the ODV spreadsheet of TSSD ``txt``), else sniffed.
    chunks
        If given, the Dataset is dask-backed with these chunks (``ds.chunk(chunks)``), e.g.
        ``{"time": 100_000}``.

    Returns
    -------
    xarray.Dataset
        ``time`` coordinate (UTC, ``datetime64[ns]``); variables by sensorCode with ``long_name``,
        ``units``, ``onc_sensor_code``, ``onc_property_code``; ``X_qc`` int8 CF flags; attrs
        ``device_code``, ``location_code``, ``latitude``, ``longitude``, ``depth``,
        ``quality_control``, ``data_gaps``, ``resample_type``, ``resample_period`` (s),
        ``sample_period`` (s), ``citation``, ``source="file"``, ... (those the files state).

    Raises
    ------
    FileFormatError
        A file is malformed; the message names the file, the line and what was expected.
    FileNotFoundError, IsADirectoryError
        A path does not name a file.
    ValueError
        The files disagree on device, location, quality control, gaps or resampling.

    Examples
    --------
    >>> ds = read_tssd("BACAX_SBECTD19p6813_20240401T000000.000Z.csv")  # doctest: +SKIP
    >>> ds.temperature.where(ds.temperature_qc.cf == "good")  # doctest: +SKIP
    >>> read_tssd("data/*.csv", chunks={"time": 100_000})  # doctest: +SKIP
    """
    tables = [read_tssd_table(p) for p in _expand(path_or_paths)]
    if len(tables) > 1:
        _check_agree(tables)
        # earliest file first, so that a time repeated in a later file keeps the earlier row
        last = np.iinfo("int64").max
        tables.sort(key=lambda t: int(t.times[0].view("int64")) if len(t.times) else last)
    times, sensors = _concatenate(tables)
    times = sort_unique(times, sensors)
    ds = build_dataset(times, sensors, _merged_metadata(tables, times))
    if chunks is not None:
        ds = ds.chunk(chunks)
    return ds
