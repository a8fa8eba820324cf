"""Custom spectrograms: scipy equality, chunk independence, gaps, tones in time and frequency, files.

The synthetic audio is a function of *absolute* time (noise plus tones switched on at known UTC
times), written to ONC-named 8 kHz 24-bit FLAC files with unaligned starts, one file missing.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.signal
import soundfile as sf
import xarray as xr

from intake_onc._core.durations import duration_ns
from intake_onc.acoustics.hsd import read_hsd_mat
from intake_onc.acoustics.spectrogram import SpectrogramGenerator, plot_spectrogram, spectrogram
from intake_onc.acoustics.windows import open_audio_files

FS = 8000
T0 = pd.Timestamp("2024-04-01")
# file starts (seconds after T0) and lengths: f2 follows f1 without a gap, f3 is missing
FILES = {"f1": (0.437, 20.0), "f2": (20.437, 20.0), "f4": (60.5, 20.0)}
TONES = [  # (Hz, from, to) in seconds after T0
    (1000.0, 5.0, 7.0),
    (2500.0, 15.0, 25.0),  # across the f1/f2 boundary
    (3000.0, 62.0, 63.0),
]


_NOISE_AT = 0.01 * np.random.default_rng(3).standard_normal(81 * FS)


def signal_at(t: np.ndarray) -> np.ndarray:
    """The sound at absolute times ``t`` (seconds after T0, on the 8 kHz grid)."""
    x = _NOISE_AT[np.round(t * FS).astype(int)]
    for freq, a, b in TONES:
        x += np.where((t >= a) & (t < b), 0.25 * np.sin(2 * np.pi * freq * t), 0.0)
    return x


def onc_name(seconds: float) -> str:
    ts = T0 + pd.Timedelta(seconds=seconds)
    return f"ICLISTENHF6093_{ts.strftime('%Y%m%dT%H%M%S')}.{ts.microsecond // 1000:03d}Z.flac"


@pytest.fixture(scope="module")
def tone_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tones")
    for start, length in FILES.values():
        t = start + np.arange(round(length * FS)) / FS
        sf.write(folder / onc_name(start), signal_at(t), FS, subtype="PCM_24")
    return folder


def as_audio(x: np.ndarray, fs: int = FS) -> xr.DataArray:
    return xr.DataArray(
        x.astype(np.float32),
        dims="time",
        attrs={"sample_rate": fs, "start_time": "2024-04-01T00:00:00Z", "units": "1"},
    )


def scipy_db(x, fs, nperseg, noverlap, **kwargs) -> np.ndarray:
    kwargs = {"window": "hann", "detrend": False, "scaling": "density", **kwargs}
    f, t, s = scipy.signal.spectrogram(x, fs, nperseg=nperseg, noverlap=noverlap, **kwargs)
    return f, t, 10 * np.log10(s.T)


NOISE = np.random.default_rng(7).standard_normal(FS * 12).astype(np.float32) * 0.1


@pytest.mark.parametrize(
    ("win_dur", "overlap", "kwargs"),
    [
        (1.0, 0.5, {}),
        (0.25, 0.75, {}),
        (0.1251, 0.3, {}),  # odd nperseg (1001): no Nyquist bin
        (0.5, 0.0, {"scaling": "spectrum"}),
        (0.5, 0.5, {"detrend": "constant"}),
        (0.5, 0.5, {"detrend": "linear"}),
    ],
)
def test_equals_scipy(win_dur, overlap, kwargs):
    spec = spectrogram(as_audio(NOISE), win_dur=win_dur, overlap=overlap, **kwargs)
    nperseg = round(win_dur * FS)
    f, t, ref = scipy_db(NOISE, FS, nperseg, round(overlap * nperseg), **kwargs)
    assert spec.shape == ref.shape and spec.dtype == np.float32
    # the same float32 FFTs as scipy's (same window values, scaling after |X|²): every bin;
    # linear detrending is a float64 fit here (scipy's LAPACK one differs in the last bits)
    atol = 0.01 if kwargs.get("detrend") == "linear" else 1e-3
    np.testing.assert_allclose(spec.values, ref, atol=atol, rtol=0)
    np.testing.assert_allclose(spec["frequency"].values, f)
    offsets = (spec["time"].values - np.datetime64("2024-04-01")) / np.timedelta64(1, "s")
    np.testing.assert_allclose(offsets, t, atol=1e-9)


def test_equals_scipy_with_strong_tones():
    t = np.arange(FS * 12) / FS
    x = (NOISE * 0.1 + 0.5 * np.sin(2 * np.pi * 1234.5 * t)).astype(np.float32)
    spec = spectrogram(as_audio(x)).values
    _, _, ref = scipy_db(x, FS, FS, FS // 2)
    # deep fades > 100 dB below a frame's peak included: there float32 round-off makes scipy's
    # own result ~0.08 dB off the float64 one, and ours follows scipy's, not its own
    assert (ref < ref.max(axis=1, keepdims=True) - 100).any()
    assert np.abs(spec - ref).max() < 1e-3
    assert np.median(np.abs(spec - ref)) < 1e-5


def test_linear_psd_and_freq_lims():
    lin = spectrogram(as_audio(NOISE), db=False, freq_lims=(100, 2000))
    f, _, ref = scipy_db(NOISE, FS, FS, FS // 2)
    keep = (f >= 100) & (f <= 2000)
    np.testing.assert_allclose(lin["frequency"], f[keep])
    np.testing.assert_allclose(10 * np.log10(lin.values), ref[:, keep], atol=1e-3)
    assert lin.attrs["units"] == "1/Hz"
    edge = spectrogram(as_audio(NOISE), db=False, freq_lims=(0, 4000))  # DC and Nyquist kept
    np.testing.assert_allclose(10 * np.log10(edge.values), ref, atol=1e-3)


def record_thread_pools(monkeypatch) -> list[int]:
    """Sizes of the thread pools spectrogram starts (the calling thread is one more worker)."""
    import intake_onc.acoustics._stft as module

    pools: list[int] = []

    class Recording(module.ThreadPoolExecutor):
        def __init__(self, max_workers, **kw):
            pools.append(max_workers)
            super().__init__(max_workers, **kw)

    monkeypatch.setattr(module, "ThreadPoolExecutor", Recording)
    return pools


@pytest.mark.parametrize(
    ("win_dur", "overlap", "kwargs"),
    [
        (0.0625, 0.5, {}),  # 500-sample frames: blocks of 32, 12 blocks
        (0.1251, 0.3, {"freq_lims": (100, 3000)}),  # odd nperseg, bins cut
        (0.0625, 0.75, {"db": False}),
        (0.05, 0.5, {"detrend": "constant", "scaling": "spectrum"}),
        (0.05, 0.5, {"detrend": "linear"}),
    ],
)
def test_workers_do_not_change_a_bit(monkeypatch, win_dur, overlap, kwargs):
    import intake_onc.acoustics._stft as module

    # thread even this small audio (many small blocks), which the defaults compute serially
    monkeypatch.setattr(module, "_THREAD_MIN_BLOCK_SAMPLES", 0)
    monkeypatch.setattr(module, "_THREAD_MIN_SAMPLES", 1)
    pools = record_thread_pools(monkeypatch)
    x = NOISE.copy()
    x[30_000:30_005] = np.nan  # NaN frames too
    audio = as_audio(x)
    serial = spectrogram(audio, win_dur=win_dur, overlap=overlap, workers=1, **kwargs)
    assert pools == []
    for workers in (2, 3, 5, None):
        threaded = spectrogram(audio, win_dur=win_dur, overlap=overlap, workers=workers, **kwargs)
        xr.testing.assert_identical(threaded, serial)  # NaNs in the same places, same bits
    assert pools[:3] == [1, 2, 4]  # the threaded path ran
    started = len(pools)
    lazy = spectrogram(
        audio.chunk(time=7919), win_dur=win_dur, overlap=overlap, workers=4, **kwargs
    )
    np.testing.assert_array_equal(lazy.values, serial.values)
    assert len(pools) == started  # dask tasks compute serially (dask runs them in parallel)


def test_workers_thread_long_audio_only(monkeypatch):
    pools = record_thread_pools(monkeypatch)
    long = as_audio(np.random.default_rng(5).standard_normal(150 * FS) * 0.1)
    serial = spectrogram(long, workers=1)  # 299 frames of 8000 samples, blocks of 32
    threaded = spectrogram(long, workers=3)
    assert pools == [2]
    xr.testing.assert_identical(threaded, serial)
    spectrogram(as_audio(NOISE), workers=3)  # 23 frames: serial
    spectrogram(long, win_dur=0.125, workers=3)  # 1000-sample frames: serial
    assert pools == [2]


def test_workers_errors_propagate_and_bad_values_are_refused(monkeypatch):
    import intake_onc.acoustics._stft as module

    calls = []
    rfft = module.scipy.fft.rfft

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("boom")
        return rfft(*args, **kwargs)

    monkeypatch.setattr(module.scipy.fft, "rfft", failing)
    monkeypatch.setattr(module, "_THREAD_MIN_BLOCK_SAMPLES", 0)
    monkeypatch.setattr(module, "_THREAD_MIN_SAMPLES", 1)
    pools = record_thread_pools(monkeypatch)
    with pytest.raises(MemoryError, match="boom"):
        spectrogram(as_audio(NOISE), win_dur=0.0625, workers=2)
    assert pools == [1]
    assert len(calls) < 12  # the other thread stopped instead of finishing the 12 blocks
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="workers"):
            spectrogram(as_audio(NOISE), workers=bad)


@pytest.mark.parametrize("chunks", [1000, 7919, 48_000, (30_000, 500, 60_000, 5_500)])
def test_chunking_does_not_change_frames(chunks):
    audio = as_audio(NOISE)
    expected = spectrogram(audio, win_dur=0.5, overlap=0.75).values
    lazy = spectrogram(audio.chunk(time=chunks), win_dur=0.5, overlap=0.75)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, expected)


def jittered_chunks(n: int, mean: int, seed: int) -> tuple[int, ...]:
    """Irregular chunks of about ``mean`` samples with tiny ones (1-40 samples) between them,
    like ONC's files with jittered starts and the gap or overlap pieces between them."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes += [int(rng.integers(mean // 2, mean * 3 // 2)), int(rng.integers(1, 40))]
    sizes[-1] -= sum(sizes) - n
    return tuple(c for c in sizes if c)


