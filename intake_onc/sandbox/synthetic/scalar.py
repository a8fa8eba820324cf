"""Deterministic synthetic scalar records (CTD, oxygen optode, ADCP speed) for the sandbox.

:func:`generate` returns the readings a device "recorded" in ``[start, end)``. The data are a pure
function of ``(seed, device, absolute time)``: every UTC day is generated whole from its own random
streams (``numpy.random.default_rng([seed, deviceId, dayNumber, purpose, ...])``) and then sliced,
so a sample has the same time, value and flag whatever window it is asked in. Paged API requests,
data products and direct calls therefore agree.

What the records look like
--------------------------
* **Times**: only inside the device's deployments (``OBSERVATORY.deployed_intervals``; ongoing ones
  end at ``now``), on the data-rating grid (``SBECTD19p6813``: 2 s until 2023-06-01, then 1 s;
  oxygen 10 s; ADCP 1 s) anchored at UTC midnight plus a fixed per-day offset of 10-985 ms (ONC
  times look like ``00:00:00.227Z``; it drifts slowly from day to day), plus a jitter of -3..+3 ms per sample. Times are whole
  milliseconds (what ONC's wire format carries), sorted and unique, and never leave their day.
* **Values**: deterministic signals of absolute time (M2 and K1 tides, a diurnal cycle, a 9.3-day
  "weather" term, a seasonal term) plus white noise, rounded to instrument resolution:
  temperature ~4 degC at the 985 m BACAX (warmer at shallower sites), salinity ~34.3, conductivity
  consistent with them (~3.2 S/m), pressure ~ depth in dbar with a ~1 dbar tide, oxygen ~1.2 ml/l,
  ADCP speed ~0.1 m/s. Values are ``round(x * 10**d) / 10**d`` for a per-sensor ``d`` (see
  ``_SENSOR_MODELS``), i.e. exactly the float a decimal string with ``d`` places parses to.
* **Flags** (per sensor): 1 mostly; 2 for ~1.5 % of samples; a few runs per day of 3 (5-120
  samples; 35 % of the runs hit every sensor of the device together, the others one sensor) whose
  values are offset by a visible amount (e.g. +0.8 degC, +15 dbar); ~1.5 single-sample spikes per
  sensor per day flagged 4 (e.g. +25 degC); ~0.5 short dropouts per sensor per day (1-5 samples)
  where that one sensor's value is NaN with flag 9 (the other sensors of the row stay valid).
* **Gaps**: ~3 per day (Poisson), 3 s to 2 h long (log-uniform), clipped to their day; every
  sensor of the device is missing together (the rows do not exist).

Everything per sample is vectorised; a week of 1 Hz CTD (~600k rows x 4 sensors) takes a fraction
of a second.

Examples
--------
>>> recs = generate("SBECTD19p6813", "2024-04-01T00:00:00", "2024-04-01T00:01:00")
>>> recs.sensors
('temperature', 'conductivity', 'pressure', 'salinity')
>>> str(recs.times[0])[:19]
'2024-04-01T00:00:00'
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intake_onc._core.time import parse_date
from intake_onc.sandbox.observatory.records import Device
from intake_onc.sandbox.observatory.tables import OBSERVATORY, resolve_now

__all__ = [
    "ScalarRecords",
    "deployed_intervals_ns",
    "generate",
    "known_device",
    "resolve_sensors",
    "sensor_items",
]

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_DAY = 86_400 * NS_PER_S

_M2_S = 12.4206012 * 3600.0
_K1_S = 23.9344696 * 3600.0
_YEAR_S = 365.2422 * 86400.0
_WEATHER_S = 9.3 * 86400.0


# ----------------------------------------------------------------------------------------------
# The records container
# ----------------------------------------------------------------------------------------------


@dataclass
class ScalarRecords:
    """Scalar readings of one device: a shared time axis and, per sensor, values and QAQC flags.

    Parameters
    ----------
    times
        ``datetime64[ns]`` (anything ``numpy`` converts, e.g. ISO strings), sorted and unique.
    values
        ``{sensorCode: float64 array}``, each as long as ``times``; NaN = no value.
    flags
        ``{sensorCode: int8 array}`` with the same keys as ``values``.
    device_code
        The device the records belong to (lets :mod:`~intake_onc.sandbox.reference.rules` look up the
        data-rating sample period); ``None`` for hand-made records.
    """

    times: np.ndarray
    values: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]
    device_code: str | None = None

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype="datetime64[ns]").reshape(-1)
        n = self.times.size
        if set(self.values) != set(self.flags):
            raise ValueError(
                "ScalarRecords: values and flags must have the same sensor keys, got "
                f"{sorted(self.values)} and {sorted(self.flags)}"
            )
        values: dict[str, np.ndarray] = {}
        flags: dict[str, np.ndarray] = {}
        for code in self.values:
            v = np.asarray(self.values[code], dtype="float64").reshape(-1)
            f = np.asarray(self.flags[code]).reshape(-1).astype("int8")
            if v.size != n or f.size != n:
                raise ValueError(
                    f"ScalarRecords: sensor {code!r} has {v.size} values and {f.size} flags for "
                    f"{n} times; every array must be as long as `times`"
                )
            values[code], flags[code] = v, f
        self.values, self.flags = values, flags
        if n > 1 and not np.all(self.times[1:] > self.times[:-1]):
            raise ValueError(
                "ScalarRecords: `times` must be sorted and unique (strictly increasing)"
            )

    # -- basics --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def sensors(self) -> tuple[str, ...]:
        """The sensor codes, in column order."""
        return tuple(self.values)

    @classmethod
    def empty(cls, sensors: Sequence[str], device_code: str | None = None) -> ScalarRecords:
        """Records with no rows for these sensors."""
        return cls(
            np.array([], dtype="datetime64[ns]"),
            {s: np.array([], dtype="float64") for s in sensors},
            {s: np.array([], dtype="int8") for s in sensors},
            device_code,
        )

    @classmethod
    def concat(
        cls,
        parts: Sequence[ScalarRecords],
        sensors: Sequence[str] | None = None,
        device_code: str | None = None,
    ) -> ScalarRecords:
        """Join records in time order (the parts must not overlap)."""
        parts = list(parts)
        if sensors is None:
            if not parts:
                raise ValueError("ScalarRecords.concat: no parts and no `sensors` given")
            sensors = parts[0].sensors
        if device_code is None and parts:
            device_code = parts[0].device_code
        if not parts:
            return cls.empty(sensors, device_code)
        return cls(
            np.concatenate([p.times for p in parts]),
            {s: np.concatenate([p.values[s] for p in parts]) for s in sensors},
            {s: np.concatenate([p.flags[s] for p in parts]) for s in sensors},
            device_code,
        )

    def take(self, index: np.ndarray) -> ScalarRecords:
        """The rows selected by a boolean mask or an (increasing) integer index."""
        return ScalarRecords(
            self.times[index],
            {s: v[index] for s, v in self.values.items()},
            {s: f[index] for s, f in self.flags.items()},
            self.device_code,
        )

    def between(self, start: object = None, end: object = None) -> ScalarRecords:
        """The rows with ``start <= time < end`` (either bound may be None)."""
        lo = 0 if start is None else int(np.searchsorted(self.times, _dt64(start), "left"))
        hi = len(self) if end is None else int(np.searchsorted(self.times, _dt64(end), "left"))
        return self.take(slice(lo, max(lo, hi)))  # type: ignore[arg-type]

    def select_sensors(self, sensors: Sequence[str]) -> ScalarRecords:
        """The same rows with only these sensors (in this order)."""
        return ScalarRecords(
            self.times,
            {s: self.values[s] for s in sensors},
            {s: self.flags[s] for s in sensors},
            self.device_code,
        )

    def equals(self, other: ScalarRecords) -> bool:
        """Same times, sensors, values (NaN == NaN) and flags."""
        return (
            self.sensors == other.sensors
            and np.array_equal(self.times, other.times)
            and all(
                np.array_equal(self.values[s], other.values[s], equal_nan=True)
                for s in self.sensors
            )
            and all(np.array_equal(self.flags[s], other.flags[s]) for s in self.sensors)
        )

    def to_dataframe(self) -> pd.DataFrame:
        """A DataFrame indexed by time with columns ``X`` and ``X_qc`` per sensor."""
        cols: dict[str, np.ndarray] = {}
        for s in self.sensors:
            cols[s] = self.values[s]
            cols[f"{s}_qc"] = self.flags[s]
        return pd.DataFrame(cols, index=pd.DatetimeIndex(self.times, name="time"))


def _dt64(value: object) -> np.datetime64:
    return np.datetime64(parse_date(value).value, "ns")


# ----------------------------------------------------------------------------------------------
# Sensor models
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    decimals: int
    noise: float
    bad_offset: float  # added to flag-3 values
    spike: float  # added to flag-4 values
    lower: float | None = None  # physical floor (before bad values)


_SENSOR_MODELS: dict[str, _Model] = {
    "temperature": _Model(4, 0.003, 0.8, 25.0),
    "conductivity": _Model(5, 0.0003, -0.25, -3.0),
    "pressure": _Model(3, 0.005, 15.0, 500.0),
    "salinity": _Model(4, 0.002, -1.5, -30.0),
    "oxygen": _Model(3, 0.01, 0.8, 9.0, lower=0.0),
    "speed": _Model(3, 0.01, 0.5, 5.0, lower=0.0),
}


def _signals(t_s: np.ndarray, depth: np.ndarray, device_id: int) -> dict[str, np.ndarray]:
    """Noise-free signals (float64) of absolute time ``t_s`` (s since 1970) at ``depth`` (m)."""
    two_pi = 2.0 * np.pi
    phase = (device_id % 97) / 97.0 * two_pi  # fixed per device
    m2 = np.cos(two_pi * t_s / _M2_S + 0.7)
    k1 = np.cos(two_pi * t_s / _K1_S + 1.9)
    diurnal = np.cos(two_pi * (t_s / 86400.0 - 14.0 / 24.0))  # warmest mid-afternoon UTC
    weather = np.sin(two_pi * t_s / _WEATHER_S + phase)
    season = np.sin(two_pi * t_s / _YEAR_S - 1.2)
    shallow = np.exp(-depth / 300.0)
    temp0 = 3.5 + 5.0 * shallow
    temperature = (
        temp0
        + 0.06 * m2
        + 0.03 * k1
        + 0.02 * diurnal
        + 0.05 * weather
        + 0.12 * season * (0.3 + shallow)
    )
    salinity = 34.4 - 0.8 * shallow - 0.03 * (temperature - temp0) + 0.01 * m2
    pressure = depth * 1.0085 + 0.9 * m2 + 0.4 * k1
    conductivity = (
        3.22
        + 0.0894 * (temperature - 4.0)
        + 0.0877 * (salinity - 34.3)
        + 1.6e-5 * (pressure - 1000.0)
    )
    oxygen = 1.2 - 0.15 * (temperature - temp0) + 0.03 * m2 + 0.04 * weather
    speed = 0.08 + 0.06 * np.abs(m2) + 0.02 * np.abs(k1)
    return {
        "temperature": temperature,
        "conductivity": conductivity,
        "pressure": pressure,
        "salinity": salinity,
        "oxygen": oxygen,
        "speed": speed,
    }


# ----------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------


def known_device(device_code: str) -> Device:
    """The observatory's device ``device_code``; ``ValueError`` naming the known ones."""
    try:
        return OBSERVATORY.device(device_code)
    except KeyError:
        raise ValueError(
            f"device_code: unknown device {device_code!r}; expected a deviceCode ONC lists "
            f"({len(OBSERVATORY.devices):,} devices, for example SBECTD19p6813)"
        ) from None


