"""Deterministic synthetic hydrophone audio, the archive-file listing, and FLAC/WAV bytes.

The sandbox's hydrophones (``OBSERVATORY.device(code).audio``) record 300-second files on a
5-minute grid. Everything here is a pure function of ``(seed, device, time)``:

* :func:`list_archive_files` — the ``archivefile`` listing (vectorised, no file content): per
  5-minute slot inside a deployment the audio file ``<DEVICE>_<YYYYMMDDThhmmss.fffZ>.flac`` (or
  ``.wav`` while the device archived WAV), its ``-spect.mat`` (one-minute spectrogram, see
  :mod:`intake_onc.sandbox.hsd`) and its ``-spect.png``. A file starts at its slot plus a jitter
  in [-2, +2] s (ms precision) and holds exactly ``file_seconds × fs`` samples, so consecutive
  files leave gaps or overlap by up to 4 s. About one slot in 100 is missing.
* :func:`archive_file_bytes` / :func:`archive_file_path` — the bytes of a listed file, cached on
  disk (``tempfile.gettempdir()/intake-onc-sandbox-<seed>/<DEVICE>/<filename>``, written
  atomically). Their length always equals the listing's ``fileSize``.
* :func:`synth_audio` — the signal itself, a function of **absolute time**: sample ``i`` of a
  window starting at ``start`` is the signal at ``start + i/fs``, so two files covering the same
  instant hold the same samples (bit for bit: file starts have ms precision and every rate is a
  multiple of 1 kHz, so all files sit on one absolute sample grid).
* :func:`known_events` — where the signal holds something to find (tone, whale calls, ships).

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

File sizes without encoding (the listing must be cheap and exact):

* WAV: our own writer, 44-byte header + 3 bytes per sample (PCM 24-bit mono).
* FLAC: encoded by libsndfile (PCM_24), then a PADDING metadata block is inserted after
  STREAMINFO so the file reaches :func:`flac_target_size` — ``FLAC_BITS_PER_SAMPLE`` bits per
  sample plus 8 KiB plus a per-file variation of up to n/50 bytes (0.16 bits/sample). Measured
  real sizes (libsndfile 1.2, compression level 0.5): 16.7-16.9 bits/sample for ambient noise,
  at most 19.4-19.8 at the peak of a ship passage (the loudest content), so every file fits with
  more than 1 bit/sample (6 dB of level) to spare. A file that would not fit raises
  :class:`FlacTargetExceeded` (the tests encode the loudest files of each device to check).
* ``-spect.mat`` / ``-spect.png``: see :func:`intake_onc.sandbox.hsd.archive_spect_mat_size`
  and :func:`intake_onc.sandbox.hsd.archive_spect_png_size`.

Examples
--------
>>> df = list_archive_files("ICLISTENHF6019", "2023-01-01T00:00", "2023-01-01T00:10")
>>> list(df.filename)  # doctest: +SKIP
['ICLISTENHF6019_20230101T000000.712Z-spect.mat', ...]
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import tempfile
import threading
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy import fft as _fft
from scipy import signal as _signal

from intake_onc._dates import parse_date
from intake_onc.sandbox.observatory import OBSERVATORY, Device

__all__ = [
    "AMBIENT_DBFS",
    "ArchiveFileNotFound",
    "FLAC_BITS_PER_SAMPLE",
    "FULL_SCALE_DB_RE_UPA",
    "FlacTargetExceeded",
    "LISTING_COLUMNS",
    "TONE_OFFSET_SECONDS",
    "TONE_SECONDS",
    "archive_file_bytes",
    "archive_file_info",
    "archive_file_path",
    "build_audio_product_files",
    "cache_dir",
    "encode_flac",
    "encode_wav",
    "file_samples",
    "flac_target_size",
    "iter_audio_product_files",
    "known_events",
    "list_archive_files",
    "parse_archive_filename",
    "synth_audio",
    "tone_frequency",
    "wav_size",
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
#: Known tone: every hour at HH:00:00 + TONE_OFFSET_SECONDS (HH:12:30, in the middle of the
#: file that starts near HH:10:00) for TONE_SECONDS s, TONE_DBFS peak.
TONE_OFFSET_SECONDS = 750
TONE_SECONDS = 5.0
TONE_DBFS = -20.0
TONE_HZ = 1000.0

#: FLAC files are padded to this many bits per sample (plus 8 KiB and a small variation).
FLAC_BITS_PER_SAMPLE = 21
_FLAC_FIXED_BYTES = 8192
_FLAC_COMPRESSION_LEVEL = 0.5

_SLOT_MS = 300_000  # the 5-minute grid
_JITTER_MS = 2000  # jitter in [-2000, +2000] ms
_MISSING_ONE_IN = 100
_ARCHIVE_DELAY_MS = 120_000  # archivedDate = dateTo + 2 min
_WAV_HEADER = 44
_FULL_SCALE = float(2**23)

_NAME_RE = re.compile(
    r"^(?P<device>[A-Za-z0-9]+)_(?P<stamp>\d{8}T\d{6}\.\d{3}Z)"
    r"(?P<suffix>\.flac|\.wav|-spect\.mat|-spect\.png)$"
)

#: Columns of :func:`list_archive_files` (ONC's ``returnOptions=all`` keys first).
LISTING_COLUMNS = (
    "filename",
    "dateFrom",
    "dateTo",
    "fileSize",
    "uncompressedFileSize",
    "deviceCode",
    "kind",
    "archivedDate",
    "start_time",
    "end_time",
)


class ArchiveFileNotFound(KeyError):
    """No archive file of that name exists (a ``KeyError`` with a readable message)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "archive file not found"


