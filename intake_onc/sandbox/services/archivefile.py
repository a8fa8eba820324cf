"""``archivefile/device``, ``archivefile/location`` and ``archivefile/download`` (onc-api.md §4).

The listing comes from :func:`intake_onc.sandbox.archive.listing.list_archive_files` (hydrophones:
audio, ``-spect.mat`` and ``-spect.png`` files; scalar devices have no archived files in the
sandbox) and the bytes from :func:`intake_onc.sandbox.archive.files.archive_file_bytes`, both
generated on demand and kept in small caches (listings by ``(device, dateFrom, dateTo)``; file
bytes under a byte budget).

Rules:

* Date filters apply to the file **start**: ``dateFrom <= file dateFrom < dateTo``; rows sorted by
  start time. Without dates: everything up to now.
* ``rowLimit`` (default and maximum 100,000) and ``page`` (1-based) paginate; ``next`` is
  ``{"parameters": {every parameter of the request, token included, with dateFrom/dateTo
  normalised to yyyy-MM-ddTHH:mm:ss.SSSZ, "page": "<n+1>", "rowLimit": "<L>"}, "url": ...}`` or
  null on the last page. The normalised ``dateTo`` pins "now", so later pages list the same files.
* ``fileExtension`` matches the last extension (``mat`` → ``-spect.mat``); ``dataProductCode``
  maps ``flac``/``wav`` to ``AD`` and ``mat``/``png`` to ``HSD`` (chosen).
* ``returnOptions=all`` gives dicts ``{archivedDate, compression, dataProductFormatId, dateFrom,
  dateTo, deviceCode, fileSize, filename, modifyDate, uncompressedFileSize}``;
  ``archiveLocation`` adds ``archiveLocation``. ``archivedDate``/``modifyDate`` are the file end
  plus 2 minutes, ``dataProductFormatId`` a fixed number per extension (both chosen).
* ``getLatest=true`` keeps only the latest file (chosen).
* ``archivefile/location`` with no deployment of the category in the range: 400/127 "not
  deployed"; ``archivefile/device`` outside its deployments: 200 with ``files: []`` (ONC's tests).
* The restricted device is refused (400/127 restricted-data message) for listings and downloads.
* Downloads: ``filename`` missing → 128; unknown → 96 "No file could be found."; 200 with the
  bytes, ``Content-Disposition: attachment; filename=<name>`` (unquoted, as the official client
  reads it) and ``Content-Length``. HEAD gives the same headers without the body. No Range
  support (UNCONFIRMED at ONC).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.sandbox.archive.pages import FORMAT_IDS, is_plain, listing_rows, page_json
from intake_onc.sandbox.observatory.tables import OBSERVATORY
from intake_onc.sandbox.products.context import SandboxContext
from intake_onc.sandbox.services import lookups, wire
from intake_onc.sandbox.services.wire import Query, Reply

__all__ = [
    "ArchiveState",
    "LRUCache",
    "by_device",
    "by_location",
    "content_type",
    "device_files",
    "device_files_by_kind",
    "download",
    "product_code_of_file",
]

_LIST_PARAMETERS = (
    "dateFrom",
    "dateTo",
    "dateArchivedFrom",
    "dateArchivedTo",
    "fileExtension",
    "dataProductCode",
    "returnOptions",
    "rowLimit",
    "page",
    "getLatest",
)
_JSON_TYPE = "application/json;charset=utf-8"  # what the handler sends with a JSON body
_CONTENT_TYPES = {
    "flac": "audio/flac",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "png": "image/png",
    "xml": "application/xml",
    "csv": "text/csv",
    "txt": "text/plain",
    "json": "application/json",
}


def content_type(filename: str) -> str:
    """The Content-Type the sandbox sends for a file name."""
    return _CONTENT_TYPES.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def product_code_of_file(filename: str) -> str:
    """The data product code an archived file belongs to (``AD``, ``HSD`` or ``""``)."""
    ext = filename.rsplit(".", 1)[-1].lower()
    if ext in ("flac", "wav", "mp3"):
        return "AD"
    if ext in ("mat", "png", "fft"):
        return "HSD"
    return ""


# ------------------------------------------------------------------------------------------------
# Caches
# ------------------------------------------------------------------------------------------------


class LRUCache:
    """A thread-safe LRU cache bounded by entry count and by total size (``sizeof(value)``).

    :meth:`get_or_create` computes a missing value once even when many threads ask at the same
    time ("single flight"); values larger than ``max_item`` are computed but not kept.
    """

    def __init__(
        self,
        max_entries: int = 64,
        max_bytes: int | None = None,
        sizeof: Callable[[Any], int] = lambda v: 1,
        max_item: int | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_item = max_item
        self.sizeof = sizeof
        self._data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._inflight: dict[Any, threading.Lock] = {}

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key][0]
        return None

    def put(self, key: Any, value: Any) -> None:
        size = self.sizeof(value)
        if self.max_item is not None and size > self.max_item:
            return
        with self._lock:
            if key in self._data:
                self._size -= self._data.pop(key)[1]
            self._data[key] = (value, size)
            self._size += size
            while self._data and (
                len(self._data) > self.max_entries
                or (self.max_bytes is not None and self._size > self.max_bytes)
            ):
                _, (_, old) = self._data.popitem(last=False)
                self._size -= old

    def get_or_create(self, key: Any, factory: Callable[[], Any]) -> tuple[Any, bool]:
        """``(value, created)``; ``created`` is True when this call computed the value."""
        value = self.get(key)
        if value is not None:
            return value, False
        with self._lock:
            flight = self._inflight.setdefault(key, threading.Lock())
        with flight:
            value = self.get(key)
            if value is not None:
                return value, False
            value = factory()
            self.put(key, value)
        with self._lock:
            self._inflight.pop(key, None)
        return value, True


def listing_nbytes(listing: Any) -> int:
    """Memory of a cached :class:`_Listing` (its numeric arrays): the cache's ``sizeof``."""
    return int(listing.compact.nbytes) + 1024


