"""Hydrophone audio windows: many archive files assembled into one lazy float32 DataArray.

The assembly is shared by local files (:func:`open_audio_files`) and remote ones: a remote
source builds the same *file table* plus a *loader* that downloads, then calls
:func:`audio_from_table` (or :func:`plan_window` first, to learn which files it needs).
The rules (semantics.md, "Hydrophone audio"):

* sample ``i`` of a file is at ``file_start + i / fs``, placed at the nearest output sample;
* the window ``[start, end)`` is exact to the sample; stretches no file covers are NaN and are
  counted in the coverage record (:func:`intake_onc.acoustics.clips.coverage`), never closed up;
* where files overlap, the earlier file's samples are kept;
* dim ``time`` holds each sample's UTC time (``datetime64[ns]``, sample ``i`` at
  ``start_time + i/fs`` exact to the nanosecond) on an O(1)
  :class:`~intake_onc._core.time_index.TimeGridIndex`: no per-sample array is stored, yet
  ``audio.sel(time=slice("2024-04-01T00:10:30", "2024-04-01T00:11:00"))`` and
  ``audio.sel(time=t, method="nearest")`` work.

Examples
--------
>>> audio = open_audio_files("downloads/", "2024-04-01T00:00:00Z", "2024-04-01T00:10:00Z")  # doctest: +SKIP
>>> audio.onc.coverage(by="minute")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from intake_onc._core.durations import DurationError, duration_seconds
from intake_onc._core.paths import expand_paths
from intake_onc._core.tables import column_array, sorted_by_time_then_name
from intake_onc._core.time import parse_date
from intake_onc.acoustics.clips import (
    _NS,
    _coverage_attrs,
    _iso,
    _ns_to_samples,
    _sample_time,
    _time_coords,
)
from intake_onc.acoustics.files import (
    AUDIO_EXTENSIONS,
    AudioFileInfo,
    parse_archive_filename,
    read_frames,
    read_frames_into,
)

__all__ = [
    "REQUIRED_COLUMNS",
    "Loader",
    "WindowPlan",
    "audio_from_table",
    "load_local_file",
    "open_audio_files",
    "plan_window",
]

#: ``load(file_row, start_frame, n_frames) -> float32 array``. ``file_row`` is a dict of the file
#: table's columns for one file; the array may come back shorter (the rest is left NaN).
Loader = Callable[[Mapping[str, Any], int, int], np.ndarray]

#: Columns every file table needs; ``path``, ``device_code``, ``bit_depth``, ``channels`` and any
#: others are optional and handed to the loader as they are.
REQUIRED_COLUMNS = ("name", "start", "sample_rate", "n_frames")

#: Files are assumed shorter than this when deciding which headers to read (ONC's are 300 s).
MAX_FILE_DURATION = pd.Timedelta(days=1)


@dataclass(frozen=True)
class WindowPlan:
    """Where every sample of a window comes from; computed from file facts only.

    Attributes
    ----------
    start
        UTC time of output sample 0.
    sample_rate
        Samples per second.
    n_samples
        Length of the window in samples.
    files
        The table rows of the files that overlap the window, sorted by start time.
    pieces
        One row per file that contributes samples: ``file`` (row position in ``files``),
        ``name``, ``frame_start`` (first frame read from the file), ``sample_start`` and
        ``sample_stop`` (output positions, stop exclusive).
    device_code, bit_depth
        From the table when it has those columns (``None`` otherwise).
    """

    start: pd.Timestamp
    sample_rate: int
    n_samples: int
    files: pd.DataFrame
    pieces: pd.DataFrame
    device_code: str | None = None
    bit_depth: int | None = None

    @property
    def end(self) -> pd.Timestamp:
        """Time just after the last sample of the window."""
        return _sample_time(self.start, self.n_samples, self.sample_rate)

    @property
    def coverage_seconds(self) -> float:
        """Seconds of the window some file covers."""
        return (
            float((self.pieces["sample_stop"] - self.pieces["sample_start"]).sum())
            / self.sample_rate
        )


def _file_table(files: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame(files).reset_index(drop=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"files: the file table lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)}"
        )
    starts = pd.to_datetime(table["start"], utc=True).dt.tz_localize(None)
    table["start"] = starts.astype("datetime64[ns]")
    table["sample_rate"] = table["sample_rate"].astype("int64")
    table["n_frames"] = table["n_frames"].astype("int64")
    if (table["sample_rate"] <= 0).any():
        raise ValueError("files: every sample_rate must be a positive number of samples per second")
    if "channels" in table.columns and (table["channels"].fillna(1) > 1).any():
        names = list(table.loc[table["channels"] > 1, "name"][:3])
        raise ValueError(f"files: only mono audio is supported; {names} have several channels")
    return table


def _first(table: pd.DataFrame, column: str) -> Any:
    """First non-missing value of an optional column (``None`` when absent)."""
    if column not in table.columns:
        return None
    values = table[column].dropna()
    return values.iloc[0] if len(values) else None


def plan_window(
    files: pd.DataFrame | Sequence[Mapping[str, Any]], start: object = None, end: object = None
) -> WindowPlan:
    """Place files in the window ``[start, end)`` sample by sample, without reading any audio.

    Parameters
    ----------
    files
        The file table: columns ``name``, ``start`` (UTC time of the first sample),
        ``sample_rate``, ``n_frames``; optional ``device_code``, ``bit_depth``, ``channels``,
        ``path`` or anything a loader needs.
    start, end
        Window bounds (dates or strings, UTC); ``None``: the first file's start / the last
        file's end.

    Returns
    -------
    WindowPlan

    Raises
    ------
    ValueError
        When the table is empty or malformed, ``end <= start``, the files come from several
        devices, or the sample rate changes inside the window (open it as two windows).

    Examples
    --------
    >>> table = [{"name": "A_20240101T000000.000Z.flac", "start": "2024-01-01",
    ...           "sample_rate": 8000, "n_frames": 8000}]
    >>> plan_window(table, "2024-01-01T00:00:00.5Z").n_samples
    4000
    """
    table = _file_table(files)
    if table.empty:
        raise ValueError("files: no audio files to assemble; check the folder or the date range")
    file_ns = table["start"].to_numpy().astype("int64")
    fs_all = table["sample_rate"].to_numpy()
    end_ns = file_ns + (table["n_frames"].to_numpy() * _NS + fs_all - 1) // fs_all
    t0 = int(file_ns.min()) if start is None else parse_date(start, argument="start").value
    t1 = int(end_ns.max()) if end is None else parse_date(end, argument="end").value
    if t1 <= t0:
        raise ValueError(
            f"end: {_iso(pd.Timestamp(t1))} is not after start {_iso(pd.Timestamp(t0))}; "
            "give an end later than the start"
        )
    overlap = (file_ns < t1) & (end_ns > t0)
    used = table if overlap.all() else table[overlap]
    if not sorted_by_time_then_name(used, "start", "name"):
        used = used.sort_values(["start", "name"], kind="stable")
    used = used.reset_index(drop=True)
    rates = np.unique((used if len(used) else table)["sample_rate"].to_numpy())
    if len(rates) > 1 and used.empty:
        raise ValueError(
            "start/end: no file overlaps the window and the files have several sample rates "
            f"({', '.join(map(str, rates))} Hz); give a window some file covers"
        )
    if len(rates) > 1:
        first = used.loc[used["sample_rate"] != used["sample_rate"].iloc[0], "start"].iloc[0]
        raise ValueError(
            f"start/end: the sample rate changes inside the window ({', '.join(map(str, rates))} Hz,"
            f" at {_iso(first)}); open two windows, one ending and one starting at that time"
        )
    codes = used["device_code"].dropna().unique() if "device_code" in used.columns else []
    if len(codes) > 1:
        raise ValueError(f"files: audio from several devices ({list(codes)}); open each separately")
    fs = int(rates[0])
    n_samples = int(_ns_to_samples(t1 - t0, fs, "ceil"))
    offsets = _ns_to_samples(used["start"].to_numpy().astype("int64") - t0, fs)
    stops = offsets + used["n_frames"].to_numpy()
    covered = np.maximum.accumulate(np.concatenate([[0], stops]))[:-1]  # earlier files' reach
    p_start = np.clip(np.maximum(offsets, covered), 0, n_samples)
    p_stop = np.clip(stops, 0, n_samples)
    keep = np.flatnonzero(p_stop > p_start)
    pieces = pd.DataFrame(
        {
            "file": keep,
            "name": column_array(used["name"])[keep],
            "frame_start": (p_start - offsets)[keep],
            "sample_start": p_start[keep],
            "sample_stop": p_stop[keep],
        }
    )
    bits = _first(used, "bit_depth")
    return WindowPlan(
        start=pd.Timestamp(t0),
        sample_rate=fs,
        n_samples=n_samples,
        files=used,
        pieces=pieces,
        device_code=_first(used, "device_code"),
        bit_depth=None if bits is None else int(bits),
    )


class _WindowReader:
    """Reads the chunks of a window: the plan of every chunk, and what a dask task of one runs.

    The pieces of chunk ``i`` are rows ``offsets[i]:offsets[i + 1]`` of ``parts`` (``file`` row
    in ``files``, first ``frame`` read, ``n`` frames, written ``at`` in the chunk). The object
    itself never goes into the graph: :meth:`task` gives chunk ``i``'s task, which carries only
    the loader and its own pieces (a file's row dict each), so on dask.distributed a task
    message holds one chunk's few hundred bytes, not the table of every file (which was re-sent
    with every task: 45 KB a task for a day of files, 15.7 MB for a year).
    """

    def __init__(
        self,
        loader: Loader,
        files: pd.DataFrame,
        bounds: np.ndarray,
        offsets: np.ndarray,
        parts: np.ndarray,
    ) -> None:
        self.loader, self.files, self.bounds = loader, files, bounds
        self.offsets, self.parts = offsets, parts
        self._rows: list[dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return (
            f"<onc audio reader: {len(self.bounds) - 1} chunks, {len(self.files)} files, "
            f"loader {self.loader!r}>"
        )

    def pieces(self, i: int) -> tuple[tuple[dict[str, Any], int, int, int], ...]:
        """Chunk ``i``'s pieces: ``(file_row, first_frame, n_frames, at)``."""
        if self._rows is None:
            self._rows = self.files.to_dict("records")
        rows = self.parts[int(self.offsets[i]) : int(self.offsets[i + 1])].tolist()
        return tuple((self._rows[file], frame, n, at) for file, frame, n, at in rows)

    def length(self, i: int) -> int:
        return int(self.bounds[i + 1] - self.bounds[i])

    def task(self, i: int) -> tuple:
        return (_read_chunk, self.loader, self.length(i), self.pieces(i))

    def __call__(self, block_id: tuple[int, ...] = (0,)) -> np.ndarray:
        i = int(block_id[0])
        return _read_chunk(self.loader, self.length(i), self.pieces(i))


