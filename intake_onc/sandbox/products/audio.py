"""Data product ``AD`` (audio): the archive audio files overlapping a range, as archived or
converted/resampled (:func:`build_audio_product_files`), and its size estimate.

The hydrophone audio itself is :mod:`intake_onc.sandbox.synthetic.audio`; the archive listing
and file bytes are :mod:`intake_onc.sandbox.archive.listing` / :mod:`intake_onc.sandbox.archive.files`;
WAV/FLAC bytes are :mod:`intake_onc.sandbox.encoders.audio`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as _signal

from intake_onc.sandbox.archive.files import archive_file_bytes
from intake_onc.sandbox.archive.listing import (
    overlapping_audio,
    parse_archive_filename,
)
from intake_onc.sandbox.encoders.audio import (
    encode_flac,
    encode_wav,
)
from intake_onc.sandbox.synthetic.audio import (
    FULL_SCALE,
    check_seed,
    hydrophone,
    synth_file_int,
)

__all__ = ["build_audio_product_files", "estimate_audio_size", "iter_audio_product_files"]


# ----------------------------------------------------------------------------------------------
# Data product AD (audio)
# ----------------------------------------------------------------------------------------------


def _option(options: dict | None, name: str, default: str) -> str:
    value = (options or {}).get(name, default)
    return default if value is None else str(value).strip()


def _audio_options(options: dict | None) -> tuple[int, bool]:
    """``(dpo_audioDownsample as an int, dpo_audioFormatConversion == "1")``, checked."""
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
    return rate, conv_opt == "1"


def estimate_audio_size(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> int:
    """Approximate total bytes of an ``AD`` request (cheap: only the listing): the listed sizes
    of the audio files overlapping ``[start, end)`` (only those archived as ``extension``
    without ``dpo_audioFormatConversion=1``), scaled by the resampling ratio."""
    spec = hydrophone(device_code).audio
    rate, convert = _audio_options(options)
    files = overlapping_audio(device_code, start, end, seed, now)
    if not convert:
        files = files[files["filename"].str.endswith("." + extension)]
    scale = rate / spec.sample_rate if 0 < rate < spec.sample_rate else 1.0
    return int(files["fileSize"].sum() * scale)


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
    seed = check_seed(seed)
    spec = hydrophone(device_code).audio
    extension = str(extension).lower().lstrip(".")
    if extension not in ("flac", "wav"):
        raise ValueError(f"extension: AD files here are 'flac' or 'wav', got {extension!r}")
    rate, convert = _audio_options(options)
    resample = 0 < rate < spec.sample_rate
    for row in overlapping_audio(device_code, start, end, seed, now).itertuples():
        name = row.filename
        archived = name.rsplit(".", 1)[1]
        if archived != extension and not convert:
            continue  # ONC serves only files archived in that format without conversion
        if not resample and archived == extension:
            yield name, archive_file_bytes(name, seed=seed, now=now)
            continue
        _, start_ts, _ = parse_archive_filename(name)
        q = synth_file_int(device_code, int(start_ts.value), seed)
        out_rate = spec.sample_rate
        stem = name.rsplit(".", 1)[0]
        if resample:
            g = math.gcd(rate, spec.sample_rate)
            y = _signal.resample_poly(q.astype(np.float64), rate // g, spec.sample_rate // g)
            q = np.clip(np.rint(y), -FULL_SCALE, FULL_SCALE - 1).astype(np.int32)
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
