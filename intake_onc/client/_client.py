"""``ONCClient``: the friendly face over the careful core.

It resolves the configuration (token, server, cache), owns the :class:`HTTPCore` and the
:class:`Cache`, and gathers the service methods from the mixins of the sibling modules
(discovery, archive, scalar, orders).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from intake_onc._core.durations import duration_seconds
from intake_onc.client._http import HTTPCore, RetryPolicy
from intake_onc.client._redact import Secret, install_log_filters
from intake_onc.client.archive import ArchiveMixin
from intake_onc.client.batch import OrdersMixin
from intake_onc.client.cache import Cache
from intake_onc.client.discovery import DiscoveryMixin
from intake_onc.client.errors import TOKEN_HELP, TokenMissingError
from intake_onc.client.scalar import ScalarMixin

__all__ = ["DEFAULT_BASE_URL", "ONCClient", "read_dotenv", "resolve_base_url", "resolve_token"]

DEFAULT_BASE_URL = "https://data.oceannetworks.ca"
TOKEN_ENV = "ONC_TOKEN"
BASE_URL_ENV = "ONC_BASE_URL"


def read_dotenv(path: str | os.PathLike[str] = ".env") -> dict[str, str]:
    """Read ``KEY=value`` lines of a ``.env`` file (``export``, quotes and comments allowed).

    A missing or unreadable file gives ``{}``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / ".env"
    >>> _ = p.write_text('# secrets\\nexport ONC_TOKEN="abc-123"  # mine\\nOTHER=x\\n')
    >>> read_dotenv(p)
    {'ONC_TOKEN': 'abc-123', 'OTHER': 'x'}
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if value[:1] in ("'", '"'):
            quote = value[0]
            end = value.find(quote, 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split(" #", 1)[0].strip()
        if key:
            out[key] = value
    return out


def resolve_token(token: str | None = None) -> tuple[Secret, str]:
    """Find the API token: the argument, else ``$ONC_TOKEN``, else ``ONC_TOKEN`` in ``./.env``.

    Returns the token (as a :class:`Secret`) and where it came from (``"argument"``,
    ``"environment"`` or the ``.env`` path).

    Raises
    ------
    TokenMissingError
        Naming the three ways to give one.
    """
    candidates = (
        (token, "argument"),
        (os.environ.get(TOKEN_ENV), "environment"),
    )
    for value, source in candidates:
        if isinstance(value, Secret):
            return value, source
        if value is not None and not isinstance(value, str):
            raise TypeError(f"token: expected a string, got {type(value).__name__}")
        if value and value.strip():
            return Secret(value.strip()), source
    dotenv = Path.cwd() / ".env"
    value = read_dotenv(dotenv).get(TOKEN_ENV, "").strip()
    if value:
        return Secret(value), str(dotenv)
    raise TokenMissingError(f"No ONC API token found: {TOKEN_HELP}.")


def resolve_base_url(base_url: str | None = None) -> str:
    """The server: the argument, else ``$ONC_BASE_URL``, else ``https://data.oceannetworks.ca``.

    A trailing ``/`` or ``/api`` is dropped (services are appended as ``/api/<service>``).

    Examples
    --------
    >>> resolve_base_url("http://127.0.0.1:8080/api/")
    'http://127.0.0.1:8080'
    """
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    url = url.strip().rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url: expected an http(s) URL such as {DEFAULT_BASE_URL!r}, got {url!r} "
            f"(from {'the argument' if base_url else BASE_URL_ENV})"
        )
    if parts.query or "token=" in url:
        raise ValueError("base_url: give the server only, without a query string or token")
    return url


