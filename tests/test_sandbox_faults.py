"""Seeded fault injection: the injector itself and each fault kind as a client sees it."""

from __future__ import annotations

import contextlib

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN
from intake_onc.sandbox.transport.faults import KINDS, FaultInjector


def locations(url: str, session: requests.Session | None = None) -> requests.Response:
    getter = session.get if session is not None else requests.get
    return getter(f"{url}/api/locations", params={"token": SANDBOX_TOKEN}, timeout=30)


# -- the injector ---------------------------------------------------------------------------------


def test_injector_rates_and_determinism():
    assert all(FaultInjector(0.0, seed=1).decide() is None for _ in range(200))
    always = FaultInjector(1.0, seed=1)
    assert all(always.decide() in KINDS for _ in range(200))
    one, two = FaultInjector(0.4, seed=5), FaultInjector(0.4, seed=5)
    assert [one.decide() for _ in range(300)] == [two.decide() for _ in range(300)]
    other = FaultInjector(0.4, seed=6)
    draws = [other.decide() for _ in range(2000)]
    share = sum(d is not None for d in draws) / len(draws)
    assert 0.3 < share < 0.5
    assert set(draws) == {None, *KINDS}


def test_injector_kinds_and_queue():
    only = FaultInjector(1.0, seed=0, kinds=["503", "reset"])
    assert {only.decide() for _ in range(100)} == {"503", "reset"}
    forced = FaultInjector(0.0, seed=0)
    forced.queue("429", None, "truncate")
    assert [forced.decide() for _ in range(4)] == ["429", None, "truncate", None]
    with pytest.raises(ValueError, match="fault_rate"):
        FaultInjector(1.5)
    with pytest.raises(ValueError, match="fault_kinds"):
        FaultInjector(0.5, kinds=["404"])
    with pytest.raises(ValueError, match="fault kind"):
        forced.queue("teapot")


# -- each kind over HTTP --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors(make_sandbox, sandbox_stats, kind):
    url = make_sandbox(fault_rate=1.0, fault_kinds=[kind])
    r = locations(url)
    assert r.status_code == int(kind)
    assert "fault injection" in r.json()["message"]
    stats = sandbox_stats(url)
    assert stats["faults"] == 1 and stats["faults_by_kind"][kind] == 1


def test_too_many_requests_has_retry_after(make_sandbox):
    url = make_sandbox(fault_rate=1.0, fault_kinds=["429"], retry_after_s=3)
    r = locations(url)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"


def test_connection_reset(make_sandbox, sandbox_stats):
    url = make_sandbox(fault_rate=1.0, fault_kinds=["reset"])
    with pytest.raises(requests.ConnectionError):
        locations(url)
    assert sandbox_stats(url)["faults_by_kind"]["reset"] == 1
    # The server stays up.
    make_sandbox.server(url).faults.rate = 0.0
    assert locations(url).status_code == 200


def test_body_cut_short(make_sandbox):
    url = make_sandbox(fault_rate=1.0, fault_kinds=["truncate"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        locations(url)
    # Streaming downloads see it too, while reading the body.
    with requests.get(
        f"{url}/api/locations", params={"token": SANDBOX_TOKEN}, stream=True, timeout=30
    ) as r:
        assert r.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            r.content  # noqa: B018


def test_slow_answer_is_otherwise_correct(make_sandbox, sandbox_stats):
    url = make_sandbox(fault_rate=1.0, fault_kinds=["slow"], fault_slow_ms=20)
    r = locations(url)
    assert r.status_code == 200 and len(r.json()) == 1899  # every location, whole
    assert sandbox_stats(url)["faults_by_kind"]["slow"] == 1


def test_every_kind_at_a_high_rate_with_a_fixed_seed(make_sandbox, sandbox_stats):
    url = make_sandbox(fault_rate=0.8, seed=11, fault_slow_ms=5)
    observed = {"ok": 0, "500": 0, "503": 0, "429": 0, "reset": 0, "truncate": 0}
    for _ in range(60):
        try:
            r = locations(url)
        except requests.exceptions.ChunkedEncodingError:
            observed["truncate"] += 1
            continue
        except requests.ConnectionError:
            observed["reset"] += 1
            continue
        if r.status_code == 200:
            observed["ok"] += 1
        else:
            observed[str(r.status_code)] += 1
    stats = sandbox_stats(url)
    assert stats["requests"] == 60
    by_kind = stats["faults_by_kind"]
    assert all(by_kind[k] > 0 for k in KINDS), by_kind
    for kind in ("500", "503", "429", "reset", "truncate"):
        assert observed[kind] == by_kind[kind], kind
    # Slow answers are ordinary 200s.
    assert observed["ok"] == 60 - stats["faults"] + by_kind["slow"]
    # Same seed, same sequence.
    again = make_sandbox(fault_rate=0.8, seed=11, fault_slow_ms=5)
    for _ in range(60):
        with contextlib.suppress(requests.RequestException):
            locations(again)
    assert sandbox_stats(again)["faults_by_kind"] == by_kind


def test_forcing_faults_over_http(make_sandbox, sandbox_stats):
    url = make_sandbox()
    r = requests.post(
        f"{url}/_sandbox/faults", params={"queue": "503,429", "token": SANDBOX_TOKEN}, timeout=30
    )
    assert r.json() == {"queued": ["503", "429"]}
    assert [locations(url).status_code for _ in range(3)] == [503, 429, 200]
    assert (
        requests.post(
            f"{url}/_sandbox/faults", params={"queue": "nope", "token": SANDBOX_TOKEN}, timeout=30
        ).status_code
        == 400
    )
    assert sandbox_stats(url)["faults"] == 2
