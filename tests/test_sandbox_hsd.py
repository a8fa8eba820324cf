"""The sandbox's hydrophone spectral data: archive ``-spect.mat``/``-spect.png`` and HSD products.

Checked against an independent computation (``scipy.signal.welch`` on the decoded FLAC) and
the known hourly tone (1 kHz, HH:12:30-35). Device: the 8 kHz ``ICLISTENHF6093``.
"""

from __future__ import annotations

import io
import struct
import tempfile

import numpy as np
import pandas as pd
import pytest
import scipy.io
import soundfile as sf
from scipy import signal

from intake_onc._core.time import datenum_to_datetime64
from intake_onc.sandbox.archive import files as archive_files
from intake_onc.sandbox.archive import listing as archive_listing
from intake_onc.sandbox.encoders import spectrogram
from intake_onc.sandbox.products import hsd
from intake_onc.sandbox.synthetic import audio as synth
from intake_onc.sandbox.synthetic import spectra

DEVICE = "ICLISTENHF6093"
FS = 8000
NOW = "2026-01-01"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture(scope="module")
def tone_file():
    """(audio row, tone start) of a file holding a tone with no ship nearby."""
    events = synth.known_events(DEVICE, "2023-01-01", "2023-01-03")
    ships = [e for e in events if e["kind"] == "ship"]
    rows = archive_listing.list_archive_files(DEVICE, "2022-12-31T23:00", "2023-01-03", now=NOW)
    rows = rows[rows.kind == "audio"]
    for tone in (e for e in events if e["kind"] == "tone"):
        if any(
            s["start"] - pd.Timedelta("10min") < tone["end"]
            and tone["start"] < s["end"] + pd.Timedelta("10min")
            for s in ships
        ):
            continue
        inside = rows[(rows.start_time <= tone["start"]) & (rows.end_time >= tone["end"])]
        if len(inside):
            return inside.iloc[0], tone["start"]
    raise AssertionError("no quiet tone found")


def spect(data: bytes) -> tuple[dict, dict]:
    mat = scipy.io.loadmat(io.BytesIO(data))
    s, m = mat["SpectData"], mat["Meta"]
    return ({k: s[k][0, 0] for k in s.dtype.names}, {k: m[k][0, 0] for k in m.dtype.names})


def peak_over_neighbours(column: np.ndarray, freq: np.ndarray, f0: float) -> float:
    """dB of the bin at ``f0`` above the median of the bins 50-200 Hz away."""
    i = int(np.argmin(np.abs(freq - f0)))
    away = np.abs(freq - f0)
    return float(column[i] - np.median(column[(away > 50) & (away < 200)]))


# ----------------------------------------------------------------------------------------------
# Archive -spect.mat
# ----------------------------------------------------------------------------------------------


