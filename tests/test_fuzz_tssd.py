"""Damaged TSSD CSV, JSON and ODV text files: each is read or refused with an error naming the
file.

Mutations of real-looking files (from the sandbox's writers): flipped bits, truncations, lines
dropped or repeated, a field replaced by junk (a huge number, a word, an out-of-range flag, an
unparseable date). They are read in a child process, since the CSV parser is compiled code: a
crash would show as a signal. Every file must read, or raise
:class:`~intake_onc.FileFormatError` naming it -- never a bare ``KeyError``, ``IndexError`` or a
pyarrow error.
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_helpers import assert_read_or_named, child_reader, read_in_child, write_mutants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_onc.sandbox.products.tssd_files import build_tssd_files

MUTANTS_PER_FILE = 100

READER = child_reader("from intake_onc.scalar.tssd import read_tssd", "read_tssd(path).load()")

JUNK = [
    b"1e999",
    b"NaN",
    b"-",
    b"300",
    b"-5",
    b"2024-13-45T99:00:00Z",
    b"",
    b'"',
    b"\xff\xfe",
    b"9" * 40,
]


def originals() -> dict[str, bytes]:
    out = {}
    for extension, options in (
        ("csv", {"dpo_qualityControl": "1", "dpo_resample": "none", "dpo_dataGaps": "1"}),
        ("csv", {"dpo_qualityControl": "1", "dpo_resample": "minMaxAvg", "dpo_minMaxAvg": "60"}),
        (
            "json",
            {"dpo_qualityControl": "1", "dpo_resample": "none", "dpo_jsonOutputEncoding": "OM"},
        ),
        (
            "json",
            {"dpo_qualityControl": "1", "dpo_resample": "average", "dpo_jsonOutputEncoding": "ONC"},
        ),
        ("txt", {"dpo_qualityControl": "1", "dpo_resample": "minMaxAvg", "dpo_minMaxAvg": "60"}),
    ):
        ((name, content),) = build_tssd_files(
            "SBECTD19p6813", "2024-04-01T00:00:00", "2024-04-01T00:10:00", extension, options
        )
        out[f"{len(out)}_{name}"] = content
    return out


def mutants(data: bytes, seed: int, count: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    lines = data.split(b"\n")
    out = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            buf = bytearray(data)
            for _ in range(int(rng.choice([1, 4, 16]))):
                pos = int(rng.integers(0, len(buf)))
                buf[pos] ^= 1 << int(rng.integers(0, 8))
            out.append(bytes(buf))
        elif kind == 1:
            out.append(data[: int(rng.integers(0, len(data)))])
        elif kind == 2:
            keep = [ln for ln in lines if rng.random() > 0.05]
            out.append(b"\n".join(keep))
        elif kind == 3:
            j = int(rng.integers(0, len(lines)))
            out.append(b"\n".join(lines[:j] + [lines[j]] * 3 + lines[j + 1 :]))
        else:
            j = int(rng.integers(0, len(lines)))
            sep = b"\t" if b"\t" in lines[j] else b","  # ODV text is tab-separated
            parts = lines[j].split(sep)
            parts[int(rng.integers(0, len(parts)))] = JUNK[int(rng.integers(0, len(JUNK)))]
            out.append(b"\n".join(lines[:j] + [sep.join(parts)] + lines[j + 1 :]))
    return out


@pytest.mark.slow
def test_mutated_tssd_files_read_or_name_the_file(tmp_path):
    paths = write_mutants(tmp_path, originals(), mutants, MUTANTS_PER_FILE)
    assert_read_or_named(read_in_child(READER, paths))


def test_a_csv_cut_at_a_line_end_is_refused_as_truncated(tmp_path):
    """It would parse as a shorter series: the header's #TOTSAMPLE tells it is not whole."""
    name, content = next((n, c) for n, c in originals().items() if n.endswith(".csv"))
    cut = content[: int(len(content) * 0.6)]
    path = tmp_path / name
    path.write_bytes(cut[: cut.rfind(b"\n") + 1])
    from intake_onc._core.errors import FileFormatError
    from intake_onc.scalar.tssd import read_tssd

    with pytest.raises(FileFormatError, match=r"expected 600 data rows \(#TOTSAMPLE\).*truncated"):
        read_tssd(path)


_ORIGINALS = originals()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    which=st.sampled_from(sorted(_ORIGINALS)),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 40), st.binary(max_size=12)),
        min_size=1,
        max_size=4,
    ),
)
def test_any_edit_of_a_tssd_file_reads_or_names_the_file(tmp_path_factory, which, edits):
    """Hypothesis-driven edits: at a relative position, replace up to 40 bytes by junk bytes."""
    from intake_onc._core.errors import FileFormatError
    from intake_onc.scalar.tssd import read_tssd

    data = bytearray(_ORIGINALS[which])
    for where, length, junk in edits:
        pos = int(where * len(data))
        data[pos : pos + length] = junk
    path = tmp_path_factory.mktemp("edit") / which
    path.write_bytes(bytes(data))
    try:
        read_tssd(path).load()
    except FileFormatError as exc:
        assert str(path) in str(exc)
