"""``open_events``: many windows as one lazy object with an ``event`` dimension, ready for ML."""

from __future__ import annotations

import numpy as np
import pytest

from intake_onc.client import ONCClient
from intake_onc.datasets import open_audio
from intake_onc.downloads import open_events, windows
from intake_onc.sandbox import SANDBOX_TOKEN

H = "ICLISTENHF6093"


@pytest.fixture
def client(sandbox_url, tmp_path):
    with ONCClient(token=SANDBOX_TOKEN, base_url=sandbox_url, cache_dir=tmp_path / "cache") as c:
        yield c


def test_audio_events_are_one_task_per_window_padded_with_nan(client):
    requests = [
        {"timestamp": "2024-04-01T00:10:00Z", "label": "short", "pad_seconds": 1},
        {"start": "2024-04-01T00:20:00Z", "end": "2024-04-01T00:20:05Z", "label": "long"},
    ]
    events = open_events(requests, default_device=H, client=client)
    assert events.dims == ("event", "sample")
    assert events.sizes == {"event": 2, "sample": 5 * 8000}
    assert list(events.label.values) == ["short", "long"]
    assert list(events.length.values) == [2 * 8000, 5 * 8000]
    assert str(events.start.values[0]).startswith("2024-04-01T00:09:59")
    tasks = [k for k in dict(events.__dask_graph__()) if str(k).startswith("onc-event-")]
    assert len(tasks) == 2  # one task per window, whatever the files behind it
    values = events.values
    assert np.isnan(values[0, 2 * 8000 :]).all() and not np.isnan(values[0, : 2 * 8000]).any()
    direct = open_audio(H, "2024-04-01T00:20:00Z", "2024-04-01T00:20:05Z", client=client).values
    np.testing.assert_array_equal(values[1], direct.astype(np.float32))


def test_spectrogram_and_scalar_events(client):
    spec = open_events(
        windows(H, "2024-04-01T00:00", "2024-04-01T00:03")
        + windows(H, "2024-04-01T01:00", "2024-04-01T01:02"),
        product="spectrogram",
        client=client,
    )
    assert spec.dims == ("event", "time", "frequency")
    assert list(spec.length.values) == [3, 2] and np.isnan(spec.values[1, 2]).all()
    assert str(spec.offset.values[1]) == "60000000000 nanoseconds"
    scalar = open_events(
        windows("SBECTD19p6813", "2024-04-01T00:00", "2024-04-01T00:10"),
        product="scalar",
        client=client,
        variable="temperature",
    )
    assert scalar.dims == ("event", "time") and scalar.sizes["time"] == 600


def test_events_carry_the_citation_of_every_deployment_they_come_from(client):
    events = open_events(
        windows(H, "2022-01-10T00:00", "2022-01-10T00:02")  # first deployment
        + windows(H, "2024-04-01T00:00", "2024-04-01T00:02"),  # second deployment
        product="spectrogram",
        client=client,
    )
    dois = events.attrs["doi"].split(", ")
    assert len(dois) == 2 and len(events.attrs["citation"].splitlines()) == 2
    assert events.attrs["references"] == ", ".join(f"https://doi.org/{d}" for d in dois)


def test_bad_products_and_ambiguous_sensors_are_named(client):
    with pytest.raises(ValueError, match="product='video'"):
        open_events(windows(H, "2024-04-01", "2024-04-01T00:01"), product="video", client=client)
    with pytest.raises(ValueError, match="variable"):
        open_events(
            windows("SBECTD19p6813", "2024-04-01", "2024-04-01T00:01"),
            product="scalar",
            client=client,
        )
    with pytest.raises(ValueError, match="no request found"):
        open_events([], default_device=H, client=client)
