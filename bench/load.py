"""The load generator and server helpers of ``bench/``: closed-loop HTTP clients in
processes of their own driving a server, per-round results, and what every benchmark
script needs to start and watch a gunicorn (a free port, its health, its workers' CPU time).

The harness API that every script under ``bench/`` builds on, kept stable:
``Request``, ``Result`` (``rps``, ``pct``, ``per_round``, ``per_round_p50``, ``spread``),
``drive``, ``round_ratios``, ``spread``, ``_free_port``, ``wait_for``,
``worker_cpu_seconds``, ``machine_description``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
import platform
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
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

    def wire(self, port: int) -> bytes:
        """The request as HTTP/1.1 bytes (keep-alive, with its Content-Length)."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (self.body or b"")


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(min, median, max) of per-round figures (NaNs when there are none)."""
    if not values:
        nan = float("nan")
        return nan, nan, nan
    return min(values), statistics.median(values), max(values)


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    # Requests/second of each round, to pair with the no-op's in the same round.
    per_round: list[float] = field(default_factory=list)
    # p50 and p99 latency of each round, in ms.
    per_round_p50: list[float] = field(default_factory=list)
    per_round_p99: list[float] = field(default_factory=list)
    # Server CPU (µs per request) of each round, when the caller measures it (``cpu_of``).
    per_round_cpu: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        return _pct(self.latencies, p)


def _pct(latencies: Sequence[float], p: float) -> float:
    """The p-quantile of latencies in seconds, in ms."""
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


class _Client:
    """One keep-alive HTTP/1.1 connection on a raw socket, cheap enough per request that
    the load generator costs little beside even a bare WSGI app. A server that closes
    the connection (gunicorn's sync workers do after every answer) is reconnected."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        return chunk

    def send(self, wire: bytes) -> int:
        """Send a request, read the whole answer; its status."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(wire)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        closing = headers.get(b"connection") == b"close"
        if status in (204, 304) or status < 200:
            self.buffer = rest
        elif b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                rest += self._recv()
            self.buffer = rest[length:]
        elif headers.get(b"transfer-encoding") == b"chunked":
            self.buffer = self._read_chunked(rest)
        else:  # the body runs to the end of the connection
            try:
                while True:
                    self._recv()
            except ConnectionError:
                pass
            closing = True
        if closing:
            self.close()
        return status

    def _read_chunked(self, data: bytes) -> bytes:
        while True:
            while b"\r\n" not in data:
                data += self._recv()
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += self._recv()
            data = data[size + 2 :]
            if size == 0:
                return data


def _client_process(
    port: int,
    make_request: Callable[[], Request],
    seconds: float,
    start: multiprocessing.synchronize.Event,
    out: Connection,
) -> None:
    client = _Client(port)
    latencies: list[float] = []
    errors = 0
    start.wait()
    began = time.monotonic()
    stop = began + seconds
    while time.monotonic() < stop:
        wire = make_request().wire(port)
        started = time.perf_counter()
        try:
            ok = client.send(wire) < 400
        except (OSError, ValueError, IndexError):
            client.close()
            ok = False
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors += 1
    ended = time.monotonic()
    client.close()
    out.send((latencies, errors, began, ended))
    out.close()


_FORK = multiprocessing.get_context("fork")


def drive(
    port: int,
    make_request: Callable[[], Request],
    seconds: float,
    concurrency: int,
    result: Result,
    cpu_of: Callable[[], float] | None = None,
) -> None:
    """``concurrency`` closed-loop keep-alive clients, each in a process of its own (forked,
    so ``make_request`` may be any callable), send requests for ``seconds``.

    The server's processes and the load generator's are apart: no client shares a GIL
    with a server, nor with another client."""
    start = _FORK.Event()
    pipes, processes = [], []
    for _ in range(concurrency):
        receiver, sender = _FORK.Pipe(duplex=False)
        process = _FORK.Process(
            target=_client_process, args=(port, make_request, seconds, start, sender)
        )
        process.start()
        sender.close()
        pipes.append(receiver)
        processes.append(process)
    cpu_before = cpu_of() if cpu_of else 0.0
    start.set()
    latencies: list[float] = []
    began, ended = float("inf"), 0.0
    for receiver in pipes:
        mine, errors, first, last = receiver.recv()
        latencies.extend(mine)
        result.errors += errors
        began, ended = min(began, first), max(ended, last)
    cpu = cpu_of() - cpu_before if cpu_of else 0.0
    for process in processes:
        process.join()
    took = max(ended - began, 1e-9)
    if cpu_of and latencies:
        result.per_round_cpu.append(cpu / len(latencies) * 1e6)
    result.latencies.extend(latencies)
    result.elapsed += took
    result.per_round.append(len(latencies) / took)
    result.per_round_p50.append(_pct(latencies, 0.5))
    result.per_round_p99.append(_pct(latencies, 0.99))


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


def process_cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of these processes (Linux /proc), in seconds; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(postgres_version: str = "", load_before: float | None = None) -> str:
    """Where a run was made: cores, CPU model, Python, PostgreSQL and the load average."""
    load = os.getloadavg()
    parts = [
        f"{os.cpu_count()} cores ({_cpu_model()})",
        f"Python {platform.python_version()}",
    ]
    if postgres_version:
        parts.append(f"PostgreSQL {postgres_version}")
    before = f"{load_before:.1f} before, " if load_before is not None else ""
    parts.append(f"load average {before}{load[0]:.1f} at the end (1 min)")
    return "; ".join(parts)


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited early; see its output above.")
        try:
            client = _Client(port)
            status = client.send(Request("GET", "/healthz").wire(port))
            client.close()
            if status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not become healthy in 60 s.")
