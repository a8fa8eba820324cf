"""The official ``onc`` client (2.6.0) against the sandbox, unchanged apart from ``baseUrl``.

Modelled on the client's own test-suite (``tests/**`` of OceanNetworksCanada/api-python-client),
which describes the real API's behaviour: discovery, archive listing with ``allPages``, archive
download, scalar data with ``allPages``, and ``orderDataProduct`` (TSSD csv, HSD mat), plus the
errors those tests expect.
"""

from __future__ import annotations

import math

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN

onc_module = pytest.importorskip("onc")

HYDROPHONE_20_MIN = {
    "deviceCode": "ICLISTENHF6093",
    "dateFrom": "2023-01-01T00:00:00.000Z",
    "dateTo": "2023-01-01T00:20:00.000Z",
}
CTD_MINUTE = {
    "deviceCode": "SBECTD19p6813",
    "dateFrom": "2024-01-01T00:00:00.000Z",
    "dateTo": "2024-01-01T00:01:00.000Z",
    "rowLimit": 80000,
}
TSSD_ORDER = {
    "dataProductCode": "TSSD",
    "extension": "csv",
    "dateFrom": "2024-01-01T00:00:00.000Z",
    "dateTo": "2024-01-01T02:00:00.000Z",
    "locationCode": "BACAX",
    "deviceCategoryCode": "CTD",
    "dpo_qualityControl": 1,
    "dpo_resample": "none",
}
HSD_ORDER = {
    "dataProductCode": "HSD",
    "extension": "mat",
    "deviceCode": "ICLISTENHF6093",
    "dateFrom": "2023-01-01T00:01:00.000Z",
    "dateTo": "2023-01-01T00:09:00.000Z",
}
RESULT_KEYS = {
    "url": str,
    "status": str,
    "size": int,
    "file": str,
    "index": str,
    "downloaded": bool,
    "requestCount": int,
    "fileDownloadTime": float,
}


@pytest.fixture
def onc(sandbox_url, tmp_path):
    client = onc_module.ONC(SANDBOX_TOKEN, outPath=tmp_path, timeout=60)
    client.baseUrl = sandbox_url + "/"  # the only change
    return client


def files_in(client) -> list[str]:
    return sorted(p.name for p in client.outPath.iterdir())


def assert_types(item: dict, expected: dict) -> None:
    for key, kind in expected.items():
        assert key in item, key
        assert item[key] is None if kind is None else isinstance(item[key], kind), (key, item[key])


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a, b, strict=True)
    )


# -- discovery ------------------------------------------------------------------------------------


def test_discovery(onc):
    locations = onc.getLocations(
        {"locationCode": "FGPD", "dateFrom": "2005-09-17", "dateTo": "2020-09-17"}
    )
    assert_types(
        locations[0],
        {
            "deployments": int,
            "locationName": str,
            "depth": float,
            "bbox": dict,
            "description": str,
            "hasDeviceData": bool,
            "lon": float,
            "locationCode": str,
            "hasPropertyData": bool,
            "lat": float,
            "dataSearchURL": str,
        },
    )
    tree = onc.getLocationsTree({"locationCode": "CBCH", "deviceCategoryCode": "HYDROPHONE"})
    assert tree[0]["hasDeviceData"] is True  # the client turned "true" into True
    assert tree[0]["children"][0]["hasDeviceData"] is True
    assert onc.getLocationHierarchy({"locationCode": "CBCH"}) == onc.getLocationsTree(
        {"locationCode": "CBCH"}
    )
    deployments = onc.getDeployments(
        {
            "locationCode": "BACAX",
            "deviceCategoryCode": "CTD",
            "dateFrom": "2020-09-17",
            "dateTo": "2020-09-18",
        }
    )
    assert_types(
        deployments[0],
        {
            "begin": str,
            "citation": dict,
            "depth": float,
            "hasDeviceData": bool,
            "heading": None,
            "end": str,
        },
    )
    devices = onc.getDevices(
        {"deviceCode": "SBECTD19p6813", "dateFrom": "2019-09-17", "dateTo": "2020-09-17"}
    )
    assert_types(
        devices[0]["dataRating"][0], {"dateFrom": str, "samplePeriod": float, "sampleSize": int}
    )
    categories = onc.getDeviceCategories(
        {
            "deviceCategoryCode": "CTD",
            "deviceCategoryName": "Conductivity",
            "description": "Temperature",
        }
    )
    assert categories[0]["hasDeviceData"] is True
    properties = onc.getProperties(
        {"propertyCode": "conductivity", "locationCode": "BACAX", "deviceCategoryCode": "CTD"}
    )
    assert properties[0]["uom"] == "S/m"
    products = onc.getDataProducts({"dataProductCode": "HSD", "extension": "png"})
    assert_types(
        next(o for o in products[0]["dataProductOptions"] if o["allowableRange"])["allowableRange"],
        {"lowerBound": str, "onlyIntegers": bool, "unitOfMeasure": str, "upperBound": str},
    )
    availability = onc.getDataAvailability(
        {
            "locationCode": "CBCH.H3",
            "deviceCategoryCode": "HYDROPHONE",
            "dateFrom": "2023-01-01",
            "dateTo": "2023-01-01T01:00",
        }
    )
    assert_types(
        availability,
        {"availableDataProducts": list, "messages": list, "next": None, "queryUrl": str},
    )
    assert_types(
        availability["availableDataProducts"][0], {"fileCount": int, "averageFileCoverage": float}
    )


