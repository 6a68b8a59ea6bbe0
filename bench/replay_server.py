"""A replay of the simulator: serves responses recorded earlier from memory, so a benchmark measures the client.

While recording, every request it has not seen is forwarded to ``--upstream`` (the simulator) and its response
kept under a request key: method, path, the query's parameters in sorted order, the headers the API defines as
parameters, and the JSON body re-serialised with sorted keys (dlt and reporter-etl write the same filters with
different spacing and key order).  ``POST /_replay/freeze`` stops forwarding: from then on an unknown request is
answered 502 and counted, so a benchmark can check that the replay answered every request itself.

    python bench/replay_server.py --upstream http://127.0.0.1:8123      # prints "serving http://127.0.0.1:PORT"
    GET  /_replay/stats   -> {"entries", "bytes", "hits", "misses", "forwarded", "frozen"}
    POST /_replay/freeze

Not a benchmark itself.  Built on http.server (threaded, HTTP/1.1 keep-alive, one write per response): the
Python work per request is a header parse and a dict lookup; the body goes out by one ``sendall`` without the GIL.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import orjson

# Request headers that carry API parameters (the rest, e.g. User-Agent, differ between clients and mean nothing).
KEY_HEADERS = ("timezone", "authorization")
Key = tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], bytes]


def request_key(method: str, target: str, headers: dict[str, str], body: bytes) -> Key:
    parts = urlsplit(target)
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    picked = tuple(sorted((name, headers[name]) for name in KEY_HEADERS if name in headers))
    if body:
        with contextlib.suppress(orjson.JSONDecodeError):
            body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    return method, parts.path, query, picked, body


class Recorded:
    def __init__(self, status: int, content_type: str | None, body: bytes) -> None:
        head = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Status')}", "Server: replay",
                f"Content-Length: {len(body)}"]  # fmt: skip
        if content_type:
            head.append(f"Content-Type: {content_type}")
        self.wire = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        self.size = len(body)


class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], upstream: str | None) -> None:
        super().__init__(address, ReplayHandler)
        self.upstream = urlsplit(upstream) if upstream else None
        self.store: dict[Key, Recorded] = {}
        self.lock = threading.Lock()
        self.frozen = upstream is None
        self.hits = self.misses = self.forwarded = 0
        self._local = threading.local()

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Recorded:
        assert self.upstream is not None
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                                                 timeout=600)  # fmt: skip
        sent = {k: v for k, v in headers.items() if k not in ("host", "connection", "content-length")}
        conn.request(method, target, body=body or None, headers=sent)
        response = conn.getresponse()
        return Recorded(response.status, response.getheader("Content-Type"), response.read())


class ReplayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ReplayServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (the base class's name)
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.server
        if self.path.startswith("/_replay/"):
            self._admin()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        key = request_key(self.command, self.path, headers, body)
        recorded = server.store.get(key)
        if recorded is not None:
            server.hits += 1  # a lost increment under a race only blurs a statistic
        elif server.frozen:
            with server.lock:
                server.misses += 1
            recorded = Recorded(502, "application/json", b'{"error":"replay.miss","message":"not recorded"}')
        else:
            recorded = server.forward(self.command, self.path, headers, body)
            with server.lock:
                server.store[key] = recorded
                server.forwarded += 1
        self.wfile.write(recorded.wire)

    def _admin(self) -> None:
        server = self.server
        if self.path == "/_replay/freeze":
            server.frozen = True
        stats = {"entries": len(server.store), "bytes": sum(r.size for r in server.store.values()),
                 "hits": server.hits, "misses": server.misses, "forwarded": server.forwarded,
                 "frozen": server.frozen}  # fmt: skip
        self.wfile.write(Recorded(200, "application/json", orjson.dumps(stats)).wire)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", default=None, help="record from this server (else serve nothing: frozen)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ReplayServer(("127.0.0.1", args.port), args.upstream)
    print(f"serving http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
