"""TSSD MAT v5 files (``scipy.io.savemat``; docs/architecture.md "TSSD file layouts").

Two structs: ``metadata`` (the camelCase header facts plus cell arrays ``sensorCodes``,
``sensorNames``, ``units``, ``propertyCodes``) and ``data`` with ``time`` (MATLAB datenums) and per
sensor ``<code>``, ``<code>_qaqcFlags`` and, for resampled files, ``<code>_count``, ``_std``,
``_min``, ``_minTime``, ``_minQaqcFlags``, ``_max``, ``_maxTime``, ``_maxQaqcFlags``.
Datenums carry about 1 µs of precision; times are rounded to the millisecond ONC works in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from intake_onc._core.errors import FileFormatError
from intake_onc._core.matfile import load_mat5
from intake_onc._core.time import datenums_to_times

from ._tssd_facts import checked_facts_from_camel, sample_period_changes_from_camel
from ._tssd_layout import (
    FileTable,
    InvalidFlagError,
    SensorData,
    SensorInfo,
    convert_field,
    flag_error,
)

__all__ = ["read_mat_table"]

#: ``data`` field suffix -> field.
_SUFFIXES = {
    "": "value",
    "_qaqcFlags": "qc",
    "_count": "count",
    "_std": "std",
    "_min": "min",
    "_minTime": "min_time",
    "_minQaqcFlags": "min_qc",
    "_max": "max",
    "_maxTime": "max_time",
    "_maxQaqcFlags": "max_qc",
}


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray):
        return [str(v) if not isinstance(v, np.ndarray) else "" for v in value.reshape(-1)]
    if isinstance(value, (list, tuple)):
        return [str(v) if not isinstance(v, np.ndarray) else "" for v in value]
    return [str(value)]


def _scalar(value: object) -> object:
    """MAT metadata values come back as numpy scalars/arrays: make them plain."""
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        if value.size == 1:
            return value.reshape(-1)[0].item()
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _load(path: str) -> dict:
    # structure checked before scipy reads it: a damaged file is a FileFormatError, never a crash
    return load_mat5(path)


def _codes(meta: Mapping, data: Mapping) -> list[str]:
    codes = _strings(meta.get("sensorCodes"))
    if codes:
        return codes
    # no sensor list: every field that is not a known companion of another is a sensor
    names = [k for k in data if k != "time"]
    return [
        k for k in names if not any(k.endswith(s) and k[: -len(s)] in names for s in _SUFFIXES if s)
    ]


def read_mat_table(path: str | os.PathLike[str]) -> FileTable:
    """Read one TSSD MAT v5 file into a ``FileTable``.

    Raises
    ------
    FileFormatError
        When the file is no MAT v5 file or lacks the ``data`` struct with ``time``.
    """
    path = os.fspath(path)
    content = _load(path)
    data = content.get("data")
    if not isinstance(data, Mapping) or "time" not in data:
        raise FileFormatError(
            path,
            None,
            "a 'data' struct with a 'time' field (MATLAB datenums) and one field per sensor",
            found=", ".join(k for k in content if not k.startswith("__")) or "no variables",
        )
    raw_meta = content.get("metadata")
    raw_meta = raw_meta if isinstance(raw_meta, Mapping) else {}
    meta = {k: _scalar(v) for k, v in raw_meta.items()}
    metadata = checked_facts_from_camel(path, meta)
    times = datenums_to_times(data["time"])
    if np.isnat(times).any():
        raise FileFormatError(path, None, "a finite datenum in every data.time entry")
    codes = _codes(raw_meta, data)
    names = _strings(raw_meta.get("sensorNames"))
    units = _strings(raw_meta.get("units"))
    props = _strings(raw_meta.get("propertyCodes"))
    sensors = []
    for k, code in enumerate(codes):
        if not any(code + suffix in data for suffix in _SUFFIXES):
            raise FileFormatError(
                path,
                None,
                f"data.{code} (or data.{code}_min, ...) for sensor {code!r} of metadata.sensorCodes",
                found=", ".join(data),
            )
        info = SensorInfo(
            code,
            names[k] if k < len(names) and names[k] else code,
            units[k] if k < len(units) else "",
            props[k] if k < len(props) and props[k] else None,
        )
        fields = {}
        for suffix, key in _SUFFIXES.items():
            if code + suffix not in data:
                continue
            values = data[code + suffix]
            try:
                array = (
                    datenums_to_times(values)
                    if key in ("min_time", "max_time")
                    else convert_field(key, np.atleast_1d(np.asarray(values, dtype="float64")))
                )
            except InvalidFlagError as exc:
                raise flag_error(
                    path, code, f"data.{code + suffix}", exc.index + 1, exc.value
                ) from None
            if len(array) != len(times):
                raise FileFormatError(
                    path,
                    None,
                    f"data.{code + suffix} with one entry per time ({len(times)})",
                    found=str(len(array)),
                )
            fields[key] = array
        sensors.append(SensorData(info, fields))
    changes = sample_period_changes_from_camel(raw_meta)
    return FileTable(path, "mat", times, sensors, metadata, changes)
