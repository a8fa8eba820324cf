"""Scale: lean dask graphs, and the same answers on a cluster as on one thread.

A year of 1 Hz data resampled hourly is one kernel task per daily chunk for the whole Dataset
(built under a dask.distributed Client: one per run of 11 daily chunks), plus a gather and one
small unpacking task per output variable; no time array travels in the graph.
On a 2-process ``LocalCluster`` a month-long resample and a day-long spectrogram give exactly
what the local scheduler gives.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import xarray as xr

import intake_onc  # noqa: F401  (registers .onc)
from intake_onc._core.time_index import TimeGridIndex, time_grid_coords
from intake_onc.scalar import _resample_graph
from intake_onc.scalar._resample_kernel import _FIELDS
from intake_onc.scalar.resample import resample

DAY = 86_400
FLAG_VALUES = np.array([0, 1, 2, 3, 4, 6, 7, 8, 9], np.int8)


def seeded_block(kind: str, k: int, block_info=None) -> np.ndarray:
    """One chunk of random values or flags, seeded by sensor and chunk (the same every time)."""
    info = block_info[None]
    rng = np.random.default_rng([k, info["chunk-location"][0]])
    if kind == "values":
        return rng.normal(size=info["chunk-shape"])
    return rng.choice(FLAG_VALUES, size=info["chunk-shape"]).astype(np.int8)


def sensors(coords, n: int, chunk: int, sensors: int = 4, *, generated: bool = False) -> xr.Dataset:
    """``sensors`` lazy 1 Hz variables with flags (random values, some bad flags), in chunks.

    Each chunk is made inside its task from its own seed, so the graph stays small and every
    compute sees the same numbers. ``generated``: dask's own random generators instead (for
    graph-only tests: their values differ between computes of different graphs).
    """
    chunks = ((chunk,) * (n // chunk) + ((n % chunk,) if n % chunk else ()),)
    ds = xr.Dataset(coords=coords)
    for k in range(sensors):
        if generated:
            values = da.random.default_rng(k).normal(size=n, chunks=chunk)
            flags = da.random.default_rng(100 + k).choice(FLAG_VALUES, size=n, chunks=chunk)
        else:
            values = da.map_blocks(seeded_block, "values", k, chunks=chunks, dtype=np.float64)
            flags = da.map_blocks(seeded_block, "flags", k, chunks=chunks, dtype=np.int8)
        ds[f"s{k}"] = ("time", values, {"ancillary_variables": f"s{k}_qc"})
        ds[f"s{k}_qc"] = ("time", flags.astype(np.int8), {"flag_values": FLAG_VALUES})
    return ds


def largest_array_in(graph) -> int:
    """Bytes of the largest numpy array anywhere inside the graph's tasks."""
    largest = 0

    def walk(obj, depth=0):
        nonlocal largest
        if isinstance(obj, np.ndarray):
            largest = max(largest, obj.nbytes)
        elif isinstance(obj, (tuple, list)) and depth < 6:
            for item in obj:
                walk(item, depth + 1)
        elif isinstance(obj, dict) and depth < 6:
            for item in obj.values():
                walk(item, depth + 1)
        elif hasattr(obj, "args") and depth < 6:  # dask's Task spec objects
            walk(getattr(obj, "args", ()), depth + 1)
            walk(getattr(obj, "kwargs", {}), depth + 1)

    for task in dict(graph).values():
        walk(task)
    return largest


def graph_of(obj) -> dict:
    return dict(obj.__dask_graph__())


def task_messages(obj) -> int:
    """Bytes of all tasks, each pickled on its own as a scheduler sends them to workers."""
    (optimized,) = dask.optimize(obj)
    return sum(len(pickle.dumps(task)) for task in graph_of(optimized).values())


def with_gaps(days: int, chunk: int = 8_000) -> xr.Dataset:
    """10 s data with 1 % of the rows missing (about 86 gaps a day), lazily in chunks."""
    t = np.arange(days * 8_640) * 10
    t = t[np.random.default_rng(0).random(t.size) > 0.01]
    ds = sensors({"time": pd.Timestamp("2024-01-01") + pd.to_timedelta(t, unit="s")}, t.size, chunk)
    return ds.assign_attrs(sample_period=10.0)


# --- the graph ---------------------------------------------------------------------------------


def test_a_year_on_an_o1_grid_opens_without_a_time_array():
    ds = sensors(time_grid_coords("2023-01-01", "1s", 365 * DAY), 365 * DAY, DAY, generated=True)
    assert isinstance(ds.xindexes["time"], TimeGridIndex)
    assert ds["time"].variable._data.__class__.__name__ != "ndarray"


