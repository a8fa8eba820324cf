"""TSSD JSON files, OM (arrays) and ONC (objects) encodings (docs/architecture.md).

``{"metadata": {...}, "qaqcFlagInfo": {...}, "sensorData": [{sensorCode, sensorName,
unitOfMeasure, propertyCode, data}, ...]}``; ``data`` is ``{"sampleTimes": [...], "values":
[...], "qaqcFlags": [...], ...}`` (OM) or ``[{"sampleTime", "value", "qaqcFlag", ...}, ...]``
(ONC). Values may be bare ``NaN``/``Infinity`` (not strict JSON; Python's ``json`` reads them).
Sensors may differ in their times: the table then holds the union, with "no data" elsewhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import numpy as np

from intake_onc._core.errors import FileFormatError

from ._tssd_facts import checked_facts_from_camel, sample_period_changes_from_camel
from ._tssd_layout import (
    FileTable,
    InvalidFlagError,
    SensorData,
    SensorInfo,
    convert_field,
    empty_field,
    flag_error,
    parse_times,
)

__all__ = ["read_json_table", "parse_times"]

#: JSON key (OM plural and ONC singular spellings) -> field; "time" is the time axis.
_DATA_KEYS = {
    "sampleTimes": "time",
    "sampleTime": "time",
    "values": "value",
    "value": "value",
    "qaqcFlags": "qc",
    "qaqcFlag": "qc",
    "counts": "count",
    "count": "count",
    "stdDevs": "std",
    "stdDev": "std",
    "minValues": "min",
    "minValue": "min",
    "minTimes": "min_time",
    "minTime": "min_time",
    "minQaqcFlags": "min_qc",
    "minQaqcFlag": "min_qc",
    "maxValues": "max",
    "maxValue": "max",
    "maxTimes": "max_time",
    "maxTime": "max_time",
    "maxQaqcFlags": "max_qc",
    "maxQaqcFlag": "max_qc",
}
#: field -> OM key of a flag field (the ONC encoding drops the trailing "s").
_FLAG_KEYS = {"qc": "qaqcFlags", "min_qc": "minQaqcFlags", "max_qc": "maxQaqcFlags"}


def _sensor_fields(path: str, code: str, data: object) -> dict[str, object]:
    if isinstance(data, Mapping):  # OM: arrays
        return {_DATA_KEYS[k]: v for k, v in data.items() if k in _DATA_KEYS}
    if isinstance(data, list) and not data:
        return {"time": []}
    if isinstance(data, list):  # ONC: objects
        if not all(isinstance(item, Mapping) for item in data):
            raise FileFormatError(path, None, f"sensor {code!r}: 'data' items that are objects")
        keys = {k for item in data for k in item}
        return {_DATA_KEYS[k]: [item.get(k) for item in data] for k in keys if k in _DATA_KEYS}
    raise FileFormatError(
        path,
        None,
        f"sensor {code!r}: 'data' as an object of arrays (OM) or a list of objects (ONC)",
        found=type(data).__name__,
    )


def _sensor(path: str, item: object, number: int) -> tuple[np.ndarray, SensorData]:
    if not isinstance(item, Mapping) or "data" not in item:
        raise FileFormatError(
            path,
            None,
            f"sensorData[{number}] as an object with 'sensorCode' and 'data'",
            found=json.dumps(item)[:80],
        )
    code = str(item.get("sensorCode") or "") or None
    name = str(item.get("sensorName") or code or f"sensor {number + 1}")
    info = SensorInfo(
        code, name, str(item.get("unitOfMeasure") or ""), item.get("propertyCode") or None
    )
    raw = _sensor_fields(path, code or name, item["data"])
    if "time" not in raw:
        raise FileFormatError(path, None, f"sensor {code or name!r}: 'sampleTimes' in 'data'")
    try:
        fields = {}
        for key, values in raw.items():
            fields[key] = convert_field(key, values)
    except InvalidFlagError as exc:
        column = _FLAG_KEYS[key] if isinstance(item["data"], Mapping) else _FLAG_KEYS[key][:-1]
        raise flag_error(
            path, code or name, f"sensorData[{number}].data {column!r}", exc.index + 1, exc.value
        ) from None
    except (ValueError, TypeError) as exc:
        raise FileFormatError(
            path, None, f"sensor {code or name!r}: numbers and ISO 8601 times", found=str(exc)
        ) from None
    times = fields.pop("time")
    for key, array in fields.items():
        if len(array) != len(times):
            raise FileFormatError(
                path,
                None,
                f"sensor {code or name!r}: one {key} per sample time ({len(times)})",
                found=f"{len(array)}",
            )
    return times, SensorData(info, fields)


def align(times: list[np.ndarray], sensors: list[SensorData]) -> np.ndarray:
    """One time axis for sensors sampled at different times (their union, sorted, unique).

    Each sensor's arrays are spread onto the union in place, "no data" where it has no sample.
    """
    if not times:
        return np.array([], dtype="datetime64[ns]")
    if all(len(t) == len(times[0]) and np.array_equal(t, times[0]) for t in times):
        return times[0]
    union = np.unique(np.concatenate(times))
    for t, sensor in zip(times, sensors, strict=True):
        where = np.searchsorted(union, t)
        for key, array in sensor.fields.items():
            spread = empty_field(key, array, len(union))
            spread[where] = array
            sensor.fields[key] = spread
    return union


def read_json_table(path: str | os.PathLike[str]) -> FileTable:
    """Read one TSSD JSON file (OM or ONC encoding) into a ``FileTable``.

    Raises
    ------
    FileFormatError
        When the file is not JSON (with the line of the syntax error) or lacks the TSSD layout.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            doc = json.load(f)  # accepts bare NaN / Infinity
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            path, exc.lineno, f"JSON (column {exc.colno}: {exc.msg})", found=exc.doc[exc.pos :][:40]
        ) from None
    except UnicodeDecodeError as exc:
        raise FileFormatError(path, None, "UTF-8 JSON text", found=str(exc)) from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("sensorData"), list):
        raise FileFormatError(
            path,
            None,
            "a JSON object with 'metadata' and a 'sensorData' list (a TSSD JSON file)",
            found=type(doc).__name__ if not isinstance(doc, Mapping) else ", ".join(doc)[:80],
        )
    meta = doc.get("metadata") or {}
    if not isinstance(meta, Mapping):
        raise FileFormatError(path, None, "'metadata' as an object", found=type(meta).__name__)
    metadata = checked_facts_from_camel(path, meta)
    if "citation" not in metadata and doc.get("citations"):
        cites = doc["citations"]
        cites = cites if isinstance(cites, list) else [cites]
        texts = [c.get("citation", "") if isinstance(c, Mapping) else str(c) for c in cites]
        metadata["citation"] = "\n".join(t for t in texts if t)
    pairs = [_sensor(path, item, k) for k, item in enumerate(doc["sensorData"])]
    sensors = [s for _, s in pairs]
    times = align([t for t, _ in pairs], sensors)
    if np.isnat(times).any():
        raise FileFormatError(path, None, "a time for every sample", found="null/NaN")
    changes = sample_period_changes_from_camel(meta)
    return FileTable(path, "json", times, sensors, metadata, changes)
