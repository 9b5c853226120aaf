#!/usr/bin/env python
"""Does ``core.rows`` earn its keep? Its two hand-written reads against the ORM, whole
endpoint, side by side in one run.

    .venv/bin/python bench/rows_ab.py [--seconds 4] [--rounds 5]

Seeds like ``bench/run.py`` (its database name, or ``BENCH_DB_NAME``), then starts two
gunicorn servers on the same database: one as shipped, one with ``bench/orm_reads.py``
as its config, which swaps the two reads ``core.rows`` writes by hand (the embed session
lookup every embed request authenticates with, and the hub initialise's config-and-client
read) for the plain ORM queries they stand for. Each round drives each endpoint on one
server, then at once on the other; the ratio is taken within the round. Prints req/s,
p50, the worker's CPU time per request (user + system, from /proc: far less sensitive
than req/s to what else the machine is doing) and the median (and range) of the
per-round req/s ratios.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402
from bench import load  # noqa: E402

run.DB_NAME = run.database_name("rows_ab")


def _gunicorn(port: int, env: dict[str, str], config: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--log-level", "warning"]
    if config:
        command += ["--config", config]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    ports = {"core.rows": run._free_port(), "ORM": run._free_port()}
    env = run.bench_env(ports["core.rows"])
    os.environ.update(env)
    run.fresh_database(env)
    ctx = run.seed()

    from bench.scenarios_embed import embed_scenarios

    # The hub, end user, session and requests of bench/run.py's embed scenarios.
    endpoints = dict(embed_scenarios(ctx))
    servers = {
        "core.rows": _gunicorn(ports["core.rows"], env, None),
        "ORM": _gunicorn(ports["ORM"], env, str(ROOT / "bench" / "orm_reads.py")),
    }
    results = {(e, s): run.Result(e) for e in endpoints for s in servers}
    cpu = {(e, s): 0.0 for e in endpoints for s in servers}
    try:
        for server, proc in servers.items():
            run.wait_for(ports[server], proc)
            for make in endpoints.values():
                run.drive(ports[server], make, 1.0, args.concurrency, run.Result("warm-up"))
        for i in range(args.rounds):
            for endpoint, make in endpoints.items():
                # Alternate which server goes first, so neither always has the warmer cache.
                order = list(servers) if i % 2 == 0 else list(reversed(servers))
                for server in order:
                    before = load.worker_cpu_seconds(servers[server].pid)
                    run.drive(
                        ports[server],
                        make,
                        args.seconds,
                        args.concurrency,
                        results[endpoint, server],
                    )
                    cpu[endpoint, server] += load.worker_cpu_seconds(servers[server].pid) - before
    finally:
        for proc in servers.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)

    print(
        f"\ntwo gunicorn servers (1 sync worker each) on one PostgreSQL database, "
        f"{args.concurrency} clients, {args.rounds} x {args.seconds:g} s, {os.cpu_count()} cores"
    )
    print(
        f"{'endpoint':<28}{'server':>11}{'req/s':>9}{'p50 ms':>9}{'CPU µs/req':>12}"
        f"{'errors':>8}{'rows/ORM req/s':>16}{'range':>12}"
    )
    for endpoint in endpoints:
        rows, orm = results[endpoint, "core.rows"], results[endpoint, "ORM"]
        ratios = [a / b for a, b in zip(rows.per_round, orm.per_round, strict=True)]
        for server, r in (("core.rows", rows), ("ORM", orm)):
            last = (
                f"{statistics.median(ratios):>16.2f}{min(ratios):>7.2f}-{max(ratios):.2f}"
                if server == "core.rows"
                else ""
            )
            per = cpu[endpoint, server] / max(1, len(r.latencies)) * 1e6
            print(
                f"{endpoint:<28}{server:>11}{r.rps:>9.0f}{r.pct(0.5):>9.2f}{per:>12.0f}"
                f"{r.errors:>8}{last}"
            )
        orm_cpu = cpu[endpoint, "ORM"] / max(1, len(orm.latencies))
        rows_cpu = cpu[endpoint, "core.rows"] / max(1, len(rows.latencies))
        print(f"{'':<28}{'':>11}  ORM costs {orm_cpu / rows_cpu:.2f}x the CPU per request")


if __name__ == "__main__":
    main()
