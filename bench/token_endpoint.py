#!/usr/bin/env python
"""A fast OAuth 2.0 token endpoint on loopback, in a process of its own, for ``bench/worker.py``
and ``bench/stampede.py``.

    python bench/token_endpoint.py --port 8123 [--delay-ms 200]

``POST /token`` with ``grant_type=refresh_token`` answers new tokens and a new refresh
token, like a rotating provider, after ``--delay-ms``. A refresh token presented a second
time is a token refreshed twice: it is counted as a duplicate and refused
(``invalid_grant``), as a rotating provider would. ``GET /stats`` answers
``{"calls": n, "duplicates": n}``. asyncio and a hand-written HTTP/1.1 parser, so that
the endpoint costs the machine little next to what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import subprocess
import sys
import time
from urllib.parse import parse_qs


class Endpoint:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.duplicates = 0
        self.seen: set[str] = set()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method == "GET" and path == "/stats":
            return 200, json.dumps({"calls": self.calls, "duplicates": self.duplicates}).encode()
        form = parse_qs(body.decode())
        if form.get("grant_type", [""])[0] != "refresh_token":
            return 400, b'{"error": "unsupported_grant_type"}'
        presented = form.get("refresh_token", [""])[0]
        self.calls += 1
        if presented in self.seen:
            self.duplicates += 1
            return 400, b'{"error": "invalid_grant"}'
        self.seen.add(presented)
        n = self.calls
        return 200, json.dumps(
            {
                "access_token": f"bench-at-{n}",
                "refresh_token": f"bench-rt-{n}",
                "token_type": "Bearer",
                "expires_in": 3600,
            }
        ).encode()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                if self.delay and path != "/stats":
                    await asyncio.sleep(self.delay)
                status, payload = self.answer(method, path, body)
                reason = "OK" if status == 200 else "Bad Request"
                status_line = (
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                )
                writer.write(status_line.encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def start(port: int, delay_ms: float = 0.0) -> subprocess.Popen[bytes]:
    """This endpoint in a process of its own on ``port``, once it answers."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--port", str(port), "--delay-ms", str(delay_ms)]
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            stats(port)
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the token endpoint did not start")


def stats(port: int) -> dict[str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/stats")
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


async def main(port: int, delay: float) -> None:
    endpoint = Endpoint(delay)
    server = await asyncio.start_server(endpoint.serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.delay_ms / 1000))
