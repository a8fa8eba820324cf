"""Resampling the ONC way: average, minMax, minMaxAvg, the 70 % rule, flags 6/7/9 (semantics.md).

Most cases use ``P = 10 s`` bins of ``T = 1 s`` readings, so ``E = 10`` samples are expected and
a bin is complete with at least 7 valid ones.
"""

from __future__ import annotations

import datetime as dt

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import at, is_lazy, no_compute, regular_ds, scalar_ds, seconds, timestamps

from intake_onc.scalar._resample_kernel import _edges
from intake_onc.scalar.gaps import fill_gaps
from intake_onc.scalar.quality import clean
from intake_onc.scalar.resample import parse_period, resample

NAN = np.nan
NAT = np.datetime64("NaT", "ns")
EPOCH_2024 = np.datetime64("2024-04-01T00:00:00", "ns").astype(np.int64) / 1e9


def ten_second_ds(values, flags=None, start=0.0):
    """Readings every second from ``start`` s after midnight, ``T = 1 s``."""
    flags = np.ones(len(values), dtype=np.int8) if flags is None else flags
    return scalar_ds(
        seconds(start + np.arange(len(values))), {"sample_period": 1.0}, x=(values, flags)
    )


# --- periods and bins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "seconds_"),
    [
        ("1min", 60),
        ("10min", 600),
        ("15min", 900),
        ("1h", 3600),
        ("1D", 86400),
        ("PT1M", 60),
        (60, 60),
        (0.5, 0.5),
        (pd.Timedelta(minutes=10), 600),
        (dt.timedelta(hours=1), 3600),
        (np.timedelta64(15, "m"), 900),
        (pd.offsets.Minute(10), 600),
        (7.2, 7.2),  # beyond ONC: any divisor of a day
    ],
)
def test_period_forms(period, seconds_):
    assert parse_period(period) == round(seconds_ * 1e9)


@pytest.mark.parametrize("period", [7, "7s", "1W", "2D", 0, -60, "soon", True, None, "1ME"])
def test_periods_that_do_not_divide_a_day_are_refused(period):
    with pytest.raises(ValueError, match="period="):
        parse_period(period)


def test_bins_start_at_the_epoch_and_are_stamped_at_their_centre():
    ds = scalar_ds(at("00:00:17", "00:00:45", "00:01:05", "00:03:59.999"), x=[1.0, 2, 3, 4])
    out = resample(ds, "1min", min_completeness=0)
    assert timestamps(out) == ["00:00:30.000", "00:01:30.000", "00:02:30.000", "00:03:30.000"]
    assert out.x_count.values.tolist() == [2, 1, 0, 1]


@pytest.mark.parametrize(
    ("stamp", "period", "centre"),
    [
        ("2024-04-01T10:20:00", "1h", "2024-04-01T10:30:00"),
        ("2024-04-01T10:20:00", "1D", "2024-04-01T12:00:00"),
        ("2024-04-01T00:14:59.999", "15min", "2024-04-01T00:07:30"),
        ("2024-04-01T00:15:00", "15min", "2024-04-01T00:22:30"),
        ("1969-12-31T23:59:59.5", "1min", "1969-12-31T23:59:30"),
    ],
)
def test_bin_of_a_single_reading(stamp, period, centre):
    ds = scalar_ds(np.array([stamp], dtype="datetime64[ns]"), x=[1.0])
    out = resample(ds, period, min_completeness=0)
    assert out.time.values.tolist() == [np.datetime64(centre, "ns").astype(int)]
    assert out.time.dtype == np.dtype("datetime64[ns]")


