"""Discovery endpoints of the sandbox: shapes, field types, filters, 404s and ONC's errors."""

from __future__ import annotations

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN


def get(url: str, path: str, **params: object) -> requests.Response:
    return requests.get(f"{url}/api/{path}", params={"token": SANDBOX_TOKEN, **params}, timeout=60)


def error(code: int, message: str, parameter: str) -> dict:
    return {"errors": [{"errorCode": code, "errorMessage": message, "parameter": parameter}]}


def assert_types(item: dict, expected: dict) -> None:
    for key, kind in expected.items():
        assert key in item, key
        if kind is None:
            assert item[key] is None, key
        else:
            assert isinstance(item[key], kind), (key, item[key])


# -- locations ------------------------------------------------------------------------------------


def test_locations_fields_and_string_booleans(sandbox_url):
    r = get(sandbox_url, "locations", locationCode="BACAX")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    [loc] = r.json()
    assert_types(
        loc,
        {
            "deployments": int,
            "locationName": str,
            "depth": float,
            "bbox": dict,
            "description": str,
            "hasDeviceData": str,
            "lon": float,
            "locationCode": str,
            "hasPropertyData": str,
            "lat": float,
            "dataSearchURL": str,
        },
    )
    assert loc["hasDeviceData"] == "true" and loc["hasPropertyData"] == "true"
    assert loc["locationName"] == "Barkley Canyon Axis"  # ONC's real catalogue
    assert abs(loc["lat"] - 48.3166) < 0.01 and abs(loc["lon"] + 126.0507) < 0.01
    assert abs(loc["depth"] - 983.7) < 5
    assert set(loc["bbox"]) == {"maxDepth", "maxLat", "maxLon", "minDepth", "minLat", "minLon"}
    assert all(isinstance(v, float) for v in loc["bbox"].values())
    assert loc["dataSearchURL"].endswith("location=BACAX")


def test_locations_without_filters_lists_the_whole_observatory(sandbox_url):
    locations = get(sandbox_url, "locations").json()
    codes = [loc["locationCode"] for loc in locations]
    assert len(codes) == 1899  # every location of ONC's catalogue
    assert {"BACAX", "BACUS", "FGPD", "NCBC", "CRIP.C1", "CBCH", "CBCH.H1", "CBYIP"} <= set(codes)
    by_code = {loc["locationCode"]: loc for loc in locations}
    assert by_code["CBCH"]["locationName"] == "Hydrophone Array - Box Type"
    # a parent's bbox spans its children's positions and depths
    children = [by_code[c] for c in ("CBCH.H1", "CBCH.H2", "CBCH.H3", "CBCH.H4")]
    assert by_code["CBCH"]["bbox"]["minDepth"] <= min(c["depth"] for c in children)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"deviceCategoryCode": "HYDROPHONE"}, {"CBCH.H1", "CBCH.H2", "CBCH.H3"}),
        ({"deviceCode": "ICLISTENHF6093"}, {"CBCH.H3"}),
        ({"propertyCode": "oxygen"}, {"BACAX"}),
        ({"dataProductCode": "TSSD"}, {"BACAX", "BACUS", "FGPD"}),
        ({"locationName": "barkley"}, {"BACAX", "NCBC"}),
        ({"locationCode": "CBCH", "includeChildren": "true"}, {"CBCH", "CBCH.H1", "CBCH.H4"}),
        ({"deviceCategoryCode": "CTD", "dateFrom": "2022-01-01"}, {"BACAX"}),
        (
            {"deviceCategoryCode": "HYDROPHONE", "dateFrom": "2020-01-01", "dateTo": "2020-02-01"},
            {"CBCH.H2"},
        ),
    ],
)
def test_location_filters(sandbox_url, params, expected):
    r = get(sandbox_url, "locations", **params)
    assert r.status_code == 200, r.text
    codes = [loc["locationCode"] for loc in r.json()]
    assert expected <= set(codes) and len(codes) == len(set(codes))
    if "locationName" in params:
        assert all("barkley" in loc["locationName"].lower() for loc in r.json())
    if "deviceCode" in params:
        assert codes == sorted(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"locationCode": "FGPD", "dateTo": "1900-01-01"},
        {"locationName": "nowhere"},
        {"deviceCategoryCode": "ADCP2MHZ", "locationCode": "BACAX"},
    ],
)
def test_locations_404_when_nothing_matches(sandbox_url, params):
    r = get(sandbox_url, "locations", **params)
    assert r.status_code == 404
    assert isinstance(r.json()["message"], str)


