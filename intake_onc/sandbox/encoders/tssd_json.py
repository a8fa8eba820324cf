"""TSSD JSON files: ``metadata``, ``qaqcFlagInfo`` and ``sensorData`` (OM arrays or ONC objects).

``json.dumps`` with bare ``NaN``; missing times are ``null``. OM data keys: ``sampleTimes, values,
qaqcFlags, counts, stdDevs, minValues, minTimes, minQaqcFlags, maxValues, maxTimes, maxQaqcFlags``
(those that apply); ONC objects use the singular keys. ``metadata.resamplePeriod`` is seconds or
null. :func:`write_json` streams the very bytes of :func:`json_bytes` to a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import BinaryIO

from intake_onc.sandbox.encoders.scalar_pages import arrays_to_objects, sensor_arrays
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.reference.rules import QAQC_FLAG_INFO, ResampledRecords
from intake_onc.sandbox.synthetic.scalar import ScalarRecords

__all__ = ["json_bytes", "write_json"]


def json_bytes(facts: Mapping[str, object], rows: ScalarRecords | ResampledRecords) -> bytes:
    """A TSSD JSON file of ``rows`` with the request's camelCase ``facts`` as ``metadata``."""
    sensors = {s.code: s for s in OBSERVATORY.device(str(facts["deviceCode"])).sensors}
    items = []
    for code in rows.sensors:
        s = sensors[code]
        data = sensor_arrays(rows, code)
        items.append(
            {
                "sensorCode": s.code,
                "sensorName": s.name,
                "unitOfMeasure": s.unit,
                "propertyCode": s.property_code,
                "data": data if facts["encoding"] == "OM" else arrays_to_objects(data),
            }
        )
    doc = {
        "metadata": {**facts, "totalSamples": len(rows)},
        "qaqcFlagInfo": QAQC_FLAG_INFO,
        "sensorData": items,
    }
    return json.dumps(doc, allow_nan=True).encode("utf-8")


def write_json(
    facts: Mapping[str, object], rows: ScalarRecords | ResampledRecords, out: BinaryIO, step: int
) -> None:
    """:func:`json_bytes` written to the binary file ``out`` ``step`` rows at a time (the same
    bytes: the document is dumped with a marker per data array, then each marker is replaced
    by its array, encoded in slices)."""
    sensors = {s.code: s for s in OBSERVATORY.device(str(facts["deviceCode"])).sensors}
    om = facts["encoding"] == "OM"
    pieces: list[tuple[str, str | None]] = []  # (marker, sensor code), key None = objects
    items = []
    for code in rows.sensors:
        s = sensors[code]
        if om:
            keys = list(sensor_arrays(rows.take(slice(0, 0)), code))
            data: object = {}
            for key in keys:
                marker = f"@@intake-onc-tssd-{len(pieces)}@@"
                pieces.append((marker, code, key))
                data[key] = marker
        else:
            marker = f"@@intake-onc-tssd-{len(pieces)}@@"
            pieces.append((marker, code, None))
            data = marker
        items.append(
            {
                "sensorCode": s.code,
                "sensorName": s.name,
                "unitOfMeasure": s.unit,
                "propertyCode": s.property_code,
                "data": data,
            }
        )
    doc = {
        "metadata": {**facts, "totalSamples": len(rows)},
        "qaqcFlagInfo": QAQC_FLAG_INFO,
        "sensorData": items,
    }
    text = json.dumps(doc, allow_nan=True)
    position = 0
    for marker, code, key in pieces:
        quoted = f'"{marker}"'
        at = text.index(quoted, position)
        out.write(text[position:at].encode("utf-8"))
        out.write(b"[")
        first = True
        for lo in range(0, len(rows), step):
            part = rows.take(slice(lo, lo + step))
            arrays = sensor_arrays(part, code)
            values = arrays[key] if key is not None else arrays_to_objects(arrays)
            if not values:
                continue
            chunk = json.dumps(values, allow_nan=True)[1:-1]
            out.write(((", " if not first else "") + chunk).encode("utf-8"))
            first = False
        out.write(b"]")
        position = at + len(quoted)
    out.write(text[position:].encode("utf-8"))