def test_query_window_is_widened_to_whole_bins():
    ds = ten_second_ds(np.arange(30.0), start=10)  # readings 00:00:10 .. 00:00:39
    out = resample(
        ds, 10, min_completeness=0, start="2024-04-01T00:00:05", end="2024-04-01T00:00:51"
    )
    assert timestamps(out) == [f"00:00:{s}.000" for s in ("05", "15", "25", "35", "45", "55")]
    assert out.x_count.values.tolist() == [0, 10, 10, 10, 0, 0]
    narrow = resample(
        ds, 10, min_completeness=0, start="2024-04-01T00:00:20", end="2024-04-01T00:00:21"
    )
    assert narrow.x_count.values.tolist() == [10]  # samples outside the window are ignored
    with pytest.raises(ValueError, match="start, end"):
        resample(ds, 10, start="2024-04-01")


# --- average ---------------------------------------------------------------------------------


def test_average_of_a_complete_bin():
    out = resample(ten_second_ds(np.arange(1.0, 11.0)), 10)
    assert out.x.values.tolist() == [5.5]
    assert out.x_count.values.tolist() == [10]
    assert out.x_std.values == pytest.approx([np.std(np.arange(1.0, 11.0), ddof=1)])
    assert out.x_qc.values.tolist() == [7]
    assert list(out.data_vars) == ["x", "x_qc", "x_count", "x_std"]


def test_completeness_boundary_is_70_percent_of_the_expected_count():
    values = np.arange(20.0)
    values[[7, 8, 9]] = NAN  # bin 0: 7 valid of E = 10 -> complete
    flags = np.ones(20, dtype=np.int8)
    flags[[10, 11, 12, 13]] = [3, 4, 6, 6]  # bin 1: 6 valid -> incomplete
    out = resample(ten_second_ds(values, flags), 10)
    assert out.x_count.values.tolist() == [7, 6]
    assert out.x_qc.values.tolist() == [7, 6]
    assert out.x.values[0] == 3.0
    assert np.isnan(out.x.values[1])  # incomplete: no value, flag 6 ...
    assert out.x_std.values[1] == pytest.approx(np.std(np.arange(14.0, 20.0), ddof=1))  # std kept


def test_completeness_boundary_at_one_minute():
    """E = 60: 42 valid samples is 70 % exactly."""
    values = np.ones(120)
    values[42:60] = NAN  # 42 valid
    values[60 + 41 : 120] = NAN  # 41 valid
    out = resample(ten_second_ds(values), "1min")
    assert out.x_count.values.tolist() == [42, 41]
    assert out.x_qc.values.tolist() == [7, 6]


def test_min_completeness_is_a_parameter():
    out = resample(ten_second_ds(np.arange(3.0)), 10, min_completeness=0)
    assert out.x_qc.values.tolist() == [7]
    assert out.x.values.tolist() == [1.0]
    strict = resample(ten_second_ds(np.arange(9.0)), 10, min_completeness=1)
    assert strict.x_qc.values.tolist() == [6]


def test_empty_bin_is_nan_count_0_flag_9():
    ds = ten_second_ds(np.arange(30.0)).isel(time=np.r_[0:10, 20:30])
    out = resample(ds, 10)
    assert out.x_count.values.tolist() == [10, 0, 10]
    assert out.x_qc.values.tolist() == [7, 9, 7]
    assert np.isnan(out.x.values[1]) and np.isnan(out.x_std.values[1])


def test_bin_whose_rows_are_all_missing_or_failed_is_empty():
    values = np.r_[np.arange(10.0), np.full(10, NAN)]
    flags = np.r_[np.ones(10), np.full(5, 9), np.full(5, 4)].astype(np.int8)
    values[15:] = 99.0  # failed values, dropped before statistics
    out = resample(ten_second_ds(values, flags), 10)
    assert out.x_count.values.tolist() == [10, 0]
    assert out.x_qc.values.tolist() == [7, 9]


def test_resampling_always_works_on_clean_data():
    values = np.arange(10.0)
    flags = np.ones(10, dtype=np.int8)
    values[3], flags[3] = 1e6, 4  # a spike flagged bad
    ds = ten_second_ds(values, flags)
    for method in ("average", "minMax", "minMaxAvg"):
        raw, cleaned = resample(ds, 10, method), resample(clean(ds), 10, method)
        xr.testing.assert_identical(raw, cleaned)
    out = resample(ds, 10, "minMaxAvg")
    assert out.x_max.values.tolist() == [9.0]
    assert out.x_count.values.tolist() == [9]
    assert out.x.values.tolist() == [np.delete(values, 3).mean()]


