"""The synthetic observatory: locations, devices, deployments, properties and data products.

Plain tables of facts (pinned in ``docs/architecture.md``) and a few look-ups. The sandbox's
endpoints, the synthetic data generators and the tests all read them from here, so there is one
place that says, for example, that ``ICLISTENHF6093`` is an 8 kHz hydrophone at ``CBCH.H3``.

Examples
--------
>>> from intake_onc.sandbox.observatory.tables import OBSERVATORY
>>> OBSERVATORY.device("ICLISTENHF6093").audio.sample_rate
8000
>>> [d.location_code for d in OBSERVATORY.deployments_of("SBECTD19p6813")]
['BACAX', 'BACAX']
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pandas as pd

from intake_onc._core.time import parse_date
from intake_onc.sandbox.observatory.catalogue import ADCP_SENSORS as _ADCP_SENSORS
from intake_onc.sandbox.observatory.catalogue import CTD_SENSORS as _CTD_SENSORS
from intake_onc.sandbox.observatory.catalogue import OXY_SENSORS as _OXY_SENSORS
from intake_onc.sandbox.observatory.products import CATEGORY_PROPERTIES, DATA_PRODUCTS
from intake_onc.sandbox.observatory.records import (
    AudioSpec,
    DataProduct,
    DataRating,
    Deployment,
    Device,
    DeviceCategory,
    Location,
    Property,
)

__all__ = [
    "OBSERVATORY",
    "Observatory",
    "data_key",
    "resolve_now",
]

_ORG = "Ocean Networks Canada Society"


def _ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text).as_unit("ns")


def data_key(device_code: str) -> str:
    """The key the synthetic data of ``device_code`` are drawn with (its code, or the code it
    had before it was renamed to its real ONC code; unknown devices: the code itself)."""
    device = OBSERVATORY.devices.get(device_code)
    return device.data_key if device is not None else device_code


def resolve_now(now: object = None) -> pd.Timestamp:
    """The sandbox's "now" as a naive UTC ``Timestamp`` (ns): ``now`` parsed (anything
    :func:`intake_onc._core.time.parse_date` reads), or the current time when it is ``None``."""
    if now is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None).as_unit("ns")
    return parse_date(now, argument="now")


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------
LOCATIONS: tuple[Location, ...] = (
    Location(
        "NEP",
        "North East Pacific",
        None,
        48.5,
        -126.0,
        None,
        "The NEPTUNE observatory off the west coast of Vancouver Island.",
        False,
    ),
    Location(
        "BC",
        "Barkley Canyon",
        "NEP",
        48.32,
        -126.05,
        None,
        "A submarine canyon on the continental slope.",
        False,
    ),
    Location(
        "BACAX",
        "Barkley Canyon Axis",
        "BC",
        48.3166,
        -126.0508,
        985.0,
        "Instrument platform on the canyon axis.",
        True,
    ),
    Location(
        "BACUS",
        "Barkley Canyon Upper Slope",
        "BC",
        48.4275,
        -126.1745,
        396.0,
        "Instrument platform on the upper slope.",
        True,
    ),
    Location(
        "FGP",
        "Folger Passage",
        "NEP",
        48.81,
        -125.28,
        None,
        "A passage at the mouth of Barkley Sound.",
        False,
    ),
    Location(
        "FGPD",
        "Folger Deep",
        "FGP",
        48.8138,
        -125.2807,
        96.0,
        "Instrument platform in Folger Passage.",
        True,
    ),
    Location(
        "SAL",
        "Salish Sea",
        None,
        49.0,
        -123.4,
        None,
        "The inland sea between Vancouver Island and the mainland.",
        False,
    ),
    Location(
        "CBCH",
        "Strait of Georgia Hydrophone Array",
        "SAL",
        49.0400,
        -123.4250,
        None,
        "A three-element hydrophone array.",
        False,
    ),
    Location(
        "CBCH.H1",
        "Strait of Georgia Hydrophone Array H1",
        "CBCH",
        49.0401,
        -123.4251,
        294.0,
        "Array element H1.",
        True,
    ),
    Location(
        "CBCH.H2",
        "Strait of Georgia Hydrophone Array H2",
        "CBCH",
        49.0402,
        -123.4248,
        295.0,
        "Array element H2.",
        True,
    ),
    Location(
        "CBCH.H3",
        "Strait of Georgia Hydrophone Array H3",
        "CBCH",
        49.0399,
        -123.4249,
        296.0,
        "Array element H3.",
        True,
    ),
)


DEVICES: tuple[Device, ...] = (
    Device(
        "SBECTD19p6813",
        23051,
        "Sea-Bird SeaCAT SBE19plus V2 6813",
        "CTD",
        _CTD_SENSORS,
        (
            DataRating(_ts("2019-05-01"), _ts("2023-06-01"), 2.0),
            DataRating(_ts("2023-06-01"), None, 1.0),
        ),
    ),
    Device(
        "SBECTD16p6536",
        21702,
        "Sea-Bird SeaCAT SBE16plus 6536",
        "CTD",
        _CTD_SENSORS,
        (DataRating(_ts("2018-03-01"), None, 1.0),),
        synthetic_key="SBECTD16p6011",
    ),
    Device(
        "AANDERAAO2224",
        23106,
        "Aanderaa Optode 2224",
        "OXYSENSOR",
        _OXY_SENSORS,
        (DataRating(_ts("2022-07-15"), None, 10.0),),
        synthetic_key="AANDOPTODE4831",
    ),
    Device(
        "NORTEKADCP9917",
        24115,
        "Nortek Aquadopp Profiler 2 MHz 9917",
        "ADCP2MHZ",
        _ADCP_SENSORS,
        (DataRating(_ts("2021-06-01"), None, 1.0),),
        restricted=True,
    ),
    Device(
        "ICLISTENHF6324",
        24543,
        "ICListen HF Hydrophone 6324",
        "HYDROPHONE",
        audio=AudioSpec(64_000, formats=((_ts("2000-01-01"), "flac"),)),
    ),
    Device(
        "ICLISTENHF6020",
        23670,
        "ICListen HF Hydrophone 6020",
        "HYDROPHONE",
        audio=AudioSpec(16_000, formats=((_ts("2000-01-01"), "wav"), (_ts("2020-08-10"), "flac"))),
    ),
    Device(
        "ICLISTENHF6093",
        23669,
        "ICListen HF Hydrophone 6093",
        "HYDROPHONE",
        audio=AudioSpec(8_000, formats=((_ts("2000-01-01"), "flac"),)),
        synthetic_key="ICLISTENHF6019",
    ),
)

DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(
        "SBECTD19p6813", "BACAX", _ts("2019-05-01"), _ts("2022-07-01"), 48.3166, -126.0508, 985.0
    ),
    Deployment("SBECTD19p6813", "BACAX", _ts("2022-07-15"), None, 48.3166, -126.0508, 985.0),
    Deployment(
        "SBECTD16p6536", "FGPD", _ts("2018-03-01"), _ts("2021-09-30"), 48.8138, -125.2807, 96.0
    ),
    Deployment("AANDERAAO2224", "BACAX", _ts("2022-07-15"), None, 48.3166, -126.0508, 985.0),
    Deployment(
        "NORTEKADCP9917",
        "BACUS",
        _ts("2021-06-01"),
        None,
        48.4275,
        -126.1745,
        396.0,
        heading=12.5,
        pitch=0.4,
        roll=-1.1,
    ),
    Deployment("ICLISTENHF6324", "CBCH.H1", _ts("2023-09-08"), None, 49.0401, -123.4251, 294.0),
    Deployment(
        "ICLISTENHF6020", "CBCH.H2", _ts("2019-06-01"), _ts("2021-05-01"), 49.0402, -123.4248, 295.0
    ),
    Deployment(
        "ICLISTENHF6093", "CBCH.H3", _ts("2021-03-01"), _ts("2022-06-30"), 49.0399, -123.4249, 296.0
    ),
    Deployment("ICLISTENHF6093", "CBCH.H3", _ts("2022-09-01"), None, 49.0399, -123.4249, 296.0),
)

DEVICE_CATEGORIES: tuple[DeviceCategory, ...] = (
    DeviceCategory(
        "CTD",
        "Conductivity Temperature Depth",
        "Conductivity Temperature (and Depth Sensor)",
        "Conductivity Temperature Depth (CTD) instruments measure the salinity, "
        "temperature and pressure of sea water.",
    ),
    DeviceCategory(
        "OXYSENSOR",
        "Oxygen Sensor",
        "Oxygen Sensor",
        "Oxygen sensors measure the dissolved oxygen concentration of sea water.",
    ),
    DeviceCategory(
        "ADCP2MHZ",
        "Acoustic Doppler Current Profiler 2 MHz",
        "ADCP 2 MHz",
        "ADCPs measure water current velocities over a range of depths.",
    ),
    DeviceCategory(
        "HYDROPHONE", "Hydrophone", "Hydrophone", "Hydrophones record underwater sound."
    ),
)

PROPERTIES: tuple[Property, ...] = (
    Property("seawatertemperature", "Sea Water Temperature", "Sea Water Temperature", "C"),
    Property("conductivity", "Conductivity", "Conductivity", "S/m"),
    Property("pressure", "Pressure", "Pressure", "decibar"),
    Property("salinity", "Salinity", "Practical Salinity", "psu"),
    Property("oxygen", "Oxygen", "Oxygen concentration", "ml/l"),
    Property("seawaterspeed", "Sea Water Speed", "Current speed", "m/s"),
    Property("soundpressurelevel", "Sound Pressure Level", "Acoustic sound pressure", "dB"),
)

# ----------------------------------------------------------------------------------------------
# Look-ups
# ----------------------------------------------------------------------------------------------


class Observatory:
    """The observatory's tables, with the look-ups the sandbox needs.

    ``Observatory()`` is ONC's real catalogue merged with the hand-written tables above
    (:mod:`.catalogue`), built on first use, not at import; passing tables uses exactly those.
    Every method is a pure function of the tables (and, for "ongoing", of ``now``).
    """

    def __init__(
        self,
        locations: Iterable[Location] | None = None,
        devices: Iterable[Device] | None = None,
        deployments: Iterable[Deployment] | None = None,
        device_categories: Iterable[DeviceCategory] | None = None,
        properties: Iterable[Property] | None = None,
        data_products: Iterable[DataProduct] | None = None,
        *,
        real_catalogue: bool = True,
    ) -> None:
        self._given = {
            "locations": LOCATIONS if locations is None else tuple(locations),
            "devices": DEVICES if devices is None else tuple(devices),
            "deployments": DEPLOYMENTS if deployments is None else tuple(deployments),
            "device_categories": DEVICE_CATEGORIES
            if device_categories is None
            else tuple(device_categories),
            "properties": PROPERTIES if properties is None else tuple(properties),
            "data_products": DATA_PRODUCTS if data_products is None else tuple(data_products),
        }
        self._real = real_catalogue
        self._tables: dict | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict:
        tables = self._tables
        if tables is not None:
            return tables
        with self._lock:
            if self._tables is None:
                given = self._given
                if self._real:
                    from intake_onc.sandbox.observatory.catalogue import merged_tables

                    given = merged_tables(given)
                deployments = tuple(given["deployments"])
                by_device: dict[str, list[Deployment]] = {}
                by_location: dict[str, list[Deployment]] = {}
                for d in deployments:
                    by_device.setdefault(d.device_code, []).append(d)
                    by_location.setdefault(d.location_code, []).append(d)
                locations = {loc.code: loc for loc in given["locations"]}
                children: dict[str | None, list[Location]] = {}
                for loc in locations.values():
                    children.setdefault(loc.parent, []).append(loc)
                products = tuple(given["data_products"])
                self._tables = {
                    "locations": locations,
                    "devices": {dev.code: dev for dev in given["devices"]},
                    "deployments": deployments,
                    "device_categories": {c.code: c for c in given["device_categories"]},
                    "properties": {p.code: p for p in given["properties"]},
                    "data_products": products,
                    "by_device": {
                        k: sorted(v, key=lambda d: d.begin) for k, v in by_device.items()
                    },
                    "by_location": {
                        k: sorted(v, key=lambda d: d.begin) for k, v in by_location.items()
                    },
                    "children": children,
                    "products": {(p.code, p.extension): p for p in products},
                }
        return self._tables

    def load(self) -> Observatory:
        """Build the tables now (the sandbox does it in the background at start)."""
        self._load()
        return self

    @property
    def locations(self) -> dict[str, Location]:
        return self._load()["locations"]

    @property
    def devices(self) -> dict[str, Device]:
        return self._load()["devices"]

    @property
    def deployments(self) -> tuple[Deployment, ...]:
        return self._load()["deployments"]

    @property
    def device_categories(self) -> dict[str, DeviceCategory]:
        return self._load()["device_categories"]

    @property
    def properties(self) -> dict[str, Property]:
        return self._load()["properties"]

    @property
    def data_products(self) -> tuple[DataProduct, ...]:
        return self._load()["data_products"]

    # -- single items ------------------------------------------------------------------------
    def location(self, code: str) -> Location:
        """The location with this ``locationCode`` (``KeyError`` if unknown)."""
        return self.locations[code]

    def device(self, code: str) -> Device:
        """The device with this ``deviceCode`` (``KeyError`` if unknown)."""
        return self.devices[code]

    # -- relations ---------------------------------------------------------------------------
    def children(self, code: str | None) -> list[Location]:
        """Locations whose parent is ``code`` (``None``: the roots), in table order."""
        return list(self._load()["children"].get(code, ()))

    def descendants(self, code: str) -> list[str]:
        """``code`` and the codes of every location below it."""
        out = [code]
        for child in self.children(code):
            out.extend(self.descendants(child.code))
        return out

    def deployments_of(self, device_code: str) -> list[Deployment]:
        """The deployments of one device, oldest first."""
        return list(self._load()["by_device"].get(device_code, ()))

    def deployments_at(self, location_code: str) -> list[Deployment]:
        """The deployments at one location, oldest first."""
        return list(self._load()["by_location"].get(location_code, ()))

    def deployed_intervals(
        self, device_code: str, now: pd.Timestamp | None = None
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """``[(begin, end)]`` of a device's deployments, ongoing ones ending at ``now``."""
        if now is None:
            now = resolve_now()
        return [
            (d.begin, d.end if d.end is not None else now) for d in self.deployments_of(device_code)
        ]

    def products_for(self, device_code: str) -> list[DataProduct]:
        """The data products (code × extension) a device offers."""
        category = self.device(device_code).category_code
        return [p for p in self.data_products if category in p.device_categories]

    def product(self, code: str, extension: str) -> DataProduct | None:
        """The data product with this code and extension, if it exists."""
        return self._load()["products"].get((code, extension))

    def properties_of(self, device_code: str) -> list[Property]:
        """The properties a device measures."""
        device = self.device(device_code)
        codes = CATEGORY_PROPERTIES.get(device.category_code)
        if codes is None:
            codes = tuple(dict.fromkeys(s.property_code for s in device.sensors))
        return [self.properties[c] for c in codes if c in self.properties]

    # -- sample periods ----------------------------------------------------------------------
    def sample_period_at(self, device_code: str, times: np.ndarray) -> np.ndarray:
        """The data-rating sample period (s) in force at each of ``times`` (datetime64[ns]).

        Before the first rating the first rating applies.
        """
        ratings = sorted(self.device(device_code).ratings, key=lambda r: r.date_from)
        if not ratings:
            raise KeyError(f"device {device_code} has no data rating")
        starts = np.array([r.date_from.value for r in ratings], dtype="int64")
        periods = np.array([r.sample_period for r in ratings], dtype="float64")
        idx = (
            np.searchsorted(
                starts, np.asarray(times, dtype="datetime64[ns]").astype("int64"), side="right"
            )
            - 1
        )
        return periods[np.clip(idx, 0, len(periods) - 1)]

    def citation(
        self, device_code: str, deployment: Deployment | None = None, *, at: object = None
    ) -> dict[str, str]:
        """The ``citation`` object ONC attaches to a deployment's data: ``deployment``'s, else
        the one in effect at time ``at`` (or the first after it), else the device's latest.
        Like ONC's, each deployment has its own DOI and title."""
        device = self.device(device_code)
        if deployment is None:
            deployments = self.deployments_of(device_code)
            deployment = deployments[-1]
            if at is not None:
                t = pd.Timestamp(at)
                later = [d for d in deployments if d.end is None or d.end > t]
                deployment = later[0] if later else deployment
        location = self.location(deployment.location_code)
        doi = f"10.80242/sandbox.{device.device_id}.{deployment.begin:%Y%m%d}"
        return {
            "citation": (
                f"{_ORG}. {deployment.begin.year}. {location.name} "
                f"{self.device_categories[device.category_code].name} "
                f"Deployed {deployment.begin:%Y-%m-%d}. {_ORG}. https://doi.org/{doi}. "
                "Synthetic data served by the intake-onc sandbox."
            ),
            "doi": doi,
            "landingPageUrl": f"https://doi.org/{doi}",
            "queryPid": None,
        }


#: The observatory every sandbox serves.
OBSERVATORY = Observatory()
