"""POST /api/v2/embed/{hub}/connector/{connector}/oauth2/initialise (seed 002), the callback
of an embed flow, polling its outcome, and the whole flow against the real provider."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from connections.models import AuthorisationRequest, Connection, ConnectionCredential
from connectors.models import Connector
from embed.models import ConnectSession, EndUser
from tests.connections import factories as f
from tests.embed.conftest import embed_client, initialise_body

BROWSER = "/connections/oauth2/callback"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def initialise(client, hub, body, connector=None):
    connector = connector or hub.oauth2
    return client.post(hub.url(f"connector/{connector.pk}/oauth2/initialise"), body, format="json")


def started(client, hub, *, browser=None, **body) -> tuple[str, str]:
    """(state, authorisationId) of a fresh embed initialise; with ``browser`` (a test
    client), that browser is bound to the flow as the start page binds it."""
    response = initialise(client, hub, initialise_body(hub, **body))
    assert response.status_code == 200, response.json()
    answer = response.json()
    if browser is not None:
        bound = bind(browser, answer["authorisationId"], answer["browserSecret"])
        assert bound.status_code == 204, bound.content
    return query(answer["url"])["state"][0], answer["authorisationId"]


def bind(browser, authorisation_id, secret, **headers):
    """What the start page's script sends (same origin: Patchbay's public origin)."""
    parts = urlsplit(settings.PATCHBAY_PUBLIC_URL)
    return browser.post(
        "/embed/flow/bind",
        {"authorisationId": authorisation_id, "secret": secret},
        content_type="application/json",
        headers={
            "Origin": f"{parts.scheme}://{parts.netloc}",
            "Sec-Fetch-Site": "same-origin",
            **headers,
        },
    )


# --- Initialise -----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_initialises_for_the_sessions_end_user(hub, embed):
    response = initialise(embed, hub, initialise_body(hub))
    assert response.status_code == 200, response.json()
    assert response["Cache-Control"] == "no-store"
    assert set(response.json()) == {"url", "authorisationId", "browserSecret"}
    sent = query(response.json()["url"])
    assert sent["client_id"] == ["client-123"]
    assert sent["scope"] == ["read offline_access"]
    assert sent["prompt"] == ["login"]
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["redirect_uri"] == ["http://127.0.0.1:8000/connections/oauth2/callback"]
    request = AuthorisationRequest.objects.get()
    assert str(request.pk) == response.json()["authorisationId"]
    assert request.hub == hub.hub
    assert request.end_user == EndUser.objects.get(external_id="user-1")
    assert request.connect_session == ConnectSession.objects.get()
    assert request.organisation == hub.owner.organisation
    assert request.status == "pending"


PARITY_CASES = [
    {},
    {"scopes": ["a", "b", "a"]},
    {"disableOfflineAccess": True},
    {"prompt": "consent+select_account"},
    {"prompt": "bad prompt!"},
    {"additionalParams": "approval_prompt=force&access_type=offline"},
    {"additionalParams": "STATE=x"},
    {"additionalParams": "Redirect_Uri=https://evil.example.com"},
    {"additionalParams": "a=" + "b" * 5000},
    {"authorizeUrl": "http://auth.example.com/authorize"},
    {"authorizeUrl": "javascript:alert(1)"},
    {"authorizeUrl": "https://user:pw@auth.example.com/a"},
    {"authorizeUrl": "https://auth.example.com/a#frag"},
    {"authorizeUrl": "https://auth.example.com/a?client_id=x"},
    {"clientId": "someone-else"},
    {"scopes": ["x"] * 101},
    {"scopes": ["a b"]},
    {"scopes": ["s" * 257]},
    {"redirectUrl": "https://evil.example.com/cb"},
    {"redirectUrl": "http://127.0.0.1:9999/cb"},
    {"authSchemeConfigId": "nope"},
    {"connectionId": "1 OR 1=1"},
    {"connectionId": "00000000-0000-0000-0000-000000000000"},
    {"credential": {"id": "../x", "organisationId": "1"}},
    {"surprise": True},
    {"prompt": "login\r\nx"},
    {"clientId": 5},
]


@pytest.mark.django_db
@pytest.mark.parametrize("change", PARITY_CASES)
def test_it_follows_every_rule_of_the_organisation_endpoint(alice, hub, embed, change):
    """The same flow code: the hub endpoint answers exactly as the organisation one."""
    body = initialise_body(hub, **change)
    org = alice.client.post(
        alice.url(f"connectors/{hub.oauth2.pk}/oauth2/initialise"), body, format="json"
    )
    before = AuthorisationRequest.objects.count()
    ours = initialise(embed, hub, body)
    assert ours.status_code == org.status_code, (ours.json(), org.json())
    if org.status_code == 200:
        theirs_sent, ours_sent = query(org.json()["url"]), query(ours.json()["url"])
        for volatile in ("state", "code_challenge"):
            theirs_sent.pop(volatile, None), ours_sent.pop(volatile, None)
        assert ours_sent == theirs_sent
        assert AuthorisationRequest.objects.count() == before + 1
    else:
        assert ours.json() == org.json()
        assert AuthorisationRequest.objects.count() == before


@pytest.mark.django_db
def test_it_refuses_another_organisations_credential(charlie, hub, embed):
    foreign = f.client_credential(charlie.organisation)
    for credential in (
        {"id": str(foreign.pk), "organisationId": charlie.org_id},
        {"id": str(foreign.pk), "organisationId": hub.owner.org_id},
        {"id": str(hub.client_credential.pk), "organisationId": charlie.org_id},
    ):
        response = initialise(embed, hub, initialise_body(hub, credential=credential))
        assert response.status_code == 404
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
def test_it_refuses_another_connectors_client_credential(alice, hub, embed, refusals):
    """An end user must not be able to have one provider's client secret sent to another."""
    other_client = f.client_credential(
        alice.organisation, client_id="other-client", client_secret="cs-other-secret-987654321"
    )
    other, _ = f.oauth2_connector(
        alice.organisation,
        name="Other provider",
        grant={
            "type": "authorizationCode",
            "authorizationCode": {"credentialId": str(other_client.pk), "clientId": "other-client"},
        },
    )
    hub.hub.connectors.add(other)
    body = initialise_body(hub, clientId="other-client")
    body["credential"]["id"] = str(other_client.pk)
    response = initialise(embed, hub, body)
    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    assert "cs-other-secret" not in response.content.decode()
    assert not AuthorisationRequest.objects.exists()
    ids = {"credential_id": other_client.pk, "connector_id": hub.oauth2.pk, "hub_id": hub.id}
    refusals.one(logging.WARNING, "not_found", "not_the_grant_client", **ids)
    refusals.none_hold("cs-other-secret-987654321")
    # The organisation's backend may still choose the client credential (SPEC §5.1).
    org = alice.client.post(
        alice.url(f"connectors/{hub.oauth2.pk}/oauth2/initialise"), body, format="json"
    )
    assert org.status_code == 200, org.json()


