"""What the hub, end user and session API and the embed API answer (SPEC §8): one
declaration per object, rendered by :meth:`core.wire.Output.render` and documented from
the same classes. No secrets, except the session token in the answer that mints it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from connections.inputs import CredentialPointer
from connections.models import AuthorisationRequest, ConnectionStatus
from connections.models import AuthorisationStatus as Status
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from connectors.oauth2 import OAuth2Config
from core.openapi import paginated
from core.wire import Choice, Computed, Jwks, Output, StringList, Text, Timestamp, Uuid
from embed import models

# Longer than any token exchange can take (outbound timeouts are seconds).
STALE_AFTER_USE = timedelta(minutes=2)


class Branding(Output):
    title = Text(max_length=200, source="branding_title", help_text="Empty: the hub's name.")
    logoUrl = Text(max_length=2048, source="branding_logo_url", help_text="An https URL, or empty.")
    accentColor = Text(source="branding_accent_color", help_text="`#rrggbb`, or empty.")


class Hub(Output):
    """A hub: what an organisation embeds. PATCH replaces `connectors` as a whole."""

    id = Uuid(source="pk")
    name = Text(max_length=200)
    connectors = Computed(
        "connector_ids",
        StringList(help_text="Ids of the organisation's connectors the hub offers."),
    )
    allowedOrigins = StringList(
        source="allowed_origins",
        help_text="Exact origins allowed to frame the widget, e.g. `https://app.example.com`.",
    )
    returnUrls = StringList(source="return_urls")
    branding = Branding(source="*")
    signingKeys = Jwks(
        source="signing_keys", help_text="Public keys that verify company-signed end-user tokens."
    )
    createdAt = Timestamp(source="created_at")
    updatedAt = Timestamp(source="updated_at")

    @staticmethod
    def connector_ids(hub: models.Hub) -> list[str]:
        """Read through :func:`embed.selectors.hub_list`, so the connectors are prefetched."""
        return [str(c.pk) for c in hub.connectors.all()]


class EndUser(Output):
    """An end user of a hub. `externalId` is unique in the hub and cannot change."""

    id = Uuid(source="pk")
    externalId = Text(max_length=200, source="external_id")
    displayName = Text(max_length=200, source="display_name")
    createdAt = Timestamp(source="created_at")
    updatedAt = Timestamp(source="updated_at")


HubPage = paginated("HubPage", Hub())
EndUserPage = paginated("EndUserPage", EndUser())


class Session(Output):
    """A connect session: the token is shown only here (15 minutes; stored as a hash)."""

    token = Text(help_text="`pbs_…`: the embed API's bearer token.")
    expiresAt = Timestamp(source="expires_at")


# --- The embed API ------------------------------------------------------------------


class EmbedHub(Output):
    id = Uuid(source="pk")
    name = Text(max_length=200)
    branding = Branding(source="*")


class EmbedEndUser(Output):
    id = Uuid(source="pk")
    externalId = Text(max_length=200, source="external_id")
    displayName = Text(max_length=200, source="display_name")


class EmbedSession(Output):
    # Renders a ConnectSession (its hub and end user come joined with it).
    hub = EmbedHub()
    endUser = EmbedEndUser(source="end_user")
    expiresAt = Timestamp(source="expires_at")


@dataclass(slots=True)
class OAuth2Offer:
    """What the widget needs to initialise an oauth2 config (no secret)."""

    authorize_url: str
    client_id: str
    credential_id: str
    organisation_id: str
    scopes: list[str]


@dataclass(slots=True)
class ApiKeyOffer:
    name: str


# An offered connector's first usable config (its connector is joined: see offer()).
@dataclass(slots=True)
class Offer:
    config: AuthSchemeConfig
    oauth2: OAuth2Offer | None = None
    api_key: ApiKeyOffer | None = None


def _oauth2_usable(config: AuthSchemeConfig) -> OAuth2Offer | None:
    """Only an authorization-code client with its credential and authorize URL set."""
    oauth2 = OAuth2Config.from_settings(config.settings)
    grant = oauth2.grants.get("authorizationCode")
    if oauth2.grant_type != "authorizationCode" or grant is None:
        return None
    if not (grant.credential_id and grant.client_id and oauth2.authorize_url):
        return None
    return OAuth2Offer(
        authorize_url=oauth2.authorize_url,
        client_id=grant.client_id,
        credential_id=grant.credential_id,
        organisation_id=grant.organisation_id or str(config.organisation_id),
        scopes=list(oauth2.default_scopes),
    )


def offer(connector: Connector) -> Offer | None:
    """The connector with its first usable oauth2/api-key/basic-auth config, or None."""
    for config in connector.auth_scheme_configs.all():
        if config.type == AuthSchemeType.OAUTH2:
            oauth2 = _oauth2_usable(config)
            if oauth2 is not None:
                return Offer(config, oauth2=oauth2)
        elif config.type == AuthSchemeType.API_KEY:
            name = (config.settings or {}).get("name")
            return Offer(config, api_key=ApiKeyOffer(name if isinstance(name, str) else ""))
        elif config.type == AuthSchemeType.BASIC_AUTH:
            return Offer(config)
    return None


class EmbedOAuth2(Output):
    """What the widget sends to initialise (no secret)."""

    authorizeUrl = Text(source="authorize_url", max_length=4096)
    clientId = Text(source="client_id", max_length=4096)
    credential = Computed("credential_pointer", CredentialPointer())
    scopes = StringList()

    @staticmethod
    def credential_pointer(oauth2: OAuth2Offer) -> dict[str, str]:
        return {"id": oauth2.credential_id, "organisationId": oauth2.organisation_id}


class EmbedApiKey(Output):
    name = Text(help_text="The header or parameter name.")


class EmbedConnector(Output):
    """An offered connector with its first usable config: `oauth2` for oauth2 configs,
    `apiKey` for api-key ones, neither for basic-auth."""

    id = Uuid(source="config.connector_id")
    name = Text(source="config.connector.name")
    authSchemeConfigId = Text(source="config.config_id")
    type = Choice(("oauth2", "api-key", "basic-auth"), source="config.type")
    oauth2 = EmbedOAuth2(required=False)
    apiKey = EmbedApiKey(required=False, source="api_key")
    verifies = Computed(
        "has_verification",
        serializers.BooleanField(
            help_text="The config has a `verification` request: send `verify: true` with a "
            "form to have the secret checked before it is stored."
        ),
    )

    @staticmethod
    def has_verification(offer: Offer) -> bool:
        return bool(offer.config.verification)


class EmbedConnectorList(Output):
    """Not paginated."""

    items = EmbedConnector(many=True, source="*")


class EmbedConnection(Output):
    id = Uuid(source="pk")
    name = Text(max_length=200)
    connectorId = Uuid(source="connector_id")
    connectorName = Text(source="connector.name")
    status = Choice(ConnectionStatus.values)
    createdAt = Timestamp(source="created_at")


class EmbedConnectionList(Output):
    """The end user's connections in this hub. Not paginated."""

    items = EmbedConnection(many=True, source="*")


