"""The Intake catalog ``catalogs/onc.yaml`` and the readers behind it, against the sandbox.

The catalog holds no address and no token: readers take them from ``ONC_BASE_URL`` and
``ONC_TOKEN`` (here pointed at the test sandbox), so the same file works for the real service.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import intake
import pytest
import xarray as xr

import intake_onc

CATALOG = intake_onc.catalog("onc")
DAY = {"start": "2024-04-01T00:00:00", "end": "2024-04-01T03:00:00"}


@pytest.fixture
def catalog(sandbox_url, sandbox_token, monkeypatch, tmp_path):
    monkeypatch.setenv("ONC_BASE_URL", sandbox_url)
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(tmp_path / "cache"))
    return intake.open_catalog(str(CATALOG))


def scalar_requests(stats: dict) -> int:
    return sum(n for path, n in stats["paths"].items() if "scalardata" in path)


def test_the_catalog_lists_its_entries(catalog):
    assert set(catalog) == {
        "barkley_ctd",
        "barkley_oxygen",
        "hydrophone_audio",
        "hydrophone_spectrogram",
        "barkley_canyon_axis",
    }


def test_an_entry_reads_as_a_lazy_dataset(catalog, sandbox_url, sandbox_stats):
    ds = catalog.barkley_ctd(**DAY, chunk="1h").read()  # a few metadata requests only
    before = scalar_requests(sandbox_stats(sandbox_url))
    assert isinstance(ds, xr.Dataset)
    assert ds.attrs["device_code"] == "SBECTD19p6813"
    assert ds.chunks["time"] == (3600, 3600, 3600)
    assert scalar_requests(sandbox_stats(sandbox_url)) == before  # nothing fetched yet
    assert int(ds.temperature.notnull().sum()) > 0  # computing fetches
    assert scalar_requests(sandbox_stats(sandbox_url)) > before


def test_user_parameters_and_read_time_overrides(catalog):
    ds = catalog(START="2024-04-02T00:00:00", END="2024-04-02T01:00:00").barkley_oxygen.read()
    assert str(ds.time.values[0]).startswith("2024-04-02T00:00")
    assert ds.sizes["time"] == 720  # one hour at the oxygen sensor's 5 s (ONC's rating)
    ds = catalog.barkley_oxygen.read(start="2024-04-03T00:00:00", end="2024-04-03T00:10:00")
    assert ds.sizes["time"] == 120
    with pytest.raises(ValueError, match="Could not validate"):
        catalog(CHUNK="7h").barkley_ctd  # noqa: B018  (not one of the catalog's options)


def test_to_dask_is_read(catalog):
    ds = catalog.barkley_oxygen.to_dask(start="2024-04-01T00:00:00", end="2024-04-01T00:10:00")
    assert ds.temperature.chunks is not None


def test_a_location_entry_is_a_catalog_of_its_devices(catalog):
    devices = catalog.barkley_canyon_axis.read()
    assert {"SBECTD19p6813", "AANDERAAO2224"} <= set(devices)
    ds = devices.AANDERAAO2224.read(start="2024-04-01T00:00:00", end="2024-04-01T00:10:00")
    assert "oxygen" in ds.data_vars


def test_import_intake_registers_the_readers_cheaply():
    code = "import sys, intake; print('intake_onc.readers' in sys.modules, 'xarray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    registered, _ = out.stdout.split()
    assert registered == "True"


def test_hydrophone_entries_read_audio_and_onc_spectrograms(catalog):
    """The 64 kHz hydrophone of the catalog: an exact audio window and ONC's one-minute HSD."""
    window = {"start": "2024-04-01T00:12:29", "end": "2024-04-01T00:12:31"}
    audio = catalog.hydrophone_audio.read(**window)
    assert audio.sizes["time"] == 2 * 64_000 and audio.attrs["sample_rate"] == 64_000
    assert audio.chunks is not None
    spec = catalog.hydrophone_spectrogram.read(start="2024-04-01T00:10", end="2024-04-01T00:15")
    assert spec.dims == ("time", "frequency") and spec.attrs["downsample"] == 1
    assert spec.sizes["time"] >= 4


def test_the_shipped_catalog_is_the_repository_file():
    shipped = intake_onc.catalog("onc")
    assert (
        shipped.read_bytes() == (Path(__file__).parents[1] / "catalogs" / "onc.yaml").read_bytes()
    )
    assert intake_onc.catalog("onc.yaml") == shipped


def test_an_unknown_catalog_name_lists_the_shipped_ones():
    with pytest.raises(ValueError, match=r"name='nope'.*available: onc"):
        intake_onc.catalog("nope")
