"""The credentials API's oauth2-code input (SPEC §4: {code, state, redirectUrl}): exchanged
at once, exactly as the API callback does, against the real provider, and stored as an
oauth2-token credential with its connection."""

from __future__ import annotations

import pytest

from connections.models import AuthorisationRequest, Connection
from credentials.models import Credential
from tests.conftest import callback_query
from tests.connections.test_flow import access_token, initialise, wired  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
OWN = "http://127.0.0.1:8765/app/callback"


@pytest.fixture
def caught(alice, provider, wired, settings):  # noqa: F811
    """A flow whose redirect the caller's backend caught itself: its code and state."""
    settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = True  # OWN is a loopback URL (DEBUG's rule)
    connector, _, credential = wired
    provider.application.redirect_uris += f" {OWN}"
    provider.application.save()
    params = callback_query(
        provider.consent(initialise(alice, provider, connector, credential, redirectUrl=OWN))
    )
    return params["code"][0], params["state"][0]


def code_body(code: str, state: str, **extra) -> dict:
    return {"type": "oauth2-code", "data": {"oauth2Code": {"code": code, "state": state, **extra}}}


def post(actor, body):
    return actor.client.post(actor.url("credentials"), body, format="json")


def test_it_exchanges_the_code_and_stores_the_token(alice, provider, caught, assert_no_secrets):
    code, state = caught
    response = post(alice, {**code_body(code, state, redirectUrl=OWN), "name": "Dana's token"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == "oauth2-token"
    assert body["name"] == "Dana's token"
    assert "accessToken" not in body["data"]["oauth2Token"]
    credential = Credential.objects.get(pk=body["id"])
    assert credential.type == "oauth2-token"
    connection = Connection.objects.get()
    token = access_token(alice, connection)["accessToken"]
    assert provider.me(token).status_code == 200
    assert AuthorisationRequest.objects.get().used_at is not None
    assert_no_secrets(code, state, token, texts=[response.content.decode()])


def test_a_used_state_is_refused_and_nothing_more_is_stored(alice, caught):
    code, state = caught
    assert post(alice, code_body(code, state)).status_code == 201
    again = post(alice, code_body(code, state))
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_state"
    assert again.json()["fields"][0]["field"] == "data.oauth2Code.state"
    assert Connection.objects.count() == 1
    assert Credential.objects.filter(type="oauth2-token").count() == 1


def test_another_organisations_state_is_refused_and_stays_usable(alice, charlie, caught):
    code, state = caught
    refused = post(charlie, code_body(code, state))
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_state"
    assert not Credential.objects.filter(type="oauth2-token").exists()
    assert post(alice, code_body(code, state)).status_code == 201


def test_another_redirect_url_is_refused_and_spends_the_state(alice, caught):
    code, state = caught
    response = post(alice, code_body(code, state, redirectUrl="http://127.0.0.1:8765/other"))
    assert response.status_code == 400
    assert response.json()["code"] == "redirect_url_mismatch"
    assert response.json()["fields"][0]["field"] == "data.oauth2Code.redirectUrl"
    assert not Credential.objects.filter(type="oauth2-token").exists()
    assert AuthorisationRequest.objects.get().status == "failed"
    assert post(alice, code_body(code, state)).json()["code"] == "invalid_state"


def test_an_unknown_state_never_reaches_the_provider(alice, no_network):
    response = post(alice, code_body("some-code", "no-such-state"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_state"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"state": "s"}, "data.oauth2Code.code"),
        ({"code": "c"}, "data.oauth2Code.state"),
        ({"code": "c\nx", "state": "s"}, "data.oauth2Code.code"),
        ({"code": "c", "state": "bad state!"}, "data.oauth2Code.state"),
        ({"code": "c", "state": "s", "extra": 1}, "data.oauth2Code.extra"),
        ({"code": "c" * 3000, "state": "s"}, "data.oauth2Code.code"),
    ],
)
def test_it_refuses_malformed_input_and_stores_nothing(alice, no_network, data, field):
    response = post(alice, {"type": "oauth2-code", "data": {"oauth2Code": data}})
    assert response.status_code == 400, response.json()
    assert field in [f["field"] for f in response.json().get("fields", [])], response.json()
    assert not Credential.objects.exists()


def test_an_outsider_gets_404(alice, charlie):
    response = charlie.client.post(alice.url("credentials"), code_body("c", "s"), format="json")
    assert response.status_code == 404
