"""``ONCClient``: the friendly face over the careful core.

It resolves the configuration (token, server, cache), owns the :class:`HTTPCore` and the
:class:`Cache`, and gathers the service methods from the mixins of the sibling modules
(discovery, archive, scalar, orders).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from intake_onc._core.durations import duration_seconds
from intake_onc.client._http import HTTPCore, RetryPolicy
from intake_onc.client._redact import Secret, install_log_filters
from intake_onc.client._retry import DEFAULT_DEADLINE
from intake_onc.client.archive import ArchiveMixin
from intake_onc.client.batch import OrdersMixin
from intake_onc.client.cache import Cache
from intake_onc.client.discovery import DiscoveryMixin
from intake_onc.client.errors import TOKEN_HELP, TokenMissingError
from intake_onc.client.rawdata import RawDataMixin
from intake_onc.client.scalar import ScalarMixin

__all__ = [
    "DEFAULT_BASE_URL",
    "ONCClient",
    "pickle_token_default",
    "read_dotenv",
    "resolve_base_url",
    "resolve_token",
]

DEFAULT_BASE_URL = "https://data.oceannetworks.ca"
TOKEN_ENV = "ONC_TOKEN"
BASE_URL_ENV = "ONC_BASE_URL"
#: Set to ``0``/``false``/``no`` to make ``pickle_token=False`` the default of every client.
PICKLE_TOKEN_ENV = "INTAKE_ONC_PICKLE_TOKEN"


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
            raise TypeError(
                f"token: expected a string (your ONC API token), got {type(value).__name__}; "
                f"{TOKEN_HELP}"
            )
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
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(
            f"base_url: expected a string such as {DEFAULT_BASE_URL!r} (or None for "
            f"${BASE_URL_ENV}), got {type(base_url).__name__} {base_url!r}"
        )
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


#: Environment variable: the cache folder name of the server (see ``ONCClient(cache_key=)``).
CACHE_KEY_ENV = "INTAKE_ONC_CACHE_KEY"


def resolve_cache_key(cache_key: str | None) -> str | None:
    """``cache_key``, else ``$INTAKE_ONC_CACHE_KEY``, else None (the server's host and port),
    checked to be a plain folder name.

    Examples
    --------
    >>> resolve_cache_key("sandbox-0.1.0-seed0")
    'sandbox-0.1.0-seed0'
    """
    if cache_key is None:
        cache_key = os.environ.get(CACHE_KEY_ENV) or None
        argument = CACHE_KEY_ENV
    else:
        argument = "cache_key"
    if cache_key is None:
        return None
    if not isinstance(cache_key, str) or not re.fullmatch(
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", cache_key
    ):
        raise ValueError(
            f"{argument}={cache_key!r}: expected a folder name of letters, digits, '.', '_' and "
            "'-' (such as 'sandbox-seed0'), or nothing for the server's host and port"
        )
    return cache_key


def pickle_token_default() -> bool:
    """Whether clients pickle their token unless told otherwise: ``$INTAKE_ONC_PICKLE_TOKEN``.

    ``0``, ``false``, ``no`` or ``off`` (any case) mean no; anything else, or unset, means yes.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("INTAKE_ONC_PICKLE_TOKEN", None) and None
    >>> pickle_token_default()
    True
    """
    value = os.environ.get(PICKLE_TOKEN_ENV, "").strip().lower()
    return value not in ("0", "false", "no", "off")


def _check_bool(value: Any, argument: str, *, optional: bool = False) -> None:
    if isinstance(value, bool) or (optional and value is None):
        return
    raise TypeError(
        f"{argument}: expected True or False{' (or None)' if optional else ''}, "
        f"got {type(value).__name__} {value!r}"
    )


def _check_timeout(timeout: Any) -> float | tuple[float, float] | None:
    if timeout is None:
        return None
    if isinstance(timeout, (tuple, list)):
        if len(timeout) != 2:
            raise ValueError(
                f"timeout: expected seconds or a (connect, read) pair, got {timeout!r}"
            )
        connect, read = (duration_seconds(t, argument="timeout") for t in timeout)
        return (connect, read)
    return duration_seconds(timeout, argument="timeout")


class ONCClient(DiscoveryMixin, ArchiveMixin, ScalarMixin, RawDataMixin, OrdersMixin):
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
    deadline
        Total time one call may take, retries and waits included (a duration; seconds as
        numbers). Default: 600 s (10 minutes), or the ``deadline`` of a :class:`RetryPolicy`
        given as ``retries``.
    cache_key
        The name of this server's folder in the cache (default ``$INTAKE_ONC_CACHE_KEY``, else
        its host and port, such as ``127.0.0.1_8080``). A sandbox on a new port with the same
        key reuses what an earlier one downloaded: the demo and notebooks use
        ``sandbox-<version>-seed<seed>`` (the same seed makes the same files). Never the token.
    pickle_token
        Whether a pickle of this client (and so of every dask graph, dataset, loader or reader
        holding it) carries the token. Default: ``$INTAKE_ONC_PICKLE_TOKEN`` (``0`` = no),
        else True. See *Pickling* below.

    Notes
    -----
    **Retries, waits and the deadline.** Every request has ``timeout`` (connect and each
    read). Connection errors, read timeouts, bodies cut short, HTTP 429 and 500/502/503/504
    are retried up to ``retries`` times; 400/401/403/404 raise a typed error at once.
    Retry *n* (0-based) waits ``backoff * 2**n`` seconds with jitter (between half and all
    of it, at most 30 s), or the server's ``Retry-After`` when longer (honoured up to
    300 s). All of one call's attempts and waits share one ``deadline``: when the next wait
    would end past it, the call stops at once and raises
    :class:`~intake_onc.client.errors.RateLimitError` (429),
    :class:`~intake_onc.client.errors.ServerError` (5xx) or
    :class:`~intake_onc.client.errors.ONCConnectionError`, naming the URL (``token=***``), the
    attempts made and the deadline. An attempt under way (a long download) is bounded by
    ``timeout`` per read, not by the deadline. Paginated listings and downloads of many
    files make one call per page or file, each with its own deadline.

    **Pickling.** dask sends the client to its workers inside the graph, so a client pickles.
    With ``pickle_token=True`` (the default) the pickle holds the token *in plain text*: a
    worker needs nothing else, but anyone who can read the pickle (a saved graph, a
    ``cloudpickle`` file, a distributed scheduler's memory) can read the token. With
    ``pickle_token=False`` (or ``INTAKE_ONC_PICKLE_TOKEN=0``) the pickle holds the server,
    timeout, retry policy, workers, cache folder and poll range only; the unpickled client
    takes the token from *its own* process's ``$ONC_TOKEN`` (or ``./.env``) at its first
    request, and raises :class:`~intake_onc.client.errors.TokenMissingError` naming
    ``ONC_TOKEN`` when there is none. In both modes the token never appears in a ``repr``,
    ``str``, dask key or ``dask.base.tokenize`` value, and Intake readers never save a
    client in a catalog (they rebuild one from the environment when they read).

    What it offers, by service:

    * discovery (DataFrames): :meth:`locations`, :meth:`location_tree`, :meth:`deployments`,
      :meth:`devices`, :meth:`device_categories`, :meth:`properties`, :meth:`data_products`,
      :meth:`data_availability`, plus :meth:`deployment_ranges` and :meth:`check_deployed`;
    * archive files: :meth:`archive_files`, :meth:`download`, :meth:`download_files`,
      :meth:`download_archive`;
    * scalar data: :meth:`scalar_data` (every page);
    * raw data: :meth:`raw_data` (every page, a DataFrame);
    * data products: :meth:`order` (a :class:`DataProductOrder`) and :meth:`order_many`.

    Errors are :class:`~intake_onc.client.errors.ONCError` subclasses; the token never appears
    in an error, a log record, a ``repr``, a warning or a saved catalog. Arguments of the
    wrong type raise ``TypeError``/``ValueError`` naming the argument.

    Examples
    --------
    >>> from intake_onc.client import ONCClient
    >>> client = ONCClient(token="0f1e2d3c-aaaa-bbbb-cccc-000000000000")
    >>> client
    ONCClient(base_url='https://data.oceannetworks.ca', token=***, workers=4)
    >>> client.deployments(device_code="ICLISTENHF6093")  # doctest: +SKIP
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
        deadline: float | str | None = None,
        pickle_token: bool | None = None,
        cache_key: str | None = None,
    ) -> None:
        install_log_filters()
        self.cache_key = resolve_cache_key(cache_key)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(
                f"workers: expected an integer >= 1 (parallel downloads), got {workers!r}"
            )
        if not isinstance(poll_range, (tuple, list)) or len(poll_range) != 2:
            raise ValueError(
                f"poll_range: expected (min, max) durations such as (1, 10), got {poll_range!r}"
            )
        low, high = (
            duration_seconds(value, argument="poll_range", allow_zero=True) for value in poll_range
        )
        if not 0 <= low <= high:
            raise ValueError(
                f"poll_range: expected (min, max) with 0 <= min <= max, got {poll_range}"
            )
        _check_bool(progress, "progress", optional=True)
        _check_bool(pickle_token, "pickle_token", optional=True)
        if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(
                f"cache_dir: expected a folder path (str or pathlib.Path) or None, got "
                f"{type(cache_dir).__name__} {cache_dir!r}"
            )
        if cache_dir is not None and not str(os.fspath(cache_dir)).strip():
            raise ValueError("cache_dir: expected a folder path, got an empty string")
        timeout = _check_timeout(timeout)
        self.base_url = resolve_base_url(base_url)
        self.retry = self._policy(retries, backoff, deadline)
        self.pickle_token = pickle_token_default() if pickle_token is None else pickle_token
        self.workers = workers
        self.cache = Cache(cache_dir)
        self.poll_range = (float(low), float(high))
        self._progress = progress
        secret, self.token_source = resolve_token(token)
        self._core = self._make_core(secret, timeout)

    @staticmethod
    def _policy(retries: Any, backoff: Any, deadline: Any) -> RetryPolicy:
        if deadline is not None:
            deadline = duration_seconds(deadline, argument="deadline")
        if isinstance(retries, RetryPolicy):
            if deadline is None or deadline == retries.deadline:
                return retries
            return dataclasses.replace(retries, deadline=deadline)
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(
                f"retries: expected an integer >= 0 or a RetryPolicy, got "
                f"{type(retries).__name__} {retries!r}"
            )
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)):
            raise TypeError(
                f"backoff: expected a delay in seconds (a number), got "
                f"{type(backoff).__name__} {backoff!r}"
            )
        return RetryPolicy(
            total=retries,
            backoff=float(backoff),
            deadline=DEFAULT_DEADLINE if deadline is None else deadline,
        )

    def _make_core(self, secret: Secret | None, timeout: Any) -> HTTPCore:
        core = HTTPCore(
            token=secret if secret is not None else self._token_from_env,
            base_url=self.base_url,
            timeout=timeout,
            retry=self.retry,
            pool_size=self.workers + 2,
            cache_key=self.cache_key,
        )
        core.on_not_deployed = self._attach_deployments
        return core

    def _token_from_env(self) -> Secret:
        """The token of a client unpickled without one: ``$ONC_TOKEN`` (or ``./.env``) of
        this process, looked up at the first request."""
        try:
            secret, self.token_source = resolve_token(None)
        except TokenMissingError as exc:
            raise TokenMissingError(
                f"This client was pickled without its token (pickle_token=False), and this "
                f"process has none: set the {TOKEN_ENV} environment variable of every dask "
                f"worker (or put ONC_TOKEN=... in its ./.env). {exc.message}"
            ) from None
        return secret

    @property
    def deadline(self) -> float:
        """Total seconds one call may take, retries and waits included."""
        return self.retry.deadline

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
        state = {
            "token_source": self.token_source,
            "base_url": self.base_url,
            "timeout": self._core.timeout,
            "retry": self.retry,
            "workers": self.workers,
            "cache_dir": str(self.cache.root),
            "progress": self._progress,
            "poll_range": self.poll_range,
            "pickle_token": self.pickle_token,
            "cache_key": self.cache_key,
        }
        if self.pickle_token:
            state["token"] = self._core.secret
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        install_log_filters()
        self.base_url = state["base_url"]
        self.retry = state["retry"]
        self.pickle_token = state.get("pickle_token", True)
        self.cache_key = state.get("cache_key")
        self.workers = state["workers"]
        self.cache = Cache(state["cache_dir"])
        self.poll_range = state["poll_range"]
        self._progress = state["progress"]
        self.token_source = state["token_source"]
        token = state.get("token")
        if token is None:
            self.token_source = "environment (looked up at the first request)"
        self._core = self._make_core(token, state["timeout"])

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # Never the token (not even hashed): the server and the settings that shape answers.
        return ("intake_onc.ONCClient", self.base_url, str(self.cache.root))
