"""OpenAPI components of webhook endpoints and deliveries, for the docs only. The signing
secret is in the create and rotate answers only."""

from __future__ import annotations

from rest_framework import serializers

from core.openapi import DocSerializer, EnumField, paginated
from webhooks.models import EventType

_EVENTS_HELP = "Event types to receive; empty: all."


class WebhookEndpointSerializer(DocSerializer):
    id = serializers.UUIDField()
    organisationId = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    events = serializers.ListField(child=EnumField(EventType.values), help_text=_EVENTS_HELP)
    active = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The new endpoint with its signing secret, shown only here."""

    secret = serializers.CharField(help_text="`whsec_…`: shown only in this answer.")


WebhookEndpointPageSerializer = paginated("WebhookEndpointPage", WebhookEndpointSerializer())


class WebhookEndpointCreateSerializer(DocSerializer):
    url = serializers.CharField(help_text="https (http only to loopback when allowed).")
    description = serializers.CharField(required=False, allow_blank=True)
    events = serializers.ListField(
        child=EnumField(EventType.values), required=False, help_text=_EVENTS_HELP
    )


class WebhookEndpointUpdateSerializer(WebhookEndpointCreateSerializer):
    active = serializers.BooleanField(required=False)


class WebhookSecretSerializer(DocSerializer):
    secret = serializers.CharField(help_text="The new `whsec_…` secret, shown only here.")


class WebhookDeliverySerializer(DocSerializer):
    id = serializers.UUIDField()
    eventId = serializers.UUIDField()
    type = EnumField(EventType.values)
    status = EnumField(("pending", "delivered", "dead"))
    attempts = serializers.IntegerField()
    deliveredAt = serializers.DateTimeField(allow_null=True)
    deadAt = serializers.DateTimeField(allow_null=True)
    lastAttemptAt = serializers.DateTimeField(allow_null=True)
    lastStatusCode = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField(allow_null=True)
    nextAttemptAt = serializers.DateTimeField(allow_null=True, help_text="While pending.")
    createdAt = serializers.DateTimeField()


WebhookDeliveryPageSerializer = paginated("WebhookDeliveryPage", WebhookDeliverySerializer())
