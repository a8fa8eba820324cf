"""The package's time vocabulary: ONC's dates (`intake_onc._core.time`) and the one duration
parser every period, chunk, offset, lookback and timeout argument goes through
(`intake_onc._core.durations`)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake_onc._core.durations import (
    DurationError,
    duration_ns,
    format_iso_duration,
    parse_duration,
)
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


# --- dates: ISO 8601 only, never guessed ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-01", "2024-04-01T00:00:00"),
        ("2024-04-01T12:30", "2024-04-01T12:30:00"),
        ("2024-04-01T12:30:15.250Z", "2024-04-01T12:30:15.250"),
        ("2024-04-01 12:30:15", "2024-04-01T12:30:15"),
        ("2024-04-01T14:00:00+02:00", "2024-04-01T12:00:00"),
        ("20240401T120000Z", "2024-04-01T12:00:00"),
    ],
)
def test_iso_dates_with_or_without_time_ms_z_or_offset_are_read(text, expected):
    assert parse_date(text) == pd.Timestamp(expected)


def test_date_objects_are_read():
    for value in (dt.date(2024, 4, 1), np.datetime64("2024-04-01"), pd.Timestamp("2024-04-01")):
        assert parse_date(value) == pd.Timestamp("2024-04-01")


@pytest.mark.parametrize("text", ["24-04-01", "01/04/2024", "04/01/2024", "1/4/24", "01.04.2024"])
def test_ambiguous_dates_are_refused_with_the_iso_form(text):
    with pytest.raises(DateParseError, match=r"start: .*ambiguous.*'2024-04-01T00:00:00Z'"):
        parse_date(text, argument="start")


# --- durations: one parser for every argument ------------------------------------------------

HOUR = pd.Timedelta(hours=1)


@pytest.mark.parametrize(
    "value",
    [
        3600,
        3600.0,
        np.int64(3600),
        "1h",
        "60min",
        "3600s",
        "1 hour",
        "PT1H",
        "PT60M",
        "PT3600S",
        "0.5h 30min",
        "01:00:00",
        dt.timedelta(hours=1),
        pd.Timedelta("1h"),
        np.timedelta64(1, "h"),
        pd.offsets.Hour(1),
    ],
)
def test_an_hour_written_every_accepted_way(value):
    assert parse_duration(value, argument="period") == HOUR


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.25s", pd.Timedelta(milliseconds=250)),
        ("PT0.25S", pd.Timedelta(milliseconds=250)),
        ("1.5h", pd.Timedelta(minutes=90)),
        ("1D", pd.Timedelta(days=1)),
        ("P1D", pd.Timedelta(days=1)),
        ("P1DT12H", pd.Timedelta(hours=36)),
        ("P2W", pd.Timedelta(days=14)),
        (0.1, pd.Timedelta(milliseconds=100)),
    ],
)
def test_units_fractions_and_iso_forms(value, expected):
    assert parse_duration(value, argument="period") == expected


def test_numbers_are_seconds_and_a_number_in_a_string_is_refused():
    assert parse_duration(3600, argument="period") == HOUR  # never 3.6 µs
    with pytest.raises(DurationError, match=r"period='3600' .*no unit.*'3600s' or '1h'"):
        parse_duration("3600", argument="period")
    with pytest.raises(DurationError, match=r"'1.5s'"):
        parse_duration("1.5", argument="chunk")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("PT1.5", "write 'PT1.5S'"),
        ("P1H", "write 'PT1H'"),
        ("P1DT12", "write 'P1DT12S'"),
        ("pt1h", "write 'PT1H'"),
        ("PT", "'PT1H'"),
        ("P", "'PT1H'"),
        ("P1DT", "'P1DT12H'"),
        ("PT1.5H30M", "only the last part"),
        ("P1M", "years and months"),
        ("P1Y", "years and months"),
    ],
)
def test_iso_durations_are_checked_strictly(text, hint):
    with pytest.raises(DurationError, match=rf"period={text!r} .*{re.escape(hint)}"):
        parse_duration(text, argument="period")


@pytest.mark.parametrize(
    "value", [True, None, float("nan"), float("inf"), "", "soon", "1M", "1Y", "10T", [1]]
)
def test_other_values_are_refused_naming_the_argument(value):
    with pytest.raises(DurationError, match=r"^lookback="):
        parse_duration(value, argument="lookback")


def test_zero_and_negative_durations_only_where_asked():
    with pytest.raises(DurationError, match="sample_period=0 is zero"):
        parse_duration(0, argument="sample_period")
    with pytest.raises(DurationError, match="sample_period='-1s' is negative"):
        parse_duration("-1s", argument="sample_period")
    assert parse_duration(0, argument="lookback", allow_zero=True) == pd.Timedelta(0)
    assert parse_duration("-PT1H", argument="offset", allow_negative=True) == -HOUR
    assert duration_ns("PT1M", argument="period") == 60 * 10**9


def test_type_errors_are_also_type_errors():
    with pytest.raises(TypeError, match="pad_before"):
        parse_duration([1], argument="pad_before")


def test_onc_relative_dates_are_strict_iso_too():
    with pytest.raises(DurationError, match=r"dateFrom='-P1H' .*'-PT1H'"):
        resolve_date_range("-P1H", "2024-04-02")
    with pytest.raises(DurationError, match=r"end='pt12h' .*'PT12H'"):
        resolve_date_range("2024-04-01", "pt12h", names=("start", "end"))


_deltas = st.integers(min_value=-(10**17), max_value=10**17).map(lambda n: pd.Timedelta(n, "ns"))


@given(_deltas)
def test_any_duration_round_trips_through_iso_8601(delta):
    text = format_iso_duration(delta)
    assert parse_duration(text, argument="x", allow_zero=True, allow_negative=True) == delta


@given(st.integers(min_value=1, max_value=10**5), st.sampled_from(["s", "min", "h", "D"]))
def test_n_units_round_trip(n, unit):
    assert parse_duration(f"{n}{unit}", argument="x") == pd.Timedelta(n, unit)


@given(st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False))
def test_seconds_as_a_number_or_with_s_agree(seconds):
    as_text = parse_duration(f"{seconds}s", argument="x", allow_zero=True)
    assert as_text == parse_duration(float(seconds), argument="x", allow_zero=True)


@given(st.text(max_size=12))
def test_random_text_raises_nothing_but_the_named_error(text):
    try:
        parse_duration(text, argument="period", allow_zero=True, allow_negative=True)
    except DurationError as exc:
        assert str(exc).startswith("period=")


# --- every duration argument of the package goes through parse_duration ---------------------


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    import soundfile as sf

    from intake_onc.acoustics.windows import open_audio_files

    folder = tmp_path_factory.mktemp("one-file")
    sf.write(folder / "ICLISTENHF1266_20240401T000000.000Z.wav", np.zeros(8000), 8000)
    return open_audio_files(folder)


@pytest.fixture(scope="module")
def scalar_ds():
    import xarray as xr

    time = pd.date_range("2024-01-01", periods=120, freq="1s")
    return xr.Dataset(
        {"t": ("time", np.arange(120.0)), "t_qc": ("time", np.ones(120, "int8"))},
        coords={"time": time},
    )


@pytest.fixture(scope="module")
def offline_client(tmp_path_factory):
    from intake_onc.client import ONCClient

    return ONCClient(  # nothing listens there: every call below must fail before any request
        token="x", base_url="http://127.0.0.1:9", cache_dir=tmp_path_factory.mktemp("cache")
    )


def _calls():
    from intake_onc.acoustics.clips import clip, coverage
    from intake_onc.acoustics.spectrogram import spectrogram
    from intake_onc.client import ONCClient
    from intake_onc.client.orders import DataProductOrder
    from intake_onc.datasets import open_audio, open_scalar, open_spectrogram
    from intake_onc.scalar.gaps import fill_gaps, sample_periods
    from intake_onc.scalar.resample import resample

    day = {"start": "2024-04-01", "end": "2024-04-02"}
    bad = "3600"
    return {
        "resample:period": lambda f: resample(f.ds, bad),
        "Dataset.onc.resample:period": lambda f: f.ds.onc.resample(bad),
        "resample:sample_period": lambda f: resample(f.ds, 60, sample_period=bad),
        "fill_gaps:sample_period": lambda f: fill_gaps(f.ds, bad),
        "sample_periods:sample_period": lambda f: sample_periods(f.ds, bad),
        "Dataset.onc.fill_gaps:sample_period": lambda f: f.ds.onc.fill_gaps(bad),
        "open_scalar:chunk": lambda f: open_scalar("DEV", **day, chunk=bad, client=f.client),
        "open_audio:chunk": lambda f: open_audio("DEV", **day, chunk=bad, client=f.client),
        "open_spectrogram:timeout": lambda f: open_spectrogram(
            "DEV", **day, source="product", timeout=bad, client=f.client
        ),
        "clip:duration": lambda f: clip(f.audio, 0.5, bad),
        "clip:center": lambda f: clip(f.audio, bad, 0.1),
        "clip:start": lambda f: clip(f.audio, start=bad, duration=0.1),
        "clip:pad_before": lambda f: clip(f.audio, 0.5, 0.1, pad_before=bad),
        "clip:pad_after": lambda f: clip(f.audio, 0.5, 0.1, pad_after=bad),
        "DataArray.onc.clip:duration": lambda f: f.audio.onc.clip(0.5, bad),
        "coverage:by": lambda f: coverage(f.audio, by=bad),
        "spectrogram:win_dur": lambda f: spectrogram(f.audio, win_dur=bad),
        "ONCClient:timeout": lambda f: ONCClient(token="x", timeout=bad),
        "ONCClient:poll_range": lambda f: ONCClient(token="x", poll_range=(bad, bad)),
        "archive_files:lookback": lambda f: f.client.archive_files("DEV", **day, lookback=bad),
        "scalar_data:resample_period": lambda f: f.client.scalar_data(
            "DEV", **day, resample_period=bad
        ),
        "order:poll": lambda f: f.client.order("TSSD", "csv", device_code="DEV", **day, poll=bad),
        "order:timeout": lambda f: f.client.order(
            "TSSD", "csv", device_code="DEV", **day, wait=True, timeout=bad
        ),
        "DataProductOrder.wait:timeout": lambda f: DataProductOrder(f.client, {}).wait(bad),
    }


@pytest.mark.parametrize("where", sorted(_calls()))
def test_every_duration_argument_refuses_a_bare_number_string(
    where, audio, scalar_ds, offline_client
):
    from types import SimpleNamespace

    argument = where.split(":")[1]
    fixtures = SimpleNamespace(audio=audio, ds=scalar_ds, client=offline_client)
    with pytest.raises(DurationError, match=rf"{argument}='3600' .*'3600s'"):
        _calls()[where](fixtures)
