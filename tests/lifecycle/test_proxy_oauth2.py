"""The proxy with an OAuth 2.0 connection, against the real provider: its protected resource
(``/demo/provider/me``) checks each bearer token with django-oauth-toolkit itself."""

from __future__ import annotations

import logging

import pytest
from oauth2_provider.models import get_access_token_model

import core.outbound
from connections.models import ConnectionStatus
from tests.lifecycle.conftest import age, token_of

pytestmark = pytest.mark.django_db(transaction=True)
REAL_TRANSPORT = core.outbound.transport  # before the wire tap wraps it


@pytest.fixture(autouse=True)
def _quiet_provider(caplog):
    # The provider's own loggers legitimately log tokens; assert_no_secrets is about Patchbay's.
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")


@pytest.fixture
def proxied(connected, provider):
    connected.base_url = f"{provider.base_url}/demo/provider"
    connected.save()
    return connected


def me(actor, connection):
    return actor.client.get(actor.url(f"connections/{connection.pk}/proxy/me"))


def test_the_provider_accepts_the_connections_token(alice, proxied, wire, assert_no_secrets):
    token = token_of(proxied).data["accessToken"]
    response = me(alice, proxied)
    assert response.status_code == 200
    assert response["Patchbay-Proxy"] == "upstream"
    assert b'"username": "dana"' in b"".join(response.streaming_content)
    assert [s.url for s in wire.sent] == [f"{proxied.base_url}/me"]
    assert_no_secrets(token, texts=[str(response.headers)])


def test_an_expired_token_is_refreshed_before_the_call(alice, provider, proxied, wire):
    old = age(proxied).data["accessToken"]
    response = me(alice, proxied)
    assert response.status_code == 200
    assert wire.grants(provider.token_url) == ["refresh_token"]
    assert [s.url for s in wire.sent] == [provider.token_url, f"{proxied.base_url}/me"]
    assert token_of(proxied).data["accessToken"] != old


def test_a_401_refreshes_once_and_retries_once(alice, provider, proxied, wire):
    # The provider expired the token early; Patchbay still thinks it is fresh.
    old = token_of(proxied).data["accessToken"]
    age(proxied, seconds_left=-10, at_provider=True)
    credential = token_of(proxied)
    data = dict(credential.data)
    data["expiresAt"] = None  # Patchbay's record: no expiry, so never due
    credential.data = data
    credential.save()
    response = me(alice, proxied)
    assert response.status_code == 200
    me_url = f"{proxied.base_url}/me"
    assert [s.url for s in wire.sent] == [me_url, provider.token_url, me_url]
    assert token_of(proxied).data["accessToken"] != old


def test_a_second_401_goes_back_to_the_caller_after_one_refresh(alice, provider, proxied, wire):
    age(proxied, seconds_left=-10, at_provider=True)
    credential = token_of(proxied)
    data = dict(credential.data)
    data["expiresAt"] = None
    credential.data = data
    credential.save()

    def revoke_what_was_issued(adapter, request, **kwargs):
        answer = REAL_TRANSPORT(adapter, request, **kwargs)
        if request.url == provider.token_url:  # the provider revokes the new token at once
            get_access_token_model().objects.all().delete()
        return answer

    wire.fake = revoke_what_was_issued
    response = me(alice, proxied)
    assert response.status_code == 401
    assert response["Patchbay-Proxy"] == "upstream"
    me_url = f"{proxied.base_url}/me"
    assert [s.url for s in wire.sent] == [me_url, provider.token_url, me_url]


def test_a_refused_refresh_answers_409_and_the_connection_needs_reauth(alice, provider, proxied):
    age(proxied)
    from oauth2_provider.models import get_refresh_token_model

    get_refresh_token_model().objects.all().delete()
    response = me(alice, proxied)
    assert response.status_code == 409
    assert response.json()["code"] == "reauthorisation_required"
    assert "Patchbay-Proxy" not in response
    proxied.refresh_from_db()
    assert proxied.status == ConnectionStatus.NEEDS_REAUTH
