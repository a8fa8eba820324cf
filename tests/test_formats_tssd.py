"""Reading TSSD CSV/JSON/MAT files into the scalar Dataset layout of semantics.md."""

from __future__ import annotations

import json
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import pandas as pd
import pytest
import scipy.io
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_onc._core.errors import FileFormatError
from intake_onc._core.time import datetime64_to_datenum
from intake_onc.scalar.tssd import read_tssd

DATA = Path(__file__).parent / "data" / "tssd"

# --------------------------------------------------------------------------- writers
# A tiny reference writer for the layouts of docs/architecture.md, driven by one description:
# times (ISO strings), sensors (code, name, unit, property) and per sensor {field: values}.

T = ["2024-04-01T00:00:00.227Z", "2024-04-01T00:00:01.227Z", "2024-04-01T00:00:02.228Z"]
SENSORS = [
    ("temperature", "Temperature", "C", "seawatertemperature"),
    ("conductivity", "Conductivity", "S/m", "conductivity"),
]
PLAIN = [
    {"value": [4.1234, np.nan, 4.1301], "qc": [1, 9, 3]},
    {"value": [3.2101, np.nan, 3.2203], "qc": [2, 9, 1]},
]
FACTS = {
    "deviceCode": "SBECTD19p6813",
    "deviceName": "Sea-Bird SeaCAT SBE19plus V2 6813",
    "locationCode": "BACAX",
    "stationName": "Barkley Canyon Axis",
    "lat": 48.3166,
    "lon": -126.0508,
    "depth": 985.0,
    "samplePeriod": 1.0,
    "qualityControl": "raw",
    "dataGaps": "NaN",
    "resampleType": "none",
    "citation": "Ocean Networks Canada Society. 2024. https://doi.org/10.80242/x",
}
RESAMPLED = [
    {
        "value": [4.0, np.nan, 4.1],
        "qc": [7, 9, 6],
        "count": [60, 0, 12],
        "std": [0.1, np.nan, 0.3],
        "min": [3.9, np.nan, 4.0],
        "min_time": ["2024-04-01T00:00:12.000Z", "NaN", "2024-04-01T00:02:01.003Z"],
        "min_qc": [1, 9, 6],
        "max": [4.2, np.nan, 4.2],
        "max_time": ["2024-04-01T00:00:41.500Z", "NaN", "2024-04-01T00:02:59.999Z"],
        "max_qc": [2, 9, 6],
    }
]
MINMAXAVG = dict(
    fields=RESAMPLED,
    sensors=SENSORS[:1],
    facts=FACTS | {"resampleType": "minMaxAvg", "resamplePeriod": 60, "qualityControl": "clean"},
    times=["2024-04-01T00:00:30.000Z", "2024-04-01T00:01:30.000Z", "2024-04-01T00:02:30.000Z"],
)

CSV_KEYS = {
    "deviceCode": "DEVICECODE",
    "locationCode": "STATION",
    "lat": "LATITUDE",
    "lon": "LONGITUDE",
    "depth": "DEPTH",
    "samplePeriod": "SAMPLEPERIOD",
    "qualityControl": "QUALITYCONTROL",
    "dataGaps": "DATAGAPS",
    "resampleType": "RESAMPTYP",
    "resamplePeriod": "RESAMPPRD",
    "citation": "CITATION",
}
COLUMN = {
    "value": "{n} ({u})",
    "qc": "{n} QC Flag",
    "count": "{n} Count",
    "std": "{n} Standard Deviation ({u})",
    "min": "{n} Min ({u})",
    "min_time": "{n} Min Time",
    "min_qc": "{n} Min QC Flag",
    "max": "{n} Max ({u})",
    "max_time": "{n} Max Time",
    "max_qc": "{n} Max QC Flag",
}
OM = {
    "value": "values",
    "qc": "qaqcFlags",
    "count": "counts",
    "std": "stdDevs",
    "min": "minValues",
    "min_time": "minTimes",
    "min_qc": "minQaqcFlags",
    "max": "maxValues",
    "max_time": "maxTimes",
    "max_qc": "maxQaqcFlags",
}
MAT = {
    "value": "",
    "qc": "_qaqcFlags",
    "count": "_count",
    "std": "_std",
    "min": "_min",
    "min_time": "_minTime",
    "min_qc": "_minQaqcFlags",
    "max": "_max",
    "max_time": "_maxTime",
    "max_qc": "_maxQaqcFlags",
}


def _cell(x: object) -> str:
    if isinstance(x, str):
        return x
    return "NaN" if np.isnan(x) else repr(x)


