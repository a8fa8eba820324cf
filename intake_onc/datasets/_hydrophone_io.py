"""What the dask tasks of :mod:`intake_onc.datasets.hydrophone` run, and the header probe.

* :func:`parse_audio_header` reads sample rate, channels, bit depth and frame count from the
  first bytes of a FLAC or WAV file (no decoding, no libsndfile: a truncated file is fine).
* :func:`probe_audio_header` gets those bytes for an archive file: from the cache when the file
  is there, else with ``client.read_head`` (a streamed ``archivefile/download`` GET that reads
  only the first 64 KiB and then closes the connection; nothing is written to disk).
* :class:`RemoteAudioLoader` is the loader of :func:`intake_onc.acoustics.windows.audio_from_table` for
  archive files: download through the client's cache (lock-safe across threads and processes),
  check the sample rate, then decode only the frames asked for (seek, then read).
* :func:`read_mat_columns` reads one HSD MAT file in a task and returns the columns asked for,
  checking the frequency axis against the first file's; :func:`column_plan` and
  :func:`spectrogram_array` lay out the columns of many files and build the lazy array.

Everything here pickles (the client does; its token never shows in a ``repr`` or a dask key:
the ``__dask_tokenize__`` methods name the server only).

Examples
--------
>>> import io, numpy as np, soundfile as sf
>>> buf = io.BytesIO(); sf.write(buf, np.zeros(8000), 8000, format="FLAC", subtype="PCM_24")
>>> parse_audio_header(buf.getvalue()[:4096])
AudioHeader(sample_rate=8000, channels=1, bit_depth=24, n_frames=8000, format='FLAC')
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import soundfile as sf

from intake_onc._core.errors import FileFormatError
from intake_onc._core.files import atomic_write
from intake_onc.acoustics.files import read_frames

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = [
    "ArchiveFetch",
    "AudioHeader",
    "RemoteAudioLoader",
    "axis_text",
    "column_plan",
    "frequency_fingerprint",
    "local_path",
    "parse_audio_header",
    "probe_audio_header",
    "remember_header",
    "remembered_header",
    "read_mat_columns",
    "spectrogram_array",
]

#: Bytes read to learn a file's header (FLAC's STREAMINFO ends at byte 42; WAV's fmt chunk
#: is within the first few hundred bytes).
PROBE_BYTES = 65536

#: What reading a file that cannot be decoded raises: ``read_frames``' FileFormatError (a
#: damaged or truncated FLAC/WAV), and libsndfile's own errors where it is called directly.
_DAMAGED: tuple[type[BaseException], ...] = (
    FileFormatError,
    getattr(sf, "SoundFileError", RuntimeError),
    RuntimeError,
    EOFError,
    FileFormatError,  # read_frames' wrapping of libsndfile's decode errors (it names the file)
)

_PROBED: dict[tuple[str, str], AudioHeader] = {}
_PROBED_LOCK = threading.Lock()


class AudioHeader(NamedTuple):
    """Facts from an audio file's header."""

    sample_rate: int
    channels: int
    bit_depth: int | None
    n_frames: int | None
    format: str


def _flac_header(data: bytes, offset: int) -> AudioHeader:
    pos = offset + 4
    while pos + 4 <= len(data):
        kind, length = data[pos] & 0x7F, int.from_bytes(data[pos + 1 : pos + 4], "big")
        if kind == 0 and length >= 34 and pos + 4 + 18 <= len(data):
            (packed,) = struct.unpack(">Q", data[pos + 4 + 10 : pos + 4 + 18])
            rate = packed >> 44
            channels = ((packed >> 41) & 0x7) + 1
            bits = ((packed >> 36) & 0x1F) + 1
            total = packed & 0xFFFFFFFFF
            return AudioHeader(int(rate), int(channels), int(bits), int(total) or None, "FLAC")
        if data[pos] & 0x80:  # last metadata block, no STREAMINFO seen
            break
        pos += 4 + length
    raise ValueError("a FLAC file without a readable STREAMINFO block")


