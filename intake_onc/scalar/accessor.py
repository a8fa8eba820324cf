"""The ``.onc`` Dataset accessor: ONC's QC, gap and resampling rules as chained methods.

``ds.onc`` exists as soon as both intake_onc and xarray are imported, in either order (see
:mod:`intake_onc._accessors`)::

    hourly = ds.onc.clean().onc.resample("1h", method="minMaxAvg")

The methods import their operations on first use, so registering the accessor costs next to
nothing on ``import xarray``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import xarray as xr

from intake_onc._core.flags import FAILED_FLAGS, GOOD_FLAGS

__all__ = ["OncAccessor"]


class OncAccessor:
    """ONC operations on a scalar Dataset (see :mod:`intake_onc.scalar` for the rules).

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> import intake_onc
    >>> time = pd.date_range("2024-01-01", periods=120, freq="1s")
    >>> ds = xr.Dataset({"t": ("time", np.arange(120.0)), "t_qc": ("time", np.ones(120, "int8"))},
    ...                 coords={"time": time})
    >>> ds.onc.clean().onc.resample("1min", method="minMaxAvg").t_max.values.tolist()
    [59.0, 119.0]
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    def clean(self, flags: Iterable[int] = FAILED_FLAGS) -> xr.Dataset:
        """Values flagged 3, 4, 6 become NaN; see :func:`intake_onc.scalar.quality.clean`."""
        from intake_onc.scalar.quality import clean

        return clean(self._ds, flags)

    def flag_mask(self, keep: Iterable[int] = GOOD_FLAGS) -> xr.Dataset:
        """True where the flag is in ``keep``; see :func:`intake_onc.scalar.quality.flag_mask`."""
        from intake_onc.scalar.quality import flag_mask

        return flag_mask(self._ds, keep)

    def flags_summary(self) -> pd.DataFrame:
        """Sample counts per flag per variable; see :func:`intake_onc.scalar.quality.flags_summary`."""
        from intake_onc.scalar.quality import flags_summary

        return flags_summary(self._ds)

    def add_flag_attrs(self) -> xr.Dataset:
        """CF flag attributes; see :func:`intake_onc.scalar.flags.add_flag_attrs`."""
        from intake_onc.scalar.flags import add_flag_attrs

        return add_flag_attrs(self._ds)

    def sample_periods(self, sample_period: object = None) -> xr.DataArray:
        """Sample period per time stamp; see :func:`intake_onc.scalar.gaps.sample_periods`."""
        from intake_onc.scalar.gaps import sample_periods

        return sample_periods(self._ds, sample_period)

    def fill_gaps(self, sample_period: object = None) -> xr.Dataset:
        """NaN rows flagged 9 in gaps; see :func:`intake_onc.scalar.gaps.fill_gaps`."""
        from intake_onc.scalar.gaps import fill_gaps

        return fill_gaps(self._ds, sample_period)

    def drop_gaps(self) -> xr.Dataset:
        """Drop all-NaN rows; see :func:`intake_onc.scalar.gaps.drop_gaps`."""
        from intake_onc.scalar.gaps import drop_gaps

        return drop_gaps(self._ds)

    def plot_qc(self, variable: str | None = None, **kwargs: Any) -> Any:
        """Values coloured by QAQC flag; see :func:`intake_onc.scalar.plot.plot_qc`."""
        from intake_onc.scalar.plot import plot_qc

        return plot_qc(self._ds, variable, **kwargs)

    def resample(
        self,
        period: object,
        method: str = "average",
        min_completeness: float = 0.7,
        sample_period: object = None,
        *,
        start: object = None,
        end: object = None,
    ) -> xr.Dataset:
        """ONC resampling; see :func:`intake_onc.scalar.resample.resample`."""
        from intake_onc.scalar.resample import resample

        return resample(
            self._ds, period, method, min_completeness, sample_period, start=start, end=end
        )