def _read_chunk(loader: Loader, length: int, pieces: Sequence[tuple]) -> np.ndarray:
    """One chunk of a window (the task of a dask chunk): its pieces decoded into one array."""
    out = np.empty(length, dtype=np.float32)
    _fill(loader, pieces, out)
    return out


def _fill(loader: Loader, pieces: Sequence[tuple], out: np.ndarray) -> None:
    """Decode ``pieces`` (sorted, disjoint) into ``out``; NaN wherever no sample lands.

    A loader with a ``read_into(row, start_frame, out) -> int`` attribute (as
    :func:`load_local_file`) decodes straight into ``out``; others return an array, copied in.
    """
    read_into = getattr(loader, "read_into", None)
    done = 0
    for row, frame, n, at in pieces:
        out[done:at] = np.nan
        if read_into is not None:
            got = int(read_into(row, frame, out[at : at + n]))
        else:
            data = np.asarray(loader(row, frame, n), dtype=np.float32)
            if data.ndim != 1:
                raise ValueError(
                    f"loader returned shape {data.shape} for {row['name']}; expected mono"
                )
            got = min(len(data), n)
            out[at : at + got] = data[:got]
        done = at + got
    out[done:] = np.nan


def check_chunk(chunk: object) -> str | float:
    """``chunk`` checked: ``"file"``, or a positive duration (``60``, ``"60s"``, ``"PT1M"``,
    a timedelta) as float seconds.

    Examples
    --------
    >>> check_chunk(60), check_chunk("2min")
    (60.0, 120.0)
    """
    if isinstance(chunk, str) and chunk.strip() == "file":
        return "file"
    try:
        return duration_seconds(chunk, argument="chunk")
    except DurationError as exc:
        raise type(exc)(f"chunk: expected 'file' or a positive duration; {exc}") from None