def test_locations_errors(sandbox_url):
    assert get(sandbox_url, "locations", locationCode="XYZ123").json() == error(
        127, "Invalid parameter value", "locationCode"
    )
    assert get(sandbox_url, "locations", locationCodes="FGPD").json() == error(
        129, "Invalid parameter name", "locationCodes"
    )
    r = get(
        sandbox_url, "locations", locationCode="FGPD", dateFrom="2020-01-01", dateTo="2019-01-01"
    )
    assert r.status_code == 400
    assert r.json() == error(
        23, "Invalid Time Range, Start Time is after End Time.", "dateFrom, dateTo"
    )
    r = get(sandbox_url, "locations", locationCode="FGPD", dateFrom="2050-01-01")
    assert r.status_code == 400
    assert r.json() == error(25, "Invalid Time Range, Start Time is in the future.", "dateFrom")
    # There is no spatial filter.
    r = get(sandbox_url, "locations", lat="48", lon="-126", radius="10")
    assert r.status_code == 400
    assert [e["parameter"] for e in r.json()["errors"]] == ["lat", "lon", "radius"]
    assert {e["errorCode"] for e in r.json()["errors"]} == {129}


def test_unparseable_date_is_127(sandbox_url):
    r = get(sandbox_url, "deployments", dateFrom="yesterday")
    assert r.status_code == 400
    [err] = r.json()["errors"]
    assert (err["errorCode"], err["parameter"]) == (127, "dateFrom")


def test_durations_are_accepted(sandbox_url):
    r = get(sandbox_url, "locations", deviceCategoryCode="CTD", dateFrom="-P1D")
    assert "BACAX" in [loc["locationCode"] for loc in r.json()]
    r = get(
        sandbox_url, "locations", deviceCategoryCode="CTD", dateFrom="2019-06-01", dateTo="P10D"
    )
    assert {"BACAX", "FGPD"} <= {loc["locationCode"] for loc in r.json()}


# -- locations/tree ---------------------------------------------------------------------------


def test_tree_shape_and_pruning(sandbox_url):
    tree = get(sandbox_url, "locations/tree").json()
    codes = [n["locationCode"] for n in tree]
    assert "CBCH" in codes and "CBCH.H1" not in codes  # a dotted code sits under its prefix
    for node in tree:
        assert set(node) == {
            "locationName",
            "children",
            "description",
            "hasDeviceData",
            "locationCode",
            "hasPropertyData",
        }
        assert node["hasDeviceData"] in ("true", "false")
    leaf = next(n for n in tree if n["locationCode"] == "BACAX")
    assert leaf["children"] is None and leaf["hasDeviceData"] == "true"

    ctd = get(sandbox_url, "locations/tree", deviceCategoryCode="CTD").json()
    assert "BACAX" in [n["locationCode"] for n in ctd] and len(ctd) < len(tree)

    sgha = get(sandbox_url, "locations/tree", locationCode="CBCH").json()
    assert [n["locationCode"] for n in sgha] == ["CBCH"]
    assert [c["locationCode"] for c in sgha[0]["children"]] == [
        "CBCH.H1",
        "CBCH.H2",
        "CBCH.H3",
        "CBCH.H4",
    ]


def test_tree_errors(sandbox_url):
    assert (
        get(sandbox_url, "locations/tree", locationCode="CBCH", dateTo="1900-01-01").status_code
        == 404
    )
    assert get(sandbox_url, "locations/tree", locationCode="XYZ").json() == error(
        127, "Invalid parameter value", "locationCode"
    )
    assert get(sandbox_url, "locations/tree", includeChildren="true").json() == error(
        129, "Invalid parameter name", "includeChildren"
    )


# -- deployments ------------------------------------------------------------------------------


