"""Embed fixtures: alice's **hub** and a connect **session_token** for one of its end users.

``hub`` offers three connectors: an oauth2 one (pointing at the real ``provider`` when the
test asks for it, else at example URLs), an api-key one and a basic-auth one. Other tests
(the widget's browser tests) reuse these fixtures: keep the names stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from embed.models import Hub
from tests.conftest import Actor
from tests.connections import factories as f

# The fake token endpoint and the network guard, for embed callback tests.
from tests.connections.conftest import no_network, token_endpoint  # noqa: F401

EXTERNAL_ID = "user-1"
HOST_ORIGIN = "https://app.example.com"


@dataclass
class EmbedHub:
    hub: Hub
    owner: Actor
    oauth2: Connector
    oauth2_config: AuthSchemeConfig
    client_credential: Credential
    api_key: Connector
    api_key_config: AuthSchemeConfig
    basic_auth: Connector
    basic_auth_config: AuthSchemeConfig

    @property
    def id(self) -> str:
        return str(self.hub.pk)

    def url(self, path: str = "") -> str:
        """An embed API URL of this hub (connect session token)."""
        return f"/api/v2/embed/{self.hub.pk}/{path.lstrip('/')}".rstrip("/")

    def admin_url(self, path: str = "") -> str:
        """An organisation API URL under this hub (API key)."""
        return self.owner.url(f"hubs/{self.hub.pk}/{path.lstrip('/')}").rstrip("/")

    def mint(self, external_id: str = EXTERNAL_ID, display_name: str = "User One") -> str:
        """A fresh connect session token for ``external_id``, minted through the API."""
        response = self.owner.client.post(
            self.admin_url("sessions"),
            {"endUser": {"externalId": external_id, "displayName": display_name}},
            format="json",
        )
        assert response.status_code == 201, response.content
        return str(response.json()["token"])


def make_hub(owner: Actor, *, authorize_url: str, token_url: str, client_id: str,
             client_secret: str, name: str = "Alice hub") -> EmbedHub:  # fmt: skip
    organisation = owner.organisation
    client = f.client_credential(
        organisation, client_id=client_id, client_secret=client_secret, token_url=token_url
    )
    oauth2, oauth2_config = f.oauth2_connector(
        organisation,
        name=f"{name} OAuth app",
        authorizeUrl=authorize_url,
        tokenUrl=token_url,
        defaultScopes=["read"],
        grant={
            "type": "authorizationCode",
            "authorizationCode": {
                "credentialId": str(client.pk),
                "organisationId": str(organisation.pk),
                "clientId": client_id,
            },
        },
    )
    api_key = Connector.objects.create(organisation=organisation, name=f"{name} Key API")
    api_key_config = AuthSchemeConfig.objects.create(
        organisation=organisation,
        connector=api_key,
        config_id="key",
        type="api-key",
        settings={"name": "X-Api-Key", "in": "header"},
    )
    basic = Connector.objects.create(organisation=organisation, name=f"{name} Basic API")
    basic_config = AuthSchemeConfig.objects.create(
        organisation=organisation, connector=basic, config_id="basic", type="basic-auth"
    )
    hub = Hub.objects.create(
        organisation=organisation,
        name=name,
        allowed_origins=[HOST_ORIGIN],
        branding_title="Connect your apps",
    )
    hub.connectors.set([oauth2, api_key, basic])
    return EmbedHub(
        hub=hub,
        owner=owner,
        oauth2=oauth2,
        oauth2_config=oauth2_config,
        client_credential=client,
        api_key=api_key,
        api_key_config=api_key_config,
        basic_auth=basic,
        basic_auth_config=basic_config,
    )


@pytest.fixture
def hub(alice: Actor, request: pytest.FixtureRequest) -> EmbedHub:
    if "provider" in request.fixturenames:
        provider = request.getfixturevalue("provider")
        return make_hub(
            alice,
            authorize_url=provider.authorize_url,
            token_url=provider.token_url,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
        )
    return make_hub(
        alice,
        authorize_url=f.AUTHORIZE_URL,
        token_url=f.TOKEN_URL,
        client_id="client-123",
        client_secret="cs-hub-client-secret-0123456789",
    )


@pytest.fixture
def session_token(hub: EmbedHub) -> str:
    """A connect session token of ``hub`` for end user ``user-1``."""
    return hub.mint()


def embed_client(token: str | None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def embed(session_token: str) -> APIClient:
    """An API client carrying ``session_token``."""
    return embed_client(session_token)


def initialise_body(hub: EmbedHub, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("authorizeUrl", hub.oauth2_config.settings["authorizeUrl"])
    return f.initialise_body(hub.client_credential, **overrides)
