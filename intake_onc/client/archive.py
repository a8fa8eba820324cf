"""Archive files: list what ONC holds for a device, and download it through the cache.

ONC's ``archivefile`` service filters on a file's **start** time, so a file that starts before
``dateFrom`` but runs into the range is not listed. :meth:`ArchiveMixin.archive_files` asks
from a little earlier (``lookback``, 10 minutes by default, widened automatically when the files
turn out to be longer) and trims to the files that overlap ``[start, end)``.

Downloads go to the cache (``<cache>/<server>/archive/<filename>``), are size-checked against
ONC's listing and ``Content-Length``, and are never fetched twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from intake_onc._core.durations import parse_duration
from intake_onc._core.tables import sorted_by_time_then_name
from intake_onc._core.time import format_onc_date, resolve_date_range
from intake_onc.client._args import check_bool, check_int, check_str, check_strings
from intake_onc.client._http import _Retryable
from intake_onc.client._progress import DownloadSummary, run_parallel, summarize
from intake_onc.client.discovery import onc_params
from intake_onc.client.errors import CorruptFileError
from intake_onc.client.listing.table import files_frame, merge_files

__all__ = ["ArchiveMixin", "filter_extension", "source_and_range", "source_params"]

log = logging.getLogger("intake_onc.client")
T = TypeVar("T")


def source_params(
    device_code: str | None,
    location_code: str | None,
    device_category: str | None,
    *,
    what: str,
    property_code: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Check the data source and return ``("device" | "location", params)``.

    Exactly one source: ``device_code``, or ``location_code`` with ``device_category``.

    Examples
    --------
    >>> source_params("ICLISTENHF6093", None, None, what="archive_files")
    ('device', {'deviceCode': 'ICLISTENHF6093'})
    >>> source_params(None, "BACAX", "CTD", what="x")
    ('location', {'locationCode': 'BACAX', 'deviceCategoryCode': 'CTD'})
    """
    device_code = check_str(device_code, "device_code", example="ICLISTENHF6093", optional=True)
    location_code = check_str(location_code, "location_code", example="BACAX", optional=True)
    device_category = check_str(
        device_category, "device_category", example="HYDROPHONE", optional=True
    )
    if property_code is not None and not isinstance(property_code, str):
        property_code = ",".join(
            check_strings(property_code, "property_code", example="seawatertemperature") or []
        )
    if device_code and (location_code or device_category):
        raise ValueError(
            f"{what}: give either device_code, or location_code with device_category — not both"
        )
    if device_code:
        params: dict[str, Any] = {"deviceCode": device_code}
        if property_code:
            params["propertyCode"] = property_code
        return "device", params
    if location_code and (device_category or property_code):
        params = {"locationCode": location_code}
        if device_category:
            params["deviceCategoryCode"] = device_category
        if property_code:
            params["propertyCode"] = property_code
        return "location", params
    raise ValueError(
        f"{what}: say which data — device_code='ICLISTENHF6093', or location_code='CBCH.H3' "
        "with device_category='HYDROPHONE'"
    )


def source_and_range(
    what: str,
    device_code: str | None,
    location_code: str | None,
    device_category: str | None,
    start: Any,
    end: Any,
    *,
    property_code: str | Iterable[str] | None = None,
    join_property: bool = False,
) -> tuple[str, dict[str, Any], pd.Timestamp, pd.Timestamp]:
    """Check the time range and the data source of ``what``; ``(kind, params, start, end)``.

    ``start`` and ``end`` are both required (dates or ONC durations) and ``end`` must come
    after ``start``; the source is checked by :func:`source_params`. With ``join_property``
    a list or tuple ``property_code`` is joined with commas first (``scalar_data`` takes
    several properties).

    Examples
    --------
    >>> kind, params, s, e = source_and_range(
    ...     "x", "ICLISTENHF6093", None, None, "2024-04-01", "PT1H")
    >>> kind, params, str(e)
    ('device', {'deviceCode': 'ICLISTENHF6093'}, '2024-04-01 01:00:00')
    """
    if start is None or end is None:
        raise ValueError(f"{what}: give start and end (e.g. '2024-04-01', '2024-04-02')")
    kind, params = source_params(
        device_code, location_code, device_category, what=what, property_code=property_code
    )
    s, e = resolve_date_range(start, end, names=("start", "end"))
    if e <= s:
        raise ValueError(f"{what}: end ({e}) must be after start ({s})")
    return kind, params, s, e


