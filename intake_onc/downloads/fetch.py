"""``fetch``: request windows downloaded into the folders hydrophone users know, resumably.

For each device, one run folder ``out/<DEVICE>/<tag>_<first day>_to_<last day>/`` holds:

* ``audio/`` — one FLAC per window (24-bit, the device's rate) holding exactly the window's
  samples, gaps written as silence (and listed in the anomaly report); or, with ``clip=False``,
  the archive files the window overlaps;
* ``onc_spectrograms/`` — ONC's spectrogram of each window as a MAT file in ONC's ``SpectData``
  layout (from the one-minute archive files, or an HSD order with ``spectrogram_source="order"``);
* ``custom_spectrograms/{mat,png}/`` — with ``custom_spectrogram=dict(win_dur, overlap,
  freq_lims)``: a spectrogram computed here from the audio (PNG needs matplotlib);
* ``summary.json`` (the :class:`FetchResult`), ``anomaly_report.txt``, and the data citation ONC
  gives for the deployment (``CITATION.txt``, ``CITATION.bib``).

Files are named ``<DEVICE>_<YYYYMMDDTHHMMSS.fffZ>_<label slug>``, written to a temporary name and
renamed when complete, so a file that exists is whole: a re-run skips them and downloads
nothing, and an interrupted run resumes where it stopped. Windows run in parallel (``workers``
threads), through the client and its cache.

Examples
--------
>>> result = fetch("events.json", out_dir="downloads", client=client)  # doctest: +SKIP
>>> result.files[:1]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from intake_onc._core.files import atomic_write
from intake_onc._core.time import format_onc_date

from .deployments import check_windows
from .requests import RequestList, parse_requests
from .window import Window

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

__all__ = ["FetchResult", "fetch", "run_folder", "window_name"]

_PRODUCTS = ("spectrogram", "audio")
_SOURCES = ("archive", "order")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60]


def window_name(w: Window) -> str:
    """``<DEVICE>_<YYYYMMDDTHHMMSS.fffZ>[_<label slug>]``: a window's file name stem.

    Examples
    --------
    >>> w = Window("ICLISTENHF6324", "2024-04-01T00:10", "2024-04-01T00:11", label="Humpback song")
    >>> window_name(w)
    'ICLISTENHF6324_20240401T001000.000Z_humpback-song'
    """
    stamp = w.start.strftime("%Y%m%dT%H%M%S") + f".{w.start.microsecond // 1000:03d}Z"
    slug = _slug(w.label)
    return f"{w.device_code}_{stamp}" + (f"_{slug}" if slug else "")


def run_folder(out_dir: str | Path, device: str, windows: Sequence[Window], tag: str) -> Path:
    """``out_dir/<DEVICE>/<tag>_<YYYY-MM-DD>_to_<YYYY-MM-DD>``, from the device's windows."""
    first = min(w.start for w in windows).strftime("%Y-%m-%d")
    last = max(w.end for w in windows).strftime("%Y-%m-%d")
    return Path(out_dir) / device / f"{tag}_{first}_to_{last}"


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
    seconds: float = 0.0
    estimated_bytes: int = 0


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


def _citation(client: ONCClient, device: str, windows: Sequence[Window]) -> dict[str, Any]:
    """ONC's citation of the deployment of the device's first window (best effort)."""
    try:
        rows = client.deployments(device_code=device)
    except Exception:  # noqa: BLE001 - a citation must not fail a download
        return {}
    t = windows[0].start
    for _, row in rows.iterrows():
        end = row.get("end")
        if row["begin"] <= t and (pd.isna(end) or t < end):
            citation = row.get("citation")
            return dict(citation) if isinstance(citation, dict) else {}
    return {}


