"""The sandbox's hydrophone audio: archive listing, file bytes, the synthetic signal, AD products.

Mostly the 8 kHz ``ICLISTENHF6093`` (deployed 2021-03-01 – 2022-06-30 and 2022-09-01 – now).
Every test gets its own cache folder (``tempfile.tempdir`` points into ``tmp_path``).
"""

from __future__ import annotations

import io
import re
import tempfile

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from intake_onc._core.time import parse_filename_timestamp
from intake_onc.sandbox.archive import files as archive_files
from intake_onc.sandbox.archive import listing as archive_listing
from intake_onc.sandbox.encoders import audio as audio_encoding
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products import audio
from intake_onc.sandbox.synthetic import audio as synth

DEVICE = "ICLISTENHF6093"
FS = 8000
N = 300 * FS
NOW = "2026-01-01"  # a fixed "now" so that listings do not grow while the tests run
NAME = re.compile(r"^ICLISTENHF6093_\d{8}T\d{6}\.\d{3}Z(-spect\.mat|-spect\.png|\.flac)$")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def listing(start, end, device=DEVICE, **kw):
    return archive_listing.list_archive_files(device, start, end, now=NOW, **kw)


def audio_rows(start, end, device=DEVICE, **kw):
    df = listing(start, end, device, **kw)
    return df[df["kind"] == "audio"].reset_index(drop=True)


def decode(data: bytes) -> tuple[np.ndarray, sf._SoundFileInfo]:
    samples, _ = sf.read(io.BytesIO(data), dtype="float32")
    return samples, sf.info(io.BytesIO(data))


def quiet(kind, start, end, device=DEVICE):
    """Events of ``kind`` in ``[start, end)`` with no ship within 10 minutes."""
    events = synth.known_events(device, start, end)
    ships = [e for e in events if e["kind"] == "ship"]
    margin = pd.Timedelta("10min")
    return [
        e
        for e in events
        if e["kind"] == kind
        and not any(
            s["start"] - margin < e["end"] and e["start"] < s["end"] + margin for s in ships
        )
    ]


def file_covering(instant, duration="5s", device=DEVICE):
    """The audio row of a file holding ``[instant, instant + duration)`` entirely."""
    instant = pd.Timestamp(instant)
    rows = audio_rows(instant - pd.Timedelta("6min"), instant + pd.Timedelta("1s"), device)
    rows = rows[(rows.start_time <= instant) & (rows.end_time >= instant + pd.Timedelta(duration))]
    assert len(rows), f"no file covers {instant} (a missing slot? pick another hour)"
    return rows.iloc[-1]


# ----------------------------------------------------------------------------------------------
# Listing
# ----------------------------------------------------------------------------------------------


def test_listing_names_columns_and_triplets():
    df = listing("2023-01-01T00:00", "2023-01-01T01:00")
    assert tuple(df.columns) == archive_listing.LISTING_COLUMNS
    assert 30 <= len(df) <= 36 and len(df) % 3 == 0
    assert all(NAME.match(name) for name in df.filename)
    assert (df.deviceCode == DEVICE).all()
    assert list(df.kind[:3]) == ["spect_mat", "spect_png", "audio"]
    for _, group in df.groupby("dateFrom"):
        stems = {name.split("-")[0].split(".flac")[0] for name in group.filename}
        assert len(group) == 3 and len(stems) == 1
    # dateFrom is the stamp of the name (first sample), dateTo 300 s later, both wire strings.
    stamps = df.filename.map(parse_filename_timestamp)
    assert (stamps == df.start_time).all()
    assert (pd.to_datetime(df.dateFrom).dt.tz_localize(None) == df.start_time).all()
    assert ((df.end_time - df.start_time) == pd.Timedelta("300s")).all()
    assert df.dateFrom.iloc[0].endswith("Z") and len(df.dateFrom.iloc[0]) == 24
    assert (df.fileSize == df.uncompressedFileSize).all()


def test_listing_sorted_by_start_then_name():
    df = listing("2023-01-01", "2023-01-02")
    resorted = df.sort_values(["start_time", "filename"], kind="stable")
    assert list(resorted.filename) == list(df.filename)
    assert df.filename.is_unique


