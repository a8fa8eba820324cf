"""The client against the local Oceans 3.0 sandbox: discovery, archive files, scalar data,
data-product orders, the cache, faults, and the token that never shows.

The sandbox's facts (devices, deployments) are pinned in docs/architecture.md; the tests use the
8 kHz hydrophone ``ICLISTENHF6093`` (deployed 2021-03-01 – 2022-06-30 and 2022-09-01 – now) and
the CTD ``SBECTD19p6813`` at BACAX.
"""

from __future__ import annotations

import hashlib
import logging
import warnings

import pandas as pd
import pytest
import requests

from intake_onc import sandbox
from intake_onc.client import (
    AuthError,
    DataProductOrder,
    InvalidParameterError,
    MissingParameterError,
    NotDeployedError,
    ONCClient,
    ONCError,
    RestrictedDataError,
    RetryPolicy,
)
from intake_onc.sandbox import SANDBOX_TOKEN

TOKEN = SANDBOX_TOKEN
HYDROPHONE = "ICLISTENHF6093"
CTD = "SBECTD19p6813"


@pytest.fixture(scope="module")
def url():
    with sandbox.serve(port=0, token=TOKEN, seed=0, processing_scale=0.0) as base:
        yield base


def stats(base: str) -> dict:
    return requests.get(f"{base}/_sandbox/stats", timeout=10).json()


def path_count(base: str, path: str) -> int:
    return stats(base)["paths"].get(path, 0)


def make_client(base, tmp_path, **kwargs):
    options = {
        "token": TOKEN,
        "base_url": base,
        "cache_dir": tmp_path / "cache",
        "retries": RetryPolicy(total=8, backoff=0.01, max_retry_after=0.2),
        "timeout": 30,
        "progress": False,
        "poll_range": (0.05, 0.5),
    }
    options.update(kwargs)
    return ONCClient(**options)


@pytest.fixture
def client(url, tmp_path):
    with make_client(url, tmp_path) as c:
        yield c


# -- discovery ---------------------------------------------------------------------------------
def test_locations_have_real_booleans_and_numbers(client):
    frame = client.locations()
    assert frame["hasDeviceData"].dtype == bool
    bacax = frame.set_index("locationCode").loc["BACAX"]
    assert bacax["locationName"] == "Barkley Canyon Axis" and bacax["depth"] == 983.746022
    assert bool(bacax["hasDeviceData"]) is True


def test_the_location_tree_is_flattened_with_parents(client):
    tree = client.location_tree().set_index("locationCode")
    assert tree.loc["CBCH.H3", "parentLocationCode"] == "CBCH"
    assert pd.isna(tree.loc["CBCH", "parentLocationCode"])  # ONC's flat list: a root here
    assert tree.loc["CBCH", "level"] == 0 and tree.loc["CBCH.H3", "level"] == 1


def test_deployments_have_parsed_dates_and_nat_while_ongoing(client):
    frame = client.deployments(device_code=HYDROPHONE)
    assert str(frame["begin"].dtype) == "datetime64[ns]"
    assert frame["begin"].tolist() == [pd.Timestamp("2021-03-01"), pd.Timestamp("2022-09-01")]
    assert frame["end"].iloc[0] == pd.Timestamp("2022-06-30") and pd.isna(frame["end"].iloc[1])


def test_devices_categories_properties_and_products(client):
    device = client.devices(device_code=CTD).iloc[0]
    assert device["deviceCategoryCode"] == "CTD" and device["dataRating"]
    assert "HYDROPHONE" in client.device_categories()["deviceCategoryCode"].tolist()
    assert "salinity" in client.properties(device_code=CTD)["propertyCode"].tolist()
    products = client.data_products(device_code=HYDROPHONE)
    assert ("HSD", "mat") in set(
        zip(products["dataProductCode"], products["extension"], strict=True)
    )


def test_data_availability_is_a_frame_with_dates(client):
    frame = client.data_availability(device_code=HYDROPHONE, start="2024-04-01", end="2024-04-02")
    assert len(frame) and str(frame["dateFrom"].dtype) == "datetime64[ns]"


def test_a_device_with_no_archived_product_has_onc_availability_columns_and_no_row(client):
    files = client.data_availability(device_code=HYDROPHONE, start="2024-04-01", end="2024-04-02")
    none = client.data_availability(device_code="SBECTD19p6813")  # a CTD: scalardata only
    assert none.empty and list(none.columns) == list(files.columns)
    assert dict(none.dtypes.astype(str)) == dict(files.dtypes.astype(str))


def test_a_filter_that_matches_nothing_gives_an_empty_frame(client):
    assert client.locations(location_code="BACAX", end="1900-01-01").empty  # ONC answers 404


