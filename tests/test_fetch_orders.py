"""``fetch(..., spectrogram_source="order")``: HSD orders batched, staggered, polled, retried,
estimated in dry runs, and recorded in ``summary.json``; citations in folders and datasets."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import requests
import scipy.io

from intake_onc.client import ONCClient
from intake_onc.downloads import fetch
from intake_onc.downloads.orders import group_windows
from intake_onc.downloads.window import Window
from intake_onc.sandbox import SANDBOX_TOKEN, serve

H = "ICLISTENHF6093"  # 8 kHz
RUN = f"{H}/onc_2024-04-01_to_2024-04-01"


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("INTAKE_ONC_SANDBOX_CACHE", str(tmp_path_factory.mktemp("sandbox-files")))
    try:
        with serve(port=0, processing_scale=0.005) as base:
            yield base
    finally:
        mp.undo()


def make_client(url, tmp_path, **kw):
    return ONCClient(
        token=SANDBOX_TOKEN,
        base_url=url,
        cache_dir=tmp_path / "cache",
        poll_range=(0.01, 0.1),
        **kw,
    )


@pytest.fixture
def client(url, tmp_path):
    with make_client(url, tmp_path) as c:
        yield c


def calls(url: str, path: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return stats["paths"].get(path, 0)


def events(minutes) -> list[Window]:
    return [
        Window(
            H,
            f"2024-04-01T{m // 60:02d}:{m % 60:02d}",
            f"2024-04-01T{m // 60:02d}:{m % 60 + 1:02d}",
        )
        for m in minutes
    ]


# -- grouping -----------------------------------------------------------------------------------


def test_close_windows_share_an_order_and_distant_ones_get_their_own():
    ws = events([0, 2, 7, 40, 41, 200])
    assert [[str(w.start.time()) for w in g] for g in group_windows(ws, 2)] == [
        ["00:00:00", "00:02:00", "00:07:00"],
        ["00:40:00", "00:41:00"],
        ["03:20:00"],
    ]
    assert [len(g) for g in group_windows(ws, 1)] == [2, 1, 2, 1]
    assert [len(g) for g in group_windows(ws, 100)] == [6]


def test_a_window_longer_than_an_order_is_an_order_of_its_own():
    long = Window(H, "2024-04-01T00:00", "2024-04-01T02:00")
    after = Window(H, "2024-04-01T02:00", "2024-04-01T02:01")
    assert [len(g) for g in group_windows([after, long], 1)] == [1, 1]


@pytest.mark.parametrize("bad", [0, -3, 1.5, "12", True])
def test_spectrograms_per_order_must_be_a_positive_whole_number(bad):
    with pytest.raises((TypeError, ValueError), match="spectrograms_per_order"):
        group_windows(events([0]), bad)


# -- running orders -----------------------------------------------------------------------------


def test_windows_are_cut_from_batched_orders_recorded_in_the_summary(client, url, tmp_path):
    before = calls(url, "/api/dataProductDelivery/request")
    result = fetch(
        events([0, 3, 30]),
        products=["spectrogram"],
        spectrogram_source="order",
        hsd_options={"downsample": 0},
        spectrograms_per_order=2,
        stagger_seconds=0.01,
        poll_seconds=0.02,
        out_dir=tmp_path / "out",
        client=client,
    )
    assert result.errors == []
    orders = result.devices[H].orders
    assert [len(o.windows) for o in orders] == [2, 1]
    assert calls(url, "/api/dataProductDelivery/request") - before == 2
    for o in orders:
        assert o.status == "complete" and o.request_id and o.run_ids and o.files >= 1
        assert o.estimated_bytes and o.estimated_seconds
    summary = json.loads((tmp_path / "out" / RUN / "summary.json").read_text())
    assert [o["request_id"] for o in summary["device"]["orders"]] == [o.request_id for o in orders]
    mats = sorted((tmp_path / "out" / RUN / "onc_spectrograms").glob("*.mat"))
    assert len(mats) == 3
    for mat, minute in zip(mats, (0, 3, 30), strict=True):
        spect = scipy.io.loadmat(mat)["SpectData"]
        times = pd.to_datetime((spect["time"][0, 0].ravel() - 719529) * 86400, unit="s").round("ms")
        start = pd.Timestamp(f"2024-04-01T00:{minute:02d}")
        # full resolution: many columns, every centre inside the one-minute window
        assert len(times) > 10
        assert times.min() >= start and times.max() < start + pd.Timedelta("1min")


def test_each_order_polls_at_the_pace_asked(client, tmp_path):
    from intake_onc.downloads.orders import SpectrogramOrders

    orders = SpectrogramOrders(
        client,
        {H: events([0])},
        hsd_options=None,
        spectrograms_per_order=12,
        poll_seconds=7.5,
    )
    assert [o.poll_period for o in orders.orders] == [7.5]
    params = orders.orders[0].params
    # every option the cutting depends on is sent, not left to ONC's defaults
    assert params["dpo_spectrogramConcatenation"] == "None"
    assert params["dpo_hydrophoneChannel"] == "H1"
    assert str(params["dpo_spectralDataDownsample"]) == "1"


def queue_faults(url: str, *kinds: str) -> None:
    requests.post(
        f"{url}/_sandbox/faults",
        params={"queue": ",".join(kinds), "token": SANDBOX_TOKEN},
        timeout=10,
    )


def test_a_failed_order_is_submitted_again_up_to_max_attempts(url, tmp_path):
    from intake_onc.downloads.orders import SpectrogramOrders

    with make_client(url, tmp_path, retries=0) as c:  # no HTTP retry: the order must retry
        ws = events([50])
        orders = SpectrogramOrders(
            c, {H: ws}, hsd_options=None, spectrograms_per_order=12, poll_seconds=None
        )
        queue_faults(url, "500")  # the first submission fails
        orders.run(workers=1, stagger_seconds=0, max_attempts=2, progress=False)
        (report,) = orders.reports[H]
        assert report.status == "complete" and report.attempts == 2
        assert orders.spectrogram(ws[0]).sizes["time"] == 1  # one one-minute column

        ws = events([55])
        orders = SpectrogramOrders(
            c, {H: ws}, hsd_options=None, spectrograms_per_order=12, poll_seconds=None
        )
        queue_faults(url, "500", "500")  # both submissions fail
        orders.run(workers=1, stagger_seconds=0, max_attempts=2, progress=False)
        (report,) = orders.reports[H]
        assert report.status == "failed" and "ServerError" in report.error
        with pytest.raises(RuntimeError, match=r"its HSD order .* failed: ServerError"):
            orders.spectrogram(ws[0])


def test_fetch_passes_its_run_options_to_the_orders_and_reports_failures(
    client, url, tmp_path, monkeypatch
):
    seen = {}
    real = client.order_many

    def failing_order_many(orders, **kw):
        seen.update(kw)
        return real(orders, **{**kw, "max_attempts": 1})

    monkeypatch.setattr(client, "order_many", failing_order_many)
    monkeypatch.setattr(client, "retries", 0, raising=False)
    result = fetch(
        events([70]),
        products=["spectrogram"],
        spectrogram_source="order",
        workers=3,
        stagger_seconds=0.25,
        max_attempts=5,
        hsd_options={"dpo_hydrophoneChannel": "bogus"},  # ONC refuses the order
        out_dir=tmp_path,
        client=client,
    )
    assert seen["workers"] == 3 and seen["stagger"] == 0.25 and seen["max_attempts"] == 5
    (order,) = result.devices[H].orders
    assert order.status == "failed" and order.error
    (error,) = result.errors
    assert "HSD order" in error
    assert "HSD order" in (tmp_path / RUN / "anomaly_report.txt").read_text()


def test_a_rerun_orders_nothing(client, url, tmp_path):
    kw = dict(
        products=["spectrogram"],
        spectrogram_source="order",
        out_dir=tmp_path / "out",
        client=client,
    )
    fetch(events([90, 92]), **kw)
    before = calls(url, "/api/dataProductDelivery/request")
    again = fetch(events([90, 92]), **kw)
    assert calls(url, "/api/dataProductDelivery/request") == before
    assert again.devices[H].orders == [] and again.errors == []


def test_a_dry_run_gives_onc_estimates_and_runs_nothing(client, url, tmp_path):
    before_run = calls(url, "/api/dataProductDelivery/run")
    result = fetch(
        events([120, 122, 300]),
        products=["spectrogram", "audio"],
        spectrogram_source="order",
        hsd_options={"downsample": 2},
        spectrograms_per_order=2,
        out_dir=tmp_path / "out",
        client=client,
        dry_run=True,
    )
    report = result.devices[H]
    assert [o.status for o in report.orders] == ["requested", "requested"]
    assert all(o.estimated_seconds > 0 and o.estimated_bytes > 0 for o in report.orders)
    assert report.estimated_seconds == pytest.approx(
        sum(o.estimated_seconds for o in report.orders)
    )
    plan = "\n".join(result.files)
    assert plan.count("HSD order") == 2 and "ONC estimates" in plan and "audio" in plan
    assert calls(url, "/api/dataProductDelivery/run") == before_run
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("stagger_seconds", -1),
        ("max_attempts", 0),
        ("poll_seconds", 0),
        ("workers", 0),
        ("spectrograms_per_order", 0),
    ],
)
def test_bad_run_options_are_named_before_anything_is_sent(client, url, tmp_path, option, value):
    before = calls(url, "/api/dataProductDelivery/request")
    with pytest.raises((TypeError, ValueError), match=option):
        fetch(
            events([0]),
            spectrogram_source="order",
            out_dir=tmp_path,
            client=client,
            **{option: value},
        )
    assert calls(url, "/api/dataProductDelivery/request") == before


def test_a_concatenating_hsd_option_is_refused(client, tmp_path):
    with pytest.raises(ValueError, match="dpo_spectrogramConcatenation"):
        fetch(
            events([0]),
            spectrogram_source="order",
            hsd_options={"dpo_spectrogramConcatenation": "Daily"},
            out_dir=tmp_path,
            client=client,
        )


# -- citations ----------------------------------------------------------------------------------


def test_the_citation_goes_into_the_folder_and_the_datasets(client, tmp_path):
    from intake_onc.datasets import open_audio, open_spectrogram

    fetch(events([10]), products=["audio"], out_dir=tmp_path, client=client)
    text = (tmp_path / RUN / "CITATION.txt").read_text()
    doi = re.search(r"DOI: (\S+)", text).group(1)
    bib = (tmp_path / RUN / "CITATION.bib").read_text()
    assert bib.startswith("@misc{onc_") and f"doi = {{{doi}}}" in bib
    assert re.search(r"title = \{[^}]*Hydrophone[^}]*Deployed \d{4}-\d\d-\d\d\}", bib)
    assert re.search(r"year = \{20\d\d\}", bib)
    audio = open_audio(H, "2024-04-01T00:10", "2024-04-01T00:11", client=client)
    spec = open_spectrogram(H, "2024-04-01T00:10", "2024-04-01T00:20", client=client)
    for ds in (audio, spec):
        assert ds.attrs["doi"] == doi
        assert ds.attrs["references"] == f"https://doi.org/{doi}"
        assert ds.attrs["citation"].splitlines()[0] == text.splitlines()[0]
    assert np.isfinite(spec.values).all()


def test_the_deployment_check_and_the_citation_share_one_request(client, url, tmp_path):
    before = calls(url, "/api/deployments")
    result = fetch(events([0, 5]), products=["audio"], out_dir=tmp_path / "out", client=client)
    assert result.errors == []
    assert "doi" in result.devices[H].citation
    # one for the device (check and citation), one per window (open_audio checks its window)
    assert calls(url, "/api/deployments") - before == 1 + 2
