"""dataProductDelivery: request, run, status, download, cancel, restart, expiry, errors."""

from __future__ import annotations

import re
import time

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN
from intake_onc.sandbox.services.delivery_runs import MESSAGES

TSSD = {
    "deviceCode": "SBECTD19p6813",
    "dataProductCode": "TSSD",
    "extension": "csv",
    "dateFrom": "2024-01-01T00:00:00.000Z",
    "dateTo": "2024-01-01T01:00:00.000Z",
    "dpo_qualityControl": "1",
    "dpo_resample": "none",
}
HSD = {
    "deviceCode": "ICLISTENHF6093",
    "dataProductCode": "HSD",
    "extension": "mat",
    "dateFrom": "2023-01-01T00:01:00.000Z",
    "dateTo": "2023-01-01T00:09:00.000Z",
}


def call(url: str, service: str, method: str = "GET", **params: object) -> requests.Response:
    return requests.request(
        method,
        f"{url}/api/dataProductDelivery/{service}",
        params={"token": SANDBOX_TOKEN, **params},
        timeout=60,
    )


def error(code: int, message: str, parameter: str) -> dict:
    return {"errors": [{"errorCode": code, "errorMessage": message, "parameter": parameter}]}


def order(url: str, params: dict) -> tuple[int, int]:
    """request + run (instant sandbox): (dpRequestId, dpRunId)."""
    r = call(url, "request", **params)
    assert r.status_code == 200, r.text
    request_id = r.json()["dpRequestId"]
    run = call(url, "run", dpRequestId=request_id)
    return request_id, run.json()[0]["dpRunId"]


def poll(
    url: str, run_id: int, index: object = 1, max_polls: int = 2000
) -> tuple[requests.Response, list[dict]]:
    """Download ``index`` until it is not 202; returns the answer and the 202 bodies seen.

    Bounded by a number of polls (30 ms apart), not by a clock: a run that never completes
    fails the test after ``max_polls`` answers.
    """
    seen: list[dict] = []
    for _ in range(max_polls):
        r = call(url, "download", dpRunId=run_id, index=index)
        if r.status_code != 202:
            return r, seen
        seen.append(r.json())
        time.sleep(0.03)
    pytest.fail(f"the run never completed ({max_polls} answers 202)")


def test_request_response_shape(sandbox_url):
    r = call(sandbox_url, "request", **TSSD)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "citations",
        "disclaimer",
        "dpRequestId",
        "estimatedFileSize",
        "estimatedProcessingTime",
        "messages",
        "queryPids",
        "queryURL",
    ]
    assert isinstance(body["dpRequestId"], int)
    assert re.fullmatch(r"\d+ (B|kB|MB|GB)", body["estimatedFileSize"])
    assert re.fullmatch(r"\d+ (s|min|hour)", body["estimatedProcessingTime"])
    assert body["disclaimer"].startswith("Software Developers are implementing estimates")
    assert body["messages"] == [] and all(isinstance(p, int) for p in body["queryPids"])
    assert f"token={SANDBOX_TOKEN}" in body["queryURL"]
    assert set(body["citations"][0]) == {"citation", "doi", "landingPageUrl", "queryPid"}


def test_estimates_scale_with_the_request(make_sandbox):
    url = make_sandbox(processing_scale=1.0)
    hour = call(url, "request", **TSSD).json()
    day = call(url, "request", **{**TSSD, "dateTo": "2024-01-02T00:00:00.000Z"}).json()
    assert hour["estimatedFileSize"].endswith("kB") and day["estimatedFileSize"].endswith("MB")
    seconds = {"s": 1, "min": 60, "hour": 3600}

    def as_seconds(text: str) -> int:
        number, unit = text.split()
        return int(number) * seconds[unit]

    assert as_seconds(day["estimatedProcessingTime"]) > as_seconds(hour["estimatedProcessingTime"])


