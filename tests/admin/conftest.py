"""Rows for admin tests: alice's organisation with one object of every model, each
holding secrets that no admin page may show."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from connections.models import (
    AuthorisationRequest,
    Connection,
    ConnectionCredential,
)
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from credentials.models import Credential
from organisations.keys import api_key_create
from organisations.models import ApiKey, Organisation
from tests.conftest import Actor


def make_credential(
    organisation: Organisation, type_name: str, data: dict[str, Any], **fields: Any
) -> Credential:
    # Assigned rather than passed to create(): the stubs type the encrypted field as text.
    credential = Credential(organisation=organisation, type=type_name, **fields)
    credential.data = data
    credential.save()
    return credential


def secret(label: str) -> str:
    return f"{label}-{secrets.token_urlsafe(16)}"


@dataclass
class World:
    organisation: Organisation
    api_key: ApiKey
    credentials: dict[str, Credential]
    connector: Connector
    oauth2_config: AuthSchemeConfig
    oauth1_config: AuthSchemeConfig
    connection: Connection
    authorisation_request: AuthorisationRequest
    secrets: list[str] = field(default_factory=list)


def make_credentials(organisation: Organisation) -> tuple[dict[str, Credential], list[str]]:
    """One credential of every storable type; returns them and every secret they hold."""
    hidden_b64 = base64.b64encode(secrets.token_bytes(24)).decode()
    values: dict[str, tuple[dict[str, Any], list[str]]] = {
        "none": ({}, []),
        "string": ({"value": secret("string-value")}, []),
        "binary": ({"valueBase64": base64.b64encode(secrets.token_bytes(24)).decode()}, []),
        "basic-auth": ({"username": "alice", "password": secret("basic-password")}, []),
        "oauth2-client": (
            {
                "clientId": "alice-client",
                "clientSecret": secret("client-secret"),
                "tokenUrl": "https://provider.example/token",
                "scopes": ["read"],
            },
            [],
        ),
        "oauth2-token": (
            {
                "scopes": ["read"],
                "accessToken": secret("access-token"),
                "tokenType": "Bearer",
                "expiresAt": "2030-01-01T00:00:00Z",
                "refreshToken": secret("refresh-token"),
            },
            [],
        ),
        "oauth2-password": ({"username": "alice", "password": secret("grant-password")}, []),
        "certificate": (
            {
                "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                "key": secret("private-key"),
            },
            [],
        ),
        "oauth1-token": ({"token": secret("oauth1-token"), "tokenSecret": secret("ts")}, []),
        "default": (
            {"region": base64.b64encode(b"eu-west").decode(), "apiKey": hidden_b64},
            ["apiKey"],
        ),
    }
    created: dict[str, Credential] = {}
    all_secrets: list[str] = []
    for type_name, (data, redact) in values.items():
        created[type_name] = make_credential(
            organisation,
            type_name,
            data,
            name=f"alice {type_name}",
            redact_fields=redact,
            errors=[],
        )
    for type_name, spec_secret_keys in {
        "string": ["value"],
        "binary": ["valueBase64"],
        "basic-auth": ["password"],
        "oauth2-client": ["clientSecret"],
        "oauth2-token": ["accessToken", "refreshToken"],
        "oauth2-password": ["password"],
        "certificate": ["key"],
        "oauth1-token": ["token", "tokenSecret"],
        "default": ["apiKey"],
    }.items():
        all_secrets += [values[type_name][0][k] for k in spec_secret_keys]
    return created, all_secrets


@pytest.fixture
def world(alice: Actor) -> World:
    organisation = alice.organisation
    api_key = ApiKey.objects.get(organisation=organisation)
    credentials, all_secrets = make_credentials(organisation)
    connector = Connector.objects.create(
        organisation=organisation, name="Alice CRM", base_url="https://crm.example/"
    )
    client = credentials["oauth2-client"]
    oauth2_config = AuthSchemeConfig.objects.create(
        organisation=organisation,
        connector=connector,
        config_id="oauth2",
        type=AuthSchemeType.OAUTH2,
        settings={
            "authorizeUrl": "https://crm.example/authorize",
            "tokenUrl": "https://crm.example/token",
            "scopes": [{"name": "read", "description": "Read"}],
            "defaultScopes": ["read"],
            "grant": {
                "type": "authorizationCode",
                "authorizationCode": {
                    "credentialId": str(client.pk),
                    "organisationId": str(organisation.pk),
                    "clientId": "alice-client",
                },
            },
        },
    )
    consumer_secret = secret("consumer-secret")
    oauth1_config = AuthSchemeConfig(
        organisation=organisation,
        connector=connector,
        config_id="oauth1",
        type=AuthSchemeType.OAUTH1,
        settings={
            "consumerKey": "alice-consumer",
            "signatureMethod": "HMAC-SHA1",
            "tempCredentialEndpoint": {"url": "https://crm.example/oauth1/request"},
            "resourceOwnerAuthorizationEndpoint": {"url": "https://crm.example/oauth1/authorize"},
            "tokenEndpoint": {"url": "https://crm.example/oauth1/token"},
        },
        position=1,
    )
    oauth1_config.secrets = {"consumerSecret": consumer_secret}
    oauth1_config.save()
    connection = Connection.objects.create(
        organisation=organisation, connector=connector, name="alice's crm"
    )
    ConnectionCredential.objects.create(
        connection=connection,
        auth_scheme_config=oauth2_config,
        credential=credentials["oauth2-token"],
    )
    verifier = secret("pkce-verifier")
    state_hash = secrets.token_hex(32)
    authorisation_request = AuthorisationRequest.objects.create(
        organisation=organisation,
        connector=connector,
        auth_scheme_config=oauth2_config,
        client_credential=client,
        state_hash=state_hash,
        client_id="alice-client",
        redirect_uri="https://patchbay.example/connections/oauth2/callback",
        scopes=["read"],
        code_verifier=verifier,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    return World(
        organisation=organisation,
        api_key=api_key,
        credentials=credentials,
        connector=connector,
        oauth2_config=oauth2_config,
        oauth1_config=oauth1_config,
        connection=connection,
        authorisation_request=authorisation_request,
        secrets=[
            *all_secrets,
            consumer_secret,
            verifier,
            state_hash,
            alice.key,
            api_key.key_hash,
        ],
    )


def more_rows(organisation: Organisation, n: int) -> None:
    """n more rows of every model, for query-count comparisons."""
    for i in range(n):
        api_key_create(organisation=organisation, name=f"extra {i}")
        connector = Connector.objects.create(organisation=organisation, name=f"extra {i}")
        config = AuthSchemeConfig.objects.create(
            organisation=organisation,
            connector=connector,
            config_id="oauth2",
            type=AuthSchemeType.OAUTH2,
        )
        credential = make_credential(
            organisation, "oauth2-client", {"clientId": f"c{i}", "clientSecret": "s"}, name=f"x{i}"
        )
        connection = Connection.objects.create(
            organisation=organisation, connector=connector, name=f"extra {i}"
        )
        AuthorisationRequest.objects.create(
            organisation=organisation,
            connector=connector,
            auth_scheme_config=config,
            client_credential=credential,
            state_hash=secrets.token_hex(32),
            client_id=f"c{i}",
            redirect_uri="https://patchbay.example/cb",
            expires_at=timezone.now() + timedelta(minutes=10),
            connection=connection,
        )
        Organisation.objects.create(name=f"extra org {i}")