def _chunk_bounds(plan: WindowPlan, chunk: str | float) -> np.ndarray:
    n = plan.n_samples
    chunk = check_chunk(chunk)
    if isinstance(chunk, str):
        p = plan.pieces
        # pieces are sorted and disjoint, so 0, start, stop, start, stop..., n never decreases:
        # dropping repeats gives np.unique of them in O(n)
        edges = np.empty(2 * len(p) + 2, dtype=np.int64)
        edges[0], edges[-1] = 0, n
        edges[1:-1:2], edges[2:-1:2] = p["sample_start"].to_numpy(), p["sample_stop"].to_numpy()
        if (edges[1:] < edges[:-1]).any():  # not from plan_window: sort them
            edges = np.sort(edges)
        bounds = edges[np.concatenate([[True], edges[1:] != edges[:-1]])]
        longest = int(plan.files["n_frames"].max()) if len(plan.files) else 300 * plan.sample_rate
        step = max(longest, 1)
        # every stretch between two bounds, cut every `step` samples (np.arange per stretch)
        a, b = bounds[:-1], bounds[1:]
        counts = (b - a + step - 1) // step
        first = np.repeat(np.cumsum(counts) - counts, counts)
        cuts = np.repeat(a, counts) + (np.arange(int(counts.sum())) - first) * step
        return np.concatenate([cuts, [n]]).astype(np.int64)
    size = max(1, round(chunk * plan.sample_rate))
    return np.concatenate([np.arange(0, n, size), [n]])


