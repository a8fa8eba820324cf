"""ONC's QAQC flag table, the "worst flag" order and the CF flag attributes (semantics.md)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from ops_helpers import scalar_ds, seconds

from intake_onc._core.flags import (
    FAILED_FLAGS,
    FLAG_MEANINGS,
    FLAG_VALUES,
    FLAGS,
    GOOD_FLAGS,
    WORST_ORDER,
    flag_attrs,
    flag_rank,
    validate_flags,
    worst_flag,
)
from intake_onc.scalar.flags import add_flag_attrs, flagged_variables


def test_flag_table_is_onc_table_with_cf_tokens():
    assert dict((f, token) for f, (token, _) in FLAGS.items()) == {
        0: "no_qc",
        1: "good",
        2: "probably_good",
        3: "probably_bad",
        4: "bad",
        6: "insufficient_valid_data",
        7: "averaged",
        8: "interpolated",
        9: "missing",
    }
    assert 5 not in FLAGS  # flag 5 is unused at ONC
    assert FLAG_VALUES.dtype == np.int8
    assert FLAG_VALUES.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert FLAG_MEANINGS.split() == [FLAGS[f][0] for f in FLAG_VALUES.tolist()]
    assert FAILED_FLAGS == (3, 4, 6)
    assert GOOD_FLAGS == (1, 2, 7)


def test_flag_attrs_are_cf_flag_attributes():
    attrs = flag_attrs("temperature")
    assert attrs["long_name"] == "temperature quality flag"
    assert attrs["flag_values"].dtype == np.int8
    assert attrs["flag_values"].tolist() == FLAG_VALUES.tolist()
    assert attrs["flag_meanings"] == FLAG_MEANINGS
    attrs["flag_values"][0] = 42  # a copy: the module constant is safe
    assert FLAG_VALUES[0] == 0


def test_add_flag_attrs_links_data_and_flag_variables():
    ds = xr.Dataset(
        {
            "temperature": ("time", [4.1, 4.2], {"units": "C"}),
            "temperature_qc": ("time", np.array([1.0, np.nan]), {"comment": "kept"}),
        },
        coords={"time": seconds([0, 1])},
    )
    out = add_flag_attrs(ds)
    assert out.temperature.attrs == {"units": "C", "ancillary_variables": "temperature_qc"}
    qc = out.temperature_qc
    assert qc.dtype == np.int8
    assert qc.values.tolist() == [1, 9]  # float flags: NaN means missing
    assert qc.attrs["comment"] == "kept"
    assert qc.attrs["long_name"] == "temperature quality flag"
    assert "ancillary_variables" not in ds.temperature.attrs  # the input is not modified


def test_cf_xarray_understands_the_flags():
    pytest.importorskip("cf_xarray")
    ds = scalar_ds(seconds([0, 1, 2]), x=([1.0, 2.0, 3.0], [1, 3, 1]))
    assert (ds.x_qc.cf == "good").values.tolist() == [True, False, True]
    assert (ds.x_qc.cf == "probably_bad").values.tolist() == [False, True, False]


def test_data_variables_are_those_with_a_flag_companion():
    ds = scalar_ds(seconds([0, 1]), a=[1.0, 2.0], b=[3.0, 4.0])
    ds["unflagged"] = ("time", [5.0, 6.0])
    assert flagged_variables(ds) == {"a": "a_qc", "b": "b_qc"}


def test_data_variables_may_name_their_flags_in_ancillary_variables():
    ds = xr.Dataset(
        {
            "temp": ("time", [1.0], {"ancillary_variables": "temp_status temp_flags"}),
            "temp_status": ("time", [0.5]),  # not a flag variable
            "temp_flags": ("time", np.int8([1]), {"flag_values": FLAG_VALUES}),
        }
    )
    assert flagged_variables(ds) == {"temp": "temp_flags"}


@pytest.mark.parametrize(
    ("flags", "worst"),
    [
        ([1, 2], 2),
        ([2, 7], 7),
        ([7, 0], 0),
        ([0, 8], 8),
        ([8, 3], 3),
        ([3, 4], 4),
        ([4, 6], 6),
        ([6, 9], 9),
        ([1, 1, 1], 1),
        ([9, 1], 9),
        ([], 9),
    ],
)
def test_worst_flag_order_is_1_2_7_0_8_3_4_6_9(flags, worst):
    assert worst_flag(flags) == worst


def test_flag_rank_sorts_flags_from_best_to_worst():
    assert sorted(FLAGS, key=lambda f: int(flag_rank(f))) == list(WORST_ORDER)
    assert flag_rank(5) == flag_rank(0)  # unknown flags rank like "no QC"


def test_validate_flags_names_the_argument():
    assert validate_flags([3, 4]) == (3, 4)
    assert validate_flags(6) == (6,)
    with pytest.raises(ValueError, match=r"keep=\[5\].*not ONC QAQC flags"):
        validate_flags([5], "keep")
    with pytest.raises(ValueError, match="flags='bad'"):
        validate_flags("bad")