def write_csv(path, times=T, fields=PLAIN, facts=FACTS, sensors=SENSORS):
    lines = ["## BEGIN HEADER"]
    for key, value in facts.items():
        if key in CSV_KEYS:  # for STATION and DEVICECODE, the "description" is a name
            about = {"locationCode": "stationName", "deviceCode": "deviceName"}.get(key)
            about = facts[about] if about else "a description"
            lines.append(f"#{CSV_KEYS[key]}: {value} / {about}")
    lines += [f"#SENSOR {k + 1}: {' / '.join(s)}" for k, s in enumerate(sensors)]
    names = ["Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)"]
    for (_, name, unit, _), f in zip(sensors, fields, strict=True):
        names += [COLUMN[k].format(n=name, u=unit) for k in f]
    lines += ["#" + ", ".join(f'"{n}"' for n in names), "## END HEADER"]
    for i, t in enumerate(times):
        lines.append(",".join([t] + [_cell(f[k][i]) for f in fields for k in f]))
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def write_json(path, encoding="OM", times=T, fields=PLAIN, facts=FACTS, sensors=SENSORS):
    items = []
    for (code, name, unit, prop), f in zip(sensors, fields, strict=True):
        arrays = {"sampleTimes": list(times)} | {OM[k]: list(v) for k, v in f.items()}
        if encoding == "ONC":  # singular keys, one object per sample
            arrays = [
                {k.removesuffix("s"): v[i] for k, v in arrays.items()} for i in range(len(times))
            ]
        items.append(
            {"sensorCode": code, "sensorName": name, "unitOfMeasure": unit, "propertyCode": prop}
            | {"data": arrays}
        )
    doc = {"metadata": facts | {"encoding": encoding}, "qaqcFlagInfo": {}, "sensorData": items}
    Path(path).write_text(json.dumps(doc))  # bare NaN, as ONC writes it
    return path


def write_mat(path, times=T, fields=PLAIN, facts=FACTS, sensors=SENSORS):
    def datenums(values):
        times = np.array([None if v == "NaN" else v.rstrip("Z") for v in values], "datetime64[ns]")
        return np.where(np.isnat(times), np.nan, datetime64_to_datenum(times))

    data = {"time": datenums(times).reshape(-1, 1)}
    for (code, *_), f in zip(sensors, fields, strict=True):
        for k, v in f.items():
            data[code + MAT[k]] = datenums(v) if k.endswith("time") else np.asarray(v, float)
    meta = dict(facts)
    for key, part in [("sensorCodes", 0), ("sensorNames", 1), ("units", 2), ("propertyCodes", 3)]:
        meta[key] = np.array([s[part] for s in sensors], dtype=object)
    scipy.io.savemat(path, {"metadata": meta, "data": data})
    return path


def assert_same_data(a: xr.Dataset, b: xr.Dataset) -> None:
    """Identical but for the Dataset attrs (which say which files it came from)."""
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- CSV


def test_csv_as_architecture_md_shows_it():
    ds = read_tssd(DATA / "bacax_ctd_avg60.csv")
    assert list(ds.data_vars) == [
        f"{s}{x}" for s in ("temperature", "conductivity") for x in ("", "_qc", "_count", "_std")
    ]
    assert ds.time.dtype == "datetime64[ns]"
    assert str(ds.time.values[0]) == "2024-04-01T00:00:30.000000000"
    assert ds.temperature_qc.dtype == np.int8 and ds.temperature_count.dtype == np.int32
    np.testing.assert_array_equal(ds.temperature_qc, [7, 7, 6, 9, 7])
    assert np.isnan(ds.temperature.values[2:4]).all()
    assert ds.temperature.attrs == {
        "long_name": "Temperature",
        "units": "degC",  # UDUNITS (was ONC's "C", which UDUNITS reads as coulomb)
        "standard_name": "sea_water_temperature",
        "onc_units": "C",
        "cell_methods": "time: mean (interval: 60 s)",
        "coverage_content_type": "physicalMeasurement",
        "onc_sensor_code": "temperature",
        "onc_property_code": "seawatertemperature",
        "ancillary_variables": "temperature_qc",
    }
    assert ds.conductivity_std.attrs["units"] == "S m-1"
    assert float(ds.latitude) == 48.3166 and float(ds.depth) == 985.0
    a = ds.attrs
    assert (a["device_code"], a["location_code"], a["station_name"]) == (
        "SBECTD19p6813",
        "BACAX",
        "Barkley Canyon Axis",
    )
    assert (a["quality_control"], a["data_gaps"], a["source"]) == ("clean", "fill", "file")
    assert (a["resample_type"], a["resample_period"], a["sample_period"]) == ("average", 60, 1)
    assert (a["date_from"], a["date_to"]) == (
        "2024-04-01T00:00:00.000Z",
        "2024-04-01T00:05:00.000Z",
    )
    assert a["creation_date"] == "2026-11-21T08:00:00.000Z"
    assert a["citation"].endswith("https://doi.org/10.80242/example")
    assert a["onc_siteid"] == "1234 / Site identifier"  # unknown keys kept raw


