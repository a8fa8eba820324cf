"""Typed exceptions for the ONC API, built from its error bodies.

ONC answers a bad request with HTTP 400 and a body such as::

    {"errors": [{"errorCode": 127, "errorMessage": "Invalid parameter value",
                 "parameter": "locationCode"}]}

:func:`error_from_response` turns that into the most specific class below, carrying the
``errorCode``, the ``parameter``, the message, the HTTP status and the (redacted) URL, so
that a batch job can catch exactly what it expects::

    ONCError
    ├── TokenMissingError (also ValueError)   no token given anywhere
    ├── ONCHTTPError                          any non-success HTTP answer
    │   ├── BadRequestError                   400
    │   │   ├── InvalidParameterError         127 (bad value)
    │   │   ├── MissingParameterError         128
    │   │   ├── UnknownParameterError         129
    │   │   ├── InvalidDateRangeError         23, 25
    │   │   └── NotDeployedError              "not deployed" (also raised by check_deployed)
    │   ├── AuthError                         401, or a 400 about the token
    │   ├── RestrictedDataError               403, or a 400 about restricted data
    │   ├── NoDataError                       33, 96 and 204 (nothing to download)
    │   ├── NotFoundError                     404
    │   ├── GoneError                         410 (product file deleted from FTP)
    │   ├── RateLimitError                    429 after all retries
    │   └── ServerError                       5xx after all retries
    ├── ONCConnectionError                    network failure after all retries
    ├── DownloadError                         incomplete or wrong-size download
    │   └── CorruptFileError                  unreadable even after fetching it again
    └── OrderError                            a data-product order failed or was cancelled
        └── OrderTimeoutError                 ``wait(timeout=...)`` ran out

Every message goes through :func:`~intake_onc.client._redact.redact`: no exception text ever
holds the token.

Examples
--------
>>> err = ONCError("bad thing", url="https://x/api/locations?token=abc&a=1")
>>> str(err)
'bad thing [https://x/api/locations?token=***&a=1]'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from intake_onc.client._redact import redact

__all__ = [
    "AuthError",
    "BadRequestError",
    "CorruptFileError",
    "DownloadError",
    "GoneError",
    "InvalidDateRangeError",
    "InvalidParameterError",
    "MissingParameterError",
    "NoDataError",
    "NotDeployedError",
    "NotFoundError",
    "ONCConnectionError",
    "ONCError",
    "ONCHTTPError",
    "ONCWarning",
    "OrderError",
    "OrderTimeoutError",
    "RateLimitError",
    "RestrictedDataError",
    "ServerError",
    "TokenMissingError",
    "UnknownParameterError",
    "error_from_response",
    "parse_error_body",
]

TOKEN_HELP = (
    "pass it as the token argument of ONCClient, set the ONC_TOKEN environment variable, or put a line "
    "ONC_TOKEN=<your token> in a .env file in the working directory; get a token from your "
    "profile at https://data.oceannetworks.ca/Profile (Web Services API tab)"
)


class ONCWarning(UserWarning):
    """A warning from the ONC API (its ``messages`` list) or from the client."""


class ONCError(Exception):
    """Base class of every error raised by :mod:`intake_onc.client`.

    Attributes
    ----------
    message : str
        What went wrong (token-free).
    status_code : int or None
        The HTTP status, when the error came from an HTTP answer.
    error_code : int or None
        ONC's ``errorCode`` (first error of the body).
    parameter : str or None
        ONC's ``parameter`` (may be a comma list such as ``"locationCode, dateFrom"``).
    errors : list of dict
        Every ``{errorCode, errorMessage, parameter}`` of the body.
    url : str or None
        The request URL with ``token=***``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: int | None = None,
        parameter: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        url: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.status_code = status_code
        self.error_code = error_code
        self.parameter = redact(parameter) if parameter is not None else None
        self.errors = [
            {k: (redact(v) if isinstance(v, str) else v) for k, v in e.items()}
            for e in (errors or [])
        ]
        self.url = redact(url) if url is not None else None
        super().__init__(self.message)

    def __str__(self) -> str:
        text = self.message
        if self.url:
            text += f" [{self.url}]"
        return redact(text)

    def __repr__(self) -> str:
        return redact(f"{type(self).__name__}({self.message!r}, status_code={self.status_code})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[ONCError], state: dict[str, Any]) -> ONCError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class TokenMissingError(ONCError, ValueError):
    """No API token was given by argument, environment or ``.env`` file."""


class ONCHTTPError(ONCError):
    """The API answered with an HTTP status the client could not use."""


class BadRequestError(ONCHTTPError):
    """HTTP 400: a parameter is wrong (see ``error_code`` and ``parameter``)."""


class InvalidParameterError(BadRequestError):
    """ONC error 127: a parameter has an invalid value (unknown code, product not offered...)."""


class MissingParameterError(BadRequestError):
    """ONC error 128: a required parameter is missing."""


class UnknownParameterError(BadRequestError):
    """ONC error 129: a parameter name is not known to this service."""


class InvalidDateRangeError(BadRequestError):
    """ONC errors 23 (``dateFrom`` after ``dateTo``) and 25 (start time in the future)."""


class NotDeployedError(BadRequestError):
    """The device (or device category at a location) was not deployed during the range.

    Attributes
    ----------
    device_code : str or None
        The device asked about, when known.
    deployments : list of DeploymentRange
        When it *was* deployed, so that a caller can pick dates that work.
    """

    def __init__(
        self,
        message: str,
        *,
        deployments: Sequence[Any] = (),
        device_code: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.device_code = device_code
        self.deployments = list(deployments)

    def __str__(self) -> str:
        text = super().__str__()
        if self.deployments:
            ranges = "; ".join(str(d) for d in self.deployments)
            who = f" of {self.device_code}" if self.device_code else ""
            text += f"\nDeployments{who}: {ranges}"
        elif self.device_code is not None:
            text += f"\n{self.device_code} has no deployments on record."
        return redact(text)


class AuthError(ONCHTTPError):
    """HTTP 401 (or a 400 about ``token``): the token is missing, wrong or expired."""


class RestrictedDataError(ONCHTTPError):
    """The data exist but this token may not download them (restricted device or product)."""


class NoDataError(ONCHTTPError):
    """There is nothing to return: no data in the range, or no such archive file."""


class NotFoundError(ONCHTTPError):
    """HTTP 404: nothing matches (a discovery filter that selects nothing, an unknown path)."""


class GoneError(ONCHTTPError):
    """HTTP 410: a product file was deleted from ONC's FTP server; run the order again."""


class RateLimitError(ONCHTTPError):
    """HTTP 429 persisted through every retry."""


class ServerError(ONCHTTPError):
    """HTTP 5xx persisted through every retry."""


class ONCConnectionError(ONCError, ConnectionError):
    """The server could not be reached, or the connection broke, on every attempt."""


class DownloadError(ONCError):
    """A download came back incomplete or with a size other than ONC announced."""


class CorruptFileError(DownloadError):
    """A downloaded file cannot be decoded or parsed, even after evicting it and fetching it again.

    Attributes
    ----------
    filename : str
        ONC's name of the file.
    path : str
        Where the (unreadable) copy is in the cache.
    """

    def __init__(self, message: str, *, filename: str = "", path: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.filename = filename
        self.path = path


class OrderError(ONCError):
    """A data-product order ended in ``error`` or ``cancelled``, or could not be completed."""


class OrderTimeoutError(OrderError, TimeoutError):
    """:meth:`DataProductOrder.wait` ran out of time before the order completed."""


_CODE_CLASSES: dict[int, type[BadRequestError]] = {
    23: InvalidDateRangeError,
    25: InvalidDateRangeError,
    127: InvalidParameterError,
    128: MissingParameterError,
    129: UnknownParameterError,
}
_RESTRICTED_WORDS = (
    "restricted",
    "permission",
    "not authorized",
    "not authorised",
    "access denied",
    "no access",
    "not allowed",
)
_NO_DATA_CODES = (33, 96)


def parse_error_body(text: str | bytes | None) -> list[dict[str, Any]]:
    """Read ONC's ``{"errors": [...]}`` body; an empty list when it is not one.

    Examples
    --------
    >>> parse_error_body('{"errors": [{"errorCode": 128, "errorMessage": "Missing", '
    ...                  '"parameter": "deviceCode"}]}')
    [{'errorCode': 128, 'errorMessage': 'Missing', 'parameter': 'deviceCode'}]
    >>> parse_error_body("<html>Bad gateway</html>")
    []
    """
    if not text:
        return []
    try:
        body = json.loads(text)
    except (ValueError, TypeError):
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict)]


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for e in errors:
        code = e.get("errorCode")
        msg = str(e.get("errorMessage", "")).strip()
        param = e.get("parameter")
        line = f"API error {code}: {msg}" if code is not None else msg
        if param:
            line += f" (parameter: {param})"
        parts.append(line)
    return "; ".join(parts)


_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_from_response(
    status_code: int,
    body: str | bytes | None,
    url: str,
    *,
    retries: int = 0,
    note: str = "",
) -> ONCHTTPError:
    """Build the most specific :class:`ONCHTTPError` for an HTTP answer.

    Parameters
    ----------
    status_code
        The HTTP status.
    body
        The response body (already token-scrubbed by the caller; scrubbed again here).
    url
        The request URL; it is redacted before being stored.
    retries
        How many retries were spent (mentioned in 429/5xx messages).
    note
        Appended to a 429/5xx message (why the retries stopped, e.g. the call's deadline).

    Examples
    --------
    >>> body = ('{"errors": [{"errorCode": 127, "errorMessage": "A device with category CTD '
    ...         'was deployed at location BACVP but not during the provided time range", '
    ...         '"parameter": "locationCode, dateFrom"}]}')
    >>> err = error_from_response(400, body, "https://x/api/scalardata/location?token=t")
    >>> type(err).__name__, err.error_code, err.parameter
    ('NotDeployedError', 127, 'locationCode, dateFrom')
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    text = redact(text)
    errors = parse_error_body(text)
    first = errors[0] if errors else {}
    code = _code(first.get("errorCode"))
    parameter = first.get("parameter")
    parameter = str(parameter) if parameter is not None else None
    reason = _STATUS_TEXT.get(status_code, "")
    detail = _describe(errors) if errors else text.strip()[:300]
    message = f"HTTP {status_code} {reason}".rstrip()
    if detail:
        message += f": {detail}"
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "error_code": code,
        "parameter": parameter,
        "errors": errors,
        "url": url,
    }
    all_messages = " ".join(str(e.get("errorMessage", "")) for e in errors).lower()
    params = " ".join(str(e.get("parameter", "")) for e in errors).lower()

    if status_code == 401 or (status_code == 400 and "token" in params.split(", ")):
        return AuthError(f"{message}. Check your ONC API token: {TOKEN_HELP}", **kwargs)
    if status_code == 400 and "deployed" in all_messages:
        return NotDeployedError(message, **kwargs)
    if status_code == 403 or (
        status_code == 400 and any(w in all_messages for w in _RESTRICTED_WORDS)
    ):
        return RestrictedDataError(
            f"{message}. This token may not download these data: ask ONC for access to the "
            "device, or choose another one",
            **kwargs,
        )
    if status_code == 400:
        if code in _NO_DATA_CODES or "no data" in all_messages:
            return NoDataError(message, **kwargs)
        cls = _CODE_CLASSES.get(code, BadRequestError) if code is not None else BadRequestError
        return cls(message, **kwargs)
    if status_code == 204:
        return NoDataError(f"{message}: no data in the requested range", **kwargs)
    if status_code == 404:
        return NotFoundError(message, **kwargs)
    if status_code == 410:
        return GoneError(
            f"{message}. The file was deleted from ONC's FTP server; restart or re-run the order",
            **kwargs,
        )
    tried = (f" (after {retries} retries)" if retries else "") + note
    if status_code == 429:
        return RateLimitError(f"{message}{tried}; wait a while or use fewer workers", **kwargs)
    if 500 <= status_code < 600:
        return ServerError(
            f"{message}{tried}; ONC may be in maintenance, try again later", **kwargs
        )
    return ONCHTTPError(message, **kwargs)
