"""Long work: a thread pool, a tqdm progress bar, and the summary at the end.

:func:`run_parallel` maps a function over items on a bounded thread pool, showing a progress
bar only when it is useful (stderr is a terminal and the caller did not ask for quiet), and
collecting each item's result *or* exception, so one failure never aborts the batch.
:class:`DownloadSummary` is what a batch download returns.

Examples
--------
>>> outcomes = run_parallel(lambda x: 10 // x, [1, 2, 0], workers=2, progress=False)
>>> [o.result for o in outcomes]
[10, 5, None]
>>> type(outcomes[2].error).__name__
'ZeroDivisionError'
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from intake_onc.client._redact import redact

__all__ = ["DownloadSummary", "Outcome", "progress_bar", "run_parallel"]

T = TypeVar("T")
R = TypeVar("R")


def _wants_bar(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(total: int | None, desc: str, *, progress: bool | None = None, unit: str = "it"):
    """A tqdm bar, or a silent stand-in when ``progress`` is False (or None and not a TTY).

    Examples
    --------
    >>> with progress_bar(3, "files", progress=False) as bar:
    ...     bar.update()
    """
    if not _wants_bar(progress):
        return _NoBar()
    from intake_onc._core.progress import tqdm_class

    tqdm = tqdm_class()

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)


@dataclass
class Outcome(Generic[T, R]):
    """One item of :func:`run_parallel`: its ``result``, or the ``error`` it raised."""

    item: T
    result: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_parallel(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int = 4,
    progress: bool | None = None,
    desc: str = "working",
    unit: str = "it",
    on_done: Callable[[Outcome[T, R], Any], None] | None = None,
) -> list[Outcome[T, R]]:
    """Call ``func(item)`` for every item on ``workers`` threads; outcomes in input order.

    Exceptions are caught per item (``Outcome.error``); ``KeyboardInterrupt`` cancels the
    items not yet started and is re-raised. ``on_done(outcome, bar)`` runs in the calling
    thread as each item finishes (to update a postfix, say).
    """
    items = list(items)
    outcomes: list[Outcome[T, R]] = [Outcome(item) for item in items]
    if not items:
        return outcomes

    def call(i: int) -> int:
        try:
            outcomes[i].result = func(items[i])
        except Exception as exc:  # reported per item, never fatal to the batch
            outcomes[i].error = exc
        return i

    with progress_bar(len(items), desc, progress=progress, unit=unit) as bar:
        if workers <= 1 or len(items) == 1:
            for i in range(len(items)):
                call(i)
                bar.update()
                if on_done is not None:
                    on_done(outcomes[i], bar)
            return outcomes
        pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="onc")
        try:
            futures = [pool.submit(call, i) for i in range(len(items))]
            for future in as_completed(futures):
                i = future.result()
                bar.update()
                if on_done is not None:
                    on_done(outcomes[i], bar)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return outcomes


@dataclass
class DownloadSummary:
    """What a batch download did.

    Attributes
    ----------
    paths : list of Path
        Local files, in the order asked (missing entries for failed files are omitted).
    files : int
        Files asked for.
    downloaded : int
        Files fetched from the server.
    cached : int
        Files already present in the cache (not fetched).
    bytes : int
        Bytes fetched from the server.
    seconds : float
        Wall time of the batch.
    errors : list of (str, Exception)
        The files that failed, with their (token-free) error.
    """

    paths: list[Path] = field(default_factory=list)
    files: int = 0
    downloaded: int = 0
    cached: int = 0
    bytes: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, BaseException]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file is present locally."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise the first error (with a count of the others) if any file failed."""
        if self.errors:
            name, first = self.errors[0]
            more = f" (and {len(self.errors) - 1} more failures)" if len(self.errors) > 1 else ""
            from intake_onc.client.errors import DownloadError

            raise DownloadError(f"{name}: {redact(first)}{more}")

    def __str__(self) -> str:
        rate = self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0
        text = (
            f"{self.files} files: {self.downloaded} downloaded ({self.bytes / 1e6:.1f} MB, "
            f"{rate:.1f} MB/s), {self.cached} from cache, {len(self.errors)} errors, "
            f"{self.seconds:.2f} s"
        )
        for name, err in self.errors[:5]:
            text += f"\n  {name}: {type(err).__name__}: {redact(err)}"
        if len(self.errors) > 5:
            text += f"\n  ... and {len(self.errors) - 5} more"
        return text

    def __repr__(self) -> str:
        return f"<DownloadSummary {str(self).splitlines()[0]}>"


def summarize(
    names: Sequence[str], outcomes: Sequence[Outcome[Any, tuple[Path, int | None]]], seconds: float
) -> DownloadSummary:
    """Fold per-file outcomes ``(path, bytes fetched or None if cached)`` into a summary."""
    summary = DownloadSummary(files=len(names), seconds=seconds)
    for name, outcome in zip(names, outcomes, strict=True):
        if outcome.error is not None:
            summary.errors.append((name, outcome.error))
            continue
        path, fetched = outcome.result  # type: ignore[misc]
        summary.paths.append(path)
        if fetched is None:
            summary.cached += 1
        else:
            summary.downloaded += 1
            summary.bytes += fetched
    return summary
