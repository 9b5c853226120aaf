#!/usr/bin/env python
"""Refresh stampede under the production server settings (``config/gunicorn.py``: gthread).

    .venv/bin/python bench/stampede.py                    # 5 rounds, 50 requests, 200 ms
    .venv/bin/python bench/stampede.py --requests 50 --rounds 5 --provider-ms 200

Serves Patchbay with ``gunicorn -c config/gunicorn.py config.wsgi`` (the settings README
documents: threaded workers, 2 x cores + 1 of them, 8 threads each) on a free port and a
fresh PostgreSQL database of its own (``BENCH_DB_NAME``, default ``patchbay_stampede_<pid>``,
dropped at the end). In each round the connection's token is made to expire, and
``--requests`` clients (threads of one client process of their own, one connection each,
released together) ask for its access token at once. The token endpoint
(``bench/token_endpoint.py``, a process of its own) answers after ``--provider-ms`` and
counts calls. Prints per round: provider calls (must be 1), distinct tokens served (must
be 1), p50/p99/max latency; then min/median/max of each over the rounds, and p99 against
the target (provider latency + 100 ms), beside the same burst for a token that is not due
(what the requests cost without any refresh), measured right before each stampede.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import runpy
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402
from bench import token_endpoint  # noqa: E402
from bench.load import _free_port, machine_description, spread, wait_for  # noqa: E402
from bench.worker import refresh_setup, tokens_load  # noqa: E402

run.DB_NAME = run.database_name("stampede")


def stampede(port: int, path: str, key: str, count: int) -> tuple[list[float], set[str], int]:
    """``count`` concurrent GETs of ``path``, released together: latencies (s), the access
    tokens served, and how many failed."""
    barrier = threading.Barrier(count)
    lock = threading.Lock()
    latencies: list[float] = []
    tokens: set[str] = set()
    failed = 0

    def ask() -> None:
        nonlocal failed
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()  # connected before the clock starts: the request is what is timed
        barrier.wait(timeout=60)
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
            response = conn.getresponse()
            body = json.loads(response.read() or b"{}")
            ok = response.status == 200
        except (OSError, http.client.HTTPException, ValueError):
            ok, body = False, {}
        elapsed = time.perf_counter() - started
        conn.close()
        with lock:
            if ok:
                latencies.append(elapsed)
                tokens.add(str(body.get("accessToken")))
            else:
                failed += 1

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, tokens, failed


def _client(port: int, path: str, key: str, count: int, out: Any) -> None:
    latencies, tokens, failed = stampede(port, path, key, count)
    out.put((latencies, sorted(tokens), failed))


def in_client_process(port: int, path: str, key: str, count: int) -> tuple[list[float], int, int]:
    """:func:`stampede` from a process of its own (not this one's GIL): (latencies, distinct
    tokens served, failures)."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    proc = context.Process(target=_client, args=(port, path, key, count, out))
    proc.start()
    latencies, tokens, failed = out.get(timeout=120)
    proc.join(timeout=30)
    return latencies, len(tokens), failed