def test_csv_header_tolerates_padding_quotes_and_missing_sensor_lines(tmp_path):
    text = (
        "## BEGIN HEADER\n"
        '#LATITUDE :   48.5    /   Latitude\n#RESAMPTYP:"none"\n#DATAGAPS:  removed\n'
        '#"Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)",  "Practical Salinity  (psu)  ", '
        '"Practical Salinity QC Flag ", "Oxygen Concentration Corrected (ml/l)", '
        '"Oxygen Concentration Corrected QC Flag"\n'
        "## END HEADER\n"
        "2024-04-01T00:00:00.000Z,34.1,1,1.5,2\r\n\n"
    )
    ds = read_tssd(write_text(tmp_path / "x.csv", text))
    assert list(ds.data_vars) == [
        "practical_salinity",
        "practical_salinity_qc",
        "oxygen_concentration_corrected",
        "oxygen_concentration_corrected_qc",
    ]
    assert ds.practical_salinity.attrs["units"] == "1"  # UDUNITS for practical salinity
    assert ds.practical_salinity.attrs["onc_units"] == "psu"
    assert ds.practical_salinity.attrs["long_name"] == "Practical Salinity"
    assert (ds.attrs["latitude"], ds.attrs["data_gaps"], ds.attrs["resample_type"]) == (
        48.5,
        "remove",
        "none",
    )
    assert "longitude" not in ds.coords and "onc_property_code" not in ds.practical_salinity.attrs


def test_csv_resampled_min_max_avg(tmp_path):
    facts = MINMAXAVG["facts"] | {"resampleType": '"minMaxAvg"', "resamplePeriod": '"1 minute"'}
    ds = read_tssd(write_csv(tmp_path / "r.csv", **(MINMAXAVG | {"facts": facts})))
    assert ds.attrs["resample_type"] == "minMaxAvg" and ds.attrs["resample_period"] == 60.0
    assert str(ds.temperature_max_time.values[0]) == "2024-04-01T00:00:41.500000000"
    assert np.isnat(ds.temperature_min_time.values[1])
    assert ds.temperature_min_qc.dtype == np.int8
    assert ds.temperature_min.attrs["ancillary_variables"] == "temperature_min_qc"
    assert ds.temperature_min_qc.attrs["long_name"] == "temperature_min quality flag"


def test_csv_rows_are_sorted_and_repeated_times_dropped(tmp_path):
    times = [T[2], T[0], T[2]]
    ds = read_tssd(write_csv(tmp_path / "u.csv", times))
    assert list(ds.time.values.astype(str)) == [
        "2024-04-01T00:00:00.227000000",
        "2024-04-01T00:00:02.228000000",
    ]
    np.testing.assert_array_equal(ds.temperature, [np.nan, 4.1234])  # first of the repeats


def _big_csv(path, stamps: list[str]):
    """Two sensors at the given time stamps (enough rows for several of pyarrow's blocks)."""
    n = len(stamps)
    fields = [{"value": [1.5] * n, "qc": [1] * n}, {"value": [2.25] * n, "qc": [2] * n}]
    return write_csv(path, stamps, fields)


