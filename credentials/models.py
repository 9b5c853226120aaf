from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.crypto import DecryptionError
from core.fields import EncryptedJSONField
from credentials.types import public_data


class CredentialType(models.TextChoices):
    NONE = "none"
    STRING = "string"
    BINARY = "binary"
    BASIC_AUTH = "basic-auth"
    OAUTH2_CLIENT = "oauth2-client"
    OAUTH2_TOKEN = "oauth2-token"
    OAUTH2_PASSWORD = "oauth2-password"
    CERTIFICATE = "certificate"
    OAUTH1_TOKEN = "oauth1-token"
    DEFAULT = "default"


class Credential(models.Model):
    """Secret material of one organisation. ``data`` is stored encrypted (SPEC §6)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="credentials"
    )
    name = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=20, choices=CredentialType.choices)
    data = EncryptedJSONField()
    # None: never validated; []: valid; otherwise the reasons it is not usable.
    errors = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    redact_fields = models.JSONField(default=list, blank=True)
    # The non-secret fields of ``data`` in plaintext (``credentials.types.public_data``), so
    # that answering a credential decrypts nothing. Kept in step by :meth:`save`; checked
    # against the ciphertext whenever ``data`` is decrypted (:meth:`sealed_opened`), so a
    # changed or copied value is refused where the credential is used. None: not known
    # (a row the backfill could not decrypt): the answer decrypts ``data`` instead.
    public = models.JSONField(null=True, blank=True, editable=False)
    # Plaintext copies of non-secret token facts, so the worker can find due tokens
    # without decrypting every row. ``token_expires_at`` mirrors ``data.expiresAt`` of an
    # ``oauth2-token`` and is kept in step by :meth:`save`, the one place data is written.
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last refresh that failed for a reason other than a refused grant: refreshes
    # are not retried within the cooldown (SPEC §5.3, 30 s).
    refresh_failed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A worker's claim on a due token (``connections.oauth.refresh_due``): other workers
    # leave the row alone until then, and a crashed worker's claims simply run out. Only
    # shares the work out; one refresh at a time is the refresh lock's job.
    refresh_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The worker's due filter, in its order: tokens with an expiry only (the rest
            # of the table is not in it), so finding the next due batch reads that batch.
            models.Index(
                fields=["token_expires_at", "id"],
                name="credential_refresh_due",
                condition=models.Q(token_expires_at__isnull=False),
            ),
            # The list's keyset order within the organisation, and with ?type= (core.api).
            models.Index(fields=["organisation", "created_at", "id"], name="credential_page"),
            models.Index(
                fields=["organisation", "type", "created_at", "id"], name="credential_type_page"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.type})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"data", "type", "redact_fields"} & set(update_fields):
            self.token_expires_at = token_expiry(self.type, self.data)
            self.public = public_data(self.type, self.data, self.redact_fields)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "token_expires_at", "public"}
        super().save(*args, **kwargs)

    def shown_data(self) -> dict[str, object]:
        """The non-secret fields of ``data``, without decrypting it when ``public`` is known."""
        if self.public is not None:
            return dict(self.public)
        return public_data(self.type, self.data, self.redact_fields)

    def sealed_opened(self, field: EncryptedJSONField, value: Any) -> None:
        """Called by the encrypted field when it has decrypted ``value`` from this row: the
        plaintext ``public`` must be what the ciphertext says, else the row was altered."""
        if field.attname != "data" or "public" in self.get_deferred_fields():
            return
        if self.public is not None and self.public != public_data(
            self.type, value, self.redact_fields
        ):
            raise DecryptionError(
                "Decryption refused: the credential's plaintext fields do not match its "
                "ciphertext (the row was altered)."
            )


def token_expiry(type_name: str, data: object) -> datetime | None:
    """``data.expiresAt`` of an ``oauth2-token`` as an aware datetime; None otherwise."""
    if type_name != CredentialType.OAUTH2_TOKEN or not isinstance(data, dict):
        return None
    value = data.get("expiresAt")
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed
