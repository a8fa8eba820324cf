"""ONC's QAQC flags: the flag table, the "worst flag" order and the CF ``flag_*`` attributes.

The one table of semantics.md ("QAQC flags"), in plain numpy so that file readers, the xarray
operations of :mod:`intake_onc.scalar` and anything else can share it without importing xarray
or dask. The xarray side (which variables carry flags, writing the attributes onto a Dataset)
is :mod:`intake_onc.scalar.flags`.

Examples
--------
>>> FLAGS[4]
('bad', 'Data Bad (failed major tests)')
>>> worst_flag([1, 9, 4])
9
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

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
    "ALLOWED_TEXT",
    "flag_attrs",
    "flag_rank",
    "invalid_flags",
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
#: The values between 0 and the largest flag that are no flag (5).
_FLAG_GAPS = tuple(sorted(set(range(int(FLAG_VALUES.max()) + 1)) - set(FLAG_VALUES.tolist())))
FLAG_MEANINGS = " ".join(FLAGS[int(f)][0] for f in FLAG_VALUES)

#: Flags whose values ``clean`` replaces by NaN (ONC's "clean" quality control).
FAILED_FLAGS: tuple[int, ...] = (PROBABLY_BAD, BAD, INSUFFICIENT)
#: Flags :func:`intake_onc.scalar.quality.flag_mask` keeps by default.
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


#: How error messages name the allowed flags.
ALLOWED_TEXT = "an ONC QAQC flag (0, 1, 2, 3, 4, 6, 7, 8 or 9; NaN or empty for missing)"


def invalid_flags(values: object) -> np.ndarray:
    """Where an array of flags holds something that is not one of ONC's flags (vectorised).

    NaN is *not* invalid (it reads as 9, missing); 5, negative numbers, fractions, ±inf and
    values beyond int8 (300, which an int8 cast would store as 44) are.

    Examples
    --------
    >>> invalid_flags([1.0, np.nan, 300, -5, 5, 1.5, 9]).tolist()
    [False, False, True, True, True, True, False]
    """
    arr = np.asarray(values)
    if arr.dtype in (np.int8, np.uint8):  # a few comparisons: 4x faster than isin on 1 M flags
        small = arr.view(np.uint8)  # negative int8 flags become 128..255: invalid
        bad = small > FLAG_VALUES.max()
        for gap in _FLAG_GAPS:
            bad |= small == gap
        return bad
    if arr.dtype.kind in "iub":
        return ~np.isin(arr, FLAG_VALUES)
    arr = arr.astype(np.float64)
    return ~(np.isnan(arr) | np.isin(arr, FLAG_VALUES.astype(np.float64)))


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
    if isinstance(flags, (int, np.integer)) and not isinstance(flags, (bool, np.bool_)):
        flags = (flags,)
    wrong = ValueError(
        f"{argument}={flags!r} must be a collection of ONC QAQC flags, e.g. (3, 4, 6)"
    )
    if isinstance(flags, (str, bytes, bytearray, Mapping)) or not isinstance(flags, Iterable):
        raise wrong  # a string would be read character by character: "3600" is not (3, 6, 0, 0)
    out = []
    for f in flags:
        if isinstance(f, (bool, np.bool_)) or not isinstance(
            f, (int, float, np.integer, np.floating)
        ):
            raise wrong
        if isinstance(f, (float, np.floating)) and not float(f).is_integer():
            raise wrong  # 3.5, NaN, inf
        out.append(int(f))
    out = tuple(out)
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