def test_discovery_errors(onc):
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.getLocations({"locationCode": "XYZ123"})
    with pytest.raises(requests.HTTPError, match=r"API Error 129"):
        onc.getLocations({"locationCodes": "FGPD"})
    with pytest.raises(requests.HTTPError, match=r"API Error 23"):
        onc.getDeployments(
            {
                "locationCode": "BACAX",
                "deviceCategoryCode": "CTD",
                "dateFrom": "2020-01-01",
                "dateTo": "2019-01-01",
            }
        )
    with pytest.raises(requests.HTTPError, match=r"API Error 25"):
        onc.getDevices({"deviceCode": "SBECTD16p6536", "dateFrom": "2050-01-01"})
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.getDeployments(
            {"locationCode": "BACAX", "deviceCategoryCode": "CTD", "dateTo": "1900-01-01"}
        )
    with pytest.raises(requests.HTTPError, match=r"404 Client Error"):
        onc.getDevices({"deviceCode": "SBECTD16p6536", "dateTo": "1900-01-01"})
    with pytest.raises(requests.HTTPError, match=r"404 Client Error"):
        onc.getDataProducts({"dataProductCode": "HSD", "extension": "txt"})


def test_bad_token(sandbox_url, tmp_path):
    client = onc_module.ONC("not-the-token", outPath=tmp_path)
    client.baseUrl = sandbox_url + "/"
    with pytest.raises(requests.HTTPError, match=r"Status 401 - Unauthorized"):
        client.getLocations()


# -- archive files --------------------------------------------------------------------------------


def test_archive_listing_all_pages(onc):
    one_page = onc.getArchivefile(dict(HYDROPHONE_20_MIN))
    assert one_page["next"] is None and len(one_page["files"]) > 5
    all_pages = onc.getArchivefile({**HYDROPHONE_20_MIN, "rowLimit": 2}, allPages=True)
    assert all_pages["files"] == one_page["files"] and all_pages["next"] is None
    first = onc.getArchivefileByDevice({**HYDROPHONE_20_MIN, "rowLimit": 2})
    assert len(first["files"]) == 2 and first["next"] is not None
    by_location = onc.getArchivefileByLocation(
        {
            "locationCode": "CBCH.H3",
            "deviceCategoryCode": "HYDROPHONE",
            "dateFrom": HYDROPHONE_20_MIN["dateFrom"],
            "dateTo": HYDROPHONE_20_MIN["dateTo"],
            "rowLimit": 4,
        },
        allPages=True,
    )
    assert by_location["files"] == one_page["files"]
    mats = onc.getArchivefile(
        {**HYDROPHONE_20_MIN, "extension": "mat", "rowLimit": 3}, allPages=True
    )
    assert mats["files"] == [f for f in one_page["files"] if f.endswith(".mat")]
    assert (
        onc.getArchivefile({**HYDROPHONE_20_MIN, "dateFrom": "2000-01-01", "dateTo": "2000-01-02"})[
            "files"
        ]
        == []
    )
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.getArchivefile({**HYDROPHONE_20_MIN, "deviceCode": "XYZ123"})
    with pytest.raises(requests.HTTPError, match=r"API Error 129"):
        onc.getArchivefile({**HYDROPHONE_20_MIN, "deviceCodes": "X"})
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.getArchivefileByLocation(
            {
                "locationCode": "CBCH.H3",
                "deviceCategoryCode": "HYDROPHONE",
                "dateFrom": "2000-01-01",
                "dateTo": "2000-01-02",
            }
        )


