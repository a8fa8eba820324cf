"""``open_audio`` and ``open_spectrogram``: ONC hydrophone data as lazy, dask-backed DataArrays.

How ``open_audio`` works
------------------------
Opening asks ONC three things: the device (is it a hydrophone?), its deployments (clear
:class:`~intake_onc.client.NotDeployedError` otherwise) and the archive listing of ``.flac`` and
``.wav`` files overlapping ``[start, end)`` (one listing per extension, every page). The file
table of :func:`intake_onc.acoustics.windows.audio_from_table` is built from the listing: each file is placed
by its own start time (ONC's names carry the first sample's time, jittered, unaligned) and holds
``round(duration × sample_rate)`` frames, ``duration`` being the listing's ``dateTo − dateFrom``
(300 s). The listing does not give the **sample rate**: it is ``sample_rate=`` when given (no
other request); otherwise the rate and bit depth remembered for the file's deployment and file
type (``<cache>/<server>/headers/<deviceCode>.json``, written the first time); only the **first
open of a device's deployment** reads a header: the first file of each run of one extension (the
cached copy when there is one, else a streamed request that reads only the first 64 KiB of the
file and closes; no file is downloaded). A rate that differs between two runs is an error
suggesting two calls; a file whose rate differs from the plan fails at compute with the same
advice.

Nothing else is fetched until compute: every dask task downloads its file through the client's
cache (atomic, lock-safe across threads and processes, never twice) and decodes only the frames it
needs (seek, then read). A file shorter than the listing says leaves NaN. Stretches no file covers
are NaN and show in :func:`intake_onc.acoustics.windows.coverage`; overlaps keep the earlier file's samples
(semantics.md).

How ``open_spectrogram`` works
------------------------------
``source="archive"`` (``downsample=1``): the ``-spect.mat`` listing, plus **one download at
open** (the first file starting inside the range) for the frequency axis and the column times
relative to a file's start (5 one-minute columns per 300-s file). The other files are assumed to
share that layout; each is one dask task that downloads and reads it, checks its frequency axis
(a different one is a clear error) and takes the columns nearest to the expected times (a missing
column gives a NaN row). ``source="product"`` (required for ``downsample=0``
full resolution and ``2`` plot resolution): an HSD MAT order is **placed, waited for and
downloaded at open** (the client's product cache keeps it, so reopening costs nothing), then the
files are read lazily the same way. Columns are kept when their centre time is in
``[start, end)``; where two files' columns collide in time the earlier file's are kept. Times
no file covers have no columns (the ``time`` axis jumps).

Both functions accept a ``client`` (default ``ONCClient()``); it pickles with the tasks, so a
``dask.distributed`` cluster on the same machine computes them (the product source reads files
from the local cache, so its workers must share that file system).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from intake_onc._core.citation import citation_attrs
from intake_onc._core.durations import duration_seconds
from intake_onc._core.tables import column_array
from intake_onc._core.time import DateParseError, format_onc_date, resolve_date_range
from intake_onc.acoustics.files import AUDIO_EXTENSIONS
from intake_onc.datasets._hydrophone_io import (
    ArchiveFetch,
    RemoteAudioLoader,
    column_plan,
    local_path,
    probe_audio_header,
    remember_header,
    remembered_header,
    spectrogram_array,
)

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = ["AUDIO_EXTENSIONS", "FILE_SECONDS", "open_audio", "open_spectrogram"]

#: Length of a file whose listing has no ``dateTo`` (ONC's hydrophone files are 300 s).
FILE_SECONDS = 300
_NS = 10**9
_CATEGORY = "HYDROPHONE"
_SOURCES = ("archive", "product")


# --------------------------------------------------------------------------- shared checks


def _range(start: object, end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    if start is None or end is None:
        raise ValueError("start, end: give both (e.g. '2023-01-01T00:10Z', '2023-01-01T00:20Z')")
    try:
        s, e = resolve_date_range(start, end, names=("start", "end"))
    except DateParseError as exc:
        raise ValueError(f"start/end: {exc}") from None
    if e <= s:
        raise ValueError(
            f"end: {format_onc_date(e)} is not after start {format_onc_date(s)}; "
            "give an end later than the start"
        )
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    if s >= now:
        raise ValueError(f"start: {format_onc_date(s)} is in the future; ONC has no data yet")
    return s, e


def _check_code(device_code: object) -> str:
    if not isinstance(device_code, str) or not device_code.strip():
        raise ValueError(
            f"device_code: expected a hydrophone's code such as 'ICLISTENHF6093', got "
            f"{device_code!r}"
        )
    return device_code.strip()


def _client(client: ONCClient | None) -> ONCClient:
    if client is None:
        from intake_onc.client import ONCClient

        client = ONCClient()
    return client


def _deployments(client: ONCClient, device_code: str, s: pd.Timestamp, e: pd.Timestamp) -> list:
    """Check that ``device_code`` is a hydrophone deployed in ``[s, e)``; its deployments there."""
    from intake_onc.client import InvalidParameterError

    hint = "find hydrophones with client.devices(device_category='HYDROPHONE')"
    try:
        devices = client.devices(device_code=device_code)
    except InvalidParameterError as exc:
        raise ValueError(f"device_code: ONC does not know {device_code!r}; {hint}") from exc
    if devices.empty:
        raise ValueError(f"device_code: ONC does not know {device_code!r}; {hint}")
    category = str(devices["deviceCategoryCode"].iloc[0]) if "deviceCategoryCode" in devices else ""
    if category.upper() != _CATEGORY:
        raise ValueError(
            f"device_code: {device_code} is a {category or 'device of unknown category'}, not a "
            f"{_CATEGORY}; audio and spectrograms exist only for hydrophones ({hint}; "
            "open_scalar reads scalar devices)"
        )
    return client.check_deployed(device_code, s, e)


# --------------------------------------------------------------------------- audio


def _audio_listing(client: ONCClient, device_code: str, s: pd.Timestamp, e: pd.Timestamp):
    """The ``.flac`` and ``.wav`` files overlapping ``[s, e)`` (one listing per extension, so
    ONC filters server-side), sorted, with an ``extension`` column."""
    frames = []
    for ext in AUDIO_EXTENSIONS:
        found = client.archive_files(device_code, s, e, extension=ext)
        if len(found):
            frames.append(found.assign(extension=ext))
    if not frames:
        return pd.DataFrame(columns=["filename", "start", "end", "extension"])
    if len(frames) == 1:  # archive_files sorts and drops repeats already
        return frames[0]
    files = pd.concat(frames, ignore_index=True).drop_duplicates("filename")
    return files.sort_values(["start", "filename"], kind="stable").reset_index(drop=True)


def _deployment_begin(deployments: Sequence[Any], when: pd.Timestamp) -> object:
    """The begin of the deployment holding ``when`` (None when none does)."""
    for d in deployments:
        if d.begin <= when and (d.end is None or when < d.end):
            return d.begin.isoformat()
    return None


def _file_rates(
    client: ONCClient,
    files: pd.DataFrame,
    sample_rate: int | None,
    device_code: str = "",
    deployments: Sequence[Any] = (),
) -> tuple[int, int | None, str, dict[int, int]]:
    """The window's sample rate, bit depth, where the rate came from, and exact frame counts
    known from headers (row -> frames).

    Per run of one file type: the facts remembered for that deployment (no request), else the
    header of the run's first file (cached copy, or a 64 KiB probe), then remembered."""
    if sample_rate is not None:
        return sample_rate, None, "argument", {}
    ext = files["extension"].to_numpy()
    firsts = np.flatnonzero(np.concatenate([[True], ext[1:] != ext[:-1]]))
    seen: list[tuple[int, Any, str]] = []
    for i in firsts.tolist():
        name = str(files["filename"].iat[i])
        begin = _deployment_begin(deployments, files["start"].iat[i])
        header = None
        if device_code and begin is not None:
            header = remembered_header(client, device_code, ext[i], begin)
        if header is None:
            header, _where = probe_audio_header(client, name)
            if device_code and begin is not None:
                remember_header(client, device_code, ext[i], begin, header, name)
        else:
            name = f"{name} (remembered for its deployment)"
        if header.channels != 1:
            raise ValueError(f"{name}: {header.channels} channels; only mono audio is read")
        seen.append((i, header, name))
    rates = [h.sample_rate for _, h, _ in seen]
    if len(set(rates)) > 1:
        j = next(k for k in range(1, len(rates)) if rates[k] != rates[0])
        when = format_onc_date(files["start"].iat[seen[j][0]])
        raise ValueError(
            f"start/end: the sample rate changes inside the range ({rates[0]} Hz, then "
            f"{rates[j]} Hz from {seen[j][2]} at {when}); open two windows, one ending and one "
            "starting at that time"
        )
    exact = {i: h.n_frames for i, h, _ in seen if h.n_frames}
    bits = {h.bit_depth for _, h, _ in seen}
    return rates[0], bits.pop() if len(bits) == 1 else None, f"header of {seen[0][2]}", exact


