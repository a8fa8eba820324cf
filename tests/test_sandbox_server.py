"""The sandbox server: serve(), tokens, routing (incl. legacy method= forms), stats, latency,
concurrency and the ``intake-onc sandbox`` command."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN, SandboxServer, serve
from intake_onc.sandbox.transport.cli import add_sandbox_command, main, run_sandbox

REPO = Path(__file__).resolve().parents[1]
BAD_TOKEN = {
    "errors": [{"errorCode": 127, "errorMessage": "Invalid parameter value", "parameter": "token"}]
}


def get(url: str, path: str, **params: object) -> requests.Response:
    return requests.get(f"{url}/api/{path}", params={"token": SANDBOX_TOKEN, **params}, timeout=60)


def test_serve_yields_the_base_url_and_releases_the_port():
    with serve(port=0, processing_scale=0) as url:
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", url)
        assert match
        port = int(match.group(1))
        assert get(url, "locations", locationCode="BACAX").status_code == 200
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_server_object_and_knob_validation():
    assert SANDBOX_TOKEN == "00000000-0000-4000-8000-000000000000"
    with SandboxServer(processing_scale=0) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.host == "127.0.0.1"
    for bad in (
        {"fault_rate": 2.0},
        {"fault_kinds": ["boom"]},
        {"latency_ms": -1},
        {"processing_scale": -1},
        {"seed": -3},
        {"token": ""},
    ):
        with pytest.raises(ValueError):
            SandboxServer(**bad)


def test_token_is_required(sandbox_url):
    r = requests.get(f"{sandbox_url}/api/locations", params={"token": "wrong"}, timeout=30)
    assert r.status_code == 401 and r.json() == BAD_TOKEN
    r = requests.get(f"{sandbox_url}/api/locations", timeout=30)
    assert r.status_code == 401 and r.json() == BAD_TOKEN
    r = requests.get(
        f"{sandbox_url}/api/archivefile/download", params={"filename": "x.flac"}, timeout=30
    )
    assert r.status_code == 401


def test_custom_token(make_sandbox):
    url = make_sandbox(token="my-secret-token")
    assert get(url, "locations").status_code == 401
    r = requests.get(f"{url}/api/locations", params={"token": "my-secret-token"}, timeout=30)
    assert r.status_code == 200


def test_unknown_paths_and_methods(sandbox_url):
    r = get(sandbox_url, "nothing/here")
    assert r.status_code == 404 and "Unknown service" in r.json()["message"]
    assert requests.get(f"{sandbox_url}/index.html", timeout=30).status_code == 404
    r = requests.post(f"{sandbox_url}/api/locations", params={"token": SANDBOX_TOKEN}, timeout=30)
    assert r.status_code == 405


def test_head_on_json_endpoints(sandbox_url):
    full = get(sandbox_url, "locations")
    head = requests.head(
        f"{sandbox_url}/api/locations", params={"token": SANDBOX_TOKEN}, timeout=30
    )
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == full.headers["Content-Length"]


@pytest.mark.parametrize(
    ("legacy", "params", "modern"),
    [
        ("locations", {"method": "get", "locationCode": "BACAX"}, "locations"),
        ("locations", {"method": "getTree"}, "locations/tree"),
        ("deployments", {"method": "get", "deviceCode": "SBECTD19p6813"}, "deployments"),
        ("devices", {"method": "get", "deviceCode": "SBECTD19p6813"}, "devices"),
        ("deviceCategories", {"method": "get"}, "deviceCategories"),
        ("properties", {"method": "get"}, "properties"),
        ("dataProducts", {"method": "get"}, "dataProducts"),
        (
            "archivefiles",
            {
                "method": "getListByDevice",
                "deviceCode": "ICLISTENHF6093",
                "dateFrom": "2023-01-01",
                "dateTo": "2023-01-01T00:20:00Z",
            },
            "archivefile/device",
        ),
        (
            "archivefiles",
            {
                "method": "getListByLocation",
                "locationCode": "CBCH.H3",
                "deviceCategoryCode": "HYDROPHONE",
                "dateFrom": "2023-01-01",
                "dateTo": "2023-01-01T00:20:00Z",
            },
            "archivefile/location",
        ),
        (
            "archivefiles",
            {
                "method": "getList",
                "deviceCode": "ICLISTENHF6093",
                "dateFrom": "2023-01-01",
                "dateTo": "2023-01-01T00:20:00Z",
            },
            "archivefile/device",
        ),
        (
            "scalardata",
            {
                "method": "getByDevice",
                "deviceCode": "SBECTD19p6813",
                "dateFrom": "2024-01-01",
                "dateTo": "2024-01-01T00:01:00Z",
            },
            "scalardata/device",
        ),
        (
            "scalardata",
            {
                "method": "getByLocation",
                "locationCode": "BACAX",
                "deviceCategoryCode": "CTD",
                "dateFrom": "2024-01-01",
                "dateTo": "2024-01-01T00:01:00Z",
            },
            "scalardata/location",
        ),
    ],
)
def test_legacy_method_forms(sandbox_url, legacy, params, modern):
    old = get(sandbox_url, legacy, **params)
    modern_params = {k: v for k, v in params.items() if k != "method"}
    new = get(sandbox_url, modern, **modern_params)
    assert old.status_code == new.status_code == 200
    strip = re.compile(r'"queryUrl":"[^"]*"')  # the URLs differ, nothing else
    assert strip.sub("", old.text) == strip.sub("", new.text)


def test_legacy_get_file_and_bad_methods(sandbox_url):
    name = get(
        sandbox_url,
        "archivefile/device",
        deviceCode="ICLISTENHF6093",
        dateFrom="2023-01-01",
        dateTo="2023-01-01T00:10:00Z",
        fileExtension="mat",
    ).json()["files"][0]
    r = get(sandbox_url, "archivefiles", method="getFile", filename=name)
    assert r.status_code == 200 and r.content.startswith(b"MATLAB")
    assert get(sandbox_url, "archivefiles").json()["errors"][0]["errorCode"] == 128
    assert get(sandbox_url, "archivefiles", method="eat").json() == {
        "errors": [
            {"errorCode": 127, "errorMessage": "Invalid parameter value", "parameter": "method"}
        ]
    }


def test_stats_counts_requests_paths_statuses_and_bytes(make_sandbox, sandbox_stats):
    url = make_sandbox()
    sizes = [len(get(url, "locations").content), len(get(url, "devices").content)]
    get(url, "locations", token_typo="x")
    requests.get(f"{url}/api/locations", params={"token": "bad"}, timeout=30)
    stats = sandbox_stats(url)
    assert stats["requests"] == 4
    assert stats["paths"] == {"/api/locations": 3, "/api/devices": 1}
    assert stats["statuses"] == {"200": 2, "400": 1, "401": 1}
    assert stats["methods"] == {"GET": 4}
    assert stats["bytes_sent"] >= sum(sizes)
    assert stats["faults"] == 0 and stats["delayed"] == 0 and stats["active"] == 0
    assert stats["config"]["seed"] == 0
    # Reading the stats is not counted; resetting zeroes them.
    assert sandbox_stats(url)["requests"] == 4
    assert requests.post(f"{url}/_sandbox/reset", timeout=30).status_code == 401
    assert sandbox_stats(url)["requests"] == 4
    reset = requests.post(f"{url}/_sandbox/reset", params={"token": SANDBOX_TOKEN}, timeout=30)
    assert reset.status_code == 200
    assert sandbox_stats(url)["requests"] == 0


def test_latency_is_applied_to_every_api_answer(make_sandbox, sandbox_stats):
    url = make_sandbox(latency_ms=30)
    for _ in range(3):
        assert get(url, "deviceCategories").status_code == 200
    stats = sandbox_stats(url)
    assert stats["delayed"] == 3 == stats["requests"]
    assert stats["config"]["latency_ms"] == 30


def test_eight_parallel_downloads(make_sandbox, sandbox_stats):
    url = make_sandbox(latency_ms=150)
    rows = get(
        url,
        "archivefile/device",
        deviceCode="ICLISTENHF6093",
        returnOptions="all",
        dateFrom="2023-01-01T00:00:00.000Z",
        dateTo="2023-01-01T00:30:00.000Z",
    ).json()["files"][:8]
    assert len(rows) == 8
    barrier = threading.Barrier(8)

    def fetch(row: dict) -> tuple[int, int]:
        barrier.wait(timeout=30)
        r = get(url, "archivefile/download", filename=row["filename"])
        return r.status_code, len(r.content)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(fetch, rows))
    assert results == [(200, row["fileSize"]) for row in rows]
    stats = sandbox_stats(url)
    assert stats["paths"]["/api/archivefile/download"] == 8
    assert stats["max_active"] > 1  # served concurrently, not one after the other
    assert get(url, "locations").status_code == 200  # still up


def test_parallel_product_downloads(sandbox_url):
    request = get(
        sandbox_url,
        "dataProductDelivery/request",
        deviceCode="ICLISTENHF6093",
        dataProductCode="HSD",
        extension="png",
        dateFrom="2023-01-01T00:00:00.000Z",
        dateTo="2023-01-01T00:20:00.000Z",
    ).json()
    for _ in range(600):  # the PNGs take a moment to draw (polls 0.1 s apart)
        run = get(sandbox_url, "dataProductDelivery/run", dpRequestId=request["dpRequestId"])
        if run.status_code == 200:
            break
        time.sleep(0.1)
    run = run.json()
    count = run[0]["fileCount"]
    assert count >= 4
    indexes = [*range(1, count + 1), "meta"] * 2

    def fetch(index: object) -> int:
        return get(
            sandbox_url, "dataProductDelivery/download", dpRunId=run[0]["dpRunId"], index=index
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(fetch, indexes)) == {200}


# -- the command ---------------------------------------------------------------------------------


def test_add_sandbox_command_wires_a_handler():
    parser = argparse.ArgumentParser(prog="intake-onc")
    add_sandbox_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["sandbox", "--port", "0", "--seed", "3", "--latency-ms", "5", "--fault-rate", "0.1"]
    )
    assert args.handler is run_sandbox
    assert (args.host, args.port, args.token, args.seed, args.latency_ms, args.fault_rate) == (
        "127.0.0.1",
        0,
        SANDBOX_TOKEN,
        3,
        5.0,
        0.1,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_first_line_and_clean_stop(stop_signal):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "intake_onc.sandbox.transport.cli",
            "--port",
            "0",
            "--processing-scale",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline().rstrip("\n")
        match = re.fullmatch(
            r"sandbox: serving Oceans 3\.0 API at (http://127\.0\.0\.1:\d+)", first
        )
        assert match, first
        url = match.group(1)
        assert get(url, "locations", locationCode="FGPD").json()[0]["locationCode"] == "FGPD"
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_bad_knobs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--fault-rate", "3"])
    assert exit_info.value.code == 2
    assert "--fault-rate" in capsys.readouterr().err