def test_archive_download(onc):
    rows = onc.getArchivefile({**HYDROPHONE_20_MIN, "returnOptions": "all"})["files"]
    flac = next(r for r in rows if r["filename"].endswith(".flac"))
    result = onc.downloadArchivefile(flac["filename"])
    assert result["status"] == "completed" and result["size"] == flac["fileSize"]
    assert (onc.outPath / flac["filename"]).stat().st_size == flac["fileSize"]
    with pytest.raises(FileExistsError):
        onc.downloadArchivefile(flac["filename"])
    onc.downloadArchivefile(flac["filename"], overwrite=True)
    url = onc.getArchivefileUrl(flac["filename"])
    assert requests.get(url, timeout=60).content == (onc.outPath / flac["filename"]).read_bytes()
    with pytest.raises(requests.HTTPError, match=r"API Error 96"):
        onc.downloadArchivefile("FAKEFILE.XYZ")
    with pytest.raises(requests.HTTPError, match=r"API Error 128"):
        onc.downloadArchivefile()


def test_direct_download(onc):
    params = {**HYDROPHONE_20_MIN, "extension": "mat"}
    listed = onc.getArchivefile(dict(params))["files"]
    result = onc.downloadDirectArchivefile(dict(params))
    assert result["stats"]["fileCount"] == len(listed) == len(files_in(onc))
    assert files_in(onc) == sorted(listed)


# -- scalar data ----------------------------------------------------------------------------------


def test_scalardata_all_pages(onc):
    data = onc.getScalardata(dict(CTD_MINUTE))
    assert data["next"] is None
    assert len(data["sensorData"][0]["data"]["values"]) > 25
    all_pages = onc.getScalardata({**CTD_MINUTE, "rowLimit": 25}, allPages=True)
    assert all_pages["next"] is None
    for whole, paged in zip(data["sensorData"], all_pages["sensorData"], strict=True):
        for key in ("sampleTimes", "values", "qaqcFlags"):
            assert same(paged["data"][key], whole["data"][key])
    page = onc.getScalardataByDevice({**CTD_MINUTE, "rowLimit": 25})
    assert len(page["sensorData"][0]["data"]["values"]) == 25 and page["next"] is not None
    by_location = onc.getScalardata(
        {
            "locationCode": "BACAX",
            "deviceCategoryCode": "CTD",
            "propertyCode": "seawatertemperature,pressure",
            "dateFrom": CTD_MINUTE["dateFrom"],
            "dateTo": CTD_MINUTE["dateTo"],
            "rowLimit": 25,
        },
        allPages=True,
    )
    assert [s["sensorCode"] for s in by_location["sensorData"]] == ["temperature", "pressure"]
    # A short dateTo with several pages (the client's issue #60).
    onc.getScalardata(
        {
            **CTD_MINUTE,
            "dateFrom": "2024-01-01T23:59:00.000Z",
            "dateTo": "2024-01-02",
            "rowLimit": 25,
        },
        allPages=True,
    )


def test_scalardata_no_data_errors_and_sensor_codes(onc):
    assert (
        onc.getScalardata({**CTD_MINUTE, "dateFrom": "2000-01-01", "dateTo": "2000-01-02"})[
            "sensorData"
        ]
        is None
    )
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.getScalardata(
            {
                "locationCode": "BACAX",
                "deviceCategoryCode": "CTD",
                "dateFrom": "2000-01-01",
                "dateTo": "2000-01-02",
            }
        )
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.getScalardata({**CTD_MINUTE, "deviceCode": "XYZ123"})
    with pytest.raises(requests.HTTPError, match=r"API Error 129"):
        onc.getScalardata({**CTD_MINUTE, "deviceCodes": "X"})
    with pytest.raises(requests.HTTPError, match=r"restricted"):
        onc.getScalardata({**CTD_MINUTE, "deviceCode": "NORTEKADCP9917"})
    sensors = onc.getSensorCategoryCodes(dict(CTD_MINUTE))
    assert_types(
        sensors[0],
        {
            "outputFormat": str,
            "sensorCategoryCode": str,
            "sensorCode": str,
            "sensorName": str,
            "unitOfMeasure": str,
        },
    )


