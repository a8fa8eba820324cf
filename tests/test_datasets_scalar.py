"""``open_scalar``: remote, lazy scalar Datasets on the nominal sampling grid (issue #4).

Facts of the synthetic observatory used here (docs/architecture.md): the CTD ``SBECTD19p6813``
samples every 0.25 s until 2019-07-15T18:46:06, then every 1 s (ONC's data rating), and was deployed 2019-05-01 – 2022-07-01 and
2022-07-15 – now; the oxygen optode ``AANDERAAO2224`` samples every 5 s. On 2024-04-01 the CTD
has a data gap from 21:33:45 to about 23:29 (the window 22:00–23:00 is empty).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_onc.client import (
    InvalidParameterError,
    NotDeployedError,
    ONCClient,
    RestrictedDataError,
)
from intake_onc.datasets import open_scalar
from intake_onc.datasets._grid import (
    Records,
    Window,
    build_segments,
    build_windows,
    parse_chunk,
    snap,
)
from intake_onc.scalar.tssd import read_tssd

CTD = "SBECTD19p6813"
OXY = "AANDERAAO2224"
SENSORS = ("temperature", "conductivity", "pressure", "salinity")
S = 1_000_000_000  # ns per second
MS = 1_000_000


@pytest.fixture
def client(sandbox_url, sandbox_token, tmp_path):
    with ONCClient(token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path) as c:
        yield c


def scalar_counts(stats: dict) -> tuple[int, int]:
    """(``scalardata/device`` requests, scalar data pages served)."""
    return stats["paths"].get("/api/scalardata/device", 0), stats["scalar_pages"]


def ctd(client, start="2024-04-01T20:00", end="2024-04-01T23:00", **kw):
    kw.setdefault("chunk", "1h")
    return open_scalar(CTD, start=start, end=end, client=client, **kw)


def pandas_time(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its time coordinate on a pandas index (the values of its O(1) index)."""
    if "time" in ds.xindexes and type(ds.xindexes["time"]).__name__ == "TimeGridIndex":
        time = ds["time"].variable
        ds = ds.drop_indexes("time").assign_coords(
            time=xr.Variable("time", time.values, time.attrs, time.encoding)
        )
    return ds


