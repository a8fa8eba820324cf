"""``fetch``: the hydrophone download workflows people run today, against the sandbox.

Each scenario checks the files written, their exact durations and the folder layout
``out/<DEVICE>/<tag>_<first day>_to_<last day>/{audio, onc_spectrograms, custom_spectrograms}``.
The 8 kHz hydrophone ``ICLISTENHF6093`` keeps the files small.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.io
import soundfile as sf

from intake_onc.client import ONCClient
from intake_onc.downloads import RequestError, fetch, parse_requests, sample_windows, windows
from intake_onc.sandbox import SANDBOX_TOKEN, serve

H = "ICLISTENHF6093"  # 8 kHz, deployed 2021-03-01 – 2022-06-30 and 2022-09-01 – now
FS = 8000
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


@pytest.fixture
def client(url, tmp_path):
    with ONCClient(
        token=SANDBOX_TOKEN, base_url=url, cache_dir=tmp_path / "cache", poll_range=(0.01, 0.1)
    ) as c:
        yield c


def flac_seconds(path) -> float:
    info = sf.info(str(path))
    assert info.samplerate == FS and info.subtype == "PCM_24"
    return info.frames / FS


def files(folder, pattern="**/*"):
    return sorted(p.relative_to(folder).as_posix() for p in folder.glob(pattern) if p.is_file())


def downloads(client) -> int:
    import requests

    stats = requests.get(f"{client.base_url}/_sandbox/stats", timeout=10).json()
    return stats["paths"].get("/api/archivefile/download", 0)


def test_a_basic_range_gives_one_clip_and_one_spectrogram(client, tmp_path):
    result = fetch(
        windows(H, "2024-04-01T00:02", "2024-04-01T00:04"), out_dir=tmp_path, client=client
    )
    run = tmp_path / RUN
    assert files(run) == [
        "CITATION.bib",
        "CITATION.txt",
        "anomaly_report.txt",
        f"audio/{H}_20240401T000200.000Z.flac",
        f"onc_spectrograms/{H}_20240401T000200.000Z-spect.mat",
        "summary.json",
    ]
    assert flac_seconds(run / "audio" / f"{H}_20240401T000200.000Z.flac") == 120.0
    spect = scipy.io.loadmat(run / "onc_spectrograms" / f"{H}_20240401T000200.000Z-spect.mat")[
        "SpectData"
    ]
    assert spect["PSD"][0, 0].shape[1] == 2  # the two one-minute columns centred in the window
    summary = json.loads((run / "summary.json").read_text())
    assert summary["totals"]["files_written"] == 2 and summary["totals"]["errors"] == 0
    assert result.errors == [] and "DOI" in (run / "CITATION.txt").read_text()


def test_all_data_between_two_dates_as_onc_stores_it(client, tmp_path):
    fetch(
        windows(H, "2024-04-01T00:00", "2024-04-01T00:12"),
        products=["audio"],
        clip=False,
        out_dir=tmp_path,
        client=client,
    )
    audio = files(tmp_path / RUN / "audio")
    listed = client.archive_files(
        H, "2024-04-01T00:00", "2024-04-01T00:12", extension=("flac", "wav")
    )
    assert audio == sorted(listed["filename"])  # every archive file overlapping the 12 minutes
    assert len(audio) == 3 and all(
        sf.info(str(tmp_path / RUN / "audio" / a)).duration > 299 for a in audio
    )


def test_sampling_mode_spreads_windows_over_deployed_time(client, tmp_path):
    ws = sample_windows(H, "2022-06-30T12:00", "2022-09-01T12:00", 4, "1min", client=client)
    # the deployment gap (2022-06-30 to 2022-09-01) is skipped: every window is deployed time
    assert all(
        w.end <= pd.Timestamp("2022-06-30") or w.start >= pd.Timestamp("2022-09-01") for w in ws
    )
    assert [w.duration for w in ws] == [pd.Timedelta("1min")] * 4
    seeded = sample_windows(H, "2024-04-01", "2024-04-02", 3, "1min", seed=1, client=client)
    assert [str(w) for w in seeded] == [
        str(w)
        for w in sample_windows(H, "2024-04-01", "2024-04-02", 3, "1min", seed=1, client=client)
    ]
    starts = [w.start for w in seeded]
    assert starts == sorted(starts) and all(
        b - a >= pd.Timedelta("1min") for a, b in zip(starts, starts[1:], strict=False)
    )
    fetch(seeded, products=["audio"], out_dir=tmp_path, client=client)
    clips = sorted((tmp_path / H).glob("*/audio/*.flac"))
    assert len(clips) == 3 and all(flac_seconds(p) == 60.0 for p in clips)


def test_custom_hsd_options_order_onc_spectrograms(client, tmp_path):
    result = fetch(
        windows(H, "2024-04-01T00:00", "2024-04-01T00:05"),
        products=["spectrogram"],
        spectrogram_source="order",
        hsd_options={"downsample": 0},
        out_dir=tmp_path,
        client=client,
    )
    assert result.errors == []
    (mat,) = (tmp_path / RUN / "onc_spectrograms").glob("*.mat")
    psd = scipy.io.loadmat(mat)["SpectData"]["PSD"][0, 0]
    assert psd.shape[1] > 5  # full resolution: many columns in five minutes


def test_audio_around_event_timestamps_with_a_custom_spectrogram(client, tmp_path):
    events = [
        {
            "timestamp": "2024-04-01T00:30:00Z",
            "label": "Humpback song",
            "deviceCode": H,
            "pad_seconds": 10,
        }
    ]
    fetch(
        events,
        products=["audio"],
        out_dir=tmp_path,
        client=client,
        custom_spectrogram={"win_dur": 0.5, "freq_lims": (10, 2000)},
    )
    run = tmp_path / RUN
    stem = f"{H}_20240401T002950.000Z_humpback-song"
    assert flac_seconds(run / "audio" / f"{stem}.flac") == 20.0
    assert (run / "custom_spectrograms" / "mat" / f"{stem}-custom.mat").is_file()
    assert (run / "custom_spectrograms" / "png" / f"{stem}-custom.png").stat().st_size > 1000


def test_a_30_second_clip_centred_on_a_file_boundary_spans_two_files(client, tmp_path):
    listing = client.archive_files(H, "2024-04-01T00:04", "2024-04-01T00:07", extension="flac")
    boundary = pd.Timestamp(listing["start"].iloc[1]).tz_localize(None)
    (w,) = parse_requests(
        [{"timestamp": boundary.isoformat(), "pad_seconds": 15}], default_device=H
    )
    fetch([w], products=["audio"], out_dir=tmp_path, client=client)
    (clip,) = (tmp_path / RUN / "audio").glob("*.flac")
    assert flac_seconds(clip) == 30.0
    samples, _ = sf.read(clip)
    assert np.abs(samples[: 15 * FS]).max() > 0 and np.abs(samples[15 * FS :]).max() > 0


def test_spectrograms_and_audio_combined_for_explicit_windows_of_two_devices(client, tmp_path):
    ws = windows(H, "2024-04-01T01:00", "2024-04-01T01:01", label="one") + windows(
        "ICLISTENHF6324", "2024-04-01T01:00", "2024-04-01T01:01", label="two"
    )
    result = fetch(ws, out_dir=tmp_path, client=client)
    assert sorted(result.devices) == [H, "ICLISTENHF6324"]
    for device in result.devices:
        run = tmp_path / device / "onc_2024-04-01_to_2024-04-01"
        assert len(list((run / "audio").glob("*.flac"))) == 1
        assert len(list((run / "onc_spectrograms").glob("*.mat"))) == 1
    assert (
        sf.info(str(next((tmp_path / "ICLISTENHF6324").glob("*/audio/*.flac")))).samplerate
        == 64_000
    )


def test_json_with_padding_and_csv_input(client, tmp_path):
    request = tmp_path / "events.json"
    request.write_text(
        json.dumps(
            {
                "defaults": {"deviceCode": H, "pad_seconds": 5},
                "requests": [
                    {"timestamp": "2024-04-01T02:00:00Z", "label": "a"},
                    {"timestamp": "2024-04-01T02:10:00Z", "pad_after_seconds": 25, "label": "b"},
                ],
            }
        )
    )
    table = tmp_path / "events.csv"
    table.write_text(f"device,start,end,label\n{H},2024-04-01T03:00:00Z,2024-04-01T03:00:20Z,c\n")
    fetch(request, products=["audio"], out_dir=tmp_path / "out", client=client)
    fetch(table, products=["audio"], out_dir=tmp_path / "out", client=client)
    clips = {p.name: flac_seconds(p) for p in (tmp_path / "out" / RUN / "audio").glob("*.flac")}
    assert clips == {
        f"{H}_20240401T015955.000Z_a.flac": 10.0,
        f"{H}_20240401T020955.000Z_b.flac": 30.0,
        f"{H}_20240401T030000.000Z_c.flac": 20.0,
    }


def test_a_window_outside_every_deployment_is_reported_with_the_deployments(client, tmp_path):
    outside = windows(H, "2022-07-15T00:00", "2022-07-15T00:01")
    with pytest.raises(
        RequestError, match=r"not deployed then; its deployments: 2021-03-01.*2022-09-01"
    ):
        fetch(outside, out_dir=tmp_path, client=client)
    inside = windows(H, "2024-04-01T00:00", "2024-04-01T00:01")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fetch(
            outside + inside, products=["audio"], errors="skip", out_dir=tmp_path, client=client
        )
    report = (tmp_path / RUN / "anomaly_report.txt").read_text()
    assert "SKIPPED" in report and "2022-07-15" in report
    assert len(result.devices[H].windows) == 1


def test_a_window_straddling_a_deployment_edge_is_trimmed(client, tmp_path):
    ws = windows(H, "2022-08-31T23:59", "2022-09-01T00:01")
    with pytest.warns(UserWarning, match="trimmed"):
        result = fetch(ws, products=["audio"], out_dir=tmp_path, client=client, dry_run=True)
    assert result.devices[H].windows[0].window.startswith(f"{H} 2022-09-01T00:00:00.000Z")


def test_a_dry_run_plans_and_writes_nothing(client, tmp_path):
    before = downloads(client)
    result = fetch(
        windows(H, "2024-04-01T00:00", "2024-04-01T00:10"),
        out_dir=tmp_path / "out",
        client=client,
        dry_run=True,
    )
    assert result.dry_run and result.devices[H].estimated_bytes > 0
    assert any("audio" in line for line in result.files)
    assert not (tmp_path / "out").exists() and downloads(client) == before


def test_a_rerun_downloads_nothing_and_an_interrupted_run_resumes(client, tmp_path):
    ws = windows(H, "2024-04-01T04:00", "2024-04-01T04:01") + windows(
        H, "2024-04-01T04:10", "2024-04-01T04:11"
    )
    first = fetch(ws, out_dir=tmp_path, client=client)
    written = sorted(first.files)
    before = downloads(client)
    again = fetch(ws, out_dir=tmp_path, client=client)
    assert downloads(client) == before and sorted(again.files) == written
    assert all(not w.files for w in again.devices[H].windows)  # nothing rewritten
    # an interrupted run: one clip never finished (only its temporary file is there)
    victim = tmp_path / RUN / "audio" / f"{H}_20240401T041000.000Z.flac"
    victim.rename(victim.with_name(victim.name + ".part"))
    resumed = fetch(ws, out_dir=tmp_path, client=client)
    assert [p for w in resumed.devices[H].windows for p in w.files] == [str(victim)]
    assert flac_seconds(victim) == 60.0


def test_bad_arguments_are_named(client, tmp_path):
    ws = windows(H, "2024-04-01T00:00", "2024-04-01T00:01")
    with pytest.raises(ValueError, match="products="):
        fetch(ws, products="audio", out_dir=tmp_path, client=client)
    with pytest.raises(ValueError, match="spectrogram_source="):
        fetch(ws, spectrogram_source="cloud", out_dir=tmp_path, client=client)