def expire(credential_id: Any) -> None:
    """Make the token due again, as ``Credential.save()`` writes it (data and column)."""
    from django.utils import timezone

    from credentials.models import Credential

    credential = Credential.objects.get(pk=credential_id)
    data = dict(credential.data)
    data["expiresAt"] = (timezone.now() - timedelta(minutes=1)).isoformat()
    credential.data = data
    credential.save()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--provider-ms", type=float, default=200.0)
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds: at least 3, so that each figure has a min, median and max")

    load_before = os.getloadavg()[0]
    port, endpoint_port = _free_port(), _free_port()
    env = run.bench_env(port)
    os.environ.update(env)
    run.fresh_database(env)
    endpoint = token_endpoint.start(endpoint_port, args.provider_ms)
    server = None
    try:
        import django

        django.setup()
        from organisations.keys import api_key_create

        setup = refresh_setup(f"http://127.0.0.1:{endpoint_port}/token", "stampede")
        [credential_id] = tokens_load(setup, 1, expires_in=timedelta(hours=1), label="s")
        from connections.models import ConnectionCredential

        link = ConnectionCredential.objects.get(credential_id=credential_id)
        key = api_key_create(organisation=setup[0], name="stampede").key
        path = f"/api/v2/o/{setup[0].pk}/connections/{link.connection_id}/access-token"
        command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
        server = run_server(command, port, env)
        # Warm-up: every worker thread opens its database connection (token still fresh).
        for _ in range(3):
            in_client_process(port, path, key, args.requests)
        rows, fresh = [], []
        for n in range(args.rounds):
            # The same burst for a token that is not due: what 50 requests cost without a
            # refresh, right before the stampede (drift hits both alike).
            fresh.append(in_client_process(port, path, key, args.requests)[0])
            expire(credential_id)
            before = token_endpoint.stats(endpoint_port)["calls"]
            latencies, distinct, failed = in_client_process(port, path, key, args.requests)
            calls = token_endpoint.stats(endpoint_port)["calls"] - before
            rows.append((calls, distinct, failed, latencies))
            print(
                f"round {n + 1}: provider calls {calls}, distinct tokens {distinct}, failed "
                f"{failed}, p50 {pct(latencies, 0.5):.0f} ms, p99 {pct(latencies, 0.99):.0f} ms, "
                f"max {max(latencies, default=0) * 1000:.0f} ms; fresh token p99 "
                f"{pct(fresh[-1], 0.99):.0f} ms"
            )
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        endpoint.terminate()
        endpoint.wait(timeout=10)
        from django.db import connections

        connections.close_all()  # the database is dropped at exit (bench.run)
    report(args, rows, fresh, load_before)


def run_server(command: list[str], port: int, env: dict[str, str]) -> Any:
    import subprocess

    server = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env
    )
    wait_for(port, server)
    return server


def report(
    args: argparse.Namespace, rows: list[Any], fresh: list[list[float]], load_before: float
) -> None:
    # gunicorn reads its config as a file, and so does this (bench sits below config).
    settings = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    target = args.provider_ms + 100
    print(
        f"\nrefresh stampede: {args.requests} concurrent requests for an expired token, "
        f"{args.rounds} rounds, provider answers in {args.provider_ms:.0f} ms; gunicorn "
        f"-c config/gunicorn.py ({settings['worker_class']}, {settings['workers']} workers x "
        f"{settings['threads']} threads)"
    )
    print(f"{'':26}{'min':>9}{'median':>9}{'max':>9}")
    figures = [
        ("provider calls / round", [float(r[0]) for r in rows], 0),
        ("distinct tokens served", [float(r[1]) for r in rows], 0),
        ("failed requests", [float(r[2]) for r in rows], 0),
        ("p50 latency ms", [pct(r[3], 0.5) for r in rows], 0),
        ("p99 latency ms", [pct(r[3], 0.99) for r in rows], 0),
        ("p99 ms, token not due", [pct(f, 0.99) for f in fresh], 0),
        (
            "p99 stampede - not due",
            [pct(r[3], 0.99) - pct(f, 0.99) for r, f in zip(rows, fresh, strict=True)],
            0,
        ),
    ]
    for name, values, decimals in figures:
        print(f"{name:<26}" + "".join(f"{v:>9.{decimals}f}" for v in spread(values)))
    p99 = spread([pct(r[3], 0.99) for r in rows])[1]
    print(
        f"p99 (median of rounds) {p99:.0f} ms against the target {target:.0f} ms "
        f"(provider + 100 ms): {p99 / target:.2f}x of it; provider calls always 1: "
        f"{'yes' if all(r[0] == 1 for r in rows) else 'NO'}"
    )
    print("machine: " + machine_description(run.postgres_version(), load_before))


if __name__ == "__main__":
    main()
