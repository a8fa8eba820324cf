"""Local hydrophone files: ONC names, headers, partial reads, exact window assembly, clip, WAV/FLAC.

Synthetic 8 kHz 24-bit files whose samples are *markers* (``file_id * 100_000 + frame``, exact in
24-bit PCM and float32), so every output sample tells which file and frame it came from.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import xarray as xr

from intake_onc.acoustics.clips import clip, coverage
from intake_onc.acoustics.files import AudioFileInfo, parse_archive_filename, read_frames
from intake_onc.acoustics.windows import (
    audio_from_table,
    load_local_file,
    open_audio_files,
    plan_window,
)

FS = 8000
DEVICE = "ICLISTENHF6093"
N = 10 * FS  # 10-second files
# id -> start of first sample: f2 overlaps f1 by 57 ms, f3 is missing, f4/f5 leave an 8-sample gap
STARTS = {
    1: "2024-04-01T00:00:00.237",
    2: "2024-04-01T00:00:10.180",
    4: "2024-04-01T00:00:30.412",
    5: "2024-04-01T00:00:40.413",
}
SCALE = 2.0**23


def onc_name(start: str, ext: str = "flac", device: str = DEVICE) -> str:
    ts = pd.Timestamp(start)
    return f"{device}_{ts.strftime('%Y%m%dT%H%M%S')}.{ts.microsecond // 1000:03d}Z.{ext}"


def write_markers(path, file_id: int, n: int = N, fs: int = FS) -> None:
    ints = (file_id * 100_000 + np.arange(n)).astype(np.int32)
    fmt = "WAV" if str(path).endswith(".wav") else "FLAC"
    sf.write(path, ints << 8, fs, format=fmt, subtype="PCM_24")


@pytest.fixture(scope="module")
def marker_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markers")
    for file_id, start in STARTS.items():
        write_markers(folder / onc_name(start, "wav" if file_id == 5 else "flac"), file_id)
    return folder


def oracle(window_start: str, n_out: int) -> np.ndarray:
    """Expected markers, built sample by sample from the rules (earlier file wins)."""
    t0 = pd.Timestamp(window_start)
    out = np.full(n_out, np.nan)
    for file_id, start in sorted(STARTS.items(), key=lambda kv: pd.Timestamp(kv[1])):
        offset = round((pd.Timestamp(start) - t0).total_seconds() * FS)
        k = np.arange(max(offset, 0), min(offset + N, n_out))
        free = np.isnan(out[k])
        out[k[free]] = file_id * 100_000 + (k[free] - offset)
    return out


def markers(audio: xr.DataArray) -> np.ndarray:
    return np.asarray(audio.values, dtype=np.float64) * SCALE


# -- names, headers, partial reads ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "ICLISTENHF1266_20230111T122000.045Z.flac",
            ("ICLISTENHF1266", "2023-01-11T12:20:00.045", "", "flac"),
        ),
        (
            "ICLISTENHF1560_20181002T172557.000Z-spect-small.png",
            ("ICLISTENHF1560", "2018-10-02T17:25:57", "spect-small", "png"),
        ),
        (
            "/data/BPR-Folger-59_20191123T000000.000Z.txt",
            ("BPR-Folger-59", "2019-11-23", "", "txt"),
        ),
        ("A_B_20200101T000000Z.WAV", ("A_B", "2020-01-01", "", "wav")),
    ],
)
def test_parse_archive_filename(name, expected):
    device, start, suffix, ext = parse_archive_filename(name)
    assert (device, start, suffix, ext) == (
        expected[0],
        pd.Timestamp(expected[1]),
        expected[2],
        expected[3],
    )


def test_parse_archive_filename_rejects_other_names():
    with pytest.raises(ValueError, match="name: 'recording.wav'.*start times"):
        parse_archive_filename("recording.wav")


def test_audio_file_info(marker_dir):
    path = marker_dir / onc_name(STARTS[2])
    info = AudioFileInfo.from_path(path)
    assert (info.sample_rate, info.n_frames, info.channels) == (FS, N, 1)
    assert (info.bit_depth, info.subtype, info.device_code) == (24, "PCM_24", DEVICE)
    assert info.start == pd.Timestamp(STARTS[2])
    assert info.duration == 10.0
    assert info.end == pd.Timestamp(STARTS[2]) + pd.Timedelta(seconds=10)


def test_read_frames_reads_the_part_asked_for(marker_dir):
    path = marker_dir / onc_name(STARTS[4])
    part = read_frames(path, 12_345, 1000)
    assert part.dtype == np.float32 and part.shape == (1000,)
    np.testing.assert_array_equal(part * SCALE, 400_000 + np.arange(12_345, 13_345))
    tail = read_frames(path, N - 10, 50)  # the file ends first
    assert len(tail) == 10
    data = io.BytesIO(path.read_bytes())
    np.testing.assert_array_equal(read_frames(data, 12_345, 1000), part)
    with pytest.raises(ValueError, match="start_frame"):
        read_frames(path, N + 1, 1)
    with pytest.raises(ValueError, match="n_frames"):
        read_frames(path, 0, -1)


# -- window assembly ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", ["file", 3.0, 7.3, 60])
def test_window_is_exact_to_the_sample(marker_dir, chunk):
    start, end = "2024-04-01T00:00:05Z", "2024-04-01T00:00:45Z"
    audio = open_audio_files(marker_dir, start, end, chunk=chunk)
    assert audio.dtype == np.float32 and audio.sizes["time"] == 40 * FS
    assert audio.chunks is not None  # lazy
    expected = oracle("2024-04-01T00:00:05", 40 * FS)
    np.testing.assert_array_equal(markers(audio), expected)
    # the gaps: file 3 missing (20.180 -> 30.412) and the 8 samples between files 4 and 5
    assert int(np.isnan(audio.values).sum()) == (203_296 - 121_440) + 8
    assert audio.attrs["coverage_seconds"] == pytest.approx((40 * FS - 81_864) / FS)


def test_window_attrs_and_time_coordinate(marker_dir):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:05Z", "2024-04-01T00:00:45Z")
    attrs = audio.attrs
    assert attrs["start_time"] == "2024-04-01T00:00:05Z"
    assert attrs["end_time"] == "2024-04-01T00:00:45Z"
    assert (attrs["sample_rate"], attrs["device_code"], attrs["bit_depth"]) == (FS, DEVICE, 24)
    assert attrs["units"] == "1"
    time = audio["time"]
    # UTC sample times (issue: audio selectable by time), not float offsets in seconds
    assert time.dtype == np.dtype("datetime64[ns]")
    assert type(audio.xindexes["time"]).__name__ == "TimeGridIndex"  # lazy: no per-sample array
    assert time[0].values == np.datetime64("2024-04-01T00:00:05", "ns")
    assert time[8000].values == np.datetime64("2024-04-01T00:00:06", "ns")
    assert time[-1].values == np.datetime64("2024-04-01T00:00:45", "ns") - np.timedelta64(
        10**9 // FS, "ns"
    )


def test_chunk_file_gives_one_chunk_per_file_piece(marker_dir):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:05Z", "2024-04-01T00:00:45Z")
    # f1 piece, f2 piece (after the overlap), the gap (cut at the longest file's length), f4,
    # the 8-sample gap, f5 piece
    assert audio.chunks[0] == (41_896, 79_544, 80_000, 1_856, 80_000, 8, 36_696)


def test_whole_span_when_no_dates(marker_dir):
    audio = open_audio_files(marker_dir)
    assert audio.attrs["start_time"] == "2024-04-01T00:00:00.237000Z"
    assert audio.attrs["end_time"] == "2024-04-01T00:00:50.413000Z"
    np.testing.assert_array_equal(markers(audio), oracle(STARTS[1], audio.sizes["time"]))


def test_files_outside_the_window_are_not_opened(marker_dir, monkeypatch):
    opened = []
    original = AudioFileInfo.from_path.__func__

    def spy(cls, path, start=None):
        opened.append(os.path.basename(path))
        return original(cls, path, start)

    monkeypatch.setattr(AudioFileInfo, "from_path", classmethod(spy))
    open_audio_files(marker_dir, "2024-04-01T00:00:31Z", "2024-04-01T00:00:35Z")
    assert onc_name(STARTS[5], "wav") not in opened  # starts after the end


def table_and_calls(marker_dir):
    rows = [AudioFileInfo.from_path(p).as_row() for p in sorted(marker_dir.iterdir())]
    calls: list[tuple[str, int, int]] = []

    def loader(row, start_frame, n_frames):
        calls.append((row["name"], start_frame, n_frames))
        return load_local_file(row, start_frame, n_frames)

    return pd.DataFrame(rows), loader, calls


def test_each_task_reads_only_the_frames_it_needs(marker_dir):
    table, loader, calls = table_and_calls(marker_dir)
    audio = audio_from_table(
        table, loader, "2024-04-01T00:00:08Z", "2024-04-01T00:00:12Z", chunk=1.0
    )
    assert calls == []  # nothing is read before compute
    values = audio.values
    assert sum(n for _, _, n in calls) == np.isfinite(values).sum() == 4 * FS
    # the chunk [10 s, 11 s) of the window reads the end of file 1 and the start of file 2
    straddling = [c for c in calls if c[1:] in ((78_104, 1_896), (456, 6_104))]
    assert {c[0] for c in straddling} == {onc_name(STARTS[1]), onc_name(STARTS[2])}
    np.testing.assert_array_equal(markers(audio), oracle("2024-04-01T00:00:08", 4 * FS))


def test_loader_may_return_fewer_frames(marker_dir):
    table, _, _ = table_and_calls(marker_dir)

    def short(row, start_frame, n_frames):
        return load_local_file(row, start_frame, n_frames)[: n_frames // 2]

    audio = audio_from_table(table, short, STARTS[4], "2024-04-01T00:00:40.412")
    assert int(np.isnan(audio.values).sum()) == N // 2


def test_plan_is_built_from_file_facts_only():
    table = pd.DataFrame(
        {
            "name": [f"X_2024010{d}T000000.000Z.flac" for d in (1, 2)],
            "start": ["2024-01-01", "2024-01-02"],
            "sample_rate": 64_000,
            "n_frames": 300 * 64_000,
        }
    )
    plan = plan_window(table, "2024-01-01T00:04:00Z", "2024-01-02T00:01:00Z")
    assert list(plan.pieces["frame_start"]) == [240 * 64_000, 0]
    assert plan.coverage_seconds == 120.0
    assert plan.n_samples == (86_400 - 180) * 64_000


def test_sample_rate_change_inside_window_is_refused(marker_dir, tmp_path):
    for p in marker_dir.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    write_markers(tmp_path / onc_name("2024-04-01T00:00:50.413"), 6, n=2 * N, fs=2 * FS)
    with pytest.raises(ValueError, match="sample rate changes.*two windows"):
        open_audio_files(tmp_path)
    # each side on its own is fine
    assert open_audio_files(tmp_path, end="2024-04-01T00:00:50.413Z").attrs["sample_rate"] == FS
    assert open_audio_files(tmp_path, start="2024-04-01T00:00:50.413Z").attrs["sample_rate"] == (
        2 * FS
    )


def test_several_devices_are_refused(tmp_path):
    write_markers(tmp_path / onc_name(STARTS[1], device="DEVA"), 1)
    write_markers(tmp_path / onc_name(STARTS[2], device="DEVB"), 2)
    with pytest.raises(ValueError, match="several devices"):
        open_audio_files(tmp_path)


def test_other_names_need_start_times(tmp_path):
    write_markers(tmp_path / "a.flac", 1)
    write_markers(tmp_path / "b.flac", 2)
    with pytest.raises(ValueError, match="start_times"):
        open_audio_files(tmp_path)
    # 0.3 and 0.6 of a sample after the window start: placed at the nearest sample
    t0 = pd.Timestamp("2024-01-01")
    times = {"a.flac": t0 + pd.Timedelta(37_500, "ns"), "b.flac": t0 + pd.Timedelta(10.000075, "s")}
    audio = open_audio_files(tmp_path, t0, t0 + pd.Timedelta(seconds=20), start_times=times)
    values = markers(audio)
    assert values[0] == 100_000  # 0.3 of a sample after the start rounds down
    assert np.isnan(values[80_000]) and values[80_001] == 200_000  # 0.6 of a sample rounds up
    assert audio.attrs["device_code"] == ""
    with pytest.raises(ValueError, match="start_times: got 1 times for 2 files"):
        open_audio_files([tmp_path / "a.flac", tmp_path / "b.flac"], start_times=[t0])


def test_bad_arguments_are_named(marker_dir):
    with pytest.raises(ValueError, match="end: .* is not after start"):
        open_audio_files(marker_dir, "2024-04-01T00:00:10Z", "2024-04-01T00:00:05Z")
    with pytest.raises(ValueError, match="chunk"):
        open_audio_files(marker_dir, chunk="auto")
    with pytest.raises(ValueError, match="chunk"):
        open_audio_files(marker_dir, chunk=-1)
    with pytest.raises(FileNotFoundError, match="paths_or_directory"):
        open_audio_files([marker_dir / "nope.flac"])
    with pytest.raises(ValueError, match="files: the file table lacks"):
        audio_from_table(pd.DataFrame({"name": ["x"]}), load_local_file)


def test_window_with_no_file_is_all_nan(marker_dir):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:21Z", "2024-04-01T00:00:22Z")
    assert np.isnan(audio.values).all() and audio.attrs["coverage_seconds"] == 0.0
    assert coverage(audio, by="gap")["seconds"].tolist() == [1.0]


# -- coverage ----------------------------------------------------------------------------------


def test_coverage_tables(marker_dir):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:05Z", "2024-04-01T00:01:05Z")
    per_file = coverage(audio)
    assert list(per_file["file"]) == [
        onc_name(STARTS[1]),
        onc_name(STARTS[2]),
        onc_name(STARTS[4]),
        onc_name(STARTS[5], "wav"),
    ]
    assert list(per_file["samples"]) == [41_896, 79_544, 80_000, 80_000]
    assert per_file["file_start"].iloc[1] == pd.Timestamp(STARTS[2])
    assert per_file["first_sample"].iloc[1] == pd.Timestamp("2024-04-01T00:00:10.237")
    gaps = coverage(audio, by="gap")
    assert list(gaps["samples"]) == [81_856, 8, 116_696]
    minutes = coverage(audio, by="minute")
    assert list(minutes.index) == list(pd.date_range("2024-04-01", periods=2, freq="1min"))
    assert minutes["window_seconds"].tolist() == [55.0, 5.0]
    assert minutes["seconds"].iloc[1] == 0.0
    assert minutes["seconds"].sum() == pytest.approx(audio.attrs["coverage_seconds"])
    ten = coverage(audio, by="10s")
    assert ten["fraction"].iloc[2] == pytest.approx((20.180 - 20) / 10)
    with pytest.raises(ValueError, match="by:"):
        coverage(audio, by="month")


# -- clip and writing --------------------------------------------------------------------------


def test_clip_forms_agree(marker_dir):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:05Z", "2024-04-01T00:00:45Z")
    a = clip(audio, "2024-04-01T00:00:10.5Z", 2.0)
    b = clip(audio, start="2024-04-01T00:00:09.5Z", end="2024-04-01T00:00:11.5Z")
    c = clip(audio, start=4.5, duration=2.0)
    d = clip(audio, pd.Timestamp("2024-04-01T00:00:10.5"), 1.0, pad_before=0.5, pad_after=0.5)
    e = audio.onc.clip(end=6.5, duration=2)
    for x in (b, c, d, e):
        xr.testing.assert_identical(a, x)
    # the clip keeps its samples' UTC times (was: float offsets restarting at 0.0)
    assert a.sizes["time"] == 2 * FS
    assert a["time"][0].values == np.datetime64("2024-04-01T00:00:09.5", "ns")
    assert type(a.xindexes["time"]).__name__ == "TimeGridIndex"
    assert a.attrs["start_time"] == "2024-04-01T00:00:09.500000Z"
    assert a.attrs["end_time"] == "2024-04-01T00:00:11.500000Z"
    np.testing.assert_array_equal(markers(a), oracle("2024-04-01T00:00:09.5", 2 * FS))
    per_file = coverage(a)
    assert list(per_file["samples"]) == [5_896, 10_104]
    assert per_file["file_start"].iloc[1] == pd.Timestamp(STARTS[2])


def test_clip_errors(marker_dir):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:05Z", "2024-04-01T00:00:45Z")
    with pytest.raises(ValueError, match="outside the window"):
        clip(audio, "2024-04-01T00:00:05.5Z", 2.0)
    with pytest.raises(ValueError, match="center and duration"):
        clip(audio, start=1.0)
    with pytest.raises(ValueError, match="duration"):
        clip(audio, 3.0, -1)
    with pytest.raises(TypeError, match="pad_before"):
        clip(audio, 3.0, 1.0, pad_before=[1])  # "1s" is a duration like any other
    with pytest.raises(ValueError, match="pad_before='1' .* write '1s'"):
        clip(audio, 3.0, 1.0, pad_before="1")


@pytest.mark.parametrize("method", ["to_wav", "to_flac"])
def test_write_round_trip(marker_dir, tmp_path, method):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:09Z", "2024-04-01T00:00:11Z")
    target = tmp_path / f"clip.{method[3:]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(audio.onc, method)(target) == target
    info = sf.info(target)
    assert (info.samplerate, info.subtype, info.frames) == (FS, "PCM_24", 2 * FS)
    back, _ = sf.read(target, dtype="float32")
    np.testing.assert_array_equal(back, audio.values)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary left


def test_write_fills_gaps_with_silence_and_warns(marker_dir, tmp_path):
    audio = open_audio_files(marker_dir, "2024-04-01T00:00:20Z", "2024-04-01T00:00:21Z")
    with pytest.warns(UserWarning, match="with no data were written as silence"):
        audio.onc.to_wav(tmp_path / "gap.wav")
    back, _ = sf.read(tmp_path / "gap.wav", dtype="float32")
    assert int(np.count_nonzero(back)) == int(0.180 * FS)