class FlacTargetExceeded(RuntimeError):
    """An encoded FLAC file is larger than the fixed size the listing promised."""


# ----------------------------------------------------------------------------------------------
# Hashing (vectorised, deterministic across platforms)
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


def _hash(seed: int, label: str, ints: np.ndarray) -> np.ndarray:
    """A uint64 hash of each of ``ints`` (int64), keyed by ``seed`` and ``label``."""
    key = np.uint64(_label_key(seed, label))
    return _mix(_mix(np.asarray(ints, dtype=np.int64).view(np.uint64)) ^ key)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


# ----------------------------------------------------------------------------------------------
# Devices
# ----------------------------------------------------------------------------------------------


def _hydrophone(device_code: str) -> Device:
    try:
        device = OBSERVATORY.device(device_code)
    except KeyError:
        raise KeyError(
            f"deviceCode: unknown device {device_code!r}; hydrophones are "
            + ", ".join(sorted(c for c, d in OBSERVATORY.devices.items() if d.audio))
        ) from None
    if device.audio is None:
        raise ValueError(
            f"deviceCode: {device_code!r} is a {device.category_code}, not a hydrophone; "
            "audio exists only for HYDROPHONE devices"
        )
    return device


def file_samples(device_code: str) -> int:
    """Samples in one archive audio file of this device (``file_seconds × sample_rate``)."""
    spec = _hydrophone(device_code).audio
    return int(round(spec.file_seconds * spec.sample_rate))


def tone_frequency(device_code: str) -> float:
    """Frequency (Hz) of the hourly known tone on this device: ``min(1000, fs/4)``."""
    return float(min(TONE_HZ, _hydrophone(device_code).audio.sample_rate / 4))


def _now(now: object) -> pd.Timestamp:
    if now is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None).as_unit("ns")
    return parse_date(now, argument="now")


# ----------------------------------------------------------------------------------------------
# Synthetic signal
# ----------------------------------------------------------------------------------------------

_NOISE_STREAM, _SHIP_STREAM = 1, 2
#: Corner frequency (Hz) of each noise stream's spectrum ``1/sqrt(1 + f/corner)``.
_CORNER_HZ = {_NOISE_STREAM: 1000.0, _SHIP_STREAM: 300.0}
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


def _noise_block(seed: int, device_code: str, stream: int, block: int, fs: int) -> np.ndarray:
    """Unit-variance coloured Gaussian noise for one 1-second block of absolute time.

    Drawn in the frequency domain (random complex bins × the stream's gain, inverse real FFT), the
    same computation for a block whichever window asks for it: windows agree bit for bit.
    """
    entropy = [seed, zlib.crc32(device_code.encode()), stream, int(block) + 2**40]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    bins = fs // 2 + 1
    # Unit-variance uniform real and imaginary parts (3× cheaper than normal ones); each time
    # sample sums thousands of bins, so it is Gaussian all the same.
    u = rng.random(2 * bins, dtype=np.float32)
    u -= np.float32(0.5)
    u *= np.float32(math.sqrt(12.0))
    z = u.view(np.complex64)
    z *= _gain(fs, stream)
    return _fft.irfft(z, n=fs, norm="ortho").astype(np.float32, copy=False)


def _coloured_noise(
    seed: int, device_code: str, stream: int, fs: int, n0: int, n1: int
) -> np.ndarray:
    """Coloured noise for absolute samples ``[n0, n1)``; identical for any window."""
    b0, b1 = n0 // fs, (n1 - 1) // fs
    blocks = [_noise_block(seed, device_code, stream, b, fs) for b in range(b0, b1 + 1)]
    return np.concatenate(blocks)[n0 - b0 * fs : n1 - b0 * fs]


_SIN_CACHE: dict[int, np.ndarray] = {}


