"""The whole ONC location tree as an Intake catalog, and the sandbox catalog.

``ONCCatalog()`` is the root of ONC's location tree; each level is read when opened: parents
hold catalogs of their children, locations with devices list one entry per device × data
product ONC reports there, and those entries read exactly like the static catalog's.
"""

from __future__ import annotations

import intake
import pytest
import xarray as xr

import intake_onc
from intake_onc.readers import tree
from intake_onc.readers.tree import ONCCatalog

HOUR = {"start": "2024-04-01T00:00:00", "end": "2024-04-01T01:00:00"}


@pytest.fixture
def env(sandbox_url, sandbox_token, monkeypatch, tmp_path):
    monkeypatch.setenv("ONC_BASE_URL", sandbox_url)
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tree, "_TREES", {})


def discovery_requests(stats: dict) -> dict[str, int]:
    services = ("locations/tree", "deployments", "dataProducts")
    return {s: sum(n for p, n in stats["paths"].items() if p == f"/api/{s}") for s in services}


def test_walking_from_the_root_to_a_hydrophone_and_reading_it(env, sandbox_url, sandbox_stats):
    root = ONCCatalog(**HOUR)
    roots = list(root)
    assert "CBCH" in roots and "CBCH.H1" not in roots  # dotted codes sit under their prefix
    # find the hydrophone's branch by walking down, as a user browsing would
    path, level = [], root
    while "ICLISTENHF6324_HSD" not in level:
        child = next(c for c in level if "ICLISTENHF6324" not in c and _holds(c, "ICLISTENHF6324"))
        path.append(child)
        level = level[child].read()
    assert len(path) >= 2  # a parent location, then the hydrophone's own location
    entry = level["ICLISTENHF6324_HSD"]
    assert entry.metadata["device_category"] == "HYDROPHONE"
    assert "mat" in entry.metadata["formats"]
    assert entry.metadata["deployments"][0][0].startswith("20")
    assert "citation" in entry.metadata
    spec = entry(start="2024-04-01T00:00", end="2024-04-01T00:10").read()
    expected = intake_onc.open_spectrogram("ICLISTENHF6324", "2024-04-01T00:00", "2024-04-01T00:10")
    xr.testing.assert_identical(spec, expected)


def _holds(code: str, device: str) -> bool:
    """Whether location ``code`` (or one below it) has ``device`` (ground truth from the API)."""
    client = intake_onc.ONCClient()
    locations = set(client.deployments(device_code=device)["locationCode"])
    return any(
        loc == code or loc.startswith(code + ".") or _ancestor(client, code, loc)
        for loc in locations
    )


def _ancestor(client, code: str, location: str) -> bool:
    rows = client.location_tree().set_index("locationCode")["parentLocationCode"].to_dict()
    while location is not None and location == location:
        if location == code:
            return True
        location = rows.get(location)
    return False


def test_each_level_makes_at_most_one_request_per_service(env, sandbox_url, sandbox_stats):
    before = discovery_requests(sandbox_stats(sandbox_url))
    cat = ONCCatalog("BACAX", **HOUR)
    after = discovery_requests(sandbox_stats(sandbox_url))
    assert {k: after[k] - before[k] for k in after} == {
        "locations/tree": 1,
        "deployments": 1,
        "dataProducts": 1,
    }
    list(cat), [cat[name].metadata for name in cat], repr(cat)  # listing and describing
    assert discovery_requests(sandbox_stats(sandbox_url)) == after
    ONCCatalog("BACUS", **HOUR)  # the tree is not read again
    assert (
        discovery_requests(sandbox_stats(sandbox_url))["locations/tree"] == after["locations/tree"]
    )


def test_leaf_entries_are_device_by_product_and_read_like_the_static_ones(env):
    cat = ONCCatalog("BACAX", **HOUR)
    assert "SBECTD19p6813_TSSD" in cat
    ds = cat.SBECTD19p6813_TSSD(chunk="1h").read()
    expected = intake_onc.open_scalar("SBECTD19p6813", chunk="1h", **HOUR)
    xr.testing.assert_identical(ds, expected)


def test_an_unknown_location_is_named(env):
    with pytest.raises(ValueError, match="location_code='NOPE'"):
        ONCCatalog("NOPE")


# --- the sandbox catalog -----------------------------------------------------------------------


def test_the_sandbox_catalog_has_the_same_entries_and_reads_from_onc_base_url(env):
    onc = intake.open_catalog(str(intake_onc.catalog("onc")))
    sandbox = intake.open_catalog(str(intake_onc.catalog("sandbox")))
    assert sorted(sandbox) == sorted(onc)
    ds = sandbox.barkley_ctd(**HOUR).read()
    assert ds.attrs["device_code"] == "SBECTD19p6813"


def test_the_sandbox_catalog_without_onc_base_url_says_what_to_do(env, monkeypatch):
    monkeypatch.delenv("ONC_BASE_URL")
    sandbox = intake.open_catalog(str(intake_onc.catalog("sandbox")))
    with pytest.raises(ValueError, match="intake-onc sandbox"):
        sandbox.barkley_ctd(**HOUR).read()


def test_entries_are_listed_and_described_without_a_request(env, sandbox_url, sandbox_stats):
    before = sandbox_stats(sandbox_url)["requests"]
    for name in ("onc", "sandbox"):
        cat = intake.open_catalog(str(intake_onc.catalog(name)))
        for entry in cat:
            reader = cat[entry]
            assert reader.metadata is not None and repr(reader)
    assert sandbox_stats(sandbox_url)["requests"] == before