def test_deployments_shape_and_real_booleans(sandbox_url):
    r = get(sandbox_url, "deployments", locationCode="BACAX", deviceCategoryCode="CTD")
    deps = r.json()
    assert sorted((d["deviceCode"], d["begin"], d["end"]) for d in deps) == [
        ("SBECTD16p5047", "2009-09-01T00:00:00.000Z", "2016-05-19T20:39:38.000Z"),
        ("SBECTD19p6813", "2019-05-01T00:00:00.000Z", "2022-07-01T00:00:00.000Z"),
        ("SBECTD19p6813", "2022-07-15T00:00:00.000Z", None),
    ]
    assert_types(
        deps[0],
        {
            "begin": str,
            "citation": dict,
            "depth": float,
            "deviceCategoryCode": str,
            "deviceCode": str,
            "end": str,
            "hasDeviceData": bool,
            "heading": None,
            "lat": float,
            "locationCode": str,
            "lon": float,
            "pitch": None,
            "roll": None,
        },
    )
    assert deps[0]["hasDeviceData"] is True
    assert_types(
        deps[0]["citation"], {"citation": str, "doi": str, "landingPageUrl": str, "queryPid": None}
    )
    adcp = get(sandbox_url, "deployments", deviceCode="NORTEKADCP9917").json()
    assert (adcp[0]["heading"], adcp[0]["pitch"], adcp[0]["roll"]) == (12.5, 0.4, -1.1)


def test_deployments_filters(sandbox_url):
    # ICLISTENHF6093 was out of the water in July 2022.
    assert (
        get(
            sandbox_url,
            "deployments",
            deviceCode="ICLISTENHF6093",
            dateFrom="2022-07-01",
            dateTo="2022-08-01",
        ).status_code
        == 404
    )
    deps = get(sandbox_url, "deployments", propertyCode="oxygen").json()
    assert "AANDERAAO2224" in [d["deviceCode"] for d in deps]
    deps = get(
        sandbox_url,
        "deployments",
        deviceCode="ICLISTENHF6093",
        dateFrom="2022-01-01",
        dateTo="2022-12-31",
    ).json()
    assert [d["begin"][:10] for d in deps] == ["2021-03-01", "2022-09-01"]


def test_deployments_not_during_the_range_is_onc_127(sandbox_url):
    r = get(
        sandbox_url,
        "deployments",
        locationCode="BACAX",
        deviceCategoryCode="CTD",
        dateFrom="2022-07-05",
        dateTo="2022-07-10",
    )
    assert r.status_code == 400
    assert r.json() == error(
        127,
        "A device with category CTD was deployed at location BACAX but not during the provided "
        "time range (20220705T000000.000Z to 20220709T235959.999Z). The deployment service can "
        "be used to find the time ranges when devices were deployed at a location.",
        "locationCode, deviceCategoryCode, dateFrom, dateTo",
    )
    r = get(
        sandbox_url,
        "deployments",
        locationCode="BACAX",
        deviceCategoryCode="CTD",
        dateTo="1900-01-01",
    )
    assert r.status_code == 400 and r.json()["errors"][0]["errorCode"] == 127


def test_deployments_errors(sandbox_url):
    assert get(
        sandbox_url, "deployments", locationCode="XYZ123", deviceCategoryCode="CTD"
    ).json() == error(127, "Invalid parameter value", "locationCode")
    assert get(sandbox_url, "deployments", deviceCategoryCode="XYZ").json() == error(
        127, "Invalid parameter value", "deviceCategoryCode"
    )
    assert (
        get(sandbox_url, "deployments", locationCodes="BACAX").json()["errors"][0]["errorCode"]
        == 129
    )
    assert (
        get(
            sandbox_url,
            "deployments",
            locationCode="BACAX",
            deviceCategoryCode="CTD",
            dateFrom="2020-01-01",
            dateTo="2019-01-01",
        ).json()["errors"][0]["errorCode"]
        == 23
    )
    assert (
        get(
            sandbox_url,
            "deployments",
            locationCode="BACAX",
            deviceCategoryCode="CTD",
            dateFrom="2050-01-01",
        ).json()["errors"][0]["errorCode"]
        == 25
    )
    assert (
        get(
            sandbox_url, "deployments", deviceCode="ICLISTENHF6020", dateFrom="2022-01-01"
        ).status_code
        == 404
    )


