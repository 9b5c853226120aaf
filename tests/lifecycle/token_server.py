"""A rotating OAuth 2.0 token endpoint on loopback, for tests that run Patchbay in other
processes (the worker, gunicorn): it answers every refresh with new tokens and a new
refresh token, counts each refresh token presented, and refuses one presented twice
(``invalid_grant``), as a rotating provider does. A refresh token in ``presented`` more
than once is a token refreshed twice."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class TokenServer:
    url: str = ""
    delay: float = 0.0
    presented: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def calls(self) -> int:
        with self.lock:
            return sum(self.presented.values())

    def twice(self) -> list[str]:
        with self.lock:
            return [token for token, count in self.presented.items() if count > 1]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        tokens = self.server.tokens
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        presented = form.get("refresh_token", [""])[0]
        with tokens.lock:
            tokens.presented[presented] += 1
            first = tokens.presented[presented] == 1
            n = next(tokens.numbers)
        if tokens.delay:
            time.sleep(tokens.delay)
        if form.get("grant_type") == ["refresh_token"] and first:
            status = 200
            body = {"access_token": f"p-at-{n}", "refresh_token": f"p-rt-{n}", "expires_in": 3600}
        else:
            status, body = 400, {"error": "invalid_grant"}
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    tokens: TokenServer


@contextmanager
def token_server(*, delay: float = 0.0) -> Iterator[TokenServer]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    tokens = TokenServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/token", delay=delay)
    httpd.tokens = tokens
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield tokens
    finally:
        httpd.shutdown()
        httpd.server_close()
