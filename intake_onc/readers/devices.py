"""Intake 2 data types and readers for ONC devices (``intake_onc.readers``).

This module is imported by ``import intake`` (entry point ``intake.imports``), so it imports
nothing heavy: each reader imports :mod:`intake_onc.datasets` only when it reads.

Three data types describe *what* to read, three readers *how*:

=========================  ==============================  ====================================
data type                  reader                          produces
=========================  ==============================  ====================================
:class:`ONCScalarDevice`   :class:`ONCScalarReader`        ``xarray.Dataset`` (TSSD / scalardata)
:class:`ONCHydrophone`     :class:`ONCAudioReader`         ``xarray.DataArray`` of audio samples
:class:`ONCHydrophone`     :class:`ONCSpectrogramReader`   ``xarray.DataArray`` (HSD spectrogram)
:class:`ONCLocation`       :class:`ONCLocationReader`      an Intake ``Catalog`` of its devices
=========================  ==============================  ====================================

The token and the API address come from the environment (``ONC_TOKEN``, ``ONC_BASE_URL``) or a
``client=`` argument — never from a catalog file. A reader given ``client=`` uses that client
while it lives, but keeps only its non-secret settings (``client_options``: ``base_url``,
``timeout``, ``workers``, ``deadline``, and ``cache_dir`` when not the default) in its
arguments; a catalog saved with ``to_yaml_file`` holds those, never the client or its token,
and a reader loaded from it builds ``ONCClient(**client_options)`` with the token of the
environment it reads in.

Examples
--------
>>> from intake_onc.readers import ONCScalarDevice, ONCScalarReader
>>> reader = ONCScalarReader(ONCScalarDevice("SBECTD19p6813"), start="2024-04-01", end="2024-04-02")
>>> reader
ONCScalarReader reader producing xarray:Dataset
"""

from __future__ import annotations

from typing import Any

from intake.readers import datatypes
from intake.readers.readers import BaseReader

__all__ = [
    "PRODUCT_READERS",
    "ONCAudioReader",
    "ONCCustomSpectrogramReader",
    "ONCHydrophone",
    "ONCLocation",
    "ONCLocationReader",
    "ONCScalarDevice",
    "ONCScalarReader",
    "ONCSpectrogramReader",
]


class ONCScalarDevice(datatypes.BaseData):
    """A scalar ONC device (CTD, oxygen sensor, ...), by ``deviceCode`` or location + category.

    Parameters
    ----------
    device_code
        ONC ``deviceCode``, e.g. ``"SBECTD19p6813"``.
    location_code, device_category
        Alternatively ONC ``locationCode`` + ``deviceCategoryCode`` (e.g. ``"BACAX"``, ``"CTD"``):
        whichever device was deployed there at the time.
    """

    structure = {"table"}

    def __init__(
        self,
        device_code: str | None = None,
        location_code: str | None = None,
        device_category: str | None = None,
        metadata: dict | None = None,
    ) -> None:
        self.device_code = device_code
        self.location_code = location_code
        self.device_category = device_category
        super().__init__(metadata=metadata)


class ONCHydrophone(datatypes.BaseData):
    """An ONC hydrophone, by ``deviceCode`` (e.g. ``"ICLISTENHF6324"``)."""

    structure = {"array"}

    def __init__(self, device_code: str, metadata: dict | None = None) -> None:
        self.device_code = device_code
        super().__init__(metadata=metadata)


class ONCLocation(datatypes.BaseData):
    """An ONC location (``locationCode``), whose devices form a catalog."""

    structure = {"catalog"}

    def __init__(self, location_code: str, metadata: dict | None = None) -> None:
        self.location_code = location_code
        super().__init__(metadata=metadata)


#: Client settings a reader may keep (and a catalog save): none of them is secret.
CLIENT_OPTIONS = ("base_url", "timeout", "workers", "deadline", "cache_dir", "cache_key")


def client_options(client: Any) -> dict[str, Any]:
    """The non-secret settings of an :class:`~intake_onc.client.ONCClient`, to rebuild it.

    ``cache_dir`` is kept only when it is not the default folder (a catalog file may travel to
    another machine). The token is never among them.
    """
    options: dict[str, Any] = {
        "base_url": client.base_url,
        "timeout": list(client.timeout) if isinstance(client.timeout, tuple) else client.timeout,
        "workers": client.workers,
        "deadline": client.deadline,
    }
    from intake_onc.client.cache import default_cache_dir

    root = str(client.cache.root)
    if root != str(default_cache_dir()):
        options["cache_dir"] = root
    if getattr(client, "cache_key", None):
        options["cache_key"] = client.cache_key
    return options


