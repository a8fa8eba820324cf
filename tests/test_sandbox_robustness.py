"""Bad input never crashes the sandbox: malformed HTTP gets a JSON 400 (no traceback), absurd
dates ONC's 400, the admin paths need the token, and the CLI refuses bad numbers in one line."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from intake_onc.sandbox import SANDBOX_TOKEN

REPO = Path(__file__).resolve().parents[1]
BAD_TOKEN = {
    "errors": [{"errorCode": 127, "errorMessage": "Invalid parameter value", "parameter": "token"}]
}


@pytest.fixture()
def server(make_sandbox, capfd):
    url = make_sandbox()
    yield url
    # Nothing the tests sent may print a traceback (the handler's or socketserver's).
    err = capfd.readouterr().err
    assert "Traceback" not in err, err


def raw_exchange(url: str, data: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes; ``(status, headers, body)`` of the answer (read until the server closes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        for _ in range(10_000):  # bounded: the server closes after a 400
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.decode("latin-1").partition(":") for line in lines[1:])
    }
    return status, headers, body


def assert_json_400(status: int, headers: dict, body: bytes) -> dict:
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    doc = json.loads(body[: int(headers["content-length"])])
    assert doc["status"] == 400 and doc["message"].startswith("Bad Request")
    return doc


@pytest.mark.parametrize(
    "length",
    ["abc", "-5", "1e3", "99999999999999999999999999", str(10**9)],
    ids=["non-numeric", "negative", "float", "huge", "too-large"],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_bad_content_length_is_a_json_400(server, method, length):
    path = f"/_sandbox/reset?token={SANDBOX_TOKEN}" if method == "POST" else "/api/locations"
    request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    assert_json_400(*raw_exchange(server, request.encode()))
    # The server keeps serving.
    assert requests.get(f"{server}/_sandbox/stats", timeout=30).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        b"/api/locations?token=%zz",
        b"/api/locations?token=%4",
        b"/api/locations?token=%ff%fe",
        b"/api/locations?locationCode=\xff\xfe",
        b"http://[::1/api/locations",
    ],
    ids=["bad-percent", "short-percent", "non-utf8-escaped", "non-utf8-raw", "bad-url"],
)
def test_malformed_targets_are_a_json_400(server, target):
    request = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_json_400(*raw_exchange(server, request))


@pytest.mark.parametrize(
    "request_line",
    [b"GARBAGE", b"GET /api/locations HTTP/x.y", b"GET " + b"/a" * 40_000 + b" HTTP/1.1"],
    ids=["no-verb", "bad-version", "too-long"],
)
def test_bad_request_lines_get_a_json_error(server, request_line):
    status, headers, body = raw_exchange(server, request_line + b"\r\nHost: x\r\n\r\n")
    assert 400 <= status < 500
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["status"] == status


def test_http_client_with_a_body_on_get_still_works(server):
    host, port = server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(
            "GET", f"/api/locations?token={SANDBOX_TOKEN}&locationCode=BACAX", body=b"x" * 10
        )
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())[0]["locationCode"] == "BACAX"
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("date_from", "date_to", "parameter"),
    [
        ("2023-06-01", "P999999999D", "dateTo"),
        ("-P999999999D", None, "dateFrom"),
        ("2023-06-01", "PT99999999999999999S", "dateTo"),
        ("2023-06-01", "P100000D", "dateTo"),
        ("1066-10-14", "2023-06-02", "dateFrom"),
        ("2023-06-01", "9999-12-31", "dateTo"),
    ],
)
@pytest.mark.parametrize("service", ["scalardata/device", "archivefile/device"])
def test_absurd_dates_and_durations_are_oncs_400(server, service, date_from, date_to, parameter):
    device = "SBECTD19p6813" if service.startswith("scalar") else "ICLISTENHF6093"
    params = {"token": SANDBOX_TOKEN, "deviceCode": device, "dateFrom": date_from}
    if date_to is not None:
        params["dateTo"] = date_to
    r = requests.get(f"{server}/api/{service}", params=params, timeout=60)
    assert r.status_code == 400, r.text
    [error] = r.json()["errors"]
    assert error["errorCode"] == 127 and error["parameter"] == parameter
    assert error["errorMessage"]


@pytest.mark.parametrize("path", ["reset", "faults?queue=500"])
@pytest.mark.parametrize("token", [None, "wrong"])
def test_admin_posts_need_the_token(make_sandbox, sandbox_stats, path, token):
    url = make_sandbox()
    server = make_sandbox.server(url)
    requests.get(f"{url}/api/locations", params={"token": SANDBOX_TOKEN}, timeout=30)
    params = {} if token is None else {"token": token}
    r = requests.post(f"{url}/_sandbox/{path}", params=params, timeout=30)
    assert r.status_code == 401 and r.json() == BAD_TOKEN
    assert sandbox_stats(url)["requests"] == 1  # not reset
    assert len(server.faults._forced) == 0  # nothing queued
    ok = requests.post(
        f"{url}/_sandbox/{path}", params={**params, "token": SANDBOX_TOKEN}, timeout=30
    )
    assert ok.status_code == 200
    assert SANDBOX_TOKEN not in r.text and SANDBOX_TOKEN not in ok.text


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--port", "99999"], "--port"),
        (["--port", "-1"], "--port"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--latency-ms", "nan"], "--latency-ms"),
        (["--fault-rate", "1.5"], "--fault-rate"),
        (["--fault-rate", "-0.1"], "--fault-rate"),
        (["--fault-rate", "x"], "--fault-rate"),
        (["--seed", "-3"], "--seed"),
        (["--seed", "1.5"], "--seed"),
        (["--processing-scale", "-1"], "--processing-scale"),
        (["--processing-scale", "inf"], "--processing-scale"),
        (["--product-expiry-s", "-1"], "--product-expiry-s"),
    ],
)
def test_cli_refuses_bad_numbers_in_one_line(argv, needle):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "intake_onc.cli", "sandbox", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    [error] = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert needle in error
