"""The oracle (semantics.md on ScalarRecords), scalardata pages and the TSSD file writers.

Tiny hand-computed cases for every rule, then pages (their union must equal one unpaged request)
and files (parsed back with plain pandas / json / scipy, not the package's readers).
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import scipy.io
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_onc._core.time import datetime64_to_datenum, format_onc_date
from intake_onc.sandbox.encoders import scalar_pages, tssd_csv
from intake_onc.sandbox.products import tssd_files, tssd_options
from intake_onc.sandbox.products.tssd_options import metadata_filename, parse_tssd_options
from intake_onc.sandbox.reference import scalar_series as series
from intake_onc.sandbox.reference.rules import (
    ResampledRecords,
    clean,
    fill_gaps,
    remove_gaps,
    resample,
)
from intake_onc.sandbox.synthetic.scalar import ScalarRecords, generate

CTD = "SBECTD19p6813"
NOW = "2026-01-01T00:00:00"
T0 = np.datetime64("2024-01-01T00:00:00", "ns")


def at(*seconds: float) -> np.ndarray:
    """Times at these offsets (s) from 2024-01-01T00:00."""
    return T0 + (np.array(seconds, dtype="float64") * 1e9).round().astype("timedelta64[ns]")


def recs(seconds, values, flags=None, *, device_code=None, **more) -> ScalarRecords:
    """Records with sensor ``x`` (and any ``name=(values, flags)`` in ``more``)."""
    flags = [1] * len(values) if flags is None else flags
    vals = {"x": values, **{k: v for k, (v, _) in more.items()}}
    flgs = {"x": flags, **{k: f for k, (_, f) in more.items()}}
    return ScalarRecords(at(*seconds), vals, flgs, device_code)


def same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


# ================================================================================ clean


def test_clean_blanks_flags_3_4_6_and_keeps_the_flags():
    r = recs([0, 1, 2, 3, 4, 5], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 2, 3, 4, 6, 9])
    c = clean(r)
    assert same(c.values["x"], [1.0, 2.0, np.nan, np.nan, np.nan, 6.0])
    assert same(c.flags["x"], [1, 2, 3, 4, 6, 9])
    assert same(r.values["x"], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])  # input untouched
    assert clean(c).equals(c)


# ================================================================================ gaps


def test_fill_gaps_onc_worked_example():
    # T = 1 s: readings 00.000, 01.001, 06.045 -> rows at 02.001, 03.001, 04.001, 05.001
    r = recs([0.0, 1.001, 6.045], [1.0, 2.0, 3.0], [1, 2, 1])
    f = fill_gaps(r, 1.0)
    assert same(f.times, at(0.0, 1.001, 2.001, 3.001, 4.001, 5.001, 6.045))
    assert same(f.values["x"], [1.0, 2.0, np.nan, np.nan, np.nan, np.nan, 3.0])
    assert same(f.flags["x"], [1, 2, 9, 9, 9, 9, 1])
    assert f.flags["x"].dtype == np.int8


def test_fill_gaps_threshold_rounding_and_edges():
    # exactly 1.9 T is not a gap; just over is (n = round(1.901) - 1 = 1)
    assert len(fill_gaps(recs([0, 1.9], [1.0, 2.0]), 1.0)) == 2
    assert same(fill_gaps(recs([0, 1.901], [1.0, 2.0]), 1.0).times, at(0, 1, 1.901))
    # n = round(g / T) - 1 with half to even: 5 s / 2 s = 2.5 -> 2 -> one row; 7/2 = 3.5 -> 4
    assert same(fill_gaps(recs([0, 5], [1.0, 2.0]), 2.0).times, at(0, 2, 5))
    assert same(fill_gaps(recs([0, 7], [1.0, 2.0]), 2.0).times, at(0, 2, 4, 6, 7))
    # nothing before the first or after the last reading; tiny inputs pass through
    assert fill_gaps(recs([], []), 1.0).equals(recs([], []))
    assert fill_gaps(recs([3], [np.nan], [9]), 1.0).equals(recs([3], [np.nan], [9]))


def test_fill_gaps_takes_t_at_the_reading_before_the_gap():
    def period(times):  # 2 s before 00:00:09, then 1 s
        return np.where(times < T0 + np.timedelta64(9, "s"), 2.0, 1.0)

    f = fill_gaps(recs([0, 9, 20], [1.0, 2.0, 3.0]), period)
    # 0 -> 9: T(0) = 2, g = 9, round(4.5) = 4 -> 3 rows at 2, 4, 6; 9 -> 20: T(9) = 1 -> 10 rows
    assert same(f.times, at(0, 2, 4, 6, 9, *range(10, 20), 20))
    # the period at the reading *after* the gap does not matter
    f = fill_gaps(recs([0, 8, 20], [1.0, 2.0, 3.0]), period)
    assert same(f.times, at(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20))


def test_fill_gaps_uses_the_device_rating_by_default():
    # SBECTD19p6813 (ONC's rating): T = 0.25 s before 2019-07-15T18:46:06, 1 s after
    t = np.array(
        [
            "2019-07-15T18:46:05.500",
            "2019-07-15T18:46:06",
            "2019-07-15T18:46:07",
            "2019-07-15T18:46:10",
        ],
        dtype="datetime64[ns]",
    )
    r = ScalarRecords(t, {"x": [1.0, 2.0, 3.0, 4.0]}, {"x": [1, 1, 1, 1]}, CTD)
    f = fill_gaps(r)
    want = np.array(
        [
            "2019-07-15T18:46:05.500",
            "2019-07-15T18:46:05.750",
            "2019-07-15T18:46:06",
            "2019-07-15T18:46:07",
            "2019-07-15T18:46:08",
            "2019-07-15T18:46:09",
            "2019-07-15T18:46:10",
        ],
        dtype="datetime64[ns]",
    )
    # 05.5 -> 06.0 is 0.5 s > 1.9 x 0.25 s (T at the reading before): a gap, one row;
    # 06 -> 07 is T; 07 -> 10 is 3 s > 1.9 x 1 s: two rows
    assert same(f.times, want)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 40_000), min_size=1, max_size=30),
    st.sampled_from([0.5, 1.0, 2.0, 10.0]),
)
def test_fill_gaps_invariants(steps_ms, period):
    seconds = np.concatenate([[0.0], np.cumsum(steps_ms) / 1000.0])
    r = recs(seconds, np.arange(seconds.size, dtype=float))
    f = fill_gaps(r, period)
    real = np.isin(f.times, r.times)
    assert same(f.values["x"][real], r.values["x"])
    assert np.all(f.flags["x"][~real] == 9) and np.all(np.isnan(f.values["x"][~real]))
    assert f.times[0] == r.times[0] and f.times[-1] == r.times[-1]
    period_ns = round(period * 1e9)
    for i, step in enumerate(np.diff(f.times.astype("int64")).tolist()):
        if real[i] and real[i + 1]:  # untouched step: was not a gap
            assert 10 * step <= 19 * period_ns
        else:  # next to an inserted row: within [0.5 T, 1.5 T]
            assert period_ns <= 2 * step <= 3 * period_ns


def test_remove_gaps_is_the_multi_sensor_rule():
    r = recs(
        [0, 1, 2, 3],
        [1.0, np.nan, np.nan, 4.0],
        [1, 9, 4, 1],
        y=([np.nan, 2.0, np.nan, np.nan], [9, 1, 9, 9]),
    )
    kept = remove_gaps(clean(r))
    assert same(kept.times, at(0, 1, 3))
    assert same(kept.values["y"], [np.nan, 2.0, np.nan])
    assert len(remove_gaps(recs([], []))) == 0


# ================================================================================ resample

P60 = 60.0


def test_average_hand_computed():
    # T = 10 s, P = 60 s -> E = 6, complete when count >= 4.2
    r = recs(
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 185],
        [1.0, 2.0, 3.0, 4.0, 5.0, 99.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
        [1, 1, 2, 1, 1, 4, 1, 1, 1, 3, 1, 1],
    )
    out = resample(r, "average", P60, 10.0)
    # bins [0,60) [60,120) [120,180) [180,240): labelled by their centres
    assert same(out.times, at(30, 90, 150, 210))
    v = out.variables
    assert same(v["x"], [3.0, np.nan, np.nan, np.nan])  # 99 was flag 4: dropped by cleaning
    assert same(v["x_count"], [5, 4, 0, 1])
    assert same(v["x_qc"], [7, 6, 9, 6])
    assert v["x_std"][0] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))
    assert v["x_std"][1] == pytest.approx(np.std([1, 2, 3, 5], ddof=1))  # kept when incomplete
    assert np.isnan(v["x_std"][2]) and np.isnan(v["x_std"][3])  # count < 2
    assert v["x_qc"].dtype == np.int8 and v["x_count"].dtype == np.int64
    assert out.method == "average" and out.period == 60.0
    assert resample(r, "avg", P60, 10.0).equals(out)


def test_window_is_widened_to_whole_bins_and_every_bin_is_returned():
    r = recs([61, 62], [1.0, 3.0])
    out = resample(
        r,
        "average",
        P60,
        1.0,
        min_completeness=0,
        start=T0 + np.timedelta64(30, "s"),
        end=T0 + np.timedelta64(185, "s"),
    )
    assert same(out.times, at(30, 90, 150, 210))
    assert same(out.variables["x"], [np.nan, 2.0, np.nan, np.nan])
    assert same(out.variables["x_qc"], [9, 7, 9, 9])
    # no window: first to last reading's bin; empty input: no bins
    assert same(resample(r, "average", P60, 1.0).times, at(90))
    assert len(resample(recs([], []), "minMaxAvg", P60, 1.0)) == 0


def test_minmax_hand_computed():
    r = recs(
        [0, 10, 20, 30, 40, 50, 60, 70, 125, 130, 135, 140, 145],
        [5.0, 1.0, 9.0, 1.0, 3.0, 50.0, 4.0, 6.0, 2.0, 2.0, 8.0, 8.0, 0.0],
        [1, 2, 1, 1, 1, 3, 1, 2, 1, 2, 1, 2, 4],
    )
    out = resample(r, "minMax", P60, 10.0)  # E = 6, threshold 4.2
    v = out.variables
    assert same(out.times, at(30, 90, 150))
    # bin 0: 50 (flag 3) dropped; min 1.0 first at 10 s (flag 2); max 9.0 at 20 s (flag 1)
    assert same(v["x_min"], [1.0, 4.0, 2.0]) and same(v["x_max"], [9.0, 6.0, 8.0])
    assert same(v["x_min_time"], at(10, 60, 125)) and same(v["x_max_time"], at(20, 70, 135))
    assert same(v["x_count"], [5, 2, 4])  # bin 2: the 0.0 was flag 4
    # bins 1 and 2 are incomplete (2 and 4 < 4.2): extremes reported, their flags 6
    assert same(v["x_min_qc"], [2, 6, 6]) and same(v["x_max_qc"], [1, 6, 6])
    assert "x" not in v and "x_std" not in v and "x_qc" not in v
    half = resample(r, "minMax", P60, 10.0, min_completeness=0.5).variables  # threshold 3
    assert same(half["x_min_qc"], [2, 6, 1]) and same(half["x_max_qc"], [1, 6, 1])


def test_minmax_empty_and_incomplete_bins():
    r = recs([0, 125], [1.0, 2.0], [1, 1])
    v = resample(r, "minMax", P60, 10.0).variables
    assert same(v["x_min"], [1.0, np.nan, 2.0])
    assert same(v["x_min_qc"], [6, 9, 6]) and same(v["x_max_qc"], [6, 9, 6])
    assert np.isnat(v["x_min_time"][1]) and v["x_min_time"][2] == at(125)[0]


def test_minmaxavg_worst_flag_counts_only_valid_samples_and_orders_0_after_7():
    # T = 10 s, complete when >= 4.2 valid
    r = recs(
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170],
        [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6],
        [1, 1, 2, 1, 1, 4, 1, 0, 7, 1, 1, 1, 8, 0, 1, 1, 1, 1],
    )
    v = resample(r, "minMaxAvg", P60, 10.0).variables
    assert same(v["x"], [3.0, 3.5, 3.5])
    # the flag-4 value was dropped by cleaning, so it does not count (2 is the worst left);
    # 0 is worse than 7; 8 than 0
    assert same(v["x_qc"], [2, 0, 8])
    assert same(v["x_count"], [5, 6, 6])
    assert same(v["x_min_qc"], [1, 1, 8]) and same(v["x_max_qc"], [1, 1, 1])
    for name in ("x_std", "x_min", "x_min_time", "x_max", "x_max_time"):
        assert name in v
    # incomplete -> 6 whatever the worst flag; empty -> 9
    r2 = recs([0, 10, 70], [1.0, 2.0, np.nan], [3, 1, 9])
    v2 = resample(r2, "minMaxAvg", P60, 10.0).variables
    assert same(v2["x_qc"], [6, 9]) and same(v2["x"], [np.nan, np.nan])
    assert same(v2["x_min"], [2.0, np.nan])
    with pytest.raises(ValueError, match="not ONC QAQC flags"):
        resample(recs([0, 10, 20, 30, 40], [1.0] * 5, [5] * 5), "minMaxAvg", P60, 10.0)


def test_completeness_is_exact():
    # P = 900 s, T = 10 s: E = 90, 0.7 E = 63 exactly (62.999... in floats)
    def bin_of(n):
        return resample(recs(np.arange(n) * 10.0, np.ones(n)), "average", 900, 10.0)

    assert bin_of(63).variables["x_qc"][0] == 7
    assert bin_of(62).variables["x_qc"][0] == 6
    # 0.55 x 180 s / 3 s = 33 exactly, but 33.00000000000001 in floats: 33 samples complete
    exact = resample(
        recs(np.arange(33) * 3.0, np.ones(33)), "average", 180, 3.0, min_completeness=0.55
    )
    assert exact.variables["x_qc"][0] == 7
    assert (
        resample(recs([5], [1.0]), "average", 60, 1.0, min_completeness=0).variables["x_qc"][0] == 7
    )


def test_expected_count_uses_t_at_the_bin_start_across_the_rating_change():
    # around 2019-07-15T18:46:06, T = 0.25 s then 1 s: the 18:45 minute expects 240 samples
    # and has them (complete, 7); the 18:47 minute expects 60 and has 30 (incomplete, 6)
    quarter = np.timedelta64(250, "ms")
    t = np.concatenate(
        [
            np.datetime64("2019-07-15T18:45:00", "ns") + np.arange(240) * quarter,
            np.datetime64("2019-07-15T18:47:00", "ns") + np.arange(30) * np.timedelta64(1, "s"),
        ]
    )
    r = ScalarRecords(t, {"x": np.ones(270)}, {"x": np.ones(270, dtype="int8")}, CTD)
    v = resample(r, "average", 60).variables
    assert same(v["x_qc"], [7, 9, 6])
    assert same(v["x_count"], [240, 0, 30])


def test_single_row_all_nan_and_bad_arguments():
    one = resample(recs([12], [4.0]), "minMaxAvg", 60, 1.0)
    assert same(one.variables["x_min"], [4.0]) and same(one.variables["x_qc"], [6])
    nan = resample(recs([0, 1, 2], [np.nan] * 3, [9, 9, 9]), "average", 60, 1.0)
    assert same(nan.variables["x_qc"], [9]) and same(nan.variables["x_count"], [0])
    with pytest.raises(ValueError, match="divide a day"):
        resample(recs([0], [1.0]), "average", 7, 1.0)
    with pytest.raises(ValueError, match="resample type"):
        resample(recs([0], [1.0]), "median", 60, 1.0)
    with pytest.raises(ValueError, match="sample_period"):
        resample(recs([0], [1.0]), "average", 60)  # no device, one time: no T


def test_remove_gaps_on_resampled_bins_looks_at_every_value():
    r = recs([0, 10, 20, 30, 40, 125], [1.0] * 6)
    avg = resample(r, "average", 60, 10.0)
    assert same(remove_gaps(avg).times, at(30))  # incomplete (NaN) and empty bins dropped
    mmx = resample(r, "minMaxAvg", 60, 10.0)
    assert same(remove_gaps(mmx).times, at(30, 150))  # the incomplete bin still has min/max


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 90_000), st.sampled_from([1, 2, 3, 4, 9])), min_size=1, max_size=40
    )
)
def test_resample_counts_add_up(rows):
    seconds = np.cumsum([s for s, _ in rows]) / 1000.0
    flags = [f for _, f in rows]
    values = [np.nan if f == 9 else float(i) for i, f in enumerate(flags)]
    r = recs(seconds, values, flags)
    out = resample(r, "minMaxAvg", 60, 1.0)
    valid = np.sum(~np.isnan(clean(r).values["x"]))
    assert out.variables["x_count"].sum() == valid
    assert np.all(
        (out.variables["x_min"] <= out.variables["x_max"]) | np.isnan(out.variables["x_min"])
    )


# ================================================================================ pages


def follow_pages(device, date_from, date_to, **kw):
    """All pages of a request, each next dateFrom passed as the ONC string the server sends."""
    pages, start = [], date_from
    while True:
        page = scalar_pages.scalar_page(device, start, date_to, now=NOW, **kw)
        pages.append(page)
        if page.next_date_from is None:
            return pages
        start = format_onc_date(page.next_date_from)


def union(pages):
    rows = [p.rows for p in pages]
    cls = ScalarRecords if isinstance(rows[0], ScalarRecords) else ResampledRecords
    return cls.concat(rows)


@pytest.mark.parametrize(
    "kw",
    [
        dict(fill_gaps=True, quality="clean"),
        dict(fill_gaps=False, quality="raw", sensors=["temperature"]),
        dict(fill_gaps=True, resample_type="avg", resample_period=60),
        dict(fill_gaps=False, resample_type="minMaxAvg", resample_period=60),
    ],
)
def test_union_of_pages_equals_one_unpaged_request(kw):
    a, b = "2024-04-01T04:30:00", "2024-04-01T06:10:00"
    whole = scalar_pages.scalar_page(CTD, a, b, now=NOW, row_limit=10**7, **kw)
    assert whole.next_date_from is None
    limit = 13 if "resample_type" in kw else 733
    pages = follow_pages(CTD, a, b, row_limit=limit, **kw)
    assert len(pages) > 3
    assert all(len(p.rows) == limit for p in pages[:-1])
    assert union(pages).equals(whole.rows)
    for code in whole.data:  # and the JSON payloads concatenate to the unpaged one
        for key, joined in whole.data[code].items():
            assert json.dumps(sum((p.data[code][key] for p in pages), [])) == json.dumps(joined)


def test_gap_rows_appear_on_the_page_that_covers_their_times():
    raw = generate(CTD, "2024-04-01", "2024-04-02", now=NOW)
    steps = np.diff(raw.times.astype("int64"))
    i = int(np.argmax(steps > 30e9))  # a gap longer than 30 s
    before, after = raw.times[i], raw.times[i + 1]
    inside = before + np.timedelta64(10_500, "ms")  # dateFrom inside the gap
    page = scalar_pages.scalar_page(
        CTD, inside, after + np.timedelta64(5, "s"), fill_gaps=True, now=NOW
    )
    first = page.rows.times[0]
    # the first row is an inserted one, continuing the grid of the reading before dateFrom
    assert page.rows.flags["temperature"][0] == 9
    assert (first - before) % np.timedelta64(1, "s") == np.timedelta64(0)
    assert inside <= first < inside + np.timedelta64(1, "s")
    wide = scalar_pages.scalar_page(
        CTD,
        before - np.timedelta64(1, "m"),
        after + np.timedelta64(5, "s"),
        fill_gaps=True,
        now=NOW,
    )
    assert page.rows.equals(wide.rows.between(inside, None))
    # a window entirely inside the gap still gets its NaN rows (from both neighbours' context)
    mid = scalar_pages.scalar_page(
        CTD, inside, inside + np.timedelta64(5, "s"), fill_gaps=True, now=NOW
    )
    assert len(mid.rows) == 5 and np.all(mid.rows.flags["pressure"] == 9)
    assert mid.rows.equals(wide.rows.between(inside, inside + np.timedelta64(5, "s")))


def test_deployment_gap_is_filled_or_left_empty():
    a, b = "2022-06-30T23:59:00", "2022-07-15T00:01:00"
    plain = scalar_pages.scalar_page(CTD, a, b, fill_gaps=False, now=NOW)
    assert len(plain.rows) <= 122  # one minute each side at T = 1 s
    rows, _ = series.scalar_series(
        CTD, "2022-07-05", "2022-07-05T00:01:00", data_gaps="fill", now=NOW
    )
    assert len(rows) == 60 and np.all(rows.flags["salinity"] == 9)  # NaN rows every 1 s
    bins = scalar_pages.scalar_page(
        CTD,
        "2022-07-05",
        "2022-07-05T01:00",
        fill_gaps=True,
        resample_type="avg",
        resample_period=600,
        now=NOW,
    )
    assert len(bins.rows) == 6 and np.all(bins.rows.variables["temperature_qc"] == 9)
    none = scalar_pages.scalar_page(
        CTD,
        "2022-07-05",
        "2022-07-05T01:00",
        fill_gaps=False,
        resample_type="avg",
        resample_period=600,
        now=NOW,
    )
    assert len(none.rows) == 0 and none.sensor_data() is None
    # before the first deployment or after "now" nothing, even filled
    assert (
        len(scalar_pages.scalar_page(CTD, "2019-04-01", "2019-04-02", fill_gaps=True, now=NOW).rows)
        == 0
    )


def test_page_payload_shape():
    page = scalar_pages.scalar_page(
        CTD,
        "2024-04-01T00:00:00",
        "2024-04-01T01:00:00",
        row_limit=100,
        sensors=["pressure"],
        now=NOW,
    )
    assert list(page.data) == ["pressure"]
    d = page.data["pressure"]
    assert set(d) == {"sampleTimes", "values", "qaqcFlags"}
    assert d["sampleTimes"][0] == format_onc_date(page.times[0])
    assert d["sampleTimes"][0].endswith("Z") and len(d["sampleTimes"][0]) == 24
    assert page.next_date_from == pd.Timestamp(page.times[-1]) + pd.Timedelta(1, "ms")
    (item,) = page.sensor_data()
    assert item["sensorCode"] == "pressure" and item["actualSamples"] == 100
    assert item["outputFormat"] == "array" and item["unitOfMeasure"] == "decibar"
    (obj,) = page.sensor_data("object")
    assert obj["data"][0] == {
        "sampleTime": d["sampleTimes"][0],
        "value": d["values"][0],
        "qaqcFlag": d["qaqcFlags"][0],
    }
    mm = scalar_pages.scalar_page(
        CTD,
        "2024-04-01T00:00:00",
        "2024-04-01T00:10:00",
        row_limit=3,
        resample_type="minMax",
        resample_period=60,
        now=NOW,
    )
    assert set(mm.data["salinity"]) == {
        "sampleTimes",
        "counts",
        "minValues",
        "minTimes",
        "minQaqcFlags",
        "maxValues",
        "maxTimes",
        "maxQaqcFlags",
    }
    assert mm.data["salinity"]["sampleTimes"] == [
        "2024-04-01T00:00:30.000Z",
        "2024-04-01T00:01:30.000Z",
        "2024-04-01T00:02:30.000Z",
    ]
    assert mm.next_date_from == pd.Timestamp("2024-04-01T00:03:00")  # end of the last bin
    avg = scalar_pages.scalar_page(
        CTD,
        "2024-04-01T00:00:00",
        "2024-04-01T00:10:00",
        resample_type="avg",
        resample_period=60,
        now=NOW,
    )
    assert {"values", "qaqcFlags", "counts", "stdDevs"} <= set(avg.data["salinity"])
    assert [m["sensorCode"] for m in scalar_pages.sensor_metadata(CTD)] == [
        "temperature",
        "conductivity",
        "pressure",
        "salinity",
    ]


# ================================================================================ files


def read_tssd_csv(body: bytes) -> tuple[dict[str, str], pd.DataFrame]:
    """Header keys and the table, with nothing but pandas."""
    lines = body.decode("utf-8").splitlines()
    end = lines.index("## END HEADER")
    header = {}
    for line in lines[1 : end - 1]:
        key, _, rest = line[1:].partition(":")
        header[key.strip()] = rest.split(" / ")[0].strip()
    names = [n.strip('"') for n in lines[end - 1][1:].split('", "')]
    table = pd.read_csv(io.StringIO("\n".join(lines[end + 1 :])), names=names, header=None)
    return header, table


A, B = "2024-04-01T00:00:00", "2024-04-01T02:00:00"


# -- the CSV header: ONC's frame, realistic fields, the real files' length ------------------------

_KEY_LINE = re.compile(r"^#[A-Z][A-Z0-9 ]*: +\S")
_ADCP, _OXY = "BC_POD1_AD2M", "AANDERAAO2224"  # one sensor (speed); two (oxygen, temperature)


def csv_header_lines(body: bytes) -> list[str]:
    """The header lines before the quoted column line (``## BEGIN HEADER`` included)."""
    lines = body.decode("utf-8").splitlines()
    return lines[: lines.index("## END HEADER") - 1]


def one_csv(device: str, options: dict | None = None) -> bytes:
    end = pd.Timestamp(A) + pd.Timedelta(minutes=10)
    ((_, body),) = tssd_files.build_tssd_files(device, A, end, "csv", options or {}, now=NOW)
    return body


@pytest.mark.parametrize("device", [_ADCP, _OXY])
def test_csv_header_of_a_one_or_two_sensor_device_is_about_52_lines_like_real_files(device):
    assert abs(len(csv_header_lines(one_csv(device))) - 52) <= 10


def test_csv_header_grows_one_block_per_sensor_to_about_113_lines_for_an_8_sensor_ctd():
    lengths = {n: len(csv_header_lines(one_csv(d))) for n, d in [(1, _ADCP), (2, _OXY), (4, CTD)]}
    assert lengths == {n: tssd_csv.header_length(n) for n in lengths}
    assert abs(tssd_csv.header_length(8) - 113) <= 3  # the real CTD file's header=113


def test_csv_header_lines_are_key_value_description_lines_or_the_frame():
    body = one_csv(CTD, {"dpo_resample": "average", "dpo_average": "60"})
    lines = body.decode("utf-8").splitlines()
    end = lines.index("## END HEADER")
    assert lines[0] == "## BEGIN HEADER"
    assert lines[end - 1].startswith('#"Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)", "Temperature (C)"')
    for line in lines[1 : end - 1]:
        assert _KEY_LINE.match(line), line
        assert " / " in line or line.startswith(("#RESAMPTYP:", "#RESAMPPRD:")), line
    assert '#RESAMPTYP: "average"' in lines and '#RESAMPPRD: "60 s"' in lines
    depth = next(line for line in lines if line.startswith("#DEPTH:"))
    assert depth == "#DEPTH:         985.0                            / Depth (m)"  # fragment form
    total = next(line for line in lines if line.startswith("#TOTSAMPLE:"))
    assert re.fullmatch(r"#TOTSAMPLE: +10 +/ Samples in File", total)
    assert one_csv(CTD, {"dpo_resample": "average", "dpo_average": "60"}) == body  # deterministic


def test_csv_header_names_the_device_location_sensors_and_citation():
    header = {}
    for line in csv_header_lines(one_csv(CTD))[1:]:
        key, _, rest = line[1:].partition(":")
        header[key] = rest.strip()
    assert header["DEVICECODE"].startswith(CTD) and header["DEVICECATEGORY"].startswith("CTD")
    assert header["STATION"].startswith("BACAX") and header["NUMSENSORS"].startswith("4")
    assert header["SENSOR 4"] == "salinity / Practical Salinity / psu / salinity"
    assert header["SENSOR 4 DERIVATION"].startswith("derived")
    assert header["SENSOR 1 COLUMNS"].startswith("2-3")
    assert "Ocean Networks Canada" in header["CITATION"]
    assert header["QAQCFLAG9"].endswith("/ Missing Data")


def test_csv_streamed_header_matches_the_built_file(tmp_path):
    opts = {"dpo_resample": "minMax", "dpo_minMax": "60"}
    end = pd.Timestamp(A) + pd.Timedelta(minutes=10)
    ((_, body),) = tssd_files.build_tssd_files(CTD, A, end, "csv", opts, now=NOW)
    ((_, written),) = tssd_files.write_tssd_files(
        CTD, A, end, "csv", opts, tmp_path, now=NOW, step=3
    )
    assert written.path.read_bytes() == body


def test_csv_plain_rows_round_trip():
    raw = generate(CTD, "2024-04-01", "2024-04-02", now=NOW)
    i = int(np.argmax(np.diff(raw.times.astype("int64")) > 5e9))  # a window around a gap
    a = pd.Timestamp(raw.times[i]).floor("h")
    b = a + pd.Timedelta(hours=1)
    files = tssd_files.build_tssd_files(CTD, a, b, "csv", {}, now=NOW)  # defaults: clean, NaN fill
    ((name, body),) = files
    rows, _ = series.scalar_series(CTD, a, b, quality="clean", data_gaps="fill", now=NOW)
    header, table = read_tssd_csv(body)
    assert header["DATEFROM"] == format_onc_date(a)
    assert header["STATION"] == "BACAX" and header["DEVICECODE"] == CTD
    assert header["SAMPLEPERIOD"] == "1.0" and header["QUALITYCONTROL"] == "clean"
    assert header["TOTSAMPLE"] == str(len(rows)) and header["RESAMPTYP"].startswith('"none"')
    assert header["SENSOR 3"] == "pressure"
    assert list(table.columns[:3]) == [
        "Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)",
        "Temperature (C)",
        "Temperature QC Flag",
    ]
    assert "Practical Salinity (psu)" in table.columns
    times = pd.to_datetime(table.iloc[:, 0].str.rstrip("Z")).to_numpy()
    assert same(times, rows.times)
    for label, code in [("Temperature", "temperature"), ("Pressure", "pressure")]:
        unit = {"temperature": "C", "pressure": "decibar"}[code]
        assert same(table[f"{label} ({unit})"].to_numpy(), rows.values[code])  # exact floats
        assert same(table[f"{label} QC Flag"].to_numpy(), rows.flags[code])
    assert (table["Temperature QC Flag"] == 9).any()  # filled gaps are there, as NaN
    assert table.loc[table["Temperature QC Flag"] == 9, "Temperature (C)"].isna().all()
    assert name == (
        "BarkleyCanyonAxis_BarkleyCanyonAxis_ConductivityTemperatureDepth_"
        f"{pd.Timestamp(rows.times[0]):%Y%m%dT%H%M%S}Z_"
        f"{pd.Timestamp(rows.times[-1]):%Y%m%dT%H%M%S}Z-NaN_clean.csv"
    )


def test_csv_resampled_columns_and_values():
    opts = {"dpo_resample": "minMaxAvg", "dpo_minMaxAvg": "600", "dpo_qualityControl": "1"}
    ((name, body),) = tssd_files.build_tssd_files(CTD, A, B, "csv", opts, now=NOW)
    rows, _ = series.scalar_series(
        CTD, A, B, data_gaps="fill", resample_type="minMaxAvg", resample_period=600, now=NOW
    )
    header, table = read_tssd_csv(body)
    assert header["RESAMPPRD"] == '"600 s"'
    assert list(table.columns[1:11]) == [
        "Temperature (C)",
        "Temperature QC Flag",
        "Temperature Count",
        "Temperature Standard Deviation (C)",
        "Temperature Min (C)",
        "Temperature Min Time",
        "Temperature Min QC Flag",
        "Temperature Max (C)",
        "Temperature Max Time",
        "Temperature Max QC Flag",
    ]
    v = rows.variables
    assert same(table["Temperature (C)"], v["temperature"])
    assert same(table["Temperature Standard Deviation (C)"], v["temperature_std"])
    assert same(table["Pressure Count"], v["pressure_count"])
    assert same(
        pd.to_datetime(table["Practical Salinity Max Time"].str.rstrip("Z")), v["salinity_max_time"]
    )
    assert name.endswith("Z-NaN_clean_MinMaxAvg10minute.csv") and "_20240401T000500Z_" in name


def test_csv_split_and_mode_tokens():
    opts = {"dpo_qualityControl": "0", "dpo_dataGaps": "0"}
    files = tssd_files.build_tssd_files(
        CTD, A, "2024-04-01T00:10:00", "csv", opts, now=NOW, max_rows=250
    )
    names = [n for n, _ in files]
    assert len(files) == 3  # ~600 rows
    assert "-" not in names[0].split("Z_")[-1]  # raw, gaps removed: no mode tokens
    assert names[1].endswith("_2.csv") and names[2].endswith("_3.csv")
    tables = [read_tssd_csv(b)[1] for _, b in files]
    assert [len(t) for t in tables[:2]] == [250, 250]
    rows, _ = series.scalar_series(
        CTD, A, "2024-04-01T00:10:00", quality="raw", data_gaps="remove", now=NOW
    )
    assert same(pd.concat(tables)["Conductivity (S/m)"], rows.values["conductivity"])
    assert (pd.concat(tables)["Conductivity QC Flag"] == 3).sum() == (
        rows.flags["conductivity"] == 3
    ).sum()


@pytest.mark.parametrize(
    ("opts", "token"),
    [
        ({"dpo_resample": "average", "dpo_average": "3600"}, "avg1hour"),
        ({"dpo_resample": "average", "dpo_average": "60"}, "avg1minute"),
        ({"dpo_resample": "minMax", "dpo_minMax": "600"}, "MinMax10minute"),
        ({"dpo_resample": "minMaxAvg", "dpo_minMaxAvg": "86400"}, "MinMaxAvg1day"),
        ({"dpo_resample": "average", "dpo_average": "0"}, "avg1minute"),  # auto: 2 h -> 60 s
    ],
)
def test_resample_tokens(opts, token):
    parsed = parse_tssd_options(opts, "csv", A, B)
    assert parsed.mode_tokens == ["NaN", "clean", token]


def test_auto_period_and_bad_options():
    def auto(days):
        end = pd.Timestamp(A) + pd.Timedelta(days=days)
        return parse_tssd_options({"dpo_resample": "average", "dpo_average": "0"}, "csv", A, end)

    assert [auto(d).period for d in (1, 7, 14, 60, 365)] == [60, 600, 900, 3600, 86400]
    with pytest.raises(ValueError, match="dpo_qualityControl"):
        parse_tssd_options({"dpo_qualityControl": "2"}, "csv", A, B)
    with pytest.raises(ValueError, match="dpo_average"):
        parse_tssd_options({"dpo_resample": "average", "dpo_average": "7"}, "csv", A, B)
    with pytest.raises(ValueError, match="extension"):
        parse_tssd_options({}, "pdf", A, B)


@pytest.mark.parametrize("encoding", ["OM", "ONC"])
def test_json_round_trip(encoding):
    opts = {"dpo_resample": "average", "dpo_jsonOutputEncoding": encoding}
    ((name, body),) = tssd_files.build_tssd_files(CTD, A, B, "json", opts, now=NOW)
    assert name.endswith(f"-NaN_clean_avg1minute_{encoding}.json")
    doc = json.loads(body)  # bare NaN is accepted by the standard library
    rows, _ = series.scalar_series(
        CTD, A, B, data_gaps="fill", resample_type="average", resample_period=60, now=NOW
    )
    meta = doc["metadata"]
    assert meta["deviceCode"] == CTD and meta["locationCode"] == "BACAX"
    assert meta["resampleType"] == "average" and meta["resamplePeriod"] == 60
    assert meta["encoding"] == encoding and meta["dataGaps"] == "NaN"
    assert doc["qaqcFlagInfo"]["7"].startswith("Averaged Value")
    item = doc["sensorData"][2]
    assert item["sensorCode"] == "pressure" and item["unitOfMeasure"] == "decibar"
    if encoding == "OM":
        values, counts = item["data"]["values"], item["data"]["counts"]
        first_time = item["data"]["sampleTimes"][0]
    else:
        values = [o["value"] for o in item["data"]]
        counts = [o["count"] for o in item["data"]]
        first_time = item["data"][0]["sampleTime"]
        assert set(item["data"][0]) == {"sampleTime", "value", "qaqcFlag", "count", "stdDev"}
    assert same(values, rows.variables["pressure"])
    assert counts == rows.variables["pressure_count"].tolist()
    assert first_time == "2024-04-01T00:00:30.000Z"


def test_mat_round_trip():
    ((name, body),) = tssd_files.build_tssd_files(
        CTD, A, B, "mat", {"dpo_resample": "minMax"}, now=NOW
    )
    assert name.endswith("-NaN_clean_MinMax1minute.mat")
    mat = scipy.io.loadmat(io.BytesIO(body))
    data, meta = mat["data"][0, 0], mat["metadata"][0, 0]
    rows, _ = series.scalar_series(
        CTD, A, B, data_gaps="fill", resample_type="minMax", resample_period=60, now=NOW
    )
    assert data["time"].shape == (len(rows), 1)
    assert same(data["time"][:, 0], datetime64_to_datenum(rows.times))
    assert same(data["temperature_min"][:, 0], rows.variables["temperature_min"])
    assert same(data["temperature_maxQaqcFlags"][:, 0], rows.variables["temperature_max_qc"])
    assert same(
        data["temperature_minTime"][:, 0],
        datetime64_to_datenum(rows.variables["temperature_min_time"]),
    )
    assert same(data["salinity_count"][:, 0], rows.variables["salinity_count"])
    assert str(meta["deviceCode"][0]) == CTD
    assert [str(c[0]) for c in meta["sensorCodes"].ravel()] == [
        "temperature",
        "conductivity",
        "pressure",
        "salinity",
    ]
    ((_, raw),) = tssd_files.build_tssd_files(
        CTD, A, "2024-04-01T00:05:00", "mat", {"dpo_qualityControl": "0"}, now=NOW
    )
    data = scipy.io.loadmat(io.BytesIO(raw))["data"][0, 0]
    plain, _ = series.scalar_series(
        CTD, A, "2024-04-01T00:05:00", quality="raw", data_gaps="fill", now=NOW
    )
    assert same(data["conductivity"][:, 0], plain.values["conductivity"])
    assert same(data["conductivity_qaqcFlags"][:, 0], plain.flags["conductivity"])


def test_no_data_no_files_and_size_estimates():
    assert (
        tssd_files.build_tssd_files(
            CTD, "2022-07-03", "2022-07-04", "csv", {"dpo_dataGaps": "0"}, now=NOW
        )
        == []
    )
    ((_, body),) = tssd_files.build_tssd_files(CTD, A, B, "csv", {}, now=NOW)
    estimate = tssd_options.estimate_tssd_size(CTD, A, B, {}, now=NOW)
    assert 0.5 < estimate / len(body) < 2.0
    # inside the 2022-07-01 - 07-15 recovery: nothing, unless gaps are filled (NaN rows)
    assert (
        tssd_options.estimate_tssd_size(
            CTD, "2022-07-03", "2022-07-04", {"dpo_dataGaps": "0"}, now=NOW
        )
        == 0
    )
    filled = tssd_options.estimate_tssd_size(CTD, "2022-07-03", "2022-07-04", {}, now=NOW)
    ((_, nan_rows),) = tssd_files.build_tssd_files(
        CTD, "2022-07-03", "2022-07-04", "csv", {}, now=NOW
    )
    assert 0.5 < filled / len(nan_rows) < 2.0
    big = tssd_options.estimate_tssd_size(
        CTD, "2024-01-01", "2025-01-01", {"dpo_resample": "average"}, extension="json", now=NOW
    )
    assert big > 10_000_000


def test_metadata_xml_describes_the_request():
    files = tssd_files.build_tssd_files(CTD, A, B, "csv", {"dpo_qualityControl": "1"}, now=NOW)
    xml = tssd_files.metadata_xml(
        CTD,
        A,
        B,
        "csv",
        {"dpo_qualityControl": "1"},
        files=[(n, len(b)) for n, b in files],
        now=NOW,
    )
    root = ET.fromstring(xml)
    assert root.find("device").get("deviceCode") == CTD
    assert root.find("location").get("locationCode") == "BACAX"
    assert root.find("request").get("dateFrom") == "2024-04-01T00:00:00.000Z"
    assert root.find("options/option").get("name") == "dpo_qualityControl"
    assert root.find("files/file").get("name") == files[0][0]
    assert "Ocean Networks Canada" in root.find("citation").text
    assert metadata_filename(CTD, A, B, "csv", {}, [files[0][0]]) == (
        files[0][0][:-4] + "_CSV_META.xml"
    )


# -- txt (ODV spreadsheet) and nc (CF netCDF) -----------------------------------------------------


def test_txt_is_an_odv_spreadsheet_with_meta_columns_values_and_onc_flags():
    opts = {"dpo_resample": "average", "dpo_average": "60"}
    ((name, body),) = tssd_files.build_tssd_files(CTD, A, B, "txt", opts, now=NOW)
    assert name.endswith("-NaN_clean_avg1minute.txt")
    lines = body.decode("utf-8").splitlines()
    comments = [line for line in lines if line.startswith("//")]
    assert comments[0] == "//<Encoding>UTF-8</Encoding>"
    assert "//<DataType>TimeSeries</DataType>" in comments
    assert '//#RESAMPTYP: "average"' in comments and "//#SENSOR 4 UNIT:" in "\n".join(comments)
    table = pd.read_csv(io.StringIO("\n".join(lines[len(comments) :])), sep="\t")
    assert list(table.columns[:10]) == [
        "Cruise",
        "Station",
        "Type",
        "yyyy-mm-ddThh:mm:ss.sss",
        "Longitude [degrees_east]",
        "Latitude [degrees_north]",
        "Bot. Depth [m]",
        "Depth [m]",
        "Temperature [C]",
        "QV:ONC:Temperature",
    ]
    rows, _ = series.scalar_series(
        CTD, A, B, data_gaps="fill", resample_type="average", resample_period=60, now=NOW
    )
    assert set(table["Cruise"]) == {CTD} and set(table["Station"]) == {"BACAX"}
    assert same(pd.to_datetime(table["yyyy-mm-ddThh:mm:ss.sss"]).to_numpy(), rows.times)
    assert same(table["Practical Salinity [psu]"].to_numpy(), rows.variables["salinity"])
    assert same(table["QV:ONC:Practical Salinity"].to_numpy(), rows.variables["salinity_qc"])
    assert same(table["Temperature Count"].to_numpy(), rows.variables["temperature_count"])
    assert tssd_files.build_tssd_files(CTD, A, B, "txt", opts, now=NOW)[0][1] == body


def test_nc_is_a_cf_netcdf_time_series_with_flag_variables_and_global_facts(tmp_path):
    import xarray as xr

    ((name, body),) = tssd_files.build_tssd_files(
        CTD, A, B, "nc", {"dpo_cast": "all_casts"}, now=NOW
    )
    assert name.endswith("-NaN_clean.nc") and body.startswith(b"\x89HDF")
    (tmp_path / name).write_bytes(body)
    rows, _ = series.scalar_series(CTD, A, B, data_gaps="fill", now=NOW)
    with xr.open_dataset(tmp_path / name, engine="netcdf4") as ds:
        assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["featureType"] == "timeSeries"
        assert ds.attrs["institution"] == "Ocean Networks Canada"
        assert CTD in ds.attrs["source"] and "Ocean Networks Canada" in ds.attrs["citation"]
        assert ds.attrs["geospatial_lat_min"] == ds.latitude.item() == 48.3166
        assert ds.attrs["time_coverage_start"] == format_onc_date(rows.times[0])
        assert ds.attrs["deviceCode"] == CTD and ds.attrs["qualityControl"] == "clean"
        assert ds.station.attrs["cf_role"] == "timeseries_id"
        t = ds.temperature
        assert (t.attrs["units"], t.attrs["standard_name"]) == ("degC", "sea_water_temperature")
        assert t.attrs["long_name"] == "Temperature" and t.attrs["onc_units"] == "C"
        assert t.attrs["ancillary_variables"] == "temperature_qc"
        qc = ds.temperature_qc
        assert qc.dtype == np.int8 and list(qc.attrs["flag_values"]) == [0, 1, 2, 3, 4, 6, 7, 8, 9]
        assert qc.attrs["flag_meanings"].split()[1] == "good"
        assert same(ds.time.values, rows.times.astype("datetime64[ms]").astype("datetime64[ns]"))
        assert same(ds.salinity.values, rows.values["salinity"])
        assert same(qc.values, rows.flags["temperature"])
    again = tssd_files.build_tssd_files(CTD, A, B, "nc", {"dpo_cast": "all_casts"}, now=NOW)
    assert again[0][1] == body  # deterministic bytes
