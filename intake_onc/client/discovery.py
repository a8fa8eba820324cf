"""Discovery services as pandas DataFrames: what exists, where, and when.

Each method wraps one ONC discovery service and returns a :class:`pandas.DataFrame` with ONC's
own (camelCase) column names, dates parsed to timezone-naive UTC ``datetime64[ns]`` (``NaT`` for
"ongoing") and ``hasDeviceData``/``hasPropertyData`` as real booleans (the raw API sends the
strings ``"true"``/``"false"`` for some services). Nested members (``bbox``, ``citation``,
``dataRating``, ``cvTerm``, ``dataProductOptions``) stay as Python objects in their column.

Filters are keyword arguments in snake_case (``location_code="BACAX"``) or ONC's own camelCase
(``locationCode="BACAX"``); dates accept anything :func:`intake_onc._core.time.parse_date` reads.

:meth:`DiscoveryMixin.deployment_ranges` and :meth:`DiscoveryMixin.check_deployed` answer the
question behind most failed requests: *when was this device in the water?*
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import pandas as pd

from intake_onc._core.citation import Citation
from intake_onc._core.time import format_onc_date, is_duration, parse_date, parse_iso_duration
from intake_onc.client.errors import NotDeployedError, NotFoundError

__all__ = ["DeploymentRange", "DiscoveryMixin", "onc_params", "to_frame"]

_DATE_COLUMNS = (
    "begin",
    "end",
    "dateFrom",
    "dateTo",
    "maxFileCoverageDate",
    "minFileCoverageDate",
)
_BOOL_COLUMNS = ("hasDeviceData", "hasPropertyData")
_DATE_PARAMS = ("dateFrom", "dateTo")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


#: snake_case keyword -> ONC parameter, where the plain conversion would be wrong.
_ALIASES = {
    "device_category": "deviceCategoryCode",
    "property": "propertyCode",
    "product": "dataProductCode",
    "data_product": "dataProductCode",
    "start": "dateFrom",
    "end": "dateTo",
}


def onc_params(filters: dict[str, Any]) -> dict[str, Any]:
    """Translate keyword filters to ONC query parameters.

    snake_case becomes camelCase (``location_code`` -> ``locationCode``), a few friendly names
    are accepted (``device_category``, ``start``/``end``), dates are formatted the ONC way and
    ``None`` values are dropped. An ISO 8601 duration (``"-P1D"``, ONC's relative dates) is checked
    strictly and passed through.

    Examples
    --------
    >>> onc_params({"location_code": "BACAX", "start": "2024-01-01", "include_children": True})
    {'locationCode': 'BACAX', 'dateFrom': '2024-01-01T00:00:00.000Z', 'includeChildren': True}
    """
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        name = _ALIASES.get(key) or (_camel(key) if "_" in key else key)
        if name not in _DATE_PARAMS:
            _check_filter(key, value)
        if name in _DATE_PARAMS and is_duration(value):
            parse_iso_duration(value, argument=key)  # checked strictly, sent to ONC as written
            value = value.strip()
        elif name in _DATE_PARAMS:
            value = format_onc_date(parse_date(value, argument=key))
        out[name] = value
    return out


_SCALARS = (str, bool, int, float)


def _check_filter(key: str, value: Any) -> None:
    """A filter value must be a string, bool or finite number (or a list of them)."""
    values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
    for v in values:
        if not isinstance(v, _SCALARS) or (isinstance(v, float) and not math.isfinite(v)):
            raise TypeError(
                f"{key}: expected a string, number or True/False (or a list of them) as an ONC "
                f"filter, got {type(value).__name__} {value!r:.60}"
            )
    if not values:
        raise ValueError(f"{key}: expected at least one value, got an empty {type(value).__name__}")


def _to_bool(series: pd.Series) -> pd.Series:
    if series.dtype == bool:
        return series
    mapping = {"true": True, "false": False, "1": True, "0": False}
    return series.map(
        lambda v: v if isinstance(v, bool) else mapping.get(str(v).strip().lower(), False)
    ).astype(bool)


def _to_datetime(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
    return values.dt.tz_localize(None).astype("datetime64[ns]")


def to_frame(records: list[dict[str, Any]] | None, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Records to a DataFrame with parsed dates and real booleans.

    Examples
    --------
    >>> df = to_frame([{"begin": "2021-03-01T00:00:00.000Z", "end": None, "hasDeviceData": "true"}])
    >>> df.dtypes.astype(str).tolist()
    ['datetime64[ns]', 'datetime64[ns]', 'bool']
    """
    frame = pd.DataFrame.from_records(records or [], columns=list(columns) or None)
    for col in _DATE_COLUMNS:
        if col in frame.columns:
            frame[col] = _to_datetime(frame[col])
    for col in _BOOL_COLUMNS:
        if col in frame.columns:
            frame[col] = _to_bool(frame[col])
    return frame


#: ``dataAvailability/dataproducts`` columns (onc-api.md §2) and their dtypes.
AVAILABILITY_COLUMNS: dict[str, str] = {
    "averageFileCoverage": "float64",
    "dataProductCode": "str",
    "dateFrom": "datetime64[ns]",
    "dateTo": "datetime64[ns]",
    "deviceCode": "str",
    "extension": "str",
    "fileCount": "int64",
    "maxFileCoverage": "float64",
    "maxFileCoverageDate": "datetime64[ns]",
    "minFileCoverage": "float64",
    "minFileCoverageDate": "datetime64[ns]",
    "totalFileSize": "int64",
    "totalUncompressedFileSize": "int64",
}


class DeploymentRange(NamedTuple):
    """When and where a device was deployed; ``end`` is ``None`` while it is ongoing.

    Examples
    --------
    >>> r = DeploymentRange(pd.Timestamp("2021-03-01"), None, "CBCH.H3")
    >>> str(r)
    '2021-03-01 – ongoing at CBCH.H3'
    >>> r.overlaps("2024-01-01", "2024-01-02")
    True
    """

    begin: pd.Timestamp
    end: pd.Timestamp | None
    location_code: str | None = None
    #: ONC's data citation of this deployment (``None`` when ONC gives none).
    citation: Citation | None = None

    def overlaps(self, start: Any, end: Any) -> bool:
        """True when ``[start, end)`` and this deployment share any time."""
        s, e = parse_date(start, argument="start"), parse_date(end, argument="end")
        return s < (self.end if self.end is not None else pd.Timestamp.max) and e > self.begin

    def __str__(self) -> str:
        def fmt(t: pd.Timestamp) -> str:
            return t.strftime("%Y-%m-%d") if t == t.normalize() else t.isoformat()

        end = fmt(self.end) if self.end is not None else "ongoing"
        where = f" at {self.location_code}" if self.location_code else ""
        return f"{fmt(self.begin)} – {end}{where}"


def _flatten_tree(nodes: list[dict[str, Any]] | None, parent: str | None, level: int, out: list):
    for node in nodes or []:
        row = {k: v for k, v in node.items() if k != "children"}
        row["parentLocationCode"] = parent
        row["level"] = level
        children = node.get("children") or []
        row["childCount"] = len(children)
        out.append(row)
        _flatten_tree(children, node.get("locationCode"), level + 1, out)


class DiscoveryMixin:
    """Discovery methods of :class:`~intake_onc.client.ONCClient`."""

    def _discover(self, service: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            data = self._core.get_json(service, onc_params(filters))  # type: ignore[attr-defined]
        except NotFoundError:
            return []  # ONC answers 404 when a filter selects nothing
        return data if isinstance(data, list) else []

    def locations(self, **filters: Any) -> pd.DataFrame:
        """Locations (sites and nodes) matching the filters.

        Parameters
        ----------
        **filters
            ``location_code``, ``device_category``, ``property_code``, ``data_product_code``,
            ``device_code``, ``location_name``, ``start``/``end`` (``dateFrom``/``dateTo``),
            ``include_children``.

        Examples
        --------
        >>> client.locations(location_code="BACAX")[["locationCode", "depth"]]  # doctest: +SKIP
          locationCode  depth
        0        BACAX  985.0
        """
        return to_frame(self._discover("locations", filters))

    def location_tree(self, **filters: Any) -> pd.DataFrame:
        """The location hierarchy, flattened: one row per node, parents before children.

        Adds ``parentLocationCode`` (None at the roots), ``level`` (0 at the roots) and
        ``childCount`` to ONC's node fields. Same filters as :meth:`locations`.

        Examples
        --------
        >>> tree = client.location_tree()  # doctest: +SKIP
        >>> tree.set_index("locationCode").loc["CBCH.H3", "parentLocationCode"]  # doctest: +SKIP
        'CBCH'
        """
        rows: list[dict[str, Any]] = []
        _flatten_tree(self._discover("locations/tree", filters), None, 0, rows)
        return to_frame(rows)

    def deployments(self, **filters: Any) -> pd.DataFrame:
        """Deployments (``begin``/``end``, position, depth, citation) matching the filters.

        ``end`` is ``NaT`` for an ongoing deployment.

        Examples
        --------
        >>> client.deployments(device_code="ICLISTENHF6093")[["begin", "end"]]  # doctest: +SKIP
                begin        end
        0  2021-03-01 2022-06-30
        1  2022-09-01        NaT
        """
        frame = to_frame(self._discover("deployments", filters))
        if "begin" in frame.columns:
            frame = frame.sort_values("begin", kind="stable").reset_index(drop=True)
        return frame

    def devices(self, **filters: Any) -> pd.DataFrame:
        """Devices matching the filters (``dataRating`` holds the sample-period history)."""
        return to_frame(self._discover("devices", filters))

    def device_categories(self, **filters: Any) -> pd.DataFrame:
        """Device categories (``CTD``, ``HYDROPHONE``...) matching the filters."""
        return to_frame(self._discover("deviceCategories", filters))

    def properties(self, **filters: Any) -> pd.DataFrame:
        """Measured properties (``seawatertemperature``, ``salinity``...) with their units."""
        return to_frame(self._discover("properties", filters))

    def data_products(self, **filters: Any) -> pd.DataFrame:
        """Data products and their options (``dataProductOptions``) matching the filters.

        Examples
        --------
        >>> client.data_products(device_code="ICLISTENHF6093", extension="mat")  # doctest: +SKIP
        """
        return to_frame(self._discover("dataProducts", filters))

    def data_availability(self, **filters: Any) -> pd.DataFrame:
        """Which products have files, when, and how much (``dataAvailability/dataproducts``).

        One row per device, product and extension (per day with ``group_by="day"``) with ONC's
        columns (:data:`AVAILABILITY_COLUMNS`); a device with no archived product (most scalar
        devices: their data come from ``scalardata`` or orders) gives those columns and no row.

        Examples
        --------
        >>> client.data_availability(device_code="ICLISTENHF6093")  # doctest: +SKIP
        """
        params = onc_params(filters)
        try:
            data = self._core.get_all_pages(  # type: ignore[attr-defined]
                "dataAvailability/dataproducts", params, _merge_availability
            )
        except NotFoundError:
            data = {}
        records = data.get("availableDataProducts") if isinstance(data, dict) else data
        frame = to_frame(records if isinstance(records, list) else [])
        if frame.empty:  # no product has files: ONC's columns all the same, typed, no rows
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in AVAILABILITY_COLUMNS.items()})
        return frame

    # -- deployment questions ---------------------------------------------------------------
    def deployment_ranges(self, device_code: str) -> list[DeploymentRange]:
        """When (and where) ``device_code`` was deployed, oldest first.

        Examples
        --------
        >>> [str(r) for r in client.deployment_ranges("ICLISTENHF6093")]  # doctest: +SKIP
        ['2021-03-01 – 2022-06-30 at CBCH.H3', '2022-09-01 – ongoing at CBCH.H3']
        """
        if not isinstance(device_code, str) or not device_code:
            raise ValueError(
                f"device_code: expected a device code such as 'ICLISTENHF6093', got {device_code!r}"
            )
        return _ranges(self.deployments(device_code=device_code))

    def check_deployed(self, device_code: str, start: Any, end: Any) -> list[DeploymentRange]:
        """The deployments of ``device_code`` that overlap ``[start, end)``.

        Raises
        ------
        NotDeployedError
            When none does; the error lists every deployment so you can pick dates that work.

        Examples
        --------
        >>> client.check_deployed("ICLISTENHF6093", "2022-07-01", "2022-07-02")  # doctest: +SKIP
        Traceback (most recent call last):
        NotDeployedError: ICLISTENHF6093 was not deployed between 2022-07-01T00:00:00.000Z and ...
        Deployments of ICLISTENHF6093: 2021-03-01 – 2022-06-30 at CBCH.H3; 2022-09-01 – ongoing ...
        """
        s, e = parse_date(start, argument="start"), parse_date(end, argument="end")
        if e <= s:
            raise ValueError(f"end ({e}) must be after start ({s})")
        ranges = self.deployment_ranges(device_code)
        hits = [r for r in ranges if r.overlaps(s, e)]
        if not hits:
            raise NotDeployedError(
                f"{device_code} was not deployed between {format_onc_date(s)} and "
                f"{format_onc_date(e)}; choose dates inside one of its deployments",
                deployments=ranges,
                device_code=device_code,
            )
        return hits

    def _attach_deployments(self, error: NotDeployedError, params: dict[str, str]) -> None:
        """Give a server-side NotDeployedError the deployment ranges (best effort)."""
        if error.deployments:
            return
        filters = {
            k: params[k]
            for k in ("deviceCode", "locationCode", "deviceCategoryCode")
            if params.get(k)
        }
        if not filters:
            return
        try:
            error.deployments = _ranges(self.deployments(**filters))
        except Exception:  # enrichment must never hide the original error
            return
        error.device_code = params.get("deviceCode") or " ".join(
            filter(None, (params.get("deviceCategoryCode"), "at", params.get("locationCode")))
        )


def _ranges(frame: pd.DataFrame) -> list[DeploymentRange]:
    """The deployments of a :meth:`~DiscoveryMixin.deployments` frame (sorted by ``begin``)."""
    if frame.empty or "begin" not in frame.columns:
        return []
    out = []
    for row in frame.itertuples(index=False):
        end = getattr(row, "end", pd.NaT)
        out.append(
            DeploymentRange(
                begin=row.begin,
                end=None if pd.isna(end) else end,
                location_code=getattr(row, "locationCode", None),
                citation=Citation.from_onc(getattr(row, "citation", None)),
            )
        )
    return out


def _merge_availability(result: dict[str, Any], page: dict[str, Any]) -> None:
    key = "availableDataProducts"
    result[key] = list(result.get(key) or []) + list(page.get(key) or [])
