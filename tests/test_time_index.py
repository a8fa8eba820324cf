"""The O(1) datetime64 time index (``intake_onc._core.time_index``) and its users."""

from __future__ import annotations

import pickle
from fractions import Fraction

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_onc._core.time_index import TimeGridIndex, time_grid_coords

NS = 10**9
T0 = pd.Timestamp("2024-04-01").value
STEPS = [
    Fraction(NS, 64_000),
    Fraction(NS, 8_000),
    Fraction(NS, 44_100),
    Fraction(NS, 1),
    Fraction(NS, 4),
    Fraction(NS, 96_001),
]


def expected_labels(start: Fraction, step: Fraction, n: int) -> pd.DatetimeIndex:
    """The oracle: exact rational labels rounded half up, with Python integers."""
    import math

    return pd.DatetimeIndex(
        np.array([math.floor(start + i * step + Fraction(1, 2)) for i in range(n)], "int64").view(
            "M8[ns]"
        )
    )


grids = st.tuples(
    st.integers(T0 - 10**17, T0 + 10**17),
    st.sampled_from(STEPS),
    st.integers(1, 400),
)


@settings(max_examples=60, deadline=None)
@given(grids)
def test_labels_are_exact(grid):
    start, step, n = grid
    idx = TimeGridIndex.from_params(start, step, n)
    assert idx.to_pandas_index().equals(expected_labels(Fraction(start), step, n))


@settings(max_examples=60, deadline=None)
@given(grids, st.data())
def test_sel_matches_pandas(grid, data):
    start, step, n = grid
    ds = xr.Dataset(coords=time_grid_coords(start, step, n))
    ref = ds["time"].to_index()
    ref_ds = xr.Dataset(coords={"time": ref.values})
    i = data.draw(st.integers(0, n - 1))
    label = ref[i]
    assert ds.sel(time=label.to_datetime64())["time"].values == label.to_datetime64()
    assert int(ds.indexes["time"].get_loc(label)) == i
    # any time, nearest / pad / backfill: the position a materialised pandas index gives
    t = data.draw(st.integers(ref[0].value - 2 * int(step), ref[-1].value + 2 * int(step) + 2))
    stamp = pd.Timestamp(t)
    for method in ("nearest", "pad", "backfill"):
        want = ref.get_indexer([stamp], method=method)[0]
        if want < 0:
            with pytest.raises(KeyError):
                ds.sel(time=stamp, method=method)
        else:
            got = ds.sel(time=stamp, method=method)["time"].values
            assert got == ref[want].to_datetime64(), method
    # label slices (inclusive), of Timestamps and of ISO strings
    a, b = sorted(data.draw(st.integers(ref[0].value - 5, ref[-1].value + 5)) for _ in range(2))
    for lo, hi in (
        (pd.Timestamp(a), pd.Timestamp(b)),
        (pd.Timestamp(a).isoformat(), pd.Timestamp(b).isoformat()),
    ):
        got = ds.sel(time=slice(lo, hi))
        want = ref_ds.sel(time=slice(lo, hi))
        np.testing.assert_array_equal(got["time"].values, want["time"].values)
        assert isinstance(got.xindexes["time"], TimeGridIndex)


def test_exact_sel_misses_raise_keyerror():
    ds = xr.Dataset(coords=time_grid_coords("2024-04-01", "1s", 10))
    with pytest.raises(KeyError):
        ds.sel(time="2024-04-01T00:00:00.5")
    with pytest.raises(KeyError):
        ds.sel(time=pd.Timestamp("2024-04-01T00:00:20"), method="nearest", tolerance="1s")
    assert ds.sel(time="2024-04-01T00:00:09.7", method="nearest", tolerance="1s").time.values == (
        np.datetime64("2024-04-01T00:00:09", "ns")
    )


