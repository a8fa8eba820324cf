"""Read-ahead of scalar windows: network concurrency that follows the client's ``workers``.

dask runs one window task per thread, so on the local scheduler of a 2-core laptop only two
windows download at a time, whatever the client's ``workers`` (the issue measured 2 requests in
flight while ``workers=4`` went unused). Downloads wait on the network, not on the CPU, so the
window tasks share a small per-client pool of ``workers`` download threads instead:

* when a window task runs right after the task of a neighbouring window (a *sequential*
  compute, detected as an operating system detects sequential reads; forwards or backwards:
  dask often runs a graph from its end), it also starts downloading the next ``workers − 1``
  windows of the same dataset in that direction, in the pool;
* the task of such a window then takes the download that is already under way (or done) instead
  of starting its own.

A compute of one window (``ds.isel(time=0).values``) downloads that window only: the read-ahead
starts with the second window in a row, and never goes past the dataset's last window. At most
``workers − 1`` windows wait in memory for their task; a download nobody took for ``workers``
later windows is dropped. Inside a ``dask.distributed`` worker there is no read-ahead: the next
window's task may run on another worker, and the cluster already downloads one window per
worker thread.

Examples
--------
>>> ahead = ReadAhead(workers=4)
>>> ahead.get("w0", lambda key: f"data of {key}", after=("w1", "w2", "w3"))
'data of w0'
>>> ahead.close()
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["ReadAhead", "read_ahead_of"]

_REGISTRY: weakref.WeakKeyDictionary[Any, ReadAhead] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def _in_distributed_worker() -> bool:
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except (ValueError, AttributeError):
        return False
    return True


class ReadAhead:
    """Downloads of the windows that follow the one being computed (module docstring).

    Parameters
    ----------
    workers
        Download threads, and the largest number of windows fetched at once.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._pool: ThreadPoolExecutor | None = None
        self._pending: OrderedDict[Hashable, Future] = OrderedDict()
        self._recent: deque[Hashable] = deque(maxlen=4 * self.workers)
        self._lock = threading.Lock()

    def _submit(self, key: Hashable, download: Callable[[Hashable], Any]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onc-read-ahead")
        self._pending[key] = self._pool.submit(download, key)
        while len(self._pending) > self.workers:  # nobody took it: drop the oldest
            _, stale = self._pending.popitem(last=False)
            stale.cancel()

    def get(
        self,
        key: Hashable,
        download: Callable[[Hashable], Any],
        *,
        before: Sequence[Hashable] = (),
        after: Sequence[Hashable] = (),
    ) -> Any:
        """``download(key)``, or the read-ahead's download of ``key`` if one is under way.

        ``before`` and ``after`` are the windows around ``key``, nearest first. When the
        window just before it was asked for recently, the compute goes forwards and the first
        ``workers − 1`` of ``after`` start downloading in the pool; when the window just after
        it was, it goes backwards (dask often runs a graph from its end), and ``before`` do.
        """
        with self._lock:
            future = self._pending.pop(key, None)
            ahead: Sequence[Hashable] = ()
            if before and before[0] in self._recent:
                ahead = after
            elif after and after[0] in self._recent:
                ahead = before
            self._recent.append(key)
            if ahead and self.workers > 1 and not _in_distributed_worker():
                for nxt in ahead[: self.workers - 1]:
                    if nxt not in self._pending and nxt not in self._recent:
                        self._submit(nxt, download)
        if future is not None and not future.cancelled():
            return future.result()  # its failure is this task's failure, as without read-ahead
        return download(key)

    def close(self) -> None:
        """Drop what is pending and stop the threads."""
        with self._lock:
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def read_ahead_of(owner: Any, workers: int) -> ReadAhead:
    """The :class:`ReadAhead` of ``owner`` (a client), made on first use; it goes with it."""
    with _REGISTRY_LOCK:
        ahead = _REGISTRY.get(owner)
        if ahead is None or ahead.workers != max(1, int(workers)):
            if ahead is not None:
                ahead.close()
            ahead = _REGISTRY[owner] = ReadAhead(workers)
            weakref.finalize(owner, ahead.close)
        return ahead
