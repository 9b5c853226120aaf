"""Reads of webhooks. Every read is scoped to one organisation."""

from __future__ import annotations

from django.db.models import QuerySet

from core.errors import not_found
from core.text import parse_uuid
from organisations.models import Organisation
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoint_list(*, organisation: Organisation) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organisation=organisation)


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries with their events (for the type) in one query."""
    return WebhookDelivery.objects.filter(
        endpoint=endpoint, organisation_id=endpoint.organisation_id
    ).select_related("event")


def delivery_get(*, endpoint: WebhookEndpoint, delivery_id: object) -> WebhookDelivery:
    """The endpoint's delivery with this id, else 404 (malformed ids included)."""
    pk = parse_uuid(delivery_id)
    delivery = delivery_list(endpoint=endpoint).filter(pk=pk).first() if pk else None
    if delivery is None:
        raise not_found("delivery")
    return delivery
