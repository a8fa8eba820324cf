"""HTTP client for the Oceans 3.0 API (or the local sandbox), its download cache and orders.

Against the real service, the token comes from ``ONC_TOKEN`` or ``./.env``::

    client = ONCClient()
    client.deployments(device_code="ICLISTENHF6093")
    order = client.order("HSD", "mat", device_code="ICLISTENHF6093",
                         start="2024-04-01", end="2024-04-01T01:00")
    paths = order.run()

The same calls against the embedded sandbox:

>>> import tempfile
>>> import intake_onc.sandbox
>>> from intake_onc.client import ONCClient
>>> with intake_onc.sandbox.serve(port=0) as url:
...     client = ONCClient(intake_onc.sandbox.SANDBOX_TOKEN, base_url=url,
...                        cache_dir=tempfile.mkdtemp())
...     files = client.archive_files("ICLISTENHF6093", "2024-04-01T00:00", "2024-04-01T00:10",
...                                  extension="flac")
...     summary = client.download_files(files)
>>> summary.files == len(files) > 0
True

Modules: ``_client`` (ONCClient, configuration), ``_http`` (session, retries, pagination,
downloads), ``_redact`` (the token never shows), ``errors``, ``discovery``, ``archive``,
``scalar``, ``orders`` (one order), ``batch`` (ordering, many orders), ``_dpo``
(order options), ``cache``, ``_progress``, ``cli`` (``intake-onc cache info|clear``).
"""

from intake_onc.client._client import DEFAULT_BASE_URL, ONCClient
from intake_onc.client._http import RetryPolicy
from intake_onc.client._progress import DownloadSummary
from intake_onc.client.batch import OrderBatch
from intake_onc.client.cache import Cache, CacheInfo, default_cache_dir
from intake_onc.client.discovery import DeploymentRange
from intake_onc.client.errors import (
    AuthError,
    BadRequestError,
    CorruptFileError,
    DownloadError,
    GoneError,
    InvalidDateRangeError,
    InvalidParameterError,
    MissingParameterError,
    NoDataError,
    NotDeployedError,
    NotFoundError,
    ONCConnectionError,
    ONCError,
    ONCHTTPError,
    ONCWarning,
    OrderError,
    OrderTimeoutError,
    RateLimitError,
    RestrictedDataError,
    ServerError,
    TokenMissingError,
    UnknownParameterError,
)
from intake_onc.client.orders import DataProductOrder, LogEntry

__all__ = [
    "DEFAULT_BASE_URL",
    "AuthError",
    "BadRequestError",
    "Cache",
    "CacheInfo",
    "CorruptFileError",
    "DataProductOrder",
    "DeploymentRange",
    "DownloadError",
    "DownloadSummary",
    "GoneError",
    "InvalidDateRangeError",
    "InvalidParameterError",
    "LogEntry",
    "MissingParameterError",
    "NoDataError",
    "NotDeployedError",
    "NotFoundError",
    "ONCClient",
    "ONCConnectionError",
    "ONCError",
    "ONCHTTPError",
    "ONCWarning",
    "OrderBatch",
    "OrderError",
    "OrderTimeoutError",
    "RateLimitError",
    "RestrictedDataError",
    "RetryPolicy",
    "ServerError",
    "TokenMissingError",
    "UnknownParameterError",
    "default_cache_dir",
]
