"""Seeded fault injection for the sandbox.

With ``fault_rate`` p > 0, each ``/api/`` request draws from a :class:`random.Random` seeded with
the sandbox's seed: with probability p it gets one of the enabled kinds, chosen uniformly:

=============  ================================================================================
``"500"``      HTTP 500 with a small JSON body
``"503"``      HTTP 503 (maintenance) with a small JSON body
``"429"``      HTTP 429 with ``Retry-After: <retry_after_s>``
``"reset"``    the connection is reset (TCP RST) before any byte of the answer
``"truncate"`` the real answer, with its full ``Content-Length``, cut off half way
``"slow"``     the real answer, after an extra ``fault_slow_ms`` delay
=============  ================================================================================

The sequence of decisions is fixed by the seed (the n-th request of the server gets the n-th
decision); with concurrent clients which request is n-th depends on arrival order, the share does
not. :meth:`FaultInjector.queue` forces the next decisions (``POST /_sandbox/faults?queue=503,reset``
does the same over HTTP), for tests that need one particular fault at one particular request.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable

__all__ = ["KINDS", "FaultInjector"]

#: Every fault kind, in the order the draw indexes them.
KINDS: tuple[str, ...] = ("500", "503", "429", "reset", "truncate", "slow")


class FaultInjector:
    """Decides, request by request, whether (and how) to misbehave."""

    def __init__(
        self, rate: float = 0.0, seed: int = 0, kinds: Iterable[str] | None = None
    ) -> None:
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate: expected a probability in [0, 1], got {rate!r}")
        chosen = tuple(KINDS if kinds is None else kinds)
        unknown = [k for k in chosen if k not in KINDS]
        if unknown or not chosen:
            raise ValueError(
                f"fault_kinds: expected a non-empty subset of {', '.join(KINDS)}, got {chosen!r}"
            )
        self.rate = rate
        self.kinds = chosen
        self._rng = random.Random(f"intake-onc-sandbox-faults:{int(seed)}")
        self._lock = threading.Lock()
        self._forced: deque[str | None] = deque()

    def decide(self) -> str | None:
        """The fault for the next request, or None."""
        with self._lock:
            # Always draw both numbers so the sequence does not depend on the outcomes.
            u = self._rng.random()
            k = self._rng.randrange(len(self.kinds))
            if self._forced:
                return self._forced.popleft()
            return self.kinds[k] if u < self.rate else None

    def queue(self, *kinds: str | None) -> None:
        """Force the next decisions (``None`` = no fault), ahead of the random ones."""
        for kind in kinds:
            if kind is not None and kind not in KINDS:
                raise ValueError(f"fault kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        with self._lock:
            self._forced.extend(kinds)
