#!/usr/bin/env python
"""Lists and credential counts: what a page costs beside the cheapest endpoint.

    .venv/bin/python bench/lists.py                       # 1k and 100k connections
    .venv/bin/python bench/lists.py --big 20000 --seconds 3

Seeds a fresh PostgreSQL database of its own (``BENCH_DB_NAME``, default
``patchbay_lists_<pid>``, dropped at exit) with two organisations, one of ``--small``
(1,000) and one of ``--big`` (100,000) connections, each linked to a credential (made by
PostgreSQL from ``generate_series``; then ``ANALYZE``, as autovacuum does within a minute
of such an import: with no statistics at all PostgreSQL takes ``connection_id IN (100
ids)`` for half the table and hashes all of it), and in the small one a connection with 1
credential and one with 20 (the cap). Then, under gunicorn, every scenario runs right
after a run of the cheapest authenticated endpoint (``GET /api/v2/o/{id}``) and its ratio
is taken against that run (drift on a shared machine hits both sides alike), over
``--rounds`` rounds:

* ``GET connections?first=100``: page 1 of 1k, page 1 and page 100 of 100k;
* access-token and ``GET connection`` with 1 and with 20 credentials.

Prints req/s, p50, p99 and the ratio (median, min-max over the rounds), the gunicorn
workers' CPU per request as a multiple of the no-op's (from /proc: steadier than req/s on
a shared machine), then the targets of issue 12 computed from the median ratios.
"""

from __future__ import annotations

import argparse
import os
import signal
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

run.DB_NAME = run.database_name("lists")
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


def _insert_select(model: Any, values: dict[str, str], tail: str, params: list[Any]) -> None:
    """``INSERT INTO model (every column) SELECT values… tail``: rows made by PostgreSQL."""
    from django.db import connection

    columns = [f.column for f in model._meta.concrete_fields]
    assert set(columns) == set(values), f"{model.__name__}: {sorted(columns)}"
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, columns))})"
        f" SELECT {', '.join(values[c] for c in columns)} {tail}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


POOL = 1_000  # credentials the connections of an organisation share, in turn


