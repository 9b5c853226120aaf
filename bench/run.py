#!/usr/bin/env python
"""Patchbay benchmark: gunicorn on PostgreSQL, driven by client processes of its own.

    make bench                      # writes README's table too (--readme README.md)
    .venv/bin/python bench/run.py --seconds 5 --rounds 3 [--only NAME]

Picks a free port and a database of its own (``patchbay_bench_<pid>``, or
``BENCH_DB_NAME``, on the server in ``BENCH_DATABASE_URL``, default the local one),
migrates it, seeds an organisation, API key, connector and a connection with five
credentials, and serves ``bench/wsgi.py`` under gunicorn (sync workers): Patchbay, and
on the same server a bare WSGI app (``/__bench/bare``), the floor any request can reach.
``--concurrency`` closed-loop clients, each a process of its own (``bench/load.py``),
measure requests/second and p50/p99 latency for each scenario beside an authenticated
no-op endpoint (``GET /api/v2/o/{id}``). In every round each scenario runs right after
a run of the no-op, and its ratio is taken against that run, so drift on a busy machine
hits both sides of a pair alike. Every figure is printed as the median over at least
three rounds with their min and max; the database is dropped at the end.

Query counts are checked by the test suite (django_assert_max_num_queries),
not here; this script measures time only.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE_PATH = "/__bench/bare"  # bench/wsgi.py

from bench.load import (  # noqa: E402
    Request,
    Result,
    _free_port,
    drive,
    machine_description,
    process_cpu_seconds,
    round_ratios,
    spread,
    wait_for,
    worker_cpu_seconds,
)

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def database_name(label: str) -> str:
    """A database of this run's own (``BENCH_DB_NAME`` if set): benches run beside each
    other, and beside other engineers' runs, without meeting."""
    return os.environ.get("BENCH_DB_NAME") or f"patchbay_{label}_{os.getpid()}"


DB_NAME = database_name("bench")


def bench_env(port: int) -> dict[str, str]:
    base_url = SERVER_URL.rsplit("/", 1)[0]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{base_url}/{DB_NAME}",
        "SECRET_KEY": "bench-" + "k" * 50,
        "PATCHBAY_ENCRYPTION_KEYS": "bench:" + base64.b64encode(b"b" * 32).decode(),
        "PATCHBAY_ENV_FILE": "/nonexistent/.env",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PATCHBAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "false",
        "PATCHBAY_ALLOW_INSECURE_HTTP": "true",
        "PATCHBAY_ALLOW_PRIVATE_NETWORKS": "true",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        # A load test from one address with one key is what the limits exist to stop.
        "PATCHBAY_RATE_LIMITS": "off",
    }


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(sql)


def drop_database(name: str | None = None) -> None:
    _admin(f"DROP DATABASE IF EXISTS {name or DB_NAME} WITH (FORCE)")


