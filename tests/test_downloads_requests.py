"""Request windows in every form people have them, and precise errors for bad ones.

A timestamp request becomes ``[t - pad_before, t + pad_after)`` (30 s each side by default),
never zero-length; naive times are UTC; explicit ranges are kept as given (plus any padding
they ask for).
"""

from __future__ import annotations

import datetime as dt
import json
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_onc.downloads import RequestError, Window, parse_requests, windows

H = "ICLISTENHF6093"
T = pd.Timestamp("2024-04-01T00:10:00")


def spans(ws):
    return [(w.device_code, str(w.start), str(w.end), w.label) for w in ws]


# --- Python objects -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        "2024-04-01T00:10:00Z",
        "2024-04-01T00:10:00.000Z",
        "2024-04-01T00:10:00",
        dt.datetime(2024, 4, 1, 0, 10),
        dt.datetime(2024, 4, 1, 0, 10, tzinfo=dt.timezone.utc),
        pd.Timestamp("2024-04-01T00:10"),
        [2024, 4, 1, 0, 10, 0],
        (2024, 4, 1, 0, 10, 0),
    ],
)
def test_one_moment_in_any_python_form_is_a_padded_window(moment):
    (w,) = parse_requests(moment, default_device=H)
    assert (w.start, w.end) == (T - pd.Timedelta("30s"), T + pd.Timedelta("30s"))
    assert w.pad_before == w.pad_after == pd.Timedelta("30s")


def test_ranges_dicts_windows_and_lists_mix():
    ws = parse_requests(
        [
            ("2024-04-01T00:00", "2024-04-01T00:05"),
            {"timestamp": "2024-04-01T01:00", "label": "ship", "deviceCode": "ICLISTENHF6324"},
            Window(H, "2024-04-01T02:00", "2024-04-01T02:01", label="given"),
        ],
        default_device=H,
    )
    assert spans(ws) == [
        (H, "2024-04-01 00:00:00", "2024-04-01 00:05:00", ""),
        ("ICLISTENHF6324", "2024-04-01 00:59:30", "2024-04-01 01:00:30", "ship"),
        (H, "2024-04-01 02:00:00", "2024-04-01 02:01:00", "given"),
    ]
    assert windows(H, "2024-04-01", "2024-04-02")[0].duration == pd.Timedelta("1D")


# --- files ------------------------------------------------------------------------------------


