"""TSSD ``nc`` files: CF-1.8 netCDF4, one ``timeSeries`` feature (the device at its location).

ONC lists an ``nc`` extension for TSSD (``dataProducts.json``, with ``dpo_cast`` and
``dpo_includeOrientationSensors``); its layout is not in the reference notes.

Guesses (README.md, "How the sandbox differs from the real service")
--------------------------------------------------------------------
* **Variables**: ``time`` (int64 milliseconds since 1970-01-01 UTC, the millisecond ONC's times
  carry), one float64 variable per sensor named by its sensorCode with ``long_name`` (the
  sensor name), UDUNITS ``units`` and ``standard_name`` (:func:`intake_onc._core.cf.cf_attrs`),
  ``onc_units``, ``onc_sensor_code``, ``onc_sensor_name``, ``onc_property_code``,
  ``ancillary_variables``; its
  int8 ``<code>_qc`` CF flag variable (``flag_values``/``flag_meanings`` of
  :mod:`intake_onc._core.flags`); resampled files add ``<code>_count`` (int32), ``_std``,
  ``_min``, ``_max`` and ``_min_time``/``_max_time`` (times, NaT as the fill value) and their
  ``_min_qc``/``_max_qc`` flags -- the names of the package's scalar Dataset layout.
  Scalar coordinates ``latitude``, ``longitude``, ``depth`` and ``station`` (the device code,
  ``cf_role: timeseries_id``).
* **Global attributes**: ``Conventions: CF-1.8``, ``featureType: timeSeries``, ``title``,
  ``institution: Ocean Networks Canada``, ``source`` (the device), ``references`` (the DOI),
  ``citation``, ``license``, ``date_created``, ``geospatial_lat_min``/``max``,
  ``geospatial_lon_min``/``max``, ``geospatial_vertical_min``/``max``,
  ``time_coverage_start``/``end``, then the request's camelCase facts as the TSSD JSON/MAT
  ``metadata`` has them (``deviceCode``, ``qualityControl``, ``dataGaps``, ``resampleType``,
  ``resamplePeriod``, ``samplePeriod``, ``samplePeriodStarts``/``Values`` as MATLAB datenums,
  ...), absent when unknown.
* ``dpo_cast`` and ``dpo_includeOrientationSensors`` are accepted and change nothing: the
  sandbox's devices are fixed (no casts) and report no orientation sensors.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

import netCDF4
import numpy as np

from intake_onc._core.cf import cf_attrs
from intake_onc._core.flags import flag_attrs
from intake_onc._core.time import format_onc_date, parse_date
from intake_onc.sandbox.encoders.tssd_mat import datenums
from intake_onc.sandbox.observatory.records import Deployment
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.reference.rules import ResampledRecords
from intake_onc.sandbox.synthetic.scalar import ScalarRecords

__all__ = ["netcdf_bytes"]

Rows = ScalarRecords | ResampledRecords

_TIME_UNITS = "milliseconds since 1970-01-01T00:00:00Z"
#: Field suffix -> long_name template.
_LONG_NAMES = {
    "": "{}",
    "_count": "{} count of valid samples",
    "_std": "{} standard deviation",
    "_min": "{} minimum",
    "_max": "{} maximum",
    "_min_time": "{} time of minimum",
    "_max_time": "{} time of maximum",
}
_QC_OF = {"_qc": "", "_min_qc": "_min", "_max_qc": "_max"}


def _fields(rows: Rows, code: str) -> dict[str, np.ndarray]:
    """``{suffix: array}`` of one sensor (``""`` the value, ``"_qc"`` its flags, ...)."""
    if isinstance(rows, ScalarRecords):
        return {"": rows.values[code], "_qc": rows.flags[code]}
    return {
        key[len(code) :]: array
        for key, array in rows.variables.items()
        if key == code or (key.startswith(code + "_") and key[len(code) :] in _LONG_NAMES | _QC_OF)
    }


def _variables(rows: Rows) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, object]]]:
    sensors = {s.code: s for s in OBSERVATORY.device(rows.device_code).sensors}
    out: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, object]]] = {}
    for code in rows.sensors:
        sensor = sensors[code]
        cf = cf_attrs(sensor.property_code, sensor.unit)
        fields = _fields(rows, code)
        for suffix, array in fields.items():
            name = code + suffix
            if suffix in _QC_OF:
                attrs: dict[str, object] = flag_attrs(code + _QC_OF[suffix])
                if "standard_name" in cf:
                    attrs["standard_name"] = f"{cf['standard_name']} status_flag"
                out[name] = (("time",), np.asarray(array).astype("int8"), attrs)
                continue
            attrs = {"long_name": _LONG_NAMES[suffix].format(sensor.name)}
            if suffix.endswith("_time"):
                out[name] = (("time",), np.asarray(array, dtype="datetime64[ns]"), attrs)
                continue
            if suffix == "_count":
                out[name] = (("time",), np.asarray(array).astype("int32"), attrs)
                continue
            attrs |= {k: v for k, v in cf.items() if suffix == "" or k != "standard_name"}
            attrs |= {
                "onc_sensor_code": sensor.code,
                "onc_sensor_name": sensor.name,
                "onc_property_code": sensor.property_code,
            }
            qc = {"": "_qc", "_min": "_min_qc", "_max": "_max_qc"}.get(suffix)
            if qc in fields:
                attrs["ancillary_variables"] = code + qc
            out[name] = (("time",), np.asarray(array, dtype="float64"), attrs)
    return out


def _global_attrs(
    facts: Mapping[str, object], deployment: Deployment, rows: Rows
) -> dict[str, object]:
    device = OBSERVATORY.device(str(facts["deviceCode"]))
    location = OBSERVATORY.location(deployment.location_code)
    category = OBSERVATORY.device_categories[device.category_code].name
    citation = OBSERVATORY.citation(device.code)
    times = np.asarray(rows.times, dtype="datetime64[ns]")
    lat, lon, depth = float(deployment.lat), float(deployment.lon), float(deployment.depth)
    attrs: dict[str, object] = {
        "Conventions": "CF-1.8",
        "featureType": "timeSeries",
        "title": f"Time Series Scalar Data: {device.name} at {location.name}",
        "institution": "Ocean Networks Canada",
        "source": f"{category} {device.name} ({device.code}); synthetic data (intake-onc sandbox)",
        "references": f"https://doi.org/{citation['doi']}",
        "citation": str(facts["citation"]),
        "license": "CC-BY 4.0",
        "date_created": str(facts["creationDate"]),
        "geospatial_lat_min": lat,
        "geospatial_lat_max": lat,
        "geospatial_lon_min": lon,
        "geospatial_lon_max": lon,
        "geospatial_vertical_min": depth,
        "geospatial_vertical_max": depth,
        "geospatial_vertical_positive": "down",
        "time_coverage_start": format_onc_date(times[0]),
        "time_coverage_end": format_onc_date(times[-1]),
    }
    for key, value in facts.items():
        if value is None or key in ("encoding",):
            continue
        if key == "samplePeriods":
            changes = list(value)  # type: ignore[call-overload]
            starts = np.array([parse_date(c["dateFrom"]).value for c in changes], "datetime64[ns]")
            attrs["samplePeriodStarts"] = datenums(starts)
            attrs["samplePeriodValues"] = np.array([c["samplePeriod"] for c in changes], "f8")
            continue
        attrs[key] = value
    attrs["totalSamples"] = len(rows)
    return attrs


_NAT_FILL = np.int64(-9223372036854775806)  # netCDF's default int64 fill value


def _milliseconds(times: np.ndarray) -> np.ndarray:
    """int64 ms since 1970 (NaT -> the fill value)."""
    ms = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[ms]")
    out = ms.astype("int64")
    out[np.isnat(ms)] = _NAT_FILL
    return out


def _time_attrs(attrs: Mapping[str, object]) -> dict[str, object]:
    return {**attrs, "units": _TIME_UNITS, "calendar": "proleptic_gregorian"}


def netcdf_bytes(facts: Mapping[str, object], deployment: Deployment, rows: Rows) -> bytes:
    """A TSSD ``nc`` file (netCDF4/HDF5) of ``rows``, written with the netCDF4 library to a
    temporary file (an in-memory file image stays flagged "open for writing" and cannot be
    appended to); the sandbox does not import xarray, whose hooks are the client side's.

    Parameters
    ----------
    facts
        The request's camelCase facts (as for the CSV/JSON/MAT files).
    deployment
        The deployment in force at the first row.
    rows
        The file's rows.

    Returns
    -------
    bytes
        The file's bytes (the same for the same request).
    """
    with tempfile.TemporaryDirectory(prefix="intake-onc-tssd-") as folder:
        path = os.path.join(folder, "tssd.nc")
        with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
            _write(nc, facts, deployment, rows)
        with open(path, "rb") as f:
            return f.read()


def _write(
    nc: netCDF4.Dataset, facts: Mapping[str, object], deployment: Deployment, rows: Rows
) -> None:
    coordinates = "latitude longitude depth station"
    nc.createDimension("time", len(rows))
    time = nc.createVariable("time", "i8", ("time",))
    time.setncatts(_time_attrs({"standard_name": "time", "long_name": "time (UTC)", "axis": "T"}))
    time[:] = _milliseconds(rows.times)
    for name, value, attrs in (
        ("latitude", deployment.lat, {"standard_name": "latitude", "units": "degrees_north"}),
        ("longitude", deployment.lon, {"standard_name": "longitude", "units": "degrees_east"}),
        (
            "depth",
            deployment.depth,
            {"standard_name": "depth", "units": "m", "positive": "down", "axis": "Z"},
        ),
    ):
        var = nc.createVariable(name, "f8", ())
        var.setncatts(attrs)
        var.assignValue(float(value))
    station = nc.createVariable("station", str, ())
    station.setncatts({"cf_role": "timeseries_id", "long_name": "device code"})
    station[0] = str(facts["deviceCode"])
    for name, (_, array, attrs) in _variables(rows).items():
        kind = array.dtype.kind
        if kind == "M":
            var = nc.createVariable(name, "i8", ("time",), fill_value=_NAT_FILL)
            var.setncatts({**_time_attrs(attrs), "coordinates": coordinates})
            var[:] = _milliseconds(array)
            continue
        fill = np.nan if kind == "f" else False
        var = nc.createVariable(name, array.dtype, ("time",), fill_value=fill)
        var.setncatts({**attrs, "coordinates": coordinates})
        var[:] = array
    nc.setncatts(_global_attrs(facts, deployment, rows))