def test_spect_mat_layout_and_time_decoding(tone_file):
    row, _ = tone_file
    name = row.filename.replace(".flac", "-spect.mat")
    data = archive_files.archive_file_bytes(name, now=NOW)
    assert data[:10] == b"MATLAB 5.0" and len(data) == spectrogram.archive_spect_mat_size(DEVICE)
    mat = scipy.io.loadmat(io.BytesIO(data))
    psd = mat["SpectData"]["PSD"][0, 0]  # the access pattern users know
    s, meta = spect(data)
    assert set(s) == {"PSD", "frequency", "time", "processingComment"}
    assert psd.shape == (FS // 2 + 1, 5) and psd.dtype == np.float64  # rows = frequency
    freq = s["frequency"].ravel()
    assert np.array_equal(freq, np.arange(FS // 2 + 1, dtype=float))  # 1 Hz bins to Nyquist
    times = datenum_to_datetime64(s["time"].ravel())
    expected = row.start_time + pd.to_timedelta([30, 90, 150, 210, 270], unit="s")
    assert np.all(np.abs(times - expected.to_numpy()) <= np.timedelta64(1, "ms"))  # centres
    comment = str(s["processingComment"][0])
    assert "NOT divided by the bin width" in comment and "170 dB re 1 uPa" in comment
    assert str(meta["deviceCode"][0]) == DEVICE and float(meta["sampleRate"][0, 0]) == FS
    assert not bool(meta["binWidthCorrected"][0, 0]) and float(meta["binWidth"][0, 0]) == 1.0
    assert str(meta["timeReference"][0]) == "centre"
    assert 60 < np.median(psd) < 110  # dB re 1 uPa^2 per 1 Hz bin: ocean-like numbers


def test_spect_mat_matches_welch_of_the_decoded_audio(tone_file):
    row, _ = tone_file
    x, _ = sf.read(
        io.BytesIO(archive_files.archive_file_bytes(row.filename, now=NOW)), dtype="float64"
    )
    s, _ = spect(
        archive_files.archive_file_bytes(row.filename.replace(".flac", "-spect.mat"), now=NOW)
    )
    for minute in (0, 4):
        f, pxx = signal.welch(
            x[minute * 60 * FS : (minute + 1) * 60 * FS],
            FS,
            window="hann",
            nperseg=FS,
            noverlap=FS // 2,
            detrend=False,
            scaling="density",
        )
        expected = 10 * np.log10(pxx * 1.0) + synth.FULL_SCALE_DB_RE_UPA  # x bin width 1 Hz
        assert np.allclose(s["PSD"][:, minute], expected, atol=1e-3)


def test_known_tone_in_the_one_minute_spectrogram(tone_file):
    row, tone = tone_file
    s, _ = spect(
        archive_files.archive_file_bytes(row.filename.replace(".flac", "-spect.mat"), now=NOW)
    )
    freq = s["frequency"].ravel()
    column = int((tone - row.start_time) / pd.Timedelta("60s"))
    assert peak_over_neighbours(s["PSD"][:, column], freq, 1000.0) > 30
    for other in set(range(5)) - {column}:
        assert peak_over_neighbours(s["PSD"][:, other], freq, 1000.0) < 10


def test_spect_png_is_a_padded_1200x900_png():
    row = archive_listing.list_archive_files(
        DEVICE, "2023-01-01T03:00", "2023-01-01T03:05", now=NOW
    )
    png = row[row.kind == "spect_png"].iloc[0]
    data = archive_files.archive_file_bytes(png.filename, now=NOW)
    assert len(data) == png.fileSize
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 900)
    assert b"tEXtComment\x00" in data and data.endswith(b"IEND\xaeB`\x82")
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.size == (1200, 900)
    # the real rendering leaves room below the fixed size
    unpadded = spectrogram.png_bytes(spectra.file_spectrogram(DEVICE, png.start_time, 2))
    assert len(unpadded) < 0.9 * spectrogram.PNG_TARGET_BYTES


# ----------------------------------------------------------------------------------------------
# HSD products
# ----------------------------------------------------------------------------------------------

RANGE = ("2023-01-01T03:02", "2023-01-01T03:08")  # overlaps two files


def test_hsd_one_minute_is_the_archive_files():
    files = hsd.build_hsd_files(DEVICE, *RANGE, "mat", {}, now=NOW)
    rows = archive_listing.list_archive_files(DEVICE, "2023-01-01T02:57", RANGE[1], now=NOW)
    rows = rows[(rows.kind == "spect_mat") & (rows.end_time > pd.Timestamp(RANGE[0]))]
    assert [n for n, _ in files] == list(rows.filename) and len(files) == 2
    assert all(data == archive_files.archive_file_bytes(n, now=NOW) for n, data in files)
    assert hsd.hsd_file_names(DEVICE, *RANGE, "mat", {}, now=NOW) == list(rows.filename)


def test_hsd_plot_resolution(tone_file):
    row, tone = tone_file
    start = row.start_time
    options = {"dpo_spectralDataDownsample": "2"}
    ((name, data),) = hsd.build_hsd_files(
        DEVICE, start, start + pd.Timedelta("1s"), "mat", options, now=NOW
    )
    assert name == row.filename.replace(".flac", "-spect-plotRes.mat")
    s, meta = spect(data)
    psd, freq = s["PSD"], s["frequency"].ravel()
    assert psd.shape == (800, 999) and psd.shape[0] == len(freq)  # <= 1000 rows, ~1000 columns
    times = datenum_to_datetime64(s["time"].ravel())
    step = np.diff(times).astype("timedelta64[ms]").astype(int)
    assert np.all(np.abs(step - 300) <= 1)  # 0.3 s columns
    assert float(meta["binWidth"][0, 0]) == 5.0 and np.allclose(np.diff(freq), 5.0)
    # Power per bin: adding 10 log10(1/binWidth) gives the same density as the one-minute file.
    one_minute, _ = spect(
        archive_files.archive_file_bytes(row.filename.replace(".flac", "-spect.mat"), now=NOW)
    )
    band = (freq > 1500) & (freq < 3500)
    density_plot = np.median(psd[band]) - 10 * np.log10(5.0)
    density_minute = np.median(one_minute["PSD"][1500:3500])
    assert abs(density_plot - density_minute) < 1.5  # medians of chi-square-ish values
    # the tone, in the columns it covers
    col = int(np.argmin(np.abs(times - np.datetime64(tone + pd.Timedelta("2.5s")))))
    assert peak_over_neighbours(psd[:, col], freq, 1000.0) > 30


def test_hsd_full_resolution():
    start = pd.Timestamp(RANGE[0])
    ((name, data),) = hsd.build_hsd_files(
        DEVICE,
        start,
        start + pd.Timedelta("1s"),
        "mat",
        {"dpo_spectralDataDownsample": "0"},
        now=NOW,
    )
    assert name.endswith("-spect-fullRes.mat")
    s, meta = spect(data)
    assert s["PSD"].shape == (FS // 2 + 1, 599)
    step = np.diff(datenum_to_datetime64(s["time"].ravel())).astype("timedelta64[ms]").astype(int)
    assert np.all(np.abs(step - 500) <= 1) and float(meta["windowSeconds"][0, 0]) == 1.0
    assert hsd.estimate_hsd_size(
        DEVICE,
        start,
        start + pd.Timedelta("1s"),
        "mat",
        {"dpo_spectralDataDownsample": "0"},
        now=NOW,
    ) == pytest.approx(len(data), rel=0.05)


def test_hsd_concatenation_daily_and_collate():
    start, end = "2023-01-01T23:50", "2023-01-02T00:10"
    daily = hsd.build_hsd_files(
        DEVICE, start, end, "mat", {"dpo_spectrogramConcatenation": "Daily"}, now=NOW
    )
    rows = archive_listing.list_archive_files(DEVICE, "2023-01-01T23:45", end, now=NOW)
    rows = rows[(rows.kind == "audio") & (rows.end_time > pd.Timestamp(start))]
    days = rows.start_time.dt.floor("D")
    assert len(daily) == days.nunique() == 2
    for (name, data), (_, day_rows) in zip(daily, rows.groupby(days), strict=True):
        assert name == day_rows.filename.iloc[0].replace(".flac", "-spect-DAILY.mat")
        s, meta = spect(data)
        assert s["PSD"].shape == (FS // 2 + 1, 5 * len(day_rows))
        assert str(meta["concatenation"][0]) == "Daily"
        assert np.all(np.diff(s["time"].ravel()) > 0)
    ((name, data),) = hsd.build_hsd_files(
        DEVICE, start, end, "mat", {"dpo_spectrogramConcatenation": "Concatenate"}, now=NOW
    )
    assert name.endswith("-spect-COLLATE.mat")
    assert spect(data)[0]["PSD"].shape[1] == 5 * len(rows)


def test_hsd_png_products():
    start = pd.Timestamp(RANGE[0])
    end = start + pd.Timedelta("1s")
    ((name, data),) = hsd.build_hsd_files(DEVICE, start, end, "png", {}, now=NOW)
    assert name.endswith("-spect.png") and data == archive_files.archive_file_bytes(name, now=NOW)
    options = {
        "dpo_spectralDataDownsample": "2",
        "dpo_lowerColourLimit": "60",
        "dpo_upperColourLimit": "120",
        "dpo_spectrogramColourPalette": "1",
        "dpo_spectrogramFrequencyUpperLimit": "2000",
    }
    ((name, data),) = hsd.build_hsd_files(DEVICE, start, end, "png", options, now=NOW)
    assert name.endswith("-spect-plotRes.png") and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 900)
    assert hsd.estimate_hsd_size(DEVICE, start, end, "png", options, now=NOW) > 0


def test_hsd_options_are_checked():
    bad = {
        "dpo_spectralDataDownsample": {"dpo_spectralDataDownsample": "3"},
        "dpo_spectrogramConcatenation": {"dpo_spectrogramConcatenation": "Monthly"},
        "dpo_lowerColourLimit": {"dpo_lowerColourLimit": "100", "dpo_upperColourLimit": "50"},
        "extension": None,
    }
    for message, options in bad.items():
        extension = "csv" if options is None else "mat"
        with pytest.raises(ValueError, match=message):
            hsd.build_hsd_files(DEVICE, *RANGE, extension, options, now=NOW)
    assert hsd.build_hsd_files(DEVICE, "2022-07-01", "2022-07-02", "mat", {}, now=NOW) == []