def resolve_sensors(device: Device, sensors: Iterable[str] | str | None) -> tuple[str, ...]:
    """Sensor codes of ``device`` selected by ``sensors`` (sensorCode or sensorCategoryCode values).

    ``None`` selects every sensor, in the device's order.
    """
    if not device.sensors:
        raise ValueError(
            f"device {device.code!r} has no scalar sensors (a {device.category_code}); "
            "scalar data exist for CTD, OXYSENSOR and ADCP2MHZ devices"
        )
    if sensors is None:
        return tuple(s.code for s in device.sensors)
    wanted = [sensors] if isinstance(sensors, str) else list(sensors)
    chosen: list[str] = []
    for name in wanted:
        match = [s.code for s in device.sensors if name in (s.code, s.category_code)]
        if not match:
            known = ", ".join(f"{s.code} ({s.category_code})" for s in device.sensors)
            raise ValueError(
                f"sensors: {name!r} is not a sensorCode or sensorCategoryCode of "
                f"{device.code}; expected one of {known}"
            )
        chosen.extend(c for c in match if c not in chosen)
    # keep the device's column order
    return tuple(s.code for s in device.sensors if s.code in chosen)


def deployed_intervals_ns(device_code: str, now: object = None) -> list[tuple[int, int]]:
    """``[(begin_ns, end_ns)]`` of the device's deployments; ongoing ones end at ``now``."""
    return [
        (b.value, e.value)
        for b, e in OBSERVATORY.deployed_intervals(device_code, resolve_now(now))
        if e > b
    ]