def recreate_database() -> None:
    """Create this run's database afresh; it is dropped again when the script exits."""
    name = DB_NAME
    drop_database(name)
    _admin(f"CREATE DATABASE {name}")
    atexit.register(drop_database, name)


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` now (same machine)."""
    import psycopg

    with psycopg.connect(SERVER_URL) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchall()
    return [int(row[0]) for row in rows]


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(SERVER_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split(" ")[0] if row else "?"


def fresh_database(env: dict[str, str]) -> None:
    """A new, migrated benchmark database for the settings in ``env`` (dropped at exit)."""
    recreate_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def gunicorn(
    app: str, port: int, env: dict[str, str], workers: int, *extra: str
) -> subprocess.Popen[bytes]:
    """gunicorn serving ``app`` on 127.0.0.1:``port`` with sync workers (or ``extra``)."""
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "sync", "--log-level", "warning"]
    return subprocess.Popen([*command, *extra], cwd=ROOT, env=env)


Scenario = tuple[str, Callable[[], Request]]
SCENARIO_FACTORIES: list[Callable[[dict[str, Any]], list[Scenario]]] = []


def scenario(
    factory: Callable[[dict[str, Any]], list[Scenario]],
) -> Callable[[dict[str, Any]], list[Scenario]]:
    SCENARIO_FACTORIES.append(factory)
    return factory


def seed() -> dict[str, Any]:
    """Create the benchmark's data directly with the ORM (the API is what is measured)."""
    import django

    django.setup()
    from connections.models import Connection, ConnectionCredential
    from connectors.models import AuthSchemeConfig, Connector
    from connectors.oauth2 import OAUTH2_DEFAULTS
    from credentials.models import Credential
    from organisations.keys import api_key_create
    from organisations.models import Organisation

    organisation = Organisation.objects.create(name="Bench Org")
    key = api_key_create(organisation=organisation, name="bench").key
    client = Credential.objects.create(
        organisation=organisation,
        name="client",
        type="oauth2-client",
        data={
            "clientId": "bench-client",
            "clientSecret": "bench-secret",
            "tokenUrl": "https://provider.example/token",
        },
    )
    connector = Connector.objects.create(
        organisation=organisation, name="Bench", base_url="https://api.example"
    )
    oauth2 = AuthSchemeConfig.objects.create(
        organisation=organisation,
        connector=connector,
        config_id="oauth2",
        type="oauth2",
        settings={
            **OAUTH2_DEFAULTS,
            "authorizeUrl": "https://provider.example/authorize",
            "tokenUrl": "https://provider.example/token",
            "defaultScopes": ["read"],
            "grant": {
                "type": "authorizationCode",
                "authorizationCode": {
                    "credentialId": str(client.pk),
                    "organisationId": str(organisation.pk),
                    "clientId": "bench-client",
                },
            },
        },
    )
    connection = Connection.objects.create(
        organisation=organisation, connector=connector, name="five"
    )
    for i in range(5):
        config = (
            oauth2
            if i == 4
            else AuthSchemeConfig.objects.create(
                organisation=organisation,
                connector=connector,
                config_id=f"key{i}",
                type="api-key",
                settings={"name": f"X-Key-{i}", "in": "header"},
            )
        )
        credential = Credential.objects.create(
            organisation=organisation,
            name=f"cred{i}",
            type="oauth2-token" if i == 4 else "string",
            data={
                "accessToken": "at",
                "refreshToken": "rt",
                "tokenType": "Bearer",
                "scopes": ["read"],
                "expiresAt": None,
            }
            if i == 4
            else {"value": f"secret-{i}"},
        )
        ConnectionCredential.objects.create(
            connection=connection, auth_scheme_config=config, credential=credential, position=i
        )
    return {
        "organisation_id": str(organisation.pk),
        "key": key,
        "connector_id": str(connector.pk),
        "client_credential_id": str(client.pk),
        "connection_id": str(connection.pk),
    }


@scenario
def core_scenarios(ctx: dict[str, Any]) -> list[Scenario]:
    auth = {"Authorization": f"Bearer {ctx['key']}"}
    org = ctx["organisation_id"]
    body = json.dumps(
        {
            "authorizeUrl": "https://provider.example/authorize",
            "clientId": "bench-client",
            "credential": {"id": ctx["client_credential_id"], "organisationId": org},
            "scopes": ["read", "write"],
        }
    ).encode()
    return [
        ("no-op GET /o/{id}", lambda: Request("GET", f"/api/v2/o/{org}", headers=auth)),
        (BARE, lambda: Request("GET", BARE_PATH)),
        (
            "initialise",
            lambda: Request(
                "POST",
                f"/api/v2/o/{org}/connectors/{ctx['connector_id']}/oauth2/initialise",
                body=body,
                headers={**auth, "Content-Type": "application/json"},
            ),
        ),
        (
            "GET connection (5 credentials)",
            lambda: Request(
                "GET", f"/api/v2/o/{org}/connections/{ctx['connection_id']}", headers=auth
            ),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per scenario per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this")
    parser.add_argument(
        "--readme", type=Path, help="also write the table into this README's benchmark block"
    )
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds: at least 3, so that each figure has a min, median and max")

    load_before = os.getloadavg()[0]
    port = _free_port()
    env = bench_env(port)
    os.environ.update(env)
    fresh_database(env)
    ctx = seed()
    ctx["port"] = port

    server = gunicorn("bench.wsgi", port, env, args.workers)
    try:
        wait_for(port, server)
        scenarios = [s for factory in SCENARIO_FACTORIES for s in factory(ctx)]
        scenarios = [s for s in scenarios if args.only in s[0] or s[0] in FLOORS]
        results = {name: Result(name) for name, _ in scenarios}
        for name, make in scenarios:  # warm up every worker and connection pool
            drive(port, make, 1.0, args.concurrency, Result(name))
        # Server CPU per request: gunicorn's workers and the database's server processes
        # (the load generator's are apart). Far steadier than req/s on a shared machine.
        backends = backend_pids(DB_NAME)

        def server_cpu() -> float:
            return worker_cpu_seconds(server.pid) + process_cpu_seconds(backends)

        baseline_name, baseline_make = scenarios[0]
        baseline = results[baseline_name]
        # Each scenario runs right after a run of the no-op, and its ratio is taken against
        # that run: drift on a shared machine then hits both sides of a pair alike.
        paired: dict[str, list[float]] = {name: [] for name, _ in scenarios}
        paired_cpu: dict[str, list[float]] = {name: [] for name, _ in scenarios}
        for _ in range(args.rounds):
            for name, make in scenarios[1:] or scenarios:
                drive(port, baseline_make, args.seconds, args.concurrency, baseline, server_cpu)
                paired[name].append(baseline.per_round[-1])
                paired_cpu[name].append(baseline.per_round_cpu[-1])
                if name != baseline_name:
                    drive(port, make, args.seconds, args.concurrency, results[name], server_cpu)
        for hook in POST_HOOKS:
            hook(ctx)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    from bench import report

    rows = [
        report.Row(
            name,
            results[name],
            round_ratios(results[name].per_round, paired[name])
            if name != baseline_name
            else [1.0] * args.rounds,
        )
        for name, _ in scenarios
    ]
    bare = next((row for row in rows if row.name == BARE), None)
    floor_line = ""
    if bare is not None:
        low, mid, high = spread([1 / r for r in bare.ratios])
        cpu = spread(round_ratios(bare.result.per_round_cpu, paired_cpu[BARE]))
        floor_line = (
            f"cheapest authenticated endpoint ({baseline_name}) / bare WSGI app on the same "
            f"gunicorn: {mid:.2f} of its req/s (range {low:.2f}-{high:.2f}; target >= 0.30); "
            f"server CPU per request of the bare app / the no-op's: {cpu[1]:.2f} "
            f"(range {cpu[0]:.2f}-{cpu[2]:.2f}), what the req/s ratio would be on a machine "
            "with nothing else running"
        )
    setup = (
        f"gunicorn {args.workers} sync workers, {args.concurrency} client processes, "
        f"{args.rounds} rounds x {args.seconds:g} s per scenario"
    )
    machine = machine_description(postgres_version(), load_before)
    text = report.text(rows, setup, machine, [floor_line, *EXTRA_LINES])
    print(text)
    if args.readme:
        report.write_readme(args.readme, report.markdown(rows, setup, machine, floor_line), text)


BARE = "bare WSGI app (same gunicorn)"
# Always run, whatever --only says: the floor every ratio is taken against, and the bare app.
FLOORS = ("no-op GET /o/{id}", BARE)


# Later scenarios (embed, token lifecycle) can append figures that are not req/s.
POST_HOOKS: list[Callable[[dict[str, Any]], None]] = []
EXTRA_LINES: list[str] = []


def load_extensions() -> None:
    """Scenario modules beside this file (``bench/scenarios_*.py``) register themselves on import
    with :func:`scenario`, ``POST_HOOKS`` and ``EXTRA_LINES``."""
    import importlib

    for path in sorted(Path(__file__).parent.glob("scenarios_*.py")):
        importlib.import_module(f"bench.{path.stem}")


if __name__ == "__main__":
    sys.modules.setdefault("bench.run", sys.modules[__name__])
    load_extensions()
    main()
