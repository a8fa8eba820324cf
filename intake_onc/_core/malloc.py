"""glibc's malloc thresholds, raised once per process so numeric kernels keep their heap.

Shared by the spectrogram engine (:mod:`intake_onc.acoustics._stft`) and the resample kernel
(:mod:`intake_onc.scalar._resample_kernel`): both allocate and free the same few MB for every
block, which glibc returns to the OS and faults back in unless its thresholds are high enough.
On dask.distributed workers (whose nanny sets ``MALLOC_TRIM_THRESHOLD_``) this made the hourly
resample of 30 days of 1 Hz data take 0.82 s on one worker against 0.19 s on one local thread.

Examples
--------
>>> raise_malloc_thresholds(2**20)  # at most a few MB, once; a no-op on other allocators
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import numpy as np

__all__ = ["raise_malloc_thresholds"]

# glibc's malloc serves allocations above its mmap threshold (128 KiB at start) with mmap, and
# gives the top of its heap back to the OS when more than its trim threshold (128 KiB) is free
# there. When a mmap'd block is freed, it raises both (threshold = that block's size, trim =
# twice it), up to 32 MiB. Each block here makes scipy.fft allocate and free ~2 MB (pocketfft's
# copy of the rows, and the spectrum); in a process that never freed a larger block, that churn
# is returned to the OS and faulted back in at every block: 70,000 page faults per 5-minute
# 64 kHz file, 350–440 ms instead of 170–200 ms single-threaded (measured in fresh processes).
# Allocating and freeing one buffer of twice the churn (at least 4 MiB), once, raises them as any
# numpy temporary of that size would (glibc never lowers them); other allocators ignore it.
#
# That warm-up does nothing where any MALLOC_*_ tunable is set in the environment: glibc then
# turns its moving thresholds off for the life of the process. dask.distributed's nanny sets
# MALLOC_TRIM_THRESHOLD_=65536 in every worker (and in the client process), so on a cluster a
# 5-minute file's spectrogram took 227 ms and 115,000 page faults instead of 102 ms and 678. So
# where one is set (and the C library is glibc), the same two thresholds are set explicitly with
# mallopt, at first use in each process: M_MMAP_THRESHOLD to the warm-up size (4 MiB for 1 s
# frames at 64 kHz) and M_TRIM_THRESHOLD to twice it (or to the environment's value if larger),
# what glibc would have chosen by itself; a worker keeps at most that much freed heap.
_MALLOC_MAX_THRESHOLD = 32 * 2**20
_malloc_warmed = 0
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_MALLOC_ENV = (
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "GLIBC_TUNABLES",
)


@functools.cache
def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None (musl, macOS, Windows: their allocators behave otherwise)."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - glibc always has it
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def _env_trim_threshold() -> int:
    try:
        return int(os.environ.get("MALLOC_TRIM_THRESHOLD_", "0"))
    except ValueError:
        return 0


def raise_malloc_thresholds(churn: int) -> None:
    """Make sure freeing ``churn`` bytes per block keeps them on the heap (see above)."""
    global _malloc_warmed
    size = min(_MALLOC_MAX_THRESHOLD, max(4 * 2**20, 2 * churn))
    if size > _malloc_warmed:
        mallopt = _glibc_mallopt() if any(k in os.environ for k in _MALLOC_ENV) else None
        if mallopt is not None:  # glibc's moving thresholds are off: set them (see above)
            mallopt(_M_MMAP_THRESHOLD, size)
            mallopt(_M_TRIM_THRESHOLD, max(2 * size, _env_trim_threshold()))
        np.empty(size, dtype=np.uint8)  # allocated and freed at once, never touched
        _malloc_warmed = size
