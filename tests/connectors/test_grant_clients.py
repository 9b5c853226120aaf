"""A grant written with clientId + clientSecret owns the oauth2-client credential made for it:
written again with the same client it updates that credential (no second one), and a
credential the config stops naming is deleted unless something still uses it."""

from __future__ import annotations

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig
from credentials.models import Credential
from credentials.services import credential_create
from tests.connectors.test_connectors_api import create_connector, oauth2


def grant(client_id: str, secret: str) -> dict:
    return {
        "type": "authorizationCode",
        "authorizationCode": {"clientId": client_id, "clientSecret": secret},
    }


def clients() -> list[Credential]:
    return list(Credential.objects.filter(type="oauth2-client"))


def grant_credential_id(body: dict) -> str:
    return body["authSchemeConfigs"][0]["oauth2"]["grant"]["authorizationCode"]["credentialId"]


def patch(actor, connector_id: str, config: dict):
    return actor.client.patch(
        actor.url(f"connectors/{connector_id}"), {"authSchemeConfigs": [config]}, format="json"
    )


def test_re_sending_the_same_client_updates_its_credential(alice, assert_no_secrets):
    created = create_connector(alice, configs=[oauth2(grant=grant("client-1", "first-secret"))])
    connector_id, first = created.json()["id"], grant_credential_id(created.json())
    for secret in ("second-secret", "third-secret"):
        response = patch(alice, connector_id, oauth2(grant=grant("client-1", secret)))
        assert response.status_code == 200, response.json()
        assert grant_credential_id(response.json()) == first
    [credential] = clients()
    assert str(credential.pk) == first
    assert credential.data["clientSecret"] == "third-secret"
    assert credential.data["clientId"] == "client-1"
    assert_no_secrets("third-secret", texts=[response.content.decode()])


def test_a_put_of_the_same_client_updates_it_too(alice):
    created = create_connector(alice, configs=[oauth2(grant=grant("client-1", "first-secret"))])
    connector_id, first = created.json()["id"], grant_credential_id(created.json())
    config = oauth2(grant=grant("client-1", "new-secret"))
    response = alice.client.put(
        alice.url(f"connectors/{connector_id}/auth-scheme-configs/oauth"), config, format="json"
    )
    assert response.status_code == 200, response.json()
    [credential] = clients()
    assert str(credential.pk) == first
    assert credential.data["clientSecret"] == "new-secret"


def test_another_client_replaces_the_old_credential_which_is_deleted(alice):
    created = create_connector(alice, configs=[oauth2(grant=grant("client-1", "first-secret"))])
    response = patch(alice, created.json()["id"], oauth2(grant=grant("client-2", "other")))
    assert response.status_code == 200
    [credential] = clients()
    assert str(credential.pk) == grant_credential_id(response.json())
    assert credential.data["clientId"] == "client-2"


def test_an_old_client_that_a_connection_still_refreshes_with_is_kept(alice):
    created = create_connector(alice, configs=[oauth2(grant=grant("client-1", "first-secret"))])
    config = AuthSchemeConfig.objects.get()
    old = Credential.objects.get(type="oauth2-client")
    token = credential_create(organisation=alice.organisation, name="t", type="none", data={})
    connection = Connection.objects.create(
        organisation=alice.organisation, connector=config.connector, name="conn"
    )
    ConnectionCredential.objects.create(
        connection=connection, auth_scheme_config=config, credential=token, client_credential=old
    )
    response = patch(alice, created.json()["id"], oauth2(grant=grant("client-2", "other")))
    assert response.status_code == 200, response.json()
    assert {c.data["clientId"] for c in clients()} == {"client-1", "client-2"}


def test_deleting_the_config_or_the_connector_deletes_its_clients(alice):
    first = create_connector(alice, configs=[oauth2(grant=grant("client-1", "s1"))])
    second = create_connector(alice, name="Other", configs=[oauth2(grant=grant("client-2", "s2"))])
    response = alice.client.delete(
        alice.url(f"connectors/{first.json()['id']}/auth-scheme-configs/oauth")
    )
    assert response.status_code == 204
    assert [c.data["clientId"] for c in clients()] == ["client-2"]
    assert alice.client.delete(alice.url(f"connectors/{second.json()['id']}")).status_code == 204
    assert clients() == []


def test_a_client_credential_of_the_callers_own_is_never_deleted(alice):
    own = credential_create(
        organisation=alice.organisation,
        name="mine",
        type="oauth2-client",
        data={"clientId": "client-1", "clientSecret": "mine-secret"},
    )
    by_reference = {
        "type": "authorizationCode",
        "authorizationCode": {"credentialId": str(own.pk), "clientId": "client-1"},
    }
    created = create_connector(alice, configs=[oauth2(grant=by_reference)])
    assert created.status_code == 201, created.json()
    # Written with the same client id and a secret: a credential of the config's own is
    # made, the caller's is neither changed nor deleted.
    response = patch(alice, created.json()["id"], oauth2(grant=grant("client-1", "new")))
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.data["clientSecret"] == "mine-secret"
    assert len(clients()) == 2
    assert alice.client.delete(alice.url(f"connectors/{created.json()['id']}")).status_code == 204
    assert clients() == [own]