@pytest.mark.django_db
def test_it_refuses_an_authorize_url_other_than_the_connectors(alice, hub, embed):
    body = initialise_body(hub, authorizeUrl="https://phish.example.com/authorize")
    response = initialise(embed, hub, body)
    assert response.status_code == 400
    assert response.json()["code"] == "authorize_url_mismatch"
    assert response.json()["fields"][0]["field"] == "authorizeUrl"
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_connector_without_an_authorization_code_grant(hub, embed):
    config = hub.oauth2_config
    config.settings = {**config.settings, "grant": {**config.settings["grant"], "type": "password"}}
    config.save()
    response = initialise(embed, hub, initialise_body(hub))
    assert response.status_code == 404
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("connector_id", ["not-offered", "foreign", "1 OR 1=1", "..", "9" * 400])
def test_a_connector_not_offered_by_the_hub_answers_404(alice, charlie, hub, embed, connector_id):
    if connector_id == "not-offered":
        connector, _ = f.oauth2_connector(alice.organisation, name="Not offered")
        connector_id = str(connector.pk)
    elif connector_id == "foreign":
        connector, _ = f.oauth2_connector(charlie.organisation, name="Foreign")
        connector_id = str(connector.pk)
    response = embed.post(
        hub.url(f"connector/{connector_id}/oauth2/initialise"),
        initialise_body(hub),
        format="json",
    )
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
def test_a_connector_dropped_from_the_hub_answers_404(hub, embed):
    hub.hub.connectors.remove(hub.oauth2)
    assert initialise(embed, hub, initialise_body(hub)).status_code == 404


