"""Look-ups the endpoints share: request codes to observatory objects, deployments, data sources.

* Codes are matched case-insensitively; an unknown code is ``127 Invalid parameter value`` on
  that parameter (:func:`location_of`, :func:`device_of`, :func:`category_code_of`,
  :func:`property_code_of`, :func:`product_code_of`).
* Device-related filters (``deviceCategoryCode``, ``deviceCode``, ``propertyCode``,
  ``dataProductCode``, ``dateFrom``, ``dateTo``) keep what has a matching *deployment*
  (:func:`matching_deployments`, :class:`Filters`); a deployment matches a range when
  ``begin < dateTo`` and (``end`` is null or ``end > dateFrom``) (:func:`overlaps`).
* :func:`data_sources`: which devices (with their deployments) a data request of
  ``archivefile``, ``scalardata`` or ``dataProductDelivery`` reads, with ONC's "not deployed"
  127 and the restricted-data 127.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from intake_onc.sandbox.observatory.records import Deployment, Device, Location
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.services import wire
from intake_onc.sandbox.services.wire import Query

__all__ = [
    "Filters",
    "category_code_of",
    "data_sources",
    "device_of",
    "location_of",
    "matching_deployments",
    "overlaps",
    "product_code_of",
    "property_code_of",
]


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
    raise wire.invalid_value(parameter)


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
    raise wire.invalid_value("dataProductCode")


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


def _device_offers(device_code: str, product_code: str) -> bool:
    return any(p.code == product_code for p in OBSERVATORY.products_for(device_code))


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


class Filters:
    """The device-related filters of a discovery request, resolved to canonical codes.

    Only the parameters in ``names`` are read (each endpoint has its own set).
    """

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
            raise wire.never_deployed_at_location(location, category)
        found = [d for d in ever if overlaps(d, start, end)]
        if not found:
            raise wire.not_deployed_at_location(
                location,
                category,
                start if start is not None else ever[0].begin,
                end if end is not None else q.now,
            )
    else:
        device = device_of(q.require("deviceCode"))
        if device.restricted:
            raise wire.restricted(device.code, product_code)
        found = [d for d in OBSERVATORY.deployments_of(device.code) if overlaps(d, start, end)]
        if not found:
            if not_deployed_is_error:
                raise wire.not_deployed_device(
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
            raise wire.restricted(device.code, product_code)
        out.append((device, sorted(deps, key=lambda d: d.begin)))
    return out
