"""Intake v1: ``driver: onc`` / ``driver: onc_cat`` in old-style YAML, and ``intake.open_onc``.

Intake 2.0.9 still reads v1 catalogs (``sources:``, ``parameters:``, jinja templates) and finds
v1 drivers through the ``intake.drivers`` entry point. The v1 sources build the same readers as
the v2 catalog, so their data equal ``intake_onc.open_*``'s.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import intake
import pytest
import tomllib
import xarray as xr

import intake_onc
from intake_onc.readers.legacy import ONCLocationSource, ONCSource

ROOT = Path(__file__).resolve().parents[1]
HOUR = {"start": "2024-04-01T00:00:00", "end": "2024-04-01T01:00:00"}

V1_YAML = """
metadata:
  version: 1
sources:
  barkley_ctd:
    description: CTD on the Barkley Canyon Axis
    driver: onc
    parameters:
      start: {description: start, type: str, default: "2024-04-01T00:00:00"}
      end: {description: end, type: str, default: "2024-04-01T01:00:00"}
      chunk: {description: chunk, type: str, default: "1h", allowed: ["1h", "30min"]}
    args:
      device_code: SBECTD19p6813
      product: scalar
      start: "{{ start }}"
      end: "{{ end }}"
      chunk: "{{ chunk }}"
  axis:
    description: every device at BACAX
    driver: onc_cat
    args:
      location_code: BACAX
      start: "2024-04-01T00:00:00"
      end: "2024-04-01T01:00:00"
"""


@pytest.fixture
def env(sandbox_url, sandbox_token, monkeypatch, tmp_path):
    monkeypatch.setenv("ONC_BASE_URL", sandbox_url)
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def v1_catalog(env, tmp_path):
    path = tmp_path / "v1.yaml"
    path.write_text(V1_YAML)
    return intake.open_catalog(str(path))


def test_the_package_declares_both_v1_drivers_and_they_import():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    drivers = table["intake.drivers"]
    assert drivers == {
        "onc": "intake_onc.readers.legacy:ONCSource",
        "onc_cat": "intake_onc.readers.legacy:ONCLocationSource",
    }
    for target in drivers.values():
        module, _, name = target.partition(":")
        assert getattr(import_module(module), name) in (ONCSource, ONCLocationSource)


def test_a_v1_yaml_entry_with_jinja_parameters_reads_lazily(v1_catalog, sandbox_url, sandbox_stats):
    source = v1_catalog.barkley_ctd(chunk="30min")
    before = sandbox_stats(sandbox_url)["requests"]
    assert source.discover()["metadata"]["device_code"] == "SBECTD19p6813"
    assert source.describe()["args"]["device_code"] == "SBECTD19p6813"
    assert sandbox_stats(sandbox_url)["requests"] == before  # discover, describe: no request
    lazy = source.to_dask()
    assert lazy.chunks["time"] == (1800, 1800)
    assert all(v.chunks for v in lazy.data_vars.values())  # dask-backed until read()
    expected = intake_onc.open_scalar("SBECTD19p6813", chunk="30min", **HOUR)
    xr.testing.assert_identical(source.read(), expected.load())


def test_a_v1_parameter_outside_its_allowed_values_is_refused(v1_catalog):
    with pytest.raises(ValueError, match="chunk"):
        v1_catalog.barkley_ctd(chunk="7h")


def test_a_v1_location_catalog_lists_the_devices_there(v1_catalog):
    axis = v1_catalog.axis
    names = sorted(axis)
    assert "SBECTD19p6813_scalar" in names
    assert all(name.endswith("_scalar") for name in names)  # no hydrophone at BACAX
    ds = axis["SBECTD19p6813_scalar"].to_dask()
    assert ds.attrs["device_code"] == "SBECTD19p6813"


def test_intake_open_onc_matches_open_functions(env):
    audio = intake.open_onc(
        device_code="ICLISTENHF6324", product="audio", start=HOUR["start"], end="2024-04-01T00:10"
    )
    assert audio.describe()["args"]["product"] == "audio"
    lazy = audio.to_dask()
    assert lazy.chunks is not None
    direct = intake_onc.open_audio("ICLISTENHF6324", HOUR["start"], "2024-04-01T00:10")
    # where the sample rate was learnt differs (a header, then the remembered facts): not data
    lazy.attrs.pop("sample_rate_from"), direct.attrs.pop("sample_rate_from")
    xr.testing.assert_identical(lazy, direct)
    custom = intake.open_onc(
        device_code="ICLISTENHF6324",
        product="custom_spectrogram",
        start=HOUR["start"],
        end="2024-04-01T00:05",
        win_dur=1.0,
        freq_lims=(10, 1000),
    ).to_dask()
    assert custom.dims == ("time", "frequency")
    assert float(custom.frequency.max()) <= 1000


def test_intake_open_onc_cat_is_a_location_catalog(env):
    cat = intake.open_onc_cat(location_code="BACAX", **HOUR)
    assert "SBECTD19p6813_scalar" in list(cat)


def test_unknown_products_and_codes_are_named(env):
    with pytest.raises(ValueError, match="product='TSSP'"):
        intake.open_onc(device_code="SBECTD19p6813", product="TSSP")
    with pytest.raises(ValueError, match="location_code"):
        intake.open_onc_cat(location_code="")


def test_a_v1_source_given_a_client_never_shows_its_token(sandbox_url):
    token = "a1b2c3d4-0000-4000-8000-123456789abc"
    client = intake_onc.ONCClient(token=token, base_url=sandbox_url)
    source = ONCSource("SBECTD19p6813", start="2024-04-01", end="2024-04-02", client=client)
    for text in (repr(source), source.yaml(), str(source.describe())):
        assert token not in text
    assert "client_options" in source.yaml() and sandbox_url in source.yaml()
