"""OpenAPI components of connections and the OAuth 2.0 endpoints (SPEC §4, §5), for the
docs only."""

from __future__ import annotations

from rest_framework import serializers

from connections.models import ConnectionStatus
from connectors.outputs import AuthSchemeConfig
from core.openapi import DocSerializer, EnumField, paginated
from credentials.openapi import credential


class ConnectionCredentialSerializer(DocSerializer):
    """One credential of a connection, with the auth scheme config it is applied through."""

    id = serializers.UUIDField()
    authSchemeConfig = AuthSchemeConfig()
    credential = credential()


class EndUserRefSerializer(DocSerializer):
    id = serializers.UUIDField()
    externalId = serializers.CharField()


class ConnectionSerializer(DocSerializer):
    """A connection (SPEC §4). `credentials` are applied in order. Secrets never appear."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    credentials = ConnectionCredentialSerializer(many=True)
    baseUrl = serializers.CharField(allow_blank=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    systemId = serializers.UUIDField(help_text="The connector's id.")
    connectionTemplateId = serializers.CharField(allow_null=True)
    status = EnumField(ConnectionStatus.values)
    endUser = EndUserRefSerializer(
        allow_null=True, help_text="The hub's end user, when made through a hub; else null."
    )


ConnectionPageSerializer = paginated("ConnectionPage", ConnectionSerializer())


class CredentialRefSerializer(DocSerializer):
    authSchemeConfigId = serializers.CharField(max_length=100)
    credentialId = serializers.CharField()


class ConnectionWriteSerializer(DocSerializer):
    """Create or change a connection. `credentials` (replaced as a whole by PATCH) name
    credentials of the organisation and the connector's auth scheme configs they are
    applied through, in order. `systemId` cannot change. The read-only fields of a
    connection (`id`, `createdAt`, `updatedAt`, `status`, `endUser`) are accepted and
    ignored."""

    name = serializers.CharField(max_length=200, help_text="Unique within the connector.")
    systemId = serializers.CharField(help_text="The connector's id.")
    baseUrl = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    connectionTemplateId = serializers.CharField(required=False, allow_blank=True, max_length=200)
    credentials = CredentialRefSerializer(many=True, required=False)


class CredentialPointerSerializer(DocSerializer):
    id = serializers.CharField()
    organisationId = serializers.CharField()


class InitialiseRequestSerializer(DocSerializer):
    """SPEC §5.1. `credential` is the `oauth2-client` credential; `clientId` must be the
    one stored in it."""

    authorizeUrl = serializers.CharField(max_length=4096)
    clientId = serializers.CharField(max_length=4096)
    credential = CredentialPointerSerializer()
    additionalParams = serializers.CharField(
        required=False, allow_blank=True, help_text="A URL-encoded query string."
    )
    disableOfflineAccess = serializers.BooleanField(required=False, default=False)
    prompt = serializers.CharField(required=False, allow_blank=True)
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    redirectUrl = serializers.CharField(required=False)
    authSchemeConfigId = serializers.CharField(required=False)
    connectionId = serializers.CharField(
        required=False, help_text="Re-authorise this existing connection."
    )


class InitialiseResponseSerializer(DocSerializer):
    url = serializers.URLField(help_text="Send the person's browser here.")


class GrantCredentialSerializer(DocSerializer):
    id = serializers.CharField(max_length=64)
    organisationId = serializers.CharField(max_length=64, required=False)


class GrantTokenRequestSerializer(DocSerializer):
    """For oauth2 configs whose grant is `clientCredentials` or `password`. The body may
    be empty."""

    name = serializers.CharField(required=False, max_length=200)
    authSchemeConfigId = serializers.CharField(
        required=False, max_length=100, help_text="Required when the connector has several."
    )
    credential = GrantCredentialSerializer(
        required=False, help_text="The `oauth2-password` credential of a password grant."
    )


class AccessTokenSerializer(DocSerializer):
    """The connection's current access token (never the refresh token)."""

    accessToken = serializers.CharField()
    tokenType = serializers.CharField()
    expiresAt = serializers.DateTimeField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
