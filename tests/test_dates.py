"""ONC's date conventions, as `intake_onc._core.time` implements them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake_onc._core.time import (
    DateParseError,
    datenum_to_datetime64,
    datetime64_to_datenum,
    filename_timestamp,
    format_onc_date,
    parse_date,
    parse_filename_timestamp,
    parse_iso_duration,
    resolve_date_range,
)


def test_a_bare_day_is_midnight_utc():
    assert parse_date("2024-04-01") == pd.Timestamp("2024-04-01T00:00:00")


def test_timezone_aware_inputs_are_converted_to_naive_utc():
    aware = dt.datetime(2024, 4, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert parse_date(aware) == pd.Timestamp("2024-04-01T00:00:00")
    assert parse_date("2024-04-01T00:00:00.000Z").tzinfo is None


def test_onc_wire_format_has_milliseconds_and_z():
    assert format_onc_date("2024-04-01T01:02:03.456789") == "2024-04-01T01:02:03.456Z"
    assert format_onc_date(np.datetime64("2024-04-01")) == "2024-04-01T00:00:00.000Z"


def test_bad_dates_name_the_argument_and_the_expected_format():
    with pytest.raises(DateParseError, match=r"start: could not read 'yesterday'.*ISO 8601"):
        parse_date("yesterday", argument="start")
    with pytest.raises(DateParseError, match="expected a date string"):
        parse_date(3.5)
    with pytest.raises(DateParseError, match=r"end: '2999-01-01' is outside the supported range"):
        parse_date("2999-01-01", argument="end")


def test_iso_durations_relative_to_now_and_to_date_from():
    now = pd.Timestamp("2024-04-02T00:00:00")
    start, end = resolve_date_range("-P1DT1H", "2024-04-02", now=now)
    assert start == pd.Timestamp("2024-03-31T23:00:00")
    start, end = resolve_date_range("2024-04-01", "PT12H30M")
    assert end - start == pd.Timedelta(hours=12, minutes=30)
    with pytest.raises(DateParseError, match="only one of dateFrom and dateTo"):
        resolve_date_range("-P1D", "PT1H")
    with pytest.raises(DateParseError, match="not an ISO 8601 duration"):
        parse_iso_duration("P")


def test_archive_file_stamps_round_trip():
    name = "ICLISTENHF1266_20230111T122000.045Z.flac"
    start = parse_filename_timestamp(name)
    assert start == pd.Timestamp("2023-01-11T12:20:00.045")
    assert filename_timestamp(start) == "20230111T122000.045Z"
    with pytest.raises(DateParseError, match="pass start times explicitly"):
        parse_filename_timestamp("my_recording.flac")


def test_matlab_datenum_epoch():
    assert datetime64_to_datenum(np.datetime64("1970-01-01"))[()] == 719529.0
    assert datenum_to_datetime64([719529.5])[0] == np.datetime64("1970-01-01T12:00")


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 1, 1)))
def test_datenums_round_trip_to_their_float64_precision(when):
    t = np.array([np.datetime64(when, "us")]).astype("datetime64[ns]")
    back = datenum_to_datetime64(datetime64_to_datenum(t))
    assert (
        abs(int(back[0].astype("int64") - t[0].astype("int64"))) <= 20_000
    )  # 20 µs: a datenum's last bit is ~10 µs
