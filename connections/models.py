from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from core.fields import EncryptedJSONField


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    ERROR = "error"


class Connection(models.Model):
    """A connector plus the credentials of one customer or end user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="connections"
    )
    # PROTECT: a connector with connections is not deleted (connectors answers 409).
    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.PROTECT, related_name="connections"
    )
    name = models.CharField(max_length=200)
    base_url = models.CharField(max_length=2048, blank=True)
    connection_template_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    # Made through a hub: the end user it belongs to (deleting them deletes it).
    end_user = models.ForeignKey(
        "embed.EndUser",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="connections",
    )
    # The last verification (SPEC §9.2): when, the upstream's status, and whether that
    # status was one the config expects. Null: never verified.
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_status = models.PositiveSmallIntegerField(null=True, blank=True)
    verification_valid = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "connector", "name"], name="connection_name_unique"
            )
        ]
        # The list's keyset order within the organisation (core.api.CursorPagination).
        indexes = [
            models.Index(fields=["organisation", "created_at", "id"], name="connection_page")
        ]

    def __str__(self) -> str:
        return self.name


class ConnectionCredential(models.Model):
    """One credential of a connection, applied in ``position`` order (e.g. mTLS, then OAuth 2.0)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="connection_credentials"
    )
    # PROTECT: a config or credential a connection uses is not deleted; the apps below
    # answer 409 from the ProtectedError, without importing this one.
    auth_scheme_config = models.ForeignKey("connectors.AuthSchemeConfig", on_delete=models.PROTECT)
    credential = models.ForeignKey("credentials.Credential", on_delete=models.PROTECT)
    # For an OAuth 2.0 token: the oauth2-client credential it was issued to, whose
    # secret refreshing it needs.
    client_credential = models.ForeignKey(
        "credentials.Credential",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"credential {self.position} of {self.connection_id}"


class AuthorisationStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AuthorisationRequest(models.Model):
    """One initialised OAuth 2.0 authorisation: the state, kept only as a hash (SPEC §5.1)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE)
    connector = models.ForeignKey("connectors.Connector", on_delete=models.CASCADE)
    auth_scheme_config = models.ForeignKey("connectors.AuthSchemeConfig", on_delete=models.CASCADE)
    client_credential = models.ForeignKey("credentials.Credential", on_delete=models.CASCADE)
    state_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=512)
    redirect_uri = models.CharField(max_length=2048)
    scopes = models.JSONField(default=list)
    code_verifier = EncryptedJSONField(null=True, blank=True)
    expected_issuer = models.CharField(max_length=2048, blank=True)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Embed flows (SPEC §8): who the connection is for, and through which session.
    hub = models.ForeignKey("embed.Hub", null=True, blank=True, on_delete=models.CASCADE)
    end_user = models.ForeignKey(
        "embed.EndUser", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    connect_session = models.ForeignKey(
        "embed.ConnectSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An embed flow is bound to the browser that started it (README, "Embedding"): the panel
    # hands its start page a one-time secret (kept as a hash, cleared when used), which
    # trades it for an HttpOnly cookie (kept as a hash) that the callback must present.
    browser_secret_hash = models.CharField(max_length=64, blank=True)
    browser_binding_hash = models.CharField(max_length=64, blank=True)
    # The outcome, for the widget to poll.
    status = models.CharField(
        max_length=20, choices=AuthorisationStatus.choices, default=AuthorisationStatus.PENDING
    )
    result_connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_code = models.CharField(max_length=64, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "authorisation request"

    def __str__(self) -> str:
        return f"authorisation {self.id}"
