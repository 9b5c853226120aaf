"""What the webhooks API answers: one declaration per object, rendered by
:meth:`core.wire.Output.render` and documented from the same classes. The signing secret
is in the create and rotate answers only."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from core.openapi import paginated
from core.outbound import UNREACHABLE, UNREACHABLE_KINDS, UNREACHABLE_MESSAGE
from core.wire import Bool, Choice, Computed, Int, Output, StringList, Text, Timestamp, Uuid
from webhooks import models
from webhooks.inputs import EVENT_TYPES


class WebhookEndpoint(Output):
    id = Uuid(source="pk")
    organisationId = Uuid(source="organisation_id")
    url = Text()
    description = Text()
    events = StringList(choices=EVENT_TYPES, help_text="Event types to receive; empty: all.")
    active = Bool()
    previousSecretExpiresAt = Computed(
        "previous_secret_expires_at",
        Timestamp(
            allow_null=True,
            help_text="While a rotation's overlap lasts: until when the previous secret "
            "also signs deliveries (a second signature in `webhook-signature`).",
        ),
    )
    createdAt = Timestamp(source="created_at")
    updatedAt = Timestamp(source="updated_at")

    @staticmethod
    def previous_secret_expires_at(endpoint: models.WebhookEndpoint) -> Any:
        return Timestamp().render_value(endpoint.overlap_until(timezone.now()))


class WebhookEndpointCreated(WebhookEndpoint):
    """The new endpoint with its signing secret, shown only here."""

    secret = Text(help_text="`whsec_…`: shown only in this answer.")


class WebhookSecret(Output):
    secret = Text(help_text="The new `whsec_…` secret, shown only here.")
    previousSecretExpiresAt = Computed(
        "previous_secret_expires_at",
        Timestamp(
            allow_null=True, help_text="Until when the old secret also signs; null: not at all."
        ),
    )

    @staticmethod
    def previous_secret_expires_at(rotated: Any) -> Any:
        return Timestamp().render_value(rotated.endpoint.overlap_until(timezone.now()))


class WebhookDelivery(Output):
    id = Uuid(source="pk")
    eventId = Uuid(source="event_id")
    type = Choice(EVENT_TYPES, source="event.type")
    status = Choice(("pending", "delivered", "dead"))
    attempts = Int()
    deliveredAt = Timestamp(source="delivered_at", allow_null=True)
    deadAt = Timestamp(source="dead_at", allow_null=True)
    lastAttemptAt = Timestamp(source="last_attempt_at", allow_null=True)
    lastStatusCode = Int(source="last_status_code", allow_null=True)
    lastError = Computed("last_error", Text(allow_null=True))
    nextAttemptAt = Computed(
        "next_attempt_at", Timestamp(allow_null=True, help_text="While pending.")
    )
    createdAt = Timestamp(source="created_at")

    @staticmethod
    def last_error(delivery: models.WebhookDelivery) -> Any:
        """The stored error in the words a tenant may see: a blocked address, a refused
        connection and a timeout are one "unreachable" (``core.outbound.UNREACHABLE_KINDS``:
        anything finer would make webhook URLs a port scanner); the admin shows the detail."""
        kind, colon, _ = delivery.last_error.partition(":")
        if colon and kind in UNREACHABLE_KINDS:
            return f"{UNREACHABLE}: {UNREACHABLE_MESSAGE}"
        return delivery.last_error or None

    @staticmethod
    def next_attempt_at(delivery: models.WebhookDelivery) -> Any:
        pending = delivery.delivered_at is None and delivery.dead_at is None
        return Timestamp().render_value(delivery.next_attempt_at) if pending else None


WebhookEndpointPage = paginated("WebhookEndpointPage", WebhookEndpoint())
WebhookDeliveryPage = paginated("WebhookDeliveryPage", WebhookDelivery())
