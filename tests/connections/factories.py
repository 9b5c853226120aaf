"""Rows for connection tests, created directly (the connectors/credentials APIs have own tests)."""

from __future__ import annotations

import secrets
from typing import Any, cast

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from connectors.oauth2 import OAUTH2_DEFAULTS
from credentials.models import Credential
from organisations.models import Organisation

AUTHORIZE_URL = "https://auth.example.com/oauth/authorize"
TOKEN_URL = "https://auth.example.com/oauth/token"


def oauth2_connector(
    organisation: Organisation,
    *,
    name: str = "Acme CRM",
    config_id: str = "oauth2",
    **overrides: Any,
) -> tuple[Connector, AuthSchemeConfig]:
    connector = Connector.objects.create(organisation=organisation, name=name)
    config = oauth2_config(connector, config_id=config_id, **overrides)
    return connector, config


def oauth2_config(connector: Connector, *, config_id: str = "oauth2", **overrides: Any):
    settings = {
        **OAUTH2_DEFAULTS,
        "authorizeUrl": AUTHORIZE_URL,
        "tokenUrl": TOKEN_URL,
        "defaultScopes": ["read"],
        **overrides,
    }
    return AuthSchemeConfig.objects.create(
        organisation=connector.organisation,
        connector=connector,
        config_id=config_id,
        type="oauth2",
        settings=settings,
    )


def config_of_type(connector: Connector, type: str, config_id: str) -> AuthSchemeConfig:
    return AuthSchemeConfig.objects.create(
        organisation=connector.organisation,
        connector=connector,
        config_id=config_id,
        type=type,
        settings={},
    )


def client_credential(
    organisation: Organisation,
    *,
    client_id: str = "client-123",
    client_secret: str | None = None,
    token_url: str = TOKEN_URL,
) -> Credential:
    return Credential.objects.create(
        organisation=organisation,
        name="OAuth client",
        type="oauth2-client",
        data=cast(
            Any,
            {
                "clientId": client_id,
                "clientSecret": client_secret or "cs-" + secrets.token_urlsafe(24),
                "tokenUrl": token_url,
                "scopes": [],
            },
        ),
    )


def token_credential(organisation: Organisation, **data: Any) -> Credential:
    return Credential.objects.create(
        organisation=organisation,
        name="OAuth token",
        type="oauth2-token",
        data=cast(
            Any,
            {
                "scopes": ["read"],
                "accessToken": "at-" + secrets.token_urlsafe(16),
                "tokenType": "Bearer",
                "expiresAt": None,
                "refreshToken": "rt-" + secrets.token_urlsafe(16),
                **data,
            },
        ),
    )


def connection(
    organisation: Organisation,
    connector: Connector,
    *,
    name: str = "Main",
    links: list[tuple[AuthSchemeConfig, Credential]] | None = None,
) -> Connection:
    conn = Connection.objects.create(organisation=organisation, connector=connector, name=name)
    for position, (config, credential) in enumerate(links or []):
        ConnectionCredential.objects.create(
            connection=conn, auth_scheme_config=config, credential=credential, position=position
        )
    return conn


def initialise_body(client: Credential, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "authorizeUrl": AUTHORIZE_URL,
        "clientId": client.data.get("clientId", "client-123"),
        "credential": {"id": str(client.pk), "organisationId": str(client.organisation_id)},
    }
    body.update(overrides)
    return body