def test_filter_applies_to_the_file_start():
    rows = audio_rows("2023-01-01T06:00", "2023-01-01T07:00")
    start = rows.start_time.iloc[3]
    ms = pd.Timedelta(1, "ms")
    assert list(listing(start, start + ms).filename.str[-5:]) == ["t.mat", "t.png", ".flac"]
    assert len(listing(start + ms, start + pd.Timedelta("200s"))) == 0  # overlaps, starts before
    assert len(listing(start - pd.Timedelta("200s"), start)) == 0  # dateTo is exclusive


def test_jitter_is_within_two_seconds_with_ms_precision_and_unaligned():
    rows = audio_rows("2023-02-01", "2023-02-08")
    start_ms = rows.start_time.astype("int64").to_numpy() // 10**6
    assert (rows.start_time.astype("int64") % 10**6 == 0).all()
    offset = start_ms - np.round(start_ms / 300_000).astype(np.int64) * 300_000
    assert offset.min() >= -2000 and offset.max() <= 2000
    assert (offset != 0).mean() > 0.99 and offset.std() > 800
    # Consecutive files (same slot spacing) leave small gaps and small overlaps.
    step = np.diff(start_ms)
    consecutive = step[(step > 295_000) & (step < 305_000)] - 300_000
    assert (consecutive > 0).any() and (consecutive < 0).any()


def test_about_one_slot_in_a_hundred_is_missing_deterministically():
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2023-03-01")
    rows = audio_rows(start, end)
    slots = int((end - start) / pd.Timedelta("5min"))
    missing = slots - len(rows)
    assert 0.004 * slots < missing < 0.02 * slots
    assert list(audio_rows(start, end).filename) == list(rows.filename)
    other = audio_rows(start, end, seed=1)
    assert list(other.filename) != list(rows.filename)


def test_deployment_edges_and_gap():
    # nothing before the first deployment, nothing in the gap 2022-06-30 -> 2022-09-01
    assert len(listing("2020-01-01", "2021-03-01")) == 0
    assert len(listing("2022-06-30", "2022-09-01")) == 0
    first = audio_rows("2021-03-01", "2021-03-01T01:00")
    assert first.start_time.iloc[0] >= pd.Timestamp("2021-03-01")
    assert first.start_time.iloc[0] < pd.Timestamp("2021-03-01T00:10")
    before_gap = audio_rows("2022-06-29T23:00", "2022-07-01")
    assert before_gap.end_time.max() <= pd.Timestamp("2022-06-30")
    assert before_gap.end_time.max() > pd.Timestamp("2022-06-29T23:50")
    after_gap = audio_rows("2022-08-31", "2022-09-01T01:00")
    assert after_gap.start_time.min() >= pd.Timestamp("2022-09-01")
    # An ongoing deployment ends at "now": only complete files are listed.
    now = pd.Timestamp("2024-05-01T12:03:00")
    recent = archive_listing.list_archive_files(DEVICE, "2024-05-01T11:00", "2024-05-02", now=now)
    assert recent.end_time.max() <= now and recent.end_time.max() > now - pd.Timedelta("10min")
    with pytest.raises(KeyError, match="unknown device"):
        archive_listing.list_archive_files("NOSUCHDEVICE", "2024-01-01", "2024-01-02")
    assert len(archive_listing.list_archive_files("SBECTD19p6813", "2024-01-01", "2024-01-02")) == 0


def test_wav_before_2020_08_10_flac_after_for_6020():
    df = audio_rows("2020-08-09T23:30", "2020-08-10T00:30", device="ICLISTENHF6020")
    ext = df.filename.str.rsplit(".", n=1).str[1]
    before = df.start_time < pd.Timestamp("2020-08-10")
    assert set(ext[before]) == {"wav"} and set(ext[~before]) == {"flac"}
    assert (df.fileSize[before] == 44 + 3 * 16000 * 300).all()
    assert (
        OBSERVATORY.device("ICLISTENHF6020").audio.extension_at(pd.Timestamp("2020-08-10"))
        == "flac"
    )


