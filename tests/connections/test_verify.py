"""Verification (SPEC §9.2): `POST .../connections/{id}/verify` and `verify: true` on
`POST .../connections`, against a real API on loopback that checks the key itself."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from django.urls import reverse

from connections.models import Connection, ConnectionStatus
from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from tests.connections import factories as f
from tests.connections.upstream import REFUSAL_BODY, upstream_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstream():
    with upstream_server() as server:
        yield server


def api_key_connector(actor, upstream, verification=None, *, base="/v1"):
    connector = Connector.objects.create(
        organisation=actor.organisation, name="Acme API", base_url=upstream.url + base
    )
    config = AuthSchemeConfig.objects.create(
        organisation=actor.organisation,
        connector=connector,
        config_id="key",
        type="api-key",
        settings={"name": "X-Api-Key", "in": "header"},
        verification=verification,
    )
    return connector, config


def key_credential(actor, value):
    return Credential.objects.create(
        organisation=actor.organisation, name="key", type="string", data={"value": value}
    )


ME = {"method": "GET", "path": "/me", "expectedStatus": []}


def connected(actor, upstream, key, verification=ME):
    connector, config = api_key_connector(actor, upstream, verification)
    credential = key_credential(actor, key)
    return f.connection(actor.organisation, connector, links=[(config, credential)]), credential


def verify(actor, connection, **kwargs):
    return actor.client.post(actor.url(f"connections/{connection.pk}/verify"), **kwargs)


def test_a_good_key_is_valid(alice, upstream):
    connection, credential = connected(alice, upstream, upstream.key)
    response = verify(alice, connection)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["valid"], body["status"]) == (True, 200)
    assert datetime.fromisoformat(body["checkedAt"].replace("Z", "+00:00"))
    assert upstream.seen[0][:2] == ("GET", "/v1/me")
    assert upstream.seen[0][2]["x-api-key"] == upstream.key
    credential.refresh_from_db()
    assert credential.errors == []
    connection.refresh_from_db()
    assert (connection.verification_valid, connection.verification_status) == (True, 200)
    shown = alice.client.get(alice.url(f"connections/{connection.pk}")).json()
    assert shown["credentials"][0]["credential"]["errors"] == []


def test_a_wrong_key_is_invalid_and_the_credential_says_why(alice, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    connection, credential = connected(alice, upstream, "wrong-key-31")
    response = verify(alice, connection)
    assert response.status_code == 200
    assert (response.json()["valid"], response.json()["status"]) == (False, 401)
    credential.refresh_from_db()
    assert credential.errors == ["verification failed: the API answered HTTP 401"]
    shown = alice.client.get(alice.url(f"connections/{connection.pk}")).content.decode()
    assert "HTTP 401" in shown
    # Never the upstream's body, in the answers or the logs; never the key.
    for text in (response.content.decode(), shown, caplog.text):
        assert "upstream-says-secret" not in text
        assert "wrong-key-31" not in text
    assert REFUSAL_BODY not in caplog.text


def test_a_later_good_verification_clears_the_errors(alice, upstream):
    connection, credential = connected(alice, upstream, "wrong-key-31")
    assert verify(alice, connection).json()["valid"] is False
    credential.data = {"value": upstream.key}
    credential.save()
    assert verify(alice, connection).json()["valid"] is True
    credential.refresh_from_db()
    assert credential.errors == []


def test_expected_status_decides(alice, upstream):
    connection, _ = connected(alice, upstream, upstream.key, {**ME, "expectedStatus": [204]})
    assert verify(alice, connection).json() | {"checkedAt": None} == {
        "valid": False,
        "status": 200,
        "checkedAt": None,
    }
    upstream.status_when_good = 204
    assert verify(alice, connection).json()["valid"] is True


def test_a_refusal_can_be_the_expected_status(alice, upstream):
    connection, _ = connected(alice, upstream, "wrong", {**ME, "expectedStatus": [401]})
    assert verify(alice, connection).json()["valid"] is True


@pytest.mark.parametrize("method", ["HEAD", "POST"])
def test_it_sends_the_configured_method_and_query(alice, upstream, method):
    verification = {"method": method, "path": "/me?fields=id", "expectedStatus": []}
    connection, _ = connected(alice, upstream, upstream.key, verification)
    assert verify(alice, connection).json()["valid"] is True
    assert upstream.seen[0][:2] == (method, "/v1/me?fields=id")


def test_the_connections_base_url_comes_first(alice, upstream):
    connection, _ = connected(alice, upstream, upstream.key)
    connector = connection.connector
    connector.base_url = "https://elsewhere.example/v1"
    connector.save()
    connection.base_url = upstream.url + "/v1"
    connection.save()
    assert verify(alice, connection).json()["valid"] is True


def test_without_verification_409(alice, upstream, no_network):
    connection, credential = connected(alice, upstream, upstream.key, verification=None)
    response = verify(alice, connection)
    assert response.status_code == 409
    assert response.json()["code"] == "verification_not_configured"
    credential.refresh_from_db()
    assert credential.errors is None
    assert upstream.seen == []


def test_an_unreachable_upstream_is_502_and_changes_nothing(alice, upstream):
    connection, credential = connected(alice, upstream, upstream.key)
    connector = connection.connector
    connector.base_url = "http://127.0.0.1:1/v1"
    connector.save()
    response = verify(alice, connection)
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unreachable"
    credential.refresh_from_db()
    connection.refresh_from_db()
    assert (credential.errors, connection.verified_at) == (None, None)


def test_a_private_address_is_refused_by_the_seam(alice, upstream, settings):
    settings.PATCHBAY_ALLOW_PRIVATE_NETWORKS = False
    connection, _ = connected(alice, upstream, upstream.key)
    response = verify(alice, connection)
    assert response.status_code == 502
    assert upstream.seen == []


def test_a_connection_that_needs_reauthorisation_is_409(alice, upstream):
    connection, _ = connected(alice, upstream, upstream.key)
    Connection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_REAUTH)
    response = verify(alice, connection)
    assert response.status_code == 409
    assert response.json()["code"] == "reauthorisation_required"
    assert upstream.seen == []


def test_an_outsider_gets_404(alice, charlie, upstream):
    connection, credential = connected(alice, upstream, upstream.key)
    response = charlie.client.post(charlie.url(f"connections/{connection.pk}/verify"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = charlie.client.post(alice.url(f"connections/{connection.pk}/verify"))
    assert response.status_code == 404
    assert upstream.seen == []
    credential.refresh_from_db()
    assert credential.errors is None


@pytest.mark.parametrize(
    "body",
    [b'{"verify": ', b"[1]", b'{"unknown": 1}', b'"x"'],
)
def test_a_hostile_body_is_refused_before_anything_is_sent(alice, upstream, body):
    connection, credential = connected(alice, upstream, upstream.key)
    response = alice.client.generic(
        "POST", alice.url(f"connections/{connection.pk}/verify"), body, "application/json"
    )
    assert response.status_code == 400
    assert upstream.seen == []
    credential.refresh_from_db()
    assert credential.errors is None


def test_an_empty_object_body_is_fine(alice, upstream):
    connection, _ = connected(alice, upstream, upstream.key)
    response = verify(alice, connection, data={}, format="json")
    assert response.status_code == 200
    assert response.json()["valid"] is True


def test_get_is_not_allowed(alice, upstream):
    connection, _ = connected(alice, upstream, upstream.key)
    response = alice.client.get(alice.url(f"connections/{connection.pk}/verify"))
    assert response.status_code == 405


def test_the_admin_shows_the_last_verification(alice, upstream, admin_client):
    connection, _ = connected(alice, upstream, "wrong-key-31")
    page = admin_client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert "never" in page.content.decode()
    verify(alice, connection)
    page = admin_client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    html = page.content.decode()
    assert "refused: HTTP 401" in html
    assert "wrong-key-31" not in html
    listing = admin_client.get(reverse("admin:connections_connection_changelist")).content.decode()
    assert "refused: HTTP 401" in listing


# --- verify: true on POST .../connections ------------------------------------------------


def create_body(connector, config, credential, **extra):
    return {
        "name": "Main",
        "systemId": str(connector.pk),
        "credentials": [
            {"authSchemeConfigId": config.config_id, "credentialId": str(credential.pk)}
        ],
        **extra,
    }


def test_create_with_verify_stores_a_checked_connection(alice, upstream):
    connector, config = api_key_connector(alice, upstream, ME)
    credential = key_credential(alice, upstream.key)
    response = alice.client.post(
        alice.url("connections"),
        create_body(connector, config, credential, verify=True),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["credentials"][0]["credential"]["errors"] == []
    connection = Connection.objects.get()
    assert (connection.verification_valid, connection.verification_status) == (True, 200)
    assert len(upstream.seen) == 1


def test_create_with_verify_refuses_a_wrong_key_and_stores_nothing(alice, upstream):
    connector, config = api_key_connector(alice, upstream, ME)
    credential = key_credential(alice, "wrong-key-31")
    response = alice.client.post(
        alice.url("connections"),
        create_body(connector, config, credential, verify=True),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "credential_invalid"
    assert "HTTP 401" in response.json()["message"]
    assert "upstream-says-secret" not in response.content.decode()
    assert not Connection.objects.exists()


def test_create_without_verify_sends_nothing(alice, upstream):
    connector, config = api_key_connector(alice, upstream, ME)
    credential = key_credential(alice, "wrong-key-31")
    response = alice.client.post(
        alice.url("connections"), create_body(connector, config, credential), format="json"
    )
    assert response.status_code == 201
    assert upstream.seen == []


def test_create_with_verify_checks_the_name_before_calling_the_upstream(alice, upstream):
    connector, config = api_key_connector(alice, upstream, ME)
    credential = key_credential(alice, upstream.key)
    f.connection(alice.organisation, connector, name="Main")
    response = alice.client.post(
        alice.url("connections"),
        create_body(connector, config, credential, verify=True),
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert upstream.seen == []


def test_create_with_verify_and_no_verification_is_409(alice, upstream):
    connector, config = api_key_connector(alice, upstream, None)
    credential = key_credential(alice, upstream.key)
    response = alice.client.post(
        alice.url("connections"),
        create_body(connector, config, credential, verify=True),
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "verification_not_configured"
    assert not Connection.objects.exists()


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_verify_must_be_a_boolean(alice, upstream, value):
    connector, config = api_key_connector(alice, upstream, ME)
    credential = key_credential(alice, upstream.key)
    response = alice.client.post(
        alice.url("connections"),
        create_body(connector, config, credential, verify=value),
        format="json",
    )
    if value is None:  # null reads as absent
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "verify"
    assert not Connection.objects.exists()


def test_patch_takes_no_verify(alice, upstream):
    connection, _ = connected(alice, upstream, upstream.key)
    response = alice.client.patch(
        alice.url(f"connections/{connection.pk}"), {"verify": True}, format="json"
    )
    assert response.status_code == 400
    assert upstream.seen == []


def test_openapi_describes_verify(alice):
    schema = alice.client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v2/o/{organisation_id}/connections/{connection_id}/verify"]
    post = operation["post"]
    assert post["operationId"] == "connections_verify"
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    verification = schema["components"]["schemas"][ok.rsplit("/", 1)[1]]
    assert set(verification["properties"]) == {"valid", "status", "checkedAt"}
    assert {"404", "409", "502", "504"} <= set(post["responses"])
    create = schema["paths"]["/api/v2/o/{organisation_id}/connections"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "verify" in schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