class EmbedInitialiseResponse(Output):
    url = serializers.URLField(help_text="Send the person's browser here.")
    authorisationId = Uuid(
        source="authorisation_request.pk", help_text="Poll `authorisations/{id}` with it."
    )
    browserSecret = Text(
        source="browser_secret",
        help_text="One-time secret that binds the flow to this browser: the panel hands it "
        "to Patchbay's start page (`/embed/flow/start`) by postMessage, never in a URL; "
        "the callback refuses the flow in any browser that has not presented it.",
    )


# --- Authorisations -----------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    status: str
    connection_id: Any
    error: str | None


def authorisation_outcome(request: AuthorisationRequest) -> Outcome:
    """A request never completed before its state expired reads as failed (``expired``),
    so a polling widget always ends."""
    status = request.status
    error = request.error_code or None
    now = timezone.now()
    # Unused past its expiry, or used but never finished (the callback died mid-way).
    stale = (request.used_at is None and request.expires_at <= now) or (
        request.used_at is not None and request.used_at + STALE_AFTER_USE <= now
    )
    if status == Status.PENDING and stale:
        status, error = Status.FAILED, "expired"
    connection_id = request.result_connection_id if status == Status.SUCCEEDED else None
    return Outcome(
        status=status,
        connection_id=connection_id or None,
        error=error if status == Status.FAILED else None,
    )


class AuthorisationStatus(Output):
    # Renders an Outcome (see authorisation_outcome).
    status = Choice(Status.values)
    connectionId = Uuid(source="connection_id", allow_null=True, help_text="Set when succeeded.")
    error = Text(
        allow_null=True,
        help_text="The error code when failed (`access_denied`, `token_exchange_failed`, …, "
        "`expired` for a flow never finished).",
    )


def embed_callback_context(request: AuthorisationRequest) -> dict[str, Any]:
    """Template context for the callback page of an embed flow: the message the popup posts
    to the panel, and the panel's exact origin (Patchbay's own public origin)."""
    parts = urlsplit(settings.PATCHBAY_PUBLIC_URL)
    return {
        "embed_result": {
            "type": "patchbay:oauth-result",
            "authorisationId": str(request.pk),
            **AuthorisationStatus.render(authorisation_outcome(request)),
        },
        "embed_target_origin": f"{parts.scheme}://{parts.netloc}",
    }
