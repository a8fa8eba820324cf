"""``open_audio`` / ``open_spectrogram``: remote hydrophone data, lazy (issue #5, remote half).

Ground truth comes from the sandbox module itself (the other side of the wire): the listing
(:func:`intake_onc.sandbox.archive.listing.list_archive_files`: jittered starts, the odd missing slot) and
the known hourly tone (:func:`intake_onc.sandbox.synthetic.audio.known_events`: ``min(1000, fs/4)`` Hz at
HH:12:30 for 5 s). The tests use the 8 kHz ``ICLISTENHF6093`` on 2023-01-01 (files start near
HH:M0:00 ± 2 s; the 02:00 slot has no file; the 00:10 file overlaps the 00:15 one by 1.2 s) and,
for the WAV era, the 16 kHz ``ICLISTENHF6020`` in January 2020.

The module runs its own sandbox, whose generated-file disk cache is redirected to a temporary
folder (``INTAKE_ONC_SANDBOX_CACHE``) so the test leaves nothing behind.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pandas as pd
import pytest
import requests
import soundfile as sf
import xarray as xr

import intake_onc.sandbox.archive.listing as sandbox_listing
import intake_onc.sandbox.synthetic.audio as sandbox_audio
from intake_onc.acoustics.clips import coverage
from intake_onc.acoustics.spectrogram import spectrogram
from intake_onc.acoustics.windows import open_audio_files
from intake_onc.client import NotDeployedError, ONCClient
from intake_onc.datasets import _hydrophone_io as hio
from intake_onc.datasets import hydrophone, open_audio, open_spectrogram
from intake_onc.sandbox import SANDBOX_TOKEN, serve

DEVICE = "ICLISTENHF6093"
FS = 8000
DAY = "2023-01-01"


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("sandbox-files")
    mp.setenv("INTAKE_ONC_SANDBOX_CACHE", str(folder))
    try:
        with serve(port=0, processing_scale=0) as base:
            yield base
    finally:
        mp.undo()


@pytest.fixture
def client(url, tmp_path):
    hio._PROBED.clear()  # each test sees a cold process memo of probed headers
    with ONCClient(
        token=SANDBOX_TOKEN, base_url=url, cache_dir=tmp_path / "cache", poll_range=(0.01, 0.1)
    ) as c:
        yield c


def stats(url: str) -> dict:
    return requests.get(f"{url}/_sandbox/stats", timeout=30).json()


def downloads(url: str) -> int:
    return stats(url)["paths"].get("/api/archivefile/download", 0)


def audio_files(device: str, start: str, end: str) -> pd.DataFrame:
    table = sandbox_listing.list_archive_files(device, start, end)
    return table[table["kind"] == "audio"].reset_index(drop=True)


def tone(device: str, start: str, end: str) -> dict:
    return next(e for e in sandbox_audio.known_events(device, start, end) if e["kind"] == "tone")


def band_rms(x: np.ndarray, fs: int, freq: float, seconds: float = 1.0) -> np.ndarray:
    """RMS in a ±20 Hz band around ``freq`` per ``seconds`` block (FFT)."""
    n = int(seconds * fs)
    blocks = x[: len(x) // n * n].reshape(-1, n)
    spec = np.abs(np.fft.rfft(blocks, axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1 / fs)
    band = (f > freq - 20) & (f < freq + 20)
    return np.sqrt(spec[:, band].sum(axis=1)) / n


# --- the window: exact samples, files placed by their own start times --------------------------


def test_exact_sample_count_across_jittered_files(client):
    start, end = f"{DAY}T00:08:00.000125Z", f"{DAY}T00:16:30Z"
    audio = open_audio(DEVICE, start, end, client=client)
    assert audio.dtype == np.float32 and audio.dims == ("time",)
    assert audio.sizes["time"] == (8 * 60 + 30) * FS - 1  # [start, end) to the sample
    assert audio.attrs["start_time"] == "2023-01-01T00:08:00.000125Z"
    assert audio.attrs["sample_rate"] == FS and audio.attrs["bit_depth"] == 24
    assert audio.attrs["device_code"] == DEVICE and audio.attrs["location_code"] == "CBCH.H3"
    assert audio.attrs["units"] == "1" and audio.attrs["source"] == "archive"
    truth = audio_files(DEVICE, f"{DAY}T00:00", f"{DAY}T00:20")
    placed = coverage(audio, by="file")
    assert list(placed["file"]) == list(truth["filename"][:3])
    first = placed["file_start"].to_numpy()
    np.testing.assert_array_equal(first, truth["start_time"][:3].to_numpy())
    gaps = coverage(audio, by="gap")  # the 2.552 s between the 00:05 and 00:10 files
    assert len(gaps) == 1 and gaps["samples"].iat[0] == round(2.552 * FS)
    values = audio.values
    assert np.isnan(values).sum() == gaps["samples"].iat[0]
    assert np.nanmax(np.abs(values)) < 1


def test_remote_equals_local_files_and_chunking_does_not_matter(client):
    start, end = f"{DAY}T00:13:00Z", f"{DAY}T00:21:00Z"  # the 1.2 s overlap at 00:15:00
    remote = open_audio(DEVICE, start, end, client=client)
    by_seconds = open_audio(DEVICE, start, end, chunk=70, client=client)
    assert by_seconds.data.chunks[0][0] == 70 * FS
    names = coverage(remote, by="file")["file"]
    local = open_audio_files([client.download(n) for n in names], start, end)
    r, s, lo = remote.values, by_seconds.values, local.values
    np.testing.assert_array_equal(r, lo)
    np.testing.assert_array_equal(r, s)
    assert remote.attrs["coverage_seconds"] == local.attrs["coverage_seconds"]
    # the overlap keeps the earlier (00:10:01.315) file's samples
    placed = coverage(remote, by="file")
    assert (
        placed["end"].iat[0]
        == placed["first_sample"].iat[1]
        == pd.Timestamp("2023-01-01T00:15:01.315")
    )
    assert placed["file_start"].iat[1] == pd.Timestamp("2023-01-01T00:15:00.106")


def test_missing_slot_is_nan_and_reported(client):
    truth = audio_files(DEVICE, f"{DAY}T01:50", f"{DAY}T02:10")
    gap_at = truth["start_time"].diff().dt.total_seconds().idxmax()
    before, after = truth.iloc[gap_at - 1], truth.iloc[gap_at]
    audio = open_audio(DEVICE, f"{DAY}T01:58Z", f"{DAY}T02:06Z", client=client)
    gaps = coverage(audio, by="gap")
    assert len(gaps) == 1
    assert gaps["start"].iat[0] == before["end_time"] and gaps["end"].iat[0] == after["start_time"]
    values = audio.values
    expected = round((after["start_time"] - before["end_time"]).total_seconds() * FS)
    assert np.isnan(values).sum() == expected > 290 * FS
    by_minute = coverage(audio, by="minute")
    assert by_minute["fraction"].min() == 0 and by_minute["fraction"].max() == 1


def test_window_inside_a_missing_file(client):
    start, end = f"{DAY}T02:01Z", f"{DAY}T02:02Z"
    with pytest.raises(ValueError, match="sample_rate="):
        open_audio(DEVICE, start, end, client=client)
    audio = open_audio(DEVICE, start, end, sample_rate=FS, client=client)
    assert audio.sizes["time"] == 60 * FS and audio.attrs["coverage_seconds"] == 0
    assert np.isnan(audio.values).all()


# --- the known tone, in audio and in both kinds of spectrogram ---------------------------------


def test_tone_at_the_right_time_and_frequency_in_audio_and_its_spectrogram(client):
    start = f"{DAY}T03:12:00Z"
    event = tone(DEVICE, start, f"{DAY}T03:13Z")
    assert event["start"] == pd.Timestamp(f"{DAY}T03:12:30") and event["f_low"] == 1000
    audio = open_audio(DEVICE, start, f"{DAY}T03:13:00Z", client=client)
    rms = band_rms(audio.values, FS, 1000)
    loud = np.flatnonzero(rms > 10 * np.median(rms))
    assert list(loud) == [30, 31, 32, 33, 34]  # seconds 30..35 of the window: 12:30–12:35
    peak = np.fft.rfft(audio.values[32 * FS : 33 * FS])
    assert np.argmax(np.abs(peak)) == 1000  # 1 Hz bins

    spec = spectrogram(audio, win_dur=0.5, freq_lims=(0, 2000))
    assert hasattr(spec.data, "dask")
    line = spec.sel(frequency=1000).compute()
    hot = line.time[line > float(line.median()) + 20].values
    assert hot.min() >= np.datetime64("2023-01-01T03:12:29.75")
    assert hot.max() <= np.datetime64("2023-01-01T03:12:35.25")
    frame = spec.sel(time="2023-01-01T03:12:32", method="nearest").compute()
    assert float(frame.idxmax("frequency")) == 1000


def test_tone_in_the_one_minute_archive_spectrogram(client, url):
    before = downloads(url)
    psd = open_spectrogram(DEVICE, f"{DAY}T03:00Z", f"{DAY}T04:00Z", client=client)
    assert downloads(url) == before + 1  # the one file read at open (documented)
    assert psd.dims == ("time", "frequency") and hasattr(psd.data, "dask")
    assert psd.sizes["time"] == 60 and psd.sizes["frequency"] == FS // 2 + 1
    assert psd.data.chunks[0] == (5,) * 12
    a = psd.attrs
    assert (a["source"], a["downsample"], a["device_code"]) == ("archive", 1, DEVICE)
    assert a["resolution"].startswith("one-minute averages: columns every 60 s")
    assert a["bin_width_correction"] == "not applied" and a["units"] == "dB"
    assert psd["frequency"].attrs["standard_name"] == "sound_frequency"
    line = psd.sel(frequency=1000).compute()
    hottest = pd.Timestamp(line.idxmax("time").values)
    assert hottest.floor("min") == pd.Timestamp(f"{DAY}T03:12")  # the minute holding 12:30
    assert float(line.max()) > float(line.median()) + 30
    assert downloads(url) == before + 12
    assert int(psd.sel(time=hottest).idxmax("frequency")) == 1000


def test_product_spectrograms_and_bin_width_correction(client, url):
    start, end = f"{DAY}T03:11Z", f"{DAY}T03:14Z"  # a whale call crosses 1 kHz at 03:10:41
    plot = open_spectrogram(DEVICE, start, end, downsample=2, client=client)
    assert plot.attrs["source"] == "product" and plot.attrs["downsample"] == 2
    assert plot.attrs["resolution"].startswith("plot resolution")
    assert plot.time.values.min() >= np.datetime64("2023-01-01T03:11")
    assert plot.time.values.max() < np.datetime64("2023-01-01T03:14")
    assert np.all(np.diff(plot.time.values) > np.timedelta64(0))
    line = plot.sel(frequency=1000, method="nearest").compute()
    hot = line.time[line > float(line.median()) + 20].values
    assert (
        np.datetime64("2023-01-01T03:12:29")
        <= hot.min()
        < hot.max()
        <= np.datetime64("2023-01-01T03:12:36")
    )
    orders = stats(url)["paths"].get("/api/dataProductDelivery/request", 0)
    density = open_spectrogram(
        DEVICE, start, end, downsample=2, bin_width_correction=True, client=client
    )
    assert stats(url)["paths"].get("/api/dataProductDelivery/request", 0) == orders  # cache
    assert density.attrs["bin_width_correction"] == "applied"
    width = plot.attrs["bin_width_hz"]
    np.testing.assert_allclose((density - plot).values, 10 * np.log10(1 / width))

    archive = open_spectrogram(DEVICE, start, end, client=client).compute()
    product = open_spectrogram(DEVICE, start, end, source="product", client=client).compute()
    xr.testing.assert_equal(archive, product)
    assert product.attrs["source"] == "product"


# --- laziness, cache, pickling, distributed ----------------------------------------------------


def test_nothing_downloaded_until_compute_then_cached(client, url):
    start, end = f"{DAY}T05:03Z", f"{DAY}T05:17Z"  # four files
    before = downloads(url)
    audio = open_audio(DEVICE, start, end, sample_rate=FS, client=client)
    assert downloads(url) == before  # the listing alone
    assert not list(client.cache.root.rglob("*.flac"))
    probed = open_audio(DEVICE, start, end, client=client)
    assert downloads(url) == before + 1  # one header probe: 64 KiB read, nothing stored
    assert probed.attrs["sample_rate_from"].startswith("header of ICLISTENHF6093_20230101T050")
    assert not list(client.cache.root.rglob("*.flac"))
    first = audio.compute()
    assert len(coverage(audio, by="file")) == 4
    assert downloads(url) == before + 1 + 4
    assert len(list(client.cache.root.rglob("*.flac"))) == 4
    again = probed.compute()
    assert downloads(url) == before + 5  # recompute: the cache
    xr.testing.assert_identical(first.drop_attrs(), again.drop_attrs())
    hio._PROBED.clear()  # a new process: the header is read from the cached file
    assert open_audio(DEVICE, start, end, client=client).attrs["sample_rate"] == FS
    assert downloads(url) == before + 5


def test_pickles_and_a_distributed_cluster_computes_the_same(client):
    distributed = pytest.importorskip("distributed")
    audio = open_audio(DEVICE, f"{DAY}T06:09Z", f"{DAY}T06:11Z", chunk=30, client=client)
    psd = open_spectrogram(DEVICE, f"{DAY}T06:05Z", f"{DAY}T06:15Z", client=client)
    shown = str(dict(audio.__dask_graph__())) + str(dict(psd.__dask_graph__()))
    assert SANDBOX_TOKEN not in shown + repr(audio) + repr(psd)
    expected, expected_psd = audio.compute(scheduler="sync"), psd.compute(scheduler="sync")
    xr.testing.assert_identical(pickle.loads(pickle.dumps(audio)).compute(), expected)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        xr.testing.assert_identical(audio.compute(), expected)
        xr.testing.assert_identical(psd.compute(), expected_psd)


# --- WAV era, rate changes ---------------------------------------------------------------------


def test_wav_era_of_the_16_khz_hydrophone(client):
    start, end = "2020-01-15T00:12:00Z", "2020-01-15T00:13:00Z"
    audio = open_audio("ICLISTENHF6020", start, end, client=client)
    assert audio.attrs["sample_rate"] == 16000 and audio.attrs["bit_depth"] == 24
    names = list(coverage(audio, by="file")["file"])
    assert names and all(n.endswith(".wav") for n in names)
    local = open_audio_files([client.download(n) for n in names], start, end)
    np.testing.assert_array_equal(audio.values, local.values)
    rms = band_rms(audio.values, 16000, 1000)
    assert list(np.flatnonzero(rms > 10 * np.median(rms))) == [30, 31, 32, 33, 34]


def test_formats_mix_when_the_rate_stays(client):
    audio = open_audio("ICLISTENHF6020", "2020-08-09T23:58Z", "2020-08-10T00:07Z", client=client)
    exts = {n.rsplit(".", 1)[-1] for n in coverage(audio, by="file")["file"]}
    assert exts == {"wav", "flac"}
    assert np.isfinite(audio.values).mean() > 0.98


def test_a_sample_rate_change_asks_for_two_windows(client, monkeypatch):
    real = hio.probe_audio_header

    def fake(client, name):  # pretend the FLAC files of 6020 are 32 kHz
        header, where = real(client, name)
        return (header._replace(sample_rate=32000) if name.endswith(".flac") else header), where

    monkeypatch.setattr(hydrophone, "probe_audio_header", fake)
    with pytest.raises(ValueError, match=r"16000 Hz, then 32000 Hz.*open two windows"):
        open_audio("ICLISTENHF6020", "2020-08-09T23:58Z", "2020-08-10T00:07Z", client=client)
    monkeypatch.undo()
    wrong = open_audio(DEVICE, f"{DAY}T00:12Z", f"{DAY}T00:13Z", sample_rate=16000, client=client)
    with pytest.raises(ValueError, match="sample_rate=16000 disagrees with the header.*8000 Hz"):
        wrong.compute()  # the argument is wrong, not the range


# --- errors ------------------------------------------------------------------------------------


def test_not_deployed_lists_the_deployments(client):
    with pytest.raises(NotDeployedError) as info:
        open_audio(DEVICE, "2022-07-01", "2022-07-01T00:10", client=client)
    assert "2022-09-01 – ongoing" in str(info.value)
    with pytest.raises(NotDeployedError):
        open_spectrogram(DEVICE, "2022-07-01", "2022-07-01T00:10", client=client)


@pytest.mark.parametrize(
    "device, match",
    [("SBECTD19p6813", "is a CTD, not a HYDROPHONE"), ("NOSUCHDEVICE1", "does not know")],
)
def test_device_must_be_a_hydrophone(client, device, match):
    for opener in (open_audio, open_spectrogram):
        with pytest.raises(ValueError, match=match):
            opener(device, f"{DAY}T00:00", f"{DAY}T00:10", client=client)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"chunk": "10"}, "chunk: expected 'file'.*write '10s'"),  # "10s" is a duration
        ({"chunk": -5}, "chunk: expected 'file' or a positive"),
        ({"chunk": True}, "chunk"),
        ({"end": f"{DAY}T00:00Z"}, "end: .* is not after start"),
        ({"end": "2022-12-31"}, "is not after start"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"device_code": ""}, "device_code"),
        ({"start": "2200-01-01", "end": "2200-01-02"}, "in the future"),
    ],
)
def test_bad_audio_arguments_fail_before_any_request(client, url, kwargs, match):
    args = {"device_code": DEVICE, "start": f"{DAY}T00:00Z", "end": f"{DAY}T00:10Z"} | kwargs
    before = stats(url)["requests"]
    with pytest.raises(ValueError, match=match):
        open_audio(client=client, **args)
    assert stats(url)["requests"] == before  # (the stats requests are not counted)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"downsample": 3}, "downsample: expected 1"),
        ({"downsample": True}, "downsample"),
        ({"downsample": 2, "source": "archive"}, "use source='product'"),
        ({"source": "ftp"}, "source: expected"),
        ({"bin_width_correction": "yes"}, "bin_width_correction"),
        ({"source": "product", "dpo_spectrogramConcatenation": "Daily"}, "one MAT file per"),
    ],
)
def test_bad_spectrogram_arguments(client, kwargs, match):
    with pytest.raises(ValueError, match=match):
        open_spectrogram(DEVICE, f"{DAY}T00:00Z", f"{DAY}T00:10Z", client=client, **kwargs)
    with pytest.raises(TypeError, match="source='product' only"):
        open_spectrogram(DEVICE, f"{DAY}T00:00Z", f"{DAY}T00:10Z", client=client, dpo_x=1)


# --- pieces, without a server ------------------------------------------------------------------


@pytest.mark.parametrize("fmt, subtype", [("FLAC", "PCM_24"), ("WAV", "PCM_16"), ("WAV", "PCM_24")])
def test_parse_audio_header_from_the_first_bytes(fmt, subtype):
    buf = io.BytesIO()
    sf.write(buf, np.zeros(12345, "float32"), 16000, format=fmt, subtype=subtype)
    head = buf.getvalue()[:4096]
    header = hio.parse_audio_header(head)
    assert (header.sample_rate, header.channels, header.n_frames) == (16000, 1, 12345)
    assert header.bit_depth == int(subtype[-2:]) and header.format == fmt
    if fmt == "FLAC":  # an ID3v2 tag in front
        tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 20]) + bytes(20)
        assert hio.parse_audio_header(tag + head) == header
    with pytest.raises(ValueError, match="not a FLAC or WAV"):
        hio.parse_audio_header(b"OggS" + bytes(100))


def test_mat_columns_check_the_frequency_axis_and_fill_missing_columns(tmp_path):
    from intake_onc.acoustics.hsd import write_hsd_mat

    times = pd.date_range("2023-01-01T00:00:30", periods=4, freq="60s").as_unit("ns")
    psd = xr.DataArray(
        np.arange(12.0).reshape(4, 3),
        dims=("time", "frequency"),
        coords={"time": times, "frequency": [0.0, 1.0, 2.0]},
    )
    path = write_hsd_mat(psd, tmp_path / "ICLISTENHF6093_20230101T000000.000Z-spect.mat")
    axis, text = hio.frequency_fingerprint(np.arange(3.0)), hio.axis_text(np.arange(3.0))
    want = np.concatenate([times.asi8[[0, 2]], [times.asi8[3] + 40 * 10**9]])
    got = hio.read_mat_columns(hio.local_path, str(path), want, 30 * 10**9, axis, text, False, 1)
    np.testing.assert_array_equal(got[:2], psd.values[[0, 2]])
    assert np.isnan(got[2]).all()
    other = hio.frequency_fingerprint(np.arange(4.0))
    with pytest.raises(ValueError, match=r"frequency axis \(3 bins, 0–2 Hz\) differs"):
        hio.read_mat_columns(hio.local_path, str(path), want, 1, other, "4 bins", False, 1)


def test_no_download_at_open_once_the_deployment_rate_is_known(client, url):
    start, end = "2023-01-01T05:00:00Z", "2023-01-01T05:10:00Z"
    first = open_audio(DEVICE, start, end, client=client)  # reads one header (64 KiB), remembers
    assert first.attrs["sample_rate_from"].startswith("header of")
    hio._PROBED.clear()  # a new process: only the cache folder is left
    before = downloads(url)
    again = open_audio(DEVICE, "2023-01-01T06:00:00Z", "2023-01-01T06:10:00Z", client=client)
    assert downloads(url) == before  # the rate of that deployment is remembered on disk
    assert "remembered for its deployment" in again.attrs["sample_rate_from"]
    assert again.attrs["sample_rate"] == first.attrs["sample_rate"]
    remembered = client.cache.header_path(client._core.host_key, DEVICE)
    assert remembered.is_file() and "sample_rate" in remembered.read_text()


def test_audio_selects_by_time_like_the_spectrogram(client):
    audio = open_audio(DEVICE, "2023-01-01T05:00:00Z", "2023-01-01T05:10:00Z", client=client)
    rate = audio.attrs["sample_rate"]
    # partial date strings select their whole period, as pandas does: two whole seconds
    seconds = audio.sel(time=slice("2023-01-01T05:03:00", "2023-01-01T05:03:01"))
    assert seconds.sizes["time"] == 2 * rate
    exact = slice(
        np.datetime64("2023-01-01T05:03:00", "ns"), np.datetime64("2023-01-01T05:03:01", "ns")
    )
    assert audio.sel(time=exact).sizes["time"] == rate + 1  # both ends included
    t = np.datetime64("2023-01-01T05:04:00.0000001")
    nearest = audio.sel(time=t, method="nearest")
    assert abs(nearest.time.values - t) <= np.timedelta64(10**9 // rate, "ns")
