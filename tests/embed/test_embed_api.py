"""The embed API the widget calls with a connect session token."""

from __future__ import annotations

import threading

import pytest
from django.db import connection as db
from django.db import connections, transaction

from connections.models import Connection, ConnectionCredential
from connectors.models import AuthSchemeConfig, Connector
from credentials.models import Credential
from embed.models import EndUser
from tests.connections import factories as f
from tests.embed.conftest import embed_client

pytestmark = pytest.mark.django_db

API_KEY = "sk-live-0123456789abcdef"
PASSWORD = "pw-very-secret-987654"


def create(client, hub, connector, **body):
    return client.post(
        hub.url("connections"), {"connectorId": str(connector.pk), **body}, format="json"
    )


def test_it_lists_the_hubs_connectors_with_what_the_widget_needs(hub, embed, assert_no_secrets):
    Connector.objects.create(organisation=hub.owner.organisation, name="Not offered")
    response = embed.get(hub.url("connectors"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    items = {item["type"]: item for item in response.json()["items"]}
    assert len(response.json()["items"]) == 3
    assert items["oauth2"] == {
        "id": str(hub.oauth2.pk),
        "name": hub.oauth2.name,
        "authSchemeConfigId": "oauth2",
        "type": "oauth2",
        "oauth2": {
            "authorizeUrl": f.AUTHORIZE_URL,
            "clientId": "client-123",
            "credential": {
                "id": str(hub.client_credential.pk),
                "organisationId": hub.owner.org_id,
            },
            "scopes": ["read"],
        },
        "verifies": False,
    }
    assert items["api-key"]["apiKey"] == {"name": "X-Api-Key"}
    assert items["basic-auth"]["authSchemeConfigId"] == "basic"
    assert_no_secrets(hub.client_credential.data["clientSecret"], texts=[response.content.decode()])


def test_it_picks_the_first_usable_config_and_leaves_out_connectors_without_one(alice, hub, embed):
    # An oauth2 config without a client comes first: skipped for the api-key config after it.
    odd = Connector.objects.create(organisation=alice.organisation, name="Odd")
    f.oauth2_config(odd, config_id="no-client")
    AuthSchemeConfig.objects.create(
        organisation=alice.organisation, connector=odd, config_id="k", type="api-key",
        settings={"name": "K"}, position=1,
    )  # fmt: skip
    hmac_only = Connector.objects.create(organisation=alice.organisation, name="Hmac only")
    f.config_of_type(hmac_only, "hmac", "h")
    hub.hub.connectors.add(odd, hmac_only)
    items = {i["name"]: i for i in embed.get(hub.url("connectors")).json()["items"]}
    assert items["Odd"]["authSchemeConfigId"] == "k"
    assert "Hmac only" not in items


def test_connectors_are_listed_in_a_fixed_number_of_queries(
    alice, hub, embed, django_assert_max_num_queries
):
    for i in range(5):
        connector, _ = f.oauth2_connector(alice.organisation, name=f"More {i}")
        hub.hub.connectors.add(connector)
    with django_assert_max_num_queries(3):
        assert embed.get(hub.url("connectors")).status_code == 200


def test_it_creates_an_api_key_connection_for_the_end_user(alice, hub, embed, assert_no_secrets):
    response = create(embed, hub, hub.api_key, apiKey=API_KEY)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == {"id", "name", "connectorId", "connectorName", "status", "createdAt"}
    assert data["connectorId"] == str(hub.api_key.pk)
    assert data["connectorName"] == hub.api_key.name
    assert data["status"] == "active"
    connection = Connection.objects.get(pk=data["id"])
    assert connection.end_user == EndUser.objects.get(external_id="user-1")
    link = ConnectionCredential.objects.get(connection=connection)
    assert link.auth_scheme_config == hub.api_key_config
    assert link.credential.type == "string"
    assert link.credential.data == {"value": API_KEY}
    # The organisation sees it, with its end user and without the secret.
    seen = alice.client.get(alice.url(f"connections/{connection.pk}"))
    assert seen.json()["endUser"] == {"id": str(connection.end_user_id), "externalId": "user-1"}
    listed = embed.get(hub.url("connections"))
    assert [c["id"] for c in listed.json()["items"]] == [data["id"]]
    assert_no_secrets(
        API_KEY,
        texts=[response.content.decode(), seen.content.decode(), listed.content.decode()],
    )


def test_it_creates_a_basic_auth_connection(hub, embed, assert_no_secrets):
    response = create(
        embed, hub, hub.basic_auth, name="My login",
        basicAuth={"username": "ada", "password": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "My login"
    credential = ConnectionCredential.objects.get().credential
    assert credential.type == "basic-auth"
    assert credential.data == {"username": "ada", "password": PASSWORD}
    assert_no_secrets(PASSWORD, texts=[response.content.decode()])


def test_a_null_basic_auth_is_refused_not_read_as_absent(hub, embed):
    response = create(embed, hub, hub.basic_auth, name="x", basicAuth=None)
    assert response.status_code == 400, response.content
    assert [item["field"] for item in response.json()["fields"]] == ["basicAuth"]
    assert not Connection.objects.exists()


def test_secrets_are_encrypted_at_rest(hub, embed):
    create(embed, hub, hub.api_key, apiKey=API_KEY)
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM credentials_credential")
        assert API_KEY not in repr(cursor.fetchall())


@pytest.mark.parametrize(
    ("connector_attr", "body", "field"),
    [
        ("api_key", {}, "apiKey"),
        ("api_key", {"apiKey": ""}, "apiKey"),
        ("api_key", {"apiKey": 123}, "apiKey"),
        ("api_key", {"apiKey": "x" * 20_000}, "apiKey"),
        ("api_key", {"apiKey": "a\x01b"}, "apiKey"),
        ("api_key", {"apiKey": API_KEY, "basicAuth": {"username": "u", "password": "p"}},
         "basicAuth"),
        ("basic_auth", {"basicAuth": {"username": "u"}}, "basicAuth.password"),
        ("basic_auth", {"basicAuth": {"password": PASSWORD}}, "basicAuth.username"),
        ("basic_auth", {"basicAuth": "u:p"}, "basicAuth"),
        ("basic_auth", {"basicAuth": {"username": "u", "password": PASSWORD, "x": 1}},
         "basicAuth.x"),
        ("basic_auth", {"apiKey": API_KEY}, "apiKey"),
        ("api_key", {"apiKey": API_KEY, "name": "n\x00"}, "name"),
        ("api_key", {"apiKey": API_KEY, "name": "x" * 201}, "name"),
        ("api_key", {"apiKey": API_KEY, "endUserId": "someone"}, "endUserId"),
    ],
)  # fmt: skip
def test_it_validates_connection_bodies_without_echoing_secrets(
    hub, embed, connector_attr, body, field, assert_no_secrets
):
    response = create(embed, hub, getattr(hub, connector_attr), **body)
    assert response.status_code == 400, response.json()
    assert field in [f["field"] for f in response.json().get("fields", [])], response.json()
    assert not Connection.objects.exists()
    assert not Credential.objects.exclude(type="oauth2-client").exists()
    assert_no_secrets(API_KEY, PASSWORD, texts=[response.content.decode()])


def test_an_oauth2_connector_is_not_made_with_a_form(hub, embed):
    response = create(embed, hub, hub.oauth2, apiKey=API_KEY)
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_auth_scheme"
    named = create(embed, hub, hub.api_key, apiKey=API_KEY, authSchemeConfigId="nope")
    assert named.status_code == 404
    assert not Connection.objects.exists()


@pytest.mark.parametrize("connector_id", ["not-offered", "foreign", "1 OR 1=1", "../x", "9" * 400])
def test_connectors_not_offered_by_the_hub_answer_404(alice, charlie, hub, embed, connector_id):
    if connector_id == "not-offered":
        connector_id = str(Connector.objects.create(organisation=alice.organisation, name="N").pk)
    elif connector_id == "foreign":
        connector_id = str(Connector.objects.create(organisation=charlie.organisation, name="C").pk)
    response = embed.post(
        hub.url("connections"), {"connectorId": connector_id, "apiKey": API_KEY}, format="json"
    )
    assert response.status_code == 404
    assert not Connection.objects.exists()


def test_a_taken_name_is_a_conflict(hub, embed):
    assert create(embed, hub, hub.api_key, apiKey=API_KEY, name="Mine").status_code == 201
    again = create(embed, hub, hub.api_key, apiKey=API_KEY, name="Mine")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert [f["field"] for f in again.json()["fields"]] == ["name"]
    assert Connection.objects.count() == 1
    assert Credential.objects.filter(type="string").count() == 1


def test_default_names_do_not_collide(hub, embed):
    for _ in range(2):
        assert create(embed, hub, hub.api_key, apiKey=API_KEY).status_code == 201
    names = sorted(Connection.objects.values_list("name", flat=True))
    assert names == [hub.api_key.name, f"{hub.api_key.name} (2)"]


def test_it_replaces_the_secret_of_an_api_key_connection(hub, embed, assert_no_secrets):
    made = create(embed, hub, hub.api_key, apiKey=API_KEY).json()
    Connection.objects.filter(pk=made["id"]).update(status="error")
    response = embed.patch(
        hub.url(f"connections/{made['id']}"), {"apiKey": "sk-new-123456"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active"
    credential = ConnectionCredential.objects.get().credential
    assert credential.data == {"value": "sk-new-123456"}
    assert_no_secrets("sk-new-123456", API_KEY, texts=[response.content.decode()])


def test_it_replaces_basic_auth_credentials(hub, embed):
    made = create(
        embed, hub, hub.basic_auth, basicAuth={"username": "ada", "password": PASSWORD}
    ).json()
    response = embed.patch(
        hub.url(f"connections/{made['id']}"),
        {"basicAuth": {"username": "ada2", "password": "pw-2-abcdef"}},
        format="json",
    )
    assert response.status_code == 200
    assert ConnectionCredential.objects.get().credential.data == {
        "username": "ada2",
        "password": "pw-2-abcdef",
    }
    missing = embed.patch(
        hub.url(f"connections/{made['id']}"), {"basicAuth": {"username": "x"}}, format="json"
    )
    assert missing.status_code == 400
    unknown = embed.patch(hub.url(f"connections/{made['id']}"), {"name": "rename"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "invalid_request"
    assert ConnectionCredential.objects.get().credential.data["username"] == "ada2"


def test_an_oauth2_connection_is_not_patched_with_a_secret(alice, hub, embed):
    end_user = EndUser.objects.get()
    token = f.token_credential(alice.organisation)
    conn = f.connection(alice.organisation, hub.oauth2, links=[(hub.oauth2_config, token)])
    Connection.objects.filter(pk=conn.pk).update(end_user=end_user)
    response = embed.patch(hub.url(f"connections/{conn.pk}"), {"apiKey": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_auth_scheme"


def test_it_disconnects_and_deletes_the_connections_own_credentials(alice, hub, embed):
    made = create(embed, hub, hub.api_key, apiKey=API_KEY).json()
    response = embed.delete(hub.url(f"connections/{made['id']}"))
    assert response.status_code == 204
    assert response["Cache-Control"] == "no-store"
    assert not Connection.objects.exists()
    assert not Credential.objects.filter(type="string").exists()
    assert Credential.objects.filter(pk=hub.client_credential.pk).exists()


def test_a_session_cannot_read_or_touch_another_end_users_connections(alice, hub, embed):
    theirs = create(embed_client(hub.mint("user-2")), hub, hub.api_key, apiKey=API_KEY).json()
    org_level = f.connection(alice.organisation, hub.api_key, name="Org level")
    assert embed.get(hub.url("connections")).json()["items"] == []
    for conn_id in (theirs["id"], str(org_level.pk)):
        url = hub.url(f"connections/{conn_id}")
        assert embed.patch(url, {"apiKey": "hijack-123"}, format="json").status_code == 404
        assert embed.delete(url).status_code == 404
        assert embed.get(url).status_code == 405
    assert Connection.objects.count() == 2
    assert ConnectionCredential.objects.get(connection_id=theirs["id"]).credential.data == {
        "value": API_KEY
    }


def test_a_session_does_not_see_the_same_external_id_in_another_hub(alice, hub, embed):
    other = alice.client.post(
        alice.url("hubs"), {"name": "Other", "connectors": [str(hub.api_key.pk)]}, format="json"
    ).json()
    other_token = alice.client.post(
        alice.url(f"hubs/{other['id']}/sessions"),
        {"endUser": {"externalId": "user-1"}},
        format="json",
    ).json()["token"]
    elsewhere = embed_client(other_token).post(
        f"/api/v2/embed/{other['id']}/connections",
        {"connectorId": str(hub.api_key.pk), "apiKey": API_KEY},
        format="json",
    )
    assert elsewhere.status_code == 201
    assert embed.get(hub.url("connections")).json()["items"] == []
    assert embed.delete(hub.url(f"connections/{elsewhere.json()['id']}")).status_code == 404


@pytest.mark.parametrize("connection_id", ["1 OR 1=1", "..", "9" * 400])
def test_bad_connection_ids_answer_404(hub, embed, connection_id):
    url = hub.url(f"connections/{connection_id}")
    assert embed.delete(url).status_code == 404
    assert embed.patch(url, {"apiKey": "x"}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ('{"connectorId": "a", "connectorId": "b"}', "application/json", 400),
        ('{"connectorId": "a\\u0000"}', "application/json", 400),
        ("connectorId=x", "application/x-www-form-urlencoded", 415),
        ("<x/>", "text/xml", 415),
        ('"a string"', "application/json", 400),
    ],
)
def test_it_refuses_malformed_bodies(hub, embed, content, content_type, status):
    response = embed.generic("POST", hub.url("connections"), content, content_type=content_type)
    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"
    assert not Connection.objects.exists()


def test_it_refuses_oversize_bodies(hub, embed):
    response = create(embed, hub, hub.api_key, apiKey="x" * 70_000)
    assert response.status_code == 413
    assert not Connection.objects.exists()


def test_every_embed_answer_is_no_store_and_json(hub, embed):
    made = create(embed, hub, hub.api_key, apiKey=API_KEY).json()
    responses = [
        embed.get(hub.url("session")),
        embed.get(hub.url("connectors")),
        embed.get(hub.url("connections")),
        embed.patch(hub.url(f"connections/{made['id']}"), {"apiKey": "k2"}, format="json"),
        embed.get(hub.url("authorisations/00000000-0000-0000-0000-000000000000")),
        embed.delete(hub.url(f"connections/{made['id']}")),
        embed_client(None).get(hub.url("session")),
        embed.put(hub.url("connections"), {}, format="json"),
    ]
    for response in responses:
        assert response["Cache-Control"] == "no-store", response.status_code
        assert "Set-Cookie" not in response
        assert "Access-Control-Allow-Origin" not in response


def test_the_session_and_connections_reads_cost_few_queries(
    hub, embed, django_assert_max_num_queries
):
    for _ in range(3):
        create(embed, hub, hub.api_key, apiKey=API_KEY)
    with django_assert_max_num_queries(2):
        assert len(embed.get(hub.url("connections")).json()["items"]) == 3
    with django_assert_max_num_queries(1):
        assert embed.get(hub.url("session")).status_code == 200


def test_a_connection_made_in_the_widget_is_announced_to_webhooks(alice, hub, embed):
    from webhooks.models import Event
    from webhooks.services import endpoint_create

    endpoint_create(organisation=alice.organisation, url="https://hooks.example.com/in")
    response = create(embed, hub, hub.api_key, apiKey=API_KEY)
    assert response.status_code == 201
    event = Event.objects.get(organisation=alice.organisation, type="connection.created")
    assert event.data["connectionId"] == response.json()["id"]
    assert API_KEY not in str(event.data)
    assert event.deliveries.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_default_name_taken_meanwhile_gets_a_suffix_not_a_409(hub, embed):
    """Another end user's connection takes the default name in a transaction still open
    while this one is made: PostgreSQL makes our insert wait for it, then refuse it."""
    connector = hub.api_key
    holding, release = threading.Event(), threading.Event()

    def other_end_user() -> None:
        try:
            with transaction.atomic():
                Connection.objects.create(
                    organisation=hub.owner.organisation, connector=connector, name=connector.name
                )
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_end_user)
    thread.start()
    assert holding.wait(10)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    response = create(embed, hub, connector, apiKey=API_KEY)
    thread.join(10)
    assert response.status_code == 201, response.json()
    name = response.json()["name"]
    assert name.startswith(f"{connector.name} ")
    assert name != connector.name
    assert Connection.objects.filter(connector=connector).count() == 2
    # A name the end user chose is still theirs to be told about.
    taken = create(embed, hub, connector, apiKey=API_KEY, name=name)
    assert taken.status_code == 409
    assert taken.json()["code"] == "conflict"
    assert [f["field"] for f in taken.json()["fields"]] == ["name"]
