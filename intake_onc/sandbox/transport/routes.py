"""Routing of ``/api/`` requests: the services, ONC's legacy ``method=`` forms, :func:`resolve`.

Every endpoint is a plain function ``endpoint(query, sandbox)`` of the module that answers it
(:mod:`~.discovery`, :mod:`~.availability`, :mod:`~.archive`, :mod:`~.scalardata`,
:mod:`~.delivery`); :data:`ROUTES` maps new-style paths (``/api/<service>``) to them and
:data:`LEGACY` the old ``/api/<base>?method=<m>`` forms to those paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import (
    archivefile,
    availability,
    delivery,
    discovery,
    rawdata,
    scalardata,
    wire,
)
from intake_onc.sandbox.services.wire import Query

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["LEGACY", "ROUTES", "Endpoint", "resolve"]

Endpoint = Callable[[Query, SandboxContext], Any]

#: New-style services (``/api/<service>``).
ROUTES: dict[str, Endpoint] = {
    "locations": discovery.locations,
    "locations/tree": discovery.locations_tree,
    "deployments": discovery.deployments,
    "devices": discovery.devices,
    "deviceCategories": discovery.device_categories,
    "properties": discovery.properties,
    "dataProducts": discovery.data_products,
    "dataAvailability/dataproducts": availability.data_availability,
    "archivefile/device": archivefile.by_device,
    "archivefile/location": archivefile.by_location,
    "archivefile/download": archivefile.download,
    "scalardata/device": scalardata.by_device,
    "scalardata/location": scalardata.by_location,
    "rawdata/device": rawdata.by_device,
    "rawdata/location": rawdata.by_location,
    "dataProductDelivery/request": delivery.request,
    "dataProductDelivery/run": delivery.run,
    "dataProductDelivery/status": delivery.status,
    "dataProductDelivery/download": delivery.download,
    "dataProductDelivery/cancel": delivery.cancel,
    "dataProductDelivery/restart": delivery.restart,
}

_ARCHIVE_LEGACY = {
    "getlistbydevice": "archivefile/device",
    "getlistbylocation": "archivefile/location",
    "getfile": "archivefile/download",
    "getlist": None,  # by device when deviceCode is given, else by location
}

#: Legacy services (``/api/<base>?method=<m>``), method names lower-cased.
LEGACY: dict[str, dict[str, str | None]] = {
    "locations": {"get": "locations", "gettree": "locations/tree"},
    "deployments": {"get": "deployments"},
    "devices": {"get": "devices"},
    "devicecategories": {"get": "deviceCategories"},
    "properties": {"get": "properties"},
    "dataproducts": {"get": "dataProducts"},
    "archivefiles": _ARCHIVE_LEGACY,
    "archivefile": _ARCHIVE_LEGACY,
    "scalardata": {
        "getbylocation": "scalardata/location",
        "getbydevice": "scalardata/device",
    },
    "rawdata": {"getbylocation": "rawdata/location", "getbydevice": "rawdata/device"},
    "dataproductdelivery": {
        name.lower(): f"dataProductDelivery/{name}"
        for name in ("request", "run", "status", "download", "cancel", "restart")
    },
}

_ROUTES_LOWER = {path.lower(): path for path in ROUTES}


def resolve(path: str, params: dict[str, str]) -> Endpoint:
    """The endpoint for ``/api/...`` (404 for an unknown service)."""
    service = path[len("/api/") :].strip("/")
    method = (params.get("method") or "").strip()
    canonical = _ROUTES_LOWER.get(service.lower())
    methods = LEGACY.get(service.lower())
    if canonical is not None and (not method or methods is None):
        # A new-style path; a method= there (the official client's pre-filled download
        # URL has one) changes nothing.
        return ROUTES[canonical]
    if methods is None:
        raise wire.not_found(f"Unknown service: /api/{service}")
    if not method:
        raise wire.missing_parameter("method")
    if method.lower() not in methods:
        raise wire.invalid_value("method")
    target = methods[method.lower()]
    if target is None:  # archivefiles?method=getList
        target = "archivefile/device" if params.get("deviceCode") else "archivefile/location"
    return ROUTES[target]