def test_an_unknown_code_is_a_typed_error_naming_the_parameter(client):
    with pytest.raises(InvalidParameterError) as info:
        client.locations(location_code="NOWHERE")
    assert info.value.parameter == "locationCode" and info.value.error_code == 127


def test_check_deployed_returns_the_deployment_or_lists_them_all(client):
    [hit] = client.check_deployed(HYDROPHONE, "2024-04-01", "2024-04-02")
    assert hit.end is None and hit.location_code == "CBCH.H3"
    with pytest.raises(NotDeployedError) as info:
        client.check_deployed(HYDROPHONE, "2022-07-01", "2022-07-02")
    assert len(info.value.deployments) == 2
    assert "2021-03-01 – 2022-06-30" in str(info.value)


def test_a_server_side_not_deployed_error_carries_the_deployments(client):
    with pytest.raises(NotDeployedError) as info:  # (by device, ONC answers "no data")
        client.scalar_data(
            location_code="BACAX", device_category="CTD", start="2022-07-05", end="2022-07-06"
        )
    err = info.value
    assert err.error_code == 127 and "dateFrom" in err.parameter
    assert [r.begin for r in err.deployments] == [  # every CTD deployment at BACAX
        pd.Timestamp("2009-09-01"),
        pd.Timestamp("2019-05-01"),
        pd.Timestamp("2022-07-15"),
    ]


def test_restricted_data_is_refused_with_a_typed_error(client):
    with pytest.raises(RestrictedDataError, match="restricted"):
        client.scalar_data("NORTEKADCP9917", "2024-04-01", "2024-04-01T01:00")


def test_a_wrong_token_raises_auth_error_without_showing_it(url, tmp_path):
    wrong = "11111111-2222-4333-8444-555555555555"
    with make_client(url, tmp_path, token=wrong) as c, pytest.raises(AuthError) as info:
        c.locations()
    assert "ONC_TOKEN" in str(info.value) and wrong not in str(info.value)


# -- archive files -----------------------------------------------------------------------------
def test_archive_files_include_the_file_running_into_the_range(client):
    everything = client.archive_files(HYDROPHONE, "2024-04-01T00:00", "2024-04-01T01:00")
    first = everything[everything["filename"].str.endswith(".flac")].iloc[1]
    start = first["start"] + pd.Timedelta("1min")  # inside the second file
    files = client.archive_files(HYDROPHONE, start, "2024-04-01T01:00", extension="flac")
    assert files["filename"].iloc[0] == first["filename"]
    assert files["start"].iloc[0] < start < files["end"].iloc[0]
    assert files["filename"].str.endswith(".flac").all()
    assert (files["start"] < pd.Timestamp("2024-04-01T01:00")).all()
    assert files["size"].gt(0).all() and files["start"].is_monotonic_increasing


@pytest.mark.parametrize("extension", [None, "flac"])
def test_listings_read_by_columns_match_json_loads(client, monkeypatch, extension):
    """Mixed file types (names of several lengths) and one type (every record alike)."""
    from intake_onc.client import _http

    args = (HYDROPHONE, "2024-04-01", "2024-04-01T06:00")
    by_columns = client.archive_files(*args, extension=extension)
    monkeypatch.setattr(_http, "loads_with_columns", lambda *a, **k: None)
    pd.testing.assert_frame_equal(by_columns, client.archive_files(*args, extension=extension))
    assert len(by_columns) > 60


def test_archive_files_by_location_and_category(client):
    by_device = client.archive_files(HYDROPHONE, "2024-04-01", "2024-04-01T00:30", extension="flac")
    by_location = client.archive_files(
        location_code="CBCH.H3",
        device_category="HYDROPHONE",
        start="2024-04-01",
        end="2024-04-01T00:30",
        extension="flac",
    )
    assert by_location["filename"].tolist() == by_device["filename"].tolist()


def test_downloads_are_verified_and_never_repeated(url, client):
    files = client.archive_files(HYDROPHONE, "2024-04-01", "2024-04-01T00:20", extension="flac")
    before = path_count(url, "/api/archivefile/download")
    first = client.download_files(files)
    middle = path_count(url, "/api/archivefile/download")
    second = client.download_files(files)
    assert first.ok and first.downloaded == len(files) and second.cached == len(files)
    assert middle - before == len(files)
    assert path_count(url, "/api/archivefile/download") == middle  # the sandbox saw nothing new
    assert [p.stat().st_size for p in first.paths] == files["size"].tolist()
    assert client.download(files["filename"].iloc[0]) == first.paths[0]


