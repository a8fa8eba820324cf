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

import contextlib
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake_onc._core.files import atomic_write
from intake_onc._core.time import format_onc_date

from .deployments import check_windows
from .orders import SpectrogramOrders, check_per_order, order_options
from .report import (
    DeviceReport,
    FetchResult,
    WindowReport,
    add_order_plans,
    citation_dict,
    deployment_citation,
    write_citation,
    write_reports,
)
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
        _save(  # gaps are reported in anomaly_report.txt (a warnings filter is not thread-safe)
            target,
            lambda p: write_audio(audio, p, format="FLAC", subtype="PCM_24", warn_gaps=False),
            report,
        )
    else:
        report.skipped_existing.append(str(target))
    return audio


def _copy(source: Path, target: Path) -> None:
    import shutil

    with atomic_write(target, "wb") as fh, open(source, "rb") as src:
        shutil.copyfileobj(src, fh, 1 << 20)


def _spectrogram_path(folder: Path, w: Window) -> Path:
    """Where a window's ONC spectrogram goes (its existence means it is whole)."""
    return folder / "onc_spectrograms" / f"{window_name(w)}-spect.mat"


def _spectrogram(w, folder, client, orders: SpectrogramOrders | None, report) -> None:
    from intake_onc.acoustics.hsd import write_hsd_mat
    from intake_onc.datasets import open_spectrogram

    target = _spectrogram_path(folder, w)
    if target.exists():
        report.skipped_existing.append(str(target))
        return
    if orders is None:
        spec = open_spectrogram(w.device_code, w.start, w.end, client=client, downsample=1)
    else:
        spec = orders.spectrogram(w)
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
    """Dry run: the files this window would produce from the archive, and their bytes."""
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
    spectrograms_per_order: int = 12,
    workers: int | None = None,
    stagger_seconds: float = 0.5,
    max_attempts: int = 3,
    poll_seconds: float | None = None,
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
    spectrograms_per_order
        With ``spectrogram_source="order"``: how many five-minute spectrograms one HSD order
        may cover (default 12, an hour). Consecutive windows of a device share an order while
        its range stays within that span (:func:`~.orders.group_windows`).
    workers
        Windows fetched at once, and HSD orders in flight at once (default: the client's
        ``workers``).
    stagger_seconds
        Seconds between two order submissions (be kind to ONC's queue).
    max_attempts
        Submissions per HSD order: an order that fails at ONC, or meets a server or network
        failure, is submitted again; bad parameters, auth, restricted data and no data are
        final.
    poll_seconds
        Seconds between two status polls of an order (default: 2 % of ONC's processing-time
        estimate, within the client's ``poll_range``).
    check_deployments
        Compare windows with deployments first (:func:`~.deployments.check_windows`).
    errors
        ``"raise"`` or ``"skip"``: what a bad request or a window outside every deployment does.
    dry_run
        Only plan: list windows, archive files, orders, and estimated bytes and seconds;
        nothing is run, downloaded or written. HSD orders are requested (not run) to get
        ONC's own estimates of their size and processing time.
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
    _check_run_options(workers, stagger_seconds, max_attempts, poll_seconds)
    check_per_order(spectrograms_per_order)
    if spectrogram_source == "order":
        order_options(hsd_options)  # a bad option is refused before anything is sent
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
            known = getattr(windows, "deployments", {}).get(device)
            citation = deployment_citation(client, device, ws, known)
            report.citation = citation_dict(citation)
            write_citation(folder, device, citation)
        for w in ws:
            wr = WindowReport(str(w), w.label)
            report.windows.append(wr)
            jobs.append((report, folder, w, wr))

    n = workers or int(getattr(client, "workers", 4))
    orders = runner = None
    if "spectrogram" in products and spectrogram_source == "order":
        wanted = {
            device: [
                w
                for w in ws
                if dry_run or not _spectrogram_path(Path(result.devices[device].folder), w).exists()
            ]
            for device, ws in by_device.items()
        }
        orders = SpectrogramOrders(
            client,
            {d: ws for d, ws in wanted.items() if ws},
            hsd_options=hsd_options,
            spectrograms_per_order=spectrograms_per_order,
            poll_seconds=poll_seconds,
        )
        for device, reports in orders.reports.items():
            result.devices[device].orders = reports
        if dry_run:
            orders.estimate()
        else:  # the orders run while the windows' audio downloads
            runner = threading.Thread(
                target=_quietly(orders.run),
                kwargs=dict(
                    workers=max(1, n),
                    stagger_seconds=stagger_seconds,
                    max_attempts=max_attempts,
                    progress=progress,
                ),
                name="onc-fetch-orders",
                daemon=True,
            )
            runner.start()

    def run(job) -> None:
        report, folder, w, wr = job
        started = time.perf_counter()
        try:
            if dry_run:
                archive = [p for p in products if not (p == "spectrogram" and orders)]
                report.estimated_bytes += _plan(w, client, archive, wr)
                return
            wants_audio = "audio" in products or custom_spectrogram is not None
            audio = None
            if wants_audio:
                audio = _audio(w, folder, client, clip, wr, keep=custom_spectrogram is not None)
            if "spectrogram" in products:
                _spectrogram(w, folder, client, orders, wr)
            if custom_spectrogram is not None and audio is not None:
                _custom(w, folder, audio, custom_spectrogram, wr)
        except Exception as exc:  # noqa: BLE001 - one window's failure is reported, not fatal
            wr.errors.append(f"{w}: {type(exc).__name__}: {' '.join(str(exc).split())}")
        finally:
            report.seconds += time.perf_counter() - started

    bar = _progress(len(jobs), progress)
    with ThreadPoolExecutor(max(1, n), thread_name_prefix="onc-fetch") as pool:
        for _ in pool.map(run, jobs):
            bar.update(1)
    bar.close()
    if runner is not None:
        runner.join()
    if dry_run:
        for report in result.devices.values():
            add_order_plans(report)
    result.seconds = time.perf_counter() - began
    if not dry_run:
        for report in result.devices.values():
            write_reports(Path(report.folder), report, result)
    return result


def _quietly(run):
    """``run`` for a thread: its failure reaches the windows (each reports it), not stderr."""

    def call(**kwargs):
        with contextlib.suppress(Exception):
            run(**kwargs)

    return call


def _check_run_options(workers, stagger_seconds, max_attempts, poll_seconds) -> None:
    def number(value, name, example, *, whole=False, minimum=0.0):
        ok = isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)
        if not ok or value < minimum or value != value:
            kind = "a whole number" if whole else "a number of seconds"
            raise ValueError(f"{name}={value!r}: expected {kind} ≥ {minimum:g}, such as {example}")

    if workers is not None:
        number(workers, "workers", 4, whole=True, minimum=1)
    number(stagger_seconds, "stagger_seconds", 0.5)
    number(max_attempts, "max_attempts", 3, whole=True, minimum=1)
    if poll_seconds is not None:
        number(poll_seconds, "poll_seconds", 5, minimum=0.01)


def _progress(total: int, progress: bool | None):
    import sys

    show = sys.stderr.isatty() if progress is None else bool(progress)
    from intake_onc._core.progress import tqdm_class

    tqdm = tqdm_class()

    return tqdm(total=total, desc="windows", unit="window", disable=not show)
