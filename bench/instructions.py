#!/usr/bin/env python
"""Instructions per request of one ``make bench`` scenario, counted by valgrind's callgrind:
the same on a quiet machine and a loaded one, where req/s and even CPU time swing.

    .venv/bin/python bench/instructions.py --scenario initialise               # this checkout
    git worktree add /tmp/base 3ced191
    .venv/bin/python bench/instructions.py --scenario initialise . /tmp/base    # side by side

For each checkout (a directory) it runs that checkout's own code in a child process under
callgrind twice — 30 warm-up requests, then 30 + ``--requests`` — through the WSGI app
in-process (no server, no client), on a fresh database of its own (``patchbay_ir_<pid>``,
dropped at the end) seeded by that checkout's ``bench/run.py``, and prints the difference
divided by ``--requests``. Needs ``valgrind`` (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import io, os, sys
root = os.environ["IR_ROOT"]; sys.path.insert(0, root); os.chdir(root)
import bench.run as run
run.DB_NAME = os.environ["IR_DB"]
env = run.bench_env(8999); os.environ.update(env)
import psycopg
server = env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
with psycopg.connect(server, autocommit=True) as conn:
    conn.execute(f"DROP DATABASE IF EXISTS {run.DB_NAME} WITH (FORCE)")
    conn.execute(f"CREATE DATABASE {run.DB_NAME}")
try:
    import django; django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    ctx = run.seed()
    from django.core.wsgi import get_wsgi_application
    app = get_wsgi_application()
    run.load_extensions()
    make = dict(s for f in run.SCENARIO_FACTORIES for s in f(ctx))[os.environ["IR_SCENARIO"]]
    statuses = []
    for _ in range(int(sys.argv[1])):
        req = make()
        body = req.body or b""
        path, _, query = req.path.partition("?")
        environ = {"REQUEST_METHOD": req.method, "PATH_INFO": path, "QUERY_STRING": query,
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8999",
                   "HTTP_HOST": "127.0.0.1:8999", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
                   "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
                   "CONTENT_LENGTH": str(len(body))}
        if body:
            environ["CONTENT_TYPE"] = "application/json"
        for name, value in req.headers.items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
        answer = app(environ, lambda status, headers, exc=None: statuses.append(status))
        b"".join(answer)
        answer.close()
    assert statuses[-1][:1] in "23", statuses[-1]
finally:
    from django.db import connections
    connections.close_all()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {run.DB_NAME} WITH (FORCE)")
"""


def instructions(checkout: Path, scenario: str, requests: int) -> int:
    """Instructions callgrind counted for a child that makes ``requests`` requests."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {
            **os.environ,
            "IR_ROOT": str(checkout),
            "IR_DB": f"patchbay_ir_{os.getpid()}",
            "IR_SCENARIO": scenario,
        }
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        command += [sys.executable, "-c", CHILD, str(requests)]
        done = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or not found:
            raise SystemExit(f"{checkout}: callgrind run failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="*", default=["."], help="directories (default: .)")
    parser.add_argument("--scenario", default="initialise", help="a make bench scenario name")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    first: float | None = None
    print(f"{args.scenario}: instructions per request (callgrind, {args.requests} requests)")
    for checkout in args.checkouts:
        path = Path(checkout).resolve()
        warm = instructions(path, args.scenario, 30)
        total = instructions(path, args.scenario, 30 + args.requests)
        per = (total - warm) / args.requests
        first = first or per
        print(f"  {path}: {per / 1e6:.2f} M  ({per / first:.2f}x the first)")


if __name__ == "__main__":
    main()
