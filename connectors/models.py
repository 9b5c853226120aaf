from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from core.fields import EncryptedJSONField


class AuthSchemeType(models.TextChoices):
    NONE = "none"
    API_KEY = "api-key"
    BASIC_AUTH = "basic-auth"
    OAUTH2 = "oauth2"
    OAUTH1 = "oauth1"
    HMAC = "hmac"
    CERTIFICATE = "certificate"


class Connector(models.Model):
    """How to talk to one third-party API and how it authenticates."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="connectors"
    )
    name = models.CharField(max_length=200)
    base_url = models.CharField(max_length=2048, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="connector_name_unique")
        ]
        # The list's keyset order within the organisation (core.api.CursorPagination).
        indexes = [models.Index(fields=["organisation", "created_at", "id"], name="connector_page")]

    def __str__(self) -> str:
        return self.name


class AuthSchemeConfig(models.Model):
    """One way of authenticating to a connector's API (SPEC §4 AuthSchemeConfig).

    ``settings`` holds the typed, non-secret part; write-only secrets of the
    type (e.g. an OAuth 1.0a consumer secret) live encrypted in ``secrets``.
    OAuth 2.0 client secrets are never here: they live in an ``oauth2-client`` credential.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE)
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="auth_scheme_configs"
    )
    config_id = models.CharField(
        max_length=100, help_text="Chosen by the client; unique within its connector."
    )
    type = models.CharField(max_length=20, choices=AuthSchemeType.choices)
    description = models.CharField(max_length=1000, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    secrets = EncryptedJSONField(null=True, blank=True)
    # SPEC §9.2 {method, path, expectedStatus}; null: not configured.
    verification = models.JSONField(null=True, blank=True)
    # Ids of the oauth2-client credentials Patchbay made from a grant's clientId +
    # clientSecret: this config owns them, updates them when the same client is written
    # again, and deletes them once it no longer names them (connectors.services).
    grant_clients = models.JSONField(default=list, blank=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "config_id"], name="auth_scheme_config_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.config_id} ({self.type})"
