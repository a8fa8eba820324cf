"""The ``onc`` xarray backend: ``xr.open_dataset("onc://DEVICE/PRODUCT?start=…&end=…", engine="onc")``.

A URI names one device's product and its options, as query parameters:

============================  ===================================================
``onc://SBECTD19p6813/scalar``  :func:`~intake_onc.datasets.open_scalar` (also ``TSSD``)
``onc://ICLISTENHF6324/audio``  :func:`~intake_onc.datasets.open_audio` (also ``AD``)
``onc://ICLISTENHF6324/spectrogram``  :func:`~intake_onc.datasets.open_spectrogram` (``HSD``)
``onc://ICLISTENHF6324/custom_spectrogram``  :func:`intake_onc.spectrogram` of the audio
============================  ===================================================

Every other query parameter is passed to that function (``chunk=1h``, ``quality=raw``,
``win_dur=1``, ``freq_lims=10,8000``; numbers are read as numbers, commas make lists). The token
never goes in a URI (a ``token`` parameter is refused): it comes from ``ONC_TOKEN`` as for every
other way in, and the address from ``ONC_BASE_URL``.

Each variable reaches xarray as a lazily indexed :class:`ONCBackendArray` (indexing computes
only what it selects), with ``preferred_chunks`` following ONC's files: one 5-minute file of
audio, one day of scalar data, one file of spectrogram columns. So ``chunks={}`` gives dask
arrays chunked like the files, and ``chunks=None`` lazily indexed arrays.

Examples
--------
>>> import xarray as xr
>>> ds = xr.open_dataset(
...     "onc://SBECTD19p6813/scalar?start=2024-04-01&end=2024-04-02", engine="onc", chunks={}
... )  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

__all__ = ["ONCBackendArray", "ONCBackendEntrypoint", "parse_onc_uri"]

_PRODUCTS = {
    "scalar": "scalar",
    "tssd": "scalar",
    "audio": "audio",
    "ad": "audio",
    "spectrogram": "spectrogram",
    "hsd": "spectrogram",
    "custom_spectrogram": "custom_spectrogram",
}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_AUDIO_OPTIONS = ("chunk", "sample_rate")


def _value(text: str) -> Any:
    if "," in text:
        return [_value(part) for part in text.split(",")]
    if _NUMBER.match(text):
        number = float(text)
        return (
            int(number)
            if number.is_integer() and "." not in text and "e" not in text.lower()
            else number
        )
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_onc_uri(uri: str) -> tuple[str, str, dict[str, Any]]:
    """``(deviceCode, product, options)`` of an ``onc://DEVICE/PRODUCT?…`` URI.

    Examples
    --------
    >>> parse_onc_uri("onc://ICLISTENHF6324/HSD?start=2024-04-01T00:00&end=2024-04-01T01:00")
    ('ICLISTENHF6324', 'spectrogram', {'start': '2024-04-01T00:00', 'end': '2024-04-01T01:00'})
    >>> parse_onc_uri("onc://ICLISTENHF6324/custom_spectrogram?freq_lims=10,8000&win_dur=0.5")[2]
    {'freq_lims': [10, 8000], 'win_dur': 0.5}
    """
    if not isinstance(uri, str) or not uri.startswith("onc://"):
        raise ValueError(
            f"filename_or_obj={uri!r}: expected a URI such as "
            "'onc://SBECTD19p6813/scalar?start=2024-04-01&end=2024-04-02'"
        )
    parts = urlsplit(uri)
    device = unquote(parts.netloc)
    product = unquote(parts.path.strip("/"))
    if not device or not product or "/" in product:
        raise ValueError(
            f"{uri!r}: expected onc://DEVICE/PRODUCT with one device code and one product "
            f"({', '.join(sorted(set(_PRODUCTS.values())))})"
        )
    kind = _PRODUCTS.get(product.lower())
    if kind is None:
        raise ValueError(
            f"{uri!r}: unknown product {product!r}; use one of scalar (TSSD), audio (AD), "
            "spectrogram (HSD) or custom_spectrogram"
        )
    options: dict[str, Any] = {}
    for key, text in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key.lower() == "token":
            raise ValueError(
                "the token never goes in an onc:// URI (it would be shown in reprs, logs and "
                "catalogs); set ONC_TOKEN in the environment or a .env file instead"
            )
        if key in options:
            raise ValueError(f"{parts.scheme}://{device}/{product}: parameter {key!r} given twice")
        options[key] = _value(text)
    return device, kind, options


def _open(device: str, kind: str, options: dict[str, Any]) -> xr.Dataset:
    from intake_onc.datasets import open_audio, open_scalar, open_spectrogram

    missing = [k for k in ("start", "end") if k not in options]
    if missing:
        raise ValueError(
            f"onc://{device}/{kind}: add {' and '.join(missing)} to the query "
            "(?start=2024-04-01&end=2024-04-02)"
        )
    start, end = options.pop("start"), options.pop("end")
    if kind == "scalar":
        return open_scalar(device, start=start, end=end, **options)
    if kind == "audio":
        return open_audio(device, start, end, **options).to_dataset(name="audio")
    if kind == "spectrogram":
        return open_spectrogram(device, start, end, **options).to_dataset(name="spectrogram")
    from intake_onc.acoustics.spectrogram import spectrogram

    audio_options = {k: options.pop(k) for k in _AUDIO_OPTIONS if k in options}
    audio = open_audio(device, start, end, **audio_options)
    return spectrogram(audio, **options).to_dataset(name="spectrogram")


class ONCBackendArray(BackendArray):
    """A lazily indexed view of one variable: indexing computes only the selected part."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self.shape = tuple(data.shape)
        self.dtype = np.dtype(data.dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._getitem
        )

    def _getitem(self, key: tuple) -> np.ndarray:
        part = self._data
        for axis, k in reversed(list(enumerate(key))):  # outer indexing, one axis at a time
            part = part[(slice(None),) * axis + (k,)]
        if hasattr(part, "compute"):
            # inside a dask task of xarray's own chunking: run this small graph in place
            part = part.compute(scheduler="sync")
        return np.asarray(part)


