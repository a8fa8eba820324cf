"""Build ``intake_onc/sandbox/observatory/catalogue.json.xz`` from ONC's real discovery answers.

The sandbox's observatory is seeded from ONC's public catalogue (1,899 locations, 2,903 devices
with their ``dataRating`` sample periods, 127 device categories, 215 properties, 294 data
products with their options). This script keeps the fields the sandbox serves and writes them
as one xz-compressed JSON file shipped in the package (``catalogue.py`` loads it lazily).

Run from the repository root (the reference folder is ``../shared/reference/onc-catalogue``)::

    python tools/build_sandbox_catalogue.py [REFERENCE_FOLDER]
"""

from __future__ import annotations

import json
import lzma
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "intake_onc" / "sandbox" / "observatory" / "catalogue.json.xz"


def _load(folder: Path, name: str) -> list[dict]:
    return json.loads((folder / name).read_text())


def main(folder: Path) -> None:
    locations = [
        {
            "code": x["locationCode"],
            "name": (x.get("locationName") or "").strip(),
            "description": (x.get("description") or "").strip(),
            "lat": x.get("lat"),
            "lon": x.get("lon"),
            "depth": x.get("depth"),
            "hasDeviceData": str(x.get("hasDeviceData")).lower() == "true",
        }
        for x in _load(folder, "locations.json")
    ]
    devices = [
        {
            "code": x["deviceCode"],
            "id": x.get("deviceId"),
            "name": (x.get("deviceName") or "").strip(),
            "category": x.get("deviceCategoryCode"),
            "ratings": [
                [r.get("dateFrom"), r.get("dateTo"), r.get("samplePeriod"), r.get("sampleSize", 1)]
                for r in x.get("dataRating") or []
            ],
        }
        for x in _load(folder, "devices.json")
    ]
    categories = [
        {
            "code": x["deviceCategoryCode"],
            "name": (x.get("deviceCategoryName") or "").strip(),
            "description": (x.get("description") or "").strip(),
            "long": (x.get("longDescription") or "").strip(),
        }
        for x in _load(folder, "deviceCategories.json")
    ]
    properties = [
        {
            "code": x["propertyCode"],
            "name": (x.get("propertyName") or "").strip(),
            "description": (x.get("description") or "").strip(),
            "unit": (x.get("uom") or "").strip(),
        }
        for x in _load(folder, "properties.json")
    ]
    products = []
    for x in _load(folder, "dataProducts.json"):
        options = []
        for o in x.get("dataProductOptions") or []:
            values = o.get("allowableValues") or []
            bounds = o.get("allowableRange") or {}
            options.append(
                {
                    "option": o.get("option"),
                    "default": None
                    if o.get("defaultValue") is None
                    else str(o.get("defaultValue")),
                    "allowed": [str(v) for v in values] if isinstance(values, list) else [],
                    "range": bounds if isinstance(bounds, dict) else {},
                    "documentation": (o.get("documentation") or [None])[0],
                }
            )
        products.append(
            {
                "code": x["dataProductCode"],
                "name": (x.get("dataProductName") or "").strip(),
                "extension": x.get("extension"),
                "help": x.get("helpDocument"),
                "options": options,
            }
        )
    cby = []
    for x in _load(folder, "cby_deployments.json"):
        match = re.search(r"Deployed (\d{4}-\d{2}-\d{2})", x.get("description") or "")
        cby.append(
            {
                "device": x["deviceCode"],
                "begin": match.group(1) if match else None,
                "citation": x.get("description"),
            }
        )
    data = {
        "source": "ONC public discovery answers (seng499-bratwurst/rift, 2025-07-29)",
        "locations": locations,
        "devices": devices,
        "categories": categories,
        "properties": properties,
        "products": products,
        "cby_deployments": cby,
    }
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    TARGET.write_bytes(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
    print(f"{TARGET}: {len(raw):,} bytes of JSON, {TARGET.stat().st_size:,} compressed")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT.parent / "shared" / "reference" / "onc-catalogue"
    )
