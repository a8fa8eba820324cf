"""The whole ONC location tree as an Intake catalog, expanded one level at a time.

``ONCCatalog()`` is the root: one entry per top-level location. Opening an entry reads the next
level: a location's children (each again a catalog) and, where devices are deployed, one entry
per device × data product ONC reports there (``<deviceCode>_<productCode>``, e.g.
``ICLISTENHF6324_HSD``), which reads exactly like the static catalog's entries.

Requests: the location tree (``locations/tree``) is read once per process and server and kept
for :data:`TREE_SECONDS`, so no level below the first asks for it again (entries of an Intake
catalog are rebuilt from their descriptions when accessed, so a reader cannot carry it along); a
location with devices makes one ``deployments`` and one ``dataProducts`` request when it is
opened. Listing a catalog already opened makes none.

Examples
--------
>>> cat = ONCCatalog(client=client)  # doctest: +SKIP
>>> list(cat)  # doctest: +SKIP
['NEP', 'SAL']
>>> hsd = cat.SAL.read().CBCH.read()["CBCH.H1"].read().ICLISTENHF6324_HSD  # doctest: +SKIP
>>> hsd(start="2024-04-01T00:00", end="2024-04-01T00:10").read()  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from typing import Any

from intake.readers.readers import BaseReader

from intake_onc.readers.devices import (
    PRODUCT_READERS,
    ONCLocation,
    _ClientMixin,
    reader_for,
)

__all__ = ["TREE_SECONDS", "ONCCatalog", "ONCCatalogReader"]

#: How long the location tree read from a server is reused (s).
TREE_SECONDS = 600.0
_TREES: dict[str, tuple[float, list[dict]]] = {}
_TREES_LOCK = threading.Lock()


def _tree(client: Any) -> list[dict]:
    """The server's location tree (rows, parents first), read at most once per TREE_SECONDS."""
    key = str(getattr(client, "base_url", ""))
    with _TREES_LOCK:
        cached = _TREES.get(key)
        if cached is not None and time.monotonic() - cached[0] < TREE_SECONDS:
            return cached[1]
    frame = client.location_tree()
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    with _TREES_LOCK:
        _TREES[key] = (time.monotonic(), rows)
    return rows


#: ONC data products a tree entry can read, by device category: ``AD`` (audio) and ``HSD``
#: (spectrograms) for hydrophones, ``TSSD`` (time series) for every scalar category.
_HYDROPHONE_PRODUCTS = ("AD", "HSD")
_SCALAR_PRODUCTS = ("TSSD",)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _deployment_ranges(rows: Any) -> list[list[str | None]]:
    out = []
    for begin, end in zip(rows["begin"], rows["end"], strict=True):
        out.append([_text(begin), _text(end) if _text(end) != "NaT" else None])
    return out


