"""API shapes of hubs, end users and what the embed API answers (SPEC §8). No secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from connections.models import AuthorisationRequest, AuthorisationStatus, Connection
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from connectors.oauth2 import OAuth2Config
from core.time import iso
from embed.models import EndUser, Hub

# Longer than any token exchange can take (outbound timeouts are seconds).
STALE_AFTER_USE = timedelta(minutes=2)


def branding_repr(hub: Hub) -> dict[str, Any]:
    return {
        "title": hub.branding_title,
        "logoUrl": hub.branding_logo_url,
        "accentColor": hub.branding_accent_color,
    }


def hub_repr(hub: Hub) -> dict[str, Any]:
    """``{id, name, connectors, allowedOrigins, returnUrls, branding, createdAt, updatedAt}``;
    read through :func:`embed.selectors.hub_list` so ``connectors`` is prefetched."""
    return {
        "id": str(hub.pk),
        "name": hub.name,
        "connectors": [str(c.pk) for c in hub.connectors.all()],
        "allowedOrigins": list(hub.allowed_origins or []),
        "returnUrls": list(hub.return_urls or []),
        "branding": branding_repr(hub),
        "createdAt": iso(hub.created_at),
        "updatedAt": iso(hub.updated_at),
    }


def end_user_repr(end_user: EndUser) -> dict[str, Any]:
    return {
        "id": str(end_user.pk),
        "externalId": end_user.external_id,
        "displayName": end_user.display_name,
        "createdAt": iso(end_user.created_at),
        "updatedAt": iso(end_user.updated_at),
    }


def embed_session_repr(hub: Hub, end_user: EndUser, expires_at: Any) -> dict[str, Any]:
    return {
        "hub": {"id": str(hub.pk), "name": hub.name, "branding": branding_repr(hub)},
        "endUser": {
            "id": str(end_user.pk),
            "externalId": end_user.external_id,
            "displayName": end_user.display_name,
        },
        "expiresAt": iso(expires_at),
    }


def _oauth2_usable(config: AuthSchemeConfig) -> dict[str, Any] | None:
    """What the widget needs to initialise: only when an authorization-code client is set."""
    oauth2 = OAuth2Config.from_settings(config.settings)
    grant = oauth2.grants.get("authorizationCode")
    if oauth2.grant_type != "authorizationCode" or grant is None:
        return None
    if not (grant.credential_id and grant.client_id and oauth2.authorize_url):
        return None
    return {
        "authorizeUrl": oauth2.authorize_url,
        "clientId": grant.client_id,
        "credential": {
            "id": grant.credential_id,
            "organisationId": grant.organisation_id or str(config.organisation_id),
        },
        "scopes": list(oauth2.default_scopes),
    }


def embed_connector_repr(connector: Connector) -> dict[str, Any] | None:
    """The connector with its first usable oauth2/api-key/basic-auth config, or None."""
    for config in connector.auth_scheme_configs.all():
        item: dict[str, Any] = {
            "id": str(connector.pk),
            "name": connector.name,
            "authSchemeConfigId": config.config_id,
            "type": config.type,
        }
        if config.type == AuthSchemeType.OAUTH2:
            oauth2 = _oauth2_usable(config)
            if oauth2 is None:
                continue
            item["oauth2"] = oauth2
            return item
        if config.type == AuthSchemeType.API_KEY:
            name = (config.settings or {}).get("name")
            item["apiKey"] = {"name": name if isinstance(name, str) else ""}
            return item
        if config.type == AuthSchemeType.BASIC_AUTH:
            return item
    return None


def embed_connection_repr(connection: Connection) -> dict[str, Any]:
    return {
        "id": str(connection.pk),
        "name": connection.name,
        "connectorId": str(connection.connector_id),
        "connectorName": connection.connector.name,
        "status": connection.status,
        "createdAt": iso(connection.created_at),
    }


def authorisation_status_repr(request: AuthorisationRequest) -> dict[str, Any]:
    """``{status, connectionId, error}``. A request never completed before its state
    expired reads as failed (``expired``), so a polling widget always ends."""
    status = request.status
    error = request.error_code or None
    now = timezone.now()
    # Unused past its expiry, or used but never finished (the callback died mid-way).
    stale = (request.used_at is None and request.expires_at <= now) or (
        request.used_at is not None and request.used_at + STALE_AFTER_USE <= now
    )
    if status == AuthorisationStatus.PENDING and stale:
        status, error = AuthorisationStatus.FAILED, "expired"
    connection_id = (
        request.result_connection_id if status == AuthorisationStatus.SUCCEEDED else None
    )
    return {
        "status": status,
        "connectionId": str(connection_id) if connection_id else None,
        "error": error if status == AuthorisationStatus.FAILED else None,
    }


def embed_callback_context(request: AuthorisationRequest) -> dict[str, Any]:
    """Template context for the callback page of an embed flow: the message the popup posts
    to the panel, and the panel's exact origin (Patchbay's own public origin)."""
    parts = urlsplit(settings.PATCHBAY_PUBLIC_URL)
    return {
        "embed_result": {
            "type": "patchbay:oauth-result",
            "authorisationId": str(request.pk),
            **authorisation_status_repr(request),
        },
        "embed_target_origin": f"{parts.scheme}://{parts.netloc}",
    }