def _sine(fs: int, freq_hz: float, rel: np.ndarray) -> np.ndarray:
    """``sin(2π f rel/fs)`` for integer sample offsets ``rel`` (exact table look-up when f is a
    whole number of Hz: every window computes the same values)."""
    if float(freq_hz).is_integer():
        if fs not in _SIN_CACHE:
            _SIN_CACHE[fs] = np.sin(2 * np.pi * np.arange(fs) / fs).astype(np.float32)
        return _SIN_CACHE[fs][(rel * int(freq_hz)) % fs]
    return np.sin(2 * np.pi * ((rel * (freq_hz / fs)) % 1.0)).astype(np.float32)


def _envelope(fs: int, a: int, b: int, e0: int, e1: int) -> np.ndarray:
    """sin² envelope of an event ``[e0, e1)`` over samples ``[a, b)`` (float32), evaluated per
    10-ms tick of absolute time (cheap for 40-minute ships, identical for any window)."""
    tick = fs // 100
    t0, t1 = a // tick, (b - 1) // tick
    centres = (np.arange(t0, t1 + 1, dtype=np.float64) + 0.5) * tick
    u = np.clip((centres - e0) / (e1 - e0), 0.0, 1.0)
    env = (np.sin(np.pi * u) ** 2).astype(np.float32)
    return np.repeat(env, tick)[a - t0 * tick : b - t0 * tick]


def _ns(value: object, argument: str) -> int:
    return int(parse_date(value, argument=argument).value)


