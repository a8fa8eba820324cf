"""TSSP (Time Series Scalar Plot) in the sandbox: ordered and delivered like TSSD.

ONC's own tutorial orders a TSSP PNG of a CTD for 30 minutes
(``onc-api-samples/orderDataProduct_result_TSSP.json``): the official client's
``orderDataProduct`` must download the plot and its ``_PNG_META.xml``.
"""

from __future__ import annotations

import sys

import pytest
import requests

from intake_onc import sandbox
from intake_onc.sandbox import SANDBOX_TOKEN

onc_module = pytest.importorskip("onc")
pytest.importorskip("matplotlib")

TUTORIAL_ORDER = {
    "locationCode": "BACAX",
    "deviceCategoryCode": "CTD",
    "dataProductCode": "TSSP",
    "extension": "png",
    "dateFrom": "2024-01-01T00:00:00.000Z",
    "dateTo": "2024-01-01T00:30:00.000Z",
    "dpo_qualityControl": 1,
    "dpo_resample": "none",
}


@pytest.fixture(scope="module")
def url():
    with sandbox.serve(port=0, token=SANDBOX_TOKEN, seed=0, processing_scale=0.0) as base:
        yield base


@pytest.fixture
def onc(url, tmp_path):
    client = onc_module.ONC(SANDBOX_TOKEN, outPath=tmp_path, timeout=60, showInfo=False)
    client.baseUrl = url + "/"
    return client


def test_the_tutorial_tssp_png_order_downloads_a_plot_and_its_metadata(onc, tmp_path):
    result = onc.orderDataProduct(TUTORIAL_ORDER)
    files = [r["file"] for r in result["downloadResults"]]
    assert [r["status"] for r in result["downloadResults"]] == ["complete", "complete"]
    plot, meta = files
    assert "_ConductivityTemperatureDepth_20240101T000000Z_" in plot  # named like TSSD
    assert plot.endswith("clean.png") and meta.endswith("clean_PNG_META.xml")
    body = (tmp_path / plot).read_bytes()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(body) > 20_000  # four panels of data, not an empty canvas


def test_a_pdf_plot_is_a_pdf_and_the_same_order_gives_the_same_name(onc, tmp_path):
    order = {**TUTORIAL_ORDER, "extension": "pdf"}
    result = onc.orderDataProduct(order)
    plot = result["downloadResults"][0]["file"]
    assert plot.endswith(".pdf")
    assert (tmp_path / plot).read_bytes()[:5] == b"%PDF-"


def test_tssp_is_listed_in_data_products_with_png_and_pdf(url):
    answer = requests.get(
        f"{url}/api/dataProducts",
        params={"dataProductCode": "TSSP", "token": SANDBOX_TOKEN},
        timeout=30,
    ).json()
    assert sorted(p["extension"] for p in answer) == ["pdf", "png"]
    assert {p["dataProductName"] for p in answer} == {"Time Series Scalar Plot"}


def test_without_matplotlib_tssp_is_refused_and_tssd_still_works(url, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    params = {k: str(v) for k, v in TUTORIAL_ORDER.items()}
    refused = requests.get(
        f"{url}/api/dataProductDelivery/request",
        params={**params, "token": SANDBOX_TOKEN},
        timeout=30,
    )
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["parameter"] == "dataProductCode"
    assert "matplotlib" in error["errorMessage"] and "[plot]" in error["errorMessage"]
    tssd = {**params, "dataProductCode": "TSSD", "extension": "csv"}
    accepted = requests.get(
        f"{url}/api/dataProductDelivery/request",
        params={**tssd, "token": SANDBOX_TOKEN},
        timeout=30,
    )
    assert accepted.status_code == 200 and accepted.json()["dpRequestId"]
