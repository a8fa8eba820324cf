"""Damaged FLAC and WAV files: each is decoded or refused with an error naming the file.

libsndfile's own errors (``unknown error in flac decoder``, ``lost sync``) never say which file,
and a truncated WAV file used to read short without a word. Mutated files are decoded in a child
process (a crash in the C decoder would show as a signal), and every one must either decode or
raise :class:`~intake_onc.FileFormatError` naming it.
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_helpers import assert_read_or_named, child_reader, read_in_child

from intake_onc._core.errors import FileFormatError
from intake_onc.acoustics.files import read_frames
from intake_onc.sandbox.encoders.audio import encode_flac, encode_wav

FS = 8000
MUTANTS_PER_FORMAT = 120

READER = child_reader("from intake_onc.acoustics.files import read_frames", "read_frames(path)")


def samples(seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.standard_normal(int(FS * seconds)) * 2**20).astype(np.int32)


def mutants(data: bytes, seed: int, count: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        buf = bytearray(data)
        if i % 3 == 0:
            for _ in range(int(rng.choice([1, 4, 16, 64]))):
                pos = int(rng.integers(0, len(buf)))
                buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif i % 3 == 1:
            buf = buf[: int(rng.integers(0, len(buf)))]
        else:
            pos = int(rng.integers(0, len(buf)))
            buf[pos : pos + 256] = bytes(int(rng.integers(0, 256)) for _ in range(256))
        out.append(bytes(buf))
    return out


def test_a_truncated_wav_file_is_an_error_naming_it(tmp_path):
    data = encode_wav(samples(), FS)
    path = tmp_path / "ICLISTENHF6020_20200101T000000.000Z.wav"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"\.wav: expected 16000 frames .*truncated"):
        read_frames(path)


def test_a_damaged_flac_file_is_an_error_naming_it(tmp_path):
    data = bytearray(encode_flac(samples(), FS))
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    path = tmp_path / "ICLISTENHF6093_20240401T000000.000Z.flac"
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"\.flac: expected an audio file"):
        read_frames(path)


@pytest.mark.slow
def test_mutated_audio_files_never_crash_and_errors_name_the_file(tmp_path):
    paths = []
    for ext, data, seed in (
        ("flac", encode_flac(samples(), FS), 1),
        ("wav", encode_wav(samples(), FS), 2),
    ):
        for i, content in enumerate(mutants(data, seed, MUTANTS_PER_FORMAT)):
            path = tmp_path / f"mutant_{i:03d}.{ext}"
            path.write_bytes(content)
            paths.append(str(path))
    assert_read_or_named(read_in_child(READER, paths))
