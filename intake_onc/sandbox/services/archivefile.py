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
    """Approximate memory of a cached :class:`_Listing` (its frame, object strings included,
    and its extension codes): the cache's ``sizeof``. Strings of one column have one length
    here, so each column is costed from its first value (no pass over the rows)."""
    import sys

    frame = listing.frame
    n = len(frame)
    total = int(getattr(listing.ext_codes, "nbytes", 0))
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            first = column.iat[0] if n else None
            total += n * (8 + (sys.getsizeof(first) if first is not None else 0))
        else:
            total += int(column.to_numpy().nbytes)
    return total + 1024


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


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "filename": pd.Series([], dtype=object),
            "dateFrom": pd.Series([], dtype=object),
            "dateTo": pd.Series([], dtype=object),
            "fileSize": pd.Series([], dtype="int64"),
            "uncompressedFileSize": pd.Series([], dtype="int64"),
            "deviceCode": pd.Series([], dtype=object),
            "archivedDate": pd.Series([], dtype=object),
            "start_time": pd.Series([], dtype="datetime64[ns]"),
            "end_time": pd.Series([], dtype="datetime64[ns]"),
        }
    )


class _Listing(NamedTuple):
    """A cached device listing with what the listing pages need of it: the lower-cased last
    extension of each file (``ext_names[ext_codes[i]]``), so that filtering by extension
    costs no string work, and whether all its strings are :func:`_plain` for JSON."""

    frame: pd.DataFrame
    ext_codes: np.ndarray
    ext_names: tuple[str, ...]
    plain: bool


def _with_extensions(frame: pd.DataFrame) -> _Listing:
    names = frame["filename"].tolist()
    exts = [name.rsplit(".", 1)[-1].lower() if isinstance(name, str) else None for name in names]
    codes, uniques = pd.factorize(np.array(exts, dtype=object), use_na_sentinel=True)
    plain = all(
        is_plain(frame[c].tolist() if c != "filename" else names)
        for c in ("filename", "archivedDate", "dateFrom", "dateTo", "deviceCode")
    )
    return _Listing(frame, codes, tuple(uniques.tolist()), plain)


def _device_listing(
    sandbox: SandboxContext, device_code: str, start: pd.Timestamp, end: pd.Timestamp
) -> _Listing:
    device = OBSERVATORY.device(device_code)
    if device.audio is None or end <= start:
        return _with_extensions(_empty())
    start, end = _ms(start), _ms(end)
    seed = int(getattr(sandbox, "seed", 0))
    now = listing_now(sandbox)

    def build() -> _Listing:
        _count(sandbox, "archive_listings_generated")
        # Already as the pages need it: files with start in [start, end) (ms bounds), sorted
        # by start then filename, string dates, int64 sizes, datetime64[ns] times.
        frame = _archive_listing().list_archive_files(device_code, start, end, seed=seed, now=now)
        if len(frame) == 0:
            return _with_extensions(_empty())
        return _with_extensions(frame[_COLUMNS])

    # "now" ends ongoing deployments: part of the key whenever the range reaches near it.
    now_key = now if now is None or end + pd.Timedelta(days=1) > now else None
    listing, _ = _state(sandbox).listings.get_or_create(
        (device_code, start, end, seed, now_key), build
    )
    return listing


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
    """Archived files of a device with ``start <= file start < end`` (sorted; cached).

    Columns: ``filename``, ``dateFrom``/``dateTo``/``archivedDate`` (wire strings),
    ``fileSize``, ``uncompressedFileSize``, ``deviceCode``, ``start_time``/``end_time``
    (datetime64[ns]).
    """
    return _device_listing(sandbox, device_code, start, end).frame


def device_files_by_kind(
    sandbox: SandboxContext, device_code: str, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """:func:`device_files` with each file's last extension (lower case) and data product code
    (:func:`product_code_of_file`): object arrays taken from the cached listing's extension
    codes (one product look-up per distinct extension, no string work per file)."""
    listing = _device_listing(sandbox, device_code, start, end)
    extensions = np.array(listing.ext_names, dtype=object)
    products = np.array([product_code_of_file("." + e) for e in listing.ext_names], dtype=object)
    return listing.frame, extensions[listing.ext_codes], products[listing.ext_codes]


def _selected(listing: _Listing, extension: str | None, product: str | None) -> np.ndarray:
    """Mask of the listing's files with that extension (``fileExtension``: the last one, any
    case) and data product (``dataProductCode``)."""
    ok = np.ones(len(listing.ext_names), dtype=bool)
    for i, ext in enumerate(listing.ext_names):
        if extension is not None and ext != extension.lower().lstrip("."):
            ok[i] = False
        if product is not None and product_code_of_file("." + ext) != product:
            ok[i] = False
    codes = listing.ext_codes
    return np.where(codes >= 0, ok[np.maximum(codes, 0)] if len(ok) else False, False)


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

    parts = []
    plain = True
    for device, deps in sources:
        listing = _device_listing(sandbox, device.code, lo, hi)
        plain &= listing.plain
        files = listing.frame
        keep = np.ones(len(files), dtype=bool)
        if by_location and not files.empty:
            keep[:] = False
            starts = files["start_time"].to_numpy()
            for dep in deps:
                dep_end = dep.end if dep.end is not None else hi
                keep |= (starts >= dep.begin.to_datetime64()) & (starts < dep_end.to_datetime64())
        # The extension and product filters are row-wise: applied to each device's files
        # (from the cached extensions) before the merge, they give the same rows in the same
        # order as after it.
        if extension is not None or product is not None:
            keep &= _selected(listing, extension, product)
        format_ids = np.array([FORMAT_IDS.get(e, 0) for e in listing.ext_names] + [0])
        files = files.assign(_format_id=format_ids[listing.ext_codes])
        parts.append(files if keep.all() else files[keep])
    files = pd.concat(parts, ignore_index=True) if parts else _empty()
    if len(parts) > 1:
        files = files.sort_values(["start_time", "filename"], kind="stable").reset_index(drop=True)

    if archived_from is not None or archived_to is not None:
        archived = pd.to_datetime(files["archivedDate"]).dt.tz_localize(None)
        keep = np.ones(len(files), dtype=bool)
        if archived_from is not None:
            keep &= (archived >= archived_from).to_numpy()
        if archived_to is not None:
            keep &= (archived < archived_to).to_numpy()
        files = files[keep]
    if get_latest and len(files):
        files = files.iloc[[-1]]

    total = len(files)
    first = (page - 1) * row_limit
    page_rows = files.iloc[first : first + row_limit]
    has_more = first + row_limit < total
    next_page = None
    if has_more:
        next_page = q.next_page(
            dateFrom=format_onc_date(lo),
            dateTo=format_onc_date(hi),
            page=page + 1,
            rowLimit=row_limit,
        )
    citations = [OBSERVATORY.citation(device.code) for device, _ in sources]
    body = {
        "citations": citations,
        "files": [],
        "messages": [],
        "next": next_page,
        "queryUrl": q.url(),
        "returnOption": return_option,
    }
    text = page_json(body, page_rows, return_option) if plain else None
    if text is None:  # names only, or values JSON must escape: the general encoder
        body["files"] = listing_rows(page_rows, return_option)
        return body
    return Reply(text, 200, {"Content-Type": _JSON_TYPE}, raw=True)


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