# --- minMax ----------------------------------------------------------------------------------


def test_minmax_reports_extremes_with_their_times_and_flags():
    values = [5.0, 1, 9, 1, 9, 3, 4, 2, 7, 8]
    flags = np.int8([1, 2, 1, 1, 8, 1, 1, 1, 1, 1])
    out = resample(ten_second_ds(values, flags), 10, "minMax")
    assert list(out.data_vars) == [
        "x_min",
        "x_min_time",
        "x_min_qc",
        "x_max",
        "x_max_time",
        "x_max_qc",
        "x_count",
    ]
    assert out.x_min.values.tolist() == [1.0]
    assert timestamps(out.rename(time="_", x_min_time="time")) == ["00:00:01.000"]  # first tie
    assert out.x_min_qc.values.tolist() == [2]
    assert out.x_max.values.tolist() == [9.0]
    assert out.x_max_time.values[0] == seconds([2])[0]
    assert out.x_max_qc.values.tolist() == [1]


def test_minmax_of_an_incomplete_bin_keeps_extremes_with_flag_6():
    ds = ten_second_ds([3.0, 1.0, 2.0])
    out = resample(ds, 10, "minMax")
    assert (out.x_min.values[0], out.x_max.values[0]) == (1.0, 3.0)
    assert out.x_min_time.values[0] == seconds([1])[0]
    assert (out.x_min_qc.values[0], out.x_max_qc.values[0]) == (6, 6)


def test_minmax_of_an_empty_bin_is_nan_nat_and_flag_9():
    ds = ten_second_ds(np.arange(30.0)).isel(time=np.r_[0:10, 20:30])
    out = resample(ds, 10, "minMax")
    assert np.isnan(out.x_min.values[1]) and np.isnan(out.x_max.values[1])
    assert np.isnat(out.x_min_time.values[1]) and np.isnat(out.x_max_time.values[1])
    assert (out.x_min_qc.values[1], out.x_max_qc.values[1]) == (9, 9)


# --- minMaxAvg -------------------------------------------------------------------------------


def test_minmaxavg_flag_is_the_worst_among_the_samples_that_entered_the_statistics():
    values = np.arange(50.0)
    flags = np.ones(50, dtype=np.int8)
    flags[3] = 4  # bin 0: a failed sample, dropped by cleaning: it does not count -> 1
    flags[12], values[15] = 2, NAN  # bin 1: 2, and a NaN reading (not a sample) -> 2
    flags[25], values[25] = 9, NAN  # bin 2: a missing row (e.g. a filled gap) -> 1
    flags[30:34] = 0  # bin 3: 6 valid of 10 -> incomplete, 6
    values[30:34] = NAN
    # bin 4: all good -> 1 (the worst sample flag, not 7)
    out = resample(ten_second_ds(values, flags), 10, "minMaxAvg")
    assert out.x_qc.values.tolist() == [1, 2, 1, 6, 1]
    assert out.x_count.values.tolist() == [9, 9, 9, 6, 10]
    assert np.isnan(out.x.values[3])
    assert out.x_min_qc.values.tolist() == [1, 1, 1, 6, 1]
    assert list(out.data_vars) == [
        "x",
        "x_qc",
        "x_count",
        "x_std",
        "x_min",
        "x_min_time",
        "x_min_qc",
        "x_max",
        "x_max_time",
        "x_max_qc",
    ]


@pytest.mark.parametrize(
    ("flags", "worst"), [((1, 2), 2), ((2, 7), 7), ((7, 0), 0), ((0, 8), 8), ((1, 0), 0)]
)
def test_minmaxavg_worst_flag_order(flags, worst):
    flags = np.int8([1, *flags])  # plus one good sample, so that the bin is never empty
    out = resample(ten_second_ds([1.0, 2.0, 3.0], flags), 10, "minMaxAvg", min_completeness=0)
    assert out.x_qc.values.tolist() == [worst]


