"""ONC quality control on xarray Datasets: ``clean``, flag masks and flag counts.

ONC's *clean* data product (semantics.md, "Quality control") replaces the values whose QAQC flag
is 3, 4 or 6 by NaN and keeps the flags as they were. Everything here works on numpy- and
dask-backed Datasets alike; :func:`clean` and :func:`flag_mask` stay lazy on dask.
"""

from __future__ import annotations

from collections.abc import Iterable

import dask
import numpy as np
import pandas as pd
import xarray as xr

from intake_onc._core.flags import FAILED_FLAGS, FLAG_VALUES, GOOD_FLAGS, validate_flags

from .cf import refresh_metadata
from .flags import flagged_variables

__all__ = ["clean", "flag_mask", "flags_summary"]


def _require_flagged(ds: xr.Dataset, func: str) -> dict[str, str]:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{func}: ds must be an xarray.Dataset, got {type(ds).__name__}")
    return flagged_variables(ds)


def _isin(qc: xr.DataArray, flags: tuple[int, ...]) -> xr.DataArray:
    """``qc`` in ``flags`` as a chain of comparisons (cheaper than ``isin`` on int8, lazy)."""
    if not flags:
        return xr.zeros_like(qc, dtype=bool)
    out = qc == flags[0]
    for f in flags[1:]:
        out = out | (qc == f)
    return out


def clean(ds: xr.Dataset, flags: Iterable[int] = FAILED_FLAGS) -> xr.Dataset:
    """Replace values whose QAQC flag is in ``flags`` by NaN (ONC's "clean" data).

    The flag variables are left as they were, so a cleaned value keeps telling *why* it is
    missing. Variables without a ``X_qc`` companion are left untouched. Lazy on dask.

    Parameters
    ----------
    ds
        A scalar Dataset (semantics.md layout).
    flags
        Flags whose values are dropped; ONC's rule is ``(3, 4, 6)``.

    Returns
    -------
    xarray.Dataset
        A new Dataset with ``attrs["quality_control"] = "clean"``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": ("time", [4.0, 9.9]), "t_qc": ("time", np.int8([1, 4]))})
    >>> out = clean(ds)
    >>> out.t.values.tolist(), out.t_qc.values.tolist()
    ([4.0, nan], [1, 4])
    """
    mapping = _require_flagged(ds, "clean")
    flags = validate_flags(flags, "flags")
    out = ds.copy()
    for name, qc_name in mapping.items():
        var = ds[name]
        if var.dtype.kind not in "fc":
            var = var.astype(np.float64)
        masked = var.where(~_isin(ds[qc_name], flags))
        masked.attrs = dict(ds[name].attrs)
        masked.encoding = dict(ds[name].encoding)
        out[name] = masked
    out.attrs["quality_control"] = "clean"
    return refresh_metadata(out, f"intake-onc clean: values flagged {list(flags)} set to NaN")


def flag_mask(ds: xr.Dataset, keep: Iterable[int] = GOOD_FLAGS) -> xr.Dataset:
    """Boolean mask per data variable: True where its QAQC flag is in ``keep``.

    Parameters
    ----------
    ds
        A scalar Dataset.
    keep
        Flags to keep; default ``(1, 2, 7)`` (good, probably good, averaged).

    Returns
    -------
    xarray.Dataset
        One boolean variable per data variable, named like it (lazy on dask).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": ("time", [4.0, 9.9]), "t_qc": ("time", np.int8([1, 3]))})
    >>> mask = flag_mask(ds)
    >>> mask.t.values.tolist()
    [True, False]
    >>> ds.t.where(mask.t).values.tolist()
    [4.0, nan]
    """
    mapping = _require_flagged(ds, "flag_mask")
    keep = validate_flags(keep, "keep")
    data = {}
    for name, qc_name in mapping.items():
        mask = _isin(ds[qc_name], keep)
        mask.attrs = {"long_name": f"{name} has a QAQC flag in {list(keep)}"}
        data[name] = mask.rename(name)
    return xr.Dataset(data, coords=ds.coords, attrs={"flag_mask_keep": list(keep)})


def flags_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Count the samples of each QAQC flag, per data variable.

    On dask this computes the flag variables (one pass, all variables together).

    Parameters
    ----------
    ds
        A scalar Dataset.

    Returns
    -------
    pandas.DataFrame
        Index ``variable`` (data variable names), columns ``flag`` (ONC's flags, plus any other
        value found), integer counts.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": ("time", [4.0, 9.9, 4.1]), "t_qc": ("time", np.int8([1, 4, 1]))})
    >>> flags_summary(ds).loc["t", [1, 4, 9]].tolist()
    [2, 1, 0]
    """
    mapping = _require_flagged(ds, "flags_summary")
    counts = []
    for qc_name in mapping.values():
        qc = ds[qc_name].data
        if dask.is_dask_collection(qc):
            import dask.array as dsa

            flat = qc.astype(np.int8).ravel().view(np.uint8).astype(np.intp)
            counts.append(dsa.bincount(flat, minlength=256))
        else:
            flat = np.asarray(qc).astype(np.int8).ravel().view(np.uint8)
            counts.append(np.bincount(flat, minlength=256))
    counts = list(dask.compute(*counts)) if counts else []
    table = np.array(counts, dtype=np.int64).reshape(len(counts), 256)
    # uint8 bin -> int8 flag value; ONC's flags always shown, others only when present
    values = np.arange(256, dtype=np.uint8).view(np.int8).astype(int)
    present = table.sum(axis=0) > 0
    columns = sorted(set(FLAG_VALUES.tolist()) | set(values[present].tolist()))
    order = [int(np.int8(c).view(np.uint8)) for c in columns]
    frame = pd.DataFrame(
        table[:, order],
        index=pd.Index(list(mapping), name="variable"),
        columns=pd.Index(columns, name="flag"),
    )
    return frame
