"""The synthetic hydrophone signal: a pure function of ``(seed, device, absolute time)``.

Sample ``i`` of a window starting at ``start`` is the signal at ``start + i/fs``, so two files
covering the same instant hold the same samples (bit for bit: file starts have ms precision and
every rate is a multiple of 1 kHz, so all files sit on one absolute sample grid).

The signal (full-scale units, quantised to 24 bits):

* ambient noise, -50 dBFS rms, coloured (PSD ∝ ``1/(1 + f/1 kHz)``: -3 dB/octave above 1 kHz,
  no DC), drawn per device and per **1-second block of absolute time** in the
  frequency domain (random complex bins × gain, inverse FFT), so any window reproduces it
  exactly (blocks are independent: the noise is stationary, not continuous in phase, across
  whole seconds — invisible in spectra);
* whale-call-like upsweeps (2-3 s, a few hundred Hz to ~2 kHz, squeezed under 0.4 × Nyquist),
  about two an hour, the same times at every hydrophone (one whale, one array);
* passing ships: on about half of the 6-hour blocks, 20-40 minutes of broadband noise rising to
  -32 dBFS rms with a sin² envelope, plus a tonal line (50-350 Hz);
* a **known tone** for tests: every hour at HH:12:30.000 for 5 s (mid-file: files start near
  HH:10:00), ``min(1000, fs/4)`` Hz at
  -20 dBFS peak (10 ms raised-cosine ramps).

:func:`known_events` says where the signal holds something to find. This module also holds what
every synthetic choice of the audio side is drawn from: the seed check, the keyed hash
(:func:`hash_ints`, also behind the archive listing's jitter, gaps and sizes) and the hydrophone
look-up with readable errors (:func:`hydrophone`).
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import OrderedDict

import numpy as np
import pandas as pd
from scipy import fft as _fft

from intake_onc._core.time import parse_date
from intake_onc.sandbox.observatory.records import Device
from intake_onc.sandbox.observatory.tables import OBSERVATORY, data_key

__all__ = [
    "AMBIENT_DBFS",
    "FIN_DBFS",
    "RAIN_DBFS",
    "FULL_SCALE",
    "FULL_SCALE_DB_RE_UPA",
    "SHIP_DBFS",
    "SHIP_TONAL_DBFS",
    "TONE_DBFS",
    "TONE_HZ",
    "TONE_OFFSET_SECONDS",
    "TONE_SECONDS",
    "WHALE_DBFS",
    "check_seed",
    "file_samples",
    "fin_pulse_times",
    "hash_ints",
    "hydrophone",
    "known_events",
    "parse_ns",
    "synth_audio",
    "synth_file_int",
    "tone_frequency",
]

# ----------------------------------------------------------------------------------------------
# Constants
# ----------------------------------------------------------------------------------------------

#: Fixed "calibration": amplitude 1.0 (full scale) is taken as 170 dB re 1 µPa, so spectra come
#: out in the 40-140 dB re 1 µPa²/Hz range ONC shows (ambient about 80 dB at 1 kHz).
FULL_SCALE_DB_RE_UPA = 170.0
#: Ambient noise level (rms, dB re full scale).
AMBIENT_DBFS = -50.0
#: Ship broadband noise at the peak of a passage (rms, dBFS) and its tonal line (peak, dBFS).
SHIP_DBFS = -32.0
SHIP_TONAL_DBFS = -36.0
#: Whale-call peak amplitude (dBFS).
WHALE_DBFS = -26.0
#: Fin-whale 20 Hz pulse peak amplitude (dBFS), and rain noise at the peak of a shower (rms).
FIN_DBFS = -30.0
RAIN_DBFS = -44.0
#: Propeller harmonics of a ship's blade-rate tonal: (multiple, level relative to it in dB).
SHIP_HARMONICS = ((2, -4.0), (3, -8.0), (4, -12.0))
#: Known tone: every hour at HH:00:00 + TONE_OFFSET_SECONDS (HH:12:30, in the middle of the
#: file that starts near HH:10:00) for TONE_SECONDS s, TONE_DBFS peak.
TONE_OFFSET_SECONDS = 750
TONE_SECONDS = 5.0
TONE_DBFS = -20.0
TONE_HZ = 1000.0
#: 24-bit full scale: samples are integers in ``[-FULL_SCALE, FULL_SCALE)``.
FULL_SCALE = float(2**23)


# ----------------------------------------------------------------------------------------------
# Seeds, keyed hashes (vectorised, deterministic across platforms), dates
# ----------------------------------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _label_key(seed: int, label: str) -> int:
    return zlib.crc32(f"{seed}|{label}".encode()) | (zlib.crc32(f"{label}|{seed}".encode()) << 32)


def hash_ints(seed: int, label: str, ints: np.ndarray) -> np.ndarray:
    """A uint64 hash of each of ``ints`` (int64), keyed by ``seed`` and ``label``."""
    key = np.uint64(_label_key(seed, label))
    return _mix(_mix(np.asarray(ints, dtype=np.int64).view(np.uint64)) ^ key)


def check_seed(seed: int) -> int:
    """``seed`` as an ``int``; ``ValueError`` unless it is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