@pytest.mark.parametrize(
    ("stamp", "zone"),
    [
        ("2024-04-01T00:{m:02d}:{s:02d}Z", "UTC"),  # whole seconds: pyarrow infers timestamp[s]
        ("2024-04-01T00:{m:02d}:{s:02d}.125Z", "UTC"),
        ("2024-04-01T00:{m:02d}:{s:02d}.125", None),  # no zone
        ("2024-04-01 00:{m:02d}:{s:02d}.125Z", "UTC"),  # a space for the T
    ],
    ids=["seconds", "milliseconds", "no-zone", "space"],
)
def test_csv_times_are_nanoseconds_whatever_their_precision(tmp_path, stamp, zone):
    """pyarrow infers the type of the time column (faster than being told it); the times come
    out as datetime64[ns] all the same, to the nanosecond pandas gives."""
    stamps = [stamp.format(m=i // 60, s=i % 60) for i in range(3600)]
    ds = read_tssd(_big_csv(tmp_path / "t.csv", stamps))
    expected = pd.to_datetime(stamps, format="ISO8601", utc=zone is not None)
    expected = expected.tz_localize(None) if zone else expected
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(ds.time.values, expected.to_numpy("datetime64[ns]"))


@pytest.fixture
def arrow_reads(monkeypatch) -> list[dict]:
    """The column types given to each pyarrow read of the CSV readers (time columns: none)."""
    from intake_onc.scalar import _tssd_csv

    reads: list[dict] = []
    read = _tssd_csv._arrow_read
    monkeypatch.setattr(_tssd_csv, "_arrow_read", lambda *a: reads.append(a[-1]) or read(*a))
    return reads


def test_csv_times_whose_precision_changes_deep_in_the_file_are_read_once(tmp_path, arrow_reads):
    """Whole seconds for the first 1.5 MB (several pyarrow blocks), then milliseconds: pyarrow
    infers nanosecond times from the first block, so one untyped read gets them all."""
    stamps = [f"2024-04-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z" for i in range(50_000)]
    stamps += [f"2024-04-02T00:00:{i:02d}.500Z" for i in range(9)]
    path = _big_csv(tmp_path / "p.csv", stamps)
    assert path.stat().st_size > 1.5 * 2**20
    ds = read_tssd(path)
    assert len(arrow_reads) == 1 and "c0" not in arrow_reads[0]
    assert ds.sizes["time"] == len(stamps)
    assert str(ds.time.values[0]) == "2024-04-01T00:00:00.000000000"
    assert str(ds.time.values[-1]) == "2024-04-02T00:00:08.500000000"


def test_a_time_column_of_only_nan_is_read_typed(tmp_path, arrow_reads):
    """A minMaxAvg file whose bins are all empty has no min or max time to infer a type from:
    the file is read a second time with the time types given, and those times are NaT."""
    fields = [dict(MINMAXAVG["fields"][0])]
    fields[0]["min_time"] = fields[0]["max_time"] = ["NaN"] * 3
    ds = read_tssd(write_csv(tmp_path / "r.csv", **(MINMAXAVG | {"fields": fields})))
    assert len(arrow_reads) == 2 and "c0" in arrow_reads[1]
    assert ds.temperature_min_time.dtype == np.dtype("datetime64[ns]")
    assert np.isnat(ds.temperature_min_time.values).all()
    assert str(ds.time.values[0]) == "2024-04-01T00:00:30.000000000"


def test_a_bad_time_deep_in_the_file_names_its_line(tmp_path):
    stamps = [
        f"2024-04-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.125Z" for i in range(40_000)
    ]
    stamps[-2] = "2024-04-01T11:noon"
    path = _big_csv(tmp_path / "b.csv", stamps)
    with pytest.raises(FileFormatError, match="ISO 8601") as info:
        read_tssd(path)
    header_lines = path.read_text().split("## END HEADER")[0].count("\n") + 1
    assert info.value.line == header_lines + len(stamps) - 1


def test_csv_without_rows(tmp_path):
    ds = read_tssd(write_csv(tmp_path / "e.csv", [], [{"value": [], "qc": []}] * 2))
    assert ds.sizes["time"] == 0 and ds.temperature_qc.dtype == np.int8


def test_csv_rating_change_after_a_sample_period_with_a_unit(tmp_path):
    """``#SAMPLEPERIOD: 1 s`` is read as 1.0 for the rating at ``#DATEFROM`` too (it used to
    be re-parsed with ``float()`` there: a bare ValueError once a change line followed)."""
    text = write_csv(tmp_path / "u.csv", facts=FACTS | {"samplePeriod": "1 s"}).read_text()
    extra = (
        "#DATEFROM: 2024-04-01T00:00:00.000Z / Start of the requested range\n"
        "#SAMPLEPERIODCHANGE: 2024-04-01T00:00:02.000Z 2 / Sample period from this time on\n"
    )
    path = write_text(tmp_path / "u.csv", text.replace("#SENSOR 1:", extra + "#SENSOR 1:", 1))
    ds = read_tssd(path)
    start = pd.Timestamp("2024-04-01").value / 1e9
    assert ds.attrs["sample_period"] == 1.0
    np.testing.assert_array_equal(ds.attrs["sample_period_values"], [1.0, 2.0])
    np.testing.assert_array_equal(ds.attrs["sample_period_starts"], [start, start + 2])


# --------------------------------------------------------------------------- JSON and MAT


@pytest.mark.parametrize("layout", ["plain", "minMaxAvg"])
@pytest.mark.parametrize("writer", ["json-OM", "json-ONC", "mat"])
def test_json_and_mat_give_the_csv_dataset(tmp_path, writer, layout):
    how = {} if layout == "plain" else MINMAXAVG
    expected = read_tssd(write_csv(tmp_path / "a.csv", **how))
    if writer == "mat":
        path = write_mat(tmp_path / "a.mat", **how)
    else:
        path = write_json(tmp_path / "a.json", encoding=writer.split("-")[1], **how)
    ds = read_tssd(path)
    assert_same_data(ds, expected)
    want = {k: v for k, v in expected.attrs.items() if k not in ("file_format", "source_files")}
    assert {k: v for k, v in ds.attrs.items() if k in want} == want
    assert ds.attrs["file_format"] == writer.split("-")[0]


def test_json_reads_bare_nan_and_sensors_with_different_times(tmp_path):
    doc = {
        "metadata": {"deviceCode": "AANDERAAO2224", "siteInfo": {"a": 1}},
        "sensorData": [
            {"sensorCode": "oxygen", "data": {"sampleTimes": T[:2], "values": [1.0, None]}},
            {"sensorCode": "temperature", "data": [{"sampleTime": T[2], "value": 4.0}]},
        ],
    }
    text = json.dumps(doc).replace("null", "NaN")
    ds = read_tssd(write_text(tmp_path / "o.json", text))
    assert ds.sizes["time"] == 3
    np.testing.assert_array_equal(ds.oxygen.values[:2], [1.0, np.nan])
    assert np.isnan(ds.temperature.values[:2]).all() and ds.temperature.values[2] == 4.0
    assert ds.attrs["onc_site_info"] == '{"a": 1}'  # netCDF-storable


def test_mat_times_are_rounded_to_the_millisecond(tmp_path):
    ds = read_tssd(write_mat(tmp_path / "m.mat"))
    assert (ds.time.values.astype("int64") % 1_000_000 == 0).all()
    assert str(ds.time.values[2]) == "2024-04-01T00:00:02.228000000"


def test_mat_rating_change_times_are_rounded_not_truncated(tmp_path):
    """The datenum of 00:00:02 comes back as 00:00:01.999999: rounded to the millisecond it
    is 00:00:02 again, as the file's data times are (truncating gave 00:00:01.999)."""
    starts = np.array(["2024-04-01T00:00:00", "2024-04-01T00:00:02"], dtype="datetime64[ns]")
    facts = FACTS | {
        "samplePeriodStarts": datetime64_to_datenum(starts),
        "samplePeriodValues": np.array([1.0, 2.0]),
    }
    ds = read_tssd(write_mat(tmp_path / "r.mat", facts=facts))
    expected = starts.astype("int64") / 1e9
    np.testing.assert_array_equal(ds.attrs["sample_period_starts"], expected)
    np.testing.assert_array_equal(ds.attrs["sample_period_values"], [1.0, 2.0])


# --------------------------------------------------------------------------- several files


def test_files_are_joined_along_time(tmp_path):
    a = write_csv(tmp_path / "x_1.csv", T[:2], [{k: v[:2] for k, v in f.items()} for f in PLAIN])
    b = write_csv(tmp_path / "x_2.csv", T[1:], [{k: v[1:] for k, v in f.items()} for f in PLAIN])
    whole = read_tssd(write_csv(tmp_path / "whole.csv"))
    for paths in ([b, a], str(tmp_path / "x_*.csv")):
        ds = read_tssd(paths)
        assert_same_data(ds, whole)
    assert ds.attrs["source_files"] == "x_1.csv\nx_2.csv"


def test_a_change_of_sample_period_between_files_is_recorded(tmp_path):
    a = write_csv(tmp_path / "a.csv", T[:1], [{k: v[:1] for k, v in f.items()} for f in PLAIN])
    facts = FACTS | {"samplePeriod": 2.0}
    b = write_csv(
        tmp_path / "b.csv", T[2:], [{k: v[2:] for k, v in f.items()} for f in PLAIN], facts
    )
    ds = read_tssd([b, a])
    assert ds.attrs["sample_period"] == 1.0
    np.testing.assert_array_equal(ds.attrs["sample_period_values"], [1.0, 2.0])
    first = ds.time.values[0].astype("int64") / 1e9
    np.testing.assert_allclose(ds.attrs["sample_period_starts"], [first, first + 2.001])


def test_files_of_different_devices_are_refused(tmp_path):
    a = write_csv(tmp_path / "a.csv")
    b = write_csv(tmp_path / "b.csv", facts=FACTS | {"deviceCode": "SBECTD16p6536"})
    with pytest.raises(ValueError, match="disagree on device_code"):
        read_tssd([a, b])


def test_missing_paths_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="path_or_paths"):
        read_tssd(tmp_path / "nothing*.csv")


# --------------------------------------------------------------------------- errors


def broken(tmp_path, edit) -> Path:
    path = write_csv(tmp_path / "bad.csv")
    path.write_text(edit(path.read_text()))
    return path


@pytest.mark.parametrize(
    ("edit", "line", "expected"),
    [
        (lambda s: s.replace("## END HEADER\n", ""), 15, "'## END HEADER'"),
        (lambda s: s.replace("## BEGIN HEADER", "time,value"), 1, "'## BEGIN HEADER'"),
        (lambda s: s.replace('"Temperature (C)", ', ""), 14, "QC column 'Temperature QC Flag'"),
        (lambda s: s.replace('"Temperature QC Flag", "Conductivity (S/m)"', '"Conductivity (S/m)", "Temperature QC Flag"'), 14, "right after"),
        (lambda s: s.replace(",3.2203,1\n", ",3.2203\n"), 18, "5 comma-separated fields"),
        (lambda s: s.replace("4.1301", "4.13O1"), 18, "a number or NaN in column 'Temperature (C)'"),
        (lambda s: s.replace(",9,NaN,9", ",9.5,NaN,9"), 17, "an ONC QAQC flag (0, 1, 2, 3, 4, 6, 7, 8 or 9"),
        (lambda s: s.replace("#LATITUDE: 48.3166", "#LATITUDE: north"), 4, "#LATITUDE: a number"),
        (lambda s: s.replace("#SENSOR 2: conductivity / Conductivity / S/m / conductivity\n", ""), 13, "per '#SENSOR n:' line"),
    ],
    ids=["no-end", "no-begin", "qc-alone", "qc-elsewhere", "short-row", "bad-value", "bad-flag", "bad-fact", "sensors"],
)  # fmt: skip
def test_malformed_csv_names_the_line_and_what_was_expected(tmp_path, edit, line, expected):
    path = broken(tmp_path, edit)
    with pytest.raises(FileFormatError, match="expected") as info:
        read_tssd(path)
    err = info.value
    assert (err.path, err.line) == (str(path), line)
    assert expected in err.expected
    assert f"bad.csv, line {line}: expected" in str(err)


def test_malformed_json_and_mat(tmp_path):
    with pytest.raises(FileFormatError) as info:
        read_tssd(write_text(tmp_path / "a.json", '{"metadata": {},\n "sensorData": [}'))
    assert info.value.line == 2
    with pytest.raises(FileFormatError, match="'sensorData' list"):
        read_tssd(write_text(tmp_path / "b.json", "[]"))
    scipy.io.savemat(tmp_path / "c.mat", {"other": np.zeros(3)})
    with pytest.raises(FileFormatError, match="'data' struct"):
        read_tssd(tmp_path / "c.mat")
    with pytest.raises(FileFormatError, match="a TSSD file"):
        read_tssd(write_text(tmp_path / "d.dat", "hello"))


# --------------------------------------------------------------------------- CF, netCDF, dask


def test_flags_are_cf_flags(tmp_path):
    ds = read_tssd(write_csv(tmp_path / "f.csv"))
    good = ds.temperature_qc.cf == "good"
    assert good.dtype == bool
    np.testing.assert_array_equal(good, [True, False, False])
    np.testing.assert_array_equal(ds.conductivity_qc.cf == "missing", [False, True, False])
    averaged = read_tssd(DATA / "bacax_ctd_avg60.csv").temperature_qc.cf == "averaged"
    np.testing.assert_array_equal(averaged, [True, True, False, False, True])
    assert ds.cf["latitude"].size == 1


def test_netcdf_round_trip_keeps_flags_and_attrs(tmp_path):
    fields = [{"min": [1.0, 2.0], "min_time": [T[0], "NaN"], "min_qc": [1, 9], "count": [3, 0]}]
    ds = read_tssd(write_csv(tmp_path / "r.csv", T[:2], fields, sensors=SENSORS[:1]))
    ds.to_netcdf(tmp_path / "r.nc", engine="netcdf4")
    with xr.open_dataset(tmp_path / "r.nc", engine="netcdf4") as back:
        back.load()
    xr.testing.assert_identical(back, ds)
    assert back.temperature_min_qc.dtype == np.int8
    assert back.temperature_min_qc.attrs["flag_values"].dtype == np.int8


def test_chunks_make_it_dask_backed():
    ds = read_tssd(DATA / "bacax_ctd_avg60.csv", chunks={"time": 2})
    assert ds.temperature.chunks == ((2, 2, 1),)
    xr.testing.assert_identical(ds.compute(), read_tssd(DATA / "bacax_ctd_avg60.csv"))


# --------------------------------------------------------------------------- property


values = st.lists(
    st.tuples(st.floats(-1e6, 1e6) | st.just(np.nan), st.sampled_from([0, 1, 2, 3, 4, 6, 7, 8, 9])),
    max_size=20,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=values)
def test_any_values_survive_every_encoding(tmp_path, rows):
    times = [
        str(np.datetime64("2024-04-01T00:00:00.000") + np.timedelta64(1001 * i, "ms")) + "Z"
        for i in range(len(rows))
    ]
    fields = [{"value": [v for v, _ in rows], "qc": [q for _, q in rows]}]
    one = dict(times=times, fields=fields, sensors=SENSORS[:1])
    paths = [
        write_csv(tmp_path / "p.csv", **one),
        write_json(tmp_path / "p.json", **one),
        write_mat(tmp_path / "p.mat", **one),
    ]
    for path in paths:
        ds = read_tssd(path)
        np.testing.assert_array_equal(ds.temperature.values, np.array(fields[0]["value"], float))
        np.testing.assert_array_equal(ds.temperature_qc.values, fields[0]["qc"])
        assert ds.time.values.astype("datetime64[ms]").astype(str).tolist() == [
            t[:-1] for t in times
        ]


# --------------------------------------------------------------------------- the sandbox's files

SANDBOX_OPTIONS = {
    "clean-fill": {},
    "raw-remove": {"dpo_qualityControl": "0", "dpo_dataGaps": "0"},
    "average": {"dpo_resample": "average"},
    "minMax": {"dpo_resample": "minMax"},
    "minMaxAvg-600": {"dpo_resample": "minMaxAvg", "dpo_minMaxAvg": "600"},
}


@pytest.mark.parametrize("options", SANDBOX_OPTIONS.values(), ids=SANDBOX_OPTIONS.keys())
def test_the_sandbox_files_read_back_as_its_oracle_rows(tmp_path, options):
    from intake_onc.sandbox.products import tssd_files as writers
    from intake_onc.sandbox.products import tssd_options
    from intake_onc.sandbox.reference.scalar_series import scalar_series

    device, start, end, now = "SBECTD19p6813", "2024-04-01T00:00", "2024-04-01T00:40", "2026-11-21"
    datasets = {}
    for ext in ("csv", "json", "mat", "nc", "txt"):
        files = writers.build_tssd_files(device, start, end, ext, options, now=now, max_rows=1000)
        for name, body in files:
            (tmp_path / name).write_bytes(body)
        datasets[ext] = read_tssd([tmp_path / name for name, _ in files])
    opts = tssd_options.parse_tssd_options(options, "csv", start, end)
    rows, _ = scalar_series(
        device,
        start,
        end,
        quality=opts.quality,
        data_gaps=opts.data_gaps,
        resample_type=opts.resample,
        resample_period=opts.period,
        now=now,
    )
    if opts.resample is None:
        expected = {c: rows.values[c] for c in rows.sensors}
        expected |= {f"{c}_qc": rows.flags[c] for c in rows.sensors}
    else:
        expected = rows.variables
    ds = datasets["csv"]
    assert ds.attrs["source_files"].count("\n") == (len(rows) - 1) // 1000  # split at max_rows
    np.testing.assert_array_equal(ds.time.values, rows.times)
    assert sorted(ds.data_vars) == sorted(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(ds[name].values, values, err_msg=name)
    assert (ds.attrs["quality_control"], ds.attrs["data_gaps"]) == (opts.quality, opts.data_gaps)
    assert ds.attrs["resample_type"] == (opts.resample or "none")
    assert ds.attrs.get("resample_period") == opts.period
    for other in ("json", "mat", "nc", "txt"):
        assert_same_data(datasets[other], ds)


def test_the_sandbox_csv_header_facts_become_attrs_and_its_legend_and_sensor_blocks_do_not(
    tmp_path,
):
    """The long (ONC-length) sandbox header: facts such as the device id and DOI are kept as
    ``onc_*`` attrs; the QC legend, the per-file counts and the per-sensor blocks are not."""
    from intake_onc.sandbox.products.tssd_files import build_tssd_files

    ((name, body),) = build_tssd_files(
        "SBECTD19p6813", "2024-04-01T00:00", "2024-04-01T00:05", "csv", {}, now="2026-11-21"
    )
    (tmp_path / name).write_bytes(body)
    ds = read_tssd(tmp_path / name)
    assert ds.attrs["device_code"] == "SBECTD19p6813" and ds.attrs["location_code"] == "BACAX"
    assert ds.attrs["onc_deviceid"] == "23842" and ds.attrs["onc_doi"].startswith("10.80242/")
    assert ds.attrs["onc_datasource"] == "synthetic"
    assert not [k for k in ds.attrs if k.startswith(("onc_sensor", "onc_qaqcflag", "onc_first"))]
    assert ds.salinity.attrs["onc_property_code"] == "salinity"


@pytest.mark.parametrize("extension", ["csv", "json", "mat"])
def test_a_data_rating_change_inside_the_files_is_recorded_in_attrs(tmp_path, extension):
    """SBECTD19p6813 samples every 0.25 s until 2019-07-15T18:46:06, then every 1 s (ONC's
    data rating): the files say so
    (``#SAMPLEPERIODCHANGE`` / ``samplePeriods``), and the Dataset carries both periods, even
    when a CSV split part starts after the change."""
    from intake_onc.sandbox.products.tssd_files import build_tssd_files

    options = {"dpo_qualityControl": "1", "dpo_resample": "none", "dpo_dataGaps": "0"}
    extra = {"max_rows": 400} if extension == "csv" else {}
    files = build_tssd_files(
        "SBECTD19p6813", "2019-07-15T18:40:00", "2019-07-15T18:50:00", extension, options, **extra
    )
    paths = []
    for name, content in files:
        (tmp_path / name).write_bytes(content)
        paths.append(tmp_path / name)
    ds = read_tssd(paths)
    change = pd.Timestamp("2019-07-15T18:46:06").value / 1e9
    assert ds.attrs["sample_period"] == 0.25
    np.testing.assert_array_equal(ds.attrs["sample_period_values"], [0.25, 1.0])
    assert ds.attrs["sample_period_starts"][1] == change
    assert ds.attrs["sample_period_starts"][0] <= ds.time.values[0].astype("int64") / 1e9


# -- the reconstructed real fragments (onc-api-samples/tssd-fragments) ---------------------------

_FRAGMENTS = Path("/work/shared/reference/onc-api-samples/tssd-fragments")


@pytest.mark.skipif(not _FRAGMENTS.is_dir(), reason="the shared reference folder is not here")
@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("R1_ctd_raw_trailing_space_qc.csv", {"practical_salinity", "temperature_qc"}),
        ("R2_salinity_hourly_avg_count.csv", {"practical_salinity_count"}),
        ("R3_oxygen_avg1minute_52line_header.csv", {"oxygen_concentration_corrected_count"}),
        ("R4_minmax_min_value_naming.csv", {"temperature_min_qc", "temperature_max"}),
        ("R5_ctd_8sensors_alpha_qc_trailing_space.csv", {"conductivity_qc", "density"}),
    ],
)
def test_read_tssd_reads_the_reconstructed_real_fragments(name, variables):
    ds = read_tssd(_FRAGMENTS / name)
    assert variables <= set(ds.data_vars)
    assert ds.sizes["time"] >= 3