def _dask_array(plan: WindowPlan, loader: Loader, chunk: str | float) -> da.Array:
    bounds = _chunk_bounds(plan, chunk)
    p = plan.pieces
    files, frames = p["file"].to_numpy("int64"), p["frame_start"].to_numpy("int64")
    starts, stops = p["sample_start"].to_numpy("int64"), p["sample_stop"].to_numpy("int64")
    a, b = bounds[:-1], bounds[1:]
    # the pieces of chunk i are first[i]:last[i] (pieces are sorted and disjoint)
    first = np.searchsorted(stops, a, side="right")
    counts = np.maximum(np.searchsorted(starts, b, side="left") - first, 0)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    chunk_of = np.repeat(np.arange(len(a)), counts)
    piece = first[chunk_of] + np.arange(offsets[-1]) - offsets[chunk_of]
    lo = np.maximum(starts[piece], a[chunk_of])
    hi = np.minimum(stops[piece], b[chunk_of])
    parts = np.stack(
        [files[piece], frames[piece] + lo - starts[piece], hi - lo, lo - a[chunk_of]], 1
    )
    reader = _WindowReader(loader, plan.files, bounds, offsets, parts)
    name = "onc-audio-" + tokenize(plan.files, plan.start, plan.n_samples, bounds, loader)
    layer = {(name, i): reader.task(i) for i in range(len(a))}
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[])
    return _AudioArray(graph, name, (tuple(np.diff(bounds).tolist()),), reader)


