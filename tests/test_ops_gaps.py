"""Data gaps: sample periods, ``fill`` (NaN rows with flag 9) and ``remove`` (semantics.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import (
    at,
    count_computes,
    is_lazy,
    no_compute,
    regular_ds,
    scalar_ds,
    seconds,
    timestamps,
)

from intake_onc.scalar.gaps import drop_gaps, fill_gaps, sample_periods
from intake_onc.scalar.quality import clean

NAN = np.nan
EPOCH_2024 = np.datetime64("2024-04-01T00:00:00", "ns").astype(np.int64) / 1e9


# --- sample periods --------------------------------------------------------------------------


def test_sample_period_comes_from_the_argument_first():
    ds = scalar_ds(seconds([0, 2, 4]), {"sample_period": 2.0}, x=[1.0, 2, 3])
    assert sample_periods(ds, sample_period=0.5).values.tolist() == [0.5, 0.5, 0.5]
    assert sample_periods(ds, sample_period="250ms").values.tolist() == [0.25] * 3


def test_sample_period_then_from_the_rating_attrs_then_the_median_step():
    ds = scalar_ds(seconds([0, 2, 4, 5, 6]), x=[1.0, 2, 3, 4, 5])
    assert sample_periods(ds).values.tolist() == [1.5] * 5  # median step of (2, 2, 1, 1)
    ds.attrs["sample_period"] = 2.0
    assert sample_periods(ds).values.tolist() == [2.0] * 5
    ds.attrs["sample_period_starts"] = np.array([EPOCH_2024 - 3600, EPOCH_2024 + 4])
    ds.attrs["sample_period_values"] = np.array([2.0, 1.0])
    assert sample_periods(ds).values.tolist() == [2.0, 2.0, 1.0, 1.0, 1.0]


def test_the_first_rating_applies_before_its_start():
    ds = scalar_ds(
        seconds([0, 1]),
        {"sample_period_starts": [EPOCH_2024 + 100], "sample_period_values": [10.0]},
        x=[1.0, 2.0],
    )
    assert sample_periods(ds).values.tolist() == [10.0, 10.0]


def test_sample_period_errors_name_the_problem():
    ds = scalar_ds(seconds([0]), x=[1.0])
    with pytest.raises(ValueError, match="fewer than two time stamps.*sample_period="):
        sample_periods(ds)
    with pytest.raises(ValueError, match="sample_period=-1"):
        sample_periods(ds, sample_period=-1)
    ds.attrs.update(sample_period_starts=[0.0, 1.0], sample_period_values=[1.0])
    with pytest.raises(ValueError, match="sample_period_starts"):
        sample_periods(ds)


# --- fill ------------------------------------------------------------------------------------


def test_fill_onc_worked_example():
    """ONC's "Data Gaps" page, T = 1 s: 4 rows inserted at T steps after the reading before."""
    ds = scalar_ds(at("00:00:00.000", "00:00:01.001", "00:00:06.045"), x=[1.0, 2.0, 3.0])
    out = fill_gaps(ds, sample_period=1)
    assert timestamps(out) == [
        "00:00:00.000",
        "00:00:01.001",
        "00:00:02.001",
        "00:00:03.001",
        "00:00:04.001",
        "00:00:05.001",
        "00:00:06.045",
    ]
    assert np.array_equal(out.x.values, [1, 2, NAN, NAN, NAN, NAN, 3], equal_nan=True)
    assert out.x_qc.values.tolist() == [1, 1, 9, 9, 9, 9, 1]
    assert out.x_qc.dtype == np.int8


def test_fill_a_step_of_exactly_1_9_t_is_not_a_gap():
    ds = scalar_ds(seconds([0, 1.9, 3.8 + 1e-9]), x=[1.0, 2.0, 3.0])
    out = fill_gaps(ds, sample_period=1)
    assert out.sizes["time"] == 4  # only the second step (1.9 s + 1 ns) is a gap
    assert timestamps(out)[2] == "00:00:02.900"


@pytest.mark.parametrize(
    ("step", "inserted"),
    [(2.0, 1), (2.4, 1), (2.5, 1), (2.6, 2), (3.5, 3), (4.5, 3), (10.0, 9)],
)
def test_fill_inserts_round_g_over_t_minus_one_rows_half_to_even(step, inserted):
    ds = scalar_ds(seconds([0, step]), x=[1.0, 2.0])
    assert fill_gaps(ds, sample_period=1).sizes["time"] == 2 + inserted


def test_fill_never_adds_rows_before_the_first_or_after_the_last_reading():
    ds = scalar_ds(seconds([100, 101, 102]), x=[1.0, 2, 3])
    out = fill_gaps(ds, sample_period=1)
    xr.testing.assert_identical(out.drop_attrs(), ds.drop_attrs())


