"""The careful core: one ``requests.Session``, timeouts, retries, JSON, pagination, downloads.

Everything that touches the network goes through :class:`HTTPCore`:

* one :class:`requests.Session` whose connection pool is sized to the worker count;
* a timeout on every call;
* retries with exponential backoff and jitter (:class:`RetryPolicy`) on connection errors,
  read timeouts, bodies cut short, HTTP 429 (honouring ``Retry-After``) and 500/502/503/504 —
  never on 400, 401, 403 or 404, which raise a typed error at once
  (:func:`~intake_onc.client.errors.error_from_response`);
* the token added to the query string at the last moment, and scrubbed from every response
  body before it is parsed (a listing's ``files``, read column by column, must not hold it at
  all), so nothing built from a response can hold it;
* JSON bodies read in one call (:func:`_read_body`), archive listings parsed column by column
  (:mod:`~intake_onc.client.listing.json_columns`);
* pagination through ONC's ``next`` member (:meth:`HTTPCore.get_all_pages`);
* streamed downloads written to a temporary name, size-checked, then renamed
  (:meth:`HTTPCore.download`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from intake_onc._core.files import atomic_path
from intake_onc.client._redact import _MIN_LITERAL, MASK, Secret, redact
from intake_onc.client._retry import RetryPolicy, parse_retry_after
from intake_onc.client.cache import _sizes
from intake_onc.client.errors import (
    DownloadError,
    NotDeployedError,
    ONCConnectionError,
    ONCError,
    ONCWarning,
    error_from_response,
)
from intake_onc.client.listing.json_columns import loads_with_columns

__all__ = ["HTTPCore", "RetryPolicy", "parse_retry_after"]

log = logging.getLogger("intake_onc.client")

_CHUNK = 1 << 20

#: The sleep used between retries (a module attribute so that tests can record the delays).
_sleep = time.sleep


class _Retryable(Exception):
    """Raised by a response reader: the answer was broken; try again."""

    def __init__(self, message: str, *, download: bool = False) -> None:
        super().__init__(message)
        self.download = download


def _read_body(resp: requests.Response) -> bytes:
    """The whole body of a streamed response, in one ``read``.

    ``resp.content`` reads in 10 KB pieces: 0.20 s for a year's 34 MB listing page against
    0.07 s in one call (bench_lazy_open). urllib3 still decodes gzip and checks the length
    against ``Content-Length``; a body cut short or a stalled read raises :class:`_Retryable`
    (the message holds no URL).
    """
    try:
        return resp.raw.read(decode_content=True)
    except Exception as exc:  # urllib3 ProtocolError (IncompleteRead), ReadTimeoutError, ...
        raise _Retryable(f"the answer broke off ({type(exc).__name__})") from None


_FILENAME_RE = re.compile(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", re.IGNORECASE)


def filename_from_disposition(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header, made safe for a local path.

    Examples
    --------
    >>> filename_from_disposition("attachment; filename=A_B_20240101T000000Z.csv")
    'A_B_20240101T000000Z.csv'
    >>> filename_from_disposition('attachment; filename="../x.csv"')
    'x.csv'
    """
    if not header:
        return None
    match = _FILENAME_RE.search(header)
    if not match:
        return None
    name = match.group(1).strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name if name not in ("", ".", "..") else None


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None or key == "token":
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple, set)):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


