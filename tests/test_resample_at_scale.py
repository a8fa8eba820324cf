"""ONC resampling at the sizes users run: full days at 1 Hz, every internal block size, every
period from a minute to a day, random starts, gaps, flags, NaN rows and dask chunkings.

The kernel cuts the data into blocks of ``_BLOCK`` samples (whole bins each); a cut at a multiple
of the block size inside the last bin once listed that bin twice and crashed with an IndexError on
any full day of 1 Hz data resampled to 6 h, 8 h, 12 h or a day. Every case here is checked against
the sandbox's independent implementation of semantics.md (``sandbox.reference.rules``), and the
dask result against the numpy one.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import scalar_ds

from intake_onc.sandbox.reference import rules
from intake_onc.sandbox.synthetic.scalar import ScalarRecords
from intake_onc.scalar import _resample_graph
from intake_onc.scalar._resample_kernel import _BLOCK
from intake_onc.scalar.resample import resample

DAY_S = 86_400
#: Every ONC-style period from a minute to a day: the divisors of a day of at least 60 s.
PERIODS = [p for p in range(60, DAY_S + 1) if DAY_S % p == 0]
METHODS = ["average", "minMax", "minMaxAvg"]
FLAGS = np.int8([1, 1, 1, 1, 1, 1, 2, 0, 7, 8, 3, 4, 6, 9])


def series(n: int, *, start_s: int, sample_period: float, seed: int, gaps: int = 3):
    """``n`` readings every ``sample_period`` s from ``start_s`` s after 2024-04-01, with up to
    5 ms of jitter, ``gaps`` holes of up to an hour, ~1 % NaN rows and every flag."""
    rng = np.random.default_rng(seed)
    step = np.full(n, round(sample_period * 1e9), dtype=np.int64)
    step[0] = 0
    if n > 1 and gaps:
        where = rng.integers(1, n, size=gaps)
        step[where] *= rng.integers(2, 3600, size=gaps)
    t0 = np.datetime64("2024-04-01T00:00:00", "ns").astype(np.int64) + start_s * 10**9
    t = t0 + np.cumsum(step) + rng.integers(0, 5_000_000, n)
    t = np.maximum.accumulate(t)  # jitter must not reorder readings
    t = np.unique(t)
    values = np.round(4 + rng.standard_normal(len(t)), 4)
    values[rng.random(len(t)) < 0.01] = np.nan
    flags = rng.choice(FLAGS, size=len(t))
    return t.view("datetime64[ns]"), values, flags


def reference(t, values, flags, method, period, sample_period, min_completeness):
    records = ScalarRecords(t, {"x": values}, {"x": flags})
    return rules.resample(
        records, method, period, sample_period=sample_period, min_completeness=min_completeness
    )


def assert_matches_reference(out: xr.Dataset, expected) -> None:
    assert np.array_equal(out.time.values, expected.times)
    assert set(out.data_vars) == set(expected.variables)
    for name, values in expected.variables.items():
        got = out[name].values
        if values.dtype.kind == "f":
            np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-9, err_msg=name)
        else:
            assert np.array_equal(got, values, equal_nan=values.dtype.kind == "M"), name


def random_chunks(n: int, cuts: list[int]) -> tuple[int, ...]:
    edges = sorted({0, n, *(c % n for c in cuts)})
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a)


# --- the crash, deterministically ------------------------------------------------------------


@pytest.mark.parametrize("period", ["6h", "8h", "12h", "1D"])
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_a_full_day_at_1_hz_resamples_to_long_periods(period, backend):
    t, values, flags = series(DAY_S, start_s=0, sample_period=1.0, seed=1, gaps=0)
    ds = scalar_ds(t, {"sample_period": 1.0}, x=(values, flags))
    if backend == "dask":
        ds = ds.chunk(time=3600 * 5)
    out = resample(ds, period, "minMaxAvg").compute()
    seconds = {"6h": 21_600, "8h": 28_800, "12h": 43_200, "1D": DAY_S}[period]
    expected = reference(t, values, flags, "minMaxAvg", seconds, 1.0, 0.7)
    assert_matches_reference(out, expected)
    assert out.sizes["time"] == DAY_S // seconds


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_two_days_from_five_in_the_morning_resample_hourly(backend):
    t, values, flags = series(2 * DAY_S - 5 * 3600, start_s=5 * 3600, sample_period=1.0, seed=2)
    ds = scalar_ds(t, {"sample_period": 1.0}, x=(values, flags))
    if backend == "dask":
        ds = ds.chunk(time=DAY_S)
    out = resample(ds, "1h", "minMaxAvg").compute()
    assert_matches_reference(out, reference(t, values, flags, "minMaxAvg", 3600, 1.0, 0.7))


# --- properties at every block size -------------------------------------------------------------

#: Lengths around every internal block boundary the kernel has, plus a full day at 1 Hz.
LENGTHS = [_BLOCK - 1, _BLOCK, _BLOCK + 1, 2 * _BLOCK + 3, 3 * _BLOCK - 2, DAY_S]


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("n", LENGTHS)
@given(
    start_s=st.integers(0, DAY_S - 1),
    sample_period=st.sampled_from([0.5, 1.0, 2.0]),
    period=st.sampled_from(PERIODS),
    method=st.sampled_from(METHODS),
    min_completeness=st.sampled_from([0.0, 0.7, 1.0]),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 10**7), min_size=0, max_size=8),
)
def test_long_series_match_the_reference_on_numpy_and_dask(
    n, start_s, sample_period, period, method, min_completeness, seed, cuts
):
    t, values, flags = series(n, start_s=start_s, sample_period=sample_period, seed=seed)
    ds = scalar_ds(t, x=(values, flags))
    out = resample(ds, period, method, min_completeness, sample_period)
    expected = reference(t, values, flags, method, period, sample_period, min_completeness)
    assert_matches_reference(out, expected)
    chunked = ds.chunk(time=random_chunks(ds.sizes["time"], cuts))
    lazy = resample(chunked, period, method, min_completeness, sample_period)
    xr.testing.assert_identical(lazy.compute(), out)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    n=st.one_of(
        st.integers(2, 2_000),
        st.builds(lambda k, d: k * _BLOCK + d, st.integers(1, 3), st.integers(-5, 5)),
    ),
    start_s=st.integers(0, DAY_S - 1),
    period=st.sampled_from(PERIODS),
    method=st.sampled_from(METHODS),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 10**7), min_size=0, max_size=12),
    task_rows=st.sampled_from([0, 1_000, 50_000, _resample_graph.TASK_ROWS]),
)
def test_any_length_matches_the_reference(n, start_s, period, method, seed, cuts, task_rows):
    # task_rows: one kernel task per chunk (0: the local schedulers), or runs of consecutive
    # chunks of at most that many rows (as built under a dask.distributed Client)
    t, values, flags = series(n, start_s=start_s, sample_period=1.0, seed=seed)
    ds = scalar_ds(t, {"sample_period": 1.0}, x=(values, flags))
    out = resample(ds, period, method)
    assert_matches_reference(out, reference(t, values, flags, method, period, 1.0, 0.7))
    on_a_cluster = mock.patch.object(
        _resample_graph, "_cluster_threads", lambda: int(task_rows > 0)
    )
    limits = mock.patch.multiple(
        _resample_graph, TASK_ROWS=task_rows, MIN_TASKS=1, TASKS_PER_THREAD=1
    )
    with on_a_cluster, limits:
        lazy = resample(ds.chunk(time=random_chunks(ds.sizes["time"], cuts)), period, method)
    xr.testing.assert_identical(lazy.compute(), out)