DASK_CHUNKINGS = [
    96_000,  # one chunk
    997,  # chunks shorter than a frame
    (40_000, 1, 1, 3, 0, 55_995),  # one-sample and empty chunks
    jittered_chunks(96_000, 9_000, 1),
    jittered_chunks(96_000, 30_000, 2),
]


@pytest.mark.parametrize("block_seconds", [0.7, 3.0, 60.0])
@pytest.mark.parametrize(
    "chunks", DASK_CHUNKINGS, ids=["one", "997", "tiny", "jitter9k", "jitter30k"]
)
@pytest.mark.parametrize(
    ("win_dur", "overlap", "kwargs"),
    [
        (0.5, 0.75, {}),
        (0.25, 0.5, {"detrend": "linear", "db": False}),
        (0.1251, 0.3, {"freq_lims": (100, 3000), "scaling": "spectrum"}),
    ],
)
def test_dask_blocks_are_bit_identical_for_any_chunking(
    monkeypatch, block_seconds, chunks, win_dur, overlap, kwargs
):
    import intake_onc.acoustics.spectrogram as module

    monkeypatch.setattr(module, "_DASK_BLOCK_SECONDS", block_seconds)
    x = NOISE.copy()
    x[50_000:50_003] = np.nan
    expected = spectrogram(as_audio(x), win_dur=win_dur, overlap=overlap, **kwargs)
    lazy = spectrogram(as_audio(x).chunk(time=chunks), win_dur=win_dur, overlap=overlap, **kwargs)
    # blocks of whole periods of frame-centre time (block_seconds), whatever the input chunks
    centres = (lazy["time"].values - lazy["time"].values[0]) / np.timedelta64(1, "ns")
    centres = centres + (lazy["time"].values[0] - np.datetime64(T0)) / np.timedelta64(1, "ns")
    period = np.floor(centres / (block_seconds * 1e9)).astype(int)
    edges = np.cumsum((0, *lazy.chunks[0]))
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        assert b > a and period[a] == period[b - 1]  # one period a block
        assert b == len(period) or period[b] != period[b - 1]  # the whole period
    np.testing.assert_array_equal(lazy.values, expected.values)  # NaN where numpy has NaN


