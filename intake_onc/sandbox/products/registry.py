"""Data products by code (TSSD, HSD, AD): size estimates, files and the ``meta`` file.

The bridge between a delivery request and the data modules that build products:
:mod:`~intake_onc.sandbox.tssd_writers` (and :mod:`~intake_onc.sandbox.tssd_requests` for
estimates), :mod:`~intake_onc.sandbox.hsd` and :mod:`~intake_onc.sandbox.audio` (imported on
first use). A code the sandbox cannot build raises ``ValueError``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory import OBSERVATORY, DataProduct

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.sandbox.delivery_state import ProductRequest

__all__ = ["build_files", "estimate", "meta_file"]


def _seed_now(sandbox: Any) -> tuple[int, Any]:
    return int(getattr(sandbox, "seed", 0)), (sandbox.now() if hasattr(sandbox, "now") else None)


def estimate(
    req_product: DataProduct,
    device_code: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    extension: str,
    options: dict[str, str],
    sandbox: Any,
) -> int:
    """Estimated bytes of a product for one device (the builders' own cheap estimators)."""
    seed, now = _seed_now(sandbox)
    if req_product.code == "TSSD":
        from intake_onc.sandbox import tssd_requests

        return int(
            tssd_requests.estimate_tssd_size(
                device_code, start, end, options, extension=extension, now=now
            )
        )
    if req_product.code == "HSD":
        from intake_onc.sandbox import hsd

        return int(
            hsd.estimate_hsd_size(device_code, start, end, extension, options, seed=seed, now=now)
        )
    if req_product.code == "AD":
        from intake_onc.sandbox import audio

        return int(
            audio.estimate_audio_size(
                device_code, start, end, extension, options, seed=seed, now=now
            )
        )
    raise ValueError(f"dataProductCode: {req_product.code} cannot be built by the sandbox")


def build_files(req: ProductRequest, device_code: str, sandbox: Any) -> list[tuple[str, bytes]]:
    """The files ``[(name, bytes)]`` a request yields for one of its devices."""
    seed, now = _seed_now(sandbox)
    args = (device_code, req.start, req.end, req.extension, dict(req.options))
    if req.product.code == "TSSD":
        from intake_onc.sandbox import tssd_writers

        return list(tssd_writers.build_tssd_files(*args, seed=seed, now=now))
    if req.product.code == "HSD":
        from intake_onc.sandbox import hsd

        return list(hsd.build_hsd_files(*args, seed=seed, now=now))
    if req.product.code == "AD":
        from intake_onc.sandbox import audio

        return list(audio.build_audio_product_files(*args, seed=seed, now=now))
    raise ValueError(f"dataProductCode: {req.product.code} cannot be built by the sandbox")


def meta_file(
    req: ProductRequest, files: list[tuple[str, bytes]], sandbox: Any
) -> tuple[str, bytes]:
    """The ``meta`` download ``(name, XML bytes)`` of a request's files."""
    _, now = _seed_now(sandbox)
    device_code = req.devices[0]
    if req.product.code == "TSSD":
        from intake_onc.sandbox import tssd_writers

        name = tssd_writers.metadata_filename(
            device_code,
            req.start,
            req.end,
            req.extension,
            req.options,
            files=[n for n, _ in files],
        )
        body = tssd_writers.metadata_xml(
            device_code,
            req.start,
            req.end,
            req.extension,
            req.options,
            files=[(n, len(b)) for n, b in files],
            now=now,
        )
        return name, body
    if files:
        stem = files[0][0].rsplit(".", 1)[0]
    else:
        stem = f"{device_code}_{req.start:%Y%m%dT%H%M%S}.000Z-{req.product.code}"
    name = f"{stem}_{req.extension.upper()}_META.xml"
    return name, _generic_meta_xml(req, files, now)


def _generic_meta_xml(req: ProductRequest, files: list[tuple[str, bytes]], now: Any) -> bytes:
    created = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    root = ET.Element("dataProductMetadata", {"creationDate": format_onc_date(created)})
    ET.SubElement(
        root,
        "dataProduct",
        {"code": req.product.code, "name": req.product.name, "extension": req.extension},
    )
    ET.SubElement(
        root,
        "request",
        {"dateFrom": format_onc_date(req.start), "dateTo": format_onc_date(req.end)},
    )
    for device_code in req.devices:
        device = OBSERVATORY.device(device_code)
        ET.SubElement(
            root,
            "device",
            {
                "deviceCode": device.code,
                "deviceName": device.name,
                "deviceId": str(device.device_id),
                "deviceCategoryCode": device.category_code,
            },
        )
    given = ET.SubElement(root, "options")
    for key in sorted(req.options):
        ET.SubElement(given, "option", {"name": key, "value": req.options[key]})
    listing = ET.SubElement(root, "files")
    for name, body in files:
        ET.SubElement(listing, "file", {"name": name, "size": str(len(body))})
    for citation in req.citations:
        ET.SubElement(root, "citation", {"doi": str(citation["doi"])}).text = citation["citation"]
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
