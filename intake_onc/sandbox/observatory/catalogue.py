"""ONC's real catalogue, merged with the sandbox's hand-written facts into one observatory.

``catalogue.json.xz`` (built by ``tools/build_sandbox_catalogue.py`` from ONC's public discovery
answers) holds 1,899 locations, 2,903 devices with their ``dataRating`` sample periods, 127
device categories, 215 properties and 294 data products with their options and defaults. It is
read once, on first use (about 0.3 s), never at import.

How the merge works (every approximation is listed in the README's "How the sandbox differs"):

* **Codes and names** are ONC's. The hand-written devices of :mod:`.tables` (sensors, audio
  formats, restricted access) keep those facts, with ONC's names, ids and sample periods.
* **The location tree**: the dump is a flat list, so a location's parent is the location whose
  code is its code up to the last dot (``CBCH.H1`` under ``CBCH``); the others are roots.
* **Deployments**: the hand-written ones, ONC's Cambridge Bay deployments (their begin date read
  from ONC's citation), and for every other device of a category the sandbox serves, one
  deployment derived deterministically: from its first ``dataRating`` date to its last
  (ongoing when the last rating is), at a location chosen from the device's code among the
  locations with device data.
* **Data** is synthesised for the categories the package reads (CTD, oxygen, BPR, ADCP as
  scalar devices; hydrophones at 64 kHz unless written otherwise); other categories are listed
  by discovery, and their data requests get ONC-style errors.
* **Data products and their options, defaults and allowed values** are ONC's; the sandbox builds
  TSSD, HSD and AD (see :mod:`intake_onc.sandbox.products`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import lzma
from typing import Any

import pandas as pd

from .records import (
    AudioSpec,
    DataProduct,
    DataRating,
    Deployment,
    Device,
    DeviceCategory,
    Location,
    ProductOption,
    Property,
    Sensor,
)

__all__ = ["SERVED_CATEGORIES", "load_catalogue", "merged_tables"]

#: The sensors a device of each scalar category reports (the hand-written devices of tables.py
#: use the same ones).
CTD_SENSORS = (
    Sensor("temperature", "Temperature", "C", "seawatertemperature", "temperature"),
    Sensor("conductivity", "Conductivity", "S/m", "conductivity", "conductivity"),
    Sensor("pressure", "Pressure", "decibar", "pressure", "pressure"),
    Sensor("salinity", "Practical Salinity", "psu", "salinity", "salinity"),
)
OXY_SENSORS = (
    Sensor("oxygen", "Oxygen Concentration Corrected", "ml/l", "oxygen", "oxygen_corrected"),
    Sensor("temperature", "Temperature", "C", "seawatertemperature", "temperature"),
)
ADCP_SENSORS = (Sensor("speed", "Current Speed", "m/s", "seawaterspeed", "speed"),)
# A bottom pressure recorder reports the CTD's pressure and temperature sensors.
_PRESSURE, _TEMPERATURE = CTD_SENSORS[2], CTD_SENSORS[0]

#: The categories whose devices get synthetic data, and the sensors a device of each reports.
SERVED_CATEGORIES: dict[str, tuple[Sensor, ...]] = {
    "CTD": CTD_SENSORS,
    "OXYSENSOR": OXY_SENSORS,
    "BPR": (_PRESSURE, _TEMPERATURE),
    "ADCP2MHZ": ADCP_SENSORS,
    "HYDROPHONE": (),
}
#: Device categories of each data product the sandbox builds (others list no category).
PRODUCT_CATEGORIES = {
    "TSSD": ("CTD", "OXYSENSOR", "BPR", "ADCP2MHZ"),
    "HSD": ("HYDROPHONE",),
    "AD": ("HYDROPHONE",),
    "TSSP": ("CTD", "OXYSENSOR", "BPR", "ADCP2MHZ"),  # rawdata branch: plots of the TSSD series
}
#: Deployments known from ONC's own answers (onc-api-samples: the official client's tutorial)
#: and one guess that gives the Barkley Canyon axis its CTD record since 2009.
KNOWN_DEPLOYMENTS = (
    # deployments_NC89_BPR.json (real)
    Deployment(
        "BPR_889",
        "NC89",
        pd.Timestamp("2009-09-06T15:05:58"),
        pd.Timestamp("2022-08-04T19:16:37"),
        48.670835,
        -126.847965,
        1258.0,
    ),
    # a guess: a CTD ONC rated from 2008 on, at BACAX until SBECTD19p6813's rating begins
    Deployment(
        "SBECTD16p5047",
        "BACAX",
        pd.Timestamp("2009-09-01"),
        pd.Timestamp("2016-05-19T20:39:38"),
        48.316654,
        -126.050749,
        983.7,
    ),
)
#: Options a request must carry (ONC answers errorCode 128 without them).
_REQUIRED = {"dpo_qualityControl", "dpo_resample"}


@functools.cache
def load_catalogue() -> dict[str, Any]:
    """The shipped catalogue as plain JSON (decompressed once per process)."""
    data = importlib.resources.files(__package__).joinpath("catalogue.json.xz").read_bytes()
    return json.loads(lzma.decompress(data))


def _ts(text: str | None) -> pd.Timestamp | None:
    if not text:
        return None
    return (
        pd.Timestamp(text).tz_convert(None).as_unit("ns")
        if "Z" in text or "+" in text
        else pd.Timestamp(text).as_unit("ns")
    )


def _ratings(rows: list) -> tuple[DataRating, ...]:
    out = []
    for begin, end, period, size in rows:
        if period is None or float(period) <= 0 or begin is None:
            continue
        out.append(DataRating(_ts(begin), _ts(end), float(period), int(size or 1)))
    return tuple(sorted(out, key=lambda r: r.date_from))


def _parent(code: str, known: set[str]) -> str | None:
    head = code
    while "." in head:
        head = head.rsplit(".", 1)[0]
        if head in known:
            return head
    return None


def _pick(code: str, choices: list[str]) -> str:
    digest = int(hashlib.sha256(code.encode()).hexdigest()[:12], 16)
    return choices[digest % len(choices)]


def _options(real: list[dict], hand: tuple[ProductOption, ...]) -> tuple[ProductOption, ...]:
    known = {o.option: o for o in hand}
    out = []
    for o in real:
        name = o["option"]
        allowed = tuple(o.get("allowed") or ()) or (known[name].allowed if name in known else ())
        bounds = o.get("range") or {}
        rng = None
        if bounds:
            rng = (
                str(bounds.get("lowerBound", "")),
                str(bounds.get("upperBound", "")),
                bool(bounds.get("onlyIntegers", False)),
                str(bounds.get("unitOfMeasure") or ""),
            )
        default = o.get("default")
        if default is None and name in known:
            default = known[name].default
        out.append(ProductOption(name, default or "", allowed, rng, required=name in _REQUIRED))
    names = {o.option for o in out}
    out.extend(o for o in hand if o.option not in names)  # options the sandbox also reads
    return tuple(sorted(out, key=lambda o: o.option))


def merged_tables(hand: dict[str, tuple]) -> dict[str, tuple]:
    """The observatory's tables: ONC's catalogue with the hand-written facts merged in.

    ``hand`` holds the tuples of :mod:`.tables` (``locations``, ``devices``, ``deployments``,
    ``device_categories``, ``properties``, ``data_products``).
    """
    cat = load_catalogue()
    real_locations = {x["code"]: x for x in cat["locations"]}
    codes = set(real_locations)
    locations = []
    for x in cat["locations"]:
        depth = x.get("depth")
        locations.append(
            Location(
                x["code"],
                x["name"] or x["code"],
                _parent(x["code"], codes),
                float(x["lat"]) if x.get("lat") is not None else 0.0,
                float(x["lon"]) if x.get("lon") is not None else 0.0,
                float(depth) if depth is not None else None,
                x["description"],
                bool(x["hasDeviceData"]),
            )
        )
    hand_devices = {d.code: d for d in hand["devices"]}
    devices = []
    for x in cat["devices"]:
        ratings = _ratings(x["ratings"])
        if x["code"] in hand_devices:
            d = hand_devices[x["code"]]
            devices.append(
                Device(
                    d.code,
                    int(x["id"] or d.device_id),
                    x["name"] or d.name,
                    d.category_code,
                    d.sensors,
                    ratings or d.ratings,
                    d.audio,
                    d.restricted,
                    synthetic_key=d.data_key,
                    synthetic_id=d.data_id,
                )
            )
            continue
        category = x["category"]
        audio = (
            AudioSpec(64_000, formats=((pd.Timestamp("2000-01-01"), "flac"),))
            if category == "HYDROPHONE"
            else None
        )
        sensors = SERVED_CATEGORIES.get(category, ())
        devices.append(
            Device(x["code"], int(x["id"] or 0), x["name"], category, sensors, ratings, audio)
        )
    missing = [
        d for code, d in hand_devices.items() if code not in {x["code"] for x in cat["devices"]}
    ]
    devices.extend(missing)  # hand-written devices ONC does not list (none expected)

    deployments = list(hand["deployments"]) + list(KNOWN_DEPLOYMENTS)
    deployed = {d.device_code for d in deployments}
    with_data = sorted(c for c, x in real_locations.items() if x["hasDeviceData"])
    by_code = {loc.code: loc for loc in locations}
    cby = {x["device"]: x for x in cat["cby_deployments"]}
    cby_site = (
        "CBYIP"
        if "CBYIP" in by_code
        else next((c for c in with_data if c.startswith("CBY")), with_data[0])
    )
    for device in devices:
        if device.code in deployed or device.category_code not in SERVED_CATEGORIES:
            continue
        if not device.ratings and device.code not in cby:
            continue
        if device.code in cby and cby[device.code].get("begin"):
            begin, end, site = _ts(cby[device.code]["begin"]), None, cby_site
        else:
            begin = device.ratings[0].date_from
            end = device.ratings[-1].date_to
            site = _pick(device.code, with_data)
        loc = by_code[site]
        deployments.append(
            Deployment(
                device.code,
                site,
                begin,
                end,
                loc.lat,
                loc.lon,
                loc.depth if loc.depth is not None else 0.0,
            )
        )

    hand_categories = {c.code: c for c in hand["device_categories"]}
    categories = [
        DeviceCategory(x["code"], x["name"], x["description"], x["long"]) for x in cat["categories"]
    ]
    categories += [
        c
        for code, c in hand_categories.items()
        if code not in {x["code"] for x in cat["categories"]}
    ]
    hand_properties = {p.code: p for p in hand["properties"]}
    properties = [
        Property(x["code"], x["name"], x["description"], x["unit"]) for x in cat["properties"]
    ]
    properties += [
        p
        for code, p in hand_properties.items()
        if code not in {x["code"] for x in cat["properties"]}
    ]

    hand_products = {(p.code, p.extension): p for p in hand["data_products"]}
    products = []
    for x in cat["products"]:
        key = (x["code"], x["extension"])
        base = hand_products.get(key)
        categories_of = PRODUCT_CATEGORIES.get(x["code"], ()) if base is not None else ()
        products.append(
            DataProduct(
                x["code"],
                x["name"],
                x["extension"],
                categories_of,
                _options(x["options"], base.options if base else ()),
                x.get("help") or (base.help_document if base else ""),
            )
        )
    return {
        "locations": tuple(locations),
        "devices": tuple(devices),
        "deployments": tuple(deployments),
        "device_categories": tuple(categories),
        "properties": tuple(properties),
        "data_products": tuple(products),
    }
