"""The bytes of listed archive files, generated on first use and cached on disk.

:func:`archive_file_bytes` / :func:`archive_file_path` give the bytes of a file of
:func:`~.archive_listing.list_archive_files`, cached in
``tempfile.gettempdir()/intake-onc-sandbox-<seed>-<generator>/<DEVICE>/<filename>`` (written
atomically: a temporary ``.part`` file, then a rename). ``<generator>`` is a digest of the source of
the modules that make the bytes, so files made by an older generator are never served. Their length always equals the listing's ``fileSize``:
audio from :mod:`~.audio_synth` encoded by :mod:`~.audio_encoding`, spectrograms from
:mod:`~.hsd_encoding`. A cached file of the wrong size is regenerated.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

from intake_onc._core.files import atomic_write
from intake_onc.sandbox.archive.listing import archive_file_info, parse_archive_filename
from intake_onc.sandbox.encoders.audio import encode_flac, encode_wav
from intake_onc.sandbox.encoders.spectrogram import archive_spect_mat_bytes, archive_spect_png_bytes
from intake_onc.sandbox.synthetic.audio import check_seed, hydrophone, synth_file_int

__all__ = ["archive_file_bytes", "archive_file_path", "cache_dir"]


#: The modules (relative to ``intake_onc/sandbox/``) whose code decides the bytes of an archive file.
_GENERATORS = (
    "observatory/tables.py",
    "archive/listing.py",
    "synthetic/audio.py",
    "encoders/audio.py",
    "synthetic/spectra.py",
    "encoders/spectrogram.py",
)


@cache
def _generator_digest() -> str:
    """A short digest of the generating modules' source: a new generator, a new cache folder."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent.parent  # intake_onc/sandbox/
    for name in _GENERATORS:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:10]


def cache_dir(seed: int = 0) -> Path:
    """Where generated archive files are cached: ``<root>/intake-onc-sandbox-<seed>-<generator>``.

    ``<root>`` is ``$INTAKE_ONC_SANDBOX_CACHE`` when set (tests and benchmarks point it at a
    temporary folder), else the system's temporary folder.
    """
    root = os.environ.get("INTAKE_ONC_SANDBOX_CACHE") or tempfile.gettempdir()
    return Path(root) / f"intake-onc-sandbox-{check_seed(seed)}-{_generator_digest()}"


def _generate(filename: str, info: dict, seed: int) -> bytes:
    device_code, start, suffix = parse_archive_filename(filename)
    start_ns = int(start.value)
    if suffix in (".flac", ".wav"):
        spec = hydrophone(device_code).audio
        q = synth_file_int(device_code, start_ns, seed)
        if suffix == ".wav":
            return encode_wav(q, spec.sample_rate)
        return encode_flac(q, spec.sample_rate, target_size=int(info["fileSize"]))
    if suffix == "-spect.mat":
        return archive_spect_mat_bytes(device_code, start, seed=seed)
    return archive_spect_png_bytes(device_code, start, int(info["fileSize"]), seed=seed)


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
    data = _generate(filename, info, check_seed(seed))
    if len(data) != size:  # a bug, never expected
        raise RuntimeError(f"{filename}: generated {len(data)} bytes, listing says {size}")
    # a cache that is regenerated when lost: no fsync needed, only never a partial file
    with atomic_write(path, fsync=False) as fh:
        fh.write(data)
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
