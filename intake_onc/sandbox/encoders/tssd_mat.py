"""TSSD MAT files (v5, uncompressed): struct ``metadata`` and struct ``data`` of column vectors.

``metadata.resamplePeriod`` is NaN when not resampled; in ``data`` flags are int8, counts int64 and
times MATLAB datenums (NaN when missing). The 116-byte text header is fixed, so the bytes are
deterministic.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import scipy.io

from intake_onc._core.time import datetime64_to_datenum, parse_date
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.reference.rules import ResampledRecords
from intake_onc.sandbox.synthetic.scalar import ScalarRecords

__all__ = ["datenums", "mat_bytes"]

_MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: intake-onc sandbox (TSSD)"


def datenums(times: np.ndarray) -> np.ndarray:
    """MATLAB datenums of ``times`` (NaN where NaT)."""
    times = np.asarray(times, dtype="datetime64[ns]")
    out = datetime64_to_datenum(times)
    out[np.isnat(times)] = np.nan
    return out


def mat_bytes(facts: Mapping[str, object], rows: ScalarRecords | ResampledRecords) -> bytes:
    """A TSSD MAT (v5) file of ``rows``: structs ``metadata`` (the camelCase ``facts``) and ``data``."""
    sensors = [
        s for s in OBSERVATORY.device(str(facts["deviceCode"])).sensors if s.code in rows.sensors
    ]
    meta: dict[str, object] = {k: v for k, v in facts.items() if v is not None}
    changes = meta.pop("samplePeriods")
    meta["samplePeriodStarts"] = datenums(
        np.array([parse_date(c["dateFrom"]).value for c in changes], dtype="datetime64[ns]")
    )
    meta["samplePeriodValues"] = np.array([c["samplePeriod"] for c in changes], dtype="float64")
    meta["resamplePeriod"] = float(facts["resamplePeriod"]) if facts["resamplePeriod"] else np.nan
    meta["totalSamples"] = len(rows)
    meta["sensorCodes"] = np.array([s.code for s in sensors], dtype=object)
    meta["sensorNames"] = np.array([s.name for s in sensors], dtype=object)
    meta["units"] = np.array([s.unit for s in sensors], dtype=object)
    meta["propertyCodes"] = np.array([s.property_code for s in sensors], dtype=object)

    def col(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape(-1, 1)

    data: dict[str, np.ndarray] = {"time": col(datenums(rows.times))}
    for code in rows.sensors:
        if isinstance(rows, ScalarRecords):
            data[code] = col(rows.values[code])
            data[f"{code}_qaqcFlags"] = col(rows.flags[code].astype("int8"))
            continue
        var = rows.variables
        mapping = [
            ("", code, None),
            ("_qaqcFlags", f"{code}_qc", "int8"),
            ("_count", f"{code}_count", "int64"),
            ("_std", f"{code}_std", None),
            ("_min", f"{code}_min", None),
            ("_minTime", f"{code}_min_time", "time"),
            ("_minQaqcFlags", f"{code}_min_qc", "int8"),
            ("_max", f"{code}_max", None),
            ("_maxTime", f"{code}_max_time", "time"),
            ("_maxQaqcFlags", f"{code}_max_qc", "int8"),
        ]
        for suffix, name, kind in mapping:
            if name not in var:
                continue
            arr = var[name]
            arr = datenums(arr) if kind == "time" else arr.astype(kind) if kind else arr
            data[code + suffix] = col(arr)
    buffer = io.BytesIO()
    scipy.io.savemat(
        buffer, {"metadata": meta, "data": data}, format="5", do_compression=False, oned_as="column"
    )
    out = bytearray(buffer.getvalue())
    out[:116] = _MAT_HEADER.ljust(116)  # savemat writes the creation time: keep bytes deterministic
    return bytes(out)
