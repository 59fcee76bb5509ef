"""A loopback HTTP server whose answers a test scripts: honest files with ranges, or drops, truncations, lies about
sizes, redirects and loops. Serves on 127.0.0.1 only; ``localhost`` reaches it under another host name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """How one path answers. ``body`` is the file; ``behaviour`` one of: ok, drop (close before any body), truncate
    (send ``cut`` bytes of the body, then close), long_length (Content-Length says more than sent), short_length
    (says less), huge (an endless body without Content-Length), extra (``body`` plus ``cut`` more bytes, honest
    length), ignore_range (200 and the whole body to a Range request), bad_range (206 with a wrong Content-Range),
    always_416, redirect (to ``target``), status (answer ``status`` with no body)."""

    body: bytes = b""
    behaviour: str = "ok"
    cut: int = 0
    target: str = ""
    status: int = 200


@dataclass
class Server:
    base: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _head(self, code: int, length: int | None, extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            if length is not None:
                self.send_header("Content-Length", str(length))
            for k, val in (extra or {}).items():
                self.send_header(k, val)
            self.send_header("Connection", "close")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.close_connection = True
            rng = self.headers.get("Range")
            server.requests.append((self.path, rng))
            route = server.routes.get(self.path)
            if route is None:
                self._head(404, 0)
                return
            body, how = route.body, route.behaviour
            start = int(rng.split("=")[1].split("-")[0]) if rng and how not in ("ignore_range",) else 0
            try:
                if how == "redirect":
                    self._head(302, 0, {"Location": route.target})
                elif how == "status":
                    self._head(route.status, 0)
                elif how == "always_416" or (rng and start >= len(body) and how == "ok"):
                    self._head(416, 0, {"Content-Range": f"bytes */{len(body)}"})
                elif how == "drop":
                    self.wfile.flush()
                    self.connection.close()
                elif how == "huge":
                    self._head(200, None)
                    chunk = b"\0" * 65536
                    for _ in range(100_000):  # ~6.5 GB if nobody stops reading; the client must
                        self.wfile.write(chunk)
                else:
                    part = body[start:]
                    extra = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"} if start else {}
                    code = 206 if start else 200
                    if how == "bad_range" and start:
                        extra = {"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"}
                    if how == "truncate":
                        self._head(code, len(part), extra)
                        self.wfile.write(part[: route.cut])
                    elif how == "long_length":
                        self._head(code, len(part) + route.cut + 1, extra)
                        self.wfile.write(part)
                    elif how == "short_length":
                        self._head(code, max(0, len(part) - route.cut - 1), extra)
                        self.wfile.write(part)
                    elif how == "extra":
                        self._head(code, len(part) + route.cut, extra)
                        self.wfile.write(part + b"x" * route.cut)
                    else:
                        self._head(code, len(part), extra)
                        self.wfile.write(part)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def http_server() -> Iterator[Server]:
    """A scripted server on 127.0.0.1 for the duration of the block."""
    server = Server("", 0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    server.base = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        thread.join(5)
        httpd.server_close()