@pytest.mark.parametrize(
    ("extension", "options", "start"),
    [
        ("txt", {"dpo_sensorstoinclude": "1"}, b"//<Encoding>UTF-8</Encoding>"),
        ("nc", {"dpo_cast": "up_casts", "dpo_includeOrientationSensors": "False"}, b"\x89HDF"),
    ],
)
def test_tssd_odv_text_and_netcdf_are_ordered_and_downloaded_like_csv(
    sandbox_url, extension, options, start
):
    """TSSD ``txt`` (ODV spreadsheet) and ``nc`` (netCDF) take their own ``dpo_*`` options from
    ONC's catalogue and come back as one file named like the CSV files."""
    params = {**TSSD, "extension": extension, "dateTo": "2024-01-01T00:10:00.000Z", **options}
    _, run_id = order(sandbox_url, params)
    r, _ = poll(sandbox_url, run_id)
    assert r.status_code == 200 and r.content.startswith(start)
    name = r.headers["Content-Disposition"].split("filename=")[1]
    assert name == (
        "BarkleyCanyonAxis_BarkleyCanyonAxis_ConductivityTemperatureDepth_"
        f"20240101T000000Z_20240101T000959Z-NaN_clean.{extension}"
    )
    assert call(sandbox_url, "download", dpRunId=run_id, index=2).status_code == 404
    meta, _ = poll(sandbox_url, run_id, index="meta")
    assert meta.status_code == 200
    assert f"_{extension.upper()}_META.xml" in meta.headers["Content-Disposition"]


def test_tssd_csv_lifecycle(sandbox_url, sandbox_stats):
    r = call(sandbox_url, "request", **TSSD)
    request_id = r.json()["dpRequestId"]
    assert call(sandbox_url, "status", dpRequestId=request_id).json() == {
        "dpRequestId": request_id,
        "searchHdrStatus": "OPEN",
    }
    before = sandbox_stats(sandbox_url)
    run = call(sandbox_url, "run", dpRequestId=request_id)
    assert run.status_code == 200  # processing_scale=0: complete at once
    [entry] = run.json()
    assert entry["status"] == "complete" and entry["fileCount"] == 1
    run_id = entry["dpRunId"]
    # Asking again gives the same run.
    assert call(sandbox_url, "run", dpRequestId=request_id).json() == [entry]
    assert call(sandbox_url, "status", dpRequestId=request_id).json()["searchHdrStatus"] == (
        "COMPLETED"
    )

    first = call(sandbox_url, "download", dpRunId=run_id, index=1)
    assert first.status_code == 200
    name = first.headers["Content-Disposition"].split("filename=")[1]
    assert first.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert re.fullmatch(
        r"BarkleyCanyonAxis_BarkleyCanyonAxis_ConductivityTemperatureDepth_20240101T\d{6}Z_"
        r"20240101T\d{6}Z-NaN_clean\.csv",
        name,
    )
    assert first.content.startswith(b"## BEGIN HEADER")
    assert int(first.headers["Content-Length"]) == len(first.content)
    assert first.headers["Content-Type"] == "text/csv"

    past = call(sandbox_url, "download", dpRunId=run_id, index=2)
    assert past.status_code == 404
    meta = call(sandbox_url, "download", dpRunId=run_id, index="meta")
    assert meta.status_code == 200
    assert meta.headers["Content-Disposition"] == (f"attachment; filename={name[:-4]}_CSV_META.xml")
    assert meta.content.startswith(b"<?xml")
    # HEAD: same status and headers, no body (the official client counts files this way).
    head = call(sandbox_url, "download", "HEAD", dpRunId=run_id, index=1)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == first.headers["Content-Length"]
    assert call(sandbox_url, "download", "HEAD", dpRunId=run_id, index=2).status_code == 404
    # Built once per run, however often it is downloaded.
    assert call(sandbox_url, "download", dpRunId=run_id, index=1).content == first.content
    after = sandbox_stats(sandbox_url)
    assert after["products_built"] == before["products_built"] + 1