@pytest.mark.slow
def test_fifty_downloads_through_faults_match_a_fault_free_run(tmp_path):
    """Done-criterion of issue #3: fault_rate=0.2 changes nothing in the bytes."""

    def digests(fault_rate, folder):
        with (
            sandbox.serve(port=0, seed=0, fault_rate=fault_rate, fault_slow_ms=200) as base,
            make_client(base, folder, workers=6) as c,
        ):
            files = c.archive_files(HYDROPHONE, "2024-04-01", "2024-04-01T05:00")
            files = files[files["filename"].str.endswith(".flac")].head(50)
            summary = c.download_files(files)
            faults = stats(base)["faults"]
        assert summary.ok, str(summary)
        partial = [p for p in (folder / "cache").rglob("*") if p.name.endswith((".part", ".lock"))]
        assert partial == []
        hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in summary.paths}
        return hashes, faults

    clean, no_faults = digests(0.0, tmp_path / "clean")
    faulty, faults = digests(0.2, tmp_path / "faulty")
    assert len(clean) == 50 and no_faults == 0 and faults > 0
    assert faulty == clean


# -- scalar data -------------------------------------------------------------------------------
def test_scalar_data_follows_every_page(client):
    start, end = "2024-04-01T00:00", "2024-04-01T00:30"
    whole = client.scalar_data(CTD, start, end)
    paged = client.scalar_data(CTD, start, end, row_limit=250)
    assert len(whole["sensorData"]) == 4
    for a, b in zip(whole["sensorData"], paged["sensorData"], strict=True):
        assert a["sensorCode"] == b["sensorCode"]
        assert a["data"]["sampleTimes"] == b["data"]["sampleTimes"]
        assert len(a["data"]["values"]) == 1800  # 1 s CTD for 30 minutes
    assert whole["next"] is None and paged["next"] is None


# -- data-product orders -----------------------------------------------------------------------
def tssd_order(client, **kwargs):
    options = {
        "device_code": CTD,
        "start": "2024-04-01",
        "end": "2024-04-01T06:00",
        "quality_control": True,
        "resample": "none",
    }
    options.update(kwargs)
    return client.order("TSSD", "csv", **options)


def test_an_order_does_nothing_until_executed(url, client):
    before = path_count(url, "/api/dataProductDelivery/request")
    order = tssd_order(client)
    assert order.status == "created" and order.request_id is None
    assert path_count(url, "/api/dataProductDelivery/request") == before
    assert "TSSD.csv" in repr(order) and "status=created" in repr(order)


def test_an_order_runs_to_files_with_logs(url, client):
    order = tssd_order(client, include_metadata=True).execute()
    assert order.request_id is not None and order.run_ids
    assert order.estimated_size is not None and order.estimated_time is not None
    order.wait(timeout=60)
    assert order.status == "complete"
    paths = order.download()
    assert [p.suffix for p in paths] == [".csv", ".xml"]
    assert paths[0].read_text().startswith("## BEGIN HEADER")
    assert order.logs and all(e.time.tzinfo is not None for e in order.logs)
    assert f"request_id={order.request_id}" in repr(order)


def test_a_repeated_order_comes_from_the_cache(url, client, tmp_path):
    first = tssd_order(client, end="2024-04-01T03:00", wait=True)
    before = path_count(url, "/api/dataProductDelivery/request")
    again = tssd_order(client, end="2024-04-01T03:00").execute()
    assert again.status == "complete" and again.from_cache
    assert again.download() == first.paths
    assert path_count(url, "/api/dataProductDelivery/request") == before
    copies = again.download(tmp_path / "here")
    assert [p.read_bytes() for p in copies] == [p.read_bytes() for p in first.paths]


def test_friendly_options_and_onc_names_give_the_same_request(client):
    friendly = tssd_order(client, resample="average", resample_period=60, data_gaps="fill")
    raw = client.order(
        "TSSD",
        "csv",
        device_code=CTD,
        start="2024-04-01",
        end="2024-04-01T06:00",
        dpo_qualityControl=1,
        dpo_resample="average",
        dpo_average=60,
        dpo_dataGaps=1,
    )
    assert friendly.params == raw.params and friendly.fingerprint == raw.fingerprint


def test_a_missing_required_option_is_a_typed_error(client):
    order = client.order("TSSD", "csv", device_code=CTD, start="2024-04-01", end="2024-04-02")
    with pytest.raises(MissingParameterError) as info:
        order.execute()
    assert info.value.parameter == "dpo_qualityControl"


def test_cancel_and_restart(tmp_path):
    with sandbox.serve(port=0, processing_scale=1.0) as base, make_client(base, tmp_path) as c:
        order = tssd_order(c).execute()
        assert order.status in ("queued", "running")
        order.cancel()
        assert order.status == "cancelled"
        with pytest.raises(ONCError, match="cancelled"):
            order.wait(timeout=5)
        order.restart().wait(timeout=60)
        assert order.status == "complete" and order.download()
        messages = [e.message for e in order.logs]
        assert "cancelled by the client" in messages and "restarted by the client" in messages
        assert any(m in ("queued", "data product running") for m in messages)


