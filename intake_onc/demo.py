"""The main job: what intake-onc does, end to end, against the embedded Oceans 3.0 sandbox.

``intake-onc demo [--output DIR] [--seed N] [--real]`` starts a sandbox on a free loopback port
(or, with ``--real`` and ``ONC_TOKEN`` set, talks to the real service) and runs the package's
main paths through the shipped Intake catalog:

1. **A week of CTD data** at the Barkley Canyon axis, opened lazily, cleaned (ONC's QAQC rule)
   and resampled hourly (``minMaxAvg``) → ``barkley_ctd_hourly.nc`` (CF-1.8) and
   ``ctd_qc.png``: every sample coloured by its QAQC flag, the hourly mean and its min–max band;
2. **An hour of hydrophone audio** around a ship's closest approach (from the sandbox's list
   of what its audio holds), with ONC's spectrogram (HSD) and one computed here side by side
   → ``hydrophone_spectrogram.nc`` and ``spectrograms.png``;
3. **The sandbox's known events** (fin-whale pulses, humpback-like calls, the test tone)
   fetched as exact clips into run folders, and opened as one event dataset
   → ``events/``, ``events.nc`` and ``event_gallery.png``.

A second run downloads nothing: the cache is keyed by the sandbox's version and seed, not its
port. Everything is written to a temporary name and renamed when complete.

Examples
--------
.. code-block:: console

    $ intake-onc demo --output demo-output
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake_onc._core.files import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

#: A week of CTD data at the Barkley Canyon axis, and the day searched for hydrophone events.
CTD = "SBECTD19p6813"
CTD_WEEK = ("2024-04-01", "2024-04-08")
HYDROPHONE = "ICLISTENHF6093"  # 8 kHz: an hour decodes in a second
DAY = ("2024-04-01", "2024-04-02")
#: The hour shown with ``--real`` (no event list there).
REAL_HOUR = ("2024-04-01T01:30:00", "2024-04-01T02:30:00")
MAX_EVENTS = 6


def add_demo_command(subparsers: Any) -> None:
    """Add ``intake-onc demo`` to the command line."""
    parser = subparsers.add_parser(
        "demo",
        help="run the main paths against the embedded sandbox (netCDF files and three figures)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--output", default="demo-output", type=Path, help="folder for the outputs (created)"
    )
    parser.add_argument("--seed", default=0, type=int, help="seed of the synthetic data (>= 0)")
    parser.add_argument(
        "--real",
        action="store_true",
        help="use the real ONC service (needs ONC_TOKEN in the environment or .env)",
    )
    parser.set_defaults(handler=_run_from_args)


def _run_from_args(args: Any) -> int:
    run_demo(args.output, seed=args.seed, real=args.real)
    return 0


def _step(title: str) -> Callable[[Callable[[], Any]], Any]:
    def run(body: Callable[[], Any]) -> Any:
        print(f"\n== {title}", flush=True)
        started = time.perf_counter()
        result = body()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
        return result

    return run


def run_demo(
    output: str | os.PathLike[str] = "demo-output", *, seed: int = 0, real: bool = False
) -> dict[str, Path]:
    """Run the demo; returns the paths it wrote (``ctd_dataset``, ``ctd_figure``, ...).

    Parameters
    ----------
    output
        Folder for the outputs and the download cache (created if missing).
    seed
        Seed of the sandbox's synthetic data.
    real
        Use the real ONC service (``ONC_TOKEN`` must be set) instead of the sandbox.
    """
    from contextlib import nullcontext

    from intake_onc import __version__, sandbox

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected a whole number >= 0, got {seed!r}")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output: {out} is a file, not a folder; give a folder to write into")
    if real and not os.environ.get("ONC_TOKEN"):
        raise ValueError(
            "--real: set ONC_TOKEN to your Oceans 3.0 API token (from your ONC profile, Web "
            "Services API tab), in the environment or a .env file"
        )
    out.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        figures = True
    except ImportError:  # the [plot] extra is missing: data files only
        figures = False
        print("matplotlib is not installed: no figures (pip install 'intake-onc[plot]')")
    server = nullcontext(None) if real else sandbox.serve(port=0, seed=seed, processing_scale=0.02)
    written: dict[str, Path] = {}
    with server as url:
        env = {"INTAKE_ONC_CACHE": str(out / "cache")}
        if url is not None:
            print(f"sandbox: serving Oceans 3.0 API at {url} (seed {seed})")
            env.update(
                ONC_BASE_URL=url,
                ONC_TOKEN=sandbox.SANDBOX_TOKEN,
                # the cache folder is named by what the sandbox serves, not by its port
                INTAKE_ONC_CACHE_KEY=f"sandbox-{__version__}-seed{seed}",
            )
        os.environ.update(env)
        from intake_onc.client import ONCClient

        client = ONCClient()  # progress bars on a terminal (downloads, fetch), none in logs
        written.update(
            _step("1. A week of CTD data: lazy, cleaned, hourly min/max/average")(
                lambda: _ctd_week(out, "onc" if real else "sandbox", figures)
            )
        )
        hour, events = _step("2. Where the sandbox's audio holds ships and whales")(
            lambda: _events(client, url)
        )
        written.update(
            _step(f"3. An hour of {HYDROPHONE}: ONC's spectrogram and one computed here")(
                lambda: _hydrophone_hour(client, out, hour, events, figures)
            )
        )
        if events:
            written.update(
                _step("4. The known events as clips, and as one event dataset")(
                    lambda: _event_clips(client, out, events, figures)
                )
            )
        downloaded = client._core.counters.get("bytes", 0)
        client.close()
    print("\nWrote:")
    for name, path in written.items():
        print(f"   {name:<20} {path}")
    print(f"Downloaded this run: {downloaded / 1e6:.1f} MB (a second run finds it all cached)")
    return written


# --------------------------------------------------------------------------------------------
# 1. CTD
# --------------------------------------------------------------------------------------------


def _ctd_week(out: Path, catalog_name: str, figures: bool) -> dict[str, Path]:
    import intake

    from intake_onc.catalogs import catalog

    cat = intake.open_catalog(str(catalog(catalog_name)))
    raw = cat.barkley_ctd(start=CTD_WEEK[0], end=CTD_WEEK[1], quality="raw").read()
    print(
        f"   opened lazily: {dict(raw.sizes)}, {len(raw.chunks['time'])} daily chunks, no data yet"
    )
    hourly = raw.onc.clean().onc.resample("1h", method="minMaxAvg")
    raw, hourly = raw.compute(), hourly.compute()
    flags = raw["temperature_qc"].values
    print(
        f"   {flags.size:,} temperature samples: {int((flags == 1).sum()):,} good, "
        f"{int(((flags == 3) | (flags == 4)).sum()):,} flagged bad and left out of the hourly statistics"
    )
    path = out / "barkley_ctd_hourly.nc"
    with atomic_path(path) as tmp:
        hourly.to_netcdf(tmp)
    print(f"   -> {path} ({hourly.sizes['time']} hours, CF-1.8)")
    if not figures:
        return {"ctd_dataset": path}
    figure = out / "ctd_qc.png"
    ax = raw.onc.plot_qc("temperature", resampled=hourly)
    _save(ax.figure, figure)
    return {"ctd_dataset": path, "ctd_figure": figure}


# --------------------------------------------------------------------------------------------
# 2. Events
# --------------------------------------------------------------------------------------------


def _events(client: ONCClient, url: str | None) -> tuple[tuple[str, str], list[dict]]:
    """The hour to show (around a ship's closest approach) and the events of the day."""
    import pandas as pd
    import requests

    if url is None:
        print(f"   the real service has no event list: showing {REAL_HOUR[0]} – {REAL_HOUR[1]}")
        return REAL_HOUR, []
    answer = requests.get(
        f"{url}/_sandbox/events",
        params={"deviceCode": HYDROPHONE, "dateFrom": DAY[0], "dateTo": DAY[1]},
        timeout=30,
    )
    answer.raise_for_status()
    events = answer.json()
    counts = pd.Series([e["type"] for e in events]).value_counts()
    print("   " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + f" on {DAY[0]}")
    ship = next((e for e in events if e["type"] == "ship"), None)
    if ship is None:
        return REAL_HOUR, events
    cpa = pd.Timestamp(ship["details"]["cpa"]).tz_localize(None).floor("min")
    hour = (str(cpa - pd.Timedelta("30min")), str(cpa + pd.Timedelta("30min")))
    print(
        f"   a ship passes {ship['start'][11:19]}–{ship['end'][11:19]}, closest at {ship['details']['cpa'][11:19]}"
    )
    return hour, events


# --------------------------------------------------------------------------------------------
# 3. Hydrophone hour
# --------------------------------------------------------------------------------------------


def _hydrophone_hour(
    client: ONCClient, out: Path, hour: tuple[str, str], events: list[dict], figures: bool
) -> dict[str, Path]:
    import pandas as pd

    import intake_onc

    audio = intake_onc.open_audio(HYDROPHONE, *hour, client=client)
    print(f"   audio: {audio.sizes['time']:,} samples at {audio.attrs['sample_rate']} Hz, lazy")
    custom = intake_onc.spectrogram(
        audio, win_dur=1.0, overlap=0.5, freq_lims=(10, 4000), average="10s"
    ).compute()
    onc = intake_onc.open_spectrogram(HYDROPHONE, *hour, client=client).compute()
    print(f"   ONC's HSD {dict(onc.sizes)}; custom {dict(custom.sizes)} (10-s means of 1-s frames)")
    path = out / "hydrophone_spectrogram.nc"
    with atomic_path(path) as tmp:
        custom.to_netcdf(tmp)
    if not figures:
        return {"spectrogram_dataset": path}
    import matplotlib.pyplot as plt

    from intake_onc.acoustics.plot import plot_spectrogram

    fig, axes = plt.subplots(2, 1, figsize=(12, 7.5), constrained_layout=True, sharex=True)
    plot_spectrogram(
        onc, ax=axes[0], title=f"ONC's spectrogram (HSD, one-minute averages), {HYDROPHONE}"
    )
    plot_spectrogram(
        custom, ax=axes[1], title="computed here: 1-s Hann frames, 50 % overlap, 10-s means"
    )
    t0, t1 = pd.Timestamp(hour[0]), pd.Timestamp(hour[1])
    for e in events:
        start = pd.Timestamp(e["start"]).tz_localize(None)
        end = pd.Timestamp(e["end"]).tz_localize(None)
        if end < t0 or start > t1 or e["type"] == "rain":
            continue
        for ax in axes:
            ax.axvspan(max(start, t0), min(end, t1), ymin=0.97, ymax=1.0, color="white", alpha=0.9)
        axes[0].annotate(
            e["type"].replace("_", " "),
            (max(start, t0), axes[0].get_ylim()[1]),
            xytext=(2, -12),
            textcoords="offset points",
            color="white",
            fontsize=8,
        )
    fig.suptitle(
        f"{HYDROPHONE}, {hour[0]} – {hour[1]} UTC: white marks = events the sandbox placed there"
    )
    figure = out / "spectrograms.png"
    _save(fig, figure)
    return {"spectrogram_dataset": path, "spectrogram_figure": figure}


# --------------------------------------------------------------------------------------------
# 4. Event clips
# --------------------------------------------------------------------------------------------


def _event_clips(
    client: ONCClient, out: Path, events: list[dict], figures: bool
) -> dict[str, Path]:
    import intake_onc

    chosen: list[dict] = []
    for kind in ("fin_whale", "whale", "humpback", "tone", "ship"):
        chosen += [e for e in events if e["type"] == kind][:2]
    chosen = chosen[:MAX_EVENTS]
    requests_ = [
        {
            "deviceCode": HYDROPHONE,
            "timestamp": e["start"],
            "pad_before_seconds": 2,
            "pad_after_seconds": 20 if e["type"] == "fin_whale" else 8,
            "label": f"{e['type'].replace('_', ' ')} {e['start'][11:19]}",
        }
        for e in chosen
    ]
    result = intake_onc.fetch(
        requests_, products=("audio",), out_dir=out / "events", tag="demo", client=client
    )
    folder = next(iter(result.devices.values())).folder
    print(f"   {len(result.files)} clips in {folder}")
    clips = intake_onc.open_events(requests_, product="audio", client=client)
    path = out / "events.nc"
    with atomic_path(path) as tmp:
        clips.load().to_netcdf(tmp)
    print(f"   event dataset {dict(clips.sizes)} -> {path}")
    if not figures:
        return {"event_clips": Path(folder), "event_dataset": path}
    import matplotlib.pyplot as plt

    from intake_onc.acoustics.plot import plot_spectrogram

    fs = int(clips.attrs["sample_rate"])
    windows = intake_onc.parse_requests(requests_)
    cols = 3
    rows = -(-len(chosen) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(13, 3.2 * rows), constrained_layout=True, squeeze=False
    )
    for ax in axes.flat[len(chosen) :]:
        ax.set_visible(False)
    for i, ax in enumerate(axes.flat[: len(chosen)]):
        w, event = windows[i], chosen[i]
        window = intake_onc.open_audio(w.device_code, w.start, w.end, client=client)
        if event["highFrequency"] < 100:  # fin whales: 1-s frames to resolve 17-25 Hz
            spec = intake_onc.spectrogram(window, win_dur=1.0, overlap=0.9, freq_lims=(5, 60))
        else:
            top = min(fs / 2, max(500.0, 2 * event["highFrequency"]))
            spec = intake_onc.spectrogram(window, win_dur=0.25, overlap=0.75, freq_lims=(5, top))
        plot_spectrogram(spec.compute(), ax=ax, title=w.label)
    fig.suptitle(
        f"{len(chosen)} events of {HYDROPHONE} on {DAY[0]}, where /_sandbox/events placed them"
    )
    figure = out / "event_gallery.png"
    _save(fig, figure)
    return {"event_clips": Path(folder), "event_dataset": path, "event_figure": figure}


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    print(f"   -> {path}")
