"""Errors of the bottom layer: file formats, dates and durations.

Examples
--------
>>> err = FileFormatError("a.csv", 3, "'## END HEADER'", found="2024-04-01T00:00:00.000Z,1,1")
>>> print(err)
a.csv, line 3: expected '## END HEADER', found '2024-04-01T00:00:00.000Z,1,1'
>>> isinstance(err, ValueError), err.line
(True, 3)
"""

from __future__ import annotations

import os

__all__ = ["DateParseError", "DurationError", "DurationTypeError", "FileFormatError"]

_MAX_FOUND = 120


class FileFormatError(ValueError):
    """A file is not laid out the way an ONC file of its kind should be.

    Parameters
    ----------
    path
        The file being read.
    line
        1-based line number in the file where the problem was found (``None`` when the format
        has no lines, such as MAT, or the problem is not tied to one line).
    expected
        What the reader expected to find there.
    found
        What it found instead (shortened in the message), if useful.
    hint
        What to do about it, if something more specific than "check the file" applies.
    sensor, row
        The sensor and the 1-based data row (sample) the problem is in, when it is in one
        (an invalid QAQC flag, ...); the message names them through ``expected``.

    Attributes
    ----------
    path, line, expected, found, hint, sensor, row
        As given, for programs that handle the error.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        line: int | None,
        expected: str,
        *,
        found: str | None = None,
        hint: str | None = None,
        sensor: str | None = None,
        row: int | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.expected = expected
        self.found = found
        self.hint = hint
        self.sensor = sensor
        self.row = row
        where = self.path if line is None else f"{self.path}, line {line}"
        message = f"{where}: expected {expected}"
        if found is not None:
            shown = found if len(found) <= _MAX_FOUND else found[: _MAX_FOUND - 3] + "..."
            message += f", found {shown!r}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class DateParseError(ValueError):
    """A date or duration string could not be understood."""


class DurationError(DateParseError):
    """A duration argument (period, chunk, offset, lookback...) could not be understood.

    Raised by :func:`intake_onc._core.durations.parse_duration`; the message names the argument,
    what was expected and how to write it (``period='3600' ... write '3600s' or '1h'``).
    """


class DurationTypeError(DurationError, TypeError):
    """A duration argument of a type that cannot be a duration (``None``, ``True``, a list)."""