#: The shortest ``chunk`` of :func:`open_audio` (seconds), and the most chunks one window may have.
MIN_CHUNK_SECONDS = 1.0
MAX_CHUNKS = 1_000_000


def _check_audio_chunk(chunk: str | float, s: pd.Timestamp, e: pd.Timestamp) -> str | float:
    """Refuse chunks so short that dask would get one task per handful of samples."""
    if isinstance(chunk, str):
        return chunk
    if chunk < MIN_CHUNK_SECONDS:
        raise ValueError(
            f"chunk: {chunk:g} s is shorter than {MIN_CHUNK_SECONDS:g} s (a dask task per "
            f"{chunk:g} s of audio costs far more than reading it); use chunk='file' or a "
            "duration such as 60"
        )
    count = (e - s).total_seconds() / chunk
    if count > MAX_CHUNKS:
        raise ValueError(
            f"chunk: {chunk:g} s cuts [{format_onc_date(s)}, {format_onc_date(e)}) into "
            f"{count:.3g} chunks (more than {MAX_CHUNKS:.0e} dask tasks); use a longer chunk "
            "or chunk='file'"
        )
    return chunk


def open_audio(
    device_code: str,
    start: object,
    end: object,
    *,
    chunk: object = "file",
    sample_rate: int | None = None,
    client: ONCClient | None = None,
) -> xr.DataArray:
    """Open a hydrophone's archived audio ``[start, end)`` as a lazy float32 DataArray.

    Parameters
    ----------
    device_code
        A hydrophone, e.g. ``"ICLISTENHF6093"``.
    start, end
        The window, ``end`` exclusive, exact to the sample: ISO strings, datetimes, or ONC
        durations (``start="-PT1H"`` before now, ``end="PT10M"`` after ``start``).
    chunk
        ``"file"``: one dask chunk per file piece (and per uncovered stretch); a duration
        (seconds ``60``, ``"60s"``, ``"PT1M"``; not ``"60"``; at least 1 s, and at most a
        million chunks): chunks of that length (a chunk may read slices of two files). Both keep a spectrogram
        of many hours streaming (benchmarks/RESULTS.md: 24 h at 64 kHz peaks at 0.54 GB with
        ``"file"``, 0.40 GB with ``60``). To load a long window into memory (``.values``),
        ``60`` is lighter: with ``"file"`` every decoded file (77 MB at 64 kHz) and the result
        are alive at once before dask joins them.
    sample_rate
        Samples per second, when known: saves the header probe (and allows a window no file
        covers, which is all NaN). A file whose header says another rate fails at compute with
        a ``ValueError`` naming both rates and the file.
    client
        An :class:`~intake_onc.client.ONCClient` (default: ``ONCClient()``).

    Returns
    -------
    xarray.DataArray
        float32 full scale, dim ``time`` (UTC sample times, datetime64[ns], on an O(1)
        :class:`~intake_onc._core.time_index.TimeGridIndex`: selectable with ``sel``, no
        per-sample array stored); attrs ``start_time``, ``end_time``, ``sample_rate``, ``device_code``,
        ``location_code``, ``units`` (``"1"``), ``bit_depth`` (when a header was read),
        ``source`` (``"archive"``),
        ``sample_rate_from``, ``files_listed`` and the coverage record read by
        ``audio.onc.coverage()``.

    Raises
    ------
    ValueError
        A bad argument, a device that is not a hydrophone, no file in a deployed range, or a
        sample rate that changes inside the range (open two windows).
    NotDeployedError
        The hydrophone was not deployed in ``[start, end)``; the error lists its deployments.

    Examples
    --------
    >>> from intake_onc.datasets import open_audio
    >>> audio = open_audio("ICLISTENHF6093", "2023-01-01T00:10Z", "2023-01-01T00:20Z",
    ...                    client=client)  # doctest: +SKIP
    >>> audio.sizes["time"], audio.attrs["sample_rate"]  # doctest: +SKIP
    (4800000, 8000)
    >>> audio.onc.coverage(by="gap")  # doctest: +SKIP
    """
    from intake_onc.acoustics.clips import _ns_to_samples
    from intake_onc.acoustics.windows import audio_from_table, check_chunk

    device_code = _check_code(device_code)
    s, e = _range(start, end)
    chunk = _check_audio_chunk(check_chunk(chunk), s, e)
    if sample_rate is not None and (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise ValueError(
            f"sample_rate: expected a positive integer (Hz) or None, got {sample_rate!r}"
        )
    client = _client(client)
    hits = _deployments(client, device_code, s, e)
    files = _audio_listing(client, device_code, s, e)
    if files.empty and sample_rate is None:
        raise ValueError(
            f"start/end: {device_code} was deployed but ONC lists no audio file overlapping "
            f"[{format_onc_date(s)}, {format_onc_date(e)}) (a missing file, or too recent); "
            "widen the window, or pass sample_rate= to get an all-NaN window"
        )
    fs, bits, rate_from, exact = _file_rates(client, files, sample_rate, device_code, hits)
    if files.empty:  # all NaN: one empty placeholder row gives the plan its rate
        table = pd.DataFrame({"name": [""], "start": [s], "sample_rate": [fs], "n_frames": [0]})
    else:
        starts = files["start"].to_numpy("datetime64[ns]")
        ends = files["end"].to_numpy("datetime64[ns]")
        dur_ns = (ends - starts).astype("int64")
        dur_ns = np.where(np.isnat(ends), FILE_SECONDS * _NS, dur_ns)
        n_frames = _ns_to_samples(dur_ns, fs)
        for i, n in exact.items():
            n_frames[i] = n
        table = pd.DataFrame(
            {
                "name": column_array(files["filename"]),
                "start": starts,
                "sample_rate": fs,
                "n_frames": n_frames,
                "device_code": device_code,
            }
        )
        if bits is not None:
            table["bit_depth"] = bits
    loader = RemoteAudioLoader(client, fs, rate_given=sample_rate is not None)
    audio = audio_from_table(table, loader, s, e, chunk=chunk)
    audio.attrs.update(
        device_code=device_code,
        location_code=hits[0].location_code or "",
        source="archive",
        sample_rate_from=rate_from,
        files_listed=len(files),
        **citation_attrs(h.citation for h in hits),
    )
    return audio


# --------------------------------------------------------------------------- spectrograms


def _check_spectrogram_args(downsample: object, source: object, options: dict) -> str:
    if isinstance(downsample, bool) or downsample not in (0, 1, 2):
        raise ValueError(
            f"downsample: expected 1 (one-minute), 2 (plot resolution) or 0 (full resolution), "
            f"got {downsample!r}"
        )
    if source is None:
        source = "archive" if downsample == 1 else "product"
    if source not in _SOURCES:
        raise ValueError(f"source: expected 'archive' or 'product', got {source!r}")
    if source == "archive" and downsample != 1:
        raise ValueError(
            f"source: the archive holds one-minute spectrograms only (downsample=1); "
            f"downsample={downsample} exists as an HSD product: use source='product'"
        )
    if options and source != "product":
        raise TypeError(f"{sorted(options)}: order options apply to source='product' only")
    concat = options.get("dpo_spectrogramConcatenation", options.get("spectrogram_concatenation"))
    if concat not in (None, "None"):
        raise ValueError(
            "dpo_spectrogramConcatenation: open_spectrogram needs one MAT file per audio file "
            "(None); read concatenated products with open_hsd_files"
        )
    return str(source)


def _product_files(
    client: ONCClient,
    device_code: str,
    s: pd.Timestamp,
    e: pd.Timestamp,
    downsample: int,
    timeout: float | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Order, wait for and download the HSD MAT product; its files (``ref`` path, ``start``)."""
    from intake_onc.acoustics.files import parse_archive_filename

    # Every option this reader depends on is sent, never left to ONC's defaults (which
    # concatenate the files, and read channel H1 only): one MAT per audio file, channel H1
    # unless asked otherwise.
    options = {k: v for k, v in options.items() if k != "spectrogram_concatenation"}
    options.setdefault("dpo_spectrogramConcatenation", "None")
    options.setdefault("dpo_hydrophoneChannel", "H1")
    order = client.order(
        "HSD",
        "mat",
        device_code=device_code,
        start=s,
        end=e,
        dpo_spectralDataDownsample=downsample,
        wait=True,
        timeout=timeout,
        **options,
    )
    paths = [p for p in order.paths if str(p).lower().endswith(".mat")]
    if not paths:
        raise ValueError(f"source: the HSD order for {device_code} gave no MAT file ({order!r})")
    rows = []
    for p in paths:
        try:
            rows.append((str(p), parse_archive_filename(p).start))
        except ValueError as exc:
            raise ValueError(
                f"{p.name}: not named DEVICE_YYYYMMDDThhmmss.fffZ...; read it with open_hsd_files"
            ) from exc
    frame = pd.DataFrame(rows, columns=["ref", "start"]).sort_values("start", kind="stable")
    return frame.reset_index(drop=True)


def open_spectrogram(
    device_code: str,
    start: object,
    end: object,
    *,
    downsample: int = 1,
    source: str | None = None,
    bin_width_correction: bool = False,
    client: ONCClient | None = None,
    timeout: object = None,
    **order_options: Any,
) -> xr.DataArray:
    """Open a hydrophone's ONC spectrograms (HSD MAT) over ``[start, end)`` as a lazy DataArray.

    Parameters
    ----------
    device_code
        A hydrophone, e.g. ``"ICLISTENHF6093"``.
    start, end
        The range, ``end`` exclusive (a column is kept when its centre is inside).
    downsample
        ONC's ``dpo_spectralDataDownsample``: ``1`` one-minute averages (archived
        ``-spect.mat``), ``2`` plot resolution, ``0`` full resolution (products only).
    source
        ``"archive"`` (``-spect.mat`` files, ``downsample=1`` only; one file downloaded at
        open) or ``"product"`` (an HSD order placed, waited for and downloaded **at open**);
        default: ``"archive"`` for ``downsample=1``, else ``"product"``.
    bin_width_correction
        Add ``10·log10(1/Δf)`` dB to ONC's per-bin power to make it a density; off by default
        (values as found). Recorded in attrs.
    client
        An :class:`~intake_onc.client.ONCClient` (default: ``ONCClient()``).
    timeout
        How long the product order may take (``source="product"``): a duration (seconds,
        ``"30min"``, ``"PT30M"``, a timedelta).
    **order_options
        More HSD order options for ``source="product"`` (``dpo_hydrophoneChannel="H1"``...);
        concatenation is refused (one MAT per audio file is needed).

    Returns
    -------
    xarray.DataArray
        dims ``("time", "frequency")`` (column centres, UTC; Hz), dB, dask-backed, one chunk
        per file; attrs ``device_code``, ``location_code``, ``downsample``, ``resolution``,
        ``bin_width_correction``, ``bin_width_hz``, ``source``, ``start_time``, ``end_time``,
        ``files``, ``units``, ``long_name``, ``processing_comment`` and the first file's
        ``meta_*``.

    Raises
    ------
    ValueError
        A bad argument, a device that is not a hydrophone, no file in the range, or (at compute)
        a file whose frequency axis differs from the first one's.
    NotDeployedError
        The hydrophone was not deployed in ``[start, end)``.

    Examples
    --------
    >>> from intake_onc.datasets import open_spectrogram
    >>> psd = open_spectrogram("ICLISTENHF6093", "2023-01-01T00:00Z", "2023-01-01T01:00Z",
    ...                        client=client)  # doctest: +SKIP
    >>> psd.sizes  # doctest: +SKIP
    Frozen({'time': 60, 'frequency': 4001})
    >>> psd.sel(frequency=1000).idxmax("time").values  # doctest: +SKIP
    """
    from intake_onc.acoustics.hsd import DOWNSAMPLE_MODES, read_hsd_mat

    device_code = _check_code(device_code)
    s, e = _range(start, end)
    source = _check_spectrogram_args(downsample, source, order_options)
    if timeout is not None:
        timeout = duration_seconds(timeout, argument="timeout", allow_zero=True)
    if not isinstance(bin_width_correction, bool):
        raise ValueError(
            f"bin_width_correction: expected True or False, got {bin_width_correction!r}"
        )
    client = _client(client)
    hits = _deployments(client, device_code, s, e)
    if source == "archive":
        listing = client.archive_files(device_code, s, e, extension="-spect.mat")
        if listing.empty:
            raise ValueError(
                f"start/end: ONC lists no -spect.mat file of {device_code} overlapping "
                f"[{format_onc_date(s)}, {format_onc_date(e)}); widen the window"
            )
        refs = listing["filename"].astype(str).tolist()
        starts = listing["start"].to_numpy("datetime64[ns]").astype("int64")
        fetch: Any = ArchiveFetch(client)
    else:
        frame = _product_files(client, device_code, s, e, downsample, timeout, order_options)
        refs = frame["ref"].tolist()
        starts = frame["start"].to_numpy("datetime64[ns]").astype("int64")
        fetch = local_path
    # The layout comes from one file: the first starting inside the range (surely used), else
    # the last one (the range lies inside it). For the archive: the one download at open.
    inside = np.flatnonzero(starts >= s.value)
    pick = int(inside[0]) if len(inside) else len(refs) - 1
    first = read_hsd_mat(
        fetch(refs[pick]), bin_width_correction=bin_width_correction, downsample=downsample
    )
    offsets = first["time"].values.astype("datetime64[ns]").astype("int64") - starts[pick]
    step = int(np.median(np.diff(offsets))) if len(offsets) > 1 else FILE_SECONDS * _NS
    times, keep = column_plan(starts, offsets, s.value, e.value)
    if not keep.any():
        raise ValueError(
            f"start/end: no spectrogram column is centred in [{format_onc_date(s)}, "
            f"{format_onc_date(e)}) (columns are {step / _NS:g} s apart); widen the window"
        )
    token = (device_code, downsample, source, str(getattr(client, "base_url", "")))
    data, col_times, n_files = spectrogram_array(
        fetch, refs, times, keep, first, token, bin_width_correction, downsample, max(step // 2, 1)
    )
    attrs = {k: v for k, v in first.attrs.items() if k != "source_files"}
    bin_width = float(first.attrs.get("bin_width_hz", np.nan))
    attrs.update(
        device_code=device_code,
        location_code=hits[0].location_code or "",
        downsample=int(downsample),
        resolution=(
            f"{DOWNSAMPLE_MODES[int(downsample)]}: columns every {step / _NS:g} s, "
            f"{bin_width:g} Hz bins"
        ),
        source=source,
        start_time=format_onc_date(s),
        end_time=format_onc_date(e),
        files=n_files,
        **citation_attrs(h.citation for h in hits),
    )
    return xr.DataArray(
        data,
        dims=("time", "frequency"),
        coords={
            "time": (
                "time",
                col_times.astype("datetime64[ns]"),
                {"long_name": "column centre time (UTC)"},
            ),
            "frequency": ("frequency", first["frequency"].values, dict(first["frequency"].attrs)),
        },
        attrs=attrs,
        name="psd",
    )
