"""The tables of ``bench/run.py``: text for the terminal, and Markdown for README's
benchmark block, written between its markers by ``--readme`` (``make bench`` does).

Every figure is per round: its median with the lowest and highest round beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.load import Result, spread

START = "<!-- bench/run.py: start (make bench rewrites this block) -->"
END = "<!-- bench/run.py: end -->"


@dataclass
class Row:
    name: str
    result: Result
    ratios: list[float]  # per round, against the no-op run paired with it

    def figures(self) -> list[tuple[float, float, float]]:
        r = self.result
        return [
            spread(r.per_round),
            spread(r.per_round_p50),
            spread(r.per_round_p99),
            spread(r.per_round_cpu),
        ]


def _triple(values: tuple[float, float, float], digits: int) -> str:
    low, mid, high = values
    return f"{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def text(rows: list[Row], setup: str, machine: str, extra: list[str]) -> str:
    lines = [
        "",
        setup,
        machine,
        "each figure: median (min-max) over rounds; ratio: scenario req/s over the no-op's "
        "run just before it; CPU: gunicorn workers + PostgreSQL server processes",
        "",
        f"{'scenario':<34} {'req/s':>17} {'p50 ms':>22} {'p99 ms':>24} "
        f"{'CPU us/req':>20} {'errors':>6} {'ratio':>18}",
    ]
    for row in rows:
        rps, p50, p99, cpu = row.figures()
        lines.append(
            f"{row.name:<34} {_triple(rps, 0):>17} {_triple(p50, 1):>22} {_triple(p99, 1):>24} "
            f"{_triple(cpu, 0):>20} {row.result.errors:>6} {_triple(spread(row.ratios), 2):>18}"
        )
    lines += [line for line in extra if line]
    return "\n".join(lines)


def markdown(rows: list[Row], setup: str, machine: str, floor: str) -> str:
    out = [
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {setup}.",
        f"Machine: {machine}.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | errors | ratio to the no-op |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        rps, p50, p99, cpu = row.figures()
        out.append(
            f"| {row.name} | {_triple(rps, 0)} | {_triple(p50, 1)} | {_triple(p99, 1)} "
            f"| {_triple(cpu, 0)} | {row.result.errors} | {_triple(spread(row.ratios), 2)} |"
        )
    if floor:
        out += ["", floor[0].upper() + floor[1:] + "."]
    return "\n".join(out)


def write_readme(path: Path, table: str, full_text: str) -> None:
    """Replace what lies between README's markers with this run's table and full output."""
    readme = path.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{path} has no benchmark block ({START} ... {END}).")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    block = f"{START}\n{table}\n\nThe whole output of that run:\n\n```text{full_text}\n```\n{END}"
    path.write_text(head + block + tail)
    print(f"\nwrote the table into {path}")
