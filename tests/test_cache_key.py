"""A cache that survives a new port: a sandbox restarted on another port, with the same cache
key, serves nothing twice (the demo and notebooks rely on it)."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from intake_onc.client import ONCClient
from intake_onc.datasets import open_audio
from intake_onc.sandbox import SANDBOX_TOKEN, serve


def downloads(url: str) -> int:
    stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return stats["paths"].get("/api/archivefile/download", 0)


def test_a_second_sandbox_on_another_port_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_ONC_CACHE_KEY", "sandbox-test-seed0")
    window = ("2024-04-01T00:00", "2024-04-01T00:06")
    with serve(port=0) as first:
        client = ONCClient(token=SANDBOX_TOKEN, base_url=first, cache_dir=tmp_path)
        a = open_audio("ICLISTENHF6093", *window, client=client).values
        assert downloads(first) >= 2
    with serve(port=0) as second:
        assert second != first
        client = ONCClient(token=SANDBOX_TOKEN, base_url=second, cache_dir=tmp_path)
        assert client._core.host_key == "sandbox-test-seed0"
        b = open_audio("ICLISTENHF6093", *window, client=client).values
        assert downloads(second) == 0  # every file came from the cache
    np.testing.assert_array_equal(a, b)  # NaN where no file covers (the same gaps)
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["sandbox-test-seed0"]


def test_a_bad_cache_key_is_refused_naming_it(monkeypatch):
    with pytest.raises(ValueError, match="cache_key='a/b'"):
        ONCClient(token=SANDBOX_TOKEN, cache_key="a/b")
    monkeypatch.setenv("INTAKE_ONC_CACHE_KEY", "..")
    with pytest.raises(ValueError, match="INTAKE_ONC_CACHE_KEY='..'"):
        ONCClient(token=SANDBOX_TOKEN)
