"""Listing pages read column by column give exactly what ``json.loads`` gives.

:func:`~intake_onc.client.listing.json_columns.loads_with_columns` either returns ``None`` (the caller
then uses ``json.loads``) or the same document with the ``files`` list as columns. These tests
check that promise on generated listings, on listings with one byte changed (text ``json.loads``
rejects must never be accepted) and on a year-shaped page, and that the listing table built from
columns is the table built from dicts.
"""

from __future__ import annotations

import calendar
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_onc.client.archive import _has_duplicates
from intake_onc.client.listing.columns import RecordColumns, StrColumn
from intake_onc.client.listing.json_columns import (
    _by_quotes,
    _fixed_layout,
    loads_with_columns,
    parse_records,
)
from intake_onc.client.listing.table import _parse_onc_times, files_frame, merge_files

TOKEN = "5f1c9a2e-7d3b-4c8a-9e1f-0a2b3c4d5e6f"


def scrub(body: bytes) -> str:
    return body.decode("utf-8", "replace").replace(TOKEN, "***")


def as_json(data):
    """``data`` with every RecordColumns turned into the records json.loads gives."""
    if isinstance(data, dict):
        return {k: as_json(v) for k, v in data.items()}
    if isinstance(data, RecordColumns):
        return data.to_records()
    return data


def check(body: bytes) -> object:
    """loads_with_columns agrees with json.loads (or declines); returns what it gave."""
    got = loads_with_columns(body, "files", scrub=scrub, secret=TOKEN)
    try:
        expected = json.loads(scrub(body))
    except ValueError:
        assert got is None
        return None
    if got is not None:
        assert as_json(got) == expected
        assert list(got) == list(expected)  # same member order
        assert TOKEN not in repr(as_json(got))
    return got


def record(i: int, size: int = 50_454_821, name: str = "ICLISTENHF6324") -> dict:
    minute = i * 5
    stamp = f"2024-01-01T{minute // 60 % 24:02d}:{minute % 60:02d}:01.709Z"
    return {
        "archivedDate": stamp,
        "compression": None,
        "dataProductFormatId": 156,
        "dateFrom": stamp,
        "dateTo": stamp,
        "deviceCode": name,
        "fileSize": size,
        "filename": f"{name}_{stamp.replace('-', '').replace(':', '')}.flac",
        "modifyDate": stamp,
        "uncompressedFileSize": size,
    }


def page(files, **more) -> bytes:
    doc = {
        "citations": [{"citation": "Ocean Networks Canada Society. 2023.", "queryPid": None}],
        "files": files,
        "messages": [],
        "next": {"parameters": {"token": TOKEN, "page": "2"}, "url": f"x?token={TOKEN}"},
        "queryUrl": f"http://127.0.0.1/api/archivefile/device?token={TOKEN}",
        **more,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


# -- the regular form is read by columns ------------------------------------------------------
def test_a_listing_page_is_read_by_columns_and_scrubbed():
    body = page([record(i) for i in range(300)])
    got = check(body)
    assert isinstance(got["files"], RecordColumns) and len(got["files"]) == 300
    assert got["next"]["parameters"]["token"] == "***"
    assert got["queryUrl"].endswith("token=***")


def test_fixed_and_varying_layouts_give_the_same_columns():
    files = [record(i, size=10**7 if i % 3 else 9 * 10**6) for i in range(50)]
    body = page(files)
    start = body.index(b'"files":[') + 8
    end = body.index(b"]", start)
    template = json.loads(json.dumps(files[0]))
    by_quotes = _by_quotes(np.frombuffer(body, np.uint8), start, end, template)
    assert by_quotes.to_records() == files
    assert parse_records(body, start)[0].to_records() == files
    # every record of one length: the fixed layout path, which agrees
    same = page([record(i) for i in range(50)])
    end = same.index(b"]", start)
    arr = np.frombuffer(same, np.uint8)
    template = record(0)
    fixed = _fixed_layout(arr, start, end, template, same.count(b'"', start, end))
    assert fixed is not None
    assert fixed.to_records() == _by_quotes(arr, start, end, template).to_records()


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("whitespace", lambda b: b.replace(b'","dateTo"', b'", "dateTo"', 1)),
        ("escape", lambda b: b.replace(b".flac", b"\\u0041.flac", 1)),
        ("quote in a value", lambda b: b.replace(b".flac", b'".flac', 1)),
        ("leading zero", lambda b: b.replace(b'"fileSize":50454821', b'"fileSize":050454821', 1)),
        ("float", lambda b: b.replace(b'"fileSize":50454821', b'"fileSize":5045482.1', 1)),
        ("keys swapped", lambda b: b.replace(b"modifyDate", b"deviceCodX", 1)),
        ("token in a file name", lambda b: b.replace(b".flac", TOKEN.encode() + b".flac", 2)),
        ("trailing data", lambda b: b + b"x"),
        ("cut short", lambda b: b[: len(b) // 2]),
        ("non-ASCII", lambda b: b.replace(b".flac", "é.flac".encode(), 1)),
    ],
)
def test_anything_irregular_is_left_to_json_loads(name, change):
    body = change(page([record(i) for i in range(20)]))
    got = check(body)
    if name == "whitespace":  # in a record: the record layout differs
        assert got is None
    if name == "token in a file name":
        assert got is None  # the whole text is scrubbed instead


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_one_changed_byte_never_gives_a_different_answer(position, byte):
    body = bytearray(page([record(i, size=10**7 + i) for i in range(12)]))
    body[position % len(body)] = byte
    check(bytes(body))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.text(alphabet="ab.:-_Z0", max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.sampled_from(["a", "dateFrom", "fileSize", "b", "x y", "é"]), min_size=1),
    rows=st.lists(st.lists(SCALARS, min_size=6, max_size=6), min_size=1, max_size=8),
    same_types=st.booleans(),
    compact=st.booleans(),
)
def test_generated_listings_agree_with_json_loads(keys, rows, same_types, compact):
    if same_types:  # mostly the regular form: every record takes the first one's value types
        first = rows[0]
        rows = [
            [v if type(v) is type(f) else f for v, f in zip(r, first, strict=True)] for r in rows
        ]
    files = [dict(zip(keys, r, strict=False)) for r in rows]
    body = json.dumps({"files": files, "next": None}, separators=(",", ":") if compact else None)
    check(body.encode())