class _AudioArray(da.Array):
    """The dask array of a window, whose ``numpy.asarray`` (xarray's ``.values``) decodes every
    chunk straight into its slice of one result array, on threads.

    dask's ``compute`` holds every decoded chunk and then concatenates them: two copies of the
    window at the end, more while the threads run ahead (an hour at 64 kHz, 0.9 GB, peaked at
    4.6 GB). Here the result is allocated once and each file is decoded into its place
    (libsndfile writing float32 into it), so the peak is the result plus a few decoder buffers
    and the time is the decoding's. Only on dask's local schedulers (threads, sync); with a
    distributed client as the scheduler, or on any array derived from this one, dask computes
    as usual.
    """

    __slots__ = ("_reader",)

    def __new__(cls, graph: HighLevelGraph, name: str, chunks: tuple, reader: _WindowReader):
        self = super().__new__(
            cls, graph, name, chunks, dtype=np.float32, meta=np.empty(0, dtype=np.float32)
        )
        self._reader = reader
        return self

    def __reduce__(self) -> tuple:  # a plain dask array elsewhere (pickled graphs, persist)
        return da.Array, (self.dask, self.name, self.chunks, self.dtype)

    def __array__(self, dtype: Any = None, copy: Any = None, **kwargs: Any) -> np.ndarray:
        import dask.local
        import dask.threaded
        from dask.base import get_scheduler

        scheduler = get_scheduler(collections=[self])
        if scheduler not in (dask.threaded.get, dask.local.get_sync) or kwargs:
            return super().__array__(dtype, copy=copy, **kwargs)
        reader = self._reader
        out = np.empty(self.shape[0], dtype=np.float32)
        bounds = reader.bounds.tolist()

        def one(i: int) -> None:
            _fill(reader.loader, reader.pieces(i), out[bounds[i] : bounds[i + 1]])

        threads = 1
        if scheduler is dask.threaded.get:
            threads = dask.config.get("num_workers", None) or os.cpu_count() or 1
        count = len(bounds) - 1
        reader.pieces(0) if count else None  # build the row dicts once, before the threads
        if threads <= 1 or count <= 1:
            for i in range(count):
                one(i)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(threads, count)) as pool:
                list(pool.map(one, range(count)))  # chunks in order; errors raised here
        return out if dtype is None else out.astype(dtype, copy=False)


def audio_from_table(
    files: pd.DataFrame | Sequence[Mapping[str, Any]],
    loader: Loader,
    start: object = None,
    end: object = None,
    *,
    chunk: object = "file",
) -> xr.DataArray:
    """Assemble a lazy float32 audio window from a file table and a loader.

    Parameters
    ----------
    files
        The file table (see :func:`plan_window`).
    loader
        ``load(file_row, start_frame, n_frames) -> numpy.ndarray`` (float32, mono, full
        scale); called inside dask tasks, for only the frames each task needs. A remote source
        downloads in it; :func:`load_local_file` reads ``file_row["path"]``.
    start, end
        Window ``[start, end)``; ``None``: from the first file's start / to the last's end.
    chunk
        ``"file"``: one dask chunk per file piece (and per uncovered stretch); a duration
        (seconds ``60``, ``"60s"``, ``"PT1M"``; not ``"60"``): chunks of that length (a chunk may read slices of two files; lighter on memory when a
        long window is loaded at once, see :func:`intake_onc.open_audio`).

    Returns
    -------
    xarray.DataArray
        float32, dim ``time`` (UTC sample times, datetime64[ns], on an O(1) index), attrs ``start_time``,
        ``end_time`` (ISO 8601 UTC), ``sample_rate``, ``device_code``, ``units`` (``"1"``:
        full scale), ``bit_depth``, ``coverage_seconds`` and the per-file coverage record read
        by :func:`coverage`.

    Examples
    --------
    >>> table = [{"name": "A_20240101T000000.000Z.flac", "start": "2024-01-01",
    ...           "sample_rate": 10, "n_frames": 10}]
    >>> audio = audio_from_table(table, lambda row, i, n: np.ones(n, "float32"), end="2024-01-01T00:00:02Z")
    >>> int(audio.count()), audio.attrs["coverage_seconds"]
    (10, 1.0)
    """
    plan = plan_window(files, start, end)
    data = _dask_array(plan, loader, chunk)
    attrs: dict[str, Any] = {
        "start_time": _iso(plan.start),
        "end_time": _iso(plan.end),
        "sample_rate": plan.sample_rate,
        "device_code": plan.device_code or "",
        "units": "1",
        "long_name": "sound pressure (uncalibrated, full scale)",
    }
    if plan.bit_depth is not None:
        attrs["bit_depth"] = plan.bit_depth
    attrs.update(_coverage_attrs(plan.pieces, plan.sample_rate))
    coords = _time_coords(plan.n_samples, plan.sample_rate, plan.start)
    audio = xr.DataArray(data, coords=coords, dims="time")
    audio.attrs.update(attrs)
    audio.name = "audio"
    return audio