def test_running_answers_202_with_onc_messages_in_order(make_sandbox):
    url = make_sandbox(processing_scale=1.0, ready_wait_s=0)
    request_id = call(url, "request", **HSD).json()["dpRequestId"]
    run = call(url, "run", dpRequestId=request_id)
    assert run.status_code == 202
    [entry] = run.json()
    assert entry["status"] in ("queued", "data product running") and entry["fileCount"] == 0
    assert call(url, "status", dpRequestId=request_id).json()["searchHdrStatus"] == "RUNNING"
    head = call(url, "download", "HEAD", dpRunId=entry["dpRunId"], index=1)
    assert head.status_code in (200, 202)
    done, seen = poll(url, entry["dpRunId"])
    assert done.status_code == 200
    assert seen, "expected some 202 answers before the product was ready"
    assert seen[0] == {"message": "Generating", "status": "queued"}
    patterns = [
        re.compile(re.escape(m).replace(re.escape("{file}"), r"[^()]+") + "$") for m in MESSAGES
    ]
    indexes = []
    for body in seen:
        assert set(body) == {"message", "status"}
        assert body["status"] in ("queued", "running")
        [index] = [i for i, p in enumerate(patterns) if p.match(body["message"])]
        indexes.append(index)
    assert indexes == sorted(indexes) and len(set(indexes)) >= 2
    final = call(url, "run", dpRequestId=request_id)
    assert final.status_code == 200 and final.json()[0]["status"] == "complete"
    assert final.json()[0]["fileCount"] >= 2


def test_hsd_and_audio_products(sandbox_url):
    _, run_id = order(sandbox_url, HSD)
    names = []
    index = 1
    while True:
        r = call(sandbox_url, "download", dpRunId=run_id, index=index)
        if r.status_code == 404:
            break
        assert r.status_code == 200
        assert r.content.startswith(b"MATLAB 5.0 MAT-file")
        names.append(r.headers["Content-Disposition"].split("filename=")[1])
        index += 1
    assert len(names) >= 2 and all(
        re.fullmatch(r"ICLISTENHF6093_\d{8}T\d{6}\.\d{3}Z-spect\.mat", n) for n in names
    )
    meta = call(sandbox_url, "download", dpRunId=run_id, index="meta")
    assert meta.headers["Content-Disposition"].endswith("_MAT_META.xml")

    audio = {
        **HSD,
        "dataProductCode": "AD",
        "extension": "flac",
        "locationCode": "CBCH.H3",
        "deviceCategoryCode": "HYDROPHONE",
        "dateTo": "2023-01-01T00:02:00.000Z",
    }
    del audio["deviceCode"]
    _, run_id = order(sandbox_url, audio)
    r = call(sandbox_url, "download", dpRunId=run_id, index=1)
    assert r.status_code == 200 and r.content.startswith(b"fLaC")


def test_request_by_location_and_property(sandbox_url):
    params = {**TSSD, "locationCode": "BACAX", "propertyCode": "oxygen"}
    del params["deviceCode"]
    _, run_id = order(sandbox_url, params)
    r = call(sandbox_url, "download", dpRunId=run_id, index=1)
    assert r.status_code == 200
    assert "_OxygenSensor_" in r.headers["Content-Disposition"]
    assert call(
        sandbox_url, "request", **{**params, "propertyCode": "pressure", "locationCode": "CBCH.H1"}
    ).json() == error(127, "Invalid parameter value", "propertyCode")


def test_product_without_files_gives_204(sandbox_url):
    # ICLISTENHF6093 archives FLAC only: AD wav without conversion has no files.
    params = {**HSD, "dataProductCode": "AD", "extension": "wav"}
    request = call(sandbox_url, "request", **params).json()
    assert request["estimatedFileSize"] == "0 B"
    run = call(sandbox_url, "run", dpRequestId=request["dpRequestId"]).json()[0]
    assert run["fileCount"] == 0 and run["status"] == "complete"
    assert call(sandbox_url, "download", dpRunId=run["dpRunId"], index=1).status_code == 204
    assert call(sandbox_url, "download", dpRunId=run["dpRunId"], index=2).status_code == 404
    assert call(sandbox_url, "download", dpRunId=run["dpRunId"], index="meta").status_code == 200