def test_each_dask_block_reads_only_the_chunks_under_it(monkeypatch):
    import dask
    from dask.core import get_dependencies

    import intake_onc.acoustics.spectrogram as module

    monkeypatch.setattr(module, "_DASK_BLOCK_SECONDS", 1.0)
    chunks = jittered_chunks(len(NOISE), 16_000, 3)
    audio = as_audio(NOISE).chunk(time=chunks)
    spec = spectrogram(audio, win_dur=0.5, overlap=0.5)  # hop 2000, nperseg 4000
    graph = dict(spec.data.__dask_graph__())
    bounds = np.cumsum((0, *chunks))
    first = 0
    for i, size in enumerate(spec.chunks[0]):
        deps = get_dependencies(graph, (spec.data.name, i, 0))
        # a block takes whole chunks, or pieces of them (slice tasks of one chunk each)
        pieces = [k for k in deps if k[0].startswith("spectrogram-piece-")]
        for k in pieces:
            assert len(get_dependencies(graph, k)) == 1
        deps = deps.union(*(get_dependencies(graph, k) for k in pieces))
        inputs = {k[1] for k in deps if k[0] == audio.data.name}
        a, b = first * 2000, (first + size - 1) * 2000 + 4000  # the samples of its frames
        under = {j for j in range(len(chunks)) if bounds[j] < b and bounds[j + 1] > a}
        assert inputs == under  # nothing else: no task depends on far or all input chunks
        first += size
    # and the result: still the numpy one, also with the threaded scheduler
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(spec.values, spectrogram(as_audio(NOISE), 0.5, 0.5).values)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
@pytest.mark.parametrize("jitter", [0.0, 0.2])
def test_dask_memory_does_not_grow_with_the_number_of_files(monkeypatch, scheduler, jitter):
    """Files with jittered starts (gaps and overlaps between them, so irregular chunks and tiny
    gap chunks): the decoded files alive at once stay a handful, however many files (the
    previous implementation, re-cutting the file chunks and overlapping them: 29 of these 150)."""
    import threading
    import weakref

    import dask

    import intake_onc.acoustics.spectrogram as module
    from intake_onc.acoustics.windows import audio_from_table

    # proportions of the real case: 300-s files, 60-s blocks -> 10-s files, 2-s blocks
    monkeypatch.setattr(module, "_DASK_BLOCK_SECONDS", 2.0)
    rng = np.random.default_rng(11)
    n_files, length = 150, 10 * FS
    offsets = 10.0 * np.arange(n_files) + np.r_[0, rng.uniform(-jitter, jitter, n_files - 1)]
    rows = [
        {
            "name": f"f{k}",
            "start": T0 + pd.Timedelta(seconds=round(o, 3)),
            "sample_rate": FS,
            "n_frames": length,
        }
        for k, o in enumerate(offsets)
    ]
    live, peak, calls, lock = set(), [0], [0], threading.Lock()

    def forget(ident):
        with lock:
            live.discard(ident)

    def loader(row, frame, n):
        out = np.random.default_rng(int(row["name"][1:])).standard_normal(length, "float32")
        out = out[frame : frame + n].copy()
        with lock:
            calls[0] += 1
            live.add(id(out))
            peak[0] = max(peak[0], len(live))
        weakref.finalize(out, forget, id(out))
        return out

    audio = audio_from_table(
        rows, loader, T0, T0 + pd.Timedelta(seconds=10 * n_files), chunk="file"
    )
    spec = spectrogram(audio, win_dur=0.5, overlap=0.5, freq_lims=(0, 1000), db=False)
    minutes = spec.coarsen(time=8, boundary="trim").mean()  # 2-s means: one per block
    assert calls == [0]  # lazy
    with dask.config.set(scheduler=scheduler):
        result = minutes.compute()
    assert calls[0] >= n_files and result.sizes["time"] == 10 * n_files // 2 - 1
    assert np.isfinite(result.values).mean() > 0.9
    assert peak[0] <= 6, f"{peak[0]} decoded file pieces alive at once"


