"""Wire format of webhook endpoints and deliveries. The secret is never part of it."""

from __future__ import annotations

from credentials.representation import iso
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoint_repr(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {
        "id": str(endpoint.pk),
        "organisationId": str(endpoint.organisation_id),
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "active": endpoint.active,
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }


def delivery_repr(delivery: WebhookDelivery) -> dict[str, object]:
    pending = delivery.delivered_at is None and delivery.dead_at is None
    return {
        "id": str(delivery.pk),
        "eventId": str(delivery.event_id),
        "type": delivery.event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "deliveredAt": iso(delivery.delivered_at),
        "deadAt": iso(delivery.dead_at),
        "lastAttemptAt": iso(delivery.last_attempt_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error or None,
        "nextAttemptAt": iso(delivery.next_attempt_at) if pending else None,
        "createdAt": iso(delivery.created_at),
    }
