"""The ``.onc`` Dataset accessor: ONC's QC, gap and resampling rules as chained methods.

Registered when :mod:`intake_onc.ops` is imported::

    import intake_onc.ops
    hourly = ds.onc.clean().onc.resample("1h", method="minMaxAvg")
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import xarray as xr

from . import flags as _flags
from . import gaps as _gaps
from . import quality as _quality
from . import resample as _resample

__all__ = ["OncAccessor"]


@xr.register_dataset_accessor("onc")
class OncAccessor:
    """ONC operations on a scalar Dataset (see :mod:`intake_onc.ops` for the rules).

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> import intake_onc.ops
    >>> time = pd.date_range("2024-01-01", periods=120, freq="1s")
    >>> ds = xr.Dataset({"t": ("time", np.arange(120.0)), "t_qc": ("time", np.ones(120, "int8"))},
    ...                 coords={"time": time})
    >>> ds.onc.clean().onc.resample("1min", method="minMaxAvg").t_max.values.tolist()
    [59.0, 119.0]
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    def clean(self, flags: Iterable[int] = _flags.FAILED_FLAGS) -> xr.Dataset:
        """Values flagged 3, 4, 6 become NaN; see :func:`intake_onc.ops.clean`."""
        return _quality.clean(self._ds, flags)

    def flag_mask(self, keep: Iterable[int] = _flags.GOOD_FLAGS) -> xr.Dataset:
        """True where the flag is in ``keep``; see :func:`intake_onc.ops.flag_mask`."""
        return _quality.flag_mask(self._ds, keep)

    def flags_summary(self) -> pd.DataFrame:
        """Sample counts per flag per variable; see :func:`intake_onc.ops.flags_summary`."""
        return _quality.flags_summary(self._ds)

    def add_flag_attrs(self) -> xr.Dataset:
        """CF flag attributes; see :func:`intake_onc.ops.add_flag_attrs`."""
        return _flags.add_flag_attrs(self._ds)

    def sample_periods(self, sample_period: object = None) -> xr.DataArray:
        """Sample period per time stamp; see :func:`intake_onc.ops.sample_periods`."""
        return _gaps.sample_periods(self._ds, sample_period)

    def fill_gaps(self, sample_period: object = None) -> xr.Dataset:
        """NaN rows flagged 9 in gaps; see :func:`intake_onc.ops.fill_gaps`."""
        return _gaps.fill_gaps(self._ds, sample_period)

    def drop_gaps(self) -> xr.Dataset:
        """Drop all-NaN rows; see :func:`intake_onc.ops.drop_gaps`."""
        return _gaps.drop_gaps(self._ds)

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
        """ONC resampling; see :func:`intake_onc.ops.resample`."""
        return _resample.resample(
            self._ds, period, method, min_completeness, sample_period, start=start, end=end
        )
