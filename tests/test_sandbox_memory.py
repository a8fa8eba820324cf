"""The sandbox's memory stays bounded: the listing cache holds at most its byte budget, a
listing ending at "now" is one cache entry (not one per request), and data products larger
than the in-memory limit live on disk (same bytes served), removed when the server stops.
CI-sized; the full-size numbers are benchmarks/bench_sandbox_memory.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN
from intake_onc.sandbox.products.spool import FileBody
from intake_onc.sandbox.products.tssd_files import build_tssd_files
from intake_onc.sandbox.services import archivefile

HYDROPHONE = "ICLISTENHF6093"


class _Bare:
    seed = 0
    _now = pd.Timestamp("2024-01-01")

    def now(self) -> pd.Timestamp:
        return self._now


def test_listing_cache_is_bounded_in_bytes():
    ctx = _Bare()
    ctx.archive_state = archivefile.ArchiveState(listing_bytes=100_000)
    cache = ctx.archive_state.listings
    sizes = []
    for day in range(1, 11):  # ten different one-day listings (~860 rows, ~15 kB each)
        start = pd.Timestamp(f"2023-03-{day:02d}")
        frame = archivefile.device_files(ctx, HYDROPHONE, start, start + pd.Timedelta(days=1))
        assert len(frame) > 0
        sizes.append(
            archivefile.listing_nbytes(
                archivefile._device_listing(ctx, HYDROPHONE, start, start + pd.Timedelta(days=1))
            )
        )
        assert cache._size <= cache.max_bytes
    assert 0 < len(cache._data) < 10  # the oldest were dropped for bytes, not for count
    assert cache._size == sum(size for _, size in cache._data.values())
    # A listing larger than half the budget is answered but not kept.
    big = archivefile._device_listing(
        ctx, HYDROPHONE, pd.Timestamp("2023-01-01"), pd.Timestamp("2023-03-01")
    )
    assert archivefile.listing_nbytes(big) > 50_000
    assert all(key[1] != pd.Timestamp("2023-01-01") for key in cache._data)
    assert cache._size <= cache.max_bytes


def test_a_100_year_listing_is_numbers_and_is_cached():
    """A 100-year listing (~411,000 files) is kept as numbers (a few MB): it fits the default
    cache, so parallel and repeated requests share it instead of each building its own."""
    ctx = _Bare()
    ctx._now = pd.Timestamp("2025-01-01")
    ctx.archive_state = archivefile.ArchiveState()
    start, end = pd.Timestamp("1925-01-01"), pd.Timestamp("2025-01-01")
    listing = archivefile._device_listing(ctx, "ICLISTENHF6324", start, end)
    assert len(listing.compact) > 400_000
    assert archivefile.listing_nbytes(listing) < 20 * len(listing.compact)
    assert archivefile.listing_nbytes(listing) <= ctx.archive_state.listings.max_item
    assert archivefile._device_listing(ctx, "ICLISTENHF6324", start, end) is listing


def test_a_listing_ending_now_is_one_cache_entry(make_sandbox, sandbox_stats):
    url = make_sandbox()  # the real clock: "now" moves between requests
    before = sandbox_stats(url).get("archive_listings_generated", 0)
    for _ in range(5):
        r = requests.get(
            f"{url}/api/archivefile/device",
            params={
                "token": SANDBOX_TOKEN,
                "deviceCode": HYDROPHONE,
                "dateFrom": "-P1D",
                "rowLimit": 10,
            },
            timeout=60,
        )
        assert r.status_code == 200 and len(r.json()["files"]) <= 10
        time.sleep(0.01)
    generated = sandbox_stats(url).get("archive_listings_generated", 0) - before
    # One entry per 5-minute step of "now" (two if the requests straddle a step), not five.
    assert generated <= 2


def _order(url: str, params: dict) -> int:
    r = requests.get(
        f"{url}/api/dataProductDelivery/request",
        params={"token": SANDBOX_TOKEN, **params},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    run = requests.get(
        f"{url}/api/dataProductDelivery/run",
        params={"token": SANDBOX_TOKEN, "dpRequestId": r.json()["dpRequestId"]},
        timeout=60,
    )
    return run.json()[0]["dpRunId"]


def _download(url: str, run_id: int, index: object) -> requests.Response:
    for _ in range(2000):  # bounded by a count of polls
        r = requests.get(
            f"{url}/api/dataProductDelivery/download",
            params={"token": SANDBOX_TOKEN, "dpRunId": run_id, "index": index},
            timeout=60,
        )
        if r.status_code != 202:
            return r
        time.sleep(0.03)
    pytest.fail("the run never completed")


@pytest.mark.parametrize(
    ("extension", "options"),
    [
        ("csv", {"dpo_qualityControl": "1", "dpo_resample": "none"}),
        ("json", {"dpo_qualityControl": "0", "dpo_resample": "none"}),
        ("csv", {"dpo_qualityControl": "1", "dpo_resample": "average", "dpo_average": "60"}),
    ],
)
def test_products_over_the_memory_limit_are_streamed_from_disk(make_sandbox, extension, options):
    now = "2024-01-01T00:00:00.000Z"
    url = make_sandbox(now=now, product_memory_bytes=1000)
    server = make_sandbox.server(url)
    start, end = "2023-06-01T00:00:00.000Z", "2023-06-01T04:00:00.000Z"
    params = {
        "deviceCode": "SBECTD19p6813",
        "dataProductCode": "TSSD",
        "extension": extension,
        "dateFrom": start,
        "dateTo": end,
        **options,
    }
    run_id = _order(url, params)
    expected = build_tssd_files(
        "SBECTD19p6813", start, end, extension, options, now=pd.Timestamp("2024-01-01")
    )
    assert expected and len(expected[0][1]) > 1000
    served = _download(url, run_id, 1)
    assert served.status_code == 200
    assert served.headers["Content-Disposition"] == f"attachment; filename={expected[0][0]}"
    assert served.content == expected[0][1]  # the same bytes as built in memory
    head = requests.head(
        f"{url}/api/dataProductDelivery/download",
        params={"token": SANDBOX_TOKEN, "dpRunId": run_id, "index": 1},
        timeout=60,
    )
    assert int(head.headers["Content-Length"]) == len(expected[0][1])
    [run] = [r for r in server.delivery._runs.values() if r.id == run_id]
    assert all(isinstance(body, FileBody) for _, body in run.files)  # on disk, not in memory
    paths = [body.path for _, body in run.files]
    assert all(p.is_file() for p in paths)
    meta = _download(url, run_id, "meta")
    assert f'size="{len(expected[0][1])}"' in meta.text
    server.stop()
    assert not any(p.exists() for p in paths)  # the temporary directory is gone


def test_truncate_fault_on_a_file_on_disk(make_sandbox):
    url = make_sandbox(now="2024-01-01", product_memory_bytes=1000)
    server = make_sandbox.server(url)
    run_id = _order(
        url,
        {
            "deviceCode": "SBECTD19p6813",
            "dataProductCode": "TSSD",
            "extension": "csv",
            "dateFrom": "2023-06-01T00:00:00.000Z",
            "dateTo": "2023-06-01T01:00:00.000Z",
            "dpo_qualityControl": "1",
            "dpo_resample": "none",
        },
    )
    whole = _download(url, run_id, 1).content
    server.faults.queue("truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _download(url, run_id, 1).content  # noqa: B018
    assert _download(url, run_id, 1).content == whole


def test_expiry_removes_the_files_from_disk(make_sandbox):
    url = make_sandbox(now="2024-01-01", product_memory_bytes=1000, product_expiry_s=0)
    server = make_sandbox.server(url)
    run_id = _order(
        url,
        {
            "deviceCode": "SBECTD19p6813",
            "dataProductCode": "TSSD",
            "extension": "csv",
            "dateFrom": "2023-06-01T00:00:00.000Z",
            "dateTo": "2023-06-01T01:00:00.000Z",
            "dpo_qualityControl": "1",
            "dpo_resample": "none",
        },
    )
    [run] = [r for r in server.delivery._runs.values() if r.id == run_id]
    run.built.wait(60)
    directory = Path(run.directory)
    assert directory.is_dir() and os.listdir(directory)
    for _ in range(200):  # bounded; expiry 0 s: gone at the first check after completion
        if _download(url, run_id, 1).status_code == 410:
            break
        time.sleep(0.01)
    assert not directory.exists()