#: Default memory budget of the listing cache (bytes).
LISTING_CACHE_BYTES = 96 * 1024 * 1024


class ArchiveState:
    """Per-server caches of listings (bounded in bytes: ``listing_bytes``) and file bytes
    (``byte_budget``). A listing larger than half its budget is built for its request and not
    kept."""

    def __init__(
        self, byte_budget: int = 256 * 1024 * 1024, listing_bytes: int = LISTING_CACHE_BYTES
    ) -> None:
        self.listings = LRUCache(
            max_entries=32,
            max_bytes=listing_bytes,
            sizeof=listing_nbytes,
            max_item=listing_bytes // 2,
        )
        self.files = LRUCache(
            max_entries=4096, max_bytes=byte_budget, sizeof=len, max_item=byte_budget // 4
        )


def _state(sandbox: SandboxContext) -> ArchiveState:
    state = getattr(sandbox, "archive_state", None)
    if state is None:  # a bare object in tests
        state = ArchiveState()
        sandbox.archive_state = state
    return state


def _count(sandbox: SandboxContext, name: str, n: int = 1) -> None:
    stats = getattr(sandbox, "stats", None)
    if stats is not None:
        stats.incr(name, n)


def _archive_listing():
    from intake_onc.sandbox.archive import listing  # lazy: the audio side (scipy, soundfile)

    return listing


def _archive_cache():
    from intake_onc.sandbox.archive import files

    return files


