"""``scalardata`` pages: one window of a series, in ONC's array and object ``data`` forms.

:func:`scalar_page` cuts a page from :func:`~intake_onc.sandbox.reference.scalar_series.scalar_series` and
writes each sensor's ``data`` as ONC sends it: "array" form (:func:`sensor_arrays`:
``sampleTimes``, ``values``, ``qaqcFlags`` and, resampled, ``counts``, ``stdDevs``,
``minValues``...) or "object" form (:func:`arrays_to_objects`). The TSSD JSON files
(:mod:`~intake_onc.sandbox.products.tssd_files`) use the same forms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intake_onc.sandbox.reference.rules import ResampledRecords
from intake_onc.sandbox.reference.scalar_series import scalar_series
from intake_onc.sandbox.synthetic.scalar import ScalarRecords, known_device, sensor_items

__all__ = [
    "ScalarPage",
    "arrays_to_objects",
    "onc_time_strings",
    "scalar_page",
    "sensor_arrays",
    "sensor_metadata",
]


def onc_time_strings(times: np.ndarray) -> list[str | None]:
    """``yyyy-MM-ddTHH:mm:ss.SSSZ`` strings (ms truncated, like ``format_onc_date``); NaT -> None."""
    times = np.asarray(times, dtype="datetime64[ns]")
    text = np.datetime_as_string(times.astype("datetime64[ms]"), unit="ms")
    return [None if s == "NaT" else s + "Z" for s in text.tolist()]


def _floats(values: np.ndarray) -> list[float]:
    return np.asarray(values, dtype="float64").tolist()


def _ints(values: np.ndarray) -> list[int]:
    return np.asarray(values).astype("int64").tolist()


#: (array key, object key, Dataset suffix, kind) of each ``data`` field, in output order.
_DATA_FIELDS = (
    ("values", "value", "", "f"),
    ("qaqcFlags", "qaqcFlag", "_qc", "i"),
    ("counts", "count", "_count", "i"),
    ("stdDevs", "stdDev", "_std", "f"),
    ("minValues", "minValue", "_min", "f"),
    ("minTimes", "minTime", "_min_time", "t"),
    ("minQaqcFlags", "minQaqcFlag", "_min_qc", "i"),
    ("maxValues", "maxValue", "_max", "f"),
    ("maxTimes", "maxTime", "_max_time", "t"),
    ("maxQaqcFlags", "maxQaqcFlag", "_max_qc", "i"),
)


def sensor_arrays(rows: ScalarRecords | ResampledRecords, sensor: str) -> dict[str, list]:
    """ONC "array" ``data`` of one sensor: ``sampleTimes`` plus the fields the rows have.

    Raw rows: ``values``, ``qaqcFlags``. Resampled: ``values``, ``qaqcFlags``, ``counts``,
    ``stdDevs`` (average, minMaxAvg) and ``minValues``, ``minTimes``, ``minQaqcFlags``,
    ``maxValues``, ``maxTimes``, ``maxQaqcFlags`` (+ ``counts``) for minMax(Avg).
    """
    out: dict[str, list] = {"sampleTimes": onc_time_strings(rows.times)}
    if isinstance(rows, ScalarRecords):
        out["values"] = _floats(rows.values[sensor])
        out["qaqcFlags"] = _ints(rows.flags[sensor])
        return out
    for key, _, suffix, kind in _DATA_FIELDS:
        name = sensor + suffix
        if name not in rows.variables:
            continue
        arr = rows.variables[name]
        out[key] = (
            _floats(arr) if kind == "f" else _ints(arr) if kind == "i" else onc_time_strings(arr)
        )
    return out


def arrays_to_objects(data: dict[str, list]) -> list[dict]:
    """ONC "object" form of a sensor's ``data``: ``[{sampleTime, value, qaqcFlag, ...}]``."""
    keys = {"sampleTimes": "sampleTime", **{a: o for a, o, _, _ in _DATA_FIELDS}}
    names = [k for k in keys if k in data]
    columns = [data[k] for k in names]
    return [
        dict(zip([keys[k] for k in names], row, strict=True)) for row in zip(*columns, strict=True)
    ]


def sensor_metadata(device_code: str, sensors: Iterable[str] | str | None = None) -> list[dict]:
    """The ``sensorData`` item fields of a device's sensors: ``sensorCode``, ``sensorName``,
    ``unitOfMeasure``, ``propertyCode``, ``sensorCategoryCode`` (no ``data``/``actualSamples``)."""
    known_device(device_code)
    return sensor_items(device_code, sensors)


@dataclass
class ScalarPage:
    """One ``scalardata`` page: the rows, their ONC ``data`` per sensor, and the next dateFrom."""

    device_code: str
    rows: ScalarRecords | ResampledRecords
    #: ``{sensorCode: data}`` in ONC "array" form (see :func:`sensor_arrays`).
    data: dict[str, dict[str, list]]
    #: ``dateFrom`` of the next page (format with ``format_onc_date``), None on the last page.
    next_date_from: pd.Timestamp | None
    #: :func:`sensor_metadata` items of the page's sensors, in order.
    sensors: list[dict]

    @property
    def times(self) -> np.ndarray:
        """Row (or bin-centre) times, ``datetime64[ns]``."""
        return self.rows.times

    def sensor_data(self, output_format: str = "array") -> list[dict] | None:
        """The response's ``sensorData``: None when the page has no rows (ONC sends null)."""
        if len(self.rows) == 0:
            return None
        if output_format not in ("array", "object"):
            raise ValueError(f"output_format: expected 'array' or 'object', got {output_format!r}")
        items = []
        for meta in self.sensors:
            data = self.data[meta["sensorCode"]]
            items.append(
                {
                    **meta,
                    "actualSamples": len(data["sampleTimes"]),
                    "data": data if output_format == "array" else arrays_to_objects(data),
                    "outputFormat": output_format,
                }
            )
        return items


def scalar_page(
    device_code: str,
    date_from: object,
    date_to: object,
    *,
    row_limit: int = 100_000,
    quality: str = "clean",
    fill_gaps: bool = False,
    resample_type: str | None = None,
    resample_period: float | None = None,
    sensors: Iterable[str] | str | None = None,
    seed: int = 0,
    now: object = None,
    min_completeness: float = 0.7,
    tail: int | None = None,
) -> ScalarPage:
    """One page of ``scalardata/device`` for ``[date_from, date_to)``.

    ``fill_gaps=False`` returns the readings as they are (for resampled pages: bins whose every
    value is NaN are dropped); ``True`` fills gaps (absolute, see the module docstring).
    ``resample_type``: ``None``, ``"avg"`` (= average), ``"minMax"`` or ``"minMaxAvg"`` with
    ``resample_period`` seconds. ``sensors``: sensorCode or sensorCategoryCode values.
    Follow ``next_date_from`` with the same other arguments to get the next page.
    ``tail``: keep only the page's last ``tail`` rows (``>= 1``; ``getLatest``), so that only
    those are written out.
    """
    rows, next_from = scalar_series(
        device_code,
        date_from,
        date_to,
        quality=quality,
        data_gaps="fill" if fill_gaps else "none",
        resample_type=resample_type,
        resample_period=resample_period,
        min_completeness=min_completeness,
        sensors=sensors,
        seed=seed,
        now=now,
        row_limit=row_limit,
    )
    if tail is not None:
        rows = rows.take(slice(max(len(rows) - tail, 0), None))
    sensors_meta = sensor_metadata(device_code, list(rows.sensors))
    data = {s: sensor_arrays(rows, s) for s in rows.sensors}
    return ScalarPage(device_code, rows, data, next_from, sensors_meta)
