"""Hubs, end users and connect sessions (SPEC §8)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.utils import timezone

DEFAULT_ACCENT_COLOR = "#2f5bd3"


def no_signing_keys() -> dict[str, list[object]]:
    """A hub's ``signing_keys`` until the company registers some: an empty JWKS."""
    return {"keys": []}


class Hub(models.Model):
    """What a company embeds in its site: the connectors it offers its end users, where
    the widget may be framed (``allowed_origins``) and how it looks."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="hubs"
    )
    name = models.CharField(max_length=200)
    connectors = models.ManyToManyField("connectors.Connector", blank=True, related_name="hubs")
    # Exact origins (scheme://host[:port]) allowed to frame the panel and talk to it.
    allowed_origins = models.JSONField(default=list, blank=True)
    return_urls = models.JSONField(default=list, blank=True)
    branding_title = models.CharField(max_length=200, blank=True)
    branding_logo_url = models.CharField(max_length=2048, blank=True)
    branding_accent_color = models.CharField(max_length=7, default=DEFAULT_ACCENT_COLOR)
    # The public keys (a JWKS, as core.jwks.clean_jwks keeps it) that verify end-user tokens
    # signed by the company (SPEC §11); none: only minted connect sessions are accepted.
    signing_keys = models.JSONField(default=no_signing_keys, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # The list's keyset order within the organisation (core.api.CursorPagination).
        indexes = [models.Index(fields=["organisation", "created_at", "id"], name="hub_page")]

    def __str__(self) -> str:
        return self.name


class EndUser(models.Model):
    """A person on the company's site, known by the company's own id (``external_id``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE)
    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="end_users")
    external_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = "end user"
        constraints = [
            models.UniqueConstraint(fields=["hub", "external_id"], name="end_user_external_id")
        ]
        # A hub's list of end users, in its keyset order (core.api.CursorPagination).
        indexes = [
            models.Index(fields=["organisation", "hub", "created_at", "id"], name="end_user_page")
        ]

    def __str__(self) -> str:
        return self.display_name or self.external_id


class ConnectSession(models.Model):
    """A short-lived token for one hub and one end user. Only its SHA-256 is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE)
    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="sessions")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sessions")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "connect session"

    def __str__(self) -> str:
        return f"session {self.id}"

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class EndUserTokenUse(models.Model):
    """The ``jti`` of a company-signed end-user token that has been used, kept until the
    token expires: the unique constraint is what lets each token be used only once, even by
    two requests at the same moment (one insert wins)."""

    id = models.BigAutoField(primary_key=True)
    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="token_uses")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-used_at"]
        verbose_name = "used end-user token"
        constraints = [models.UniqueConstraint(fields=["hub", "jti"], name="end_user_token_jti")]
        indexes = [models.Index(fields=["hub", "expires_at"], name="end_user_token_expiry")]

    def __str__(self) -> str:
        return f"jti {self.jti[:40]}"
