"""The webhooks API: CRUD, secrets shown once, deliveries, redeliver, outsiders, hostile input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection as db_connection

from tests.webhooks.conftest import make_endpoint
from webhooks.jobs import deliver_due
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services import MAX_ENDPOINTS, event_emit


def raw_table(table: str) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def create(actor, **body: Any):
    return actor.client.post(
        actor.url("webhooks"), {"url": "https://hooks.example/in", **body}, format="json"
    )


# --- CRUD ----------------------------------------------------------------------------


def test_it_creates_an_endpoint_and_shows_the_secret_once(alice, assert_no_secrets):
    response = create(alice, description="CRM sync", events=["connection.created"])
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    secret = body.pop("secret")
    assert secret.startswith("whsec_")
    assert body == {
        "id": body["id"],
        "organisationId": alice.org_id,
        "url": "https://hooks.example/in",
        "description": "CRM sync",
        "events": ["connection.created"],
        "active": True,
        "previousSecretExpiresAt": None,
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
    }
    detail = alice.client.get(alice.url(f"webhooks/{body['id']}"))
    listing = alice.client.get(alice.url("webhooks"))
    assert detail.json() == body
    assert listing.json()["items"] == [body]
    assert_no_secrets(secret, texts=[detail.content.decode(), listing.content.decode()])
    assert WebhookEndpoint.objects.get().secret == secret


def test_it_defaults_to_every_event_and_no_description(alice):
    body = create(alice).json()
    assert body["events"] == []
    assert body["description"] == ""


def test_it_updates_url_description_events_and_active(alice):
    endpoint_id = create(alice).json()["id"]
    response = alice.client.patch(
        alice.url(f"webhooks/{endpoint_id}"),
        {
            "url": "https://other.example/x?y=1",
            "description": "new",
            "events": ["credential.expired", "connection.deleted", "credential.expired"],
            "active": False,
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["url"] == "https://other.example/x?y=1"
    assert body["description"] == "new"
    assert body["events"] == ["connection.deleted", "credential.expired"]
    assert body["active"] is False
    assert "secret" not in body
    partial = alice.client.patch(
        alice.url(f"webhooks/{endpoint_id}"), {"active": True}, format="json"
    ).json()
    assert partial["active"] is True
    assert partial["url"] == "https://other.example/x?y=1"


def test_it_deletes_an_endpoint_and_its_deliveries(alice):
    endpoint_id = create(alice).json()["id"]
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    response = alice.client.delete(alice.url(f"webhooks/{endpoint_id}"))
    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert Event.objects.count() == 1
    assert alice.client.get(alice.url(f"webhooks/{endpoint_id}")).status_code == 404


def test_it_rotates_the_secret_and_shows_the_new_one_once(alice, assert_no_secrets):
    created = create(alice).json()
    response = alice.client.post(alice.url(f"webhooks/{created['id']}/rotate-secret"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert list(response.json()) == ["secret", "previousSecretExpiresAt"]
    new = response.json()["secret"]
    assert new.startswith("whsec_")
    assert new != created["secret"]
    assert WebhookEndpoint.objects.get().secret == new
    detail = alice.client.get(alice.url(f"webhooks/{created['id']}")).content.decode()
    assert_no_secrets(new, created["secret"], texts=[detail])


def test_it_paginates_endpoints(alice):
    ids = [create(alice, description=str(n)).json()["id"] for n in range(5)]
    first = alice.client.get(alice.url("webhooks"), {"first": 2}).json()
    assert [e["id"] for e in first["items"]] == ids[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = alice.client.get(
        alice.url("webhooks"), {"first": 10, "after": first["pageInfo"]["endCursor"]}
    ).json()
    assert [e["id"] for e in rest["items"]] == ids[2:]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_it_limits_the_number_of_endpoints(alice):
    for n in range(MAX_ENDPOINTS):
        make_endpoint(alice.organisation, f"https://hooks.example/{n}")
    response = create(alice)
    assert response.status_code == 400
    assert response.json()["code"] == "limit_reached"


# --- deliveries ----------------------------------------------------------------------


def test_it_lists_deliveries_with_their_state(alice, receiver):
    receiver.answer(500, 200)
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    event = event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    response = alice.client.get(alice.url(f"webhooks/{endpoint.pk}/deliveries"))
    assert response.status_code == 200
    (item,) = response.json()["items"]
    delivery = WebhookDelivery.objects.get()
    assert item["id"] == str(delivery.pk)
    assert item["eventId"] == str(event.pk)
    assert item["type"] == "connection.created"
    assert item["status"] == "pending"
    assert item["attempts"] == 1
    assert item["deliveredAt"] is None
    assert item["deadAt"] is None
    assert item["lastStatusCode"] == 500
    assert item["lastError"] == "The endpoint answered 500."
    assert item["nextAttemptAt"] is not None
    assert response.json()["pageInfo"]["hasNextPage"] is False


def test_the_deliveries_list_costs_fixed_queries(alice, django_assert_max_num_queries):
    endpoint, _ = make_endpoint(alice.organisation, "https://hooks.example/in")
    for _ in range(15):
        event_emit(organisation=alice.organisation, type="connection.created", data={})
    with django_assert_max_num_queries(6):
        response = alice.client.get(alice.url(f"webhooks/{endpoint.pk}/deliveries"))
    assert len(response.json()["items"]) == 15


def test_it_redelivers_a_delivered_delivery_as_a_new_one(alice, receiver):
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    old = WebhookDelivery.objects.get()
    response = alice.client.post(alice.url(f"webhooks/{endpoint.pk}/deliveries/{old.pk}/redeliver"))
    assert response.status_code == 202
    body = response.json()
    assert body["id"] != str(old.pk)
    assert body["eventId"] == str(old.event_id)
    assert body["status"] == "pending"
    assert body["attempts"] == 0
    assert deliver_due() == 1
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    old.refresh_from_db()
    assert old.attempts == 1  # the history of the first delivery is untouched


def test_asking_twice_to_redeliver_sends_the_event_once_more_not_twice(alice, receiver):
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    old = WebhookDelivery.objects.get()
    url = alice.url(f"webhooks/{endpoint.pk}/deliveries/{old.pk}/redeliver")
    first, second = alice.client.post(url), alice.client.post(url)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] == second.json()["id"]
    assert WebhookDelivery.objects.count() == 2
    assert deliver_due() == 1
    assert len(receiver.received) == 2  # the original and one redelivery


def test_it_redelivers_a_pending_delivery_now(alice, receiver):
    receiver.answer(500, 200)
    endpoint, _ = make_endpoint(alice.organisation, receiver.url)
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    response = alice.client.post(
        alice.url(f"webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")
    )
    assert response.status_code == 202
    assert response.json()["id"] == str(delivery.pk)
    assert deliver_due() == 1
    assert WebhookDelivery.objects.get().delivered_at is not None


def test_it_refuses_to_redeliver_to_a_disabled_endpoint(alice):
    endpoint, _ = make_endpoint(alice.organisation, "https://hooks.example/in")
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    delivery = WebhookDelivery.objects.get()
    alice.client.patch(alice.url(f"webhooks/{endpoint.pk}"), {"active": False}, format="json")
    response = alice.client.post(
        alice.url(f"webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")
    )
    assert response.status_code == 409
    assert response.json()["code"] == "endpoint_inactive"


def test_a_delivery_of_another_endpoint_is_not_found(alice):
    one, _ = make_endpoint(alice.organisation, "https://hooks.example/1", ["connection.created"])
    two, _ = make_endpoint(alice.organisation, "https://hooks.example/2", ["connection.deleted"])
    event_emit(organisation=alice.organisation, type="connection.deleted", data={})
    delivery = WebhookDelivery.objects.get(endpoint=two)
    response = alice.client.post(alice.url(f"webhooks/{one.pk}/deliveries/{delivery.pk}/redeliver"))
    assert response.status_code == 404


# --- secrets -------------------------------------------------------------------------


def test_the_secret_is_never_stored_in_plain_text(alice):
    secret = create(alice).json()["secret"]
    dump = raw_table("webhooks_webhookendpoint")
    assert secret not in dump
    assert secret.removeprefix("whsec_") not in dump


def test_the_secret_is_in_no_response_log_or_error(alice, receiver, assert_no_secrets):
    created = alice.client.post(
        alice.url("webhooks"), {"url": receiver.url, "description": "d"}, format="json"
    ).json()
    secret = created["secret"]
    endpoint_id = created["id"]
    receiver.answer(500)
    receiver.answer_body = secret.encode()
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    texts = [
        alice.client.get(alice.url("webhooks")).content.decode(),
        alice.client.get(alice.url(f"webhooks/{endpoint_id}")).content.decode(),
        alice.client.get(alice.url(f"webhooks/{endpoint_id}/deliveries")).content.decode(),
        alice.client.patch(
            alice.url(f"webhooks/{endpoint_id}"), {"url": "javascript:alert(1)"}, format="json"
        ).content.decode(),
        alice.client.patch(
            alice.url(f"webhooks/{endpoint_id}"), {"secret": secret}, format="json"
        ).content.decode(),
        alice.client.post(
            alice.url(f"webhooks/{endpoint_id}/deliveries/{delivery.pk}/redeliver")
        ).content.decode(),
        repr(WebhookEndpoint.objects.get()),
        str(WebhookEndpoint.objects.get()),
        raw_table("webhooks_webhookdelivery"),
        raw_table("webhooks_event"),
    ]
    assert_no_secrets(secret, texts=texts)


def test_the_secret_cannot_be_set_by_the_client(alice):
    response = create(alice, secret="whsec_" + "A" * 44)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "secret"
    assert not WebhookEndpoint.objects.exists()


# --- outsiders -----------------------------------------------------------------------


def _alice_urls(alice) -> list[tuple[str, str]]:
    endpoint, _ = make_endpoint(alice.organisation, "https://hooks.example/in")
    event_emit(organisation=alice.organisation, type="connection.created", data={})
    delivery = WebhookDelivery.objects.get()
    return [
        ("get", "webhooks"),
        ("post", "webhooks"),
        ("get", f"webhooks/{endpoint.pk}"),
        ("patch", f"webhooks/{endpoint.pk}"),
        ("delete", f"webhooks/{endpoint.pk}"),
        ("post", f"webhooks/{endpoint.pk}/rotate-secret"),
        ("get", f"webhooks/{endpoint.pk}/deliveries"),
        ("post", f"webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver"),
    ]


def _unchanged(alice, before: str) -> None:
    endpoint = WebhookEndpoint.objects.get(organisation=alice.organisation)
    assert endpoint.url == "https://hooks.example/in"
    assert endpoint.secret == before
    assert WebhookDelivery.objects.count() == 1


def test_an_outsider_gets_404_on_every_endpoint(alice, charlie):
    for method, path in _alice_urls(alice):
        before = WebhookEndpoint.objects.get().secret
        response = getattr(charlie.client, method)(
            alice.url(path), {"url": "https://evil.example/"}, format="json"
        )
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["code"] == "not_found"
        assert "hooks.example" not in response.content.decode()
        _unchanged(alice, before)


def test_an_outsider_gets_404_for_alices_ids_under_his_own_organisation(alice, charlie):
    for method, path in _alice_urls(alice):
        if path == "webhooks":
            continue
        before = WebhookEndpoint.objects.get().secret
        response = getattr(charlie.client, method)(
            charlie.url(path), {"url": "https://evil.example/"}, format="json"
        )
        assert response.status_code == 404, (method, path, response.content)
        _unchanged(alice, before)


def test_an_anonymous_caller_gets_401_everywhere(alice, anonymous):
    for method, path in _alice_urls(alice):
        response = getattr(anonymous, method)(alice.url(path), {}, format="json")
        assert response.status_code == 401, (method, path)


def test_a_key_in_the_query_string_is_refused(alice, anonymous):
    response = anonymous.get(alice.url("webhooks") + f"?api_key={alice.key}")
    assert response.status_code == 401


# --- hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/plain,hello",
        "file:///etc/passwd",
        "ftp://hooks.example/",
        "http://hooks.example/in",
        "http://10.0.0.1/in",
        "https://user:pass@hooks.example/in",
        "https://@hooks.example/in",
        "https://hooks.example/in#frag",
        "https://hooks.example/a b",
        "https://hooks.example/\u0000",
        "https://hooks.example:99999/",
        "//hooks.example/in",
        "hooks.example/in",
        "",
        "https://" + "a" * 2100 + ".example/",
        None,
        42,
        ["https://hooks.example/"],
    ],
)
def test_it_refuses_bad_urls(alice, url):
    response = alice.client.post(alice.url("webhooks"), {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"][0]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


def test_it_refuses_insecure_http_when_not_allowed(alice, settings):
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = False
    response = create(alice, url="http://127.0.0.1:9000/in")
    assert response.status_code == 400


def test_it_accepts_http_to_loopback_in_development(alice):
    assert create(alice, url="http://127.0.0.1:9000/in").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["connection.exploded"]}, "events[0]"),
        ({"events": "connection.created"}, "events"),
        ({"events": None}, "events"),
        ({"events": [1]}, "events[0]"),
        ({"events": ["connection.created"] * 50}, "events"),
        ({"description": 5}, "description"),
        ({"description": "x" * 501}, "description"),
        ({"description": "a\u0007b"}, "description"),
        ({"active": True}, "active"),  # not on create
        ({"extra": 1}, "extra"),
    ],
)
def test_it_refuses_invalid_fields(alice, body, field):
    response = create(alice, **body)
    assert response.status_code == 400, response.content
    assert field in [f["field"] for f in response.json()["fields"]]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"active": "yes"}, "active"),
        ({"active": None}, "active"),
        ({"url": None}, "url"),
        ({"url": "data:,x"}, "url"),
        ({"events": ["nope"]}, "events[0]"),
        ({"id": "x"}, "id"),
    ],
)
def test_it_refuses_invalid_updates_and_changes_nothing(alice, body, field):
    endpoint, _ = make_endpoint(alice.organisation, "https://hooks.example/in")
    response = alice.client.patch(alice.url(f"webhooks/{endpoint.pk}"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in [f["field"] for f in response.json()["fields"]]
    fresh = WebhookEndpoint.objects.get()
    assert (fresh.url, fresh.active, fresh.events) == ("https://hooks.example/in", True, [])


def test_it_refuses_a_body_that_is_not_an_object(alice):
    bodies: list[object] = [[], "x", 1, None]
    for body in bodies:
        response = alice.client.post(
            alice.url("webhooks"), json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"


def test_it_answers_malformed_json_with_400(alice):
    response = alice.client.post(
        alice.url("webhooks"), data='{"url": "https://x.example/",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_it_answers_duplicate_keys_with_400(alice):
    response = alice.client.post(
        alice.url("webhooks"),
        data='{"url": "https://a.example/", "url": "https://b.example/"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert not WebhookEndpoint.objects.exists()


def test_it_answers_a_wrong_content_type_with_415(alice):
    response = alice.client.post(
        alice.url("webhooks"),
        data="url=https://x.example/",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_it_answers_an_oversize_body_with_413(alice):
    body = json.dumps({"url": "https://x.example/", "description": "x" * 70_000})
    response = alice.client.post(alice.url("webhooks"), data=body, content_type="application/json")
    assert response.status_code == 413
    assert not WebhookEndpoint.objects.exists()


def test_it_refuses_nul_characters(alice):
    response = alice.client.post(
        alice.url("webhooks"),
        data=json.dumps({"url": "https://x.example/", "description": "a\u0000b"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "bad_id", ["1%20OR%201=1", "..%2Fx", "99999999999999999999999", "%00", "x" * 300]
)
def test_it_answers_hostile_ids_with_a_json_404(alice, bad_id):
    endpoint, _ = make_endpoint(alice.organisation, "https://hooks.example/in")
    paths = [
        ("get", f"webhooks/{bad_id}"),
        ("patch", f"webhooks/{bad_id}"),
        ("delete", f"webhooks/{bad_id}"),
        ("post", f"webhooks/{bad_id}/rotate-secret"),
        ("get", f"webhooks/{bad_id}/deliveries"),
        ("post", f"webhooks/{bad_id}/deliveries/{bad_id}/redeliver"),
        ("post", f"webhooks/{endpoint.pk}/deliveries/{bad_id}/redeliver"),
    ]
    for method, path in paths:
        response = getattr(alice.client, method)(alice.url(path), {}, format="json")
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["code"] == "not_found"
    response = alice.client.get(f"/api/v2/o/{bad_id}/webhooks")
    assert response.status_code == 404


def test_it_refuses_bad_pagination_parameters(alice):
    for params in ({"first": "0"}, {"first": "x"}, {"first": "1000"}, {"after": "garbage!"}):
        response = alice.client.get(alice.url("webhooks"), params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "invalid_request"
