"""What a :func:`~intake_onc.downloads.fetch.fetch` did: per-window and per-device reports,
the :class:`FetchResult`, and the files that record them in each run folder.

``summary.json`` is :class:`FetchResult` per device; ``anomaly_report.txt`` lists gaps written
as silence, failed windows and orders, and windows outside every deployment; ``CITATION.txt``
and ``CITATION.bib`` hold ONC's citation of the deployment (:class:`~intake_onc._core.citation.
Citation`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from intake_onc._core.citation import Citation
from intake_onc._core.files import atomic_write

from .orders import OrderReport
from .window import Window

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = ["DeviceReport", "FetchResult", "WindowReport"]


@dataclass
class WindowReport:
    """What happened to one window."""

    window: str
    label: str
    files: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    bytes: int = 0
    gap_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)


@dataclass
class DeviceReport:
    """One device's run folder and windows."""

    device_code: str
    folder: str
    windows: list[WindowReport] = field(default_factory=list)
    not_deployed: list[str] = field(default_factory=list)
    citation: dict[str, Any] = field(default_factory=dict)
    orders: list[OrderReport] = field(default_factory=list)
    seconds: float = 0.0
    estimated_bytes: int = 0
    estimated_seconds: float = 0.0


@dataclass
class FetchResult:
    """The outcome of :func:`fetch` (also written as ``summary.json`` in each run folder)."""

    devices: dict[str, DeviceReport]
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def files(self) -> list[str]:
        """Every file written (or, for a dry run, planned), in window order."""
        out = []
        for d in self.devices.values():
            for w in d.windows:
                out.extend(w.planned if self.dry_run else w.files + w.skipped_existing)
        return out

    @property
    def errors(self) -> list[str]:
        """Every error of every window."""
        return [e for d in self.devices.values() for w in d.windows for e in w.errors]

    @property
    def downloaded_bytes(self) -> int:
        return sum(w.bytes for d in self.devices.values() for w in d.windows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "devices": {k: asdict(v) for k, v in self.devices.items()},
        }


def deployment_citation(
    client: ONCClient, device: str, windows: Sequence[Window], ranges: list | None = None
) -> Citation | None:
    """ONC's citation of the deployment of the device's first window (best effort).

    ``ranges``: the device's deployments when already known (the deployment check's), else
    they are asked for.
    """
    if ranges is None:
        try:
            ranges = client.deployment_ranges(device)
        except Exception:  # noqa: BLE001 - a citation must not fail a download
            return None
    t = windows[0].start
    for r in ranges:
        if r.overlaps(t, t + pd.Timedelta(1, "ms")):
            return r.citation
    return None


def citation_dict(citation: Citation | None) -> dict[str, Any]:
    """The citation in ONC's own keys (as ``summary.json`` records it)."""
    if citation is None:
        return {}
    return {
        "citation": citation.text,
        "doi": citation.doi,
        "landingPageUrl": citation.landing_page,
        "queryPid": citation.query_pid,
    }


def write_citation(folder: Path, device: str, citation: Citation | None) -> None:
    if citation is None:
        citation = Citation(f"Ocean Networks Canada Society. Data of {device}.")
    with atomic_write(folder / "CITATION.txt", "w") as fh:
        fh.write(citation.to_text())
    key = f"onc_{device}_{citation.year}".strip("_")
    with atomic_write(folder / "CITATION.bib", "w") as fh:
        fh.write(citation.to_bibtex(key))


def add_order_plans(report: DeviceReport) -> None:
    """Dry run: add the HSD orders, with ONC's estimates, to the device's plan and totals."""
    by_window = {w.window: w for w in report.windows}
    for o in report.orders:
        size = f"{o.estimated_bytes:,} bytes" if o.estimated_bytes is not None else "size unknown"
        when = f"{o.estimated_seconds:g} s" if o.estimated_seconds is not None else "time unknown"
        line = (
            f"spectrogram: HSD order {o.start}/{o.end} (request {o.request_id}) for "
            f"{len(o.windows)} window(s): ONC estimates {size}, {when} of processing"
        )
        if o.error:
            line = f"spectrogram: HSD order {o.start}/{o.end} could not be planned: {o.error}"
        wr = by_window.get(o.windows[0])
        if wr is not None:
            wr.planned.append(line)
            if o.error:
                wr.errors.append(line)
        report.estimated_bytes += o.estimated_bytes or 0
        report.estimated_seconds += o.estimated_seconds or 0.0


def write_reports(folder: Path, report: DeviceReport, result: FetchResult) -> None:
    """Write ``summary.json`` and ``anomaly_report.txt`` of one device's run folder."""
    summary = {
        "dry_run": result.dry_run,
        "device": asdict(report),
        "totals": {
            "windows": len(report.windows),
            "files_written": sum(len(w.files) for w in report.windows),
            "files_already_there": sum(len(w.skipped_existing) for w in report.windows),
            "bytes": sum(w.bytes for w in report.windows),
            "errors": sum(len(w.errors) for w in report.windows),
            "orders": len(report.orders),
            "orders_failed": sum(1 for o in report.orders if o.error),
        },
    }
    with atomic_write(folder / "summary.json", "w") as fh:
        json.dump(summary, fh, indent=1, default=str)
    lines = []
    for w in report.windows:
        if w.gap_seconds:
            lines.append(
                f"GAP      {w.window} {w.label}: {w.gap_seconds:.3f} s with no data (written as silence)"
            )
        for e in w.errors:
            lines.append(f"ERROR    {e}")
    for o in report.orders:
        if o.error:
            lines.append(
                f"ORDER    HSD order {o.start}/{o.end} (request {o.request_id}) failed after "
                f"{o.attempts} attempt(s): {o.error}"
            )
    for message in report.not_deployed:
        lines.append(f"SKIPPED  {message}")
    with atomic_write(folder / "anomaly_report.txt", "w") as fh:
        fh.write(f"anomaly report: {report.device_code}, {len(report.windows)} window(s)\n")
        fh.write("\n".join(lines) + "\n" if lines else "no anomalies\n")
