"""archivefile/device, archivefile/location and archivefile/download of the sandbox."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests

from intake_onc._core.time import parse_filename_timestamp
from intake_onc.sandbox import SANDBOX_TOKEN

DEVICE = "ICLISTENHF6093"
HOUR = {"dateFrom": "2023-01-01T00:00:00.000Z", "dateTo": "2023-01-01T01:00:00.000Z"}
STAMP = re.compile(r"^ICLISTENHF6093_\d{8}T\d{6}\.\d{3}Z(-spect\.mat|-spect\.png|\.flac)$")


def get(url: str, path: str, **params: object) -> requests.Response:
    return requests.get(f"{url}/api/{path}", params={"token": SANDBOX_TOKEN, **params}, timeout=60)


def error(code: int, message: str, parameter: str) -> dict:
    return {"errors": [{"errorCode": code, "errorMessage": message, "parameter": parameter}]}


def test_listing_by_device_shape(sandbox_url):
    r = get(sandbox_url, "archivefile/device", deviceCode=DEVICE, **HOUR)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["citations", "files", "messages", "next", "queryUrl", "returnOption"]
    assert body["next"] is None and body["messages"] == [] and body["returnOption"] == "default"
    assert "token=" in body["queryUrl"] and "archivefile/device" in body["queryUrl"]
    assert set(body["citations"][0]) == {"citation", "doi", "landingPageUrl", "queryPid"}
    files = body["files"]
    assert 30 <= len(files) <= 36 and len(files) % 3 == 0
    assert all(isinstance(f, str) and STAMP.match(f) for f in files)
    starts = [parse_filename_timestamp(f) for f in files]
    assert starts == sorted(starts)
    # Date filters apply to the file start.
    assert all(str(s) >= "2023-01-01 00:00:00" and str(s) < "2023-01-01 01:00:00" for s in starts)


def test_listing_return_options(sandbox_url):
    rows = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, returnOptions="all", **HOUR
    ).json()["files"]
    names = get(sandbox_url, "archivefile/device", deviceCode=DEVICE, **HOUR).json()["files"]
    assert [row["filename"] for row in rows] == names
    row = rows[0]
    assert set(row) == {
        "archivedDate",
        "compression",
        "dataProductFormatId",
        "dateFrom",
        "dateTo",
        "deviceCode",
        "fileSize",
        "filename",
        "modifyDate",
        "uncompressedFileSize",
    }
    assert isinstance(row["fileSize"], int) and isinstance(row["uncompressedFileSize"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["dateFrom"])
    assert row["deviceCode"] == DEVICE
    located = get(
        sandbox_url,
        "archivefile/device",
        deviceCode=DEVICE,
        returnOptions="archiveLocation",
        **HOUR,
    ).json()
    assert located["returnOption"] == "archiveLocation"
    assert located["files"][0]["archiveLocation"].startswith(f"/archive/{DEVICE}/2023/")


def test_listing_filters(sandbox_url):
    flac = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, fileExtension="flac", **HOUR
    ).json()["files"]
    mats = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, fileExtension="mat", **HOUR
    ).json()["files"]
    assert flac and all(f.endswith(".flac") for f in flac)
    assert mats and all(f.endswith("-spect.mat") for f in mats)
    hsd = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, dataProductCode="HSD", **HOUR
    ).json()["files"]
    assert len(hsd) == 2 * len(flac) and not any(f.endswith(".flac") for f in hsd)
    latest = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, getLatest="true", **HOUR
    ).json()["files"]
    everything = get(sandbox_url, "archivefile/device", deviceCode=DEVICE, **HOUR).json()["files"]
    assert latest == everything[-1:]
    rows = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, returnOptions="all", **HOUR
    ).json()["files"]
    cut = rows[len(rows) // 2]["archivedDate"]
    late = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, dateArchivedFrom=cut, **HOUR
    ).json()["files"]
    assert late == [r["filename"] for r in rows if r["archivedDate"] >= cut]


def test_pagination_union_equals_unpaged(sandbox_url):
    whole = get(sandbox_url, "archivefile/device", deviceCode=DEVICE, **HOUR).json()
    assert whole["next"] is None
    pages, params = [], {"deviceCode": DEVICE, "rowLimit": "7", **HOUR}
    body = get(sandbox_url, "archivefile/device", **params).json()
    first_next = body["next"]
    while True:
        pages.append(body["files"])
        if body["next"] is None:
            break
        assert len(body["files"]) == 7
        body = requests.get(
            f"{sandbox_url}/api/archivefile/device", params=body["next"]["parameters"], timeout=60
        ).json()
    assert sum(pages, []) == whole["files"]
    assert len(pages) == -(-len(whole["files"]) // 7)
    # next.parameters: every parameter, token included, dates normalised, page and rowLimit.
    assert first_next["parameters"] == {
        "token": SANDBOX_TOKEN,
        "deviceCode": DEVICE,
        "rowLimit": "7",
        "dateFrom": "2023-01-01T00:00:00.000Z",
        "dateTo": "2023-01-01T01:00:00.000Z",
        "page": "2",
    }
    query = parse_qs(urlsplit(first_next["url"]).query)
    assert query["page"] == ["2"] and query["token"] == [SANDBOX_TOKEN]


def test_pagination_normalises_short_and_missing_dates(sandbox_url):
    body = get(
        sandbox_url,
        "archivefile/device",
        deviceCode=DEVICE,
        rowLimit=5,
        dateFrom="2023-01-01",
        dateTo="PT30M",
    ).json()
    params = body["next"]["parameters"]
    assert (params["dateFrom"], params["dateTo"]) == (
        "2023-01-01T00:00:00.000Z",
        "2023-01-01T00:30:00.000Z",
    )
    latest = get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, rowLimit=2, dateFrom="-PT1H"
    ).json()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", latest["next"]["parameters"]["dateTo"]
    )


def test_listing_by_location(sandbox_url):
    by_device = get(sandbox_url, "archivefile/device", deviceCode=DEVICE, **HOUR).json()["files"]
    r = get(
        sandbox_url,
        "archivefile/location",
        locationCode="CBCH.H3",
        deviceCategoryCode="HYDROPHONE",
        **HOUR,
    )
    assert r.status_code == 200
    assert r.json()["files"] == by_device
    # Across the 2022 recovery: only files inside the deployments.
    gap = get(
        sandbox_url,
        "archivefile/location",
        locationCode="CBCH.H3",
        deviceCategoryCode="HYDROPHONE",
        fileExtension="flac",
        dateFrom="2022-06-29T23:50:00.000Z",
        dateTo="2022-09-01T00:10:00.000Z",
    ).json()
    stamps = [str(parse_filename_timestamp(f))[:10] for f in gap["files"]]
    assert set(stamps) <= {"2022-06-29", "2022-08-31", "2022-09-01"}
    assert "2022-06-29" in stamps and "2022-09-01" in stamps


def test_listing_outside_deployments(sandbox_url):
    # By device: 200 with no files (ONC's tests).
    body = get(
        sandbox_url,
        "archivefile/device",
        deviceCode=DEVICE,
        dateFrom="2000-01-01",
        dateTo="2000-01-02",
    ).json()
    assert body["files"] == [] and body["next"] is None
    # By location: ONC's "not deployed" 127.
    r = get(
        sandbox_url,
        "archivefile/location",
        locationCode="CBCH.H3",
        deviceCategoryCode="HYDROPHONE",
        dateFrom="2000-01-01",
        dateTo="2000-01-02",
    )
    assert r.status_code == 400
    assert r.json() == error(
        127,
        "A device with category HYDROPHONE was deployed at location CBCH.H3 but not during the "
        "provided time range (20000101T000000.000Z to 20000101T235959.999Z). The deployment "
        "service can be used to find the time ranges when devices were deployed at a location.",
        "locationCode, deviceCategoryCode, dateFrom, dateTo",
    )
    # A category never deployed at the location: 127 as well.
    r = get(
        sandbox_url, "archivefile/location", locationCode="BACAX", deviceCategoryCode="HYDROPHONE"
    )
    assert r.status_code == 400 and r.json()["errors"][0]["errorCode"] == 127
    assert r.json()["errors"][0]["parameter"] == "locationCode, deviceCategoryCode"
    # Scalar devices have no archived files in the sandbox.
    assert (
        get(
            sandbox_url,
            "archivefile/device",
            deviceCode="SBECTD19p6813",
            dateFrom="2024-01-01",
            dateTo="2024-01-02",
        ).json()["files"]
        == []
    )


def test_listing_errors(sandbox_url):
    assert get(sandbox_url, "archivefile/device", **HOUR).json() == error(
        128, "Missing Parameter.", "deviceCode"
    )
    assert get(sandbox_url, "archivefile/device", deviceCode="XYZ123", **HOUR).json() == error(
        127, "Invalid parameter value", "deviceCode"
    )
    assert get(sandbox_url, "archivefile/device", deviceCodes=DEVICE, **HOUR).json() == error(
        129, "Invalid parameter name", "deviceCodes"
    )
    assert get(
        sandbox_url, "archivefile/location", locationCode="XYZ123", deviceCategoryCode="HYDROPHONE"
    ).json() == error(127, "Invalid parameter value", "locationCode")
    assert get(sandbox_url, "archivefile/location", locationCode="CBCH.H3").json() == error(
        128, "Missing Parameter.", "deviceCategoryCode"
    )
    assert get(sandbox_url, "archivefile/device", deviceCode=DEVICE, rowLimit=0).json() == error(
        127, "Invalid parameter value", "rowLimit"
    )
    assert (
        get(
            sandbox_url,
            "archivefile/device",
            deviceCode=DEVICE,
            dateFrom="2023-02-01",
            dateTo="2023-01-01",
        ).json()["errors"][0]["errorCode"]
        == 23
    )
    assert (
        get(sandbox_url, "archivefile/device", deviceCode=DEVICE, dateFrom="2090-01-01").json()[
            "errors"
        ][0]["errorCode"]
        == 25
    )


def test_restricted_device_data_is_refused(sandbox_url):
    r = get(sandbox_url, "archivefile/device", deviceCode="NORTEKADCP9917")
    assert r.status_code == 400
    assert r.json() == error(
        127,
        "deviceCode: NORTEKADCP9917 has data restricted by Ocean Networks Canada Society (data "
        "product code TSSD). If you would like to request access to this data, please complete "
        "and submit the Restricted Data Request form on the Ocean Networks Canada website.",
        "deviceCode",
    )
    r = get(
        sandbox_url, "archivefile/location", locationCode="BACUS", deviceCategoryCode="ADCP2MHZ"
    )
    assert r.status_code == 400 and "restricted" in r.json()["errors"][0]["errorMessage"]


# -- download ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hour_rows(sandbox_url):
    return get(
        sandbox_url, "archivefile/device", deviceCode=DEVICE, returnOptions="all", **HOUR
    ).json()["files"]


def test_download_bytes_and_headers(sandbox_url, hour_rows, sandbox_stats):
    for row in hour_rows[:3]:  # a -spect.mat, a -spect.png and a .flac
        name = row["filename"]
        r = get(sandbox_url, "archivefile/download", filename=name)
        assert r.status_code == 200
        assert r.headers["Content-Disposition"] == f"attachment; filename={name}"
        assert int(r.headers["Content-Length"]) == len(r.content) == row["fileSize"]
        expected_type = {
            "mat": "application/octet-stream",
            "png": "image/png",
            "flac": "audio/flac",
        }[name.rsplit(".", 1)[1]]
        assert r.headers["Content-Type"] == expected_type
    flac = next(r["filename"] for r in hour_rows if r["filename"].endswith(".flac"))
    assert get(sandbox_url, "archivefile/download", filename=flac).content[:4] == b"fLaC"
    # The bytes are cached: a second download does not generate the file again.
    before = sandbox_stats(sandbox_url)
    again = get(sandbox_url, "archivefile/download", filename=flac)
    after = sandbox_stats(sandbox_url)
    assert again.status_code == 200
    assert after["archive_files_read"] == before["archive_files_read"]
    assert after["paths"]["/api/archivefile/download"] == (
        before["paths"]["/api/archivefile/download"] + 1
    )


def test_download_head(sandbox_url, hour_rows):
    name = hour_rows[0]["filename"]
    r = requests.head(
        f"{sandbox_url}/api/archivefile/download",
        params={"token": SANDBOX_TOKEN, "filename": name},
        timeout=60,
    )
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) == hour_rows[0]["fileSize"]
    assert r.headers["Content-Disposition"] == f"attachment; filename={name}"


def test_download_errors(sandbox_url):
    assert get(sandbox_url, "archivefile/download", filename="FAKEFILE.XYZ").json() == error(
        96, "No file could be found.", "filename"
    )
    r = get(
        sandbox_url, "archivefile/download", filename="ICLISTENHF6093_20000101T000000.000Z.flac"
    )
    assert r.status_code == 400 and r.json()["errors"][0]["errorCode"] == 96
    assert get(sandbox_url, "archivefile/download").json() == error(
        128, "Missing Parameter.", "filename"
    )
    assert (
        get(sandbox_url, "archivefile/download", filenames="x").json()["errors"][0]["errorCode"]
        == 129
    )


@pytest.mark.parametrize("return_option", ["all", "archiveLocation"])
def test_the_fast_listing_page_is_byte_for_byte_the_plain_json(return_option):
    """Big listing pages are written column by column (a year is ~100,000 rows); the bytes
    must be exactly what the general JSON encoder writes for the same rows."""
    import types

    from intake_onc.sandbox.archive import pages as archive_json
    from intake_onc.sandbox.encoders.json_body import dumps
    from intake_onc.sandbox.services import archivefile as archive_endpoint

    sandbox = types.SimpleNamespace(seed=0, now=lambda: pd.Timestamp("2024-06-01"))
    frame = archive_endpoint.device_files(
        sandbox, "ICLISTENHF6020", pd.Timestamp("2020-08-09"), pd.Timestamp("2020-08-11")
    )  # the WAV → FLAC switch: two extensions, three kinds of file
    frame = frame.assign(
        _format_id=[archive_json.FORMAT_IDS.get(n.rsplit(".", 1)[-1], 0) for n in frame.filename]
    )
    assert len(frame) > 500
    body = {
        "citations": [{"citation": "c", "doi": "d"}],
        "files": [],
        "messages": [],
        "next": {"parameters": {"page": "2"}, "url": "u"},
        "queryUrl": "http://127.0.0.1/api/archivefile/device?token=***",
        "returnOption": return_option,
    }
    fast = archive_json.page_json(body, frame, return_option)
    plain = dumps({**body, "files": archive_json.listing_rows(frame, return_option)})
    assert fast is not None and bytes(fast) == bytes(plain)


@pytest.mark.parametrize("return_option", ["default", "all", "archiveLocation"])
def test_served_listing_pages_are_the_plain_json_of_the_full_listing(make_sandbox, return_option):
    """Listings are cached as numbers and only the page's rows become text: every served page
    is byte for byte what the general JSON encoder writes (``dumps`` of its own parse), and
    its files are exactly the rows of :func:`list_archive_files` (strings made for the whole
    range, the way listings were built before) at that page, through filters and pages."""
    import json

    from intake_onc.sandbox.archive import listing as archive_listing
    from intake_onc.sandbox.archive import pages as archive_json
    from intake_onc.sandbox.encoders.json_body import dumps

    now = "2024-06-01T12:34:56.789Z"
    url = make_sandbox(now=now)
    cases = [
        ("ICLISTENHF6020", "2020-08-09T20:00:00.000Z", "2020-08-10T04:00:00.000Z", {}),
        ("ICLISTENHF6324", "2024-05-30T00:00:00.000Z", "2024-06-01T12:30:00.000Z", {}),
        ("ICLISTENHF6020", "2020-08-09T00:00:00.000Z", "2020-08-11T00:00:00.000Z", {"ext": "wav"}),
        ("ICLISTENHF6093", "2022-08-31T00:00:00.000Z", "2022-09-02T00:00:00.000Z", {"ext": "mat"}),
    ]
    for device, date_from, date_to, extra in cases:
        frame = archive_listing.list_archive_files(device, date_from, date_to, now=now)
        if "ext" in extra:
            frame = frame[frame.filename.str.endswith("." + extra["ext"])]
        frame = frame.reset_index(drop=True)
        assert len(frame) > 60
        for row_limit, page in ((25, 1), (25, 2), (40, (len(frame) + 39) // 40), (100_000, 1)):
            params = {"deviceCode": device, "dateFrom": date_from, "dateTo": date_to}
            params.update(rowLimit=row_limit, page=page, returnOptions=return_option)
            if "ext" in extra:
                params["fileExtension"] = extra["ext"]
            r = get(url, "archivefile/device", **params)
            assert r.status_code == 200, r.text
            body = json.loads(r.content)
            assert r.content == dumps(body)
            rows = frame.iloc[(page - 1) * row_limit : page * row_limit]
            expected = archive_json.listing_rows(rows, return_option)
            assert dumps(body["files"]) == dumps(expected)
            assert (body["next"] is None) == (page * row_limit >= len(frame))
