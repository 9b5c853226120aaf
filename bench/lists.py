#!/usr/bin/env python
"""Lists and credential counts: what a page costs beside the cheapest endpoint.

    .venv/bin/python bench/lists.py                       # 1k and 100k connections
    .venv/bin/python bench/lists.py --big 20000 --seconds 3

Seeds a fresh PostgreSQL database (``BENCH_DB_NAME``, default ``patchbay_lists``) with two
organisations, one of ``--small`` (1,000) and one of ``--big`` (100,000) connections, each
with a credential (bulk ``COPY``, then ``ANALYZE``, as autovacuum does within a minute of
such an import: with no statistics at all PostgreSQL takes ``connection_id IN (100 ids)``
for half the table and hashes all of it), and in the small one a connection with 1
credential and one with 20 (the cap). Then, under gunicorn, every scenario runs right
after a run of the cheapest authenticated endpoint (``GET /api/v2/o/{id}``) and its ratio
is taken against that run (drift on a shared machine hits both sides alike), over
``--rounds`` rounds:

* ``GET connections?first=100``: page 1 of 1k, page 1 and page 100 of 100k;
* access-token and ``GET connection`` with 1 and with 20 credentials.

Prints req/s, p50, and the ratio's median with its min-max over the rounds, then the
targets of issue 12 computed from those medians.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.load as load  # noqa: E402
import bench.run as run  # noqa: E402

run.DB_NAME = os.environ.get("BENCH_DB_NAME", "patchbay_lists")
PAGE = 100
CAP = 20


def copy_rows(model: Any, objects: list[Any]) -> None:
    """Insert ``objects`` (unsaved instances) with one ``COPY``: the fields' own
    ``pre_save``/``get_db_prep_save``, so encrypted fields are sealed to their row."""
    from django.db import connection

    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def seed_organisation(name: str, rows: int) -> dict[str, Any]:
    """An organisation with ``rows`` connections, each with its own api-key credential."""
    from connections.models import Connection, ConnectionCredential
    from connectors.models import AuthSchemeConfig, Connector
    from credentials.models import Credential
    from organisations.keys import api_key_create
    from organisations.models import Organisation

    organisation = Organisation.objects.create(name=name)
    key = api_key_create(organisation=organisation, name="bench").key
    connector = Connector.objects.create(
        organisation=organisation, name="Bench", base_url="https://api.example"
    )
    config = AuthSchemeConfig.objects.create(
        organisation=organisation,
        connector=connector,
        config_id="key",
        type="api-key",
        settings={"name": "X-Key", "in": "header"},
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, rows, 10_000):
        count = min(10_000, rows - first)
        at = [start + timedelta(seconds=first + i) for i in range(count)]
        connections = [
            Connection(
                pk=uuid.uuid4(),
                organisation=organisation,
                connector=connector,
                name=f"c{first + i}",
                created_at=at[i],
            )
            for i in range(count)
        ]
        credentials = [
            Credential(
                pk=uuid.uuid4(),
                organisation=organisation,
                name=f"k{first + i}",
                type="string",
                data={"value": f"secret-{first + i}"},
                public={},
                created_at=at[i],
            )
            for i in range(count)
        ]
        links = [
            ConnectionCredential(connection=c, auth_scheme_config=config, credential=k, position=0)
            for c, k in zip(connections, credentials, strict=True)
        ]
        copy_rows(Credential, credentials)
        copy_rows(Connection, connections)
        copy_rows(ConnectionCredential, links)
    ordered = Connection.objects.filter(organisation=organisation).order_by("created_at", "id")
    return {
        "organisation": organisation,
        "connector": connector,
        "key": key,
        "ordered": ordered,
    }


def seed_credential_counts(org: dict[str, Any]) -> dict[str, str]:
    """Two connections of ``org``: an oauth2 token alone, and the token with 19 others."""
    from connections.models import Connection, ConnectionCredential
    from connectors.models import AuthSchemeConfig
    from connectors.oauth2 import OAUTH2_DEFAULTS
    from credentials.models import Credential

    organisation, connector = org["organisation"], org["connector"]
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
        },
    )
    ids = {}
    for count in (1, CAP):
        connection = Connection.objects.create(
            organisation=organisation, connector=connector, name=f"with {count}"
        )
        for i in range(count):
            config = oauth2 if i == 0 else AuthSchemeConfig.objects.create(
                organisation=organisation,
                connector=connector,
                config_id=f"key-{count}-{i}",
                type="api-key",
                settings={"name": f"X-Key-{i}", "in": "header"},
            )  # fmt: skip
            token = {
                "accessToken": "at-" + "x" * 800,  # a JWT's length
                "refreshToken": "rt-" + "y" * 200,
                "tokenType": "Bearer",
                "scopes": ["read"],
                "expiresAt": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            }
            credential = Credential.objects.create(
                organisation=organisation,
                name=f"cred-{count}-{i}",
                type="oauth2-token" if i == 0 else "string",
                data=token if i == 0 else {"value": f"secret-{i}-" + "s" * 200},
            )
            ConnectionCredential.objects.create(
                connection=connection, auth_scheme_config=config, credential=credential, position=i
            )
        ids[str(count)] = str(connection.pk)
    return ids


def cursor_before(ordered: Any, page: int) -> str | None:
    """The ``after`` cursor that asks for page ``page`` (1-based) of ``PAGE`` rows."""
    from core.api import _encode_cursor

    if page == 1:
        return None
    return _encode_cursor(ordered[(page - 1) * PAGE - 1])


def scenarios(small: dict[str, Any], big: dict[str, Any], counts: dict[str, str]) -> dict:
    def get(org: dict[str, Any], path: str) -> Any:
        auth = {"Authorization": f"Bearer {org['key']}"}
        url = f"/api/v2/o/{org['organisation'].pk}{path}"
        return lambda: load.Request("GET", url, headers=auth)

    def page(org: dict[str, Any], number: int) -> Any:
        after = cursor_before(org["ordered"], number)
        return get(org, f"/connections?first={PAGE}" + (f"&after={after}" if after else ""))

    return {
        "no-op GET /o/{id}": get(small, ""),
        "list 100, page 1 of 1k": page(small, 1),
        "list 100, page 1 of 100k": page(big, 1),
        "list 100, page 100 of 100k": page(big, 100),
        "access-token, 1 credential": get(small, f"/connections/{counts['1']}/access-token"),
        "access-token, 20 credentials": get(small, f"/connections/{counts['20']}/access-token"),
        "GET connection, 1 credential": get(small, f"/connections/{counts['1']}"),
        "GET connection, 20 credentials": get(small, f"/connections/{counts['20']}"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database (to inspect)")
    args = parser.parse_args()

    port = load._free_port()
    env = run.bench_env(port)
    os.environ.update(env)
    run.fresh_database(env)
    import django

    django.setup()
    started = time.perf_counter()
    small = seed_organisation("Small", args.small)
    big = seed_organisation("Big", args.big)
    counts = seed_credential_counts(small)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {args.small + args.big:,} connections in {time.perf_counter() - started:.1f} s")
    targets = scenarios(small, big, counts)

    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(args.workers), "--worker-class", "sync", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    names = list(targets)
    results = {name: load.Result(name) for name in names}
    paired: dict[str, list[float]] = {name: [] for name in names}
    try:
        load.wait_for(port, server)
        for name in names:  # warm up every worker and connection
            load.drive(port, targets[name], 1.0, args.concurrency, load.Result(name))
        baseline = results[names[0]]
        for _ in range(args.rounds):
            for name in names[1:]:
                load.drive(port, targets[names[0]], args.seconds, args.concurrency, baseline)
                paired[name].append(baseline.per_round[-1])
                load.drive(port, targets[name], args.seconds, args.concurrency, results[name])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(args, names, results, paired)
    if not args.keep:
        drop_database()


def drop_database() -> None:
    """The benchmark's database goes when it is done (it holds 100k rows)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(run.SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {run.DB_NAME} WITH (FORCE)")


