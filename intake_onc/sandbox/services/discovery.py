"""Discovery endpoints (onc-api.md §2) served from :data:`~.observatory.OBSERVATORY`.

``locations``, ``locations/tree``, ``deployments``, ``devices``, ``deviceCategories``,
``properties`` and ``dataProducts``. ``dataAvailability/dataproducts`` is answered by
:mod:`~intake_onc.sandbox.services.availability`, and the look-ups all endpoints share (codes → objects
with ONC's 127, "which devices serve this location and category in this time range" with ONC's
"not deployed" 127, restricted devices) live in :mod:`~intake_onc.sandbox.services.lookups`; their names
are re-exported here.

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

from typing import Any

import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory.records import DataProduct, Deployment, Device, Location
from intake_onc.sandbox.observatory.tables import CATEGORY_PROPERTIES, OBSERVATORY
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import wire
from intake_onc.sandbox.services.lookups import (
    Filters,
)
from intake_onc.sandbox.services.wire import Query

__all__ = [
    "data_products",
    "deployments",
    "device_categories",
    "devices",
    "locations",
    "locations_tree",
    "product_options",
    "properties",
]

_VOCAB = "https://vocab.intake-onc.invalid"  # synthetic controlled-vocabulary URIs
_DATA_SEARCH = "https://data.oceannetworks.ca/DataSearch?location="
_DEVICE_LINK = "https://data.oceannetworks.ca/DeviceListing?DeviceId="


def _contains(text: str | None, needle: str | None) -> bool:
    return needle is None or (text is not None and needle.lower() in text.lower())


def _has_property_data(location_code: str) -> bool:
    """Whether scalar (property) data was ever measured at a location: a scalar device there."""
    return any(
        OBSERVATORY.device(d.device_code).kind == "scalar"
        for d in OBSERVATORY.deployments_at(location_code)
    )


def _strbool(value: bool) -> str:
    return "true" if value else "false"


def _fmt(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else format_onc_date(ts)


def _none_left() -> wire.HttpReply:
    return wire.not_found("No data found for the provided filters.")


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
        "hasPropertyData": _strbool(_has_property_data(loc.code)),
        "lat": loc.lat,
        "dataSearchURL": _DATA_SEARCH + loc.code,
    }


def _matching_location_codes(filters: Filters, candidates: list[str]) -> list[str]:
    if not filters.device_related:
        return candidates
    found = {d.location_code for d in filters.deployments(location_codes=candidates)}
    return [c for c in candidates if c in found]


def locations(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
    """``GET /api/locations``."""
    q.allow(*_LOCATION_FILTERS, "includeChildren")
    filters = Filters(q, _LOCATION_FILTERS)
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


def locations_tree(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
    """``GET /api/locations/tree``: the hierarchy, pruned to branches that match."""
    q.allow(*_LOCATION_FILTERS)
    filters = Filters(q, _LOCATION_FILTERS)
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
            "hasPropertyData": _strbool(_has_property_data(loc.code)),
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
        "citation": OBSERVATORY.citation(dep.device_code, dep),
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


def deployments(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
    """``GET /api/deployments``."""
    q.allow(*_DEPLOYMENT_FILTERS)
    filters = Filters(q, _DEPLOYMENT_FILTERS)
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
            raise wire.not_deployed_at_location(filters.location, filters.category, start, end)
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


def devices(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
    """``GET /api/devices``."""
    q.allow(*_DEPLOYMENT_FILTERS)
    filters = Filters(q, _DEPLOYMENT_FILTERS)
    if not any(
        q.get(k)
        for k in _DEPLOYMENT_FILTERS
        if k not in ("deviceCode", "deviceCategoryCode", "deviceName")
    ):
        # devices by code, category or name: every device ONC lists, deployed or not
        found = [
            dev
            for dev in OBSERVATORY.devices.values()
            if (filters.device is None or dev.code == filters.device)
            and (filters.category is None or dev.category_code == filters.category)
        ]
        if found and q.get("deviceName"):
            found = [d for d in found if _contains(d.name, q.get("deviceName"))]
        if not found:
            raise _none_left()
        return [_device_item(d) for d in found]
    codes = {d.device_code for d in filters.deployments()}
    found = [dev for code, dev in OBSERVATORY.devices.items() if code in codes]
    if not found:
        raise _none_left()
    return [_device_item(d) for d in found]


# ------------------------------------------------------------------------------------------------
# deviceCategories, properties
# ------------------------------------------------------------------------------------------------


def device_categories(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
    """``GET /api/deviceCategories``."""
    names = (
        "deviceCategoryCode",
        "deviceCategoryName",
        "description",
        "locationCode",
        "propertyCode",
    )
    q.allow(*names)
    filters = Filters(q, ("deviceCategoryCode", "locationCode", "propertyCode"))
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


def properties(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
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
    filters = Filters(q, ("propertyCode", "locationCode", "deviceCategoryCode", "deviceCode"))
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


def data_products(q: Query, sandbox: SandboxContext | None = None) -> list[dict[str, Any]]:
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
    filters = Filters(
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
