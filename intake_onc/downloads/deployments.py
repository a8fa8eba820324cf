"""Deployment checks before any order, and N windows sampled from deployed time.

* :func:`check_windows` compares each window with its device's deployments (one ``deployments``
  request per device): a window outside every deployment is reported with the device's
  deployment ranges, instead of failing later at ONC with API error 33/127; a window that
  straddles a deployment edge is trimmed to the deployed part, with a warning.
* :func:`sample_windows` spreads N windows over a range, evenly or at random (seeded), inside
  deployed time only.

Examples
--------
>>> checked = check_windows(windows, client=client)  # doctest: +SKIP
>>> sample_windows("ICLISTENHF6324", "2024-04-01", "2024-04-02", 4, client=client)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from intake_onc._core.durations import duration_ns
from intake_onc._core.time import format_onc_date, parse_date

from .requests import RequestError, RequestList
from .window import Window

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = ["check_windows", "deployed_spans", "sample_windows"]


def _client(client: ONCClient | None) -> ONCClient:
    if client is not None:
        return client
    from intake_onc.client import ONCClient

    return ONCClient()


def _known_ranges(client: ONCClient, device_code: str) -> list:
    """The device's :class:`~intake_onc.client.DeploymentRange` s, oldest first.

    Raises :class:`~.requests.RequestError` for a device ONC does not know; other failures
    (ONC down, no network) are raised as the client's own errors, which say so.
    """
    from intake_onc.client import BadRequestError, NotFoundError

    try:
        return client.deployment_ranges(device_code)
    except (BadRequestError, NotFoundError) as exc:
        raise RequestError(
            f"deviceCode {device_code!r}: ONC does not know this device ({' '.join(str(exc).split())[:200]}); "
            "check the code with `intake-onc search` or client.devices()"
        ) from None


def _spans(ranges: list) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    return [(r.begin, r.end if r.end is not None else now, r.location_code or "") for r in ranges]


def deployed_spans(
    client: ONCClient, device_code: str
) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """``(begin, end, location)`` of each deployment (``end`` is now when ongoing), oldest first.

    Raises :class:`~.requests.RequestError` for a device ONC does not know; other failures
    (ONC down, no network) are raised as the client's own errors, which say so.
    """
    return _spans(_known_ranges(client, device_code))


def _ranges_text(ranges: list) -> str:
    """Deployments as :class:`~intake_onc.client.DeploymentRange` prints them
    (``2022-09-01 – ongoing at CBCH.H3``), for messages."""
    return "; ".join(str(r) for r in ranges) if ranges else "none listed"


def check_windows(
    windows: Iterable[Window], *, client: ONCClient | None = None, errors: str = "raise"
) -> RequestList:
    """Windows checked against their devices' deployments: kept, trimmed or refused.

    Parameters
    ----------
    windows
        :class:`~.window.Window` s (for example from :func:`~.requests.parse_requests`).
    client
        An :class:`~intake_onc.client.ONCClient` (default: one from the environment).
    errors
        ``"raise"``: a window outside every deployment raises :class:`~.requests.RequestError`
        listing the device's deployments. ``"skip"``: it is left out with a warning, and its
        message listed in ``.skipped``.

    Returns
    -------
    RequestList
        The windows inside deployments; straddling ones trimmed (a warning says so).
    """
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}: expected 'raise' or 'skip'")
    client = _client(client)
    ranges: dict[str, list] = {}
    spans: dict[str, list] = {}
    out, skipped = [], list(getattr(windows, "skipped", []))
    for w in windows:
        if w.device_code not in spans:
            ranges[w.device_code] = _known_ranges(client, w.device_code)
            spans[w.device_code] = _spans(ranges[w.device_code])
        hits = [(b, e) for b, e, _ in spans[w.device_code] if b < w.end and e > w.start]
        if not hits:
            message = (
                f"{w} ({w.label or 'no label'}): {w.device_code} was not deployed then; its "
                f"deployments: {_ranges_text(ranges[w.device_code])}; choose a time inside one"
            )
            if errors == "raise":
                raise RequestError(message)
            skipped.append(message)
            warnings.warn(f"skipped: {message}", stacklevel=2)
            continue
        begin, end = hits[0][0], hits[-1][1]
        if w.start < begin or w.end > end:
            start, stop = max(w.start, begin), min(w.end, end)
            warnings.warn(
                f"{w}: trimmed to {format_onc_date(start)}/{format_onc_date(stop)}, the deployed "
                "part of the window",
                stacklevel=2,
            )
            w = dataclasses.replace(w, start=start, end=stop)
        out.append(w)
    return RequestList(out, skipped, deployments=ranges)


def sample_windows(
    device_code: str,
    start: Any,
    end: Any,
    n: int,
    duration: Any = "5min",
    *,
    seed: int | None = None,
    label: str = "sample",
    client: ONCClient | None = None,
) -> RequestList:
    """``n`` windows of ``duration`` over ``[start, end)``, inside deployed time only.

    Without ``seed`` they are spread evenly over the deployed time (gaps between deployments
    skipped, the time they would have taken filled from deployed time); with ``seed`` their
    starts are drawn at random (reproducibly) from the deployed time, without overlaps.

    Examples
    --------
    >>> ws = sample_windows("ICLISTENHF6324", "2024-04-01", "2024-04-02", 4, client=client)  # doctest: +SKIP
    >>> [str(w) for w in ws][:1]  # doctest: +SKIP
    ['ICLISTENHF6324 2024-04-01T00:00:00.000Z/2024-04-01T00:05:00.000Z']
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r}: expected a number of windows >= 1")
    s, e = parse_date(start, argument="start"), parse_date(end, argument="end")
    if e <= s:
        raise ValueError(f"end ({format_onc_date(e)}) must be after start ({format_onc_date(s)})")
    length = pd.Timedelta(duration_ns(duration, argument="duration"), unit="ns")
    client = _client(client)
    known = _known_ranges(client, device_code)
    pieces = [
        (max(b, s), min(t, e))
        for b, t, _ in _spans(known)
        if b < e and t > s and min(t, e) - max(b, s) >= length
    ]
    if not pieces:
        raise RequestError(
            f"{device_code}: no deployed stretch of {length} between {format_onc_date(s)} and "
            f"{format_onc_date(e)}; its deployments: "
            f"{_ranges_text(known)}"
        )
    # positions of window starts on the concatenated deployed time (each piece minus a window)
    room = np.array([(b2 - b1 - length).value for b1, b2 in pieces], dtype=np.float64)
    total = room.sum() + length.value * len(pieces)
    if n * length.value > total:
        raise RequestError(
            f"n={n}: {n} windows of {length} do not fit in the deployed time "
            f"({pd.Timedelta(int(total), unit='ns')}); ask for fewer or shorter windows"
        )
    # offsets on the deployed time with each piece's last window-length removed ("room"): a
    # window at room offset x starts x into its piece; offsets at least one window apart
    free = room.sum() - (n - 1) * length.value
    if free < 0:
        raise RequestError(
            f"n={n}: {n} windows of {length} would overlap in the deployed time; ask for fewer "
            "or shorter windows"
        )
    if seed is None:
        spread = np.linspace(0, free, n) if n > 1 else np.array([0.0])
    else:
        spread = np.sort(np.random.default_rng(seed).uniform(0, free, n))
    offsets = spread + np.arange(n) * length.value
    starts = []
    edges = np.concatenate([[0.0], np.cumsum(room)])
    for x in offsets:
        i = min(int(np.searchsorted(edges, x, side="right")) - 1, len(pieces) - 1)
        begin = pieces[i][0] + pd.Timedelta(int(round(x - edges[i])), unit="ns")
        starts.append(min(begin.floor("ms"), pieces[i][1] - length))
    return RequestList([Window(device_code, t, t + length, label) for t in starts])
