"""Hubs and end users: the organisation API (API key), validation, outsiders, admin."""

from __future__ import annotations

import pytest

from connections.models import Connection
from connectors.models import Connector
from credentials.models import Credential
from embed.models import ConnectSession, EndUser, Hub
from tests.connections import factories as f
from tests.embed.conftest import HOST_ORIGIN, embed_client

pytestmark = pytest.mark.django_db


def hub_body(**overrides):
    body = {
        "name": "Partner hub",
        "allowedOrigins": ["https://app.example.com", "https://www.example.com:8443"],
        "returnUrls": ["https://app.example.com/done"],
        "branding": {
            "title": "Connect",
            "logoUrl": "https://cdn.example.com/logo.png",
            "accentColor": "#AA3366",
        },
    }
    body.update(overrides)
    return body


def counts():
    return (Hub.objects.count(), EndUser.objects.count(), ConnectSession.objects.count())


# --- Hubs -------------------------------------------------------------------------------


def test_it_creates_a_hub_with_connectors(alice, hub):
    body = hub_body(connectors=[str(hub.api_key.pk), str(hub.oauth2.pk)])
    response = alice.client.post(alice.url("hubs"), body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == {
        "id", "name", "connectors", "allowedOrigins", "returnUrls", "branding",
        "signingKeys", "createdAt", "updatedAt",
    }  # fmt: skip
    assert data["signingKeys"] == {"keys": []}
    assert sorted(data["connectors"]) == sorted([str(hub.api_key.pk), str(hub.oauth2.pk)])
    assert data["allowedOrigins"] == ["https://app.example.com", "https://www.example.com:8443"]
    assert data["branding"] == {
        "title": "Connect",
        "logoUrl": "https://cdn.example.com/logo.png",
        "accentColor": "#aa3366",
    }
    assert Hub.objects.get(pk=data["id"]).organisation == alice.organisation


def test_it_lists_reads_updates_and_deletes_hubs(alice, hub):
    listed = alice.client.get(alice.url("hubs")).json()
    assert [h["id"] for h in listed["items"]] == [hub.id]
    assert listed["pageInfo"]["hasNextPage"] is False
    assert alice.client.get(alice.url(f"hubs/{hub.id}")).json()["name"] == "Alice hub"

    response = alice.client.patch(
        alice.url(f"hubs/{hub.id}"),
        {"name": "Renamed", "connectors": [str(hub.api_key.pk)], "branding": {"title": "T"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed"
    assert response.json()["connectors"] == [str(hub.api_key.pk)]
    assert response.json()["branding"]["title"] == "T"
    assert response.json()["allowedOrigins"] == [HOST_ORIGIN]  # untouched

    assert alice.client.delete(alice.url(f"hubs/{hub.id}")).status_code == 204
    assert not Hub.objects.exists()
    assert Connector.objects.filter(pk=hub.api_key.pk).exists()  # connectors stay


def test_it_paginates_hubs(alice):
    for i in range(3):
        alice.client.post(alice.url("hubs"), {"name": f"h{i}"}, format="json")
    page = alice.client.get(alice.url("hubs"), {"first": 2}).json()
    assert len(page["items"]) == 2
    assert page["pageInfo"]["hasNextPage"] is True
    rest = alice.client.get(alice.url("hubs"), {"first": 2, "after": page["pageInfo"]["endCursor"]})
    assert len(rest.json()["items"]) == 1


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.x.com",
        "*",
        "javascript:alert(1)",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com?x=1",
        "https://app.example.com#f",
        "http://app.example.com",
        "https://user:pw@app.example.com",
        "https://APP.example.com",
        "https://app.example.com:443",
        "https://app.example.com:99999",
        "https://app.example.com:",
        "https://app.example.com:08443",
        "https://app.example.com:+8443",
        "ftp://app.example.com",
        "app.example.com",
        "https://",
        "null",
        "https://app.exam ple.com",
        "https://bücher.example",
        "https://app.example.com\n",
        "",
        123,
    ],
)
def test_it_refuses_bad_origins_and_stores_nothing(alice, origin):
    before = counts()
    response = alice.client.post(
        alice.url("hubs"), hub_body(allowedOrigins=[origin]), format="json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["fields"][0]["field"] == "allowedOrigins[0]"
    assert counts() == before


def test_it_accepts_loopback_http_origins_only_when_insecure_http_is_allowed(alice, settings):
    body = hub_body(
        allowedOrigins=["http://localhost:8001", "http://127.0.0.1:8001", "http://[::1]:8001"]
    )
    assert alice.client.post(alice.url("hubs"), body, format="json").status_code == 201
    settings.PATCHBAY_ALLOW_INSECURE_HTTP = False
    assert alice.client.post(alice.url("hubs"), body, format="json").status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("returnUrls", ["javascript:alert(1)"]),
        ("returnUrls", ["http://evil.example.com/x"]),
        ("returnUrls", "https://a.example.com"),
        ("branding", {"logoUrl": "javascript:alert(1)"}),
        ("branding", {"logoUrl": "http://cdn.example.com/logo.png"}),
        ("branding", {"accentColor": "red"}),
        ("branding", {"accentColor": "#12345"}),
        ("branding", {"accentColor": "#123456; background:url(x)"}),
        ("branding", {"title": "a\x00b"}),
        ("branding", {"title": "x" * 201}),
        ("branding", {"extra": 1}),
        ("branding", "nope"),
        ("name", ""),
        ("name", "x" * 201),
        ("name", "bad\x07name"),
        ("connectors", "not-a-list"),
        ("allowedOrigins", ["https://a.example.com"] * 21),
        ("surprise", 1),
    ],
)
def test_it_validates_hub_fields(alice, field, value):
    before = counts()
    response = alice.client.post(alice.url("hubs"), hub_body(**{field: value}), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_request"
    assert counts() == before


def test_it_requires_a_name(alice):
    response = alice.client.post(alice.url("hubs"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "name"


@pytest.mark.parametrize("connector_id", ["1 OR 1=1", "../x", "9" * 400, "foreign"])
def test_it_answers_404_for_connectors_not_of_the_organisation(alice, charlie, connector_id):
    if connector_id == "foreign":
        connector_id = str(Connector.objects.create(organisation=charlie.organisation, name="C").pk)
    before = counts()
    response = alice.client.post(
        alice.url("hubs"), hub_body(connectors=[connector_id]), format="json"
    )
    assert response.status_code == 404
    assert counts() == before


def test_a_patch_with_a_foreign_connector_changes_nothing(alice, charlie, hub):
    foreign = Connector.objects.create(organisation=charlie.organisation, name="C")
    response = alice.client.patch(
        alice.url(f"hubs/{hub.id}"),
        {"name": "New", "connectors": [str(hub.api_key.pk), str(foreign.pk)]},
        format="json",
    )
    assert response.status_code == 404
    hub.hub.refresh_from_db()
    assert hub.hub.name == "Alice hub"
    assert hub.hub.connectors.count() == 3


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        ("{not json", "application/json", "invalid_json"),
        ('{"name": "a", "name": "b"}', "application/json", "invalid_json"),
        ('{"name": "a\\u0000b"}', "application/json", "invalid_request"),
        ("name=x", "application/x-www-form-urlencoded", "unsupported_media_type"),
        ("[1, 2]", "application/json", "invalid_request"),
    ],
)
def test_it_refuses_malformed_hub_bodies(alice, content, content_type, code):
    before = counts()
    response = alice.client.generic("POST", alice.url("hubs"), content, content_type=content_type)
    assert response.status_code in (400, 415)
    assert response.json()["code"] == code
    assert counts() == before


def test_it_refuses_oversize_bodies(alice):
    response = alice.client.post(
        alice.url("hubs"), {"name": "x", "pad": "a" * 70_000}, format="json"
    )
    assert response.status_code == 413
    assert not Hub.objects.exists()


def test_outsiders_get_404_for_every_hub_route(charlie, hub):
    paths = [
        f"/api/v2/o/{hub.owner.org_id}/hubs",
        hub.admin_url(),
        hub.admin_url("users"),
        hub.admin_url("sessions"),
    ]
    for path in paths:
        for method in ("get", "post", "patch", "delete"):
            response = getattr(charlie.client, method)(path, {}, format="json")
            assert response.status_code in (404, 405), (method, path)
    # Charlie's own organisation path with alice's hub id: still 404.
    assert charlie.client.get(charlie.url(f"hubs/{hub.id}")).status_code == 404
    assert charlie.client.get(charlie.url("hubs")).json()["items"] == []
    assert (
        charlie.client.post(
            charlie.url(f"hubs/{hub.id}/sessions"), {"endUser": {"externalId": "x"}}, format="json"
        ).status_code
        == 404
    )
    assert not ConnectSession.objects.exists()


def test_anonymous_and_session_tokens_cannot_use_the_hub_api(anonymous, hub, session_token):
    assert anonymous.get(hub.admin_url()).status_code == 401
    as_session = embed_client(session_token)
    assert as_session.get(hub.admin_url()).status_code == 401
    assert (
        as_session.post(
            hub.admin_url("sessions"), {"endUser": {"externalId": "x"}}, format="json"
        ).status_code
        == 401
    )


def test_hub_reads_cost_a_fixed_number_of_queries(alice, hub, django_assert_max_num_queries):
    for i in range(3):
        alice.client.post(
            alice.url("hubs"), {"name": f"h{i}", "connectors": [str(hub.api_key.pk)]}, format="json"
        )
    with django_assert_max_num_queries(4):
        assert len(alice.client.get(alice.url("hubs")).json()["items"]) == 4


# --- End users --------------------------------------------------------------------------


def test_it_creates_lists_reads_and_renames_end_users(alice, hub):
    response = alice.client.post(
        hub.admin_url("users"), {"externalId": "cust-42", "displayName": "Ada"}, format="json"
    )
    assert response.status_code == 201, response.json()
    user = response.json()
    assert set(user) == {"id", "externalId", "displayName", "createdAt", "updatedAt"}
    assert [u["externalId"] for u in alice.client.get(hub.admin_url("users")).json()["items"]] == [
        "cust-42"
    ]
    assert alice.client.get(hub.admin_url(f"users/{user['id']}")).json()["displayName"] == "Ada"
    renamed = alice.client.patch(
        hub.admin_url(f"users/{user['id']}"), {"displayName": "Ada L."}, format="json"
    )
    assert renamed.status_code == 200
    assert renamed.json()["displayName"] == "Ada L."


def test_external_ids_are_unique_per_hub_and_immutable(alice, hub):
    first = alice.client.post(hub.admin_url("users"), {"externalId": "same"}, format="json")
    assert first.status_code == 201
    again = alice.client.post(hub.admin_url("users"), {"externalId": "same"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert [f["field"] for f in again.json()["fields"]] == ["externalId"]
    other_hub = alice.client.post(alice.url("hubs"), {"name": "Other"}, format="json").json()
    elsewhere = alice.client.post(
        alice.url(f"hubs/{other_hub['id']}/users"), {"externalId": "same"}, format="json"
    )
    assert elsewhere.status_code == 201

    user_id = first.json()["id"]
    changed = alice.client.patch(
        hub.admin_url(f"users/{user_id}"), {"externalId": "new"}, format="json"
    )
    assert changed.status_code == 400
    assert changed.json()["fields"][0]["field"] == "externalId"
    assert EndUser.objects.get(pk=user_id).external_id == "same"
    unchanged = alice.client.patch(
        hub.admin_url(f"users/{user_id}"), {"externalId": "same"}, format="json"
    )
    assert unchanged.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"externalId": ""},
        {"externalId": "x" * 201},
        {"externalId": "a\x01b"},
        {"externalId": 42},
        {"externalId": "ok", "displayName": "x" * 201},
        {"externalId": "ok", "displayName": "tab\there"},
        {"externalId": "ok", "extra": True},
    ],
)
def test_it_validates_end_users(alice, hub, body):
    before = counts()
    response = alice.client.post(hub.admin_url("users"), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_request"
    assert counts() == before


def test_deleting_an_end_user_deletes_their_connections_and_secrets(alice, hub, session_token):
    client = embed_client(session_token)
    made = client.post(
        hub.url("connections"),
        {"connectorId": str(hub.api_key.pk), "apiKey": "sk-live-abcdef"},
        format="json",
    )
    assert made.status_code == 201
    other = f.connection(alice.organisation, hub.api_key, name="Org-level")
    end_user = EndUser.objects.get(external_id="user-1")
    assert alice.client.delete(hub.admin_url(f"users/{end_user.pk}")).status_code == 204
    assert not EndUser.objects.exists()
    assert list(Connection.objects.all()) == [other]
    assert not Credential.objects.filter(type="string").exists()
    assert not ConnectSession.objects.exists()
    assert client.get(hub.url("session")).status_code == 401


@pytest.mark.parametrize("user_id", ["1 OR 1=1", "../x", "9" * 400, "foreign"])
def test_end_users_of_other_hubs_answer_404(alice, charlie, hub, user_id):
    if user_id == "foreign":
        other = alice.client.post(alice.url("hubs"), {"name": "Other"}, format="json").json()
        user_id = alice.client.post(
            alice.url(f"hubs/{other['id']}/users"), {"externalId": "o"}, format="json"
        ).json()["id"]
    for method in ("get", "patch", "delete"):
        response = getattr(alice.client, method)(
            hub.admin_url(f"users/{user_id}"), {"displayName": "x"}, format="json"
        )
        assert response.status_code == 404


def test_outsiders_cannot_see_end_users(alice, charlie, hub, session_token):
    user = EndUser.objects.get()
    for method in ("get", "patch", "delete"):
        response = getattr(charlie.client, method)(
            hub.admin_url(f"users/{user.pk}"), {"displayName": "x"}, format="json"
        )
        assert response.status_code == 404
    assert EndUser.objects.get().display_name == "User One"


# --- Admin -----------------------------------------------------------------------------


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser("op", "op@example.com", "pw-op-123456")
    client.force_login(user)
    return client


def test_the_admin_lists_hubs_end_users_and_sessions_without_token_hashes(
    operator, hub, session_token
):
    for url in ("/admin/embed/hub/", "/admin/embed/enduser/", "/admin/embed/connectsession/"):
        assert operator.get(url).status_code == 200, url
    assert operator.get(f"/admin/embed/hub/{hub.id}/change/").status_code == 200
    session = ConnectSession.objects.get()
    page = operator.get(f"/admin/embed/connectsession/{session.pk}/change/").content.decode()
    assert session.token_hash not in page
    assert session_token not in page
    assert operator.get("/admin/embed/connectsession/add/").status_code == 403


def test_the_admin_revokes_sessions(operator, hub, session_token):
    session = ConnectSession.objects.get()
    response = operator.post(
        "/admin/embed/connectsession/",
        {"action": "revoke", "_selected_action": [str(session.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.revoked_at is not None
    assert embed_client(session_token).get(hub.url("session")).status_code == 401


def test_the_admin_refuses_wildcard_origins(operator, hub):
    response = operator.post(
        f"/admin/embed/hub/{hub.id}/change/",
        {
            "organisation": hub.owner.org_id,
            "name": "Alice hub",
            "connectors": [str(hub.api_key.pk)],
            "allowed_origins": '["https://*.example.com"]',
            "return_urls": "[]",
            "branding_title": "",
            "branding_logo_url": "",
            "branding_accent_color": "#112233",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Wildcards" in response.content.decode()
    hub.hub.refresh_from_db()
    assert hub.hub.allowed_origins == [HOST_ORIGIN]