def generate(
    device_code: str,
    start: object,
    end: object,
    *,
    seed: int = 0,
    sensors: Iterable[str] | str | None = None,
    now: object = None,
) -> ScalarRecords:
    """The synthetic readings of a scalar device with ``start <= time < end``.

    Parameters
    ----------
    device_code
        A scalar device of :data:`~intake_onc.sandbox.observatory.tables.OBSERVATORY` (CTD, oxygen
        optode or ADCP; restricted devices are generated too, refusing them is the server's job).
    start, end
        The window (anything :func:`intake_onc._core.time.parse_date` reads); ``end`` exclusive.
    seed
        Non-negative integer; the same seed gives the same data.
    sensors
        sensorCode or sensorCategoryCode values to keep (default: all, in the device's order).
        The data of a sensor do not depend on which others are asked for.
    now
        End of ongoing deployments (default: the current time).

    Returns
    -------
    ScalarRecords
        With ``device_code`` set; empty when the device was not deployed in the window.
    """
    device = known_device(device_code)
    chosen = resolve_sensors(device, sensors)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    lo = parse_date(start, argument="start").value
    hi = parse_date(end, argument="end").value
    parts: list[ScalarRecords] = []
    if hi > lo:
        intervals = deployed_intervals_ns(device_code, now)
        for day in range(lo // NS_PER_DAY, (hi - 1) // NS_PER_DAY + 1):
            d0, d1 = day * NS_PER_DAY, (day + 1) * NS_PER_DAY
            if not any(b < d1 and e > d0 for b, e in intervals):
                continue
            t, vals, flg = _cached_day(device.code, day, int(seed))
            keep = (t >= lo) & (t < hi)
            deployed = np.zeros(t.size, dtype=bool)
            for b, e in intervals:
                deployed |= (t >= b) & (t < e)
            keep &= deployed
            if keep.any():
                parts.append(
                    ScalarRecords(
                        t[keep].astype("datetime64[ns]"),
                        {s: vals[s][keep] for s in chosen},
                        {s: flg[s][keep] for s in chosen},
                        device_code,
                    )
                )
    return ScalarRecords.concat(parts, chosen, device_code)


def _day_grid(device: Device, day: int, offset_ns: int) -> np.ndarray:
    """Nominal sample times (int64 ns) of one UTC day: each rating's grid, anchored at midnight."""
    d0, d1 = day * NS_PER_DAY, (day + 1) * NS_PER_DAY
    ratings = sorted(device.ratings, key=lambda r: r.date_from)
    pieces = []
    for i, rating in enumerate(ratings):
        a = d0 if i == 0 else max(d0, rating.date_from.value)  # first rating also covers earlier
        b = d1 if rating.date_to is None else min(d1, rating.date_to.value)
        if i + 1 < len(ratings):
            b = min(b, ratings[i + 1].date_from.value)
        if b <= a:
            continue
        period_ns = int(round(rating.sample_period * NS_PER_S))
        base = d0 + offset_ns
        k0 = -(-(a - base) // period_ns)  # ceil
        k1 = -(-(b - base) // period_ns)
        pieces.append(base + np.arange(k0, k1, dtype="int64") * period_ns)
    return np.concatenate(pieces) if pieces else np.array([], dtype="int64")


def _day_offset_ms(day: int, seed: int, device_id: int) -> int:
    """The day's sub-second offset (10-984 ms): drifts by at most ~15 ms from one day to the next,
    so the step across midnight stays within a few tens of ms of the sample period."""
    phase = 2.0 * np.pi * ((seed * 0.6180339887 + device_id * 0.377) % 1.0)
    return int(round(497.0 + 487.0 * np.sin(2.0 * np.pi * day / 211.0 + phase)))


def _depth_at(device_code: str, t_ns: np.ndarray) -> np.ndarray:
    deps = OBSERVATORY.deployments_of(device_code)
    begins = np.array([d.begin.value for d in deps], dtype="int64")
    depths = np.array([d.depth for d in deps], dtype="float64")
    idx = np.clip(np.searchsorted(begins, t_ns, side="right") - 1, 0, len(deps) - 1)
    return depths[idx]


@functools.lru_cache(maxsize=16)
def _cached_day(
    device_code: str, day: int, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`_generate_day`, remembered for a few days (pages of one request share days)."""
    t, values, flags = _generate_day(OBSERVATORY.device(device_code), day, seed)
    for arr in (t, *values.values(), *flags.values()):
        arr.flags.writeable = False
    return t, values, flags


def _generate_day(
    device: Device, day: int, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One whole UTC day of every sensor of ``device`` (times int64 ns, before deployment cuts)."""
    dev_id = device.data_id

    def rng(*purpose: int) -> np.random.Generator:
        return np.random.default_rng([seed, dev_id, day, *purpose])

    # -- times -----------------------------------------------------------------------------
    r_time = rng(0)
    offset_ms = _day_offset_ms(day, seed, dev_id)
    grid = _day_grid(device, day, offset_ms * NS_PER_MS)
    t = grid + r_time.integers(-3, 4, size=grid.size) * NS_PER_MS
    d0, d1 = day * NS_PER_DAY, (day + 1) * NS_PER_DAY
    t = np.clip(t, d0, d1 - NS_PER_MS)
    if t.size > 1 and not np.all(t[1:] > t[:-1]):  # only possible at a mid-day rating change
        t = np.unique(t)

    # -- gaps (all sensors together) ---------------------------------------------------------
    r_gap = rng(1)
    n_gaps = int(r_gap.poisson(3.0))
    gap_start = r_gap.uniform(0.0, 86400.0, size=n_gaps)
    gap_len = np.exp(r_gap.uniform(np.log(3.0), np.log(7200.0), size=n_gaps))
    present = np.ones(t.size, dtype=bool)
    for g0, glen in zip(gap_start, gap_len, strict=True):
        lo = d0 + int(g0 * NS_PER_S)
        hi = lo + int(glen * NS_PER_S)
        present[np.searchsorted(t, lo) : np.searchsorted(t, hi)] = False
    n_all = t.size  # draws below are sized on the full day so gaps don't shift them

    # -- clean signals -----------------------------------------------------------------------
    t_s = t.astype("float64") / NS_PER_S
    depth = _depth_at(device.code, t)
    signals = _signals(t_s, depth, dev_id)

    # -- flag-3 runs shared between sensors -------------------------------------------------
    codes = [s.code for s in device.sensors]
    r_runs = rng(4)
    n_runs = int(r_runs.poisson(2.0))
    run_start = r_runs.integers(0, max(n_all, 1), size=n_runs)
    run_len = r_runs.integers(5, 121, size=n_runs)
    run_all = r_runs.random(n_runs) < 0.35
    run_sensor = r_runs.integers(0, len(codes), size=n_runs)

    values: dict[str, np.ndarray] = {}
    flags: dict[str, np.ndarray] = {}
    for idx, code in enumerate(codes):
        model = _SENSOR_MODELS[code]
        noise = rng(2, idx).normal(0.0, model.noise, size=n_all)
        x = signals[code] + noise
        if model.lower is not None:
            x = np.maximum(x, model.lower)
        r_flag = rng(3, idx)
        f = np.where(r_flag.random(n_all) < 0.015, 2, 1).astype("int8")
        for s0, length, every, which in zip(run_start, run_len, run_all, run_sensor, strict=True):
            if every or which == idx:
                f[s0 : s0 + length] = 3
        n_spikes = int(r_flag.poisson(1.5))
        f[r_flag.integers(0, max(n_all, 1), size=n_spikes)] = 4
        x = x + np.where(f == 3, model.bad_offset, 0.0) + np.where(f == 4, model.spike, 0.0)
        scale = 10.0**model.decimals
        x = np.rint(x * scale) / scale  # exactly the float a d-decimal string parses to
        n_drop = int(r_flag.poisson(0.5))
        for s0, length in zip(
            r_flag.integers(0, max(n_all, 1), size=n_drop),
            r_flag.integers(1, 6, size=n_drop),
            strict=True,
        ):
            x[s0 : s0 + length] = np.nan
            f[s0 : s0 + length] = 9
        values[code] = x[present]
        flags[code] = f[present]
    return t[present], values, flags


def sensor_items(device_code: str, sensors: Iterable[str] | str | None = None) -> list[dict]:
    """The ``sensorData`` metadata fields of a device's sensors (no ``data``/``actualSamples``)."""
    device = OBSERVATORY.device(device_code)
    chosen = resolve_sensors(device, sensors)
    return [
        {
            "sensorCode": s.code,
            "sensorName": s.name,
            "unitOfMeasure": s.unit,
            "propertyCode": s.property_code,
            "sensorCategoryCode": s.category_code,
        }
        for s in device.sensors
        if s.code in chosen
    ]
