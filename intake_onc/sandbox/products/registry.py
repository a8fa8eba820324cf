"""Data products by code: :data:`PRODUCTS` maps a code (``TSSD``, ``TSSP``, ``HSD``, ``AD``) to its entry
point (like xarray's ``BACKEND_ENTRYPOINTS``), an object with ``estimate``, ``build`` and
``meta``.

Entry points are light: each imports its builder module (:mod:`~.tssd_options` /
:mod:`~.tssd_files`, :mod:`~.hsd`, :mod:`~.audio`, which pull in scipy, soundfile, ...) on first
use. :func:`estimate`, :func:`build_files` and :func:`meta_file` are what the delivery service
calls; a code with no entry point raises ``ValueError``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.observatory.records import DataProduct
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products.context import SandboxContext

__all__ = [
    "PRODUCTS",
    "ProductEntrypoint",
    "ProductOrder",
    "build_files",
    "entrypoint",
    "estimate",
    "meta_file",
]

#: ``[(name, body)]``: ``body`` is ``bytes`` or a :class:`~.spool.FileBody` (``len()`` = size).
Files = list[tuple[str, Any]]


class ProductOrder(Protocol):
    """What a product needs of a delivery request (the dataProductDelivery service's
    ``ProductRequest`` satisfies it)."""

    product: DataProduct
    devices: Sequence[str]
    start: pd.Timestamp
    end: pd.Timestamp
    extension: str
    options: Mapping[str, str]
    citations: Sequence[Mapping[str, Any]]


class ProductEntrypoint(Protocol):
    """One data product: its size estimate, its files and its ``meta`` file."""

    def estimate(
        self,
        device_code: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        extension: str,
        options: dict[str, str],
        *,
        seed: int,
        now: Any,
    ) -> int: ...

    def build(
        self,
        device_code: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        extension: str,
        options: dict[str, str],
        *,
        seed: int,
        now: Any,
    ) -> Files: ...

    def meta(self, req: ProductOrder, files: Files, *, now: Any) -> tuple[str, bytes]: ...


class _GenericMeta:
    """The ``meta`` file of products without their own (HSD, AD)."""

    def meta(self, req: ProductOrder, files: Files, *, now: Any) -> tuple[str, bytes]:
        device_code = req.devices[0]
        if files:
            stem = files[0][0].rsplit(".", 1)[0]
        else:
            stem = f"{device_code}_{req.start:%Y%m%dT%H%M%S}.000Z-{req.product.code}"
        name = f"{stem}_{req.extension.upper()}_META.xml"
        return name, _generic_meta_xml(req, files, now)


class TimeSeriesScalarData:
    """``TSSD``: scalar time series as CSV/JSON/MAT/ODV text/netCDF (:mod:`~.tssd_files`)."""

    def estimate(self, device_code, start, end, extension, options, *, seed, now) -> int:
        from intake_onc.sandbox.products import tssd_options

        return int(
            tssd_options.estimate_tssd_size(
                device_code, start, end, options, extension=extension, now=now
            )
        )

    def build(self, device_code, start, end, extension, options, *, seed, now) -> Files:
        from intake_onc.sandbox.products import tssd_files

        return list(
            tssd_files.build_tssd_files(
                device_code, start, end, extension, options, seed=seed, now=now
            )
        )

    def meta(self, req: ProductOrder, files: Files, *, now: Any) -> tuple[str, bytes]:
        from intake_onc.sandbox.products import tssd_files, tssd_options

        device_code = req.devices[0]
        name = tssd_options.metadata_filename(
            device_code,
            req.start,
            req.end,
            req.extension,
            req.options,
            files=[n for n, _ in files],
        )
        body = tssd_files.metadata_xml(
            device_code,
            req.start,
            req.end,
            req.extension,
            req.options,
            files=[(n, len(b)) for n, b in files],
            now=now,
        )
        return name, body


class HydrophoneSpectralData(_GenericMeta):
    """``HSD``: hydrophone spectrograms as MAT/PNG (:mod:`~.hsd`)."""

    def estimate(self, device_code, start, end, extension, options, *, seed, now) -> int:
        from intake_onc.sandbox.products import hsd

        return int(
            hsd.estimate_hsd_size(device_code, start, end, extension, options, seed=seed, now=now)
        )

    def build(self, device_code, start, end, extension, options, *, seed, now) -> Files:
        from intake_onc.sandbox.products import hsd

        return list(
            hsd.build_hsd_files(device_code, start, end, extension, options, seed=seed, now=now)
        )


class AudioData(_GenericMeta):
    """``AD``: hydrophone audio as WAV/FLAC (:mod:`~.audio`)."""

    def estimate(self, device_code, start, end, extension, options, *, seed, now) -> int:
        from intake_onc.sandbox.products import audio

        return int(
            audio.estimate_audio_size(
                device_code, start, end, extension, options, seed=seed, now=now
            )
        )

    def build(self, device_code, start, end, extension, options, *, seed, now) -> Files:
        from intake_onc.sandbox.products import audio

        return list(
            audio.build_audio_product_files(
                device_code, start, end, extension, options, seed=seed, now=now
            )
        )


class TimeSeriesScalarPlot(_GenericMeta):
    """``TSSP``: scalar time series plots as PNG/PDF (:mod:`~.tssp`; needs matplotlib)."""

    def estimate(self, device_code, start, end, extension, options, *, seed, now) -> int:
        from intake_onc.sandbox.products import tssp

        tssp.check_plotting()  # no matplotlib: the request is refused, naming the cause
        # a plot's size hardly depends on the range: ONC estimated 151 kB for a CTD's 30 min
        return 150_000 if extension == "png" else 60_000

    def build(self, device_code, start, end, extension, options, *, seed, now) -> Files:
        from intake_onc.sandbox.products import tssp

        return list(
            tssp.build_tssp_files(device_code, start, end, extension, options, seed=seed, now=now)
        )


#: The data products the sandbox builds, by ``dataProductCode``.
PRODUCTS: dict[str, ProductEntrypoint] = {
    "TSSD": TimeSeriesScalarData(),
    "HSD": HydrophoneSpectralData(),
    "AD": AudioData(),
    "TSSP": TimeSeriesScalarPlot(),
}


def entrypoint(code: str) -> ProductEntrypoint:
    """The entry point of product ``code`` (``ValueError`` when the sandbox cannot build it)."""
    try:
        return PRODUCTS[code]
    except KeyError:
        raise ValueError(f"dataProductCode: {code} cannot be built by the sandbox") from None


def _seed_now(context: SandboxContext | Any) -> tuple[int, Any]:
    return int(getattr(context, "seed", 0)), (context.now() if hasattr(context, "now") else None)


def estimate(
    req_product: DataProduct,
    device_code: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    extension: str,
    options: dict[str, str],
    context: SandboxContext,
) -> int:
    """Estimated bytes of a product for one device (the builders' own cheap estimators)."""
    product = entrypoint(req_product.code)
    seed, now = _seed_now(context)
    return product.estimate(device_code, start, end, extension, options, seed=seed, now=now)


def build_files(
    req: ProductOrder,
    device_code: str,
    context: SandboxContext,
    directory: str | None = None,
    memory_limit: int = 8 * 1024 * 1024,
) -> Files:
    """The files ``[(name, body)]`` a request yields for one of its devices.

    Without ``directory`` the bodies are ``bytes``. With one, they go to disk: TSSD CSV/JSON
    is written there as it is encoded (:func:`~.tssd_files.write_tssd_files`), and any other
    body larger than ``memory_limit`` bytes is written there once built
    (:func:`~.spool.spill`); those bodies are :class:`~.spool.FileBody` objects.
    """
    product = entrypoint(req.product.code)
    seed, now = _seed_now(context)
    if directory is not None and req.product.code == "TSSD" and req.extension in ("csv", "json"):
        from intake_onc.sandbox.products import tssd_files

        return list(
            tssd_files.write_tssd_files(
                device_code,
                req.start,
                req.end,
                req.extension,
                dict(req.options),
                directory,
                seed=seed,
                now=now,
            )
        )
    files = product.build(
        device_code, req.start, req.end, req.extension, dict(req.options), seed=seed, now=now
    )
    if directory is not None:
        from intake_onc.sandbox.products.spool import spill

        files = spill(files, directory, memory_limit)
    return files


def meta_file(req: ProductOrder, files: Files, context: SandboxContext) -> tuple[str, bytes]:
    """The ``meta`` download ``(name, XML bytes)`` of a request's files."""
    _, now = _seed_now(context)
    return PRODUCTS.get(req.product.code, _GenericMeta()).meta(req, files, now=now)


def _generic_meta_xml(req: ProductOrder, files: list[tuple[str, bytes]], now: Any) -> bytes:
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
