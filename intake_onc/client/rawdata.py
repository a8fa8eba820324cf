"""The raw data API (``rawdata/device`` and ``rawdata/location``), every page, as a DataFrame.

ONC's raw data are the instrument's own text lines ("readings") with their times and line
types. A page holds at most 100,000 readings and points at the rest with ``next``;
:meth:`RawDataMixin.raw_data` follows it and returns one :class:`pandas.DataFrame` with the
columns ``time`` (UTC, ``datetime64[ns, UTC]``), ``lineType`` and ``reading``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.client._args import check_bool, check_int
from intake_onc.client.archive import source_and_range
from intake_onc.client.discovery import onc_params

__all__ = ["RawDataMixin", "merge_raw_pages", "raw_frame"]

_COLUMNS = ("time", "lineType", "reading")


def merge_raw_pages(result: dict[str, Any], page: dict[str, Any]) -> None:
    """Fold a later ``rawdata`` page into the first (``outputFormat=array``).

    Examples
    --------
    >>> first = {"data": {"lineTypes": [" "], "readings": ["a"], "times": ["t0"]}}
    >>> merge_raw_pages(first, {"data": {"lineTypes": [" "], "readings": ["b"], "times": ["t1"]}})
    >>> first["data"]["readings"]
    ['a', 'b']
    """
    data = result.get("data")
    if not isinstance(data, dict):
        data = {"lineTypes": [], "readings": [], "times": []}
        result["data"] = data
    more = page.get("data")
    if not isinstance(more, dict):
        return
    for key in ("lineTypes", "readings", "times"):
        data.setdefault(key, [])
        data[key].extend(more.get(key) or [])


def raw_frame(answer: dict[str, Any]) -> pd.DataFrame:
    """A ``rawdata`` answer (``outputFormat=array``) as a DataFrame ``time, lineType, reading``.

    Raises :class:`ValueError` naming the field when the answer is not ONC's shape.

    Examples
    --------
    >>> frame = raw_frame({"data": {"lineTypes": [" "], "readings": ["# 3.6, 3.1"],
    ...                             "times": ["2024-01-01T00:00:00.032Z"]}})
    >>> frame["time"].iloc[0], frame["reading"].iloc[0]
    (Timestamp('2024-01-01 00:00:00.032000+0000', tz='UTC'), '# 3.6, 3.1')
    """
    data = answer.get("data") if isinstance(answer, dict) else None
    if data is None:
        data = {"lineTypes": [], "readings": [], "times": []}
    if not isinstance(data, dict):
        raise ValueError(
            "rawdata answer: expected 'data' to be {lineTypes, readings, times} "
            f"(outputFormat=array), got {type(data).__name__}"
        )
    times = data.get("times") or []
    readings = data.get("readings") or []
    line_types = data.get("lineTypes") or [" "] * len(readings)
    if not (len(times) == len(readings) == len(line_types)):
        raise ValueError(
            "rawdata answer: 'times', 'readings' and 'lineTypes' differ in length "
            f"({len(times)}, {len(readings)}, {len(line_types)}); the server sent a damaged page"
        )
    return pd.DataFrame(
        {
            "time": pd.to_datetime(pd.Series(times, dtype=object), utc=True, format="ISO8601"),
            "lineType": pd.Series(line_types, dtype=object),
            "reading": pd.Series(readings, dtype=object),
        },
        columns=list(_COLUMNS),
    )


class RawDataMixin:
    """Raw-data method of :class:`~intake_onc.client.ONCClient`."""

    def raw_data(
        self,
        device_code: str | None = None,
        start: Any = None,
        end: Any = None,
        *,
        location_code: str | None = None,
        device_category: str | None = None,
        row_limit: int | None = None,
        convert_hex_to_decimal: bool | None = None,
        skip_errors: bool | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """The instrument's raw readings between ``start`` and ``end``, every page.

        Parameters
        ----------
        device_code
            The device (``"SBECTD19p6813"``); or ``location_code`` + ``device_category``.
        start, end
            The range (``end`` exclusive); ISO strings, datetimes or ONC durations.
        row_limit
            Readings per page (ONC's ``rowLimit``; at most 100,000).
        convert_hex_to_decimal, skip_errors
            ONC's ``convertHexToDecimal`` and ``skipErrors``.
        **filters
            Other ONC parameters, passed on as given.

        Returns
        -------
        pandas.DataFrame
            Columns ``time`` (UTC), ``lineType`` and ``reading`` (the raw text line), in time
            order; empty (with those columns) when there are no data.

        Examples
        --------
        >>> frame = client.raw_data("SBECTD19p6813", "2024-01-01T00:00",
        ...                         "2024-01-01T00:01")  # doctest: +SKIP
        >>> list(frame.columns)  # doctest: +SKIP
        ['time', 'lineType', 'reading']
        """
        kind, params, s, e = source_and_range(
            "raw_data", device_code, location_code, device_category, start, end
        )
        check_int(row_limit, "row_limit", minimum=1, optional=True)
        check_bool(convert_hex_to_decimal, "convert_hex_to_decimal", optional=True)
        check_bool(skip_errors, "skip_errors", optional=True)
        params.update(
            {
                "dateFrom": format_onc_date(s),
                "dateTo": format_onc_date(e),
                "outputFormat": "array",
                "rowLimit": row_limit,
                "convertHexToDecimal": convert_hex_to_decimal,
                "skipErrors": skip_errors,
            }
        )
        params.update(onc_params(filters))
        result = self._core.get_all_pages(  # type: ignore[attr-defined]
            f"rawdata/{kind}", params, merge_raw_pages
        )
        return raw_frame(result if isinstance(result, dict) else {})