class ONCCatalogReader(_ClientMixin, BaseReader):
    """One level of the ONC location tree as an Intake ``Catalog`` (see :func:`ONCCatalog`).

    ``data.location_code`` is ``None`` for the root. ``start``/``end`` are passed to every
    device entry (and limit the deployments listed).
    """

    implements = {ONCLocation}
    imports = {"requests", "pandas"}
    output_instance = "intake.readers.entry:Catalog"

    @staticmethod
    def _branch(rows: list[dict], code: str | None) -> list[dict]:
        """The rows below ``code`` (every row for the root), parents before children."""
        if code is None:
            return rows
        below, inside, level = [], False, 0
        for row in rows:
            if row["locationCode"] == code:
                inside, level = True, row["level"]
                continue
            if inside:
                if row["level"] <= level:
                    break
                below.append(row)
        return below

    def _read(self, data: ONCLocation, start: Any = None, end: Any = None, **kwargs: Any) -> Any:
        from intake.readers.entry import Catalog

        options = kwargs.get("client_options")
        client = self._get_client(kwargs)
        if options is not None:
            kwargs["client_options"] = options
        code = data.location_code
        rows = _tree(client)
        branch = self._branch(rows, code)
        here = next((r for r in rows if r["locationCode"] == code), None) if code else None
        if code is not None and here is None:
            raise ValueError(
                f"location_code={code!r}: ONC has no such location; browse the tree from "
                "ONCCatalog() or list codes with ONCClient().locations()"
            )
        top = min((r["level"] for r in branch), default=0)
        cat = Catalog(metadata={"location_code": code, **({} if here is None else _meta(here))})
        times = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        for row in branch:
            if row["level"] != top:
                continue
            child = row["locationCode"]
            reader = ONCCatalogReader(
                ONCLocation(child, metadata=_meta(row)),
                client=client,
                **times,
                **{k: v for k, v in kwargs.items() if k != "client"},
            )
            cat[child] = reader
            cat.aliases[child] = child
        if code is not None and (here is None or here.get("hasDeviceData") in (True, "true")):
            for name, reader in self._device_entries(client, code, times, kwargs).items():
                cat[name] = reader
                cat.aliases[name] = name
        return cat

    def _device_entries(
        self, client: Any, code: str, times: dict, kwargs: dict
    ) -> dict[str, BaseReader]:
        filters = {"location_code": code}
        if "start" in times and "end" in times:
            filters.update(start=times["start"], end=times["end"])
        deployments = client.deployments(**filters)
        if deployments.empty:
            return {}
        products = client.data_products(location_code=code)
        offered: dict[str, list[str]] = {}
        for product, extension in zip(
            products["dataProductCode"], products["extension"], strict=True
        ):
            offered.setdefault(product, []).append(extension)
        entries: dict[str, BaseReader] = {}
        options = {k: v for k, v in kwargs.items() if k != "client"}
        for device_code, rows in deployments.groupby("deviceCode", sort=True):
            category = rows["deviceCategoryCode"].iloc[0]
            wanted = _HYDROPHONE_PRODUCTS if category == "HYDROPHONE" else _SCALAR_PRODUCTS
            citation = rows["citation"].iloc[-1] if "citation" in rows else None
            for product in wanted:
                if product not in offered or product not in PRODUCT_READERS:
                    continue
                metadata = {
                    "device_code": device_code,
                    "device_category": category,
                    "location_code": code,
                    "data_product_code": product,
                    "formats": sorted(offered[product]),
                    "deployments": _deployment_ranges(rows),
                }
                if isinstance(citation, dict) and citation.get("citation"):
                    metadata["citation"] = citation["citation"]
                    metadata["doi"] = citation.get("doi")
                reader = reader_for(device_code, product, client=client, **times, **options)
                reader.metadata.update(metadata)
                entries[f"{device_code}_{product}"] = reader
        return entries


def _meta(row: dict) -> dict:
    keys = ("locationName", "description", "hasDeviceData", "level")
    return {k: row[k] for k in keys if row.get(k) is not None}


def ONCCatalog(  # noqa: N802 - a catalog "class" for users, as intake's own helpers are
    location_code: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    client: Any = None,
    **options: Any,
) -> Any:
    """The ONC location tree as an Intake catalog: the whole tree, or one location.

    Parameters
    ----------
    location_code
        ``None`` (the default): the root, one entry per top-level location. A ``locationCode``
        (``"BACAX"``): that location's children and device × product entries.
    start, end
        Dates passed to every device entry (they can still be changed at read time:
        ``cat.X(start=..., end=...)``), and used to list only the deployments in that range.
    client
        An :class:`~intake_onc.client.ONCClient`; default: one from the environment.
    **options
        Passed to every device entry (``chunk``, ``quality``, ...).

    Returns
    -------
    intake.readers.entry.Catalog
        Child locations are catalog-producing entries (``cat.BACAX.read()``); device entries
        are readers (``cat.ICLISTENHF6324_HSD(start=..., end=...).read()``).

    Examples
    --------
    >>> cat = ONCCatalog("BACAX", start="2024-04-01", end="2024-04-02")  # doctest: +SKIP
    >>> sorted(cat)  # doctest: +SKIP
    ['AANDERAAO2224_TSSD', 'SBECTD19p6813_TSSD']
    """
    if location_code is not None and (not isinstance(location_code, str) or not location_code):
        raise ValueError(
            f"location_code={location_code!r}: expected an ONC locationCode such as 'BACAX', "
            "or None for the whole tree"
        )
    times = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    extra = {"client": client} if client is not None else {}
    reader = ONCCatalogReader(ONCLocation(location_code), **times, **extra, **options)
    return reader.read()