def parse_ns(value: object, argument: str) -> int:
    """A date as integer ns since 1970 (errors name ``argument``)."""
    return int(parse_date(value, argument=argument).value)


# ----------------------------------------------------------------------------------------------
# Devices
# ----------------------------------------------------------------------------------------------


def hydrophone(device_code: str) -> Device:
    """The hydrophone ``device_code``: ``KeyError`` (listing the hydrophones) if unknown,
    ``ValueError`` if it is another kind of device."""
    try:
        device = OBSERVATORY.device(device_code)
    except KeyError:
        count = sum(1 for d in OBSERVATORY.devices.values() if d.audio)
        raise KeyError(
            f"deviceCode: unknown device {device_code!r}; the observatory has {count} "
            "hydrophones (for example ICLISTENHF6324); list them with deviceCategoryCode=HYDROPHONE"
        ) from None
    if device.audio is None:
        raise ValueError(
            f"deviceCode: {device_code!r} is a {device.category_code}, not a hydrophone; "
            "audio exists only for HYDROPHONE devices"
        )
    return device


def file_samples(device_code: str) -> int:
    """Samples in one archive audio file of this device (``file_seconds × sample_rate``)."""
    spec = hydrophone(device_code).audio
    return int(round(spec.file_seconds * spec.sample_rate))


def tone_frequency(device_code: str) -> float:
    """Frequency (Hz) of the hourly known tone on this device: ``min(1000, fs/4)``."""
    return float(min(TONE_HZ, hydrophone(device_code).audio.sample_rate / 4))


# ----------------------------------------------------------------------------------------------
# Synthetic signal
# ----------------------------------------------------------------------------------------------

_NOISE_STREAM, _SHIP_STREAM, _RAIN_STREAM = 1, 2, 3
#: Corner frequency (Hz) of each noise stream's spectrum ``1/sqrt(1 + f/corner)`` (rain: nearly
#: flat, the broadband hiss above 1 kHz of the Wenz curves).
_CORNER_HZ = {_NOISE_STREAM: 1000.0, _SHIP_STREAM: 300.0, _RAIN_STREAM: 20000.0}
_GAIN_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _gain(fs: int, stream: int) -> np.ndarray:
    """Spectral amplitude gain of a noise stream, normalised to unit mean power (float32)."""
    key = (fs, stream)
    if key not in _GAIN_CACHE:
        f = np.fft.rfftfreq(fs, 1.0 / fs)
        g = 1.0 / np.sqrt(1.0 + f / _CORNER_HZ[stream])
        g[0] = 0.0  # no DC
        # irfft(norm="ortho") of bins with unit-variance real and imaginary parts: the time
        # samples have variance 4·sum(g²)/fs
        g /= np.sqrt(np.sum(g**2) * 4.0 / fs)
        _GAIN_CACHE[key] = g.astype(np.float32)
    return _GAIN_CACHE[key]


