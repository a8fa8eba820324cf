"""Archive audio bytes: 24-bit mono WAV and FLAC files, FLAC padded to an exact size.

The listing must know every file's size without encoding it, so sizes are fixed in advance:

* WAV: our own writer, 44-byte header + 3 bytes per sample (PCM 24-bit mono).
* FLAC: encoded by libsndfile (PCM_24), then a PADDING metadata block is inserted after
  STREAMINFO so the file reaches :func:`flac_target_size` — ``FLAC_BITS_PER_SAMPLE`` bits per
  sample plus 8 KiB plus a per-file variation of up to n/50 bytes (0.16 bits/sample). Measured
  real sizes (libsndfile 1.2, compression level 0.5): 16.7-16.9 bits/sample for ambient noise,
  at most 19.4-19.8 at the peak of a ship passage (the loudest content), so every file fits with
  more than 1 bit/sample (6 dB of level) to spare. A file that would not fit raises
  :class:`FlacTargetExceeded` (the tests encode the loudest files of each device to check).
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf

__all__ = [
    "FLAC_BITS_PER_SAMPLE",
    "FlacTargetExceeded",
    "encode_flac",
    "encode_wav",
    "flac_target_size",
    "wav_size",
]

#: FLAC files are padded to this many bits per sample (plus 8 KiB and a small variation).
FLAC_BITS_PER_SAMPLE = 21
_FLAC_FIXED_BYTES = 8192
_FLAC_COMPRESSION_LEVEL = 0.5
_WAV_HEADER = 44


class FlacTargetExceeded(RuntimeError):
    """An encoded FLAC file is larger than the fixed size the listing promised."""


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
            "raise FLAC_BITS_PER_SAMPLE in intake_onc/sandbox/encoders/audio.py"
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
