"""The sandbox's synthetic scalar records: determinism, deployments, ratings, realism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.synthetic.scalar import ScalarRecords, generate, sensor_items

CTD = "SBECTD19p6813"
OXY = "AANDERAAO2224"
NOW = "2026-01-01T00:00:00"


def steps_s(recs: ScalarRecords) -> np.ndarray:
    return np.diff(recs.times.astype("int64")) / 1e9


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_same_data_other_seed_other_data():
    a = generate(CTD, "2024-04-01T10:00", "2024-04-01T11:00", now=NOW)
    b = generate(CTD, "2024-04-01T10:00", "2024-04-01T11:00", now=NOW)
    c = generate(CTD, "2024-04-01T10:00", "2024-04-01T11:00", seed=1, now=NOW)
    assert len(a) > 3000
    assert a.equals(b)
    assert not np.array_equal(a.values["temperature"][:100], c.values["temperature"][:100])


def test_a_sample_does_not_depend_on_the_window_asked():
    wide = generate(CTD, "2024-04-01T22:00", "2024-04-02T02:00", now=NOW)  # across midnight
    narrow = generate(CTD, "2024-04-01T23:59:30.5", "2024-04-02T00:00:41.017", now=NOW)
    assert len(narrow) > 60
    assert narrow.equals(wide.between("2024-04-01T23:59:30.5", "2024-04-02T00:00:41.017"))
    # and pieces glued together give the whole
    cut = "2024-04-02T00:37:12.345"
    glued = ScalarRecords.concat(
        [
            generate(CTD, "2024-04-01T22:00", cut, now=NOW),
            generate(CTD, cut, "2024-04-02T02:00", now=NOW),
        ]
    )
    assert glued.equals(wide)


def test_a_sensor_does_not_depend_on_the_others_asked():
    full = generate(CTD, "2024-04-01T10:00", "2024-04-01T10:30", now=NOW)
    only = generate(
        CTD, "2024-04-01T10:00", "2024-04-01T10:30", sensors=["salinity", "pressure"], now=NOW
    )
    assert only.sensors == ("pressure", "salinity")  # the device's column order
    assert only.equals(full.select_sensors(["pressure", "salinity"]))
    # sensorCategoryCode works too (oxygen's differs from its sensorCode)
    oxy = generate(OXY, "2024-04-01T10:00", "2024-04-01T10:30", sensors="oxygen_corrected", now=NOW)
    assert oxy.sensors == ("oxygen",)


# -- deployments and ratings -----------------------------------------------------------------


def test_nothing_outside_deployments():
    # SBECTD19p6813 was recovered 2022-07-01 and redeployed 2022-07-15
    recs = generate(CTD, "2022-06-30T22:00", "2022-07-15T02:00", now=NOW)
    t = pd.DatetimeIndex(recs.times)
    assert len(recs) > 1000
    assert not ((t >= "2022-07-01") & (t < "2022-07-15")).any()
    assert t.min() < pd.Timestamp("2022-07-01") and t.max() >= pd.Timestamp("2022-07-15")
    assert len(generate(CTD, "2022-07-03", "2022-07-10", now=NOW)) == 0
    # an ended deployment, before the first one, and after "now"
    assert len(generate("SBECTD16p6536", "2021-09-30", "2021-10-02", now=NOW)) == 0
    assert len(generate("SBECTD16p6536", "2021-09-29T23:00", "2021-09-30", now=NOW)) > 0
    assert len(generate(CTD, "2019-04-01", "2019-05-01", now=NOW)) == 0
    late = generate(CTD, "2025-12-31T23:00", "2026-01-02", now=NOW)
    assert len(late) > 0 and late.times[-1] < np.datetime64(NOW)


def test_sample_period_follows_the_data_rating():
    # ONC's rating of SBECTD19p6813: 0.25 s until 2019-07-15T18:46:06, then 1 s
    before = generate(CTD, "2019-07-15T12:00", "2019-07-15T13:00", now=NOW)
    after = generate(CTD, "2019-07-16T12:00", "2019-07-16T13:00", now=NOW)
    assert np.median(steps_s(before)) == pytest.approx(0.25, abs=0.01)
    assert np.median(steps_s(after)) == pytest.approx(1.0, abs=0.01)
    oxy = generate(OXY, "2024-04-01T12:00", "2024-04-01T13:00", now=NOW)
    assert np.median(steps_s(oxy)) == pytest.approx(5.0, abs=0.01)  # ONC's rating: 5 s
    # across the change no spurious gap: the steps go from the old period to the new one
    span = generate(CTD, "2019-07-15T18:45:56", "2019-07-15T18:46:16", now=NOW)
    s = steps_s(span)
    assert s.max() < 1.1 and s.min() > 0.2


def test_restricted_adcp_is_generated_anyway():
    recs = generate("NORTEKADCP9917", "2024-04-01T00:00", "2024-04-01T00:10", now=NOW)
    assert recs.sensors == ("speed",) and len(recs) >= 9  # ONC's rating: 60 s


# -- shape of the times ----------------------------------------------------------------------


def test_times_are_whole_ms_on_the_grid_with_a_day_offset_and_jitter():
    recs = generate(CTD, "2024-04-01", "2024-04-03", now=NOW)
    ns = recs.times.astype("int64")
    assert np.all(ns % 1_000_000 == 0)
    assert np.all(np.diff(ns) > 0)
    day = ns // 86_400_000_000_000
    for d in np.unique(day):
        ms = (ns[day == d] // 1_000_000) % 1000
        centre = np.median(ms)
        assert 10 <= centre <= 985  # an ONC-like sub-second offset (e.g. .227)
        assert np.all(np.abs(ms - centre) <= 6)  # plus a few ms of jitter
    step = steps_s(recs)
    assert np.percentile(step, 1) >= 0.99 and np.percentile(step, 99) <= 1.01


# -- realism ---------------------------------------------------------------------------------


def test_values_look_like_a_deep_ctd_and_an_optode():
    recs = generate(CTD, "2024-04-01", "2024-04-02", now=NOW)
    good = {s: recs.values[s][recs.flags[s] <= 2] for s in recs.sensors}
    assert 3.5 < np.median(good["temperature"]) < 4.5
    assert 34.0 < np.median(good["salinity"]) < 34.6
    assert 3.0 < np.median(good["conductivity"]) < 3.4
    assert abs(np.median(good["pressure"]) - 985.0) < 20
    assert np.ptp(good["pressure"]) > 0.5  # the tide shows
    oxy = generate(OXY, "2024-04-01", "2024-04-02", now=NOW)
    assert 0.9 < np.nanmedian(oxy.values["oxygen"]) < 1.5
    # instrument resolution: values are short decimals
    assert np.array_equal(np.round(good["pressure"], 3), good["pressure"])


def test_flags_gaps_and_dropouts():
    recs = generate(CTD, "2024-04-01", "2024-04-08", now=NOW)
    all_flags = np.concatenate([recs.flags[s] for s in recs.sensors])
    counts = {int(f): int((all_flags == f).sum()) for f in np.unique(all_flags)}
    assert set(counts) <= {1, 2, 3, 4, 9}
    assert counts[1] / all_flags.size > 0.95
    assert counts[2] > 0 and counts[3] > 0 and counts[4] > 0
    # bad values are visibly bad
    temp, tflag = recs.values["temperature"], recs.flags["temperature"]
    assert np.all(temp[tflag == 4] > 20)
    assert np.nanmin(temp[tflag == 3]) > np.nanmax(temp[tflag <= 2]) - 0.5
    # single-sensor dropouts: NaN exactly where the flag is 9
    for s in recs.sensors:
        assert np.array_equal(np.isnan(recs.values[s]), recs.flags[s] == 9)
    # gaps: all sensors missing together (rows absent), a few per day, 3 s to 2 h
    s = steps_s(recs)
    gaps = s[s > 1.9]
    assert 7 <= gaps.size <= 60
    assert gaps.max() <= 7200 + 2 and gaps.min() >= 1.9


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="device_code"):
        generate("NOPE", "2024-04-01", "2024-04-02")
    with pytest.raises(ValueError, match="no scalar sensors"):
        generate("ICLISTENHF6093", "2024-04-01", "2024-04-02")
    with pytest.raises(ValueError, match="sensors"):
        generate(CTD, "2024-04-01", "2024-04-02", sensors=["oxygen"])
    with pytest.raises(ValueError, match="seed"):
        generate(CTD, "2024-04-01", "2024-04-02", seed=-1)
    assert len(generate(CTD, "2024-04-02", "2024-04-01")) == 0


def test_records_container_checks_its_input():
    with pytest.raises(ValueError, match="sorted"):
        ScalarRecords(
            np.array(["2024-01-01T00:00:01", "2024-01-01T00:00:00"], dtype="datetime64[ns]"),
            {"x": [1.0, 2.0]},
            {"x": [1, 1]},
        )
    with pytest.raises(ValueError, match="as long as"):
        ScalarRecords(
            np.array(["2024-01-01"], dtype="datetime64[ns]"), {"x": [1.0, 2.0]}, {"x": [1, 1]}
        )


def test_sensor_items_are_the_observatory_sensors():
    items = sensor_items(OXY)
    assert [i["sensorCode"] for i in items] == ["oxygen", "temperature"]
    assert items[0] == {
        "sensorCode": "oxygen",
        "sensorName": "Oxygen Concentration Corrected",
        "unitOfMeasure": "ml/l",
        "propertyCode": "oxygen",
        "sensorCategoryCode": "oxygen_corrected",
    }
    assert len(sensor_items(CTD)) == len(OBSERVATORY.device(CTD).sensors)


def test_sandbox_scalar_side_imports_none_of_the_package_it_tests():
    code = (
        "import sys; import intake_onc.sandbox.reference.rules, intake_onc.sandbox.products.tssd_files; "
        "bad = [m for m in sys.modules if m.split('.')[:2] in (['intake_onc', 'client'], "
        "['intake_onc', 'ops'], ['intake_onc', 'formats'], ['intake_onc', 'datasets'])]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