def _preferred_chunks(var: xr.Variable) -> dict[str, int]:
    chunks = getattr(var, "chunks", None)
    if not chunks:
        return {}
    return {dim: max(sizes) for dim, sizes in zip(var.dims, chunks, strict=True) if sizes}


class ONCBackendEntrypoint(BackendEntrypoint):
    """``engine="onc"``: ONC devices' data from ``onc://DEVICE/PRODUCT?…`` URIs (module docs)."""

    description = "Ocean Networks Canada data: onc://DEVICE/PRODUCT?start=…&end=… (intake-onc)"
    url = "https://github.com/intake/intake-onc"
    open_dataset_parameters = ("filename_or_obj", "drop_variables")

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        return isinstance(filename_or_obj, str) and filename_or_obj.startswith("onc://")

    def open_dataset(  # type: ignore[override]
        self, filename_or_obj: Any, *, drop_variables: Any = None, **kwargs: Any
    ) -> xr.Dataset:
        device, kind, options = parse_onc_uri(filename_or_obj)
        clash = sorted(set(options) & set(kwargs))
        if clash:
            raise ValueError(f"{', '.join(clash)}: given both in the URI and as keywords")
        ds = _open(device, kind, {**options, **kwargs})
        if drop_variables is not None:
            ds = ds.drop_vars(drop_variables, errors="ignore")
        data_vars = {}
        for name, var in ds.data_vars.items():
            encoding = {**var.encoding, "preferred_chunks": _preferred_chunks(var.variable)}
            data = var.variable.data
            if var.chunks:  # dask: a lazily indexed backend array instead
                data = indexing.LazilyIndexedArray(ONCBackendArray(data))
            data_vars[name] = xr.Variable(var.dims, data, var.attrs, encoding)
        # coordinates keep their indexes (the O(1) time grid of audio and scalar data)
        return xr.Dataset(data_vars, coords=ds.coords, attrs=ds.attrs)
