"""ONC quality-control, data-gap and resampling rules as xarray operations (numpy and dask).

The rules are those of ``semantics.md``: :func:`clean` (flags 3, 4, 6 → NaN), :func:`fill_gaps`
and :func:`drop_gaps` (``dpo_dataGaps``), :func:`resample` (``dpo_resample``: average, minMax,
minMaxAvg with the 70 % completeness rule) and the CF flag attributes of :mod:`.flags`.
Importing this package registers the ``.onc`` Dataset accessor::

    import intake_onc.ops
    ds.onc.clean().onc.fill_gaps().onc.resample("1h", method="minMaxAvg")

Nothing here does HTTP; every operation except :func:`flags_summary` and :func:`drop_gaps`
stays lazy on dask-backed Datasets.
"""

from __future__ import annotations

from .accessor import OncAccessor
from .flags import (
    FAILED_FLAGS,
    FLAG_MEANINGS,
    FLAG_VALUES,
    FLAGS,
    GOOD_FLAGS,
    WORST_ORDER,
    add_flag_attrs,
    flag_attrs,
    flag_rank,
    flagged_variables,
    worst_flag,
)
from .gaps import drop_gaps, fill_gaps, sample_periods
from .quality import clean, flag_mask, flags_summary
from .resample import METHODS, ONC_PERIODS, parse_period, resample

__all__ = [
    "FAILED_FLAGS",
    "FLAGS",
    "FLAG_MEANINGS",
    "FLAG_VALUES",
    "GOOD_FLAGS",
    "METHODS",
    "ONC_PERIODS",
    "WORST_ORDER",
    "OncAccessor",
    "add_flag_attrs",
    "clean",
    "drop_gaps",
    "fill_gaps",
    "flag_attrs",
    "flag_mask",
    "flag_rank",
    "flagged_variables",
    "flags_summary",
    "parse_period",
    "resample",
    "sample_periods",
    "worst_flag",
]
