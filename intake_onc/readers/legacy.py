"""Intake v1 drivers: ``driver: onc`` and ``driver: onc_cat`` in v1 YAML, ``intake.open_onc``.

Intake 2.0.9 still reads v1 catalogs (``sources:``, ``parameters:``, jinja templates) and finds
v1 drivers through the ``intake.drivers`` entry point, which also makes
``intake.open_onc(...)`` and ``intake.open_onc_cat(...)``. These drivers are thin: they build
the same Intake 2 readers as the v2 catalog (:mod:`intake_onc.readers.devices`), so every way in
returns the same objects as ``intake_onc.open_*``.

* :class:`ONCSource` (``onc``): one device's ``product``: ``"scalar"`` (``open_scalar``),
  ``"audio"``, ``"spectrogram"`` (ONC's HSD) or ``"custom_spectrogram"``. ``to_dask()`` is lazy,
  ``read()`` loads, ``discover()``/``describe()`` make no request.
* :class:`ONCLocationSource` (``onc_cat``): a v1 catalog of the devices at a location
  (``<deviceCode>_<product>`` entries), read with one ``deployments`` request when listed.

Examples
--------
>>> src = ONCSource("SBECTD19p6813", product="scalar", start="2024-04-01", end="2024-04-02")
>>> src.discover()["metadata"]["product"]
'scalar'
"""

from __future__ import annotations

import warnings
from typing import Any

from intake.catalog import Catalog
from intake.catalog.local import LocalCatalogEntry
from intake.source.base import DataSource, Schema

from intake_onc.readers.devices import reader_for

__all__ = ["ONCLocationSource", "ONCSource"]

# Intake 2.0.9 warns "Shell command not executed due to getshell=False" for every string
# parameter default of a v1 catalog, shell command or not (intake#887): noise for our users.
warnings.filterwarnings(
    "ignore",
    message="Shell command not executed due to getshell=False",
    category=UserWarning,
    module="intake.catalog.utils",
)

_V1_PRODUCTS = ("scalar", "audio", "spectrogram", "custom_spectrogram")


class ONCSource(DataSource):
    """One ONC device's data as an Intake v1 source (driver ``onc``).

    Parameters
    ----------
    device_code
        ONC ``deviceCode`` (``"SBECTD19p6813"``, ``"ICLISTENHF6324"``).
    product
        ``"scalar"`` (default), ``"audio"``, ``"spectrogram"`` (ONC's HSD) or
        ``"custom_spectrogram"``.
    start, end
        The time range (``end`` exclusive), anything ``intake_onc.open_*`` accepts.
    metadata
        Entry metadata.
    **options
        Passed to the ``open_*`` function (``chunk``, ``quality``, ``win_dur``, ...).
    """

    name = "onc"
    version = "0.1.0"
    container = "xarray"
    partition_access = False

    def __init__(
        self,
        device_code: str,
        product: str = "scalar",
        start: Any = None,
        end: Any = None,
        metadata: dict | None = None,
        **options: Any,
    ) -> None:
        if product not in _V1_PRODUCTS:
            raise ValueError(f"product={product!r}: expected one of {', '.join(_V1_PRODUCTS)}")
        self.device_code = device_code
        self.product = product
        self.start, self.end = start, end
        self.options = options
        self._reader = reader_for(device_code, product, **self._times(), **options)
        self._result: Any = None
        super().__init__(metadata=metadata)
        # A client given here is kept by the reader only: Intake would otherwise write the client
        # object (and its token) into this source's repr and YAML. Its settings stay.
        client = self._captured_init_kwargs.pop("client", None)
        self.options.pop("client", None)
        if client is not None:
            from intake_onc.readers.devices import client_options

            self._captured_init_kwargs["client_options"] = client_options(client)

    def _times(self) -> dict[str, Any]:
        return {k: v for k, v in (("start", self.start), ("end", self.end)) if v is not None}

    def _get_schema(self) -> Schema:  # no request: what the entry says
        self.npartitions = 1
        return Schema(
            datashape=None,
            dtype=None,
            shape=None,
            npartitions=1,
            extra_metadata={
                "device_code": self.device_code,
                "product": self.product,
                "reader": type(self._reader).__name__,
                **{k: str(v) for k, v in self._times().items()},
            },
        )

    def _load_metadata(self) -> None:
        if self._schema is None:
            self._schema = self._get_schema()
            self.metadata = {**self._schema.get("extra_metadata", {}), **(self.metadata or {})}

    def to_dask(self) -> Any:
        """The lazy, dask-backed xarray object (nothing is downloaded until compute)."""
        if self._result is None:
            self._result = self._reader.read()
        return self._result

    def read(self) -> Any:
        """The data, loaded into memory."""
        return self.to_dask().load()

    def read_chunked(self) -> Any:
        yield self.read()

    def _get_partition(self, i: int) -> Any:
        return self.read()

    def describe(self) -> dict[str, Any]:
        """What this source reads (no request)."""
        return {
            "name": self.name,
            "container": self.container,
            "description": f"ONC {self.product} of {self.device_code}",
            "direct_access": "forbid",
            "user_parameters": [],
            "metadata": {**self._get_schema()["extra_metadata"], **(self.metadata or {})},
            "args": {"device_code": self.device_code, "product": self.product, **self._times()},
        }

    def _close(self) -> None:
        self._result = None


