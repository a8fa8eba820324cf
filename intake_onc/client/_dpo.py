"""Order options and estimates: ONC's ``dpo_*`` names from friendly keywords, and the
``"151 kB"``/``"20 s"`` estimate strings as numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from intake_onc._core.durations import DurationError, duration_ns, duration_seconds

__all__ = ["FRIENDLY_OPTIONS", "dpo_options", "parse_estimate_bytes", "parse_estimate_seconds"]

#: Friendly keyword -> (ONC option, value translation or None).
FRIENDLY_OPTIONS: dict[str, tuple[str, dict[Any, Any] | None]] = {
    "quality_control": ("dpo_qualityControl", {True: 1, False: 0, "clean": 1, "raw": 0}),
    "data_gaps": ("dpo_dataGaps", {True: 1, False: 0, "fill": 1, "nan": 1, "remove": 0}),
    "resample": ("dpo_resample", None),
    "json_encoding": ("dpo_jsonOutputEncoding", None),
    "spectral_downsample": ("dpo_spectralDataDownsample", None),
    "spectrogram_concatenation": ("dpo_spectrogramConcatenation", None),
    "spectrogram_source": ("dpo_spectrogramSource", None),
    "hydrophone_channel": ("dpo_hydrophoneChannel", None),
    "acquisition_mode": ("dpo_hydrophoneAcquisitionMode", None),
    "diversion_mode": ("dpo_hydrophoneDataDiversionMode", None),
    "audio_downsample": ("dpo_audioDownsample", None),
    "audio_format_conversion": ("dpo_audioFormatConversion", {True: 1, False: 0}),
}
_RESAMPLE_PERIOD_OPTION = {"average": "dpo_average", "minMax": "dpo_minMax"}


def dpo_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Translate order options to ONC's ``dpo_*`` parameters.

    ``dpo_*`` keys pass through (booleans become 1/0). Friendly keywords: ``quality_control``
    (True/"clean" -> 1, False/"raw" -> 0), ``data_gaps`` (True/"fill" -> 1, "remove" -> 0),
    ``resample`` (``none|average|minMax|minMaxAvg``) with ``resample_period`` (a duration, sent as seconds; put in
    ``dpo_average``/``dpo_minMax``/``dpo_minMaxAvg`` to match), ``json_encoding`` (``OM|ONC``),
    ``spectral_downsample``, ``spectrogram_concatenation``, ``spectrogram_source``,
    ``hydrophone_channel``, ``acquisition_mode``, ``diversion_mode``, ``audio_downsample``,
    ``audio_format_conversion``.

    Examples
    --------
    >>> dpo_options({"quality_control": "raw", "resample": "average", "resample_period": 60})
    {'dpo_qualityControl': 0, 'dpo_resample': 'average', 'dpo_average': 60}
    >>> dpo_options({"dpo_dataGaps": True})
    {'dpo_dataGaps': 1}
    """
    out: dict[str, Any] = {}
    period = options.get("resample_period")
    if period is not None:  # ONC takes seconds: 60, "1min", "PT1M" -> 60
        ns = duration_ns(period, argument="resample_period")
        period = ns // 10**9 if ns % 10**9 == 0 else ns / 1e9
    for key, value in options.items():
        if value is None or key == "resample_period":
            continue
        if key.startswith("dpo_"):
            out[key] = int(value) if isinstance(value, bool) else value
            continue
        if key not in FRIENDLY_OPTIONS:
            known = ", ".join(sorted([*FRIENDLY_OPTIONS, "resample_period"]))
            raise TypeError(
                f"order() got an unknown option {key!r}; give ONC's own name (dpo_...) or one "
                f"of: {known}"
            )
        name, mapping = FRIENDLY_OPTIONS[key]
        if mapping is not None:
            lookup = value.lower() if isinstance(value, str) else value
            if lookup not in mapping:
                raise ValueError(
                    f"{key}: expected one of {sorted(map(str, mapping))}, got {value!r}"
                )
            value = mapping[lookup]
        elif isinstance(value, bool):
            value = int(value)
        out[name] = value
    if period is not None:
        resample = out.get("dpo_resample")
        if resample in (None, "none"):
            raise ValueError("resample_period: also give resample='average' (or minMax, minMaxAvg)")
        out[_RESAMPLE_PERIOD_OPTION.get(resample, f"dpo_{resample}")] = period
    return out


_SIZE_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}


def parse_estimate_seconds(text: Any) -> float | None:
    """ONC's ``estimatedProcessingTime`` (``"20 s"``, ``"2 min"``, ``"1 hour"``) in seconds.

    Examples
    --------
    >>> parse_estimate_seconds("2 min"), parse_estimate_seconds(None)
    (120.0, None)
    """
    match = re.match(r"^\s*([\d.]+)\s*([A-Za-z]+)", str(text)) if text is not None else None
    if not match:
        return None
    try:
        return duration_seconds(
            f"{match.group(1)} {match.group(2)}", argument="estimate", allow_zero=True
        )
    except DurationError:
        return None


def parse_estimate_bytes(text: Any) -> int | None:
    """ONC's ``estimatedFileSize`` (``"151 kB"``) in bytes.

    Examples
    --------
    >>> parse_estimate_bytes("151 kB")
    151000
    """
    if isinstance(text, (int, float)):
        return int(text)
    match = re.match(r"^\s*([\d.]+)\s*([A-Za-z]*)", str(text)) if text is not None else None
    if not match:
        return None
    factor = _SIZE_UNITS.get((match.group(2) or "b").lower())
    return int(float(match.group(1)) * factor) if factor else None
