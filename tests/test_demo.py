"""``intake-onc demo``: the netCDF files and the three figures, and a second run that downloads
nothing (the cache is keyed by the sandbox's version and seed, not its port)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import xarray as xr


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONC_", "INTAKE_ONC_"))}

    def run():
        return subprocess.run(
            [sys.executable, "-m", "intake_onc.cli", "demo", "--output", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            cwd=out,
        )

    first, second = run(), run()
    return out, first, second


def test_the_demo_writes_cf_netcdf_and_three_figures(demo):
    out, first, _ = demo
    assert first.returncode == 0, first.stderr
    hourly = xr.open_dataset(out / "barkley_ctd_hourly.nc")
    assert hourly.sizes["time"] == 7 * 24 and hourly.attrs["Conventions"].startswith("CF-")
    assert {"temperature", "temperature_min", "temperature_max", "temperature_qc"} <= set(hourly)
    spec = xr.open_dataset(out / "hydrophone_spectrogram.nc")
    assert set(spec.dims) == {"time", "frequency"}
    events = xr.open_dataset(out / "events.nc")
    assert events.sizes["event"] >= 4 and "label" in events.coords
    for name in ("ctd_qc.png", "spectrograms.png", "event_gallery.png"):
        assert (out / name).stat().st_size > 50_000, name
    clips = list((out / "events").rglob("*.flac"))
    assert len(clips) == events.sizes["event"]
    assert "Wrote:" in first.stdout and "spectrograms.png" in first.stdout


def test_a_second_demo_run_downloads_nothing(demo):
    _, first, second = demo
    assert second.returncode == 0, second.stderr
    assert "Downloaded this run: 0.0 MB" in second.stdout
    assert "Downloaded this run: 0.0 MB" not in first.stdout