def test_cancel_and_restart(make_sandbox):
    url = make_sandbox(processing_scale=0.2, ready_wait_s=0)
    request_id = call(url, "request", **TSSD).json()["dpRequestId"]
    assert call(url, "cancel", dpRequestId=request_id).json() == []  # nothing running yet
    run_id = call(url, "run", dpRequestId=request_id).json()[0]["dpRunId"]
    cancel = call(url, "cancel", dpRequestId=request_id)
    assert cancel.status_code == 200
    assert cancel.json() == [{"dpRunId": run_id, "status": "cancelled"}]
    run = call(url, "run", dpRequestId=request_id)
    assert run.status_code == 200 and run.json()[0]["status"] == "cancelled"
    assert call(url, "status", dpRequestId=request_id).json()["searchHdrStatus"] == "CANCELLED"
    # ONC's backend bug: a 400 without an "errors" key.
    refused = call(url, "download", dpRunId=run_id, index=1)
    assert refused.status_code == 400 and "errors" not in refused.json()
    assert refused.json()["status"] == "cancelled"

    restarted = call(url, "restart", dpRequestId=request_id)
    assert restarted.status_code in (200, 202)
    assert restarted.json()[0]["dpRunId"] == run_id
    done, _ = poll(url, run_id)
    assert done.status_code == 200
    assert call(url, "status", dpRequestId=request_id).json()["searchHdrStatus"] == "COMPLETED"


def test_expired_runs_are_gone(make_sandbox):
    url = make_sandbox(product_expiry_s=0.2)
    _, run_id = order(url, TSSD)
    assert call(url, "download", dpRunId=run_id, index=1).status_code == 200
    time.sleep(0.3)
    gone = call(url, "download", dpRunId=run_id, index=1)
    assert gone.status_code == 410 and gone.json()["status"] == "gone"
    assert call(url, "download", "HEAD", dpRunId=run_id, index="meta").status_code == 410


def test_legacy_method_form(sandbox_url):
    base = f"{sandbox_url}/api/dataProductDelivery"
    r = requests.get(base, params={"method": "request", "token": SANDBOX_TOKEN, **TSSD}, timeout=60)
    request_id = r.json()["dpRequestId"]
    run = requests.get(
        base,
        params={"method": "run", "token": SANDBOX_TOKEN, "dpRequestId": request_id},
        timeout=60,
    ).json()
    r = requests.get(
        base,
        params={
            "method": "download",
            "token": SANDBOX_TOKEN,
            "dpRunId": run[0]["dpRunId"],
            "index": 1,
        },
        timeout=60,
    )
    assert r.status_code == 200 and r.content.startswith(b"## BEGIN HEADER")
    # The official client's pre-filled URL repeats method= on the new path.
    r = requests.get(
        f"{base}/download",
        params={
            "method": "download",
            "token": SANDBOX_TOKEN,
            "dpRunId": run[0]["dpRunId"],
            "index": 1,
        },
        timeout=60,
    )
    assert r.status_code == 200


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"dataProductCode": None}, error(128, "Missing Parameter.", "dataProductCode")),
        ({"extension": None}, error(128, "Missing Parameter.", "extension")),
        ({"dataProductCode": "XYZ123"}, error(127, "Invalid parameter value", "dataProductCode")),
        ({"extension": "xyz"}, error(127, "Invalid parameter value", "extension")),
        (  # a real product the sandbox does not build (ONC's log files)
            {"dataProductCode": "LF", "extension": "txt"},
            error(
                127,
                "Data product LF (txt) is not available for device SBECTD19p6813.",
                "dataProductCode",
            ),
        ),
        ({"dateTo": None}, error(128, "Missing Parameter.", "dateTo")),
        (
            {"dateFrom": "2024-01-02"},
            error(23, "Invalid Time Range, Start Time is after End Time.", "dateFrom, dateTo"),
        ),
        (
            {"dateFrom": "2090-01-01", "dateTo": "2090-01-02"},
            error(25, "Invalid Time Range, Start Time is in the future.", "dateFrom"),
        ),
        ({"deviceCodes": "SBECTD19p6813"}, error(129, "Invalid parameter name", "deviceCodes")),
        ({"dpo_colour": "red"}, error(129, "Invalid parameter name", "dpo_colour")),
        (
            {"dpo_qualityControl": None},
            error(128, "Missing Parameter.  Expected values: 0, 1", "dpo_qualityControl"),
        ),
        (
            {"dpo_resample": "hourly"},
            error(
                127,
                "Invalid parameter value.  Expected values: average, minMax, none, minMaxAvg",
                "dpo_resample",
            ),
        ),
        ({"deviceCode": "XYZ123"}, error(127, "Invalid parameter value", "deviceCode")),
        ({"deviceCode": None}, error(128, "Missing Parameter.", "deviceCode")),
        (
            {"deviceCode": "ICLISTENHF6093"},
            error(
                127,
                "Data product TSSD (csv) is not available for device ICLISTENHF6093.",
                "dataProductCode",
            ),
        ),
        (
            {"dateFrom": "2022-07-02", "dateTo": "2022-07-03"},
            error(
                127,
                "The device SBECTD19p6813 was deployed but not during the provided time "
                "range (20220702T000000.000Z to 20220702T235959.999Z). The deployment service can "
                "be used to find the time ranges when the device was deployed.",
                "deviceCode, dateFrom, dateTo",
            ),
        ),
        (
            {
                "deviceCode": None,
                "locationCode": "BACAX",
                "deviceCategoryCode": "CTD",
                "dateFrom": "2022-07-02",
                "dateTo": "2022-07-03",
            },
            error(
                127,
                "A device with category CTD was deployed at location BACAX but not during the "
                "provided time range (20220702T000000.000Z to 20220702T235959.999Z). The "
                "deployment service can be used to find the time ranges when devices were "
                "deployed at a location.",
                "locationCode, deviceCategoryCode, dateFrom, dateTo",
            ),
        ),
        (
            {"deviceCode": "NORTEKADCP9917"},
            error(
                127,
                "deviceCode: NORTEKADCP9917 has data restricted by Ocean Networks Canada "
                "Society (data product code TSSD). If you would like to request access to this "
                "data, please complete and submit the Restricted Data Request form on the Ocean "
                "Networks Canada website.",
                "deviceCode",
            ),
        ),
    ],
)
def test_request_errors(sandbox_url, change, expected):
    params = {**TSSD, **{k: v for k, v in change.items() if v is not None}}
    for key, value in change.items():
        if value is None:
            del params[key]
    r = call(sandbox_url, "request", **params)
    assert r.status_code == 400
    assert r.json() == expected


