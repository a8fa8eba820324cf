"""The nominal sampling grid behind :func:`intake_onc.datasets.open_scalar` (pure numpy, no HTTP).

A lazy Dataset needs its shape before any data is fetched, yet the number of samples in a window
is only known once it is downloaded. So the time axis is the device's **nominal grid**: for every
piece of deployed time, the multiples ``k·T`` of the data-rating sample period ``T`` counted from
1970-01-01T00:00Z. This module builds that grid and snaps real samples onto it:

* :func:`build_segments` cuts ``[start, end)`` into :class:`Segment` s (one device, one
  deployment, one sample period each);
* :func:`build_windows` cuts the segments into :class:`Window` s at multiples of ``chunk``
  (UTC midnight for divisors of a day): one window is one dask chunk and one download;
* :func:`snap` places a window's samples in its slots: the window's phase ``φ`` is the (circular)
  median of ``t mod T``, folded into ``[0, T)`` (so ``actual ≥ nominal`` up to jitter, and a
  sample stays in its resampling bin); a sample goes to slot ``round((t − φ)/T)``; when two
  samples meet in one slot the nearer one is kept (the others are dropped); ``time_offset``
  holds ``actual − nominal`` in seconds.

Each window fetches ``[first − T/2, stop + T/2)`` and keeps the samples that snap into its own
slots, so a sample near a window edge is placed by exactly one window as long as neighbouring
windows agree on the phase. They may not when the phase sits just below a slot boundary
(samples at ``k·T − jitter``); :func:`_phase` then keeps it negative (no fold) so whole-second
instruments stay consistent, and only a phase drifting through ``≈ −2·jitter`` can still lose or
repeat the one sample at the edge of the two windows where it changes.

Examples
--------
>>> seg = Segment("CTD1", "BACAX", 0, 10 * 10**9, 2 * 10**9)
>>> [(w.first // 10**9, w.count) for w in build_windows([seg], 4 * 10**9)]
[(0, 2), (4, 2), (8, 1)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from intake_onc._core.durations import DurationError, duration_ns

__all__ = [
    "MISSING",
    "NS_PER_S",
    "Records",
    "Segment",
    "Window",
    "build_segments",
    "build_windows",
    "parse_chunk",
    "rating_attrs",
    "snap",
]

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
#: QAQC flag of an empty slot (semantics.md: "Missing Data").
MISSING = 9


def parse_chunk(chunk: object) -> int:
    """A window length (``"1D"``, ``"12h"``, ``"PT6H"``, seconds, a Timedelta...) in nanoseconds.

    Examples
    --------
    >>> import pandas as pd
    >>> parse_chunk("1D") == 86_400 * NS_PER_S, parse_chunk(pd.Timedelta("6h")) // NS_PER_S
    (True, 21600)
    """
    ns = duration_ns(chunk, argument="chunk")
    if ns < NS_PER_S:
        raise DurationError(
            f"chunk={chunk!r} is under 1 s; expected a window length such as '1D' (default), "
            "'12h', '6h', '1h' or 'PT6H'"
        )
    return ns


@dataclass(frozen=True)
class Segment:
    """Deployed time of one device under one sample period: ``[start, end)`` in ns."""

    device_code: str
    location_code: str
    start: int
    end: int
    period: int


@dataclass(frozen=True)
class Window:
    """One chunk of the grid: ``count`` slots ``first + i·period`` (ns) of one device."""

    device_code: str
    location_code: str
    first: int
    count: int
    period: int

    @property
    def stop(self) -> int:
        """The slot after the last one (ns)."""
        return self.first + self.count * self.period

    @property
    def fetch_range(self) -> tuple[int, int]:
        """``[first − T/2, stop + T/2)`` in whole ms: every sample that can snap into a slot.

        A sample lands in slot ``s`` when ``|t − φ − s| ≤ T/2`` with ``φ ∈ [0, T)``.
        """
        half = self.period // 2
        lo = (self.first - half) // NS_PER_MS * NS_PER_MS
        hi = -(-(self.stop + half) // NS_PER_MS) * NS_PER_MS
        return lo, hi

    def times(self) -> np.ndarray:
        """The nominal slot times (``datetime64[ns]``)."""
        return (self.first + np.arange(self.count, dtype=np.int64) * self.period).view("M8[ns]")


def _rating_boundaries(ratings: Sequence[tuple[int, float]]) -> list[tuple[int, int]]:
    """``[(from_ns, period_ns)]`` sorted; the first rating also covers earlier times."""
    out = sorted((int(f), int(round(float(p) * NS_PER_S))) for f, p in ratings)
    if not out:
        raise ValueError("no data rating")
    if any(p <= 0 for _, p in out):
        raise ValueError("a data rating has a sample period <= 0")
    return out


def build_segments(
    deployments: Sequence[tuple[str, str, int, int | None]],
    ratings: Mapping[str, Sequence[tuple[int, float]]],
    start: int,
    end: int,
    now: int,
) -> list[Segment]:
    """Cut ``[start, end)`` into deployed, single-rate segments.

    Parameters
    ----------
    deployments
        ``(device_code, location_code, begin_ns, end_ns or None)``; ``None`` = ongoing (ends at
        ``now``). When two deployments overlap, the later one takes over at its begin.
    ratings
        ``{device_code: [(from_ns, sample_period_s)]}``: when each data rating starts; the first
        also covers earlier times, each lasts until the next.
    start, end, now
        Nanoseconds since the epoch.

    Examples
    --------
    >>> day = 86_400 * NS_PER_S
    >>> segs = build_segments([("D", "L", 0, None)], {"D": [(0, 2.0), (day, 1.0)]},
    ...                       day - 10 * NS_PER_S, day + 10 * NS_PER_S, 2 * day)
    >>> [(s.start - day) // NS_PER_S for s in segs], [s.period // NS_PER_S for s in segs]
    ([-10, 0], [2, 1])
    """
    ordered = sorted(deployments, key=lambda d: d[2])
    segments: list[Segment] = []
    for i, (device, location, begin, stop) in enumerate(ordered):
        stop = now if stop is None else min(stop, now)
        if i + 1 < len(ordered):
            stop = min(stop, ordered[i + 1][2])
        a, b = max(begin, start), min(stop, end)
        if b <= a:
            continue
        rating = _rating_boundaries(ratings.get(device, ()))
        for j, (r_from, period) in enumerate(rating):
            lo = a if j == 0 else max(a, r_from)
            hi = b if j + 1 == len(rating) else min(b, rating[j + 1][0])
            if hi > lo:
                segments.append(Segment(device, location, lo, hi, period))
    return segments


def build_windows(segments: Sequence[Segment], chunk: int) -> list[Window]:
    """Cut segments at multiples of ``chunk`` (ns from the epoch) into grid windows.

    Window ``[a, b)`` holds the slots ``k·T`` with ``a ≤ k·T < b``; windows without a slot are
    skipped. Slots are strictly increasing from one window to the next.
    """
    windows: list[Window] = []
    for seg in segments:
        a, T = seg.start, seg.period
        while a < seg.end:
            b = min(seg.end, (a // chunk + 1) * chunk)
            first = -(-a // T) * T
            count = (-(-b // T) * T - first) // T
            if count > 0:
                windows.append(Window(seg.device_code, seg.location_code, first, count, T))
            a = b
    return windows


def rating_attrs(windows: Sequence[Window]) -> dict[str, object]:
    """``sample_period`` and, when it changes, ``sample_period_starts``/``_values`` (architecture.md).

    Examples
    --------
    >>> ws = [Window("D", "L", 0, 5, 2 * NS_PER_S), Window("D", "L", 10 * NS_PER_S, 5, NS_PER_S)]
    >>> rating_attrs(ws)["sample_period_values"].tolist()
    [2.0, 1.0]
    """
    starts: list[float] = []
    values: list[float] = []
    for w in windows:
        period = w.period / NS_PER_S
        if not values or values[-1] != period:
            starts.append(w.first / NS_PER_S)
            values.append(period)
    if not values:
        return {}
    attrs: dict[str, object] = {"sample_period": values[0]}
    if len(values) > 1:
        attrs["sample_period_starts"] = np.array(starts, dtype=np.float64)
        attrs["sample_period_values"] = np.array(values, dtype=np.float64)
    return attrs


@dataclass
class Records:
    """Samples as downloaded: sorted ``int64`` ns times, per sensorCode values and flags."""

    times: np.ndarray
    values: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]

    @classmethod
    def empty(cls) -> Records:
        return cls(np.empty(0, dtype=np.int64), {}, {})


def _phase(t: np.ndarray, period: int) -> int:
    """The window's phase ``φ`` (integer ns): the circular median of ``t mod period``.

    Folded into ``[0, period)``, except when it lies *within the timing jitter* just below a
    slot and the samples straddle that slot's boundary (samples at ``k·T ± jitter``, e.g. an
    instrument synced to whole seconds): then it is kept slightly negative, so that every such sample goes to slot ``k`` in every window (folding
    would shift some windows by one slot and lose or repeat a sample where they meet).
    """
    half = period // 2
    r = np.mod(t, period)
    r0 = int(np.median(r))
    centred = int(round(r0 + float(np.median(np.mod(r - r0 + half, period) - half))))
    centred = (centred + half) % period - half  # in [-T/2, T/2)
    deviation = np.mod(r - centred + half, period) - half
    spread = float(np.percentile(np.abs(deviation), 90))
    guard = min(2 * spread + NS_PER_MS, period / 8)
    # Keep φ negative only when the samples really straddle a slot boundary (some just below
    # k·T, some at or above it); samples that all sit below it fold safely into [0, T).
    positions = centred + deviation
    straddles = bool(positions.min() < 0 <= positions.max())
    return centred if (-guard < centred < 0 and straddles) else centred % period


def snap(
    records: Records, window: Window, sensors: Sequence[tuple[str, str]]
) -> dict[str, np.ndarray]:
    """Place a window's samples in its grid slots.

    Rows without a value in any sensor are not samples (ONC's products drop them with
    ``dpo_dataGaps=0``, so the API and product paths agree). The phase ``φ`` is estimated from
    the samples inside ``[first, stop)`` (all samples when none is); a sample lands in slot
    ``round((t − φ)/T)``; slots outside the window are left to the neighbouring window; of two
    samples in one slot the one nearer the slot (``|t − φ − slot|``) is kept.

    Parameters
    ----------
    records
        The window's samples (a margin of ``T/2`` on each side is expected, see
        :attr:`Window.fetch_range`).
    window
        The slots to fill.
    sensors
        ``(sensorCode, variable name)`` of the output, in order; codes missing from ``records``
        give empty variables.

    Returns
    -------
    dict
        ``{var: float64, var_qc: int8, ..., "time_offset": float32 seconds}``, each
        ``window.count`` long; empty slots are NaN with flag 9 and NaN offset.

    Examples
    --------
    >>> t = np.array([1_010, 2_004, 2_300, 4_011]) * 10**6  # ms -> ns; T = 1 s
    >>> rec = Records(t, {"x": np.array([1.0, 2.0, 9.0, 4.0])}, {"x": np.int8([1, 1, 4, 1])})
    >>> out = snap(rec, Window("D", "L", 10**9, 4, 10**9), [("x", "x")])
    >>> out["x"].tolist(), out["x_qc"].tolist()
    ([1.0, 2.0, nan, 4.0], [1, 1, 9, 1])
    >>> (out["time_offset"] * 1000).round().tolist()  # ms
    [10.0, 4.0, nan, 11.0]
    """
    n, T = window.count, window.period
    out: dict[str, np.ndarray] = {}
    for _, var in sensors:
        out[var] = np.full(n, np.nan, dtype=np.float64)
        out[f"{var}_qc"] = np.full(n, MISSING, dtype=np.int8)
    offset = np.full(n, np.nan, dtype=np.float32)
    t = np.asarray(records.times, dtype=np.int64)
    if t.size and records.values:
        has_value = np.zeros(t.size, dtype=bool)
        for values in records.values.values():
            has_value |= ~np.isnan(values)
        rows = np.flatnonzero(has_value)
    else:
        rows = np.empty(0, dtype=np.intp)
    if rows.size:
        ts = t[rows]
        inside = (ts >= window.first) & (ts < window.stop)
        phi = _phase(ts[inside] if inside.any() else ts, T)
        slot = (ts - phi + T // 2) // T
        k = slot - window.first // T
        ok = np.flatnonzero((k >= 0) & (k < n))
        k = k[ok]
        if k.size > 1 and not np.all(k[1:] > k[:-1]):  # collisions: keep the nearest sample
            resid = np.abs(ts[ok] - phi - slot[ok] * T)
            order = np.lexsort((resid, k))
            first = np.ones(order.size, dtype=bool)
            first[1:] = k[order][1:] != k[order][:-1]
            ok, k = ok[order][first], k[order][first]
        src = rows[ok]
        offset[k] = ((t[src] - k * T - window.first) / NS_PER_S).astype(np.float32)
        for code, var in sensors:
            if code in records.values:
                out[var][k] = records.values[code][src]
                out[f"{var}_qc"][k] = records.flags[code][src]
    out["time_offset"] = offset
    return out
