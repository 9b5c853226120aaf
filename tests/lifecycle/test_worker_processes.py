"""The refresh across processes on PostgreSQL: two real worker processes over one due set,
fifty requests to the production server (``config/gunicorn.py``) for one expired token,
and what the refresh lock promises (no transaction across the provider call, a bounded
wait, a crashed worker's claims running out). The token endpoint is a real server on
loopback (``tests/lifecycle/token_server.py``) that counts every refresh token presented."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone

from connections.oauth import refresh_lock
from connections.oauth.refresh_due import CLAIM_SECONDS, refresh_claim, token_refresh_due
from credentials.models import Credential
from tests.demo.server import ROOT
from tests.lifecycle.conftest import get_token, token_of
from tests.lifecycle.due import CountingProvider, due_connections
from tests.lifecycle.token_server import token_server
from tests.servers import database_url, gunicorn, server_env

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

LOOPBACK = {"PATCHBAY_ALLOW_INSECURE_HTTP": "true", "PATCHBAY_ALLOW_PRIVATE_NETWORKS": "true"}


def wait_until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_worker_processes_refresh_each_due_token_exactly_once(alice, tmp_path: Path):
    with token_server(delay=0.02) as provider:
        made = due_connections(alice.organisation, 40, tokenUrl=provider.url)
        ids = [token_of(c).pk for c in made]
        # Hidden behind a claim until both workers are up, then due all at once.
        Credential.objects.filter(pk__in=ids).update(
            refresh_claimed_until=timezone.now() + timedelta(days=1)
        )
        env = server_env(tmp_path, LOOPBACK)
        command = [sys.executable, "manage.py", "worker", "--jobs", "refresh_tokens"]
        logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
        workers = [
            subprocess.Popen(
                [*command, "--limit", "10", "--interval", "0.1"],
                cwd=ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            for log in logs
        ]
        try:
            wait_until(
                lambda: all("worker started" in log.read_text() for log in logs), 60, "workers"
            )
            Credential.objects.filter(pk__in=ids).update(refresh_claimed_until=None)
            wait_until(lambda: provider.calls >= 40, 60, "40 refreshes")
            time.sleep(0.5)  # a second refresh of any of them would arrive now
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=30)
        assert provider.twice() == []
        assert sorted(provider.presented) == sorted(f"rt-{i}" for i in range(40))
        assert provider.calls == 40
    issued = {token_of(c).data["accessToken"] for c in made}
    assert len(issued) == 40
    assert all(token.startswith("p-at-") for token in issued)
    shares = [
        sum(int(n) for n in re.findall(r"refresh_tokens=(\d+)", log.read_text())) for log in logs
    ]
    assert sum(shares) == 40
    assert all(share > 0 for share in shares), shares  # both took a share
    assert not Credential.objects.filter(refresh_claimed_until__isnull=False).exists()
    assert token_refresh_due(limit=100).processed == 0


def test_fifty_requests_to_the_production_server_cause_one_refresh(alice, tmp_path: Path):
    with token_server(delay=0.2) as provider:
        [connection] = due_connections(alice.organisation, 1, tokenUrl=provider.url)
        old = token_of(connection).data["accessToken"]
        options = ("-c", "config/gunicorn.py")  # README's production settings: gthread
        with gunicorn(tmp_path, LOOPBACK, options=options) as base:
            url = base + alice.url(f"connections/{connection.pk}/access-token")
            barrier = threading.Barrier(50)
            answers: list[tuple[int, str]] = []
            lock = threading.Lock()

            def ask() -> None:
                barrier.wait(timeout=30)
                response = requests.get(
                    url, headers={"Authorization": f"Bearer {alice.key}"}, timeout=60
                )
                body = response.json()
                with lock:
                    answers.append((response.status_code, body.get("accessToken", body)))

            threads = [threading.Thread(target=ask) for _ in range(50)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=90)
        assert provider.calls == 1
        assert list(provider.presented) == ["rt-0"]
    assert len(answers) == 50
    assert {status for status, _ in answers} == {200}
    assert {token for _, token in answers} == {token_of(connection).data["accessToken"]}
    assert token_of(connection).data["accessToken"] != old


def _other_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(database_url(), autocommit=True)


def test_no_transaction_or_row_lock_is_open_while_the_provider_is_called(alice, wire):
    by_api, by_worker = due_connections(alice.organisation, 2)
    pks = [token_of(by_api).pk, token_of(by_worker).pk]
    seen: list[tuple[bool, int, int]] = []
    counting = CountingProvider()

    def provider(adapter: Any, request: Any, **kwargs: Any) -> Any:
        with _other_connection() as other:
            rows = other.execute(  # another process takes the rows at once
                "SELECT id FROM credentials_credential WHERE id = ANY(%s) FOR UPDATE NOWAIT",
                [pks],
            ).fetchall()
            locks = other.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND classid::bigint = %s AND granted",
                [refresh_lock.NAMESPACE],
            ).fetchone()
        seen.append((db_connection.in_atomic_block, len(rows), locks[0] if locks else 0))
        return counting(adapter, request, **kwargs)

    wire.fake = provider
    assert get_token(alice, by_api).status_code == 200  # the API's refresh
    assert token_refresh_due(limit=10).refreshed == 1  # the worker's (the other token)
    # No transaction, the rows free for anyone, and one refresh lock held meanwhile.
    assert seen == [(False, 2, 1), (False, 2, 1)]
    assert token_of(by_worker).data["accessToken"].startswith("w-at-")


def test_a_request_gives_up_waiting_for_a_refresh_that_does_not_end(
    alice, wire, settings, monkeypatch
):
    settings.PATCHBAY_HTTP_TOKEN_DEADLINE = 0.5
    monkeypatch.setattr(refresh_lock, "WAIT_MARGIN_SECONDS", 0.5)
    [connection] = due_connections(alice.organisation, 1)
    pk = token_of(connection).pk
    with _other_connection() as other:  # someone else's refresh, stuck
        other.execute(
            "SELECT pg_advisory_lock(%s, %s)", [refresh_lock.NAMESPACE, refresh_lock.lock_key(pk)]
        )
        started = time.monotonic()
        response = get_token(alice, connection)
        waited = time.monotonic() - started
        # The worker does not wait at all: the token is someone else's to refresh.
        assert token_refresh_due(limit=10).processed == 0
    assert response.status_code == 502
    assert response.json()["code"] == "token_refresh_failed"
    assert response["Retry-After"] == "1"
    assert 0.9 <= waited < 5
    assert wire.sent == []
    wire.fake = CountingProvider()  # released with its connection: the next one refreshes
    assert get_token(alice, connection).json()["accessToken"] == "w-at-1"


def test_a_crashed_workers_claims_run_out(alice, wire):
    made = due_connections(alice.organisation, 3)
    wire.fake = CountingProvider()
    now = timezone.now()
    claim = refresh_claim(now=now, horizon=timedelta(minutes=1), size=10, passed=[])
    assert sorted(claim.ids) == sorted(token_of(c).pk for c in made)
    # That worker died without releasing them: the others leave them alone meanwhile...
    assert token_refresh_due(limit=10).processed == 0
    assert wire.sent == []
    # ...and take them once the claim has run out.
    later = now + timedelta(seconds=CLAIM_SECONDS + 1)
    assert token_refresh_due(limit=10, now=later).refreshed == 3
    assert len(wire.sent) == 3
    assert not Credential.objects.filter(refresh_claimed_until__isnull=False).exists()