class HTTPCore:
    """Session, token, retries and pagination for one ONC server.

    Parameters
    ----------
    token
        The API token (a :class:`~intake_onc.client._redact.Secret`), or a function that
        returns it, called at the first request that needs it (a client unpickled without its
        token looks it up in its own environment then).
    base_url
        ``https://data.oceannetworks.ca`` or a sandbox's ``http://127.0.0.1:PORT``; services
        live under ``{base_url}/api/``.
    timeout
        Seconds (or a ``(connect, read)`` pair) for every request.
    retry
        The :class:`RetryPolicy`.
    pool_size
        Connections kept per host (at least the number of download workers).
    """

    def __init__(
        self,
        *,
        token: Secret | Callable[[], Secret],
        base_url: str,
        timeout: float | tuple[float, float] = 60,
        retry: RetryPolicy | None = None,
        pool_size: int = 10,
        user_agent: str = "intake-onc",
        cache_key: str | None = None,
    ) -> None:
        self.cache_key = cache_key
        self._secret: Secret | None = token if isinstance(token, Secret) else None
        self._token_loader = None if isinstance(token, Secret) else token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"{user_agent} requests/{requests.__version__}"
        self._lock = threading.Lock()
        self.counters = {"requests": 0, "retries": 0, "bytes": 0}
        #: Called with ``(error, params)`` when a request fails with NotDeployedError, so the
        #: client can attach the device's deployment ranges.
        self.on_not_deployed: Callable[[Any, dict[str, str]], None] | None = None

    @property
    def secret(self) -> Secret:
        """The token (looked up on first use when it was given as a function)."""
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    assert self._token_loader is not None
                    self._secret = self._token_loader()
        return self._secret

    #: The former attribute name (kept for callers that read it).
    _token = secret

    # -- URLs -------------------------------------------------------------------------------
    @property
    def host_key(self) -> str:
        """A folder-safe name of the server (``data.oceannetworks.ca``, ``127.0.0.1_8080``), or
        the client's ``cache_key`` when it has one (a sandbox on a new port: same cache)."""
        if self.cache_key:
            return self.cache_key
        netloc = urlsplit(self.base_url).netloc or "local"
        return re.sub(r"[^A-Za-z0-9._-]", "_", netloc)

    def service_url(self, service: str) -> str:
        """``{base_url}/api/{service}``."""
        return f"{self.base_url}/api/{service.lstrip('/')}"

    def display_url(self, service: str, params: Mapping[str, Any] | None = None) -> str:
        """The request URL as it may be shown: with ``token=***``.

        Examples
        --------
        >>> core = HTTPCore(token=Secret("t" * 36), base_url="https://x.org")
        >>> core.display_url("locations", {"locationCode": "BACAX"})
        'https://x.org/api/locations?locationCode=BACAX&token=***'
        """
        query = urlencode({**_clean_params(params), "token": MASK}, safe="*,:")
        return f"{self.service_url(service)}?{query}"

    # -- requests ---------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    def request(
        self,
        service: str,
        params: Mapping[str, Any] | None = None,
        *,
        read: Callable[[requests.Response], Any] | None = None,
        accept: Iterable[int] = (200,),
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request, retrying as the policy says, and return ``read(response)``.

        ``read`` runs inside the retry loop: it may raise :class:`_Retryable` when the body
        turns out to be broken. Without ``read`` the response is returned (body loaded unless
        ``stream``). A status outside ``accept`` and not retryable raises a typed
        :class:`~intake_onc.client.errors.ONCHTTPError` at once.
        """
        accept = frozenset(accept)
        clean = _clean_params(params)
        shown = self.display_url(service, clean)
        query = {**clean, "token": self.secret.reveal()}
        url = self.service_url(service)
        policy = self.retry
        attempt = 0
        call_started = time.monotonic()
        waited = 0.0  # planned waits so far (counted even when _sleep is a test's recorder)
        out_of_time: str | None = None
        while True:
            failure: str | None = None
            status: int | None = None
            body: bytes = b""
            retry_after: float | None = None
            download_failure = False
            started = time.perf_counter()
            try:
                self._count("requests")
                resp = self.session.request(
                    "GET",
                    url,
                    params=query,
                    timeout=self.timeout,
                    stream=stream,
                    headers=dict(headers) if headers else None,
                    allow_redirects=True,
                )
                status = resp.status_code
                log.debug("GET %s -> %s (%.3f s)", shown, status, time.perf_counter() - started)
                if status in accept:
                    try:
                        return read(resp) if read is not None else resp
                    finally:
                        if stream:
                            resp.close()
                if status not in policy.statuses:
                    body = resp.content
                    resp.close()
                    error = error_from_response(status, self._scrub(body), shown)
                    if self.on_not_deployed is not None and isinstance(error, NotDeployedError):
                        self.on_not_deployed(error, clean)
                    raise error
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                try:
                    body = resp.content
                except requests.RequestException:
                    body = b""
                resp.close()
                failure = f"HTTP {status}"
            except _Retryable as exc:
                failure = redact(str(exc))
                download_failure = exc.download
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
                failure = f"invalid URL: {redact(exc)}"
                attempt = policy.total  # not worth retrying
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                if isinstance(exc, requests.exceptions.SSLError):
                    attempt = policy.total
                failure = f"{type(exc).__name__}: {redact(exc)}"
            # Out of the except blocks: nothing raised below chains the (token-holding)
            # requests exception as its __context__.
            if attempt >= policy.total:
                break
            wait = policy.delay(attempt, retry_after)
            spent = max(time.monotonic() - call_started, waited)
            if spent + wait > policy.deadline:
                out_of_time = (
                    f"the next retry would wait {wait:.1f} s, past the {policy.deadline:g} s "
                    f"deadline of this call ({spent:.1f} s spent in {attempt + 1} attempts); "
                    "raise deadline (ONCClient(deadline=...)) or try again later"
                )
                break
            waited += wait
            attempt += 1
            self._count("retries")
            log.info(
                "retry %d/%d of %s in %.2f s after %s", attempt, policy.total, shown, wait, failure
            )
            _sleep(wait)
        tried = f"after {attempt} retries" if attempt else "with no retry"
        note = f"; stopped: {out_of_time}" if out_of_time else ""
        if status is not None and failure and failure.startswith("HTTP"):
            raise error_from_response(status, self._scrub(body), shown, retries=attempt, note=note)
        if download_failure:
            raise DownloadError(f"download failed {tried}: {failure}{note}", url=shown)
        raise ONCConnectionError(
            f"could not get an answer from {self.base_url} {tried}: {failure}{note}. Check "
            "the network and base_url (ONC_BASE_URL), or raise timeout/retries",
            url=shown,
        )

    def _scrub(self, body: bytes | str) -> str:
        """Decode a response body and remove our token from it (ONC echoes it in ``queryUrl``
        and ``next``). A literal replacement is enough, and fast on 100 MB listings; a short
        token (never a real one) falls back to the pattern-based :func:`redact`."""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        secret = self.secret.reveal()
        if len(secret) >= _MIN_LITERAL:
            return text.replace(secret, MASK) if secret in text else text
        return redact(text)

    def get_json(
        self, service: str, params: Mapping[str, Any] | None = None, *, columns: str | None = None
    ) -> Any:
        """GET a JSON answer (token scrubbed from it); warn about ONC's ``messages``.

        With ``columns="files"`` that list of records is read column by column when it is in
        ONC's compact regular form (its value is then a
        :class:`~intake_onc.client.listing.columns.RecordColumns`), else as ``json.loads`` does.
        """

        def read(resp: requests.Response) -> Any:
            body = _read_body(resp)
            data = self._loads_columns(body, columns) if columns else None
            if data is None:
                try:
                    data = json.loads(self._scrub(body))
                except ValueError as exc:
                    raise _Retryable(f"invalid JSON from the server ({exc})") from None
            return data

        data = self.request(service, params, read=read, stream=True)
        if isinstance(data, dict):
            messages = data.get("messages")
            if messages:
                for message in messages if isinstance(messages, list) else [messages]:
                    warnings.warn(f"ONC ({service}): {redact(message)}", ONCWarning, stacklevel=4)
        return data

    def _loads_columns(self, body: bytes, member: str) -> dict[str, Any] | None:
        """:func:`~intake_onc.client.listing.json_columns.loads_with_columns`, or None (parse the
        usual way) when the token is too short to be scrubbed literally."""
        secret = self.secret.reveal()
        # _scrub falls back to the pattern-based redact() on all the text
        if len(secret) < _MIN_LITERAL:
            return None
        return loads_with_columns(body, member, scrub=self._scrub, secret=secret)

    def get_all_pages(
        self,
        service: str,
        params: Mapping[str, Any] | None,
        merge: Callable[[dict[str, Any], dict[str, Any]], None],
        *,
        max_pages: int = 100_000,
        columns: str | None = None,
    ) -> dict[str, Any]:
        """GET a paginated service and every page after it (ONC's ``next``).

        ``merge(result, page)`` folds each later page into the first one. The returned
        result has ``next = None``. ``columns`` is passed to :meth:`get_json` for every page.
        """
        result = self.get_json(service, params, columns=columns)
        if not isinstance(result, dict):
            return result
        seen: set[str] = set()
        nxt = result.get("next")
        pages = 1
        while nxt:
            nparams = nxt.get("parameters") if isinstance(nxt, dict) else None
            if not isinstance(nparams, dict):
                url = nxt.get("url") if isinstance(nxt, dict) else None
                if not url:
                    break
                nparams = dict(parse_qsl(urlsplit(url).query))
            nparams = {k: v for k, v in nparams.items() if k != "token"}
            key = json.dumps(nparams, sort_keys=True, default=str)
            if key in seen or pages >= max_pages:
                raise ONCError(
                    f"{service}: the server's 'next' page repeats an earlier one (page "
                    f"{pages + 1}); stopping to avoid an endless loop",
                    url=self.display_url(service, nparams),
                )
            seen.add(key)
            page = self.get_json(service, nparams, columns=columns)
            pages += 1
            merge(result, page)
            nxt = page.get("next") if isinstance(page, dict) else None
        result["next"] = None
        return result

    def download(
        self,
        service: str,
        params: Mapping[str, Any],
        *,
        dest: Path | None = None,
        dest_dir: Path | None = None,
        expected_sizes: Iterable[int] = (),
        accept: Iterable[int] = (200,),
        on_other: Callable[[requests.Response], Any] | None = None,
        atomic: bool = True,
    ) -> Any:
        """Stream a file to ``dest`` (or ``dest_dir/<Content-Disposition name>``) atomically.

        The body goes to ``<name>.<random>.part`` in the destination folder, is checked against
        ``Content-Length`` and ``expected_sizes`` (when given), then renamed into place; a
        broken or short body is retried. Returns ``(path, size)``; a status in ``accept`` other
        than 200 returns ``on_other(response)`` instead. With ``atomic=False`` the body is
        written straight to ``dest`` (which the caller already made a temporary name).
        """
        expected = _sizes(expected_sizes)
        if dest is None and dest_dir is None:
            raise ValueError("download: give dest (a file path) or dest_dir (a folder)")

        def read(resp: requests.Response) -> Any:
            if resp.status_code != 200:
                return on_other(resp) if on_other is not None else resp
            target = dest
            if target is None:
                name = filename_from_disposition(resp.headers.get("Content-Disposition"))
                if name is None:
                    name = f"{service.replace('/', '_')}_{params.get('index', 'file')}"
                target = Path(dest_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            length = resp.headers.get("Content-Length")
            encoded = resp.headers.get("Content-Encoding", "identity") not in ("", "identity")
            size = 0
            writer = atomic_path(target) if atomic else contextlib.nullcontext(target)
            with writer as tmp:
                try:
                    with open(tmp, "wb") as fh:
                        for chunk in resp.raw.stream(_CHUNK, decode_content=True):
                            fh.write(chunk)
                            size += len(chunk)
                except Exception as exc:  # urllib3 ProtocolError, ReadTimeoutError, ...
                    raise _Retryable(
                        f"connection broke after {size} bytes of {target.name} "
                        f"({type(exc).__name__})",
                        download=True,
                    ) from None
                if length is not None and not encoded and size != int(length):
                    raise _Retryable(
                        f"{target.name}: got {size} bytes, Content-Length said {length}",
                        download=True,
                    )
                if expected and size not in expected:
                    raise _Retryable(
                        f"{target.name}: got {size} bytes, ONC listed "
                        f"{' or '.join(str(s) for s in sorted(expected))}",
                        download=True,
                    )
            self._count("bytes", size)
            return target, size

        return self.request(
            service,
            params,
            read=read,
            accept=accept,
            stream=True,
            headers={"Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()