def test_a_slice_of_a_dask_spectrogram_reads_only_the_files_under_it(monkeypatch):
    import intake_onc.acoustics.spectrogram as module
    from intake_onc.acoustics.windows import audio_from_table

    monkeypatch.setattr(module, "_DASK_BLOCK_SECONDS", 2.0)
    rows = [
        {
            "name": f"f{k}",
            "start": T0 + pd.Timedelta(seconds=10 * k),
            "sample_rate": FS,
            "n_frames": 10 * FS,
        }
        for k in range(20)
    ]
    read = []

    def loader(row, frame, n):
        read.append(row["name"])
        return np.full(n, 0.1, "float32")

    audio = audio_from_table(rows, loader, T0, T0 + pd.Timedelta(seconds=200))
    spec = spectrogram(audio, win_dur=0.5, overlap=0.5)
    assert read == []
    # frames centred in 52-54 s (one block): samples 51.75-54 s, in f5
    spec.isel(time=slice(4 * 52 - 1, 4 * 52 + 7)).compute()
    assert read == ["f5"]
    spec.isel(time=slice(4 * 60 - 2, 4 * 60 + 2)).compute()  # across the f5/f6 boundary
    assert sorted(read) == ["f5", "f5", "f6"]


def test_nan_audio_gives_nan_frames_only_where_touched():
    x = NOISE.copy()
    x[20_000:20_010] = np.nan  # 2.5 s
    spec = spectrogram(as_audio(x).chunk(time=9000), win_dur=1.0, overlap=0.5)
    bad = np.isnan(spec.values).all(axis=1)
    starts = np.arange(spec.sizes["time"]) * 4000
    touched = (starts <= 20_009) & (starts + 8000 > 20_000)
    np.testing.assert_array_equal(bad, touched)
    assert np.isfinite(spec.values[~touched]).all()


