"""``GET /_sandbox/events``: the truth about the synthetic soundscape, for tests and workflows.

``/_sandbox/events?deviceCode=D&dateFrom=S&dateTo=E[&includeCalls=true]`` lists what the
hydrophone's synthetic audio holds over ``[S, E)`` (no token: sandbox-only, read-only): ship
passages (broadband noise rising to the closest point of approach, ``cpa``, with the propeller's
blade-rate tonal and harmonics), fin-whale bouts (1-s pulses sweeping 25 → 17 Hz every 12-20 s),
humpback-like FM calls, rain showers and the hourly test tone. Each event:

``type``, ``label``, ``start``, ``end`` (ONC date strings), ``lowFrequency``, ``highFrequency``
(Hz), ``receivedLevel`` (dB re 1 µPa: the signal's level with the sandbox's calibration,
full scale = 170 dB re 1 µPa), ``snr`` (dB over the ambient noise's rms) and ``details``
(``cpa``, ``tonalHz``, ``harmonicsHz`` for ships; ``intervalSeconds`` and, with
``includeCalls=true``, ``calls`` — each pulse's start — for fin whales).
"""

from __future__ import annotations

from typing import Any

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.synthetic import audio as synth

__all__ = ["events"]

_TYPES = {
    "ship": ("ship", "ship passage"),
    "fin_whale": ("fin_whale", "fin whale 20 Hz pulses"),
    "whale": ("humpback", "humpback-like FM call"),
    "rain": ("rain", "rain shower"),
    "tone": ("tone", "test tone"),
}


class EventQueryError(ValueError):
    """A bad parameter of ``/_sandbox/events`` (answered with 400 naming it)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def events(params: dict[str, str], *, seed: int) -> list[dict[str, Any]]:
    """The events of ``params["deviceCode"]`` over ``[dateFrom, dateTo)`` (module docstring)."""
    unknown = sorted(set(params) - {"deviceCode", "dateFrom", "dateTo", "includeCalls", "token"})
    if unknown:
        raise EventQueryError(
            unknown[0],
            f"unknown parameter {unknown[0]!r}; use deviceCode, dateFrom, dateTo, includeCalls",
        )
    for name in ("deviceCode", "dateFrom", "dateTo"):
        if not params.get(name):
            raise EventQueryError(name, f"{name} is required")
    include = params.get("includeCalls", "false").lower()
    if include not in ("true", "false"):
        raise EventQueryError("includeCalls", "includeCalls must be true or false")
    try:
        synth.hydrophone(params["deviceCode"])
    except (KeyError, ValueError) as exc:
        raise EventQueryError("deviceCode", str(exc).strip('"')) from None
    try:
        start, end = (
            synth.parse_ns(params["dateFrom"], "dateFrom"),
            synth.parse_ns(params["dateTo"], "dateTo"),
        )
    except ValueError as exc:
        raise EventQueryError(
            "dateFrom" if "dateFrom" in str(exc) else "dateTo", str(exc)
        ) from None
    if end <= start:
        raise EventQueryError("dateTo", "dateTo must be after dateFrom")
    if end - start > 31 * 86_400 * 10**9:
        raise EventQueryError("dateTo", "at most 31 days per request")
    found = synth.known_events(
        params["deviceCode"], params["dateFrom"], params["dateTo"], seed=seed
    )
    ambient = synth.AMBIENT_DBFS
    out = []
    for ev in found:
        kind, label = _TYPES[ev["kind"]]
        level = ev["level_dbfs"]
        details: dict[str, Any] = {}
        if ev["kind"] == "ship":
            tonal = float(ev["tonal_hz"])
            details = {
                "cpa": format_onc_date(ev["cpa"]),
                "tonalHz": tonal,
                "harmonicsHz": [m * tonal for m, _ in synth.SHIP_HARMONICS],
            }
        elif ev["kind"] == "fin_whale":
            details = {"intervalSeconds": int(ev["interval_s"])}
            if include == "true":
                details["calls"] = [format_onc_date(t) for t in synth.fin_pulse_times(ev)]
        out.append(
            {
                "type": kind,
                "label": label,
                "start": format_onc_date(ev["start"]),
                "end": format_onc_date(ev["end"]),
                "lowFrequency": float(ev["f_low"]),
                "highFrequency": float(ev["f_high"]),
                "receivedLevel": round(level + synth.FULL_SCALE_DB_RE_UPA, 1),
                "snr": round(level - ambient, 1),
                "details": details,
            }
        )
    return sorted(out, key=lambda e: (e["start"], e["type"]))
