"""Ordering: ``client.order(...)`` and ``client.order_many([...])``, with :class:`OrderBatch`.

:meth:`OrdersMixin.order_many` runs many :class:`~intake_onc.client.orders.DataProductOrder`
objects on a bounded pool with a stagger between submissions and a per-order attempt limit; a
failed order is reported in the batch, never fatal to it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from intake_onc._core.time import format_onc_date
from intake_onc.client._args import check_bool, check_int, check_number, check_str
from intake_onc.client._dpo import dpo_options
from intake_onc.client._progress import run_parallel
from intake_onc.client.archive import source_and_range
from intake_onc.client.errors import (
    AuthError,
    BadRequestError,
    NoDataError,
    NotFoundError,
    ONCError,
    OrderError,
    OrderTimeoutError,
    RestrictedDataError,
)
from intake_onc.client.orders import DataProductOrder, _seconds

__all__ = ["OrderBatch", "OrdersMixin"]

#: The shortest range an order may cover (seconds): shorter ones find no data at ONC.
MIN_ORDER_SECONDS = 1.0

#: Errors that another attempt would not fix.
_FINAL = (
    AuthError,
    BadRequestError,
    RestrictedDataError,
    NoDataError,
    NotFoundError,
    OrderTimeoutError,
)


@dataclass
class OrderBatch:
    """What :meth:`~OrdersMixin.order_many` did: ``results`` (completed orders, with their
    ``paths``) and ``failures`` (``(order, error)`` pairs)."""

    results: list[DataProductOrder] = field(default_factory=list)
    failures: list[tuple[DataProductOrder, BaseException]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def paths(self) -> list[Path]:
        """Every downloaded file of the completed orders."""
        return [p for order in self.results for p in order.paths]

    def raise_for_errors(self) -> None:
        """Raise an :class:`OrderError` naming the failures, if any."""
        if self.failures:
            lines = [f"{o!r}: {type(e).__name__}: {e}" for o, e in self.failures]
            raise OrderError(f"{len(self.failures)} orders failed:\n" + "\n".join(lines))

    def __str__(self) -> str:
        text = (
            f"{len(self.results)} orders complete ({len(self.paths)} files), "
            f"{len(self.failures)} failed, {self.seconds:.1f} s"
        )
        for order, err in self.failures:
            text += f"\n  {order!r}: {type(err).__name__}: {err}"
        return text


class OrdersMixin:
    """Data-product methods of :class:`~intake_onc.client.ONCClient`."""

    def order(
        self,
        product: str,
        extension: str,
        *,
        device_code: str | None = None,
        location_code: str | None = None,
        device_category: str | None = None,
        property_code: str | None = None,
        start: Any = None,
        end: Any = None,
        include_metadata: bool = False,
        wait: bool = False,
        timeout: object = None,
        poll: object = None,
        **options: Any,
    ) -> DataProductOrder:
        """Prepare a data-product order (nothing is sent until ``execute()``).

        Parameters
        ----------
        product, extension
            ONC's ``dataProductCode`` (``"TSSD"``, ``"HSD"``, ``"AD"``...) and ``extension``
            (``"csv"``, ``"mat"``, ``"flac"``...).
        device_code, location_code, device_category, property_code
            The source: a device, or a location with a device category (and/or property).
        start, end
            The range (``end`` exclusive); ISO strings, datetimes or ONC durations.
        include_metadata
            Also download the run's metadata file (``index=meta``).
        wait
            Execute, wait and download now (``order.paths`` then holds the files).
        timeout, poll
            For ``wait=True``: the time limit, and the time between polls (durations) (default: 2 % of
            ONC's processing-time estimate, clamped to the client's ``poll_range``).
        **options
            ``dpo_*`` options as ONC names them (``dpo_qualityControl=1``), or the friendly
            keywords of :func:`dpo_options` (``quality_control=True``, ``resample="average"``,
            ``resample_period=60``, ``spectral_downsample=2``...).

        Examples
        --------
        >>> order = client.order("TSSD", "csv", device_code="SBECTD19p6813",
        ...                      start="2024-04-01", end="2024-04-02",
        ...                      quality_control=True, resample="average",
        ...                      resample_period=60)  # doctest: +SKIP
        >>> order  # doctest: +SKIP
        <DataProductOrder TSSD.csv SBECTD19p6813 2024-04-01T00:00:00.000Z..2024-04-02T... status=created>
        >>> paths = order.run()  # doctest: +SKIP
        """
        product = check_str(product, "product", example="TSSD")
        extension = check_str(extension, "extension", example="csv")
        check_bool(include_metadata, "include_metadata")
        check_bool(wait, "wait")
        timeout = _seconds(timeout, "timeout")
        _seconds(poll, "poll")
        _, params, s, e = source_and_range(
            "order",
            device_code,
            location_code,
            device_category,
            start,
            end,
            property_code=property_code,
        )
        if e - s < pd.Timedelta(MIN_ORDER_SECONDS, "s"):
            raise ValueError(
                f"start/end: the order's range [{format_onc_date(s)}, {format_onc_date(e)}) is "
                f"{(e - s).total_seconds():g} s long, shorter than {MIN_ORDER_SECONDS:g} s; ONC "
                "dates have millisecond precision and a product this short finds no data — "
                "widen the range"
            )
        params = {
            "dataProductCode": product,
            "extension": extension.lstrip("."),
            **params,
            "dateFrom": format_onc_date(s),
            "dateTo": format_onc_date(e),
            **dpo_options(options),
        }
        order = DataProductOrder(self, params, include_metadata=include_metadata, poll=poll)
        if wait:
            order.run(timeout=timeout)
        return order

    def order_many(
        self,
        orders: Iterable[DataProductOrder | Mapping[str, Any]],
        *,
        workers: int = 4,
        stagger: float = 0.5,
        max_attempts: int = 3,
        timeout: float | None = None,
        download: bool = True,
        dest: Any = None,
        progress: bool | None = None,
    ) -> OrderBatch:
        """Run many orders in parallel; failures are collected, never fatal to the batch.

        Parameters
        ----------
        orders
            :class:`DataProductOrder` objects, or dicts of :meth:`order` keyword arguments.
        workers
            Orders in flight at once.
        stagger
            Seconds between two submissions (be kind to ONC's queue).
        max_attempts
            Submissions per order; an order that ends in ``error``, or hits a server or network
            failure, is submitted again. Bad parameters, auth, restricted data, no data and
            timeouts are final.
        timeout
            Seconds each order may take (waiting and downloading).
        download
            Also download the files (default); else stop when the runs are complete.

        Examples
        --------
        >>> batch = client.order_many(
        ...     [dict(product="TSSD", extension="csv", device_code="SBECTD19p6813",
        ...           start=f"2024-04-0{d}", end=f"2024-04-0{d + 1}") for d in (1, 2, 3)],
        ...     workers=3)  # doctest: +SKIP
        >>> print(batch)  # doctest: +SKIP
        3 orders complete (3 files), 0 failed, 12.3 s
        """
        check_int(workers, "workers", minimum=1)
        stagger = check_number(stagger, "stagger")
        check_int(max_attempts, "max_attempts", minimum=1)
        timeout = _seconds(timeout, "timeout")
        check_bool(download, "download")
        check_bool(progress, "progress", optional=True)
        if dest is not None and not isinstance(dest, (str, os.PathLike)):
            raise TypeError(
                f"dest: expected a folder path (str or pathlib.Path) or None, got "
                f"{type(dest).__name__} {dest!r:.60}"
            )
        if isinstance(orders, (str, bytes, Mapping)) or not isinstance(orders, Iterable):
            raise TypeError(
                "orders: expected a list of DataProductOrder objects or of dicts of order() "
                f"arguments, got {type(orders).__name__} {orders!r:.60}"
            )
        orders = list(orders)
        for item in orders:
            if not isinstance(item, (DataProductOrder, Mapping)):
                raise TypeError(
                    "orders: expected DataProductOrder objects or dicts of order() arguments, "
                    f"got an item of type {type(item).__name__}: {item!r:.60}"
                )
        items = [o if isinstance(o, DataProductOrder) else self.order(**o) for o in orders]
        gate = threading.Lock()
        next_slot = [0.0]

        def submit_slot() -> None:
            with gate:
                now = time.monotonic()
                wait_for = next_slot[0] - now
                next_slot[0] = max(now, next_slot[0]) + stagger
            if wait_for > 0:
                time.sleep(wait_for)

        def work(order: DataProductOrder) -> DataProductOrder:
            last: BaseException | None = None
            for attempt in range(1, max_attempts + 1):
                if attempt > 1:
                    order.reset()
                if order.status == "created" and order._cached_manifest() is None:
                    submit_slot()
                try:
                    order.execute()
                    if download:
                        order.download(dest, timeout=timeout)
                    else:
                        order.wait(timeout=timeout)
                    return order
                except _FINAL:
                    raise
                except ONCError as exc:
                    last = exc
                    order._log(f"attempt {attempt} of {max_attempts} failed: {exc}")
            assert last is not None
            raise last

        started = time.perf_counter()
        outcomes = run_parallel(
            work,
            items,
            workers=workers,
            progress=self._progress if progress is None else progress,  # type: ignore[attr-defined]
            desc="orders",
            unit="order",
        )
        batch = OrderBatch(seconds=time.perf_counter() - started)
        for outcome in outcomes:
            if outcome.error is None:
                batch.results.append(outcome.item)
            else:
                batch.failures.append((outcome.item, outcome.error))
        return batch
