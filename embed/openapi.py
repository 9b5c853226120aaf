"""OpenAPI components of hubs, end users, connect sessions and the embed API (SPEC §8), for
the docs only. Nothing here carries a secret, except the write-only `apiKey` /
`basicAuth.password` of an embed connection request and the session token, which exists
only in the answer that mints it."""

from __future__ import annotations

from rest_framework import serializers

from connections.models import AuthorisationStatus, ConnectionStatus
from connections.openapi import CredentialPointerSerializer, InitialiseResponseSerializer
from core.openapi import DocSerializer, EnumField, paginated


class BrandingSerializer(DocSerializer):
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Empty: the hub's name."
    )
    logoUrl = serializers.CharField(
        required=False, allow_blank=True, help_text="An https URL, or empty."
    )
    accentColor = serializers.CharField(
        required=False, allow_blank=True, help_text="`#rrggbb`, or empty."
    )


class HubSerializer(DocSerializer):
    """A hub: what an organisation embeds. PATCH replaces `connectors` as a whole."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=200)
    connectors = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Ids of the organisation's connectors the hub offers.",
    )
    allowedOrigins = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Exact origins allowed to frame the widget, e.g. `https://app.example.com`.",
    )
    returnUrls = serializers.ListField(child=serializers.CharField(), required=False)
    branding = BrandingSerializer(required=False)
    createdAt = serializers.DateTimeField(read_only=True)
    updatedAt = serializers.DateTimeField(read_only=True)


HubPageSerializer = paginated("HubPage", HubSerializer())


class EndUserSerializer(DocSerializer):
    """An end user of a hub. `externalId` is unique in the hub and cannot change."""

    id = serializers.UUIDField(read_only=True)
    externalId = serializers.CharField(max_length=200)
    displayName = serializers.CharField(required=False, allow_blank=True, max_length=200)
    createdAt = serializers.DateTimeField(read_only=True)
    updatedAt = serializers.DateTimeField(read_only=True)


EndUserPageSerializer = paginated("EndUserPage", EndUserSerializer())


class SessionEndUserSerializer(DocSerializer):
    externalId = serializers.CharField(max_length=200)
    displayName = serializers.CharField(
        required=False, allow_blank=True, help_text="Replaces the stored one when given."
    )


class SessionRequestSerializer(DocSerializer):
    """The end user is created on first use."""

    endUser = SessionEndUserSerializer()


class SessionSerializer(DocSerializer):
    """A connect session: the token is shown only here (15 minutes; stored as a hash)."""

    token = serializers.CharField(help_text="`pbs_…`: the embed API's bearer token.")
    expiresAt = serializers.DateTimeField()


# --- The embed API ------------------------------------------------------------------


class EmbedHubSerializer(DocSerializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    branding = BrandingSerializer()


class EmbedEndUserSerializer(DocSerializer):
    id = serializers.UUIDField()
    externalId = serializers.CharField()
    displayName = serializers.CharField(allow_blank=True)


class EmbedSessionSerializer(DocSerializer):
    hub = EmbedHubSerializer()
    endUser = EmbedEndUserSerializer()
    expiresAt = serializers.DateTimeField()


class EmbedOAuth2Serializer(DocSerializer):
    """What the widget sends to initialise (no secret)."""

    authorizeUrl = serializers.CharField()
    clientId = serializers.CharField()
    credential = CredentialPointerSerializer()
    scopes = serializers.ListField(child=serializers.CharField())


class EmbedApiKeySerializer(DocSerializer):
    name = serializers.CharField(allow_blank=True, help_text="The header or parameter name.")


class EmbedConnectorSerializer(DocSerializer):
    """An offered connector with its first usable config: `oauth2` for oauth2 configs,
    `apiKey` for api-key ones, neither for basic-auth."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    authSchemeConfigId = serializers.CharField()
    type = EnumField(("oauth2", "api-key", "basic-auth"))
    oauth2 = EmbedOAuth2Serializer(required=False)
    apiKey = EmbedApiKeySerializer(required=False)


class EmbedConnectorListSerializer(DocSerializer):
    """Not paginated."""

    items = EmbedConnectorSerializer(many=True)


class EmbedConnectionSerializer(DocSerializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    connectorId = serializers.UUIDField()
    connectorName = serializers.CharField()
    status = EnumField(ConnectionStatus.values)
    createdAt = serializers.DateTimeField()


class EmbedConnectionListSerializer(DocSerializer):
    """The end user's connections in this hub. Not paginated."""

    items = EmbedConnectionSerializer(many=True)


class EmbedBasicAuthSerializer(DocSerializer):
    username = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, help_text="Secret: write-only.")


class EmbedConnectionCreateSerializer(DocSerializer):
    """`apiKey` for an api-key config, `basicAuth` for a basic-auth one: stored in a
    credential owned by the connection, write-only."""

    connectorId = serializers.CharField()
    authSchemeConfigId = serializers.CharField(
        required=False, max_length=100, help_text="Default: the first api-key/basic-auth one."
    )
    name = serializers.CharField(required=False, max_length=200)
    apiKey = serializers.CharField(required=False, write_only=True, help_text="Secret.")
    basicAuth = EmbedBasicAuthSerializer(required=False)


class EmbedConnectionUpdateSerializer(DocSerializer):
    """Replace the secret of a form connection (reconnect)."""

    apiKey = serializers.CharField(required=False, write_only=True, help_text="Secret.")
    basicAuth = EmbedBasicAuthSerializer(required=False)


class EmbedInitialiseResponseSerializer(InitialiseResponseSerializer):
    authorisationId = serializers.UUIDField(help_text="Poll `authorisations/{id}` with it.")


class AuthorisationStatusSerializer(DocSerializer):
    status = EnumField(AuthorisationStatus.values)
    connectionId = serializers.UUIDField(allow_null=True, help_text="Set when succeeded.")
    error = serializers.CharField(
        allow_null=True,
        help_text="The error code when failed (`access_denied`, `token_exchange_failed`, …, "
        "`expired` for a flow never finished).",
    )
