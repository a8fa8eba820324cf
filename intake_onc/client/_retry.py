"""How failed requests are retried: :class:`RetryPolicy` and ``Retry-After`` parsing."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = ["DEFAULT_DEADLINE", "RetryPolicy", "parse_retry_after"]

#: Default total time of one call, retries and their waits included (seconds).
DEFAULT_DEADLINE = 600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Parameters
    ----------
    total
        Retries after the first attempt (``0``: never retry).
    backoff
        Base delay in seconds: attempt *n* waits about ``backoff * 2**n`` (with jitter: a
        uniformly random value between half and all of it).
    max_backoff
        Upper bound of the exponential delay.
    max_retry_after
        Upper bound on a server's ``Retry-After`` (seconds) that will be honoured.
    statuses
        HTTP statuses that are retried.
    deadline
        Total seconds one call may spend, from its first attempt to the start of its last one:
        every wait (backoff or ``Retry-After``) counts against it, and a retry whose wait would
        end past it is not made (the call raises instead). An attempt already under way is
        bounded by the client's ``timeout``, not by the deadline. Default: 600 (10 minutes).

    Examples
    --------
    >>> policy = RetryPolicy(total=3, backoff=0.01)
    >>> 0.005 <= policy.delay(0) <= 0.01
    True
    >>> policy.delay(0, retry_after=2.0) >= 2.0
    True
    """

    total: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 300.0
    statuses: frozenset[int] = field(default=frozenset({429, 500, 502, 503, 504}))
    deadline: float = DEFAULT_DEADLINE

    def __post_init__(self) -> None:
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 0:
            raise ValueError(
                f"retries: expected an integer >= 0 (retries after the first attempt), "
                f"got {self.total!r}"
            )
        for name in ("backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{name}: expected a delay in seconds >= 0, got {value!r}")
        deadline = self.deadline
        if (
            isinstance(deadline, bool)
            or not isinstance(deadline, (int, float))
            or math.isnan(deadline)
            or deadline <= 0
        ):
            raise ValueError(
                f"deadline: expected a total time in seconds > 0 (e.g. 600), got {deadline!r}"
            )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        cap = min(self.max_backoff, self.backoff * (2.0**attempt))
        wait = cap / 2 + random.uniform(0, cap / 2)
        if retry_after is not None:
            wait = max(wait, min(max(retry_after, 0.0), self.max_retry_after))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent.

    Examples
    --------
    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after(None) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
