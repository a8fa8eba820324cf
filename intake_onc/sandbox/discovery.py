"""Discovery endpoints (onc-api.md §2) served from :data:`~.observatory.OBSERVATORY`.

``locations``, ``locations/tree``, ``deployments``, ``devices``, ``deviceCategories``,
``properties``, ``dataProducts`` and ``dataAvailability/dataproducts``, plus the look-ups the data
endpoints share (codes → objects with ONC's 127, "which devices serve this location and category
in this time range" with ONC's "not deployed" 127, restricted devices).

Rules (ONC's where known, else chosen and marked):

* Codes are matched case-insensitively; an unknown code is ``127 Invalid parameter value`` on
  that parameter. Text filters (``locationName``, ``deviceCategoryName``, ``description``,
  ``propertyName``, ``dataProductName``) are case-insensitive substrings.
* Device-related filters (``deviceCategoryCode``, ``deviceCode``, ``propertyCode``,
  ``dataProductCode``, ``dateFrom``, ``dateTo``) keep what has a matching *deployment*; a
  deployment matches a range when ``begin < dateTo`` and (``end`` is null or ``end > dateFrom``).
  Deployments are at leaf sites; a location filter means "deployed at that location" (chosen;
  ``locations?includeChildren=true`` widens the location itself to its subtree).
* Nothing left: 404 — except ``deployments`` for a location and category that had deployments,
  just not in the range: 400/127 with ONC's "deployed ... but not during" message (ONC's tests).
* ``hasDeviceData``/``hasPropertyData`` are the strings ``"true"``/``"false"`` in ``locations``,
  ``locations/tree`` and ``deviceCategories`` (observed) and real booleans elsewhere (observed for
  deployments; chosen for devices, properties and data products).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from intake_onc._dates import format_onc_date
from intake_onc.sandbox import errors
from intake_onc.sandbox.errors import Query
from intake_onc.sandbox.observatory import (
    CATEGORY_PROPERTIES,
    OBSERVATORY,
    DataProduct,
    Deployment,
    Device,
    Location,
)

__all__ = [
    "data_availability",
    "data_products",
    "data_sources",
    "deployments",
    "device_categories",
    "devices",
    "locations",
    "locations_tree",
    "properties",
]

_VOCAB = "https://vocab.intake-onc.invalid"  # synthetic controlled-vocabulary URIs
_DATA_SEARCH = "https://data.oceannetworks.ca/DataSearch?location="
_DEVICE_LINK = "https://data.oceannetworks.ca/DeviceListing?DeviceId="


# ------------------------------------------------------------------------------------------------
# Code look-ups
# ------------------------------------------------------------------------------------------------


def _lookup(table: dict[str, Any], code: str, parameter: str) -> Any:
    if code in table:
        return table[code]
    lowered = code.lower()
    for key, value in table.items():
        if key.lower() == lowered:
            return value
    raise errors.invalid_value(parameter)


def location_of(code: str) -> Location:
    return _lookup(OBSERVATORY.locations, code, "locationCode")


def device_of(code: str) -> Device:
    return _lookup(OBSERVATORY.devices, code, "deviceCode")


def category_code_of(code: str) -> str:
    return _lookup(OBSERVATORY.device_categories, code, "deviceCategoryCode").code


def property_code_of(code: str, parameter: str = "propertyCode") -> str:
    return _lookup(OBSERVATORY.properties, code, parameter).code


def product_code_of(code: str) -> str:
    for product in OBSERVATORY.data_products:
        if product.code.lower() == code.lower():
            return product.code
    raise errors.invalid_value("dataProductCode")


# ------------------------------------------------------------------------------------------------
# Deployments matching filters
# ------------------------------------------------------------------------------------------------


def overlaps(dep: Deployment, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    """Whether a deployment overlaps ``[start, end)`` (either bound may be None)."""
    if end is not None and not dep.begin < end:
        return False
    return not (start is not None and dep.end is not None and not dep.end > start)


def _device_measures(device_code: str, property_code: str) -> bool:
    return any(p.code == property_code for p in OBSERVATORY.properties_of(device_code))


def _device_offers(device_code: str, product_code: str, extension: str | None = None) -> bool:
    return any(
        p.code == product_code and (extension is None or p.extension == extension)
        for p in OBSERVATORY.products_for(device_code)
    )


def matching_deployments(
    *,
    location_codes: Iterable[str] | None = None,
    category_code: str | None = None,
    device_code: str | None = None,
    property_code: str | None = None,
    product_code: str | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> list[Deployment]:
    """Deployments (table order) that satisfy every given filter."""
    locations = None if location_codes is None else set(location_codes)
    out = []
    for dep in OBSERVATORY.deployments:
        device = OBSERVATORY.device(dep.device_code)
        if locations is not None and dep.location_code not in locations:
            continue
        if category_code is not None and device.category_code != category_code:
            continue
        if device_code is not None and dep.device_code != device_code:
            continue
        if property_code is not None and not _device_measures(dep.device_code, property_code):
            continue
        if product_code is not None and not _device_offers(dep.device_code, product_code):
            continue
        if not overlaps(dep, start, end):
            continue
        out.append(dep)
    return out


class _Filters:
    """The device-related filters of a discovery request, resolved to canonical codes."""

    def __init__(self, q: Query, names: Iterable[str]) -> None:
        names = set(names)
        self.location = (
            location_of(q.get("locationCode")).code
            if ("locationCode" in names and q.has("locationCode"))
            else None
        )
        self.category = (
            category_code_of(q.get("deviceCategoryCode"))
            if ("deviceCategoryCode" in names and q.has("deviceCategoryCode"))
            else None
        )
        self.device = (
            device_of(q.get("deviceCode")).code
            if ("deviceCode" in names and q.has("deviceCode"))
            else None
        )
        self.property = (
            property_code_of(q.get("propertyCode"))
            if ("propertyCode" in names and q.has("propertyCode"))
            else None
        )
        self.product = (
            product_code_of(q.get("dataProductCode"))
            if ("dataProductCode" in names and q.has("dataProductCode"))
            else None
        )
        self.start, self.end = (None, None)
        if "dateFrom" in names or "dateTo" in names:
            self.start, self.end = q.dates()

    @property
    def device_related(self) -> bool:
        return any(
            v is not None
            for v in (self.category, self.device, self.property, self.product, self.start, self.end)
        )

    def deployments(self, location_codes: Iterable[str] | None = None, **skip: bool) -> list:
        if location_codes is None and self.location is not None:
            location_codes = [self.location]
        return matching_deployments(
            location_codes=location_codes,
            category_code=None if skip.get("category") else self.category,
            device_code=self.device,
            property_code=None if skip.get("property") else self.property,
            product_code=None if skip.get("product") else self.product,
            start=None if skip.get("dates") else self.start,
            end=None if skip.get("dates") else self.end,
        )


def _contains(text: str | None, needle: str | None) -> bool:
    return needle is None or (text is not None and needle.lower() in text.lower())


def _strbool(value: bool) -> str:
    return "true" if value else "false"


def _fmt(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else format_onc_date(ts)


def _none_left() -> errors.HttpReply:
    return errors.not_found("No data found for the provided filters.")


# ------------------------------------------------------------------------------------------------
# locations, locations/tree
# ------------------------------------------------------------------------------------------------

_LOCATION_FILTERS = (
    "locationCode",
    "deviceCategoryCode",
    "propertyCode",
    "dataProductCode",
    "dateFrom",
    "dateTo",
    "locationName",
    "deviceCode",
)


def _location_item(loc: Location) -> dict[str, Any]:
    subtree = [OBSERVATORY.location(c) for c in OBSERVATORY.descendants(loc.code)]
    lats = [x.lat for x in subtree]
    lons = [x.lon for x in subtree]
    depths = [x.depth for x in subtree if x.depth is not None]
    n_deployments = len(OBSERVATORY.deployments_at(loc.code))
    return {
        "deployments": n_deployments,
        "locationName": loc.name,
        "depth": loc.depth,
        "bbox": {
            "maxDepth": max(depths) if depths else None,
            "maxLat": max(lats),
            "maxLon": max(lons),
            "minDepth": min(depths) if depths else None,
            "minLat": min(lats),
            "minLon": min(lons),
        },
        "description": loc.description,
        "hasDeviceData": _strbool(loc.has_device_data),
        "lon": loc.lon,
        "locationCode": loc.code,
        "hasPropertyData": _strbool(loc.has_device_data),
        "lat": loc.lat,
        "dataSearchURL": _DATA_SEARCH + loc.code,
    }


def _matching_location_codes(filters: _Filters, candidates: list[str]) -> list[str]:
    if not filters.device_related:
        return candidates
    found = {d.location_code for d in filters.deployments(location_codes=candidates)}
    return [c for c in candidates if c in found]


def locations(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/locations``."""
    q.allow(*_LOCATION_FILTERS, "includeChildren")
    filters = _Filters(q, _LOCATION_FILTERS)
    include_children = q.boolean("includeChildren", False)
    if filters.location is not None:
        candidates = (
            OBSERVATORY.descendants(filters.location) if include_children else [filters.location]
        )
    else:
        candidates = list(OBSERVATORY.locations)
    name = q.get("locationName")
    candidates = [c for c in candidates if _contains(OBSERVATORY.location(c).name, name)]
    codes = _matching_location_codes(filters, candidates)
    if not codes:
        raise _none_left()
    return [_location_item(OBSERVATORY.location(c)) for c in codes]


