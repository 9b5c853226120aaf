"""Client-credentials and password grants: connections without a browser, against the real
provider, including the token fetched again when it expires."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_application_model, get_refresh_token_model
from rest_framework.test import APIClient

from connections.models import Connection, ConnectionCredential, ConnectionStatus
from credentials.models import Credential
from tests.connections import factories as f
from tests.lifecycle.conftest import age, events, get_token, token_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The provider (django-oauth-toolkit) warns that RFC 9700 discourages the password grant;
    # Patchbay supports it because providers still offer it.
    pytest.mark.filterwarnings("ignore:The OAuth 2.0 resource owner password:DeprecationWarning"),
]


@pytest.fixture(autouse=True)
def _quiet_provider(caplog):
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")


def application(provider, grant_type: str):
    Application = get_application_model()
    secret = secrets.token_urlsafe(32)
    app = Application.objects.create(
        name=f"Machine client {grant_type}",
        user=provider.application.user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant_type,
        redirect_uris="",
        client_secret=secret,
        algorithm="",
    )
    return app, secret


def grant_connector(alice, provider, grant: str, *, name: str = "Machine API", **overrides):
    Application = get_application_model()
    kind = {
        "clientCredentials": Application.GRANT_CLIENT_CREDENTIALS,
        "password": Application.GRANT_PASSWORD,
        "authorizationCode": Application.GRANT_AUTHORIZATION_CODE,
    }[grant]
    app, secret = application(provider, kind)
    client = f.client_credential(
        alice.organisation,
        client_id=app.client_id,
        client_secret=secret,
        token_url=provider.token_url,
    )
    connector, config = f.oauth2_connector(
        alice.organisation,
        name=name,
        authorizeUrl="",
        tokenUrl=provider.token_url,
        revokeUrl=provider.revoke_url,
        refreshMarginSeconds=60,
        defaultScopes=["read"],
        grant={
            "type": grant,
            grant: {
                "credentialId": str(client.pk),
                "organisationId": alice.org_id,
                "clientId": app.client_id,
            },
        },
        **overrides,
    )
    return connector, config, client, secret


def password_credential(actor, username: str, password: str) -> Credential:
    response = actor.client.post(
        actor.url("credentials"),
        {
            "name": "Dana's login",
            "type": "oauth2-password",
            "data": {"oauth2Password": {"username": username, "password": password}},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Credential.objects.get(pk=response.json()["id"])


def create(actor, connector, body=None):
    return actor.client.post(
        actor.url(f"connectors/{connector.pk}/oauth2/token"),
        {} if body is None else body,
        format="json",
    )


# --- Client credentials -----------------------------------------------------------------------


def test_it_connects_with_client_credentials(alice, provider, wire, assert_no_secrets):
    connector, config, client, secret = grant_connector(alice, provider, "clientCredentials")
    response = create(alice, connector, {"name": "Robot"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Robot"
    assert body["systemId"] == str(connector.pk)
    assert body["status"] == "active"
    assert [c["credential"]["type"] for c in body["credentials"]] == ["oauth2-token"]
    assert wire.grants(provider.token_url) == ["client_credentials"]
    assert wire.to(provider.token_url)[0].form["scope"] == ["read"]

    connection = Connection.objects.get(pk=body["id"])
    link = ConnectionCredential.objects.get(connection=connection)
    assert link.client_credential == client
    assert link.auth_scheme_config == config
    token = get_token(alice, connection).json()
    assert provider.me(token["accessToken"]).status_code == 200
    assert [e["connectionId"] for e in events("connection.created")] == [str(connection.pk)]
    assert_no_secrets(secret, token["accessToken"], texts=[response.content.decode()])


def test_it_fetches_a_client_credentials_token_again_when_it_expires(alice, provider, wire):
    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    connection = Connection.objects.get(pk=create(alice, connector).json()["id"])
    old = age(connection).data
    assert "refreshToken" not in old  # the provider issues none for this grant
    response = get_token(alice, connection)
    assert response.status_code == 200
    assert response.json()["accessToken"] != old["accessToken"]
    assert provider.me(response.json()["accessToken"]).status_code == 200
    assert wire.grants(provider.token_url) == ["client_credentials", "client_credentials"]


def test_the_worker_fetches_client_credentials_tokens_again(alice, provider, wire):
    from connections.oauth.refresh_due import token_refresh_due

    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    connection = Connection.objects.get(pk=create(alice, connector).json()["id"])
    old = age(connection).data["accessToken"]
    run = token_refresh_due(limit=10)
    assert run.refreshed == 1
    assert token_of(connection).data["accessToken"] != old


def test_a_refused_client_answers_502_and_stores_nothing(alice, provider, wire):
    connector, _config, client, _secret = grant_connector(alice, provider, "clientCredentials")
    data = dict(client.data)
    data["clientSecret"] = "wrong"
    client.data = data
    client.save()
    response = create(alice, connector)
    assert response.status_code == 502
    assert response.json()["code"] == "token_exchange_failed"
    assert response.json()["providerError"] == "invalid_client"
    assert Connection.objects.count() == 0
    assert not Credential.objects.filter(type="oauth2-token").exists()


# --- Password ---------------------------------------------------------------------------------


def test_it_connects_with_the_password_grant(alice, provider, wire, assert_no_secrets):
    connector, *_ = grant_connector(alice, provider, "password")
    login = password_credential(alice, provider.username, provider.password)
    response = create(
        alice, connector, {"credential": {"id": str(login.pk), "organisationId": alice.org_id}}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [c["credential"]["type"] for c in body["credentials"]] == [
        "oauth2-token",
        "oauth2-password",
    ]
    assert wire.grants(provider.token_url) == ["password"]
    connection = Connection.objects.get(pk=body["id"])
    token = get_token(alice, connection).json()
    assert provider.me(token["accessToken"]).json()["username"] == provider.username
    assert_no_secrets(provider.password, token["accessToken"], texts=[response.content.decode()])


def test_password_grant_tokens_are_refreshed_then_fetched_again(alice, provider, wire):
    connector, *_ = grant_connector(alice, provider, "password")
    login = password_credential(alice, provider.username, provider.password)
    connection = Connection.objects.get(
        pk=create(alice, connector, {"credential": {"id": str(login.pk)}}).json()["id"]
    )
    # expired: the refresh token is used
    age(connection)
    assert get_token(alice, connection).status_code == 200
    assert wire.grants(provider.token_url) == ["password", "refresh_token"]
    # the provider forgets the refresh token: the password fetches a new token
    refresh = token_of(connection).data["refreshToken"]
    get_refresh_token_model().objects.get(token=refresh).revoke()
    age(connection)
    response = get_token(alice, connection)
    assert response.status_code == 200, response.json()
    assert wire.grants(provider.token_url)[-2:] == ["refresh_token", "password"]
    assert provider.me(response.json()["accessToken"]).status_code == 200
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE


def test_a_changed_password_needs_reauthorisation(alice, provider, wire, django_user_model):
    connector, *_ = grant_connector(alice, provider, "password")
    login = password_credential(alice, provider.username, provider.password)
    connection = Connection.objects.get(
        pk=create(alice, connector, {"credential": {"id": str(login.pk)}}).json()["id"]
    )
    user = django_user_model.objects.get(username=provider.username)
    user.set_password("changed-" + secrets.token_urlsafe(8))
    user.save()
    get_refresh_token_model().objects.get(token=token_of(connection).data["refreshToken"]).revoke()
    age(connection)
    response = get_token(alice, connection)
    assert response.status_code == 409
    assert response.json()["code"] == "reauthorisation_required"
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH


# --- Hostile input and outsiders --------------------------------------------------------------


def test_the_authorization_code_grant_is_refused(alice, provider, wired, no_network_calls):
    connector, *_ = wired
    response = create(alice, connector)
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_grant"


@pytest.fixture
def no_network_calls(wire):
    yield
    assert wire.sent == []


@pytest.mark.parametrize(
    "body",
    [
        {"bogus": 1},
        {"name": ""},
        {"name": 5},
        {"name": "x" * 201},
        {"name": "bad\nname"},
        {"authSchemeConfigId": ["a"]},
        {"credential": "abc"},
        {"credential": {"id": "x", "extra": 1}},
        {"credential": {}},
        [],
        "text",
    ],
)
def test_it_refuses_malformed_bodies(alice, provider, body, no_network_calls):
    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    response = create(alice, connector, body)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_request"
    assert Connection.objects.count() == 0


def test_it_refuses_a_credential_for_client_credentials(alice, provider, no_network_calls):
    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    login = password_credential(alice, "u", "p")
    assert create(alice, connector, {"credential": {"id": str(login.pk)}}).status_code == 400


def test_the_password_grant_needs_a_password_credential(alice, provider, no_network_calls):
    connector, _config, client, _ = grant_connector(alice, provider, "password")
    assert create(alice, connector).status_code == 400
    # an oauth2-client credential is not a password credential
    assert create(alice, connector, {"credential": {"id": str(client.pk)}}).status_code == 404


def test_an_expired_password_credential_is_404(alice, provider, no_network_calls):
    connector, *_ = grant_connector(alice, provider, "password")
    expired = password_credential(alice, provider.username, provider.password)
    Credential.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert create(alice, connector, {"credential": {"id": str(expired.pk)}}).status_code == 404
    assert Connection.objects.count() == 0


def test_other_organisations_ids_are_404(alice, charlie, provider, no_network_calls):
    connector, *_ = grant_connector(alice, provider, "password")
    theirs = password_credential(charlie, "c", "p")
    for body in (
        {"credential": {"id": str(theirs.pk)}},
        {"credential": {"id": str(theirs.pk), "organisationId": charlie.org_id}},
        {"credential": {"id": "not-a-uuid"}},
        {"authSchemeConfigId": "nope"},
    ):
        response = create(alice, connector, body)
        assert response.status_code == 404, body
    assert Connection.objects.count() == 0


def test_outsiders_get_404(alice, charlie, provider, no_network_calls):
    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    for response in (
        charlie.client.post(
            alice.url(f"connectors/{connector.pk}/oauth2/token"), {}, format="json"
        ),
        charlie.client.post(
            charlie.url(f"connectors/{connector.pk}/oauth2/token"), {}, format="json"
        ),
        charlie.client.post(charlie.url("connectors/nope/oauth2/token"), {}, format="json"),
    ):
        assert response.status_code == 404
    anonymous = APIClient().post(
        alice.url(f"connectors/{connector.pk}/oauth2/token"), {}, format="json"
    )
    assert anonymous.status_code in (401, 403)
    assert Connection.objects.count() == 0


def test_a_taken_name_is_409_before_the_provider_is_called(alice, provider, wire):
    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    assert create(alice, connector, {"name": "Robot"}).status_code == 201
    again = create(alice, connector, {"name": "Robot"})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert [f["field"] for f in again.json()["fields"]] == ["name"]
    assert len(wire.to(provider.token_url)) == 1
    # without a name, a free one is chosen
    assert create(alice, connector).json()["name"] == "Machine API"


def test_several_oauth2_configs_need_a_choice(alice, provider, no_network_calls):
    connector, *_ = grant_connector(alice, provider, "clientCredentials")
    f.oauth2_config(connector, config_id="other")
    response = create(alice, connector)
    assert response.status_code == 400
    assert response.json()["code"] == "auth_scheme_config_required"