def _block_bins(seed: int, device_code: str, stream: int, block: int, fs: int) -> np.ndarray:
    """The spectrum (complex64 bins × the stream's gain) of one 1-second block of a noise
    stream: unit variance once inverse-transformed, the same for a block whichever window asks."""
    entropy = [seed, zlib.crc32(data_key(device_code).encode()), stream, int(block) + 2**40]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    bins = fs // 2 + 1
    # Unit-variance uniform real and imaginary parts (3× cheaper than normal ones); each time
    # sample sums thousands of bins, so it is Gaussian all the same.
    u = rng.random(2 * bins, dtype=np.float32)
    u -= np.float32(0.5)
    u *= np.float32(math.sqrt(12.0))
    z = u.view(np.complex64)
    z *= _gain(fs, stream)
    return z


def _mixed_noise(
    seed: int, device_code: str, fs: int, n0: int, n1: int, layers: list[tuple[int, float, object]]
) -> np.ndarray:
    """Every noise stream of samples ``[n0, n1)`` mixed in the frequency domain: one inverse FFT
    per 1-second block, whatever the number of streams (ambient, ships, rain).

    ``layers``: ``(stream, amplitude, weight)`` with ``weight(block) -> float`` (the event's
    envelope at the block's centre; 0 outside it) or None (always on). A ship's or shower's
    envelope thus steps once a second (it rises and falls over tens of minutes).
    """
    b0, b1 = n0 // fs, (n1 - 1) // fs
    out = np.empty((b1 - b0 + 1) * fs, dtype=np.float32)
    for i, block in enumerate(range(b0, b1 + 1)):
        z = None
        for stream, amplitude, weight in layers:
            w = amplitude if weight is None else amplitude * weight(block)
            if w == 0:
                continue
            part = _block_bins(seed, device_code, stream, block, fs)
            part *= np.float32(w)
            z = part if z is None else z + part
        out[i * fs : (i + 1) * fs] = _fft.irfft(z, n=fs, norm="ortho")
    return out[n0 - b0 * fs : n1 - b0 * fs]


def _block_envelope(fs: int, e0: int, e1: int):
    """``weight(block)``: the sin² envelope of an event ``[e0, e1)`` (samples) at the centre of a
    1-second block, 0 outside the event."""

    def weight(block: int) -> float:
        centre = (block + 0.5) * fs
        if centre < e0 or centre >= e1:
            return 0.0
        return float(np.sin(np.pi * (centre - e0) / (e1 - e0)) ** 2)

    return weight


_SIN_CACHE: dict[int, np.ndarray] = {}


def _sine(fs: int, freq_hz: float, rel: np.ndarray) -> np.ndarray:
    """``sin(2π f rel/fs)`` for integer sample offsets ``rel`` (exact table look-up when f is a
    whole number of Hz: every window computes the same values).

    ``rel`` is consecutive here (a stretch of samples): with a whole frequency the sequence
    repeats every ``fs / gcd(f, fs)`` samples, so one period is looked up and tiled (about 20 ms
    for 5 minutes at 64 kHz, against 370 ms for the look-up of every sample).
    """
    if float(freq_hz).is_integer():
        if fs not in _SIN_CACHE:
            _SIN_CACHE[fs] = np.sin(2 * np.pi * np.arange(fs) / fs).astype(np.float32)
        f = int(freq_hz)
        n = len(rel)
        if n > 1 and rel[-1] - rel[0] == n - 1:
            period = fs // math.gcd(f, fs)
            phase = (np.arange(period, dtype=np.int64) + int(rel[0])) * f % fs
            return _tile(_SIN_CACHE[fs][phase], n)
        return _SIN_CACHE[fs][(rel * f) % fs]
    return np.sin(2 * np.pi * ((rel * (freq_hz / fs)) % 1.0)).astype(np.float32)