@pytest.mark.django_db
def test_it_reauthorises_only_the_end_users_own_connections(alice, hub, embed):
    mine = f.connection(alice.organisation, hub.oauth2, name="Mine")
    Connection.objects.filter(pk=mine.pk).update(end_user=EndUser.objects.get())
    hub.mint("user-2")
    theirs = f.connection(alice.organisation, hub.oauth2, name="Theirs")
    Connection.objects.filter(pk=theirs.pk).update(
        end_user=EndUser.objects.get(external_id="user-2")
    )
    org_level = f.connection(alice.organisation, hub.oauth2, name="Org level")
    for other in (theirs, org_level):
        response = initialise(embed, hub, initialise_body(hub, connectionId=str(other.pk)))
        assert response.status_code == 404
    assert not AuthorisationRequest.objects.exists()
    ok = initialise(embed, hub, initialise_body(hub, connectionId=str(mine.pk)))
    assert ok.status_code == 200
    assert AuthorisationRequest.objects.get().connection == mine


@pytest.mark.django_db
def test_it_needs_a_session_of_this_hub(alice, hub, session_token):
    body = initialise_body(hub)
    assert initialise(alice.client, hub, body).status_code == 401  # an API key is no session
    assert initialise(embed_client(None), hub, body).status_code == 401
    ConnectSession.objects.update(revoked_at=timezone.now())
    assert initialise(embed_client(session_token), hub, body).status_code == 401
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ('{"clientId": "a", "clientId": "b"}', "application/json", 400),
        ('{"clientId": "\\u0000"}', "application/json", 400),
        ("clientId=x", "application/x-www-form-urlencoded", 415),
        ("[]", "application/json", 400),
    ],
)
def test_it_refuses_malformed_bodies(hub, embed, content, content_type, status):
    url = hub.url(f"connector/{hub.oauth2.pk}/oauth2/initialise")
    response = embed.generic("POST", url, content, content_type=content_type)
    assert response.status_code == status
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_oversize_body(hub, embed):
    body = initialise_body(hub, additionalParams="a=" + "b" * 70_000)
    assert initialise(embed, hub, body).status_code == 413
    assert not AuthorisationRequest.objects.exists()


@pytest.mark.django_db
def test_it_costs_three_queries(alice, hub, embed, django_assert_num_queries):
    # The session (with hub, organisation and end user), the config with the client
    # credential and the hub's offer, the insert; plus the connection when one is named.
    mine = f.connection(alice.organisation, hub.oauth2, name="Mine")
    Connection.objects.filter(pk=mine.pk).update(end_user=EndUser.objects.get())
    with django_assert_num_queries(3):
        assert initialise(embed, hub, initialise_body(hub)).status_code == 200
    with django_assert_num_queries(4):
        body = initialise_body(hub, connectionId=str(mine.pk))
        assert initialise(embed, hub, body).status_code == 200


# --- Callback and polling (fake token endpoint) -------------------------------------------


def poll(client, hub, authorisation_id):
    response = client.get(hub.url(f"authorisations/{authorisation_id}"))
    assert response["Cache-Control"] == "no-store"
    return response


@pytest.mark.django_db
def test_the_callback_makes_the_end_users_connection_and_reports_it(
    client, alice, hub, embed, token_endpoint, settings
):
    settings.PATCHBAY_PUBLIC_URL = "https://patchbay.example.com"
    state, authorisation_id = started(embed, hub, browser=client)
    assert poll(embed, hub, authorisation_id).json() == {
        "status": "pending",
        "connectionId": None,
        "error": None,
    }
    page = client.get(BROWSER, {"code": "the-code", "state": state})
    assert page.status_code == 200
    connection = Connection.objects.get()
    assert connection.end_user == EndUser.objects.get(external_id="user-1")
    assert page.context["embed_result"] == {
        "type": "patchbay:oauth-result",
        "authorisationId": authorisation_id,
        "status": "succeeded",
        "connectionId": str(connection.pk),
        "error": None,
    }
    assert page.context["embed_target_origin"] == "https://patchbay.example.com"
    assert poll(embed, hub, authorisation_id).json() == {
        "status": "succeeded",
        "connectionId": str(connection.pk),
        "error": None,
    }
    seen = alice.client.get(alice.url(f"connections/{connection.pk}")).json()
    assert seen["endUser"] == {"id": str(connection.end_user_id), "externalId": "user-1"}
    assert seen["credentials"][0]["credential"]["type"] == "oauth2-token"
    listed = embed.get(hub.url("connections")).json()["items"]
    assert [c["id"] for c in listed] == [str(connection.pk)]