def test_a_year_of_64khz_listing():
    df = archive_listing.list_archive_files("ICLISTENHF6324", "2024-01-01", "2025-01-01", now=NOW)
    slots = 366 * 288
    assert 3 * 0.98 * slots < len(df) <= 3 * slots
    assert df.filename.is_unique and df.start_time.is_monotonic_increasing
    assert (df.kind.value_counts() == len(df) // 3).all()


# ----------------------------------------------------------------------------------------------
# File bytes
# ----------------------------------------------------------------------------------------------


def test_sizes_in_listing_equal_bytes_served():
    rows = listing("2023-01-01T03:00", "2023-01-01T03:05")
    assert len(rows) == 3
    for row in rows.itertuples():
        data = archive_files.archive_file_bytes(row.filename, now=NOW)
        assert len(data) == row.fileSize, row.filename
        assert archive_listing.archive_file_info(row.filename, now=NOW)["fileSize"] == row.fileSize
    wav = audio_rows("2020-01-01T03:00", "2020-01-01T03:05", device="ICLISTENHF6020").iloc[0]
    data = archive_files.archive_file_bytes(wav.filename, now=NOW)
    assert len(data) == wav.fileSize == 44 + 3 * 16000 * 300
    samples, info = decode(data)
    assert (info.format, info.subtype, info.samplerate, info.frames) == (
        "WAV",
        "PCM_24",
        16000,
        16000 * 300,
    )
    assert np.array_equal(
        samples, synth.synth_audio("ICLISTENHF6020", wav.start_time, len(samples))
    )


def test_flac_is_24_bit_mono_padded_and_decodes_to_the_signal():
    row = audio_rows("2023-01-01T03:00", "2023-01-01T03:05").iloc[0]
    data = archive_files.archive_file_bytes(row.filename, now=NOW)
    samples, info = decode(data)
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("FLAC", "PCM_24", 1, FS)
    assert info.frames == N == len(samples)
    # metadata: STREAMINFO first, PADDING right after it, the last-block flag set exactly once
    blocks, pos = [], 4
    while True:
        head = data[pos]
        blocks.append((head & 0x7F, bool(head & 0x80)))
        pos += 4 + int.from_bytes(data[pos + 1 : pos + 4], "big")
        if head & 0x80:
            break
    assert data[:4] == b"fLaC" and blocks[0][0] == 0 and blocks[1][0] == 1
    assert [last for _, last in blocks].count(True) == 1 and blocks[-1][1]
    assert np.array_equal(samples, synth.synth_audio(DEVICE, row.start_time, N))
    assert -50.5 < 20 * np.log10(samples[: 60 * FS].std()) < -40  # ambient level (dBFS)


def test_loudest_files_fit_their_flac_size():
    """A file at the peak of a ship passage is the hardest to compress: it must still fit."""
    for device, day in (("ICLISTENHF6093", "2023-03-01"), ("ICLISTENHF6020", "2020-09-01")):
        ship = next(
            e
            for e in synth.known_events(device, day, pd.Timestamp(day) + pd.Timedelta("2D"))
            if e["kind"] == "ship"
        )
        row = file_covering(ship["start"] + (ship["end"] - ship["start"]) / 2, device=device)
        fs = OBSERVATORY.device(device).audio.sample_rate
        q = synth.synth_file_int(device, int(row.start_time.value), 0)
        compressed = len(audio_encoding.encode_flac(q, fs))
        assert compressed * 8 / len(q) < audio_encoding.FLAC_BITS_PER_SAMPLE - 0.8  # margin
        assert len(audio_encoding.encode_flac(q, fs, target_size=row.fileSize)) == row.fileSize
    with pytest.raises(audio_encoding.FlacTargetExceeded, match="FLAC_BITS_PER_SAMPLE"):
        audio_encoding.encode_flac(q, fs, target_size=compressed + 3)


@pytest.mark.slow
def test_loudest_64khz_file_fits_its_flac_size():
    device = "ICLISTENHF6324"
    ship = next(
        e for e in synth.known_events(device, "2024-03-01", "2024-03-03") if e["kind"] == "ship"
    )
    row = file_covering(ship["start"] + (ship["end"] - ship["start"]) / 2, device=device)
    q = synth.synth_file_int(device, int(row.start_time.value), 0)
    data = audio_encoding.encode_flac(q, 64_000, target_size=row.fileSize)
    assert len(data) == row.fileSize
    assert sf.info(io.BytesIO(data)).frames == 64_000 * 300


def test_bytes_are_deterministic_and_cached(tmp_path):
    row = audio_rows("2023-01-01T03:00", "2023-01-01T03:05").iloc[0]
    first = archive_files.archive_file_bytes(row.filename, now=NOW)
    path = archive_files.archive_file_path(row.filename, now=NOW)
    assert path == archive_files.cache_dir(0) / DEVICE / row.filename
    assert path.parent.parent.parent == tmp_path
    assert path.read_bytes() == first and not list(path.parent.glob("*.part"))
    path.unlink()
    synth._SYNTH_CACHE.clear()
    assert (
        archive_files.archive_file_bytes(row.filename, now=NOW) == first
    )  # regenerated, identical
    path.write_bytes(b"truncated")  # a damaged cache entry is regenerated
    assert archive_files.archive_file_bytes(row.filename, now=NOW) == first
    assert not np.array_equal(
        synth.synth_audio(DEVICE, row.start_time, 1000, seed=1),
        synth.synth_audio(DEVICE, row.start_time, 1000),
    )


def test_overlapping_files_hold_the_same_samples_on_shared_instants():
    rows = audio_rows("2023-01-01", "2023-01-01T12:00")
    overlap = rows.start_time.shift(-1) - rows.end_time
    k = int(np.flatnonzero(overlap.to_numpy() < pd.Timedelta("-1s"))[0])
    a, b = rows.iloc[k], rows.iloc[k + 1]
    xa, _ = decode(archive_files.archive_file_bytes(a.filename, now=NOW))
    xb, _ = decode(archive_files.archive_file_bytes(b.filename, now=NOW))
    shift = int((b.start_time - a.start_time) / pd.Timedelta(1, "s") * FS)  # exact: ms on 8 kHz
    shared = N - shift
    assert shared > FS  # more than a second in common
    assert np.array_equal(xa[shift:], xb[:shared])
    # any window of synth_audio agrees with the files
    window = synth.synth_audio(DEVICE, a.start_time + pd.Timedelta("123.456s"), 5000)
    offset = int(123.456 * FS)
    assert np.array_equal(window, xa[offset : offset + 5000])


def test_known_tone_is_in_the_audio_at_hh1230():
    tone_start = quiet("tone", "2023-01-01", "2023-01-02")[0]["start"]
    assert (tone_start.minute, tone_start.second) == (12, 30)
    row = file_covering(tone_start)
    x, _ = decode(archive_files.archive_file_bytes(row.filename, now=NOW))
    i0 = int((tone_start - row.start_time) / pd.Timedelta(1, "s") * FS)
    during, before = x[i0 + FS : i0 + 4 * FS], x[i0 - 4 * FS : i0 - FS]
    spectrum = np.abs(np.fft.rfft(during * np.hanning(len(during))))
    freqs = np.fft.rfftfreq(len(during), 1 / FS)
    assert abs(freqs[np.argmax(spectrum)] - 1000.0) < 1.0
    assert abs(np.sqrt(2) * during.std() - 0.1) < 0.01  # -20 dBFS peak
    assert before.std() < 0.01  # only ambient noise before the tone
    events = synth.known_events(
        DEVICE, tone_start - pd.Timedelta("1min"), tone_start + pd.Timedelta("1min")
    )
    tones = [e for e in events if e["kind"] == "tone"]
    assert tones == [
        {
            "kind": "tone",
            "start": tone_start,
            "end": tone_start + pd.Timedelta("5s"),
            "f_low": 1000.0,
            "f_high": 1000.0,
            "level_dbfs": -20.0,
        }
    ]


def test_known_events_fit_the_band_and_are_sorted():
    events = synth.known_events(DEVICE, "2023-03-01", "2023-03-04")
    kinds = {e["kind"] for e in events}
    assert kinds == {"tone", "whale", "ship", "fin_whale", "rain"}
    assert [e["start"] for e in events] == sorted(e["start"] for e in events)
    assert sum(e["kind"] == "tone" for e in events) == 72
    for e in events:
        assert e["end"] > e["start"]
        assert 0 <= e["f_low"] <= e["f_high"] <= FS / 2
        if e["kind"] == "whale":
            assert e["f_high"] <= 0.4 * FS / 2 and pd.Timedelta("2s") <= e["end"] - e[
                "start"
            ] <= pd.Timedelta("3s")
        if e["kind"] == "ship":
            assert pd.Timedelta("20min") <= e["end"] - e["start"] <= pd.Timedelta("40min")
    # one whale, one array: the same call times at every hydrophone
    other = synth.known_events("ICLISTENHF6324", "2023-03-01", "2023-03-04")
    assert [e["start"] for e in other if e["kind"] == "whale"] == [
        e["start"] for e in events if e["kind"] == "whale"
    ]


def test_a_whale_call_is_in_the_audio():
    call = quiet("whale", "2023-01-01", "2023-01-02")[0]
    x = synth.synth_audio(DEVICE, call["start"], 6 * FS)
    samples = int((call["end"] - call["start"]) / pd.Timedelta(1, "s") * FS)
    assert x[:samples].std() > 3 * x[samples:].std()


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------


def test_names_that_do_not_exist_raise_a_clear_keyerror():
    row = audio_rows("2023-01-01T03:00", "2023-01-01T03:05").iloc[0]
    stem = row.filename[: -len(".flac")]
    start_ms = row.start_time.value // 10**6
    wrong_ms = pd.Timestamp((start_ms + 1) * 10**6).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    cases = {
        "not a sandbox archive file name": "hello.flac",
        "not a sandbox hydrophone": stem.replace(DEVICE, "SBECTD19p6813") + ".flac",
        "does not exist; the file starting": stem + ".wav",
        "the file of that 5-minute slot is": f"{DEVICE}_{wrong_ms}.flac",
        "was not deployed": f"{DEVICE}_20220715T000001.000Z.flac",
        "impossible time stamp": f"{DEVICE}_20230231T000000.000Z.flac",
    }
    for message, name in cases.items():
        with pytest.raises(KeyError, match=message):
            archive_files.archive_file_bytes(name, now=NOW)
    # a missing slot: find one by comparing the listing with the 5-minute grid
    rows = audio_rows("2023-01-01", "2023-01-10")
    slots = np.round(rows.start_time.astype("int64") / 300e9).astype(np.int64)
    gap = int(np.flatnonzero(np.diff(slots.to_numpy()) == 2)[0])
    missing = pd.Timestamp(int((slots.iloc[gap] + 1) * 300e9))
    name = f"{DEVICE}_{missing.strftime('%Y%m%dT%H%M%S')}.000Z.flac"
    with pytest.raises(KeyError, match="no file|the file of that 5-minute slot"):
        archive_files.archive_file_bytes(name, now=NOW)
    with pytest.raises(KeyError, match="not deployed"):  # in the future
        archive_listing.archive_file_info(f"{DEVICE}_20991231T000000.000Z.flac", now=NOW)


# ----------------------------------------------------------------------------------------------
# Data product AD
# ----------------------------------------------------------------------------------------------


def test_audio_product_default_is_the_archive_files():
    start, end = pd.Timestamp("2023-01-01T03:02"), pd.Timestamp("2023-01-01T03:08")
    files = audio.build_audio_product_files(DEVICE, start, end, "flac", {}, now=NOW)
    rows = audio_rows(start - pd.Timedelta("5min"), end)
    rows = rows[rows.end_time > start]
    assert [n for n, _ in files] == list(rows.filename) and len(files) == 2  # overlap, not start
    assert files[0][1] == archive_files.archive_file_bytes(rows.filename.iloc[0], now=NOW)
    # no conversion: no WAV files in the FLAC era
    assert audio.build_audio_product_files(DEVICE, start, end, "wav", {}, now=NOW) == []


def test_audio_product_downsampled_and_converted():
    start, end = pd.Timestamp("2023-01-01T03:02"), pd.Timestamp("2023-01-01T03:04")
    options = {"dpo_audioDownsample": "4000", "dpo_audioFormatConversion": "1"}
    ((name, data),) = audio.build_audio_product_files(DEVICE, start, end, "wav", options, now=NOW)
    assert name.endswith("-4000Hz.wav") and NAME.match(name.replace("-4000Hz.wav", ".flac"))
    x, info = decode(data)
    assert (info.samplerate, info.frames, info.subtype) == (4000, 4000 * 300, "PCM_24")
    ((name, data),) = audio.build_audio_product_files(
        DEVICE, start, end, "flac", {"dpo_audioDownsample": "2000"}, now=NOW
    )
    assert name.endswith("-2000Hz.flac") and sf.info(io.BytesIO(data)).samplerate == 2000
    ((name, _),) = audio.build_audio_product_files(
        DEVICE, start, end, "flac", {"dpo_audioDownsample": "16000"}, now=NOW
    )
    assert name.endswith("Z.flac")  # no upsampling
    with pytest.raises(ValueError, match="dpo_audioFormatConversion"):
        audio.build_audio_product_files(
            DEVICE, start, end, "flac", {"dpo_audioFormatConversion": "2"}, now=NOW
        )
