"""ONC's error bodies, as the sandbox sends them.

Every refusal the sandbox makes goes through :class:`ApiError` (raised anywhere inside an
endpoint, turned into a response by the server), so the bodies and statuses live in one place.

What ONC documents or was observed (onc-api.md §1) and what was chosen here:

=====  =========  ==========================================================================
code   HTTP       meaning / message
=====  =========  ==========================================================================
23     400        dateFrom after dateTo. Message **chosen**: "Invalid Time Range, Start Time
                  is after End Time."
25     400        "Invalid Time Range, Start Time is in the future." (observed)
96     400        "No file could be found." (archivefile/download, observed)
127    400        invalid value: "Invalid parameter value" (observed for the token), an unknown
                  code, "Invalid search header ID" (observed), "not deployed" (observed wording,
                  tail of the sentence **chosen**), restricted data (wording from the issue)
127    401        bad or missing token: ``{"errors":[{"errorCode":127,"errorMessage":"Invalid
                  parameter value","parameter":"token"}]}`` (ONC wiki)
128    400        "Missing Parameter." (+ "  Expected values: a, b" when the values are known;
                  observed form)
129    400        unknown parameter name. Message **chosen**: "Invalid parameter name"
=====  =========  ==========================================================================

Bodies that are not ``{"errors": [...]}`` (404, 410, the 400 after a cancel, faults) are
``{"message": ..., "status": ...}`` objects: ONC's are UNCONFIRMED.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from intake_onc._core.time import filename_timestamp

__all__ = [
    "ApiError",
    "HttpReply",
    "bad_token",
    "date_after_end",
    "date_in_future",
    "invalid_value",
    "missing_parameter",
    "no_file",
    "not_deployed_at_location",
    "not_deployed_device",
    "not_found",
    "restricted",
    "unknown_parameter",
]

INVALID_VALUE = "Invalid parameter value"
INVALID_NAME = "Invalid parameter name"
MISSING = "Missing Parameter."
FUTURE = "Invalid Time Range, Start Time is in the future."
AFTER_END = "Invalid Time Range, Start Time is after End Time."
NO_FILE = "No file could be found."
BAD_SEARCH_HEADER = "Invalid search header ID"


class HttpReply(Exception):
    """A finished HTTP answer (status, JSON body, extra headers) raised out of an endpoint."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class ApiError(HttpReply):
    """An ONC ``{"errors": [...]}`` answer (400 unless told otherwise).

    ``errors`` is a list of ``(errorCode, errorMessage, parameter)`` triples.
    """

    def __init__(self, errors: list[tuple[int, str, str]], status: int = 400) -> None:
        body = {
            "errors": [
                {"errorCode": code, "errorMessage": message, "parameter": parameter}
                for code, message, parameter in errors
            ]
        }
        super().__init__(status, body)
        self.errors = list(errors)

    @property
    def code(self) -> int:
        return self.errors[0][0]

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"HTTP {self.status}: {self.errors}"


def _range_text(date_from: pd.Timestamp, date_to: pd.Timestamp) -> str:
    # ONC prints time ranges in messages as file-name stamps (20250101T000000.000Z), with the
    # inclusive end: dateTo minus one millisecond.
    end = date_to - pd.Timedelta(milliseconds=1) if date_to > date_from else date_to
    return f"{filename_timestamp(date_from)} to {filename_timestamp(end)}"


# -- 401 -----------------------------------------------------------------------------------------
def bad_token() -> ApiError:
    """401 for a wrong or missing token (ONC wiki body)."""
    return ApiError([(127, INVALID_VALUE, "token")], status=401)


# -- 400 -----------------------------------------------------------------------------------------
def invalid_value(parameter: str, message: str = INVALID_VALUE) -> ApiError:
    return ApiError([(127, message, parameter)])


def missing_parameter(parameter: str, expected: list[str] | tuple[str, ...] = ()) -> ApiError:
    message = MISSING
    if expected:
        message = f"{MISSING}  Expected values: {', '.join(expected)}"
    return ApiError([(128, message, parameter)])


def unknown_parameter(*names: str) -> ApiError:
    return ApiError([(129, INVALID_NAME, name) for name in names])


def date_after_end() -> ApiError:
    return ApiError([(23, AFTER_END, "dateFrom, dateTo")])


def date_in_future() -> ApiError:
    return ApiError([(25, FUTURE, "dateFrom")])


def no_file() -> ApiError:
    return ApiError([(96, NO_FILE, "filename")])