@pytest.mark.django_db
def test_a_reconnect_keeps_the_connection_and_its_end_user(
    alice, client, hub, embed, token_endpoint
):
    state, _ = started(embed, hub, browser=client)
    client.get(BROWSER, {"code": "c1", "state": state})
    connection = Connection.objects.get()
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    state, authorisation_id = started(embed, hub, browser=client, connectionId=str(connection.pk))
    client.get(BROWSER, {"code": "c2", "state": state})
    assert Connection.objects.get() == connection
    connection.refresh_from_db()
    assert connection.status == "active"
    assert connection.end_user is not None
    assert poll(embed, hub, authorisation_id).json()["connectionId"] == str(connection.pk)


@pytest.mark.django_db
def test_a_cancelled_consent_is_reported_as_failed(client, hub, embed, no_network):
    state, authorisation_id = started(embed, hub, browser=client)
    page = client.get(BROWSER, {"error": "access_denied", "state": state})
    assert page.status_code == 400
    assert page.context["embed_result"]["status"] == "failed"
    assert page.context["embed_result"]["error"] == "access_denied"
    assert page.context["embed_result"]["connectionId"] is None
    assert poll(embed, hub, authorisation_id).json() == {
        "status": "failed",
        "connectionId": None,
        "error": "access_denied",
    }
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_a_failed_token_exchange_is_reported_as_failed(client, hub, embed, token_endpoint):
    token_endpoint.answer(500, "<html>oops</html>", "text/html")
    state, authorisation_id = started(embed, hub, browser=client)
    page = client.get(BROWSER, {"code": "c", "state": state})
    assert page.status_code == 502
    assert page.context["embed_result"]["error"] == "token_exchange_failed"
    assert poll(embed, hub, authorisation_id).json()["error"] == "token_exchange_failed"
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_a_replayed_state_does_not_change_the_recorded_outcome(client, hub, embed, token_endpoint):
    state, authorisation_id = started(embed, hub, browser=client)
    client.get(BROWSER, {"code": "c", "state": state})
    replay = client.get(BROWSER, {"code": "c", "state": state})
    assert replay.status_code == 400
    assert "embed_result" not in replay.context
    assert poll(embed, hub, authorisation_id).json()["status"] == "succeeded"


@pytest.mark.django_db
def test_organisation_flows_get_no_embed_result(alice, client, token_endpoint):
    connector, _ = f.oauth2_connector(alice.organisation)
    credential = f.client_credential(alice.organisation)
    response = alice.client.post(
        alice.url(f"connectors/{connector.pk}/oauth2/initialise"),
        f.initialise_body(credential),
        format="json",
    )
    state = query(response.json()["url"])["state"][0]
    page = client.get(BROWSER, {"code": "c", "state": state})
    assert page.status_code == 200
    assert "embed_result" not in page.context
    assert Connection.objects.get().end_user is None
    assert AuthorisationRequest.objects.get().status == "succeeded"


@pytest.mark.django_db
def test_an_abandoned_authorisation_reads_as_expired(hub, embed):
    _, authorisation_id = started(embed, hub)
    AuthorisationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert poll(embed, hub, authorisation_id).json() == {
        "status": "failed",
        "connectionId": None,
        "error": "expired",
    }


