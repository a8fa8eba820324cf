"""Custom spectrograms from hydrophone audio (numpy or dask), and a batch generator.

Parameters as ONC's users know them (semantics.md, "Custom spectrograms from audio"):
``win_dur`` (s), ``overlap`` (0–1), ``freq_lims`` (Hz), ``clim`` (dB, plots only); Hann
window, one-sided PSD density, no detrending unless asked. Results equal
``scipy.signal.spectrogram(x, fs, window="hann", nperseg, noverlap, detrend=False,
scaling="density")``; frames are float32, windowed and FFT'd in small blocks (no per-frame
Python loop). With dask, frames are computed in blocks of the frames whose centres lie in one
whole minute (``resample(time="1min")`` then needs no rechunk; with ``average=`` the block's
task also takes the per-period means), whatever the audio's chunking: a block's task reads the pieces of the chunks under it, so a
frame that straddles two chunks (or two files) is computed from both, the result does not
depend on the chunking, and the decoded chunks alive at once stay a few. Numpy-backed audio
is spread over a few threads (``workers``), block by block; the blocks are the same whatever
the thread count, so the result is bit-identical.

Examples
--------
>>> audio = open_audio_files("wavs/")  # doctest: +SKIP
>>> spec = spectrogram(audio, win_dur=0.5, freq_lims=(10, 2000))  # doctest: +SKIP
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import scipy.fft
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from intake_onc._core.durations import duration_ns, format_iso_duration
from intake_onc._core.files import atomic_path
from intake_onc._core.time import parse_date
from intake_onc._core.time_index import TimeGridIndex, TimeGridTransform
from intake_onc.acoustics._stft import Frames, build_frames, make_frames, resolve_workers

__all__ = ["SpectrogramGenerator", "plot_spectrogram", "spectrogram"]

# Dask-backed audio is computed in blocks of whole periods of this many seconds of frame centres
# (60 s: the minute boundaries of the frame-centre times), so that a per-minute mean
# (``resample(time="1min")``, or ``average="1min"``) finds every minute inside one block and
# needs no rechunk; with 1 s frames and 50 % overlap a block is 120 frames.
_DASK_BLOCK_SECONDS = 60.0
_NS = 10**9
_DAY_NS = 86_400 * _NS


def _centre_ns(frames: Frames, i: np.ndarray) -> np.ndarray:
    """Nanoseconds from the audio's first sample to the centre of frames ``i`` (int64), rounded
    as the time coordinate is (half-up, to the nanosecond)."""
    twice = 2 * np.asarray(i, dtype=np.int64) * frames.hop + frames.nperseg
    q, r = np.divmod(twice, 2 * frames.fs)
    return q * _NS + (r * _NS + frames.fs) // (2 * frames.fs)


def _frames_before(frames: Frames, count: int, when_ns: np.ndarray) -> np.ndarray:
    """How many of the ``count`` frames have their centre before ``when_ns`` (ns from the start)."""
    when_ns = np.asarray(when_ns, dtype=np.int64)
    guess = np.ceil((when_ns / _NS * 2 * frames.fs - frames.nperseg) / (2 * frames.hop))
    k = np.clip(np.nan_to_num(guess), 0, count).astype(np.int64)
    for _ in range(4):  # the float guess is off by one at most; make it exact
        down = (k > 0) & (_centre_ns(frames, k - 1) >= when_ns)
        up = (k < count) & (_centre_ns(frames, k) < when_ns)
        if not (down.any() or up.any()):
            break
        k = k - down + up
    return k


@dataclass(frozen=True)
class _PeriodGrid:
    """Frames cut at the boundaries of a grid of periods of frame-centre time.

    Period ``k`` is ``[origin + k·period, origin + (k + 1)·period)`` in ns since the epoch (or
    since the audio's start when it has no ``start_time``); ``origin`` is midnight of the first
    frame centre's day, as ``xarray``'s ``resample`` (``origin="start_day"``) places its bins.
    ``edges[j]:edges[j + 1]`` are the frames of the ``j``-th period from the first frame's; a
    period may hold no frame (periods shorter than the hop).
    """

    period: int  # ns
    first: int  # number of the first period (from `origin`)
    origin: int  # ns, on the time axis of `t0`
    edges: np.ndarray  # frame index edges, len = periods + 1

    @property
    def periods(self) -> int:
        return len(self.edges) - 1

    def labels_ns(self) -> np.ndarray:
        return self.origin + (self.first + np.arange(self.periods, dtype=np.int64)) * self.period


def _period_grid(frames: Frames, count: int, t0: int, period: int, absolute: bool) -> _PeriodGrid:
    c0 = t0 + int(_centre_ns(frames, 0))
    c1 = t0 + int(_centre_ns(frames, count - 1))
    origin = c0 // _DAY_NS * _DAY_NS if absolute else 0
    g0, g1 = (c0 - origin) // period, (c1 - origin) // period
    bounds = origin + np.arange(g0 + 1, g1 + 1, dtype=np.int64) * period - t0
    inner = _frames_before(frames, count, bounds)
    edges = np.concatenate([[0], inner, [count]]).astype(np.int64)
    return _PeriodGrid(period=period, first=int(g0), origin=origin, edges=edges)


def _audio_t0(audio: xr.DataArray) -> tuple[int, bool]:
    """ns since the epoch of the audio's first sample (``attrs["start_time"]``), or 0 and False."""
    start = audio.attrs.get("start_time")
    if start is None:
        return 0, False
    return int(parse_date(start, argument="audio.attrs['start_time']").value), True


def _period_means(psd: np.ndarray, edges: Sequence[int], db: bool) -> np.ndarray:
    """Mean over each stretch ``edges[j]:edges[j + 1]`` of frames of linear PSD (float64 sums,
    NaN frames left out, NaN where none), then dB if ``db``; float32 ``(periods, bins)``."""
    out = np.empty((len(edges) - 1, psd.shape[1]), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            seg = psd[a:b]
            bad = np.isnan(seg)
            if bad.any():
                total = np.where(bad, 0, seg).sum(axis=0, dtype=np.float64)
                mean = total / (b - a - bad.sum(axis=0))
            else:
                mean = seg.sum(axis=0, dtype=np.float64) / (b - a)  # NaN where b == a
            out[j] = 10 * np.log10(mean) if db else mean
    return out


def _dask_spectra(
    data: da.Array,
    frames: Frames,
    block_edges: np.ndarray,
    groups: list[tuple[int, ...]] | None = None,
    groups_key: object = None,
) -> da.Array:
    """The spectra of dask-backed audio: one task per block of frames.

    Block ``i`` holds frames ``block_edges[i]:block_edges[i + 1]`` (whole periods of frame-centre
    time, see :func:`_period_grid`); with ``groups``, its task returns the means over the
    stretches ``groups[i]`` (frame edges from the block's first frame) instead of the frames, so
    a per-period average is computed where the frames are and only the means leave the task;
    ``groups_key`` (what ``groups`` were made from) names them in the graph's token.
    A task carries its own pieces' offsets and the frame parameters (``Frames`` pickles as a
    hundred bytes; the window is rebuilt once per worker process), nothing shared by every task.

    Block ``i`` needs samples ``[start_i, stop_i)``, its first frame's start to its last frame's
    end (its own stretch plus ``nperseg - hop`` samples of the next). Its task takes the input
    chunks under those samples (one, or two or three where a file boundary, a gap or a chunk
    edge falls inside), slices and joins the pieces and computes the frames: no intermediate
    array, so a decoded chunk is freed once the blocks over it are done, and every frame is
    computed from the same samples as with numpy (the result is bit-identical for any chunking).

    The order of the blocks is set too. dask's threaded and synchronous schedulers start the
    input tasks in the order of ``dask.order``, which, among outputs otherwise alike, goes by
    their count of upstream tasks (``total_dependencies``): largest first when one task gathers
    every output (``.compute()``), smallest first otherwise. Blocks over a file boundary or a
    gap have more inputs than blocks inside a file, so with ONC's 300 ± 2 s files (tiny gap
    chunks between them) those blocks came first, each decoding the two files around it, which
    then waited for the blocks inside them: most files of the window were decoded before any
    was freed (6 GB peak for 24 h of 64 kHz audio). So each block also depends on *rank* tasks
    (no data): ``(rank, q)`` has exactly ``2**q`` upstream tasks and block ``i`` takes those of
    the bits of ``m - 1 - i`` plus what evens out its count of input chunks, so that its upstream
    count is ``1 + max inputs + m - 1 - i``, one less for each next block: ``dask.order`` takes
    the blocks in time order (or the reverse), each decoding only what its predecessor did not.
    """
    all_sizes = np.diff(block_edges)
    out_sizes = all_sizes if groups is None else np.array([len(g) - 1 for g in groups])
    filled = np.flatnonzero(all_sizes > 0)  # blocks with frames (others: periods without any)
    sizes = all_sizes[filled].tolist()
    first = np.asarray(block_edges[:-1], dtype=np.int64)[filled]
    start = first * frames.hop
    stop = (first + np.asarray(sizes, dtype=np.int64) - 1) * frames.hop + frames.nperseg
    bounds = np.cumsum((0, *data.chunks[0]), dtype=np.int64)
    lo = np.searchsorted(bounds, start, side="right") - 1  # the chunk holding `start`
    hi = np.searchsorted(bounds, stop, side="left")  # past the last chunk starting before `stop`
    # the input chunks under each block (`chunk[k]` for k in `offsets[i]:offsets[i + 1]`, empty
    # chunks left out) and the piece of each (`spans[k]`, in chunk offsets)
    lengths = np.diff(bounds)
    counts = hi - lo
    block = np.repeat(np.arange(len(sizes)), counts)
    chunk = lo[block] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = lengths[chunk] > 0
    block, chunk = block[keep], chunk[keep]
    spans = np.stack(
        [
            np.maximum(start[block], bounds[chunk]) - bounds[chunk],
            np.minimum(stop[block], bounds[chunk + 1]) - bounds[chunk],
        ],
        axis=1,
    )
    # A block taking part of a chunk depends on a *piece* task (the slice, run where the chunk
    # is): on dask.distributed a block computed on another worker than its chunk's then fetches
    # the piece (~4 MB a minute at 64 kHz) rather than a copy of the whole 77 MB file, which
    # doubled the decoded files held by 2 workers (threaded schedulers: a view, no copy).
    whole = (spans[:, 0] == 0) & (spans[:, 1] == lengths[chunk])
    # upstream tasks of each input (a chunk: 1, a piece: 2) and of each block's inputs
    cost = np.bincount(block, weights=np.where(whole, 1, 2), minlength=len(sizes)).astype(int)
    n_in = np.bincount(block, minlength=len(sizes))
    offsets = np.concatenate([[0], np.cumsum(n_in)])
    weight = (np.arange(len(sizes))[::-1] + (cost.max() - cost)).tolist()
    token = tokenize(
        data.name,
        frames.fs,
        frames.nperseg,
        frames.hop,
        frames.window,
        frames.psd_scale,
        frames.db_offset,
        (frames.bins.start, frames.bins.stop),
        frames.db,
        frames.detrend,
        block_edges,
        groups_key,
    )
    name, rank = f"spectrogram-{token}", f"spectrogram-rank-{token}"
    piece = f"spectrogram-piece-{token}"
    bits = max(weight).bit_length()
    # (rank, q) depends on (rank, 0) ... (rank, q - 1): 1 + (2**q - 1) upstream tasks
    layer: dict = {(rank, q): (_rank, *[(rank, p) for p in range(q)]) for q in range(bits)}
    # the rank keys of each value of 10 bits, per group of 10 bits (a year of blocks: 2 groups)
    tables = [
        [
            tuple((rank, g + q) for q in range(10) if v >> q & 1)
            for v in range(1 << min(10, bits - g))
        ]
        for g in range(0, bits, 10)
    ]
    chunk_keys = [(data.name, j) for j in range(len(lengths))]
    inputs: list = []
    pairs = zip(chunk.tolist(), whole.tolist(), spans.tolist(), strict=True)
    for k, (j, is_whole, (a, b)) in enumerate(pairs):
        if is_whole:
            inputs.append(chunk_keys[j])
        else:
            layer[(piece, k)] = (operator.getitem, chunk_keys[j], slice(a, b))
            inputs.append((piece, k))
    # what the block reader slices from its inputs: pieces are already cut
    spans = np.where(
        whole[:, None],
        spans,
        np.stack([np.zeros_like(spans[:, 0]), spans[:, 1] - spans[:, 0]], axis=1),
    )
    offsets_l = offsets.tolist()
    spans_l = [tuple(ab) for ab in spans.tolist()]
    nb = frames.bins.stop - frames.bins.start
    for i, w in enumerate(weight):
        keys = inputs[offsets_l[i] : offsets_l[i + 1]]
        ranks = tables[0][w & 1023] if tables else ()
        for g in range(1, len(tables)):
            ranks += tables[g][w >> 10 * g & 1023]
        j = int(filled[i])
        own = tuple(spans_l[offsets_l[i] : offsets_l[i + 1]])
        stretch = None if groups is None else groups[j]
        layer[(name, j, 0)] = (_block, frames, own, stretch, *keys, *ranks)
    for j in np.flatnonzero(all_sizes == 0).tolist():  # periods without a frame: NaN means
        layer[(name, j, 0)] = (_nan_block, int(out_sizes[j]), nb)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[data])
    chunks = (tuple(out_sizes.tolist()), (nb,))
    return da.Array(graph, name, chunks, meta=np.empty((0, 0), dtype=np.float32))


def _rank(*_: None) -> None:
    """A rank task (see :func:`_dask_spectra`): no data, only a place in dask's order."""


def _block(
    frames: Frames,
    spans: tuple[tuple[int, int], ...],
    groups: tuple[int, ...] | None,
    *chunks: np.ndarray,
) -> np.ndarray:
    """One output block from the input chunks under it (``spans``: the start and stop taken
    from each; the ranks' ``None`` after the chunks are ignored): its frames' spectra, or with
    ``groups`` the means over those stretches of its frames (:func:`_period_means`)."""
    parts = [c[a:b] for c, (a, b) in zip(chunks[: len(spans)], spans, strict=True)]
    x = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if groups is None:
        return frames.compute(x, workers=1)
    return _period_means(_linear(frames).compute(x, workers=1), groups, frames.db)


def _nan_block(rows: int, nb: int) -> np.ndarray:
    return np.full((rows, nb), np.nan, dtype=np.float32)


def _linear(frames: Frames) -> Frames:
    """The same frames in linear PSD (averages are taken in power, then converted to dB)."""
    if not frames.db:
        return frames
    spec = list(frames.spec)
    spec[7] = False  # db
    return build_frames(*spec)


def _frame_times(audio: xr.DataArray, frames: Frames, count: int) -> tuple[np.ndarray, dict]:
    """Frame centre times: on the audio's own time grid when it has one (exact, so they line up
    with ``audio.time``), else from ``attrs["start_time"]``, else seconds from the start."""
    index = audio.xindexes.get("time")
    if isinstance(index, TimeGridIndex):
        grid = index.transform
        centres = TimeGridTransform(
            grid.start + Fraction(frames.nperseg, 2) * grid.step, frames.hop * grid.step, count
        )
        ns = centres.labels_ns(np.arange(count, dtype=np.int64))
        return ns.view("datetime64[ns]"), {"long_name": "frame centre time (UTC)"}
    twice = 2 * np.arange(count, dtype="int64") * frames.hop + frames.nperseg  # 2 × centre
    q, r = np.divmod(twice, 2 * frames.fs)
    ns = q * 10**9 + (r * 10**9 + frames.fs) // (2 * frames.fs)
    start = audio.attrs.get("start_time")
    if "time" in audio.coords and audio["time"].dtype.kind == "M" and audio.sizes["time"]:
        t0 = int(audio["time"][0].values.astype("datetime64[ns]").view("int64"))
    elif start is None:
        return ns / 1e9, {"units": "s", "long_name": "frame centre, seconds from the start"}
    else:
        t0 = parse_date(start, argument="audio.attrs['start_time']").value
    return (t0 + ns).astype("datetime64[ns]"), {"long_name": "frame centre time (UTC)"}


def spectrogram(
    audio: xr.DataArray,
    win_dur: object = 1.0,
    overlap: float = 0.5,
    freq_lims: Sequence[float] | None = None,
    window: str | tuple = "hann",
    scaling: str = "density",
    db: bool = True,
    detrend: bool | str = False,
    *,
    workers: int | None = None,
    average: object = None,
) -> xr.DataArray:
    """Power spectral density of an audio window, frame by frame (or averaged per period).

    Parameters
    ----------
    audio
        1-D DataArray over ``time`` with attrs ``sample_rate`` and (for absolute times)
        ``start_time``, as from :func:`intake_onc.acoustics.windows.open_audio_files`; numpy or dask.
    win_dur
        Frame length, a duration: seconds (``0.25``), ``"250ms"``, ``"PT0.25S"``, a timedelta
        (``nperseg = round(win_dur · fs)``).
    overlap
        Fraction of a frame shared with the next (``noverlap = round(overlap · nperseg)``).
    freq_lims
        ``(fmin, fmax)`` in Hz: keep only the bins in between (inclusive).
    window, scaling, detrend
        As in :func:`scipy.signal.spectrogram` (``detrend=False``: none).
    db
        Return ``10·log10`` of the PSD (float32); NaN audio (gaps) gives NaN frames.
    workers
        Threads for numpy-backed audio: ``None`` (default) uses the CPUs available to the process
        (at most 8), ``1`` computes serially. Short audio (under ~0.5 M samples of frames per
        thread) and short frames (under ~1600 samples) are computed serially, where threads
        would not pay. The result is bit-identical whatever the number. Dask-backed audio uses
        one thread per block (dask's scheduler already runs blocks in parallel).
    average
        A duration (``"1min"``, ``60``, ``"PT1M"``, a timedelta; any length): return the mean
        spectrum of each period of that length instead of every frame. Periods are those of
        ``spec.resample(time=average)`` (left-closed, labelled by their start, from midnight of
        the first frame's day; from 0 s without ``start_time``), and a frame belongs to the
        period holding its centre. The mean is taken **in linear power** (PSD, NaN frames left
        out), then converted to dB when ``db`` is true: ``spectrogram(a, ..., average="1min")``
        equals ``10·log10(spectrogram(a, ..., db=False).resample(time="1min").mean())`` (the
        long-term spectrum as scipy's Welch average and ONC's averaged spectrograms take it;
        the mean of dB values, ``spectrogram(a, ...).resample(time="1min").mean()``, is a few
        dB lower for noise). With dask, each block's task averages its own frames, so only the
        means leave it (no rechunk, no frames held).

    Returns
    -------
    xarray.DataArray
        dims ``("time", "frequency")``: frame centres (UTC datetime64) and Hz; lazy when the
        audio is dask-backed, in chunks of the frames whose centres lie in one whole minute of
        time (1 s frames, 50 % overlap: 120; the first and last minutes may be partial),
        whatever the audio's chunks, so ``resample(time="1min")`` needs no rechunk. With
        ``average``, one row per period labelled by its start (attrs ``average``, ISO 8601, and
        ``cell_methods``), in chunks of whole periods (about a minute's worth, at least one).

    Notes
    -----
    On dask.distributed, workers inherit ``MALLOC_TRIM_THRESHOLD_=65536`` from dask's nanny,
    which turns glibc's adaptive thresholds off and made every FFT block's buffers fault back
    in (2.5× slower tasks). The frame engine sets glibc's mmap and trim thresholds with
    ``mallopt`` at first use in each process when such a variable is set (see
    :mod:`intake_onc.acoustics._stft`); nothing to configure.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray(np.zeros(8000, "float32"), dims="time",
    ...                  attrs={"sample_rate": 8000, "start_time": "2024-01-01T00:00:00Z"})
    >>> spectrogram(x + 0.1, win_dur=0.25).shape
    (7, 1001)
    """
    if not isinstance(audio, xr.DataArray) or audio.dims != ("time",):
        raise TypeError("audio: expected a 1-D DataArray over 'time' (see open_audio_files)")
    if "sample_rate" not in audio.attrs:
        raise ValueError("audio: attrs lack 'sample_rate'; set audio.attrs['sample_rate'] (Hz)")
    fs = int(audio.attrs["sample_rate"])
    n_workers = resolve_workers(workers)
    frames = make_frames(fs, win_dur, overlap, freq_lims, window, scaling, db, detrend)
    n = audio.sizes["time"]
    count = frames.n_frames(n)
    if count == 0:
        raise ValueError(
            f"win_dur: the audio ({n / fs:g} s) is shorter than one window ({win_dur} s)"
        )
    data = audio.data
    t0, absolute = _audio_t0(audio)
    period = None if average is None else duration_ns(average, argument="average")
    if period is not None and period <= 0:
        raise ValueError(f"average: expected a positive duration, got {average!r}")
    if period is None:
        times, time_attrs = _frame_times(audio, frames, count)
    else:
        grid = _period_grid(frames, count, t0, period, absolute)
        labels = grid.labels_ns()
        if absolute:
            times = labels.astype("datetime64[ns]")
            time_attrs = {"long_name": "start of the averaging period (UTC)"}
        else:
            times = labels / 1e9
            time_attrs = {"units": "s", "long_name": "start of the averaging period, seconds"}
    if isinstance(data, da.Array):
        if period is None:
            block = _period_grid(frames, count, t0, round(_DASK_BLOCK_SECONDS * _NS), absolute)
            values = _dask_spectra(data, frames, np.unique(block.edges))
        else:
            per = max(1, round(_DASK_BLOCK_SECONDS * _NS / period))  # periods per block
            cuts = np.unique(np.r_[np.arange(0, grid.periods, per), grid.periods])
            block_edges = grid.edges[cuts]
            groups = [
                tuple((grid.edges[a : b + 1] - grid.edges[a]).tolist())
                for a, b in zip(cuts[:-1], cuts[1:], strict=True)
            ]
            key = ("average", t0, absolute, period, grid.first, grid.periods)
            values = _dask_spectra(data, frames, block_edges, groups, key)
    elif period is None:
        values = frames.compute(data, workers=n_workers)
    else:
        psd = _linear(frames).compute(data, workers=n_workers)
        values = _period_means(psd, grid.edges.tolist(), frames.db)
    freqs = scipy.fft.rfftfreq(frames.nperseg, 1 / fs)[frames.bins]
    units = str(audio.attrs.get("units", "1"))
    ref = "FS" if units == "1" else units
    psd_units = f"{ref}²/Hz" if scaling == "density" else f"{ref}²"
    attrs = {
        "units": "dB" if db else ("1/Hz" if units == "1" else psd_units),
        "long_name": f"power spectral density (dB re 1 {psd_units})"
        if db
        else f"power spectral density ({psd_units})",
        "window": window if isinstance(window, str) else str(window),
        "win_dur": float(win_dur),
        "overlap": float(overlap),
        "nperseg": frames.nperseg,
        "noverlap": frames.nperseg - frames.hop,
        "scaling": scaling,
        "detrend": frames.detrend or "none",
        "sample_rate": fs,
        "bin_width_hz": fs / frames.nperseg,
        "bin_width_correction": "not needed (density)" if scaling == "density" else "none",
    }
    if period is not None:
        iso = format_iso_duration(pd.Timedelta(period, "ns"))
        attrs["average"] = iso
        attrs["cell_methods"] = f"time: mean (interval: {period / 1e9:g} s; linear power)"
        attrs["long_name"] = "mean " + attrs["long_name"]
    for key in ("device_code", "start_time", "end_time"):
        if key in audio.attrs:
            attrs[f"audio_{key}" if key != "device_code" else key] = audio.attrs[key]
    return xr.DataArray(
        values,
        dims=("time", "frequency"),
        coords={
            "time": ("time", times, time_attrs),
            "frequency": (
                "frequency",
                freqs,
                {"units": "Hz", "standard_name": "sound_frequency", "long_name": "frequency"},
            ),
        },
        attrs=attrs,
        name="psd",
    )


def plot_spectrogram(
    spec: xr.DataArray, path: str | os.PathLike, clim: Sequence[float] | None = None
) -> Path:
    """Save a spectrogram as a PNG: labelled axes, the colorbar's reference, and a colour scale
    from robust percentiles (1st to 99.5th) unless ``clim`` fixes it.

    Examples
    --------
    >>> plot_spectrogram(spec, "spec.png")  # doctest: +SKIP
    """
    from intake_onc.acoustics import plot

    plt = plot.require_matplotlib()
    ax = plot.plot_spectrogram(spec)
    if clim is not None:
        ax.collections[0].set_clim(*clim)
    target = Path(path)
    with atomic_path(target, mkdir=False) as tmp:
        ax.figure.savefig(tmp, format="png", dpi=100)
    plt.close(ax.figure)
    return target


@dataclass
class SpectrogramGenerator:
    """Spectrograms of many audio files with one set of parameters, saved as netCDF/PNG/MAT.

    The defaults fit a laptop: values as float32, only the frequencies in ``freq_lims``, written
    as zlib-compressed netCDF, and a PNG with a percentile colour scale. Measured for one
    5-minute 64 kHz file of the sandbox's soundscape (1-s Hann frames, 50 % overlap, all 32,001
    frequencies): ONC-layout MAT (float64, uncompressed) 153.6 MB; compressed float32 MAT
    (``save_mat=True``) 63.1 MB; compressed float32 netCDF (the default) 52.3 MB. With
    ``freq_lims=(10, 8000)``: MAT 15.8 MB, netCDF 13.1 MB. PNG 0.5 MB.

    Examples
    --------
    >>> gen = SpectrogramGenerator(win_dur=0.5, freq_lims=(10, 4000), clim=(-120, -60))
    >>> written = gen.process_directory("wavs/", "spectrograms/")  # doctest: +SKIP
    """

    win_dur: float = 1.0
    overlap: float = 0.5
    freq_lims: Sequence[float] | None = None
    clim: Sequence[float] | None = None

    def compute(self, audio: xr.DataArray) -> xr.DataArray:
        """The spectrogram of an audio window (lazy for dask-backed audio)."""
        return spectrogram(
            audio, win_dur=self.win_dur, overlap=self.overlap, freq_lims=self.freq_lims
        )

    def process_file(self, path: str | os.PathLike, start_time: object = None) -> xr.DataArray:
        """Spectrogram of one file (ONC-named, or with ``start_time`` given), computed."""
        from intake_onc.acoustics.windows import open_audio_files

        times = None if start_time is None else [start_time]
        return self.compute(open_audio_files([path], start_times=times)).compute()

    def process_directory(
        self,
        input_dir: str | os.PathLike,
        save_dir: str | os.PathLike,
        save_plot: bool = True,
        save_mat: bool = False,
        save_netcdf: bool = True,
    ) -> list[Path]:
        """Process every ``.flac``/``.wav`` of ``input_dir``; write ``<stem>-spect.*`` files.

        ``save_netcdf`` (default): compressed float32 netCDF; ``save_plot`` (default): PNG;
        ``save_mat``: MAT in ONC's ``SpectData`` layout, float32 and compressed (ONC's own files
        are float64 and uncompressed: 2.5 times larger). Returns the paths written. A progress
        bar shows on a terminal.
        """
        from intake_onc._core.progress import tqdm_class

        tqdm = tqdm_class()

        from intake_onc.acoustics.hsd import write_hsd_mat
        from intake_onc.acoustics.windows import _audio_paths

        out_dir = Path(save_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for path in tqdm(_audio_paths(input_dir), desc="spectrograms", unit="file", disable=None):
            spec = self.process_file(path)
            stem = out_dir / Path(path).stem
            if save_mat:
                comment = self._comment(spec)
                written.append(
                    write_hsd_mat(
                        spec, f"{stem}-spect.mat", comment=comment, dtype="float32", compress=True
                    )
                )
            if save_plot:
                written.append(plot_spectrogram(spec, f"{stem}-spect.png", clim=self.clim))
            if save_netcdf:
                written.append(_write_netcdf(spec, Path(f"{stem}-spect.nc")))
        return written

    def _comment(self, spec: xr.DataArray) -> str:
        a = spec.attrs
        return (
            f"intake-onc spectrogram: {a['window']} window, win_dur {a['win_dur']} s, "
            f"overlap {a['overlap']}, {a['scaling']}, {a['units']} ({a['long_name']})"
        )


def _write_netcdf(spec: xr.DataArray, target: Path) -> Path:
    """Write ``spec`` to the netCDF file ``target`` atomically (complete, or not at all)."""
    name = spec.name or "spectrogram"
    encoding = {name: {"dtype": "float32", "zlib": True, "complevel": 4, "shuffle": True}}
    with atomic_path(target, mkdir=False) as tmp:
        spec.rename(name).to_netcdf(tmp, encoding=encoding)
    return target
