"""/api/v2/o/{org}/connections and /connections/{id}[/access-token] (SPEC §4, §5.3, seed 004)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from connections.models import Connection, ConnectionCredential
from credentials.models import Credential
from tests.connections import factories as f


@pytest.fixture
def setup(alice):
    connector, config = f.oauth2_connector(alice.organisation)
    token = f.token_credential(alice.organisation)
    return connector, config, token


def create_body(connector, config, credential, **overrides):
    return {
        "name": "Production",
        "systemId": str(connector.pk),
        "baseUrl": "https://api.example.com",
        "connectionTemplateId": "tmpl-1",
        "credentials": [
            {"authSchemeConfigId": config.config_id, "credentialId": str(credential.pk)}
        ],
        **overrides,
    }


def test_it_creates_and_reads_a_connection_in_the_seed_shape(alice, setup):
    connector, config, token = setup
    response = alice.client.post(
        alice.url("connections"), create_body(connector, config, token), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "credentials",
        "baseUrl",
        "createdAt",
        "updatedAt",
        "systemId",
        "connectionTemplateId",
        "status",
        "endUser",
    }
    assert body["name"] == "Production"
    assert body["systemId"] == str(connector.pk)
    assert body["baseUrl"] == "https://api.example.com"
    assert body["connectionTemplateId"] == "tmpl-1"
    assert body["status"] == "active"
    assert body["endUser"] is None
    (item,) = body["credentials"]
    assert set(item) == {"id", "authSchemeConfig", "credential"}
    assert item["authSchemeConfig"]["id"] == "oauth2"
    assert item["authSchemeConfig"]["type"] == "oauth2"
    assert item["credential"]["id"] == str(token.pk)
    assert "accessToken" not in item["credential"]["data"]["oauth2Token"]
    assert token.data["accessToken"] not in response.content.decode()
    assert token.data["refreshToken"] not in response.content.decode()

    detail = alice.client.get(alice.url(f"connections/{body['id']}"))
    assert detail.status_code == 200
    assert detail.json() == body


def test_it_lists_connections_paginated(alice, setup):
    connector, _, _ = setup
    for i in range(3):
        f.connection(alice.organisation, connector, name=f"c{i}")
    page = alice.client.get(alice.url("connections"), {"first": 2}).json()
    assert len(page["items"]) == 2
    assert page["pageInfo"]["hasNextPage"] is True
    rest = alice.client.get(
        alice.url("connections"), {"first": 2, "after": page["pageInfo"]["endCursor"]}
    ).json()
    assert len(rest["items"]) == 1
    names = {i["name"] for i in page["items"] + rest["items"]}
    assert names == {"c0", "c1", "c2"}


@pytest.mark.parametrize("count", [1, 5])
def test_reading_costs_a_fixed_number_of_queries(
    alice, setup, count, django_assert_max_num_queries
):
    connector, config, _ = setup
    links = [(config, f.token_credential(alice.organisation)) for _ in range(count)]
    conn = f.connection(alice.organisation, connector, links=links)
    for i in range(3):
        f.connection(alice.organisation, connector, name=f"other{i}", links=links)
    alice.client.get(alice.url("connections"))  # the key's last-used write happens once a minute
    with django_assert_max_num_queries(5):
        detail = alice.client.get(alice.url(f"connections/{conn.pk}"))
    assert len(detail.json()["credentials"]) == count
    with django_assert_max_num_queries(5):
        listing = alice.client.get(alice.url("connections"))
    assert len(listing.json()["items"]) == 4


def test_it_keeps_the_credentials_in_order(alice, setup):
    connector, config, token = setup
    mtls = f.config_of_type(connector, "certificate", "mtls")
    cert = Credential.objects.create(
        organisation=alice.organisation,
        type="certificate",
        data=cast(Any, {"certificate": "-----BEGIN CERTIFICATE-----", "key": "k"}),
    )
    body = create_body(
        connector,
        config,
        token,
        credentials=[
            {"authSchemeConfigId": "mtls", "credentialId": str(cert.pk)},
            {"authSchemeConfigId": "oauth2", "credentialId": str(token.pk)},
        ],
    )
    created = alice.client.post(alice.url("connections"), body, format="json").json()
    assert [c["authSchemeConfig"]["id"] for c in created["credentials"]] == [
        mtls.config_id,
        "oauth2",
    ]


def test_names_are_unique_per_connector(alice, setup):
    connector, config, token = setup
    body = create_body(connector, config, token)
    assert alice.client.post(alice.url("connections"), body, format="json").status_code == 201
    again = alice.client.post(alice.url("connections"), body, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert [f["field"] for f in again.json()["fields"]] == ["name"]
    other, other_config = f.oauth2_connector(alice.organisation, name="Other")
    body = create_body(other, other_config, token)
    assert alice.client.post(alice.url("connections"), body, format="json").status_code == 201


def test_a_rename_onto_a_taken_name_is_a_conflict(alice, setup):
    connector, _, _ = setup
    f.connection(alice.organisation, connector, name="a")
    b = f.connection(alice.organisation, connector, name="b")
    response = alice.client.patch(alice.url(f"connections/{b.pk}"), {"name": "a"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert [f["field"] for f in response.json()["fields"]] == ["name"]


def test_it_updates_a_connection(alice, setup):
    connector, config, token = setup
    conn = f.connection(alice.organisation, connector, links=[(config, token)])
    new_token = f.token_credential(alice.organisation)
    response = alice.client.patch(
        alice.url(f"connections/{conn.pk}"),
        {
            "name": "Renamed",
            "baseUrl": "https://eu.api.example.com",
            "connectionTemplateId": "t2",
            "credentials": [{"authSchemeConfigId": "oauth2", "credentialId": str(new_token.pk)}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["baseUrl"] == "https://eu.api.example.com"
    assert body["connectionTemplateId"] == "t2"
    assert [c["credential"]["id"] for c in body["credentials"]] == [str(new_token.pk)]
    partial = alice.client.patch(
        alice.url(f"connections/{conn.pk}"), {"baseUrl": ""}, format="json"
    )
    assert partial.json()["name"] == "Renamed"
    assert len(partial.json()["credentials"]) == 1


def test_it_deletes_a_connection_and_its_token(alice, setup):
    connector, config, token = setup
    client_credential = f.client_credential(alice.organisation)
    conn = f.connection(alice.organisation, connector, links=[(config, token)])
    response = alice.client.delete(alice.url(f"connections/{conn.pk}"))
    assert response.status_code == 204
    assert not Connection.objects.filter(pk=conn.pk).exists()
    assert not Credential.objects.filter(pk=token.pk).exists()
    assert Credential.objects.filter(pk=client_credential.pk).exists()
    assert alice.client.get(alice.url(f"connections/{conn.pk}")).status_code == 404


def test_it_keeps_a_token_another_connection_uses(alice, setup):
    connector, config, token = setup
    a = f.connection(alice.organisation, connector, name="a", links=[(config, token)])
    f.connection(alice.organisation, connector, name="b", links=[(config, token)])
    alice.client.delete(alice.url(f"connections/{a.pk}"))
    assert Credential.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("what", ["systemId", "authSchemeConfigId", "credentialId"])
def test_references_to_other_organisations_or_connectors_are_404(alice, charlie, setup, what):
    connector, config, token = setup
    theirs_connector, _ = f.oauth2_connector(charlie.organisation)
    theirs_token = f.token_credential(charlie.organisation)
    other_connector, _ = f.oauth2_connector(alice.organisation, name="Other")
    f.config_of_type(other_connector, "api-key", "only-on-other")
    body = create_body(connector, config, token)
    if what == "systemId":
        body["systemId"] = str(theirs_connector.pk)
    elif what == "authSchemeConfigId":
        body["credentials"][0]["authSchemeConfigId"] = "only-on-other"
    else:
        body["credentials"][0]["credentialId"] = str(theirs_token.pk)
    response = alice.client.post(alice.url("connections"), body, format="json")
    assert response.status_code == 404
    assert Connection.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": None},
        {"name": "x" * 201},
        {"name": "tab\there"},
        {"systemId": None},
        {"credentials": "abc"},
        {"credentials": [{"authSchemeConfigId": "oauth2"}]},
        {"credentials": [{"authSchemeConfigId": "oauth2", "credentialId": "x", "more": 1}]},
        {"unknown": 1},
    ],
)
def test_it_refuses_invalid_bodies(alice, setup, change):
    connector, config, token = setup
    body = {**create_body(connector, config, token), **change}
    response = alice.client.post(alice.url("connections"), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_request"
    assert Connection.objects.count() == 0


@pytest.mark.parametrize("bad", ["1 OR 1=1", "..%2Fx", "9" * 40, "' OR ''='"])
def test_hostile_ids_in_the_body_are_404(alice, setup, bad):
    # Hostile ids in the path: tests/test_endpoint_sweep.py.
    connector, config, token = setup
    body = create_body(connector, config, token, systemId=bad)
    response = alice.client.post(alice.url("connections"), body, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    body = create_body(connector, config, token)
    body["credentials"][0]["credentialId"] = bad
    response = alice.client.post(alice.url("connections"), body, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Connection.objects.count() == 0


# --- Access token ------------------------------------------------------------------------------


def test_it_returns_the_access_token_but_never_the_refresh_token(alice, setup):
    connector, config, token = setup
    conn = f.connection(alice.organisation, connector, links=[(config, token)])
    response = alice.client.get(alice.url(f"connections/{conn.pk}/access-token"))
    assert response.status_code == 200
    assert response.json() == {
        "accessToken": token.data["accessToken"],
        "tokenType": "Bearer",
        "expiresAt": None,
        "scopes": ["read"],
    }
    assert token.data["refreshToken"] not in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_a_connection_without_an_oauth2_token_has_no_access_token(alice, setup):
    connector, _config, _ = setup
    conn = f.connection(alice.organisation, connector)
    response = alice.client.get(alice.url(f"connections/{conn.pk}/access-token"))
    assert response.status_code == 400
    assert response.json()["code"] == "no_oauth2_credential"


# --- Outsiders -----------------------------------------------------------------------------------


def test_outsiders_get_404_everywhere(alice, charlie, setup):
    connector, config, token = setup
    conn = f.connection(alice.organisation, connector, links=[(config, token)])
    body = create_body(connector, config, token, name="Stolen")
    for response in (
        charlie.client.get(alice.url("connections")),
        charlie.client.post(alice.url("connections"), body, format="json"),
        charlie.client.get(alice.url(f"connections/{conn.pk}")),
        charlie.client.patch(alice.url(f"connections/{conn.pk}"), {"name": "x"}, format="json"),
        charlie.client.delete(alice.url(f"connections/{conn.pk}")),
        charlie.client.get(alice.url(f"connections/{conn.pk}/access-token")),
        charlie.client.get(charlie.url(f"connections/{conn.pk}")),
        charlie.client.patch(charlie.url(f"connections/{conn.pk}"), {"name": "x"}, format="json"),
        charlie.client.delete(charlie.url(f"connections/{conn.pk}")),
        charlie.client.get(charlie.url(f"connections/{conn.pk}/access-token")),
        charlie.client.post(charlie.url("connections"), body, format="json"),
    ):
        assert response.status_code == 404, response.content
        assert token.data["accessToken"] not in response.content.decode()
    assert charlie.client.get(charlie.url("connections")).json()["items"] == []
    conn.refresh_from_db()
    assert conn.name == "Main"
    assert ConnectionCredential.objects.filter(connection=conn).count() == 1


def test_anonymous_callers_are_refused(anonymous, alice, setup):
    connector, config, token = setup
    conn = f.connection(alice.organisation, connector, links=[(config, token)])
    for url in (alice.url("connections"), alice.url(f"connections/{conn.pk}/access-token")):
        assert anonymous.get(url).status_code in (401, 403)


@pytest.mark.parametrize(
    "credential_type",
    ["string", "basic-auth", "oauth2-client", "certificate", "default"],
)
def test_it_refuses_a_credential_that_cannot_authenticate_through_the_config(
    alice, setup, credential_type
):
    connector, config, _ = setup
    data = {
        "string": {"value": "s3cret-value"},
        "basic-auth": {"username": "u", "password": "s3cret-value"},
        "oauth2-client": {"clientId": "c", "clientSecret": "s3cret-value"},
        "certificate": {"certificate": "-----BEGIN CERTIFICATE-----", "key": "s3cret-value"},
        "default": {"k": "czNjcmV0"},
    }[credential_type]
    wrong = Credential.objects.create(
        organisation=alice.organisation, name="wrong", type=credential_type, data=data
    )
    response = alice.client.post(
        alice.url("connections"), create_body(connector, config, wrong), format="json"
    )
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "credential_type_mismatch"
    assert body["fields"][0]["field"] == "credentials[0].credentialId"
    assert "s3cret-value" not in response.content.decode()
    assert not Connection.objects.filter(organisation=alice.organisation).exists()


def test_it_reads_a_connection_without_credentials(alice, setup, django_assert_num_queries):
    connector, _, _ = setup
    conn = f.connection(alice.organisation, connector, name="bare", links=[])
    alice.client.get(alice.url("connections"))  # the key's last-used write happens once a minute
    with django_assert_num_queries(2):  # the key, then the connection (its links: none)
        response = alice.client.get(alice.url(f"connections/{conn.pk}"))
    assert response.status_code == 200
    assert response.json()["credentials"] == []
    assert response.json()["name"] == "bare"


def test_it_reads_a_connection_with_credentials_in_two_queries(
    alice, setup, django_assert_num_queries
):
    connector, config, token = setup
    conn = f.connection(alice.organisation, connector, links=[(config, token)])
    alice.client.get(alice.url("connections"))
    with django_assert_num_queries(2):  # the key, then everything else in one query
        response = alice.client.get(alice.url(f"connections/{conn.pk}"))
    assert response.json()["credentials"][0]["credential"]["id"] == str(token.pk)


def test_renaming_keeps_a_status_a_refresh_stored_meanwhile(alice):
    from connections.services import connection_update

    connector, _ = f.oauth2_connector(alice.organisation)
    stale = Connection.objects.create(
        organisation=alice.organisation, connector=connector, name="before"
    )
    # A refresh marks it for re-authorisation after the PATCH has read it.
    Connection.objects.filter(pk=stale.pk).update(status="needs_reauth")
    connection_update(connection=stale, name="after")
    stored = Connection.objects.get(pk=stale.pk)
    assert (stored.name, stored.status) == ("after", "needs_reauth")


def test_an_expired_credential_cannot_be_linked(alice, setup):
    from datetime import timedelta

    from django.utils import timezone

    connector, config, token = setup
    Credential.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = alice.client.post(
        alice.url("connections"), create_body(connector, config, token), format="json"
    )
    assert response.status_code == 404, response.json()
    assert not Connection.objects.exists()


def test_patching_the_same_credentials_keeps_the_client_that_obtained_the_token(alice, setup):
    connector, config, token = setup
    created = alice.client.post(
        alice.url("connections"), create_body(connector, config, token), format="json"
    )
    assert created.status_code == 201, created.json()
    connection_id = created.json()["id"]
    first_client = f.client_credential(alice.organisation)
    ConnectionCredential.objects.filter(connection_id=connection_id).update(
        client_credential=first_client
    )
    response = alice.client.patch(
        alice.url(f"connections/{connection_id}"),
        {"credentials": [{"authSchemeConfigId": config.config_id, "credentialId": str(token.pk)}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    link = ConnectionCredential.objects.get(connection_id=connection_id)
    assert link.client_credential_id == first_client.pk
