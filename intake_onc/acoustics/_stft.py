"""Short-time spectra of numpy audio: frames, window, FFT, power and dB, in cache-sized blocks.

The engine behind :func:`intake_onc.acoustics.spectrogram.spectrogram` (which adds dask, coordinates and
attributes). :func:`make_frames` checks the parameters once and returns a :class:`Frames`; its
:meth:`Frames.compute` turns a 1-D float32 array into ``(frames, bins)`` float32 spectra equal to
``scipy.signal.spectrogram(x, fs, window, nperseg, noverlap, detrend=False)``: the same float32
window values and FFTs as scipy's, the scaling applied after ``|X|²`` as scipy does (in dB, as an
offset), so every bin is within ~1e-5 dB of scipy's, deep fades included. Frames are cut as strided views (no copy
of the audio), windowed into a small block buffer (the window multiply is the copy), FFT'd with
``scipy.fft.rfft`` and reduced to power or dB while the block is in cache; blocks go to
``workers`` threads one at a time (numpy, ``scipy.fft`` and the compiled kernel release the
GIL), so the result is bit-identical whatever the thread count.

The power/dB step uses the optional compiled kernel :mod:`intake_onc.acoustics._speedups` (one pass,
vectorised; see its source for why it is hand-written) and falls back to numpy ufuncs when the
package was installed without a C compiler; set ``INTAKE_ONC_NO_SPEEDUPS=1`` to force numpy.

Memory allocator: each FFT block allocates and frees ~2 MB; glibc must keep that on its heap or
every block faults its pages back in (2x slower). A one-time allocation raises glibc's moving
mmap/trim thresholds; where a ``MALLOC_*_`` variable is set (dask.distributed's nanny sets
``MALLOC_TRIM_THRESHOLD_=65536`` in every worker, which freezes those thresholds), the engine
sets them with ``mallopt`` (ctypes, glibc only) at first use in each process instead: mmap
threshold 4 MiB (up to 32 MiB for long frames), trim threshold twice that. A :class:`Frames`
pickles as its parameters (a dask task ships ~100 bytes, not the window), and
:func:`build_frames` rebuilds it once per process.

Examples
--------
>>> import numpy as np
>>> frames = make_frames(8000, 0.25, 0.5, None, "hann", "density", True, False)
>>> frames.compute(np.ones(8000, "float32")).shape
(7, 1001)
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from intake_onc._core.durations import duration_seconds
from intake_onc._core.malloc import raise_malloc_thresholds

__all__ = ["Frames", "build_frames", "make_frames", "resolve_workers", "speedups"]


def _load_speedups() -> Callable | None:
    if os.environ.get("INTAKE_ONC_NO_SPEEDUPS", "").strip() not in ("", "0"):
        return None
    try:
        from intake_onc.acoustics import _speedups
    except ImportError:  # built without a C compiler: numpy does the same work, slower
        return None
    return _speedups.power


# ``power(spectra, out, first_bin, db, scale, offset)``, or None for the numpy path
_power_kernel = _load_speedups()


def speedups() -> str:
    """Which power/dB kernel spectrograms use: ``"compiled (avx2+fma)"``, ``"numpy"``, ...

    Examples
    --------
    >>> speedups() in ("numpy", "compiled (baseline)", "compiled (avx2+fma)")
    True
    """
    if _power_kernel is None:
        return "numpy"
    from intake_onc.acoustics import _speedups

    return f"compiled ({_speedups.simd})"


# 10·log10(p) = _DB · ln(p). Measured per float32 value on this project's machines (numpy 2.4,
# AVX2): np.log 1.8–2.4 ns, np.log2 3.9 ns, np.log10 7.4 ns, numexpr's log 7 ns; a frexp/bit-trick
# polynomial log2 in numpy ufuncs 2.05 ns (each ufunc pass is ~0.15 ns a value, and an accurate
# polynomial needs ~16 of them). So the numpy fallback is np.log and a multiply, and the power +
# dB step is the compiled kernel's (_speedups.c: ~1 ns a value for both, one pass).
_DB = np.float32(10 / np.log(10))
# Frames per FFT block: a multiple of 4 (pocketfft transforms 4 rows at once with SIMD) holding
# about 1 MB of float32 input, so a block and its spectrum stay in cache (measured on 64 kHz, 1 s
# frames: 4 frames a block 1.6x faster than 8, 3 frames 2x slower than 4).
_BLOCK_SAMPLES = 2**18
# Threads for numpy-backed audio when ``workers=None``: the CPUs this process may use, at most
# this many (each thread needs ~2 MB of cache for its block and spectrum, and a 5-minute file is
# only ~150 blocks of work at 64 kHz).
_MAX_WORKERS = 8
# When threads pay (2 threads against 1, 64 kHz noise, timed only while no other process used
# the second core): a block carries ~20 µs of GIL-held Python (slicing, call overheads), so
# blocks of 16 000 samples (500-sample frames) ran 0.58x, 32 000 1.0x, 64 000 1.2x, 128 000 and
# more 1.5x; and starting and joining a thread costs ~0.3 ms, so with 1 s frames at 64 kHz
# 0.5 M frame-samples (15 frames) ran 1.0x, 1 M 1.3x, 2 M 1.5x, a 5-minute file (19 M) 1.7x.
# Below either threshold the frames are computed serially, whatever ``workers`` says.
_THREAD_MIN_BLOCK_SAMPLES = 50_000
_THREAD_MIN_SAMPLES = 2**19  # frame-samples (frames × nperseg) per thread


# glibc malloc thresholds: see intake_onc._core.malloc (shared with the resample kernel).
_raise_malloc_thresholds = raise_malloc_thresholds


def _available_cpus() -> int:
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+: honours the affinity mask
    if count is not None:
        return count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def resolve_workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(_available_cpus(), _MAX_WORKERS))
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers: expected a positive number of threads or None, got {workers!r}")
    return int(workers)


def _detrend_linear(frames: np.ndarray) -> np.ndarray:
    """Each frame minus its least-squares line, in float64, row by row.

    ``scipy.signal.detrend(type="linear")`` solves all rows in one LAPACK call, whose last bits
    depend on how many rows come together (so on the block and the dask chunking) and which
    refuses NaN; with a centred time axis the fit is a mean and a slope, plain ufunc reductions
    along each row (NaN in, NaN frame out), and closer to the float64 result.
    """
    n = frames.shape[-1]
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2
    x = frames.astype(np.float64)
    x -= x.mean(axis=-1, keepdims=True)
    x -= (x * t).sum(axis=-1, keepdims=True) / (t @ t) * t
    return x.astype(np.float32)


@dataclass(frozen=True)
class Frames:
    """How audio is cut into frames and what each frame's spectrum keeps."""

    fs: int
    nperseg: int
    hop: int
    window: np.ndarray  # float32, as scipy casts it (so the FFTs are bit for bit scipy's)
    psd_scale: np.float32  # |rfft|² times this is the one-sided PSD of inner bins
    db_offset: np.float32  # 10·log10(psd_scale): dB = _DB · ln |rfft|² + db_offset
    bins: slice
    db: bool
    detrend: str | None
    window_name: str | tuple = "hann"  # what scipy.signal.get_window was given
    scaling: str = "density"

    def __reduce__(self) -> tuple:
        # pickled as its parameters (~100 bytes, not the window's nperseg floats): a dask task
        # carrying a Frames ships only those, and the worker rebuilds it once (build_frames is
        # cached per process)
        return build_frames, self.spec

    @property
    def spec(self) -> tuple:
        """The parameters :func:`build_frames` rebuilds this from (hashable, small)."""
        return (
            self.fs,
            self.nperseg,
            self.hop,
            self.window_name,
            self.scaling,
            self.bins.start,
            self.bins.stop,
            self.db,
            self.detrend,
        )

    @property
    def depth(self) -> int:
        return self.nperseg - self.hop

    def n_frames(self, n: int) -> int:
        return 0 if n < self.nperseg else (n - self.nperseg) // self.hop + 1

    def edge_bins(self) -> list[int]:
        """Output columns of the DC and Nyquist bins (not doubled in a one-sided spectrum)."""
        edges = [0] + ([self.nperseg // 2] if self.nperseg % 2 == 0 else [])
        lo, hi = self.bins.start, self.bins.stop
        return [b - lo for b in edges if lo <= b < hi]

    def block_frames(self) -> int:
        return max(4, min(32, _BLOCK_SAMPLES // self.nperseg // 4 * 4))

    def compute(self, x: np.ndarray, workers: int = 1) -> np.ndarray:
        """Spectra of every whole frame of ``x`` (frame starts 0, hop, ...), float32.

        The frames are cut into blocks of :meth:`block_frames` (block ``k`` holds frames
        ``k·block`` ...), and ``workers`` threads take blocks in turn. numpy's ufuncs and
        ``scipy.fft`` release the GIL, so the threads run in parallel; each block is computed the
        same way whichever thread takes it, hence the same bits for any ``workers``.
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        count = self.n_frames(len(x))
        nb = self.bins.stop - self.bins.start
        out = np.empty((count, nb), dtype=np.float32)
        if count == 0:
            return out
        frames = np.lib.stride_tricks.sliding_window_view(x, self.nperseg)[:: self.hop]
        block = self.block_frames()
        # per block: the rows copied (float32) and their spectrum (complex64)
        _raise_malloc_thresholds(min(block, count) * self.nperseg * 8)
        starts = iter(range(0, count, block))
        threads = min(workers, -(-count // block), count * self.nperseg // _THREAD_MIN_SAMPLES)
        if threads <= 1 or block * self.nperseg < _THREAD_MIN_BLOCK_SAMPLES:
            self._blocks(frames, out, functools.partial(next, starts, None))
            return out
        # Blocks are handed out one at a time (not split in equal shares up front): on a shared
        # machine one thread may get much less CPU than another.
        lock = threading.Lock()
        failed = threading.Event()

        def next_start() -> int | None:
            with lock:
                return None if failed.is_set() else next(starts, None)

        def work() -> None:
            try:
                self._blocks(frames, out, next_start)
            except BaseException:
                failed.set()  # the other threads stop after their current block
                raise

        with ThreadPoolExecutor(threads - 1, thread_name_prefix="intake-onc-spectrogram") as pool:
            futures = [pool.submit(work) for _ in range(threads - 1)]
            work()  # if this raises, leaving the block waits for the (stopping) other threads
            for future in futures:
                future.result()
        return out

    def _blocks(
        self, frames: np.ndarray, out: np.ndarray, next_start: Callable[[], int | None]
    ) -> None:
        """Compute blocks ``frames[i : i + block]`` into ``out`` for each ``i = next_start()``."""
        block = self.block_frames()
        count = len(frames)
        buf = np.empty((min(block, count), self.nperseg), dtype=np.float32)
        edges = self.edge_bins()
        # np.errstate is per thread (a context variable): set it in each worker
        with np.errstate(divide="ignore", invalid="ignore"):
            while (i := next_start()) is not None:
                src = frames[i : i + block]
                n = len(src)
                b = buf[:n]
                if self.detrend == "linear":
                    src = _detrend_linear(src)
                elif self.detrend:
                    src = scipy.signal.detrend(src, axis=-1, type=self.detrend)
                src = src.astype(np.float32, copy=False)
                o = out[i : i + n]
                # the window multiply is also the copy of the (overlapping) frames into the block
                # (cheaper than letting the FFT read them strided: 140 against 150 ms a file)
                np.multiply(src, self.window, out=b)
                spec = scipy.fft.rfft(b, axis=-1, overwrite_x=True)
                if _power_kernel is not None:
                    # the kernel also halves the DC and Nyquist bins (``edges``)
                    first, nfft = self.bins.start, self.nperseg
                    if self.db:
                        _power_kernel(spec, o, first, True, _DB, self.db_offset, nfft)
                    else:
                        _power_kernel(spec, o, first, False, self.psd_scale, 0.0, nfft)
                else:
                    _power_numpy(spec[:, self.bins], o, self)
                    self._fix_edges(o, edges)

    def _fix_edges(self, o: np.ndarray, edges: list[int]) -> None:
        """Undo the one-sided doubling (folded into the scale) on the DC and Nyquist columns."""
        if edges:
            if self.db:
                o[:, edges] -= np.float32(10 * np.log10(2))
            else:
                o[:, edges] *= np.float32(0.5)


def _power_numpy(spec: np.ndarray, out: np.ndarray, frames: Frames) -> None:
    """The kernel's work with numpy ufuncs (its fallback): PSD, or dB, of ``spec`` into ``out``."""
    n, nb = out.shape
    # |z|² on the interleaved (re, im) floats, in place, then one strided add: 75 µs a 4-frame
    # block, against 124 µs for re*re + im*im on strided views and 102 µs for np.abs(z)**2
    parts = spec.view(np.float32).reshape(n, nb, 2)
    np.square(parts, out=parts)
    np.add(parts[..., 0], parts[..., 1], out=out)
    if frames.db:
        np.log(out, out=out)  # in place, while the block is in cache
        out *= _DB
        out += frames.db_offset
    else:
        out *= frames.psd_scale


def make_frames(
    fs: int,
    win_dur: object,
    overlap: float,
    freq_lims: Sequence[float] | None,
    window: str | tuple,
    scaling: str,
    db: bool,
    detrend: bool | str,
) -> Frames:
    win_dur = duration_seconds(win_dur, argument="win_dur")
    if not (isinstance(overlap, (int, float)) and 0 <= overlap < 1):
        raise ValueError(f"overlap: expected a fraction in [0, 1), got {overlap!r}")
    nperseg = round(win_dur * fs)
    if nperseg < 2:
        raise ValueError(f"win_dur: {win_dur} s is under two samples at {fs} Hz; make it longer")
    hop = nperseg - min(round(overlap * nperseg), nperseg - 1)
    if scaling not in ("density", "spectrum"):
        raise ValueError(f"scaling: expected 'density' or 'spectrum', got {scaling!r}")
    if detrend is True:
        detrend = "constant"
    if detrend not in (False, None, "constant", "linear"):
        raise ValueError(f"detrend: expected False, 'constant' or 'linear', got {detrend!r}")
    freqs = scipy.fft.rfftfreq(nperseg, 1 / fs)
    bins = slice(0, len(freqs))
    if freq_lims is not None:
        try:
            fmin, fmax = (float(f) for f in freq_lims)
        except (TypeError, ValueError):
            raise ValueError(f"freq_lims: expected (fmin, fmax) in Hz, got {freq_lims!r}") from None
        inside = np.flatnonzero((freqs >= fmin) & (freqs <= fmax))
        if fmin >= fmax or len(inside) == 0:
            raise ValueError(
                f"freq_lims: ({fmin}, {fmax}) Hz holds no frequency bin (bins are "
                f"{fs / nperseg:g} Hz apart up to {fs / 2:g} Hz); widen the limits"
            )
        bins = slice(int(inside[0]), int(inside[-1]) + 1)
    if isinstance(window, list):
        window = tuple(window)
    return build_frames(
        fs, nperseg, hop, window, scaling, bins.start, bins.stop, db, detrend or None
    )


@functools.lru_cache(maxsize=64)
def build_frames(
    fs: int,
    nperseg: int,
    hop: int,
    window: str | tuple,
    scaling: str,
    first_bin: int,
    stop_bin: int,
    db: bool,
    detrend: str | None,
) -> Frames:
    """The :class:`Frames` of checked parameters (see :func:`make_frames`), cached: a dask
    worker builds a window and its scales once per process, not once per task.

    Examples
    --------
    >>> f = make_frames(8000, 0.25, 0.5, None, "hann", "density", True, False)
    >>> build_frames(*f.spec) is f
    True
    """
    win = scipy.signal.get_window(window, nperseg).astype("float64")
    density = scaling == "density"
    scale = 1.0 / (fs * np.sum(win**2)) if density else 1.0 / np.sum(win) ** 2
    window_f32 = win.astype(np.float32)
    window_f32.flags.writeable = False  # shared by every caller of the cache
    return Frames(
        fs=fs,
        nperseg=nperseg,
        hop=hop,
        window=window_f32,
        psd_scale=np.float32(2 * scale),
        db_offset=np.float32(10 * np.log10(2 * scale)),
        bins=slice(first_bin, stop_bin),
        db=db,
        detrend=detrend,
        window_name=window,
        scaling=scaling,
    )