@pytest.fixture
def as_on_a_cluster(monkeypatch):
    """Build resample graphs as under a 2-thread ``dask.distributed`` Client (runs of small
    chunks)."""
    monkeypatch.setattr(_resample_graph, "_cluster_threads", lambda: 2)


@pytest.mark.parametrize("where", ["local", "cluster"])
@pytest.mark.parametrize("index", ["grid", "pandas"])
def test_an_hourly_resample_of_a_year_is_one_task_per_chunk_and_a_small_graph(
    index, where, monkeypatch
):
    monkeypatch.setattr(_resample_graph, "_cluster_threads", lambda: 2 * (where == "cluster"))
    n = 365 * DAY
    coords = (
        time_grid_coords("2023-01-01", "1s", n)
        if index == "grid"
        else {"time": pd.date_range("2023-01-01", periods=n, freq="1s")}
    )
    ds = sensors(coords, n, DAY, generated=True)
    before = graph_of(ds)
    out = resample(ds, "1h", "minMaxAvg")
    added = set(graph_of(out)) - set(before)
    fields = len(_FIELDS["minMaxAvg"])
    # kernel tasks (every variable of a day at once, or on a cluster of 11 days at once: runs
    # of at most 1/MIN_TASKS of the rows), one gather, 4 × 10 views
    assert len(added) == {"local": 365, "cluster": 34}[where] + 1 + 4 * fields
    resample_only = {k: v for k, v in graph_of(out).items() if k in added}
    assert len(pickle.dumps(resample_only)) < 2 * 2**20
    assert largest_array_in(resample_only) <= 8 * 1024  # no time index inside the graph
    assert out.sizes["time"] == 365 * 24
    assert out["s0"].chunks == ((365 * 24,),)


@pytest.mark.parametrize(
    "pipeline",
    [
        pytest.param(lambda ds: resample(ds, "1h", "minMaxAvg"), id="resample"),
        pytest.param(lambda ds: ds.onc.fill_gaps(), id="fill_gaps"),
        pytest.param(lambda ds: ds.onc.clean().onc.fill_gaps().onc.resample("1h"), id="all"),
    ],
)
def test_a_task_carries_its_own_chunk_only_however_long_the_dataset(pipeline, request):
    # On a cluster every task is pickled and sent on its own. Tasks that held the bounds or the
    # gaps of every chunk made the messages grow with the square of the length (a year of daily
    # chunks resampled: 3 MB; ten years: 300 MB); they must grow like the length.
    month, four_months = pipeline(with_gaps(30)), pipeline(with_gaps(120))
    assert task_messages(four_months) <= 4.4 * task_messages(month)
    if "resample" not in request.node.callspec.id:
        return  # (the gaps of ten years at 1 Hz would take 2.5 GB of time stamps)
    year = sensors(time_grid_coords("2023-01-01", "1s", 365 * DAY), 365 * DAY, DAY)
    decade = sensors(time_grid_coords("2023-01-01", "1s", 3650 * DAY), 3650 * DAY, DAY)
    assert task_messages(pipeline(decade)) <= 11 * task_messages(pipeline(year))


def kernel_tasks(out: xr.Dataset) -> dict:
    (optimized,) = dask.optimize(out)
    names = ("onc-resample-run", "_kernel_block")
    return {k: v for k, v in graph_of(optimized).items() if str(k[0]).startswith(names)}


def test_on_a_cluster_small_chunks_are_resampled_in_runs_and_large_ones_one_task_each(
    as_on_a_cluster, monkeypatch
):
    # dask.distributed spends about 1.5 ms on every task: a day of 1 Hz (6 ms of work) is too
    # small a task, so consecutive chunks are resampled together, in runs of at most TASK_ROWS
    # rows and 1/MIN_TASKS of all rows, and at least TASKS_PER_THREAD runs a worker thread
    n = 365 * DAY
    coords = time_grid_coords("2024-01-01", "1s", n)
    daily = sensors(coords, n, DAY, sensors=2, generated=True)
    assert len(kernel_tasks(resample(daily, "1h", "minMaxAvg"))) == 34  # 33 × 11 days + 2 days
    monkeypatch.setattr(_resample_graph, "_cluster_threads", lambda: 16)
    assert len(kernel_tasks(resample(daily, "1h"))) == 73  # 16 threads: 73 runs of 5 days
    monkeypatch.setattr(_resample_graph, "_cluster_threads", lambda: 2)
    ten_days = resample(sensors(coords, n, 10 * DAY, sensors=2, generated=True), "1h")
    assert len(kernel_tasks(ten_days)) == 37  # 864,000 rows a chunk: a task each
    # and at least MIN_TASKS tasks: a month of days keeps a task a day
    for days, tasks in [(30, 30), (120, 40)]:  # 120 days: runs of 3 days
        coords = time_grid_coords("2024-01-01", "1s", days * DAY)
        shorter = sensors(coords, days * DAY, DAY, sensors=2, generated=True)
        assert len(kernel_tasks(resample(shorter, "1h"))) == tasks
    local = sensors(time_grid_coords("2024-01-01", "1s", 60 * DAY), 60 * DAY, DAY, sensors=2)
    xr.testing.assert_identical(
        resample(local, "1h", "minMaxAvg").compute(),
        resample(local.compute(), "1h", "minMaxAvg"),
    )


