#!/usr/bin/env python
"""Worker scaling: due refreshes/second with one and with two ``manage.py worker`` processes.

    .venv/bin/python bench/worker.py                      # 3 rounds x 2,000 due tokens
    .venv/bin/python bench/worker.py --tokens 5000 --rounds 5 --background 100000

A fresh PostgreSQL database of its own (``BENCH_DB_NAME``, default
``patchbay_worker_<pid>``; dropped at the end) is migrated, its tables' statistics taken
while they are empty and autovacuum turned off for them, and then filled in bulk: so
every query runs on **stale statistics**, as right after a bulk import. It holds
``--background`` tokens that are not due and ``--parked`` expired ones whose connection
needs re-authorisation (the worker must pass over them), and per measurement
``--tokens`` due tokens, hidden behind a claim until the clock starts.

Each round measures one worker process, then two, each against its own fresh due set;
the token endpoint (``bench/token_endpoint.py``) answers at once, in a process of its
own, and counts calls and refresh tokens presented twice. A worker is the real command
(``manage.py worker --jobs refresh_tokens``), started and connected before the clock
starts; the clock stops when the endpoint has answered every due token. Prints each
round, then min/median/max of each figure and of the ratio two/one, and the claim
query's plan.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402
from bench import token_endpoint  # noqa: E402
from bench.load import _free_port, machine_description, spread  # noqa: E402

run.DB_NAME = run.database_name("worker")
TABLES = [
    "credentials_credential",
    "connections_connection",
    "connections_connectioncredential",
]


def refresh_setup(token_url: str, label: str) -> tuple[Any, Any, Any, Any]:
    """An organisation, a client credential, a connector and its oauth2 config at ``token_url``."""
    from connectors.models import AuthSchemeConfig, Connector
    from connectors.oauth2 import OAUTH2_DEFAULTS
    from credentials.models import Credential
    from organisations.models import Organisation

    organisation = Organisation.objects.create(name=f"{label} org")
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
    return organisation, client, connector, config


def tokens_load(
    setup: tuple[Any, Any, Any, Any],
    count: int,
    *,
    expires_in: timedelta,
    status: str = "active",
    hidden: bool = False,
    label: str = "",
) -> list[Any]:
    """``count`` connections with one oauth2 token each, in bulk (no ``save()``, as an
    import would); ``hidden`` ones carry a claim far in the future, so no worker sees them
    until :func:`reveal`. Returns the credentials' ids."""
    from django.utils import timezone

    from connections.models import Connection, ConnectionCredential
    from credentials.models import Credential

    organisation, client, connector, config = setup
    expires = timezone.now() + expires_in
    far = timezone.now() + timedelta(days=365) if hidden else None
    ids: list[Any] = []
    for start in range(0, count, 2000):
        n = min(2000, count - start)
        tokens = [
            Credential(
                organisation=organisation,
                name=f"{label} token {start + i}",
                type="oauth2-token",
                data={
                    "accessToken": f"old-at-{label}-{start + i}",
                    "refreshToken": f"old-rt-{label}-{start + i}",
                    "tokenType": "Bearer",
                    "scopes": ["read"],
                    "expiresAt": expires.isoformat(),
                },
                token_expires_at=expires,
                refresh_claimed_until=far,
            )
            for i in range(n)
        ]
        Credential.objects.bulk_create(tokens)
        connections = Connection.objects.bulk_create(
            Connection(
                organisation=organisation,
                connector=connector,
                name=f"{label} {start + i}",
                status=status,
            )
            for i in range(n)
        )
        ConnectionCredential.objects.bulk_create(
            ConnectionCredential(
                connection=connection,
                auth_scheme_config=config,
                credential=token,
                client_credential=client,
            )
            for connection, token in zip(connections, tokens, strict=True)
        )
        ids.extend(token.pk for token in tokens)
    return ids


def reveal(ids: list[Any]) -> None:
    from credentials.models import Credential

    Credential.objects.filter(pk__in=ids).update(refresh_claimed_until=None)


def stale_statistics() -> None:
    """Statistics of the empty tables, and no autovacuum to refresh them: the planner
    then knows nothing true about the rows loaded afterwards."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")


def workers_start(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    """``count`` real worker processes, each connected and idle when this returns."""
    from django.db import connection

    command = [sys.executable, "manage.py", "worker", "--jobs", "refresh_tokens"]
    options = ["--limit", "1000", "--interval", "0.05"]
    procs = [subprocess.Popen([*command, *options], cwd=ROOT, env=env) for _ in range(count)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [run.DB_NAME],
            )
            if cursor.fetchone()[0] >= count:
                return procs
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    workers_stop(procs)
    raise SystemExit("the worker processes did not start")


def workers_stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(procs: int, ids: list[Any], port: int, env: dict[str, str]) -> tuple[float, int, float]:
    """Refreshes/second of ``procs`` worker processes over the due set ``ids``, how many
    refresh tokens the endpoint saw twice, and the workers' CPU ms per refresh."""
    workers = workers_start(procs, env)
    try:
        before = token_endpoint.stats(port)
        cpu_before = sum(cpu_seconds(w.pid) for w in workers)
        started = time.perf_counter()
        reveal(ids)
        deadline = time.monotonic() + 600
        while token_endpoint.stats(port)["calls"] - before["calls"] < len(ids):
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not refresh every due token in 10 minutes")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
        time.sleep(0.3)  # a second refresh of any of them would show now
        after = token_endpoint.stats(port)
    finally:
        workers_stop(workers)
    extra = after["calls"] - before["calls"] - len(ids)
    twice = after["duplicates"] - before["duplicates"] + extra
    return len(ids) / elapsed, twice, cpu * 1000 / len(ids)


