#!/usr/bin/env python
"""A small mutation check of the security core, run by hand (not in CI).

    .venv/bin/python bench/mutation.py              # ~40 mutants per module, a few minutes
    .venv/bin/python bench/mutation.py --max 0      # every mutant (an hour or more)
    .venv/bin/python bench/mutation.py --module outbound --show 20

mutmut (3.x) mutates the outbound seam (``core/outbound.py``), the key ring
(``core/crypto.py``) and the OAuth callback (``connections/oauth/callback.py``),
and runs, for each mutant, the tests that cover the mutated function (``-x``,
SQLite, ``--timeout`` seconds per mutant). A mutant the tests do not notice
"survived": a change to security code no test would catch.

The checkout is never touched: the tracked and untracked-but-not-ignored files
of the working tree are copied into a temporary directory, mutmut's settings are
added to that copy's ``pyproject.toml`` and mutmut runs there. mutmut makes
hundreds of mutants per module (many of them change only a message's text), so
the run is bounded: after generating them all, a fixed sample of ``--max`` per
module is drawn, spread over every function (``--seed`` makes it repeatable).
Prints killed/survived per module, the score, and the diff of each survivor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    tests: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


TARGETS = (
    Target("outbound", "core/outbound.py", ("tests/test_outbound.py",)),
    Target("crypto", "core/crypto.py", ("tests/test_encryption.py",)),
    Target(
        "callback",
        "connections/oauth/callback.py",
        ("tests/connections/test_callback.py", "tests/connections/test_refusals.py"),
    ),
)


def _copy_tree(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        name = raw.decode()
        source = ROOT / name
        if not name or name.startswith(".venv") or not source.is_file() or source.is_symlink():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _configure(tree: Path, targets: list[Target], timeout: float) -> None:
    tests = sorted({t for target in targets for t in target.tests if (tree / t).exists()})
    top_level = sorted(
        p.name for p in tree.iterdir() if p.name not in ("mutants", "pyproject.toml", ".git")
    )
    with (tree / "pyproject.toml").open("a") as config:
        config.write(
            "\n[tool.mutmut]\n"
            f"source_paths = {json.dumps([t.path for t in targets])}\n"
            f"also_copy = {json.dumps(top_level)}\n"
            f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'
            # mutmut cuts a mutant after (its tests' time + constant) x multiplier of wall
            # time; every mutant's run sets up a fresh test database first, which takes
            # seconds, so the constant must cover that or every mutant "times out".
            f"timeout_constant = {timeout}\n"
            "timeout_multiplier = 1.0\n"
        )


def _mutmut(tree: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tree / 'mutation.sqlite3'}",
        "CI": "",  # browser tests skip, never fail, in a mutation run
    }
    mutmut = Path(sys.executable).with_name("mutmut")
    done = subprocess.run(
        [str(mutmut), *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"mutmut {args[0]} failed ({done.returncode})")
    return done


def _all_mutants(tree: Path, target: Target) -> list[str]:
    meta = tree / "mutants" / f"{target.path}.meta"
    return sorted(json.loads(meta.read_text())["exit_code_by_key"])


def _sample(names: list[str], limit: int, rng: random.Random) -> list[str]:
    """Up to ``limit`` mutants, round-robin over the functions so each one gets its share."""
    if limit <= 0 or len(names) <= limit:
        return names
    by_function: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_function[name.rsplit("__mutmut_", 1)[0]].append(name)
    pools = [rng.sample(group, len(group)) for _, group in sorted(by_function.items())]
    chosen: list[str] = []
    while len(chosen) < limit:
        for pool in pools:
            if pool and len(chosen) < limit:
                chosen.append(pool.pop())
    return sorted(chosen)


def _statuses(tree: Path) -> dict[str, str]:
    out = _mutmut(tree, "results", "--all", "true").stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=40, help="mutants per module (0: all)")
    parser.add_argument("--seed", type=int, default=1, help="which sample (same seed, same run)")
    parser.add_argument(
        "--module", action="append", choices=[t.name for t in TARGETS], help="repeatable"
    )
    parser.add_argument("--show", type=int, default=10, help="diffs of survivors to print")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a mutant's tests may take (wall)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.module or t.name in args.module]

    tree = Path(tempfile.mkdtemp(prefix="patchbay-mutation-"))
    started = time.monotonic()
    try:
        _copy_tree(tree)
        _configure(tree, targets, args.timeout)
        # Generate every mutant and map tests to functions; the pattern matches none, so
        # mutmut stops there (with an error we expect) before testing any.
        _mutmut(tree, "run", "patchbay.generate-only", check=False)
        rng = random.Random(args.seed)
        chosen = {t.name: _sample(_all_mutants(tree, t), args.max, rng) for t in targets}
        names = [name for t in targets for name in chosen[t.name]]
        print(f"{len(names)} mutants sampled in {tree}", flush=True)
        _mutmut(tree, "run", *names)
        statuses = _statuses(tree)

        header = ("module", "killed", "timeout", "survived", "no tests")
        print("\n{:<10} {:>7} {:>8} {:>9} {:>9}  score".format(*header))
        detected_total = tested_total = 0
        survivors: list[str] = []
        for target in targets:
            counts: dict[str, int] = defaultdict(int)
            for name in chosen[target.name]:
                status = statuses.get(name, "not checked")
                counts[status] += 1
                if status == "survived":
                    survivors.append(name)
            detected = counts["killed"] + counts["timeout"]  # a mutant that hangs is caught
            tested = detected + counts["survived"]
            detected_total += detected
            tested_total += tested
            score = f"{100 * detected / tested:.0f}%" if tested else "-"
            print(
                f"{target.name:<10} {counts['killed']:>7} {counts['timeout']:>8}"
                f" {counts['survived']:>9} {counts['no tests']:>9}  {score}"
            )
            shown = ("killed", "timeout", "survived", "no tests")
            others = {k: v for k, v in counts.items() if k not in shown}
            if others:
                print(f"{'':<10} also: {others}")
        if tested_total:
            total = f"{detected_total}/{tested_total} = {100 * detected_total / tested_total:.0f}%"
            print(f"\nscore: {total} caught, in {time.monotonic() - started:.0f} s")
        for name in survivors[: args.show]:
            print(f"\n--- survived: {name}")
            print(_mutmut(tree, "show", name).stdout.strip())
        return 0
    finally:
        if args.keep:
            print(f"\nkept {tree}")
        else:
            shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