class ONCClient(DiscoveryMixin, ArchiveMixin, ScalarMixin, OrdersMixin):
    """A client for Ocean Networks Canada's Oceans 3.0 API (or the local sandbox).

    Parameters
    ----------
    token
        Your API token. Default: ``$ONC_TOKEN``, else ``ONC_TOKEN=...`` in ``./.env``.
    base_url
        The server. Default: ``$ONC_BASE_URL``, else ``https://data.oceannetworks.ca``.
    timeout
        Time allowed for every request (or ``(connect, read)``): durations, seconds by default
        (``60``, ``"1min"``, ``"PT1M"``).
    retries
        Retries on connection errors, broken bodies, 429 and 5xx (an int, or a
        :class:`RetryPolicy` for full control).
    workers
        Parallel downloads (the connection pool is sized to match).
    cache_dir
        Where downloads are kept. Default: ``$INTAKE_ONC_CACHE``, else the user cache folder.
    backoff
        Base of the exponential backoff between retries, in seconds.
    progress
        Progress bars: True, False, or None (only when stderr is a terminal).
    poll_range
        ``(min, max)`` time between status polls of a data-product order (durations; seconds
        as numbers).

    Notes
    -----
    What it offers, by service:

    * discovery (DataFrames): :meth:`locations`, :meth:`location_tree`, :meth:`deployments`,
      :meth:`devices`, :meth:`device_categories`, :meth:`properties`, :meth:`data_products`,
      :meth:`data_availability`, plus :meth:`deployment_ranges` and :meth:`check_deployed`;
    * archive files: :meth:`archive_files`, :meth:`download`, :meth:`download_files`,
      :meth:`download_archive`;
    * scalar data: :meth:`scalar_data` (every page);
    * data products: :meth:`order` (a :class:`DataProductOrder`) and :meth:`order_many`.

    Errors are :class:`~intake_onc.client.errors.ONCError` subclasses; the token never appears
    in an error, a log record, a ``repr``, a warning or a file.

    Examples
    --------
    >>> from intake_onc.client import ONCClient
    >>> client = ONCClient(token="0f1e2d3c-aaaa-bbbb-cccc-000000000000")
    >>> client
    ONCClient(base_url='https://data.oceannetworks.ca', token=***, workers=4)
    >>> client.deployments(device_code="ICLISTENHF6019")  # doctest: +SKIP
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        timeout: float | tuple[float, float] = 60,
        retries: int | RetryPolicy = 5,
        workers: int = 4,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        backoff: float = 0.5,
        progress: bool | None = None,
        poll_range: tuple[float, float] = (1.0, 10.0),
    ) -> None:
        install_log_filters()
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
        low, high = (
            duration_seconds(value, argument="poll_range", allow_zero=True) for value in poll_range
        )
        if not 0 <= low <= high:
            raise ValueError(
                f"poll_range: expected (min, max) with 0 <= min <= max, got {poll_range}"
            )
        secret, self.token_source = resolve_token(token)
        self.base_url = resolve_base_url(base_url)
        self.retry = (
            retries
            if isinstance(retries, RetryPolicy)
            else RetryPolicy(total=int(retries), backoff=backoff)
        )
        self.workers = workers
        self.cache = Cache(cache_dir)
        self.poll_range = (float(low), float(high))
        self._progress = progress
        if timeout is not None:
            timeout = (
                tuple(duration_seconds(t, argument="timeout") for t in timeout)
                if isinstance(timeout, tuple)
                else duration_seconds(timeout, argument="timeout")
            )
        self._core = HTTPCore(
            token=secret,
            base_url=self.base_url,
            timeout=timeout,
            retry=self.retry,
            pool_size=workers + 2,
        )
        self._core.on_not_deployed = self._attach_deployments

    @property
    def timeout(self) -> float | tuple[float, float]:
        """Seconds allowed for each request."""
        return self._core.timeout

    @property
    def stats(self) -> dict[str, int]:
        """Counters of this client: ``requests`` sent, ``retries``, ``bytes`` downloaded."""
        return dict(self._core.counters)

    def url_for(self, service: str, **params: Any) -> str:
        """The URL of a service call as it may be shown or logged (``token=***``).

        Examples
        --------
        >>> ONCClient(token="t" * 36).url_for("archivefile/download", filename="a.flac")
        'https://data.oceannetworks.ca/api/archivefile/download?filename=a.flac&token=***'
        """
        return self._core.display_url(service, params)

    def __repr__(self) -> str:
        return f"ONCClient(base_url={self.base_url!r}, token=***, workers={self.workers})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._core.close()

    def __enter__(self) -> ONCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Pickling (dask workers): the session is rebuilt on the other side.
    def __getstate__(self) -> dict[str, Any]:
        return {
            "token": self._core._token,
            "token_source": self.token_source,
            "base_url": self.base_url,
            "timeout": self._core.timeout,
            "retry": self.retry,
            "workers": self.workers,
            "cache_dir": str(self.cache.root),
            "progress": self._progress,
            "poll_range": self.poll_range,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            token=state["token"],
            base_url=state["base_url"],
            timeout=state["timeout"],
            retries=state["retry"],
            workers=state["workers"],
            cache_dir=state["cache_dir"],
            progress=state["progress"],
            poll_range=state["poll_range"],
        )
        self.token_source = state["token_source"]
