"""The sandbox's ``rawdata/device`` and ``rawdata/location``, as ONC answers them.

Shape from ``onc-api-samples/rawdata_location_NC89_BPR.json`` (top-level keys
``citations, data{lineTypes, readings, times}, messages, metadata, next, outputFormat,
queryUrl``), pages of 100,000 readings with ``next``; the official ``onc`` client's
``getRawdataByDevice``/``getRawdataByLocation`` (and ``allPages=True``) work unchanged.
"""

from __future__ import annotations

import pytest
import requests

from intake_onc import sandbox
from intake_onc.sandbox import SANDBOX_TOKEN

onc_module = pytest.importorskip("onc")

CTD = "SBECTD19p6813"
HOUR = {"dateFrom": "2024-01-01T00:00:00.000Z", "dateTo": "2024-01-01T01:00:00.000Z"}
TOP_LEVEL_KEYS = ["citations", "data", "messages", "metadata", "next", "outputFormat", "queryUrl"]


@pytest.fixture(scope="module")
def url():
    with sandbox.serve(port=0, token=SANDBOX_TOKEN, seed=0, processing_scale=0.0) as base:
        yield base


@pytest.fixture
def onc(url, tmp_path):
    client = onc_module.ONC(SANDBOX_TOKEN, outPath=tmp_path, timeout=60, showInfo=False)
    client.baseUrl = url + "/"  # the only change
    return client


def get(url: str, path: str, **params) -> requests.Response:
    return requests.get(f"{url}/api/{path}", params={**params, "token": SANDBOX_TOKEN}, timeout=30)


def raw_pages(url: str) -> int:
    return requests.get(f"{url}/_sandbox/stats", timeout=10).json()["raw_pages"]


def test_an_answer_has_onc_keys_and_one_reading_per_sample(url):
    body = get(url, "rawdata/device", deviceCode=CTD, **HOUR).json()
    assert sorted(body) == TOP_LEVEL_KEYS
    data = body["data"]
    assert sorted(data) == ["lineTypes", "readings", "times"]
    assert len(data["readings"]) == len(data["times"]) == len(data["lineTypes"]) == 3600
    assert set(data["lineTypes"]) == {" "}
    assert data["times"][0].startswith("2024-01-01T00:00:00.") and data["times"][0].endswith("Z")
    assert body["outputFormat"] == "array" and body["next"] is None
    assert body["metadata"]["locationName"]
    # the same synthetic signal as scalardata: the CTD line's 4 values are its 4 sensors
    scalar = get(url, "scalardata/device", deviceCode=CTD, **HOUR).json()
    first = [s["data"]["values"][0] for s in scalar["sensorData"]]
    line = [float(v) for v in data["readings"][0].lstrip("# ").split(",")]
    assert line == pytest.approx(first, abs=1e-4)


def test_readings_are_deterministic(url):
    one = get(url, "rawdata/device", deviceCode=CTD, **HOUR).json()["data"]
    two = get(url, "rawdata/location", locationCode="BACAX", deviceCategoryCode="CTD", **HOUR)
    assert two.json()["data"] == one


def test_object_output_lists_one_record_per_reading(url):
    body = get(url, "rawdata/device", deviceCode=CTD, outputFormat="object", **HOUR).json()
    assert body["outputFormat"] == "object"
    assert len(body["data"]) == 3600
    assert sorted(body["data"][0]) == ["lineType", "rawData", "sampleTime"]


def test_pages_point_at_the_next_with_every_parameter(url):
    day = {"dateFrom": "2024-01-01T00:00:00.000Z", "dateTo": "2024-01-03T00:00:00.000Z"}
    body = get(url, "rawdata/device", deviceCode=CTD, **day).json()
    assert len(body["data"]["readings"]) == 100_000  # ONC's page size
    nxt = body["next"]["parameters"]
    assert nxt["deviceCode"] == CTD and nxt["dateTo"] == day["dateTo"]
    assert nxt["dateFrom"] > body["data"]["times"][-1]


def test_bad_parameters_get_onc_error_codes(url):
    missing = get(url, "rawdata/device", **HOUR)
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["errorCode"] == 128
    unknown = get(url, "rawdata/device", deviceCode="NOSUCHDEVICE42", **HOUR)
    assert unknown.json()["errors"][0] == {
        "errorCode": 127,
        "errorMessage": "Invalid parameter value",
        "parameter": "deviceCode",
    }
    reversed_range = get(
        url, "rawdata/device", deviceCode=CTD, dateFrom=HOUR["dateTo"], dateTo=HOUR["dateFrom"]
    )
    assert reversed_range.status_code == 400
    assert get(url, "rawdata/device", deviceCode=CTD, colour="blue", **HOUR).status_code == 400


def test_the_legacy_method_form_answers_the_same(url):
    new = get(url, "rawdata/device", deviceCode=CTD, **HOUR).json()["data"]
    old = get(url, "rawdata", method="getByDevice", deviceCode=CTD, **HOUR).json()["data"]
    assert old == new


def test_the_official_client_reads_raw_data_by_device_and_location(onc, url):
    before = raw_pages(url)
    one = onc.getRawdataByDevice({"deviceCode": CTD, **HOUR})
    assert len(one["data"]["readings"]) == 3600
    paged = onc.getRawdataByLocation(
        {"locationCode": "BACAX", "deviceCategoryCode": "CTD", "rowLimit": 1000, **HOUR},
        allPages=True,
    )
    assert paged["next"] is None
    assert paged["data"]["readings"] == one["data"]["readings"]
    assert paged["data"]["times"] == one["data"]["times"]
    assert raw_pages(url) - before == 1 + 4  # 3,600 readings in pages of 1,000
    everything = onc.getRawdataByDevice({"deviceCode": CTD, **HOUR}, allPages=True)
    assert everything["data"] == one["data"]
