"""Keep the API token out of everything a user can see.

ONC's API takes its token in the query string, so every URL the client builds holds it, and so
do the ``queryUrl``/``next`` fields the server sends back. This module is the one place that
knows how to scrub it:

* :class:`Secret` holds the token; its ``repr``/``str`` are ``***`` and it registers the value
  so that :func:`redact` can remove it from any text, even where no ``token=`` marks it;
* :func:`redact` replaces ``token=<value>`` in URLs, ``"token": "<value>"`` in JSON and every
  registered token value with ``***``;
* :class:`RedactingFilter` applies :func:`redact` to log records (installed on this package's
  logger and on ``urllib3``'s, which logs request lines at DEBUG level).

Examples
--------
>>> redact("https://data.oceannetworks.ca/api/locations?token=abc-123&locationCode=BACAX")
'https://data.oceannetworks.ca/api/locations?token=***&locationCode=BACAX'
>>> str(Secret("0f1e2d3c-aaaa-bbbb-cccc-000000000000"))
'***'
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = ["MASK", "RedactingFilter", "Secret", "install_log_filters", "redact", "redact_obj"]

#: What a token is replaced with.
MASK = "***"

#: Registered token values are replaced literally only when at least this long (a short test
#: token such as ``"x"`` would otherwise mangle unrelated text; ``token=`` forms still go).
_MIN_LITERAL = 8

_URL_TOKEN_RE = re.compile(r"(?i)(\btoken=)[^&\s#\"'<>]*")
_JSON_TOKEN_RE = re.compile(r"""(?i)(["']token["']\s*:\s*["'])[^"']*(["'])""")

_lock = threading.Lock()
#: token value -> number of live :class:`Secret` objects holding it. A value is forgotten when
#: its last Secret is garbage-collected, so tokens of clients that are gone (another account, a
#: test's throw-away token) never go on masking unrelated text.
_secrets: dict[str, int] = {}


class Secret:
    """A string that never shows itself.

    ``repr``, ``str`` and ``format`` give ``***``; :meth:`reveal` gives the value (only the HTTP
    layer calls it, to build a request). Creating one registers the value with :func:`redact`.

    Examples
    --------
    >>> token = Secret("0f1e2d3c-aaaa-bbbb-cccc-000000000000")
    >>> f"token={token}"
    'token=***'
    >>> token.reveal()[:4]
    '0f1e'
    """

    __slots__ = ("_registered", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._registered = len(value) >= _MIN_LITERAL
        if self._registered:
            with _lock:
                _secrets[value] = _secrets.get(value, 0) + 1

    def __del__(self) -> None:
        if getattr(self, "_registered", False):
            with _lock:
                left = _secrets.get(self._value, 0) - 1
                if left > 0:
                    _secrets[self._value] = left
                else:
                    _secrets.pop(self._value, None)

    def reveal(self) -> str:
        """The secret value (for the request's query string only)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling is allowed (dask workers need a working client); the value is re-registered.
        return (Secret, (self._value,))


def redact(text: object) -> str:
    """Return ``str(text)`` with every token replaced by ``***``.

    Removes ``token=...`` query parameters, ``"token": "..."`` JSON members and every token
    value a :class:`Secret` has registered.

    Examples
    --------
    >>> redact('{"parameters": {"token": "abc", "page": "2"}}')
    '{"parameters": {"token": "***", "page": "2"}}'
    """
    out = text if isinstance(text, str) else str(text)
    if "token" in out or "TOKEN" in out or "Token" in out:
        out = _URL_TOKEN_RE.sub(r"\1" + MASK, out)
        out = _JSON_TOKEN_RE.sub(r"\1" + MASK + r"\2", out)
    if _secrets:
        with _lock:
            secrets = tuple(_secrets)
        for value in secrets:
            if value in out:
                out = out.replace(value, MASK)
    return out


def redact_obj(obj: Any) -> Any:
    """Redact tokens inside a JSON-like object (dicts, lists, strings), returning a copy.

    ``token`` keys get the value ``***``.

    Examples
    --------
    >>> redact_obj({"token": "abc", "url": "https://x/api?token=abc&a=1"})
    {'token': '***', 'url': 'https://x/api?token=***&a=1'}
    """
    if isinstance(obj, dict):
        return {k: (MASK if str(k).lower() == "token" else redact_obj(v)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v) for v in obj)
    if isinstance(obj, str):
        return redact(obj)
    return obj


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees.

    The message is formatted once (``record.getMessage()``), redacted, and stored back with no
    arguments, so no handler can format the token back in.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record, scrub its parts
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_installed = False

#: Loggers whose records can hold a request URL.
_LOGGERS = ("intake_onc.client", "urllib3.connectionpool", "urllib3.util.retry", "requests")


def install_log_filters() -> None:
    """Attach one :class:`RedactingFilter` to the loggers that can see request URLs (idempotent).

    ``urllib3`` logs ``"GET /api/...?token=... HTTP/1.1" 200`` at DEBUG level; a filter on the
    logger that creates the record scrubs it before any handler sees it.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    flt = RedactingFilter()
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(flt)
