"""Reading mutated files in a child process, for the fuzz tests of every file reader.

A reader that crashes the interpreter (a C decoder, ``scipy.io.loadmat``) shows as a signal in
the child instead of taking the test run down. The child prints ``{"start": path}`` before each
file and then its outcome: ``read``, ``FileFormatError`` (with ``names_file``), or the name and
message of any other exception, so a crash names the file it happened on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_TEMPLATE = r"""
import json, sys, warnings
from intake_onc._core.errors import FileFormatError
{imports}

warnings.simplefilter("ignore")
for path in sys.argv[1:]:
    print(json.dumps({{"start": path}}), flush=True)
    try:
{read}
        outcome = {{"path": path, "result": "read"}}
    except FileFormatError as exc:
        outcome = {{"path": path, "result": "FileFormatError", "names_file": path in str(exc)}}
    except Exception as exc:
        outcome = {{"path": path, "result": type(exc).__name__, "message": str(exc)[:300]}}
    print(json.dumps(outcome), flush=True)
"""


def child_reader(imports: str, read: str) -> str:
    """The child's script: ``imports``, then ``read`` (statements reading ``path``) per file."""
    return _TEMPLATE.format(imports=imports.strip(), read=textwrap.indent(read.strip(), " " * 8))


def read_in_child(reader: str, paths: list[str]) -> list[dict]:
    """Run ``reader`` on ``paths`` in one child; assert it did not crash; its outcomes."""
    proc = subprocess.run(
        [sys.executable, "-c", reader, *paths], capture_output=True, text=True, timeout=600
    )
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    last = [r["start"] for r in records if "start" in r][-1:]
    assert proc.returncode == 0, f"crashed on {last} ({proc.returncode}): {proc.stderr[-400:]}"
    outcomes = [r for r in records if "result" in r]
    assert len(outcomes) == len(paths)
    return outcomes


def assert_read_or_named(outcomes: list[dict]) -> None:
    """Every file read or was refused with a FileFormatError naming it, and some were refused."""
    assert [o for o in outcomes if o["result"] not in ("read", "FileFormatError")] == []
    refused = [o for o in outcomes if o["result"] == "FileFormatError"]
    assert refused and all(o["names_file"] for o in refused)


def write_mutants(folder, originals: dict[str, bytes], mutants, per_file: int) -> list[str]:
    """``per_file`` mutants of each original (``mutants(content, seed, count)``, the seed being
    the original's position) written to ``folder`` as ``m<i>_<name>``; their paths."""
    paths = []
    for seed, (name, content) in enumerate(originals.items()):
        for i, mutant in enumerate(mutants(content, seed, per_file)):
            path = folder / f"m{i:03d}_{name}"
            path.write_bytes(mutant)
            paths.append(str(path))
    return paths
