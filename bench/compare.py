#!/usr/bin/env python
"""Before and after, side by side in one run: this checkout against another revision.

    .venv/bin/python bench/compare.py --base 3ced191           # or a branch, a tag
    .venv/bin/python bench/compare.py --base main~5 --only "GET connection"
    .venv/bin/python bench/compare.py --base 3ced191 --head cbf7e35  # two revisions

The revision is checked out into a temporary ``git worktree`` (removed at the end). Each
side gets a database of its own (``patchbay_compare_base`` / ``_head`` on the server in
``BENCH_DATABASE_URL``), migrated and seeded by its own ``bench/run.py`` — in a child
process per side, started in that side's checkout, which stays alive for the run so that
anything its scenarios serve (an upstream on loopback) keeps serving. Each side then runs
under its own gunicorn (the same settings as ``make bench``), and every scenario both sides
have is driven on one, then at once on the other, round after round (the order swapped
each round). Printed per scenario: req/s and p50 of each, the median (range) of the
per-round req/s ratios head/base, and the gunicorn workers' CPU time per request (user +
system, from ``/proc``), which drifts far less than req/s when the machine is shared.

The requests replayed are those each side's scenario factories make (all of them are the
same request every time, as in ``make bench``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.run as run  # noqa: E402
from bench import load  # noqa: E402

# Run in a side's own checkout (its bench/run.py): seed, build the scenarios, print them as
# one JSON line, then stay alive until stdin closes.
_SETUP = r"""
import base64, json, os, sys
sys.path.insert(0, os.getcwd())
import bench.run as run
sys.modules.setdefault("bench.run", run)
run.load_extensions()
ctx = run.seed()
ctx["port"] = int(os.environ["COMPARE_PORT"])
out = []
for factory in run.SCENARIO_FACTORIES:
    for name, make in factory(ctx):
        r = make()
        out.append({"name": name, "method": r.method, "path": r.path, "headers": r.headers,
                    "body": base64.b64encode(r.body).decode() if r.body else None})
print("SCENARIOS " + json.dumps(out), flush=True)
sys.stdin.read()
"""


class Side:
    def __init__(self, label: str, checkout: Path, workers: int) -> None:
        self.label, self.checkout, self.workers = label, checkout, workers
        self.port = run._free_port()
        self.db = f"patchbay_compare_{label}_{os.getpid()}"
        self.env = {**run.bench_env(self.port), "COMPARE_PORT": str(self.port)}
        self.env["DATABASE_URL"] = f"{run.SERVER_URL.rsplit('/', 1)[0]}/{self.db}"
        self.setup: subprocess.Popen[str] | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.requests: dict[str, run.Request] = {}

    def prepare(self) -> None:
        import psycopg

        with psycopg.connect(run.SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.db}")
        print(f"== {self.label}: migrating and seeding {self.checkout}", flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=self.checkout,
            env=self.env,
            check=True,
        )
        self.setup = subprocess.Popen(
            [sys.executable, "-c", _SETUP],
            cwd=self.checkout,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.setup.stdout is not None
        for line in self.setup.stdout:  # anything the seed prints first is passed over
            if line.startswith("SCENARIOS "):
                break
        else:
            raise SystemExit(f"{self.label}: seeding failed; see its output above.")
        for item in json.loads(line.removeprefix("SCENARIOS ")):
            body = base64.b64decode(item["body"]) if item["body"] else None
            self.requests[item["name"]] = run.Request(
                item["method"], item["path"], body=body, headers=item["headers"]
            )
        command = [sys.executable, "-m", "gunicorn", "config.wsgi"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]
        command += ["--worker-class", "sync", "--log-level", "warning"]
        self.server = subprocess.Popen(command, cwd=self.checkout, env=self.env)
        run.wait_for(self.port, self.server)

    def stop(self) -> None:
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=30)
        if self.setup is not None and self.setup.stdin is not None:
            self.setup.stdin.close()
            self.setup.wait(timeout=30)
        run.drop_database(self.db)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--head", default="", help="a revision (default: this working tree)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario, side, round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per side")
    parser.add_argument("--only", default="", help="only scenarios whose name contains this")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="patchbay-compare-"))
    worktree = tmp / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree), args.base],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    head_tree = ROOT
    if args.head:
        head_tree = tmp / "head"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(head_tree), args.head],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    sides = [Side("base", worktree, args.workers), Side("head", head_tree, args.workers)]
    results: dict[tuple[str, str], run.Result] = {}
    cpu: dict[tuple[str, str], float] = {}
    try:
        for side in sides:
            side.prepare()
        names = [n for n in sides[1].requests if n in sides[0].requests and args.only in n]
        for side in sides:
            for name in names:  # warm up
                req = side.requests[name]
                run.drive(side.port, lambda r=req: r, 0.5, args.concurrency, run.Result(name))
        for i in range(args.rounds):
            for name in names:
                for side in sides if i % 2 == 0 else sides[::-1]:
                    assert side.server is not None
                    req = side.requests[name]
                    key = (name, side.label)
                    result = results.setdefault(key, run.Result(name))
                    before = load.worker_cpu_seconds(side.server.pid)
                    run.drive(side.port, lambda r=req: r, args.seconds, args.concurrency, result)
                    cpu[key] = cpu.get(key, 0.0) + load.worker_cpu_seconds(side.server.pid) - before
    finally:
        for side in sides:
            side.stop()
        for tree in {worktree, head_tree} - {ROOT}:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )

    head_rev = args.head or (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        + " (working tree)"
    )
    print(
        f"\nbase {args.base} vs head {head_rev}: gunicorn {args.workers} sync "
        f"worker(s) each, {args.concurrency} clients, {args.rounds} x {args.seconds:g} s, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'scenario':<34}{'base r/s':>9}{'head r/s':>9}{'head/base':>10}{'range':>12}"
        f"{'base p50':>9}{'head p50':>9}{'CPU µs base':>12}{'head':>7}{'ratio':>7}"
    )
    for name in names:
        base, head = results[name, "base"], results[name, "head"]
        ratios = [h / b for h, b in zip(head.per_round, base.per_round, strict=True) if b]
        per: dict[str, float] = {}
        for label, r in (("base", base), ("head", head)):
            per[label] = cpu[name, label] / max(1, len(r.latencies)) * 1e6
        errors = f"  errors {base.errors}/{head.errors}" if base.errors or head.errors else ""
        print(
            f"{name:<34}{base.rps:>9.0f}{head.rps:>9.0f}{statistics.median(ratios):>10.2f}"
            f"{min(ratios):>6.2f}-{max(ratios):<5.2f}{base.pct(0.5):>9.2f}{head.pct(0.5):>9.2f}"
            f"{per['base']:>12.0f}{per['head']:>7.0f}{per['head'] / per['base']:>7.2f}{errors}"
        )


if __name__ == "__main__":
    main()