def not_deployed_at_location(
    location_code: str, category_code: str, date_from: pd.Timestamp, date_to: pd.Timestamp
) -> ApiError:
    """A category was deployed at a location, but not during the range (observed wording)."""
    message = (
        f"A device with category {category_code} was deployed at location {location_code} "
        f"but not during the provided time range ({_range_text(date_from, date_to)}). "
        "The deployment service can be used to find the time ranges when devices were "
        "deployed at a location."
    )
    return ApiError([(127, message, "locationCode, deviceCategoryCode, dateFrom, dateTo")])


def never_deployed_at_location(location_code: str, category_code: str) -> ApiError:
    """No device of the category was ever at the location (wording chosen)."""
    message = (
        f"No device with category {category_code} has been deployed at location "
        f"{location_code}. The deployment service can be used to find the locations and "
        "device categories with data."
    )
    return ApiError([(127, message, "locationCode, deviceCategoryCode")])


def not_deployed_device(
    device_code: str, date_from: pd.Timestamp, date_to: pd.Timestamp
) -> ApiError:
    """A device was deployed, but not during the range (wording chosen after ONC's)."""
    message = (
        f"The device {device_code} was deployed but not during the provided time range "
        f"({_range_text(date_from, date_to)}). The deployment service can be used to find the "
        "time ranges when the device was deployed."
    )
    return ApiError([(127, message, "deviceCode, dateFrom, dateTo")])


def restricted(device_code: str, product_code: str) -> ApiError:
    """Data of a restricted device (wording from the issue; HTTP 400, code 127, deviceCode)."""
    message = (
        f"deviceCode: {device_code} has data restricted by Ocean Networks Canada Society "
        f"(data product code {product_code}). If you would like to request access to this "
        "data, please complete and submit the Restricted Data Request form on the Ocean "
        "Networks Canada website."
    )
    return ApiError([(127, message, "deviceCode")])


# -- other statuses -------------------------------------------------------------------------------
def not_found(message: str = "No data found for the provided parameters.") -> HttpReply:
    """404 (discovery with no match, unknown path). ONC's body is UNCONFIRMED."""
    return HttpReply(404, {"message": message, "status": "not found"})


# ------------------------------------------------------------------------------------------------
# Replies and query-string handling (shared by the endpoint modules)
# ------------------------------------------------------------------------------------------------


class Reply:
    """What an endpoint answers: a status, a JSON-able body or raw bytes, and headers."""

    __slots__ = ("status", "body", "headers", "raw")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        raw: bool = False,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        #: ``True`` when ``body`` is bytes to send as they are.
        self.raw = raw

    @classmethod
    def from_exception(cls, exc: HttpReply) -> Reply:
        return cls(exc.body, exc.status, exc.headers)


#: Parameters every endpoint accepts besides its own.
COMMON_PARAMETERS = frozenset({"token", "method"})
MAX_ROW_LIMIT = 100_000