def test_fill_all_sensors_of_a_row_and_keeps_other_variables():
    ds = scalar_ds(seconds([0, 3]), a=([1.0, 2.0], [1, 2]), b=([NAN, 5.0], [9, 3]))
    ds["battery"] = ("time", [12, 11])  # no flags: becomes NaN (float)
    ds.coords["depth"] = 985.0
    out = fill_gaps(ds, sample_period=1)
    assert np.array_equal(out.a.values, [1, NAN, NAN, 2], equal_nan=True)
    assert np.array_equal(out.b.values, [NAN, NAN, NAN, 5], equal_nan=True)
    assert out.a_qc.values.tolist() == [1, 9, 9, 2]
    assert out.b_qc.values.tolist() == [9, 9, 9, 3]
    assert np.array_equal(out.battery.values, [12, NAN, NAN, 11], equal_nan=True)
    assert float(out.depth) == 985.0


def test_fill_records_data_gaps_and_keeps_attrs():
    ds = scalar_ds(seconds([0, 5]), x=[1.0, 2.0])
    ds.time.attrs["standard_name"] = "time"
    out = fill_gaps(ds, sample_period=1)
    assert out.attrs == {**ds.attrs, "data_gaps": "fill"}
    for name in ("x", "x_qc", "time"):
        assert out[name].attrs == ds[name].attrs
    assert out.time.dtype == np.dtype("datetime64[ns]")


def test_fill_uses_the_sample_period_in_force_at_the_reading_before_the_gap():
    """Rating: T = 2 s until 00:00:20, then 1 s."""
    ds = scalar_ds(
        seconds([0, 2, 10, 20, 25]),
        {"sample_period_starts": [0.0, EPOCH_2024 + 20], "sample_period_values": [2.0, 1.0]},
        x=[1.0, 2, 3, 4, 5],
    )
    out = fill_gaps(ds)
    assert timestamps(out) == [
        "00:00:00.000",
        "00:00:02.000",
        "00:00:04.000",  # gap 2 -> 10 at T = 2 s: 3 rows
        "00:00:06.000",
        "00:00:08.000",
        "00:00:10.000",
        "00:00:12.000",  # gap 10 -> 20, still T = 2 s: 4 rows
        "00:00:14.000",
        "00:00:16.000",
        "00:00:18.000",
        "00:00:20.000",
        "00:00:21.000",  # gap 20 -> 25 at T = 1 s: 4 rows
        "00:00:22.000",
        "00:00:23.000",
        "00:00:24.000",
        "00:00:25.000",
    ]


def test_fill_without_rating_uses_the_median_step():
    ds = scalar_ds(seconds([0, 1, 2, 3, 6]), x=[1.0, 2, 3, 4, 5])
    assert timestamps(fill_gaps(ds))[-3:] == ["00:00:04.000", "00:00:05.000", "00:00:06.000"]


def test_fill_accepts_microsecond_times_and_tiny_datasets():
    ds = scalar_ds(seconds([0, 3]), x=[1.0, 2.0]).assign_coords(
        time=np.array(["2024-04-01T00:00:00", "2024-04-01T00:00:03"], dtype="datetime64[us]")
    )
    assert fill_gaps(ds, sample_period=1).sizes["time"] == 4
    one = scalar_ds(seconds([0]), x=[1.0])
    assert fill_gaps(one).sizes["time"] == 1


def test_fill_rejects_unsorted_times():
    ds = scalar_ds(seconds([2, 1]), x=[1.0, 2.0])
    with pytest.raises(ValueError, match="sorted"):
        fill_gaps(ds)


@pytest.mark.parametrize("chunk", [40, 50, 1, 1000])  # 50: a gap right after a chunk's end
def test_fill_is_lazy_on_dask_and_equals_numpy(chunk):
    ds = regular_ds(300).isel(time=np.r_[0:50, 120:200, 201:300])  # two gaps
    with no_compute():
        out = fill_gaps(ds.chunk(time=chunk))
        assert is_lazy(out)
    expected = fill_gaps(ds)
    assert expected.sizes["time"] == 300
    xr.testing.assert_identical(out.compute(), expected)


def test_fill_handles_variables_with_other_dimensions():
    ds = scalar_ds(seconds([0, 3]), x=[1.0, 2.0])
    ds["profile"] = (("depth", "time"), np.arange(6.0).reshape(3, 2))
    ds["status"] = ("time", np.array(["ok", "ok"], dtype=object))
    out = fill_gaps(ds, sample_period=1)
    expected = [[0, NAN, NAN, 1], [2, NAN, NAN, 3], [4, NAN, NAN, 5]]
    assert np.array_equal(out.profile.values, expected, equal_nan=True)
    assert pd.isna(out.status.values).tolist() == [False, True, True, False]
    lazy = fill_gaps(ds.chunk(time=1, depth=2), sample_period=1)
    xr.testing.assert_identical(lazy.compute(), out)


# --- remove ----------------------------------------------------------------------------------


