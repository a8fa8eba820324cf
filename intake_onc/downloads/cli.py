"""``intake-onc download``, ``intake-onc deployments`` and ``intake-onc search``.

The commands call the library (:func:`~.fetch.fetch`, the client's discovery services) and print
tables or JSON. Like every ``intake-onc`` command, a bad input ends with exit status 2 and a
one-line message (the traceback only with ``--debug``); the token comes from ``ONC_TOKEN`` or a
``.env`` file, never from an argument (it would show in ``ps``).

Examples
--------
.. code-block:: console

    $ intake-onc deployments ICLISTENHF6324
    $ intake-onc search --location BACAX --start 2024-04-01 --end 2024-04-02
    $ intake-onc download --requests events.json --out downloads --dry-run
    $ intake-onc download --device ICLISTENHF6324 --start 2024-04-01T00:00 --end 2024-04-01T01:00 --sample 4
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_download_commands"]


def _client(args: argparse.Namespace) -> Any:
    from intake_onc.client import ONCClient

    return ONCClient(workers=args.workers) if getattr(args, "workers", None) else ONCClient()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text}")
    return value


def _table(frame: Any) -> str:
    return frame.to_string(index=False) if len(frame) else "(none)"


def _deployments(args: argparse.Namespace) -> int:
    import pandas as pd

    client = _client(args)
    frames = []
    for code in args.device:
        rows = client.deployments(device_code=code)
        if rows.empty:
            raise ValueError(f"{code}: ONC lists no deployment of this device; check the code")
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True)
    columns = [
        c
        for c in ("deviceCode", "locationCode", "begin", "end", "depth", "lat", "lon")
        if c in rows
    ]
    rows = rows[columns]
    if args.json:
        print(rows.to_json(orient="records", date_format="iso", indent=1))
    else:
        shown = rows.assign(end=rows["end"].astype(object).where(rows["end"].notna(), "ongoing"))
        print(_table(shown))
    return 0


def _search(args: argparse.Namespace) -> int:
    client = _client(args)
    filters = {
        k: v
        for k, v in (
            ("location_code", args.location),
            ("device_category", args.category),
            ("data_product_code", args.product),
        )
        if v
    }
    if bool(args.start) != bool(args.end):
        raise ValueError("--start and --end: give both, or neither")
    if args.start:
        filters.update(start=args.start, end=args.end)
    devices = client.devices(**filters)
    keep = [c for c in ("deviceCode", "deviceCategoryCode", "deviceName") if c in devices]
    devices = devices[keep]
    out: dict[str, Any] = {"devices": devices.to_dict("records")}
    if args.location or args.product:
        product_filters = {
            k: v for k, v in filters.items() if k in ("location_code", "data_product_code")
        }
        products = client.data_products(**product_filters)
        out["products"] = products[["dataProductCode", "extension", "dataProductName"]].to_dict(
            "records"
        )
    if args.start and len(devices) and args.files:
        files = []
        for code in devices["deviceCode"][: args.files]:
            listing = client.archive_files(code, args.start, args.end)
            files += [
                {"deviceCode": code, "filename": f, "size": int(s)}
                for f, s in zip(listing["filename"], listing["size"], strict=True)
            ]
        out["files"] = files
    if args.json:
        print(json.dumps(out, indent=1, default=str))
        return 0
    import pandas as pd

    for key, rows in out.items():
        print(f"{key} ({len(rows)}):")
        print(_table(pd.DataFrame(rows)))
        print()
    return 0


def _download(args: argparse.Namespace) -> int:
    from .deployments import sample_windows
    from .fetch import fetch
    from .window import windows

    if args.requests and args.device:
        raise ValueError("--requests or --device/--start/--end: give one of them")
    client = _client(args)
    if args.requests:
        requests: Any = args.requests
    elif args.device and args.start and args.end:
        if args.sample:
            requests = sample_windows(
                args.device,
                args.start,
                args.end,
                args.sample,
                args.duration,
                seed=args.seed,
                client=client,
            )
        else:
            requests = windows(args.device, args.start, args.end)
    else:
        raise ValueError("give --requests FILE.json|FILE.csv, or --device with --start and --end")
    products = [p.strip() for p in args.products.split(",") if p.strip()]
    hsd = {} if args.hsd_downsample is None else {"downsample": args.hsd_downsample}
    result = fetch(
        requests,
        products=products,
        out_dir=args.out,
        tag=args.tag,
        spectrogram_source="order" if hsd else "archive",
        hsd_options=hsd,
        clip=not args.no_clip,
        spectrograms_per_order=args.spectrograms_per_order,
        workers=args.workers,
        stagger_seconds=args.stagger,
        max_attempts=args.max_attempts,
        poll_seconds=args.poll,
        errors="skip" if args.skip_bad else "raise",
        dry_run=args.dry_run,
        progress=False if args.quiet else None,
        client=client,
    )
    if args.quiet:
        return 1 if result.errors else 0
    for device, report in result.devices.items():
        planned = sum(len(w.planned) for w in report.windows)
        written = sum(len(w.files) for w in report.windows)
        there = sum(len(w.skipped_existing) for w in report.windows)
        if result.dry_run:
            orders = (
                f", {len(report.orders)} HSD order(s) that ONC estimates at "
                f"{report.estimated_seconds:g} s of processing"
                if report.orders
                else ""
            )
            print(
                f"{device}: {len(report.windows)} window(s), {planned} file(s) planned{orders}, "
                f"about {report.estimated_bytes:,} bytes to download (dry run: nothing written)"
            )
            for w in report.windows:
                for line in w.planned:
                    print(f"  {line}")
        else:
            print(
                f"{device}: {len(report.windows)} window(s), {written} file(s) written, "
                f"{there} already there -> {report.folder}"
            )
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if result.errors else 0


def add_download_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``download``, ``deployments`` and ``search`` to the ``intake-onc`` sub-parsers."""
    p = subparsers.add_parser(
        "deployments", help="when and where devices were deployed (a table, or --json)"
    )
    p.add_argument("device", nargs="+", help="ONC deviceCode(s)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(handler=_deployments)

    p = subparsers.add_parser(
        "search", help="devices, data products and available files (a table, or --json)"
    )
    p.add_argument("--location", help="ONC locationCode (with its children)")
    p.add_argument("--category", help="ONC deviceCategoryCode, e.g. HYDROPHONE, CTD")
    p.add_argument("--product", help="ONC dataProductCode, e.g. HSD, TSSD")
    p.add_argument("--start", help="start of the range (ISO 8601, UTC)")
    p.add_argument("--end", help="end of the range (exclusive)")
    p.add_argument(
        "--files",
        type=_positive,
        default=5,
        help="list archive files of at most N devices (with --start/--end)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_search)

    p = subparsers.add_parser(
        "download", help="download request windows into organised run folders (resumable)"
    )
    p.add_argument("--requests", help="a request file: JSON (current or legacy) or CSV")
    p.add_argument("--device", help="a deviceCode (with --start and --end)")
    p.add_argument("--start", help="start of the range (ISO 8601, UTC)")
    p.add_argument("--end", help="end of the range (exclusive)")
    p.add_argument("--sample", type=_positive, help="N windows sampled over the range")
    p.add_argument(
        "--duration", default="5min", help="length of each sampled window (default 5min)"
    )
    p.add_argument(
        "--seed", type=int, help="random sampling with this seed (default: evenly spread)"
    )
    p.add_argument(
        "--products", default="spectrogram,audio", help="spectrogram,audio (default both)"
    )
    p.add_argument(
        "--hsd-downsample",
        type=int,
        choices=(0, 1, 2),
        help="order ONC HSD spectrograms at this resolution instead of the archive's",
    )
    p.add_argument(
        "--spectrograms-per-order",
        type=_positive,
        default=12,
        help="five-minute spectrograms one HSD order may cover (default 12)",
    )
    p.add_argument(
        "--stagger",
        type=_seconds,
        default=0.5,
        help="seconds between two order submissions (default 0.5)",
    )
    p.add_argument(
        "--max-attempts", type=_positive, default=3, help="submissions per order (default 3)"
    )
    p.add_argument(
        "--poll",
        type=_seconds,
        help="seconds between status polls (default: 2%% of ONC's processing-time estimate)",
    )
    p.add_argument(
        "--no-clip",
        action="store_true",
        help="keep ONC's archive files instead of one exact file per window",
    )
    p.add_argument("--out", default="onc-downloads", help="output folder (default onc-downloads)")
    p.add_argument("--tag", default="onc", help="run folder prefix (default onc)")
    p.add_argument("--workers", type=_positive, help="windows fetched at once (default: 4)")
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="report bad requests and windows outside deployments, run the rest",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="plan only: windows, files, bytes; write nothing"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(handler=_download)
