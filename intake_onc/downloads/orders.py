"""The HSD orders of :func:`~intake_onc.downloads.fetch.fetch` (``spectrogram_source="order"``).

Windows of one device are grouped into orders: consecutive windows (by start) share an order
while the order's range covers at most ``spectrograms_per_order`` five-minute audio files (ONC
makes one spectrogram per audio file). The orders run in parallel through
:meth:`~intake_onc.client.batch.OrdersMixin.order_many`, which staggers submissions, polls at
the pace asked and submits a failed order again up to ``max_attempts`` times; each window's
spectrogram is then cut from its order's files. A dry run asks ONC for each order's estimate
(:meth:`~intake_onc.client.orders.DataProductOrder.estimate`) and runs nothing.

Examples
--------
>>> from intake_onc.downloads.window import Window
>>> ws = [Window("ICLISTENHF6324", f"2024-04-01T00:{m:02d}", f"2024-04-01T00:{m + 1:02d}")
...       for m in (0, 2, 30)]
>>> [len(g) for g in group_windows(ws, spectrograms_per_order=2)]
[2, 1]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from intake_onc._core.time import format_onc_date

from .window import Window

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient
    from intake_onc.client.orders import DataProductOrder

__all__ = ["OrderReport", "SpectrogramOrders", "group_windows"]

#: Seconds of audio behind one ONC spectrogram (the archive's five-minute files).
FILE_SECONDS = 300.0


@dataclass
class OrderReport:
    """One HSD order as ``summary.json`` records it."""

    start: str
    end: str
    windows: list[str]
    request_id: int | None = None
    run_ids: list[int] = field(default_factory=list)
    status: str = "created"
    attempts: int = 0
    estimated_bytes: int | None = None
    estimated_seconds: float | None = None
    files: int = 0
    from_cache: bool = False
    error: str = ""

    def update(self, order: DataProductOrder, error: BaseException | None = None) -> None:
        """Copy what ``order`` knows now (and its failure, if any)."""
        self.request_id = order.request_id
        self.run_ids = list(order.run_ids)
        self.status = "failed" if error is not None else order.status
        self.attempts = order.attempts
        self.estimated_bytes = order.estimated_size
        self.estimated_seconds = order.estimated_time
        self.files = len(order.paths)
        self.from_cache = order.from_cache
        if error is not None:
            self.error = f"{type(error).__name__}: {' '.join(str(error).split())}"


def check_per_order(spectrograms_per_order: object) -> None:
    """Refuse a ``spectrograms_per_order`` that is not a whole number ≥ 1, naming it."""
    if isinstance(spectrograms_per_order, bool) or not isinstance(spectrograms_per_order, int):
        raise TypeError(
            f"spectrograms_per_order: expected a whole number such as 12, got "
            f"{spectrograms_per_order!r}"
        )
    if spectrograms_per_order < 1:
        raise ValueError(
            f"spectrograms_per_order={spectrograms_per_order}: expected at least 1 (the number "
            "of five-minute spectrograms one HSD order may cover)"
        )


def group_windows(windows: Sequence[Window], spectrograms_per_order: int) -> list[list[Window]]:
    """Windows (one device) in orders of at most ``spectrograms_per_order`` audio files' span.

    Windows are taken by start time; a window joins the current order while the order's range
    (first start to last end) stays within ``spectrograms_per_order`` × 5 minutes, so widely
    spread events get orders of their own instead of one order spanning the time between them.
    A window longer than that is an order of its own.
    """
    check_per_order(spectrograms_per_order)
    span = pd.Timedelta(seconds=FILE_SECONDS * spectrograms_per_order)
    groups: list[list[Window]] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if groups:
            group = groups[-1]
            if max(w.end, *(g.end for g in group)) - group[0].start <= span:
                group.append(w)
                continue
        groups.append([w])
    return groups


def order_options(hsd_options: Mapping[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """``(downsample, dpo options)`` of fetch's ``hsd_options``: every option the cutting depends
    on is sent (one MAT per audio file, channel H1 unless asked), never left to ONC's defaults."""
    options = dict(hsd_options or {})
    downsample = options.pop("downsample", options.pop("dpo_spectralDataDownsample", 1))
    if isinstance(downsample, str) and downsample.strip().isdigit():
        downsample = int(downsample)
    if isinstance(downsample, bool) or downsample not in (0, 1, 2):
        raise ValueError(
            f"hsd_options: downsample={downsample!r}; expected 0 (full resolution), 1 (one-minute "
            "averages) or 2 (plot resolution)"
        )
    concat = options.setdefault("dpo_spectrogramConcatenation", "None")
    if concat != "None":
        raise ValueError(
            f"hsd_options: dpo_spectrogramConcatenation={concat!r}; fetch cuts each window from "
            "one MAT file per audio file, so it must be 'None'"
        )
    options.setdefault("dpo_hydrophoneChannel", "H1")
    return int(downsample), options