# -- devices ----------------------------------------------------------------------------------


def test_devices_shape(sandbox_url):
    [dev] = get(sandbox_url, "devices", deviceCode="SBECTD19p6813").json()
    assert_types(
        dev,
        {
            "cvTerm": dict,
            "dataRating": list,
            "deviceCategoryCode": str,
            "deviceCode": str,
            "deviceId": int,
            "deviceLink": str,
            "deviceName": str,
            "hasDeviceData": bool,
        },
    )
    assert_types(dev["cvTerm"]["device"][0], {"uri": str, "vocabulary": str})
    assert dev["deviceId"] == 23842  # ONC's real id and data rating
    assert dev["deviceLink"].endswith("DeviceId=23842")
    assert dev["dataRating"] == [
        {
            "dateFrom": "2016-05-19T20:39:38.000Z",
            "dateTo": "2019-07-15T18:46:06.000Z",
            "samplePeriod": 0.25,
            "sampleSize": 1,
        },
        {
            "dateFrom": "2019-07-15T18:46:06.000Z",
            "dateTo": None,
            "samplePeriod": 1.0,
            "sampleSize": 1,
        },
    ]


def test_devices_filters_and_errors(sandbox_url):
    codes = [d["deviceCode"] for d in get(sandbox_url, "devices", locationCode="BACAX").json()]
    assert codes == ["AANDERAAO2224", "SBECTD16p5047", "SBECTD19p6813"]
    codes = [
        d["deviceCode"]
        for d in get(
            sandbox_url,
            "devices",
            deviceCategoryCode="HYDROPHONE",
            dateFrom="2021-06-01",
            dateTo="2021-07-01",
        ).json()
    ]
    assert "ICLISTENHF6093" in codes and "ICLISTENHF6324" not in codes  # 6324: from 2023
    # The restricted device's metadata stays visible.
    assert get(sandbox_url, "devices", deviceCode="NORTEKADCP9917").status_code == 200
    assert (
        get(sandbox_url, "devices", deviceCode="SBECTD16p6536", dateTo="1900-01-01").status_code
        == 404
    )
    assert get(sandbox_url, "devices", deviceCode="XYZ123").json() == error(
        127, "Invalid parameter value", "deviceCode"
    )
    assert get(sandbox_url, "devices", deviceCodes="X").json()["errors"][0]["errorCode"] == 129
    assert (
        get(
            sandbox_url,
            "devices",
            deviceCode="SBECTD16p6536",
            dateFrom="2020-01-01",
            dateTo="2019-01-01",
        ).json()["errors"][0]["errorCode"]
        == 23
    )


# -- deviceCategories, properties ---------------------------------------------------------------


def test_device_categories(sandbox_url):
    data = get(
        sandbox_url,
        "deviceCategories",
        deviceCategoryCode="CTD",
        deviceCategoryName="Conductivity",
        description="Temperature",
    ).json()
    assert len(data) == 1
    assert_types(
        data[0],
        {
            "cvTerm": dict,
            "description": str,
            "deviceCategoryCode": str,
            "deviceCategoryName": str,
            "hasDeviceData": str,
            "longDescription": str,
        },
    )
    assert data[0]["hasDeviceData"] == "true"
    assert_types(data[0]["cvTerm"]["deviceCategory"][0], {"uri": str, "vocabulary": str})
    codes = [
        c["deviceCategoryCode"]
        for c in get(sandbox_url, "deviceCategories", locationCode="BACAX").json()
    ]
    assert codes == ["CTD", "OXYSENSOR"]
    codes = [
        c["deviceCategoryCode"]
        for c in get(sandbox_url, "deviceCategories", propertyCode="seawatertemperature").json()
    ]
    assert codes == ["BPR", "CTD", "OXYSENSOR"]
    assert (
        get(
            sandbox_url, "deviceCategories", deviceCategoryCode="CTD", description="TemperatureXXX"
        ).status_code
        == 404
    )
    assert get(sandbox_url, "deviceCategories", deviceCategoryCode="XYZ123").json() == error(
        127, "Invalid parameter value", "deviceCategoryCode"
    )
    assert get(sandbox_url, "deviceCategories", deviceCategoryCodes="CTD").json() == error(
        129, "Invalid parameter name", "deviceCategoryCodes"
    )


