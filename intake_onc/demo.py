"""The main job: a tour of intake-onc against the embedded Oceans 3.0 sandbox.

``intake-onc demo`` starts a sandbox on a free loopback port and then does what a scientist
would do against the real service:

1. discovers the observatory (the location tree and the devices at it);
2. downloads one hydrophone archive file through the verified download cache;
3. opens a day of CTD data lazily from the Intake catalog, applies ONC's clean rule and an
   hourly min/max/average, and writes the result to netCDF (**the dataset**);
4. opens an exact window of hydrophone audio around a known tone, computes a spectrogram and
   plots it (**the plot**);
5. orders an ONC spectrogram product (HSD) through the asynchronous order API and reads it.

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

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.client import ONCClient

from intake_onc._core.files import atomic_path

#: A day of CTD data and an hour of 8 kHz hydrophone data: small enough to run in seconds.
CTD_DAY = ("2024-04-01", "2024-04-02")
HYDROPHONE = "ICLISTENHF6093"
HOUR = ("2024-04-01T00:00:00", "2024-04-01T01:00:00")
#: The sandbox plays a 5 s, 1 kHz test tone at HH:12:30 on every hydrophone.
TONE_WINDOW = ("2024-04-01T00:12:20", "2024-04-01T00:12:45")


def add_demo_command(subparsers: Any) -> None:
    """Add ``intake-onc demo`` to the command line."""
    parser = subparsers.add_parser(
        "demo",
        help="run the tour against the embedded sandbox (writes a plot and a dataset)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--output", default="demo-output", type=Path, help="folder for the outputs (created)"
    )
    parser.add_argument("--seed", default=0, type=int, help="seed of the synthetic data (>= 0)")
    parser.set_defaults(handler=_run_from_args)


def _run_from_args(args: Any) -> int:
    run_demo(args.output, seed=args.seed)
    return 0


def _step(title: str) -> Callable[[Callable[[], Any]], Any]:
    def run(body: Callable[[], Any]) -> Any:
        print(f"\n== {title}")
        started = time.perf_counter()
        result = body()
        print(f"   ({time.perf_counter() - started:.1f} s)")
        return result

    return run


def run_demo(output: str | os.PathLike[str] = "demo-output", *, seed: int = 0) -> dict[str, Path]:
    """Run the tour; returns the paths it wrote (``dataset``, ``plot``, ``archive_file``, ...).

    Parameters
    ----------
    output
        Folder for the outputs and the download cache (created if missing).
    seed
        Seed of the sandbox's synthetic data.
    """
    from intake_onc import sandbox
    from intake_onc.client import ONCClient

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected a whole number >= 0, got {seed!r}")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output: {out} is a file, not a folder; give a folder to write into")
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with sandbox.serve(port=0, seed=seed, processing_scale=0.02) as url:
        print(f"sandbox: serving Oceans 3.0 API at {url} (seed {seed})")
        client = ONCClient(
            token=sandbox.SANDBOX_TOKEN, base_url=url, cache_dir=out / "cache", progress=False
        )
        # The Intake catalog reads its API address and token from the environment.
        os.environ["ONC_BASE_URL"] = url
        os.environ["ONC_TOKEN"] = sandbox.SANDBOX_TOKEN
        os.environ["INTAKE_ONC_CACHE"] = str(out / "cache")

        _step("1. Discovery: the observatory's locations and devices")(lambda: _discover(client))
        written["archive_file"] = _step("2. One hydrophone archive file, downloaded and verified")(
            lambda: _download_one(client)
        )
        written["dataset"] = _step("3. A day of CTD data: lazy, cleaned, hourly min/max/average")(
            lambda: _ctd_dataset(out)
        )
        written["plot"] = _step("4. Hydrophone audio around a known tone, and its spectrogram")(
            lambda: _audio_plot(client, out)
        )
        written["hsd"] = _step("5. An ONC spectrogram product (HSD), ordered asynchronously")(
            lambda: _hsd_order(client, out)
        )
        stats = client.stats
        client.close()
    print("\nWrote:")
    for name, path in written.items():
        print(f"   {name:<13} {path}")
    if stats:
        print(f"Client requests: {stats}")
    return written


def _discover(client: ONCClient) -> None:
    tree = client.locations()
    print(f"   {len(tree)} locations, e.g.:")
    for row in tree.head(6).itertuples():
        print(f"     {row.locationCode:<9} {row.locationName}")
    deployments = client.deployments()
    ongoing = deployments[deployments["end"].isna()]
    print(f"   {deployments['deviceCode'].nunique()} devices, {len(ongoing)} deployed now:")
    for row in ongoing.itertuples():
        print(f"     {row.deviceCode:<15} {row.deviceCategoryCode:<10} at {row.locationCode}")


def _download_one(client: ONCClient) -> Path:
    files = client.archive_files(HYDROPHONE, *HOUR, extension="flac")
    print(
        f"   {len(files)} FLAC files in {HOUR[0]} – {HOUR[1]}; first: {files['filename'].iloc[0]}"
    )
    path = client.download(files["filename"].iloc[0])
    print(f"   -> {path} ({path.stat().st_size:,} bytes, size-verified)")
    return path


def _ctd_dataset(out: Path) -> Path:
    import intake

    from intake_onc.catalogs import catalog

    # The shipped catalog, read through importlib.resources (works from a wheel and a checkout).
    cat = intake.open_catalog(str(catalog("onc")))
    ds = cat.barkley_ctd(start=CTD_DAY[0], end=CTD_DAY[1]).read()
    print(f"   opened lazily: {dict(ds.sizes)}, chunks {ds.chunks['time'][:2]}…")
    hourly = ds.onc.resample("1h", method="minMaxAvg").compute()
    print(
        "   hourly temperature (°C): "
        + ", ".join(f"{v:.3f}" for v in hourly["temperature"].values[:4])
        + ", …"
    )
    path = out / "barkley_ctd_hourly.nc"
    with atomic_path(path) as tmp:
        hourly.to_netcdf(tmp)
    print(f"   -> {path}")
    return path


def _audio_plot(client: ONCClient, out: Path) -> Path:
    import intake_onc
    from intake_onc.datasets import open_audio

    audio = open_audio(HYDROPHONE, *TONE_WINDOW, client=client)
    print(
        f"   {audio.sizes['time']:,} samples at {audio.attrs['sample_rate']} Hz "
        f"from {audio.attrs['start_time']} (lazy: {audio.chunks is not None})"
    )
    spec = intake_onc.spectrogram(audio, win_dur=0.25, overlap=0.5).compute()
    peak = float(spec.frequency[spec.max("time").argmax("frequency")])
    print(f"   spectrogram {dict(spec.sizes)}; strongest frequency {peak:.0f} Hz (the test tone)")
    return _plot_spectrogram(spec, out / "hydrophone_spectrogram.png")


def _plot_spectrogram(spec: Any, path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - the plot extra is missing
        print("   matplotlib is not installed (pip install 'intake-onc[plot]'); no plot written")
        return path
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    spec.T.plot.pcolormesh(
        ax=ax, cmap="magma", cbar_kwargs={"label": spec.attrs.get("units", "dB")}
    )
    ax.set_title(f"{HYDROPHONE}: {TONE_WINDOW[0]} – {TONE_WINDOW[1]} UTC")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    print(f"   -> {path}")
    return path


def _hsd_order(client: ONCClient, out: Path) -> Path:
    from intake_onc.acoustics.hsd import open_hsd_files

    order = client.order(
        "HSD", "mat", device_code=HYDROPHONE, start=HOUR[0], end="2024-04-01T00:20:00"
    )
    order.execute().wait()
    paths = order.download(out / "hsd")
    print(f"   {order!r}")
    for entry in order.logs[-3:]:
        print(f"     log: {entry}")
    mats = [p for p in paths if p.suffix == ".mat"]
    spec = open_hsd_files(mats)
    print(f"   {len(mats)} MAT files -> DataArray {dict(spec.sizes)} ({spec.attrs.get('units')})")
    return mats[0].parent