#: The dates the sandbox accepts (a parsed date or a date plus a duration outside them: 400/127).
_MIN_DATE = pd.Timestamp("1900-01-01")
_MAX_DATE = pd.Timestamp("2200-01-01")
_OUT_OF_RANGE = (
    "Invalid date: {text} is outside the supported range 1900-01-01T00:00:00.000Z to "
    "2200-01-01T00:00:00.000Z."
)

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Query:
    """The query string of one request, with ONC's validation rules.

    ``params`` keeps the order and spelling the client sent (first value of a repeated name).
    """

    def __init__(
        self,
        params: dict[str, str],
        *,
        base_url: str,
        path: str,
        now: pd.Timestamp | None = None,
    ) -> None:
        self.params = dict(params)
        self.base_url = base_url
        self.path = path
        self.now = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)

    # -- presence -------------------------------------------------------------------------------
    def allow(self, *names: str, prefix: str | None = None) -> None:
        """Refuse (129) every parameter not in ``names`` (nor starting with ``prefix``)."""
        allowed = COMMON_PARAMETERS.union(names)
        unknown = [
            name
            for name in self.params
            if name not in allowed and not (prefix is not None and name.startswith(prefix))
        ]
        if unknown:
            raise unknown_parameter(*unknown)

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def require(self, name: str, expected: tuple[str, ...] | list[str] = ()) -> str:
        value = self.get(name)
        if value is None:
            raise missing_parameter(name, expected)
        return value

    def codes(self, name: str) -> list[str]:
        """A comma list (``propertyCode=a,b``), blanks dropped."""
        value = self.get(name)
        if value is None:
            return []
        return [part.strip() for part in value.split(",") if part.strip()]

    # -- typed values ---------------------------------------------------------------------------
    def integer(
        self, name: str, default: int | None = None, *, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(float(value)) if "." in value else int(value)
        except ValueError:
            raise invalid_value(name) from None
        if lo is not None and number < lo:
            raise invalid_value(name)
        if hi is not None and number > hi:
            number = hi
        return number

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise invalid_value(name) from None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise invalid_value(name)

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        """One of ``choices`` (case-insensitive; returned as spelled in ``choices``)."""
        value = self.get(name)
        if value is None:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise invalid_value(name)

    def row_limit(self, maximum: int = MAX_ROW_LIMIT) -> int:
        """``rowLimit``: default and ceiling ``maximum`` (ONC: 100,000); below 1 is refused."""
        return int(self.integer("rowLimit", maximum, lo=1, hi=maximum))

    # -- dates ----------------------------------------------------------------------------------
    def dates(
        self,
        *,
        required: bool = False,
        default_from: pd.Timestamp | None = None,
        default_to: pd.Timestamp | None = None,
        check_future: bool = True,
    ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """``(dateFrom, dateTo)`` resolved (durations included) and checked (23, 25, 127, 128).

        A missing side is ``default_from``/``default_to`` (``None`` when no default applies).
        """
        from intake_onc._core.time import DateParseError, parse_date, parse_iso_duration

        text_from, text_to = self.get("dateFrom"), self.get("dateTo")
        if required:
            if text_from is None:
                raise missing_parameter("dateFrom")
            if text_to is None:
                raise missing_parameter("dateTo")

        def is_duration(text: str | None) -> bool:
            return text is not None and text.lstrip("+-").startswith("P")

        if is_duration(text_from) and is_duration(text_to):
            raise invalid_value(
                "dateFrom, dateTo", "Only one of dateFrom and dateTo may be a duration."
            )

        def parse(name: str, text: str) -> pd.Timestamp:
            try:
                return parse_date(text, argument=name)
            except DateParseError:
                raise invalid_value(
                    name,
                    f"Invalid date format: {text}. Expected yyyy-MM-ddTHH:mm:ss.SSSZ, "
                    "yyyy-MM-dd or an ISO 8601 duration.",
                ) from None

        def duration(name: str, text: str) -> pd.Timedelta:
            try:
                return parse_iso_duration(text)
            except DateParseError:
                raise invalid_value(
                    name, f"Invalid ISO 8601 duration: {text}. Expected for example -P1DT1H."
                ) from None

        def shifted(name: str, base: pd.Timestamp, text: str) -> pd.Timestamp:
            # A duration that leaves the representable dates (P999999999D) is ONC's 400,
            # not an overflow.
            try:
                out = (base + duration(name, text)).as_unit("ns")
            except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
                raise invalid_value(name, _OUT_OF_RANGE.format(text=text)) from None
            if not _MIN_DATE <= out <= _MAX_DATE:
                raise invalid_value(name, _OUT_OF_RANGE.format(text=text))
            return out

        def checked(name: str, text: str) -> pd.Timestamp:
            out = parse(name, text)
            if not _MIN_DATE <= out <= _MAX_DATE:
                raise invalid_value(name, _OUT_OF_RANGE.format(text=text))
            return out

        start: pd.Timestamp | None
        end: pd.Timestamp | None
        if text_from is None:
            start = default_from
        elif is_duration(text_from):
            start = shifted("dateFrom", self.now, text_from)
        else:
            start = checked("dateFrom", text_from)
        if text_to is None:
            end = default_to
        elif is_duration(text_to):
            base = start if start is not None else self.now
            end = shifted("dateTo", base, text_to)
        else:
            end = checked("dateTo", text_to)

        if start is not None and end is not None and start > end:
            raise date_after_end()
        if check_future and start is not None and start > self.now:
            raise date_in_future()
        return start, end

    # -- URLs -----------------------------------------------------------------------------------
    def url(self, params: dict[str, str] | None = None) -> str:
        """The full URL of this path with ``params`` (default: the request's own)."""
        from urllib.parse import urlencode

        params = self.params if params is None else params
        query = urlencode(params, safe=",:")
        return f"{self.base_url}{self.path}" + (f"?{query}" if query else "")

    def next_page(self, **overrides: object) -> dict[str, Any]:
        """ONC's ``next``: every parameter of this request (token included) with ``overrides``."""
        params = {name: value for name, value in self.params.items()}
        for name, value in overrides.items():
            params[name] = str(value)
        return {"parameters": params, "url": self.url(params)}
