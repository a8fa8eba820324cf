"""ONC QAQC flags: the flag table, the "worst flag" order and CF ``flag_*`` attributes.

Every data variable ``X`` of a scalar Dataset has an ``int8`` companion ``X_qc`` holding ONC's
QAQC flag of each sample (semantics.md, "QAQC flags"). This module holds the table once and
the helpers that write it as CF attributes, which cf_xarray understands::

    ds = add_flag_attrs(ds)
    ds.temperature_qc.cf == "good"        # boolean DataArray

It also decides which variables are *data variables*: those with a ``<name>_qc`` companion or
an ``ancillary_variables`` attribute naming a flag variable (:func:`flagged_variables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import xarray as xr

__all__ = [
    "AVERAGED",
    "BAD",
    "FAILED_FLAGS",
    "FLAGS",
    "FLAG_MEANINGS",
    "FLAG_VALUES",
    "GOOD",
    "GOOD_FLAGS",
    "INSUFFICIENT",
    "INTERPOLATED",
    "MISSING",
    "NO_QC",
    "PROBABLY_BAD",
    "PROBABLY_GOOD",
    "RANK_CODES",
    "WORST_ORDER",
    "add_flag_attrs",
    "flag_attrs",
    "flag_rank",
    "flagged_variables",
    "validate_flags",
    "worst_flag",
]

#: ONC QAQC flag -> (CF ``flag_meanings`` token, ONC's wording). Flag 5 is unused.
FLAGS: Mapping[int, tuple[str, str]] = {
    0: ("no_qc", "No Quality Control"),
    1: ("good", "Data Passed All Tests"),
    2: ("probably_good", "Data Probably Good"),
    3: ("probably_bad", "Data Probably Bad (failed minor tests)"),
    4: ("bad", "Data Bad (failed major tests)"),
    6: ("insufficient_valid_data", "Insufficient Valid Data for Reliable Down-Sampling"),
    7: ("averaged", "Averaged Value"),
    8: ("interpolated", "Interpolated Value"),
    9: ("missing", "Missing Data"),
}

NO_QC, GOOD, PROBABLY_GOOD, PROBABLY_BAD, BAD = 0, 1, 2, 3, 4
INSUFFICIENT, AVERAGED, INTERPOLATED, MISSING = 6, 7, 8, 9

#: The CF ``flag_values`` (int8) and ``flag_meanings`` of every ``*_qc`` variable.
FLAG_VALUES = np.array(sorted(FLAGS), dtype=np.int8)
FLAG_MEANINGS = " ".join(FLAGS[int(f)][0] for f in FLAG_VALUES)

#: Flags whose values ``clean`` replaces by NaN (ONC's "clean" quality control).
FAILED_FLAGS: tuple[int, ...] = (PROBABLY_BAD, BAD, INSUFFICIENT)
#: Flags :func:`intake_onc.ops.flag_mask` keeps by default.
GOOD_FLAGS: tuple[int, ...] = (GOOD, PROBABLY_GOOD, AVERAGED)

#: From best to worst (semantics.md, minMaxAvg, chosen): 1 < 2 < 7 < 0 < 8 < 3 < 4 < 6 < 9.
WORST_ORDER: tuple[int, ...] = (1, 2, 7, 0, 8, 3, 4, 6, 9)

# Rank of every possible int8 flag (indexed by the flag viewed as uint8). Flags outside the
# table (5, negative values, ...) rank like 0 ("no QC"): nothing is known about them.
_RANK = np.full(256, WORST_ORDER.index(NO_QC), dtype=np.int16)
for _r, _f in enumerate(WORST_ORDER):
    _RANK[_f] = _r
#: ``rank << 8 | flag``: the maximum of these codes gives the worst flag *and* its value.
RANK_CODES = (_RANK << 8) | np.arange(256, dtype=np.int16)


def flag_rank(flags: object) -> np.ndarray:
    """Rank of QAQC flags in the "worst flag" order (0 = best, 8 = worst).

    Parameters
    ----------
    flags
        A flag or array of flags (integers).

    Returns
    -------
    numpy.ndarray
        ``int16`` ranks; flags outside ONC's table rank like 0 (no QC).

    Examples
    --------
    >>> flag_rank([1, 7, 0, 9]).tolist()
    [0, 2, 3, 8]
    """
    arr = np.asarray(flags).astype(np.int8)
    return _RANK[arr.view(np.uint8)]


def worst_flag(flags: Iterable[int] | np.ndarray) -> int:
    """The worst of some QAQC flags, by the order 1 < 2 < 7 < 0 < 8 < 3 < 4 < 6 < 9.

    Parameters
    ----------
    flags
        One or more flags.

    Returns
    -------
    int
        The worst flag; ``9`` (missing) when ``flags`` is empty.

    Examples
    --------
    >>> worst_flag([1, 2, 7])
    7
    >>> worst_flag([1, 0, 8, 3])
    3
    """
    arr = np.asarray(list(flags) if not isinstance(flags, np.ndarray) else flags)
    if arr.size == 0:
        return MISSING
    code = int(RANK_CODES[arr.astype(np.int8).ravel().view(np.uint8)].max())
    return int(np.uint8(code & 0xFF).view(np.int8))


def validate_flags(flags: object, argument: str = "flags") -> tuple[int, ...]:
    """Check a collection of QAQC flags and return it as a tuple of ints.

    Raises
    ------
    ValueError
        Naming ``argument`` when a flag is not one of ONC's (0-4, 6-9).
    """
    if isinstance(flags, (int, np.integer)) and not isinstance(flags, bool):
        flags = (flags,)
    try:
        out = tuple(int(f) for f in flags)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(
            f"{argument}={flags!r} must be a collection of ONC QAQC flags, e.g. (3, 4, 6)"
        ) from None
    unknown = [f for f in out if f not in FLAGS]
    if unknown:
        raise ValueError(
            f"{argument}={flags!r} contains {unknown}, which are not ONC QAQC flags; "
            f"use values from {sorted(FLAGS)}"
        )
    return out


def flag_attrs(var_name: str) -> dict[str, object]:
    """CF attributes of the QAQC flag variable of ``var_name``.

    Parameters
    ----------
    var_name
        Name of the data variable the flags belong to (``"temperature"``).

    Returns
    -------
    dict
        ``long_name``, ``flag_values`` (int8 array) and ``flag_meanings``.

    Examples
    --------
    >>> flag_attrs("temperature")["long_name"]
    'temperature quality flag'
    >>> flag_attrs("temperature")["flag_meanings"].split()[:2]
    ['no_qc', 'good']
    """
    return {
        "long_name": f"{var_name} quality flag",
        "flag_values": FLAG_VALUES.copy(),
        "flag_meanings": FLAG_MEANINGS,
    }


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
