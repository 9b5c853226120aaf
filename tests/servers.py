"""Patchbay served by real gunicorn processes with the production settings
(``config.settings``) on the test database, for tests that need more than one process or
the production server's own threads."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.demo.server import ROOT, free_port, wait_until_healthy


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a Patchbay process with the production settings on the test
    database (``extra`` on top)."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PATCHBAY_ENV_FILE": str(tmp_path / "no.env"),
        "SECRET_KEY": settings.SECRET_KEY,  # API keys are peppered with it
        "PATCHBAY_ENCRYPTION_KEYS": settings.PATCHBAY_ENCRYPTION_KEYS,
        "DATABASE_URL": database_url(),
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "0",
        **extra,
    }


@contextmanager
def gunicorn(
    tmp_path: Path, extra: dict[str, str], *, options: tuple[str, ...] = ()
) -> Iterator[str]:
    """A gunicorn serving ``config.wsgi`` on a free port (its URL is yielded); ``extra``
    are environment settings, ``options`` gunicorn's own (``--worker-class gthread``...)."""
    port = free_port()
    env = server_env(tmp_path, extra)
    log = open(tmp_path / f"gunicorn-{port}.log", "w+")  # noqa: SIM115 - closed below
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, *options], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, url, Path(log.name))
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@contextmanager
def in_thread(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve ``server`` from a daemon thread until the block ends, then close it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
