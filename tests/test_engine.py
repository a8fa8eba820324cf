"""The ``onc`` xarray engine: ``xr.open_dataset("onc://DEVICE/PRODUCT?…", engine="onc")``.

The engine opens the same objects as ``intake_onc.open_*``, with lazily indexed variables whose
``preferred_chunks`` follow ONC's files; the token never goes into the URI.
"""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import tomllib
import xarray as xr

import intake_onc
from intake_onc.datasets.engine import ONCBackendEntrypoint, parse_onc_uri

ROOT = Path(__file__).resolve().parents[1]
CTD = "onc://SBECTD19p6813/scalar?start=2024-04-01T00:00&end=2024-04-01T03:00&chunk=1h"
AUDIO = "onc://ICLISTENHF6324/audio?start=2024-04-01T00:00&end=2024-04-01T00:12"


@pytest.fixture
def env(sandbox_url, sandbox_token, monkeypatch, tmp_path):
    monkeypatch.setenv("ONC_BASE_URL", sandbox_url)
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(tmp_path / "cache"))


def test_the_entry_point_names_this_engine():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert table["xarray.backends"] == {"onc": "intake_onc.datasets.engine:ONCBackendEntrypoint"}
    assert "onc" in xr.backends.list_engines()
    assert isinstance(xr.backends.list_engines()["onc"], ONCBackendEntrypoint)


def test_guess_can_open_only_onc_uris():
    engine = ONCBackendEntrypoint()
    assert engine.guess_can_open(CTD)
    assert not engine.guess_can_open("data.nc")
    assert not engine.guess_can_open(Path("onc.nc"))


@pytest.mark.parametrize("chunks", [{}, None])
def test_scalar_data_through_the_engine_equal_open_scalar(env, chunks):
    ds = xr.open_dataset(CTD, engine="onc", chunks=chunks)
    expected = intake_onc.open_scalar(
        "SBECTD19p6813", start="2024-04-01T00:00", end="2024-04-01T03:00", chunk="1h"
    )
    if chunks == {}:
        assert ds.temperature.chunks == ((3600, 3600, 3600),)  # one window per chunk
    else:
        assert not dask.is_dask_collection(ds.temperature)
        assert ds.temperature.variable._in_memory is False  # lazily indexed
    xr.testing.assert_identical(ds.load(), expected.load())


def test_audio_through_the_engine_is_chunked_by_file_and_selectable(env):
    ds = xr.open_dataset(AUDIO, engine="onc", chunks={})
    assert ds.audio.chunks[0][0] == 300 * 64_000  # one 5-minute file
    assert ds.audio.encoding["preferred_chunks"] == {"time": 300 * 64_000}
    expected = intake_onc.open_audio("ICLISTENHF6324", "2024-04-01T00:00", "2024-04-01T00:12")
    part = ds.audio.sel(time=slice("2024-04-01T00:10:30", "2024-04-01T00:10:30.5"))
    want = expected.sel(time=slice("2024-04-01T00:10:30", "2024-04-01T00:10:30.5"))
    np.testing.assert_array_equal(part.values, want.values)


def test_lazily_indexed_audio_reads_only_what_it_selects(env, sandbox_url, sandbox_stats):
    ds = xr.open_dataset(AUDIO, engine="onc", chunks=None)
    before = sandbox_stats(sandbox_url)["paths"].get("/api/archivefile/download", 0)
    first = ds.audio[:1000].values  # the first file only
    assert first.shape == (1000,)
    after = sandbox_stats(sandbox_url)["paths"].get("/api/archivefile/download", 0)
    assert after - before <= 1


def test_custom_spectrogram_options_in_the_uri(env):
    uri = (
        "onc://ICLISTENHF6324/custom_spectrogram?start=2024-04-01T00:00&end=2024-04-01T00:05"
        "&win_dur=0.5&overlap=0.5&freq_lims=10,2000"
    )
    ds = xr.open_dataset(uri, engine="onc", chunks={})
    assert ds.spectrogram.dims == ("time", "frequency")
    assert float(ds.frequency.max()) <= 2000


def test_the_token_never_goes_in_a_uri(env, sandbox_token):
    with pytest.raises(ValueError, match="ONC_TOKEN") as error:
        xr.open_dataset(CTD + f"&token={sandbox_token}", engine="onc")
    assert sandbox_token not in str(error.value)
    ds = xr.open_dataset(CTD, engine="onc", chunks={})
    assert sandbox_token not in repr(ds) and sandbox_token not in str(ds.attrs)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("onc://SBECTD19p6813", "onc://DEVICE/PRODUCT"),
        ("onc://SBECTD19p6813/TSSP?start=2024-04-01&end=2024-04-02", "unknown product 'TSSP'"),
        ("onc://SBECTD19p6813/scalar?start=2024-04-01", "add end"),
        ("onc://SBECTD19p6813/scalar?start=a&start=b&end=c", "given twice"),
        ("onc://SBECTD19p6813/scalar?start=2024-13-45&end=2024-04-02", "start"),
    ],
)
def test_bad_uris_are_named(env, uri, message):
    with pytest.raises(ValueError, match=message):
        xr.open_dataset(uri, engine="onc")


def test_uri_values_are_read_as_numbers_lists_and_booleans():
    _, kind, options = parse_onc_uri("onc://X/AD?chunk=60&sample_rate=64000&a=1.5&b=true&c=1,2")
    assert kind == "audio"
    assert options == {"chunk": 60, "sample_rate": 64000, "a": 1.5, "b": True, "c": [1, 2]}