@pytest.mark.parametrize("failed", [3, 4, 6])
def test_failed_samples_never_flag_a_resampled_value(failed):
    # cleaned away before the statistics, so neither the value nor its flag enters the bin
    out = resample(ten_second_ds([1.0, 2.0, 99.0], np.int8([1, 2, failed])), 10, "minMaxAvg", 0)
    assert out.x_qc.values.tolist() == [2]
    assert out.x.values.tolist() == [1.5] and out.x_count.values.tolist() == [2]


def test_gap_filled_rows_never_flag_a_resampled_value():
    # an hour of 1 Hz data with a 4-sample hole, gap-filled: 3596 of 3600 samples, complete
    values = np.arange(3600.0)
    keep = np.ones(3600, dtype=bool)
    keep[1800:1804] = False
    ds = scalar_ds(seconds(np.flatnonzero(keep)), {"sample_period": 1.0}, x=values[keep])
    out = fill_gaps(ds).pipe(resample, "1h", "minMaxAvg")
    assert out.x_count.values.tolist() == [3596] and out.x_qc.values.tolist() == [1]


def test_minmaxavg_empty_bin_is_flag_9_everywhere():
    ds = ten_second_ds(np.arange(30.0)).isel(time=np.r_[0:10, 20:30])
    out = resample(ds, 10, "minMaxAvg")
    assert [out[v].values[1] for v in ("x_qc", "x_min_qc", "x_max_qc")] == [9, 9, 9]


# --- sample periods --------------------------------------------------------------------------


def test_expected_count_uses_the_sample_period_in_force_at_the_bin_start():
    """Rating: T = 2 s until 00:01:00, then 1 s. Readings every 2 s throughout."""
    ds = scalar_ds(
        seconds(np.arange(0, 180, 2)),
        {"sample_period_starts": [0.0, EPOCH_2024 + 60], "sample_period_values": [2.0, 1.0]},
        x=np.ones(90),
    )
    out = resample(ds, "1min")
    assert out.x_count.values.tolist() == [30, 30, 30]
    assert out.x_qc.values.tolist() == [7, 6, 6]  # E = 30, then E = 60 (30 < 42)
    inside = ds.assign_attrs(sample_period_starts=[0.0, EPOCH_2024 + 30])  # change inside bin 0
    assert resample(inside, "1min").x_qc.values.tolist() == [7, 6, 6]
    assert resample(ds, "1min", sample_period=2).x_qc.values.tolist() == [7, 7, 7]


def test_expected_count_falls_back_to_the_median_step():
    ds = scalar_ds(seconds(np.arange(0, 60, 2)), x=np.ones(30))  # no rating attrs: T = 2 s
    assert resample(ds, "1min").x_qc.values.tolist() == [7]


# --- attrs and errors ------------------------------------------------------------------------


def test_output_records_how_it_was_made():
    ds = regular_ds(600)
    ds.attrs.update(sample_period_starts=[0.0], sample_period_values=[1.0], quality_control="raw")
    ds.coords["depth"] = 985.0
    out = resample(ds, "1min", "minMaxAvg")
    assert out.attrs["resample_type"] == "minMaxAvg"
    assert out.attrs["resample_period"] == 60.0
    assert out.attrs["min_completeness"] == 0.7
    assert out.attrs["quality_control"] == "clean"
    assert out.attrs["data_gaps"] == "fill"
    assert out.attrs["sample_period"] == 60.0
    assert "sample_period_starts" not in out.attrs
    assert out.attrs["device_code"] == "TEST"
    assert float(out.depth) == 985.0
    assert out.x.attrs["units"] == "C"
    assert out.x.attrs["ancillary_variables"] == "x_qc"
    assert out.x.attrs["cell_methods"].startswith("time: mean")
    assert out.x_min.attrs["ancillary_variables"] == "x_min_qc"
    assert out.x_std.attrs["units"] == "C"
    assert out.x_count.attrs["units"] == "1"
    for flag in ("x_qc", "x_min_qc", "x_max_qc"):
        assert out[flag].dtype == np.int8
        assert "flag_meanings" in out[flag].attrs
    assert out.x_count.dtype == np.int64
    assert out.x_min_time.dtype == np.dtype("datetime64[ns]")


