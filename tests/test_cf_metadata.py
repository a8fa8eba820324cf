"""Invalid QAQC flags are refused by every TSSD reader; CF-1.8/ACDD-1.3 metadata a checker accepts."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from test_formats_tssd import MINMAXAVG, write_csv, write_json, write_mat

from intake_onc._core.cf import NO_STANDARD_NAME, STANDARD_NAMES, UNITS, cf_attrs
from intake_onc._core.errors import FileFormatError
from intake_onc.scalar.cf import _all_multiples
from intake_onc.scalar.tssd import read_tssd

PROPERTIES = Path("/work/shared/reference/onc-catalogue/properties.json")

# --------------------------------------------------------------------------- flags

WRITERS = {
    "csv": lambda p, **k: write_csv(p.with_suffix(".csv"), **k),
    "json-OM": lambda p, **k: write_json(p.with_suffix(".json"), encoding="OM", **k),
    "json-ONC": lambda p, **k: write_json(p.with_suffix(".json"), encoding="ONC", **k),
    "mat": lambda p, **k: write_mat(p.with_suffix(".mat"), **k),
}


@pytest.mark.parametrize("bad", [300, 1000, -5, 5, 1.5])
@pytest.mark.parametrize("field", ["qc", "min_qc", "max_qc"])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_invalid_flags_are_refused_by_every_reader(tmp_path, writer, field, bad):
    how = copy.deepcopy(MINMAXAVG)
    how["fields"][0][field][2] = bad
    path = WRITERS[writer](tmp_path / "bad", **how)
    with pytest.raises(FileFormatError) as info:
        read_tssd(path)
    err = info.value
    assert err.path == str(path) and err.row == 3 and err.sensor == "temperature"
    assert "0, 1, 2, 3, 4, 6, 7, 8 or 9" in str(err) and "row 3" in str(err)
    assert err.found == (f"{bad:g}" if isinstance(bad, float) else str(bad))
    if writer == "csv":
        assert err.line is not None and "Temperature" in str(err)


@pytest.mark.parametrize("writer", list(WRITERS))
def test_nan_in_a_flag_column_reads_as_missing_in_every_format(tmp_path, writer):
    how = copy.deepcopy(MINMAXAVG)
    for field in ("qc", "min_qc", "max_qc"):
        how["fields"][0][field][0] = np.nan
    ds = read_tssd(WRITERS[writer](tmp_path / "nan", **how))
    for field in ("qc", "min_qc", "max_qc"):
        assert ds[f"temperature_{field}"].values[0] == 9


# --------------------------------------------------------------------------- the table


def _standard_name_table() -> dict[str, str]:
    import compliance_checker

    path = Path(compliance_checker.__file__).parent / "data" / "cf-standard-name-table.xml"
    root = ET.parse(path).getroot()
    return {e.get("id"): e.findtext("canonical_units") or "" for e in root.iter("entry")}


def test_every_onc_property_is_mapped_or_documented():
    cf_units = pytest.importorskip("cf_units")
    names = _standard_name_table()
    for code, (name, canonical) in STANDARD_NAMES.items():
        assert name in names, code
        assert cf_units.Unit(canonical).is_convertible(cf_units.Unit(names[name])), code
    for unit in {u for u in UNITS.values() if u}:
        cf_units.Unit(unit)  # valid UDUNITS
    if PROPERTIES.exists():
        props = json.loads(PROPERTIES.read_text())
        for p in props:
            code = p["propertyCode"]
            assert code in STANDARD_NAMES or code in NO_STANDARD_NAME, code
            attrs = cf_attrs(code, p["uom"])
            assert p["uom"] in UNITS, p["uom"]
            if "standard_name" in attrs:
                canonical = names[attrs["standard_name"]]
                assert cf_units.Unit(attrs["units"]).is_convertible(cf_units.Unit(canonical))


def test_ctd_units_and_standard_names():
    assert cf_attrs("seawatertemperature", "C")["units"] == "degC"
    assert cf_attrs("pressure", "decibar") == {
        "units": "dbar",
        "standard_name": "sea_water_pressure",
        "onc_units": "decibar",
    }
    assert cf_attrs("conductivity", "S/m")["units"] == "S m-1"
    assert cf_attrs("salinity", "psu")["standard_name"] == "sea_water_practical_salinity"


# --------------------------------------------------------------------------- checkers


def _check(path: Path, checker: str) -> tuple[dict[int, list], tuple[int, int]]:
    from compliance_checker.runner import CheckSuite

    suite = CheckSuite()
    suite.load_all_available_checkers()
    results = suite.run_all(suite.load_dataset(str(path)), [checker], skip_checks=[])[checker][0]
    fails: dict[int, list] = {1: [], 2: [], 3: []}
    got = total = 0
    for r in results:
        v = r.value if isinstance(r.value, tuple) else (int(bool(r.value)), 1)
        got, total = got + v[0], total + v[1]
        if v[0] != v[1]:
            fails[r.weight].append((r.name, r.msgs))
    return fails, (got, total)


def _assert_compliant(ds, path: Path) -> None:
    ds.to_netcdf(path)
    fails, score = _check(path, "cf:1.8")
    assert not fails[3], fails[3]
    assert not fails[2], fails[2]
    acdd, acdd_score = _check(path, "acdd:1.3")
    # ACDD wants a standard_name on every variable; statistics and time_offset have none
    assert not [f for f in acdd[3] if "standard_name" not in str(f)], acdd[3]
    print(path.name, "cf:1.8", score, "acdd:1.3", acdd_score)


@pytest.fixture
def client(sandbox_url, sandbox_token, tmp_path):
    from intake_onc.client import ONCClient

    return ONCClient(
        token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path / "cache", progress=False
    )


def test_open_scalar_and_its_resampling_pass_cf_and_acdd(client, tmp_path):
    pytest.importorskip("compliance_checker")
    from intake_onc.datasets import open_scalar

    ds = open_scalar(
        "SBECTD19p6813", start="2024-04-01T00:00", end="2024-04-01T03:00", client=client
    )
    assert ds.cf["sea_water_temperature"].name == "temperature"
    assert ds.cf["sea_water_practical_salinity"].attrs["units"] == "1"
    assert ds.station.attrs["cf_role"] == "timeseries_id" and ds.depth.attrs["positive"] == "down"
    a = ds.attrs
    assert a["Conventions"] == "CF-1.8, ACDD-1.3" and a["institution"] == "Ocean Networks Canada"
    assert a["references"].startswith("https://doi.org/10.80242/")
    assert a["time_coverage_start"] == "2024-04-01T00:00:00.000Z"
    _assert_compliant(ds.compute(), tmp_path / "raw.nc")

    hourly = ds.onc.resample("1h", method="minMaxAvg")
    assert hourly.time.attrs["bounds"] == "time_bounds"
    bounds = hourly.time_bounds.values
    assert str(bounds[0, 0]) == "2024-04-01T00:00:00.000000000"
    assert str(bounds[0, 1]) == "2024-04-01T01:00:00.000000000"
    assert hourly.temperature.attrs["cell_methods"].startswith("time: mean")
    assert hourly.temperature_min.attrs["cell_methods"].startswith("time: minimum")
    assert hourly.temperature_max.attrs["cell_methods"].startswith("time: maximum")
    assert hourly.temperature_std.attrs["cell_methods"].startswith("time: standard_deviation")
    assert hourly.attrs["time_axis"] == "bin_centre" and hourly.attrs["sample_period"] == 3600
    assert hourly.attrs["time_coverage_end"] == "2024-04-01T03:00:00.000Z"
    assert "resample: minMaxAvg" in hourly.attrs["history"]
    assert "resampled" in hourly.attrs["summary"]
    assert hourly.cf["sea_water_temperature"].name == "temperature"
    _assert_compliant(hourly.compute(), tmp_path / "hourly.nc")


def test_read_tssd_passes_cf_and_acdd(tmp_path):
    pytest.importorskip("compliance_checker")
    ds = read_tssd(write_csv(tmp_path / "r.csv", **MINMAXAVG))
    assert ds.cf["sea_water_temperature"].name == "temperature"
    assert ds.temperature_min.attrs["cell_methods"] == "time: minimum (interval: 60 s)"
    assert ds.time_bounds.shape == (3, 2)
    assert ds.attrs["references"] == "https://doi.org/10.80242/x"
    _assert_compliant(ds, tmp_path / "tssd.nc")


def test_operations_update_their_attrs_and_history(tmp_path):
    ds = read_tssd(write_csv(tmp_path / "ops.csv", **MINMAXAVG))
    raw = ds.copy()
    raw.attrs.pop("resample_type")
    cleaned = raw.onc.clean() if "temperature_qc" in raw else raw
    assert cleaned.attrs["history"].count("\n") == ds.attrs["history"].count("\n") + 1
    assert "clean" in cleaned.attrs["history"].splitlines()[-1]


def test_raw_tssd_with_millisecond_times_passes_cf_and_round_trips_exactly(tmp_path):
    """ONC's sample times carry milliseconds (``...00.227Z``): CF 1.8 has no int64, and float64
    milliseconds since 1970 do not decode exactly; milliseconds since the first midnight do."""
    pytest.importorskip("compliance_checker")
    from intake_onc.sandbox.products.tssd_files import build_tssd_files

    options = {"dpo_qualityControl": "1", "dpo_resample": "none", "dpo_dataGaps": "1"}
    files = build_tssd_files(
        "SBECTD19p6813", "2024-04-01T00:00:00", "2024-04-01T01:00:00", "csv", options
    )
    ((name, content),) = files
    (tmp_path / name).write_bytes(content)
    ds = read_tssd(tmp_path / name)
    assert (ds.time.values.view("int64") % 1_000_000_000).any()  # really sub-second times
    _assert_compliant(ds, tmp_path / "raw.nc")
    back = xr.open_dataset(tmp_path / "raw.nc")
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    assert back.time.encoding["dtype"] == np.float64


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(-(2**60), 2**60),
    step=st.sampled_from([1, 1_000, 999_999, 1_000_000, 250_000_000, 1_000_000_000, 3 * 10**9]),
    n=st.integers(0, 100_000),
    nudge=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.integers(-3, 3))),
    unit=st.sampled_from([1_000_000, 1_000_000_000]),
)
def test_the_whole_unit_check_of_time_encodings_agrees_with_dividing_every_value(
    start, step, n, nudge, unit
):
    # regular grids are judged by their first value and step, anything else value by value
    a = start + step * np.arange(n, dtype=np.int64)
    if nudge is not None and n:
        a[int(nudge[0] * (n - 1))] += nudge[1]
    assert _all_multiples(a, unit) == (not (a % unit).any())