def test_attrs_and_coords():
    spec = spectrogram(as_audio(NOISE), win_dur=0.5, overlap=0.5)
    assert spec.dims == ("time", "frequency")
    assert spec["time"].values[0] == np.datetime64("2024-04-01T00:00:00.250")
    assert spec["time"].values[1] - spec["time"].values[0] == np.timedelta64(250, "ms")
    assert spec["frequency"].attrs["standard_name"] == "sound_frequency"
    assert spec["frequency"].attrs["units"] == "Hz"
    assert spec.attrs["units"] == "dB"
    assert spec.attrs["long_name"] == "power spectral density (dB re 1 FS²/Hz)"
    assert (spec.attrs["nperseg"], spec.attrs["noverlap"]) == (4000, 2000)
    calibrated = as_audio(NOISE)
    calibrated.attrs["units"] = "µPa"
    assert "dB re 1 µPa²/Hz" in spectrogram(calibrated).attrs["long_name"]


def test_errors_name_the_argument():
    audio = as_audio(NOISE[:3000])
    with pytest.raises(ValueError, match="win_dur: the audio"):
        spectrogram(audio, win_dur=1.0)
    with pytest.raises(ValueError, match="overlap"):
        spectrogram(audio, win_dur=0.1, overlap=1.0)
    with pytest.raises(ValueError, match="freq_lims"):
        spectrogram(audio, win_dur=0.1, freq_lims=(5000, 6000))
    with pytest.raises(ValueError, match="sample_rate"):
        spectrogram(xr.DataArray(NOISE, dims="time"))
    with pytest.raises(TypeError, match="audio"):
        spectrogram(NOISE)


# -- from files --------------------------------------------------------------------------------


def test_file_chunking_does_not_change_frames(tone_dir):
    audio = open_audio_files(tone_dir, T0, T0 + pd.Timedelta(seconds=80))
    by_file = spectrogram(audio, win_dur=0.5).values
    by_seconds = spectrogram(open_audio_files(tone_dir, T0, "2024-04-01T00:01:20Z", chunk=1.3))
    in_memory = spectrogram(audio.compute(), win_dur=0.5).values
    np.testing.assert_array_equal(by_file, in_memory)
    np.testing.assert_array_equal(spectrogram(audio).values, by_seconds.values)


