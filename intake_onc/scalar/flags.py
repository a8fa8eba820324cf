"""Which variables of a scalar Dataset carry QAQC flags, and their CF ``flag_*`` attributes.

Every data variable ``X`` of a scalar Dataset has an ``int8`` companion ``X_qc`` holding ONC's
QAQC flag of each sample (semantics.md, "QAQC flags"; the table itself is
:mod:`intake_onc._core.flags`). :func:`add_flag_attrs` writes the table as CF attributes, which
cf_xarray understands::

    ds = add_flag_attrs(ds)
    ds.temperature_qc.cf == "good"        # boolean DataArray

:func:`flagged_variables` decides which variables are *data variables*: those with a
``<name>_qc`` companion or an ``ancillary_variables`` attribute naming a flag variable.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from intake_onc._core.flags import MISSING, flag_attrs

__all__ = ["add_flag_attrs", "flagged_variables"]


def _is_flag_variable(ds: xr.Dataset, name: str) -> bool:
    return name in ds.variables and (name.endswith("_qc") or "flag_values" in ds[name].attrs)


def flagged_variables(ds: xr.Dataset) -> dict[str, str]:
    """Map each data variable of ``ds`` to its QAQC flag variable.

    A data variable ``X`` is one with a ``X_qc`` companion, or whose ``ancillary_variables``
    attribute names a flag variable (a name ending in ``_qc`` or carrying ``flag_values``).
    Flag variables themselves are never data variables.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": ("time", [1.0]), "t_qc": ("time", np.int8([1]))})
    >>> flagged_variables(ds)
    {'t': 't_qc'}
    """
    mapping: dict[str, str] = {}
    for name, var in ds.data_vars.items():
        name = str(name)
        candidate = None
        anc = var.attrs.get("ancillary_variables")
        if isinstance(anc, str):
            for token in anc.split():
                if token != name and _is_flag_variable(ds, token):
                    candidate = token
                    break
        if candidate is None and f"{name}_qc" in ds.variables:
            candidate = f"{name}_qc"
        if candidate is not None:
            mapping[name] = candidate
    flag_names = set(mapping.values())
    return {k: v for k, v in mapping.items() if k not in flag_names}


def add_flag_attrs(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with CF flag attributes on every ``X_qc`` and ``ancillary_variables`` on ``X``.

    The flag variables are also cast to ``int8``. Data are not copied (a shallow copy of
    ``ds`` is returned); existing attributes other than these are kept.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"t": ("time", [4.1]), "t_qc": ("time", np.int8([1]))})
    >>> out = add_flag_attrs(ds)
    >>> out.t.attrs["ancillary_variables"], out.t_qc.attrs["long_name"]
    ('t_qc', 't quality flag')
    >>> bool((out.t_qc.cf == "good").all())  # doctest: +SKIP
    True
    """
    out = ds.copy()
    for name, qc_name in flagged_variables(ds).items():
        qc = out[qc_name]
        if qc.dtype != np.int8:
            qc = qc.fillna(MISSING).astype(np.int8) if qc.dtype.kind == "f" else qc.astype(np.int8)
        qc.attrs.update(flag_attrs(name))
        out[qc_name] = qc
        out[name].attrs["ancillary_variables"] = qc_name
    return out