def test_properties(sandbox_url):
    data = get(
        sandbox_url,
        "properties",
        propertyCode="conductivity",
        locationCode="BACAX",
        deviceCategoryCode="CTD",
    ).json()
    assert len(data) == 1
    assert_types(
        data[0],
        {
            "cvTerm": dict,
            "description": str,
            "hasDeviceData": bool,
            "hasPropertyData": bool,
            "propertyCode": str,
            "propertyName": str,
            "uom": str,
        },
    )
    assert data[0]["uom"] == "S/m"
    assert_types(data[0]["cvTerm"]["uom"][0], {"uri": str, "vocabulary": str})
    codes = [
        p["propertyCode"] for p in get(sandbox_url, "properties", deviceCode="AANDERAAO2224").json()
    ]
    assert codes == ["oxygen", "seawatertemperature"]
    codes = [
        p["propertyCode"] for p in get(sandbox_url, "properties", locationCode="CBCH.H1").json()
    ]
    assert codes == ["soundpressurelevel"]
    assert (
        get(
            sandbox_url, "properties", propertyCode="conductivity", locationCode="CBCH.H1"
        ).status_code
        == 404
    )
    assert get(sandbox_url, "properties", propertyCode="XYZ123").json() == error(
        127, "Invalid parameter value", "propertyCode"
    )
    assert get(sandbox_url, "properties", propertyCodes="x").json()["errors"][0]["errorCode"] == 129


# -- dataProducts -------------------------------------------------------------------------------


def test_data_products_shape(sandbox_url):
    data = get(sandbox_url, "dataProducts", dataProductCode="HSD", extension="png").json()
    assert len(data) == 1
    assert_types(
        data[0],
        {
            "dataProductCode": str,
            "dataProductName": str,
            "dataProductOptions": list,
            "extension": str,
            "hasDeviceData": bool,
            "hasPropertyData": bool,
            "helpDocument": str,
        },
    )
    option = next(o for o in data[0]["dataProductOptions"] if o["allowableRange"])
    assert_types(
        option,
        {
            "allowableRange": dict,
            "allowableValues": list,
            "defaultValue": str,
            "documentation": list,
            "option": str,
            "suboptions": None,
        },
    )
    assert_types(
        option["allowableRange"],
        {"lowerBound": str, "onlyIntegers": bool, "unitOfMeasure": str, "upperBound": str},
    )
    first = data[0]["dataProductOptions"][0]
    assert first == {  # ONC's catalogue: options in name order, ONC's defaults
        "allowableRange": None,
        "allowableValues": ["All", "LF", "HF"],
        "defaultValue": "All",
        "documentation": ["https://wiki.oceannetworks.ca/display/DP/45"],
        "option": "dpo_hydrophoneAcquisitionMode",
        "suboptions": None,
    }
    channel = data[0]["dataProductOptions"][1]
    assert (channel["option"], channel["defaultValue"]) == ("dpo_hydrophoneChannel", "H1")


def test_data_products_filters_and_errors(sandbox_url):
    pairs = [
        (p["dataProductCode"], p["extension"])
        for p in get(sandbox_url, "dataProducts", deviceCode="ICLISTENHF6093").json()
    ]
    assert pairs == [("AD", "flac"), ("AD", "wav"), ("HSD", "mat"), ("HSD", "png")]
    pairs = [
        (p["dataProductCode"], p["extension"])
        for p in get(sandbox_url, "dataProducts", deviceCode="NORTEKADCP9917").json()
    ]
    assert pairs == [
        ("TSSD", "csv"),
        ("TSSD", "json"),
        ("TSSD", "mat"),
        ("TSSD", "nc"),
        ("TSSD", "txt"),
        ("TSSP", "pdf"),
        ("TSSP", "png"),
    ]
    pairs = [
        p["extension"]
        for p in get(
            sandbox_url, "dataProducts", locationCode="BACAX", deviceCategoryCode="CTD"
        ).json()
    ]
    assert pairs == ["csv", "json", "mat", "nc", "txt", "pdf", "png"]
    assert (
        get(sandbox_url, "dataProducts", dataProductCode="HSD", extension="txt").status_code == 404
    )
    assert get(sandbox_url, "dataProducts", dataProductCode="XYZ123").json() == error(
        127, "Invalid parameter value", "dataProductCode"
    )
    assert get(sandbox_url, "dataProducts", dataProductCodes="HSD").json() == error(
        129, "Invalid parameter name", "dataProductCodes"
    )