def _check_filename(filename: Any) -> str:
    """Check ``filename`` is a non-blank string; return it stripped."""
    if not isinstance(filename, str) or not filename.strip():
        raise ValueError(
            f"filename: expected an ONC archive file name such as "
            f"'ICLISTENHF6093_20240401T000000.000Z.flac', got {filename!r:.80}"
        )
    return filename.strip()


def filter_extension(names: pd.Series, extension: str | Iterable[str] | None) -> pd.Series:
    """Boolean mask of file names with the extension(s).

    ``"flac"`` or ``".flac"`` match ``*.flac``; a value starting with ``-`` matches a suffix
    literally (``"-spect.mat"``). Several extensions may be given as a list.

    Examples
    --------
    >>> names = pd.Series(["a.flac", "a-spect.mat", "a-spect.png"])
    >>> filter_extension(names, "flac").tolist()
    [True, False, False]
    >>> filter_extension(names, ["-spect.mat", "png"]).tolist()
    [False, True, True]
    """
    if extension is None:
        return pd.Series(True, index=names.index)
    exts = [extension] if isinstance(extension, str) else list(extension)
    suffixes = tuple(e if e.startswith(("-", ".", "_")) else "." + e for e in exts)
    return names.astype(str).str.endswith(suffixes).astype(bool)


def _last_extension(extension: str | Iterable[str] | None) -> str | None:
    """The one final extension (``flac`` for ``"flac"``, ``mat`` for ``"-spect.mat"``) that
    ONC's server-side ``fileExtension`` filter can use, or None if there is not exactly one.

    Examples
    --------
    >>> _last_extension("-spect.mat"), _last_extension(["flac", "wav"]), _last_extension(None)
    ('mat', None, None)
    """
    if extension is None:
        return None
    exts = [extension] if isinstance(extension, str) else list(extension)
    lasts = {e.rsplit(".", 1)[-1].lstrip("-_.").lower() for e in exts}
    return lasts.pop() if len(lasts) == 1 and "" not in lasts else None


