"""A real API on loopback that checks credentials itself, for verification tests: it wants
``X-Api-Key: <key>`` (or HTTP Basic ``user:<password>``) on ``/v1/me``, and answers a
refusal with a body that looks secret, which must never leave Patchbay's logs or answers."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REFUSAL_BODY = "upstream-says-secret-7c1e: your key sk_live_9x was wrong"


@dataclass
class Upstream:
    url: str = ""
    key: str = "good-key-0f3a9b"
    password: str = "good-password-4d2e"
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    status_when_good: int = 200


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        upstream = self.server.upstream
        headers = {k.lower(): v for k, v in self.headers.items()}
        upstream.seen.append((self.command, self.path, headers))
        length = int(headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        good_basic = "Basic " + base64.b64encode(f"user:{upstream.password}".encode()).decode()
        ok = headers.get("x-api-key") == upstream.key or headers.get("authorization") == good_basic
        if self.path.split("?")[0] != "/v1/me":
            status, body = 404, b'{"error": "not_found"}'
        elif ok:
            status, body = upstream.status_when_good, json.dumps({"user": "ada"}).encode()
        else:
            status, body = 401, json.dumps({"error": REFUSAL_BODY}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: Upstream


@contextmanager
def upstream_server() -> Iterator[Upstream]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    upstream = Upstream(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.upstream = upstream
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        httpd.shutdown()
        httpd.server_close()