def test_partial_date_string_selects_its_period():
    ds = xr.Dataset(coords=time_grid_coords("2024-04-01T23:00", "1min", 180))
    assert ds.sel(time="2024-04-02").sizes["time"] == 120  # the whole day, as pandas
    assert ds.sel(time="2024-04-01T23:30").time.values == np.datetime64("2024-04-01T23:30", "ns")
    tz = ds.sel(time=pd.Timestamp("2024-04-01T16:30", tz="America/Vancouver"))
    assert tz.time.values == np.datetime64("2024-04-01T23:30", "ns")


@settings(max_examples=60, deadline=None)
@given(
    grids,
    st.integers(-500, 500) | st.none(),
    st.integers(-500, 500) | st.none(),
    st.sampled_from([None, 1, 2, 3, -1, -2, -7]),
)
def test_isel_slices_keep_an_exact_o1_index(grid, a, b, step):
    start, s, n = grid
    ds = xr.Dataset(coords=time_grid_coords(start, s, n))
    ref = expected_labels(Fraction(start), s, n)
    out = ds.isel(time=slice(a, b, step))
    assert isinstance(out.xindexes["time"], TimeGridIndex)
    np.testing.assert_array_equal(out["time"].values, ref[a:b:step].values)
    if out.sizes["time"]:  # selection on a reversed grid works too
        t = out["time"].values[out.sizes["time"] // 2]
        assert out.sel(time=t)["time"].values == t
        assert out.sel(time=t, method="nearest")["time"].values == t


def test_isel_arrays_fall_back_to_pandas():
    ds = xr.Dataset(coords=time_grid_coords("2024-04-01", (NS, 44_100), 1000))
    ref = ds["time"].values
    out = ds.isel(time=[5, 1, -1])
    assert type(out.xindexes["time"]).__name__ == "PandasIndex"
    np.testing.assert_array_equal(out["time"].values, ref[[5, 1, -1]])
    assert ds.isel(time=3)["time"].values == ref[3]


def test_alignment_and_concat_of_grids_with_one_step():
    coords = time_grid_coords("2024-04-01", (NS, 64_000), 64_000)
    a = xr.DataArray(np.arange(64_000.0), coords=coords, dims="time")
    x, y = a.isel(time=slice(0, 1000)), a.isel(time=slice(600, 3000))
    summed = x + y  # inner join: the overlap, still O(1)
    assert isinstance(summed.xindexes["time"], TimeGridIndex)
    np.testing.assert_array_equal(summed["time"].values, a["time"].values[600:1000])
    np.testing.assert_array_equal(summed.values, 2 * np.arange(600.0, 1000.0))
    outer = xr.align(x, y, join="outer")[0]
    assert isinstance(outer.xindexes["time"], TimeGridIndex)
    np.testing.assert_array_equal(outer["time"].values, a["time"].values[:3000])
    joined = xr.concat([x, a.isel(time=slice(1000, 3000))], dim="time")
    assert isinstance(joined.xindexes["time"], TimeGridIndex)
    xr.testing.assert_identical(joined, a.isel(time=slice(0, 3000)))
    gappy = xr.concat([x, a.isel(time=slice(2000, 3000))], dim="time")  # not contiguous
    np.testing.assert_array_equal(
        gappy["time"].values, np.concatenate([a.time.values[:1000], a.time.values[2000:3000]])
    )


def test_five_minutes_at_64_khz_is_tiny_and_pickles():
    coords = time_grid_coords("2024-04-01T00:10:00Z", (NS, 64_000), 64_000 * 300)
    index = coords.xindexes["time"]
    assert len(pickle.dumps(index)) < 1024
    back = pickle.loads(pickle.dumps(index))
    assert back.equals(index) and back.to_pandas_index().equals(index.to_pandas_index())
    assert not index.equals(TimeGridIndex.from_params("2024-04-01T00:10:00Z", (NS, 8_000), 10))
    assert "TimeGridIndex (start=2024-04-01T00:10:00" in repr(index)
    audio = xr.DataArray(da.zeros(64_000 * 300, "f4", chunks=64_000 * 60), coords=coords)
    assert len(pickle.dumps(audio)) < 20_000  # no per-sample array in the pickle


def test_load_and_compute_keep_the_index_lazy():
    coords = time_grid_coords("2024-04-01", (NS, 8_000), 8_000 * 60)
    audio = xr.DataArray(da.zeros(8_000 * 60, "f4", chunks=8_000 * 10), coords=coords)
    for loaded in (audio.compute(), audio.copy().load()):
        assert isinstance(loaded.xindexes["time"], TimeGridIndex)
        assert not isinstance(loaded["time"].variable._data, np.ndarray)  # still lazy
    assert audio.load()["time"].values[-1] == np.datetime64("2024-04-01T00:00:59.999875", "ns")


# --------------------------------------------------------------------------- users


def _audio(fs: int = 8_000, seconds: int = 120):
    from intake_onc.acoustics.windows import audio_from_table

    table = [
        {
            "name": "A_20240401T001000.000Z.flac",
            "start": "2024-04-01T00:10:00Z",
            "sample_rate": fs,
            "n_frames": fs * seconds,
        }
    ]

    def loader(row, i, n):
        return (np.arange(i, i + n) % 1000 / 1000).astype("float32")

    return audio_from_table(table, loader, chunk=30)


def test_audio_is_selectable_by_utc_time():
    a = _audio()
    assert a["time"].dtype == np.dtype("datetime64[ns]")
    assert isinstance(a.xindexes["time"], TimeGridIndex)
    part = a.sel(time=slice("2024-04-01T00:10:30", "2024-04-01T00:11:00"))
    # pandas' partial-string slice: through the end of the second 00:11:00
    assert part.sizes["time"] == 31 * 8_000
    assert part["time"].values[0] == np.datetime64("2024-04-01T00:10:30", "ns")
    assert isinstance(part.xindexes["time"], TimeGridIndex)
    near = a.sel(time="2024-04-01T00:10:12.30001", method="nearest")
    assert near["time"].values == np.datetime64("2024-04-01T00:10:12.300", "ns")
    assert float(near) == pytest.approx((12.3 * 8_000) % 1000 / 1000)
    loaded = a.compute()  # the O(1) index survives compute (no per-sample datetimes)
    assert isinstance(loaded.xindexes["time"], TimeGridIndex)
    assert not isinstance(loaded["time"].variable._data, np.ndarray)


def test_spectrogram_frames_line_up_with_audio_times():
    from intake_onc.acoustics.spectrogram import spectrogram

    a = _audio(fs=44_100, seconds=10)
    spec = spectrogram(a, win_dur=0.5, overlap=0.5)
    nperseg, hop = 22_050, 11_025
    centres = a["time"].values[nperseg // 2 :: hop][: spec.sizes["time"]]
    np.testing.assert_array_equal(spec["time"].values, centres)
    part = a.isel(time=slice(1_001, None))  # a sliced window: its own times, not attrs
    spec2 = spectrogram(part, win_dur=0.5, overlap=0.5)
    np.testing.assert_array_equal(
        spec2["time"].values, part["time"].values[nperseg // 2 :: hop][: spec2.sizes["time"]]
    )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(T0 - 10**17, T0 + 10**17),
    st.sampled_from(STEPS),
    st.lists(st.integers(0, 10 * 365 * 86_400 * 4), min_size=1, max_size=50),
)
def test_labels_deep_into_a_decade_are_exact(start, step, positions):
    # integer grids take a one-multiply path, fractional ones the exact general one
    n = 10 * 365 * 86_400 * 4 + 1
    transform = TimeGridIndex.from_params(start, step, n).transform
    got = transform.labels_ns(np.array(positions, dtype=np.int64))
    want = [int(expected_labels(Fraction(start) + p * step, step, 1).asi8[0]) for p in positions]
    assert got.tolist() == want