def test_request_option_values_checked_against_the_product(sandbox_url):
    r = call(sandbox_url, "request", **HSD, dpo_spectrogramFrequencyUpperLimit="900000")
    assert r.status_code == 400
    [err] = r.json()["errors"]
    assert (err["errorCode"], err["parameter"]) == (127, "dpo_spectrogramFrequencyUpperLimit")
    # Options the product does not have are unknown names.
    r = call(sandbox_url, "request", **HSD, dpo_qualityControl="1")
    assert r.json() == error(129, "Invalid parameter name", "dpo_qualityControl")
    # Checks only the builder knows (both colour limits or neither) are 127 on the option.
    r = call(sandbox_url, "request", **{**HSD, "extension": "png"}, dpo_lowerColourLimit="-50")
    assert r.status_code == 400
    [err] = r.json()["errors"]
    assert err["errorCode"] == 127 and err["parameter"].startswith("dpo_")
    # Numbers are numbers: "1.0" is accepted for "1".
    assert call(sandbox_url, "request", **{**TSSD, "dpo_qualityControl": "1.0"}).status_code == 200


def test_bad_ids(sandbox_url):
    for service in ("run", "status", "cancel", "restart"):
        assert call(sandbox_url, service, dpRequestId=1234567890).json() == error(
            127, "Invalid search header ID", "dpRequestId"
        ), service
        assert call(sandbox_url, service, dpRequestId="abc").json()["errors"][0]["errorCode"] == 127
        assert call(sandbox_url, service).json() == error(128, "Missing Parameter.", "dpRequestId")
    assert call(sandbox_url, "download", dpRunId=1234567890, index=1).json() == error(
        127, "Invalid parameter value", "dpRunId"
    )
    _, run_id = order(sandbox_url, TSSD)
    assert call(sandbox_url, "download", dpRunId=run_id, index="first").json() == error(
        127, "Invalid parameter value", "index"
    )
    assert (
        call(sandbox_url, "download", dpRunId=run_id, index=0).json()["errors"][0]["parameter"]
        == "index"
    )
    assert call(sandbox_url, "download", dpRunId=run_id).json() == error(
        128, "Missing Parameter.", "index"
    )
