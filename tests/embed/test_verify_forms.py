"""`verify: true` on the widget's API-key and basic-auth forms (SPEC §9.2): the secret is
checked by a real API on loopback before anything is stored."""

from __future__ import annotations

import logging

import pytest

from connections.models import Connection
from credentials.models import Credential
from tests.connections.upstream import upstream_server

pytestmark = pytest.mark.django_db(transaction=True)

ME = {"method": "GET", "path": "/me", "expectedStatus": []}


@pytest.fixture
def upstream(hub):
    """The hub's api-key and basic-auth connectors point at the upstream and verify."""
    with upstream_server() as server:
        for connector, config in (
            (hub.api_key, hub.api_key_config),
            (hub.basic_auth, hub.basic_auth_config),
        ):
            connector.base_url = server.url + "/v1"
            connector.save()
            config.verification = ME
            config.save()
        yield server


def connect(embed, hub, **body):
    return embed.post(
        f"/api/v2/embed/{hub.id}/connections",
        {"connectorId": str(hub.api_key.pk), **body},
        format="json",
    )


def test_the_connector_list_says_which_forms_verify(embed, hub, upstream):
    items = embed.get(f"/api/v2/embed/{hub.id}/connectors").json()["items"]
    verifies = {item["id"]: item["verifies"] for item in items}
    assert verifies == {
        str(hub.oauth2.pk): False,
        str(hub.api_key.pk): True,
        str(hub.basic_auth.pk): True,
    }


def test_a_good_key_connects(embed, hub, upstream):
    response = connect(embed, hub, apiKey=upstream.key, verify=True)
    assert response.status_code == 201, response.json()
    connection = Connection.objects.get(pk=response.json()["id"])
    assert (connection.verification_valid, connection.verification_status) == (True, 200)
    credential = connection.connection_credentials.get().credential
    assert credential.errors == []
    assert upstream.seen[0][2]["x-api-key"] == upstream.key


def test_a_wrong_key_is_refused_at_once_and_nothing_is_stored(embed, hub, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    before = Credential.objects.count()
    response = connect(embed, hub, apiKey="wrong-widget-key-77", verify=True)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "credential_invalid"
    assert (
        body["message"] == f"{hub.api_key.name} did not accept this API key (HTTP 401). Check it."
    )
    assert body["fields"] == [{"field": "apiKey", "message": body["message"]}]
    assert not Connection.objects.exists()
    assert Credential.objects.count() == before
    for text in (response.content.decode(), caplog.text):
        assert "wrong-widget-key-77" not in text
        assert "upstream-says-secret" not in text


def test_without_verify_the_key_is_stored_unchecked(embed, hub, upstream):
    response = connect(embed, hub, apiKey="wrong-widget-key-77")
    assert response.status_code == 201
    assert upstream.seen == []


def test_basic_auth_is_verified_too(embed, hub, upstream):
    body = {"connectorId": str(hub.basic_auth.pk), "verify": True}
    wrong = embed.post(
        f"/api/v2/embed/{hub.id}/connections",
        {**body, "basicAuth": {"username": "user", "password": "nope-nope"}},
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "credential_invalid"
    assert "username and password" in wrong.json()["message"]
    assert not Connection.objects.exists()
    good = embed.post(
        f"/api/v2/embed/{hub.id}/connections",
        {**body, "basicAuth": {"username": "user", "password": upstream.password}},
        format="json",
    )
    assert good.status_code == 201, good.json()


def test_a_reconnect_with_a_wrong_key_keeps_the_old_one(embed, hub, upstream):
    created = connect(embed, hub, apiKey=upstream.key, verify=True).json()
    url = f"/api/v2/embed/{hub.id}/connections/{created['id']}"
    response = embed.patch(url, {"apiKey": "wrong-widget-key-77", "verify": True}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "credential_invalid"
    credential = Connection.objects.get(pk=created["id"]).connection_credentials.get().credential
    assert credential.data == {"value": upstream.key}
    response = embed.patch(url, {"apiKey": upstream.key, "verify": True}, format="json")
    assert response.status_code == 200


def test_a_malformed_secret_is_refused_before_the_upstream_is_called(embed, hub, upstream):
    response = connect(embed, hub, apiKey="x" * 20_000, verify=True)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "apiKey"
    assert upstream.seen == []


@pytest.mark.parametrize("value", ["true", 1, {}])
def test_verify_must_be_a_boolean(embed, hub, upstream, value):
    response = connect(embed, hub, apiKey=upstream.key, verify=value)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "verify"
    assert upstream.seen == []
    assert not Connection.objects.exists()


def test_verify_without_a_verification_request_is_409(embed, hub, upstream):
    hub.api_key_config.verification = None
    hub.api_key_config.save()
    response = connect(embed, hub, apiKey=upstream.key, verify=True)
    assert response.status_code == 409
    assert response.json()["code"] == "verification_not_configured"
    assert not Connection.objects.exists()


def test_an_unreachable_upstream_is_502_and_stores_nothing(embed, hub, upstream):
    hub.api_key.base_url = "http://127.0.0.1:1/v1"
    hub.api_key.save()
    response = connect(embed, hub, apiKey=upstream.key, verify=True)
    assert response.status_code == 502
    assert not Connection.objects.exists()