def test_the_input_and_its_resample_in_runs_compute_together_or_persisted(as_on_a_cluster):
    # runs nest the input's tasks: computed together, the input's chunks are computed twice
    # (same numbers); persisted first, the runs read the persisted chunks
    n = 120 * DAY
    ds = sensors(time_grid_coords("2024-01-01", "1s", n), n, DAY, sensors=2)
    expected = resample(ds.compute(), "1h", "minMaxAvg")
    got_ds, got = dask.compute(ds, resample(ds, "1h", "minMaxAvg"))
    xr.testing.assert_identical(got, expected)
    xr.testing.assert_identical(got_ds, ds.compute())
    persisted = ds.persist()
    in_runs = resample(persisted, "1h", "minMaxAvg")
    assert len(kernel_tasks(in_runs)) == 40
    xr.testing.assert_identical(in_runs.compute(), expected)


def test_a_run_takes_in_the_tasks_of_its_own_chunks_and_leaves_shared_ones(as_on_a_cluster):
    # dask's random arrays and da.ones make one task per chunk outside the kernel's fused
    # task: a run takes those in; a task that every chunk uses (here a delayed scale) stays one
    n = 120 * DAY
    scale = da.from_delayed(dask.delayed(np.float64)(2.0), shape=(), dtype=np.float64)
    ds = xr.Dataset(coords=time_grid_coords("2024-01-01", "1s", n))
    ds["x"] = ("time", da.random.default_rng(1).normal(size=n, chunks=DAY) * scale)
    ds["x_qc"] = ("time", da.ones(n, dtype=np.int8, chunks=DAY), {"flag_values": FLAG_VALUES})
    out = resample(ds, "1h", "minMaxAvg")
    (optimized,) = dask.optimize(out)
    names = {
        str(k[0] if isinstance(k, tuple) else k).rsplit("-", 1)[0] for k in graph_of(optimized)
    }
    assert not {"normal", "ones_like"} & names  # inside the runs
    assert len(kernel_tasks(out)) == 40
    assert sum(1 for k in graph_of(optimized) if "float64" in str(k)) == 1  # the shared task
    xr.testing.assert_identical(out.compute(), resample(ds.compute(), "1h", "minMaxAvg"))


def test_local_schedulers_keep_one_task_per_chunk():
    # their cost per task is tens of microseconds, and open_scalar's read-ahead follows a
    # compute from chunk to chunk (runs halved the download concurrency on 2 threads)
    n = 365 * DAY
    daily = sensors(time_grid_coords("2024-01-01", "1s", n), n, DAY, sensors=2, generated=True)
    assert _resample_graph._cluster_threads() == 0
    assert len(kernel_tasks(resample(daily, "1h"))) == 365


