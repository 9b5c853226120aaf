"""``make run`` and ``make test`` as a newcomer meets them (the Makefile itself, run by make)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo import ports

ROOT = Path(__file__).resolve().parent.parent

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something is listening on, as a running `make run` would be."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@needs_make
@pytest.mark.parametrize("busy", ["PORT", "DEMO_HOST_PORT"])
def test_a_second_make_run_stops_at_a_busy_port_with_one_line_before_loading_anything(
    busy: str, taken: int, tmp_path: Path
) -> None:
    database = tmp_path / "demo.sqlite3"
    ports_ = {"PORT": str(free_port()), "DEMO_HOST_PORT": str(free_port()), busy: str(taken)}
    # `-o` keeps make from (re)installing into the shared virtualenv whatever happens.
    result = make(
        "-o",
        ".venv/.installed",
        "run",
        *(f"{name}={value}" for name, value in ports_.items()),
        env={
            "DATABASE_URL": f"sqlite:///{database}",
            "PATCHBAY_ENV_FILE": str(tmp_path / "demo.env"),
        },
    )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert ours == [
        f"Port {taken} on 127.0.0.1 is already in use (is `make run` already running?): "
        f"stop it, or choose another port with `make run {busy}=…`."
    ]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""  # nothing migrated, loaded or served
    assert not database.exists()
    assert not (tmp_path / "demo.env").exists()


def test_the_port_check_needs_no_django(taken: int) -> None:
    free = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "demo.ports", f"PORT=127.0.0.1:{free}", f"X=127.0.0.1:{taken}"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"Port {taken} on 127.0.0.1 is already in use" in result.stderr
    assert ports.main([f"PORT=127.0.0.1:{free}"]) == 0


@needs_make
@pytest.mark.parametrize("target", ["install", "install-dev"])
def test_installing_says_what_it_does_and_lets_pip_show_its_progress(
    target: str, tmp_path: Path
) -> None:
    # -n: print the recipe a fresh checkout would run, run nothing.
    result = make("-n", f"VENV={tmp_path / 'venv'}", target)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    pip = [i for i, line in enumerate(lines) if "/pip install" in line]
    assert len(pip) == 2  # pip itself, then Patchbay
    for i in pip:
        assert "--quiet" not in lines[i]
        assert " -q" not in lines[i]
        assert lines[i - 1].startswith('echo "==> '), lines[i - 1]
    assert lines[0].startswith('echo "==> Creating the virtualenv')
