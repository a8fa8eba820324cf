"""Hydrophone audio files on disk: ONC archive names, file facts and partial reads.

Three small pieces the audio assembly (:mod:`intake_onc.acoustics.windows`) is built on:

* :func:`parse_archive_filename` splits ``<DEVICE>_<YYYYMMDDThhmmss.fffZ>[-suffix].<ext>``;
* :class:`AudioFileInfo` holds what ``soundfile.info`` tells about one file (no decoding);
* :func:`read_frames` decodes only the frames asked for (seek, then read) as float32.

Examples
--------
>>> parse_archive_filename("ICLISTENHF6093_20230111T122000.045Z.flac")
ArchiveName(device_code='ICLISTENHF6093', start=Timestamp('2023-01-11 12:20:00.045000'), suffix='', extension='flac')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import pandas as pd
import soundfile as sf

from intake_onc._core.errors import FileFormatError
from intake_onc._core.time import DateParseError, parse_date, parse_filename_timestamp

__all__ = [
    "AUDIO_EXTENSIONS",
    "ArchiveName",
    "AudioFileInfo",
    "bit_depth_of",
    "parse_archive_filename",
    "read_frames",
    "read_frames_into",
]

#: File extensions (lower case, no dot) read as hydrophone audio.
AUDIO_EXTENSIONS = ("flac", "wav")

_ARCHIVE_RE = re.compile(r"^(?P<device>.+?)_(?P<stamp>\d{8}T\d{6}(?:\.\d{1,6})?Z)(?P<rest>.*)$")

#: Bits per sample of the libsndfile subtypes hydrophone files use.
_SUBTYPE_BITS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
}


class ArchiveName(NamedTuple):
    """The parts of an ONC archive file name."""

    device_code: str
    start: pd.Timestamp
    suffix: str
    extension: str


def parse_archive_filename(name: str | os.PathLike) -> ArchiveName:
    """Split an ONC archive file name into device code, start time, suffix and extension.

    Parameters
    ----------
    name
        A file name or path named ``<DEVICE>_<YYYYMMDDThhmmss[.fff]Z>[-suffix].<ext>``; only
        the last path component is read.

    Returns
    -------
    ArchiveName
        ``(device_code, start, suffix, extension)``: ``start`` is the UTC time of the first
        sample (naive ``pandas.Timestamp``), ``suffix`` the text between the stamp and the
        extension without its leading ``-`` (``""`` when none), ``extension`` lower case
        without the dot.

    Raises
    ------
    ValueError
        When the name does not follow the ONC pattern.

    Examples
    --------
    >>> parse_archive_filename("ICLISTENHF1560_20181002T172557.000Z-spect.mat").suffix
    'spect'
    """
    base = os.path.basename(os.fspath(name))
    match = _ARCHIVE_RE.match(base)
    if match is None:
        raise ValueError(
            f"name: {base!r} is not an ONC archive file name "
            "(expected DEVICECODE_YYYYMMDDThhmmss.fffZ[-suffix].ext); "
            "pass start times explicitly for files named otherwise"
        )
    rest = match.group("rest")
    stem, dot, extension = rest.rpartition(".")
    if not dot:
        stem, extension = rest, ""
    try:
        start = parse_filename_timestamp(match.group("stamp"))
    except DateParseError as exc:  # pragma: no cover - the regex already checked the form
        raise ValueError(f"name: {base!r} has an unreadable time stamp: {exc}") from exc
    return ArchiveName(match.group("device"), start, stem.lstrip("-"), extension.lower())


def bit_depth_of(subtype: str) -> int | None:
    """Bits per sample of a libsndfile subtype (``"PCM_24"`` → 24), ``None`` when unknown.

    Examples
    --------
    >>> bit_depth_of("PCM_24")
    24
    """
    return _SUBTYPE_BITS.get(subtype)


@dataclass(frozen=True)
class AudioFileInfo:
    """Facts about one audio file, read from its header (nothing is decoded).

    Attributes
    ----------
    path
        Location of the file.
    name
        File name (last path component).
    start
        UTC time of the first sample.
    sample_rate
        Samples per second.
    n_frames
        Number of frames (samples per channel).
    channels
        Number of channels.
    subtype
        libsndfile subtype, e.g. ``"PCM_24"``.
    bit_depth
        Bits per sample, ``None`` for compressed subtypes without one.
    device_code
        ONC device code from the name, ``None`` for files not named the ONC way.
    """

    path: str
    name: str
    start: pd.Timestamp
    sample_rate: int
    n_frames: int
    channels: int
    subtype: str
    bit_depth: int | None
    device_code: str | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike, start: object = None) -> AudioFileInfo:
        """Read the header of ``path``; ``start`` overrides the time in its ONC name.

        Examples
        --------
        >>> info = AudioFileInfo.from_path("ICLISTENHF6093_20230111T122000.045Z.flac")  # doctest: +SKIP
        >>> info.duration  # doctest: +SKIP
        300.0
        """
        path = os.fspath(path)
        name = os.path.basename(path)
        device_code = None
        try:
            parsed = parse_archive_filename(name)
        except ValueError:
            if start is None:
                raise
        else:
            device_code = parsed.device_code
            if start is None:
                start = parsed.start
        when = parse_date(start, argument=f"start time of {name}")
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise ValueError(f"path: cannot read {path!r} as audio: {exc}") from exc
        return cls(
            path=path,
            name=name,
            start=when,
            sample_rate=int(info.samplerate),
            n_frames=int(info.frames),
            channels=int(info.channels),
            subtype=str(info.subtype),
            bit_depth=bit_depth_of(str(info.subtype)),
            device_code=device_code,
        )

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_frames / self.sample_rate

    @property
    def end(self) -> pd.Timestamp:
        """Time just after the last sample."""
        return self.start + pd.Timedelta(self.n_frames * 10**9 // self.sample_rate, "ns")

    def as_row(self) -> dict[str, object]:
        """The file as a row of the file table :func:`intake_onc.acoustics.windows.audio_from_table` takes."""
        return {
            "name": self.name,
            "start": self.start,
            "sample_rate": self.sample_rate,
            "n_frames": self.n_frames,
            "channels": self.channels,
            "bit_depth": self.bit_depth,
            "device_code": self.device_code,
            "path": self.path,
        }


def read_frames(
    source: str | os.PathLike | BinaryIO, start_frame: int = 0, n_frames: int | None = None
) -> np.ndarray:
    """Decode ``n_frames`` frames from ``start_frame`` on, as float32 full scale.

    Only the frames asked for are decoded: the file is opened, seeked and read, so the cost
    is that of the part, not of the whole file (FLAC seeks to the nearest frame header).

    Parameters
    ----------
    source
        A path or a binary file object (e.g. ``io.BytesIO``) holding a file libsndfile reads.
    start_frame
        First frame to read (0-based).
    n_frames
        Number of frames; ``None`` reads to the end. Fewer frames come back when the file
        ends first.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(n,)`` for mono files, ``(n, channels)`` otherwise; values in
        ``[-1, 1)`` for PCM files.

    Raises
    ------
    ValueError
        When ``start_frame`` or ``n_frames`` is negative or ``start_frame`` is past the end.
    FileFormatError
        When libsndfile cannot decode the file (damaged FLAC, not audio, ...), and when a WAV
        file is shorter than its header says (a truncated download), naming the file.

    Examples
    --------
    >>> x = read_frames("ICLISTENHF6093_20230111T122000.045Z.flac", 8000, 800)  # doctest: +SKIP
    >>> x.dtype, x.shape  # doctest: +SKIP
    (dtype('float32'), (800,))
    """
    start_frame = int(start_frame)
    if n_frames is not None and int(n_frames) < 0:
        raise ValueError(f"n_frames: expected a count >= 0 or None, got {n_frames}")
    return _read(source, start_frame, None if n_frames is None else int(n_frames), None)


def read_frames_into(
    source: str | os.PathLike | BinaryIO, start_frame: int, out: np.ndarray
) -> int:
    """Decode ``len(out)`` frames from ``start_frame`` on straight into ``out`` (float32, mono).

    libsndfile converts the samples to float32 as it decodes, into ``out`` itself: no
    intermediate array (a 24-bit FLAC file is never held as int32, nor copied after decoding).

    Returns
    -------
    int
        The frames written (fewer than ``len(out)`` when the file ends first; the rest of
        ``out`` is left as it was).

    Examples
    --------
    >>> buf = np.full(800, np.nan, "float32")  # doctest: +SKIP
    >>> read_frames_into("ICLISTENHF6093_20230111T122000.045Z.flac", 8000, buf)  # doctest: +SKIP
    800
    """
    if out.dtype != np.float32 or out.ndim != 1 or not out.flags.c_contiguous:
        raise ValueError("out: expected a contiguous 1-D float32 array")
    return len(_read(source, int(start_frame), len(out), out))


def _read(
    source: Any, start_frame: int, n_frames: int | None, out: np.ndarray | None
) -> np.ndarray:
    if start_frame < 0:
        raise ValueError(f"start_frame: expected a frame index >= 0, got {start_frame}")
    if hasattr(source, "seek") and not isinstance(source, (str, os.PathLike)):
        source.seek(0)
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else repr(source)
    try:
        with sf.SoundFile(source) as f:
            if f.format == "WAV":
                _check_wav_length(source, f, name)
            if start_frame > f.frames:
                raise ValueError(
                    f"start_frame: {start_frame} is past the end of the file ({f.frames} frames)"
                )
            count = (
                f.frames - start_frame
                if n_frames is None
                else min(n_frames, f.frames - start_frame)
            )
            if start_frame:
                f.seek(start_frame)
            if out is None:
                return f.read(count, dtype="float32")
            if f.channels != 1:
                raise ValueError(f"out: {name} has {f.channels} channels; expected mono")
            return f.read(count, dtype="float32", out=out[:count])
    except sf.LibsndfileError as exc:  # libsndfile's messages never name the file
        raise FileFormatError(
            name,
            None,
            "an audio file libsndfile can decode (FLAC or WAV)",
            found=str(exc).strip(),
            hint="the file is damaged or truncated: download it again",
        ) from None


#: Bytes per sample of the WAV subtypes ONC's hydrophones write (and a few more).
_WAV_SAMPLE_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def _check_wav_length(source: Any, f: sf.SoundFile, name: str) -> None:
    """A WAV file shorter than its ``data`` chunk says is truncated: libsndfile would quietly
    report (and read) only the frames that are there."""
    width = _WAV_SAMPLE_BYTES.get(f.subtype)
    if width is None:
        return
    declared = _wav_data_bytes(source)
    if declared is None or declared == 0xFFFFFFFF:  # unknown, or a streamed file
        return
    frames = declared // (width * f.channels)
    if frames > f.frames:
        raise FileFormatError(
            name,
            None,
            f"{frames} frames (the WAV header's data size)",
            found=f"{f.frames} frames",
            hint="the file is truncated: download it again",
        )


def _wav_data_bytes(source: Any) -> int | None:
    """The size the RIFF ``data`` chunk declares, or None when it cannot be found."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            head = fh.read(4096)
    else:
        position = source.tell()
        source.seek(0)
        head = source.read(4096)
        source.seek(position)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            return size
        pos += 8 + size + (size & 1)
    return None