def test_current_json_with_defaults_overridden_per_request(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(
        json.dumps(
            {
                "defaults": {"deviceCode": H, "pad_seconds": 10, "clip": True},
                "requests": [
                    {"timestamp": "2024-04-01T00:10:00Z", "label": "whale"},
                    {
                        "timestamp": "2024-04-01T00:20:00Z",
                        "pad_before_seconds": 5,
                        "pad_after_seconds": 60,
                    },
                    {
                        "start": "2024-04-01T01:00:00Z",
                        "end": "2024-04-01T01:05:00Z",
                        "label": "range",
                    },
                    {
                        "timestamp": [2024, 4, 1, 2, 0, 0],
                        "deviceCode": "ICLISTENHF6324",
                        "clip": False,
                    },
                ],
            }
        )
    )
    ws = parse_requests(path)
    assert spans(ws) == [
        (H, "2024-04-01 00:09:50", "2024-04-01 00:10:10", "whale"),
        (H, "2024-04-01 00:19:55", "2024-04-01 00:21:00", ""),
        (H, "2024-04-01 01:00:00", "2024-04-01 01:05:00", "range"),
        ("ICLISTENHF6324", "2024-04-01 01:59:50", "2024-04-01 02:00:10", ""),
    ]
    assert ws[0].options == {"clip": True} and ws[3].options == {"clip": False}


def test_legacy_json(tmp_path):
    path = tmp_path / "legacy.json"
    path.write_text(
        json.dumps(
            {
                H: [[2024, 4, 1, 0, 10, 0], [2024, 4, 1, 0, 20, 0]],
                "ICLISTENHF6324": [[2024, 4, 1, 1, 0, 0]],
            }
        )
    )
    ws = parse_requests(path)
    assert [w.device_code for w in ws] == [H, H, "ICLISTENHF6324"]
    assert all(w.duration == pd.Timedelta("60s") for w in ws)


def test_csv_with_timestamps_ranges_and_pads(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text(
        f"device,timestamp,label,pad_before_seconds,pad_after_seconds\n{H},2024-04-01T00:10:00Z,fin,5,15\n"
    )
    b = tmp_path / "b.csv"
    b.write_text(f"device,start,end,label\n{H},2024-04-01T00:00:00Z,2024-04-01T00:05:00Z,quiet\n")
    assert spans(parse_requests(a)) == [(H, "2024-04-01 00:09:55", "2024-04-01 00:10:15", "fin")]
    assert spans(parse_requests(str(b))) == [
        (H, "2024-04-01 00:00:00", "2024-04-01 00:05:00", "quiet")
    ]


def test_a_dataframe():
    frame = pd.DataFrame(
        {
            "device": [H, H],
            "timestamp": ["2024-04-01T00:10Z", "2024-04-01T00:20Z"],
            "label": ["a", "b"],
        }
    )
    assert [w.label for w in parse_requests(frame)] == ["a", "b"]


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            '{"requests": [{"timestamp": "2024-13-45T99:00:00Z", "deviceCode": "X"}]}',
            "r.json",
            r"r.json: requests\[0\]: timestamp='2024-13-45T99:00:00Z' is not a date",
        ),
        (
            '{"requests": [{"start": "2024-04-02", "end": "2024-04-01", "deviceCode": "X"}]}',
            "r.json",
            r"requests\[0\]: end .* is not after start .*swap them",
        ),
        ('{"requests": [{"timestamp": "2024-04-01"}]}', "r.json", r"requests\[0\]: no device"),
        (
            '{"requests": [{"timestamp": "2024-04-01", "deviceCode": "X", "pad_seconds": -1}]}',
            "r.json",
            "pad_before_seconds=-1",
        ),
        (
            '{"requests": [{"timestamp": "2024-04-01", "deviceCode": "X", "pad_seconds": 0}]}',
            "r.json",
            "zero-length",
        ),
        (
            '{"requests": [{"label": "x", "deviceCode": "X"}]}',
            "r.json",
            "expected a timestamp, or a start and an end",
        ),
        ('{"requests": [,]}', "r.json", r"r.json: not valid JSON \(line 1"),
        ('{"X": "2024-04-01"}', "r.json", "legacy format"),
        ("device,when\nX,2024-04-01\n", "r.csv", "r.csv: expected a 'timestamp' column"),
        ("timestamp\n2024-04-01\n", "r.csv", "r.csv: no device column"),
        ("device,timestamp\nX,yesterday-ish\n", "r.csv", "r.csv: row 2: timestamp='yesterday-ish'"),
        ("", "r.csv", "r.csv: empty file"),
    ],
)
def test_bad_files_name_the_file_the_row_and_the_fix(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(RequestError, match=message):
        parse_requests(path)


def test_a_missing_file_and_a_wrong_type_are_named(tmp_path):
    with pytest.raises(RequestError, match="no such request file"):
        parse_requests(tmp_path / "nope.json")
    with pytest.raises(RequestError, match="cannot read a request from a set"):
        parse_requests({1, 2})
    with pytest.raises(ValueError, match="errors='ignore'"):
        parse_requests("2024-04-01", default_device=H, errors="ignore")


def test_skip_reports_bad_rows_and_returns_the_rest(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        f"device,timestamp,label\n{H},2024-04-01T00:10Z,good\n{H},not-a-date,bad\n{H},2024-04-01T00:20Z,good2\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ws = parse_requests(path, errors="skip")
    assert [w.label for w in ws] == ["good", "good2"]
    assert len(ws.skipped) == 1 and "row 3" in ws.skipped[0]
    assert any("row 3" in str(w.message) for w in caught)


# --- fuzzing ----------------------------------------------------------------------------------

GOOD_JSON = json.dumps(
    {
        "defaults": {"deviceCode": H, "pad_seconds": 30},
        "requests": [
            {"timestamp": "2024-04-01T00:10:00Z", "label": "a"},
            {"start": "2024-04-01T01:00:00Z", "end": "2024-04-01T01:05:00Z"},
        ],
    }
)
GOOD_CSV = f"device,start,end,label\n{H},2024-04-01T00:00:00Z,2024-04-01T00:05:00Z,x\n{H},2024-04-01T01:00:00Z,2024-04-01T01:05:00Z,y\n"


@st.composite
def mutated(draw, text: str) -> str:
    data = bytearray(text.encode())
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] = draw(st.integers(32, 126))
        elif kind == "delete":
            del data[i : i + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[i:i] = draw(
                st.sampled_from([b",", b'"', b"{", b"]", b"\n", b"-99", b"\x00", b"\xff"])
            )
        elif kind == "truncate":
            del data[i:]
        else:
            data[i:i] = data[max(0, i - 20) : i]
    return bytes(data).decode("utf-8", errors="replace")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    content=st.one_of(
        mutated(GOOD_JSON).map(lambda c: ("json", c)), mutated(GOOD_CSV).map(lambda c: ("csv", c))
    )
)
def test_mutated_request_files_parse_or_raise_a_request_error_naming_the_file(
    tmp_path_factory, content
):
    suffix, text = content
    path = tmp_path_factory.mktemp("fuzz") / f"requests.{suffix}"
    path.write_text(text)
    try:
        ws = parse_requests(path)
    except RequestError as exc:
        assert path.name in str(exc) or str(path) in str(exc)
        return
    assert all(w.end > w.start and w.device_code for w in ws)


def test_a_csv_with_only_its_header_is_named_in_the_error(tmp_path):
    path = tmp_path / "requests.csv"
    path.write_text("device,start,end\n")
    with pytest.raises(RequestError, match=r"requests\.csv: no request found"):
        parse_requests(path)