# -- data products --------------------------------------------------------------------------------


def test_order_tssd_csv(onc):
    data = onc.orderDataProduct(dict(TSSD_ORDER))
    results = data["downloadResults"]
    assert [r["index"] for r in results] == ["1", "meta"]
    assert all(r["status"] == "complete" and r["downloaded"] is True for r in results)
    assert_types(results[0], RESULT_KEYS)
    assert results[0]["file"].endswith(".csv") and results[1]["file"].endswith("_CSV_META.xml")
    assert files_in(onc) == sorted(r["file"] for r in results)
    assert (onc.outPath / results[0]["file"]).read_text().startswith("## BEGIN HEADER")
    assert data["stats"]["totalSize"] == sum(r["size"] for r in results)


def test_order_hsd_mat(onc):
    data = onc.orderDataProduct(dict(HSD_ORDER), includeMetadataFile=False)
    results = data["downloadResults"]
    assert len(results) >= 2 and [r["index"] for r in results] == [
        str(i) for i in range(1, len(results) + 1)
    ]
    assert all(r["file"].endswith("-spect.mat") for r in results)
    assert len(files_in(onc)) == len(results)
    assert data["stats"]["totalSize"] != 0


def test_order_results_only(onc):
    data = onc.orderDataProduct(dict(TSSD_ORDER), downloadResultsOnly=True)
    results = data["downloadResults"]
    assert [r["index"] for r in results] == ["1", "meta"]
    assert all(r["status"] == "complete" and r["downloaded"] is False for r in results)
    assert files_in(onc) == []
    # Counting the files of a run with HEAD requests.
    request_id = onc.requestDataProduct(dict(HSD_ORDER))["dpRequestId"]
    run_id = onc.runDataProduct(request_id)["runIds"][0]
    info = onc.downloadDataProduct(run_id, downloadResultsOnly=True)
    assert [r["index"] for r in info][-1] == "meta" and len(info) >= 3


def test_manual_request_status_run_download(onc):
    request_id = onc.requestDataProduct(dict(TSSD_ORDER))["dpRequestId"]
    assert onc.checkDataProduct(request_id)["searchHdrStatus"] == "OPEN"
    run_id = onc.runDataProduct(request_id)["runIds"][0]
    data = onc.downloadDataProduct(run_id)
    assert [d["index"] for d in data] == ["1", "meta"]
    assert all(d["status"] == "complete" and d["downloaded"] for d in data)
    assert len(files_in(onc)) == 2
    assert onc.checkDataProduct(request_id)["searchHdrStatus"] == "COMPLETED"


def test_cancel_and_restart(onc):
    request_id = onc.requestDataProduct(dict(TSSD_ORDER))["dpRequestId"]
    run_id = onc.runDataProduct(request_id, waitComplete=False)["runIds"][0]
    assert onc.cancelDataProduct(request_id) == [{"dpRunId": run_id, "status": "cancelled"}]
    with pytest.raises(KeyError):  # ONC's 400 without an "errors" key
        onc.downloadDataProduct(run_id)
    assert onc.restartDataProduct(request_id)["runIds"][0] == run_id
    data = onc.downloadDataProduct(run_id)
    assert len(data) == 2 and len(files_in(onc)) == 2


def test_delivery_errors(onc):
    with pytest.raises(requests.HTTPError, match=r"API Error 127"):
        onc.orderDataProduct({**TSSD_ORDER, "dataProductCode": "XYZ123"})
    with pytest.raises(requests.HTTPError, match=r"API Error 128"):
        onc.requestDataProduct({k: v for k, v in TSSD_ORDER.items() if k != "dpo_resample"})
    with pytest.raises(requests.HTTPError, match=r"API Error 129"):
        onc.requestDataProduct({**TSSD_ORDER, "dpo_nonsense": "1"})
    for method in (
        onc.runDataProduct,
        onc.checkDataProduct,
        onc.cancelDataProduct,
        onc.restartDataProduct,
        onc.downloadDataProduct,
    ):
        with pytest.raises(requests.HTTPError, match=r"API Error 127"):
            method(1234567890)