def test_drop_removes_rows_where_every_sensor_is_nan():
    """Multi-sensor rule: a row with any value is kept, the other sensors staying NaN."""
    ds = scalar_ds(
        seconds(range(4)),
        a=([1.0, NAN, NAN, 4.0], [1, 9, 9, 1]),
        b=([NAN, 2.0, NAN, 4.0], [9, 1, 9, 1]),
    )
    out = drop_gaps(ds)
    assert timestamps(out) == ["00:00:00.000", "00:00:01.000", "00:00:03.000"]
    assert np.array_equal(out.a.values, [1, NAN, 4], equal_nan=True)
    assert out.attrs["data_gaps"] == "remove"


def test_drop_after_clean_also_removes_rows_that_failed_qc():
    ds = scalar_ds(
        seconds(range(3)), a=([1.0, 2.0, 3.0], [1, 4, 1]), b=([1.0, 2.0, 3.0], [1, 3, 1])
    )
    assert drop_gaps(ds).sizes["time"] == 3  # raw: the values are there
    assert timestamps(drop_gaps(clean(ds))) == ["00:00:00.000", "00:00:02.000"]


def test_drop_undoes_fill():
    ds = scalar_ds(at("00:00:00.000", "00:00:01.001", "00:00:06.045"), x=[1.0, 2.0, 3.0])
    filled = fill_gaps(ds, sample_period=1)
    xr.testing.assert_identical(drop_gaps(filled).drop_attrs(), ds.drop_attrs())


def test_drop_on_dask_computes_only_the_row_mask_and_stays_dask():
    ds = regular_ds(200)
    ds["x"][10:20] = NAN
    with count_computes() as computes:
        out = drop_gaps(ds.chunk(time=50))
    assert computes.calls == 1  # the boolean row mask, nothing else
    assert is_lazy(out)
    xr.testing.assert_identical(out.compute(), drop_gaps(ds))
    assert out.sizes["time"] == 200 - int(ds.x.isnull().sum())


def test_accessor_fill_and_drop():
    ds = scalar_ds(seconds([0, 3]), x=[1.0, 2.0])
    xr.testing.assert_identical(ds.onc.fill_gaps(1), fill_gaps(ds, 1))
    xr.testing.assert_identical(ds.onc.drop_gaps(), drop_gaps(ds))
    xr.testing.assert_identical(ds.onc.sample_periods(1), sample_periods(ds, 1))


# --- properties ------------------------------------------------------------------------------

steps_ms = st.lists(
    st.one_of(st.integers(1, 1500), st.integers(1, 20_000)), min_size=1, max_size=60
)
periods_ms = st.sampled_from([100, 250, 1000, 2000, 1500, 3333])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps_ms, period_ms=periods_ms)
def test_fill_properties(steps, period_ms):
    offsets = np.concatenate([[0], np.cumsum(steps)]) / 1000
    ds = scalar_ds(seconds(offsets), x=np.arange(len(offsets), dtype=float))
    period = period_ms / 1000
    out = fill_gaps(ds, sample_period=period)
    t = out.time.values.astype(np.int64)
    original = np.isin(t, ds.time.values.astype(np.int64))
    # the readings are all there, unchanged, first and last included
    assert original.sum() == ds.sizes["time"]
    assert original[0] and original[-1]
    assert np.array_equal(out.x.values[original], ds.x.values)
    assert np.all(np.isnan(out.x.values[~original]))
    assert np.all(out.x_qc.values[~original] == 9)
    # no gap is left; steps out of inserted rows are at most 1.5 T
    step = np.diff(t)
    assert np.all(step > 0)
    assert np.all(10 * step <= 19 * period_ms * 10**6)
    touches_inserted = ~original[:-1] | ~original[1:]
    assert np.all(2 * step[touches_inserted] <= 3 * period_ms * 10**6)
    # filling is idempotent
    xr.testing.assert_identical(fill_gaps(out, sample_period=period), out)


@settings(max_examples=150, deadline=None)
@given(steps=steps_ms, period_ms=periods_ms)
def test_fill_agrees_with_the_reference_implementation(steps, period_ms):
    from intake_onc.sandbox.reference import rules as tssd
    from intake_onc.sandbox.synthetic.scalar import ScalarRecords

    offsets = np.concatenate([[0], np.cumsum(steps)]) / 1000
    ds = scalar_ds(seconds(offsets), x=np.arange(len(offsets), dtype=float))
    records = ScalarRecords(ds.time.values, {"x": ds.x.values}, {"x": ds.x_qc.values})
    expected = tssd.fill_gaps(records, period=period_ms / 1000)
    out = fill_gaps(ds, sample_period=period_ms / 1000)
    assert np.array_equal(out.time.values, expected.times)
    assert np.array_equal(out.x.values, expected.values["x"], equal_nan=True)
    assert np.array_equal(out.x_qc.values, expected.flags["x"])
