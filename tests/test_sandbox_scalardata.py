"""scalardata/device and scalardata/location of the sandbox."""

from __future__ import annotations

import json
import math
import re

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN

CTD = "SBECTD19p6813"
TEN_MINUTES = {"dateFrom": "2024-01-01T00:00:00.000Z", "dateTo": "2024-01-01T00:10:00.000Z"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def get(url: str, path: str, **params: object) -> requests.Response:
    return requests.get(f"{url}/api/{path}", params={"token": SANDBOX_TOKEN, **params}, timeout=60)


def error(code: int, message: str, parameter: str) -> dict:
    return {"errors": [{"errorCode": code, "errorMessage": message, "parameter": parameter}]}


def same(a: list, b: list) -> bool:
    """List equality with NaN == NaN."""
    return len(a) == len(b) and all(
        x == y
        or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a, b, strict=True)
    )


def test_device_response_shape(sandbox_url):
    r = get(sandbox_url, "scalardata/device", deviceCode=CTD, **TEN_MINUTES)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "citations",
        "messages",
        "next",
        "parameters",
        "qaqcFlagInfo",
        "queryUrl",
        "sensorData",
    ]
    assert body["next"] is None
    assert body["qaqcFlagInfo"]["9"] == "Missing Data"
    assert body["parameters"]["dateFrom"] == "2024-01-01T00:00:00.000Z"
    assert "token" not in body["parameters"]
    assert [s["sensorCode"] for s in body["sensorData"]] == [
        "temperature",
        "conductivity",
        "pressure",
        "salinity",
    ]
    sensor = body["sensorData"][0]
    assert list(sensor) == [
        "actualSamples",
        "data",
        "outputFormat",
        "propertyCode",
        "sensorCategoryCode",
        "sensorCode",
        "sensorName",
        "unitOfMeasure",
    ]
    assert (
        sensor["sensorName"],
        sensor["unitOfMeasure"],
        sensor["propertyCode"],
        sensor["outputFormat"],
    ) == ("Temperature", "C", "seawatertemperature", "array")
    data = sensor["data"]
    assert set(data) == {"sampleTimes", "values", "qaqcFlags"}
    assert sensor["actualSamples"] == len(data["values"]) == len(data["sampleTimes"])
    assert 500 <= len(data["values"]) <= 600  # 1 s rating, maybe a gap
    assert all(ISO.match(t) for t in data["sampleTimes"])
    assert data["sampleTimes"] == sorted(data["sampleTimes"])
    assert all(isinstance(v, float) for v in data["values"])
    assert all(isinstance(f, int) for f in data["qaqcFlags"])


