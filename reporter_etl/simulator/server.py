"""The simulator's HTTP layer: every legacy Reporter API operation over real HTTP/1.1 with keep-alive.

Here: routing, auth, faults, the wire (one write per response, keep-alive), masking the token in logs, and the
`Simulator` lifecycle. Elsewhere: the operation table (operations.py) that drives everything, reading parameters
and bodies (http_params.py), the operations beyond a single World call (handlers.py), report files (reports.py),
and data, filter semantics and rendering (world.py).

Paths: ``/api/reporter/p/{token}/...`` and ``/reporter/p/{token}/...`` (the API), ``/reporter/files/{id}/{name}``
(report downloads, no token), ``/_simulator/...`` (admin: health, advance, faults; no token, local use only).
"""

from __future__ import annotations

import contextlib
import email.utils
import hmac
import logging
import re
import select
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from reporter_etl.simulator import operations as ops
from reporter_etl.simulator.faults import NO_FAULT, FaultConfig, FaultDecision, FaultInjector, html_error_page
from reporter_etl.simulator.handlers import Api, ApiRequest, drift_window, error_args
from reporter_etl.simulator.http_params import (
    MAX_PAGE_SIZE,
    ApiError,
    bad_request,
    format_api_datetime,
    parse_api_datetime,
    parse_body,
    parse_params,
)
from reporter_etl.simulator.reports import BadReportRequest, ReportStore
from reporter_etl.simulator.world import FilterError, NotFound, World, WorldConfig

__all__ = ["MAX_PAGE_SIZE", "Simulator", "SimulatorApp", "format_api_datetime", "parse_api_datetime"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
SERVER_NAME = "reporter-etl-simulator"

_API_PATH = re.compile(r"^(?:/api)?/reporter/p/([^/]+)(/[^?]*)$")
_FILE_PATH = re.compile(r"^/reporter/files/([^/]+)/([^/]+)$")
_TOKEN_IN_TEXT = re.compile(r"(/p/)[^/?\s\"']+")
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


# ------------------------------------------------------------------------------------------------ HTTP


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, orjson.dumps(payload, option=_JSON_OPTIONS))


def error_response(err: ApiError) -> Response:
    return Response(err.status, orjson.dumps(err.body(), option=_JSON_OPTIONS), headers=dict(err.headers))


ADMIN_METHODS = {"/_simulator/health": ["GET"], "/_simulator/advance": ["POST"],
                 "/_simulator/faults": ["GET", "POST", "PUT"]}  # fmt: skip


def method_not_allowed(method: str, allowed: list[str]) -> ApiError:
    return ApiError(405, "reporter.request.method_not_allowed",
                    f"method {method} is not allowed on this path; allowed: {', '.join(allowed)}",
                    {"method": method}, headers={"Allow": ", ".join(allowed)})  # fmt: skip