def report(args: Any, names: list[str], results: dict, paired: dict) -> None:
    print(
        f"\ngunicorn {args.workers} sync workers, {args.concurrency} clients, {args.rounds} x "
        f"{args.seconds:g} s per scenario, PostgreSQL, {os.cpu_count()} cores; ratio: req/s "
        "over the no-op's run just before, median (min-max) over rounds\n"
    )
    print(f"{'scenario':<34}{'req/s':>8}{'p50 ms':>9}{'errors':>8}{'ratio':>8}{'min-max':>12}")
    median: dict[str, float] = {names[0]: 1.0}
    for name in names:
        r = results[name]
        ratios = load.round_ratios(r.per_round, paired[name]) if name != names[0] else [1.0]
        median[name] = statistics.median(ratios)
        print(
            f"{name:<34}{r.rps:>8.0f}{r.pct(0.5):>9.2f}{r.errors:>8}{median[name]:>8.2f}"
            f"{min(ratios):>6.2f}-{max(ratios):<5.2f}"
        )
    m = median
    checks = [
        (
            "list of 100 >= 0.25x the no-op (page 100 of 100k)",
            m["list 100, page 100 of 100k"],
            0.25,
        ),
        (
            "page 100 / page 1 (100k), ~1",
            m["list 100, page 100 of 100k"] / m["list 100, page 1 of 100k"],
            0.9,
        ),
        (
            "100k / 1k (page 1), ~1",
            m["list 100, page 1 of 100k"] / m["list 100, page 1 of 1k"],
            0.9,
        ),
        (
            "access-token: ratio at 20 / ratio at 1 >= 0.9",
            m["access-token, 20 credentials"] / m["access-token, 1 credential"],
            0.9,
        ),
        (
            "GET connection: ratio at 20 / ratio at 1 >= 0.9",
            m["GET connection, 20 credentials"] / m["GET connection, 1 credential"],
            0.9,
        ),
        ("access-token >= 0.8x the no-op (20 credentials)", m["access-token, 20 credentials"], 0.8),
    ]
    print()
    for label, value, target in checks:
        print(f"{label:<52}{value:>6.2f}  {'met' if value >= target else 'MISSED'}")


if __name__ == "__main__":
    sys.modules.setdefault("bench.run", run)
    main()
