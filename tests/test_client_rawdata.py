"""``ONCClient.raw_data``: every page of ``rawdata/*`` as one DataFrame (time UTC, lineType, reading)."""

from __future__ import annotations

import pandas as pd
import pytest
import requests

from intake_onc import sandbox
from intake_onc.client import InvalidParameterError, ONCClient, RetryPolicy
from intake_onc.client.rawdata import raw_frame
from intake_onc.sandbox import SANDBOX_TOKEN

CTD = "SBECTD19p6813"


@pytest.fixture(scope="module")
def url():
    with sandbox.serve(port=0, token=SANDBOX_TOKEN, seed=0, processing_scale=0.0) as base:
        yield base


@pytest.fixture
def client(url, tmp_path):
    with ONCClient(
        token=SANDBOX_TOKEN,
        base_url=url,
        cache_dir=tmp_path / "cache",
        retries=RetryPolicy(total=3, backoff=0.01, max_retry_after=0.2),
        timeout=30,
        progress=False,
    ) as c:
        yield c


def test_raw_data_of_a_ctd_is_one_line_per_second_in_time_order(client):
    frame = client.raw_data(CTD, "2024-01-01T00:00:00Z", "2024-01-01T00:10:00Z")
    assert list(frame.columns) == ["time", "lineType", "reading"]
    assert str(frame["time"].dt.tz) == "UTC"
    assert len(frame) == 600  # 1 s sampling, end exclusive
    assert frame["time"].is_monotonic_increasing
    assert frame["time"].iloc[0] >= pd.Timestamp("2024-01-01T00:00:00Z")
    assert frame["time"].iloc[-1] < pd.Timestamp("2024-01-01T00:10:00Z")
    # a CTD line carries one value per sensor (conductivity, pressure, salinity, temperature)
    first = frame["reading"].iloc[0]
    assert first.startswith("#") and len(first[1:].split(",")) == 4


def test_raw_data_follows_every_page_to_the_same_readings(client, url):
    before = requests.get(f"{url}/_sandbox/stats", timeout=10).json()["raw_pages"]
    whole = client.raw_data(CTD, "2024-01-01T00:00:00Z", "2024-01-01T00:30:00Z")
    paged = client.raw_data(CTD, "2024-01-01T00:00:00Z", "2024-01-01T00:30:00Z", row_limit=500)
    after = requests.get(f"{url}/_sandbox/stats", timeout=10).json()["raw_pages"]
    assert after - before == 1 + 4  # one page, then 1,800 readings in pages of 500
    pd.testing.assert_frame_equal(whole, paged)


def test_raw_data_by_location_matches_by_device(client):
    by_device = client.raw_data(CTD, "2024-01-01T00:00:00Z", "PT2M")
    by_location = client.raw_data(
        location_code="BACAX", device_category="CTD", start="2024-01-01T00:00:00Z", end="PT2M"
    )
    pd.testing.assert_frame_equal(by_device, by_location)


def test_raw_data_names_the_bad_argument(client):
    with pytest.raises(ValueError, match="start and end"):
        client.raw_data(CTD)
    with pytest.raises((TypeError, ValueError), match="row_limit"):
        client.raw_data(CTD, "2024-01-01", "PT1M", row_limit="many")
    with pytest.raises(InvalidParameterError, match="deviceCode"):
        client.raw_data("NOSUCHDEVICE42", "2024-01-01", "PT1M")


def test_raw_frame_refuses_a_damaged_page():
    with pytest.raises(ValueError, match="differ in length"):
        raw_frame({"data": {"lineTypes": [" "], "readings": ["a", "b"], "times": ["t"]}})
    empty = raw_frame({"data": {"lineTypes": [], "readings": [], "times": []}})
    assert list(empty.columns) == ["time", "lineType", "reading"] and empty.empty