def claim_plan() -> list[str]:
    """The node types of the batch claim's plan, as PostgreSQL runs it now."""
    import json

    from django.db import connection
    from django.utils import timezone

    from connections.oauth.refresh_due import BATCH_SIZE, refresh_candidates

    due = refresh_candidates(now=timezone.now(), horizon=timedelta(minutes=5))
    sql, params = due.values_list("pk", flat=True)[:BATCH_SIZE].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql} FOR UPDATE SKIP LOCKED", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        index = f" on {node['Index Name']}" if "Index Name" in node else ""
        relation = f" {node['Relation Name']}" if "Relation Name" in node and not index else ""
        nodes.append(f"{node['Node Type']}{index}{relation}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return nodes


def summary(name: str, values: list[float], unit: str, decimals: int = 0) -> str:
    figures = spread(values)
    return f"{name:<28}" + "".join(f"{v:>9.{decimals}f}" for v in figures) + f"  {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=2000, help="due tokens per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--background", type=int, default=20000, help="tokens not due")
    parser.add_argument("--parked", type=int, default=500, help="expired, needs_reauth")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    port, endpoint_port = _free_port(), _free_port()
    env = run.bench_env(port)
    os.environ.update(env)
    run.fresh_database(env)
    endpoint = token_endpoint.start(endpoint_port)
    try:
        import django

        django.setup()
        rows = bench(args, f"http://127.0.0.1:{endpoint_port}/token", endpoint_port, env)
        plan = claim_plan()
    finally:
        endpoint.terminate()
        endpoint.wait(timeout=10)
        from django.db import connections

        connections.close_all()  # the database is dropped at exit (bench.run)
    report(args, rows, plan, load_before)


def bench(
    args: argparse.Namespace, token_url: str, port: int, env: dict[str, str]
) -> list[tuple[float, float, int, float, float]]:
    stale_statistics()
    setup = refresh_setup(token_url, "bench")
    started = time.perf_counter()
    tokens_load(setup, args.background, expires_in=timedelta(days=1), label="later")
    tokens_load(
        setup, args.parked, expires_in=-timedelta(hours=1), status="needs_reauth", label="parked"
    )
    due_sets = [
        tokens_load(
            setup, args.tokens, expires_in=-timedelta(minutes=1), hidden=True, label=f"due{n}"
        )
        for n in range(args.rounds * 2)
    ]
    print(
        f"loaded {args.background + args.parked + args.tokens * args.rounds * 2:,} tokens in "
        f"{time.perf_counter() - started:.1f} s (no ANALYZE since the tables were empty)"
    )
    rows = []
    for n in range(args.rounds):
        one, dup_one, cpu_one = measure(1, due_sets[2 * n], port, env)
        two, dup_two, cpu_two = measure(2, due_sets[2 * n + 1], port, env)
        rows.append((one, two, dup_one + dup_two, cpu_one, cpu_two))
        print(
            f"round {n + 1}: 1 process {one:.0f}/s, 2 processes {two:.0f}/s, "
            f"ratio {two / one:.2f}, refreshed twice {dup_one + dup_two}; worker CPU per "
            f"refresh {cpu_one:.2f} / {cpu_two:.2f} ms"
        )
    return rows


def report(
    args: argparse.Namespace,
    rows: list[tuple[float, float, int, float, float]],
    plan: list[str],
    load_before: float,
) -> None:
    print(
        f"\nworker scaling: {args.tokens:,} due tokens per measurement among "
        f"{args.background:,} not due and {args.parked:,} parked, stale statistics, token "
        f"endpoint on loopback (own process), {args.rounds} rounds, {os.cpu_count()} cores"
    )
    print(f"{'':28}{'min':>9}{'median':>9}{'max':>9}")
    print(summary("1 worker process", [r[0] for r in rows], "refreshes/s"))
    print(summary("2 worker processes", [r[1] for r in rows], "refreshes/s"))
    print(summary("ratio 2 / 1", [r[1] / r[0] for r in rows], "x", 2))
    print(summary("worker CPU per refresh, 1", [r[3] for r in rows], "ms", 2))
    print(summary("worker CPU per refresh, 2", [r[4] for r in rows], "ms", 2))
    print(f"tokens refreshed twice: {sum(r[2] for r in rows)} (must be 0)")
    one = spread([r[0] for r in rows])[1]
    ratio = spread([r[1] / r[0] for r in rows])[1]
    print(
        f"targets: >= 300 refreshes/s with one process ({one / 300:.2f}x of it), "
        f">= 1.8x with two ({ratio / 1.8:.2f}x of it)"
    )
    print("claim query plan (stale statistics): " + " -> ".join(plan))
    print("machine: " + machine_description(run.postgres_version(), load_before))


if __name__ == "__main__":
    main()
