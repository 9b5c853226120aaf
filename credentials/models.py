from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from credentials.fields import EncryptedJSONField


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
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.type})"