class SpectrogramOrders:
    """The HSD orders of one fetch: which window is in which order, and their outcomes."""

    def __init__(
        self,
        client: ONCClient,
        windows_by_device: Mapping[str, Sequence[Window]],
        *,
        hsd_options: Mapping[str, Any] | None,
        spectrograms_per_order: int,
        poll_seconds: float | None,
    ) -> None:
        self.client = client
        self.downsample, options = order_options(hsd_options)
        self.orders: list[DataProductOrder] = []
        self.order_reports: list[OrderReport] = []  # one per order, same index
        self.reports: dict[str, list[OrderReport]] = {}  # the same reports, by device
        self._of_window: dict[int, int] = {}  # id(window) -> order
        self._errors: dict[int, BaseException] = {}
        self._finished = threading.Event()
        self._failure: BaseException | None = None
        for device, windows in windows_by_device.items():
            for group in group_windows(windows, spectrograms_per_order):
                start, end = group[0].start, max(w.end for w in group)
                order = client.order(
                    "HSD",
                    "mat",
                    device_code=device,
                    start=start,
                    end=end,
                    dpo_spectralDataDownsample=self.downsample,
                    poll=poll_seconds,
                    **options,
                )
                for w in group:
                    self._of_window[id(w)] = len(self.orders)
                report = OrderReport(
                    format_onc_date(start), format_onc_date(end), [str(w) for w in group]
                )
                self.orders.append(order)
                self.order_reports.append(report)
                self.reports.setdefault(device, []).append(report)

    def estimate(self) -> None:
        """ONC's estimate of every order (requests sent, nothing run or downloaded)."""
        for order, report in zip(self.orders, self.order_reports, strict=True):
            try:
                order.estimate()
                report.update(order)
            except Exception as exc:  # noqa: BLE001 - a dry run reports what it could not plan
                report.update(order, exc)

    def run(
        self, *, workers: int, stagger_seconds: float, max_attempts: int, progress: bool | None
    ) -> None:
        """Run every order (in parallel, staggered, retried) and download its files.

        Windows waiting in :meth:`spectrogram` go on when this returns (so it may run in a
        thread of its own while the audio downloads).
        """
        try:
            batch = self.client.order_many(
                self.orders,
                workers=workers,
                stagger=stagger_seconds,
                max_attempts=max_attempts,
                progress=progress,
            )
        except BaseException as exc:
            self._failure = exc
            raise
        finally:
            self._finished.set()
        failed = {id(order): error for order, error in batch.failures}
        for i, (order, report) in enumerate(zip(self.orders, self.order_reports, strict=True)):
            error = failed.get(id(order))
            report.update(order, error)
            if error is not None:
                self._errors[i] = error

    def spectrogram(self, w: Window):
        """The window's columns (centres in ``[start, end)``) from its order's MAT files."""
        from intake_onc.acoustics.hsd import open_hsd_files

        self._finished.wait()
        if self._failure is not None:
            raise RuntimeError(f"the HSD orders could not run: {self._failure}")
        i = self._of_window[id(w)]
        if i in self._errors:
            report = self.order_reports[i]
            raise RuntimeError(
                f"its HSD order (request {report.request_id}) failed: {report.error}"
            )
        paths = [p for p in self.orders[i].paths if str(p).lower().endswith(".mat")]
        if not paths:
            raise RuntimeError(
                f"its HSD order (request {self.orders[i].request_id}) gave no MAT file"
            )
        spec = open_hsd_files(paths, downsample=self.downsample)
        times = spec["time"].values  # column centres, naive UTC like the window
        keep = (times >= w.start.to_datetime64()) & (times < w.end.to_datetime64())
        return spec.isel(time=keep)