def _write_citation(folder: Path, device: str, citation: dict[str, Any]) -> None:
    text = citation.get("citation") or ""
    doi = citation.get("doi") or ""
    with atomic_write(folder / "CITATION.txt", "w") as fh:
        fh.write((text or f"Ocean Networks Canada Society: data of {device}.") + "\n")
        if doi:
            fh.write(f"DOI: {doi}\n")
        if citation.get("landingPageUrl"):
            fh.write(f"Landing page: {citation['landingPageUrl']}\n")
        if citation.get("queryPid"):
            fh.write(f"Query PID: {citation['queryPid']}\n")
    year = re.search(r"\b(19|20)\d{2}\b", text)
    key = _slug(f"onc-{device}-{year.group(0) if year else ''}").replace("-", "_")
    bib = [
        f"@misc{{{key},",
        "  author = {{Ocean Networks Canada Society}},",
        f"  title = {{{text.split('. ', 2)[2].split('. ')[0] if text.count('. ') >= 2 else device}}},",
        f"  year = {{{year.group(0) if year else ''}}},",
        "  publisher = {Ocean Networks Canada Society},",
    ]
    if doi:
        bib.append(f"  doi = {{{doi}}},")
    if citation.get("landingPageUrl"):
        bib.append(f"  url = {{{citation['landingPageUrl']}}},")
    bib.append(f"  note = {{{text}}}")
    bib.append("}")
    with atomic_write(folder / "CITATION.bib", "w") as fh:
        fh.write("\n".join(bib) + "\n")


def _save(path: Path, write: Any, report: WindowReport) -> None:
    """Write one output file unless it is already there (whole: files are renamed into place)."""
    if path.exists():
        report.skipped_existing.append(str(path))
        return
    write(path)
    report.files.append(str(path))
    report.bytes += path.stat().st_size


def _audio(w: Window, folder: Path, client: ONCClient, clip: bool, report: WindowReport, keep):
    from intake_onc.acoustics.clips import coverage, write_audio
    from intake_onc.datasets import open_audio

    if not clip:
        files = client.archive_files(w.device_code, w.start, w.end, extension=("flac", "wav"))
        names = list(files["filename"]) if len(files) else []
        for name in names:
            target = folder / "audio" / name
            _save(target, lambda p, n=name: _copy(client.download(n), p), report)
        if not names:
            report.errors.append(f"{w}: ONC lists no audio file for this window")
        return None
    target = folder / "audio" / f"{window_name(w)}.flac"
    if target.exists() and not keep:
        report.skipped_existing.append(str(target))
        return None
    audio = open_audio(w.device_code, w.start, w.end, client=client)
    gaps = coverage(audio, by="gap")
    report.gap_seconds = float(gaps["seconds"].sum()) if len(gaps) else 0.0
    if not target.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gaps are reported in anomaly_report.txt
            _save(target, lambda p: write_audio(audio, p, format="FLAC", subtype="PCM_24"), report)
    else:
        report.skipped_existing.append(str(target))
    return audio


def _copy(source: Path, target: Path) -> None:
    import shutil

    with atomic_write(target, "wb") as fh, open(source, "rb") as src:
        shutil.copyfileobj(src, fh, 1 << 20)


def _spectrogram(w, folder, client, source, hsd_options, report) -> None:
    from intake_onc.acoustics.hsd import write_hsd_mat
    from intake_onc.datasets import open_spectrogram

    target = folder / "onc_spectrograms" / f"{window_name(w)}-spect.mat"
    if target.exists():
        report.skipped_existing.append(str(target))
        return
    if source == "archive":
        spec = open_spectrogram(w.device_code, w.start, w.end, client=client, downsample=1)
    else:
        options = {"dpo_spectrogramConcatenation": "None", **hsd_options}
        spec = open_spectrogram(
            w.device_code, w.start, w.end, client=client, source="product", **options
        )
    if spec.sizes["time"] == 0:
        report.errors.append(f"{w}: no ONC spectrogram column falls inside this window")
        return
    _save(target, lambda p: write_hsd_mat(spec.load(), p, comment=str(w)), report)


