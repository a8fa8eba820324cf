"""Damaged TSSD netCDF files: each is read or refused with an error naming the file.

Like ``test_fuzz_tssd.py`` for CSV/JSON: mutations of the sandbox's ``nc`` files -- flipped bits,
truncations, junk over a stretch of bytes -- read in a child process (netCDF4/HDF5 is compiled
code: a crash would show as a signal), and layout edits made with the netCDF4 library (no
``time``, a flag that is no ONC flag, times that are numbers, a variable on another dimension,
unreadable facts). Every file must read, or raise :class:`~intake_onc.FileFormatError` naming it.
"""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
from fuzz_helpers import assert_read_or_named, child_reader, read_in_child, write_mutants

from intake_onc._core.errors import FileFormatError
from intake_onc.sandbox.products.tssd_files import build_tssd_files
from intake_onc.scalar.tssd import read_tssd

MUTANTS_PER_FILE = 80

READER = child_reader("from intake_onc.scalar.tssd import read_tssd", "read_tssd(path).load()")


def originals() -> dict[str, bytes]:
    out = {}
    for options in (
        {"dpo_qualityControl": "1", "dpo_resample": "none"},
        {"dpo_qualityControl": "1", "dpo_resample": "minMaxAvg", "dpo_minMaxAvg": "60"},
    ):
        ((name, content),) = build_tssd_files(
            "SBECTD19p6813", "2024-04-01T00:00:00", "2024-04-01T00:10:00", "nc", options
        )
        out[f"{len(out)}_{name}"] = content
    return out


def mutants(data: bytes, seed: int, count: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        buf = bytearray(data)
        kind = i % 3
        if kind == 0:
            for _ in range(int(rng.choice([1, 4, 16]))):
                pos = int(rng.integers(0, len(buf)))
                buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            buf = buf[: int(rng.integers(0, len(buf)))]
        else:
            pos = int(rng.integers(0, len(buf)))
            buf[pos : pos + int(rng.integers(1, 40))] = rng.bytes(int(rng.integers(0, 12)))
        out.append(bytes(buf))
    return out


@pytest.mark.slow
def test_mutated_netcdf_files_read_or_name_the_file(tmp_path):
    paths = write_mutants(tmp_path, originals(), mutants, MUTANTS_PER_FILE)
    assert_read_or_named(read_in_child(READER, paths))


def _edit_time_away(nc):
    nc.renameVariable("time", "when")


def _edit_flag_5(nc):
    nc["temperature_qc"][3] = 5


def _edit_times_as_numbers(nc):
    nc["time"].delncattr("units")


def _edit_other_dimension(nc):
    nc.createDimension("other", 2)
    nc.createVariable("stray", "f8", ("other",))[:] = [1.0, 2.0]


def _edit_bad_fact(nc):
    nc.setncattr("lat", "north")


def _edit_bad_period_changes(nc):
    nc.setncattr("samplePeriodStarts", "yesterday")


def _edit_flags_as_words(nc):
    v = nc.createVariable("salinity_max_qc", str, ("time",))
    v[:] = np.array(["good"] * len(nc.dimensions["time"]), dtype=object)


EDITS = {
    "no time": (_edit_time_away, "'time'"),
    "flag 5": (_edit_flag_5, "flag"),
    "times as numbers": (_edit_times_as_numbers, "'time'"),
    "another dimension": (_edit_other_dimension, "stray"),
    "unreadable latitude": (_edit_bad_fact, "lat"),
    "unreadable rating changes": (_edit_bad_period_changes, "samplePeriod"),
    "flags as words": (_edit_flags_as_words, "salinity_max_qc"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_netcdf_file_with_a_broken_layout_is_refused_naming_the_file_and_the_problem(
    tmp_path, edit
):
    change, mentioned = edit
    name, content = next(iter(originals().items()))
    path = tmp_path / name
    path.write_bytes(content)
    with netCDF4.Dataset(path, "a") as nc:
        change(nc)
    with pytest.raises(FileFormatError) as info:
        read_tssd(path)
    assert str(path) in str(info.value) and mentioned in str(info.value)


def test_a_file_that_is_no_netcdf_is_refused_by_its_signature(tmp_path):
    path = tmp_path / "data.nc"
    path.write_bytes(b"PK\x03\x04 not netCDF at all")
    with pytest.raises(FileFormatError, match="signature"):
        read_tssd(path)
