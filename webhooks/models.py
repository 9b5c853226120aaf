"""Events, the endpoints that receive them, and the outbox of deliveries (SPEC §9)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import EncryptedJSONField


class EventType(models.TextChoices):
    CONNECTION_CREATED = "connection.created"
    CONNECTION_REAUTHORISED = "connection.reauthorised"
    CONNECTION_REFRESH_FAILED = "connection.refresh_failed"
    CONNECTION_NEEDS_REAUTH = "connection.needs_reauth"
    CONNECTION_DELETED = "connection.deleted"
    CONNECTION_REVOCATION_FAILED = "connection.revocation_failed"
    CREDENTIAL_EXPIRED = "credential.expired"


class Event(models.Model):
    """Something that happened to an organisation's resources; immutable once recorded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=64, choices=EventType.choices)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookEndpoint(models.Model):
    """An organisation's URL that receives signed events.

    ``events`` empty means every event type. ``secret`` holds ``whsec_<base64>``
    encrypted (SPEC §6); it is shown once, at creation or rotation. After a rotation the
    secret it replaced, ``previous_secret`` (encrypted too), signs as well until
    ``previous_secret_expires_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=500, blank=True)
    events = models.JSONField(default=list, blank=True)
    secret = EncryptedJSONField()
    previous_secret = EncryptedJSONField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(
        "old secret also signs until", null=True, blank=True
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook endpoint"
        # The list's keyset order within the organisation (core.api.CursorPagination).
        indexes = [
            models.Index(fields=["organisation", "created_at", "id"], name="webhook_endpoint_page")
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def subscribes_to(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    def overlap_until(self, at: datetime) -> datetime | None:
        """When the previous secret stops signing, if it still signs at ``at``."""
        until = self.previous_secret_expires_at
        return until if until is not None and until > at else None

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets an attempt at ``at`` is signed with: the current one, then the one
        it replaced while the rotation's overlap lasts."""
        if self.overlap_until(at) is None or not self.previous_secret:
            return [self.secret]
        return [self.secret, self.previous_secret]


class WebhookDelivery(models.Model):
    """One event to one endpoint: a row of the outbox.

    Pending while ``delivered_at`` and ``dead_at`` are both null; due when
    ``next_attempt_at`` has passed. A worker that claims a row moves
    ``next_attempt_at`` to the end of its lease (``locked_until``), so a row
    whose worker died becomes due again by itself.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The worker's only query: pending rows by next_attempt_at.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, dead_at__isnull=True),
                name="webhook_delivery_due",
            ),
            # An endpoint's list of deliveries, in its keyset order (core.api).
            models.Index(fields=["endpoint", "created_at", "id"], name="webhook_delivery_page"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"

    @property
    def status(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        if self.dead_at is not None:
            return "dead"
        return "pending"