def _ms(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.floor("ms")


# ------------------------------------------------------------------------------------------------
# Listing
# ------------------------------------------------------------------------------------------------


_COLUMNS = [
    "filename",
    "dateFrom",
    "dateTo",
    "fileSize",
    "uncompressedFileSize",
    "deviceCode",
    "archivedDate",
    "start_time",
    "end_time",
]


class _Listing(NamedTuple):
    """A cached device listing: :class:`~intake_onc.sandbox.archive.listing.CompactListing`
    (numbers: start, extension code, size; ~17 bytes a file, so even 100 years fit the cache)
    and whether its device code is :func:`is_plain` for JSON (its other strings always are)."""

    compact: Any
    plain: bool

    @property
    def ext_codes(self) -> np.ndarray:
        return self.compact.ext

    @property
    def ext_names(self) -> tuple[str, ...]:
        return _archive_listing().EXTENSIONS


def _device_listing(
    sandbox: SandboxContext, device_code: str, start: pd.Timestamp, end: pd.Timestamp
) -> _Listing:
    listing = _archive_listing()
    device = OBSERVATORY.device(device_code)
    if device.audio is None or end <= start:
        return _Listing(listing._empty_compact(device_code), is_plain([device_code]))
    start, end = _ms(start), _ms(end)
    seed = int(getattr(sandbox, "seed", 0))
    now = listing_now(sandbox)

    def build() -> _Listing:
        _count(sandbox, "archive_listings_generated")
        # Files with start in [start, end) (ms bounds), sorted by start then filename.
        compact = listing.compact_listing(device_code, start, end, seed=seed, now=now)
        return _Listing(compact, is_plain([device_code]))

    # "now" ends ongoing deployments: part of the key whenever the range reaches near it.
    now_key = now if now is None or end + pd.Timedelta(days=1) > now else None
    cached, _ = _state(sandbox).listings.get_or_create(
        (device_code, start, end, seed, now_key), build
    )
    return cached


#: With the real clock, "now" for listings moves in steps of this: a listing without
#: ``dateTo`` (ending at "now") is then the same cache entry for this long, not a new one per
#: request. The newest file of such a listing may appear up to this late.
LISTING_NOW_STEP = pd.Timedelta(minutes=5)


def listing_now(sandbox: SandboxContext) -> pd.Timestamp | None:
    """The "now" of archive listings: the sandbox's frozen ``now`` as it is, the real clock
    floored to :data:`LISTING_NOW_STEP`."""
    if not hasattr(sandbox, "now"):
        return None
    now = sandbox.now()
    if getattr(sandbox, "_now", None) is not None:  # frozen: exact
        return now
    return now.floor(LISTING_NOW_STEP)


def device_files(
    sandbox: SandboxContext, device_code: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Archived files of a device with ``start <= file start < end`` (sorted; the numbers are
    cached, the strings made for this call).

    Columns: ``filename``, ``dateFrom``/``dateTo``/``archivedDate`` (wire strings),
    ``fileSize``, ``uncompressedFileSize``, ``deviceCode``, ``start_time``/``end_time``
    (datetime64[ns]).
    """
    compact = _device_listing(sandbox, device_code, start, end).compact
    return compact.frame()[_COLUMNS]


class FileNumbers(NamedTuple):
    """A device's archived files as numbers, in listing order (start, then filename): each
    file's first and last sample (int64 ns), size, and extension code; ``extensions`` and
    ``products`` name each code (lower-case last extension, data product code)."""

    start_ns: np.ndarray
    end_ns: np.ndarray
    size: np.ndarray
    codes: np.ndarray
    extensions: tuple[str, ...]
    products: tuple[str, ...]


def device_files_by_kind(
    sandbox: SandboxContext, device_code: str, start: pd.Timestamp, end: pd.Timestamp
) -> FileNumbers:
    """The files of :func:`device_files` as numbers (no strings, no table: a device's whole
    archive is a few million files), with their extension and product per code."""
    listing = _device_listing(sandbox, device_code, start, end)
    compact = listing.compact
    products = tuple(product_code_of_file("." + e) for e in listing.ext_names)
    return FileNumbers(
        compact.start_ns,
        compact.end_ns(),
        compact.size,
        listing.ext_codes,
        tuple(listing.ext_names),
        products,
    )


def _selected(listing: _Listing, extension: str | None, product: str | None) -> np.ndarray:
    """Mask of the listing's files with that extension (``fileExtension``: the last one, any
    case) and data product (``dataProductCode``)."""
    ok = np.ones(len(listing.ext_names), dtype=bool)
    for i, ext in enumerate(listing.ext_names):
        if extension is not None and ext != extension.lower().lstrip("."):
            ok[i] = False
        if product is not None and product_code_of_file("." + ext) != product:
            ok[i] = False
    return ok[listing.ext_codes]


def by_device(q: Query, sandbox: SandboxContext) -> dict[str, Any] | Reply:
    """``GET /api/archivefile/device``."""
    q.allow("deviceCode", *_LIST_PARAMETERS)
    return _listing(q, sandbox, by_location=False)


def by_location(q: Query, sandbox: SandboxContext) -> dict[str, Any] | Reply:
    """``GET /api/archivefile/location``."""
    q.allow("locationCode", "deviceCategoryCode", *_LIST_PARAMETERS)
    return _listing(q, sandbox, by_location=True)


def _listing(q: Query, sandbox: SandboxContext, *, by_location: bool) -> dict[str, Any] | Reply:
    # Relative dates (dateFrom=-P1D) and the open end count from the listing's "now" (the
    # real clock in steps), so repeating a request reuses its cached listing.
    real_now, step_now = q.now, listing_now(sandbox)
    if step_now is not None:
        q.now = step_now
    start, end = q.dates(check_future=False)
    q.now = real_now
    if start is not None and start > real_now:
        raise wire.date_in_future()
    row_limit = q.row_limit()
    page = int(q.integer("page", 1, lo=1))
    return_option = q.choice("returnOptions", ("default", "all", "archiveLocation"), "default")
    get_latest = q.boolean("getLatest", False)
    archived_from, archived_to = _archived_dates(q)
    extension = q.get("fileExtension")
    product = (
        lookups.product_code_of(q.get("dataProductCode")) if q.has("dataProductCode") else None
    )

    sources = lookups.data_sources(
        q,
        by_location=by_location,
        start=start,
        end=end,
        product_code=q.get("dataProductCode") or "TSSD",  # named in the restricted message
        not_deployed_is_error=by_location,
    )
    lo_default = min(
        (dep.begin for _, deps in sources for dep in deps),
        default=pd.Timestamp("1970-01-01"),
    )
    lo = start if start is not None else lo_default
    hi = end if end is not None else (listing_now(sandbox) or q.now)
    lo, hi = _ms(lo), _ms(hi)

    # The selected files as numbers: which device (index into `listings`) and which row of
    # its cached listing; strings are made only for the rows of the page.
    listings: list[_Listing] = []
    part_rows: list[np.ndarray] = []
    for device, deps in sources:
        listing = _device_listing(sandbox, device.code, lo, hi)
        compact = listing.compact
        keep = np.ones(len(compact), dtype=bool)
        if by_location and len(compact):
            keep[:] = False
            for dep in deps:
                dep_end = dep.end if dep.end is not None else hi
                keep |= (compact.start_ns >= dep.begin.value) & (compact.start_ns < dep_end.value)
        # The extension and product filters are row-wise: applied to each device's files
        # (from the cached extensions) before the merge, they give the same rows in the same
        # order as after it.
        if extension is not None or product is not None:
            keep &= _selected(listing, extension, product)
        listings.append(listing)
        part_rows.append(np.flatnonzero(keep))
    dev, rows = _merged(listings, part_rows)

    if archived_from is not None or archived_to is not None:
        archived = _column(listings, dev, rows, lambda c, r: c.archived_ns(r))
        keep = np.ones(len(rows), dtype=bool)
        if archived_from is not None:
            keep &= archived >= pd.Timestamp(archived_from).value
        if archived_to is not None:
            keep &= archived < pd.Timestamp(archived_to).value
        dev, rows = dev[keep], rows[keep]
    if get_latest and len(rows):
        dev, rows = dev[-1:], rows[-1:]

    total = len(rows)
    first = (page - 1) * row_limit
    page_dev, page_rows = dev[first : first + row_limit], rows[first : first + row_limit]
    has_more = first + row_limit < total
    next_page = None
    if has_more:
        next_page = q.next_page(
            dateFrom=format_onc_date(lo),
            dateTo=format_onc_date(hi),
            page=page + 1,
            rowLimit=row_limit,
        )
    citations = [OBSERVATORY.citation(device.code, at=lo) for device, _ in sources]
    body = {
        "citations": citations,
        "files": [],
        "messages": [],
        "next": next_page,
        "queryUrl": q.url(),
        "returnOption": return_option,
    }
    columns = _page_columns(listings, page_dev, page_rows, names_only=return_option == "default")
    plain = all(listings[i].plain for i in np.unique(page_dev))
    text = page_json(body, columns, return_option) if plain else None
    if text is None:  # values JSON must escape: the general encoder
        frame = pd.DataFrame(
            {k: v.astype(str) if v.dtype.kind == "S" else v for k, v in columns.items()}
        )
        body["files"] = listing_rows(frame, return_option)
        return body
    return Reply(text, 200, {"Content-Type": _JSON_TYPE}, raw=True)


def _merged(listings: list[_Listing], part_rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(device index, row)`` of the selected files of all devices, sorted by start then
    filename. Files of two devices starting in the same ms have the same time stamp in their
    names, so their filename order is that of ``<device>_<stamp><suffix>`` for any one stamp."""
    dev = np.concatenate(
        [np.full(len(r), i, dtype=np.int16) for i, r in enumerate(part_rows)]
        or [np.zeros(0, np.int16)]
    )
    rows = np.concatenate(part_rows) if part_rows else np.zeros(0, np.int64)
    if len(part_rows) <= 1:
        return dev, rows
    starts = _column(listings, dev, rows, lambda c, r: c.start_ns[r])
    exts = _column(listings, dev, rows, lambda c, r: c.ext[r])
    suffixes = _archive_listing()._SUFFIXES
    names = [
        f"{listing.compact.device_code}_20000101T000000.000Z{suffix}"
        for listing in listings
        for suffix in suffixes
    ]
    rank = np.argsort(np.argsort(np.array(names), kind="stable"), kind="stable")
    order = np.lexsort((rank[dev.astype(np.int64) * len(suffixes) + exts], starts))
    return dev[order], rows[order]


def _column(
    listings: list[_Listing],
    dev: np.ndarray,
    rows: np.ndarray,
    get: Callable[[Any, np.ndarray], np.ndarray],
) -> np.ndarray:
    """``get(compact, rows)`` of each file's own listing, in the order of ``(dev, rows)``."""
    if len(listings) == 1:
        return get(listings[0].compact, rows)
    out = None
    for i, listing in enumerate(listings):
        mine = dev == i
        values = get(listing.compact, rows[mine])
        if out is None:
            out = np.empty(len(rows), dtype=values.dtype)
        out[mine] = values
    return out if out is not None else np.zeros(0, np.int64)


def _page_columns(
    listings: list[_Listing], dev: np.ndarray, rows: np.ndarray, *, names_only: bool
) -> dict[str, np.ndarray]:
    """The columns :func:`page_json` writes, for the rows of one page only: strings as
    numpy ``S`` arrays, numbers as int64."""
    names = ["filename"] if names_only else ["filename", "dateFrom", "dateTo", "archivedDate"]
    if len(listings) == 1:
        text = listings[0].compact.text(rows)
    else:
        text = {}
        for i, listing in enumerate(listings):
            mine = dev == i
            if not mine.any():
                continue
            part = listing.compact.text(rows[mine])
            for name in names:
                values = part[name]
                if name not in text or text[name].dtype.itemsize < values.dtype.itemsize:
                    old = text.get(name)
                    text[name] = np.zeros(len(rows), dtype=values.dtype)
                    if old is not None:
                        text[name][:] = old
                text[name][mine] = values
        for name in names:
            text.setdefault(name, np.zeros(len(rows), dtype="S1"))
    columns = {name: text[name] for name in names}
    if names_only:
        return columns
    codes = np.array([listing.compact.device_code for listing in listings] or [""], dtype="S")
    sizes = _column(listings, dev, rows, lambda c, r: c.size[r])
    exts = _column(listings, dev, rows, lambda c, r: c.ext[r].astype(np.int64))
    format_ids = np.array([FORMAT_IDS.get(e, 0) for e in _archive_listing().EXTENSIONS])
    columns.update(
        deviceCode=codes[dev] if len(listings) > 1 else codes[:1].repeat(len(rows)),
        fileSize=sizes.astype(np.int64),
        uncompressedFileSize=sizes.astype(np.int64),
        _format_id=format_ids[exts],
    )
    return columns


def _archived_dates(q: Query) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    from intake_onc._core.time import DateParseError, parse_date

    out = []
    for name in ("dateArchivedFrom", "dateArchivedTo"):
        text = q.get(name)
        if text is None:
            out.append(None)
            continue
        try:
            out.append(parse_date(text, argument=name))
        except DateParseError:
            raise wire.invalid_value(name) from None
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise wire.date_after_end()
    return out[0], out[1]


# ------------------------------------------------------------------------------------------------
# Download
# ------------------------------------------------------------------------------------------------


def file_bytes(sandbox: SandboxContext, filename: str) -> bytes:
    """The bytes of an archived file (cached); raises ONC's 96 when there is no such file."""
    device_code = filename.split("_", 1)[0]
    device = OBSERVATORY.devices.get(device_code)
    if device is not None and device.restricted:
        raise wire.restricted(device.code, product_code_of_file(filename) or "TSSD")
    if device is None or device.audio is None:
        raise wire.no_file()
    seed = int(getattr(sandbox, "seed", 0))
    now = sandbox.now() if hasattr(sandbox, "now") else None

    def build() -> bytes:
        try:
            data = _archive_cache().archive_file_bytes(filename, seed=seed, now=now)
        except (KeyError, ValueError, FileNotFoundError):
            raise wire.no_file() from None
        _count(sandbox, "archive_files_read")
        return bytes(data)

    data, _ = _state(sandbox).files.get_or_create((filename, seed), build)
    return data


def download(q: Query, sandbox: SandboxContext) -> Reply:
    """``GET|HEAD /api/archivefile/download?filename=``."""
    q.allow("filename")
    filename = q.require("filename")
    data = file_bytes(sandbox, filename)
    return Reply(
        data,
        200,
        {
            "Content-Type": content_type(filename),
            "Content-Disposition": f"attachment; filename={filename}",
        },
        raw=True,
    )