def locations_tree(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/locations/tree``: the hierarchy, pruned to branches that match."""
    q.allow(*_LOCATION_FILTERS)
    filters = _Filters(q, _LOCATION_FILTERS)
    name = q.get("locationName")
    everything = list(OBSERVATORY.locations)
    matched = {
        c
        for c in _matching_location_codes(filters, everything)
        if _contains(OBSERVATORY.location(c).name, name)
    }

    def node(loc: Location) -> dict[str, Any] | None:
        children = [n for n in (node(child) for child in OBSERVATORY.children(loc.code)) if n]
        if loc.code not in matched and not children:
            return None
        return {
            "locationName": loc.name,
            "children": children or None,
            "description": loc.description,
            "hasDeviceData": _strbool(loc.has_device_data),
            "locationCode": loc.code,
            "hasPropertyData": _strbool(loc.has_device_data),
        }

    roots = (
        [OBSERVATORY.location(filters.location)]
        if filters.location is not None
        else OBSERVATORY.children(None)
    )
    tree = [n for n in (node(r) for r in roots) if n]
    if not tree:
        raise _none_left()
    return tree


# ------------------------------------------------------------------------------------------------
# deployments, devices
# ------------------------------------------------------------------------------------------------

_DEPLOYMENT_FILTERS = (
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "propertyCode",
    "dateFrom",
    "dateTo",
)


def _deployment_item(dep: Deployment) -> dict[str, Any]:
    device = OBSERVATORY.device(dep.device_code)
    return {
        "begin": format_onc_date(dep.begin),
        "citation": OBSERVATORY.citation(dep.device_code, int(dep.begin.year)),
        "depth": dep.depth,
        "deviceCategoryCode": device.category_code,
        "deviceCode": dep.device_code,
        "end": _fmt(dep.end),
        "hasDeviceData": True,
        "heading": dep.heading,
        "lat": dep.lat,
        "locationCode": dep.location_code,
        "lon": dep.lon,
        "pitch": dep.pitch,
        "roll": dep.roll,
    }


def deployments(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/deployments``."""
    q.allow(*_DEPLOYMENT_FILTERS)
    filters = _Filters(q, _DEPLOYMENT_FILTERS)
    found = filters.deployments()
    if not found:
        if (
            filters.location is not None
            and filters.category is not None
            and (filters.start is not None or filters.end is not None)
            and filters.deployments(dates=True)
        ):
            start = filters.start if filters.start is not None else pd.Timestamp("1900-01-01")
            end = filters.end if filters.end is not None else q.now
            raise errors.not_deployed_at_location(filters.location, filters.category, start, end)
        raise _none_left()
    return [_deployment_item(d) for d in found]


def _device_item(device: Device) -> dict[str, Any]:
    return {
        "cvTerm": {
            "device": [{"uri": f"{_VOCAB}/device/{device.code}", "vocabulary": "Sandbox Devices"}]
        },
        "dataRating": [
            {
                "dateFrom": format_onc_date(r.date_from),
                "dateTo": _fmt(r.date_to),
                "samplePeriod": float(r.sample_period),
                "sampleSize": int(r.sample_size),
            }
            for r in device.ratings
        ],
        "deviceCategoryCode": device.category_code,
        "deviceCode": device.code,
        "deviceId": device.device_id,
        "deviceLink": f"{_DEVICE_LINK}{device.device_id}",
        "deviceName": device.name,
        "hasDeviceData": True,
    }


def devices(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/devices``."""
    q.allow(*_DEPLOYMENT_FILTERS)
    filters = _Filters(q, _DEPLOYMENT_FILTERS)
    codes = {d.device_code for d in filters.deployments()}
    found = [dev for code, dev in OBSERVATORY.devices.items() if code in codes]
    if not found:
        raise _none_left()
    return [_device_item(d) for d in found]


# ------------------------------------------------------------------------------------------------
# deviceCategories, properties
# ------------------------------------------------------------------------------------------------


def device_categories(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/deviceCategories``."""
    names = (
        "deviceCategoryCode",
        "deviceCategoryName",
        "description",
        "locationCode",
        "propertyCode",
    )
    q.allow(*names)
    filters = _Filters(q, ("deviceCategoryCode", "locationCode", "propertyCode"))
    if filters.location is not None or filters.property is not None:
        present = {
            OBSERVATORY.device(d.device_code).category_code
            for d in filters.deployments(category=True)
        }
    else:
        present = set(OBSERVATORY.device_categories)
    out = []
    for cat in OBSERVATORY.device_categories.values():
        if filters.category is not None and cat.code != filters.category:
            continue
        if cat.code not in present:
            continue
        if not _contains(cat.name, q.get("deviceCategoryName")):
            continue
        if not _contains(cat.description, q.get("description")):
            continue
        has_data = any(d.category_code == cat.code for d in OBSERVATORY.devices.values())
        out.append(
            {
                "cvTerm": {
                    "deviceCategory": [
                        {
                            "uri": f"{_VOCAB}/deviceCategory/{cat.code}",
                            "vocabulary": "Sandbox Device Categories",
                        }
                    ]
                },
                "description": cat.description,
                "deviceCategoryCode": cat.code,
                "deviceCategoryName": cat.name,
                "hasDeviceData": _strbool(has_data),
                "longDescription": cat.long_description,
            }
        )
    if not out:
        raise _none_left()
    return out


def properties(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/properties``."""
    names = (
        "propertyCode",
        "propertyName",
        "description",
        "locationCode",
        "deviceCategoryCode",
        "deviceCode",
    )
    q.allow(*names)
    filters = _Filters(q, ("propertyCode", "locationCode", "deviceCategoryCode", "deviceCode"))
    if filters.location is not None or filters.category is not None or filters.device is not None:
        present: set[str] = set()
        for dep in filters.deployments(property=True):
            present.update(p.code for p in OBSERVATORY.properties_of(dep.device_code))
    else:
        present = set(OBSERVATORY.properties)
    measured = {code for codes in CATEGORY_PROPERTIES.values() for code in codes}
    out = []
    for prop in OBSERVATORY.properties.values():
        if filters.property is not None and prop.code != filters.property:
            continue
        if prop.code not in present:
            continue
        if not _contains(prop.name, q.get("propertyName")):
            continue
        if not _contains(prop.description, q.get("description")):
            continue
        out.append(
            {
                "cvTerm": {
                    "property": [],
                    "uom": [{"uri": f"{_VOCAB}/uom/{prop.unit}", "vocabulary": "Sandbox Units"}],
                },
                "description": prop.description,
                "hasDeviceData": prop.code in measured,
                "hasPropertyData": prop.code in measured,
                "propertyCode": prop.code,
                "propertyName": prop.name,
                "uom": prop.unit,
            }
        )
    if not out:
        raise _none_left()
    return out


# ------------------------------------------------------------------------------------------------
# dataProducts
# ------------------------------------------------------------------------------------------------


def product_options(product: DataProduct) -> list[dict[str, Any]]:
    """``dataProductOptions`` of a product, from its :class:`ProductOption` table."""
    out = []
    for opt in product.options:
        allowable_range = None
        if opt.allowable_range is not None:
            lower, upper, only_integers, unit = opt.allowable_range
            allowable_range = {
                "lowerBound": str(lower),
                "onlyIntegers": bool(only_integers),
                "unitOfMeasure": unit,
                "upperBound": str(upper),
            }
        out.append(
            {
                "allowableRange": allowable_range,
                "allowableValues": list(opt.allowed),
                "defaultValue": opt.default,
                "documentation": [product.help_document] if product.help_document else [],
                "option": opt.option,
                "suboptions": None,
            }
        )
    return out


def data_products(q: Query, sandbox: Any = None) -> list[dict[str, Any]]:
    """``GET /api/dataProducts``."""
    names = (
        "dataProductCode",
        "extension",
        "dataProductName",
        "propertyCode",
        "locationCode",
        "deviceCategoryCode",
        "deviceCode",
    )
    q.allow(*names)
    filters = _Filters(
        q, ("dataProductCode", "propertyCode", "locationCode", "deviceCategoryCode", "deviceCode")
    )
    restrict = any(
        v is not None
        for v in (filters.location, filters.category, filters.device, filters.property)
    )
    categories = (
        {OBSERVATORY.device(d.device_code).category_code for d in filters.deployments(product=True)}
        if restrict
        else None
    )
    extension = q.get("extension")
    out = []
    for product in OBSERVATORY.data_products:
        if filters.product is not None and product.code != filters.product:
            continue
        if extension is not None and product.extension.lower() != extension.lower():
            continue
        if not _contains(product.name, q.get("dataProductName")):
            continue
        if categories is not None and not categories.intersection(product.device_categories):
            continue
        out.append(
            {
                "dataProductCode": product.code,
                "dataProductName": product.name,
                "dataProductOptions": product_options(product),
                "extension": product.extension,
                "hasDeviceData": True,
                "hasPropertyData": product.code == "TSSD",
                "helpDocument": product.help_document,
            }
        )
    if not out:
        raise _none_left()
    return out


# ------------------------------------------------------------------------------------------------
# Data sources of the data endpoints (archivefile, scalardata, dataProductDelivery)
# ------------------------------------------------------------------------------------------------


def data_sources(
    q: Query,
    *,
    by_location: bool,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    product_code: str,
    property_codes: Iterable[str] = (),
    not_deployed_is_error: bool = True,
) -> list[tuple[Device, list[Deployment]]]:
    """The devices (with their deployments overlapping ``[start, end)``) a data request reads.

    ``by_location``: ``locationCode`` + ``deviceCategoryCode`` (required, 128) and optionally
    ``propertyCode``; else ``deviceCode`` (required, 128). Errors: 127 for unknown codes, ONC's
    "not deployed" 127 (for a device only when ``not_deployed_is_error``; otherwise the device
    comes back with no deployments), and the restricted-data 127.
    """
    props = [property_code_of(p) for p in property_codes]
    if by_location:
        location = location_of(q.require("locationCode")).code
        category = category_code_of(q.require("deviceCategoryCode"))
        ever = matching_deployments(location_codes=[location], category_code=category)
        if props:
            ever = [d for d in ever if any(_device_measures(d.device_code, p) for p in props)]
        if not ever:
            raise errors.never_deployed_at_location(location, category)
        found = [d for d in ever if overlaps(d, start, end)]
        if not found:
            raise errors.not_deployed_at_location(
                location,
                category,
                start if start is not None else ever[0].begin,
                end if end is not None else q.now,
            )
    else:
        device = device_of(q.require("deviceCode"))
        if device.restricted:
            raise errors.restricted(device.code, product_code)
        found = [d for d in OBSERVATORY.deployments_of(device.code) if overlaps(d, start, end)]
        if not found:
            if not_deployed_is_error:
                raise errors.not_deployed_device(
                    device.code,
                    start
                    if start is not None
                    else OBSERVATORY.deployments_of(device.code)[0].begin,
                    end if end is not None else q.now,
                )
            return [(device, [])]
    grouped: dict[str, list[Deployment]] = {}
    for dep in found:
        grouped.setdefault(dep.device_code, []).append(dep)
    out = []
    for code, deps in grouped.items():
        device = OBSERVATORY.device(code)
        if device.restricted:
            raise errors.restricted(device.code, product_code)
        out.append((device, sorted(deps, key=lambda d: d.begin)))
    return out


# ------------------------------------------------------------------------------------------------
# dataAvailability/dataproducts
# ------------------------------------------------------------------------------------------------

_AVAILABILITY_FILTERS = (
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "propertyCode",
    "dateFrom",
    "dateTo",
    "dataProductCode",
    "extension",
    "minimumCoverage",
    "maximumCoverage",
    "getLatest",
    "groupBy",
    "mergeGaps",
    "includeEmptyDays",
    "rowLimit",
)


def data_availability(q: Query, sandbox: Any) -> dict[str, Any]:
    """``GET /api/dataAvailability/dataproducts``: archived products per device and extension.

    Computed from the archive listing (hydrophones' audio and spectrogram files; scalar devices
    have no archived products in the sandbox). ``groupBy=day`` gives one item per UTC day
    (chosen); ``getLatest=true`` keeps the latest day of each group; ``minimumCoverage``/
    ``maximumCoverage`` (0–100 %, chosen) filter on the average file coverage; ``mergeGaps`` and
    ``includeEmptyDays`` are accepted and have no effect.
    """
    from intake_onc.sandbox import archive

    q.allow(*_AVAILABILITY_FILTERS)
    filters = _Filters(
        q, ("locationCode", "deviceCategoryCode", "deviceCode", "propertyCode", "dataProductCode")
    )
    start, end = q.dates()
    group_by = q.choice("groupBy", ("device", "location", "day"), "device")
    get_latest = q.boolean("getLatest", False)
    q.boolean("mergeGaps", False)
    q.boolean("includeEmptyDays", False)
    row_limit = q.row_limit()
    min_cov = q.number("minimumCoverage")
    max_cov = q.number("maximumCoverage")
    extension = q.get("extension")
    deps = filters.deployments()
    deps = [d for d in deps if overlaps(d, start, end)]
    items: list[dict[str, Any]] = []
    for device_code in dict.fromkeys(d.device_code for d in deps):
        device = OBSERVATORY.device(device_code)
        if device.restricted or device.audio is None:
            continue
        lo = (
            start
            if start is not None
            else min(d.begin for d in deps if d.device_code == device_code)
        )
        hi = end if end is not None else q.now
        files = archive.device_files(sandbox, device_code, lo, hi)
        if files.empty:
            continue
        files = files.assign(
            extension=files["filename"].str.rsplit(".", n=1).str[-1],
            product=files["filename"].map(archive.product_code_of_file),
        )
        if filters.product is not None:
            files = files[files["product"] == filters.product]
        if extension is not None:
            files = files[files["extension"].str.lower() == extension.lower()]
        if files.empty:
            continue
        nominal = float(device.audio.file_seconds)
        files = files.assign(
            coverage=((files["end_time"] - files["start_time"]).dt.total_seconds() / nominal).clip(
                upper=1.0
            ),
            day=files["start_time"].dt.floor("D"),
        )
        keys = ["product", "extension"] + (["day"] if group_by == "day" else [])
        for _key, group in files.groupby(keys, sort=True):
            items.append(_availability_item(device_code, group))
    if get_latest and items:
        latest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for item in items:
            k = (item["deviceCode"], item["dataProductCode"], item["extension"])
            if k not in latest or item["dateTo"] > latest[k]["dateTo"]:
                latest[k] = item
        items = list(latest.values())
    if min_cov is not None:
        items = [i for i in items if i["averageFileCoverage"] * 100.0 >= min_cov]
    if max_cov is not None:
        items = [i for i in items if i["averageFileCoverage"] * 100.0 <= max_cov]
    return {
        "availableDataProducts": items[:row_limit],
        "messages": [],
        "next": None,
        "queryUrl": q.url(),
    }


def _availability_item(device_code: str, group: pd.DataFrame) -> dict[str, Any]:
    cov = group["coverage"].to_numpy(dtype="float64")
    i_min, i_max = int(cov.argmin()), int(cov.argmax())
    return {
        "averageFileCoverage": round(float(cov.mean()), 4),
        "dataProductCode": str(group["product"].iloc[0]),
        "dateFrom": format_onc_date(group["start_time"].min()),
        "dateTo": format_onc_date(group["end_time"].max()),
        "deviceCode": device_code,
        "extension": str(group["extension"].iloc[0]),
        "fileCount": int(len(group)),
        "maxFileCoverage": round(float(cov[i_max]), 4),
        "maxFileCoverageDate": format_onc_date(group["start_time"].iloc[i_max]),
        "minFileCoverage": round(float(cov[i_min]), 4),
        "minFileCoverageDate": format_onc_date(group["start_time"].iloc[i_min]),
        "totalFileSize": int(group["fileSize"].sum()),
        "totalUncompressedFileSize": int(group["uncompressedFileSize"].sum()),
    }
