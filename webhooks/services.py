"""Writes on webhooks. Keyword-only, typed; validation raises :class:`PatchbayError`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import PatchbayError
from organisations.models import Organisation
from webhooks.models import Event, EventType, WebhookDelivery, WebhookEndpoint
from webhooks.signing import secret_generate

EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)
MAX_ENDPOINTS = 20


def event_emit(*, organisation: Organisation, type: str, data: dict[str, object]) -> Event:
    """Record an event and queue one delivery per active endpoint subscribed to ``type``.

    Runs in the caller's transaction (a savepoint when there is one), so an event
    is queued exactly when the change it reports is committed: the outbox
    pattern. Cheap: one read of the organisation's endpoints, one insert, one bulk
    insert; nothing is sent here (``webhooks.jobs.deliver_due`` does that).
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    with transaction.atomic():
        event = Event.objects.create(organisation=organisation, type=type, data=data)
        endpoints = WebhookEndpoint.objects.filter(organisation=organisation, active=True).only(
            "id", "events"
        )
        now = event.created_at
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                organisation=organisation, endpoint=endpoint, event=event, next_attempt_at=now
            )
            for endpoint in endpoints
            if endpoint.subscribes_to(type)
        )
    return event


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and its secret, returned once by create and rotate."""

    endpoint: WebhookEndpoint
    secret: str


def endpoint_create(
    *,
    organisation: Organisation,
    url: str,
    description: str = "",
    events: list[str] | None = None,
) -> EndpointWithSecret:
    """Create an endpoint with a fresh secret. The secret is returned here and never again.
    ``events`` are validated event types (:class:`webhooks.inputs.WebhookEndpointCreate`)."""
    values = {"url": url, "description": description, "events": events or []}
    with transaction.atomic():
        # The organisation's row lock serialises concurrent creates, so the count holds.
        list(Organisation.objects.select_for_update().filter(pk=organisation.pk).values("pk"))
        if WebhookEndpoint.objects.filter(organisation=organisation).count() >= MAX_ENDPOINTS:
            raise PatchbayError(
                "limit_reached",
                f"An organisation may have at most {MAX_ENDPOINTS} webhook endpoints.",
            )
        secret = secret_generate()
        endpoint = WebhookEndpoint.objects.create(
            organisation=organisation, secret=secret, **values
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    description: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint: the fields given (not None). Deliveries already queued keep going
    to the endpoint's current URL."""
    given = {"url": url, "description": description, "events": events, "active": active}
    values = {name: value for name, value in given.items() if value is not None}
    if values:
        for name, value in values.items():
            setattr(endpoint, name, value)
        endpoint.save(update_fields=[*values, "updated_at"])
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its deliveries."""
    endpoint.delete()


def endpoint_secret_rotate(
    *, endpoint: WebhookEndpoint, overlap_seconds: int | None = None
) -> EndpointWithSecret:
    """A new secret. Attempts from now on are signed with it and, for ``overlap_seconds``
    (default ``PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS``; 0 cuts the old one at once),
    with the secret it replaces too, so the receiver can switch over without dropping a
    delivery. Rotating again during an overlap drops the oldest secret: two sign at most.
    """
    if overlap_seconds is None:
        overlap_seconds = settings.PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS
    secret = secret_generate()
    if overlap_seconds > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=overlap_seconds)
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = secret
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event to its endpoint again, as soon as a worker runs.

    A pending delivery is made due now (unless a worker holds it right now); a
    delivered or dead one gets a new delivery row, so the history of the old
    one stays as it was. The receiver sees the same ``webhook-id``.
    """
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.only("id", "active").get(pk=delivery.endpoint_id)
        if not endpoint.active:
            raise PatchbayError(
                "endpoint_inactive", "The endpoint is disabled; enable it first.", status=409
            )
        now = timezone.now()
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.delivered_at is None and current.dead_at is None:
            if current.locked_until is None or current.locked_until <= now:
                current.next_attempt_at = now
                current.save(update_fields=["next_attempt_at"])
            return current
        # A redelivery already waiting (an earlier click) is the one: asking twice must not
        # send the event twice. The row lock above serialises concurrent asks.
        waiting = (
            WebhookDelivery.objects.select_for_update()
            .filter(
                endpoint_id=current.endpoint_id,
                event_id=current.event_id,
                delivered_at__isnull=True,
                dead_at__isnull=True,
            )
            .order_by("created_at")
            .first()
        )
        if waiting is not None:
            return waiting
        return WebhookDelivery.objects.create(
            organisation_id=current.organisation_id,
            endpoint_id=current.endpoint_id,
            event_id=current.event_id,
            next_attempt_at=now,
        )
