"""A TSSD request before any file is built: its options decoded, its file names, its size.

Choices
-------
* **Options** (``dpo_*`` strings; missing ones take the defaults of ``dataProducts``):
  ``dpo_qualityControl`` 1 clean / 0 raw; ``dpo_dataGaps`` 1 fill (NaN rows, flag 9; empty bins
  kept) / 0 remove; ``dpo_resample`` none|average|minMax|minMaxAvg with the period in
  ``dpo_average``/``dpo_minMax``/``dpo_minMaxAvg`` (default 60). Period ``0`` = **auto**: the
  smallest of 60, 600, 900, 3600, 86400 s giving at most 1500 bins over the requested range.
  ``dpo_jsonOutputEncoding`` OM (default) | ONC, JSON only. Extensions csv, json, mat, txt (ODV
  spreadsheet) and nc (netCDF); ``txt``'s ``dpo_sensorstoinclude`` and ``nc``'s ``dpo_cast`` /
  ``dpo_includeOrientationSensors`` are accepted and change nothing (fixed devices, no derived
  or orientation sensors to add or leave out).
* **Names**: ``<Site>_<Location>_<DeviceCategoryName>_<first>Z_<last>Z-<mode>.<ext>``: site and
  location are the location's parent's and its own names without spaces or punctuation
  (``BarkleyCanyon_BarkleyCanyonAxis``), the category name likewise
  (``ConductivityTemperatureDepth``); ``first``/``last`` are the file's own first and last row
  times (bin centres when resampled) as ``YYYYMMDDThhmmss``; mode tokens, in this order and
  joined by ``_``: ``NaN`` (gaps filled), ``clean``, ``avg1minute`` / ``MinMax10minute`` /
  ``MinMaxAvg1day`` ..., ``OM``/``ONC`` (JSON). No tokens: no ``-`` part. CSV files over
  ``max_rows`` (1,000,000) rows are split; the 2nd, 3rd... parts get ``_2``, ``_3`` before the
  extension, and every part is named by its own first/last times.
* **Estimates** (:func:`estimate_tssd_size`, for ``estimatedFileSize``): rows from the sample
  period over the deployed part of the range, times rough bytes per row; nothing is generated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intake_onc._core.time import parse_date
from intake_onc.sandbox.observatory.records import Deployment
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.synthetic.scalar import NS_PER_S, deployed_intervals_ns

__all__ = [
    "AUTO_MAX_BINS",
    "ONC_PERIODS",
    "TssdOptions",
    "deployment_at",
    "estimate_tssd_size",
    "metadata_filename",
    "parse_tssd_options",
    "tssd_filename",
]

ONC_PERIODS = (60, 600, 900, 3600, 86400)
AUTO_MAX_BINS = 1500
_EXTENSIONS = ("csv", "json", "mat", "txt", "nc")
_RESAMPLE_OPTION = {"average": "dpo_average", "minMax": "dpo_minMax", "minMaxAvg": "dpo_minMaxAvg"}
_RESAMPLE_TOKEN = {"average": "avg", "minMax": "MinMax", "minMaxAvg": "MinMaxAvg"}


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TssdOptions:
    """The ``dpo_*`` options of a TSSD request, decoded."""

    quality: str  # "clean" | "raw"
    data_gaps: str  # "fill" | "remove"
    resample: str | None  # None | "average" | "minMax" | "minMaxAvg"
    period: float | None  # seconds (auto resolved); None when not resampled
    encoding: str | None  # "OM" | "ONC" for JSON, else None

    @property
    def mode_tokens(self) -> list[str]:
        """File-name mode tokens, in order."""
        tokens = []
        if self.data_gaps == "fill":
            tokens.append("NaN")
        if self.quality == "clean":
            tokens.append("clean")
        if self.resample is not None:
            tokens.append(_RESAMPLE_TOKEN[self.resample] + _period_words(self.period))
        if self.encoding is not None:
            tokens.append(self.encoding)
        return tokens


def _choice(
    options: Mapping[str, object], name: str, default: str, allowed: tuple[str, ...]
) -> str:
    value = str(options.get(name, default)).strip()
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _auto_period(start: pd.Timestamp, end: pd.Timestamp) -> int:
    span_s = max((end - start).total_seconds(), 0.0)
    for period in ONC_PERIODS:
        if np.ceil(span_s / period) <= AUTO_MAX_BINS:
            return period
    return ONC_PERIODS[-1]


def parse_tssd_options(
    options: Mapping[str, object], extension: str, start: object, end: object
) -> TssdOptions:
    """Decode ``dpo_*`` options (missing ones take their defaults); ValueError names a bad one."""
    if extension not in _EXTENSIONS:
        raise ValueError(f"extension: TSSD files are {', '.join(_EXTENSIONS)}, got {extension!r}")
    quality = {"1": "clean", "0": "raw"}[_choice(options, "dpo_qualityControl", "1", ("0", "1"))]
    gaps = {"1": "fill", "0": "remove"}[_choice(options, "dpo_dataGaps", "1", ("0", "1"))]
    method = _choice(options, "dpo_resample", "none", ("none", *_RESAMPLE_OPTION))
    period: float | None = None
    if method != "none":
        name = _RESAMPLE_OPTION[method]
        text = str(options.get(name, "60")).strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"{name}: expected a period in seconds (0 = auto), got {text!r}"
            ) from None
        if value == 0:
            value = float(_auto_period(parse_date(start), parse_date(end)))
        if value <= 0 or (86400 / value) != int(86400 / value):
            raise ValueError(
                f"{name}: {text!r} s does not divide a day; expected 0 (auto) or one of "
                f"{', '.join(map(str, ONC_PERIODS))}"
            )
        period = value
    encoding = None
    if extension == "json":
        encoding = _choice(options, "dpo_jsonOutputEncoding", "OM", ("OM", "ONC"))
    return TssdOptions(quality, gaps, None if method == "none" else method, period, encoding)


def _period_words(period: float | None) -> str:
    seconds = float(period or 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}second"


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------


def _squash(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def deployment_at(device_code: str, when: pd.Timestamp | None) -> Deployment:
    """The deployment of the device in force at ``when`` (its last one when ``None``/before)."""
    deployments = OBSERVATORY.deployments_of(device_code)
    if when is not None:
        for dep in reversed(deployments):
            if dep.begin <= when:
                return dep
    return deployments[-1]


def _name_prefix(device_code: str, when: pd.Timestamp | None) -> str:
    device = OBSERVATORY.device(device_code)
    location = OBSERVATORY.location(deployment_at(device_code, when).location_code)
    site = OBSERVATORY.location(location.parent).name if location.parent else location.name
    category = OBSERVATORY.device_categories[device.category_code].name
    return f"{_squash(site)}_{_squash(location.name)}_{_squash(category)}"


def _stamp(t: object) -> str:
    return parse_date(t).strftime("%Y%m%dT%H%M%S") + "Z"


def tssd_filename(
    device_code: str,
    first: object,
    last: object,
    extension: str,
    options: TssdOptions,
    part: int = 1,
) -> str:
    """``<Site>_<Location>_<DeviceCategoryName>_<first>Z_<last>Z-<mode>[_<part>].<ext>``."""
    name = f"{_name_prefix(device_code, parse_date(first))}_{_stamp(first)}_{_stamp(last)}"
    tokens = options.mode_tokens
    if tokens:
        name += "-" + "_".join(tokens)
    if part > 1:
        name += f"_{part}"
    return f"{name}.{extension}"


def metadata_filename(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: Mapping[str, object],
    files: list[str] | tuple[str, ...] = (),
) -> str:
    """Name of the ``meta`` download: the first data file's stem + ``_<EXT>_META.xml`` (or, with no
    files, a name built from the requested range)."""
    if files:
        stem = files[0].rsplit(".", 1)[0]
    else:
        opts = parse_tssd_options(options, extension, start, end)
        stem = tssd_filename(device_code, start, end, extension, opts).rsplit(".", 1)[0]
    return f"{stem}_{extension.upper()}_META.xml"


# ----------------------------------------------------------------------------------------------
# Estimates
# ----------------------------------------------------------------------------------------------

#: Rough bytes per row: time column + per sensor, by (extension, resample method).
_ROW_BYTES = {
    "csv": (25, {None: 12, "average": 34, "minMax": 80, "minMaxAvg": 100}),
    "json": (0, {None: 45, "average": 80, "minMax": 150, "minMaxAvg": 180}),
    "mat": (8, {None: 9, "average": 25, "minMax": 58, "minMaxAvg": 66}),
    "txt": (90, {None: 12, "average": 34, "minMax": 80, "minMaxAvg": 100}),
    "nc": (8, {None: 9, "average": 25, "minMax": 58, "minMaxAvg": 66}),
}


def estimate_tssd_size(
    device_code: str,
    start: object,
    end: object,
    options: Mapping[str, object],
    *,
    extension: str = "csv",
    now: object = None,
) -> int:
    """A cheap estimate (bytes) of a TSSD request's files, for ``estimatedFileSize``.

    Rows = seconds / sample period over the deployed part of the window (with gap filling: over
    the window clipped to the device's first deployment .. last end or ``now``, since gaps,
    deployment gaps included, become NaN rows); resampled: bins over the same span. Nothing is
    generated; data gaps are ignored, so it overestimates a little when they are removed.
    """
    start_ts, end_ts = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    opts = parse_tssd_options(options, extension, start_ts, end_ts)
    lo, hi = start_ts.value, end_ts.value
    deployed = deployed_intervals_ns(device_code, now)
    if deployed and opts.data_gaps == "fill":
        deployed = [(deployed[0][0], deployed[-1][1])]
    spans = [(max(b, lo), min(e, hi)) for b, e in deployed]
    spans = [(b, e) for b, e in spans if e > b]
    if not spans:
        return 0
    if opts.resample is not None:
        period_ns = int(opts.period * NS_PER_S)
        n_rows = sum(-(-e // period_ns) - b // period_ns for b, e in spans)
    else:
        n_rows = 0.0
        for b, e in spans:  # integrate 1/T over each piece, at 1-day resolution
            edges = np.append(np.arange(b, e, 86400 * NS_PER_S), e)
            periods = OBSERVATORY.sample_period_at(device_code, edges[:-1].astype("datetime64[ns]"))
            n_rows += float(np.sum(np.diff(edges) / NS_PER_S / periods))
    n_sensors = len(OBSERVATORY.device(device_code).sensors)
    base, per_sensor = _ROW_BYTES[extension]
    return int(3000 + n_rows * (base + n_sensors * per_sensor[opts.resample]))