def without_source(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_attrs(deep=False).assign_attrs(
        {k: v for k, v in ds.attrs.items() if k != "source"}
    )


# --- laziness ---------------------------------------------------------------------------------


def test_nothing_is_downloaded_until_compute(client, sandbox_url, sandbox_stats):
    ds = ctd(client)
    opened = scalar_counts(sandbox_stats(sandbox_url))

    repr(ds)
    assert ds.chunks["time"] == (3600, 3600, 3600)
    ds.isel(time=slice(10, 20))
    ds.sel(time=slice("2024-04-01T21:00", "2024-04-01T21:30")).temperature[5:7]
    ds.onc.resample("1h", method="minMaxAvg")
    assert scalar_counts(sandbox_stats(sandbox_url)) == opened

    ds.compute()  # three windows: one request (one page) each, shared by every variable
    requests, pages = scalar_counts(sandbox_stats(sandbox_url))
    assert (requests - opened[0], pages - opened[1]) == (3, 3)

    ds.temperature.isel(time=slice(100, 200)).compute()  # inside one window
    assert scalar_counts(sandbox_stats(sandbox_url))[0] - requests == 1


# --- the grid and the samples -----------------------------------------------------------------


def test_every_sample_sits_in_its_slot(client):
    ds = ctd(client, quality="raw").compute()
    raw = client.scalar_data(CTD, "2024-04-01T20:00", "2024-04-01T23:00", quality_control="raw")
    item = raw["sensorData"][0]
    assert item["sensorCode"] == "temperature"
    actual = pd.to_datetime(item["data"]["sampleTimes"], format="ISO8601").tz_localize(None)

    nominal = ds.time.values.astype("datetime64[ns]").view(np.int64)
    assert np.all(nominal % S == 0) and np.all(np.diff(nominal) == S)  # T = 1 s grid
    has = ~np.isnan(ds.time_offset.values)
    assert has.sum() == len(actual)  # one slot per sample, none lost
    offset_ms = np.round(ds.time_offset.values[has].astype(float) * 1e3).astype(np.int64)
    np.testing.assert_array_equal(nominal[has] + offset_ms * MS, actual.as_unit("ns").asi8)
    np.testing.assert_array_equal(ds.temperature.values[has], item["data"]["values"])
    np.testing.assert_array_equal(ds.temperature_qc.values[has], item["data"]["qaqcFlags"])
    # empty slots (the 21:33:45 gap): NaN, flag 9
    assert np.isnan(ds.temperature.values[~has]).all()
    assert (ds.temperature_qc.values[~has] == 9).all()
    assert ds.attrs["sample_period"] == 1.0 and ds.attrs["time_axis"] == "nominal"


def test_layout_and_attrs(client):
    ds = ctd(client, sensors=["temperature", "salinity"])
    assert list(ds.data_vars) == [
        "temperature",
        "temperature_qc",
        "salinity",
        "salinity_qc",
        "time_offset",
    ]
    t = ds.temperature.attrs
    # UDUNITS units (ONC's "C" reads as coulomb); ONC's own string is kept in onc_units
    assert (t["long_name"], t["units"], t["onc_sensor_code"], t["onc_property_code"]) == (
        "Temperature",
        "degC",
        "temperature",
        "seawatertemperature",
    )
    assert ds.temperature_qc.dtype == np.int8 and "flag_meanings" in ds.temperature_qc.attrs
    assert ds.time_offset.dtype == np.float32
    assert (float(ds.latitude), float(ds.longitude), float(ds.depth)) == (
        48.3166,
        -126.0508,
        985.0,
    )
    a = ds.attrs
    assert (a["device_code"], a["location_code"], a["source"]) == (CTD, "BACAX", "api")
    assert (a["quality_control"], a["data_gaps"]) == ("clean", "fill")
    assert a["deployments"] == f"{CTD} BACAX 2022-07-15T00:00:00.000Z ongoing"
    assert "Ocean Networks Canada" in a["citation"]


def test_clean_quality_is_onc_rule_applied_locally(client):
    span = dict(start="2024-04-01T11:00", end="2024-04-01T13:00")  # flags 3 and 4 in here
    raw = ctd(client, quality="raw", **span).compute()
    clean = ctd(client, **span).compute()
    assert clean.attrs["quality_control"] == "clean"
    n_failed = 0
    for name in SENSORS:
        failed = np.isin(raw[f"{name}_qc"].values, (3, 4, 6))
        n_failed += failed.sum()
        assert np.isnan(clean[name].values[failed]).all()
        np.testing.assert_array_equal(clean[name].values[~failed], raw[name].values[~failed])
        np.testing.assert_array_equal(clean[f"{name}_qc"].values, raw[f"{name}_qc"].values)
    assert n_failed > 0  # the range holds flagged samples


def test_rating_change_gives_one_axis_with_two_periods(client):
    # ONC's rating of SBECTD19p6813: 0.25 s until 2019-07-15T18:46:06, then 1 s
    ds = ctd(client, start="2019-07-15T18:00", end="2019-07-15T19:30", chunk="1D")
    assert ds.chunks["time"] == (11064, 2634)  # cut where T goes from 0.25 s to 1 s
    steps = np.diff(ds.time.values).astype("timedelta64[ms]").astype(int)
    assert set(steps[:11063]) == {250} and set(steps[11064:]) == {1000}
    assert ds.time.values[11064] == np.datetime64("2019-07-15T18:46:06", "ns")
    assert ds.attrs["sample_period"] == 0.25
    assert ds.attrs["sample_period_values"].tolist() == [0.25, 1.0]
    change = pd.Timestamp("2019-07-15T18:46:06").value / 1e9
    assert ds.attrs["sample_period_starts"][1] == change
    offsets = ds.time_offset.compute().values
    assert np.nanmax(np.abs(offsets)) < 1.0 and np.isnan(offsets).mean() < 0.1


def test_deployment_change_rows_only_over_deployed_time(client, sandbox_url, sandbox_stats):
    ds = ctd(client, start="2022-06-30T23:00", end="2022-07-15T01:00", chunk="1D")
    assert ds.chunks["time"] == (3600, 3600)  # T = 1 s; nothing during the recovery
    assert ds.time.values[3599] == np.datetime64("2022-06-30T23:59:59")
    assert ds.time.values[3600] == np.datetime64("2022-07-15T00:00:00")
    assert ds.attrs["deployments"].splitlines() == [
        f"{CTD} BACAX 2019-05-01T00:00:00.000Z 2022-07-01T00:00:00.000Z",
        f"{CTD} BACAX 2022-07-15T00:00:00.000Z ongoing",
    ]
    before = scalar_counts(sandbox_stats(sandbox_url))[0]
    assert ds.temperature.count().compute() > 3000
    assert scalar_counts(sandbox_stats(sandbox_url))[0] - before == 2


def test_location_and_category_find_the_device(client):
    kw = dict(start="2024-04-02", end="2024-04-03", chunk="6h", client=client)
    by_device = open_scalar(OXY, **kw)
    by_location = open_scalar(location_code="BACAX", device_category="OXYSENSOR", **kw)
    assert by_location.sizes["time"] == 17280  # ONC's rating of the optode: T = 5 s
    assert list(by_location.data_vars) == [
        "oxygen",
        "oxygen_qc",
        "temperature",
        "temperature_qc",
        "time_offset",
    ]
    xr.testing.assert_identical(by_location.compute(), by_device.compute())


# --- api and product agree ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "start", "end", "chunk"),
    [
        (CTD, "2024-04-01T20:00", "2024-04-01T23:00", "1h"),  # a gap, an empty window (204)
        (OXY, "2024-04-02", "2024-04-03", "6h"),
    ],
)
def test_product_source_gives_the_identical_dataset(client, device, start, end, chunk):
    kw = dict(start=start, end=end, chunk=chunk, client=client)
    api = open_scalar(device, **kw).compute()
    product = open_scalar(device, source="product", **kw)
    assert product.attrs["source"] == "product"
    xr.testing.assert_identical(without_source(product.compute()), without_source(api))