def _events_raw(seed: int, device_code: str, start_ns: int, end_ns: int) -> list[dict]:
    """Events of the signal overlapping ``[start_ns, end_ns)`` (times in integer ns)."""
    spec = _hydrophone(device_code).audio
    fs = spec.sample_rate
    nyq = fs / 2
    sec = 10**9
    events: list[dict] = []

    # Ships: on some 6-hour blocks, 20-40 min with a sin^2 envelope.
    block = 6 * 3600
    ks = np.arange(start_ns // (block * sec) - 1, end_ns // (block * sec) + 1, dtype=np.int64)
    h = _hash(seed, "ship", ks)
    for k, hv in zip(ks.tolist(), h.tolist(), strict=True):
        if hv % 2:
            continue
        dur_s = 1200 + (hv >> 8) % 1201
        off_s = (hv >> 20) % (block - dur_s)
        tonal = 50.0 + float((hv >> 40) % 301)
        s = (k * block + off_s) * sec
        e = s + dur_s * sec
        if s < end_ns and e > start_ns:
            events.append(
                dict(
                    kind="ship",
                    start_ns=s,
                    end_ns=e,
                    f_low=0.0,
                    f_high=nyq,
                    tonal_hz=tonal,
                    level_dbfs=SHIP_DBFS,
                )
            )

    # Whale calls: per 10-minute cell, one call on a third of the cells, never within 30 s of
    # the known tone (HH:12:30-35: moved 90 s later).
    cell = 600
    ks = np.arange(start_ns // (cell * sec) - 1, end_ns // (cell * sec) + 1, dtype=np.int64)
    h = _hash(seed, "whale", ks)
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

    order = {"ship": 0, "whale": 1, "tone": 2}
    events.sort(key=lambda ev: (order[ev["kind"]], ev["start_ns"]))
    return events


def known_events(device_code: str, start: object, end: object, *, seed: int = 0) -> list[dict]:
    """The findable events of the synthetic signal overlapping ``[start, end)``, by start time.

    Each item: ``kind`` (``"tone"``, ``"whale"`` or ``"ship"``), ``start`` and ``end``
    (``pandas.Timestamp``), ``f_low`` and ``f_high`` (Hz; a ship spans 0 to Nyquist),
    ``level_dbfs`` and, for ships, ``tonal_hz``. Events exist whether or not the device was
    deployed or the file covering them is missing — check :func:`list_archive_files`.
    """
    seed = _check_seed(seed)
    s, e = _ns(start, "start"), _ns(end, "end")
    out = []
    for ev in sorted(_events_raw(seed, device_code, s, e), key=lambda ev: ev["start_ns"]):
        item = {
            "kind": ev["kind"],
            "start": pd.Timestamp(ev["start_ns"], unit="ns"),
            "end": pd.Timestamp(ev["end_ns"], unit="ns"),
        }
        item.update((k, v) for k, v in ev.items() if k not in ("kind", "start_ns", "end_ns"))
        out.append(item)
    return out


def _synth_int(device_code: str, n0: int, count: int, seed: int) -> np.ndarray:
    """24-bit integer samples for absolute sample indices ``[n0, n0 + count)``."""
    fs = _hydrophone(device_code).audio.sample_rate
    n1 = n0 + count
    out = _coloured_noise(seed, device_code, _NOISE_STREAM, fs, n0, n1)
    out *= np.float32(10 ** (AMBIENT_DBFS / 20))
    sec = 10**9
    start_ns = n0 * sec // fs
    end_ns = -(-n1 * sec // fs)
    for ev in _events_raw(seed, device_code, start_ns, end_ns):
        e0 = ev["start_ns"] * fs // sec  # event start/end on the sample grid (exact)
        e1 = ev["end_ns"] * fs // sec
        a, b = max(n0, e0), min(n1, e1)
        if a >= b:
            continue
        rel = np.arange(a - e0, b - e0, dtype=np.int64)  # samples since onset
        if ev["kind"] == "ship":
            env = _envelope(fs, a, b, e0, e1)
            comp = _coloured_noise(seed, device_code, _SHIP_STREAM, fs, a, b)
            comp *= np.float32(10 ** (SHIP_DBFS / 20))
            comp += _sine(fs, ev["tonal_hz"], rel) * np.float32(10 ** (SHIP_TONAL_DBFS / 20))
            comp *= env
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
    q = np.rint(out * np.float32(_FULL_SCALE))
    np.clip(q, -_FULL_SCALE, _FULL_SCALE - 1, out=q)
    return q.astype(np.int32)


_SYNTH_LOCK = threading.Lock()
_SYNTH_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()


def _synth_file_int(device_code: str, start_ns: int, seed: int) -> np.ndarray:
    """Integer samples of one archive file (a two-entry in-process cache: the .flac, .mat and
    .png of one file are usually requested together). Read-only."""
    key = (device_code, start_ns, seed)
    with _SYNTH_LOCK:
        if key in _SYNTH_CACHE:
            _SYNTH_CACHE.move_to_end(key)
            return _SYNTH_CACHE[key]
    fs = _hydrophone(device_code).audio.sample_rate
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
    seed = _check_seed(seed)
    fs = _hydrophone(device_code).audio.sample_rate
    if int(n_samples) < 0:
        raise ValueError(f"n_samples: expected a non-negative integer, got {n_samples!r}")
    start_ns = _ns(start, "start")
    n0 = (start_ns * fs + 10**9 // 2) // 10**9
    q = _synth_int(device_code, n0, int(n_samples), seed)
    return q.astype(np.float32) / np.float32(_FULL_SCALE)


# ----------------------------------------------------------------------------------------------
# Encoders
# ----------------------------------------------------------------------------------------------


def wav_size(n_samples: int) -> int:
    """Bytes of a 24-bit mono WAV file of ``n_samples`` (what :func:`encode_wav` writes)."""
    return _WAV_HEADER + 3 * int(n_samples)


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """PCM 24-bit mono WAV (canonical 44-byte header) from int32 samples in [-2^23, 2^23)."""
    q = np.ascontiguousarray(samples, dtype="<i4")
    data = q.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 3, 3, 24)
    header += b"data" + struct.pack("<I", len(data))
    return header + data


def flac_target_size(n_samples: int, variation: int = 0) -> int:
    """The fixed size of a padded archive FLAC file of ``n_samples`` (see the module doc)."""
    n = int(n_samples)
    return _FLAC_FIXED_BYTES + -(-n * FLAC_BITS_PER_SAMPLE // 8) + int(variation) % max(1, n // 50)


def _flac_blocks(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """The metadata blocks ``[(type, payload)]`` of a FLAC stream and where audio frames begin."""
    if data[:4] != b"fLaC":
        raise ValueError("not a FLAC stream")
    pos, blocks = 4, []
    while True:
        head = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        blocks.append((head & 0x7F, data[pos + 4 : pos + 4 + length]))
        pos += 4 + length
        if head & 0x80:
            return blocks, pos


def _pad_flac(data: bytes, target: int) -> bytes:
    """Insert PADDING blocks after STREAMINFO so that the stream is exactly ``target`` bytes."""
    blocks, frames_at = _flac_blocks(data)
    blocks = [b for b in blocks if b[0] != 1]  # drop existing padding
    size = 4 + sum(4 + len(p) for _, p in blocks) + (len(data) - frames_at)
    deficit = target - size
    if deficit < 4:
        raise FlacTargetExceeded(
            f"encoded FLAC is {size} bytes, more than its fixed listing size {target} - 4; "
            "raise FLAC_BITS_PER_SAMPLE in intake_onc/sandbox/audio.py"
        )
    max_payload = 2**24 - 1
    paddings = []
    while deficit > 0:
        payload = min(deficit - 4, max_payload)
        if deficit - 4 - payload and deficit - 4 - payload < 4:  # keep a remainder >= 4
            payload -= 4
        paddings.append((1, bytes(payload)))
        deficit -= 4 + payload
    ordered = [blocks[0], *paddings, *blocks[1:]]
    out = bytearray(b"fLaC")
    for i, (kind, payload) in enumerate(ordered):
        last = 0x80 if i == len(ordered) - 1 else 0
        out += bytes([last | kind]) + len(payload).to_bytes(3, "big") + payload
    out += data[frames_at:]
    assert len(out) == target
    return bytes(out)


def encode_flac(samples: np.ndarray, sample_rate: int, target_size: int | None = None) -> bytes:
    """FLAC (24-bit mono) from int32 samples in [-2^23, 2^23), padded to ``target_size`` if given.

    Raises
    ------
    FlacTargetExceeded
        When the compressed stream does not fit in ``target_size``.
    """
    buf = io.BytesIO()
    q = np.asarray(samples, dtype=np.int32)
    # libsndfile maps int32 to 24-bit by dropping the low byte: shift to keep values exact.
    sf.write(
        buf,
        np.left_shift(q, 8),
        sample_rate,
        format="FLAC",
        subtype="PCM_24",
        compression_level=_FLAC_COMPRESSION_LEVEL,
    )
    data = buf.getvalue()
    return data if target_size is None else _pad_flac(data, target_size)


# ----------------------------------------------------------------------------------------------
# Listing
# ----------------------------------------------------------------------------------------------


def _iso_z(ms: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDThh:mm:ss.fffZ`` (U24) for int64 ms since 1970, by digit arithmetic
    (10× faster than ``numpy.datetime_as_string``; years 1970-9999)."""
    ms = np.asarray(ms, dtype=np.int64)
    days, rem = np.divmod(ms, 86_400_000)
    # civil_from_days (H. Hinnant), valid for days >= 0
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    hour, rem = np.divmod(rem, 3_600_000)
    minute, rem = np.divmod(rem, 60_000)
    second, milli = np.divmod(rem, 1000)
    chars = np.empty((len(ms), 24), dtype=np.uint32)
    zero = ord("0")
    for col, (value, width) in zip(
        (0, 5, 8, 11, 14, 17, 20),
        ((year, 4), (month, 2), (day, 2), (hour, 2), (minute, 2), (second, 2), (milli, 3)),
        strict=True,
    ):
        for i in range(width):
            chars[:, col + i] = zero + (value // 10 ** (width - 1 - i)) % 10
    for col, sep in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")):
        chars[:, col] = ord(sep)
    return chars.view("U24").ravel()


_STAMP_IDX = [0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 14, 15, 17, 18, 19, 20, 21, 22, 23]


def _stamps(iso: np.ndarray) -> np.ndarray:
    """``YYYYMMDDThhmmss.fffZ`` (U20) from ``YYYY-MM-DDThh:mm:ss.fffZ`` (U24)."""
    chars = iso.view(np.uint32).reshape(len(iso), 24)
    return np.ascontiguousarray(chars[:, _STAMP_IDX]).view("U20").ravel()


def _slot_table(device_code: str, lo_ms: int, hi_ms: int, seed: int, now: pd.Timestamp) -> dict:
    """Present files with start in ``[lo_ms, hi_ms)``: start ms, slot index, hash (arrays)."""
    spec = _hydrophone(device_code).audio
    dur_ms = int(round(spec.file_seconds * 1000))
    starts, slots = [], []
    for begin, end in OBSERVATORY.deployed_intervals(device_code, now=now):
        b_ms, e_ms = begin.value // 10**6, end.value // 10**6
        a, z = max(lo_ms, b_ms), min(hi_ms, e_ms)
        if a >= z:
            continue
        k = np.arange(
            (a - _JITTER_MS) // _SLOT_MS, (z + _JITTER_MS) // _SLOT_MS + 1, dtype=np.int64
        )
        h = _hash(seed, device_code + "|slot", k)
        start = k * _SLOT_MS + (h % np.uint64(2 * _JITTER_MS + 1)).astype(np.int64) - _JITTER_MS
        missing = ((h >> np.uint64(32)) % np.uint64(_MISSING_ONE_IN)) == 0
        keep = (
            ~missing
            & (start >= b_ms)
            & (start + dur_ms <= e_ms)
            & (start >= lo_ms)
            & (start < hi_ms)
        )
        starts.append(start[keep])
        slots.append(k[keep])
    start = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    slot = np.concatenate(slots) if slots else np.zeros(0, np.int64)
    return {
        "start": start,
        "slot": slot,
        "dur_ms": dur_ms,
        "hash": _hash(seed, device_code + "|size", slot),
    }


def _audio_extensions(device: Device, start_ms: np.ndarray) -> np.ndarray:
    formats = device.audio.formats
    since = np.array([f[0].value // 10**6 for f in formats], dtype=np.int64)
    exts = np.array(["." + f[1] for f in formats])
    idx = np.searchsorted(since, start_ms, side="right") - 1
    return exts[np.clip(idx, 0, len(exts) - 1)]


def _empty_listing() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series([], dtype=object) for c in LISTING_COLUMNS})
    for c in ("fileSize", "uncompressedFileSize"):
        df[c] = df[c].astype(np.int64)
    for c in ("start_time", "end_time"):
        df[c] = df[c].astype("datetime64[ns]")
    return df


def list_archive_files(
    device_code: str,
    date_from: object = None,
    date_to: object = None,
    *,
    seed: int = 0,
    now: object = None,
) -> pd.DataFrame:
    """The archive files of a hydrophone whose **start** is in ``[date_from, date_to)``.

    Parameters
    ----------
    device_code
        A device of :data:`OBSERVATORY` (``KeyError`` if unknown). Non-hydrophones have no
        archive files here: an empty table.
    date_from, date_to
        Anything :func:`intake_onc._dates.parse_date` reads; ``None``: unbounded.
    seed
        The sandbox seed.
    now
        "Now" (ongoing deployments end here; a file is listed once it is complete). Default:
        the real current time.

    Returns
    -------
    pandas.DataFrame
        Sorted by start then filename; one row per file with columns :data:`LISTING_COLUMNS`:
        ``filename``, ``dateFrom``/``dateTo`` (wire strings ``yyyy-MM-ddTHH:mm:ss.SSSZ``: first
        sample and start + 300 s), ``fileSize`` and ``uncompressedFileSize`` (int64, equal: the
        exact length of :func:`archive_file_bytes`), ``deviceCode``, ``kind`` (``"audio"``,
        ``"spect_mat"`` or ``"spect_png"``), ``archivedDate`` (wire string, dateTo + 2 min),
        ``start_time``/``end_time`` (datetime64[ns], for filtering). String columns are
        ``object`` dtype (fast to build). A year of ``ICLISTENHF6324`` (~315,000 rows) takes
        a fraction of a second.
    """
    seed = _check_seed(seed)
    try:
        device = OBSERVATORY.device(device_code)
    except KeyError:
        _hydrophone(device_code)  # raises the readable KeyError
        raise
    if device.audio is None:
        return _empty_listing()
    now_ts = _now(now)
    # start_ms >= date_from_ns / 1e6 and start_ms < date_to_ns / 1e6, for integer start_ms:
    lo = -(2**62) if date_from is None else -(-_ns(date_from, "dateFrom") // 10**6)
    hi = 2**62 if date_to is None else -(-_ns(date_to, "dateTo") // 10**6)
    table = _slot_table(device_code, lo, hi, seed, now_ts)
    start = table["start"]
    n = len(start)
    if n == 0:
        return _empty_listing()
    end = start + table["dur_ms"]
    iso_from = _iso_z(start)
    base = np.strings.add(device_code + "_", _stamps(iso_from))
    audio_ext = _audio_extensions(device, start)
    samples = file_samples(device_code)

    from intake_onc.sandbox import hsd  # lazy: hsd imports this module

    h = table["hash"]
    audio_size = np.where(
        audio_ext == ".wav",
        wav_size(samples),
        flac_target_size(samples) + (h % np.uint64(max(1, samples // 50))).astype(np.int64),
    ).astype(np.int64)
    mat_size = np.full(n, hsd.archive_spect_mat_size(device_code), dtype=np.int64)
    png_size = hsd.archive_spect_png_size(device_code, h >> np.uint64(20)).astype(np.int64)

    # Per slot, in filename order: "-spect.mat" < "-spect.png" < ".flac"/".wav" ('-' < '.').
    names = np.stack(
        [
            np.strings.add(base, "-spect.mat"),
            np.strings.add(base, "-spect.png"),
            np.strings.add(base, audio_ext),
        ],
        axis=1,
    ).ravel()
    sizes = np.stack([mat_size, png_size, audio_size], axis=1).ravel()

    def per_file(strings: np.ndarray) -> pd.Series:  # per-slot strings, 3 rows each
        return pd.Series(np.repeat(strings.astype(object), 3), dtype=object, copy=False)

    df = pd.DataFrame(
        {
            "filename": pd.Series(names.astype(object), dtype=object, copy=False),
            "dateFrom": per_file(iso_from),
            "dateTo": per_file(_iso_z(end)),
            "fileSize": sizes,
            "uncompressedFileSize": sizes.copy(),
            "deviceCode": pd.Series([device_code] * (3 * n), dtype=object),
            "kind": pd.Series(["spect_mat", "spect_png", "audio"] * n, dtype=object),
            "archivedDate": per_file(_iso_z(end + _ARCHIVE_DELAY_MS)),
            "start_time": np.repeat(start * 10**6, 3).astype("datetime64[ns]"),
            "end_time": np.repeat(end * 10**6, 3).astype("datetime64[ns]"),
        },
        copy=False,
    )
    return df


# ----------------------------------------------------------------------------------------------
# Single files
# ----------------------------------------------------------------------------------------------


def parse_archive_filename(filename: str) -> tuple[str, pd.Timestamp, str]:
    """``(deviceCode, start, suffix)`` of an archive file name (``suffix`` like ``".flac"`` or
    ``"-spect.mat"``). Raises :class:`ArchiveFileNotFound` for names not of that form."""
    match = _NAME_RE.match(os.path.basename(str(filename)))
    if match is None or os.path.basename(str(filename)) != str(filename):
        raise ArchiveFileNotFound(
            f"filename: {filename!r} is not a sandbox archive file name; expected "
            "<DEVICECODE>_<YYYYMMDDThhmmss.fffZ>.flac|.wav|-spect.mat|-spect.png, "
            "e.g. ICLISTENHF6019_20230101T001001.123Z.flac (see archivefile/device for names)"
        )
    stamp = match.group("stamp")
    try:
        start = pd.Timestamp(
            f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:-1]}"
        ).as_unit("ns")
    except ValueError:
        raise ArchiveFileNotFound(
            f"filename: {filename!r} has an impossible time stamp {stamp!r}"
        ) from None
    return match.group("device"), start, match.group("suffix")


def archive_file_info(filename: str, *, seed: int = 0, now: object = None) -> dict:
    """The listing row (a dict with :data:`LISTING_COLUMNS`) of one archive file.

    Raises
    ------
    ArchiveFileNotFound
        (a ``KeyError``) for a malformed name, an unknown or non-hydrophone device, a time with
        no file (not deployed, a missing slot, a stamp off the device's jitter, in the future),
        or the wrong extension for the time (WAV vs FLAC).
    """
    seed = _check_seed(seed)
    device_code, start, suffix = parse_archive_filename(filename)
    device = OBSERVATORY.devices.get(device_code)
    if device is None or device.audio is None:
        raise ArchiveFileNotFound(
            f"filename: {filename!r} names device {device_code!r}, which is not a sandbox "
            "hydrophone ("
            + ", ".join(sorted(c for c, d in OBSERVATORY.devices.items() if d.audio))
            + ")"
        )
    ms = start.value // 10**6
    df = list_archive_files(device_code, start, start + pd.Timedelta(1, "ms"), seed=seed, now=now)
    rows = df[df["filename"] == filename]
    if len(rows) == 1:
        return rows.iloc[0].to_dict()
    if len(df):
        listed = df.loc[df["kind"] == "audio", "filename"].iloc[0]
        raise ArchiveFileNotFound(
            f"filename: {filename!r} does not exist; the file starting at that time is "
            f"{listed!r} (with -spect.mat and -spect.png companions)"
        )
    slot = round(ms / _SLOT_MS)
    near = list_archive_files(
        device_code,
        pd.Timestamp((slot * _SLOT_MS - _JITTER_MS) * 10**6),
        pd.Timestamp((slot * _SLOT_MS + _JITTER_MS + 1) * 10**6),
        seed=seed,
        now=now,
    )
    if len(near):
        listed = near.loc[near["kind"] == "audio", "filename"].iloc[0]
        reason = f"the file of that 5-minute slot is {listed!r}"
    else:
        intervals = OBSERVATORY.deployed_intervals(device_code, now=_now(now))
        deployed = any(b <= start < e for b, e in intervals)
        reason = (
            "that 5-minute slot has no file (a gap in the archive)"
            if deployed
            else f"{device_code} was not deployed (or recording) then; deployments: "
            + "; ".join(f"{b:%Y-%m-%d} - {e:%Y-%m-%dT%H:%M}" for b, e in intervals)
        )
    raise ArchiveFileNotFound(f"filename: {filename!r} does not exist: {reason}")


def cache_dir(seed: int = 0) -> Path:
    """Where generated archive files are cached: ``<tmp>/intake-onc-sandbox-<seed>``."""
    return Path(tempfile.gettempdir()) / f"intake-onc-sandbox-{_check_seed(seed)}"


def _generate(filename: str, info: dict, seed: int) -> bytes:
    device_code, start, suffix = parse_archive_filename(filename)
    start_ns = int(start.value)
    if suffix in (".flac", ".wav"):
        spec = _hydrophone(device_code).audio
        q = _synth_file_int(device_code, start_ns, seed)
        if suffix == ".wav":
            return encode_wav(q, spec.sample_rate)
        return encode_flac(q, spec.sample_rate, target_size=int(info["fileSize"]))
    from intake_onc.sandbox import hsd

    if suffix == "-spect.mat":
        return hsd.archive_spect_mat_bytes(device_code, start, seed=seed)
    return hsd.archive_spect_png_bytes(device_code, start, int(info["fileSize"]), seed=seed)


def archive_file_path(filename: str, *, seed: int = 0, now: object = None) -> Path:
    """The cached file on disk holding :func:`archive_file_bytes` (generated if needed).

    Handy for a server that streams from disk. Raises :class:`ArchiveFileNotFound` like
    :func:`archive_file_info`.
    """
    info = archive_file_info(filename, seed=seed, now=now)
    path = cache_dir(seed) / info["deviceCode"] / filename
    size = int(info["fileSize"])
    try:
        if path.stat().st_size == size:
            return path
    except FileNotFoundError:
        pass
    data = _generate(filename, info, _check_seed(seed))
    if len(data) != size:  # a bug, never expected
        raise RuntimeError(f"{filename}: generated {len(data)} bytes, listing says {size}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=filename + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def archive_file_bytes(filename: str, *, seed: int = 0, now: object = None) -> bytes:
    """The bytes of an archive file; ``len()`` equals its listing ``fileSize``.

    Generated on first use and cached (see :func:`cache_dir`); deterministic.

    Raises
    ------
    ArchiveFileNotFound
        A ``KeyError`` whose message says why (malformed name, unknown device, not deployed,
        missing slot, wrong stamp or extension).
    """
    return archive_file_path(filename, seed=seed, now=now).read_bytes()


# ----------------------------------------------------------------------------------------------
# Data product AD (audio)
# ----------------------------------------------------------------------------------------------


def _option(options: dict | None, name: str, default: str) -> str:
    value = (options or {}).get(name, default)
    return default if value is None else str(value).strip()


def _overlapping_audio(
    device_code: str, start: object, end: object, seed: int, now: object
) -> pd.DataFrame:
    """Audio rows of the archive files overlapping ``[start, end)`` (by first and last sample)."""
    s, e = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    dur = pd.Timedelta(_hydrophone(device_code).audio.file_seconds, "s")
    df = list_archive_files(device_code, s - dur, e, seed=seed, now=now)
    df = df[(df["kind"] == "audio") & (df["end_time"] > s)]
    return df.reset_index(drop=True)


def iter_audio_product_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
):
    """Generator form of :func:`build_audio_product_files`: yields ``(name, bytes)`` one at a time."""
    seed = _check_seed(seed)
    spec = _hydrophone(device_code).audio
    extension = str(extension).lower().lstrip(".")
    if extension not in ("flac", "wav"):
        raise ValueError(f"extension: AD files here are 'flac' or 'wav', got {extension!r}")
    rate_opt = _option(options, "dpo_audioDownsample", "-1")
    conv_opt = _option(options, "dpo_audioFormatConversion", "0")
    try:
        rate = int(float(rate_opt))
    except ValueError:
        raise ValueError(
            f"dpo_audioDownsample: expected -1 or a rate in Hz, got {rate_opt!r}"
        ) from None
    if conv_opt not in ("0", "1"):
        raise ValueError(f"dpo_audioFormatConversion: expected 0 or 1, got {conv_opt!r}")
    resample = 0 < rate < spec.sample_rate
    for row in _overlapping_audio(device_code, start, end, seed, now).itertuples():
        name = row.filename
        archived = name.rsplit(".", 1)[1]
        if archived != extension and conv_opt == "0":
            continue  # ONC serves only files archived in that format without conversion
        if not resample and archived == extension:
            yield name, archive_file_bytes(name, seed=seed, now=now)
            continue
        _, start_ts, _ = parse_archive_filename(name)
        q = _synth_file_int(device_code, int(start_ts.value), seed)
        out_rate = spec.sample_rate
        stem = name.rsplit(".", 1)[0]
        if resample:
            g = math.gcd(rate, spec.sample_rate)
            y = _signal.resample_poly(q.astype(np.float64), rate // g, spec.sample_rate // g)
            q = np.clip(np.rint(y), -_FULL_SCALE, _FULL_SCALE - 1).astype(np.int32)
            out_rate = rate
            stem += f"-{rate}Hz"
        data = encode_wav(q, out_rate) if extension == "wav" else encode_flac(q, out_rate)
        yield f"{stem}.{extension}", data


def build_audio_product_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> list[tuple[str, bytes]]:
    """Files of data product ``AD`` for the archive audio files overlapping ``[start, end)``.

    Options (strings, as on the wire; missing: ONC's default):

    * ``dpo_audioDownsample``: ``-1`` (default) keeps the rate; a lower rate resamples each
      file on its own (``scipy.signal.resample_poly``) and adds ``-<rate>Hz`` to the name; a
      rate at or above the device's is ignored.
    * ``dpo_audioFormatConversion``: ``0`` (default) returns only files archived in
      ``extension`` (FLAC for most of the time, WAV for ICLISTENHF6020 before 2020-08-10:
      possibly none); ``1`` converts the others.
    * hydrophone diversion/acquisition/channel options are accepted and ignored (one channel).

    Names are the archive names (``<DEVICE>_<YYYYMMDDThhmmss.fffZ>[-<rate>Hz].<ext>``).
    Converted/resampled FLAC files are not padded. Files are whole (not clipped to the range).
    """
    return list(
        iter_audio_product_files(device_code, start, end, extension, options, seed=seed, now=now)
    )