@pytest.mark.django_db
def test_a_session_polls_only_its_end_users_authorisations(alice, hub, embed):
    _, authorisation_id = started(embed, hub)
    other_user = embed_client(hub.mint("user-2"))
    assert poll(other_user, hub, authorisation_id).status_code == 404
    other_hub = alice.client.post(
        alice.url("hubs"), {"name": "Other", "connectors": [str(hub.oauth2.pk)]}, format="json"
    ).json()
    token = alice.client.post(
        alice.url(f"hubs/{other_hub['id']}/sessions"),
        {"endUser": {"externalId": "user-1"}},
        format="json",
    ).json()["token"]
    elsewhere = embed_client(token).get(
        f"/api/v2/embed/{other_hub['id']}/authorisations/{authorisation_id}"
    )
    assert elsewhere.status_code == 404
    # A new session of the same end user (the old one expired) may keep polling.
    assert poll(embed_client(hub.mint()), hub, authorisation_id).status_code == 200


@pytest.mark.django_db
def test_a_session_cannot_poll_organisation_flows(alice, hub, embed):
    response = alice.client.post(
        alice.url(f"connectors/{hub.oauth2.pk}/oauth2/initialise"),
        initialise_body(hub),
        format="json",
    )
    assert response.status_code == 200
    assert poll(embed, hub, AuthorisationRequest.objects.get().pk).status_code == 404


# --- End to end with the real provider -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_hub_flow_connects_the_end_user_through_the_real_provider(
    alice, provider, hub, live_server, assert_no_secrets, caplog
):
    import requests

    assert_no_secrets  # noqa: B018 - DEBUG capture first; then quieten the test's own browser,
    # whose URLs legitimately carry the code (see tests/connections/test_flow.py).
    caplog.set_level(logging.INFO, logger="oauth2_provider")
    caplog.set_level(logging.INFO, logger="urllib3")

    token = hub.mint("cust-7", "Grace")
    session = embed_client(token)
    connectors = session.get(hub.url("connectors")).json()["items"]
    oauth2 = next(c for c in connectors if c["type"] == "oauth2")["oauth2"]
    body = {
        "authorizeUrl": oauth2["authorizeUrl"],
        "clientId": oauth2["clientId"],
        "credential": oauth2["credential"],
        "scopes": oauth2["scopes"],
    }
    started_ = session.post(
        hub.url(f"connector/{hub.oauth2.pk}/oauth2/initialise"), body, format="json"
    )
    assert started_.status_code == 200, started_.json()
    url, authorisation_id = started_.json()["url"], started_.json()["authorisationId"]
    # The end user's browser: the start page binds it to the flow (a same-origin POST).
    browser = requests.Session()
    parts = urlsplit(settings.PATCHBAY_PUBLIC_URL)
    bound = browser.post(
        f"{live_server.url}/embed/flow/bind",
        json={"authorisationId": authorisation_id, "secret": started_.json()["browserSecret"]},
        headers={"Origin": f"{parts.scheme}://{parts.netloc}", "Sec-Fetch-Site": "same-origin"},
        timeout=10,
    )
    assert bound.status_code == 204, bound.text

    location = provider.consent(url)
    assert location.startswith(f"{live_server.url}{BROWSER}?")
    page = browser.get(location, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    outcome = session.get(hub.url(f"authorisations/{authorisation_id}")).json()
    assert outcome["status"] == "succeeded", outcome
    connection_id = outcome["connectionId"]
    seen = alice.client.get(alice.url(f"connections/{connection_id}"))
    assert seen.status_code == 200
    data = seen.json()
    end_user = EndUser.objects.get(external_id="cust-7")
    assert data["endUser"] == {"id": str(end_user.pk), "externalId": "cust-7"}
    assert [c["credential"]["type"] for c in data["credentials"]] == ["oauth2-token"]
    access = alice.client.get(alice.url(f"connections/{connection_id}/access-token")).json()
    assert provider.me(access["accessToken"]).status_code == 200
    link = ConnectionCredential.objects.get(connection_id=connection_id)
    secrets_ = [token, provider.client_secret, link.credential.data["accessToken"]]
    if link.credential.data.get("refreshToken"):
        secrets_.append(link.credential.data["refreshToken"])
    assert_no_secrets(
        *secrets_,
        texts=[
            seen.content.decode(),
            json.dumps(outcome),
            page.text,
            json.dumps(session.get(hub.url("connections")).json()),
        ],
    )
    assert Connector.objects.filter(pk=hub.oauth2.pk).exists()