def test_gaps_none_and_remove_match_onc_products(client):
    window = dict(start="2024-04-01T21:00", end="2024-04-01T22:00")
    for quality, qc in (("raw", 0), ("clean", 1)):
        gaps = "none" if quality == "raw" else "remove"
        ours = ctd(client, quality=quality, gaps=gaps, **window)
        assert ours.attrs["data_gaps"] == gaps and ours.attrs["time_axis"] == "sample"
        assert "time_offset" not in ours and ours.chunks
        paths = client.order(
            "TSSD",
            "csv",
            device_code=CTD,
            **window,
            dpo_qualityControl=qc,
            dpo_dataGaps=0,
            dpo_resample="none",
        ).run()
        ref = read_tssd(paths)
        np.testing.assert_array_equal(ours.time.values, ref.time.values)
        for name in SENSORS:
            np.testing.assert_array_equal(ours[name].values, ref[name].values)
            np.testing.assert_array_equal(ours[f"{name}_qc"].values, ref[f"{name}_qc"].values)


def test_resample_matches_the_server_side_product(client):
    ds = ctd(client, start="2024-04-01T00:00", end="2024-04-01T03:00")
    ours = ds.onc.resample("1h", method="minMaxAvg").compute()
    ref = read_tssd(
        client.order(
            "TSSD",
            "csv",
            device_code=CTD,
            start="2024-04-01T00:00",
            end="2024-04-01T03:00",
            dpo_qualityControl=1,
            dpo_dataGaps=1,
            dpo_resample="minMaxAvg",
            dpo_minMaxAvg=3600,
        ).run()
    )
    # Snapping moves a sample from t = kT + φ + jitter to its slot kT. With φ + jitter in
    # [0, T) (here 7-988 ms, T = 1 s) and P = 3600 s a multiple of T, floor(t / P) equals
    # floor(kT / P): every sample stays in its bin, so counts, extremes and flags agree exactly.
    # Means and standard deviations agree to rounding (the oracle sums in another order), and
    # the extremes' times are the exact sample times (slot + time_offset), as the product's.
    np.testing.assert_array_equal(ours.time.values, ref.time.values)
    assert set(ours.data_vars) == set(ref.data_vars)
    for name in ref.data_vars:
        a, b = ours[name].values, ref[name].values
        if name.endswith("_time"):
            np.testing.assert_array_equal(a, b)
        elif name.endswith(("_std", *SENSORS)) and not name.endswith(("_min", "_max")):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)
        else:
            np.testing.assert_array_equal(a, b)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        (dict(source="ftp"), "source"),
        (dict(quality="dirty"), "quality"),
        (dict(gaps="zero"), "gaps"),
        (dict(chunk="fortnight"), "chunk"),
        (dict(chunk=0), "chunk"),
        (dict(start="2024-04-02", end="2024-04-01"), "end"),
        (dict(start="soon"), "start"),
        (dict(location_code="BACAX"), "device_code"),
        (dict(sensors=[1, 2]), "sensors"),
        (dict(start="2200-01-01", end="2200-01-02"), "start"),
    ],
)
def test_bad_arguments_are_named_before_any_request(
    kwargs, argument, client, sandbox_url, sandbox_stats
):
    args = dict(start="2024-04-01", end="2024-04-02", client=client) | kwargs
    before = sandbox_stats(sandbox_url)["requests"]
    with pytest.raises(ValueError, match=argument):
        open_scalar(CTD, **args)
    assert sandbox_stats(sandbox_url)["requests"] == before