def _tile(period: np.ndarray, n: int) -> np.ndarray:
    """``period`` repeated to ``n`` samples (doubling copies: a few ms for 5 minutes)."""
    out = np.empty(n, dtype=period.dtype)
    m = min(len(period), n)
    out[:m] = period[:m]
    while m < n:
        k = min(m, n - m)
        out[m : m + k] = out[:k]
        m += k
    return out


def _apply_envelope(comp: np.ndarray, fs: int, a: int, b: int, e0: int, e1: int) -> None:
    """Multiply ``comp`` (samples ``[a, b)``) in place by the sin² envelope of ``[e0, e1)``,
    evaluated per 10-ms tick of absolute time (so identical for any window)."""
    tick = fs // 100
    t0, t1 = a // tick, (b - 1) // tick
    centres = (np.arange(t0, t1 + 1, dtype=np.float64) + 0.5) * tick
    u = np.clip((centres - e0) / (e1 - e0), 0.0, 1.0)
    env = (np.sin(np.pi * u) ** 2).astype(np.float32)
    head = min(b, (t0 + 1) * tick) - a  # samples in the first (partial) tick
    comp[:head] *= env[0]
    full = (b - (a + head)) // tick
    if full:
        body = comp[head : head + full * tick].reshape(full, tick)
        body *= env[1 : 1 + full, None]
    rest = head + full * tick
    if rest < len(comp):
        comp[rest:] *= env[-1]


def _propeller(fs: int, tonal_hz: float, rel: np.ndarray) -> np.ndarray:
    """A ship's blade-rate tonal and its harmonics (:data:`SHIP_HARMONICS`), float32.

    With a whole-Hz tonal every harmonic repeats with the tonal's period, so one period of the
    sum is built and tiled once."""
    lines = [(1, 0.0), *((m, db) for m, db in SHIP_HARMONICS if m * tonal_hz < 0.45 * fs)]
    n = len(rel)
    if float(tonal_hz).is_integer() and n > 1 and rel[-1] - rel[0] == n - 1:
        f = int(tonal_hz)
        period = fs // math.gcd(f, fs)
        k = np.arange(period, dtype=np.int64) + int(rel[0])
        one = np.zeros(period, dtype=np.float32)
        for m, db in lines:
            one += _sine(fs, m * f, k) * np.float32(10 ** ((SHIP_TONAL_DBFS + db) / 20))
        return _tile(one, n)
    out = np.zeros(n, dtype=np.float32)
    for m, db in lines:
        out += _sine(fs, m * tonal_hz, rel) * np.float32(10 ** ((SHIP_TONAL_DBFS + db) / 20))
    return out