def test_resample_errors_name_the_argument():
    ds = regular_ds(20)
    with pytest.raises(ValueError, match="method='median'"):
        resample(ds, 60, method="median")
    with pytest.raises(ValueError, match="min_completeness=1.5"):
        resample(ds, 60, min_completeness=1.5)
    with pytest.raises(ValueError, match="sample_period="):
        resample(ds, 60, sample_period="often")
    with pytest.raises(ValueError, match="already resampled"):
        resample(resample(ds, 60), 600)
    with pytest.raises(ValueError, match="no data variables with QAQC flags"):
        resample(ds.drop_vars(["x_qc"]), 60)
    assert resample(ds, 60, method="MINMAXAVG").attrs["resample_type"] == "minMaxAvg"


def test_resample_of_an_empty_dataset():
    out = resample(regular_ds(5).isel(time=slice(0, 0)), 60, "minMaxAvg")
    assert out.sizes["time"] == 0
    assert "x_max_time" in out


# --- numpy and dask --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["average", "minMax", "minMaxAvg"])
def test_dask_is_lazy_and_identical_to_numpy(method):
    ds = fill_gaps(regular_ds(2000).isel(time=np.r_[0:700, 900:2000]))  # a filled gap
    lazy = ds.chunk(time=333)  # chunk boundaries inside bins
    with no_compute():
        out = resample(lazy, "1min", method)
        assert is_lazy(out)
    assert sum(out.x_count.chunks[0]) == out.sizes["time"]
    xr.testing.assert_identical(out.compute(), resample(ds, "1min", method))


def test_dask_with_a_query_window_and_bins_larger_than_chunks():
    ds = regular_ds(3000)
    window = {"start": "2024-03-31T23:00", "end": "2024-04-01T02:00"}
    out = resample(ds.chunk(time=100), "10min", "minMaxAvg", **window)
    assert out.sizes["time"] == 18
    xr.testing.assert_identical(out.compute(), resample(ds, "10min", "minMaxAvg", **window))


def test_accessor_chain():
    ds = regular_ds(7200)
    out = ds.onc.clean().onc.resample("1h", method="minMaxAvg")
    xr.testing.assert_identical(out, resample(ds, "1h", "minMaxAvg"))
    assert timestamps(out) == ["00:30:00.000", "01:30:00.000"]


# --- the kernel at scale ----------------------------------------------------------------------


def test_bin_edge_search_matches_numpy_searchsorted():
    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(0, 10**6, 20_000))  # with duplicates
    keys = np.arange(-10_000, 10**6 + 5_000, 977)
    assert np.array_equal(_edges(t, keys), np.searchsorted(t, keys))


def test_many_blocks_agree_with_pandas():
    """300,000 readings (several cache blocks, irregular steps, gaps) against pandas."""
    rng = np.random.default_rng(7)
    n = 300_000
    step = rng.choice([1.0, 1.0, 1.0, 0.5, 2.0, 30.0], size=n)
    ds = regular_ds(n, seed=7).assign_coords(time=seconds(np.cumsum(step)))
    out = resample(ds, "1min", "minMaxAvg", min_completeness=0)
    valid = ds.x.where(~ds.x_qc.isin([3, 4, 6])).to_series().dropna()
    bins = valid.groupby(valid.index.floor("1min"))  # non-empty bins only
    expected = bins.agg(["count", "mean", "std", "min", "max", "idxmin", "idxmax"])
    expected = expected.reindex(out.time.values - np.timedelta64(30, "s"))
    assert np.array_equal(out.x_count.values, expected["count"].fillna(0).values)
    np.testing.assert_allclose(out.x.values, expected["mean"].values, rtol=1e-12)
    np.testing.assert_allclose(out.x_std.values, expected["std"].values, rtol=1e-9)
    assert np.array_equal(out.x_min.values, expected["min"].values, equal_nan=True)
    assert np.array_equal(out.x_max.values, expected["max"].values, equal_nan=True)
    assert np.array_equal(out.x_min_time.values, expected["idxmin"].values, equal_nan=True)
    assert np.array_equal(out.x_max_time.values, expected["idxmax"].values, equal_nan=True)


