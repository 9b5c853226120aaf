"""event_emit: one event, one delivery per subscribed active endpoint of its organisation."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.webhooks.conftest import make_endpoint
from webhooks.models import Event, WebhookDelivery
from webhooks.services import EVENT_TYPES, event_emit


def test_it_queues_only_for_subscribed_active_endpoints_of_the_organisation(alice, charlie):
    everything, _ = make_endpoint(alice.organisation, "https://a.example/all")
    created, _ = make_endpoint(
        alice.organisation, "https://a.example/created", ["connection.created"]
    )
    make_endpoint(alice.organisation, "https://a.example/expired", ["credential.expired"])
    make_endpoint(alice.organisation, "https://a.example/off", active=False)
    make_endpoint(charlie.organisation, "https://c.example/all")
    event = event_emit(
        organisation=alice.organisation, type="connection.created", data={"connectionId": "x"}
    )
    assert event.organisation == alice.organisation
    assert event.type == "connection.created"
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {everything.pk, created.pk}
    assert {d.organisation_id for d in deliveries} == {alice.organisation.pk}
    assert all(d.next_attempt_at == event.created_at for d in deliveries)
    assert WebhookDelivery.objects.count() == 2


def test_it_records_the_event_even_without_endpoints(alice):
    event = event_emit(organisation=alice.organisation, type="credential.expired", data={"a": 1})
    event.refresh_from_db()
    assert event.data == {"a": 1}
    assert WebhookDelivery.objects.count() == 0


def test_it_refuses_unknown_event_types(alice):
    with pytest.raises(ValueError, match="unknown event type"):
        event_emit(organisation=alice.organisation, type="connection.exploded", data={})
    assert Event.objects.count() == 0


def test_every_documented_type_is_known():
    assert set(EVENT_TYPES) == {
        "connection.created",
        "connection.reauthorised",
        "connection.refresh_failed",
        "connection.needs_reauth",
        "connection.deleted",
        "connection.revocation_failed",
        "credential.expired",
    }


def test_it_is_rolled_back_with_the_callers_transaction(alice):
    make_endpoint(alice.organisation, "https://a.example/all")

    def change_that_fails() -> None:
        with transaction.atomic():
            event_emit(organisation=alice.organisation, type="connection.deleted", data={})
            raise RuntimeError("the change the event reports failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert Event.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_it_costs_the_same_few_queries_whatever_the_number_of_endpoints(
    alice, django_assert_num_queries
):
    make_endpoint(alice.organisation, "https://a.example/1")
    with django_assert_num_queries(5):  # savepoint, insert, select endpoints, bulk insert, release
        event_emit(organisation=alice.organisation, type="connection.created", data={})
    for n in range(2, 12):
        make_endpoint(alice.organisation, f"https://a.example/{n}")
    with django_assert_num_queries(5):
        event_emit(organisation=alice.organisation, type="connection.created", data={})
    assert WebhookDelivery.objects.count() == 12


def test_it_stores_non_json_native_values_as_strings(alice):
    import uuid
    from datetime import UTC, datetime

    pk = uuid.uuid4()
    when = datetime(2030, 1, 1, tzinfo=UTC)
    event = event_emit(
        organisation=alice.organisation, type="credential.expired", data={"id": pk, "at": when}
    )
    event.refresh_from_db()
    assert event.data == {"id": str(pk), "at": "2030-01-01T00:00:00Z"}
