"""The kinds of fact the synthetic observatory is made of: locations, sensors, data ratings,
devices, deployments, categories, properties and data products, as frozen dataclasses.

The facts themselves are :mod:`intake_onc.sandbox.observatory.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "AudioSpec",
    "DataProduct",
    "DataRating",
    "Deployment",
    "Device",
    "DeviceCategory",
    "Location",
    "ProductOption",
    "Property",
    "Sensor",
]


@dataclass(frozen=True)
class Location:
    """A site or a node of the location tree."""

    code: str
    name: str
    parent: str | None
    lat: float
    lon: float
    depth: float | None
    description: str
    has_device_data: bool


@dataclass(frozen=True)
class Sensor:
    """One measured quantity of a scalar device (a ``sensorData`` item of ``scalardata``)."""

    code: str
    name: str
    unit: str
    property_code: str
    #: ONC's ``sensorCategoryCode`` (what ``sensorCategoryCodes=`` filters on).
    category_code: str


@dataclass(frozen=True)
class DataRating:
    """A device's nominal sample period from ``date_from`` until ``date_to`` (None: ongoing)."""

    date_from: pd.Timestamp
    date_to: pd.Timestamp | None
    sample_period: float
    sample_size: int = 1


@dataclass(frozen=True)
class AudioSpec:
    """How a hydrophone records: rate, bit depth, file length and format over time."""

    sample_rate: int
    bit_depth: int = 24
    file_seconds: float = 300.0
    #: ``(first day, extension)`` pairs: the archive format in force from that day on.
    formats: tuple[tuple[pd.Timestamp, str], ...] = ()

    def extension_at(self, when: pd.Timestamp) -> str:
        """The archive file extension (``flac`` or ``wav``) in force at ``when``."""
        ext = self.formats[0][1]
        for since, candidate in self.formats:
            if when >= since:
                ext = candidate
        return ext


@dataclass(frozen=True)
class Device:
    """An instrument, its sensors and its data ratings."""

    code: str
    device_id: int
    name: str
    category_code: str
    sensors: tuple[Sensor, ...] = ()
    ratings: tuple[DataRating, ...] = ()
    audio: AudioSpec | None = None
    restricted: bool = False
    #: What the synthetic data are keyed on (noise streams, file jitter, signal phases): the
    #: device's code and id unless given, so a device renamed to its real ONC code keeps the
    #: very same synthetic data.
    synthetic_key: str = ""
    synthetic_id: int = 0

    @property
    def data_key(self) -> str:
        """The string the synthetic data of this device are keyed on."""
        return self.synthetic_key or self.code

    @property
    def data_id(self) -> int:
        """The number the synthetic data of this device are keyed on."""
        return self.synthetic_id or self.device_id

    @property
    def kind(self) -> str:
        """``"hydrophone"`` for audio devices, ``"scalar"`` otherwise."""
        return "hydrophone" if self.audio is not None else "scalar"


@dataclass(frozen=True)
class Deployment:
    """A device at a location from ``begin`` until ``end`` (None: still deployed)."""

    device_code: str
    location_code: str
    begin: pd.Timestamp
    end: pd.Timestamp | None
    lat: float
    lon: float
    depth: float
    heading: float | None = None
    pitch: float | None = None
    roll: float | None = None


@dataclass(frozen=True)
class DeviceCategory:
    code: str
    name: str
    description: str
    long_description: str


@dataclass(frozen=True)
class Property:
    code: str
    name: str
    description: str
    unit: str


@dataclass(frozen=True)
class ProductOption:
    """One ``dpo_*`` option of a data product, as ``dataProducts`` describes it."""

    option: str
    default: str
    allowed: tuple[str, ...] = ()
    #: ``(lower, upper, only_integers, unit)`` for numeric ranges.
    allowable_range: tuple[str, str, bool, str] | None = None
    #: Whether a request without this option is refused (``errorCode`` 128).
    required: bool = False


@dataclass(frozen=True)
class DataProduct:
    """A data product code and one of its file extensions."""

    code: str
    name: str
    extension: str
    device_categories: tuple[str, ...]
    options: tuple[ProductOption, ...] = field(default=())
    help_document: str = ""