def _custom(w, folder, audio, options, report) -> None:
    from intake_onc.acoustics.hsd import write_hsd_mat
    from intake_onc.acoustics.spectrogram import spectrogram

    mat = folder / "custom_spectrograms" / "mat" / f"{window_name(w)}-custom.mat"
    png = folder / "custom_spectrograms" / "png" / f"{window_name(w)}-custom.png"
    if mat.exists() and png.exists():
        report.skipped_existing += [str(mat), str(png)]
        return
    spec = spectrogram(audio, **options).load()
    _save(mat, lambda p: write_hsd_mat(spec, p, comment=f"custom spectrogram {options}"), report)
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        report.errors.append(
            f"{w}: PNG not written (install matplotlib: pip install intake-onc[plot])"
        )
        return

    def draw(path: Path) -> None:
        fig, ax = plt.subplots(figsize=(8, 4))
        spec.T.plot.pcolormesh(ax=ax, robust=True, cbar_kwargs={"label": "dB re full scale²/Hz"})
        ax.set_title(f"{w.device_code} {format_onc_date(w.start)} {w.label}".strip())
        with atomic_write(path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=100)
        plt.close(fig)

    _save(png, draw, report)


def _plan(w: Window, client: ONCClient, products, report: WindowReport) -> int:
    """Dry run: the files this window would produce and the archive bytes behind them."""
    total = 0
    names = {"audio": ["flac", "wav"], "spectrogram": ["mat"]}
    for product in products:
        files = client.archive_files(w.device_code, w.start, w.end, extension=names[product])
        size = int(files["size"].sum()) if "size" in files and len(files) else 0
        total += size
        report.planned.append(
            f"{product}: {window_name(w)} from {len(files)} archive file(s), {size:,} bytes"
        )
    return total