# -- TSSD txt: a CSV saved as .txt, or the ODV spreadsheet ----------------------------------------


@pytest.mark.skipif(not _FRAGMENTS.is_dir(), reason="the shared reference folder is not here")
def test_a_tssd_csv_saved_as_txt_still_reads_as_csv(tmp_path):
    path = tmp_path / "salinity.txt"
    path.write_bytes((_FRAGMENTS / "R2_salinity_hourly_avg_count.csv").read_bytes())
    assert "practical_salinity_count" in read_tssd(path).data_vars


def test_an_odv_txt_with_a_flag_outside_onc_set_names_the_file_sensor_and_row(tmp_path):
    from intake_onc.sandbox.products.tssd_files import build_tssd_files

    ((name, body),) = build_tssd_files(
        "SBECTD19p6813", "2024-04-01T00:00", "2024-04-01T00:01", "txt", {}, now="2026-11-21"
    )
    lines = body.decode().split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("SBECTD19p6813\t")) + 2
    cells = lines[row].split("\t")
    cells[9] = "5"  # QV:ONC:Temperature of the third row
    lines[row] = "\t".join(cells)
    path = tmp_path / name
    path.write_text("\n".join(lines))
    with pytest.raises(FileFormatError, match=r"temperature.*row 3") as info:
        read_tssd(path)
    assert str(path) in str(info.value)
