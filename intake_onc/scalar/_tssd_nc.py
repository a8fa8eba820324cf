"""TSSD netCDF files (the sandbox's ``nc`` layout: README.md, "How the sandbox differs").

A CF ``timeSeries`` file with a ``time`` coordinate, one variable per sensor (named by its
sensorCode; ``long_name``, ``onc_units``/``units``, ``onc_property_code``) and its companions
``<code>_qc``, ``_count``, ``_std``, ``_min``, ``_min_time``, ``_min_qc``, ``_max``, ...; the
ONC facts are camelCase global attributes, as in the JSON/MAT ``metadata``. The file is opened
with xarray's netCDF4 engine after a check of its signature; anything the library or the layout
refuses becomes a :class:`~intake_onc._core.errors.FileFormatError` naming the file.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import xarray as xr

from intake_onc._core.errors import FileFormatError

from ._tssd_facts import checked_facts_from_camel, sample_period_changes_from_camel
from ._tssd_layout import (
    FIELD_SUFFIXES,
    TIME_FIELDS,
    FileTable,
    InvalidFlagError,
    SensorData,
    SensorInfo,
    convert_field,
    flag_error,
)

__all__ = ["read_nc_table"]

#: File signatures: netCDF4/HDF5, netCDF3 classic and 64-bit offset.
_MAGIC = (b"\x89HDF\r\n\x1a\n", b"CDF\x01", b"CDF\x02")
#: Global attributes of CF/ACDD, not ONC facts.
_CF_GLOBALS = frozenset(
    {
        "Conventions",
        "featureType",
        "title",
        "institution",
        "source",
        "references",
        "license",
        "date_created",
        "history",
        "summary",
        "geospatial_lat_min",
        "geospatial_lat_max",
        "geospatial_lon_min",
        "geospatial_lon_max",
        "geospatial_vertical_min",
        "geospatial_vertical_max",
        "geospatial_vertical_positive",
        "time_coverage_start",
        "time_coverage_end",
        "_NCProperties",
    }
)
#: Suffixes, longest first, so that ``_min_qc`` is not taken for ``_qc``.
_SUFFIXES = sorted(((s, f) for f, s in FIELD_SUFFIXES.items() if s), key=lambda p: -len(p[0]))
#: Errors the netCDF stack raises for files it cannot read.
_LIBRARY_ERRORS = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,  # netCDF4: "NetCDF: Can't open HDF5 attribute"
    RuntimeError,
    OverflowError,
    UnicodeError,
)


def _open(path: str) -> xr.Dataset:
    with open(path, "rb") as f:
        start = f.read(8)
    if not start.startswith(_MAGIC):
        raise FileFormatError(
            path,
            None,
            "a netCDF file (signature '\\x89HDF' or 'CDF')",
            found=repr(start),
            hint="the file is damaged or not a netCDF file",
        )
    try:
        with warnings.catch_warnings():  # times out of range: refused below, not warned about
            warnings.simplefilter("ignore", xr.SerializationWarning)
            with xr.open_dataset(path, engine="netcdf4", decode_times=True) as ds:
                return ds.load()
    except _LIBRARY_ERRORS as exc:
        raise FileFormatError(
            path,
            None,
            "a readable netCDF4 TSSD file",
            found=f"{type(exc).__name__}: {exc}"[:200],
            hint="the file is damaged or truncated",
        ) from None


def _split(name: str, names: set[str]) -> tuple[str, str]:
    """``(sensor, field)`` of a variable name: ``temperature_min_qc`` is a field of
    ``temperature`` when ``temperature`` or another of its fields is there too."""
    for suffix, field_name in _SUFFIXES:
        base = name[: -len(suffix)]
        if not name.endswith(suffix) or not base:
            continue
        if base in names or any(base + s in names - {name} for s, _ in _SUFFIXES):
            return base, field_name
    return name, "value"


def _sensor_info(ds: xr.Dataset, base: str, names: set[str]) -> SensorInfo:
    """The sensor's code, name, unit and property from its value (or min, max, std) variable."""
    attrs: dict = {}
    for candidate in (base, base + "_min", base + "_max", base + "_std"):
        if candidate in names:
            attrs = dict(ds[candidate].attrs)
            break
    return SensorInfo(
        str(attrs.get("onc_sensor_code") or base),
        str(attrs.get("onc_sensor_name") or attrs.get("long_name") or base),
        str(attrs.get("onc_units") or attrs.get("units") or ""),
        str(attrs["onc_property_code"]) if attrs.get("onc_property_code") else None,
    )


def _facts(path: str, ds: xr.Dataset) -> tuple[dict[str, object], list]:
    meta: dict[str, object] = {}
    for key, value in ds.attrs.items():
        if key in _CF_GLOBALS:
            continue
        if isinstance(value, np.ndarray):
            value = value.item() if value.size == 1 else value
        elif isinstance(value, np.generic):
            value = value.item()
        meta[key] = value
    try:
        changes = sample_period_changes_from_camel(meta)
    except (ValueError, TypeError, OverflowError):
        raise FileFormatError(
            path,
            None,
            "global attributes samplePeriodStarts (datenums) and samplePeriodValues (s) of one "
            "length",
            found=f"{meta.get('samplePeriodStarts')!r}, {meta.get('samplePeriodValues')!r}",
        ) from None
    return checked_facts_from_camel(path, meta), changes


def read_nc_table(path: str | os.PathLike[str]) -> FileTable:
    """Read one TSSD netCDF file into a ``FileTable``.

    Raises
    ------
    FileFormatError
        The file is no readable netCDF file, or lacks a 1-D ``time`` of times, or a variable
        does not run along ``time``, or a flag variable holds a value that is no ONC flag.
    """
    path = os.fspath(path)
    ds = _open(path)
    if "time" not in ds.variables or ds["time"].dims != ("time",):
        raise FileFormatError(
            path, None, "a 1-D 'time' coordinate", found=", ".join(map(str, ds.variables))
        )
    times = ds["time"].values
    if times.dtype.kind != "M" or np.isnat(times).any():
        raise FileFormatError(
            path,
            None,
            "'time' as CF times (units 'milliseconds since 1970-01-01...'), none missing",
            found=f"{times.dtype}, units {ds['time'].attrs.get('units')!r}",
        )
    times = times.astype("datetime64[ns]")
    metadata, changes = _facts(path, ds)
    names = {str(n) for n in ds.data_vars}
    sensors: dict[str, SensorData] = {}
    for name in (str(n) for n in ds.data_vars):
        var = ds[name]
        if var.dims != ("time",):
            raise FileFormatError(
                path, None, f"variable {name!r} along 'time' only", found=str(var.dims)
            )
        base, field_name = _split(name, names)
        sensor = sensors.get(base)
        if sensor is None:
            sensor = sensors[base] = SensorData(_sensor_info(ds, base, names))
        values = var.values
        try:
            if field_name in TIME_FIELDS:
                if values.dtype.kind != "M":
                    raise ValueError("not times")
                array = values.astype("datetime64[ns]")
            else:
                array = convert_field(field_name, values.astype("float64"))
        except InvalidFlagError as exc:
            raise flag_error(path, base, name, exc.index + 1, exc.value) from None
        except (ValueError, TypeError) as exc:
            raise FileFormatError(
                path, None, f"variable {name!r} of {field_name} values", found=str(exc)[:200]
            ) from None
        sensor.fields[field_name] = array
    return FileTable(path, "nc", times, list(sensors.values()), metadata, changes)
