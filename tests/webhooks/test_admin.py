"""Admin for webhooks: secrets never displayed, shown once on add and rotate; redeliver."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.webhooks.conftest import make_endpoint
from webhooks.jobs import deliver_due
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services import MAX_ENDPOINTS, event_emit


def pages(admin_client: Client, endpoint: WebhookEndpoint) -> list[str]:
    delivery = WebhookDelivery.objects.first()
    event = Event.objects.first()
    assert delivery is not None
    assert event is not None
    urls = [
        reverse("admin:webhooks_webhookendpoint_changelist"),
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]),
        reverse("admin:webhooks_webhookendpoint_add"),
        reverse("admin:webhooks_webhookdelivery_changelist"),
        reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]),
        reverse("admin:webhooks_event_changelist"),
        reverse("admin:webhooks_event_change", args=[event.pk]),
        reverse("admin:webhooks_webhookendpoint_changelist") + "?q=whsec",
    ]
    texts = []
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    return texts


def assert_shown_only_here(response, secret: str) -> None:
    """On the page itself, not in a message: messages live in a cookie (and the session)."""
    assert not [m for m in get_messages(response.wsgi_request) if secret in str(m)]
    assert all(secret not in morsel.value for morsel in response.cookies.values())


def test_no_admin_page_shows_the_secret(admin_client, alice, receiver, assert_no_secrets):
    endpoint, secret = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={"k": "v"})
    receiver.answer(500)
    deliver_due()
    texts = pages(admin_client, endpoint)
    assert_no_secrets(secret, secret.removeprefix("whsec_"), texts=texts)
    delivery_page = texts[4]
    assert "The endpoint answered 500." in delivery_page
    assert "connection.created" in delivery_page


def test_adding_an_endpoint_shows_its_secret_once(admin_client, alice):
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {
            "organisation": alice.org_id,
            "url": "https://hooks.example/in",
            "description": "from the admin",
            "events": ["connection.created", "credential.expired"],
            "active": "on",
        },
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["connection.created", "credential.expired"]
    assert endpoint.secret in response.content.decode()  # shown on this page
    assert "no-store" in response["Cache-Control"]
    assert_shown_only_here(response, endpoint.secret)
    change = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    assert endpoint.secret not in admin_client.get(change).content.decode()  # and never again


def test_the_admin_keeps_to_the_endpoint_limit(admin_client, alice):
    for n in range(MAX_ENDPOINTS):
        make_endpoint(alice.organisation, f"https://hooks.example/{n}")
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"organisation": alice.org_id, "url": "https://hooks.example/one-more", "active": "on"},
    )
    assert response.status_code == 200
    assert f"at most {MAX_ENDPOINTS} webhook endpoints" in response.content.decode()
    assert WebhookEndpoint.objects.count() == MAX_ENDPOINTS


def test_the_admin_refuses_bad_urls(admin_client, alice):
    for url in ("javascript:alert(1)", "http://hooks.example/", "https://u:p@hooks.example/"):
        response = admin_client.post(
            reverse("admin:webhooks_webhookendpoint_add"),
            {"organisation": alice.org_id, "url": url, "description": "", "active": "on"},
        )
        assert response.status_code == 200
        assert not WebhookEndpoint.objects.exists()


def test_editing_an_endpoint_keeps_its_secret(admin_client, alice):
    endpoint, secret = make_endpoint(alice.organisation, "https://hooks.example/in")
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://hooks.example/new", "description": "d", "active": "on"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example/new"
    assert endpoint.secret == secret


def test_rotate_secret_shows_the_new_one_once(admin_client, alice):
    endpoint, old = make_endpoint(alice.organisation, "https://hooks.example/in")
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]},
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()
    assert old not in response.content.decode()
    assert_shown_only_here(response, endpoint.secret)


def test_redeliver_action_queues_the_event_again(admin_client, alice, receiver):
    make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    response = admin_client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
    )
    assert response.status_code == 302
    assert WebhookDelivery.objects.count() == 2
    assert deliver_due() == 1
    assert len(receiver.received) == 2


def test_deliveries_and_events_are_read_only(admin_client, alice):
    make_endpoint(alice.organisation, "https://hooks.example/in")
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert admin_client.get(reverse("admin:webhooks_webhookdelivery_add")).status_code == 403
    assert admin_client.get(reverse("admin:webhooks_event_add")).status_code == 403
    delivery = WebhookDelivery.objects.get()
    response = admin_client.post(
        reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]), {"attempts": 99}
    )
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.attempts == 0
