"""Connect sessions: minting, hashing, lifetime, and who a token does (not) let in."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection as db
from django.utils import timezone

from embed.models import ConnectSession, EndUser
from embed.services import connect_session_revoke
from tests.embed.conftest import embed_client, make_hub

pytestmark = pytest.mark.django_db


def mint(hub, body):
    return hub.owner.client.post(hub.admin_url("sessions"), body, format="json")


def test_it_mints_a_session_and_creates_the_end_user_on_first_use(hub, assert_no_secrets):
    response = mint(hub, {"endUser": {"externalId": "cust-1", "displayName": "Ada"}})
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert set(data) == {"token", "expiresAt"}
    token = data["token"]
    assert token.startswith("pbs_")
    assert len(token) >= 40
    session = ConnectSession.objects.get()
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert session.hub == hub.hub
    assert session.organisation == hub.owner.organisation
    expected = timezone.now() + timedelta(minutes=15)
    assert abs((session.expires_at - expected).total_seconds()) < 5
    user = EndUser.objects.get()
    assert (user.external_id, user.display_name, user.hub) == ("cust-1", "Ada", hub.hub)
    assert_no_secrets(token)


def test_the_token_is_stored_only_as_a_hash(hub):
    token = hub.mint()
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM embed_connectsession")
        rows = cursor.fetchall()
    assert token not in repr(rows)
    assert token[4:] not in repr(rows)


def test_it_reuses_the_end_user_and_updates_the_display_name_when_given(hub):
    mint(hub, {"endUser": {"externalId": "cust-1", "displayName": "Ada"}})
    mint(hub, {"endUser": {"externalId": "cust-1"}})
    assert EndUser.objects.get().display_name == "Ada"
    mint(hub, {"endUser": {"externalId": "cust-1", "displayName": "Ada Lovelace"}})
    assert EndUser.objects.count() == 1
    assert EndUser.objects.get().display_name == "Ada Lovelace"
    assert ConnectSession.objects.count() == 3
    tokens = {mint(hub, {"endUser": {"externalId": "cust-1"}}).json()["token"] for _ in range(3)}
    assert len(tokens) == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"endUser": None},
        {"endUser": "cust-1"},
        {"endUser": {}},
        {"endUser": {"externalId": ""}},
        {"endUser": {"externalId": "x" * 201}},
        {"endUser": {"externalId": "a\x00b"}},
        {"endUser": {"externalId": "a\nb"}},
        {"endUser": {"externalId": 7}},
        {"endUser": {"externalId": "ok", "displayName": ["x"]}},
        {"endUser": {"externalId": "ok", "hubId": "other"}},
        {"endUser": {"externalId": "ok"}, "ttl": 99999},
        [],
    ],
)
def test_it_validates_session_bodies_and_stores_nothing(hub, body):
    response = mint(hub, body)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_request"
    assert not ConnectSession.objects.exists()
    assert not EndUser.objects.exists()


def test_it_refuses_malformed_json_and_wrong_content_types(hub):
    client = hub.owner.client
    url = hub.admin_url("sessions")
    assert client.generic("POST", url, "{", content_type="application/json").status_code == 400
    form_type = "application/x-www-form-urlencoded"
    form = client.generic("POST", url, "endUser=x", content_type=form_type)
    assert form.status_code == 415
    assert not ConnectSession.objects.exists()


def test_outsiders_cannot_mint_sessions(charlie, hub):
    response = charlie.client.post(
        hub.admin_url("sessions"), {"endUser": {"externalId": "x"}}, format="json"
    )
    assert response.status_code == 404
    assert not ConnectSession.objects.exists()


# --- Using a session -------------------------------------------------------------------


def assert_invalid_session(response):
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "invalid_session"
    assert response["Cache-Control"] == "no-store"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_fresh_session_answers(hub, session_token):
    response = embed_client(session_token).get(hub.url("session"))
    assert response.status_code == 200
    data = response.json()
    assert data["hub"] == {
        "id": hub.id,
        "name": "Alice hub",
        "branding": {"title": "Connect your apps", "logoUrl": "", "accentColor": "#2f5bd3"},
    }
    assert data["endUser"]["externalId"] == "user-1"
    assert data["endUser"]["displayName"] == "User One"
    assert data["expiresAt"].endswith("Z")
    assert response["Cache-Control"] == "no-store"


def test_an_expired_session_is_refused(hub, session_token):
    ConnectSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_invalid_session(embed_client(session_token).get(hub.url("session")))


def test_a_revoked_session_is_refused(hub, session_token):
    connect_session_revoke(session=ConnectSession.objects.get())
    assert_invalid_session(embed_client(session_token).get(hub.url("session")))
    assert_invalid_session(embed_client(session_token).get(hub.url("connectors")))


def test_revoking_twice_keeps_the_first_time(hub, session_token):
    session = ConnectSession.objects.get()
    connect_session_revoke(session=session)
    first = session.revoked_at
    connect_session_revoke(session=session)
    session.refresh_from_db()
    assert session.revoked_at == first


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer pbs_",
        "Bearer pbs_" + "A" * 43,
        "Bearer pbs_" + "A" * 500,
        "Bearer pbs_abc def",
        "Bearer ' OR 1=1 --",
        "Bearer pbs_../../etc/passwd",
        "Basic dXNlcjpwYXNz",
        "Token pbs_abc",
    ],
)
def test_malformed_and_unknown_tokens_are_refused(hub, session_token, header):
    client = embed_client(None)
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    assert_invalid_session(client.get(hub.url("session")))


def test_api_keys_are_not_sessions(alice, hub):
    assert_invalid_session(alice.client.get(hub.url("session")))
    assert_invalid_session(alice.client.get(hub.url("connectors")))


def assert_token_in_url(response):
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "session_token_in_url"
    assert "Authorization header" in response.json()["message"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name", ["token", "Session_Token", "access_token", "t"])
def test_a_token_in_the_query_string_is_refused_with_400(hub, session_token, name, caplog):
    # Without a header, and beside a valid one: a token in a URL has leaked either way.
    assert_token_in_url(embed_client(None).get(hub.url("session"), {name: session_token}))
    assert_token_in_url(embed_client(session_token).get(hub.url("session"), {name: session_token}))
    assert_token_in_url(
        embed_client(session_token).post(
            f"{hub.url('connections')}?{name}={session_token}", {}, format="json"
        )
    )
    assert session_token not in caplog.text
    assert "refused session_token_in_url reason=token_in_query" in caplog.text


def test_a_token_parameter_with_any_value_is_refused(hub, session_token):
    assert_token_in_url(embed_client(session_token).get(hub.url("connectors"), {"token": "x"}))


def test_other_query_parameters_are_not_taken_for_tokens(hub, session_token):
    response = embed_client(session_token).get(hub.url("session"), {"tokenish": "pb_x"})
    assert response.status_code == 200


def test_a_session_answers_404_on_another_hub_of_its_organisation(alice, hub, session_token):
    other = alice.client.post(alice.url("hubs"), {"name": "Other"}, format="json").json()
    client = embed_client(session_token)
    for path in ("session", "connectors", "connections"):
        response = client.get(f"/api/v2/embed/{other['id']}/{path}")
        assert response.status_code == 404, path
        assert response["Cache-Control"] == "no-store"


def test_a_session_answers_404_on_another_organisations_hub(charlie, hub, session_token):
    charlies = make_hub(
        charlie,
        authorize_url="https://auth.example.com/a",
        token_url="https://auth.example.com/t",
        client_id="c",
        client_secret="s-charlie-secret-0123456",
        name="Charlie hub",
    )
    client = embed_client(session_token)
    for response in (
        client.get(charlies.url("session")),
        client.get(charlies.url("connectors")),
        # And charlie's session on alice's hub.
        embed_client(charlies.mint()).get(hub.url("session")),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_session_dies_with_its_hub(alice, hub, session_token):
    assert alice.client.delete(hub.admin_url()).status_code == 204
    assert not ConnectSession.objects.exists()
    assert_invalid_session(embed_client(session_token).get(hub.url("session")))