# --- properties ------------------------------------------------------------------------------


@st.composite
def scalar_data(draw):
    """Irregular readings with NaNs and every flag, a bin period and a sample period."""
    n = draw(st.integers(1, 80))
    steps = draw(st.lists(st.integers(1, 4000), min_size=n - 1, max_size=n - 1))
    start = draw(st.sampled_from(["2024-04-01T00:00:00", "1969-12-31T23:59:00"]))
    t = np.datetime64(start, "ns") + np.cumsum([0, *steps]).astype("timedelta64[ms]")
    values = np.array(draw(st.lists(st.integers(-40, 40), min_size=n, max_size=n))) / 4
    values[np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))] = np.nan
    flags = draw(
        st.lists(st.sampled_from([0, 1, 1, 1, 2, 3, 4, 6, 7, 8, 9]), min_size=n, max_size=n)
    )
    ds = scalar_ds(t, x=(values, np.int8(flags)))
    sample_period = draw(st.sampled_from([0.25, 0.5, 1.0, 2.0]))
    period = draw(st.sampled_from([p for p in (1, 2, 5, 10, 60) if p >= sample_period]))
    min_completeness = draw(st.sampled_from([0.0, 0.5, 0.7, 1.0]))
    return ds, period, sample_period, min_completeness


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scalar_data(), method=st.sampled_from(["average", "minMax", "minMaxAvg"]))
def test_resample_properties(data, method):
    ds, period, sample_period, mc = data
    out = resample(ds, period, method, mc, sample_period)
    valid = np.isfinite(ds.x.values) & ~np.isin(ds.x_qc.values, [3, 4, 6])
    assert int(out.x_count.sum()) == int(valid.sum())
    t = ds.time.values.astype(np.int64)
    centres = out.time.values.astype(np.int64)
    half = period * 10**9 // 2
    assert centres[0] - half <= t[0] < centres[0] + half
    assert centres[-1] - half <= t[-1] < centres[-1] + half
    assert np.all(np.diff(centres) == 2 * half)
    chunk = max(1, ds.sizes["time"] // 3)
    xr.testing.assert_identical(
        resample(ds.chunk(time=chunk), period, method, mc, sample_period).compute(), out
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scalar_data(), method=st.sampled_from(["average", "minMax", "minMaxAvg"]))
def test_resample_agrees_with_the_reference_implementation(data, method):
    from intake_onc.sandbox.reference import rules as tssd
    from intake_onc.sandbox.synthetic.scalar import ScalarRecords

    ds, period, sample_period, mc = data
    records = ScalarRecords(ds.time.values, {"x": ds.x.values}, {"x": ds.x_qc.values})
    expected = tssd.resample(
        records, method, period, sample_period=sample_period, min_completeness=mc
    )
    out = resample(ds, period, method, mc, sample_period)
    assert np.array_equal(out.time.values, expected.times)
    assert set(out.data_vars) == set(expected.variables)
    for name, values in expected.variables.items():
        if values.dtype.kind == "f":
            np.testing.assert_allclose(out[name].values, values, rtol=1e-12, atol=1e-12)
        elif values.dtype.kind == "M":
            assert np.array_equal(out[name].values, values, equal_nan=True), name
        else:
            assert np.array_equal(out[name].values, values), name


def test_no_dask_compute_counter_leaks():
    # the refusing scheduler is only active inside ``no_compute``
    assert dask.compute(dask.delayed(1))[0] == 1
