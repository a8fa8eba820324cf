"""Damaged MAT files can never crash the interpreter: each is read or refused with a named error.

``scipy.io.loadmat`` trusts the sizes written inside a MAT file, and one 16-bit flip of a TSSD MAT
file once killed Python with a segmentation fault. Hundreds of mutated TSSD and HSD MAT files
(bit flips, truncations, overwritten runs, zeroed and maxed sizes) are read here in child
processes, so a crash shows as a signal instead of taking the test run down. Every file must
either read, or raise :class:`~intake_onc.FileFormatError` naming it.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fuzz_helpers import child_reader

from intake_onc._core.errors import FileFormatError
from intake_onc._core.matfile import check_mat5, load_mat5
from intake_onc.sandbox.encoders.spectrogram import archive_spect_mat_bytes
from intake_onc.sandbox.products.tssd_files import build_tssd_files

MUTANTS_PER_KIND = 150

READER = child_reader(
    "from intake_onc.acoustics.hsd import read_hsd_mat\nfrom intake_onc.scalar.tssd import read_tssd",
    """
if path.endswith("-spect.mat"):
    read_hsd_mat(path).values
else:
    read_tssd(path).load()
""",
)


def tssd_mat() -> bytes:
    options = {"dpo_qualityControl": "1", "dpo_resample": "none", "dpo_dataGaps": "1"}
    files = build_tssd_files(
        "SBECTD19p6813", "2024-04-01T00:00:00", "2024-04-01T00:02:00", "mat", options
    )
    return files[0][1]


def hsd_mat() -> bytes:
    return archive_spect_mat_bytes("ICLISTENHF6093", "2024-04-01T00:00:00")


def mutants(data: bytes, seed: int, count: int) -> list[bytes]:
    """Bit flips (1 to 16 bits), truncations, overwritten runs and poked 32-bit sizes."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        buf = bytearray(data)
        kind = i % 4
        if kind == 0:
            for _ in range(int(rng.choice([1, 2, 4, 8, 16]))):
                pos = int(rng.integers(0, len(buf)))
                buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            buf = buf[: int(rng.integers(0, len(buf)))]
        elif kind == 2:
            pos = int(rng.integers(128, len(buf)))
            buf[pos : pos + int(rng.integers(1, 64))] = bytes([int(rng.choice([0, 255]))]) * 64
        else:  # a tag's size or a dimension set to something absurd
            pos = int(rng.integers(128, len(buf) - 4)) // 4 * 4
            value = int(rng.choice([0, 1, 7, 2**31 - 1, 2**32 - 1, len(buf), 10**9]))
            struct.pack_into("<I", buf, pos, value)
        out.append(bytes(buf))
    return out


@pytest.fixture(scope="module")
def mutated_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mutants")
    paths = []
    for label, data, seed in (("tssd", tssd_mat(), 1), ("hsd", hsd_mat(), 2)):
        suffix = "-spect.mat" if label == "hsd" else ".mat"
        for i, content in enumerate(mutants(data, seed, MUTANTS_PER_KIND)):
            path = folder / f"{label}_{i:03d}{suffix}"
            path.write_bytes(content)
            paths.append(str(path))
    return paths


def test_the_originals_read(tmp_path):
    assert "data" in load_mat5(tssd_mat(), "tssd.mat")
    assert "SpectData" in load_mat5(hsd_mat(), "hsd.mat")


@pytest.mark.slow
def test_mutated_mat_files_never_crash_and_errors_name_the_file(mutated_files):
    outcomes: dict[str, dict] = {}
    pending = list(mutated_files)
    crashes = []
    while pending:  # one child per batch; a crash restarts after the file that crashed
        proc = subprocess.run(
            [sys.executable, "-c", READER, *pending], capture_output=True, text=True, timeout=600
        )
        started = None
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            if "start" in record:
                started = record["start"]
            else:
                outcomes[record["path"]] = record
                started = None
        if proc.returncode == 0:
            break
        crashes.append((started, proc.returncode, proc.stderr[-500:]))
        if started is None:
            break
        pending = pending[pending.index(started) + 1 :]
    assert crashes == []
    assert len(outcomes) == len(mutated_files)
    bare = {p: o for p, o in outcomes.items() if o["result"] not in ("read", "FileFormatError")}
    assert bare == {}
    refused = [o for o in outcomes.values() if o["result"] == "FileFormatError"]
    assert all(o["names_file"] for o in refused)
    assert len(refused) > len(mutated_files) // 2  # most mutations are caught


@pytest.mark.parametrize(
    "data",
    [b"", b"MATLAB 5.0 MAT-file", b"\x00" * 200, b"MATLAB 7.3 MAT-file" + b"\x00" * 200],
    ids=["empty", "header only", "zeros", "v7.3"],
)
def test_files_that_are_not_mat_v5_are_refused(data):
    with pytest.raises(FileFormatError, match="x.mat: expected a MAT v5 file"):
        check_mat5(data, "x.mat")


def test_a_size_larger_than_the_file_is_refused_before_scipy_reads_it():
    data = bytearray(tssd_mat())
    struct.pack_into("<I", data, 132, 2**31 - 1)  # the first element's size
    with pytest.raises(FileFormatError, match="declares 2147483647 bytes"):
        load_mat5(bytes(data), Path("broken.mat"))
