"""The load generator and server helpers of ``bench/``: keep-alive clients driving a
server from this process, per-round results, and what every benchmark script needs to
start and watch a gunicorn (a free port, its health, its workers' CPU time)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    # Requests/second of each round, to pair with the no-op's in the same round.
    per_round: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def drive(
    port: int, make_request: Callable[[], Request], seconds: float, concurrency: int, result: Result
) -> None:
    """``concurrency`` keep-alive clients send requests for ``seconds``."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        errors = 0
        while time.monotonic() < stop:
            req = make_request()
            started = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                local.append(time.perf_counter() - started)
            else:
                errors += 1
        conn.close()
        with lock:
            result.latencies.extend(local)
            result.errors += errors

    before = len(result.latencies)
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    result.elapsed += took
    result.per_round.append((len(result.latencies) - before) / took)


def round_ratios(mine: list[float], baseline: list[float]) -> list[float]:
    """Each run's req/s over that of the no-op run paired with it."""
    return [m / b for m, b in zip(mine, baseline, strict=True) if b]


def worker_cpu_seconds(master: int) -> float:
    """User + system CPU of a gunicorn master's workers (Linux /proc), in seconds: far
    steadier than req/s when the machine is shared."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == master:  # ppid (field 4)
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited early; see its output above.")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not become healthy in 60 s.")