class ONCLocationSource(Catalog):
    """The devices at an ONC location as an Intake v1 catalog (driver ``onc_cat``).

    Entries: ``<deviceCode>_audio`` and ``<deviceCode>_spectrogram`` for hydrophones,
    ``<deviceCode>_scalar`` for other devices, each an :class:`ONCSource` with this catalog's
    ``start``/``end`` and options.

    Parameters
    ----------
    location_code
        ONC ``locationCode`` (``"BACAX"``).
    start, end
        The time range given to every entry (and of the deployments listed).
    **options
        Passed to every entry.
    """

    name = "onc_cat"
    version = "0.1.0"
    container = "catalog"

    def __init__(
        self, location_code: str, start: Any = None, end: Any = None, **kwargs: Any
    ) -> None:
        if not isinstance(location_code, str) or not location_code:
            raise ValueError(
                f"location_code={location_code!r}: expected an ONC locationCode such as 'BACAX'"
            )
        self.location_code = location_code
        self.start, self.end = start, end
        catalog_keys = ("metadata", "name", "description", "ttl", "getenv", "getshell")
        catalog_kwargs = {k: kwargs.pop(k) for k in catalog_keys if k in kwargs}
        catalog_kwargs.pop("name", None)
        self.options = kwargs
        super().__init__(name=location_code, **catalog_kwargs)

    def _load(self) -> None:
        from intake_onc.client import ONCClient

        client = ONCClient()
        filters: dict[str, Any] = {"location_code": self.location_code}
        if self.start is not None and self.end is not None:
            filters.update(start=self.start, end=self.end)
        deployments = client.deployments(**filters)
        times = {k: v for k, v in (("start", self.start), ("end", self.end)) if v is not None}
        self._entries = {}
        for code, category in sorted(
            set(zip(deployments["deviceCode"], deployments["deviceCategoryCode"], strict=True))
        ):
            products = ("audio", "spectrogram") if category == "HYDROPHONE" else ("scalar",)
            for product in products:
                name = f"{code}_{product}"
                self._entries[name] = LocalCatalogEntry(
                    name=name,
                    description=f"ONC {product} of {code} ({category}) at {self.location_code}",
                    driver=ONCSource,
                    direct_access=True,
                    args={"device_code": code, "product": product, **times, **self.options},
                    parameters=[],
                    metadata={"device_category": category, "location_code": self.location_code},
                    catalog_dir="",
                    catalog=self,
                )