def _fin_pulses(fs: int, a: int, b: int, e0: int, interval_s: int) -> np.ndarray:
    """Fin-whale pulses of a bout starting at sample ``e0``, over samples ``[a, b)``: 1-s
    downsweeps 25 -> 17 Hz (sin² envelope) every ``interval_s`` seconds (float32)."""
    out = np.zeros(b - a, dtype=np.float32)
    period = interval_s * fs
    first = max(0, (a - e0) // period - 1)
    amp = 10 ** (FIN_DBFS / 20)
    k = first
    while e0 + k * period < b:
        p0 = e0 + k * period
        lo, hi = max(a, p0), min(b, p0 + fs)
        if lo < hi:
            t = np.arange(lo - p0, hi - p0, dtype=np.float64) / fs
            phase = 2 * np.pi * (25.0 * t - 4.0 * t**2)  # 25 Hz falling 8 Hz over the second
            out[lo - a : hi - a] = (amp * np.sin(np.pi * t) ** 2 * np.sin(phase)).astype(np.float32)
        k += 1
    return out


def fin_pulse_times(event: dict) -> list[pd.Timestamp]:
    """Start times of the pulses of a ``fin_whale`` bout from :func:`known_events`."""
    step = pd.Timedelta(seconds=int(event["interval_s"]))
    n = int((event["end"] - event["start"]) / step)
    return [
        event["start"] + i * step for i in range(n + 1) if event["start"] + i * step < event["end"]
    ]


def _scheduled(
    seed: int,
    label: str,
    block: int,
    every: int,
    durations: tuple[int, int],
    start_ns: int,
    end_ns: int,
):
    """``(start_ns, end_ns, hash)`` of the events of one kind overlapping ``[start_ns, end_ns)``.

    Time is cut into ``block``-second blocks; a keyed hash per block decides whether it holds an
    event (one block in ``every``), how long it lasts (``durations[0]`` plus up to
    ``durations[1]`` s) and where it starts inside the block. The remaining hash bits are the
    caller's (tonal frequency, call interval).
    """
    sec = 10**9
    ks = np.arange(start_ns // (block * sec) - 1, end_ns // (block * sec) + 1, dtype=np.int64)
    for k, hv in zip(ks.tolist(), hash_ints(seed, label, ks).tolist(), strict=True):
        if hv % every:
            continue
        dur_s = durations[0] + (hv >> 8) % (durations[1] + 1)
        off_s = (hv >> 20) % (block - dur_s)
        s = (k * block + off_s) * sec
        e = s + dur_s * sec
        if s < end_ns and e > start_ns:
            yield s, e, hv


def _events_raw(seed: int, device_code: str, start_ns: int, end_ns: int) -> list[dict]:
    """Events of the signal overlapping ``[start_ns, end_ns)`` (times in integer ns)."""
    spec = hydrophone(device_code).audio
    fs = spec.sample_rate
    nyq = fs / 2
    sec = 10**9
    events: list[dict] = []

    # Ships: on half of the 6-hour blocks, 20-40 min with a sin^2 envelope.
    for s, e, hv in _scheduled(seed, "ship", 6 * 3600, 2, (1200, 1200), start_ns, end_ns):
        events.append(
            dict(
                kind="ship",
                start_ns=s,
                end_ns=e,
                f_low=0.0,
                f_high=nyq,
                tonal_hz=50.0 + float((hv >> 40) % 301),
                level_dbfs=SHIP_DBFS,
                cpa_ns=(s + e) // 2,
            )
        )

    # Whale calls: per 10-minute cell, one call on a third of the cells, never within 30 s of
    # the known tone (HH:12:30-35: moved 90 s later).
    cell = 600
    ks = np.arange(start_ns // (cell * sec) - 1, end_ns // (cell * sec) + 1, dtype=np.int64)
    h = hash_ints(seed, "whale", ks)
    for k, hv in zip(ks.tolist(), h.tolist(), strict=True):
        if hv % 3:
            continue
        dur_ms = 2000 + (hv >> 8) % 1001
        off_ms = 5_000 + (hv >> 20) % (cell * 1000 - 10_000 - dur_ms)
        if k % 6 == 1 and 120_000 - dur_ms < off_ms < 185_000:
            off_ms += 90_000
        f0 = 150.0 + float((hv >> 36) % 251)
        f1 = f0 + 500.0 + float((hv >> 48) % 1001)
        limit = 0.4 * nyq
        if f1 > limit:  # squeeze the call into the band of a low-rate device
            f0, f1 = f0 * limit / f1, limit
        s = (k * cell * 1000 + off_ms) * 10**6
        e = s + dur_ms * 10**6
        if s < end_ns and e > start_ns:
            events.append(
                dict(kind="whale", start_ns=s, end_ns=e, f_low=f0, f_high=f1, level_dbfs=WHALE_DBFS)
            )

    # Fin whales: on half of the 3-hour blocks, a bout of 20-50 minutes of 1-s pulses sweeping
    # down from 25 to 17 Hz, one every 12-20 s (the same interval through a bout).
    for s, e, hv in _scheduled(seed, "fin", 3 * 3600, 2, (1200, 1800), start_ns, end_ns):
        events.append(
            dict(
                kind="fin_whale",
                start_ns=s,
                end_ns=e,
                f_low=17.0,
                f_high=25.0,
                level_dbfs=FIN_DBFS,
                interval_s=12 + (hv >> 40) % 9,
            )
        )

    # Rain: on a third of the 6-hour blocks, a shower of 30-90 minutes (broadband, rising and
    # falling).
    for s, e, _ in _scheduled(seed, "rain", 6 * 3600, 3, (1800, 3600), start_ns, end_ns):
        events.append(
            dict(kind="rain", start_ns=s, end_ns=e, f_low=500.0, f_high=nyq, level_dbfs=RAIN_DBFS)
        )

    # Known tone: every hour at HH:12:30 for 5 s.
    tone = tone_frequency(device_code)
    for hour in range(start_ns // (3600 * sec) - 1, end_ns // (3600 * sec) + 1):
        s = (hour * 3600 + TONE_OFFSET_SECONDS) * sec
        e = s + int(TONE_SECONDS * sec)
        if s < end_ns and e > start_ns:
            events.append(
                dict(
                    kind="tone", start_ns=s, end_ns=e, f_low=tone, f_high=tone, level_dbfs=TONE_DBFS
                )
            )

    order = {"ship": 0, "rain": 1, "fin_whale": 2, "whale": 3, "tone": 4}
    events.sort(key=lambda ev: (order[ev["kind"]], ev["start_ns"]))
    return events


def known_events(device_code: str, start: object, end: object, *, seed: int = 0) -> list[dict]:
    """The findable events of the synthetic signal overlapping ``[start, end)``, by start time.

    Each item: ``kind`` (``"tone"``, ``"whale"`` or ``"ship"``), ``start`` and ``end``
    (``pandas.Timestamp``), ``f_low`` and ``f_high`` (Hz; a ship spans 0 to Nyquist),
    ``level_dbfs`` and, for ships, ``tonal_hz``. Events exist whether or not the device was
    deployed or the file covering them is missing — check :func:`list_archive_files`.
    """
    seed = check_seed(seed)
    s, e = parse_ns(start, "start"), parse_ns(end, "end")
    out = []
    for ev in sorted(_events_raw(seed, device_code, s, e), key=lambda ev: ev["start_ns"]):
        item = {
            "kind": ev["kind"],
            "start": pd.Timestamp(ev["start_ns"], unit="ns"),
            "end": pd.Timestamp(ev["end_ns"], unit="ns"),
        }
        item.update(
            (k, v) for k, v in ev.items() if k not in ("kind", "start_ns", "end_ns", "cpa_ns")
        )
        if "cpa_ns" in ev:
            item["cpa"] = pd.Timestamp(ev["cpa_ns"], unit="ns")
        out.append(item)
    return out


def _synth_int(device_code: str, n0: int, count: int, seed: int) -> np.ndarray:
    """24-bit integer samples for absolute sample indices ``[n0, n0 + count)``."""
    fs = hydrophone(device_code).audio.sample_rate
    n1 = n0 + count
    sec = 10**9
    start_ns = n0 * sec // fs
    end_ns = -(-n1 * sec // fs)
    events = _events_raw(seed, device_code, start_ns, end_ns)
    layers: list[tuple[int, float, object]] = [(_NOISE_STREAM, 10 ** (AMBIENT_DBFS / 20), None)]
    for ev in events:  # broadband parts join the ambient noise in one inverse FFT per second
        e0, e1 = ev["start_ns"] * fs // sec, ev["end_ns"] * fs // sec
        if ev["kind"] == "ship":
            layers.append((_SHIP_STREAM, 10 ** (SHIP_DBFS / 20), _block_envelope(fs, e0, e1)))
        elif ev["kind"] == "rain":
            layers.append((_RAIN_STREAM, 10 ** (RAIN_DBFS / 20), _block_envelope(fs, e0, e1)))
    out = _mixed_noise(seed, device_code, fs, n0, n1, layers)
    for ev in events:
        e0 = ev["start_ns"] * fs // sec  # event start/end on the sample grid (exact)
        e1 = ev["end_ns"] * fs // sec
        a, b = max(n0, e0), min(n1, e1)
        if a >= b or ev["kind"] == "rain":
            continue
        rel = np.arange(a - e0, b - e0, dtype=np.int64)  # samples since onset
        if ev["kind"] == "ship":  # the propeller lines (the broadband part is mixed above)
            comp = _propeller(fs, ev["tonal_hz"], rel)
            _apply_envelope(comp, fs, a, b, e0, e1)
        elif ev["kind"] == "fin_whale":
            comp = _fin_pulses(fs, a, b, e0, ev["interval_s"])
        elif ev["kind"] == "whale":
            t = rel / fs
            d = (e1 - e0) / fs
            phase = 2 * np.pi * (ev["f_low"] * t + (ev["f_high"] - ev["f_low"]) * t**2 / (2 * d))
            env = np.sin(np.pi * t / d) ** 2
            comp = (10 ** (WHALE_DBFS / 20) * env * np.sin(phase)).astype(np.float32)
        else:  # tone, 10 ms raised-cosine ramps
            ramp = 0.010 * fs
            env = np.clip(np.minimum(rel, e1 - e0 - 1 - rel) / ramp, 0.0, 1.0)
            env = (0.5 - 0.5 * np.cos(np.pi * env)) * 10 ** (TONE_DBFS / 20)
            comp = env.astype(np.float32) * _sine(fs, ev["f_low"], rel)
        out[a - n0 : b - n0] += comp
    q = np.rint(out * np.float32(FULL_SCALE))
    np.clip(q, -FULL_SCALE, FULL_SCALE - 1, out=q)
    return q.astype(np.int32)


_SYNTH_LOCK = threading.Lock()
_SYNTH_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()


def synth_file_int(device_code: str, start_ns: int, seed: int) -> np.ndarray:
    """Integer samples of one archive file (a two-entry in-process cache: the .flac, .mat and
    .png of one file are usually requested together). Read-only."""
    key = (device_code, start_ns, seed)
    with _SYNTH_LOCK:
        if key in _SYNTH_CACHE:
            _SYNTH_CACHE.move_to_end(key)
            return _SYNTH_CACHE[key]
    fs = hydrophone(device_code).audio.sample_rate
    q = _synth_int(device_code, start_ns * fs // 10**9, file_samples(device_code), seed)
    q.setflags(write=False)
    with _SYNTH_LOCK:
        _SYNTH_CACHE[key] = q
        while len(_SYNTH_CACHE) > 2:
            _SYNTH_CACHE.popitem(last=False)
    return q


def synth_audio(device_code: str, start: object, n_samples: int, *, seed: int = 0) -> np.ndarray:
    """The synthetic hydrophone signal, float32 in full-scale units (quantised to 24 bits).

    Sample ``i`` is the signal at ``start + i / fs``. ``start`` is put on the device's absolute
    sample grid (``round(start × fs)``; archive file starts are always on it), so any two
    windows agree exactly on the instants they share, and the samples equal what a decoder
    reads from the archive FLAC/WAV files.
    """
    seed = check_seed(seed)
    fs = hydrophone(device_code).audio.sample_rate
    if int(n_samples) < 0:
        raise ValueError(f"n_samples: expected a non-negative integer, got {n_samples!r}")
    start_ns = parse_ns(start, "start")
    n0 = (start_ns * fs + 10**9 // 2) // 10**9
    q = _synth_int(device_code, n0, int(n_samples), seed)
    return q.astype(np.float32) / np.float32(FULL_SCALE)