def test_missing_source_is_explained(client):
    with pytest.raises(ValueError, match="location_code='BACAX' with device_category='CTD'"):
        open_scalar(start="2024-04-01", end="2024-04-02", client=client)


def test_unknown_sensor_lists_the_valid_ones(client):
    with pytest.raises(ValueError, match="temperature, conductivity, pressure, salinity"):
        ctd(client, sensors=["temprature"])


def test_server_side_problems_raise_the_clients_clear_errors(client):
    with pytest.raises(InvalidParameterError, match="device_code: 'NOPE123'"):
        open_scalar("NOPE123", start="2024-04-01", end="2024-04-02", client=client)
    with pytest.raises(NotDeployedError, match="2018-03-01 – 2021-09-30 at FGPD") as info:
        open_scalar("SBECTD16p6536", start="2024-04-01", end="2024-04-02", client=client)
    assert len(info.value.deployments) == 1
    with pytest.raises(RestrictedDataError):
        open_scalar("NORTEKADCP9917", start="2024-04-01", end="2024-04-02", client=client)
    with pytest.raises(InvalidParameterError, match="has no scalar data"):
        open_scalar("ICLISTENHF6093", start="2024-04-01", end="2024-04-02", client=client)


# --- pickling, the token, a distributed cluster -------------------------------------------------


def test_graph_pickles_and_never_shows_the_token(client, sandbox_token):
    ds = ctd(client, end="2024-04-01T21:00")
    graph = dict(ds.__dask_graph__())
    assert sandbox_token not in str(graph) + repr(ds) + str(list(graph))
    assert any("WindowSpec(api SBECTD19p6813 2024-04-01T20:00" in str(t) for t in graph.values())
    pickle.loads(pickle.dumps(graph))  # the client travels in the graph (token in the bytes)
    restored = pickle.loads(pickle.dumps(ds))
    xr.testing.assert_identical(restored.compute(), ds.compute())


@pytest.mark.parametrize("processes", [False, True])
def test_a_distributed_cluster_computes_the_same(client, processes):
    distributed = pytest.importorskip("distributed")
    ds = ctd(client, end="2024-04-01T22:00")
    expected = ds.compute(scheduler="sync")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=processes,
            host="127.0.0.1" if processes else None,  # in-process: no sockets at all
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        xr.testing.assert_identical(ds.compute(), expected)


