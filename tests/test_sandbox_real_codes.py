"""Scripts that use real ONC codes run unchanged against the sandbox.

The examples are those of ONC's own documentation (``../shared/reference/onc-api-samples``: the
official client's tutorial as ONC executed it), and codes users' scripts carry: ``NC89`` and
``BPR_889``, ``BPR-Folger-59``, ``NCBC``, ``CRIP.C1``, ``ICLISTENHF1560``, ``BACAX``'s CTDs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from intake_onc.client import ONCClient
from intake_onc.sandbox import SANDBOX_TOKEN

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "onc-api-samples"


@pytest.fixture
def client(sandbox_url, tmp_path):
    with ONCClient(token=SANDBOX_TOKEN, base_url=sandbox_url, cache_dir=tmp_path) as c:
        yield c


def api(url: str, path: str, **params) -> requests.Response:
    return requests.get(f"{url}/api/{path}", params={"token": SANDBOX_TOKEN, **params}, timeout=30)


def sample(name: str):
    path = SAMPLES / name
    if not path.exists():  # a checkout without the reference folder
        pytest.skip(f"{name}: reference sample not available")
    return json.loads(path.read_text())


@pytest.mark.parametrize("code", ["NC89", "NCBC", "CRIP.C1", "BACAX", "CBCH.H1", "CBYIP"])
def test_real_location_codes_resolve_with_onc_names(sandbox_url, code):
    r = api(sandbox_url, "locations", locationCode=code)
    assert r.status_code == 200, r.text
    assert r.json()[0]["locationCode"] == code and r.json()[0]["locationName"]


def test_the_tutorials_bpr_deployment_and_data_rating(sandbox_url):
    (real,) = sample("deployments_NC89_BPR.json")
    ours = api(sandbox_url, "deployments", locationCode="NC89", deviceCategoryCode="BPR").json()
    mine = next(d for d in ours if d["deviceCode"] == real["deviceCode"])
    for key in ("begin", "end", "lat", "lon", "depth", "locationCode", "deviceCategoryCode"):
        assert mine[key] == real[key], key
    (device,) = sample("devices_BPR_889.json")
    (served,) = api(sandbox_url, "devices", deviceCode="BPR_889").json()
    assert served["deviceId"] == device["deviceId"] and served["deviceName"] == device["deviceName"]
    assert [r["samplePeriod"] for r in served["dataRating"]][-1] == device["dataRating"][-1][
        "samplePeriod"
    ]


def test_bpr_folger_59_serves_scalar_data(client):
    deployments = client.deployments(device_code="BPR-Folger-59")
    assert len(deployments) == 1
    begin = deployments["begin"].iloc[0]
    start = max(begin, deployments["begin"].iloc[0]) + __import__("pandas").Timedelta(days=400)
    data = client.scalar_data(
        "BPR-Folger-59", start, start + __import__("pandas").Timedelta(seconds=10)
    )
    assert {s["sensorCode"] for s in data["sensorData"]} >= {"pressure"}
    assert len(data["sensorData"][0]["data"]["values"]) == 10  # ONC's rating: 1 s


def test_iclistenhf1560_lists_and_serves_audio(client):
    (dep,) = client.deployments(device_code="ICLISTENHF1560").itertuples()
    start = dep.begin + __import__("pandas").Timedelta(days=30)
    files = client.archive_files(
        "ICLISTENHF1560",
        start,
        start + __import__("pandas").Timedelta(minutes=10),
        extension="flac",
    )
    assert len(files) >= 2
    path = client.download(files["filename"].iloc[0])
    assert path.stat().st_size > 100_000


def test_bacax_has_ctd_deployments_since_2009(client):
    ctds = client.deployments(location_code="BACAX", device_category="CTD").sort_values("begin")
    assert ctds["begin"].iloc[0].year == 2009
    assert "SBECTD19p6813" in set(ctds["deviceCode"])


def test_categories_the_sandbox_does_not_serve_get_onc_style_errors(sandbox_url):
    # ONC's catalogue lists cameras; the sandbox lists them but has no data for them
    devices = api(sandbox_url, "devices", deviceCategoryCode="VIDEOCAM").json()
    assert devices and devices[0]["deviceCategoryCode"] == "VIDEOCAM"
    r = api(
        sandbox_url,
        "scalardata/device",
        deviceCode=devices[0]["deviceCode"],
        dateFrom="2020-01-01",
        dateTo="2020-01-01T00:01",
    )
    assert r.status_code in (400, 404)
    body = r.json()
    assert "errors" in body or "message" in body
