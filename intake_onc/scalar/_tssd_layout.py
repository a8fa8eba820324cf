"""What every TSSD reader shares: sensor fields and naming, flag checks and the Dataset layout.

Each reader (CSV, JSON, MAT) turns one file into a :class:`FileTable` -- a time axis, one
:class:`SensorData` per sensor holding plain numpy arrays by *field* (``value``, ``qc``,
``count``, ...) and the header facts under canonical keys -- and :func:`build_dataset` turns a
table into the ``xr.Dataset`` described in ``semantics.md`` ("Scalar dataset layout", "QAQC
flags"): ``X`` with its int8 ``X_qc`` companion carrying CF ``flag_values``/``flag_meanings``,
``X_count``, ``X_std``, ``X_min``, ``X_min_time``, ``X_min_qc``, ``X_max``, ... .

The header facts (which key means what, how each value is read) are
:mod:`intake_onc.scalar._tssd_facts`. The QAQC flag table and the CF flag attributes are
:mod:`intake_onc._core.flags`: one definition for the package, with the exact tokens of
semantics.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from intake_onc._core.cf import cf_attrs
from intake_onc._core.errors import FileFormatError

# The QAQC flag table (semantics.md "QAQC flags"): one definition for the package.
from intake_onc._core.flags import ALLOWED_TEXT, flag_attrs, invalid_flags
from intake_onc._core.flags import MISSING as MISSING_FLAG
from intake_onc.scalar._tssd_facts import snake_case

#: Per-sensor fields, in the order their variables appear in a Dataset, with name suffixes.
FIELD_SUFFIXES: dict[str, str] = {
    "value": "",
    "qc": "_qc",
    "count": "_count",
    "std": "_std",
    "min": "_min",
    "min_time": "_min_time",
    "min_qc": "_min_qc",
    "max": "_max",
    "max_time": "_max_time",
    "max_qc": "_max_qc",
}
#: The flag field that qualifies each value field.
QC_OF: dict[str, str] = {"value": "qc", "min": "min_qc", "max": "max_qc"}
QC_FIELDS = frozenset(QC_OF.values())
TIME_FIELDS = frozenset({"min_time", "max_time"})
COUNT_FIELDS = frozenset({"count"})

#: Names the Dataset keeps for its coordinates.
_COORDS = ("latitude", "longitude", "depth")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SensorInfo:
    """One sensor as a file describes it (``#SENSOR n:`` line, JSON item, MAT cells)."""

    code: str | None
    name: str
    unit: str = ""
    property_code: str | None = None


@dataclass
class SensorData:
    """A sensor's arrays by field name (keys of :data:`FIELD_SUFFIXES`), one entry per time."""

    info: SensorInfo
    fields: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def var(self) -> str:
        """Variable name: the sensorCode (snake_case if needed), else the snake_case name."""
        code = self.info.code
        if code and _IDENTIFIER.match(code):
            return code
        return snake_case(code or self.info.name)


@dataclass
class FileTable:
    """One file's content, format-independent."""

    path: str
    file_format: str
    times: np.ndarray
    sensors: list[SensorData]
    metadata: dict[str, object]
    #: ``[(from, sample period s)]``: the data ratings the file says are in force, in order.
    period_changes: list[tuple[np.datetime64, float]] = field(default_factory=list)


# --------------------------------------------------------------------------- header facts


# --------------------------------------------------------------------------- field values


def parse_times(values: object) -> np.ndarray:
    """ISO 8601 strings (``2024-04-01T00:00:00.227Z``; ``None``/``"NaN"`` -> NaT) to UTC ns.

    Examples
    --------
    >>> parse_times(["2024-04-01T00:00:00.227Z", None])
    array(['2024-04-01T00:00:00.227000000',                           'NaT'],
          dtype='datetime64[ns]')
    """
    items = [None if v in ("NaN", "nan", "") else v for v in np.atleast_1d(values).tolist()]
    index = pd.to_datetime(pd.Series(items, dtype=object), utc=True, format="ISO8601")
    return index.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


class InvalidFlagError(ValueError):
    """A flag column holds a value that is not an ONC QAQC flag (raised by
    :func:`convert_field`; each reader re-raises it as a :class:`FileFormatError` naming the
    file, the sensor and the row)."""

    def __init__(self, index: int, value: object) -> None:
        self.index = index
        self.value = value
        super().__init__(f"{ALLOWED_TEXT}, found {format_flag(value)} at index {index}")


def format_flag(value: object) -> str:
    """A flag value as found, for messages (``300``, ``-5``, ``1.5``, ``'x'``)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def check_flags(values: np.ndarray) -> None:
    """Raise :class:`InvalidFlagError` for the first value that is not an ONC flag (or NaN)."""
    bad = np.flatnonzero(invalid_flags(values))
    if bad.size:
        index = int(bad[0])
        raise InvalidFlagError(index, np.asarray(values).reshape(-1)[index].item())


def flag_error(
    path: str,
    sensor: str,
    column: str,
    row: int,
    value: object,
    line: int | None = None,
) -> FileFormatError:
    """The FileFormatError of an invalid flag: file, sensor, column, 1-based row, value."""
    return FileFormatError(
        path,
        line,
        f"{ALLOWED_TEXT} in {column} of sensor {sensor!r}, row {row}",
        found=format_flag(value),
        hint="flag 5 is unused and ONC's flags are 0-4 and 6-9",
        sensor=sensor,
        row=row,
    )


def convert_field(field_name: str, values: object) -> np.ndarray:
    """A field's values as the Dataset's dtype (flags int8 with 9 for missing, counts int32).

    Raises
    ------
    InvalidFlagError
        A flag field holding a value that is not one of ONC's flags (0-4, 6-9) or NaN.
    """
    if field_name == "time" or field_name in TIME_FIELDS:
        return parse_times(values)
    array = np.asarray(values, dtype="float64").reshape(-1)
    if field_name in QC_FIELDS:
        check_flags(array)
        return np.where(np.isnan(array), MISSING_FLAG, array).astype("int8")
    if field_name in COUNT_FIELDS and not np.isnan(array).any():
        return array.astype("int32")
    return array


# --------------------------------------------------------------------------- Dataset


def _fill_value(field_name: str, dtype: np.dtype) -> object:
    if field_name in QC_FIELDS:
        return MISSING_FLAG
    if dtype.kind == "M":
        return np.datetime64("NaT")
    if dtype.kind in "iu":
        return 0
    return np.nan


def empty_field(field_name: str, like: np.ndarray, length: int) -> np.ndarray:
    """An array of ``length`` "no data" entries of ``like``'s dtype for ``field_name``."""
    return np.full(length, _fill_value(field_name, like.dtype), dtype=like.dtype)


def _unique_names(sensors: list[SensorData]) -> list[str]:
    names: list[str] = []
    for sensor in sensors:
        base = sensor.var
        if base == "time":
            base = "time_value"
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return names


_CELL_METHODS = {"value": "mean", "std": "standard_deviation", "min": "minimum", "max": "maximum"}


def _field_attrs(
    var: str, field_name: str, info: SensorInfo, resample: tuple[str, float] | None = None
) -> dict[str, object]:
    label = info.name or var
    attrs: dict[str, object]
    if field_name in QC_FIELDS:
        target = var + FIELD_SUFFIXES[next(k for k, qc in QC_OF.items() if qc == field_name)]
        attrs = flag_attrs(target)  # long_name, flag_values, flag_meanings
    else:
        long_name = {
            "value": label,
            "count": f"{label} count of valid samples",
            "std": f"{label} standard deviation",
            "min": f"{label} minimum",
            "min_time": f"{label} time of minimum",
            "max": f"{label} maximum",
            "max_time": f"{label} time of maximum",
        }[field_name]
        attrs = {"long_name": long_name}
        if field_name in ("value", "std", "min", "max"):
            attrs.update(cf_attrs(info.property_code, info.unit))
            method = _CELL_METHODS[field_name]
            if resample and (field_name != "value" or resample[0] != "minMax"):
                attrs["cell_methods"] = f"time: {method} (interval: {resample[1]:g} s)"
        elif field_name == "count":
            attrs["units"] = "1"
    if info.code:
        attrs["onc_sensor_code"] = info.code
    if info.property_code:
        attrs["onc_property_code"] = info.property_code
    if field_name in QC_OF:
        attrs["ancillary_variables"] = var + FIELD_SUFFIXES[QC_OF[field_name]]
    return attrs


_ATTR_ORDER = (
    "device_code",
    "device_name",
    "device_category_code",
    "device_category_name",
    "location_code",
    "station_name",
    "latitude",
    "longitude",
    "depth",
    "date_from",
    "date_to",
    "creation_date",
    "sample_period",
    "sample_period_starts",
    "sample_period_values",
    "quality_control",
    "data_gaps",
    "resample_type",
    "resample_period",
    "citation",
)
_COORD_ATTRS = {
    "latitude": {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"},
    "longitude": {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"},
    "depth": {"standard_name": "depth", "long_name": "depth", "units": "m", "positive": "down"},
}


def dataset_attrs(metadata: Mapping[str, object]) -> dict[str, object]:
    """Dataset attrs in a stable order: known facts first, then the rest; ``None`` dropped."""
    attrs: dict[str, object] = {"Conventions": "CF-1.8", "featureType": "timeSeries"}
    for key in _ATTR_ORDER:
        if metadata.get(key) is not None:
            attrs[key] = metadata[key]
    attrs.setdefault("resample_type", "none")
    attrs["source"] = "file"
    for key, value in metadata.items():
        if key not in attrs and value is not None:
            attrs[key] = value
    return attrs


def build_dataset(
    times: np.ndarray, sensors: list[SensorData], metadata: Mapping[str, object]
) -> xr.Dataset:
    """The ``xr.Dataset`` of semantics.md from a time axis, sensors and header facts.

    ``times`` must already be sorted and unique (``datetime64[ns]``).

    Examples
    --------
    >>> t = np.array(["2024-04-01T00:00:00", "2024-04-01T00:00:01"], dtype="datetime64[ns]")
    >>> s = SensorData(SensorInfo("temperature", "Temperature", "C", "seawatertemperature"),
    ...                {"value": np.array([4.1, 4.2]), "qc": np.array([1, 1], dtype="int8")})
    >>> ds = build_dataset(t, [s], {"latitude": 48.3166, "device_code": "SBECTD19p6813"})
    >>> list(ds.data_vars), ds.temperature.attrs["ancillary_variables"]
    (['temperature', 'temperature_qc'], 'temperature_qc')
    """
    data_vars: dict[str, tuple] = {}
    period = metadata.get("resample_period")
    resample = None
    if metadata.get("resample_type") not in (None, "none") and isinstance(period, (int, float)):
        resample = (str(metadata["resample_type"]), float(period))
    for sensor, var in zip(sensors, _unique_names(sensors), strict=True):
        for field_name in FIELD_SUFFIXES:
            if field_name in sensor.fields:
                data_vars[var + FIELD_SUFFIXES[field_name]] = (
                    "time",
                    sensor.fields[field_name],
                    _field_attrs(var, field_name, sensor.info, resample),
                )
    coords: dict[str, tuple] = {
        "time": ("time", times, {"standard_name": "time", "long_name": "time (UTC)"})
    }
    for name in _COORDS:
        if metadata.get(name) is not None and name not in data_vars:
            coords[name] = ((), float(metadata[name]), _COORD_ATTRS[name])
    from .cf import add_cf_metadata

    ds = xr.Dataset(data_vars, coords=coords, attrs=dataset_attrs(metadata))
    return add_cf_metadata(ds, history="intake-onc read_tssd: read ONC TSSD file(s)")