# -- dataAvailability ---------------------------------------------------------------------------


def test_data_availability(sandbox_url):
    r = get(
        sandbox_url,
        "dataAvailability/dataproducts",
        deviceCode="ICLISTENHF6093",
        dateFrom="2023-01-01T00:00:00.000Z",
        dateTo="2023-01-01T01:00:00.000Z",
    )
    assert r.status_code == 200
    data = r.json()
    assert_types(
        data, {"availableDataProducts": list, "messages": list, "next": None, "queryUrl": str}
    )
    items = data["availableDataProducts"]
    assert [(i["dataProductCode"], i["extension"]) for i in items] == [
        ("AD", "flac"),
        ("HSD", "mat"),
        ("HSD", "png"),
    ]
    for item in items:
        assert_types(
            item,
            {
                "averageFileCoverage": float,
                "dataProductCode": str,
                "dateFrom": str,
                "dateTo": str,
                "deviceCode": str,
                "extension": str,
                "fileCount": int,
                "maxFileCoverage": float,
                "maxFileCoverageDate": str,
                "minFileCoverage": float,
                "minFileCoverageDate": str,
                "totalFileSize": int,
                "totalUncompressedFileSize": int,
            },
        )
        assert 10 <= item["fileCount"] <= 12
    listing = get(
        sandbox_url,
        "archivefile/device",
        deviceCode="ICLISTENHF6093",
        dateFrom="2023-01-01T00:00:00.000Z",
        dateTo="2023-01-01T01:00:00.000Z",
        returnOptions="all",
        fileExtension="flac",
    ).json()["files"]
    assert items[0]["fileCount"] == len(listing)
    assert items[0]["totalFileSize"] == sum(f["fileSize"] for f in listing)

    only_mat = get(
        sandbox_url,
        "dataAvailability/dataproducts",
        locationCode="CBCH.H3",
        deviceCategoryCode="HYDROPHONE",
        extension="mat",
        dateFrom="2023-01-01",
        dateTo="2023-01-03",
        groupBy="day",
    ).json()
    days = [(i["extension"], i["dateFrom"][:10]) for i in only_mat["availableDataProducts"]]
    assert days == [("mat", "2023-01-01"), ("mat", "2023-01-02")]
    assert get(
        sandbox_url,
        "dataAvailability/dataproducts",
        locationCode="INVALID",
        deviceCategoryCode="CTD",
    ).json() == error(127, "Invalid parameter value", "locationCode")
    # Scalar devices have no archived products in the sandbox.
    assert (
        get(
            sandbox_url,
            "dataAvailability/dataproducts",
            deviceCode="SBECTD19p6813",
            dateFrom="2024-01-01",
            dateTo="2024-01-02",
        ).json()["availableDataProducts"]
        == []
    )


def test_data_availability_by_day_adds_up_to_the_whole_range(sandbox_url):
    week = {"deviceCode": "ICLISTENHF6324", "dateFrom": "2024-01-01", "dateTo": "2024-01-08"}
    whole = get(sandbox_url, "dataAvailability/dataproducts", **week).json()
    days = get(sandbox_url, "dataAvailability/dataproducts", groupBy="day", **week).json()
    for item in whole["availableDataProducts"]:
        kind = (item["dataProductCode"], item["extension"])
        same = [
            d
            for d in days["availableDataProducts"]
            if (d["dataProductCode"], d["extension"]) == kind
        ]
        assert [d["dateFrom"][:10] for d in same] == [f"2024-01-0{k}" for k in range(1, 8)]
        assert sum(d["fileCount"] for d in same) == item["fileCount"]
        assert sum(d["totalFileSize"] for d in same) == item["totalFileSize"]
        assert (same[0]["dateFrom"], same[-1]["dateTo"]) == (item["dateFrom"], item["dateTo"])