def load_local_file(row: Mapping[str, Any], start_frame: int, n_frames: int) -> np.ndarray:
    """The loader for files on disk: decode ``n_frames`` from ``row["path"]``.

    Examples
    --------
    >>> x = load_local_file({"path": "a.flac"}, 0, 10)  # doctest: +SKIP
    """
    return read_frames(row["path"], start_frame, n_frames)


def _read_local_into(row: Mapping[str, Any], start_frame: int, out: np.ndarray) -> int:
    """Decode ``len(out)`` frames of ``row["path"]`` into ``out``; the frames written."""
    return read_frames_into(row["path"], start_frame, out)


# windows decode local files straight into their output (see _fill)
load_local_file.read_into = _read_local_into  # type: ignore[attr-defined]


def _audio_paths(paths_or_directory: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    suffixes = tuple(f".{ext}" for ext in AUDIO_EXTENSIONS)
    return expand_paths(
        paths_or_directory, argument="paths_or_directory", suffixes=suffixes, what="audio files"
    )


def _start_times(paths: list[str], start_times: object) -> list[object]:
    if start_times is None:
        return [None] * len(paths)
    if isinstance(start_times, Mapping):
        by_key = {os.fspath(k): v for k, v in start_times.items()}
        return [by_key.get(p, by_key.get(os.path.basename(p))) for p in paths]
    times = list(start_times)
    if len(times) != len(paths):
        raise ValueError(
            f"start_times: got {len(times)} times for {len(paths)} files; give one per file, "
            "or a mapping from file name to start time"
        )
    return times


def open_audio_files(
    paths_or_directory: str | os.PathLike | Sequence[str | os.PathLike],
    start: object = None,
    end: object = None,
    *,
    chunk: object = "file",
    start_times: Sequence[object] | Mapping[str, object] | None = None,
) -> xr.DataArray:
    """Open local hydrophone files (FLAC/WAV) as one lazy audio window ``[start, end)``.

    Only headers are read here; samples are decoded when the result is computed, each dask
    task reading just the frames it needs.

    Parameters
    ----------
    paths_or_directory
        A folder (its ``.flac``/``.wav`` files), one file, or a list of files.
    start, end
        Window bounds (UTC dates or strings); ``None``: the whole span of the files.
    chunk
        ``"file"`` (one chunk per file piece) or a chunk length (seconds, ``"60s"``, ``"PT1M"``).
    start_times
        Start time of each file's first sample, for files not named the ONC way
        (``DEVICE_YYYYMMDDThhmmss.fffZ.ext``): a list in the order of the paths, or a mapping
        from file name (or path) to time. Overrides the time in ONC names.

    Returns
    -------
    xarray.DataArray
        See :func:`audio_from_table`.

    Examples
    --------
    >>> audio = open_audio_files("wavs/", "2024-04-01T00:01:00Z", "2024-04-01T00:02:00Z")  # doctest: +SKIP
    >>> audio.attrs["sample_rate"], audio.sizes["time"]  # doctest: +SKIP
    (8000, 480000)
    """
    paths = _audio_paths(paths_or_directory)
    given = _start_times(paths, start_times)
    t0 = None if start is None else parse_date(start, argument="start")
    t1 = None if end is None else parse_date(end, argument="end")
    rows = []
    for path, when in zip(paths, given, strict=True):
        if when is None:
            try:
                file_start = parse_archive_filename(path).start
            except ValueError as exc:
                raise ValueError(
                    f"start_times: {os.path.basename(path)!r} is not named the ONC way "
                    "(DEVICE_YYYYMMDDThhmmss.fffZ.ext); pass start_times= for such files"
                ) from exc
        else:
            file_start = parse_date(when, argument="start_times")
        if (t1 is not None and file_start >= t1) or (
            t0 is not None and file_start < t0 - MAX_FILE_DURATION
        ):
            continue  # cannot overlap the window: skip reading its header
        rows.append(AudioFileInfo.from_path(path, file_start).as_row())
    if not rows:
        raise ValueError(
            f"start/end: none of the {len(paths)} files starts in or just before the window; "
            "check the dates"
        )
    return audio_from_table(pd.DataFrame(rows), load_local_file, start, end, chunk=chunk)
