"""One time window of one device: the unit every download and event workflow works on.

A :class:`Window` is half-open, ``[start, end)``, in naive UTC :class:`pandas.Timestamp` s.
A request made from a single timestamp ``t`` becomes ``[t - pad_before, t + pad_after)``: never
zero-length (ONC answers a zero-length range with "not deployed", API error 33).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from intake_onc._core.time import format_onc_date, parse_date

__all__ = ["Window", "windows"]


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` of one device, with its label and options.

    Parameters
    ----------
    device_code
        ONC's ``deviceCode`` (for example ``"ICLISTENHF6324"``).
    start, end
        Naive UTC timestamps; ``end`` is exclusive and after ``start``. The padding is already
        included: ``start`` and ``end`` are what is requested from ONC.
    label
        Free text naming the window (an event type, a note); ``""`` when none.
    pad_before, pad_after
        The padding that was added around the requested time (for the report and the event
        dataset's coordinates); zero for windows given as explicit ranges without padding.
    options
        Per-window overrides of the fetch options (``download_audio``, ``clip``,
        ``spectrogram_format``, …), as read from a request file's ``defaults`` and request.

    Examples
    --------
    >>> w = Window("ICLISTENHF6324", pd.Timestamp("2024-04-01T00:10"), pd.Timestamp("2024-04-01T00:11"))
    >>> w.duration
    Timedelta('0 days 00:01:00')
    >>> str(w)
    'ICLISTENHF6324 2024-04-01T00:10:00.000Z/2024-04-01T00:11:00.000Z'
    """

    device_code: str
    start: pd.Timestamp
    end: pd.Timestamp
    label: str = ""
    pad_before: pd.Timedelta = pd.Timedelta(0)
    pad_after: pd.Timedelta = pd.Timedelta(0)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.device_code, str) or not self.device_code.strip():
            raise ValueError(
                f"device_code: expected a device code such as 'ICLISTENHF6324', "
                f"got {self.device_code!r}"
            )
        start = parse_date(self.start, argument="start")
        end = parse_date(self.end, argument="end")
        if end <= start:
            raise ValueError(
                f"{self.device_code}: end ({format_onc_date(end)}) must be after start "
                f"({format_onc_date(start)}); swap them, or give a timestamp with padding"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "pad_before", pd.Timedelta(self.pad_before))
        object.__setattr__(self, "pad_after", pd.Timedelta(self.pad_after))
        object.__setattr__(self, "options", dict(self.options))

    @property
    def duration(self) -> pd.Timedelta:
        """``end - start``."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.device_code} {format_onc_date(self.start)}/{format_onc_date(self.end)}"

    def __hash__(self) -> int:
        return hash((self.device_code, self.start, self.end, self.label))


def windows(device_code: str, start: Any, end: Any, *, label: str = "") -> list[Window]:
    """The continuous range ``[start, end)`` of one device, as a one-window list.

    Examples
    --------
    >>> [str(w) for w in windows("ICLISTENHF6324", "2024-04-01", "2024-04-02")]
    ['ICLISTENHF6324 2024-04-01T00:00:00.000Z/2024-04-02T00:00:00.000Z']
    """
    return [Window(device_code, start, end, label=label)]