def fetch(
    requests: Any,
    products: Sequence[str] = _PRODUCTS,
    out_dir: str | Path = "onc-downloads",
    *,
    default_device: str | None = None,
    tag: str = "onc",
    spectrogram_source: str = "archive",
    hsd_options: dict[str, Any] | None = None,
    clip: bool = True,
    custom_spectrogram: dict[str, Any] | None = None,
    workers: int | None = None,
    check_deployments: bool = True,
    errors: str = "raise",
    dry_run: bool = False,
    progress: bool | None = None,
    client: ONCClient | None = None,
) -> FetchResult:
    """Download request windows into organised run folders (module docstring), resumably.

    Parameters
    ----------
    requests
        Anything :func:`~.requests.parse_requests` reads (a JSON/CSV file, times, windows...).
    products
        ``"spectrogram"`` (ONC's) and/or ``"audio"``.
    out_dir
        The root folder; run folders go in ``out_dir/<DEVICE>/``.
    default_device
        The ``deviceCode`` of requests that name none.
    tag
        The run folder's prefix (``<tag>_<first day>_to_<last day>``).
    spectrogram_source
        ``"archive"`` (ONC's one-minute spectrogram files) or ``"order"`` (an HSD MAT order
        per window; ``hsd_options`` such as ``{"downsample": 0}`` or ONC's ``dpo_*`` options).
    hsd_options
        Options of the HSD order (``spectrogram_source="order"``).
    clip
        ``True`` (default): one exact file per window; ``False``: the archive files as ONC
        stores them.
    custom_spectrogram
        ``dict(win_dur=..., overlap=..., freq_lims=...)``: also compute a spectrogram here.
    workers
        Windows fetched at once (default: the client's ``workers``).
    check_deployments
        Compare windows with deployments first (:func:`~.deployments.check_windows`).
    errors
        ``"raise"`` or ``"skip"``: what a bad request or a window outside every deployment does.
    dry_run
        Only plan: list windows, files and estimated bytes; nothing is written.
    progress
        A progress bar (default: on a terminal).
    client
        An :class:`~intake_onc.client.ONCClient` (default: one from the environment).

    Returns
    -------
    FetchResult
        Per device: windows, files, bytes, seconds, errors; written as ``summary.json``.
    """
    bad = [p for p in products if p not in _PRODUCTS]
    if isinstance(products, str) or bad or not products:
        raise ValueError(f"products={products!r}: expected a list of {', '.join(_PRODUCTS)}")
    if spectrogram_source not in _SOURCES:
        raise ValueError(
            f"spectrogram_source={spectrogram_source!r}: expected 'archive' or 'order'"
        )
    if custom_spectrogram is not None and not isinstance(custom_spectrogram, dict):
        raise ValueError("custom_spectrogram: expected a dict such as {'win_dur': 1.0}")
    if not isinstance(tag, str) or not _slug(tag):
        raise ValueError(f"tag={tag!r}: expected a short name such as 'onc'")
    if client is None:
        from intake_onc.client import ONCClient

        client = ONCClient()
    began = time.perf_counter()
    windows = (
        requests
        if isinstance(requests, RequestList)
        else parse_requests(requests, default_device=default_device, errors=errors)
    )
    skipped = list(getattr(windows, "skipped", []))
    if check_deployments:
        windows = check_windows(windows, client=client, errors=errors)
        skipped = list(windows.skipped)
    by_device: dict[str, list[Window]] = {}
    for w in windows:
        by_device.setdefault(w.device_code, []).append(w)
    result = FetchResult({}, dry_run=dry_run)
    jobs = []
    for device, ws in by_device.items():
        folder = run_folder(out_dir, device, ws, _slug(tag))
        report = DeviceReport(device, str(folder))
        report.not_deployed = [s for s in skipped if s.startswith(device)]
        result.devices[device] = report
        if not dry_run:
            for sub in ("audio", "onc_spectrograms"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            if custom_spectrogram is not None:
                for sub in ("mat", "png"):
                    (folder / "custom_spectrograms" / sub).mkdir(parents=True, exist_ok=True)
            report.citation = _citation(client, device, ws)
            _write_citation(folder, device, report.citation)
        for w in ws:
            wr = WindowReport(str(w), w.label)
            report.windows.append(wr)
            jobs.append((report, folder, w, wr))

    def run(job) -> None:
        report, folder, w, wr = job
        started = time.perf_counter()
        try:
            if dry_run:
                report.estimated_bytes += _plan(w, client, products, wr)
                return
            wants_audio = "audio" in products or custom_spectrogram is not None
            audio = None
            if wants_audio:
                audio = _audio(w, folder, client, clip, wr, keep=custom_spectrogram is not None)
            if "spectrogram" in products:
                _spectrogram(w, folder, client, spectrogram_source, hsd_options or {}, wr)
            if custom_spectrogram is not None and audio is not None:
                _custom(w, folder, audio, custom_spectrogram, wr)
        except Exception as exc:  # noqa: BLE001 - one window's failure is reported, not fatal
            wr.errors.append(f"{w}: {type(exc).__name__}: {' '.join(str(exc).split())}")
        finally:
            report.seconds += time.perf_counter() - started

    n = workers or int(getattr(client, "workers", 4))
    bar = _progress(len(jobs), progress)
    with ThreadPoolExecutor(max(1, n), thread_name_prefix="onc-fetch") as pool:
        for _ in pool.map(run, jobs):
            bar.update(1)
    bar.close()
    result.seconds = time.perf_counter() - began
    if not dry_run:
        for report in result.devices.values():
            _write_reports(Path(report.folder), report, result)
    return result


def _progress(total: int, progress: bool | None):
    import sys

    show = sys.stderr.isatty() if progress is None else bool(progress)
    from intake_onc._core.progress import tqdm_class

    tqdm = tqdm_class()

    return tqdm(total=total, desc="windows", unit="window", disable=not show)


def _write_reports(folder: Path, report: DeviceReport, result: FetchResult) -> None:
    summary = {
        "dry_run": result.dry_run,
        "device": asdict(report),
        "totals": {
            "windows": len(report.windows),
            "files_written": sum(len(w.files) for w in report.windows),
            "files_already_there": sum(len(w.skipped_existing) for w in report.windows),
            "bytes": sum(w.bytes for w in report.windows),
            "errors": sum(len(w.errors) for w in report.windows),
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
    for message in report.not_deployed:
        lines.append(f"SKIPPED  {message}")
    with atomic_write(folder / "anomaly_report.txt", "w") as fh:
        fh.write(f"anomaly report: {report.device_code}, {len(report.windows)} window(s)\n")
        fh.write("\n".join(lines) + "\n" if lines else "no anomalies\n")