def test_many_orders_in_parallel_report_failures_without_stopping(client):
    specs = [
        dict(
            product="TSSD",
            extension="csv",
            device_code=CTD,
            start=f"2024-04-0{d}",
            end=f"2024-04-0{d}T02:00",
            quality_control=True,
            resample="none",
        )
        for d in (1, 2, 3)
    ]
    specs.append({**specs[0], "device_code": "NORTEKADCP9917"})  # restricted: fails
    batch = client.order_many(specs, workers=3, stagger=0.05, max_attempts=2)
    assert len(batch.results) == 3 and len(batch.failures) == 1
    order, error = batch.failures[0]
    assert isinstance(error, RestrictedDataError) and order.params["deviceCode"] == "NORTEKADCP9917"
    assert len(batch.paths) == 3 and all(p.exists() for p in batch.paths)
    assert "3 orders complete" in str(batch)


def test_hsd_spectrogram_order(client):
    order = client.order(
        "HSD",
        "mat",
        device_code=HYDROPHONE,
        start="2024-04-01T00:00",
        end="2024-04-01T00:10",
        wait=True,
        timeout=120,
    )
    assert isinstance(order, DataProductOrder) and order.paths
    assert all(p.suffix == ".mat" for p in order.paths)


# -- the token never shows ---------------------------------------------------------------------
def test_the_token_never_shows_on_any_error_path(url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    failures = []
    with make_client(url, tmp_path) as c, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calls = [
            lambda: c.scalar_data(
                location_code="BACAX", device_category="CTD", start="2022-07-05", end="2022-07-06"
            ),  # not deployed
            lambda: c.scalar_data("NORTEKADCP9917", "2024-04-01", "2024-04-02"),  # restricted
            lambda: c.download("NOSUCHDEVICE_20240101T000000.000Z.flac"),  # no file
            lambda: c.order(
                "TSSD", "csv", device_code=CTD, start="2024-04-01", end="2024-04-02"
            ).execute(),  # missing option
            lambda: c._core.get_json("deployments", {"deviceCodes": "x"}),  # unknown parameter
            lambda: c._core.get_json("nosuchservice", {}),  # 404
            lambda: c.check_deployed(HYDROPHONE, "2022-07-01", "2022-07-02"),
        ]
        for call in calls:
            with pytest.raises(ONCError) as info:
                call()
            failures.append(info.value)
        order = tssd_order(c, end="2024-04-01T01:00", include_metadata=True, wait=True)
    with make_client(url, tmp_path, token="99999999-2222-4333-8444-555555555555") as bad:
        with pytest.raises(AuthError) as info:
            bad.locations()
        failures.append(info.value)
    texts = [repr(c), repr(order), str(order.logs), str(order.request_info)]
    for err in failures:
        texts += [str(err), repr(err), str(err.url), str(err.errors), str(err.args)]
    texts += [r.getMessage() for r in caplog.records] + [str(w.message) for w in caught]
    assert len(caplog.records) > 10
    for text in texts:
        assert TOKEN not in text and "99999999-2222" not in text
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_an_order_that_fails_is_submitted_again_up_to_max_attempts(url, tmp_path):
    with make_client(url, tmp_path, retries=0) as c:  # no HTTP retry: the order must retry
        requests.post(f"{url}/_sandbox/faults", params={"queue": "500", "token": TOKEN}, timeout=10)
        order = tssd_order(c, end="2024-04-01T00:40")
        batch = c.order_many([order], workers=1, max_attempts=2)
        assert batch.failures == [] and order.attempts == 2
        assert any("attempt 1 of 2 failed" in e.message for e in order.logs)
        requests.post(
            f"{url}/_sandbox/faults", params={"queue": "500,500", "token": TOKEN}, timeout=10
        )
        again = c.order_many([tssd_order(c, end="2024-04-01T00:50")], max_attempts=2)
        [(_, error)] = again.failures
        assert type(error).__name__ == "ServerError" and again.results == []


def test_read_head_gives_the_first_bytes_without_caching_anything(client, url):
    """Enough of a file to read its audio header (rate, bit depth), nothing stored on disk."""
    files = client.archive_files(
        HYDROPHONE, "2023-01-01T00:00", "2023-01-01T00:06", extension="flac"
    )
    name = files["filename"].iloc[0]
    head = client.read_head(name, 4096)
    assert len(head) == 4096 and head[:4] == b"fLaC"
    assert client.download(name).read_bytes()[:4096] == head
    before = path_count(url, "/api/archivefile/download")
    tiny = client.read_head(name, 10)
    assert tiny == head[:10]
    assert path_count(url, "/api/archivefile/download") == before + 1
    with pytest.raises(ValueError, match="nbytes: expected a positive number"):
        client.read_head(name, 0)