def _overlapping(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Files overlapping ``[start, end)``; a file without ``end`` counts as overlapping when it
    starts inside, or is the last one to start before ``start``."""
    known = frame["end"].notna()
    keep = (frame["start"] < end) & ((frame["end"] > start) & known)
    unknown = ~known & (frame["start"] < end)
    keep |= unknown & (frame["start"] >= start)
    before = frame.index[unknown & (frame["start"] < start)]
    if len(before):
        keep.loc[frame.loc[before, "start"].idxmax()] = True
    return _take(frame, keep)


def _has_duplicates(names: pd.Series) -> bool:
    """``names.duplicated().any()``. Names in strictly increasing order have no duplicates:
    with pandas' arrow strings that check takes 1 ms for a year's listing (in time order, so
    in name order), ``duplicated`` 11 ms."""
    if len(names) > 1 and names.dtype != object and not names.hasnans:
        values = names.array
        with contextlib.suppress(TypeError, ValueError):
            if bool(np.asarray(values[1:] > values[:-1], dtype=bool).all()):
                return False
    return bool(names.duplicated().any())


def _take(frame: pd.DataFrame, mask: Any) -> pd.DataFrame:
    """``frame[mask]`` for a boolean mask of its rows; no copy when every row is kept, a slice
    when the kept rows are one run (the usual case of a listing sorted by start)."""
    keep = np.asarray(mask, dtype=bool)
    if keep.all():
        return frame
    rows = np.flatnonzero(keep)
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return frame.iloc[rows[0] : rows[-1] + 1]
    return frame[keep]


class ArchiveMixin:
    """Archive-file methods of :class:`~intake_onc.client.ONCClient`."""

    def _list_files(self, service: str, params: dict[str, Any]) -> pd.DataFrame:
        # ``files`` read column by column when ONC sent its usual compact records
        data = self._core.get_all_pages(  # type: ignore[attr-defined]
            service, params, merge_files, columns="files"
        )
        return files_frame(data.get("files") if isinstance(data, dict) else None)

    def archive_files(
        self,
        device_code: str | None = None,
        start: Any = None,
        end: Any = None,
        *,
        location_code: str | None = None,
        device_category: str | None = None,
        extension: str | Iterable[str] | None = None,
        lookback: Any = "10min",
        **filters: Any,
    ) -> pd.DataFrame:
        """The archive files that overlap ``[start, end)``, oldest first.

        Parameters
        ----------
        device_code
            The device (``"ICLISTENHF6093"``); or give ``location_code`` and
            ``device_category`` instead.
        start, end
            The time range (``end`` exclusive); ISO strings, datetimes, or ONC durations
            (``start="-P1D"``, ``end="PT1H"``).
        extension
            Keep files ending with it: ``"flac"``, ``"wav"``, ``"-spect.mat"``, or a list.
        lookback
            How much earlier than ``start`` to ask ONC, to catch the file that starts before
            ``start`` and runs into it (widened automatically to the longest file seen): a
            duration (``"10min"``, ``"PT10M"``, ``600`` seconds, a timedelta).
        **filters
            More ONC filters (``date_archived_from``, ``data_product_code``, ``row_limit``...).

        Returns
        -------
        pandas.DataFrame
            ``filename``, ``start``, ``end`` (datetime64[ns] UTC), ``size``,
            ``uncompressed_size`` (bytes) and any further fields ONC sends.

        Examples
        --------
        >>> files = client.archive_files("ICLISTENHF6093", "2024-04-01T00:00",
        ...                              "2024-04-01T01:00", extension="flac")  # doctest: +SKIP
        >>> files[["filename", "start", "size"]].head(2)  # doctest: +SKIP
        """
        extension = check_strings(extension, "extension", example="flac", optional=True)
        back = parse_duration(lookback, argument="lookback", allow_zero=True)
        kind, params, s, e = source_and_range(
            "archive_files", device_code, location_code, device_category, start, end
        )
        service = f"archivefile/{kind}"
        base = {**params, **onc_params(filters), "returnOptions": "all"}
        last = _last_extension(extension)
        if last is not None:  # let ONC drop the other files (a year: 3x fewer rows)
            base.setdefault("fileExtension", last)
        query = {**base, "dateFrom": format_onc_date(s - back), "dateTo": format_onc_date(e)}
        frame = self._list_files(service, query)
        if len(frame) and frame["end"].notna().any():
            longest = (frame["end"] - frame["start"]).max()
            if pd.notna(longest) and longest > back:
                earlier = {
                    **base,
                    "dateFrom": format_onc_date(s - longest),
                    "dateTo": format_onc_date(s - back),
                }
                frame = pd.concat([self._list_files(service, earlier), frame], ignore_index=True)
        if len(frame):
            frame = _take(frame, filter_extension(frame["filename"], extension))
            frame = _overlapping(frame, s, e)
            if _has_duplicates(frame["filename"]):
                frame = frame.drop_duplicates("filename")
            if not sorted_by_time_then_name(frame, "start", "filename"):
                frame = frame.sort_values(["start", "filename"], kind="stable")
        return frame.reset_index(drop=True)

    # -- downloads --------------------------------------------------------------------------
    def _download_one(
        self, filename: str, sizes: tuple[Any, ...] = (), overwrite: bool = False
    ) -> tuple[Path, int | None]:
        core = self._core  # type: ignore[attr-defined]
        cache = self.cache  # type: ignore[attr-defined]
        path = cache.archive_path(core.host_key, filename)
        fetched: list[int] = []
        clean_sizes = [int(s) for s in sizes if s is not None and not pd.isna(s)]

        def fetch(tmp: Path) -> None:
            _, size = core.download(
                "archivefile/download",
                {"filename": filename},
                dest=tmp,
                expected_sizes=clean_sizes,
                atomic=False,
            )
            fetched.append(size)

        path, downloaded = cache.fetch(
            path, fetch, expected_size=clean_sizes or None, overwrite=overwrite
        )
        return path, (fetched[-1] if downloaded and fetched else None)

    def read_head(self, filename: str, nbytes: int = 65536) -> bytes:
        """The first ``nbytes`` of an archive file, without downloading the rest.

        A streamed ``archivefile/download`` GET that is closed once ``nbytes`` have arrived
        (ONC has no Range support to rely on); nothing is written to disk and the cache is not
        consulted. Like every request, it is retried as the client's policy says and its URL
        is shown with ``token=***``. A file shorter than ``nbytes`` gives all of it.

        Examples
        --------
        >>> head = client.read_head("ICLISTENHF6093_20230101T001001.315Z.flac", 4096)  # doctest: +SKIP
        >>> head[:4]  # doctest: +SKIP
        b'fLaC'
        """
        name = _check_filename(filename)
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
            raise ValueError(f"nbytes: expected a positive number of bytes, got {nbytes!r}")

        def read(resp: Any) -> bytes:
            out = bytearray()
            try:
                for chunk in resp.raw.stream(min(nbytes, 65536), decode_content=True):
                    out += chunk
                    if len(out) >= nbytes:
                        break
            except Exception as exc:  # urllib3 ProtocolError, ReadTimeoutError, ...
                raise _Retryable(
                    f"connection broke after {len(out)} bytes of {filename} ({type(exc).__name__})",
                    download=True,
                ) from None
            return bytes(out[:nbytes])

        return self._core.request(  # type: ignore[attr-defined]
            "archivefile/download",
            {"filename": name},
            read=read,
            stream=True,
            headers={"Accept-Encoding": "identity"},
        )

    def download(self, filename: str, *, overwrite: bool = False) -> Path:
        """Download one archive file (through the cache) and return its local path.

        A file already in the cache is not downloaded again (``overwrite=True`` forces it).

        Examples
        --------
        >>> path = client.download("ICLISTENHF6093_20240401T000000.000Z.flac")  # doctest: +SKIP
        """
        check_bool(overwrite, "overwrite")
        return self._download_one(_check_filename(filename), overwrite=overwrite)[0]

    def read_verified(
        self,
        filename: str,
        reader: Callable[[Path], T],
        *,
        damaged: tuple[type[BaseException], ...] = (ValueError, EOFError, OSError),
    ) -> T:
        """``reader(path)`` of archive file ``filename``, through the cache, verified on read.

        The cache checks sizes; a file damaged in place (same size) is only found out when it
        is decoded. When ``reader`` raises one of ``damaged`` (a decode or parse failure), the
        cached copy is evicted (unless another reader already replaced it), fetched once more
        and read again. If that fails too, :class:`~intake_onc.client.errors.CorruptFileError`
        names ONC's file name and the cache path, and the unreadable copy is evicted, so a later
        call fetches it anew. Download errors are not caught.

        Examples
        --------
        >>> import soundfile as sf  # doctest: +SKIP
        >>> info = client.read_verified("ICLISTENHF6093_20230101T001001.315Z.flac", sf.info,
        ...                             damaged=(sf.SoundFileError,))  # doctest: +SKIP
        """
        name = _check_filename(filename)
        cache = self.cache  # type: ignore[attr-defined]
        path = self._download_one(name)[0]
        seen = os.stat(path)
        try:
            return reader(path)
        except damaged as exc:
            log.warning(
                "%s: the cached copy %s cannot be read (%s: %s); fetching it again",
                name,
                path,
                type(exc).__name__,
                exc,
            )
            cache.evict(path, seen)
        path = self._download_one(name)[0]
        seen = os.stat(path)
        try:
            return reader(path)
        except damaged as exc:
            cache.evict(path, seen)
            raise CorruptFileError(
                f"{name}: cannot be read ({type(exc).__name__}: {exc}); the cached copy {path} "
                "was evicted and fetched again from ONC, and the new copy is unreadable too "
                "(it may be damaged at ONC; the next read fetches it once more)",
                filename=name,
                path=str(path),
            ) from exc

    def download_files(
        self,
        files: pd.DataFrame | Iterable[str],
        *,
        workers: int | None = None,
        progress: bool | None = None,
        overwrite: bool = False,
        raise_errors: bool = False,
    ) -> DownloadSummary:
        """Download many archive files in parallel (through the cache).

        Parameters
        ----------
        files
            File names, or a frame from :meth:`archive_files` (its ``size`` columns are then
            used to verify each file).
        workers
            Parallel downloads (default: the client's ``workers``).
        progress
            Show a progress bar (default: only when stderr is a terminal and the client is not
            quiet).
        raise_errors
            Raise :class:`~intake_onc.client.errors.DownloadError` if any file failed; by
            default failures are reported in the summary and the rest still download.

        Returns
        -------
        DownloadSummary
            ``paths`` (in the order given), ``files``, ``downloaded``, ``cached``, ``bytes``,
            ``seconds``, ``errors``.

        Examples
        --------
        >>> files = client.archive_files("ICLISTENHF6093", "2024-04-01", "2024-04-01T02:00",
        ...                              extension="flac")  # doctest: +SKIP
        >>> print(client.download_files(files))  # doctest: +SKIP
        24 files: 24 downloaded (7.2 MB, 40.1 MB/s), 0 from cache, 0 errors, 0.18 s
        """
        check_int(workers, "workers", minimum=1, optional=True)
        check_bool(progress, "progress", optional=True)
        check_bool(overwrite, "overwrite")
        check_bool(raise_errors, "raise_errors")
        if isinstance(files, pd.DataFrame):
            if "filename" not in files.columns:
                raise ValueError("files: a DataFrame needs a 'filename' column (archive_files)")
            cols = [c for c in ("size", "uncompressed_size") if c in files.columns]
            items = [
                (row[0], tuple(row[1:]))
                for row in files[["filename", *cols]].itertuples(index=False, name=None)
            ]
        elif isinstance(files, str):
            raise TypeError("files: expected a list of file names; use download() for one file")
        elif isinstance(files, (bytes, bytearray, dict)) or not isinstance(files, Iterable):
            raise TypeError(
                "files: expected a list of archive file names or a frame from archive_files(), "
                f"got {type(files).__name__} {files!r:.60}"
            )
        else:
            items = []
            for name in files:
                if not isinstance(name, str) or not name.strip():
                    raise TypeError(
                        "files: expected archive file names (strings) such as "
                        f"'ICLISTENHF6093_20240401T000000.000Z.flac', got {name!r:.60}"
                    )
                items.append((name.strip(), ()))
        started = time.perf_counter()
        fetched = [0]

        def show_bytes(outcome: Any, bar: Any) -> None:
            if outcome.ok and outcome.result[1]:
                fetched[0] += outcome.result[1]
                bar.set_postfix_str(f"{fetched[0] / 1e6:.1f} MB")

        outcomes = run_parallel(
            lambda item: self._download_one(item[0], item[1], overwrite),
            items,
            workers=workers or self.workers,  # type: ignore[attr-defined]
            progress=self._progress if progress is None else progress,  # type: ignore[attr-defined]
            desc="downloading",
            unit="file",
            on_done=show_bytes,
        )
        summary = summarize([n for n, _ in items], outcomes, time.perf_counter() - started)
        log.info("archive downloads: %s", summary)
        if raise_errors:
            summary.raise_for_errors()
        return summary

    def download_archive(
        self,
        device_code: str | None = None,
        start: Any = None,
        end: Any = None,
        *,
        extension: str | Iterable[str] | None = None,
        workers: int | None = None,
        progress: bool | None = None,
        **kwargs: Any,
    ) -> DownloadSummary:
        """:meth:`archive_files` then :meth:`download_files`, in one call.

        Examples
        --------
        >>> summary = client.download_archive("ICLISTENHF6093", "2024-04-01",
        ...                                   "2024-04-01T01:00", extension="flac")  # doctest: +SKIP
        >>> summary.paths[:1]  # doctest: +SKIP
        """
        check_int(workers, "workers", minimum=1, optional=True)
        check_bool(progress, "progress", optional=True)
        files = self.archive_files(device_code, start, end, extension=extension, **kwargs)
        return self.download_files(files, workers=workers, progress=progress)
