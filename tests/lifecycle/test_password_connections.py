"""A connection body that links an oauth2-password credential to an oauth2 config without a
token: refused (nothing to send the provider), unless the config's grant is password, in
which case the token is fetched at once through it and linked before the password."""

from __future__ import annotations

import pytest

from connections.models import Connection, ConnectionCredential
from credentials.models import Credential
from tests.connections import factories as f
from tests.lifecycle.conftest import get_token
from tests.lifecycle.test_grants import grant_connector, password_credential

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:The OAuth 2.0 resource owner password:DeprecationWarning"),
]


def body(connector, config, *credentials):
    return {
        "name": "Dana's CRM",
        "systemId": str(connector.pk),
        "credentials": [
            {"authSchemeConfigId": config.config_id, "credentialId": str(c.pk)} for c in credentials
        ],
    }


def test_a_password_alone_on_an_authorization_code_config_is_refused(alice, provider):
    connector, config = f.oauth2_connector(alice.organisation)
    login = password_credential(alice, "dana", "dana-password")
    response = alice.client.post(
        alice.url("connections"), body(connector, config, login), format="json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "token_required"
    assert response.json()["fields"][0]["field"] == "credentials[0].credentialId"
    assert not Connection.objects.exists()


def test_a_password_alone_on_a_password_grant_config_gets_its_token_at_once(
    alice, provider, wire, assert_no_secrets
):
    connector, config, client, secret = grant_connector(alice, provider, "password")
    login = password_credential(alice, provider.username, provider.password)
    response = alice.client.post(
        alice.url("connections"), body(connector, config, login), format="json"
    )
    assert response.status_code == 201, response.json()
    assert [c["credential"]["type"] for c in response.json()["credentials"]] == [
        "oauth2-token",
        "oauth2-password",
    ]
    assert wire.grants(provider.token_url) == ["password"]
    connection = Connection.objects.get(pk=response.json()["id"])
    token_link = ConnectionCredential.objects.get(connection=connection, position=0)
    assert token_link.client_credential == client  # so that it can be refreshed
    token = get_token(alice, connection).json()
    assert provider.me(token["accessToken"]).json()["username"] == provider.username
    assert_no_secrets(provider.password, secret, texts=[response.content.decode()])


def test_a_refused_password_answers_502_and_stores_nothing(alice, provider, wire):
    connector, config, *_ = grant_connector(alice, provider, "password")
    login = password_credential(alice, provider.username, "not-the-password")
    response = alice.client.post(
        alice.url("connections"), body(connector, config, login), format="json"
    )
    assert response.status_code == 502
    assert response.json()["code"] == "token_exchange_failed"
    assert not Connection.objects.exists()
    assert not Credential.objects.filter(type="oauth2-token").exists()


def test_a_patch_to_a_password_alone_is_refused_too(alice, provider):
    connector, config = f.oauth2_connector(alice.organisation)
    token = f.token_credential(alice.organisation)
    connection = f.connection(alice.organisation, connector, links=[(config, token)])
    login = password_credential(alice, "dana", "dana-password")
    response = alice.client.patch(
        alice.url(f"connections/{connection.pk}"),
        {"credentials": body(connector, config, login)["credentials"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "token_required"
    assert list(connection.connection_credentials.values_list("credential_id", flat=True)) == [
        token.pk
    ]


def test_a_password_beside_its_token_needs_no_fetch(alice, provider, wire):
    connector, config, *_ = grant_connector(alice, provider, "password")
    login = password_credential(alice, provider.username, provider.password)
    token = f.token_credential(alice.organisation)
    response = alice.client.post(
        alice.url("connections"), body(connector, config, token, login), format="json"
    )
    assert response.status_code == 201, response.json()
    assert wire.grants(provider.token_url) == []
