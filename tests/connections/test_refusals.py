"""Refusals of the OAuth 2.0 flow and the connection services leave a trace
(``core.logs.refusal``): the callback names the authorisation request, organisation and
connector and says why (replayed, unknown, expired, another organisation's state...), and no
record holds the state, the code, the client secret or the API key."""

from __future__ import annotations

from datetime import timedelta
from logging import INFO, WARNING

import pytest
from django.utils import timezone

from connections.models import AuthorisationRequest
from connections.oauth.initialise import state_hash
from tests.connections import factories as f
from tests.connections.test_callback import API, BROWSER, start


@pytest.fixture
def flow(alice):
    connector, _ = f.oauth2_connector(alice.organisation)
    return connector, f.client_credential(alice.organisation)


def ids_of(state: str) -> dict[str, object]:
    """The ids a refusal of this state's flow must name."""
    request = AuthorisationRequest.objects.get(state_hash=state_hash(state))
    return {
        "authorisation_request_id": request.pk,
        "organisation_id": request.organisation_id,
        "connector_id": request.connector_id,
    }


@pytest.mark.parametrize("url", [API, BROWSER])
def test_a_replayed_state_is_a_warning_with_the_flows_ids(
    alice, flow, token_endpoint, client, refusals, url
):
    connector, credential = flow
    state = start(alice, connector, credential)
    http = alice.client if url == API else client
    assert http.get(url, {"code": "code-first-7f3a", "state": state}).status_code in (200, 201)
    assert refusals.records == []
    assert http.get(url, {"code": "code-again-91c2", "state": state}).status_code == 400
    record = refusals.one(WARNING, "invalid_state", "replayed", **ids_of(state))
    assert record.name == "connections.oauth.callback"
    secret = credential.data["clientSecret"]
    refusals.none_hold(state, "code-first-7f3a", "code-again-91c2", secret, alice.key)


def test_an_unknown_state_is_a_warning(alice, flow, no_network, refusals):
    forged = "forged-" + "a" * 40
    alice.client.get(API, {"code": "code-5d1e0f", "state": forged})
    refusals.one(WARNING, "invalid_state", "unknown", caller_organisation_id=alice.org_id)
    refusals.none_hold(forged, "code-5d1e0f", alice.key)


def test_an_expired_state_is_info(alice, flow, no_network, client, refusals):
    state = start(alice, *flow)
    AuthorisationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.get(BROWSER, {"code": "code-0a9b8c", "state": state})
    refusals.one(INFO, "invalid_state", "expired", **ids_of(state))
    refusals.none_hold(state, "code-0a9b8c")


def test_another_organisations_state_is_a_warning_naming_both(
    alice, charlie, flow, no_network, refusals
):
    state = start(alice, *flow)
    charlie.client.get(API, {"code": "code-c4a411e", "state": state})
    ids = {**ids_of(state), "caller_organisation_id": charlie.org_id}
    refusals.one(WARNING, "invalid_state", "another_organisation", **ids)
    refusals.none_hold(state, "code-c4a411e", charlie.key)


@pytest.mark.parametrize(
    ("query", "level", "code", "reason"),
    [
        ({"code": "c"}, INFO, "invalid_state", "missing_state"),
        ({"code": "c", "state": "bad state!"}, WARNING, "invalid_state", "malformed_state"),
        ({"code": "bad code\x7f", "state": "s" * 43}, WARNING, "invalid_request", "malformed_code"),
        ({"state": "s" * 43}, INFO, "invalid_request", "no_code_or_error"),
        (
            {"state": "s" * 43, "code": "c", "iss": "x\x00"},
            WARNING,
            "invalid_issuer",
            "malformed_iss",
        ),
    ],
)
def test_a_malformed_callback_says_what_was_wrong(
    db, no_network, client, refusals, query, level, code, reason
):
    client.get(BROWSER, query)
    refusals.one(level, code, reason)


def test_a_repeated_parameter_is_info(db, no_network, client, refusals):
    client.get(f"{BROWSER}?state=abcdef&state=abcdef&code=code-11aa22")
    refusals.one(INFO, "invalid_request", "repeated_parameter")
    refusals.none_hold("code-11aa22")


def test_a_cancelled_consent_is_info_with_the_flows_ids(alice, flow, no_network, client, refusals):
    state = start(alice, *flow)
    client.get(BROWSER, {"error": "access_denied", "state": state})
    refusals.one(INFO, "access_denied", "provider_error", **ids_of(state))
    refusals.none_hold(state)


