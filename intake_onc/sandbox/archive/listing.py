"""The hydrophone archive listing: which files exist, their names, times and exact sizes.

Per 5-minute slot inside a deployment a hydrophone (``OBSERVATORY.device(code).audio``) has the
audio file ``<DEVICE>_<YYYYMMDDThhmmss.fffZ>.flac`` (or ``.wav`` while the device archived WAV),
its ``-spect.mat`` (one-minute spectrogram, see :mod:`intake_onc.sandbox.synthetic.spectra`) and its
``-spect.png``. A file starts at its slot plus a jitter in [-2, +2] s (ms precision) and holds
exactly ``file_seconds × fs`` samples, so consecutive files leave gaps or overlap by up to 4 s.
About one slot in 100 is missing. All of it is drawn from :func:`~.audio_synth.hash_ints`
(vectorised, no file content), and the sizes are the exact lengths of the bytes
:mod:`intake_onc.sandbox.archive.files` generates: :func:`~.audio_encoding.wav_size`,
:func:`~.audio_encoding.flac_target_size`, :func:`~.hsd_encoding.archive_spect_mat_size` and
:func:`~.hsd_encoding.archive_spect_png_size`.

Examples
--------
>>> df = list_archive_files("ICLISTENHF6093", "2023-01-01T00:00", "2023-01-01T00:10")
>>> list(df.filename)  # doctest: +SKIP
['ICLISTENHF6093_20230101T000000.712Z-spect.mat', ...]
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intake_onc._core.time import parse_date
from intake_onc.sandbox.encoders.audio import flac_target_size, wav_size
from intake_onc.sandbox.encoders.spectrogram import archive_spect_mat_size, archive_spect_png_size
from intake_onc.sandbox.observatory.records import Device
from intake_onc.sandbox.observatory.tables import OBSERVATORY, data_key, resolve_now
from intake_onc.sandbox.synthetic.audio import (
    check_seed,
    file_samples,
    hash_ints,
    hydrophone,
    parse_ns,
)

__all__ = [
    "EXTENSIONS",
    "LISTING_COLUMNS",
    "ArchiveFileNotFound",
    "CompactListing",
    "compact_listing",
    "archive_file_info",
    "list_archive_files",
    "overlapping_audio",
    "parse_archive_filename",
]

_SLOT_MS = 300_000  # the 5-minute grid
_JITTER_MS = 2000  # jitter in [-2000, +2000] ms
_MISSING_ONE_IN = 100
_ARCHIVE_DELAY_MS = 120_000  # archivedDate = dateTo + 2 min

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


# ----------------------------------------------------------------------------------------------
# Listing
# ----------------------------------------------------------------------------------------------


def _iso_z(ms: np.ndarray, kind: str = "U") -> np.ndarray:
    """``YYYY-MM-DDThh:mm:ss.fffZ`` (``U24``, or ``S24`` for ``kind="S"``) for int64 ms since
    1970, by digit arithmetic (10× faster than ``numpy.datetime_as_string``; years 1970-9999)."""
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
    chars = np.empty((len(ms), 24), dtype=np.uint32 if kind == "U" else np.uint8)
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
    return chars.view(f"{kind}24").ravel()


_STAMP_IDX = [0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 14, 15, 17, 18, 19, 20, 21, 22, 23]


def _stamps(iso: np.ndarray) -> np.ndarray:
    """``YYYYMMDDThhmmss.fffZ`` (U20 / S20) from ``YYYY-MM-DDThh:mm:ss.fffZ`` (U24 / S24)."""
    kind = iso.dtype.kind
    chars = iso.view(np.uint32 if kind == "U" else np.uint8).reshape(len(iso), 24)
    return np.ascontiguousarray(chars[:, _STAMP_IDX]).view(f"{kind}20").ravel()


def _slot_table(device_code: str, lo_ms: int, hi_ms: int, seed: int, now: pd.Timestamp) -> dict:
    """Present files with start in ``[lo_ms, hi_ms)``: start ms, slot index, hash (arrays)."""
    spec = hydrophone(device_code).audio
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
        h = hash_ints(seed, data_key(device_code) + "|slot", k)
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
        "hash": hash_ints(seed, data_key(device_code) + "|size", slot),
    }


#: The files' extensions (a listing row's ``ext`` code indexes these), their name suffixes and
#: kinds. Per slot the rows are in filename order: "-spect.mat" < "-spect.png" < ".flac"/".wav".
EXTENSIONS = ("mat", "png", "flac", "wav")
_SUFFIXES = ("-spect.mat", "-spect.png", ".flac", ".wav")
_KINDS = ("spect_mat", "spect_png", "audio", "audio")


def _audio_extensions(device: Device, start_ms: np.ndarray) -> np.ndarray:
    """The audio file's extension code (index of :data:`EXTENSIONS`) per start."""
    formats = device.audio.formats
    since = np.array([f[0].value // 10**6 for f in formats], dtype=np.int64)
    codes = np.array([EXTENSIONS.index(f[1]) for f in formats], dtype=np.uint8)
    idx = np.searchsorted(since, start_ms, side="right") - 1
    return codes[np.clip(idx, 0, len(codes) - 1)]


@dataclass(frozen=True, eq=False)
class CompactListing:
    """A device's archive listing as numbers (~17 bytes a file): what :func:`list_archive_files`
    returns, without its strings.

    Rows are sorted by start then filename. ``start_ns`` (int64 ns since 1970, whole ms) is the
    first sample, ``ext`` (uint8) the index of the file's extension in :data:`EXTENSIONS`,
    ``size`` (int64) its exact length; every file lasts ``dur_ms`` and is archived
    ``dateTo + 2 min``. :meth:`text` makes the wire strings of chosen rows (a page),
    :meth:`frame` the whole table.
    """

    device_code: str
    start_ns: np.ndarray
    ext: np.ndarray
    size: np.ndarray
    dur_ms: int

    def __len__(self) -> int:
        return len(self.start_ns)

    @property
    def nbytes(self) -> int:
        return int(self.start_ns.nbytes + self.ext.nbytes + self.size.nbytes)

    def end_ns(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        return self.start_ns[rows] + self.dur_ms * 10**6

    def archived_ns(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        return self.start_ns[rows] + (self.dur_ms + _ARCHIVE_DELAY_MS) * 10**6

    def _per_start(self, rows: np.ndarray | slice, kind: str) -> tuple[np.ndarray, dict]:
        """``(group, strings)``: each row's index among the distinct starts of the rows (sorted
        by start), and per distinct start the file name without its suffix and the dates (an
        audio file and its two spectrogram files share theirs: made once)."""
        start_ms = self.start_ns[rows] // 10**6
        n = len(start_ms)
        new = np.ones(n, dtype=bool)
        if n > 1:
            np.not_equal(start_ms[1:], start_ms[:-1], out=new[1:])
        group = np.cumsum(new) - 1
        first = start_ms[new]
        iso_from = _iso_z(first, kind)
        prefix = self.device_code + "_"
        return group, {
            "base": np.strings.add(
                prefix.encode("ascii") if kind == "S" else prefix, _stamps(iso_from)
            ),
            "dateFrom": iso_from,
            "dateTo": _iso_z(first + self.dur_ms, kind),
            "archivedDate": _iso_z(first + self.dur_ms + _ARCHIVE_DELAY_MS, kind),
        }

    def text(self, rows: np.ndarray | slice = slice(None), kind: str = "S") -> dict:
        """The string columns ``filename``, ``dateFrom``, ``dateTo``, ``archivedDate`` of the
        rows (sorted by start), as ``S`` (bytes, NUL-padded) or ``U`` arrays."""
        group, strings = self._per_start(rows, kind)
        suffixes = np.array(_SUFFIXES, dtype=kind)
        out = {"filename": np.strings.add(strings.pop("base")[group], suffixes[self.ext[rows]])}
        out.update({name: values[group] for name, values in strings.items()})
        return out

    def frame(self) -> pd.DataFrame:
        """The table of :func:`list_archive_files` (strings as ``object``, one per start)."""
        n = len(self)
        if n == 0:
            return _empty_listing()
        group, strings = self._per_start(slice(None), "U")
        suffixes = np.array(_SUFFIXES, dtype="U")
        names = np.strings.add(strings["base"][group], suffixes[self.ext])

        def per_start(values: np.ndarray) -> pd.Series:
            return pd.Series(values.astype(object)[group], dtype=object, copy=False)

        kinds = np.array(_KINDS, dtype=object)
        return pd.DataFrame(
            {
                "filename": pd.Series(names.astype(object), dtype=object, copy=False),
                "dateFrom": per_start(strings["dateFrom"]),
                "dateTo": per_start(strings["dateTo"]),
                "fileSize": self.size,
                "uncompressedFileSize": self.size.copy(),
                "deviceCode": pd.Series([self.device_code] * n, dtype=object),
                "kind": pd.Series(kinds[self.ext], dtype=object, copy=False),
                "archivedDate": per_start(strings["archivedDate"]),
                "start_time": self.start_ns.astype("datetime64[ns]"),
                "end_time": self.end_ns().astype("datetime64[ns]"),
            },
            copy=False,
        )


def _empty_compact(device_code: str, dur_ms: int = 0) -> CompactListing:
    return CompactListing(
        device_code, np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int64), dur_ms
    )


def _empty_listing() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series([], dtype=object) for c in LISTING_COLUMNS})
    for c in ("fileSize", "uncompressedFileSize"):
        df[c] = df[c].astype(np.int64)
    for c in ("start_time", "end_time"):
        df[c] = df[c].astype("datetime64[ns]")
    return df


def compact_listing(
    device_code: str,
    date_from: object = None,
    date_to: object = None,
    *,
    seed: int = 0,
    now: object = None,
) -> CompactListing:
    """:func:`list_archive_files` as numbers (:class:`CompactListing`), same arguments: a
    100-year listing (~411,000 files) is ~7 MB instead of ~210 MB of strings."""
    seed = check_seed(seed)
    try:
        device = OBSERVATORY.device(device_code)
    except KeyError:
        hydrophone(device_code)  # raises the readable KeyError
        raise
    if device.audio is None:
        return _empty_compact(device_code)
    now_ts = resolve_now(now)
    # start_ms >= date_from_ns / 1e6 and start_ms < date_to_ns / 1e6, for integer start_ms:
    lo = -(2**62) if date_from is None else -(-parse_ns(date_from, "dateFrom") // 10**6)
    hi = 2**62 if date_to is None else -(-parse_ns(date_to, "dateTo") // 10**6)
    table = _slot_table(device_code, lo, hi, seed, now_ts)
    start = table["start"]
    n = len(start)
    if n == 0:
        return _empty_compact(device_code, table["dur_ms"])
    audio_ext = _audio_extensions(device, start)
    samples = file_samples(device_code)

    h = table["hash"]
    audio_size = np.where(
        audio_ext == EXTENSIONS.index("wav"),
        wav_size(samples),
        flac_target_size(samples) + (h % np.uint64(max(1, samples // 50))).astype(np.int64),
    ).astype(np.int64)
    mat_size = np.full(n, archive_spect_mat_size(device_code), dtype=np.int64)
    png_size = archive_spect_png_size(device_code, h >> np.uint64(20)).astype(np.int64)

    # Per slot, in filename order: "-spect.mat" < "-spect.png" < ".flac"/".wav" ('-' < '.').
    ext = np.empty((n, 3), dtype=np.uint8)
    ext[:, 0], ext[:, 1], ext[:, 2] = 0, 1, audio_ext
    return CompactListing(
        device_code=device_code,
        start_ns=np.repeat(start * 10**6, 3),
        ext=ext.ravel(),
        size=np.stack([mat_size, png_size, audio_size], axis=1).ravel(),
        dur_ms=table["dur_ms"],
    )


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
        Anything :func:`intake_onc._core.time.parse_date` reads; ``None``: unbounded.
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
        a fraction of a second. :func:`compact_listing` is the same without strings.
    """
    return compact_listing(device_code, date_from, date_to, seed=seed, now=now).frame()


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
            "e.g. ICLISTENHF6093_20230101T001001.123Z.flac (see archivefile/device for names)"
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
    seed = check_seed(seed)
    device_code, start, suffix = parse_archive_filename(filename)
    device = OBSERVATORY.devices.get(device_code)
    if device is None or device.audio is None:
        raise ArchiveFileNotFound(
            f"filename: {filename!r} names device {device_code!r}, which is not a sandbox "
            "hydrophone (list them with deviceCategoryCode=HYDROPHONE)"
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
        intervals = OBSERVATORY.deployed_intervals(device_code, now=resolve_now(now))
        deployed = any(b <= start < e for b, e in intervals)
        reason = (
            "that 5-minute slot has no file (a gap in the archive)"
            if deployed
            else f"{device_code} was not deployed (or recording) then; deployments: "
            + "; ".join(f"{b:%Y-%m-%d} - {e:%Y-%m-%dT%H:%M}" for b, e in intervals)
        )
    raise ArchiveFileNotFound(f"filename: {filename!r} does not exist: {reason}")


def overlapping_audio(
    device_code: str, start: object, end: object, seed: int, now: object
) -> pd.DataFrame:
    """Audio rows of the archive files overlapping ``[start, end)`` (by first and last sample)."""
    s, e = parse_date(start, argument="dateFrom"), parse_date(end, argument="dateTo")
    dur = pd.Timedelta(hydrophone(device_code).audio.file_seconds, "s")
    df = list_archive_files(device_code, s - dur, e, seed=seed, now=now)
    df = df[(df["kind"] == "audio") & (df["end_time"] > s)]
    return df.reset_index(drop=True)
