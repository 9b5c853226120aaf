"""The demo as ``make run`` serves it: the Makefile's RUN_ENV settings, a SQLite file and a
real ``manage.py runserver`` subprocess, never the test settings or the checkout's .env."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def makefile_run_env(port: int) -> dict[str, str]:
    """The Makefile's RUN_ENV, read from the Makefile itself so the two cannot drift."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^RUN_ENV := (.*?)(?<!\\)\n", text, re.MULTILINE | re.DOTALL)
    assert match, "no RUN_ENV in the Makefile"
    assignments = match.group(1).replace("\\\n", " ").replace("$(HOST)", "127.0.0.1")
    assignments = assignments.replace("$(PORT)", str(port))
    env = dict(item.split("=", 1) for item in assignments.split())
    assert "$(" not in "".join(env.values()), env
    return env


def wait_until_healthy(server: subprocess.Popen[Any], url: str, log: Path) -> None:
    """Until ``url``'s ``/healthz`` answers 200 (a minute at most); fails with the server's
    log if it exits first."""
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, log.read_text()
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting
            pass
        assert time.monotonic() < deadline, f"{url} did not start"
        time.sleep(0.2)


@dataclass
class DemoEnv:
    """The environment of one demo install in ``tmp_path``."""

    tmp_path: Path
    port: int
    extra: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env_file(self) -> Path:
        return self.tmp_path / "demo.env"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            **makefile_run_env(self.port),
            "DATABASE_URL": f"sqlite:///{self.tmp_path / 'demo.sqlite3'}",
            "PATCHBAY_ENV_FILE": str(self.env_file),
            **self.extra,
        }

    def manage(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @contextmanager
    def runserver(self) -> Iterator[subprocess.Popen[str]]:
        log = open(self.tmp_path / "runserver.log", "w+")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_healthy(server, self.url, self.tmp_path / "runserver.log")
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()

    def log(self) -> str:
        return (self.tmp_path / "runserver.log").read_text()
