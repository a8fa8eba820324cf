"""The ``intake-onc`` command line: bad input is one line on stderr and exit status 2.

A traceback only with ``--debug``. Run as a user runs it, in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def intake_onc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "intake_onc.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--output", "{file}"), "output: .* is a file, not a folder"),
        (("demo", "--seed", "-3", "--output", "{folder}"), "seed: expected a whole number >= 0"),
    ],
    ids=["output is a file", "negative seed"],
)
def test_bad_arguments_are_one_line_and_exit_2(args, message, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    args = [a.format(file=a_file, folder=tmp_path / "out") for a in args]
    result = intake_onc(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("intake-onc: error: ")
    assert __import__("re").search(message, lines[0])


def test_debug_shows_the_traceback(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    result = intake_onc("--debug", "demo", "--output", str(a_file))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_no_command_prints_help_and_exits_2():
    result = intake_onc()
    assert result.returncode == 2 and "COMMAND" in result.stdout