def test_tones_show_at_their_time_and_frequency(tone_dir):
    audio = open_audio_files(tone_dir, T0, T0 + pd.Timedelta(seconds=80))
    spec = spectrogram(audio, win_dur=0.5, overlap=0.5).compute()
    seconds = (spec["time"].values - np.datetime64(T0)) / np.timedelta64(1, "s")
    for freq, a, b in TONES:
        level = spec.sel(frequency=freq)
        loud = seconds[(level > level.median() + 30).values]
        # frames whose whole window is inside the tone are loud; no frame is loud far from it
        assert loud.min() >= a - 0.25 and loud.max() <= b + 0.25
        inside = (seconds - 0.25 >= a) & (seconds + 0.25 <= b)
        assert inside.any() and set(seconds[inside]) <= set(loud)
        # at those times the tone is the strongest bin
        peak = spec["frequency"].values[spec.isel(time=np.flatnonzero(inside)).argmax("frequency")]
        assert set(peak) == {freq}


def test_frames_across_files_and_gaps(tone_dir):
    audio = open_audio_files(tone_dir, T0, T0 + pd.Timedelta(seconds=80))
    spec = spectrogram(audio, win_dur=1.0, overlap=0.5).compute()
    seconds = (spec["time"].values - np.datetime64(T0)) / np.timedelta64(1, "s")
    # samples exist from 0.437 s to 40.437 s and from 60.5 s to 80 s
    covered = ((seconds - 0.5 >= 0.437) & (seconds + 0.5 <= 40.437)) | (seconds - 0.5 >= 60.5)
    np.testing.assert_array_equal(np.isfinite(spec.values).all(axis=1), covered)
    # a frame straddling the f1/f2 boundary (20.437 s) equals the one of the continuous sound
    k = int(np.argmin(np.abs(seconds - 20.437)))
    first = round(20.437 * FS) - 4000 if seconds[k] == 20.437 else int((seconds[k] - 0.5) * FS)
    t = (first + np.arange(FS)) / FS
    direct = spectrogram(as_audio(signal_at(t)), win_dur=1.0).values[0]
    tone = spec["frequency"].values == 2500.0
    assert abs(spec.values[k][tone][0] - direct[tone][0]) < 0.001


