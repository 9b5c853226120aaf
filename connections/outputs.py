"""What the connections API and the OAuth 2.0 endpoints answer: one declaration per object,
rendered by :meth:`core.wire.Output.render` and documented from the same classes. Secrets
never appear: credentials render as the credentials API does (without their secrets), and
the access-token answer never holds the refresh token."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from connections import models
from connectors.outputs import AuthSchemeConfig
from core.openapi import paginated
from core.wire import Choice, Computed, Output, Text, Timestamp, Uuid
from credentials.outputs import Credential, credential_schema


class ConnectionCredential(Output):
    """One credential of a connection, with the auth scheme config it is applied through."""

    id = Uuid(source="pk")
    authSchemeConfig = AuthSchemeConfig(source="auth_scheme_config")
    credential = Computed("credential_of", credential_schema())

    @staticmethod
    def credential_of(link: models.ConnectionCredential) -> dict[str, Any]:
        return Credential.render(link.credential)


class EndUserRef(Output):
    id = Uuid(source="pk")
    externalId = Text(max_length=200, source="external_id")


class Connection(Output):
    """A connection (SPEC §4). `credentials` are applied in order. Secrets never appear."""

    # Read through connections.selectors, which prefetches the credentials: the query
    # count does not grow with their number.

    id = Uuid(source="pk")
    name = Text(max_length=200)
    credentials = Computed("credentials_of", ConnectionCredential(many=True))
    baseUrl = Text(max_length=2048, source="base_url")
    createdAt = Timestamp(source="created_at")
    updatedAt = Timestamp(source="updated_at")
    systemId = Uuid(source="connector_id", help_text="The connector's id.")
    connectionTemplateId = Computed("template_of", Text(max_length=200, allow_null=True))
    status = Choice(models.ConnectionStatus.values)
    endUser = EndUserRef(
        source="end_user",
        allow_null=True,
        help_text="The hub's end user, when made through a hub; else null.",
    )

    @staticmethod
    def credentials_of(connection: models.Connection) -> list[dict[str, Any]]:
        """The links a list page attached (``connections_with_links``), else the prefetched
        or queried ones."""
        links = connection.__dict__.get("credential_links")
        if links is None:
            links = connection.connection_credentials.all()
        render = ConnectionCredential.renderer()
        return [render(link) for link in links]

    @staticmethod
    def template_of(connection: models.Connection) -> str | None:
        return connection.connection_template_id or None


ConnectionPage = paginated("ConnectionPage", Connection())


class AccessToken(Output):
    """The connection's current access token (never the refresh token)."""

    # Plain fields: a provider's token and scopes have no length Patchbay could promise.
    accessToken = serializers.CharField(source="access_token")
    tokenType = serializers.CharField(source="token_type")
    expiresAt = Timestamp(source="expires_at", allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())


class VerificationOutcome(Output):
    """The outcome of a verification (SPEC §9.2)."""

    valid = serializers.BooleanField(help_text="The status is one the config expects.")
    status = serializers.IntegerField(help_text="The upstream's HTTP status.")
    checkedAt = Timestamp(source="checked_at")


class InitialiseResponse(Output):
    # Plain: the authorize URL with its query may be longer than a URL Patchbay accepts.
    url = serializers.URLField(help_text="Send the person's browser here.")