def test_building_a_resample_does_not_import_distributed():
    # (asking dask for its scheduler imports distributed when installed: 0.3 s and 40 MB;
    # dask's own compute does, but building a graph should not)
    code = (
        "import sys, numpy as np, dask.array as da, xarray as xr, intake_onc\n"
        "ds = xr.Dataset({'x': ('time', da.zeros(7200, chunks=3600)),\n"
        "                 'x_qc': ('time', da.ones(7200, dtype='int8', chunks=3600))},\n"
        "                coords={'time': np.arange(7200) * np.timedelta64(1, 's')\n"
        "                        + np.datetime64('2024-01-01', 'ns')})\n"
        "ds.onc.resample('1h')\n"
        "assert 'distributed' not in sys.modules, 'distributed was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_run_is_cut_at_output_chunks_and_matches_numpy(monkeypatch, as_on_a_cluster):
    n = 3 * DAY
    ds = sensors(time_grid_coords("2024-02-28", "1s", n), n, 3_600, sensors=2)
    monkeypatch.setattr(_resample_graph, "OUTPUT_CHUNK_BINS", 5)  # 5-hour output chunks
    monkeypatch.setattr(_resample_graph, "TASK_ROWS", 2 * 3_600)  # runs of two hours
    lazy = resample(ds, "1h", "minMaxAvg")
    assert lazy["s1_max_time"].chunks == ((5,) * 14 + (2,),)
    assert len(kernel_tasks(lazy)) == 14 * 3 + 1  # per output chunk: runs of 2 + 2 + 1 hours
    xr.testing.assert_identical(lazy.compute(), resample(ds.compute(), "1h", "minMaxAvg"))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_fixed_frequency_index_in_any_unit_is_read_as_the_grid(unit):
    # pd.date_range(freq="1s") holds the step at every row (pandas checks a freq): the O(1)
    # grid without converting a year of stamps to ns; the same index without its freq is
    # checked row by row, with the same answers
    from intake_onc.scalar.gaps import time_axis

    n = 2 * DAY
    index = pd.date_range("2024-03-01", periods=n, freq="1s", unit=unit)
    with_freq = sensors({"time": index}, n, DAY, sensors=1)
    without = with_freq.assign_coords(time=pd.DatetimeIndex(index.to_numpy(), freq=None))
    assert with_freq.indexes["time"].freq is not None and without.indexes["time"].freq is None
    axes = [time_axis(with_freq), time_axis(without)]
    assert all(axis.regular for axis in axes)
    assert axes[0].at(np.array([0, n - 1])).tolist() == axes[1].at(np.array([0, n - 1])).tolist()
    xr.testing.assert_identical(
        resample(with_freq, "1h", "minMaxAvg").compute(),
        resample(without, "1h", "minMaxAvg").compute(),
    )


def test_every_output_variable_is_a_task_group_of_its_own():
    # dask.distributed holds back large groups of tasks with few dependencies ("root-ish") and
    # releases them a worker slot at a time: 40 unpacking tasks in a few groups cost a 5.7 ms
    # round trip for every two of them (0.23 s after a month's 0.21 s of kernels)
    from dask.utils import key_split

    n = 3 * DAY
    ds = sensors(time_grid_coords("2024-01-01", "1s", n), n, DAY, generated=True)
    out = resample(ds, "1h", "minMaxAvg")
    groups = {key_split(v.data.name) for v in out.data_vars.values()}
    assert len(groups) == len(out.data_vars) == 4 * len(_FIELDS["minMaxAvg"])


def test_output_chunks_gather_whole_input_chunks_and_match_numpy(monkeypatch):
    n = 3 * DAY
    ds = sensors(time_grid_coords("2024-02-28", "1s", n), n, 7_200, sensors=2)
    monkeypatch.setattr(_resample_graph, "OUTPUT_CHUNK_BINS", 5)  # gather 2-hour blocks
    lazy = resample(ds, "1h", "minMaxAvg")
    assert lazy["s1_max_time"].chunks == ((6,) * 12,)
    eager = resample(ds.compute(), "1h", "minMaxAvg")
    xr.testing.assert_identical(lazy.compute(), eager)


def test_an_irregular_axis_still_resamples_lazily_and_exactly():
    rng = np.random.default_rng(0)
    t = np.sort(rng.choice(np.arange(2 * DAY), size=50_000, replace=False))
    coords = {"time": pd.Timestamp("2024-01-01") + pd.to_timedelta(t, unit="s")}
    ds = sensors(coords, t.size, 6_000, sensors=2)
    lazy = resample(ds, "10min", "minMaxAvg", min_completeness=0)
    eager = resample(ds.compute(), "10min", "minMaxAvg", min_completeness=0)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_clean_then_resample_fuses_into_the_kernel_tasks():
    n = 10 * DAY
    ds = sensors(time_grid_coords("2024-01-01", "1s", n), n, DAY, generated=True)
    out = ds.onc.clean().onc.resample("1h", method="minMaxAvg")
    (optimized,) = dask.optimize(out)
    counts = len(graph_of(optimized))
    # inputs (random values and flags per sensor and day) + 10 kernels + 1 gather + 40 views:
    # clean's elementwise steps add no task of their own
    assert counts <= len(graph_of(ds)) + 10 + 1 + 4 * len(_FIELDS["minMaxAvg"])


# --- the same answers on a cluster -------------------------------------------------------------


def day_of_audio(folder, rate: int = 250) -> list:
    """24 hourly FLAC files (ONC names) of a low-rate tone and noise: a day of audio, 86 MB."""
    paths = []
    rng = np.random.default_rng(1)
    for hour in range(24):
        t0 = pd.Timestamp("2024-04-01") + pd.Timedelta(hours=hour)
        n = 3600 * rate
        tone = 0.3 * np.sin(2 * np.pi * (20 + hour) * np.arange(n) / rate)
        samples = (tone + 0.05 * rng.standard_normal(n)).astype(np.float32)
        path = folder / f"ICLISTENHF6324_{t0:%Y%m%dT%H%M%S}.000Z.flac"
        sf.write(path, samples, rate, subtype="PCM_24")
        paths.append(path)
    return paths


def test_a_day_long_spectrogram_and_a_month_resample_on_a_2_process_cluster(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    audio = intake_onc.open_audio_files(day_of_audio(tmp_path))
    spec = intake_onc.spectrogram(audio, win_dur=4.0, overlap=0.5, average="10min")
    n = 30 * DAY
    month = sensors(time_grid_coords("2024-04-01", "1s", n), n, DAY)
    hourly = month.onc.clean().onc.resample("1h", method="minMaxAvg")
    expected = spec.compute(scheduler="sync"), hourly.compute(scheduler="sync")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        got = dask.compute(spec, hourly)
        # built under the Client: runs of small chunks (MIN_TASKS lowered: a month is short)
        monkeypatch.setattr(_resample_graph, "MIN_TASKS", 8)
        in_runs = month.onc.clean().onc.resample("1h", method="minMaxAvg")
        assert len(kernel_tasks(in_runs)) == 10  # runs of 3 days
        got_in_runs = in_runs.compute()
        with dask.config.set(scheduler="sync"):  # a local scheduler set in dask's config
            assert _resample_graph._cluster_threads() == 0
        assert _resample_graph._cluster_threads() == 2
    assert spec.sizes["time"] == 24 * 6
    xr.testing.assert_identical(got[0], expected[0])
    xr.testing.assert_identical(got[1], expected[1])
    xr.testing.assert_identical(got_in_runs, expected[1])


# -- network concurrency of open_scalar ----------------------------------------------------------


class InFlight:
    """Wraps ``client.scalar_data``: counts requests and the most ever in flight at once."""

    def __init__(self, client, delay: float) -> None:
        import threading
        import time

        self.calls = self.now = self.most = 0
        self._lock = threading.Lock()
        real = client.scalar_data

        def scalar_data(*args, **kwargs):
            with self._lock:
                self.calls += 1
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(delay)  # a network round trip
                return real(*args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        client.scalar_data = scalar_data


@pytest.fixture
def scalar_client(sandbox_url, sandbox_token, tmp_path):
    from intake_onc.client import ONCClient

    def make(workers: int):
        return ONCClient(
            token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path / "c", workers=workers
        )

    return make


def test_a_sequential_compute_downloads_client_workers_windows_at_once(scalar_client):
    """One dask thread, ``workers=4``: windows download four at a time, each once."""
    from intake_onc.datasets import open_scalar

    window = dict(device_code="SBECTD19p6813", start="2024-04-01", end="2024-04-01T12:00")
    client = scalar_client(workers=4)
    meter = InFlight(client, delay=0.2)
    ds = open_scalar(**window, chunk="1h", client=client)
    meter.calls = meter.most = 0  # opening asked for the sensors' metadata
    with dask.config.set(scheduler="threads", num_workers=1):
        got = ds.compute()
    assert meter.calls == 12  # every window downloaded once: nothing twice, nothing extra
    assert meter.most >= 3  # more than the one dask thread: the client's workers
    assert meter.most <= 4 + 1
    plain = open_scalar(**window, chunk="1h", client=scalar_client(workers=1))
    with dask.config.set(scheduler="sync"):
        xr.testing.assert_identical(got, plain.compute())


def test_computing_one_window_downloads_only_that_window(scalar_client):
    from intake_onc.datasets import open_scalar

    client = scalar_client(workers=4)
    meter = InFlight(client, delay=0.0)
    ds = open_scalar(
        device_code="SBECTD19p6813",
        start="2024-04-01",
        end="2024-04-01T12:00",
        chunk="1h",
        client=client,
    )
    meter.calls = 0  # opening asked for the sensors' metadata
    first = ds.temperature.isel(time=slice(0, 10)).values
    last = ds.temperature.isel(time=-1).values
    assert meter.calls == 2 and first.shape == (10,) and last.shape == ()
