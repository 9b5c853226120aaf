"""The worker: refresh due tokens, expire credentials, purge authorisation requests, deliver
webhooks; several workers at once never do an item twice (PostgreSQL, SKIP LOCKED)."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from connections.jobs import authorisation_requests_purge, credentials_expire, jobs_run
from connections.models import (
    AuthorisationRequest,
    Connection,
    ConnectionCredential,
    ConnectionStatus,
)
from connections.oauth import refresh_due
from connections.oauth.refresh_due import token_refresh_due
from credentials.models import Credential
from tests.connections import factories as f
from tests.lifecycle.conftest import age, events, token_of
from tests.lifecycle.due import CountingProvider, due_connections
from tests.webhooks.conftest import make_endpoint, receiver  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet_provider(caplog):
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")


# --- Refresh ----------------------------------------------------------------------------------


def test_the_refresh_job_refreshes_due_tokens_at_the_real_provider(
    alice, provider, connected, wire
):
    old = age(connected).data
    fresh = due_connections(alice.organisation, 1, seconds_left=3600)[0]
    never = due_connections(alice.organisation, 1)[0]
    Credential.objects.filter(pk=token_of(never).pk).update(token_expires_at=None)
    parked = due_connections(alice.organisation, 1)[0]
    Connection.objects.filter(pk=parked.pk).update(status=ConnectionStatus.NEEDS_REAUTH)

    run = token_refresh_due(limit=100)
    assert (run.refreshed, run.failed, run.needs_reauth) == (1, 0, 0)
    new = token_of(connected).data
    assert new["accessToken"] != old["accessToken"]
    assert new["refreshToken"] != old["refreshToken"]
    assert provider.me(new["accessToken"]).status_code == 200
    assert wire.grants(provider.token_url) == ["refresh_token"]
    assert len(wire.sent) == 1
    assert token_refresh_due(limit=100).processed == 0
    for other in (fresh, never, parked):
        assert token_of(other).data["accessToken"].startswith("at-")


def test_a_failed_refresh_cools_down_then_is_due_again(alice, wire):
    connection = due_connections(alice.organisation, 1)[0]
    wire.fake = CountingProvider(status=500)
    assert token_refresh_due(limit=10).failed == 1
    assert token_refresh_due(limit=10).processed == 0  # cooling down: not asked
    assert len(wire.sent) == 1
    later = timezone.now() + timedelta(seconds=31)
    wire.fake = CountingProvider()
    assert token_refresh_due(limit=10, now=later).refreshed == 1
    assert token_of(connection).data["accessToken"] == "w-at-1"
    assert token_of(connection).refresh_failed_at is None


def test_a_refused_refresh_takes_the_connection_out(alice, wire):
    connection = due_connections(alice.organisation, 1)[0]
    wire.fake = CountingProvider(status=400, error="invalid_grant")
    assert token_refresh_due(limit=10).needs_reauth == 1
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    assert token_refresh_due(limit=10).processed == 0
    assert len(wire.sent) == 1
    assert len(events("connection.needs_reauth")) == 1


def _swap_ciphertext(model: Any, field: str, into: object, source: object) -> None:
    """Put ``source``'s ciphertext into ``into``'s row: it is bound to its own row, so
    ``into`` no longer decrypts (as after its key left the ring)."""
    sealed = model.objects.filter(pk=source).values_list(field, flat=True).get()
    model.objects.filter(pk=into).update(**{field: sealed})


def test_an_undecryptable_credential_does_not_stop_the_refreshes_behind_it(
    alice, wire, caplog, assert_no_secrets
):
    broken, healthy = due_connections(alice.organisation, 2)
    Credential.objects.filter(pk=token_of(broken).pk).update(
        token_expires_at=timezone.now() - timedelta(hours=1)  # first in line
    )
    secret = token_of(broken).data["refreshToken"]
    _swap_ciphertext(Credential, "data", token_of(broken).pk, token_of(healthy).pk)
    wire.fake = CountingProvider()
    run = token_refresh_due(limit=10)
    assert (run.refreshed, run.failed) == (1, 1)
    assert token_of(healthy).data["accessToken"] == "w-at-1"
    assert f"refresh of credential {token_of(broken).pk} failed: DecryptionError" in caplog.text
    assert token_refresh_due(limit=10).refreshed == 0  # and the next run does not stall either
    assert_no_secrets(secret, texts=[])


def test_the_limit_bounds_a_run(alice, wire):
    due_connections(alice.organisation, 5)
    wire.fake = CountingProvider()
    assert token_refresh_due(limit=3).refreshed == 3
    assert token_refresh_due(limit=3).refreshed == 2


# --- Expiry and clean-up ----------------------------------------------------------------------


def test_expired_credentials_are_deleted_with_a_reason(alice, caplog):
    connector, config = f.oauth2_connector(alice.organisation)
    used = f.token_credential(alice.organisation)
    connection = f.connection(alice.organisation, connector, links=[(config, used)])
    spare = f.client_credential(alice.organisation)
    keep = f.client_credential(alice.organisation)
    past = timezone.now() - timedelta(seconds=1)
    Credential.objects.filter(pk__in=[used.pk, spare.pk]).update(expires_at=past)
    Credential.objects.filter(pk=keep.pk).update(expires_at=timezone.now() + timedelta(hours=1))

    assert credentials_expire(limit=10) == 2
    assert set(Credential.objects.values_list("pk", flat=True)) == {keep.pk}
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ERROR
    assert not ConnectionCredential.objects.filter(connection=connection).exists()
    expired = {e["credentialId"]: e for e in events("credential.expired")}
    assert expired[str(used.pk)]["reason"] == "expires_at_passed"
    assert expired[str(used.pk)]["connectionIds"] == [str(connection.pk)]
    assert expired[str(spare.pk)]["connectionIds"] == []
    assert "accessToken" not in json.dumps(expired)
    assert sum("reason=expires_at_passed" in r.getMessage() for r in caplog.records) == 2
    assert credentials_expire(limit=10) == 0


def test_stale_authorisation_requests_are_purged(alice):
    client = f.client_credential(alice.organisation)
    connector, config = f.oauth2_connector(alice.organisation)
    now = timezone.now()

    def request(name, *, expires, used=None):
        return AuthorisationRequest.objects.create(
            organisation=alice.organisation,
            connector=connector,
            auth_scheme_config=config,
            client_credential=client,
            state_hash=name.ljust(64, "0"),
            client_id="c",
            redirect_uri="https://x.example/cb",
            expires_at=expires,
            used_at=used,
        )

    request("expired", expires=now - timedelta(seconds=1))
    request("old-used", expires=now + timedelta(days=3), used=now - timedelta(days=2))
    pending = request("pending", expires=now + timedelta(minutes=5))
    recent = request("recent-used", expires=now + timedelta(minutes=5), used=now)
    polled = request(
        "used-expired", expires=now - timedelta(minutes=1), used=now - timedelta(hours=1)
    )
    assert authorisation_requests_purge(limit=100) == 2
    assert set(AuthorisationRequest.objects.values_list("pk", flat=True)) == {
        pending.pk,
        recent.pk,
        polled.pk,
    }
    assert authorisation_requests_purge(limit=100) == 0


def test_the_worker_delivers_webhooks(alice, receiver):  # noqa: F811
    from webhooks.services import event_emit

    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={"x": 1})
    assert jobs_run(["deliver_webhooks"]) == {"deliver_webhooks": 1}
    assert len(receiver.received) == 1
    assert jobs_run(["deliver_webhooks"]) == {"deliver_webhooks": 0}


# --- Commands ---------------------------------------------------------------------------------


def test_run_jobs_runs_the_named_jobs_once(alice, wire):
    due_connections(alice.organisation, 2)
    wire.fake = CountingProvider()
    out = StringIO()
    call_command("run_jobs", "refresh_tokens", "expire_credentials", stdout=out)
    assert out.getvalue().strip() == "refresh_tokens=2 expire_credentials=0"
    with pytest.raises(CommandError, match="Unknown job"):
        call_command("run_jobs", "rm_rf", stdout=StringIO())


def test_worker_once_runs_every_job(alice):
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().split() == [
        "refresh_tokens=0",
        "expire_credentials=0",
        "purge_authorisation_requests=0",
        "deliver_webhooks=0",
    ]


def test_the_worker_stops_cleanly_on_sigterm(alice, wire):
    due_connections(alice.organisation, 1)
    wire.fake = CountingProvider()
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("worker", "--interval", "0.1", stdout=StringIO())
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert len(wire.sent) == 1  # it worked before it stopped


# --- Admin ------------------------------------------------------------------------------------


def test_the_admin_refreshes_a_token_now(admin_client, alice, provider, connected, wire):
    before = token_of(connected).data
    response = admin_client.post(
        reverse("admin:connections_connection_changelist"),
        {"action": "refresh_token_now", "_selected_action": [str(connected.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Refreshed 1 token(s)." in page
    after = token_of(connected).data
    assert after["accessToken"] != before["accessToken"]
    assert wire.grants(provider.token_url) == ["refresh_token"]
    for secret in (*before.values(), after["accessToken"], after["refreshToken"]):
        if isinstance(secret, str) and len(secret) > 20:
            assert secret not in page


def test_the_admin_reports_a_refused_refresh(admin_client, alice, wire):
    connection = due_connections(alice.organisation, 1)[0]
    wire.fake = CountingProvider(status=400, error="invalid_grant")
    response = admin_client.post(
        reverse("admin:connections_connection_changelist"),
        {"action": "refresh_token_now", "_selected_action": [str(connection.pk)]},
        follow=True,
    )
    assert "c0: reauthorisation_required" in response.content.decode()


# --- Several workers at once ------------------------------------------------------------------


def in_parallel(job, workers: int = 2) -> list:
    barrier = threading.Barrier(workers)
    results: list = []

    def work() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(job())
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.postgres_only
def test_two_workers_refresh_each_due_token_exactly_once(alice, wire, monkeypatch):
    monkeypatch.setattr(refresh_due, "BATCH_SIZE", 4)  # small batches, so both take some
    made = due_connections(alice.organisation, 20)
    provider = CountingProvider(delay=0.02)
    wire.fake = provider
    runs = in_parallel(lambda: token_refresh_due(limit=100))
    assert len(runs) == 2
    assert sum(run.refreshed for run in runs) == 20
    assert all(run.refreshed > 0 for run in runs)  # both took a share
    assert sorted(provider.seen) == sorted(f"rt-{i}" for i in range(20))  # each once
    assert {token_of(c).data["accessToken"] for c in made} == {f"w-at-{n}" for n in range(1, 21)}
    assert token_refresh_due(limit=100).processed == 0


@pytest.mark.postgres_only
def test_two_workers_expire_each_credential_exactly_once(alice):
    credentials = [f.client_credential(alice.organisation) for _ in range(20)]
    Credential.objects.filter(pk__in=[c.pk for c in credentials]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    counts = in_parallel(lambda: credentials_expire(limit=100))
    assert sum(counts) == 20
    assert sorted(e["credentialId"] for e in events("credential.expired")) == sorted(
        str(c.pk) for c in credentials
    )
    assert not Credential.objects.exists()