# --- the grid, without a server -----------------------------------------------------------------


def test_durations_and_chunk_forms(client):
    ds = open_scalar(CTD, start="2024-04-01T20:00", end="PT90M", chunk="30min", client=client)
    assert ds.chunks["time"] == (1800, 1800, 1800)
    assert ds.time.values[-1] == np.datetime64("2024-04-01T21:29:59")


def test_parse_chunk():
    assert parse_chunk("1D") == 86_400 * S
    assert parse_chunk(pd.Timedelta("30min")) == 1800 * S
    with pytest.raises(ValueError, match="chunk"):
        parse_chunk("1ms")


def test_windows_cut_at_chunk_deployment_and_rating_boundaries():
    day = 86_400 * S
    deployments = [("A", "L", 0, day + 3600 * S), ("B", "L", day, None)]  # B takes over
    ratings = {"A": [(0, 2.0)], "B": [(0, 10.0), (day + 7200 * S, 1.0)]}
    segments = build_segments(deployments, ratings, day - 60 * S, day + 3 * 3600 * S, 2 * day)
    assert [(s.device_code, s.period // S) for s in segments] == [("A", 2), ("B", 10), ("B", 1)]
    windows = build_windows(segments, 3600 * S)
    assert [(w.device_code, (w.first - day) // S, w.count) for w in windows] == [
        ("A", -60, 30),
        ("B", 0, 360),
        ("B", 3600, 360),
        ("B", 7200, 3600),
    ]


@settings(max_examples=60, deadline=None)
@given(
    phase_ms=st.integers(10, 989),
    jitter=st.lists(st.integers(-4, 4), min_size=20, max_size=20),
    present=st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_snap_puts_each_sample_in_its_slot(phase_ms, jitter, present):
    """T = 1 s; samples at k·T + φ + jitter (ms), some missing; φ away from a slot boundary."""
    window = Window("D", "L", 100 * S, 20, S)
    k = np.flatnonzero(present)
    t = (100 + k) * S + phase_ms * MS + np.array(jitter)[k] * MS
    # the neighbours' samples fetched in the margins must not land in this window
    t = np.concatenate([[99 * S + phase_ms * MS], t, [120 * S + phase_ms * MS]])
    values = np.concatenate([[-1.0], k.astype(float), [-1.0]])
    rec = Records(t, {"x": values}, {"x": np.ones(t.size, dtype=np.int8)})
    out = snap(rec, window, [("x", "x")])
    expected = np.full(20, np.nan)
    expected[k] = k
    np.testing.assert_array_equal(out["x"], expected)
    assert np.all(out["x_qc"][np.isnan(expected)] == 9)
    offsets = out["time_offset"][k]
    assert np.all((offsets >= 0) & (offsets < 1))  # φ in [0, T): actual >= nominal


@pytest.mark.parametrize("phase_ms", [0, 1, 998, 999])
def test_whole_second_instruments_are_snapped_alike_in_every_window(phase_ms):
    """Samples at whole seconds ± 3 ms: each lands once, at its nearest second, in any window."""
    rng = np.random.default_rng(phase_ms)
    seconds = np.arange(90, 131)
    t = np.sort(seconds * S + phase_ms * MS + rng.integers(-3, 4, seconds.size) * MS)
    rec = Records(t, {"x": t / S}, {"x": np.ones(t.size, dtype=np.int8)})
    placed = []
    for first in (100, 110, 120):
        window = Window("D", "L", first * S, 10, S)
        lo, hi = window.fetch_range
        inside = (t >= lo) & (t < hi)
        part = Records(t[inside], {"x": rec.values["x"][inside]}, {"x": rec.flags["x"][inside]})
        out = snap(part, window, [("x", "x")])
        placed.extend(zip((first + np.arange(10)).tolist(), out["x"].tolist(), strict=True))
    nominal, actual = np.array(placed).T
    assert np.array_equal(np.round(actual), nominal)  # nearest second, each exactly once


def test_snap_keeps_the_nearest_of_two_samples_and_skips_empty_rows():
    t = np.array([1_000, 1_400, 2_050, 3_000]) * MS
    rec = Records(t, {"x": np.array([1.0, 9.0, np.nan, 3.0])}, {"x": np.int8([1, 4, 9, 1])})
    out = snap(rec, Window("D", "L", S, 3, S), [("x", "x"), ("y", "y")])
    assert out["x"].tolist()[0::2] == [1.0, 3.0] and np.isnan(out["x"][1])
    assert out["x_qc"].tolist() == [1, 9, 1] and out["y_qc"].tolist() == [9, 9, 9]
    assert np.isnan(out["time_offset"][1]) and np.isnan(out["y"]).all()


def test_snap_of_nothing_is_all_missing():
    out = snap(Records.empty(), Window("D", "L", 0, 4, S), [("x", "x")])
    assert np.isnan(out["x"]).all() and (out["x_qc"] == 9).all()
    assert np.isnan(out["time_offset"]).all()


def test_netcdf_round_trip_keeps_values_flags_and_attrs(client, tmp_path):
    """A lazily opened dataset, and its hourly resampling, survive ``to_netcdf`` unchanged:
    CF flag attributes included, so cf_xarray still reads the flags after the round trip."""
    import cf_xarray  # noqa: F401  (registers the .cf accessor)

    ds = open_scalar(
        "SBECTD19p6813", start="2024-04-01T00:00", end="2024-04-01T02:00", client=client
    )
    for name, data in (("raw", ds), ("hourly", ds.onc.resample("1h", method="minMaxAvg"))):
        path = tmp_path / f"{name}.nc"
        data.to_netcdf(path)
        with xr.open_dataset(path) as back:
            # a file's time has a pandas index; the open one an O(1) TimeGridIndex (same
            # labels): compare with the same index type
            xr.testing.assert_identical(back.load(), pandas_time(data.compute()))
            good = back.temperature_qc.cf == "good"
            assert good.dtype == bool and good.shape == back.temperature_qc.shape
            assert back.temperature.attrs["ancillary_variables"].split()[0] == "temperature_qc"


def test_regular_grid_is_an_o1_time_index(client):
    """One regular piece: a TimeGridIndex (no per-slot datetimes); pieces: a pandas index."""
    import cloudpickle

    from intake_onc._core.time_index import TimeGridIndex

    year = open_scalar(CTD, start="2024-01-01", end="2025-01-01", client=client)
    assert isinstance(year.xindexes["time"], TimeGridIndex)
    assert year.sizes["time"] == 366 * 86_400
    assert not isinstance(year["time"].variable._data, np.ndarray)
    assert year.attrs["time_coverage_end"].startswith("2024-12-31T23:59:59")
    graph = dict(year.__dask_graph__())
    # no time array in the graph (a year of 1 Hz datetimes is 253 MB): tasks derive their slots
    assert len(cloudpickle.dumps(graph)) < 2_000_000
    ds = ctd(client)
    assert isinstance(ds.xindexes["time"], TimeGridIndex)
    assert ds.sel(time="2024-04-01T21:00:00.4", method="nearest").time.values == np.datetime64(
        "2024-04-01T21:00:00", "ns"
    )
    rated = ctd(client, start="2019-07-15T18:40", end="2019-07-15T18:50", chunk="1D")
    assert type(rated.xindexes["time"]).__name__ == "PandasIndex"  # two sample periods


# --- windows of many pages ----------------------------------------------------------------------


def test_a_window_of_many_pages_is_fetched_as_parallel_page_sized_parts(
    client, sandbox_url, sandbox_stats, monkeypatch
):
    from intake_onc.datasets import _tasks

    whole = ctd(client, start="2024-04-01T10:00", end="2024-04-01T12:00", chunk="2h").compute()
    monkeypatch.setattr(_tasks, "PAGE_ROWS", 1_000)  # 7,200 slots of 1 s: 8 parts
    lazy = ctd(client, start="2024-04-01T10:00", end="2024-04-01T12:00", chunk="2h")
    before = scalar_counts(sandbox_stats(sandbox_url))[0]
    parts = lazy.compute()
    assert scalar_counts(sandbox_stats(sandbox_url))[0] - before == 8
    xr.testing.assert_identical(parts, whole)


def test_page_sized_parts_cover_the_fetch_range_once_on_whole_milliseconds():
    from intake_onc.datasets import _tasks

    window = Window("SBECTD19p6813", "BACAX", first=1_711_929_600 * S, count=345_600, period=S // 4)
    parts = _tasks._parts(window)
    assert len(parts) == 4  # a day at 4 Hz: 4 pages of at most 100,000 rows
    assert parts[0][0] == window.fetch_range[0] and parts[-1][1] == window.fetch_range[1]
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    assert all(edge % MS == 0 for part in parts for edge in part)
    slots_per_part = [(b - a) / window.period for a, b in parts]
    assert max(slots_per_part) <= 100_000 + 1


def test_a_clean_hourly_resample_fuses_every_sensor_and_step_of_a_window(client, monkeypatch):
    import dask

    from intake_onc.scalar import _resample_graph

    ds = ctd(client)  # three windows of one hour
    lazy_outputs = [v for v in ds.onc.resample("1h", "minMaxAvg").data_vars.values() if v.chunks]
    monkeypatch.setattr(_resample_graph, "MIN_TASKS", 1)  # (three windows are a short range)
    monkeypatch.setattr(_resample_graph, "TASKS_PER_THREAD", 1)
    for on_a_cluster, runs in [(False, 3), (True, 1)]:  # a cluster resamples runs of windows
        monkeypatch.setattr(_resample_graph, "_cluster_threads", lambda c=on_a_cluster: int(c))
        out = ds.onc.clean().onc.resample("1h", method="minMaxAvg")
        (optimized,) = dask.optimize(out)
        tasks = dict(optimized.__dask_graph__())
        # one data node (the windows' source); per window one fused task (its download, the
        # views of every sensor, clean, the kernel), or one task for a run of small windows
        # with theirs nested in it; then one gather and one view per output
        assert len(tasks) == 1 + runs + 1 + len(lazy_outputs)
        kernels = [
            k for k in tasks if isinstance(k, tuple) and k[0].startswith(("_k", "onc-resample-run"))
        ]
        assert len(kernels) == runs
        # (with a single run, dask fuses the data node into it: one task and its alias)
        aliases = [t for t in tasks.values() if "Alias" in type(t).__name__]
        assert len(aliases) == (runs == 1)


def _start(args: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=log, stderr=log)


def test_an_existing_cluster_by_address_with_the_token_in_the_workers_environment(
    sandbox_url, sandbox_token, tmp_path
):
    # docs/distributed.md, "On an existing cluster": a scheduler and a worker started by
    # somebody else (here: dask's own command-line entry points), the token kept out of the
    # graph and given to the worker through its environment
    distributed = pytest.importorskip("distributed")
    env = {k: v for k, v in os.environ.items() if k not in ("ONC_TOKEN", "ONC_BASE_URL")}
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")  # noqa: SIM115  (closed below)
    processes = [
        _start(
            ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
            + ["--no-dashboard", "--scheduler-file", str(scheduler_file)],
            env,
            log,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        worker_env = {**env, "ONC_TOKEN": sandbox_token, "INTAKE_ONC_CACHE_DIR": str(tmp_path)}
        processes.append(
            _start(
                ["distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file)]
                + ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                worker_env,
                log,
            )
        )
        address = json.loads(scheduler_file.read_text())["address"]
        client = ONCClient(
            token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path, pickle_token=False
        )
        ds = ctd(client, end="2024-04-01T22:00")
        assert sandbox_token.encode() not in cloudpickle.dumps(dict(ds.__dask_graph__()))
        expected = ds.compute(scheduler="sync")
        with distributed.Client(address, timeout=60) as cluster:
            cluster.wait_for_workers(1, timeout=60)
            xr.testing.assert_identical(ds.compute(), expected)
    finally:
        for p in processes[::-1]:
            p.terminate()
            p.wait(timeout=30)
        log.close()