class _ClientMixin:
    """``client=`` handling shared by the readers: the client object is kept privately (never
    in ``kwargs``, so never in a catalog entry or its ``{pickle64(...)}``); its settings go to
    ``kwargs["client_options"]``."""

    _client: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._take_client(kwargs)
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A new reader with altered arguments (keeping this one's client)."""
        kwargs.setdefault("client", self._client)
        return super().__call__(*args, **kwargs)  # type: ignore[misc]

    def _take_client(self, kwargs: dict[str, Any]) -> None:
        client = kwargs.pop("client", None)
        options = kwargs.get("client_options")
        if options is not None and (
            not isinstance(options, dict) or not set(options) <= set(CLIENT_OPTIONS)
        ):
            raise ValueError(
                f"client_options: expected a dict with keys among {', '.join(CLIENT_OPTIONS)}, "
                f"got {options!r} (the token comes from ONC_TOKEN, never from a catalog)"
            )
        if client is not None:
            self._client = client
            kwargs["client_options"] = {**client_options(client), **(options or {})}

    def _get_client(self, kwargs: dict[str, Any]) -> Any:
        """The client to read with: a read-time ``client=``, else the one given at
        construction, else one built from the environment and ``client_options``."""
        client = kwargs.pop("client", None)
        options = kwargs.pop("client_options", None) or {}
        if client is not None:
            return client
        if self._client is not None:
            return self._client
        if "base_url" in options and not options["base_url"]:
            raise ValueError(
                "client_options['base_url'] is empty: this catalog entry reads from the address "
                "in ONC_BASE_URL, which is not set; start a sandbox with `intake-onc sandbox` "
                "and run the two export lines it prints (or use the 'onc' catalog)"
            )
        from intake_onc.client import ONCClient

        return ONCClient(**options)


class _ONCReader(_ClientMixin, BaseReader):
    imports = {"xarray", "dask", "requests"}

    def to_dask(self, **kwargs: Any) -> Any:
        """Same as :meth:`read`: the result is already dask-backed (Intake v1 habit)."""
        return self.read(**kwargs)


class ONCScalarReader(_ONCReader):
    """Scalar time series as a lazy ``xarray.Dataset`` (see :func:`intake_onc.open_scalar`).

    Keyword arguments (at construction or at ``read()``) are those of ``open_scalar``:
    ``start``, ``end``, ``source``, ``quality``, ``gaps``, ``sensors``, ``chunk``, ``client``.
    """

    implements = {ONCScalarDevice}
    output_instance = "xarray:Dataset"
    func = "intake_onc.datasets:open_scalar"

    def _read(self, data: ONCScalarDevice, **kwargs: Any) -> Any:
        from intake_onc.datasets import open_scalar

        client = self._get_client(kwargs)
        return open_scalar(
            data.device_code,
            client=client,
            location_code=data.location_code,
            device_category=data.device_category,
            **kwargs,
        )


class ONCAudioReader(_ONCReader):
    """Hydrophone audio over ``[start, end)`` (see :func:`intake_onc.open_audio`)."""

    implements = {ONCHydrophone}
    output_instance = "xarray:DataArray"
    func = "intake_onc.datasets:open_audio"

    def _read(self, data: ONCHydrophone, start: Any, end: Any, **kwargs: Any) -> Any:
        from intake_onc.datasets import open_audio

        client = self._get_client(kwargs)
        return open_audio(data.device_code, start, end, client=client, **kwargs)


class ONCSpectrogramReader(_ONCReader):
    """ONC's hydrophone spectrograms, HSD (see :func:`intake_onc.open_spectrogram`)."""

    implements = {ONCHydrophone}
    output_instance = "xarray:DataArray"
    func = "intake_onc.datasets:open_spectrogram"

    def _read(self, data: ONCHydrophone, start: Any, end: Any, **kwargs: Any) -> Any:
        from intake_onc.datasets import open_spectrogram

        client = self._get_client(kwargs)
        return open_spectrogram(data.device_code, start, end, client=client, **kwargs)


class ONCCustomSpectrogramReader(_ONCReader):
    """A spectrogram computed here from the audio (see :func:`intake_onc.spectrogram`).

    Keyword arguments: ``start``, ``end`` and those of ``open_audio`` (``chunk``,
    ``sample_rate``), plus those of ``spectrogram`` (``win_dur``, ``overlap``, ``freq_lims``,
    ``window``, ``average``, ...).
    """

    implements = {ONCHydrophone}
    output_instance = "xarray:DataArray"
    func = "intake_onc.acoustics.spectrogram:spectrogram"

    _AUDIO_OPTIONS = ("chunk", "sample_rate", "format", "extension")

    def _read(self, data: ONCHydrophone, start: Any, end: Any, **kwargs: Any) -> Any:
        from intake_onc.acoustics.spectrogram import spectrogram
        from intake_onc.datasets import open_audio

        client = self._get_client(kwargs)
        audio_options = {k: kwargs.pop(k) for k in self._AUDIO_OPTIONS if k in kwargs}
        audio = open_audio(data.device_code, start, end, client=client, **audio_options)
        return spectrogram(audio, **kwargs)


#: The reader of each product a catalog entry can read: the names of ``intake.open_onc`` and
#: of the v1 driver (``product=``), and ONC's data product codes the ONC tree lists.
PRODUCT_READERS: dict[str, type[_ONCReader]] = {
    "scalar": ONCScalarReader,
    "audio": ONCAudioReader,
    "spectrogram": ONCSpectrogramReader,
    "custom_spectrogram": ONCCustomSpectrogramReader,
    "TSSD": ONCScalarReader,
    "AD": ONCAudioReader,
    "HSD": ONCSpectrogramReader,
}


def reader_for(device_code: str, product: str, **kwargs: Any) -> _ONCReader:
    """The Intake reader of one device's product (``"scalar"``, ``"audio"``, ``"spectrogram"``,
    ``"custom_spectrogram"``, or ONC's ``TSSD``/``AD``/``HSD``).

    Examples
    --------
    >>> reader_for("ICLISTENHF6324", "HSD", start="2024-04-01T00:00", end="2024-04-01T00:10")
    ONCSpectrogramReader reader producing xarray:DataArray
    """
    try:
        cls = PRODUCT_READERS[product]
    except (KeyError, TypeError):
        raise ValueError(
            f"product={product!r}: expected one of {', '.join(PRODUCT_READERS)}"
        ) from None
    if not isinstance(device_code, str) or not device_code:
        raise ValueError(
            f"device_code={device_code!r}: expected an ONC deviceCode such as 'ICLISTENHF6324'"
        )
    data = ONCScalarDevice(device_code) if cls is ONCScalarReader else ONCHydrophone(device_code)
    return cls(data, **kwargs)


class ONCLocationReader(_ClientMixin, BaseReader):
    """An Intake catalog of the devices deployed at an ONC location.

    Scalar devices get an ``ONCScalarReader`` entry; hydrophones an audio and a spectrogram
    entry. Entries are named ``<deviceCode>`` / ``<deviceCode>_audio`` / ``<deviceCode>_spectrogram``
    and carry the ``start``/``end`` given here.
    """

    implements = {ONCLocation}
    imports = {"requests", "pandas"}
    output_instance = "intake.readers.entry:Catalog"

    def _read(
        self,
        data: ONCLocation,
        start: Any = None,
        end: Any = None,
        **kwargs: Any,
    ) -> Any:
        from intake.readers.entry import Catalog

        options = kwargs.get("client_options")
        client = self._get_client(kwargs)
        if options is not None:
            kwargs["client_options"] = options
        kwargs["client"] = client  # kept by each entry privately, never in its kwargs
        deployments = client.deployments(location_code=data.location_code)
        cat = Catalog(metadata={"location_code": data.location_code})
        times = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        for code, category in sorted(
            set(zip(deployments["deviceCode"], deployments["deviceCategoryCode"], strict=True))
        ):
            meta = {"device_code": code, "device_category": category}
            if category == "HYDROPHONE":
                device = ONCHydrophone(code, metadata=meta)
                entries = {
                    f"{code}_audio": ONCAudioReader(device, **times, **kwargs),
                    f"{code}_spectrogram": ONCSpectrogramReader(device, **times, **kwargs),
                }
            else:
                device = ONCScalarDevice(code, metadata=meta)
                entries = {code: ONCScalarReader(device, **times, **kwargs)}
            for name, reader in entries.items():
                cat[name] = reader
                cat.aliases[name] = name  # without an alias Intake 2.0.9 lists nothing
        return cat