# -- the listing table -------------------------------------------------------------------------
def test_the_table_from_columns_is_the_table_from_dicts():
    files = [record(i) for i in range(40)]
    files[7]["dateTo"] = "2024-02-30T00:00:00.000Z"  # not a date: the general parser decides
    body = page(files)
    got = check(body)
    pd.testing.assert_frame_equal(files_frame(got["files"]), files_frame(json.loads(body)["files"]))


@pytest.mark.parametrize("agree", [True, False])
def test_pages_merged_by_columns_give_the_table_of_all_records(agree):
    first = [record(i) for i in range(30)]
    second = [record(i, size=7) for i in range(30, 45)]
    if not agree:
        for f in second:
            f["compression"] = "gzip"
    result = loads_with_columns(page(first), "files", scrub=scrub, secret=TOKEN)
    more = loads_with_columns(page(second), "files", scrub=scrub, secret=TOKEN)
    merge_files(result, more)
    expected = files_frame(first + second)
    pd.testing.assert_frame_equal(files_frame(result["files"]), expected)
    assert list(files_frame(result["files"]).dtypes) == list(expected.dtypes)


def test_string_columns_convert_like_a_list_would():
    col = StrColumn(np.frombuffer(b"abcde", np.uint8), np.array([0, 2, 5]))
    assert col.tolist() == ["ab", "cde"]
    pd.testing.assert_series_equal(pd.Series(col.to_pandas()), pd.Series(["ab", "cde"]))
    fixed = StrColumn.of_width(np.frombuffer(b"abcdef", np.uint8).reshape(3, 2))
    assert fixed == StrColumn(np.frombuffer(b"abcdef", np.uint8), np.array([0, 2, 4, 6]))
    assert fixed.width == 2 and col.width is None and fixed.tolist() == ["ab", "cd", "ef"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1600, 2300),
            st.integers(0, 13),
            st.integers(0, 32),
            st.integers(0, 25),
            st.integers(0, 61),
            st.integers(0, 61),
            st.integers(0, 999),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_fixed_width_times_parse_like_pandas(parts):
    values = [
        f"{y:04d}-{m:02d}-{d:02d}T{H:02d}:{M:02d}:{S:02d}.{ms:03d}Z"
        for y, m, d, H, M, S, ms in parts
    ]
    usual = all(
        1677 < y < 2262
        and 1 <= m <= 12
        and 1 <= d <= calendar.monthrange(y, m)[1]
        and H < 24
        and M < 60
        and S < 60
        for y, m, d, H, M, S, _ in parts
    )
    fast = _parse_onc_times(values)
    if not usual:  # left to pandas' general parser
        assert fast is None
    else:
        expected = [pd.Timestamp(y, m, d, H, M, S, ms * 1000) for y, m, d, H, M, S, ms in parts]
        assert fast.tolist() == pd.DatetimeIndex(expected).as_unit("ns").to_numpy().tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), max_size=8))
def test_the_duplicate_check_is_duplicated_any(names):
    for series in (pd.Series(names, dtype=object), pd.Series(names, dtype="str")):
        assert _has_duplicates(series) == bool(series.duplicated().any())
    ordered = pd.Series(sorted({n for n in names if n}))
    assert _has_duplicates(ordered) == bool(ordered.duplicated().any())
