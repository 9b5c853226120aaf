"""A connection's ``baseUrl`` is the proxy's target: validated exactly as a connector's
(issue 18 item 11) on create and on change, and nothing is stored when it is refused."""

from __future__ import annotations

import pytest

from connections.models import Connection
from tests.connections import factories as f

REFUSED = [
    "javascript:alert(1)",
    "ftp://files.example.com/",
    "not a url",
    "<script>alert(1)</script>",
    "https://user:pw@api.example.com/",
    "https://api.example.com/#frag",
    "http://api.example.com/",  # plain http, not loopback
    "https://api.example.com/" + "a" * 2100,
    "https://api.example.com/\u0000",
    "//api.example.com/",
    12,
    ["https://api.example.com"],
]


@pytest.fixture
def setup(alice):
    connector, config = f.oauth2_connector(alice.organisation)
    return connector, config, f.token_credential(alice.organisation)


def _body(setup, base_url):
    connector, config, token = setup
    return {
        "name": "Main",
        "systemId": str(connector.pk),
        "baseUrl": base_url,
        "credentials": [{"authSchemeConfigId": config.config_id, "credentialId": str(token.pk)}],
    }


@pytest.mark.parametrize("base_url", REFUSED)
def test_a_bad_base_url_is_refused_on_create(alice, setup, base_url):
    response = alice.client.post(alice.url("connections"), _body(setup, base_url), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert [f["field"] for f in response.json()["fields"]] == ["baseUrl"]
    assert not Connection.objects.exists()


@pytest.mark.parametrize("base_url", REFUSED)
def test_a_bad_base_url_is_refused_on_change(alice, setup, base_url):
    connector, config, token = setup
    connection = f.connection(alice.organisation, connector, links=[(config, token)])
    connection.base_url = "https://api.example.com/v1"
    connection.save()
    response = alice.client.patch(
        alice.url(f"connections/{connection.pk}"), {"baseUrl": base_url}, format="json"
    )
    assert response.status_code == 400
    assert [f["field"] for f in response.json()["fields"]] == ["baseUrl"]
    connection.refresh_from_db()
    assert connection.base_url == "https://api.example.com/v1"


@pytest.mark.parametrize("base_url", ["https://api.example.com/v1", "", None])
def test_a_good_or_empty_base_url_is_stored(alice, setup, base_url):
    response = alice.client.post(alice.url("connections"), _body(setup, base_url), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["baseUrl"] == (base_url or "")


def test_the_same_words_as_for_a_connector(alice, setup):
    bad = "https://user:pw@api.example.com/"
    connection = alice.client.post(alice.url("connections"), _body(setup, bad), format="json")
    connector = alice.client.post(
        alice.url("connectors"), {"name": "X", "baseUrl": bad}, format="json"
    )
    assert connection.json()["fields"][0]["message"] == connector.json()["fields"][0]["message"]
