"""The scalar data API (``scalardata/device`` and ``scalardata/location``), every page.

ONC returns at most 100,000 rows per sensor per request and points at the rest with ``next``;
:meth:`ScalarMixin.scalar_data` follows it and concatenates each sensor's arrays (matched by
``sensorCode``, so sensors of different lengths, or missing from a page, stay right).

The result is ONC's own JSON shape (what the datasets layer turns into xarray), with
``sensorData`` always a list (``[]`` where the API says ``null``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from intake_onc._core.durations import duration_ns
from intake_onc._core.time import format_onc_date
from intake_onc.client._args import check_bool, check_int, check_str, check_strings
from intake_onc.client.archive import source_and_range
from intake_onc.client.discovery import onc_params

__all__ = ["ScalarMixin", "merge_scalar_pages"]

_QC = {True: "clean", False: "raw", "clean": "clean", "raw": "raw"}


def merge_scalar_pages(result: dict[str, Any], page: dict[str, Any]) -> None:
    """Fold a later ``scalardata`` page into the first, sensor by sensor.

    Works for both ``outputFormat=array`` (``data`` is a dict of lists) and ``object``
    (``data`` is a list of records); ``actualSamples`` is summed.

    Examples
    --------
    >>> first = {"sensorData": [{"sensorCode": "t", "actualSamples": 1,
    ...          "data": {"sampleTimes": ["a"], "values": [1.0], "qaqcFlags": [1]}}]}
    >>> later = {"sensorData": [{"sensorCode": "t", "actualSamples": 1,
    ...          "data": {"sampleTimes": ["b"], "values": [2.0], "qaqcFlags": [1]}}]}
    >>> merge_scalar_pages(first, later)
    >>> first["sensorData"][0]["data"]["values"], first["sensorData"][0]["actualSamples"]
    ([1.0, 2.0], 2)
    """
    sensors = result.get("sensorData") or []
    result["sensorData"] = sensors
    by_code = {s.get("sensorCode"): s for s in sensors}
    for new in page.get("sensorData") or []:
        code = new.get("sensorCode")
        old = by_code.get(code)
        if old is None:
            sensors.append(new)
            by_code[code] = new
            continue
        old_data, new_data = old.get("data"), new.get("data")
        if isinstance(old_data, dict) and isinstance(new_data, dict):
            for key, values in new_data.items():
                if isinstance(values, list):
                    old_data.setdefault(key, []).extend(values)
        elif isinstance(old_data, list) and isinstance(new_data, list):
            old_data.extend(new_data)
        elif old_data is None:
            old["data"] = new_data
        if isinstance(old.get("actualSamples"), int) and isinstance(new.get("actualSamples"), int):
            old["actualSamples"] += new["actualSamples"]
    for key in ("messages", "citations"):
        extra = page.get(key)
        if isinstance(extra, list) and extra:
            have = result.get(key) or []
            result[key] = have + [m for m in extra if m not in have]


def _onc_seconds(value: object, argument: str) -> int | float | None:
    """A duration argument as the seconds ONC takes (an int when whole), or None."""
    if value is None:
        return None
    ns = duration_ns(value, argument=argument)
    return ns // 10**9 if ns % 10**9 == 0 else ns / 1e9


class ScalarMixin:
    """Scalar-data method of :class:`~intake_onc.client.ONCClient`."""

    def scalar_data(
        self,
        device_code: str | None = None,
        start: Any = None,
        end: Any = None,
        *,
        location_code: str | None = None,
        device_category: str | None = None,
        property_code: str | Iterable[str] | None = None,
        sensor_category_codes: str | Iterable[str] | None = None,
        quality_control: bool | str | None = None,
        resample_type: str | None = None,
        resample_period: object = None,
        fill_gaps: bool | None = None,
        row_limit: int | None = None,
        output_format: str = "array",
        metadata: str | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        """Raw sensor records of a device (or a device category at a location), all pages.

        Parameters
        ----------
        device_code
            The device (``"SBECTD19p6813"``); or ``location_code`` + ``device_category``.
        start, end
            The range (``end`` exclusive); ISO strings, datetimes or ONC durations.
        property_code, sensor_category_codes
            Restrict to properties / sensors (a string or a list).
        quality_control
            ``True``/``"clean"`` or ``False``/``"raw"`` (ONC's ``qualityControl``).
        resample_type, resample_period, fill_gaps, row_limit, metadata
            ONC's ``resampleType`` (``avg``, ``minMax``, ``minMaxAvg``), ``resamplePeriod``
            (a duration: seconds ``60``, ``"1min"``, ``"PT1M"``; sent as seconds), ``fillGaps``, ``rowLimit`` (rows per page), ``metadata``
            (``"Minimum"``/``"Full"``).
        output_format
            ``"array"`` (default: ``data`` is ``{sampleTimes, values, qaqcFlags}``) or
            ``"object"`` (a list of ``{sampleTime, value, qaqcFlag}``).

        Returns
        -------
        dict
            ONC's answer with every page merged: ``sensorData`` (list, one item per sensor,
            ``[]`` when there are no data), ``qaqcFlagInfo``, ``citations``, ``messages``,
            ``next`` (None) and, with ``metadata``, ``metadata``. Times are ONC's ISO strings.

        Examples
        --------
        >>> data = client.scalar_data("SBECTD19p6813", "2024-04-01T00:00",
        ...                           "2024-04-01T01:00")  # doctest: +SKIP
        >>> [s["sensorCode"] for s in data["sensorData"]]  # doctest: +SKIP
        ['conductivity', 'pressure', 'salinity', 'temperature']
        """
        kind, params, s, e = source_and_range(
            "scalar_data",
            device_code,
            location_code,
            device_category,
            start,
            end,
            property_code=property_code,
            join_property=True,
        )
        if sensor_category_codes is not None:
            sensor_category_codes = ",".join(
                check_strings(sensor_category_codes, "sensor_category_codes", example="salinity")
                or []
            )
        resample_type = check_str(resample_type, "resample_type", example="avg", optional=True)
        check_bool(fill_gaps, "fill_gaps", optional=True)
        check_int(row_limit, "row_limit", minimum=1, optional=True)
        metadata = check_str(metadata, "metadata", example="Minimum", optional=True)
        if quality_control is not None and not isinstance(quality_control, (bool, str)):
            raise TypeError(
                f"quality_control: expected True/'clean' or False/'raw', got "
                f"{type(quality_control).__name__} {quality_control!r:.60}"
            )
        if quality_control is not None and quality_control not in _QC:
            raise ValueError(
                f"quality_control: expected True/'clean' or False/'raw', got {quality_control!r}"
            )
        if not isinstance(output_format, str) or output_format not in ("array", "object"):
            raise ValueError(f"output_format: expected 'array' or 'object', got {output_format!r}")
        params.update(
            {
                "dateFrom": format_onc_date(s),
                "dateTo": format_onc_date(e),
                "outputFormat": output_format,
                "sensorCategoryCodes": sensor_category_codes,
                "qualityControl": _QC.get(quality_control) if quality_control is not None else None,
                "resampleType": resample_type,
                "resamplePeriod": _onc_seconds(resample_period, "resample_period"),
                "fillGaps": fill_gaps,
                "rowLimit": row_limit,
                "metadata": metadata,
            }
        )
        params.update(onc_params(filters))
        result = self._core.get_all_pages(  # type: ignore[attr-defined]
            f"scalardata/{kind}", params, merge_scalar_pages
        )
        if not isinstance(result, dict):
            return {"sensorData": [], "next": None}
        if result.get("sensorData") is None:
            result["sensorData"] = []
        return result
