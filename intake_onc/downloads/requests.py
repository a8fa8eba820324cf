"""Request windows in every form people have them: Python, JSON (current and legacy), CSV, pandas.

:func:`parse_requests` turns any of them into a list of :class:`~.window.Window`. A request for
one moment (``timestamp``) becomes ``[t - pad_before, t + pad_after)``: 30 s each side unless the
file or the arguments say otherwise, never zero-length. Naive times are UTC.

Forms read:

* **Python**: a datetime, an ISO string (``"2024-04-01T00:10:00Z"``, with or without
  milliseconds), a ``[y, m, d, h, mi, s]`` list/tuple, a ``(start, end)`` pair of those, a
  :class:`~.window.Window`, a dict like a JSON request, or a list of any of them;
* **JSON, the current format**: ``{"defaults": {"deviceCode", "pad_seconds", ...},
  "requests": [{"timestamp", "label"} | {"start", "end", "pad_before_seconds",
  "pad_after_seconds", "label"}, ...]}``; any default can be overridden per request, and keys
  other than those are kept as the window's ``options`` (``download_audio``, ``clip``, ...);
* **JSON, the legacy format**: ``{"DEVICE": [[y, m, d, h, mi, s], ...], ...}``;
* **CSV**: columns ``device,timestamp,label`` or ``device,start,end,label``, optionally
  ``pad_before_seconds``/``pad_after_seconds`` (or ``pad_seconds``);
* **a pandas DataFrame** with the CSV's columns.

Every bad row raises :class:`RequestError` naming the file, the row or field, what was expected
and the fix; with ``errors="skip"`` bad rows are reported (a warning each, and
:attr:`RequestList.skipped`) and the rest returned.

Examples
--------
>>> [str(w) for w in parse_requests("2024-04-01T00:10:00Z", default_device="ICLISTENHF6324")]
['ICLISTENHF6324 2024-04-01T00:09:30.000Z/2024-04-01T00:10:30.000Z']
>>> legacy = {"ICLISTENHF6324": [[2024, 4, 1, 0, 10, 0]]}
>>> parse_requests(legacy)[0].duration
Timedelta('0 days 00:01:00')
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from intake_onc._core.time import format_onc_date, parse_date

from .window import Window

__all__ = ["DEFAULT_PAD_SECONDS", "RequestError", "RequestList", "parse_requests"]

#: Padding each side of a timestamp request when nothing says otherwise (seconds).
DEFAULT_PAD_SECONDS = 30.0

_DEVICE_KEYS = ("deviceCode", "device_code", "device")
_KNOWN = {
    *_DEVICE_KEYS,
    "timestamp",
    "start",
    "end",
    "label",
    "pad_seconds",
    "pad_before_seconds",
    "pad_after_seconds",
}


class RequestError(ValueError):
    """A request that cannot be read; the message names where it is and how to fix it."""


class RequestList(list):
    """The windows read (a list), and the bad requests skipped with ``errors="skip"``."""

    def __init__(
        self,
        windows: Iterable[Window] = (),
        skipped: Iterable[str] = (),
        deployments: dict[str, list] | None = None,
    ) -> None:
        super().__init__(windows)
        #: One message per skipped request (also issued as a warning).
        self.skipped: list[str] = list(skipped)
        #: ``{deviceCode: [DeploymentRange, ...]}`` when the windows were checked against them
        #: (:func:`~.deployments.check_windows`), so nothing asks ONC for them again.
        self.deployments: dict[str, list] = dict(deployments or {})


def _is_moment(value: Any) -> bool:
    if isinstance(value, (str, dt.datetime, dt.date, pd.Timestamp)):
        return True
    return (
        isinstance(value, (list, tuple))
        and 3 <= len(value) <= 7
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _moment(value: Any, where: str, field: str) -> pd.Timestamp:
    """A UTC time from a string, datetime or ``[y, m, d, h, mi, s]`` list."""
    try:
        if isinstance(value, (list, tuple)):
            parts = [int(v) for v in value[:6]]
            seconds = float(value[5]) if len(value) > 5 else 0.0
            parts += [0] * (6 - len(parts))
            micro = round((seconds - int(seconds)) * 1e6)
            value = dt.datetime(*parts[:5], int(seconds), micro)
        return parse_date(value, argument=field)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RequestError(
            f"{where}: {field}={value!r} is not a date ({exc}); write ISO 8601 such as "
            "2024-04-01T00:10:00Z or a [year, month, day, hour, minute, second] list"
        ) from None


def _seconds(value: Any, where: str, field: str) -> pd.Timedelta:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number == number or number < 0 or number == float("inf"):
        raise RequestError(
            f"{where}: {field}={value!r}: expected a number of seconds >= 0 (such as 30)"
        )
    return pd.Timedelta(seconds=number)


def _one(
    item: Mapping[str, Any], defaults: Mapping[str, Any], where: str, default_device: str | None
) -> Window:
    """One request dict (defaults applied) as a Window."""
    merged = {**defaults, **{k: v for k, v in item.items() if v is not None and v == v}}
    device = next((merged[k] for k in _DEVICE_KEYS if merged.get(k)), default_device)
    if not device or not isinstance(device, str):
        raise RequestError(
            f"{where}: no device: add a deviceCode (in the request, the file's defaults, or "
            "default_device=)"
        )
    label = "" if merged.get("label") is None else str(merged["label"])
    pad = merged.get("pad_seconds", DEFAULT_PAD_SECONDS)
    before = _seconds(merged.get("pad_before_seconds", pad), where, "pad_before_seconds")
    after = _seconds(merged.get("pad_after_seconds", pad), where, "pad_after_seconds")
    options = {k: v for k, v in merged.items() if k not in _KNOWN}
    has_t = merged.get("timestamp") is not None
    has_range = merged.get("start") is not None or merged.get("end") is not None
    if has_t and has_range:
        raise RequestError(f"{where}: give either timestamp or start and end, not both")
    if has_t:
        t = _moment(merged["timestamp"], where, "timestamp")
        if before + after <= pd.Timedelta(0):
            raise RequestError(
                f"{where}: a timestamp request with no padding is zero-length (ONC answers "
                "'not deployed'); set pad_seconds (for example 30)"
            )
        start, end = t - before, t + after
    elif merged.get("start") is not None and merged.get("end") is not None:
        start = _moment(merged["start"], where, "start")
        end = _moment(merged["end"], where, "end")
        if end <= start:
            raise RequestError(
                f"{where}: end ({format_onc_date(end)}) is not after start "
                f"({format_onc_date(start)}); swap them"
            )
        explicit_before = "pad_before_seconds" in merged or "pad_seconds" in item
        explicit_after = "pad_after_seconds" in merged or "pad_seconds" in item
        before = before if explicit_before else pd.Timedelta(0)
        after = after if explicit_after else pd.Timedelta(0)
        start, end = start - before, end + after
    else:
        raise RequestError(
            f"{where}: expected a timestamp, or a start and an end (got keys {sorted(item)})"
        )
    return Window(device.strip(), start, end, label, before, after, options)


def _from_json(data: Any, name: str, default_device: str | None, out: _Collector) -> None:
    if isinstance(data, Mapping) and "requests" in data:
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise RequestError(f"{name}: 'defaults' must be an object of default settings")
        requests = data["requests"]
        if not isinstance(requests, list):
            raise RequestError(f"{name}: 'requests' must be a list of requests")
        for i, item in enumerate(requests):
            where = f"{name}: requests[{i}]"
            if not isinstance(item, Mapping):
                out.bad(RequestError(f'{where}: expected an object such as {{"timestamp": ...}}'))
                continue
            out.add(lambda item=item, where=where: _one(item, defaults, where, default_device))
        return
    if isinstance(data, Mapping):  # legacy: {"DEVICE": [[y, m, d, h, mi, s], ...]}
        if not data:
            raise RequestError(f"{name}: no requests (an empty object)")
        for device, moments in data.items():
            if not isinstance(moments, list):
                raise RequestError(
                    f"{name}: {device!r}: expected a list of [y, m, d, h, mi, s] timestamps "
                    '(the legacy format), or use {"defaults": ..., "requests": [...]}'
                )
            for i, moment in enumerate(moments):
                where = f"{name}: {device}[{i}]"
                out.add(
                    lambda m=moment, w=where, d=device: _one(
                        {"timestamp": m, "deviceCode": d}, {}, w, default_device
                    )
                )
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            _from_python(item, f"{name}[{i}]", default_device, out)
        return
    raise RequestError(
        f'{name}: expected {{"defaults": ..., "requests": [...]}} or the legacy '
        f'{{"DEVICE": [[y, m, d, h, mi, s], ...]}}, got a JSON {type(data).__name__}'
    )


def _from_rows(rows: Iterable[Mapping[str, Any]], name: str, default_device, out) -> None:
    for i, row in enumerate(rows):
        where = f"{name}: row {i + 2}" if name.endswith(".csv") else f"{name}: row {i}"
        clean = {k.strip(): v for k, v in row.items() if isinstance(k, str)}
        clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in clean.items()}
        clean = {k: v for k, v in clean.items() if v not in ("", None)}
        out.add(lambda r=clean, w=where: _one(r, {}, w, default_device))


def _check_columns(columns: Iterable[str], name: str, default_device: str | None) -> None:
    cols = {str(c).strip() for c in columns}
    if not (cols & set(_DEVICE_KEYS)) and default_device is None:
        raise RequestError(
            f"{name}: no device column: add a column 'device' (or pass default_device=)"
        )
    if "timestamp" not in cols and not {"start", "end"} <= cols:
        raise RequestError(
            f"{name}: expected a 'timestamp' column, or 'start' and 'end' columns; found "
            f"{', '.join(sorted(cols)) or 'none'}"
        )


def _from_csv(text: str, name: str, default_device: str | None, out: _Collector) -> None:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise RequestError(
            f"{name}: empty file; expected a header line such as device,timestamp,label"
        )
    _check_columns(reader.fieldnames, name, default_device)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise RequestError(f"{name}: not a readable CSV file ({exc})") from None
    _from_rows(rows, name, default_device, out)


def _from_path(path: Path, default_device: str | None, out: _Collector) -> None:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RequestError(f"{path}: no such request file") from None
    except UnicodeDecodeError:
        raise RequestError(f"{name}: not a text file (JSON or CSV expected)") from None
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in "[{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(
                f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "check for a missing comma or quote"
            ) from None
        _from_json(data, name, default_device, out)
    elif suffix == ".csv" or "," in (text.splitlines()[0] if text.strip() else ""):
        _from_csv(text, name, default_device, out)
    else:
        raise RequestError(f"{name}: expected a .json or .csv request file")


def _from_python(obj: Any, where: str, default_device: str | None, out: _Collector) -> None:
    if isinstance(obj, Window):
        out.windows.append(obj)
    elif isinstance(obj, pd.DataFrame):
        _check_columns(obj.columns, where, default_device)
        _from_rows(obj.to_dict("records"), where, default_device, out)
    elif isinstance(obj, Mapping):
        if "requests" in obj or not any(k in obj for k in ("timestamp", "start", "end")):
            _from_json(obj, where, default_device, out)
        else:
            out.add(lambda: _one(obj, {}, where, default_device))
    elif _is_moment(obj):
        out.add(lambda: _one({"timestamp": obj}, {}, where, default_device))
    elif isinstance(obj, tuple) and len(obj) == 2 and all(_is_moment(v) for v in obj):
        out.add(lambda: _one({"start": obj[0], "end": obj[1]}, {}, where, default_device))
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            _from_python(item, f"{where}[{i}]", default_device, out)
    else:
        raise RequestError(
            f"{where}: cannot read a request from a {type(obj).__name__}; give times, "
            "(start, end) pairs, dicts, a DataFrame, or a .json/.csv file"
        )


class _Collector:
    def __init__(self, errors: str) -> None:
        self.errors = errors
        self.windows: list[Window] = []
        self.skipped: list[str] = []

    def add(self, make: Any) -> None:
        try:
            self.windows.append(make())
        except (RequestError, ValueError) as exc:
            self.bad(exc if isinstance(exc, RequestError) else RequestError(str(exc)))

    def bad(self, exc: RequestError) -> None:
        if self.errors == "raise":
            raise exc
        self.skipped.append(str(exc))
        warnings.warn(f"skipped: {exc}", stacklevel=4)


def parse_requests(
    obj_or_path: Any,
    *,
    default_device: str | None = None,
    errors: str = "raise",
) -> RequestList:
    """Read request windows from Python objects, a JSON or CSV file, or a DataFrame.

    Parameters
    ----------
    obj_or_path
        A path (``str``/``Path`` ending in ``.json`` or ``.csv``, or an existing file), or the
        Python forms of the module docstring.
    default_device
        The ``deviceCode`` of requests that name none.
    errors
        ``"raise"`` (default): the first bad request raises :class:`RequestError`.
        ``"skip"``: bad requests are warned about, listed in ``.skipped``, and left out.

    Returns
    -------
    RequestList
        The windows, in the order given (a ``list`` of :class:`~.window.Window`).

    Examples
    --------
    >>> ws = parse_requests([("2024-04-01T00:00", "2024-04-01T00:05")], default_device="ICLISTENHF6324")
    >>> ws[0].duration, ws[0].pad_before
    (Timedelta('0 days 00:05:00'), Timedelta('0 days 00:00:00'))
    """
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}: expected 'raise' or 'skip'")
    if default_device is not None and (not isinstance(default_device, str) or not default_device):
        raise ValueError(f"default_device={default_device!r}: expected a deviceCode string")
    out = _Collector(errors)
    path = None
    if (
        isinstance(obj_or_path, os.PathLike)
        or isinstance(obj_or_path, str)
        and (obj_or_path.lower().endswith((".json", ".csv")) or os.path.isfile(obj_or_path))
    ):
        path = Path(obj_or_path)
    if path is not None:
        _from_path(path, default_device, out)
    else:
        _from_python(obj_or_path, "requests", default_device, out)
    if not out.windows and not out.skipped:
        where = f"{path}: " if path is not None else "requests: "
        raise RequestError(
            f"{where}no request found; give at least one time or window"
            + (" (a header line alone holds no request)" if path is not None else "")
        )
    return RequestList(out.windows, out.skipped)
