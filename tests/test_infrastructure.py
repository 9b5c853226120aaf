from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import callback_query


def test_it_serves_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_it_answers_unknown_api_paths_in_the_error_shape(alice):
    response = alice.client.get("/api/v2/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_the_loopback_provider_issues_codes_and_tokens(provider):
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": f"{provider.base_url}/connections/oauth2/callback",
            "scope": "read",
            "state": "s1",
        }
    )
    location = provider.consent(f"{provider.authorize_url}?{query}")
    params = callback_query(location)
    assert params["state"] == ["s1"]
    token = requests.post(
        provider.token_url,
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": f"{provider.base_url}/connections/oauth2/callback",
        },
        auth=(provider.client_id, provider.client_secret),
        timeout=10,
    ).json()
    assert "access_token" in token, token
    me = provider.me(token["access_token"])
    assert me.status_code == 200
    assert me.json()["username"] == provider.username
