"""The HTTP core against a tiny scripted server: retries, typed errors, pagination, downloads.

Each test scripts what the server answers (``stub.script(path, reply, reply, ...)``: replies are
used in order, the last one repeats) and checks what the client did. Retry delays are recorded,
not slept, so the tests are fast and make no timing assertions.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_onc.client import (
    AuthError,
    DownloadError,
    InvalidParameterError,
    MissingParameterError,
    NoDataError,
    NotDeployedError,
    NotFoundError,
    ONCClient,
    ONCConnectionError,
    ONCError,
    RateLimitError,
    RestrictedDataError,
    RetryPolicy,
    ServerError,
    UnknownParameterError,
    _http,
)
from intake_onc.client.archive import _overlapping

TOKEN = "5f1c9a2e-7d3b-4c8a-9e1f-0a2b3c4d5e6f"


# -- a scripted HTTP server ---------------------------------------------------------------------
class Reply(dict):
    """What the stub answers: ``status``, ``body`` (bytes/str/JSON-able), ``headers``,
    ``action`` (``"reset"``: drop the connection; ``"short"``: send half the body)."""


def reply(status=200, body=b"", headers=None, action=None):
    return Reply(status=status, body=body, headers=headers or {}, action=action)


class Stub:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def script(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def calls(self, path: str) -> list[dict[str, str]]:
        return [q for p, q in self.requests if p == path]

    def next_reply(self, path: str) -> Reply:
        with self.lock:
            queue = self.routes.get(path)
            if not queue:
                return reply(404, {"message": "no route"})
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(stub: Stub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            try:
                self.answer()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
                self.close_connection = True

        def answer(self):
            parts = urlsplit(self.path)
            with stub.lock:
                stub.requests.append((parts.path, dict(parse_qsl(parts.query))))
            r = stub.next_reply(parts.path)
            body = r["body"]
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            if r["action"] == "sleep":
                time.sleep(0.5)
            if r["action"] == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                self.connection.close()
                self.close_connection = True
                return
            self.send_response(r["status"])
            for key, value in r["headers"].items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if r["action"] == "short":
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def stub():
    s = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    s.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield s
    server.shutdown()
    server.server_close()


@pytest.fixture
def delays(monkeypatch):
    """Record retry delays instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(_http, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def client(stub, tmp_path, delays):
    c = ONCClient(
        token=TOKEN,
        base_url=stub.url,
        timeout=5,
        retries=RetryPolicy(total=3, backoff=0.01),
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    yield c
    c.close()


def onc_error(code, message, parameter, status=400):
    return reply(
        status, {"errors": [{"errorCode": code, "errorMessage": message, "parameter": parameter}]}
    )


# -- retries -----------------------------------------------------------------------------------
def test_server_errors_are_retried_until_an_answer_comes(stub, client, delays):
    stub.script("/api/locations", reply(503), reply(500), reply(200, [{"locationCode": "BACAX"}]))
    frame = client.locations()
    assert frame["locationCode"].tolist() == ["BACAX"]
    assert len(stub.calls("/api/locations")) == 3
    assert len(delays) == 2 and delays[1] > 0


def test_retry_after_is_honoured_on_429(stub, client, delays):
    stub.script("/api/locations", reply(429, headers={"Retry-After": "2"}), reply(200, []))
    client.locations()
    assert len(delays) == 1 and delays[0] >= 2.0  # the tiny backoff would have said ~0.01


def test_backoff_grows_exponentially_with_jitter():
    policy = RetryPolicy(total=5, backoff=1.0, max_backoff=8.0)
    for attempt, cap in enumerate([1, 2, 4, 8, 8]):
        for _ in range(20):
            assert cap / 2 <= policy.delay(attempt) <= cap


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_never_retried(stub, client, delays, status):
    stub.script("/api/deployments", onc_error(127, "Invalid parameter value", "deviceCode", status))
    with pytest.raises(ONCError):
        client._core.get_json("deployments", {"deviceCode": "NOPE"})
    assert len(stub.calls("/api/deployments")) == 1
    assert delays == []


def test_persistent_server_errors_raise_server_error_after_all_retries(stub, client, delays):
    stub.script("/api/locations", reply(503, {"message": "maintenance"}))
    with pytest.raises(ServerError, match="after 3 retries") as info:
        client.locations()
    assert info.value.status_code == 503
    assert len(stub.calls("/api/locations")) == 4


def test_persistent_429_raises_rate_limit_error(stub, client):
    stub.script("/api/locations", reply(429, headers={"Retry-After": "0"}))
    with pytest.raises(RateLimitError):
        client.locations()


def test_dropped_connections_are_retried(stub, client, delays):
    stub.script("/api/locations", reply(action="reset"), reply(200, [{"locationCode": "X"}]))
    assert client.locations()["locationCode"].tolist() == ["X"]
    assert len(delays) == 1


def test_a_json_body_cut_short_is_retried(stub, client, delays):
    body = [{"locationCode": f"L{i}"} for i in range(100)]
    stub.script("/api/locations", reply(200, body, action="short"), reply(200, body))
    assert len(client.locations()) == 100
    assert len(delays) == 1


def test_an_unreachable_server_raises_a_connection_error(tmp_path, delays):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = ONCClient(
        token=TOKEN,
        base_url=f"http://127.0.0.1:{port}",
        retries=2,
        backoff=0.001,
        cache_dir=tmp_path,
    )
    with pytest.raises(ONCConnectionError, match="after 2 retries") as info:
        c.locations()
    assert TOKEN not in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


# -- typed errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply_", "error"),
    [
        (onc_error(127, "Invalid parameter value", "token", 401), AuthError),
        (onc_error(127, "Invalid parameter value", "locationCode"), InvalidParameterError),
        (onc_error(128, "Missing Parameter.", "deviceCode"), MissingParameterError),
        (onc_error(129, "Invalid parameter name", "deviceCodes"), UnknownParameterError),
        (onc_error(96, "No file could be found.", "filename"), NoDataError),
        (
            onc_error(127, "deviceCode: NORTEKADCP9917 has data restricted by ONC", "deviceCode"),
            RestrictedDataError,
        ),
        (reply(404, {"message": "nothing"}), NotFoundError),
    ],
)
def test_onc_errors_become_typed_exceptions(stub, client, reply_, error):
    stub.script("/api/scalardata/device", reply_)
    with pytest.raises(error) as info:
        client._core.get_json("scalardata/device", {"deviceCode": "X"})
    err = info.value
    assert err.status_code == reply_["status"]
    if isinstance(reply_["body"], dict) and "errors" in reply_["body"]:
        first = reply_["body"]["errors"][0]
        assert err.error_code == first["errorCode"]
        assert err.parameter == first["parameter"]
        assert first["errorMessage"] in str(err)
    assert "token=***" in err.url and TOKEN not in repr(err)


def test_not_deployed_errors_list_the_deployments(stub, client):
    message = (
        "The device ICLISTENHF6093 was deployed but not during the provided time range "
        "(20220701T000000.000Z to 20220701T235959.999Z)."
    )
    stub.script("/api/scalardata/device", onc_error(127, message, "deviceCode, dateFrom, dateTo"))
    stub.script(
        "/api/deployments",
        reply(
            200,
            [
                {
                    "deviceCode": "ICLISTENHF6093",
                    "locationCode": "CBCH.H3",
                    "begin": "2021-03-01T00:00:00.000Z",
                    "end": "2022-06-30T00:00:00.000Z",
                },
                {
                    "deviceCode": "ICLISTENHF6093",
                    "locationCode": "CBCH.H3",
                    "begin": "2022-09-01T00:00:00.000Z",
                    "end": None,
                },
            ],
        ),
    )
    with pytest.raises(NotDeployedError) as info:
        client.scalar_data("ICLISTENHF6093", "2022-07-01", "2022-07-02")
    err = info.value
    assert err.error_code == 127
    assert [str(r) for r in err.deployments] == [
        "2021-03-01 – 2022-06-30 at CBCH.H3",
        "2022-09-01 – ongoing at CBCH.H3",
    ]
    assert "2022-09-01 – ongoing" in str(err)


# -- listing pages read column by column ------------------------------------------------------
def listing(n, *, token_in=None, compact=True):
    """An archivefile page as ONC writes it (compact JSON, the token echoed in next/queryUrl)."""
    files = [
        {
            "archivedDate": f"2024-01-01T{i // 12:02d}:{i % 12 * 5:02d}:01.709Z",
            "compression": None,
            "dateFrom": f"2024-01-01T{i // 12:02d}:{i % 12 * 5:02d}:00.000Z",
            "dateTo": f"2024-01-01T{i // 12:02d}:{i % 12 * 5 + 5 - 1:02d}:59.999Z",
            "fileSize": 10**6 + i * 999 if i % 4 else 99_999 + i,
            "filename": f"D_20240101T{i // 12:02d}{i % 12 * 5:02d}00.000Z.flac",
            "uncompressedFileSize": 10**6,
        }
        for i in range(n)
    ]
    if token_in is not None:
        files[token_in]["filename"] = f"D_{TOKEN}.flac"
    doc = {"files": files, "next": None, "queryUrl": f"x?token={TOKEN}"}
    return reply(200, json.dumps(doc, separators=(",", ":") if compact else None))


@pytest.mark.parametrize("compact", [True, False])
def test_a_listing_read_by_columns_is_the_listing_read_by_json(stub, client, monkeypatch, compact):
    stub.script("/api/archivefile/device", listing(200, compact=compact))
    by_columns = client.archive_files("D", "2024-01-01", "2024-01-02")
    monkeypatch.setattr(_http, "loads_with_columns", lambda *args, **kwargs: None)
    by_json = client.archive_files("D", "2024-01-01", "2024-01-02")
    pd.testing.assert_frame_equal(by_columns, by_json)
    assert len(by_columns) == 200 and by_columns["size"].dtype == "int64"


def test_a_listing_cut_short_is_retried(stub, client, delays):
    stub.script("/api/archivefile/device", listing(300), listing(300))
    whole = client.archive_files("D", "2024-01-01", "2024-01-02")
    short = listing(300)
    short["action"] = "short"
    stub.script("/api/archivefile/device", short, listing(300))
    pd.testing.assert_frame_equal(client.archive_files("D", "2024-01-01", "2024-01-02"), whole)
    assert len(delays) == 1


def test_a_token_inside_the_listed_files_is_scrubbed_too(stub, client):
    stub.script("/api/archivefile/device", listing(50, token_in=3))
    files = client.archive_files("D", "2024-01-01", "2024-01-02")
    assert files["filename"].iloc[3] == "D_***.flac"
    assert TOKEN not in files.to_csv()


# -- pagination --------------------------------------------------------------------------------
def test_pagination_follows_next_and_returns_everything(stub, client):
    def page(files, page_no=None):
        nxt = None
        if page_no is not None:
            # ONC echoes every parameter, the token included, in ``next``
            nxt = {
                "parameters": {
                    "deviceCode": "D",
                    "token": TOKEN,
                    "page": str(page_no),
                    "returnOptions": "all",
                    "dateFrom": "2024-01-01T00:00:00.000Z",
                    "dateTo": "2024-01-02T00:00:00.000Z",
                },
                "url": f"{stub.url}/api/archivefile/device?token={TOKEN}&page={page_no}",
            }
        return reply(200, {"files": files, "next": nxt, "queryUrl": f"x?token={TOKEN}"})

    def f(i):
        return {
            "filename": f"D_20240101T{i:02d}0000.000Z.flac",
            "dateFrom": f"2024-01-01T{i:02d}:00:00.000Z",
            "dateTo": f"2024-01-01T{i:02d}:05:00.000Z",
            "fileSize": 10,
            "uncompressedFileSize": 10,
        }

    stub.script("/api/archivefile/device", page([f(1), f(2)], 2), page([f(3)], 3), page([f(4)]))
    files = client.archive_files("D", "2024-01-01", "2024-01-02")
    assert files["filename"].str[2:17].tolist() == [
        "20240101T010000",
        "20240101T020000",
        "20240101T030000",
        "20240101T040000",
    ]
    calls = stub.calls("/api/archivefile/device")
    assert [c.get("page") for c in calls] == [None, "2", "3"]
    assert all(c["token"] == TOKEN for c in calls)  # our token, not the echoed one


def test_a_next_link_that_repeats_stops_with_an_error(stub, client):
    nxt = {"parameters": {"deviceCode": "D", "page": "2"}}
    stub.script("/api/archivefile/device", reply(200, {"files": [], "next": nxt}))
    with pytest.raises(ONCError, match="repeats"):
        client._core.get_all_pages("archivefile/device", {"deviceCode": "D"}, lambda a, b: None)


def test_scalar_pages_are_merged_sensor_by_sensor(stub, client):
    def sensor(code, times):
        return {
            "sensorCode": code,
            "actualSamples": len(times),
            "data": {
                "sampleTimes": times,
                "values": [1.0] * len(times),
                "qaqcFlags": [1] * len(times),
            },
        }

    nxt = {
        "parameters": {
            "deviceCode": "C",
            "dateFrom": "2024-01-01T00:00:02.000Z",
            "dateTo": "2024-01-01T01:00:00.000Z",
            "token": TOKEN,
        }
    }
    stub.script(
        "/api/scalardata/device",
        reply(200, {"sensorData": [sensor("t", ["a", "b"]), sensor("p", ["a"])], "next": nxt}),
        reply(200, {"sensorData": [sensor("t", ["c"]), sensor("s", ["c"])], "next": None}),
    )
    data = client.scalar_data("C", "2024-01-01", "2024-01-01T01:00")
    by = {s["sensorCode"]: s for s in data["sensorData"]}
    assert by["t"]["data"]["sampleTimes"] == ["a", "b", "c"] and by["t"]["actualSamples"] == 3
    assert by["p"]["data"]["sampleTimes"] == ["a"]
    assert by["s"]["data"]["sampleTimes"] == ["c"]
    assert data["next"] is None


def test_scalar_data_null_becomes_an_empty_list(stub, client):
    stub.script("/api/scalardata/device", reply(200, {"sensorData": None, "next": None}))
    assert client.scalar_data("C", "2024-01-01", "2024-01-02")["sensorData"] == []


# -- downloads ---------------------------------------------------------------------------------
PAYLOAD = bytes(range(256)) * 400


def test_a_download_cut_short_is_retried_and_never_left_partial(stub, client, tmp_path):
    name = "D_20240101T000000.000Z.flac"
    stub.script(
        "/api/archivefile/download",
        reply(200, PAYLOAD, action="short"),
        reply(503),
        reply(200, PAYLOAD, {"Content-Disposition": f"attachment; filename={name}"}),
    )
    path = client.download(name)
    assert path.read_bytes() == PAYLOAD
    assert not list(path.parent.glob("*.part"))


def test_a_download_that_never_completes_leaves_no_file(stub, client):
    name = "D_20240101T000000.000Z.flac"
    stub.script("/api/archivefile/download", reply(200, PAYLOAD, action="short"))
    with pytest.raises(DownloadError) as info:
        client.download(name)
    assert TOKEN not in str(info.value)
    folder = client.cache.archive_path(client._core.host_key, name).parent
    assert list(folder.iterdir()) == []


def test_a_download_of_the_wrong_size_is_retried(stub, client):
    name = "D_20240101T000000.000Z.flac"
    stub.script(
        "/api/archivefile/device",
        reply(
            200,
            {
                "files": [
                    {
                        "filename": name,
                        "dateFrom": "2024-01-01T00:00:00.000Z",
                        "dateTo": "2024-01-01T00:05:00.000Z",
                        "fileSize": len(PAYLOAD),
                        "uncompressedFileSize": len(PAYLOAD),
                    }
                ],
                "next": None,
            },
        ),
    )
    stub.script("/api/archivefile/download", reply(200, PAYLOAD[:-1]), reply(200, PAYLOAD))
    files = client.archive_files("D", "2024-01-01", "2024-01-01T00:05")
    summary = client.download_files(files)
    assert summary.ok and summary.downloaded == 1
    assert summary.paths[0].read_bytes() == PAYLOAD


def test_present_files_are_not_downloaded_again(stub, client):
    name = "D_20240101T000000.000Z.flac"
    stub.script("/api/archivefile/download", reply(200, PAYLOAD))
    first = client.download_files([name])
    second = client.download_files([name])
    assert (first.downloaded, second.downloaded, second.cached) == (1, 0, 1)
    assert len(stub.calls("/api/archivefile/download")) == 1


def test_failed_files_are_reported_not_fatal(stub, client):
    stub.script("/api/archivefile/download", onc_error(96, "No file could be found.", "filename"))
    summary = client.download_files(["A_20240101T000000.000Z.flac", "B_20240101T000000.000Z.flac"])
    assert summary.files == 2 and len(summary.errors) == 2
    assert isinstance(summary.errors[0][1], NoDataError)
    with pytest.raises(DownloadError):
        summary.raise_for_errors()


# -- the token never shows ---------------------------------------------------------------------
def test_the_token_is_in_the_request_and_nowhere_else(stub, client, caplog):
    stub.script(
        "/api/locations",
        reply(503),
        reply(200, {"message": f"echo token={TOKEN}"}, action=None),
    )
    stub.script("/api/deployments", onc_error(127, f"Invalid token {TOKEN}", "token", 401))
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client._core.get_json("locations", {})
        with pytest.raises(AuthError) as info:
            client.deployments(device_code="X")
    assert stub.calls("/api/locations")[0]["token"] == TOKEN
    err = info.value
    texts = [str(err), repr(err), err.url, err.message, str(err.errors), repr(client)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(w.message) for w in caught]
    assert any("urllib3" in r.name for r in caplog.records)  # urllib3 did log the request line
    assert all(TOKEN not in t for t in texts)


def test_messages_from_onc_become_warnings(stub, client):
    stub.script(
        "/api/dataProducts", reply(200, {"messages": ["Default values were used"], "next": None})
    )
    with pytest.warns(UserWarning, match="Default values were used"):
        client._core.get_json("dataProducts", {})


def test_responses_are_scrubbed_of_the_token_before_parsing(stub, client):
    stub.script(
        "/api/dataProductDelivery/request",
        reply(
            200,
            {
                "dpRequestId": 1,
                "queryURL": f"https://x/api?token={TOKEN}",
                "next": {"parameters": {"token": TOKEN}},
            },
        ),
    )
    data = client._core.get_json("dataProductDelivery/request", {})
    assert TOKEN not in json.dumps(data)
    assert data["queryURL"].endswith("token=***")


def test_the_files_written_hold_no_token(stub, client):
    name = "D_20240101T000000.000Z.flac"
    stub.script("/api/archivefile/download", reply(200, PAYLOAD))
    client.download(name)
    for path in Path(client.cache.root).rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes()
            assert TOKEN not in str(path)


ERROR_PATHS = {
    "400 invalid value": [onc_error(127, f"Invalid value {TOKEN}", "deviceCode")],
    "400 not deployed": [onc_error(127, "was deployed but not during the range", "deviceCode")],
    "400 restricted": [onc_error(127, "has data restricted by ONC", "deviceCode")],
    "400 missing": [onc_error(128, "Missing Parameter.", "dpo_qualityControl")],
    "400 unknown": [onc_error(129, "Invalid parameter name", "deviceCodes")],
    "400 no file": [onc_error(96, "No file could be found.", "filename")],
    "400 without errors": [reply(400, {"message": f"cancelled ?token={TOKEN}"})],
    "401 bad token": [onc_error(127, "Invalid parameter value", "token", 401)],
    "403": [reply(403, "forbidden")],
    "404": [reply(404, {"message": "not found"})],
    "410": [reply(410, {"message": "gone"})],
    "429 forever": [reply(429, headers={"Retry-After": "0"})],
    "500 forever": [reply(500, {"message": f"boom token={TOKEN}"})],
    "503 forever": [reply(503)],
    "connection reset": [reply(action="reset")],
    "body cut short": [reply(200, PAYLOAD, action="short")],
    "read timeout": [reply(200, b"{}", action="sleep")],
}


@pytest.mark.parametrize("path", sorted(ERROR_PATHS))
def test_no_error_path_leaks_the_token(stub, tmp_path, delays, caplog, path):
    """Exceptions (text, repr, attributes, chained tracebacks), logs, warnings, files."""
    caplog.set_level(logging.DEBUG)
    stub.script("/api/archivefile/download", *ERROR_PATHS[path])
    stub.script("/api/deployments", reply(200, []))
    with (
        ONCClient(
            token=TOKEN,
            base_url=stub.url,
            timeout=0.2,
            retries=2,
            backoff=0.001,
            cache_dir=tmp_path,
            progress=False,
        ) as client,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        with pytest.raises(ONCError) as info:
            client.download("D_20240101T000000.000Z.flac")
        summary = client.download_files(["D_20240101T000000.000Z.flac"])
    err = info.value
    texts = [
        "".join(traceback.format_exception(err)),
        repr(err),
        repr(vars(err)),
        str(summary),
        repr(summary),
        repr(client),
    ]
    texts += [r.getMessage() for r in caplog.records] + [str(w.message) for w in caught]
    texts += [str(p) + p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    assert stub.calls("/api/archivefile/download")[0]["token"] == TOKEN
    for text in texts:
        assert TOKEN not in text


# -- archive trimming, as a property -----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    spans=st.lists(st.tuples(st.integers(0, 100), st.integers(1, 30)), max_size=20),
    window=st.tuples(st.integers(0, 120), st.integers(1, 60)),
)
def test_trimming_keeps_exactly_the_files_that_overlap(spans, window):
    t0 = pd.Timestamp("2024-01-01")
    frame = pd.DataFrame(
        {
            "filename": [f"f{i}" for i in range(len(spans))],
            "start": [t0 + pd.Timedelta(minutes=s) for s, _ in spans],
            "end": [t0 + pd.Timedelta(minutes=s + d) for s, d in spans],
        }
    ).astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})
    start = t0 + pd.Timedelta(minutes=window[0])
    end = start + pd.Timedelta(minutes=window[1])
    kept = set(_overlapping(frame, start, end)["filename"])
    expected = {
        f"f{i}" for i, (s, d) in enumerate(spans) if s < window[0] + window[1] and s + d > window[0]
    }
    assert kept == expected
