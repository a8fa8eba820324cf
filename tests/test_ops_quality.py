"""Quality control: ``clean`` (flags 3, 4, 6 -> NaN), flag masks and flag counts (semantics.md)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from ops_helpers import is_lazy, no_compute, regular_ds, scalar_ds, seconds

from intake_onc.scalar.quality import clean, flag_mask, flags_summary

NAN = np.nan


@pytest.fixture
def ds():
    """Two sensors, every flag once."""
    return scalar_ds(
        seconds(range(9)),
        {"quality_control": "raw"},
        temperature=([10.0, 11, 12, 13, 14, 16, 17, 18, NAN], [0, 1, 2, 3, 4, 6, 7, 8, 9]),
        salinity=([30.0, 31, 32, 33, 34, 36, 37, 38, 39], [1, 1, 1, 1, 4, 1, 1, 1, 1]),
    )


def test_clean_replaces_values_flagged_3_4_6_by_nan_and_keeps_the_flags(ds):
    out = clean(ds)
    assert np.array_equal(
        out.temperature.values, [10, 11, 12, NAN, NAN, NAN, 17, 18, NAN], equal_nan=True
    )
    assert np.array_equal(
        out.salinity.values, [30, 31, 32, 33, NAN, 36, 37, 38, 39], equal_nan=True
    )
    xr.testing.assert_identical(out.temperature_qc, ds.temperature_qc)
    xr.testing.assert_identical(out.salinity_qc, ds.salinity_qc)


def test_clean_records_quality_control_and_keeps_attrs(ds):
    out = clean(ds)
    assert out.attrs["quality_control"] == "clean"
    assert out.attrs["device_code"] == "TEST"
    assert out.temperature.attrs == ds.temperature.attrs
    assert ds.attrs["quality_control"] == "raw"  # the input is not modified


def test_clean_is_idempotent(ds):
    xr.testing.assert_identical(clean(clean(ds)), clean(ds))


def test_clean_with_other_flags(ds):
    out = clean(ds, flags=[9, 0])
    assert np.array_equal(out.temperature.values[:2], [NAN, 11], equal_nan=True)
    assert np.isnan(out.temperature.values[8])
    assert out.temperature.values[3] == 13  # flag 3 kept when not asked for


def test_clean_leaves_variables_without_flags_alone(ds):
    ds["battery"] = ("time", np.arange(9.0))
    assert np.array_equal(clean(ds).battery.values, np.arange(9.0))


def test_clean_rejects_unknown_flags(ds):
    with pytest.raises(ValueError, match="flags=.*not ONC QAQC flags"):
        clean(ds, flags=(3, 5))


def test_clean_is_lazy_on_dask_and_equals_numpy():
    ds = regular_ds(500)
    with no_compute():
        out = clean(ds.chunk(time=64))
        assert is_lazy(out)
    xr.testing.assert_identical(out.compute(), clean(ds))


def test_flag_mask_is_true_where_the_flag_is_kept(ds):
    mask = flag_mask(ds)
    assert mask.temperature.dtype == bool
    assert mask.temperature.values.tolist() == [0, 1, 1, 0, 0, 0, 1, 0, 0]
    assert flag_mask(ds, keep=[4]).salinity.values.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert set(mask.data_vars) == {"temperature", "salinity"}


def test_flag_mask_is_lazy_on_dask(ds):
    with no_compute():
        mask = flag_mask(ds.chunk(time=4))
        assert is_lazy(mask)
    xr.testing.assert_identical(mask.compute(), flag_mask(ds))


def test_flag_mask_rejects_unknown_flags(ds):
    with pytest.raises(ValueError, match="keep="):
        flag_mask(ds, keep=[1, 12])


def test_flags_summary_counts_every_flag_per_variable(ds):
    summary = flags_summary(ds)
    assert summary.index.tolist() == ["temperature", "salinity"]
    assert summary.columns.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert summary.loc["temperature"].tolist() == [1, 1, 1, 1, 1, 1, 1, 1, 1]
    assert summary.loc["salinity"].tolist() == [0, 8, 0, 0, 1, 0, 0, 0, 0]


def test_flags_summary_shows_unexpected_flags_and_works_on_dask(ds):
    ds["salinity_qc"][0] = 5
    summary = flags_summary(ds.chunk(time=2))
    assert summary.loc["salinity", 5] == 1
    assert summary.loc["temperature", 5] == 0
    assert summary.equals(flags_summary(ds))


def test_accessor_chains_the_operations(ds):
    xr.testing.assert_identical(ds.onc.clean(), clean(ds))
    xr.testing.assert_identical(ds.onc.flag_mask(keep=(1,)), flag_mask(ds, keep=(1,)))
    assert ds.onc.flags_summary().equals(flags_summary(ds))


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset"):
        clean(np.zeros(3))
