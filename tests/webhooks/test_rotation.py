"""Rotating a webhook secret: the old one keeps signing beside the new one for a window
(Standard Webhooks: several space-separated signatures), shown in the API and the admin."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection as db
from django.utils import timezone

from tests.webhooks.conftest import make_endpoint
from tests.webhooks.recipe import verify_webhook
from webhooks.jobs import deliver_due
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_secret_rotate, event_emit
from webhooks.signing import sign

pytestmark = pytest.mark.django_db


def _rotate(actor, endpoint, body=None):
    path = actor.url(f"webhooks/{endpoint.pk}/rotate-secret")
    if body is None:
        return actor.client.post(path)
    return actor.client.post(path, body, format="json")


def _deliver(actor, now: datetime | None = None):
    event_emit(organisation=actor.organisation, type="connection.created", data={})
    assert deliver_due(now=now) == 1


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_after_a_rotation_both_secrets_sign_until_the_window_ends(alice, receiver, settings):
    settings.PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS = 3600
    endpoint, old = make_endpoint(alice.organisation, receiver.url)
    response = _rotate(alice, endpoint)
    assert response.status_code == 200, response.content
    new = response.json()["secret"]
    until = _when(response.json()["previousSecretExpiresAt"])
    assert abs((until - timezone.now()) - timedelta(hours=1)) < timedelta(minutes=1)

    _deliver(alice)
    (got,) = receiver.received
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    assert verify_webhook(new, got.headers, got.body)  # a receiver already switched
    assert verify_webhook(old, got.headers, got.body)  # and one not yet

    # Past the window: the new secret only.
    _deliver(alice, now=until + timedelta(seconds=1))
    later = receiver.received[1]
    # (Signed an hour ahead, so the recipe's five-minute tolerance would refuse it: the
    # signature is compared directly.)
    expected = sign(
        secret=new,
        message_id=later.headers["webhook-id"],
        timestamp=int(later.headers["webhook-timestamp"]),
        body=later.body,
    )
    assert later.headers["webhook-signature"] == expected


def test_the_window_is_shown_on_the_endpoint_and_ends_there_too(alice, receiver):
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    shown = alice.client.get(alice.url(f"webhooks/{endpoint.pk}")).json()
    assert shown["previousSecretExpiresAt"] is None
    rotated = _rotate(alice, endpoint, {"overlapSeconds": 600}).json()
    shown = alice.client.get(alice.url(f"webhooks/{endpoint.pk}")).json()
    assert shown["previousSecretExpiresAt"] == rotated["previousSecretExpiresAt"]
    assert "secret" not in shown
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    shown = alice.client.get(alice.url(f"webhooks/{endpoint.pk}")).json()
    assert shown["previousSecretExpiresAt"] is None


def test_an_overlap_of_zero_cuts_the_old_secret_at_once(alice, receiver):
    endpoint, old = make_endpoint(alice.organisation, receiver.url)
    rotated = _rotate(alice, endpoint, {"overlapSeconds": 0}).json()
    assert rotated["previousSecretExpiresAt"] is None
    _deliver(alice)
    (got,) = receiver.received
    assert verify_webhook(rotated["secret"], got.headers, got.body)
    assert not verify_webhook(old, got.headers, got.body)


def test_a_second_rotation_drops_the_oldest_secret(alice, receiver):
    endpoint, first = make_endpoint(alice.organisation, receiver.url)
    second = endpoint_secret_rotate(endpoint=endpoint).secret
    third = endpoint_secret_rotate(endpoint=endpoint).secret
    _deliver(alice)
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify_webhook(third, got.headers, got.body)
    assert verify_webhook(second, got.headers, got.body)
    assert not verify_webhook(first, got.headers, got.body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overlapSeconds": -1}, "overlapSeconds"),
        ({"overlapSeconds": 7 * 24 * 3600 + 1}, "overlapSeconds"),
        ({"overlapSeconds": "3600"}, "overlapSeconds"),
        ({"overlapSeconds": 1.5}, "overlapSeconds"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_window_is_refused_and_the_secret_kept(alice, receiver, body, field):
    endpoint, old = make_endpoint(alice.organisation, receiver.url)
    response = _rotate(alice, endpoint, body)
    assert response.status_code == 400, response.content
    assert [f["field"] for f in response.json()["fields"]] == [field]
    endpoint.refresh_from_db()
    assert endpoint.secret == old
    assert endpoint.previous_secret is None


def test_an_outsider_cannot_rotate(alice, charlie, receiver):
    endpoint, old = make_endpoint(alice.organisation, receiver.url)
    response = _rotate(charlie, endpoint, {"overlapSeconds": 60})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    endpoint.refresh_from_db()
    assert endpoint.secret == old


def test_the_old_secret_is_encrypted_at_rest_and_never_shown(alice, receiver, admin_client):
    endpoint, old = make_endpoint(alice.organisation, receiver.url)
    rotated = _rotate(alice, endpoint).json()
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM webhooks_webhookendpoint")
        rows = repr(cursor.fetchall())
    assert old not in rows
    assert rotated["secret"] not in rows
    listed = alice.client.get(alice.url("webhooks")).content.decode()
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Old secret also signs until" in html
    for text in (listed, html):
        assert old not in text
        assert rotated["secret"] not in text