def test_generator_writes_mat_png_netcdf(tone_dir, tmp_path):
    gen = SpectrogramGenerator(win_dur=0.5, overlap=0.5, freq_lims=(0, 4000), clim=(-140, -20))
    written = gen.process_directory(tone_dir, tmp_path / "out", save_mat=True)
    names = sorted(p.name for p in written)
    assert len(names) == 9 and all(n.count("-spect.") == 1 for n in names)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == names  # no temporaries
    mat_path = next(p for p in written if p.suffix == ".mat")
    raw = scipy.io.loadmat(mat_path)["SpectData"]
    direct = gen.process_file(tone_dir / mat_path.name.replace("-spect.mat", ".flac"))
    assert raw["PSD"][0, 0].shape == (direct.sizes["frequency"], direct.sizes["time"])
    back = read_hsd_mat(mat_path)
    np.testing.assert_allclose(back.values, direct.values, atol=1e-4)  # float32 values
    assert raw["PSD"][0, 0].dtype == np.float32
    np.testing.assert_array_equal(back["time"].values, direct["time"].values)
    assert "hann window, win_dur 0.5 s" in back.attrs["processing_comment"]
    png = next(p for p in written if p.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nc = next(p for p in written if p.suffix == ".nc")
    with xr.open_dataarray(nc) as loaded:
        np.testing.assert_array_equal(loaded.values, direct.values.astype(np.float32))
        assert loaded.encoding["zlib"] and loaded.encoding["dtype"] == np.float32


def test_generator_defaults_fit_a_laptop(tone_dir, tmp_path):
    """By default: compressed float32 netCDF and a PNG; the ONC-layout MAT only when asked."""
    written = SpectrogramGenerator(win_dur=0.5, freq_lims=(0, 2000)).process_directory(
        tone_dir, tmp_path / "out"
    )
    assert sorted({p.suffix for p in written}) == [".nc", ".png"]
    with xr.open_dataarray(next(p for p in written if p.suffix == ".nc")) as spec:
        assert float(spec.frequency.max()) <= 2000 and spec.dtype == np.float32


def test_plot_needs_matplotlib(monkeypatch, tmp_path):
    spec = spectrogram(as_audio(NOISE))
    for name in ("matplotlib", "matplotlib.dates", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install .intake-onc\[plot\]"):
        plot_spectrogram(spec, tmp_path / "x.png")


def test_agrees_with_the_sandbox_archive_spectrogram(tmp_path):
    """Two independent implementations: the sandbox's one-minute Welch (-spect.mat) and ours."""
    from intake_onc.sandbox.encoders import spectrogram as sandbox_hsd
    from intake_onc.sandbox.synthetic import audio as sandbox_audio

    device, start = "ICLISTENHF6093", "2024-04-01T00:00:01.250Z"
    n = sandbox_audio.file_samples(device)
    samples = sandbox_audio.synth_audio(device, start, n)
    path = tmp_path / "ICLISTENHF6093_20240401T000001.250Z.flac"
    if samples.dtype.kind == "f":
        sf.write(path, samples, FS, subtype="PCM_24")
    else:
        sf.write(path, samples.astype(np.int32) << 8, FS, subtype="PCM_24")
    mat = tmp_path / "ICLISTENHF6093_20240401T000001.250Z-spect.mat"
    mat.write_bytes(sandbox_hsd.archive_spect_mat_bytes(device, start))
    archive = read_hsd_mat(mat)
    ours = spectrogram(open_audio_files([path]), win_dur=1.0, overlap=0.5, db=False).values
    # per minute: the 119 one-second windows (hop 0.5 s) that fit in it, averaged (linear)
    minutes = [ours[120 * m : 120 * m + 119].mean(axis=0) for m in range(5)]
    ours_db = 10 * np.log10(np.array(minutes)) + 170.0  # sandbox calibration, Δf = 1 Hz
    assert archive.shape == ours_db.shape
    np.testing.assert_allclose(archive.values, ours_db, atol=0.01)


def test_the_top_level_function_is_the_spectrograms_function():
    import intake_onc
    import intake_onc.acoustics.spectrogram  # noqa: F401  (importing the module changes nothing)

    spec = intake_onc.spectrogram(as_audio(NOISE), win_dur=0.5)
    xr.testing.assert_identical(spec, spectrogram(as_audio(NOISE), win_dur=0.5))


# --- per-period averages, block alignment, tasks, dask.distributed -------------------------------


@pytest.mark.parametrize("average", ["1min", "7s", 0.3, "PT2S"])
@pytest.mark.parametrize("db", [True, False])
def test_average_is_the_mean_of_linear_psd_per_resample_period(average, db):
    x = np.random.default_rng(5).standard_normal(150 * FS).astype(np.float32)
    x[300_000:300_010] = np.nan  # two NaN frames: left out of their period's mean
    audio = as_audio(x)
    audio.attrs["start_time"] = "2024-04-01T00:00:13.37Z"
    avg = spectrogram(audio, win_dur=0.5, overlap=0.5, db=db, average=average)
    lazy = spectrogram(audio.chunk(time=37_000), win_dur=0.5, overlap=0.5, db=db, average=average)
    np.testing.assert_array_equal(lazy.values, avg.values)  # dask and numpy: the same bits
    xr.testing.assert_identical(lazy.compute(), avg)
    rule = pd.Timedelta(duration_ns(average, argument="average"), "ns")
    lin = spectrogram(audio, win_dur=0.5, overlap=0.5, db=False).resample(time=rule).mean()
    np.testing.assert_array_equal(avg["time"].values, lin["time"].values)
    expected = 10 * np.log10(lin.values) if db else lin.values
    np.testing.assert_allclose(avg.values, expected, rtol=2e-6 if not db else 0, atol=1e-4 * db)
    assert avg.attrs["units"] == ("dB" if db else "1/Hz") and "mean" in avg.attrs["long_name"]
    assert avg.attrs["average"].startswith("PT")


def test_average_without_start_time_counts_seconds_from_the_start():
    audio = as_audio(NOISE)
    del audio.attrs["start_time"]
    avg = spectrogram(audio, win_dur=0.5, overlap=0.5, average=2)
    lazy = spectrogram(audio.chunk(time=9000), win_dur=0.5, overlap=0.5, average=2)
    np.testing.assert_array_equal(avg["time"].values, 2.0 * np.arange(avg.sizes["time"]))
    np.testing.assert_array_equal(lazy.values, avg.values)
    psd = spectrogram(audio, win_dur=0.5, overlap=0.5, db=False).values  # centres 0.25 + k/4
    np.testing.assert_allclose(
        avg.values[1], 10 * np.log10(psd[7:15].astype(np.float64).mean(0)), atol=1e-4
    )
    with pytest.raises(ValueError, match="average"):
        spectrogram(audio, average="-1s")


def test_dask_blocks_hold_whole_minutes_so_resample_needs_no_rechunk():
    x = np.random.default_rng(6).standard_normal(200 * FS).astype(np.float32)
    audio = as_audio(x)
    audio.attrs["start_time"] = "2024-04-01T00:00:41.25Z"
    spec = spectrogram(audio.chunk(time=11_000), win_dur=1.0, overlap=0.5)
    minutes = spec["time"].dt.floor("1min").values
    edges = np.cumsum((0, *spec.chunks[0]))
    assert [len(set(minutes[a:b])) for a, b in zip(edges[:-1], edges[1:], strict=True)] == [1] * 5
    assert spec.chunks[0][1:3] == (120, 120)  # whole minutes of 1 s / 50 % frames
    per_minute = spec.resample(time="1min").mean()
    names = {k[0] if isinstance(k, tuple) else k for k in dict(per_minute.data.dask)}
    assert not [n for n in names if "rechunk" in n]
    xr.testing.assert_allclose(
        per_minute.compute(), spectrogram(audio, 1.0, 0.5).resample(time="1min").mean()
    )


def test_tasks_carry_only_their_own_slice(tone_dir):
    import pickle

    audio = open_audio_files(tone_dir)
    spec = spectrogram(audio, win_dur=1.0, overlap=0.5, average="10s")  # 8000-sample window
    graph = dict(spec.data.__dask_graph__())
    sizes = [len(pickle.dumps(task)) for task in graph.values()]
    assert max(sizes) < 2000, max(sizes)  # no window (32 KB), no table of every file


def test_a_two_process_cluster_computes_the_same_as_the_local_scheduler(tone_dir):
    distributed = pytest.importorskip("distributed")
    audio = open_audio_files(tone_dir)
    spec = spectrogram(audio, win_dur=0.25, overlap=0.5, freq_lims=(500, 3500))
    avg = spectrogram(audio, win_dur=0.25, overlap=0.5, freq_lims=(500, 3500), average="5s")
    expected = spec.compute(scheduler="sync"), avg.compute(scheduler="sync")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        got = spec.compute(), avg.compute()
        values = audio.values  # a distributed scheduler: dask's usual compute
    xr.testing.assert_identical(got[0], expected[0])
    xr.testing.assert_identical(got[1], expected[1])
    np.testing.assert_array_equal(values, audio.compute(scheduler="sync").values)


@pytest.mark.parametrize("chunk", ["file", 7])
@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_values_decode_straight_into_one_array(tone_dir, chunk, scheduler):
    import dask

    audio = open_audio_files(tone_dir, chunk=chunk)
    expected = audio.compute(scheduler="sync").values  # dask's compute: chunks concatenated
    with dask.config.set(scheduler=scheduler):
        values = audio.values
    assert values.dtype == np.float32 and values.shape == expected.shape
    np.testing.assert_array_equal(values, expected)  # the NaN gap of f3 included
    assert np.isnan(values).any() and np.isfinite(values).mean() > 0.7