def seed_organisation(name: str, rows: int) -> dict[str, Any]:
    """An organisation with ``rows`` connections, each linked to one of ``POOL`` api-key
    credentials. The credentials are sealed here (bound to their rows); the connections
    and links are made by PostgreSQL from ``generate_series`` (100k in seconds)."""
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
    pool = [
        Credential(
            pk=uuid.uuid4(),
            organisation=organisation,
            name=f"k{i}",
            type="string",
            data={"value": f"secret-{i}"},
            public={},
            created_at=start,
        )
        for i in range(min(POOL, rows))
    ]
    copy_rows(Credential, pool)
    _insert_select(
        Connection,
        {
            "id": "gen_random_uuid()",
            "organisation_id": "%s",
            "connector_id": "%s",
            "name": "'c' || i",
            "base_url": "''",
            "connection_template_id": "''",
            "status": "'active'",
            "end_user_id": "NULL",
            "verified_at": "NULL",
            "verification_status": "NULL",
            "verification_valid": "NULL",
            "created_at": "%s::timestamptz + i * interval '1 second'",
            "updated_at": "now()",
        },
        "FROM generate_series(0, %s) AS i",
        [organisation.pk, connector.pk, start, rows - 1],
    )
    credentials = Credential._meta.db_table
    connections = Connection._meta.db_table
    _insert_select(
        ConnectionCredential,
        {
            "id": "gen_random_uuid()",
            "connection_id": "c.id",
            "auth_scheme_config_id": "%s",
            "credential_id": "k.id",
            "client_credential_id": "NULL",
            "position": "0",
        },
        f"FROM (SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM {connections}"
        " WHERE organisation_id = %s) AS c"
        f" JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS m FROM {credentials}"
        " WHERE organisation_id = %s) AS k ON k.m = c.n %% %s",
        [config.pk, organisation.pk, organisation.pk, len(pool)],
    )
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
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds: at least 3, so that each figure has a min, median and max")

    load_before = os.getloadavg()[0]
    port = load._free_port()
    env = run.bench_env(port)
    os.environ.update(env)
    run.fresh_database(env)  # dropped again at exit
    import django

    django.setup()
    started = time.perf_counter()
    small = seed_organisation("Small", args.small)
    big = seed_organisation("Big", args.big)
    counts = seed_credential_counts(small)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    print(f"seeded {args.small + args.big:,} connections in {time.perf_counter() - started:.1f} s")
    targets = scenarios(small, big, counts)
    connection.close()  # the client processes are forked from this one

    server = run.gunicorn("config.wsgi", port, env, args.workers)
    names = list(targets)
    results = {name: load.Result(name) for name in names}
    paired: dict[str, list[float]] = {name: [] for name in names}
    paired_cpu: dict[str, list[float]] = {name: [] for name in names}
    try:
        load.wait_for(port, server)
        for name in names:  # warm up every worker and connection
            load.drive(port, targets[name], 1.0, args.concurrency, load.Result(name))
        # Server CPU per request, as bench/run.py takes it: gunicorn's workers and the
        # database's server processes (the load generator's are apart).
        backends = run.backend_pids(run.DB_NAME)

        def server_cpu() -> float:
            return load.worker_cpu_seconds(server.pid) + load.process_cpu_seconds(backends)

        baseline = results[names[0]]
        for _ in range(args.rounds):
            for name in names[1:]:
                load.drive(
                    port, targets[names[0]], args.seconds, args.concurrency, baseline, server_cpu
                )
                paired[name].append(baseline.per_round[-1])
                paired_cpu[name].append(baseline.per_round_cpu[-1])
                load.drive(
                    port, targets[name], args.seconds, args.concurrency, results[name], server_cpu
                )
        cpu = {
            name: load.round_ratios(results[name].per_round_cpu, paired_cpu[name])
            for name in names[1:]
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(args, names, results, paired, cpu, load_before)


def report(
    args: Any,
    names: list[str],
    results: dict[str, Any],
    paired: dict[str, list[float]],
    cpu: dict[str, list[float]],
    load_before: float,
) -> None:
    from bench import report as tables

    rows = [
        tables.Row(
            name,
            results[name],
            load.round_ratios(results[name].per_round, paired[name])
            if name != names[0]
            else [1.0] * args.rounds,
        )
        for name in names
    ]
    setup = (
        f"gunicorn {args.workers} sync workers, {args.concurrency} client processes, "
        f"{args.rounds} rounds x {args.seconds:g} s per scenario; {args.small:,} and "
        f"{args.big:,} connections"
    )
    machine = load.machine_description(run.postgres_version(), load_before)
    cpu_lines = ["", "server CPU per request, as a multiple of the no-op run just before it:"]
    for name in names[1:]:
        low, mid, high = load.spread(cpu[name])
        cpu_lines.append(f"  {name:<34}{mid:>6.2f}x ({low:.2f}-{high:.2f})")
    print(tables.text(rows, setup, machine, cpu_lines))
    m = {row.name: load.spread(row.ratios)[1] for row in rows}
    checks = [
        ("list of 100 (page 100 of 100k) / no-op >= 0.25", m["list 100, page 100 of 100k"], 0.25),
        (
            "page 100 / page 1 of 100k, ~1",
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
        ("access-token (20 credentials) / no-op >= 0.8", m["access-token, 20 credentials"], 0.8),
    ]
    print("\ntargets (issue 12), from the median ratios above:")
    for label, value, target in checks:
        print(f"  {label:<52}{value:>6.2f}  {'met' if value >= target else 'MISSED'}")


if __name__ == "__main__":
    sys.modules.setdefault("bench.run", run)
    main()
