"""Token lifecycle figures for ``bench/run.py`` (loaded by ``load_extensions``).

* ``GET access-token (fresh)``: the read path, no refresh (a req/s scenario).
* **Refresh stampede**: ``BENCH_STAMPEDE_N`` (50) clients ask at once for the access token
  of a connection whose token has expired, ``BENCH_STAMPEDE_ROUNDS`` (5) times. A tiny
  token endpoint in this process (``http.server``, ``BENCH_PROVIDER_MS`` = 50 ms per
  answer) counts the refreshes it is asked for: the row lock must make it exactly one per
  round. Latency p50/p99 over every request.
* **Worker throughput**: ``BENCH_WORKER_TOKENS`` (300) due tokens refreshed by the
  worker's job (``token_refresh_due``), by one worker and by two workers at once
  (threads, own database connections), against the same endpoint without the delay.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from bench.run import EXTRA_LINES, POST_HOOKS, Request, Scenario, scenario

STAMPEDE_N = int(os.environ.get("BENCH_STAMPEDE_N", "50"))
STAMPEDE_ROUNDS = int(os.environ.get("BENCH_STAMPEDE_ROUNDS", "5"))
PROVIDER_DELAY = float(os.environ.get("BENCH_PROVIDER_MS", "50")) / 1000
WORKER_TOKENS = int(os.environ.get("BENCH_WORKER_TOKENS", "300"))


class TokenEndpoint:
    """A provider's token endpoint on loopback: rotates refresh tokens, counts requests."""

    def __init__(self) -> None:
        self.hits = 0
        self.delay = PROVIDER_DELAY
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                with endpoint.lock:
                    endpoint.hits += 1
                    n = endpoint.hits
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                grant = form.get("grant_type", [""])[0]
                body = json.dumps(
                    {
                        "access_token": f"bench-at-{n}",
                        "refresh_token": f"bench-rt-{n}",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    }
                    if grant == "refresh_token"
                    else {"error": "unsupported_grant_type"}
                ).encode()
                self.send_response(200 if grant == "refresh_token" else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _due_connections(organisation: Any, token_url: str, count: int, label: str) -> list[Any]:
    """``count`` connections whose token expired a minute ago, all of one connector."""
    from django.utils import timezone

    from connections.models import Connection, ConnectionCredential
    from connectors.models import AuthSchemeConfig, Connector
    from connectors.oauth2 import OAUTH2_DEFAULTS
    from credentials.models import Credential

    client = Credential.objects.create(
        organisation=organisation,
        name=f"{label} client",
        type="oauth2-client",
        data={"clientId": "bench-client", "clientSecret": "bench-secret", "tokenUrl": token_url},
    )
    connector = Connector.objects.create(organisation=organisation, name=label)
    config = AuthSchemeConfig.objects.create(
        organisation=organisation,
        connector=connector,
        config_id="oauth2",
        type="oauth2",
        settings={
            **OAUTH2_DEFAULTS,
            "authorizeUrl": "https://provider.example/authorize",
            "tokenUrl": token_url,
            "grant": {
                "type": "authorizationCode",
                "authorizationCode": {"credentialId": str(client.pk)},
            },
        },
    )
    expired = (timezone.now() - timedelta(minutes=1)).isoformat()
    connections = []
    for i in range(count):
        token = Credential.objects.create(
            organisation=organisation,
            name=f"{label} token {i}",
            type="oauth2-token",
            data={
                "accessToken": f"old-at-{i}",
                "refreshToken": f"old-rt-{i}",
                "tokenType": "Bearer",
                "scopes": ["read"],
                "expiresAt": expired,
            },
        )
        connection = Connection.objects.create(
            organisation=organisation, connector=connector, name=f"{label} {i}"
        )
        ConnectionCredential.objects.create(
            connection=connection,
            auth_scheme_config=config,
            credential=token,
            client_credential=client,
        )
        connections.append(connection)
    return connections


def _expire(connection: Any) -> None:
    from django.utils import timezone

    from connections.models import ConnectionCredential

    credential = ConnectionCredential.objects.get(connection=connection).credential
    data = dict(credential.data)
    data["expiresAt"] = (timezone.now() - timedelta(minutes=1)).isoformat()
    credential.data = data
    credential.save()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


def refresh_stampede(ctx: dict[str, Any]) -> None:
    from organisations.models import Organisation

    endpoint = TokenEndpoint()
    try:
        organisation = Organisation.objects.get(pk=ctx["organisation_id"])
        [connection] = _due_connections(organisation, endpoint.url, 1, "Stampede")
        path = f"/api/v2/o/{ctx['organisation_id']}/connections/{connection.pk}/access-token"
        headers = {"Authorization": f"Bearer {ctx['key']}"}
        latencies: list[float] = []
        calls: list[int] = []
        errors = 0
        distinct: list[int] = []
        for _ in range(STAMPEDE_ROUNDS):
            _expire(connection)
            before = endpoint.hits
            barrier = threading.Barrier(STAMPEDE_N)
            lock = threading.Lock()
            seen: set[str] = set()

            def ask(barrier: threading.Barrier, lock: threading.Lock, seen: set[str]) -> None:
                nonlocal errors
                conn = http.client.HTTPConnection("127.0.0.1", ctx["port"], timeout=60)
                barrier.wait(timeout=60)
                started = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
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
                        seen.add(str(body.get("accessToken")))
                    else:
                        errors += 1

            threads = [
                threading.Thread(target=ask, args=(barrier, lock, seen)) for _ in range(STAMPEDE_N)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            calls.append(endpoint.hits - before)
            distinct.append(len(seen))
    finally:
        endpoint.close()
    EXTRA_LINES.append(
        f"\nrefresh stampede: {STAMPEDE_N} concurrent requests x {STAMPEDE_ROUNDS} rounds for an "
        f"expired token (provider answers in {PROVIDER_DELAY * 1000:.0f} ms)\n"
        f"  provider calls per round {calls} (must be 1 each); distinct tokens served per "
        f"round {distinct}; errors {errors}\n"
        f"  latency p50 {_pct(latencies, 0.5):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000 if latencies else 0:.1f} ms"
    )


def worker_throughput(ctx: dict[str, Any]) -> None:
    from django.db import connection as db_connection

    from connections.oauth.refresh_due import token_refresh_due
    from organisations.models import Organisation

    organisation = Organisation.objects.get(pk=ctx["organisation_id"])
    endpoint = TokenEndpoint()
    endpoint.delay = 0.0
    results = []
    try:
        for workers in (1, 2):
            _due_connections(organisation, endpoint.url, WORKER_TOKENS, f"Worker x{workers}")
            before = endpoint.hits
            done: list[int] = []
            lock = threading.Lock()

            def work(lock: threading.Lock, done: list[int]) -> None:
                try:
                    run = token_refresh_due(limit=WORKER_TOKENS * 2)
                    with lock:
                        done.append(run.refreshed)
                finally:
                    db_connection.close()

            started = time.perf_counter()
            threads = [threading.Thread(target=work, args=(lock, done)) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            refreshed = sum(done)
            results.append(
                f"  {workers} worker(s): {refreshed} refreshed in {elapsed:.2f} s = "
                f"{refreshed / elapsed:.0f}/s; provider calls {endpoint.hits - before}"
            )
    finally:
        endpoint.close()
    EXTRA_LINES.append(
        f"\nworker throughput: {WORKER_TOKENS} due tokens, token endpoint on loopback\n"
        + "\n".join(results)
    )


@scenario
def lifecycle_scenarios(ctx: dict[str, Any]) -> list[Scenario]:
    auth = {"Authorization": f"Bearer {ctx['key']}"}
    path = f"/api/v2/o/{ctx['organisation_id']}/connections/{ctx['connection_id']}/access-token"
    return [("GET access-token (fresh)", lambda: Request("GET", path, headers=auth))]


POST_HOOKS.extend([refresh_stampede, worker_throughput])