def _wav_header(data: bytes) -> AudioHeader:
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt " and pos + 24 <= len(data):
            _tag, channels, rate, _rate_b, align, bits = struct.unpack(
                "<HHIIHH", data[pos + 8 : pos + 24]
            )
            fmt = (int(rate), int(channels), int(bits), int(align))
        elif chunk == b"data":
            if fmt is None:
                break
            frames = size // fmt[3] if fmt[3] and size != 0xFFFFFFFF else None
            return AudioHeader(fmt[0], fmt[1], fmt[2], frames, "WAV")
        pos += 8 + size + (size & 1)
    if fmt is not None:
        return AudioHeader(fmt[0], fmt[1], fmt[2], None, "WAV")
    raise ValueError("a WAV file without a readable fmt chunk")


def parse_audio_header(data: bytes) -> AudioHeader:
    """Sample rate, channels, bits per sample and frame count from a file's first bytes.

    Parameters
    ----------
    data
        The start of a FLAC (``fLaC``, optionally after an ID3v2 tag) or WAV (``RIFF``/``WAVE``)
        file; 64 KiB is plenty.

    Returns
    -------
    AudioHeader
        ``n_frames`` is ``None`` when the header does not say (FLAC streams with an unknown
        length, WAV without a data chunk in ``data``).

    Raises
    ------
    ValueError
        When ``data`` is neither FLAC nor WAV, or too short to hold the header.

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO(); sf.write(buf, np.zeros(800), 8000, format="WAV", subtype="PCM_24")
    >>> parse_audio_header(buf.getvalue())
    AudioHeader(sample_rate=8000, channels=1, bit_depth=24, n_frames=800, format='WAV')
    """
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # ID3v2 tag before the FLAC stream
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        offset = 10 + size
    if data[offset : offset + 4] == b"fLaC":
        return _flac_header(data, offset)
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_header(data)
    raise ValueError(f"not a FLAC or WAV file (it starts with {data[:12]!r})")


def probe_audio_header(client: ONCClient, filename: str) -> tuple[AudioHeader, str]:
    """The header of archive file ``filename``, and where it was read (``"cache"``/``"probe"``).

    A copy in the client's cache is read from disk; otherwise the first 64 KiB are fetched with
    :meth:`~intake_onc.client.ONCClient.read_head` (a streamed ``archivefile/download`` request
    closed right after; no file is written; ONC has no Range support to rely on). Results are
    remembered per server and file name for the life of the process.

    Examples
    --------
    >>> header, where = probe_audio_header(client, "ICLISTENHF6093_20230101T001001.315Z.flac")  # doctest: +SKIP
    >>> header.sample_rate, where  # doctest: +SKIP
    (8000, 'probe')
    """
    core = client._core
    key = (core.host_key, filename)
    with _PROBED_LOCK:
        known = _PROBED.get(key)
    if known is not None:
        return known, "memory"
    path = client.cache.archive_path(core.host_key, filename)
    where = "cache"
    try:
        with open(path, "rb") as fh:
            seen = os.fstat(fh.fileno())
            data = fh.read(PROBE_BYTES)
        parse_audio_header(data)
    except (FileNotFoundError, NotADirectoryError):
        where = "probe"
    except ValueError:  # a damaged cached copy: evict it, ask ONC
        client.cache.evict(path, seen)
        where = "probe"
    if where == "probe":
        data = client.read_head(filename, PROBE_BYTES)
    try:
        header = parse_audio_header(data)
    except ValueError as exc:
        raise ValueError(f"{filename}: cannot read its audio header ({exc})") from None
    with _PROBED_LOCK:
        _PROBED[key] = header
    return header, where


def _header_key(extension: str, deployment_begin: object) -> str:
    return f"{str(extension).lower()}@{deployment_begin}"


