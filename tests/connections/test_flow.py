"""End to end against a real authorization server (django-oauth-toolkit on the live server)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connections.models import AuthorisationRequest, Connection, ConnectionCredential
from connections.oauth.initialise import pkce_challenge
from credentials.models import Credential
from tests.conftest import callback_query
from tests.connections import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v2/connections/oauth2/callback"


@pytest.fixture
def wired(alice, provider):
    """Alice's connector and client credential pointing at the real provider."""
    connector, config = f.oauth2_connector(
        alice.organisation,
        name="Demo provider",
        authorizeUrl=provider.authorize_url,
        tokenUrl=provider.token_url,
        defaultScopes=["read"],
    )
    credential = f.client_credential(
        alice.organisation,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_url=provider.token_url,
    )
    return connector, config, credential


def initialise(alice, provider, connector, credential, **body) -> str:
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(credential, authorizeUrl=provider.authorize_url, **body),
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()["url"]


def access_token(alice, connection) -> dict:
    response = alice.client.get(alice.url(f"connections/{connection.pk}/access-token"))
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_connects_through_the_real_provider_with_pkce(
    alice, provider, wired, live_server, assert_no_secrets, caplog
):
    from oauth2_provider.models import get_grant_model

    assert_no_secrets  # noqa: B018 - sets DEBUG capture first; then quieten the non-Patchbay parts:
    # the provider logs the redirect it issues, and the test's browser (requests/urllib3)
    # logs every URL it visits; both legitimately carry the code. Patchbay sends codes and
    # secrets only in request bodies, which urllib3 never logs.
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")

    connector, config, credential = wired
    url = initialise(alice, provider, connector, credential)
    sent = parse_qs(urlsplit(url).query)
    assert sent["code_challenge_method"] == ["S256"]

    location = provider.consent(url)
    assert location.startswith(f"{live_server.url}/connections/oauth2/callback?")
    code = callback_query(location)["code"][0]
    grant = get_grant_model().objects.get(code=code)
    verifier = AuthorisationRequest.objects.get().code_verifier
    assert grant.code_challenge == pkce_challenge(verifier) == sent["code_challenge"][0]
    assert grant.code_challenge_method == "S256"

    page = requests.get(location, timeout=10)
    assert page.status_code == 200, page.text
    assert "Connected" in page.text
    assert page.headers["Cache-Control"] == "no-store"

    connection = Connection.objects.get()
    link = ConnectionCredential.objects.get(connection=connection)
    assert link.auth_scheme_config == config
    assert link.credential.type == "oauth2-token"
    stored = link.credential.data
    assert stored["refreshToken"]

    token = access_token(alice, connection)
    assert set(token) == {"accessToken", "tokenType", "expiresAt", "scopes"}
    assert token["accessToken"] == stored["accessToken"]
    assert token["tokenType"] == "Bearer"
    assert token["expiresAt"] is not None
    assert "read" in token["scopes"]
    me = provider.me(token["accessToken"])
    assert me.status_code == 200
    assert me.json()["username"] == provider.username

    detail = alice.client.get(alice.url(f"connections/{connection.pk}")).content.decode()
    assert_no_secrets(
        provider.client_secret,
        stored["accessToken"],
        stored["refreshToken"],
        code,
        verifier,
        texts=[page.text, detail, url],
    )
    assert_no_secrets(stored["refreshToken"], texts=[str(token)])


def test_it_finishes_through_the_api_callback_with_its_own_redirect_url(
    alice, provider, wired, settings
):
    settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = True
    connector, _, credential = wired
    own = "http://127.0.0.1:8765/app/callback"
    provider.application.redirect_uris += f" {own}"
    provider.application.save()
    url = initialise(alice, provider, connector, credential, redirectUrl=own)
    location = provider.consent(url)
    assert location.startswith(f"{own}?")
    params = callback_query(location)
    response = alice.client.get(API, {"code": params["code"][0], "state": params["state"][0]})
    assert response.status_code == 201, response.json()
    assert response.json()["type"] == "oauth2-token"
    connection = Connection.objects.get()
    assert provider.me(access_token(alice, connection)["accessToken"]).status_code == 200


def test_it_reauthorises_a_connection_through_the_real_provider(alice, provider, wired):
    connector, _, credential = wired
    requests.get(provider.consent(initialise(alice, provider, connector, credential)), timeout=10)
    connection = Connection.objects.get()
    first = access_token(alice, connection)["accessToken"]
    first_credential = ConnectionCredential.objects.get(connection=connection).credential_id

    url = initialise(alice, provider, connector, credential, connectionId=str(connection.pk))
    page = requests.get(provider.consent(url), timeout=10)
    assert page.status_code == 200
    assert "re-authorised" in page.text
    assert Connection.objects.count() == 1
    second = access_token(alice, connection)["accessToken"]
    assert second != first
    assert not Credential.objects.filter(pk=first_credential).exists()
    assert provider.me(second).status_code == 200


def test_it_shows_a_cancelled_consent(alice, provider, wired, no_network):
    connector, _, credential = wired
    location = provider.consent(initialise(alice, provider, connector, credential), allow=False)
    assert callback_query(location)["error"] == ["access_denied"]
    page = requests.get(location, timeout=10)
    assert page.status_code == 400
    assert "Cancelled" in page.text
    assert Connection.objects.count() == 0


def test_it_accepts_a_provider_that_issues_no_refresh_token(
    alice, provider, wired, token_endpoint, client
):
    """The real consent, then a token endpoint (faked at the seam) that omits refresh_token."""
    connector, _, credential = wired
    token_endpoint.answer(200, {"access_token": "no-refresh-access", "token_type": "Bearer"})
    location = provider.consent(initialise(alice, provider, connector, credential))
    parts = urlsplit(location)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200
    assert token_endpoint.sent[0].url == provider.token_url
    stored = Credential.objects.get(type="oauth2-token").data
    assert "refreshToken" not in stored
    assert access_token(alice, Connection.objects.get())["accessToken"] == "no-refresh-access"
