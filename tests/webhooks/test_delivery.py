"""The outbox worker against a real receiver on loopback: retries, backoff, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

import core.outbound
from core.outbound import OutboundError
from tests.webhooks.conftest import make_endpoint
from webhooks import jobs
from webhooks.jobs import BACKOFF, MAX_ATTEMPTS, backoff, deliver_due
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_update, event_emit


def only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.get()


def test_it_posts_json_with_the_right_headers(alice, receiver):
    make_endpoint(alice.organisation, receiver.url)
    event = event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert deliver_due() == 1
    (got,) = receiver.received
    assert got.path == "/hooks"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "Patchbay-Webhooks/1"
    assert got.headers["webhook-id"] == str(event.pk)
    delivery = only_delivery()
    assert delivery.delivered_at is not None
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.last_error == ""
    assert delivery.locked_until is None


def test_it_retries_after_a_500_with_backoff(alice, receiver):
    receiver.answer(500, 200)
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    now = timezone.now()
    assert deliver_due(now=now) == 1
    delivery = only_delivery()
    assert delivery.delivered_at is None
    assert delivery.dead_at is None
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.last_error == "The endpoint answered 500."
    assert now + timedelta(seconds=24) <= delivery.next_attempt_at <= now + timedelta(seconds=36)
    # Not due yet: nothing is sent.
    assert deliver_due(now=now + timedelta(seconds=20)) == 0
    assert len(receiver.received) == 1
    assert deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    assert delivery.last_error == ""
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body


def test_nothing_is_delivered_twice_after_success(alice, receiver):
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert deliver_due() == 1
    assert deliver_due() == 0
    assert deliver_due(now=timezone.now() + timedelta(days=30)) == 0
    assert len(receiver.received) == 1


def test_it_gives_up_after_the_last_attempt(alice, receiver):
    receiver.answer(503)
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    waits = []
    for _ in range(MAX_ATTEMPTS):
        delivery = only_delivery()
        assert delivery.dead_at is None
        before = delivery.next_attempt_at
        assert deliver_due(now=before) == 1
        after = only_delivery()
        if after.dead_at is None:
            waits.append(after.next_attempt_at - before)
    delivery = only_delivery()
    assert delivery.dead_at is not None
    assert delivery.delivered_at is None
    assert delivery.attempts == MAX_ATTEMPTS == 8
    assert delivery.last_status_code == 503
    assert len(receiver.received) == MAX_ATTEMPTS
    assert deliver_due(now=timezone.now() + timedelta(days=365)) == 0
    assert len(receiver.received) == MAX_ATTEMPTS
    assert len(waits) == MAX_ATTEMPTS - 1
    for wait, base in zip(waits, BACKOFF, strict=True):
        assert base * 0.8 <= wait <= base * 1.2


def test_the_backoff_grows_and_is_jittered():
    assert [backoff(n) > BACKOFF[n - 1] * 0.79 for n in range(1, 8)] == [True] * 7
    assert len({backoff(3) for _ in range(20)}) > 1
    assert backoff(20) <= BACKOFF[-1] * 1.2


def test_an_unreadable_secret_fails_its_deliveries_not_the_job(alice, receiver, caplog):
    broken, _ = make_endpoint(alice.organisation, receiver.url + "/broken")
    healthy, _ = make_endpoint(alice.organisation, receiver.url)
    # Another row's ciphertext does not decrypt here (as after the key left the ring).
    sealed = WebhookEndpoint.objects.filter(pk=healthy.pk).values_list("secret", flat=True).get()
    WebhookEndpoint.objects.filter(pk=broken.pk).update(secret=sealed)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert deliver_due() == 2
    assert [r.path for r in receiver.received] == ["/hooks"]
    failed = WebhookDelivery.objects.get(endpoint=broken)
    assert failed.delivered_at is None
    assert failed.last_error == "The endpoint's signing secret cannot be read."
    assert failed.next_attempt_at > timezone.now()  # backs off, and dies like any failure
    assert f"webhook delivery {failed.pk}: cannot sign (DecryptionError)" in caplog.text
    assert WebhookDelivery.objects.get(endpoint=healthy).delivered_at is not None


def test_a_redirect_is_a_failure_and_is_not_followed(alice, receiver):
    receiver.answer(302, 200)
    receiver.extra_headers = {"Location": receiver.url + "/elsewhere"}
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert deliver_due() == 1
    assert [r.path for r in receiver.received] == ["/hooks"]
    delivery = only_delivery()
    assert delivery.delivered_at is None
    assert delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error


def test_a_blocked_address_fails_cleanly_and_is_retried_later(alice, receiver, settings):
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    now = timezone.now()
    assert deliver_due(now=now) == 1
    assert receiver.received == []
    delivery = only_delivery()
    assert delivery.delivered_at is None
    assert delivery.dead_at is None
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("blocked: ")
    assert delivery.next_attempt_at > now
    assert delivery.locked_until is None
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = True
    assert deliver_due(now=delivery.next_attempt_at) == 1
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("timeout", "The remote server did not answer in time."),
        ("connection", "Could not connect to the remote server."),
        ("too_large", "The response was larger than 1 bytes."),
    ],
)
def test_network_failures_are_recorded_and_retried(alice, monkeypatch, kind, message):
    def fail(adapter, request, **kwargs):
        raise OutboundError(kind, message)

    monkeypatch.setattr(core.outbound, "transport", fail)
    make_endpoint(alice.organisation, "https://hooks.example/in")
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert deliver_due() == 1
    delivery = only_delivery()
    assert delivery.last_error == f"{kind}: {message}"
    assert delivery.dead_at is None
    assert delivery.next_attempt_at > timezone.now()


def test_an_unexpected_error_does_not_lose_the_delivery(alice, monkeypatch):
    def explode(adapter, request, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(core.outbound, "transport", explode)
    make_endpoint(alice.organisation, "https://hooks.example/in")
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    with pytest.raises(RuntimeError):
        deliver_due()
    delivery = only_delivery()
    assert delivery.delivered_at is None
    assert delivery.dead_at is None
    # Leased: due again once the lease has passed, not lost.
    assert delivery.locked_until is not None
    assert delivery.next_attempt_at == delivery.locked_until


def test_a_crashed_workers_lease_runs_out_and_the_delivery_is_sent(alice, receiver):
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    now = timezone.now()
    claimed, lease_end = jobs._claim(now=now, size=10)  # a worker claims, then dies
    assert len(claimed) == 1
    assert lease_end is not None
    assert deliver_due(now=now) == 0
    assert deliver_due(now=lease_end - timedelta(seconds=1)) == 0
    assert deliver_due(now=lease_end) == 1
    assert len(receiver.received) == 1
    delivery = only_delivery()
    assert delivery.delivered_at is not None
    assert delivery.attempts == 2


def test_a_lease_about_to_end_hands_rows_back_unsent(alice, receiver, monkeypatch):
    make_endpoint(alice.organisation, receiver.url)
    for _ in range(3):
        event_emit(organisation=alice.organisation, type="connection.created", data={})
    ticks = iter([0.0, 0.0, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6])
    monkeypatch.setattr(jobs.time, "monotonic", lambda: next(ticks, 1e6))
    assert deliver_due(limit=3) == 1
    assert len(receiver.received) == 1
    pending = WebhookDelivery.objects.filter(delivered_at__isnull=True)
    assert pending.count() == 2
    assert {d.attempts for d in pending} == {0}
    assert {d.locked_until for d in pending} == {None}


def test_the_response_body_is_never_stored(alice, receiver, assert_no_secrets):
    _, secret = make_endpoint(alice.organisation, receiver.url)
    receiver.answer(500)
    receiver.answer_body = f"echo: {secret}".encode()
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    delivery = only_delivery()
    assert delivery.last_error == "The endpoint answered 500."
    assert_no_secrets(secret, texts=[delivery.last_error])


def test_a_disabled_endpoint_gets_nothing(alice, receiver):
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    endpoint_update(endpoint=endpoint, active=False)
    assert deliver_due() == 1
    assert receiver.received == []
    delivery = only_delivery()
    assert delivery.dead_at is not None
    assert delivery.last_error == "The endpoint is disabled."


def test_a_deleted_endpoint_takes_its_deliveries_with_it(alice, receiver):
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    endpoint.delete()
    assert deliver_due() == 0
    assert receiver.received == []


def test_it_respects_the_limit_and_goes_oldest_first(alice, receiver):
    make_endpoint(alice.organisation, receiver.url)
    events = [
        event_emit(organisation=alice.organisation, type="connection.created", data={"n": n})
        for n in range(25)
    ]
    assert deliver_due(limit=12) == 12
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(e.pk) for e in events[:12]]
    assert deliver_due() == 13
    assert deliver_due() == 0
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 25


@pytest.mark.parametrize("skew", [timedelta(hours=1), timedelta(hours=-1)])
def test_a_worker_with_a_skewed_clock_neither_steals_a_lease_nor_keeps_one(
    alice, receiver, monkeypatch, skew
):
    """Leases and due times are by the database's clock, not the worker's: a machine whose
    clock runs an hour ahead cannot take a row another worker holds (and send it twice),
    and one an hour behind still sends what is due."""
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    claimed, lease_end = jobs._claim(now=None, size=1)  # another worker holds it
    assert len(claimed) == 1
    assert lease_end is not None
    real_now = timezone.now
    monkeypatch.setattr(jobs.timezone, "now", lambda: real_now() + skew)
    assert deliver_due() == 0
    assert receiver.received == []
    # Once that lease is handed back, the skewed worker sends it, once.
    jobs._release(claimed, now=None)
    assert deliver_due() == 1
    assert len(receiver.received) == 1
    delivery = only_delivery()
    assert delivery.delivered_at is not None
    assert abs(delivery.delivered_at - real_now()) < timedelta(minutes=5)