class SimulatorApp:
    """State shared by all connections: the World, the token, report tasks and faults."""

    def __init__(self, world: World, token: str, faults: FaultConfig | None = None, report_polls: int = 2) -> None:
        if not token:
            raise ValueError("the simulator needs a non-empty token")
        self.world = world
        self._token = token.encode()
        self.reports = ReportStore(seed=world.config.seed, account_id=world.account_id,
                                   project_short_name=world.project_short_name, polls_to_complete=report_polls)
        self.api = Api(world, self.reports)
        self.injector = FaultInjector(faults)

    def __repr__(self) -> str:
        return f"SimulatorApp(project={self.world.project_short_name!r}, token=***)"

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(unquote(candidate).encode(), self._token)

    def mask(self, text: str) -> str:
        """`text` with any token-looking path segment (and the token itself) replaced by ***."""
        text = _TOKEN_IN_TEXT.sub(r"\1***", text)
        token = self._token.decode()
        return text.replace(token, "***") if len(token) >= 6 else text


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a reverse DNS lookup that can stall; not needed here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def close_connections(self) -> None:
        """Close idle keep-alive connections so their threads end (shutdown() only stops accepting)."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        peer = client_address[0] if client_address else "?"
        if isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away (killed, timed out): normal
            logger.debug("client %s closed the connection", peer)
            return
        logger.exception("simulator connection error from %s", peer)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600  # idle keep-alive connections are closed after this many seconds
    server_version = SERVER_NAME
    sys_version = ""
    server: SimulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write, but responses must not wait on Nagle with keep-alive clients.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    # ---- logging: never the token

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the stdlib's signature)
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s %s", self.client_address[0], self.server.app.mask(format % args))

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.warning("%s %s", self.client_address[0], self.server.app.mask(format % args))

    # ---- dispatch

    def do_GET(self) -> None:  # noqa: N802  (the stdlib's naming)
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        # The stdlib answers a method without a do_<METHOD> with 501 and an HTML page; the platform's framework
        # answers 405 with an Allow header and its JSON error, so every other method goes through dispatch too.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (a malformed request line, oversized headers) in the API's JSON shape."""
        self.close_connection = True
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "error"
        err = ApiError(code, "reporter.request.malformed", self.server.app.mask(message or phrase))
        with contextlib.suppress(OSError):
            self._send(error_response(err))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ApiError(413, "reporter.request.body_too_large", "the request body is too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise ApiError(400, "reporter.request.bad_content_length", "Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            raise ApiError(413, "reporter.request.body_too_large", "the request body is too large")
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        app = self.server.app
        try:
            raw_body = self._read_body()
        except ApiError as err:
            self.close_connection = True
            self._send(error_response(err))
            return
        url = urlsplit(self.path)
        path = url.path
        try:
            if path.startswith("/_simulator/"):
                self._serve_admin(path, url.query, raw_body)
                return
            file_match = _FILE_PATH.match(path)
            if file_match:
                self._serve_file(file_match.group(1), unquote(file_match.group(2)))
                return
            api_match = _API_PATH.match(path)
            if not api_match:
                raise ApiError(404, "reporter.request.unknown_path", "no such path", {"path": app.mask(path)})
            if not app.token_matches(api_match.group(1)):
                raise ApiError(401, "reporter.auth.invalid_token", "the API token is not valid")
            self._serve_api(api_match.group(2), url.query, raw_body)
        except ApiError as err:
            self._send(error_response(err))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            logger.exception("simulator request failed: %s", app.mask(self.requestline))
            self._send(error_response(ApiError(500, "reporter.internal.error", "internal error")))

    def _serve_api(self, relative_path: str, query_text: str, raw_body: bytes) -> None:
        app = self.server.app
        op, path_params, path_known = ops.match(self.command, relative_path)
        if op is None:
            if path_known:
                raise method_not_allowed(self.command, ops.allowed_methods(relative_path))
            raise ApiError(404, "reporter.request.unknown_path", "no such path",
                           {"path": app.mask(relative_path)})  # fmt: skip
        fault = app.injector.decide() if app.injector.applies_to(op.operation_id) else NO_FAULT
        if fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault.kind in ("rate_limit", "server_error", "html", "drop", "hang"):
            self._send_fault(fault)
            return
        params = parse_params(op, parse_qs(query_text, keep_blank_values=True), self.headers, path_params)
        body = parse_body(op, raw_body)
        req = ApiRequest(op, params, body, fault)
        world = app.world
        with world.lock:
            if fault.drift and op.paged and params.get("page", 0) > 0:
                start, end = drift_window(world, req.filters)
                released = world.release_delayed(start, end, app.injector.config.drift_rows)
                logger.debug("drift fault released %d held-back messages", released)
            response = self._call(req)
        if fault.kind == "drop_mid_body":
            self._send_truncated(response)
            return
        self._send(response)

    def _call(self, req: ApiRequest) -> Response:
        try:
            result = self.server.app.api.call(req)
        except (FilterError, NotFound, BadReportRequest) as exc:
            status = 404 if isinstance(exc, NotFound) else 400
            return error_response(ApiError(status, exc.error, exc.message, error_args(exc)))
        except ApiError as err:
            return error_response(err)
        except NotImplementedError as exc:
            return error_response(ApiError(501, "reporter.simulator.not_implemented",
                                           f"the simulated World does not implement {exc}"))  # fmt: skip
        except Exception:
            logger.exception("simulator handler %s failed", req.op.operation_id)
            return error_response(ApiError(500, "reporter.internal.error", "internal error"))
        kind = req.op.response
        if kind == "empty":
            return Response(200, b"", None)
        # `text` operations: the spec declares application/json with a string schema, so a JSON string it is.
        return json_response(200, result)

    # ---- admin and files

    def _serve_admin(self, path: str, query_text: str, raw_body: bytes) -> None:
        app = self.server.app
        if app.injector.applies_to(None, admin=True):
            fault = app.injector.decide()
            if fault.kind is not None:
                self._send_fault(fault)
                return
        world = app.world
        query = parse_qs(query_text)
        if path == "/_simulator/health" and self.command == "GET":
            with world.lock:
                payload = {"status": "ok", "projectShortName": world.project_short_name, "version": world.version,
                           "start": format_api_datetime(world.start), "end": format_api_datetime(world.end),
                           "now": format_api_datetime(world.now)}  # fmt: skip
            self._send(json_response(200, payload))
        elif path == "/_simulator/advance" and self.command == "POST":
            try:
                delta = timedelta(days=float(query.get("days", ["0"])[-1]), hours=float(query.get("hours", ["0"])[-1]),
                                  minutes=float(query.get("minutes", ["0"])[-1]))  # fmt: skip
            except ValueError:
                raise bad_request("invalid_param", "days, hours and minutes must be numbers") from None
            if delta < timedelta(0):
                raise bad_request("invalid_param", "the clock only moves forward")
            with world.lock:
                world.advance(delta)
                payload = {"now": format_api_datetime(world.now), "version": world.version}
            self._send(json_response(200, payload))
        elif path == "/_simulator/faults" and self.command == "GET":
            self._send(json_response(200, {**app.injector.config.to_dict(), "counts": dict(app.injector.counts)}))
        elif path == "/_simulator/faults" and self.command in ("PUT", "POST"):
            try:
                data = orjson.loads(raw_body or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("the body must be a JSON object of fault settings")
                app.injector = FaultInjector(FaultConfig.from_dict(data))
            except (ValueError, TypeError) as exc:
                raise bad_request("invalid_body", str(exc)) from None
            self._send(json_response(200, app.injector.config.to_dict()))
        else:
            if path in ADMIN_METHODS:
                raise method_not_allowed(self.command, ADMIN_METHODS[path])
            raise ApiError(404, "reporter.request.unknown_path", "no such admin path", {"path": path})

    def _serve_file(self, file_id: str, file_name: str) -> None:
        app = self.server.app
        if self.command != "GET":
            raise method_not_allowed(self.command, ["GET"])
        if app.injector.applies_to(None, download=True):
            fault = app.injector.decide()
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            if fault.kind in ("rate_limit", "server_error", "html", "drop", "hang"):
                self._send_fault(fault)
                return
        found = app.reports.file(file_id, file_name)
        if found is None:
            raise ApiError(404, "reporter.report.file_not_found", "no report file here")
        content, content_type = found
        response = Response(200, content, content_type,
                            {"Content-Disposition": f'attachment; filename="{file_name}"'})  # fmt: skip
        self._send(response)

    # ---- writing responses

    def _head(self, response: Response, content_length: int) -> bytes:
        reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        lines = [f"HTTP/1.1 {response.status} {reason}", f"Server: {SERVER_NAME}",
                 f"Date: {email.utils.formatdate(usegmt=True)}", f"Content-Length: {content_length}"]  # fmt: skip
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{k}: {v}" for k, v in response.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, response: Response) -> None:
        if response.headers.get("Connection") == "close":
            self.close_connection = True
        body = b"" if self.command == "HEAD" else response.body
        self.wfile.write(self._head(response, len(response.body)) + body)
        self.log_request(response.status, len(response.body))

    def _send_truncated(self, response: Response) -> None:
        self.close_connection = True
        head = self._head(response, len(response.body))
        self.wfile.write(head + response.body[: len(response.body) // 2])
        self.wfile.flush()
        self._abort()
        self.log_message('"%s" %s (fault: dropped mid-body)', self.requestline, response.status)

    def _abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _hang(self) -> None:
        """Answer nothing: hold the connection until the client closes it, the simulator stops, or hang_seconds."""
        deadline = time.monotonic() + self.server.app.injector.config.hang_seconds
        conn = self.connection
        while time.monotonic() < deadline:
            readable, _, _ = select.select([conn], [], [], 0.2)
            if not readable:
                continue
            try:
                if not conn.recv(1, socket.MSG_PEEK):
                    break  # the client gave up (or stop() shut the connection)
            except OSError:
                break
            time.sleep(0.2)  # a pipelined request waits too
        self._abort()

    def _send_fault(self, fault: FaultDecision) -> None:
        if fault.kind == "hang":
            self.log_message('"%s" (fault: never answered)', self.requestline)
            self._hang()
            return
        if fault.kind == "drop":
            self._abort()
            self.log_message('"%s" (fault: connection dropped)', self.requestline)
            return
        if fault.kind == "rate_limit":
            retry_after = str(self.server.app.injector.config.retry_after_seconds)
            err = ApiError(429, "reporter.rate_limit.exceeded", "too many requests", {"retryAfter": retry_after},
                           headers={"Retry-After": retry_after})  # fmt: skip
            self._send(error_response(err))
        elif fault.kind == "server_error":
            phrase = HTTPStatus(fault.status).phrase
            self._send(error_response(ApiError(fault.status, "reporter.internal.error", phrase)))
        else:  # html
            page = html_error_page(fault.status, "Bad Gateway")
            self._send(Response(fault.status, page, "text/html"))


# ------------------------------------------------------------------------------------------------ lifecycle


class Simulator:
    """The simulated Reporter API served on 127.0.0.1 in a background thread (a free port by default).

        with Simulator(WorldConfig(seed=1, days=3, messages_per_day=50), token="t") as sim:
            requests.post(f"{sim.base_url}/api/reporter/p/t/messages/filter", json={})
            sim.faults = FaultConfig(seed=1, rate_limit=0.1)   # per run; the fault sequence restarts
            sim.advance(hours=6)                              # or POST {base_url}/_simulator/advance?hours=6

    `world` may be a WorldConfig (built on start) or a ready World (shared, e.g. by benchmarks).
    """

    def __init__(self, world: WorldConfig | World | None = None, *, token: str = "demo-token",
                 faults: FaultConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 report_polls: int = 2) -> None:  # fmt: skip
        self._world_or_config = world if world is not None else WorldConfig()
        self._token = token
        self._initial_faults = faults
        self._host = host
        self._port = port
        self._report_polls = report_polls
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._server else "not started"
        return f"Simulator({where}, token=***)"

    # lifecycle
    def start(self) -> Simulator:
        if self._server is not None:
            return self
        self._bind()
        assert self._server is not None
        # stop() waits for the serving loop's next poll: 10 ms, not 0.1 s, for each of the many simulators a test
        # suite starts and stops (an idle poll costs one select call).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="reporter-simulator", daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def _bind(self) -> None:
        source = self._world_or_config
        world = source if isinstance(source, World) else World(source)
        app = SimulatorApp(world, self._token, self._initial_faults, self._report_polls)
        self._server = SimulatorHTTPServer((self._host, self._port), app)
        app.reports.base_url = self.base_url
        logger.info("simulator listening on %s", self.base_url)

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._close()

    def _close(self) -> None:
        server = self._server
        if server is None:
            return
        server.close_connections()
        server.server_close()
        self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # access
    @property
    def app(self) -> SimulatorApp:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return self._server.app

    @property
    def world(self) -> World:
        return self.app.world

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The API root including the token (keep it out of logs)."""
        return f"{self.base_url}/api/reporter/p/{self._token}"

    @property
    def faults(self) -> FaultConfig:
        return self.app.injector.config if self._server else (self._initial_faults or FaultConfig())

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        """A new fault configuration; its seeded sequence starts afresh."""
        self._initial_faults = config
        if self._server is not None:
            self._server.app.injector = FaultInjector(config)

    @property
    def fault_counts(self) -> dict[str, int]:
        return dict(self.app.injector.counts)

    def advance(self, delta: timedelta | None = None, *, days: float = 0, hours: float = 0,
                minutes: float = 0) -> None:  # fmt: skip
        """Move the World's clock forward (new messages, late labels, released held-back rows)."""
        step = delta if delta is not None else timedelta(days=days, hours=hours, minutes=minutes)
        with self.world.lock:
            self.world.advance(step)
