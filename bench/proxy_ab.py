#!/usr/bin/env python
"""What the proxy costs: a proxied GET of a 1 KB answer beside the same GET sent straight to
the upstream, in one run (SPEC §9.1, issue 11's performance targets).

    .venv/bin/python bench/proxy_ab.py [--seconds 4] [--rounds 3] [--concurrency 4]

Seeds like ``bench/run.py`` into a database of its own (``patchbay_bench_proxy_<pid>``,
or ``BENCH_DB_NAME``; dropped at the end): an organisation, its API key, and two
connections to one loopback upstream (``bench/upstream_app.py`` under its own gunicorn,
1 KB of JSON), one with an api-key credential and one with an OAuth 2.0 token (fresh, so
no refresh is measured).
Patchbay runs under gunicorn with sync workers. Each round drives the upstream directly,
then each proxied connection, then Patchbay's authenticated no-op (``GET /o/{id}``, its
floor for any API call), ``--concurrency`` keep-alive clients each; ratios are taken
within a round. Latency is measured apart, one client at a time, so that it is the cost
of a request and not of a queue: "added p50" is proxied p50 minus direct p50.
Queries per proxied request are asserted by the test suite, not here.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.load as load  # noqa: E402
import bench.run as run  # noqa: E402

run.DB_NAME = run.database_name("bench_proxy")


def _seed(upstream_url: str) -> dict[str, Any]:
    import django

    django.setup()
    from connections.models import Connection, ConnectionCredential
    from connectors.models import AuthSchemeConfig, Connector
    from connectors.oauth2 import OAUTH2_DEFAULTS
    from credentials.models import Credential
    from organisations.keys import api_key_create
    from organisations.models import Organisation

    organisation = Organisation.objects.create(name="Proxy Bench")
    key = api_key_create(organisation=organisation, name="bench").key
    connector = Connector.objects.create(
        organisation=organisation, name="Upstream", base_url=upstream_url
    )
    schemes: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
        "api-key": ({"name": "X-Api-Key", "in": "header"}, "string", {"value": "bench-key"}),
        "oauth2": (
            {
                **OAUTH2_DEFAULTS,
                "authorizeUrl": "https://provider.example/authorize",
                "tokenUrl": "https://provider.example/token",
            },
            "oauth2-token",
            {"accessToken": "at", "tokenType": "Bearer", "scopes": [], "expiresAt": None},
        ),
    }
    ids: dict[str, Any] = {"organisation_id": str(organisation.pk), "key": key}
    for kind, (settings, credential_type, data) in schemes.items():
        config = AuthSchemeConfig.objects.create(
            organisation=organisation,
            connector=connector,
            config_id=kind,
            type=kind,
            settings=settings,
        )
        credential = Credential.objects.create(
            organisation=organisation, name=kind, type=credential_type, data=data
        )
        connection = Connection.objects.create(
            organisation=organisation, connector=connector, name=kind
        )
        ConnectionCredential.objects.create(
            connection=connection, auth_scheme_config=config, credential=credential
        )
        ids[kind] = str(connection.pk)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="Patchbay's gunicorn workers")
    args = parser.parse_args()

    port, upstream_port = load._free_port(), load._free_port()
    env = run.bench_env(port)
    os.environ.update(env)
    run.fresh_database(env)
    ids = _seed(f"http://127.0.0.1:{upstream_port}/v1")
    auth = {"Authorization": f"Bearer {ids['key']}"}
    org = ids["organisation_id"]

    def proxied(kind: str) -> Any:
        path = f"/api/v2/o/{org}/connections/{ids[kind]}/proxy/items?page=1"
        return lambda: load.Request("GET", path, headers=auth)

    targets = {
        "direct GET upstream": (upstream_port, lambda: load.Request("GET", "/v1/items?page=1")),
        "proxied GET (api-key)": (port, proxied("api-key")),
        "proxied GET (oauth2)": (port, proxied("oauth2")),
        "no-op GET /o/{id}": (port, lambda: load.Request("GET", f"/api/v2/o/{org}", headers=auth)),
    }
    upstream = run.gunicorn("bench.upstream_app", upstream_port, env, 1)
    patchbay = run.gunicorn("config.wsgi", port, env, args.workers)
    try:
        load.wait_for(port, patchbay)
        throughput = {name: load.Result(name) for name in targets}
        latency = {name: load.Result(name) for name in targets}
        for name, (target, make) in targets.items():  # warm up
            load.drive(target, make, 1.0, args.concurrency, load.Result(name))
        for _ in range(args.rounds):
            for name, (target, make) in targets.items():
                load.drive(target, make, args.seconds, args.concurrency, throughput[name])
            for name, (target, make) in targets.items():
                load.drive(target, make, args.seconds / 2, 1, latency[name])
    finally:
        for process in (patchbay, upstream):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    direct = throughput["direct GET upstream"]
    print(
        f"\nPatchbay: gunicorn {args.workers} sync workers; upstream: gunicorn 1 sync worker; "
        f"{args.concurrency} client processes for req/s, 1 for latency; "
        f"{args.rounds} x {args.seconds:g} s\n{load.machine_description(run.postgres_version())}"
        "\neach figure: median (min-max) over rounds\n"
    )
    print(f"{'':<24}{'req/s':>16}{'ratio':>18}{'p50 ms':>20}{'added p50 ms':>21}{'errors':>7}")
    direct_p50 = latency["direct GET upstream"].per_round_p50
    for name in targets:
        r = throughput[name]
        ratios = load.round_ratios(r.per_round, direct.per_round)
        p50 = latency[name].per_round_p50
        added = [mine - theirs for mine, theirs in zip(p50, direct_p50, strict=True)]
        print(
            f"{name:<24}{_triple(r.per_round, 0):>16}{_triple(ratios, 2):>18}"
            f"{_triple(p50, 2):>20}{_triple(added, 2):>21}{r.errors + latency[name].errors:>7}"
        )


def _triple(values: list[float], digits: int) -> str:
    low, mid, high = load.spread(values)
    return f"{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


if __name__ == "__main__":
    sys.modules.setdefault("bench.run", run)
    main()