def test_another_issuer_is_a_warning(alice, no_network, refusals):
    connector, _ = f.oauth2_connector(alice.organisation, issuer="https://auth.example.com")
    state = start(alice, connector, f.client_credential(alice.organisation))
    alice.client.get(API, {"code": "code-77e1", "state": state, "iss": "https://evil.example"})
    refusals.one(WARNING, "invalid_issuer", **ids_of(state))
    refusals.none_hold(state, "code-77e1")


def test_a_changed_client_id_is_a_warning(alice, flow, no_network, refusals):
    connector, credential = flow
    state = start(alice, connector, credential)
    credential.data = {**credential.data, "clientId": "another-client"}
    credential.save()
    alice.client.get(API, {"code": "code-9f9f", "state": state})
    refusals.one(WARNING, "client_id_mismatch", **ids_of(state))
    refusals.none_hold(state, "code-9f9f", credential.data["clientSecret"])


def test_a_failed_exchange_is_a_warning_with_the_providers_error(
    alice, flow, token_endpoint, refusals
):
    connector, credential = flow
    token_endpoint.answer(400, {"error": "invalid_grant", "error_description": "code-3c3c3c"})
    state = start(alice, connector, credential)
    alice.client.get(API, {"code": "code-3c3c3c", "state": state})
    ids = {**ids_of(state), "provider_error": "invalid_grant"}
    refusals.one(WARNING, "token_exchange_failed", **ids)
    refusals.none_hold(state, "code-3c3c3c", credential.data["clientSecret"], alice.key)


# --- Initialise and the other services ------------------------------------------------------


def _initialise(actor, connector, body):
    return actor.client.post(
        actor.url(f"connectors/{connector.pk}/oauth2/initialise"), body, format="json"
    )


def test_initialise_with_another_organisations_credential_is_a_warning(
    alice, charlie, flow, refusals
):
    connector, _ = flow
    foreign = f.client_credential(charlie.organisation)
    assert _initialise(alice, connector, f.initialise_body(foreign)).status_code == 404
    ids = {"credential_id": foreign.pk, "organisation_id": alice.org_id}
    refusals.one(WARNING, "not_found", "another_organisation", connector_id=connector.pk, **ids)
    refusals.none_hold(foreign.data["clientSecret"], alice.key)


def test_initialise_with_an_unknown_credential_is_info(alice, charlie, flow, refusals):
    connector, _ = flow
    foreign = f.client_credential(charlie.organisation)
    body = f.initialise_body(foreign)
    body["credential"]["organisationId"] = alice.org_id  # another's id under our organisation
    assert _initialise(alice, connector, body).status_code == 404
    refusals.one(INFO, "not_found", "unknown_credential", credential_id=foreign.pk)


def test_initialise_with_another_client_id_is_a_warning(alice, flow, refusals):
    connector, credential = flow
    body = f.initialise_body(credential, clientId="not-the-stored-one")
    assert _initialise(alice, connector, body).status_code == 400
    ids = {"credential_id": credential.pk, "connector_id": connector.pk}
    refusals.one(WARNING, "client_id_mismatch", **ids)
    refusals.none_hold(credential.data["clientSecret"])


def test_a_connection_with_another_organisations_credential_is_logged(alice, charlie, refusals):
    connector, config = f.oauth2_connector(alice.organisation)
    foreign = f.token_credential(charlie.organisation)
    link = {"authSchemeConfigId": config.config_id, "credentialId": str(foreign.pk)}
    body = {"name": "Production", "systemId": str(connector.pk), "credentials": [link]}
    response = alice.client.post(alice.url("connections"), body, format="json")
    assert response.status_code == 404, response.json()
    ids = {"credential_id": foreign.pk, "organisation_id": alice.org_id}
    refusals.one(INFO, "not_found", "unknown_credential", connector_id=connector.pk, **ids)
    refusals.none_hold(foreign.data["accessToken"], foreign.data["refreshToken"], alice.key)


def test_a_connector_naming_another_organisations_credential_is_a_warning(alice, charlie, refusals):
    foreign = f.client_credential(charlie.organisation)
    grant = {
        "type": "authorizationCode",
        "authorizationCode": {
            "credentialId": str(foreign.pk),
            "organisationId": charlie.org_id,
            "clientId": "client-123",
        },
    }
    oauth2 = {"authorizeUrl": f.AUTHORIZE_URL, "tokenUrl": f.TOKEN_URL, "grant": grant}
    config = {"id": "oauth2", "type": "oauth2", "oauth2": oauth2}
    body = {"name": "Acme", "authSchemeConfigs": [config]}
    response = alice.client.post(alice.url("connectors"), body, format="json")
    assert response.status_code == 404, response.json()
    refusals.one(WARNING, "not_found", "another_organisation", credential_id=foreign.pk)
