"""A 50 MB answer passes through a real Patchbay server process without being held in memory.

Patchbay runs as ``manage.py runserver`` in a subprocess on the test database; its memory
is read from ``/proc/<pid>/status`` (VmRSS) while the answer streams through it. Memory is
measured, not time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection as db_connection

from tests.demo.server import free_port
from tests.proxy.conftest import Reply, api_key_connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

ROOT = Path(__file__).resolve().parent.parent.parent
SIZE = 50 * 1024 * 1024
MB = 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def patchbay_process(tmp_path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    settings = db_connection.settings_dict
    database = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database,
        "PYTHONUNBUFFERED": "1",
    }
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--nothreading",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "runserver did not start"
            time.sleep(0.2)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _fifty_megabytes() -> Iterator[bytes]:
    block = os.urandom(MB)
    for _ in range(SIZE // MB):
        yield block


def test_a_50_mb_answer_streams_through_with_little_memory(alice, upstream, patchbay_process):
    url, server = patchbay_process
    connection, _key = api_key_connection(alice, upstream.url)
    proxied = f"{url}/api/v2/o/{alice.org_id}/connections/{connection.pk}/proxy/big"
    headers = {"Authorization": f"Bearer {alice.key}"}
    upstream.reply(lambda seen: Reply(200, body=b"warm" * 256))
    assert requests.get(proxied, headers=headers, timeout=30).status_code == 200  # imports, pools
    baseline = _rss(server.pid)
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss(server.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    upstream.reply(
        lambda seen: Reply(200, headers=[("Content-Length", str(SIZE))], body=_fifty_megabytes())
    )
    received = 0
    with requests.get(proxied, headers=headers, stream=True, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["Patchbay-Proxy"] == "upstream"
        assert response.headers["Content-Length"] == str(SIZE)
        for chunk in response.iter_content(chunk_size=MB):
            received += len(chunk)
    done.set()
    sampler.join()
    assert received == SIZE
    growth = peak[0] - baseline
    assert growth < 20 * MB, f"the server grew by {growth / MB:.1f} MB"