def test_bare_nan_on_the_wire(sandbox_url):
    r = get(
        sandbox_url,
        "scalardata/device",
        deviceCode="AANDERAAO2224",
        fillGaps="true",
        dateFrom="2024-01-01",
        dateTo="2024-01-02",
    )
    values = r.json()["sensorData"][0]["data"]["values"]
    flags = r.json()["sensorData"][0]["data"]["qaqcFlags"]
    gaps = [f for v, f in zip(values, flags, strict=True) if math.isnan(v)]
    assert gaps and set(gaps) == {9}
    assert ",NaN" in r.text  # bare NaN, as ONC sends it
    with pytest.raises(ValueError):
        json.loads(r.text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_pagination_union_equals_unpaged(sandbox_url):
    whole = get(sandbox_url, "scalardata/device", deviceCode=CTD, **TEN_MINUTES).json()
    body = get(sandbox_url, "scalardata/device", deviceCode=CTD, rowLimit=100, **TEN_MINUTES).json()
    first_next = body["next"]
    pages = []
    while True:
        pages.append(body)
        if body["next"] is None:
            break
        assert body["sensorData"][0]["actualSamples"] == 100
        body = requests.get(
            f"{sandbox_url}/api/scalardata/device", params=body["next"]["parameters"], timeout=60
        ).json()
    assert len(pages) == -(-whole["sensorData"][0]["actualSamples"] // 100)
    for i, sensor in enumerate(whole["sensorData"]):
        for key in ("sampleTimes", "values", "qaqcFlags"):
            joined = sum((p["sensorData"][i]["data"][key] for p in pages), [])
            assert same(joined, sensor["data"][key]), key
    # next: every parameter (token included); dateFrom = last sample + 1 ms, full ISO dates.
    last = pages[0]["sensorData"][0]["data"]["sampleTimes"][-1]
    params = first_next["parameters"]
    assert params["token"] == SANDBOX_TOKEN and params["rowLimit"] == "100"
    assert params["deviceCode"] == CTD and params["dateTo"] == TEN_MINUTES["dateTo"]
    assert params["dateFrom"] > last and ISO.match(params["dateFrom"])
    assert int(params["dateFrom"][-4:-1]) == (int(last[-4:-1]) + 1) % 1000


def test_next_dates_are_normalised(sandbox_url):
    body = get(
        sandbox_url,
        "scalardata/device",
        deviceCode=CTD,
        rowLimit=10,
        dateFrom="2024-01-01",
        dateTo="PT1M",
    ).json()
    params = body["next"]["parameters"]
    assert params["dateTo"] == "2024-01-01T00:01:00.000Z"
    assert ISO.match(params["dateFrom"])


def test_output_format_object_metadata_full(sandbox_url):
    arrays = get(
        sandbox_url,
        "scalardata/device",
        deviceCode=CTD,
        dateFrom="2024-01-01",
        dateTo="2024-01-01T00:00:10Z",
    ).json()
    objects = get(
        sandbox_url,
        "scalardata/device",
        deviceCode=CTD,
        dateFrom="2024-01-01",
        dateTo="2024-01-01T00:00:10Z",
        outputFormat="object",
        metadata="Full",
    ).json()
    sensor = objects["sensorData"][0]
    assert sensor["outputFormat"] == "object"
    data = arrays["sensorData"][0]["data"]
    assert sensor["data"] == [
        {"sampleTime": t, "value": v, "qaqcFlag": f}
        for t, v, f in zip(data["sampleTimes"], data["values"], data["qaqcFlags"], strict=True)
    ]
    meta = objects["metadata"]
    assert (meta["deviceCategoryCode"], meta["locationName"], meta["depth"]) == (
        "CTD",
        "Barkley Canyon Axis",
        985.0,
    )
    assert "metadata" not in arrays


def test_sensor_filters_and_exclude_scalar_data(sandbox_url):
    only = get(
        sandbox_url,
        "scalardata/device",
        deviceCode=CTD,
        sensorCategoryCodes="salinity,pressure",
        **TEN_MINUTES,
    ).json()
    assert [s["sensorCode"] for s in only["sensorData"]] == ["pressure", "salinity"]
    sensors = get(
        sandbox_url,
        "scalardata/device",
        deviceCode=CTD,
        returnOptions="excludeScalarData",
        **TEN_MINUTES,
    ).json()["sensorData"]
    assert [s["sensorCode"] for s in sensors] == [
        "temperature",
        "conductivity",
        "pressure",
        "salinity",
    ]
    assert all("data" not in s for s in sensors)
    assert set(sensors[0]) == {
        "outputFormat",
        "propertyCode",
        "sensorCategoryCode",
        "sensorCode",
        "sensorName",
        "unitOfMeasure",
    }
    located = get(
        sandbox_url,
        "scalardata/location",
        locationCode="BACAX",
        deviceCategoryCode="OXYSENSOR",
        propertyCode="oxygen",
        **TEN_MINUTES,
    ).json()
    assert [s["sensorCode"] for s in located["sensorData"]] == ["oxygen"]
    assert located["sensorData"][0]["sensorCategoryCode"] == "oxygen_corrected"
    assert get(
        sandbox_url, "scalardata/device", deviceCode=CTD, sensorCategoryCodes="nope", **TEN_MINUTES
    ).json() == error(127, "Invalid parameter value", "sensorCategoryCodes")


def test_location_equals_device(sandbox_url):
    by_device = get(sandbox_url, "scalardata/device", deviceCode=CTD, **TEN_MINUTES).json()
    by_location = get(
        sandbox_url,
        "scalardata/location",
        locationCode="BACAX",
        deviceCategoryCode="CTD",
        **TEN_MINUTES,
    ).json()
    assert [s["data"]["sampleTimes"] for s in by_location["sensorData"]] == [
        s["data"]["sampleTimes"] for s in by_device["sensorData"]
    ]


def test_quality_control_resampling_and_latest(sandbox_url):
    day = {"dateFrom": "2024-01-01", "dateTo": "2024-01-02", "sensorCategoryCodes": "temperature"}
    raw = get(sandbox_url, "scalardata/device", deviceCode=CTD, qualityControl="raw", **day).json()[
        "sensorData"
    ][0]["data"]
    clean = get(
        sandbox_url, "scalardata/device", deviceCode=CTD, qualityControl="clean", **day
    ).json()["sensorData"][0]["data"]
    assert raw["qaqcFlags"] == clean["qaqcFlags"]
    bad = [i for i, f in enumerate(raw["qaqcFlags"]) if f in (3, 4)]
    assert bad and all(math.isnan(clean["values"][i]) for i in bad)
    assert not any(math.isnan(raw["values"][i]) for i in bad)

    avg = get(
        sandbox_url,
        "scalardata/device",
        deviceCode=CTD,
        resampleType="avg",
        resamplePeriod=600,
        dateFrom="2024-01-01",
        dateTo="2024-01-01T01:00:00Z",
    ).json()
    data = avg["sensorData"][0]["data"]
    assert {"sampleTimes", "values", "qaqcFlags", "counts", "stdDevs"} <= set(data)
    assert data["sampleTimes"][0] == "2024-01-01T00:05:00.000Z"  # bin centre

    latest = get(
        sandbox_url, "scalardata/device", deviceCode="SBECTD16p6536", getLatest="true", rowLimit=3
    ).json()
    times = latest["sensorData"][0]["data"]["sampleTimes"]
    assert len(times) == 3 and times[-1] < "2021-09-30T00:00:00.000Z"
    assert times[-1] > "2021-09-29T00:00:00.000Z" and latest["next"] is None


def test_no_data_and_not_deployed(sandbox_url):
    # Device outside its deployments: 200, sensorData null (ONC's tests).
    r = get(
        sandbox_url, "scalardata/device", deviceCode=CTD, dateFrom="2000-01-01", dateTo="2000-01-02"
    )
    assert r.status_code == 200 and r.json()["sensorData"] is None and r.json()["next"] is None
    # Location outside any deployment: 400/127 "not deployed".
    r = get(
        sandbox_url,
        "scalardata/location",
        locationCode="BACAX",
        deviceCategoryCode="CTD",
        dateFrom="2000-01-01",
        dateTo="2000-01-02",
    )
    assert r.status_code == 400
    assert r.json() == error(
        127,
        "A device with category CTD was deployed at location BACAX but not during the provided "
        "time range (20000101T000000.000Z to 20000101T235959.999Z). The deployment service can "
        "be used to find the time ranges when devices were deployed at a location.",
        "locationCode, deviceCategoryCode, dateFrom, dateTo",
    )


def test_restricted_device(sandbox_url):
    message = (
        "deviceCode: NORTEKADCP9917 has data restricted by Ocean Networks Canada Society (data "
        "product code TSSD). If you would like to request access to this data, please complete "
        "and submit the Restricted Data Request form on the Ocean Networks Canada website."
    )
    r = get(sandbox_url, "scalardata/device", deviceCode="NORTEKADCP9917", **TEN_MINUTES)
    assert r.status_code == 400 and r.json() == error(127, message, "deviceCode")
    r = get(
        sandbox_url,
        "scalardata/location",
        locationCode="BACUS",
        deviceCategoryCode="ADCP2MHZ",
        **TEN_MINUTES,
    )
    assert r.status_code == 400 and r.json() == error(127, message, "deviceCode")


def test_errors(sandbox_url):
    assert get(sandbox_url, "scalardata/device", deviceCode="XYZ123", **TEN_MINUTES).json() == (
        error(127, "Invalid parameter value", "deviceCode")
    )
    assert get(sandbox_url, "scalardata/device", deviceCodes=CTD, **TEN_MINUTES).json() == error(
        129, "Invalid parameter name", "deviceCodes"
    )
    assert get(sandbox_url, "scalardata/device", **TEN_MINUTES).json() == error(
        128, "Missing Parameter.", "deviceCode"
    )
    assert get(
        sandbox_url, "scalardata/location", locationCode="XYZ123", deviceCategoryCode="CTD"
    ).json() == error(127, "Invalid parameter value", "locationCode")
    assert get(
        sandbox_url, "scalardata/device", deviceCode=CTD, resampleType="avg", **TEN_MINUTES
    ).json() == error(128, "Missing Parameter.", "resamplePeriod")
    assert get(
        sandbox_url, "scalardata/device", deviceCode=CTD, qualityControl="great", **TEN_MINUTES
    ).json() == error(127, "Invalid parameter value", "qualityControl")
    assert get(
        sandbox_url, "scalardata/device", deviceCode=CTD, outputFormat="csv", **TEN_MINUTES
    ).json() == error(127, "Invalid parameter value", "outputFormat")
    assert (
        get(
            sandbox_url,
            "scalardata/device",
            deviceCode=CTD,
            dateFrom="2024-01-02",
            dateTo="2024-01-01",
        ).json()["errors"][0]["errorCode"]
        == 23
    )
    assert (
        get(sandbox_url, "scalardata/device", deviceCode=CTD, dateFrom="2080-01-01").json()[
            "errors"
        ][0]["errorCode"]
        == 25
    )
    assert (
        get(sandbox_url, "scalardata/device", deviceCode="ICLISTENHF6093", **TEN_MINUTES).json()[
            "errors"
        ][0]["errorCode"]
        == 127
    )