def remembered_header(
    client: ONCClient, device_code: str, extension: str, deployment_begin: object
) -> AudioHeader | None:
    """The header facts remembered on disk for this device, deployment and file type, if any.

    :func:`remember_header` writes them (``<cache>/<server>/headers/<deviceCode>.json``) after a
    header was read, so the next open of the same deployment reads no file: a hydrophone keeps
    its sample rate and bit depth for a deployment and format. A damaged record is ignored.
    """
    path = client.cache.header_path(client._core.host_key, device_code)
    try:
        record = json.loads(path.read_text())[_header_key(extension, deployment_begin)]
        bits = record.get("bit_depth")
        return AudioHeader(
            int(record["sample_rate"]),
            int(record["channels"]),
            None if bits is None else int(bits),
            None,
            str(extension).lower(),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_header(
    client: ONCClient,
    device_code: str,
    extension: str,
    deployment_begin: object,
    header: AudioHeader,
    filename: str,
) -> None:
    """Record a header's facts for :func:`remembered_header` (atomic; best effort)."""
    path = client.cache.header_path(client._core.host_key, device_code)
    try:
        records = json.loads(path.read_text()) if path.exists() else {}
        if not isinstance(records, dict):
            records = {}
    except (OSError, ValueError):
        records = {}
    records[_header_key(extension, deployment_begin)] = {
        "sample_rate": header.sample_rate,
        "channels": header.channels,
        "bit_depth": header.bit_depth,
        "read_from": filename,
    }
    with contextlib.suppress(OSError), atomic_write(path, "w") as fh:
        json.dump(records, fh, indent=1, sort_keys=True)


class RemoteAudioLoader:
    """``load(file_row, start_frame, n_frames)`` for archive files: download, check, decode.

    Parameters
    ----------
    client
        An :class:`~intake_onc.client.ONCClient` (pickled with the loader for distributed
        workers).
    sample_rate
        The rate the window was planned at; a file with another rate raises a ``ValueError``
        that suggests opening two windows.
    rate_given
        True when ``sample_rate`` is the caller's ``sample_rate=`` argument rather than read
        from a header: a file with another rate then says that the argument disagrees with it.

    A file that libsndfile cannot decode is evicted from the cache and fetched once more
    (:meth:`~intake_onc.client.ONCClient.read_verified`); if it still cannot be decoded,
    :class:`~intake_onc.client.errors.CorruptFileError` names the file and its cache path.

    Examples
    --------
    >>> loader = RemoteAudioLoader(client, 8000)  # doctest: +SKIP
    >>> loader({"name": "ICLISTENHF6093_20230101T001001.315Z.flac", "start": ...}, 0, 800)  # doctest: +SKIP
    """

    def __init__(self, client: ONCClient, sample_rate: int, rate_given: bool = False) -> None:
        self.client = client
        self.sample_rate = int(sample_rate)
        self.rate_given = bool(rate_given)
        self._info: dict[str, tuple[int, int, int]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "sample_rate": self.sample_rate,
            "rate_given": self.rate_given,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["client"], state["sample_rate"], state.get("rate_given", False))  # type: ignore[misc]

    def __dask_tokenize__(self) -> tuple[str, str, int, bool]:
        return (
            "intake_onc.RemoteAudioLoader",
            str(self.client.base_url),
            self.sample_rate,
            self.rate_given,
        )

    def __repr__(self) -> str:
        return f"RemoteAudioLoader({self.client.base_url!r}, sample_rate={self.sample_rate})"

    def _facts(self, name: str, path: os.PathLike) -> tuple[int, int, int]:
        with self._lock:
            known = self._info.get(name)
        if known is None:
            info = sf.info(os.fspath(path))
            known = (int(info.samplerate), int(info.frames), int(info.channels))
            with self._lock:
                self._info[name] = known
        return known

    def __call__(self, row: Mapping[str, Any], start_frame: int, n_frames: int) -> np.ndarray:
        name = str(row["name"])

        def read(path: os.PathLike) -> np.ndarray:
            try:
                rate, frames, channels = self._facts(name, path)
                if rate == self.sample_rate and channels == 1 and start_frame < frames:
                    return read_frames(path, start_frame, n_frames)
            except _DAMAGED:
                with self._lock:
                    self._info.pop(name, None)
                raise
            return self._refuse(name, path, row, rate, frames, channels)

        return self.client.read_verified(name, read, damaged=_DAMAGED)

    def _refuse(
        self, name: str, path: os.PathLike, row: Mapping[str, Any], rate: int, frames: int, ch: int
    ) -> np.ndarray:
        if rate != self.sample_rate and self.rate_given:
            raise ValueError(
                f"sample_rate: the given sample_rate={self.sample_rate} disagrees with the header "
                f"of {name} ({rate} Hz, cached at {os.fspath(path)}); pass sample_rate={rate}, or "
                "leave it out to read it from the files"
            )
        if rate != self.sample_rate:
            raise ValueError(
                f"start/end: {name} is sampled at {rate} Hz but the window was planned at "
                f"{self.sample_rate} Hz; the sample rate changes inside the range — open two "
                f"windows, one ending and one starting at {row.get('start')}"
            )
        if ch != 1:
            raise ValueError(f"{name}: {ch} channels; only mono hydrophone audio is read")
        return np.empty(0, dtype=np.float32)  # shorter than the listing said: the rest stays NaN


# --------------------------------------------------------------------------- HSD MAT files


def frequency_fingerprint(frequency: np.ndarray) -> tuple[int, int]:
    """``(bins, crc32 of the axis rounded to µHz)``: equal for files on the same axis.

    Examples
    --------
    >>> frequency_fingerprint(np.arange(3.0)) == frequency_fingerprint(np.arange(3.0) + 1e-9)
    True
    """
    values = np.round(np.asarray(frequency, dtype="float64"), 6) + 0.0  # no -0.0
    return len(values), zlib.crc32(values.tobytes())


def axis_text(frequency: np.ndarray) -> str:
    """``"4001 bins, 0–4000 Hz"``: a frequency axis in words, for error messages."""
    return f"{len(frequency)} bins, {frequency[0]:g}–{frequency[-1]:g} Hz"


def read_mat_columns(
    fetch: Callable[[str], Any],
    ref: str,
    times_ns: np.ndarray,
    tolerance_ns: int,
    axis: tuple[int, int],
    expected_axis: str,
    bin_width_correction: bool,
    downsample: int | None,
) -> np.ndarray:
    """The columns of one HSD MAT file nearest to ``times_ns`` (the dask task).

    Parameters
    ----------
    fetch, ref
        ``fetch(ref)`` gives the local path (a download through the cache, or the path itself).
    times_ns
        Expected column times (int64 ns, UTC); a time no column of the file is within
        ``tolerance_ns`` of gives a NaN row.
    axis, expected_axis
        :func:`frequency_fingerprint` and description of the first file's frequency axis; a
        file on another axis raises ``ValueError``.
    bin_width_correction, downsample
        As for :func:`~intake_onc.acoustics.hsd.read_hsd_mat`.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(times_ns), bins)``.

    Examples
    --------
    >>> read_mat_columns(str, "a-spect.mat", times, 30 * 10**9, axis, "", False, 1)  # doctest: +SKIP
    """
    from intake_onc.acoustics.hsd import read_hsd_mat

    def read(path: Any) -> Any:
        return read_hsd_mat(path, bin_width_correction=bin_width_correction, downsample=downsample)

    verified = getattr(fetch, "read_verified", None)
    psd = verified(ref, read) if verified is not None else read(fetch(ref))
    frequency = psd["frequency"].values
    if frequency_fingerprint(frequency) != tuple(axis):
        raise ValueError(
            f"{os.path.basename(str(ref))}: its frequency axis ({axis_text(frequency)}) differs "
            f"from the first file's ({expected_axis}); open the ranges before and after it separately"
        )
    have = psd["time"].values.astype("datetime64[ns]").view("int64")
    values = psd.values
    want = np.asarray(times_ns, dtype="int64")
    if len(have) == len(want) and np.array_equal(have, want):
        return values
    out = np.full((len(want), values.shape[1]), np.nan, dtype=values.dtype)
    if len(have):
        pos = np.clip(np.searchsorted(have, want), 1, max(len(have) - 1, 1))
        left = np.clip(pos - 1, 0, len(have) - 1)
        right = np.clip(pos, 0, len(have) - 1)
        nearest = np.where(np.abs(have[left] - want) <= np.abs(have[right] - want), left, right)
        ok = np.abs(have[nearest] - want) <= tolerance_ns
        out[ok] = values[nearest[ok]]
    return out


def local_path(ref: str) -> str:
    """The fetch of files already on disk (products downloaded at open): the path itself."""
    return ref


class ArchiveFetch:
    """``fetch(name) -> path``: an archive file through the client's cache (picklable)."""

    def __init__(self, client: ONCClient) -> None:
        self.client = client

    def __call__(self, name: str) -> Any:
        return self.client.download(name)

    def read_verified(self, name: str, reader: Callable[[Any], Any]) -> Any:
        """``reader(path)``; a file that fails to parse is evicted and fetched once more."""
        return self.client.read_verified(name, reader, damaged=(ValueError, OSError, EOFError))

    def __dask_tokenize__(self) -> tuple[str, str]:
        return ("intake_onc.ArchiveFetch", str(self.client.base_url))

    def __repr__(self) -> str:
        return f"ArchiveFetch({self.client.base_url!r})"


def column_plan(
    starts_ns: np.ndarray, offsets_ns: np.ndarray, s_ns: int, e_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expected column times of every file and which are kept.

    Column ``j`` of file ``i`` is at ``starts_ns[i] + offsets_ns[j]``; it is kept when inside
    ``[s_ns, e_ns)`` and later than every kept column before it (where files overlap, the
    earlier file's columns win).

    Returns
    -------
    times, keep
        Arrays of shape ``(files, columns)``: int64 ns and bool.

    Examples
    --------
    >>> times, keep = column_plan(np.array([0, 250]), np.array([30, 90, 150, 210, 270]), 60, 400)
    >>> times[keep].tolist()
    [90, 150, 210, 270, 280, 340]
    """
    times = starts_ns[:, None] + offsets_ns[None, :]
    flat = times.ravel()
    inside = (flat >= s_ns) & (flat < e_ns)
    floor = np.iinfo(np.int64).min
    running = np.maximum.accumulate(np.where(inside, flat, floor))
    before = np.concatenate([[floor], running[:-1]])
    keep = (inside & (flat > before)).reshape(times.shape)
    return times, keep


def spectrogram_array(
    fetch: Callable[[str], Any],
    refs: list[str],
    times: np.ndarray,
    keep: np.ndarray,
    first: Any,
    name_token: Any,
    bwc: bool,
    downsample: int | None,
    tol: int,
) -> tuple[Any, np.ndarray, int]:
    """The lazy ``(time, frequency)`` dask array of many HSD MAT files.

    One task per file with kept columns (a :func:`read_mat_columns` call, given ``fetch`` and
    the file's ``refs`` entry); ``times``/``keep`` from :func:`column_plan`; ``first`` is the
    DataArray of the file that gave the layout (frequency axis, dtype); ``name_token`` goes
    into the dask key (no secrets); ``tol`` is the column-time tolerance in ns.

    Returns
    -------
    array, column_times, files
        The dask array, the kept column times (int64 ns) and the number of files read.

    Examples
    --------
    >>> data, t, n = spectrogram_array(local_path, paths, times, keep, first, "x", False, 1, 30 * 10**9)  # doctest: +SKIP
    """
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    frequency = first["frequency"].values
    axis, text = frequency_fingerprint(frequency), axis_text(frequency)
    counts = keep.sum(axis=1)
    used = np.flatnonzero(counts)
    name = "onc-hsd-" + tokenize(name_token, fetch, [refs[i] for i in used], times, keep, bwc)
    dsk = {}
    for k, i in enumerate(used.tolist()):
        wanted = times[i][keep[i]]
        dsk[(name, k, 0)] = (
            read_mat_columns,
            fetch,
            refs[i],
            wanted,
            tol,
            axis,
            text,
            bwc,
            downsample,
        )
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    chunks = (tuple(int(c) for c in counts[used]), (len(frequency),))
    dtype = first.dtype
    array = da.Array(graph, name, chunks, meta=np.empty((0, 0), dtype=dtype))
    return array, times[keep], len(used)
