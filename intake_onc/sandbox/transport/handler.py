"""The HTTP side of the sandbox: one request in, one answer out.

:class:`Handler` (a :class:`http.server.BaseHTTPRequestHandler`, HTTP/1.1 keep-alive) takes every
``/api/`` request through, in order: the counters, ``latency_ms``, fault injection, the token
check (401), routing (:func:`~intake_onc.sandbox.transport.routes.resolve`), the endpoint, and the answer
(:func:`~intake_onc.sandbox.encoders.json_body.dumps`: JSON with bare ``NaN`` where ONC sends it, or bytes; HEAD gets the headers only).
It also answers the sandbox-only ``/_sandbox/`` paths. :class:`HTTPServer` is the threaded
server a :class:`~intake_onc.sandbox.transport.server.SandboxServer` owns (``.sandbox`` is that owner).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from intake_onc.sandbox.encoders.json_body import dumps
from intake_onc.sandbox.services import wire
from intake_onc.sandbox.services.wire import HttpReply, Query, Reply

if TYPE_CHECKING:  # pragma: no cover
    from intake_onc.sandbox.transport.server import SandboxServer

__all__ = ["HTTPServer", "Handler", "redact"]

_TOKEN_RE = re.compile(r"(token=)[^&\s]*")
#: A ``%`` not followed by two hex digits: invalid percent-encoding.
_BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: The largest request body the sandbox reads (only the ``/_sandbox/`` POSTs take one, empty).
MAX_BODY_BYTES = 64 * 1024


class BadRequest(Exception):
    """A malformed HTTP request: answered 400 with a JSON body, connection closed."""


def redact(text: str) -> str:
    """``text`` with every ``token=...`` value replaced by ``***``."""
    return _TOKEN_RE.sub(r"\1***", text)


# ------------------------------------------------------------------------------------------------
# The server and its request handler
# ------------------------------------------------------------------------------------------------


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (and the faults we inject) are not server errors.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)  # pragma: no cover


class Handler(BaseHTTPRequestHandler):
    """One connection's requests (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    #: Small answers go out at once (Nagle's algorithm would hold each one ~40 ms on keep-alive).
    disable_nagle_algorithm = True
    server_version = "intake-onc-sandbox"
    sys_version = ""
    timeout = 120
    server: HTTPServer

    # -- logging ------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.sandbox.verbose:
            sys.stderr.write("sandbox: " + redact(format % args) + "\n")

    # -- verbs --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self._handle(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(head=True)

    def do_POST(self) -> None:  # noqa: N802
        try:
            self._read_body()
            path, params = self._parse_target()
        except BadRequest as exc:
            self._bad_request(str(exc))
            return
        if path.startswith("/_sandbox/"):
            self._sandbox_path(path, params, head=False)
        else:
            self._send(
                Reply({"message": "Only GET and HEAD are supported."}, 405, {"Allow": "GET, HEAD"}),
                head=False,
            )

    # -- malformed requests -------------------------------------------------------------------
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, header too long, ...): a JSON body
        instead of its HTML page, and the connection closed."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # a request line it could not read: answer 1.1
            self.request_version = "HTTP/1.1"
        try:
            short, _ = self.responses.get(code, ("Error", ""))
        except Exception:  # pragma: no cover - defensive
            short = "Error"
        text = message or short
        body = dumps({"message": f"{short}: {text}" if message else short, "status": code})
        with contextlib.suppress(OSError):
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)

    def _bad_request(self, message: str) -> None:
        self.close_connection = True
        self._send(
            Reply(
                {"message": f"Bad Request: {message}", "status": 400}, 400, {"Connection": "close"}
            ),
            head=self.command == "HEAD",
            count=False,
        )

    def _read_body(self) -> None:
        """Read (and drop) a request body; refuse a bad or oversized ``Content-Length``."""
        if self.headers.get("Transfer-Encoding"):
            raise BadRequest("Transfer-Encoding is not supported; send a Content-Length")
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isdigit() or len(text) > 18:
            raise BadRequest(f"invalid Content-Length: {text[:40]!r}")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise BadRequest(f"request body too large ({length} bytes; at most {MAX_BODY_BYTES})")
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                raise BadRequest("request body shorter than its Content-Length")
            length -= len(chunk)

    def _parse_target(self) -> tuple[str, dict[str, str]]:
        """``(path, params)`` of the request target (first value of a repeated name), or
        :class:`BadRequest` for bad percent-encoding, non-UTF-8 text or an unparsable URL."""
        target = self.path
        try:
            # http.server decodes the request line as ISO-8859-1: get the bytes back.
            target = target.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise BadRequest("the request target is not UTF-8") from None
        try:
            split = urlsplit(target)
        except ValueError as exc:
            raise BadRequest(f"invalid request target ({exc})") from None
        if _BAD_PERCENT_RE.search(split.query) or _BAD_PERCENT_RE.search(split.path):
            raise BadRequest("invalid percent-encoding in the request target")
        try:
            pairs = parse_qsl(
                split.query, keep_blank_values=True, encoding="utf-8", errors="strict"
            )
        except (UnicodeError, ValueError):
            raise BadRequest("the query string is not valid UTF-8") from None
        params: dict[str, str] = {}
        for name, value in pairs:
            params.setdefault(name, value)
        return split.path, params

    # -- main path ----------------------------------------------------------------------------
    def _handle(self, head: bool) -> None:
        sandbox = self.server.sandbox
        try:
            if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
                self._read_body()
            path, params = self._parse_target()
        except BadRequest as exc:
            self._bad_request(str(exc))
            return

        if path.startswith("/_sandbox/"):
            self._sandbox_path(path, params, head)
            return
        if not path.startswith("/api/"):
            self._send(Reply.from_exception(wire.not_found(f"Unknown path: {path}")), head)
            return

        stats = sandbox.stats
        stats.begin(path, self.command)
        try:
            if sandbox.latency_ms > 0:
                stats.incr("delayed")
                time.sleep(sandbox.latency_ms / 1000.0)
            fault = sandbox.faults.decide()
            if fault is not None:
                stats.fault(fault)
                if fault == "reset":
                    self._reset_connection()
                    return
                if fault in ("500", "503", "429"):
                    self._send(self._fault_reply(fault), head)
                    return
            reply = self._dispatch(path, params)
            if fault == "slow":
                time.sleep(sandbox.fault_slow_ms / 1000.0)
            self._send(reply, head, truncate=fault == "truncate")
        finally:
            stats.end()

    def _dispatch(self, path: str, params: dict[str, str]) -> Reply:
        sandbox = self.server.sandbox
        try:
            if params.get("token") != sandbox.token:
                raise wire.bad_token()
            endpoint = sandbox.resolve(path, params)
            host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
            query = Query(params, base_url=f"http://{host}", path=path, now=sandbox.now())
            result = endpoint(query, sandbox)
            return result if isinstance(result, Reply) else Reply(result)
        except HttpReply as exc:
            return Reply.from_exception(exc)
        except Exception as exc:  # a sandbox bug: say so loudly, keep serving
            traceback.print_exc(file=sys.stderr)
            return Reply(
                {
                    "message": f"Sandbox internal error: {type(exc).__name__}: {redact(str(exc))}",
                    "status": "error",
                },
                500,
            )

    def _fault_reply(self, kind: str) -> Reply:
        sandbox = self.server.sandbox
        if kind == "429":
            return Reply(
                {"message": "Too Many Requests (sandbox fault injection)", "status": 429},
                429,
                {"Retry-After": str(sandbox.retry_after_s)},
            )
        if kind == "503":
            return Reply(
                {
                    "message": "Service Unavailable: the server is under maintenance "
                    "(sandbox fault injection)",
                    "status": 503,
                },
                503,
            )
        return Reply(
            {"message": "Internal Server Error (sandbox fault injection)", "status": 500}, 500
        )

    # -- sandbox paths ------------------------------------------------------------------------
    def _sandbox_path(self, path: str, params: dict[str, str], head: bool) -> None:
        sandbox = self.server.sandbox
        name = path[len("/_sandbox/") :].strip("/")
        if self.command == "POST" and params.get("token") != sandbox.token:
            # The paths that change the server (reset, faults) need the token, like /api/;
            # GET /_sandbox/stats stays open (read-only counters and knobs, no secrets).
            self._send(Reply.from_exception(wire.bad_token()), head, count=False)
            return
        if name == "stats":
            body = sandbox.stats.snapshot()
            body["config"] = {
                "seed": sandbox.seed,
                "latency_ms": sandbox.latency_ms,
                "fault_rate": sandbox.fault_rate,
                "fault_kinds": list(sandbox.faults.kinds),
                "processing_scale": sandbox.processing_scale,
                "product_expiry_s": sandbox.product_expiry_s,
            }
            self._send(Reply(body), head, count=False)
        elif name == "events" and self.command in ("GET", "HEAD"):
            from intake_onc.sandbox.services.events import EventQueryError, events

            try:
                body = events(params, seed=sandbox.seed)
            except EventQueryError as exc:
                error = {"errorCode": 127, "errorMessage": str(exc), "parameter": exc.parameter}
                self._send(Reply({"errors": [error]}, 400), head, count=False)
                return
            self._send(Reply(body), head, count=False)
        elif name == "reset" and self.command == "POST":
            sandbox.stats.reset()
            self._send(Reply({"message": "counters reset"}), head, count=False)
        elif name == "faults" and self.command == "POST":
            try:
                kinds = [k.strip() or None for k in params.get("queue", "").split(",") if k.strip()]
                sandbox.faults.queue(*kinds)
            except ValueError as exc:
                self._send(Reply({"message": str(exc)}, 400), head, count=False)
                return
            self._send(Reply({"queued": kinds}), head, count=False)
        else:
            self._send(Reply({"message": f"Unknown sandbox path: {path}"}, 404), head, count=False)

    # -- writing ------------------------------------------------------------------------------
    def _send(
        self, reply: Reply, head: bool, *, truncate: bool = False, count: bool = True
    ) -> None:
        if reply.raw and hasattr(reply.body, "path") and hasattr(reply.body, "size"):
            self._send_file(reply, head, truncate=truncate, count=count)
            return
        if reply.status == 204:
            body = b""
        elif reply.raw:
            body = reply.body if isinstance(reply.body, (bytes, bytearray)) else bytes(reply.body)
        else:
            body = dumps(reply.body)
        headers = dict(reply.headers)
        if not reply.raw:
            headers.setdefault("Content-Type", "application/json;charset=utf-8")
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        payload = b"" if head or not body else body[: len(body) // 2] if truncate else body
        if count:
            # Counted before the answer leaves: a client that reads /_sandbox/stats right after
            # its answer arrives must find it counted (bytes are those handed to the socket).
            self.server.sandbox.stats.answered(reply.status, len(payload))
        self.end_headers()
        if payload:
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        if truncate:
            with contextlib.suppress(OSError):
                self.wfile.flush()

    def _send_file(self, reply: Reply, head: bool, *, truncate: bool, count: bool) -> None:
        """A body on disk (a product's ``FileBody``), copied to the socket in pieces."""
        size = int(reply.body.size)
        try:
            f = open(reply.body.path, "rb")  # noqa: SIM115 - closed below
        except OSError:  # removed by expiry or stop between the checks: gone
            self._send(Reply({"message": "Gone", "status": "gone"}, 410), head, count=count)
            return
        with f:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(size))
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            todo = 0 if head else size // 2 if truncate else size
            if count:
                self.server.sandbox.stats.answered(reply.status, todo)
            self.end_headers()
            try:
                while todo > 0:
                    chunk = f.read(min(todo, 1 << 20))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    todo -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            if truncate:
                with contextlib.suppress(OSError):
                    self.wfile.flush()

    def _reset_connection(self) -> None:
        """Abort the TCP connection (RST), without sending a byte."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            fd = self.connection.detach()
            os.close(fd)
